"""Helpers shared by the spec modules' check functions."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from verify.compare import Comparison, compare, format_number
from verify.errors import TargetError
from verify.results import Status, jsonable
from verify.search import falsify
from verify.specs.base import CheckContext, Outcome, failed, passed

__all__ = ["differential", "found_to_outcome", "fmt"]

fmt = format_number


def found_to_outcome(found, message: str, *, diagnosis: str | None = None,
                     metrics: dict[str, Any] | None = None, counterexample: dict[str, Any] | None = None) -> Outcome:
    """Turn a falsified example into a fail (or error, if the target raised) outcome.

    ``counterexample`` names the values the target was called with, where the drawn example is not them
    (a seed and a matrix drawn together, say); by default the drawn example is shown as it is.
    """
    example = found.example if counterexample is None else counterexample
    counterexample = jsonable(example if isinstance(example, dict) else {"example": example})
    if isinstance(found.error, TargetError):
        return Outcome(Status.ERROR, f"the target's {found.error}", counterexample=counterexample,
                       metrics=metrics or {})
    notes = ["the failure did not reproduce when replayed: the target may be non-deterministic"] if found.flaky else []
    return failed(message, counterexample=counterexample, diagnosis=diagnosis, metrics=metrics or {},
                  notes=notes)


def differential(
    ctx: CheckContext,
    strategy: Any,
    actual: Callable[[Any], Any],
    desired: Callable[[Any], Any],
    *,
    what: str,
    source: str,
    rtol: float = 1e-12,
    atol: float = 0.0,
    tol: Callable[[Any, np.ndarray], Any] | None = None,
    diagnose: Callable[[np.ndarray, np.ndarray, Any], str | None] | None = None,
    max_examples: int | None = None,
) -> Outcome:
    """Compare ``actual(example)`` (the target) with ``desired(example)`` at drawn examples.

    On a mismatch hypothesis shrinks the example; the outcome carries the
    comparison report (numpy.testing layout), the minimal counterexample and,
    if ``diagnose`` recognises the pattern, a diagnosis.
    """
    seen = {"n": 0, "max_abs": 0.0, "max_rel": 0.0}
    last: dict[str, Any] = {}

    def test(example):
        want = np.asarray(desired(example), dtype=np.float64)
        got = actual(example)
        c: Comparison = compare(got, want, rtol=rtol, atol=atol,
                                tol=None if tol is None else tol(example, want),
                                header=f"ACTUAL = target's {what}, DESIRED = {source}")
        seen["n"] += 1
        if c.n_total:
            seen["max_abs"] = max(seen["max_abs"], c.max_abs)
            seen["max_rel"] = max(seen["max_rel"], c.max_rel)
        if not c.ok:
            last.update(got=np.asarray(got, dtype=np.float64), want=want, example=example)
            if c.structural:
                headline = f"{what} does not match {source}: {c.structural[0]}"
            else:
                headline = (f"{what} does not match {source}: {c.n_mismatch} of {c.n_total} entries differ, "
                            f"max relative difference {fmt(c.max_rel)}")
            return f"{headline}\n{c}"
        return None

    found = falsify(strategy, test, seed=ctx.int_seed("search"), max_examples=max_examples or ctx.max_examples)
    metrics = {"examples": seen["n"], "max_abs_diff": seen["max_abs"], "max_rel_diff": seen["max_rel"]}
    if found is None:
        return passed(f"{what} matches {source} at {seen['n']} drawn points "
                      f"(max relative difference {fmt(seen['max_rel'])})", metrics=metrics)
    diagnosis = None
    if diagnose and last and found.error is None:
        diagnosis = diagnose(last["got"], last["want"], last["example"])
    return found_to_outcome(found, found.message, diagnosis=diagnosis, metrics=metrics)
