"""The Python API: verify an implementation from your own tests.

>>> from verify.api import assert_conforms
>>> def l2_grad(w, lam):
...     return 2 * lam * w
>>> run = assert_conforms(l2_grad, "l2", lam=0.1)      # doctest: +SKIP

:func:`assert_conforms` runs every check of a spec on a target and raises
:class:`ConformanceError` (an ``AssertionError``) whose message is the same
text the command line prints for each failing check: what failed, the
numbers, the counterexample, the diagnosis and the command that reproduces
it. :func:`check_conforms` runs the same checks and returns the
:class:`~verify.results.RunResult` without judging it.

``target`` is a Python object (a function, a class, a factory, a module) or
a string in the command line's forms (``path/to/file.py:name``,
``module:name``, a dotted name, ``reference``). Hyperparameters are keyword
arguments (``lr=0.1``) with the names ``verify list SPEC`` shows.

Mistakes in the call itself (an unknown spec, an unknown hyperparameter, a
target that cannot be loaded or does not follow the spec's protocol) raise
:class:`~verify.errors.UsageError`, not ``AssertionError``: nothing was
checked.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Iterable, Mapping

from verify.errors import TargetLoadError, UsageError
from verify.options import (DEFAULT_ALPHA, DEFAULT_GRADCHECK_MODE, DEFAULT_MAX_EXAMPLES, DEFAULT_SEED,
                            DEFAULT_TIMEOUT, GRADCHECK_MODES)
from verify.results import RunResult, Status

__all__ = ["assert_conforms", "check_conforms", "ConformanceError", "failure_text", "target_string"]


class ConformanceError(AssertionError):
    """A target does not conform to a spec; ``run`` holds every check's result."""

    def __init__(self, message: str, run: RunResult):
        super().__init__(message)
        self.run = run


def check_conforms(target: Any, spec: str, *, seed: int = DEFAULT_SEED, timeout: float | None = DEFAULT_TIMEOUT,
                   max_examples: int = DEFAULT_MAX_EXAMPLES, alpha: float = DEFAULT_ALPHA,
                   checks: str | Iterable[str] | None = None, isolate: bool | None = None,
                   gradcheck_mode: str = DEFAULT_GRADCHECK_MODE,
                   params: Mapping[str, Any] | None = None, **hyperparameters: Any) -> RunResult:
    """Run ``spec``'s checks on ``target`` and return the result, whatever the verdicts.

    Args:
      target: the implementation, as an object or a TARGET string.
      spec: a spec name (``verify list`` shows them).
      seed: every random choice derives from it; the same seed gives the same result.
      timeout: time limit per check in seconds (``None``: no limit).
      max_examples: examples hypothesis draws per counterexample search.
      alpha: family-wise false-alarm rate of the statistical checks.
      checks: run only these checks (a name or names) instead of all.
      isolate: run the checks in worker processes, the target in a process
        of its own (a crash or hang of the target cannot take the calling
        process down, and the target's code cannot change what the checks
        conclude; costs about a second). Needs a target the worker can
        import: a TARGET string or an object defined at module level.
        ``None`` (the default): isolated for a TARGET string; in this
        process for an object, whose code is then trusted (it runs beside
        the checks and could change their verdict).
      gradcheck_mode: how the gradient checks compare (``"auto"``, ``"full"``
        to compare every entry, ``"directional"``; see :func:`verify.gradcheck.check_grad`).
      params: hyperparameters as a mapping (for names that clash with the
        keywords above); merged with ``**hyperparameters``.
      **hyperparameters: the spec's hyperparameters, e.g. ``lr=0.1``.

    Raises:
      UsageError: unknown spec, check or hyperparameter; target not loadable
        or not following the spec's protocol.
    """
    from verify.plan import Interrupted, RunOptions, RunPlan
    from verify.runner import run
    from verify.specs import get_spec

    if not isinstance(spec, str):
        raise UsageError(f"spec must be a spec name (a string), got {type(spec).__name__}")
    spec_obj = get_spec(spec)
    overrides = {**dict(params or {}), **hyperparameters}
    selected: tuple[str, ...] | None = None
    if checks is not None:
        names = (checks,) if isinstance(checks, str) else tuple(checks)
        # Validate, and run in the spec's order whatever order they were given in.
        wanted = {spec_obj.check(n).name for n in names}
        selected = tuple(c.name for c in spec_obj.checks if c.name in wanted)
    if gradcheck_mode not in GRADCHECK_MODES:
        raise UsageError(f"gradcheck_mode must be one of {', '.join(GRADCHECK_MODES)}, got {gradcheck_mode!r}")
    if isinstance(target, str):
        name = target
    else:
        name = target_string(target)
    if isolate is None:
        isolate = isinstance(target, str)
    if isolate and name is None:
        raise TargetLoadError(
            f"isolate=True runs the checks in a worker process, which must import the target; "
            f"{_describe(target)} is not reachable by name from a module: define it at module level "
            "or pass a TARGET string")
    options = RunOptions(seed=seed, max_examples=max_examples, family_alpha=alpha, timeout=timeout,
                         checks=selected, isolate=isolate, gradcheck_mode=gradcheck_mode)
    plan = RunPlan(name if isolate else target, spec, overrides, options, target_name=name)
    try:
        (result,) = run([plan]).runs
    except Interrupted:
        raise KeyboardInterrupt from None
    return result


def assert_conforms(target: Any, spec: str, *, seed: int = DEFAULT_SEED, timeout: float | None = DEFAULT_TIMEOUT,
                    max_examples: int = DEFAULT_MAX_EXAMPLES, alpha: float = DEFAULT_ALPHA,
                    checks: str | Iterable[str] | None = None, isolate: bool | None = None,
                    gradcheck_mode: str = DEFAULT_GRADCHECK_MODE,
                    params: Mapping[str, Any] | None = None, **hyperparameters: Any) -> RunResult:
    """Check that ``target`` conforms to ``spec``; return the result or raise :class:`ConformanceError`.

    Takes the same arguments as :func:`check_conforms`. The target conforms
    when no check fails, errors or times out *and* at least one check ran
    (a target whose every check was skipped verified nothing, which is not a
    pass). The error's message is the command line's report of each problem,
    ending with the command that reproduces it; ``error.run`` holds all
    results.
    """
    __tracebackhide__ = True
    run = check_conforms(target, spec, seed=seed, timeout=timeout, max_examples=max_examples, alpha=alpha,
                         checks=checks, isolate=isolate, gradcheck_mode=gradcheck_mode, params=params,
                         **hyperparameters)
    if run.status.is_problem or run.incomplete or not any(c.status is Status.PASS for c in run.checks):
        raise ConformanceError(failure_text(run), run)
    return run


def failure_text(run: RunResult) -> str:
    """A headline, then the command line's failure report of every problem check."""
    from verify.console import format_failure, safe

    counts = run.counts()
    total = len(run.checks)
    problems = [c for c in run.checks if c.status.is_problem]
    who = f"{safe(run.target, 200)} does not conform to spec {run.spec!r}"
    if problems:
        parts = ", ".join(f"{counts[s.value]} {s.value}" for s in (Status.FAIL, Status.ERROR, Status.TIMEOUT)
                          if counts[s.value])
        head = f"{who}: {len(problems)} of {total} checks did not pass ({parts})"
    elif run.incomplete:
        head = f"{who}: the run was interrupted"
    elif counts[Status.INCONCLUSIVE.value]:
        head = (f"{who}: no check could decide ({counts[Status.INCONCLUSIVE.value]} inconclusive, "
                f"{counts[Status.SKIP.value]} skipped)")
    else:
        head = (f"{who}: no check ran, all {total} were skipped "
                "(the target provides none of what the checks need)")
    lines = [head, ""]
    lines += [format_failure(run, c) for c in problems]
    if not problems:
        lines += [f"  {c.status.value} {c.name}: {safe(c.message, 300)}" for c in run.checks]
    return "\n".join(lines).rstrip()


def target_string(obj: Any) -> str | None:
    """A TARGET string the command line (and a worker process) can load ``obj`` from, if there is one.

    ``path/to/file.py:Name`` (relative to the working directory) for objects
    defined in a file under it, such as a test file; ``package.module:Name``
    for importable modules elsewhere; ``None`` for objects defined inside a
    function, lambdas, instances and anything else not reachable by name.
    """
    if isinstance(obj, str):
        return obj
    module_name = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(module_name, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    module = sys.modules.get(module_name)
    if module is None:
        return None
    found: Any = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if found is not obj:
        return None
    path = getattr(module, "__file__", None)
    if isinstance(path, str) and path.endswith(".py"):
        full = os.path.abspath(path)
        cwd = os.getcwd()
        if os.path.commonpath([full, cwd]) == cwd:
            return f"{os.path.relpath(full, cwd)}:{qualname}"
    if module_name == "__main__" or module_name.startswith("_verify_target_"):
        return None
    return f"{module_name}:{qualname}"


def _describe(obj: Any) -> str:
    name = getattr(obj, "__qualname__", None) or type(obj).__name__
    return f"{type(obj).__name__} {name!r}" if getattr(obj, "__qualname__", None) else f"a {name} instance"
