"""What a target prints lands in the check that printed it, whatever order the parent reads its pipes in.

The job frames its output stream per check (verify.capture). The parser is
tested on every way a read can cut the stream; the whole path is tested by
running the same checks twice in job processes, once as scheduled and once
with the parent reading nothing of a job's events until the job has ended
(the latest any schedule can read them): each check's output must be the
same, and hold exactly the calls it made, each of them once.
"""

from __future__ import annotations

import os
import re

import pytest

from verify import capture, isolation
from verify.plan import RunOptions, RunPlan
from verify.runner import run


def _stream(marker: str, parts) -> bytes:
    out = b""
    for p in parts:
        if isinstance(p, tuple):
            out += capture._header(marker) + f"{p[0]} {p[1]}".encode() + b"\x00"
        else:
            out += p
    return out


MARKER = "0123456789abcdef" * 2
FORGED = "f" * 32
STREAM = [b"loading noise\n", ("begin", "alpha"), b"a1\n", b"a2 no newline", ("end", "alpha"),
          b"between\n", ("begin", "beta"),
          # a target that guesses the layout but not the nonce: its fake end is its own output
          b"b1\n" + capture._header(FORGED) + b"end beta\x00" + b"b2\n",
          ("end", "beta"), ("begin", "gamma"), b"g1 \x00 stray nul\n"]


def _feed(chunks) -> capture.Frames:
    frames = capture.Frames()
    frames.set_marker(MARKER)
    for c in chunks:
        frames.feed(c)
    return frames


def _check(frames: capture.Frames) -> None:
    # What was printed outside every frame goes to the next check, after a note: never dropped, never its own.
    assert frames.take("alpha") == f"{capture.BEFORE}\nloading noise\n{capture.DURING}\na1\na2 no newline"
    beta = frames.take("beta")
    assert beta.startswith(f"{capture.BEFORE}\nbetween\n{capture.DURING}\nb1\n"), beta
    assert beta.endswith("end beta\x00b2\n") and FORGED in beta
    assert frames.take("beta") == ""                          # taken once
    assert frames.take("gamma") == ""                         # its frame is still open ...
    assert frames.take_open() == "g1 \x00 stray nul\n"          # ... and is what a timeout gets


def test_frames_survive_every_cut_a_read_can_make():
    data = _stream(MARKER, STREAM)
    for cut in range(len(data) + 1):
        _check(_feed([data[:cut], data[cut:]]))
    _check(_feed([data[i:i + 1] for i in range(len(data))]))


def test_output_is_bounded_per_frame_and_outside_frames_too():
    frames = capture.Frames(keep=12)
    frames.feed(b"before the marker is known " * 5)
    frames.set_marker(MARKER)
    assert not frames.set_marker("0" * 32)                    # announced once
    frames.feed(_stream(MARKER, [("begin", "a"), b"x" * 50 + b"END", ("end", "a"), b"y" * 40 + b"\n"]))
    out = frames.take("a")
    before, own = out.split(capture.DURING + "\n")
    # Outside frames a quarter of a frame's share is kept (3 bytes at each end of 135), then the frame's own 12.
    assert before.startswith(capture.BEFORE + "\nbef") and "135 in total" in before and before.endswith("wn \n")
    assert own.startswith("x" * 12) and own.endswith("x" * 9 + "END") and "53 in total" in own
    # After the last frame: what the parent hands out when the job ends (it adds it to the job's last check).
    tail = frames.take_open()
    assert tail.startswith("yyy") and "41 in total" in tail and tail.endswith("yy\n")
    assert frames.take_open() == ""


# ----------------------------------------------------------------------------- end to end

TAGGER = '''
import os, warnings

_LOG = __file__ + ".calls"
print("<loaded>")


def grad(w, lam):
    """Correct; prints a tag per call, logs it, and warns at every call (Python shows it once per registry)."""
    with open(_LOG, "a") as fh:
        fh.write("x")
    n = os.path.getsize(_LOG)
    print(f"<call {n}>", flush=False)
    warnings.warn("the gradient was computed in a hurry", UserWarning)
    return 2 * lam * w
'''


def _run(path, max_examples=6):
    plan = RunPlan(f"{path}:grad", "l2", options=RunOptions(max_examples=max_examples, jobs=1, timeout=120))
    (result,) = run([plan]).runs
    return {c.name: c for c in result.checks}


def _late_reader(monkeypatch):
    """The parent reads nothing of a job's events until the job has ended, then all of them at once."""
    read = isolation._Job.read

    def late(self):
        if not self.eof and self.fd >= 0:
            os.set_blocking(self.fd, True)
            while chunk := os.read(self.fd, 1 << 16):
                self.buffer += chunk
            os.set_blocking(self.fd, False)
        return read(self)

    monkeypatch.setattr(isolation._Job, "read", late)


def test_each_check_gets_exactly_its_own_prints_whatever_the_schedule(tmp_path, monkeypatch):
    target = tmp_path / "tagger.py"
    target.write_text(TAGGER)
    log = tmp_path / "tagger.py.calls"
    outputs = []
    for late in (False, True):
        log.write_text("")
        if late:
            _late_reader(monkeypatch)
        checks = _run(target)
        calls = len(log.read_text())
        tags = {name: [int(t) for t in re.findall(r"<call (\d+)>", c.output)] for name, c in checks.items()}
        # Every call's tag once, in order; each check's a block of its own (checks run in order in one job).
        assert [t for name in checks for t in tags[name]] == list(range(1, calls + 1)), tags
        ran = [name for name, c in checks.items() if c.status.value == "pass"]
        assert len(ran) == 3 and all(tags[name] for name in ran), tags
        # The warning shows in every check whose calls raise it, once: not only in the first the process served.
        assert all(checks[name].output.count("UserWarning: the gradient") == 1 for name in ran)
        # What it printed while imported is the first check's, after a note saying so (one job: once).
        first = next(iter(checks.values())).output
        assert first.startswith(f"{capture.BEFORE}\n<loaded>\n{capture.DURING}\n"), first
        assert sum(c.output.count("<loaded>") for c in checks.values()) == 1
        outputs.append({name: c.output for name, c in checks.items()})
    assert outputs[0] == outputs[1]


class _StubJob:
    """A job whose output stream the test feeds (for the parent's handling of its events)."""

    def __init__(self):
        self.output = capture.Frames()
        self.output.set_marker(MARKER)

    def read_output(self):
        return True

    def kill(self):
        pass


def test_what_a_job_prints_after_its_last_check_goes_to_that_check_with_a_note():
    """A thread of the target printing after the last check ended: kept, bounded, marked, never dropped."""
    from verify.results import CheckResult, RunResult, Status

    plan = RunPlan("t.py:grad", "l2", options=RunOptions(timeout=10))
    state = isolation._Run(plan, ["a", "b"], {"a": "protocol", "b": "protocol"}, RunResult("t.py:grad", "l2", 0, {}))
    unit = isolation._Unit(state, ["a", "b"])
    job = unit.job = _StubJob()
    for name in ("a", "b"):
        job.output.feed(_stream(MARKER, [("begin", name), f"in {name}\n".encode(), ("end", name)]))
        unit.on_events([{"event": "start", "check": name},
                        {"event": "result", "result": CheckResult(name, "protocol", Status.PASS, "ok").to_dict()}], 0.0)
    job.output.feed(b"late " * 10_000 + b"the end\n")
    unit.on_events([{"event": "done"}], 0.0)
    assert state.results["a"].output == "in a\n"
    late = state.results["b"].output
    assert late.startswith(f"in b\n{capture.AFTER}\nlate late") and late.endswith("the end\n"), late
    assert "50008 in total" in late and len(late) < 2000
