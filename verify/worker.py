"""The worker process that runs checks for :mod:`verify.isolation`.

Usage (internal): ``python -m verify.worker CAPTURE_PATH`` with one JSON job
on stdin. The worker moves its own stdout and stderr to ``CAPTURE_PATH`` (so
whatever the target prints cannot garble the protocol or the terminal) and
writes JSON lines on a private copy of the original stdout:

* ``{"event": "loaded", ...}`` or ``{"event": "load_error", "message": ...}``
* ``{"event": "start", "check": NAME}`` before each check
* ``{"event": "result", "result": {...}}`` after each check
* ``{"event": "done"}``
"""

from __future__ import annotations

import json
import os
import sys
import traceback


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


def main(argv: list[str]) -> int:
    capture_path = argv[0]
    proto = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    sys.stdout.flush()
    sys.stderr.flush()
    capture_fd = os.open(capture_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(capture_fd, 1)
    os.dup2(capture_fd, 2)
    os.close(capture_fd)

    def emit(event: dict) -> None:
        proto.write(json.dumps(event, allow_nan=False) + "\n")
        proto.flush()

    job = json.loads(sys.stdin.readline())

    from verify.errors import UsageError
    from verify.runner import RunOptions, execute_check, prepare, reproduction_command, select_checks, versions

    options = RunOptions(**{**job["options"], "checks": tuple(job["checks"]) or None})
    try:
        prep = prepare(job["target"], job["spec"], job["params"])
        checks = select_checks(prep.spec, options.checks)
    except UsageError as exc:
        emit({"event": "load_error", "message": str(exc), "traceback": traceback.format_exc()})
        return 0
    except Exception as exc:  # noqa: BLE001 - report anything that stops loading
        emit({"event": "load_error", "message": f"loading target {job['target']!r} failed: "
              f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
        return 0
    from verify.results import jsonable

    emit({
        "event": "loaded",
        "adapter": prep.subject.description,
        "mapping": list(prep.subject.mapping),
        "versions": versions(prep.subject),
        "params": jsonable(prep.params),
        "command": reproduction_command(prep.target_name, prep.spec.name, options.seed, prep.overrides,
                                       options=options),
    })
    for check in checks:
        emit({"event": "start", "check": check.name})
        sys.stdout.flush()
        start = os.lseek(1, 0, os.SEEK_END)
        try:
            result = execute_check(prep, check, options)
        except KeyboardInterrupt:
            # The worker runs in its own session, so a real Ctrl-C never reaches it:
            # this KeyboardInterrupt was raised by the target itself.
            from verify.results import CheckResult, Status

            result = CheckResult(check.name, check.kind, Status.ERROR, "the target raised KeyboardInterrupt",
                                 reproduction=reproduction_command(prep.target_name, prep.spec.name, options.seed,
                                                                   prep.overrides, check.name, options))
        sys.stdout.flush()
        sys.stderr.flush()
        result.output = _excerpt(capture_path, start, os.lseek(1, 0, os.SEEK_END))
        emit({"event": "result", "result": result.to_dict()})
    emit({"event": "done"})
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    # Skip interpreter teardown: a target's atexit handlers or threads must not hang the worker.
    os._exit(code)
