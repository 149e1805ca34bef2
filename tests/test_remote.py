"""The boundary between the checker and the target process: the data-only codec (verify.wire) and the proxy
(verify.remote) that validates what comes back against what was asked."""

from __future__ import annotations

import json
import socket
import struct
import threading

import numpy as np
import pytest

from verify import remote, wire
from verify.adapters.base import InputRecord, OptimizerRun, OptimizerSubject, RegulariserSubject
from verify.errors import HeldParameterError, ProtocolError, TargetError, TargetLoadError
from verify.plan import RunPlan
from verify.runner import prepare
from verify.specs.base import Held


def _round_trip(value, handle=None, resolve=None):
    frame, header_len = wire.framed(value, handle)
    return wire.decode(bytearray(frame), header_len, resolve)


def _frame(header_obj, buffers=()):
    """A frame made by hand, laid out as wire's: the header and each buffer padded to a multiple of 64 bytes."""
    header = json.dumps([header_obj, [len(b) for b in buffers]]).encode()
    header += b" " * (-len(header) % 64)
    return bytearray(header + b"".join(b + bytes(-len(b) % 64) for b in buffers)), len(header)


# ----------------------------------------------------------------------------- the codec


@pytest.mark.parametrize("dtype", ["f8", "f4", "f2", "i8", "i4", "u1", "?", "c16", ">f8"])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3), (1, 4, 2)])
def test_arrays_keep_dtype_shape_and_values(dtype, shape):
    rng = np.random.default_rng(0)
    x = np.asarray(rng.normal(size=shape) * 10).astype(dtype)
    y = _round_trip(x)
    assert isinstance(y, np.ndarray) and y.shape == shape and y.dtype == x.dtype.newbyteorder("=")
    np.testing.assert_array_equal(y, x)
    y[...] = 0                                     # writable: checks may work on what they receive


def test_arrays_arrive_aligned():
    # numpy computes on a misaligned float64 array at about half speed (einsum 1.5 ms against 0.8 on 256 x 256):
    # every array of a frame starts on a 64-byte boundary, whatever came before it.
    # Small frames (read with their prefix, copied into a block they share) and large ones alike.
    ours, theirs = socket.socketpair()
    sent = [np.ones(3, dtype=bool), np.arange(5.0), np.arange(7, dtype=np.int8), np.full(2, 1j), np.float64(2.5)]
    large = [np.arange(7, dtype=np.int8), np.arange(3000.0), np.ones(3)]
    with ours, theirs:
        inbox = wire.Inbox(ours)
        for value in (sent, large, sent):
            wire.send(theirs, value)
        got, got_large, again = inbox.receive(), inbox.receive(), inbox.receive()
    for a, b in [*zip(sent[:4], got), *zip(large, got_large), *zip(sent[:4], again)]:
        assert b.ctypes.data % 64 == 0 and b.flags.aligned and b.flags.writeable
        np.testing.assert_array_equal(a, b)
    assert got[4] == 2.5 and again[4] == 2.5


def test_non_contiguous_arrays_and_scalars():
    x = np.arange(12.0).reshape(3, 4)[:, ::2]
    np.testing.assert_array_equal(_round_trip(x), x)
    for s in (np.float32(1.5), np.float64(-2.25), np.int64(7), np.bool_(True)):
        t = _round_trip(s)
        assert type(t) is type(s) and t == s
    assert _round_trip(np.dtype("float32")) == np.dtype("float32")


def test_containers_numbers_and_records_survive():
    value = {"a": [1, 2.5, None, True], "b": (np.zeros(2), "text"), "c": frozenset({"lr", "eps"}),
             "d": float("nan"), "e": float("-inf"), "f": 1 + 2j, 3: {"nested": (1,)},
             "held": Held(0.1, "read", "MyAdam")}
    out = _round_trip(value)
    assert out["a"] == [1, 2.5, None, True] and isinstance(out["b"], tuple)
    assert out["c"] == frozenset({"lr", "eps"}) and np.isnan(out["d"]) and out["e"] == float("-inf")
    assert out["f"] == 1 + 2j and out[3] == {"nested": (1,)}
    assert out["held"] == Held(0.1, "read", "MyAdam")


def test_exceptions_travel_as_text_with_what_they_wrap():
    inner = wire.RemoteException("ValueError", "bad value", "Traceback ...")
    out = _round_trip(wire.RemoteException("TargetError", "step raised ValueError", "", "step(grads)", inner))
    assert isinstance(out, wire.RemoteException) and out.where == "step(grads)"
    assert out.inner == inner and out.inner.remote_type == "ValueError"
    assert str(TargetError(out.where, out.inner)) == "step(grads) raised ValueError: bad value"


def test_strings_are_sanitised_on_arrival():
    out = _round_trip(["ok \u202e\u2066 \x1b[2J\ud800 end"])
    assert out == ["ok ?? \ufffd end"]


def test_only_the_target_process_takes_strings_as_they_come():
    """The target process decodes the job's requests trusted (their strings are the job's own); the job sanitises
    every string of a reply, whatever the frame says of itself."""
    frame, header_len = wire.framed(["\x1b[2J\u202e", ("\ud800", "\r\n")])
    assert wire.decode(bytearray(frame), header_len, trusted=True) == ["\x1b[2J\u202e", ("\ud800", "\r\n")]
    ours, theirs = socket.socketpair()
    with ours, theirs:
        wire.send(theirs, {"seq": 1, "ok": {"all checks passed\x1b[2J\u2066": ["\x07\ud800\r"]}})
        process = remote.TargetProcess(ours, -1)     # its reply is already on the socket: nothing to wait for
        assert process.request(op="get", ref=None, name="x") == {"all checks passed?": ["?\ufffd\n"]}


def test_objects_that_are_not_data_need_a_handle():
    class Thing:
        pass

    with pytest.raises(TypeError, match="data only"):
        wire.encode(Thing())
    out = _round_trip([Thing()], handle=lambda obj: 7)
    (h,) = out
    assert isinstance(h, wire.Handle) and h.id == 7 and h.classes[0].endswith("Thing") and not h.callable


@pytest.mark.parametrize("header,buffers,words", [
    (["a", "|O", [1], 0], [b"\0" * 8], "dtype that is not allowed"),
    (["a", "<f8", [3], 0], [b"\0" * 16], "in a buffer of 16 bytes"),
    (["a", "<f8", [-1], 0], [b""], "malformed shape"),
    (["a", "<f8", [1], 4], [b"\0" * 8], "buffer that was not sent"),
    (["z", 1], [], "unknown or malformed tag"),
    ([[1], "pass"], [], "untagged"),
    (["k", "builtins", "dict", ["d"]], [], "unknown kind"),
    (["k", "verify.not_a_module", "X", ["d"]], [], "unknown kind"),
    (["k", "verify.specs.base", "Held", ["d", "value", 1, "source", "read", "evil", 1]], [], "unknown fields"),
    (["r", "1", [], False], [], "malformed handle"),
    (["d", "key"], [], "a key and no value"),
])
def test_malformed_messages_are_protocol_errors(header, buffers, words):
    frame, n = _frame(header, buffers)
    with pytest.raises(wire.WireError, match=words) as info:
        wire.decode(frame, n)
    assert isinstance(info.value, ProtocolError)


def test_frames_arrive_whole_however_their_bytes_come():
    """An inbox reads a small frame with its prefix in one call: frames whose bytes come a few at a time, several
    frames in one read, a frame larger than that first read, and (the target process's side) the descriptors of
    shared memory coming with a frame all give back what was sent, in order, then the end."""
    from verify import shared

    values = [{"op": "get", "n": 1}, [np.arange(3000.0), "text"], ("small", 2), [np.arange(5.0)] * 3]
    a, b = socket.socketpair()
    with a, b:
        for v in values:
            wire.send(a, v)
        a.shutdown(socket.SHUT_WR)
        stream = b"".join(iter(lambda: b.recv(1 << 16), b""))        # every frame's bytes, as one stream
    for cut in (1, 5, 13, 4096, len(stream)):                           # written in pieces of `cut` bytes
        a, b = socket.socketpair()
        with b:
            def write(a=a, cut=cut):
                with a:
                    for i in range(0, len(stream), cut):
                        a.sendall(stream[i:i + cut])

            writer = threading.Thread(target=write)
            writer.start()
            inbox = wire.Inbox(b)
            got = [inbox.receive() for _ in values]
            with pytest.raises(EOFError):
                inbox.receive()
            writer.join()
        assert got[0] == values[0] and got[1][1] == "text" and got[2] == values[2], cut
        for x, y in zip([got[1][0], *got[3]], [values[1][0], *values[3]]):
            np.testing.assert_array_equal(x, y)
    arena, mapping = shared.Arena(), shared.Mapping()
    (chunk, offset), _ = arena.place(np.array([4.0, 5.0]))
    a, b = socket.socketpair()
    with a, b:
        wire.send(a, {"w": wire.Placed(chunk, offset, "<f8", (2,))}, fds=arena.take_fds())
        wire.send(a, ["next"])
        inbox = wire.Inbox(b, mapping)
        np.testing.assert_array_equal(inbox.receive(trusted=True)["w"], [4.0, 5.0])
        assert inbox.receive(trusted=True) == ["next"]


def test_deep_nesting_and_huge_frames_are_refused():
    deep = 0
    for _ in range(200):
        deep = ["l", deep]
    frame, n = _frame(deep)
    with pytest.raises(wire.WireError, match="too deeply"):
        wire.decode(frame, n)
    a, b = socket.socketpair()
    a.sendall(struct.pack("<QI", wire.MAX_FRAME + 1, 10))
    with pytest.raises(wire.WireError, match="limit"):
        wire.Inbox(b).receive()
    a.close(), b.close()


# ----------------------------------------------------------------------------- the proxy


def test_a_subject_in_the_target_process_answers_like_the_local_one(target_process):
    prep = prepare(RunPlan("reference", "l2"), target_process)
    local = prepare(RunPlan("reference", "l2"))
    assert isinstance(prep.subject, remote.Remote) and not isinstance(local.subject, remote.Remote)
    assert prep.subject.roles == local.subject.roles and prep.subject.description == local.subject.description
    w = np.array([1.0, -2.0, 0.5])
    np.testing.assert_array_equal(prep.subject.grad(w, 0.1), local.subject.grad(w, 0.1))
    assert prep.subject.penalty(w, 0.1) == pytest.approx(0.1 * 5.25, rel=1e-15)
    assert isinstance(prep.subject.inputs, remote.InputsSeen) and prep.subject.inputs.failures == []
    assert prep.versions["numpy"] == np.__version__


def test_call_each_makes_the_calls_there_in_one_round_trip(target_process, monkeypatch):
    prep = prepare(RunPlan("reference", "l2"), target_process)
    ws = [np.array([1.0, -2.0]) * k for k in range(1, 6)]
    requests = []
    send = target_process.request
    monkeypatch.setattr(target_process, "request", lambda **m: requests.append(m["op"]) or send(**m))
    got = remote.call_each(prep.subject, "grad", [(w, 0.1) for w in ws])
    assert requests == ["each"]
    for w, g in zip(ws, got):                    # L2: the gradient of λ Σ w² is 2λw
        np.testing.assert_allclose(g, 0.2 * w, rtol=1e-15)
    local = prepare(RunPlan("reference", "l2")).subject
    assert [list(g) for g in remote.call_each(local, "grad", [(w, 0.1) for w in ws])] == [list(g) for g in got]
    # The first call that raises ends them, raised as that call's own error would be.
    with pytest.raises(TargetError, match="grad"):
        remote.call_each(prep.subject, "grad", [(ws[0], 0.1), (ws[1], "not a number"), (ws[2], 0.1)])
    # What comes back is checked as a single call's value is: one value per call, each of the annotated kind.
    monkeypatch.setattr(target_process, "request", lambda **m: [np.zeros(2)])
    with pytest.raises(ProtocolError, match="not a list of 2 values"):
        remote.call_each(prep.subject, "grad", [(ws[0], 0.1), (ws[1], 0.1)])
    monkeypatch.setattr(target_process, "request", lambda **m: [np.zeros(2), "forged"])
    with pytest.raises(ProtocolError, match="grad\\(\\) sent back a str"):
        remote.call_each(prep.subject, "grad", [(ws[0], 0.1), (ws[1], 0.1)])


def test_an_exception_from_there_is_named_by_its_own_type(target_process):
    # The reference's Newton step refuses a zero second derivative with a ValueError: the check's message names
    # that type, not the RemoteException it travelled as.
    from verify.plan import select_checks
    from verify.runner import execute_check

    prep = prepare(RunPlan("reference", "newton"), target_process)
    [check] = [c for c in select_checks(prep.spec, None) if c.name == "singular-hessian"]
    result = execute_check(prep, check, RunPlan("reference", "newton").options)
    assert "raised ValueError" in result.message and "RemoteException" not in result.message


def test_runs_made_there_are_handles_of_the_interface_asked_for(target_process):
    prep = prepare(RunPlan("reference", "momentum"), target_process)
    run = prep.subject.make(lr=0.1, momentum=0.9)
    assert isinstance(run, remote.Remote)
    assert object.__getattribute__(run, "_iface") is OptimizerRun
    run.init(np.array([1.0, 2.0]))
    # Heavy ball from w = (1, 2), b = 0: b = g, w = w - 0.1 g; then b = 0.9 g + g.
    np.testing.assert_allclose(run.step(np.array([1.0, 1.0])), [0.9, 1.9], rtol=0, atol=1e-15)
    np.testing.assert_allclose(run.step(np.array([1.0, 1.0])), [0.71, 1.71], rtol=0, atol=1e-15)
    unit, note = prep.subject.precision()
    assert unit == pytest.approx(2.0 ** -53) and note == ""


def test_a_settled_answer_is_asked_for_once(target_process, monkeypatch):
    # OptimizerSubject.precision is settled: the subject keeps its first answer, so the job does too.
    prep = prepare(RunPlan("reference", "adam"), target_process)
    requests = []
    send = target_process.request
    monkeypatch.setattr(target_process, "request", lambda **m: requests.append(m.get("name")) or send(**m))
    assert prep.subject.precision() == prep.subject.precision() == (2.0 ** -53, "")
    assert requests == ["precision"]
    prep.subject.make(lr=0.1)
    prep.subject.make(lr=0.1)             # an ordinary method is asked every time
    assert requests == ["precision", "make", "make"]


def test_a_proxy_dropped_here_releases_its_object_there(target_process, monkeypatch):
    """The next request after a proxy is collected tells the target process to drop its object, also when requests
    were made between the proxy's making and its end (only then: a request carries no release list when there is
    nothing to release)."""
    import gc

    prep = prepare(RunPlan("reference", "momentum"), target_process)
    run = prep.subject.make(lr=0.1, momentum=0.9)
    ref = object.__getattribute__(run, "_handle").id
    sent = []
    send = wire.send
    monkeypatch.setattr(wire, "send", lambda sock, value, *rest: (sent.append(value), send(sock, value, *rest)))
    other = prep.subject.make(lr=0.1, momentum=0.9)
    del run
    gc.collect()
    prep.subject.make(lr=0.1, momentum=0.9)
    assert "release" not in sent[0] and sent[1]["release"] == [[ref, 1]] and other is not None


def test_a_held_value_is_refused_only_when_this_side_agrees(target_process):
    prep = prepare(RunPlan("reference", "momentum", {"momentum": 0.5}), target_process)
    with pytest.raises(HeldParameterError, match="momentum"):
        prep.subject.make(lr=0.1, momentum=0.9)
    # A target process that claims a held value for a call that asks none is breaking the protocol.
    fake = wire.RemoteException("HeldParameterError", "forged")
    assert remote._asks_held(target_process.held, OptimizerSubject, "make", (), {"lr": 0.1, "momentum": 0.5}) \
        is False
    assert remote._asks_held(target_process.held, OptimizerSubject, "make", (), {"momentum": 0.9}) is True
    assert fake.remote_type == "HeldParameterError"


def test_what_comes_back_is_checked_against_the_annotations():
    assert remote._fits(np.zeros(3), np.ndarray) and not remote._fits([0.0, 0.0], np.ndarray)
    assert remote._fits(1.5, float) and remote._fits(np.float32(1.5), float) and not remote._fits("1.5", float)
    assert not remote._fits(True, float)
    assert remote._fits((np.zeros(2), np.zeros(2)), tuple[np.ndarray, np.ndarray])
    assert not remote._fits((np.zeros(2),), tuple[np.ndarray, np.ndarray])
    assert remote._fits(None, tuple[np.ndarray, np.ndarray] | None)
    assert remote._fits(frozenset({"step"}), frozenset[str]) and not remote._fits(frozenset({1}), frozenset[str])
    assert remote._fits({"lr": Held(0.1, "given")}, dict[str, Held])
    assert not remote._fits({"lr": 0.1}, dict[str, Held])


def test_a_precision_made_up_there_is_refused():
    # The checks set their tolerances from the precision a target computes with: only float64's, float32's or
    # float16's unit roundoff (or machine epsilon, for a layer) can come back.
    from verify.adapters.base import BatchNormInstance, NormLayerInstance

    hint = remote._hints(OptimizerSubject.precision)["return"]
    assert remote._fits((2.0 ** -53, ""), hint) and remote._fits((2.0 ** -24, "float32 moments"), hint)
    assert remote._fits((2.0 ** -11, "float16"), hint)
    assert not remote._fits((1.0, ""), hint) and not remote._fits((1e-3, ""), hint)
    eps = remote._hints(BatchNormInstance)["precision"]
    assert remote._fits(2.0 ** -52, eps) and remote._fits(2.0 ** -23, eps) and not remote._fits(0.1, eps)
    assert remote._fits(2.0 ** -11, eps)     # Keras' batch norm on torch: float32 that loses bits (one-pass moments)
    ln = remote._hints(NormLayerInstance)["precision"]   # a layer norm computes in its dtype: nothing in between
    assert all(remote._fits(2.0 ** -k, ln) for k in (52, 23, 10)) and not remote._fits(2.0 ** -11, ln)


def test_a_handle_of_another_class_is_refused(target_process):
    prep = prepare(RunPlan("reference", "l2"), target_process)
    record = prep.subject.inputs.remote   # an InputRecord's handle, given the interface InputRecord
    assert object.__getattribute__(record, "_iface") is InputRecord
    with pytest.raises(ProtocolError, match="not a OptimizerRun"):
        remote._assign(record, OptimizerRun, "the run")
    assert not remote._fits(record, RegulariserSubject)


def test_a_load_error_there_is_a_usage_error_here(target_process):
    with pytest.raises(TargetLoadError, match="cannot import|No module|not found|could not"):
        prepare(RunPlan("no_such_module_for_dlverify:thing", "l2"), target_process)


def test_a_target_process_that_dies_is_reported(target_process):
    prep = prepare(RunPlan("reference", "l2"), target_process)
    import os
    import signal

    os.kill(target_process.pid, signal.SIGKILL)
    with pytest.raises(remote.TargetDied, match="SIGKILL from outside"):
        prep.subject.grad(np.zeros(2), 0.1)
