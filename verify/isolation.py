"""Run a spec's checks in a worker process, so a broken target cannot take the run down.

A target that hangs is killed after the per-check time limit (status
``timeout``); one that crashes the interpreter (segfault, ``os._exit``) gets
status ``error``; in both cases a fresh worker runs the remaining checks.
Whatever the target prints goes to a capture file, never to the terminal.
Ctrl-C kills the worker and returns the partial run, marked incomplete.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Mapping

from verify.errors import TargetLoadError
from verify.results import CheckResult, RunResult, Status
from verify.runner import RunOptions, clip_text, reproduction_command, select_checks
from verify.specs import get_spec

__all__ = ["run_isolated", "Interrupted"]


class Interrupted(Exception):
    """Ctrl-C during a run; ``run`` holds what finished, marked incomplete."""

    def __init__(self, run: RunResult):
        super().__init__("interrupted")
        self.run = run


class _Worker:
    def __init__(self, job: dict[str, Any], capture: str):
        env = dict(os.environ)
        env.setdefault("PYTHONHASHSEED", "0")
        # One BLAS/OpenMP thread: the checks use small matrices, several workers may run at
        # once (pytest -n), and single-threaded reductions give reproducible rounding.
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")
        # Verification runs in float64: jax arrays a target creates at import must be float64 too.
        env.setdefault("JAX_ENABLE_X64", "1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "verify.worker", capture],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches only the parent, which then kills us
            env=env,
        )
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write((json.dumps(job) + "\n").encode())
        self.proc.stdin.close()
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buffer = b""
        self.eof = False

    def next_event(self, deadline: float) -> dict[str, Any] | None:
        """The next event, or ``None`` at EOF; raises ``TimeoutError`` past ``deadline``."""
        while b"\n" not in self.buffer:
            if self.eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if not self.sel.select(timeout=min(remaining, 0.5)):
                continue
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                self.eof = True
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            return {"event": "garbled", "line": line[:200].decode("utf-8", "replace")}

    def exit_description(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return "stopped responding"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"was killed by {name}"
        return f"exited with status {code}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.sel.close()
        if self.proc.stdout:
            self.proc.stdout.close()


def _tail(path: str, limit: int = 1500) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - limit))
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def run_isolated(target: str, spec_name: str, overrides: Mapping[str, Any] | None = None,
                 options: RunOptions = RunOptions(),
                 on_event: Callable[[str, Any], None] | None = None) -> RunResult:
    """Run the checks of ``spec_name`` on ``target`` in worker processes.

    ``on_event("start", name)`` and ``on_event("result", CheckResult)`` report
    progress. Raises :class:`TargetLoadError` if the target cannot be loaded
    and :class:`Interrupted` on Ctrl-C.
    """
    spec = get_spec(spec_name)
    overrides = dict(overrides or {})
    params = spec.resolve_params(overrides)    # validate before starting a process
    pending = [c.name for c in select_checks(spec, options.checks)]
    kinds = {c.name: c.kind for c in spec.checks}
    run = RunResult(target=target, spec=spec.name, seed=options.seed, params=params,
                    command=reproduction_command(target, spec.name, options.seed, overrides, options=options))
    results: dict[str, CheckResult] = {}
    opts = {"seed": options.seed, "max_examples": options.max_examples,
            "family_alpha": options.family_alpha, "timeout": options.timeout, "isolate": True}
    # Loading may import torch or jax, slow on a cold machine; it has its own limit.
    load_limit = options.load_timeout
    started = time.perf_counter()
    fd, capture = tempfile.mkstemp(prefix="verify-capture-", suffix=".log")
    os.close(fd)
    limit = options.timeout or float("inf")
    worker: _Worker | None = None
    loaded = False

    def record(result: CheckResult) -> None:
        results[result.name] = result
        pending.remove(result.name)
        if on_event:
            on_event("result", result)

    try:
        while pending:
            job = {"target": target, "spec": spec.name, "params": overrides, "options": opts, "checks": pending}
            worker = _Worker(job, capture)
            current: str | None = None
            current_start = time.monotonic()
            deadline = time.monotonic() + load_limit
            while True:
                try:
                    event = worker.next_event(deadline)
                except TimeoutError:
                    worker.kill()
                    if current is None:
                        raise TargetLoadError(
                            f"loading target {target!r} did not finish within {load_limit:g} s"
                        ) from None
                    record(CheckResult(current, kinds[current], Status.TIMEOUT,
                                       f"the check did not finish within {limit:g} s and was stopped "
                                       "(the target may loop forever or be far too slow)",
                                       duration=time.monotonic() - current_start,
                                       reproduction=reproduction_command(target, spec.name, options.seed,
                                                                         overrides, current, options)))
                    break
                if event is None:
                    how = worker.exit_description()
                    worker.kill()
                    if not loaded:
                        raise TargetLoadError(
                            f"the worker loading target {target!r} {how}: {clip_text(_tail(capture), 300).strip()}"
                        )
                    if current is None:  # died between checks; retry what is left
                        if not pending:
                            break
                        current = pending[0]
                    record(CheckResult(current, kinds[current], Status.ERROR,
                                       f"the target crashed the worker process: it {how}",
                                       output=clip_text(_tail(capture)),
                                       duration=time.monotonic() - current_start,
                                       reproduction=reproduction_command(target, spec.name, options.seed,
                                                                         overrides, current, options)))
                    break
                kind = event.get("event")
                if kind == "load_error":
                    worker.kill()
                    raise TargetLoadError(event["message"])
                if kind == "loaded":
                    loaded = True
                    run.adapter = event["adapter"]
                    run.mapping = event["mapping"]
                    run.versions = event["versions"]
                    run.params = event["params"]
                    deadline = time.monotonic() + 30.0
                elif kind == "start":
                    current = event["check"]
                    current_start = time.monotonic()
                    deadline = current_start + limit
                    if on_event:
                        on_event("start", current)
                elif kind == "result":
                    record(CheckResult.from_dict(event["result"]))
                    current = None
                    deadline = time.monotonic() + 30.0
                elif kind == "done":
                    worker.kill()
                    break
            worker = None
    except KeyboardInterrupt:
        if worker is not None:
            worker.kill()
        run.checks = [results[c.name] for c in spec.checks if c.name in results]
        run.incomplete = True
        run.duration = time.perf_counter() - started
        raise Interrupted(run) from None
    finally:
        if worker is not None:
            worker.kill()
        try:
            os.unlink(capture)
        except OSError:
            pass
    run.checks = [results[c.name] for c in spec.checks if c.name in results]
    run.duration = time.perf_counter() - started
    return run
