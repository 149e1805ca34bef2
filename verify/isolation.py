"""Run checks in job processes, several at once, so a broken target cannot take the run down.

A run of one spec on one target is split into *units* (a share of its
checks); up to ``options.jobs`` units run at the same time, each in its own
job process. Job processes are forked from a *zygote* that imported the
verifier once (:mod:`verify.worker`), so a job starts in milliseconds with
nothing but the verifier loaded, and no time limit ever pays for the
verifier's own imports.

A target that hangs is killed after the per-check time limit (status
``timeout``); one that crashes the interpreter (segfault, ``os._exit``) gets
status ``error``; in both cases a fresh job runs the unit's remaining checks.
Whatever the target prints is read by this process, bounded (head and tail
kept) and attached to its check's result, never shown on the terminal.
Results are reported in the spec's order whatever order they finish in, so
the transcript and the report do not depend on scheduling. Ctrl-C kills every
job and returns the partial runs, marked incomplete.
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Callable, Sequence

from verify import _process
from verify.capture import AFTER, Frames
from verify.errors import ProtocolError, TargetLoadError, UsageError, VerifyError
from verify.plan import Interrupted, RunOptions, RunPlan, select_checks
from verify.results import CheckResult, RunResult, Status
from verify.specs import get_spec, modules_needed
from verify.text import clip, sanitise, sanitised

__all__ = ["run_isolated", "prestart", "Interrupted", "default_jobs"]

#: Top-level libraries a target may come from that are safe to import in the zygote before it
#: forks (no threads started at import), so that jobs checking them do not import them again.
_SHARED_LIBRARIES = ("torch", "jax", "optax")


def result_from_target_side(data: Any) -> CheckResult:
    """A :class:`CheckResult` from what a job sent: every string sanitised (the target controls exception
    messages and printed output), anything malformed an error of the target's side."""
    try:
        return CheckResult.from_dict(sanitised(data))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProtocolError(f"a malformed check result ({type(exc).__name__}: {clip(exc, 200)})") from None


#: The environment variable that sets how many jobs run at once when ``--jobs`` is not given (a test suite
#: under pytest-xdist, whose workers already fill the cores, sets it to 1).
JOBS_VARIABLE = "VERIFY_JOBS"


def default_jobs() -> int:
    """How many jobs run at once by default: ``VERIFY_JOBS`` if set, else the cores this process may use."""
    given = os.environ.get(JOBS_VARIABLE, "").strip()
    if given:
        if not given.isdigit() or int(given) < 1:
            raise UsageError(f"{JOBS_VARIABLE}={given!r} is not a positive integer (the number of jobs run at once)")
        return int(given)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _worker_command(*args: str) -> list[str]:
    """How a zygote or a spawned job is started: without the working directory on its import path (``-P``).

    Targets run as this user and may write files there (``numpy.py``, ``sympy.py``): a checker that imported
    from it would run them. The target process alone puts it back (:func:`verify.remote.start`), for targets
    given as dotted names of the user's modules.
    """
    return [sys.executable, "-P", "-m", "verify.worker", *args]


def _job_env() -> dict[str, str]:
    env = dict(os.environ)
    # With -P the verifier itself must be found without the working directory: a source checkout run from
    # its root is found there only (its own files are then as writable to the target as the directory is).
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root == os.getcwd():
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.setdefault("PYTHONHASHSEED", "0")
    # One BLAS/OpenMP thread: the checks use small matrices, several jobs run at once,
    # single-threaded reductions give reproducible rounding, and forking is safe.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    # Verification runs in float64: jax arrays a target creates at import must be float64 too.
    env.setdefault("JAX_ENABLE_X64", "1")
    return env


def _oom_kills() -> int | None:
    """The out-of-memory kills counted in this process's memory cgroup, if readable."""
    try:
        with open("/proc/self/cgroup") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            candidates = [f"/sys/fs/cgroup{path}/memory.events"]
        elif "memory" in controllers.split(","):
            candidates = [f"/sys/fs/cgroup/memory{path}/memory.oom_control"]
        else:
            continue
        for candidate in candidates:
            try:
                with open(candidate) as fh:
                    for row in fh:
                        key, _, value = row.partition(" ")
                        if key == "oom_kill":
                            return int(value)
            except (OSError, ValueError):
                continue
    return None


# ----------------------------------------------------------------------------- job processes


class _Job:
    """A running job process: its event channel, the pipe of what it prints, how to stop it."""

    def __init__(self, pid: int, events_fd: int, output_fd: int, exit_status: Callable[[float], int | None]):
        self.pid = pid
        self.fd = events_fd
        self.output_fd = output_fd
        for fd in (events_fd, output_fd):
            os.set_blocking(fd, False)
        self._exit_status = exit_status
        self.buffer = b""
        self.queue: list[dict[str, Any]] = []     # events read, not yet handed out
        self.eof = False
        self.output = Frames()
        self.oom_before = _oom_kills()

    def _pull(self) -> None:
        """Read the events available now into the queue; the job's ``framing`` event is taken here."""
        if self.fd < 0 or self.eof:
            return
        try:
            chunk = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            chunk = None
        if chunk == b"":
            self.eof = True
        elif chunk:
            self.buffer += chunk
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = None
            if not isinstance(event, dict):
                event = {"event": "garbled", "line": line[:200].decode("utf-8", "replace")}
            if event.get("event") == "framing":
                self.output.set_marker(event.get("marker"))
            else:
                self.queue.append(event)

    def read(self) -> list[dict[str, Any]]:
        """The complete events available now (sets ``eof`` when the channel closes)."""
        self._pull()
        out, self.queue = self.queue, []
        return out

    def read_output(self) -> bool:
        """Take in everything printed so far; ``False`` once the pipe is closed."""
        while self.output_fd >= 0:
            try:
                chunk = os.read(self.output_fd, 1 << 16)
            except BlockingIOError:
                return True
            if not self.output.marker_known:
                # The job announces its marker before it writes any frame: if this chunk holds one, the
                # announcement is on the events pipe by now.
                self._pull()
            if not chunk:
                return False
            self.output.feed(chunk)
        return False

    def describe_end(self) -> str:
        """How the job ended, said so that a kill from outside is not blamed on the target."""
        how, outside = _process.describe_exit(self._exit_status(5.0))
        after = _oom_kills()
        if self.oom_before is not None and after is not None and after > self.oom_before:
            return (f"the worker process {how}: the out-of-memory killer stopped it (the machine ran out of "
                    "memory; the target may need too much, or other processes do)")
        if outside:
            return (f"the worker process {how} from outside the check (an out-of-memory killer, a CI cancel or "
                    "`kill`; the target may also have sent it)")
        return f"the target crashed the worker process: it {how}"

    def kill(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.close()

    def close(self) -> None:
        for name in ("fd", "output_fd"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)


class _Zygote:
    """The process jobs are forked from (see :mod:`verify.worker`)."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = ours
        self.context = _context()
        self.proc = subprocess.Popen(
            _worker_command("--zygote", str(theirs.fileno())),
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True, env=_job_env())
        theirs.close()
        self.exits: dict[int, int] = {}
        self.libraries: set[str] = set()
        self._next_id = 0
        self.ready = False

    def wait_ready(self) -> None:
        if not self.ready:
            self._expect("ready", timeout=600.0)
            self.ready = True

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def preload(self, libraries: Sequence[str]) -> None:
        """Import ``libraries`` in the zygote (once), so that jobs do not each import them."""
        self.wait_ready()
        missing = [lib for lib in libraries if lib not in self.libraries]
        if missing:
            self._send({"op": "import", "modules": missing})
            self._expect("imported", timeout=600.0)
            self.libraries.update(missing)

    def _send(self, message: dict, fds: Sequence[int] = ()) -> None:
        socket.send_fds(self.sock, [json.dumps(message).encode()], list(fds))

    def _receive(self, timeout: float | None) -> dict | None:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            return None
        finally:
            self.sock.settimeout(None)
        if not data:
            raise VerifyError("the verifier's job server stopped unexpectedly")
        message = json.loads(data)
        if message.get("event") == "exited":
            self.exits[message["pid"]] = message["status"]
        return message

    def _expect(self, event: str, timeout: float, **match: Any) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise VerifyError(f"the verifier's job server did not answer within {timeout:g} s")
            message = self._receive(left)
            if message and message.get("event") == event and all(message.get(k) == v for k, v in match.items()):
                return message

    def start(self, job: dict) -> _Job:
        events_r, events_w = os.pipe()
        output_r, output_w = os.pipe()
        self._next_id += 1
        try:
            self._send({"op": "run", "id": self._next_id, "job": job}, [events_w, output_w])
        finally:
            os.close(events_w)
            os.close(output_w)
        pid = self._expect("forked", timeout=60.0, id=self._next_id)["pid"]
        return _Job(pid, events_r, output_r, lambda timeout: self.exit_status(pid, timeout))

    def exit_status(self, pid: int, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while pid not in self.exits and time.monotonic() < deadline:
            self._receive(max(0.0, deadline - time.monotonic()))
        return self.exits.pop(pid, None)

    def close(self) -> None:
        if self.sock.fileno() < 0:
            return
        self.sock.close()   # the zygote kills its remaining children and exits at EOF
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class _Spawner:
    """Where ``fork`` is unavailable: one fresh interpreter per job."""

    def start(self, job: dict) -> _Job:
        events_r, events_w = os.pipe()
        output_r, output_w = os.pipe()
        try:
            proc = subprocess.Popen(_worker_command("--job", str(events_w), str(output_w)),
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    pass_fds=(events_w, output_w), start_new_session=True, env=_job_env())
        finally:
            os.close(events_w)
            os.close(output_w)
        assert proc.stdin
        proc.stdin.write((json.dumps(job) + "\n").encode())
        proc.stdin.close()

        def exit_status(timeout: float) -> int | None:
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return None
            return -code if code < 0 else code << 8   # as waitpid reports it

        return _Job(proc.pid, events_r, output_r, exit_status)


def _can_fork() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork") and hasattr(socket, "send_fds")


_zygote: _Zygote | None = None


def _context() -> tuple[str, frozenset]:
    """What a job inherits from the zygote that may change in this process between runs: the working
    directory (relative targets, ``sys.path[0]``) and the environment (pytest's per-test variable aside)."""
    env = frozenset((k, v) for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST")
    return os.getcwd(), env


def prestart() -> None:
    """Start this process's zygote now, without waiting for it, so that its imports overlap other work.

    A zygote started in another working directory or environment is replaced:
    its jobs would not see the targets as a fresh process started now would.
    """
    global _zygote
    if not _can_fork():
        return
    if _zygote is not None and (not _zygote.alive or _zygote.context != _context()):
        _zygote.close()
        _zygote = None
    if _zygote is None:
        _zygote = _Zygote()
        atexit.register(_zygote.close)


def _starter(targets: Sequence[str], specs: Sequence[str]) -> _Zygote | _Spawner:
    """What starts jobs: this process's zygote (started once, kept for later runs), or a spawner."""
    if not _can_fork():
        return _Spawner()
    prestart()
    assert _zygote is not None
    _zygote.preload([*_library_roots(targets), *modules_needed(specs)])
    return _zygote


# ----------------------------------------------------------------------------- scheduling


@dataclasses.dataclass
class _Run:
    """One (target, spec) run being assembled from its units' results."""

    plan: RunPlan
    order: list[str]                       # the selected checks, in the spec's order
    kinds: dict[str, str]
    run: RunResult
    results: dict[str, CheckResult] = dataclasses.field(default_factory=dict)
    load_error: UsageError | None = None
    loaded: bool = False
    hung: bool = False                     # a check timed out: the later ones get shortened budgets
    open_units: int = 0
    shown: int | None = None               # results already reported, in order (None: not announced)
    started: float | None = None

    @property
    def finished(self) -> bool:
        return self.load_error is not None or (self.open_units == 0 and len(self.results) == len(self.order))

    @property
    def target(self) -> str:
        return self.plan.target

    @property
    def options(self) -> RunOptions:
        return self.plan.options


class _Unit:
    """A share of one run's checks, run in job processes one after another (a new one after a crash)."""

    def __init__(self, state: _Run, checks: list[str]):
        self.state = state
        self.pending = list(checks)
        self.job: _Job | None = None
        self.current: str | None = None
        self.current_start = 0.0
        self.deadline = float("inf")
        self.current_budget = float("inf")
        self.share: float | None = None   # each remaining check's time once the run's target hung
        self.job_started = 0.0
        self.counted_from: float | None = None   # since when the job's load counts against the next check
        self.debt = 0.0               # the time that load took (measured here): the next check's
        self.current_debt = 0.0
        self.progress = True          # a result arrived since the job started
        self.job_loaded = False       # the current job has loaded the target
        self.last_result: CheckResult | None = None   # the current job's last check that reported a result
        self.done = False

    @property
    def limit(self) -> float:
        return self.state.options.timeout or float("inf")

    def budget(self) -> float:
        """The time limit of the next check: the per-check limit, or, once a check of this run timed out
        (the target seems to hang), one limit shared equally among the checks the unit had left then, so that
        a run on a hanging target ends within twice the limit instead of once per check."""
        if not self.state.hung:
            return self.limit
        if self.share is None:
            self.share = self.limit / max(1, len(self.pending))
        return self.share

    def start(self, starter: Any) -> None:
        s = self.state
        job = s.plan.job(self.pending)
        if self.budget() < float("inf"):
            job["check_limit"] = self.budget()     # what its load may take: the first check's limit
        self.job = starter.start(job)
        self.last_result = None
        self.debt = 0.0
        self.counted_from = None
        self.current = None
        self.progress = False
        self.job_loaded = False
        # Importing the target may import torch or jax, slow on a cold machine; it has its own limit, which
        # starts now: the verifier's own imports were paid by the zygote.
        self.job_started = time.monotonic()
        self.deadline = self.job_started + self.load_limit()

    def load_limit(self) -> float:
        """The time limit of loading the target in a job: its own, or, once the run's target hung, the next check's
        shortened budget (loading it again probes it, which a hanging target makes wait too)."""
        if self.state.hung:
            return min(self.state.options.load_timeout, self.budget())
        return self.state.options.load_timeout

    # -- outcomes

    def _record(self, result: CheckResult) -> None:
        if result.name not in self.pending:
            return                     # a duplicate or unrequested result (a forked target): ignored
        self.pending.remove(result.name)
        self.state.results[result.name] = result
        self.progress = True

    def _fail_current(self, status: Status, message: str, output: str = "") -> None:
        name = self.current or self.pending[0]
        self._record(CheckResult(name, self.state.kinds[name], status, message, output=output,
                                 duration=time.monotonic() - self.current_start if self.current else 0.0,
                                 reproduction=self.state.plan.command(name)))

    def _stop_job(self) -> None:
        if self.job is not None:
            self.job.kill()
            self.job = None

    def _take_output(self, check: str | None = None) -> str:
        """What was printed in ``check``'s frame, or (no check given: the job stopped) since the open frame began
        or the last one ended (bounded, sanitised)."""
        if self.job is None:
            return ""
        self.job.read_output()
        return clip(self.job.output.take(check) if check else self.job.output.take_open(), 6000)

    def _attach_trailing(self, output: str) -> None:
        """What the job printed after its last check ended (a thread of the target, say): kept with that check,
        after a note, never dropped (bounded: it is what one stretch outside frames keeps)."""
        if output and self.last_result is not None:
            last = self.last_result
            last.output = (last.output.rstrip("\n") + "\n" if last.output else "") + f"{AFTER}\n{output}"

    def _load_failed(self, message: str) -> None:
        if self.state.load_error is None:
            self.state.load_error = TargetLoadError(message)
        self._stop_job()
        self.done = True

    # -- events

    def on_events(self, events: list[dict[str, Any]], now: float) -> None:
        for event in events:
            try:
                if self._on_event(event, now):
                    return
            except (KeyError, TypeError, ValueError, AttributeError):
                continue              # an event that breaks the protocol is ignored, never fatal

    def _on_event(self, event: dict[str, Any], now: float) -> bool:
        """Handle one event; ``True`` when the job is over."""
        s = self.state
        kind = event.get("event")
        if kind == "ready":                   # a spawned job finished the verifier's imports
            self.job_started = now
            self.deadline = now + self.load_limit()
        elif kind == "adapting":
            # The target is imported; adapting it runs its code (constructor, calls on a probe), timed from here
            # against the next check's limit: a target that blocks or ignores every timer of its own process is
            # still stopped on time. Once the run's target hung, the whole load counts.
            if self.counted_from is None and not self.job_loaded:
                self.counted_from = self.job_started if s.hung else now
                self.deadline = min(self.deadline if s.hung else float("inf"), self.counted_from + self.budget())
        elif kind == "load_error":
            self._load_failed(sanitise(event.get("message", "loading the target failed")))
            return True
        elif kind == "loaded":
            self.job_loaded = True
            if not s.loaded:
                loaded = sanitised(event)
                s.run.adapter = str(loaded.get("adapter", ""))
                s.run.mapping = [str(m) for m in loaded.get("mapping", [])]
                s.run.hyperparameters = [str(m) for m in loaded.get("hyperparameters", [])]
                s.run.held = dict(loaded.get("held", {}))
                s.run.versions = {str(k): str(v) for k, v in loaded.get("versions", {}).items()}
                s.run.params = dict(loaded.get("params", s.run.params))
                s.loaded = True
            if self.counted_from is not None:
                self.debt = max(0.0, now - self.counted_from)
            self.deadline = now + self.limit
        elif kind == "start":
            if event["check"] not in self.pending:
                return False
            self.current = event["check"]
            self.current_start = now
            self.current_budget = self.budget()
            self.current_debt, self.debt = min(self.debt, self.current_budget), 0.0
            self.deadline = now + self.current_budget - self.current_debt
        elif kind == "result":
            try:
                result = result_from_target_side(event["result"])
            except ProtocolError:
                return False
            result.output = self._take_output(result.name)
            self._record(result)
            if result.name == self.current:
                self.last_result = result
            self.current = None
            self.deadline = now + self.limit
        elif kind == "done":
            self._attach_trailing(self._take_output())
            self._stop_job()
            for name in list(self.pending):
                self.current = name
                self._fail_current(Status.ERROR, "the worker process ended without running this check")
            self.done = True
            return True
        return False

    def on_end(self) -> None:
        """The job's event channel closed before ``done``."""
        assert self.job is not None
        how = self.job.describe_end()
        output = self._take_output()
        self._stop_job()
        if not self.state.loaded:
            self._load_failed(f"the worker loading target {self.state.target!r} ended: {how}: "
                              f"{clip(output, 300).strip()}")
            return
        if self.state.options.memory_limit and "crashed" in how:
            how += (f" (under --memory-limit {self.state.options.memory_limit / 2 ** 20:g}M: an allocation that "
                    "failed inside compiled code may have crashed it)")
        if self.current is not None:
            self._fail_current(Status.ERROR, how, output)
        elif not self.progress and self.pending:
            # Died twice in a row between checks: the next check is the one that cannot run.
            self._fail_current(Status.ERROR, f"{how} before the check started", output)
        else:
            self._attach_trailing(output)
        self.current = None

    def on_timeout(self, now: float) -> None:
        s = self.state
        output = self._take_output()
        self._stop_job()
        if not self.pending:          # every result is in; only the job's exit was late
            self._attach_trailing(output)
            return
        adapting = self.counted_from is not None and not self.job_loaded
        if not s.loaded and not adapting and not s.hung:
            self._load_failed(f"loading target {s.target!r} did not finish within {s.options.load_timeout:g} s")
            return
        if not self.job_loaded and s.hung:
            self._fail_current(Status.TIMEOUT, f"not run: the target hung in an earlier check, and loading it again "
                                               f"for this one did not finish within the {self.budget():.3g} s "
                                               "left to it", output)
        elif adapting:
            self._fail_current(Status.TIMEOUT, f"not run: adapting the target (its constructor and its methods tried "
                                               f"on a probe while it was loaded), which counts against this check's "
                                               f"limit, did not finish within {self.budget():.3g} s (the target may "
                                               "loop forever or be far too slow)", output)
            s.hung = True
        elif not self.job_loaded:
            self._fail_current(Status.ERROR, f"loading the target again (after the previous job ended) did not "
                                             f"finish within {s.options.load_timeout:g} s")
        elif self.current is not None:
            shortened = (f"; its limit was shortened from {self.limit:g} s because an earlier check of this run "
                         "timed out" if self.current_budget < self.limit else "")
            if self.current_debt >= 0.05 * self.current_budget:
                shortened += (f"; {self.current_debt:.3g} s of it went to loading the target (its methods tried on "
                              "a probe)")
            self._fail_current(Status.TIMEOUT, f"the check did not finish within {self.current_budget:.3g} s and "
                                               f"was stopped (the target may loop forever or be far too slow){shortened}",
                               output)
            s.hung = True
        else:
            self._fail_current(Status.TIMEOUT, f"the check did not start within {self.limit:g} s: the worker process "
                                               "stalled after the previous check (a thread of the target, or a "
                                               "machine far too busy)", output)
        self.current = None


def _split(checks: list[str], parts: int) -> list[list[str]]:
    """``checks`` dealt round-robin into at most ``parts`` non-empty shares (deterministic)."""
    parts = max(1, min(parts, len(checks)))
    return [checks[i::parts] for i in range(parts)]


def _library_roots(targets: Sequence[str]) -> list[str]:
    roots = {t.split(".", 1)[0].split(":", 1)[0] for t in targets}
    return [lib for lib in _SHARED_LIBRARIES if lib in roots]


def run_isolated(plans: Sequence[RunPlan],
                 on_event: Callable[[str, Any], None] | None = None) -> list[RunResult | UsageError]:
    """Run every plan in job processes, up to ``options.jobs`` of them at a time (the first plan's options).

    Returns, per plan and in order, its :class:`RunResult` or the
    :class:`UsageError` that kept it from running (the target could not be
    loaded). ``on_event`` is called in the plans' order and each run's check
    order, whatever order the work finishes in: ``("run_start", plan)``,
    ``("result", CheckResult)``, then ``("run_done", RunResult | UsageError)``.
    Raises :class:`Interrupted` on Ctrl-C.
    """
    if not plans:
        return []
    jobs = plans[0].options.jobs or default_jobs()
    states: list[_Run] = []
    for plan in plans:
        spec = get_spec(plan.spec)
        params = spec.resolve_params(plan.overrides)     # validate before starting a process
        plan = plan.replace(spec=spec.name)
        order = [c.name for c in select_checks(spec, plan.options.checks)]
        states.append(_Run(plan, order, {c.name: c.kind for c in spec.checks},
                           RunResult(target=plan.target, spec=spec.name, seed=plan.seed, params=params,
                                     command=plan.command())))
    shares = max(1, jobs // max(1, len(states)))
    queue: collections.deque[_Unit] = collections.deque()
    for state in states:
        for checks in _split(state.order, shares):
            queue.append(_Unit(state, checks))
            state.open_units += 1
    cursor = [0]

    def report_in_order() -> None:
        while cursor[0] < len(states):
            s = states[cursor[0]]
            if s.shown is None:
                s.shown = 0
                if on_event:
                    on_event("run_start", s.plan)
            if s.load_error is None:
                while s.shown < len(s.order) and s.order[s.shown] in s.results:
                    if on_event:
                        on_event("result", s.results[s.order[s.shown]])
                    s.shown += 1
            if not s.finished:
                return
            s.run.checks = [s.results[n] for n in s.order if n in s.results]
            if on_event:
                on_event("run_done", s.load_error or s.run)
            cursor[0] += 1

    active: list[_Unit] = []
    registered: dict[_Unit, tuple[int, int]] = {}
    sel = selectors.DefaultSelector()

    def watch(unit: _Unit) -> None:
        """Keep the selector in step with the unit's job: its events and output channels (``-1`` once the
        output reached its end), none for a stopped job (whose channels are already closed)."""
        fds = registered.pop(unit, None)
        if fds is not None and (unit.job is None or unit.job.fd != fds[0]):
            for fd in fds:
                if fd >= 0:
                    sel.unregister(fd)
            fds = None
        if fds is None and unit.job is not None:
            sel.register(unit.job.fd, selectors.EVENT_READ, (unit, "events"))
            sel.register(unit.job.output_fd, selectors.EVENT_READ, (unit, "output"))
            fds = (unit.job.fd, unit.job.output_fd)
        if fds is not None:
            registered[unit] = fds

    def retire(unit: _Unit) -> None:
        active.remove(unit)
        unit.state.open_units -= 1
        if unit.state.load_error is not None:       # its sibling units cannot load the target either
            for other in [u for u in active if u.state is unit.state]:
                other._stop_job()
                watch(other)
                other.done = True
        if unit.state.finished:
            unit.state.run.duration = time.perf_counter() - unit.state.started

    try:
        starter = _starter([s.target for s in states], [s.plan.spec for s in states])
        while queue or active:
            while len(active) < jobs and queue:
                unit = queue.popleft()
                if unit.state.load_error is not None:
                    unit.state.open_units -= 1
                    continue
                if unit.state.started is None:
                    unit.state.started = time.perf_counter()
                unit.start(starter)
                active.append(unit)
                watch(unit)
            wait = min((u.deadline for u in active), default=0.0) - time.monotonic()
            ready = sel.select(timeout=max(0.0, min(wait, 1.0))) if active else []
            now = time.monotonic()
            for key, _ in ready:
                unit, channel = key.data
                if unit.job is None or key.fd not in registered.get(unit, ()):
                    continue
                if channel == "output":
                    if not unit.job.read_output():      # closed: the job is ending; its events say how
                        sel.unregister(key.fd)
                        registered[unit] = (registered[unit][0], -1)
                    if not unit.job.queue:              # events read with the output wait for nothing
                        continue
                unit.on_events(unit.job.read(), now)
                while unit.job is not None and unit.job.queue:
                    unit.on_events(unit.job.read(), now)
                if unit.job is not None and unit.job.eof:
                    unit.on_end()
                watch(unit)
            for unit in active:
                if unit.job is not None and now >= unit.deadline:
                    unit.on_timeout(now)
                    watch(unit)
            for unit in list(active):
                if unit.job is not None:
                    continue
                if unit.pending and not unit.done and unit.state.load_error is None:
                    unit.start(starter)             # a fresh job for the remaining checks
                    watch(unit)
                else:
                    retire(unit)
            report_in_order()
    except KeyboardInterrupt as exc:
        partial = []
        for s in states:
            if s.started is not None and s.load_error is None:
                s.run.checks = [s.results[n] for n in s.order if n in s.results]
                s.run.incomplete = True
                s.run.duration = time.perf_counter() - (s.started or time.perf_counter())
                partial.append(s.run)
        raise Interrupted(partial, getattr(exc, "signum", signal.SIGINT)) from None
    finally:
        for unit in active:
            unit._stop_job()
        sel.close()
    report_in_order()
    return [s.load_error or s.run for s in states]

