"""The processes that run checks for :mod:`verify.isolation`.

Two ways in (internal):

* ``python -m verify.worker --zygote FD`` — a *zygote*: imports the verifier
  once, then serves jobs sent over the ``SOCK_SEQPACKET`` socket ``FD``. Each
  job arrives with the write end of a pipe; the zygote forks a child that
  runs it (so every job starts with the verifier imported and nothing else:
  no target, no state from an earlier job) and reports the child's pid, and
  later how it exited.
* ``python -m verify.worker CAPTURE_PATH`` with one JSON job on stdin and the
  events on stdout — the same job in a freshly spawned interpreter, where
  ``fork`` is not available.

A job runs in its own session with its stdout and stderr moved to a capture
file (so whatever the target prints cannot garble the protocol or the
terminal) and writes JSON lines on its event channel:

* ``{"event": "loaded", ...}`` or ``{"event": "load_error", "message": ...}``
* ``{"event": "start", "check": NAME}`` before each check
* ``{"event": "result", "result": {...}}`` after each check
* ``{"event": "done"}``
"""

from __future__ import annotations

import ctypes
import json
import os
import selectors
import signal
import socket
import sys
import traceback
from typing import Any, TextIO

PACKET = 1 << 16      # largest control message (a job is a few hundred bytes)

# What the checks import lazily: imported once in the zygote so that no job pays for it
# inside its time limit.
_PRELOAD = (
    "numpy", "scipy.stats", "scipy.optimize", "sympy", "hypothesis",
    "verify.runner", "verify.specs.regularisers", "verify.specs.initialisers", "verify.specs.batchnorm",
    "verify.specs.newton", "verify.specs.optimizers", "verify.symbolic", "verify.convergence",
    "verify.conformance", "verify.diagnosis", "verify.tolerance", "verify.stats", "verify.gradcheck",
    "verify.results",
)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no orphan keeps running)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _excerpt(path: str, start: int, end: int, limit: int = 2000) -> str:
    """What the target printed between two offsets of the capture file, cut to ``limit``."""
    size = end - start
    if size <= 0:
        return ""
    with open(path, "rb") as fh:
        fh.seek(start)
        head = fh.read(min(size, limit))
    text = head.decode("utf-8", errors="replace")
    if size > limit:
        text += f"\n... [{size - limit} more bytes printed, {size} in total]"
    return text


def _capture_output(capture_path: str) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    capture_fd = os.open(capture_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(capture_fd, 1)
    os.dup2(capture_fd, 2)
    os.close(capture_fd)


def run_job(job: dict[str, Any], events: TextIO, capture_path: str) -> None:
    """Load the target of ``job`` and run its checks, writing events on ``events``."""

    def emit(event: dict) -> None:
        events.write(json.dumps(event, allow_nan=False) + "\n")
        events.flush()

    from verify.errors import UsageError
    from verify.runner import RunOptions, execute_check, prepare, reproduction_command, select_checks, versions

    options = RunOptions(**{**job["options"], "checks": tuple(job["checks"]) or None})
    try:
        prep = prepare(job["target"], job["spec"], job["params"])
        checks = select_checks(prep.spec, options.checks)
    except UsageError as exc:
        emit({"event": "load_error", "message": str(exc), "traceback": traceback.format_exc()})
        return
    except Exception as exc:  # noqa: BLE001 - report anything that stops loading
        emit({"event": "load_error", "message": f"loading target {job['target']!r} failed: "
              f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
        return
    from verify.results import CheckResult, Status, jsonable

    emit({
        "event": "loaded",
        "adapter": prep.subject.description,
        "mapping": list(prep.subject.mapping),
        "versions": versions(prep.subject),
        "params": jsonable(prep.params),
    })
    for check in checks:
        emit({"event": "start", "check": check.name})
        sys.stdout.flush()
        start = os.lseek(1, 0, os.SEEK_END)
        try:
            result = execute_check(prep, check, options)
        except KeyboardInterrupt:
            # The job runs in its own session, so a real Ctrl-C never reaches it:
            # this KeyboardInterrupt was raised by the target itself.
            result = CheckResult(check.name, check.kind, Status.ERROR, "the target raised KeyboardInterrupt",
                                 reproduction=reproduction_command(prep.target_name, prep.spec.name, options.seed,
                                                                   prep.overrides, check.name, options))
        sys.stdout.flush()
        sys.stderr.flush()
        result.output = _excerpt(capture_path, start, os.lseek(1, 0, os.SEEK_END))
        emit({"event": "result", "result": result.to_dict()})
    emit({"event": "done"})


# ----------------------------------------------------------------------------- zygote


def _preload(modules) -> None:
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a library that fails here fails again, reported, in the job
            pass


def _child(control: socket.socket, event_fd: int, job: dict[str, Any], capture: str) -> None:
    """In the forked child: become a job process and run ``job``; never returns."""
    code = 0
    try:
        os.setsid()                   # its own process group: killed as a whole
        _die_with_parent()
        control.close()
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        _capture_output(capture)
        with os.fdopen(event_fd, "w", buffering=1, encoding="utf-8") as events:
            run_job(job, events, capture)
    except BaseException:  # noqa: BLE001 - the parent sees the missing events and the exit status
        traceback.print_exc()
        code = 70
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            # Skip interpreter teardown: a target's atexit handlers or threads must not hang the job.
            os._exit(code)


def serve(control: socket.socket) -> None:
    """The zygote's loop: fork a child per job, report pids and exit statuses, stop at EOF."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle
    _preload(_PRELOAD)

    def send(message: dict) -> None:
        try:
            control.send(json.dumps(message).encode())
        except OSError:
            pass

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sel = selectors.DefaultSelector()
    sel.register(control, selectors.EVENT_READ, "control")
    sel.register(wake_r, selectors.EVENT_READ, "child")
    children: set[int] = set()
    send({"event": "ready"})
    while True:
        for key, _ in sel.select():
            if key.data == "child":
                os.read(wake_r, 4096)
                continue
            try:
                data, fds, _flags, _addr = socket.recv_fds(control, PACKET, 4)
            except OSError:
                data, fds = b"", []
            if not data:
                for pid in children:
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except OSError:
                        pass
                return
            message = json.loads(data)
            if message["op"] == "import":
                _preload(message["modules"])
                send({"event": "imported"})
            elif message["op"] == "run":
                pid = os.fork()
                if pid == 0:
                    sel.close()
                    os.close(wake_r)
                    os.close(wake_w)
                    signal.set_wakeup_fd(-1)
                    _child(control, fds[0], message["job"], message["capture"])
                for fd in fds:
                    os.close(fd)
                children.add(pid)
                send({"event": "forked", "id": message["id"], "pid": pid})
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            children.discard(pid)
            send({"event": "exited", "pid": pid, "status": status})


def main(argv: list[str]) -> int:
    if argv[:1] == ["--zygote"]:
        control = socket.socket(fileno=int(argv[1]))
        serve(control)
        return 0
    capture_path = argv[0]
    events = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    _die_with_parent()
    _preload(_PRELOAD)
    job = json.loads(sys.stdin.readline())
    _capture_output(capture_path)
    events.write(json.dumps({"event": "ready"}) + "\n")
    events.flush()
    run_job(job, events, capture_path)
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    # Skip interpreter teardown: a target's atexit handlers or threads must not hang the worker.
    os._exit(code)
