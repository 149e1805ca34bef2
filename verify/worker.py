"""The processes that run checks for :mod:`verify.isolation`.

Two ways in (internal):

* ``python -m verify.worker --zygote FD`` — a *zygote*: imports the verifier
  once, then serves jobs sent over the ``SOCK_SEQPACKET`` socket ``FD``. Each
  job arrives with the write end of a pipe; the zygote forks a child that
  runs it (so every job starts with the verifier imported and nothing else:
  no target, no state from an earlier job) and reports the child's pid, and
  later how it exited.
* ``python -m verify.worker --job EVENTS_FD OUTPUT_FD`` with one JSON job on
  stdin — the same job in a freshly spawned interpreter, where ``fork`` is
  not available.

A job runs in its own session with its stdout and stderr on a pipe that the
parent reads and bounds (so whatever the target prints can neither garble the
protocol or the terminal nor fill a disk), and writes JSON lines on its event
channel:

* ``{"event": "framing", "marker": NONCE}`` first: the output stream is framed per check with it
  (:mod:`verify.capture`)
* ``{"event": "adapting"}`` once the target is imported, ``{"event": "loaded", ...}`` once it is adapted, or
  ``{"event": "load_error", "message": ...}``
* ``{"event": "start", "check": NAME}`` before each check
* ``{"event": "result", "result": {...}}`` after each check
* ``{"event": "done"}``
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import sys
import traceback
from typing import Any, TextIO

from verify import _process

PACKET = 1 << 16      # largest control message (a job is a few hundred bytes)

# What every job imports: imported once in the zygote so that no job pays for it inside its time limit. What a
# run's specs need beyond it (sympy, scipy.stats) the parent has the zygote import before the run's first job
# (verify.specs.modules_needed), so that a run of optimizers does not pay for the statistics' imports.
_PRELOAD = ("numpy", "hypothesis", "verify.runner", "verify.results", "verify.plan", "verify.remote",
            "verify.capture")


def _output_to(fd: int) -> None:
    """Send this process's stdout and stderr (the target's prints) to ``fd``."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _limit_memory(extra: int) -> None:
    """Let this process map at most ``extra`` bytes beyond what it maps now (RLIMIT_AS)."""
    import resource

    with open("/proc/self/statm") as fh:
        mapped = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = mapped + extra
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def run_job(job: dict[str, Any], events: TextIO) -> None:
    """Run the checks of ``job`` (a :meth:`verify.plan.RunPlan.job`), writing events on ``events``.

    The target is loaded in a *target process* forked here first
    (:mod:`verify.remote`): this process runs the checks on its proxy and
    never imports the target. Both print to this process's stdout and
    stderr, a pipe the parent reads; each check's output is framed by
    markers written before its ``start`` and ``result`` events
    (:mod:`verify.capture`), so the parent attributes every print to the
    check it was made in, however late it handles the events. The target
    process flushes before each reply, so a call's prints precede the end
    marker of its check. If the target process dies, the check that was using it gets an
    error and this job ends without ``done``: the parent starts a fresh one
    for the remaining checks.
    """

    def emit(event: dict) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        events.write(json.dumps(event, allow_nan=False) + "\n")
        events.flush()

    from verify import capture, remote
    from verify.errors import UsageError
    from verify.plan import RunPlan, select_checks
    from verify.runner import execute_check, held_record, load_subject, prepare

    plan = RunPlan.from_job(job)
    options = plan.options
    setup = (lambda: _limit_memory(options.memory_limit)) if options.memory_limit else None
    target = remote.start(load_subject, close=[events.fileno()], setup=setup)
    remote.forget_working_directory()
    marker = capture.new_marker()         # drawn after the fork: the target process never holds it
    emit({"event": "framing", "marker": marker})
    # Adapting the target counts against the first check's limit, which the parent keeps from outside (timing
    # it from "adapting" on). A probe is also stopped by a timer in the target process after half that limit:
    # a target that lets the timer fire is then loaded in time, and the report says how it was recognised;
    # one that blocks it is stopped by the parent all the same.
    limit = job.get("check_limit")
    target.probe_cap = float(limit) / 2 if isinstance(limit, (int, float)) and limit >= 0 else None
    try:
        target.import_target(plan.target, plan.name)
        # What follows calls the target's code (its constructor, its methods on a probe, the protocol's fit):
        # its time counts against the first check's limit.
        emit({"event": "adapting"})
        prep = prepare(plan, target)
        checks = select_checks(prep.spec, options.checks)
    except UsageError as exc:
        emit({"event": "load_error", "message": str(exc), "traceback": traceback.format_exc()})
        return
    except remote.TargetDied as exc:
        emit({"event": "load_error", "message": f"loading target {job['target']!r} failed: {exc.message}"})
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
        "hyperparameters": prep.hyperparameter_lines(),
        "held": jsonable(held_record(prep.held)),
        "versions": prep.versions,
        "params": jsonable(prep.params),
    })
    for check in checks:
        # Whatever the target left running in an earlier check (its target process itself goes on).
        _process.kill_descendants(spare=frozenset({target.pid}))
        capture.write_frame(marker, "begin", check.name)
        emit({"event": "start", "check": check.name})
        try:
            _reset_warning_registries()
            target.begin_check()
            result = execute_check(prep, check, options)
        except remote.TargetDied as exc:
            message = exc.message
            if options.memory_limit and "crashed" in message:
                message += (f" (under --memory-limit {options.memory_limit / 2 ** 20:g}M: an allocation that "
                            "failed inside compiled code may have crashed it)")
            result = CheckResult(check.name, check.kind, Status.ERROR, message,
                                 reproduction=prep.plan(options).command(check.name))
            capture.write_frame(marker, "end", check.name)
            _process.kill_descendants()       # what the dead target process left running (re-parented here)
            emit({"event": "result", "result": result.to_dict()})
            return                    # no "done": the parent runs the remaining checks in a fresh job
        except KeyboardInterrupt:
            # The job runs in its own session, so a real Ctrl-C never reaches it: another process of the
            # run's (the target's) sent it.
            result = CheckResult(check.name, check.kind, Status.ERROR, "the target raised KeyboardInterrupt",
                                 reproduction=prep.plan(options).command(check.name))
        capture.write_frame(marker, "end", check.name)
        emit({"event": "result", "result": result.to_dict()})
    # The target process and all it left running end before the run is done, not when the job server gets to
    # reaping this job (a target's sleeping children outlived a run by a minute under load).
    target.close()
    _process.kill_descendants()
    emit({"event": "done"})


def _reset_warning_registries() -> None:
    """Entering ``catch_warnings`` invalidates every "already shown" registry of this process: a warning the
    checks raise shows in each check that raises it, whichever checks this job ran before (the target process
    does the same at ``begin_check``)."""
    import warnings

    with warnings.catch_warnings():
        pass


# ----------------------------------------------------------------------------- zygote


def _preload(modules) -> None:
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a library that fails here fails again, reported, in the job
            pass


def _child(control: socket.socket, event_fd: int, output_fd: int, job: dict[str, Any]) -> None:
    """In the forked child: become a job process and run ``job``; never returns."""
    code = 0
    try:
        os.setsid()                   # its own process group: killed as a whole
        _become_job()
        control.close()
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        _output_to(output_fd)
        with os.fdopen(event_fd, "w", buffering=1, encoding="utf-8") as events:
            run_job(job, events)
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


def _become_job() -> None:
    """Hygiene of a process that runs a target: it dies with its parent, cannot reach into the verifier's
    processes (they are non-dumpable and it has no ``CAP_SYS_PTRACE``), and adopts its orphans."""
    _process.die_with_parent()
    _process.drop_ptrace()
    _process.become_subreaper()


class _Stop(Exception):
    """The zygote's parent is gone (SIGTERM from the death signal) or closed the control socket."""


def _stop(*_: Any) -> None:
    raise _Stop


def serve(control: socket.socket) -> None:
    """The zygote's loop: fork a child per job, report pids and exit statuses, stop at EOF.

    When it stops — its parent closed the socket or died, even by SIGKILL —
    it kills every job and everything the jobs started (it is their
    subreaper), so no process of a run outlives it.
    """
    children: set[int] = set()
    try:
        _process.die_with_parent(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGHUP, _stop)
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle
        _process.make_non_dumpable()
        _process.become_subreaper()
        _preload(_PRELOAD)
        _serve(control, children)
    except _Stop:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for pid in children:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        _process.kill_descendants()


def _serve(control: socket.socket, children: set[int]) -> None:

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
                    _child(control, fds[0], fds[1], message["job"])
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
            if pid in children:
                children.discard(pid)
                send({"event": "exited", "pid": pid, "status": status})
                # What the job started and left behind is re-parented here: it goes with the job.
                _process.kill_descendants(keep=frozenset(children))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--zygote"]:
        control = socket.socket(fileno=int(argv[1]))
        serve(control)
        return 0
    # --job EVENTS_FD OUTPUT_FD, the job on stdin: a job in a fresh interpreter (no fork available).
    events = os.fdopen(int(argv[1]), "w", buffering=1, encoding="utf-8")
    _become_job()
    _preload(_PRELOAD)
    job = json.loads(sys.stdin.readline())
    from verify.specs import modules_needed

    _preload(modules_needed([job.get("spec", "")]))
    _output_to(int(argv[2]))
    events.write(json.dumps({"event": "ready"}) + "\n")
    events.flush()
    run_job(job, events)
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    # Skip interpreter teardown: a target's atexit handlers or threads must not hang the worker.
    os._exit(code)
