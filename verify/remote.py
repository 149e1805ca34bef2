"""The target in a process of its own: the checker holds a proxy of its subject and never imports it.

A worker (:mod:`verify.worker`) forks a *target process* before anything of
the target is loaded. The target process loads the target, adapts it
(:func:`verify.runner.load_subject`) and then only answers calls: a method
of an object it holds, with arguments that are data, and a value that is
data back (:mod:`verify.wire`: arrays, scalars, strings, containers,
exceptions as text). Objects that are not data (the subject, an optimizer
run, a batch-norm layer, an :class:`~verify.adapters.base.InputRecord`) stay
there and cross as *handles*; the checker sees each as a :class:`Remote`
with the interface of the class it asked for, so the checks, the reference,
the comparison, the verdict and the serialisation run in a process the
target's code never ran in.

Nothing in the proxy is specific to a kind of subject: a method call is
forwarded by name, an attribute read is a request, and what comes back is
validated against the annotations of the interface class (a method's
return annotation, a field's type): ``np.ndarray`` must be an array,
``float`` a real number, ``OptimizerRun`` a handle whose object is one, and
so on. Whatever does not fit is a :class:`~verify.errors.ProtocolError` (a
check then fails); an exception raised there comes back as text and is the
target's (:class:`~verify.errors.TargetError`), a ``HeldParameterError``
only when this process agrees that the call asked for a held value. A
target process that dies is :class:`TargetDied`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import math
import os
import signal
import socket
import sys
import threading
import time
import traceback
import types
import typing
import warnings
import weakref
from typing import Any, Callable, Iterable, Iterator, Sequence

import numbers

import numpy as np

from verify import _process, shared, wire
from verify.errors import (BadParameterError, HeldParameterError, MissingDependencyError, ProtocolError,
                           TargetError, TargetLoadError, UnknownSpecError, UsageError, target_traceback)
from verify.text import clip

__all__ = ["TargetProcess", "Remote", "InputsSeen", "TargetDied", "start", "serve", "forget_working_directory",
           "reply_limit", "call_each"]


class TargetDied(BaseException):
    """The target process ended (or broke the connection) while a check was using it.

    A ``BaseException``: no check's ``except Exception`` can take it for a
    result; the worker reports the check as an error and ends.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# ----------------------------------------------------------------------------- the target's side


class _Server:
    """What the target process runs: a table of the objects it holds, and the loop answering requests."""

    def __init__(self, sock: socket.socket, load: Callable[..., Any]):
        self.sock = sock
        self.load = load
        self.pid = os.getpid()
        self.mapping = shared.Mapping()              # the chunks the job shares its watched inputs in
        self.inbox = wire.Inbox(sock, self.mapping)
        self.objects: dict[int, list[Any]] = {}      # handle id -> [object, handed out how many times]
        self.ids: dict[int, int] = {}                # id(object) -> handle id
        self.next = 1
        self.imported: tuple[str, tuple[Any, ...]] | None = None     # a TARGET string and what it names

    def handle(self, obj: Any) -> int:
        ref = self.ids.get(id(obj))
        if ref is None:
            ref, self.next = self.next, self.next + 1
            self.ids[id(obj)] = ref
            self.objects[ref] = [obj, 0]
        self.objects[ref][1] += 1
        return ref

    def resolve(self, h: wire.Handle) -> Any:
        try:
            return self.objects[h.id][0]
        except KeyError:
            raise wire.WireError(f"no object {h.id} in the target process") from None

    def release(self, items: Any) -> None:
        for ref, count in items or ():
            entry = self.objects.get(ref)
            if entry is not None:
                entry[1] -= count
                if entry[1] <= 0:
                    del self.objects[ref]
                    self.ids.pop(id(entry[0]), None)

    def answer(self, message: dict) -> Any:
        op = message["op"]
        if op == "import":
            from verify.targets import REFERENCE, load_target

            target = message["target"]          # the reference is built by the load, for the spec's parameters
            self.imported = (target, () if target == REFERENCE else (load_target(target),))
            return None
        if op == "load":
            from verify.specs import get_spec

            from verify.adapters.base import Subject, probing

            spec = get_spec(message["spec"])
            overrides = dict(message["overrides"])
            cap = message.get("probe_cap")
            target = message["target"]
            imported = self.imported[1] if self.imported is not None and self.imported[0] == target else ()
            with probing(float(cap) if cap is not None else None):
                subject, versions = self.load(target, spec, message["name"], spec.resolve_params(overrides),
                                              overrides, imported)
            data = {f.name: getattr(subject, f.name) for f in dataclasses.fields(Subject)}
            data["roles"] = subject.roles
            return {"subject": subject, "data": data, "versions": versions}
        if op == "begin_check":
            # Entering catch_warnings invalidates every "already shown" registry: a warning Python shows once
            # per process shows in each check whose calls raise it, not only in the first check this process
            # served, so a check's output does not depend on how the checks were shared among jobs.
            with warnings.catch_warnings():
                pass
            return None
        obj = message["ref"]
        name = message.get("name")
        if op == "call":
            fn = obj if name is None else getattr(obj, name)
            return fn(*message["args"], **message["kwargs"])
        if op == "each":
            fn = getattr(obj, name)
            return [fn(*args) for args in message["calls"]]
        if op == "get":
            return getattr(obj, name)
        if op == "set":
            setattr(obj, name, message["value"])
            return None
        raise wire.WireError(f"unknown request {op!r}")

    def serve(self) -> None:
        while True:
            try:
                message = self.inbox.receive(self.resolve, trusted=True)
            except EOFError:
                return                               # the checker is gone: so is this process
            seq = message.get("seq")
            try:
                self.release(message.get("release"))
                reply = {"seq": seq, "ok": self.answer(message)}
            except BaseException as exc:  # noqa: BLE001 - everything raised here is reported, as text
                reply = {"seq": seq, "raise": _as_text(exc)}
            if os.getpid() != self.pid:
                os._exit(0)                          # a fork the target made: only the process itself answers
            sys.stdout.flush()                       # what it printed belongs to this call's check
            sys.stderr.flush()
            try:
                wire.send(self.sock, reply, self.handle)
            except TypeError as exc:
                wire.send(self.sock, {"seq": seq, "raise": _as_text(ProtocolError(str(exc)))})


def _as_text(exc: BaseException) -> wire.RemoteException:
    inner = getattr(exc, "exc", None)
    if isinstance(exc, TargetError) and isinstance(inner, BaseException):
        return wire.describe_exception(exc, target_traceback(inner))
    return wire.describe_exception(exc, "".join(traceback.format_exception(exc, limit=-8)))


def serve(sock: socket.socket, load: Callable[..., Any]) -> None:
    """Answer the checker's requests on ``sock`` until it closes (in the target process); ``load(target, spec,
    name, params, overrides) -> (subject, versions)`` loads the target (:func:`verify.runner.load_subject`)."""
    _Server(sock, load).serve()


# ----------------------------------------------------------------------------- the checker's side


_TEXT, _LINES = 1000, 32    # the most of a descriptive text the target process sends, and of its lists

_USAGE_ERRORS = {c.__name__: c for c in (TargetLoadError, MissingDependencyError, BadParameterError,
                                          UnknownSpecError, UsageError)}


class TargetProcess:
    """The checker's end of a target process: requests and their replies, the proxies of its objects."""

    def __init__(self, sock: socket.socket, pid: int):
        self.sock = sock
        self.inbox = wire.Inbox(sock)
        self.pid = pid
        self.seq = 0
        self.held: dict[str, Any] = {}           # the run's held hyperparameters (set through the subject)
        self._proxies: weakref.WeakValueDictionary[int, Remote] = weakref.WeakValueDictionary()
        self._released: list[tuple[int, list[int]]] = []
        self.dead: str | None = None
        self.probe_cap: float | None = None     # the most a probe may take while the target is loaded
        self.arena = shared.Arena()             # memory shared with it, where inputs the job watches are handed
        self.stopped_after: float | None = None  # the time limit a watchdog killed the process at (watchdog())

    # -- handles

    def _proxy(self, h: wire.Handle) -> "Remote":
        proxy = self._proxies.get(h.id)
        if proxy is None:
            count = [0]
            proxy = Remote(self, h, None, {}, count)
            self._proxies[h.id] = proxy
            weakref.finalize(proxy, self._released.append, (h.id, count))
        proxy._count[0] += 1
        return proxy

    @staticmethod
    def _handle_of(obj: Any) -> int | None:
        return object.__getattribute__(obj, "_handle").id if isinstance(obj, Remote) else None

    # -- requests

    def request(self, **message: Any) -> Any:
        """Send a request and return the value of its reply; an exception raised there comes back raised
        as :class:`wire.RemoteException` (the callers map it). The reply may be no larger than
        :func:`reply_limit` of what was sent (checked before anything is allocated for it)."""
        if self.dead is not None:
            raise TargetDied(self.dead)
        limit = reply_limit(message)
        self.seq += 1
        message["seq"] = self.seq
        if self._released:
            # The same list, emptied of what is sent: each proxy's finalizer appends to the list it was made with.
            released = self._released[:]
            del self._released[:len(released)]
            message["release"] = [[ref, box[0]] for ref, box in released]
        fds = self.arena.take_fds()
        try:
            try:
                wire.send(self.sock, message, self._handle_of, fds)
            finally:
                for fd in fds:
                    os.close(fd)
            while True:
                reply = self.inbox.receive(self._proxy, limit=limit)
                if not isinstance(reply, dict) or type(reply.get("seq")) is not int:
                    raise wire.WireError("a reply that is not a reply")
                if reply["seq"] == self.seq:
                    break
                if reply["seq"] > self.seq:
                    raise wire.WireError("a reply to a request not sent yet")
        except (EOFError, OSError) as exc:
            raise TargetDied(self._ended(exc)) from None
        except wire.WireError:
            # The stream cannot be trusted past a malformed message: this process is done with the target.
            self._ended(None, kill=True)
            self.dead = "the verifier stopped the target process after it broke the protocol"
            raise
        if "raise" in reply:
            if not isinstance(reply["raise"], wire.RemoteException):
                raise wire.WireError("a reply raising something that is not an exception")
            raise reply["raise"]
        if "ok" not in reply:
            raise wire.WireError("a reply with no value")
        return reply["ok"]

    def _ended(self, exc: BaseException | None, kill: bool = False) -> str:
        """How the target process ended; it is reaped (killed first if it still runs)."""
        status, stopped = None, False
        for wait, then_kill in ((0.0 if kill else 5.0, True), (5.0, False)):
            deadline = time.monotonic() + wait
            while status is None:
                try:
                    pid, found = os.waitpid(self.pid, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid:
                    status = found
                elif time.monotonic() >= deadline:
                    break
                else:
                    time.sleep(0.01)
            if status is not None or not then_kill:
                break
            try:
                os.kill(self.pid, signal.SIGKILL)
                stopped = True
            except OSError:
                break
        if status is None or stopped:
            self.dead = "the target process closed its connection to the verifier"
        else:
            how, outside = _process.describe_exit(status)
            self.dead = (f"the target process {how} from outside the check (an out-of-memory killer or `kill`; "
                         "the target may also have sent it)" if outside else
                         f"the target crashed the worker process: it {how}")
        return self.dead

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            if self.dead is None:
                self._ended(None, kill=True)

    def begin_check(self) -> None:
        """Tell the target process a check begins (see ``begin_check`` in :meth:`_Server.answer`). A target that
        answers it badly is dealt with by the check's first call: a dead process raises :class:`TargetDied` there."""
        try:
            self.request(op="begin_check")
        except (wire.RemoteException, wire.WireError, TargetDied):
            pass

    # -- loading

    def import_target(self, target: str, name: str) -> None:
        """Import what ``target`` names there (the target's module runs), for :meth:`load` to adapt: a job tells
        its parent when this is done, so the parent can time the adaptation (which calls the target's code)
        against the first check's limit, from outside."""
        try:
            self.request(op="import", target=target)
        except wire.RemoteException as exc:
            raise _load_error(name, exc) from None
        except wire.WireError as exc:
            raise TargetLoadError(f"loading target {name!r} failed: the target process broke the protocol: "
                                  f"{exc}") from None

    @contextlib.contextmanager
    def watchdog(self, seconds: float | None) -> Iterator[None]:
        """Kill the target process if what runs inside takes more than ``seconds`` (``None``: no limit): a time
        limit kept by this process, which the target cannot delay or block. A request cut by it raises
        :class:`TargetDied`, and ``stopped_after`` says it was the watchdog."""
        if seconds is None:
            yield
            return

        def expire() -> None:
            self.stopped_after = seconds
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass

        timer = threading.Timer(seconds, expire)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def load(self, target: str, spec: str, name: str, overrides: dict[str, Any], interfaces: list[type]) -> tuple[
            "Remote", dict[str, str]]:
        """Load and adapt ``target`` there; the subject's proxy and the versions there. Its interface is the first
        of ``interfaces`` (the reference subject's classes, most derived first) that the subject is."""
        try:
            reply = self.request(op="load", target=target, spec=spec, name=name, overrides=overrides,
                                 probe_cap=self.probe_cap)
        except wire.RemoteException as exc:
            raise _load_error(name, exc) from None
        except wire.WireError as exc:
            raise TargetLoadError(f"loading target {name!r} failed: the target process broke the protocol: "
                                  f"{exc}") from None
        if not isinstance(reply, dict) or not isinstance(reply.get("subject"), Remote) or \
                not isinstance(reply.get("data"), dict) or not isinstance(reply.get("versions"), dict):
            raise TargetLoadError(f"loading target {name!r} failed: the target process sent a malformed answer")
        subject = reply["subject"]
        classes = object.__getattribute__(subject, "_handle").classes
        fitting = [c for c in interfaces if _key(c) in classes]
        if not fitting:
            raise TargetLoadError(f"loading target {name!r} failed: the target process adapted it to a "
                                  f"{classes[0].split(':')[-1] if classes else 'object'}, not a "
                                  f"{interfaces[0].__qualname__}")
        _assign(subject, fitting[0], f"the subject of {name!r}")
        from verify.adapters.base import Subject

        hints = _hints(Subject)
        data = reply["data"]
        for key, value in data.items():
            if key in hints and not _fits(value, hints[key]):
                raise TargetLoadError(f"loading target {name!r} failed: the target process sent {key} = "
                                      f"{clip(repr(value), 80)}, not a {hints[key]}")
        if not isinstance(data.get("roles"), frozenset) or not all(isinstance(r, str) for r in data["roles"]):
            raise TargetLoadError(f"loading target {name!r} failed: the target process sent malformed roles")
        # What reports show of it, bounded as the in-process adapters' texts are (a target's own names can be long).
        for key in ("description", "name", "library"):
            if isinstance(data.get(key), str):
                data[key] = clip(data[key], _TEXT)
        if isinstance(data.get("mapping"), list):
            data["mapping"] = [clip(line, _TEXT) for line in data["mapping"][:_LINES]]
        object.__getattribute__(subject, "_data").update(data)
        versions = {clip(k, 40): clip(v, 80) for k, v in list(reply["versions"].items())[:_LINES]}
        return subject, versions


#: What a reply may hold beyond what its request asked for: headers, texts, scalars, small arrays.
REPLY_SLACK = 16 << 20
_SCALARS = frozenset({str, int, float, bool, type(None)})


def reply_limit(value: Any) -> int:
    """The most bytes the reply to a request carrying ``value`` may announce: four times the bytes of the arrays
    it carries (a step returns parameters the size of the gradients it was given, a layer's backward three arrays
    the size of dy at most), sixteen bytes per entry of each shape it names (an initialiser's ``sample(shape,
    seed)``), and :data:`REPLY_SLACK`. A target cannot make the job allocate more than that."""
    total = 0
    stack = [value]
    while stack and total < wire.MAX_FRAME:
        x = stack.pop()
        if type(x) in _SCALARS:
            continue
        if isinstance(x, np.ndarray):
            total += 4 * x.nbytes
        elif isinstance(x, wire.Placed):
            total += 4 * x.nbytes
        elif isinstance(x, (list, tuple)):
            if x and all(type(n) is int and 0 <= n < wire.MAX_FRAME for n in x):
                total += 16 * min(math.prod(x), wire.MAX_FRAME)
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
    return min(wire.MAX_FRAME, REPLY_SLACK + total)


def _load_error(name: str, exc: wire.RemoteException) -> UsageError:
    """The usage error an exception raised while the target was imported or adapted there stands for."""
    cls = _USAGE_ERRORS.get(exc.type)
    if cls is not None:
        return cls(exc.text)
    return TargetLoadError(f"loading target {name!r} failed: {exc.type}: {exc.text}")


def start(load: Callable[..., Any], close: Iterable[int] = (), setup: Callable[[], None] | None = None) -> TargetProcess:
    """Fork the target process (before the target is loaded), which loads targets with ``load``
    (:func:`verify.runner.load_subject`); ``close`` are descriptors it must not hold, ``setup`` runs in it
    first (a memory limit)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            ours.close()
            for fd in close:
                os.close(fd)
            _process.die_with_parent()
            if os.getppid() != parent:
                os._exit(0)
            # The job, the zygote and `verify` above it cannot be stopped, killed or starved by the target.
            _process.forbid_signalling(_process.ancestors())
            if setup is not None:
                setup()
            # The checker's processes do not import from the working directory (verify.isolation); targets
            # given as dotted names of the user's modules are found there, as `python -m` finds them.
            sys.path.insert(0, os.getcwd())
            serve(theirs, load)
        except BaseException:  # noqa: BLE001 - the checker sees the connection close and the exit status
            traceback.print_exc()
            code = 70
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    theirs.close()
    return TargetProcess(ours, pid)


def forget_working_directory() -> None:
    """Drop the working directory from this process's import path: the target may write files there, and no
    module this process imports later may come from them (the verifier's own packages are found as before)."""
    cwd = os.getcwd()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:] = [p for p in sys.path if p == here or p not in ("", ".", cwd)]
    sys.path_importer_cache.clear()


# ----------------------------------------------------------------------------- proxies


class Remote:
    """An object held by the target process, seen through the interface class it was asked as.

    A method of the interface is a call there; another attribute is a read there (its value data, or a handle);
    what comes back is checked against the interface's annotations. ``_data`` holds values sent once (the
    subject's descriptive fields), read without asking.
    """

    __slots__ = ("_target", "_handle", "_iface", "_data", "_count", "_seen", "__weakref__")

    def __init__(self, target: TargetProcess, handle: wire.Handle, iface: type | None, data: dict,
                 count: list[int]):
        for k, v in (("_target", target), ("_handle", handle), ("_iface", iface), ("_data", data),
                     ("_count", count), ("_seen", None)):
            object.__setattr__(self, k, v)

    def __repr__(self) -> str:
        iface = object.__getattribute__(self, "_iface")
        return f"<remote {iface.__name__ if iface else 'object'}>"

    def __getattr__(self, name: str) -> Any:
        data = object.__getattribute__(self, "_data")
        if name in data:
            return data[name]
        if name.startswith("__"):
            raise AttributeError(name)
        iface = object.__getattribute__(self, "_iface")
        member = _member(iface, name) if iface is not None else None
        if isinstance(member, (types.FunctionType, staticmethod, classmethod)):
            return functools.partial(_call, self, name)
        target = object.__getattribute__(self, "_target")
        try:
            value = target.request(op="get", ref=self, name=name)
        except wire.RemoteException as exc:
            if exc.type == "AttributeError":
                raise AttributeError(exc.text) from None
            raise _target_error(name, exc) from None
        value = _checked(value, _attribute_hint(iface, name, member), f"its attribute {name}")
        if isinstance(value, Remote) and object.__getattribute__(value, "_iface") is _input_record():
            return InputsSeen(value, _seen(self))     # the job's own observations come with the target's record
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        target = object.__getattribute__(self, "_target")
        try:
            target.request(op="set", ref=self, name=name, value=value)
        except wire.RemoteException as exc:
            raise _target_error(f"setting {name}", exc) from None
        data = object.__getattribute__(self, "_data")
        if name in data:
            data[name] = value
        if name == "held":
            target.held = dict(value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _call(self, None, *args, **kwargs)


def _call(proxy: Remote, name: str | None, *args: Any, **kwargs: Any) -> Any:
    iface = object.__getattribute__(proxy, "_iface")
    if name is not None and not args and not kwargs and getattr(getattr(iface, name, None), "settled", False):
        kept = object.__getattribute__(proxy, "_data")        # a settled answer (adapters.base.settled): asked once
        if (name,) not in kept:
            kept[(name,)] = _ask(proxy, iface, name, args, kwargs)
        return kept[(name,)]
    return _ask(proxy, iface, name, args, kwargs)


def _ask(proxy: Remote, iface: type | None, name: str | None, args: tuple, kwargs: dict) -> Any:
    target = object.__getattribute__(proxy, "_target")
    where = name or "a call"
    args, kwargs, watch = _place(target, iface, name, args, kwargs)
    value = None                             # what the call returned: the values a "returned" input may take
    try:
        value = target.request(op="call", ref=proxy, name=name, args=list(args), kwargs=kwargs)
    except wire.RemoteException as exc:
        raise _raised(exc, target, iface, name, [(args, kwargs)]) from None
    finally:
        if watch is not None and target.dead is None:
            _seen(proxy).observe(iface, name, watch, target.arena.unavailable, value)
    return _checked(value, _return_hint(iface, name), f"{where}()")


def call_each(obj: Any, name: str, calls: Sequence[tuple]) -> list[Any]:
    """``[getattr(obj, name)(*args) for args in calls]``; on a proxy in one round trip: the target process makes
    the calls in order, the first exception ends them (raised here as that single call's would be), and each value
    is checked against the method's annotation as a single call's is.

    The arguments of several calls travel in the message, not in shared memory: what those calls do to their
    inputs is judged by the target process's own record only (a single call is made as any other). For runs of
    calls whose inputs the checks keep their own copies of and whose mutation they do not judge (the points of
    finite differences)."""
    calls = [tuple(args) for args in calls]
    if not isinstance(obj, Remote) or len(calls) == 1:
        fn = getattr(obj, name)
        return [fn(*args) for args in calls]
    target = object.__getattribute__(obj, "_target")
    iface = object.__getattribute__(obj, "_iface")
    try:
        values = target.request(op="each", ref=obj, name=name, calls=[list(args) for args in calls])
    except wire.RemoteException as exc:
        raise _raised(exc, target, iface, name, [(args, {}) for args in calls]) from None
    if not isinstance(values, list) or len(values) != len(calls):
        raise ProtocolError(f"{name}() made {len(calls)} times sent back {_describe(values)}, not a list of "
                            f"{len(calls)} values")
    hint = _return_hint(iface, name)
    return [_checked(value, hint, f"{name}()") for value in values]


@functools.lru_cache(maxsize=None)
def _return_hint(iface: type | None, name: str | None) -> Any:
    """The return annotation of ``iface``'s method ``name`` (``None``: none), looked up once per method."""
    return _hints(getattr(iface, name)).get("return") if iface is not None and name is not None else None


def _raised(exc: wire.RemoteException, target: TargetProcess, iface: type | None, name: str | None,
            calls: list[tuple[tuple, dict]]) -> Exception:
    """What the job raises for an exception a call of ``name`` raised in the target process (``calls``: the
    arguments of the calls the request made)."""
    where = name or "a call"
    if exc.type == "HeldParameterError":
        if any(_asks_held(target.held, iface, name, args, kwargs) for args, kwargs in calls):
            return HeldParameterError(exc.text)
        return ProtocolError(f"{where}() was refused as asking for a held hyperparameter, but it asks for "
                             f"none the run holds ({clip(exc.text, 200)})")
    if exc.type == "ProtocolError":
        return ProtocolError(exc.text)
    return _target_error(where, exc)


# ----------------------------------------------------------------------------- inputs watched from here


def _input_record() -> type:
    from verify.adapters.base import InputRecord

    return InputRecord


@dataclasses.dataclass(frozen=True)
class _Watched:
    """How a method of an interface is called (its positional parameters, the call as messages show it) and the
    rule (:class:`~verify.adapters.base.Given`) of each parameter annotated with one."""

    positional: tuple[str, ...]
    call: str
    rules: dict[str, Any]


@functools.lru_cache(maxsize=None)
def _given(iface: type, name: str) -> _Watched | None:
    """What to watch in calls of ``iface.name``: rules here or in a class it derives from (``None``: nothing)."""
    from verify.adapters.base import Given

    rules: dict[str, Any] = {}
    for cls in reversed(iface.__mro__):
        fn = cls.__dict__.get(name)
        if not isinstance(fn, types.FunctionType):
            continue
        for param, hint in _hints(fn).items():
            if typing.get_origin(hint) is typing.Annotated:
                rules.update({param: m for m in hint.__metadata__ if isinstance(m, Given)})
    if not rules:
        return None
    try:
        params = list(inspect.signature(getattr(iface, name)).parameters.values())[1:]
    except (TypeError, ValueError):
        return None
    return _Watched(tuple(p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)),
                    f"{name}({', '.join(p.name for p in params)})", rules)


def _place(target: TargetProcess, iface: type | None, name: str | None, args: tuple, kwargs: dict) -> tuple[
        tuple, dict, list | None]:
    """The call's arguments with each array the interface marks :class:`~verify.adapters.base.Given` placed in
    memory shared with the target process, and what to compare after the call: ``(name, rule, the job's view,
    its private copy)`` of each (``None``: the method has no such argument)."""
    watched = _given(iface, name) if iface is not None and name is not None else None
    if watched is None:
        return args, kwargs, None
    args, kwargs, watch = list(args), dict(kwargs), []
    for param, rule in watched.rules.items():
        k = watched.positional.index(param) if param in watched.positional else -1
        if 0 <= k < len(args):
            value = args[k]
        elif param in kwargs:
            value = kwargs[param]
        else:
            continue
        if not isinstance(value, np.ndarray) or (value.dtype.str not in wire.ALLOWED_DTYPES and
                                                 value.dtype.newbyteorder("<").str not in wire.ALLOWED_DTYPES):
            continue
        placed = target.arena.place(value)
        if placed is None:
            continue                         # sent in the frame: only the target process's record watches it
        (chunk, offset), view = placed
        marker = wire.Placed(chunk, offset, view.dtype.str, view.shape)
        if 0 <= k < len(args):
            args[k] = marker
        else:
            kwargs[param] = marker
        watch.append((param, rule, view, np.array(value, copy=True)))
    return tuple(args), kwargs, watch


def _holds(view: np.ndarray, returned: Any) -> bool:
    """Whether a shared input holds exactly what a call returned (as values, NaN-aware, as the target process's
    adapter judges an optimizer's params updated in place)."""
    from verify.adapters.base import same_state

    if not isinstance(returned, np.ndarray) or returned.shape != view.shape:
        return False
    try:
        return same_state(np.asarray(view, dtype=np.float64), np.asarray(returned, dtype=np.float64))
    except (TypeError, ValueError):
        return False


class _Seen:
    """What the job saw the calls on one object in the target process do to the inputs it shared with them,
    merged with what that process's own record says (which can only add failures and notes)."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.notes: list[str] = []
        self.pending: tuple[list[str], list[str]] = ([], [])    # the job's, since the target's were last read
        self.read = [0, 0]                                       # how many of the target's are merged
        self.kept: list[tuple[str, str, np.ndarray, np.ndarray, Any]] = []  # (name, given at, view, copy, rule)
        self.calls: dict[str, int] = {}
        self.unobserved: str | None = None

    def observe(self, iface: type, name: str, watch: list, unavailable: str | None, returned: Any = None) -> None:
        """Judge the inputs shared with the call just made (``returned``: what it returned, ``None`` if it raised)
        and those of earlier calls still watched."""
        from verify.adapters.base import InputRecord, left_alone

        n = self.calls[name] = self.calls.get(name, 0) + 1
        call = _given(iface, name).call
        failures, notes = self.pending
        still = []
        for param, at, view, before, rule in self.kept:
            if left_alone(view, before):
                still.append((param, at, view, before, rule))
            elif rule.changed == "returned" and _holds(view, returned):
                still.append((param, at, view, np.array(view, copy=True), rule))    # updated in place, given again
            else:
                failures.append(f"{call} modified, at {name} {n}, the {param} given at {at}, which the target "
                                "kept" + (", to values other than the ones it returned" if rule.changed == "returned"
                                          else "") + ": its state aliases the caller's array (copy it)")
        failed = []
        for param, rule, view, before in watch:
            if left_alone(view, before):
                if rule.kept:
                    still.append((param, f"{name} {n}", view, before, rule))
            elif rule.changed == "note":
                notes.append(f"{call} modified its argument {param} in place at {name} {n}")
            elif rule.changed == "returned" and _holds(view, returned):
                if rule.kept:
                    still.append((param, f"{name} {n}", view, np.array(view, copy=True), rule))
            elif rule.changed == "returned":
                failures.append(f"{call} modified its argument {param} in place at {name} {n}, to values other than "
                                "the ones it returned: a caller keeping the array holds neither the old nor the new "
                                "values")
            else:
                failed.append(param)
        if failed:
            failures.append(f"{call} modified its input {', '.join(failed)} in place")
        self.kept = still[-InputRecord.KEEP:]
        if unavailable is not None and self.unobserved is None:
            self.unobserved = unavailable

    def merge(self, record: Remote) -> None:
        """Take the target's record's failures and notes not merged yet, then the job's own since."""
        for k, field in enumerate(("failures", "notes")):
            theirs = getattr(record, field)
            if not isinstance(theirs, list) or not all(isinstance(t, str) for t in theirs):
                raise ProtocolError(f"the target process sent its record's {field} as {_describe(theirs)}, not a "
                                    "list of texts")
            mine = getattr(self, field)
            mine += theirs[self.read[k]:]
            self.read[k] = max(self.read[k], len(theirs))
            mine += self.pending[k]
            self.pending[k].clear()


def _seen(proxy: Remote) -> _Seen:
    seen = object.__getattribute__(proxy, "_seen")
    if seen is None:
        seen = _Seen()
        object.__setattr__(proxy, "_seen", seen)
    return seen


class InputsSeen:
    """A worker's view of an object's :class:`~verify.adapters.base.InputRecord`: its ``failures`` and ``notes``
    are the job's own findings on the inputs it shared (compared in shared memory after each call) merged with
    the target process's record, in the order learnt; ``unobserved`` says why the job could not see an input for
    itself. Anything else is read from the target's record."""

    def __init__(self, record: Remote, seen: _Seen):
        self.remote = record
        self._seen = seen

    @property
    def failures(self) -> list[str]:
        self._seen.merge(self.remote)
        return list(self._seen.failures)

    @property
    def notes(self) -> list[str]:
        self._seen.merge(self.remote)
        return list(self._seen.notes)

    @property
    def unobserved(self) -> str | None:
        return self._seen.unobserved

    def __getattr__(self, name: str) -> Any:
        return getattr(self.remote, name)


def _target_error(where: str, exc: wire.RemoteException) -> TargetError:
    """An exception raised in the target process: the target's, as it wrapped it or as it came."""
    if exc.type == "TargetError" and exc.inner is not None:
        return TargetError(exc.where or where, exc.inner)
    return TargetError(f"{where} (in the target process)", exc)


def _asks_held(held: dict[str, Any], iface: type | None, name: str | None, args: tuple, kwargs: dict) -> bool:
    """Whether this call gives a held hyperparameter another value, judged here (the target process could
    claim it of any call, to have a check skipped instead of failed)."""
    from verify.specs.base import require_held

    values = dict(kwargs)
    method = getattr(iface, name, None) if iface is not None and name is not None else None
    if method is not None:
        try:
            bound = inspect.signature(method).bind(None, *args, **kwargs)
        except TypeError:
            bound = None
        if bound is not None:
            for k, v in list(bound.arguments.items())[1:]:
                if isinstance(v, dict) and inspect.signature(method).parameters[k].kind is \
                        inspect.Parameter.VAR_KEYWORD:
                    values.update(v)
                else:
                    values[k] = v
    try:
        require_held(held, values)
    except HeldParameterError:
        return True
    return False


# ----------------------------------------------------------------------------- validation by annotation


@functools.lru_cache(maxsize=None)
def _member(iface: type, name: str) -> Any:
    """``iface``'s attribute ``name`` as the class defines it (a function, a property, ...; ``None``: none)."""
    return inspect.getattr_static(iface, name, None)


@functools.lru_cache(maxsize=None)
def _hints(obj: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(obj, include_extras=True)
    except Exception:  # noqa: BLE001 - an annotation that cannot be resolved checks nothing
        return {}


def _attribute_hint(iface: type | None, name: str, member: Any) -> Any:
    if iface is None:
        return None
    if isinstance(member, property) and member.fget is not None:
        return _hints(member.fget).get("return")
    return _hints(iface).get(name)


def _key(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _assign(proxy: Remote, iface: type, what: str) -> None:
    """Give ``proxy`` the interface ``iface``, if its object is one (else a :class:`ProtocolError`)."""
    handle = object.__getattribute__(proxy, "_handle")
    if _key(iface) not in handle.classes:
        raise ProtocolError(f"{what} is a {handle.classes[0].split(':')[-1] if handle.classes else 'object'}, "
                            f"not a {iface.__qualname__}")
    current = object.__getattribute__(proxy, "_iface")
    if current is None or issubclass(iface, current):
        object.__setattr__(proxy, "_iface", iface)


def _checked(value: Any, hint: Any, where: str) -> Any:
    if hint is not None and not _fits(value, hint):
        raise ProtocolError(f"{where} sent back {_describe(value)}; expected {_hint_text(hint)}")
    return value


def _describe(value: Any) -> str:
    if isinstance(value, Remote):
        handle = object.__getattribute__(value, "_handle")
        return f"a {handle.classes[0].split(':')[-1]}" if handle.classes else "an object"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        return f"a {type(value).__name__} ({value:.6g})"
    return f"a {type(value).__name__}"


def _hint_text(hint: Any) -> str:
    if typing.get_origin(hint) is typing.Annotated:     # Annotated[float, OneOf(...)]: the values it may take
        values = [v for m in hint.__metadata__ for v in getattr(m, "values", ())]
        return (f"{_hint_text(typing.get_args(hint)[0])} among {', '.join(f'{v:.3g}' for v in values)}" if values
                else _hint_text(typing.get_args(hint)[0]))
    return getattr(hint, "__qualname__", None) or str(hint).replace("typing.", "")


def _fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` (decoded from the target's side) is what the annotation ``hint`` promises; a proxy
    that fits a class annotation gets that class as its interface."""
    if hint is np.ndarray:                       # the most common by far: first
        return isinstance(value, np.ndarray)
    if hint is Any or hint is None or isinstance(hint, (str, typing.TypeVar)):
        return True
    if hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:        # Annotated[float, OneOf(...)]: the type, then each constraint
        return _fits(value, args[0]) and all(m.accepts(value) for m in hint.__metadata__ if hasattr(m, "accepts"))
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if hint is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_fits(v, args[0]) for v in value)
        return not args or (len(args) == len(value) and all(_fits(v, a) for v, a in zip(value, args)))
    if origin in (list, set, frozenset):
        return isinstance(value, origin) and (not args or all(_fits(v, args[0]) for v in value))
    if origin is dict:
        return isinstance(value, dict) and (not args or all(_fits(k, args[0]) and _fits(v, args[1])
                                                             for k, v in value.items()))
    if origin is not None:
        return True                              # Callable[...], Sequence[...], Mapping[...]: not checked
    if isinstance(hint, type):
        if isinstance(value, Remote):
            try:
                _assign(value, hint, "a value")
            except ProtocolError:
                return False
            return True
        return isinstance(value, hint)
    return True
