"""Helpers shared by the spec modules' check functions."""

from __future__ import annotations

import contextvars
import dataclasses
import functools
from typing import Any, Callable

import numpy as np

from verify.compare import Comparison, compare, format_number
from verify.errors import TargetError
from verify.results import Status, jsonable
from verify.search import falsify
from verify.specs.base import CheckContext, Outcome, failed, inconclusive, passed, skipped

__all__ = ["differential", "found_to_outcome", "fmt", "float_tolerance", "declared", "effective_hyper",
           "EPS_ESTIMATE", "eps_from_outputs", "with_estimated_eps", "EPS16", "judged_layer", "withheld_at_float16",
           "unless_unseen"]

fmt = format_number

#: float16's machine epsilon: a layer judged at this precision can be failed, never passed.
EPS16 = float(np.finfo(np.float16).eps)

#: The layers the running check has built (see :func:`withheld_at_float16`).
_JUDGED: contextvars.ContextVar[list | None] = contextvars.ContextVar("layers_judged", default=None)


def unless_unseen(record: Any, outcome: Outcome) -> Outcome:
    """``outcome`` (a check saying calls left their inputs alone), unless the process judging could not see those
    inputs for itself (a worker that cannot share memory with the target process, ``record.unobserved``): then
    skipped with the reason. The target process's own record can fail a target, never pass it."""
    reason = getattr(record, "unobserved", None)
    if reason is None:
        return outcome
    return skipped(f"whether the calls change their inputs in place was not seen by the verifier itself: {reason}")


@dataclasses.dataclass(frozen=True)
class LayerPass:
    """A new normalisation layer's pass, as the checks that build one per batch get it back: the output (``None``:
    a batch the layer cannot resolve), the gradients ``(dx, dγ, dβ)`` (``None`` without ``dy``) and the precision
    accepted for the layer (:func:`judged_layer` takes it as the layer)."""

    y: Any
    grads: Any
    precision: float


def judged_layer(layer: Any) -> None:
    """Record a layer the running check builds, whose precision :func:`withheld_at_float16` looks at."""
    judged = _JUDGED.get()
    if judged is not None:
        judged.append(layer)


def withheld_at_float16(check: Callable[[CheckContext], Outcome]) -> Callable[[CheckContext], Outcome]:
    """``check``, whose pass is withheld (inconclusive) when a layer it judged computes in float16.

    A normalisation layer's tolerances follow the precision it shows, and float16's admits differences of a few
    per cent: a layer wrong by 1 % that merely kept a float16 array would pass. A failure there is conclusive.
    """

    @functools.wraps(check)
    def run(ctx: CheckContext) -> Outcome:
        judged: list = []
        token = _JUDGED.set(judged)
        try:
            outcome = check(ctx)
        finally:
            _JUDGED.reset(token)
        if outcome.status is Status.PASS and any(layer.precision >= EPS16 for layer in judged):
            return inconclusive(f"{outcome.message}; but the layer computes in float16, whose rounding the "
                                "tolerances allow for: at that resolution a difference of a few per cent cannot be "
                                "told from rounding, so a pass would say nothing (check a float32 or float64 version)",
                                metrics=outcome.metrics, notes=outcome.notes, figures=outcome.figures)
        return outcome

    return run


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


# ------------------------------------------------------- normalisation layers (batchnorm, layernorm, rmsnorm)


def float_tolerance(precision: float, base: float, per_ulp: float) -> float:
    """A float64 tolerance ``base``, or ``per_ulp`` units of a coarser layer's precision (float32)."""
    return max(base, per_ulp * precision)


def declared(ctx: CheckContext, name: str) -> bool:
    """Whether the user gave ``name`` explicitly (``--param``): then it is a claim to check, not a guess."""
    held = getattr(ctx, "held", None) or {}
    return getattr(held.get(name), "source", None) == "given"


def effective_hyper(ctx: CheckContext, layer: Any, name: str) -> tuple[float, str]:
    """The ``eps`` (or ``momentum``) a normalisation layer works with, and how that is known.

    ``"passed"`` (its constructor took the run's value), ``"read from …"`` (it
    takes none; read back from its attribute), ``"declared"`` (it takes none,
    the user declared the value) or ``"assumed"`` (nothing known: the spec's
    value, which a check must not turn into a failure).
    """
    value, how = getattr(layer, "hyper", {}).get(name, (None, "passed"))
    if how == "passed":
        return ctx.params[name], "passed"
    if how == "read":
        return value, f"read from the layer's {layer.hyper_source[name]!r} attribute"
    return ctx.params[name], "declared" if declared(ctx, name) else "assumed"


# Where a check re-runs at the layer's own, estimated ε: the expected values use it, while the layer is still
# built with the run's (held) value, which it does not take anyway.
EPS_ESTIMATE = "__eps_estimate__"


def eps_from_outputs(centred: np.ndarray, y: np.ndarray, stat: np.ndarray, axis) -> float | None:
    """ε from a normalisation's output y = centred/√(stat + ε) (γ = 1, β = 0): the least-squares
    √(stat + ε) of ``centred`` on ``y`` along ``axis``, squared, minus ``stat``; one value for every
    group (feature or example) or ``None``."""
    yy = (y * y).sum(axis=axis)
    if not np.all(yy > 0):
        return None
    est = ((centred * y).sum(axis=axis) / yy) ** 2 - stat
    if not np.all(np.isfinite(est)) or np.any(est <= 0) or np.ptp(est) > 1e-6 * est.mean():
        return None
    return float(est.mean())


def with_estimated_eps(check_fn: Callable[[CheckContext], Outcome],
                       effective: Callable[[CheckContext], tuple[float, str]],
                       estimate: Callable[[CheckContext], float | None], probe: str
                       ) -> Callable[[CheckContext], Outcome]:
    """A check whose expected values need ε: when the layer takes no ε and shows none (so the spec's
    was only assumed), a failure that disappears at the layer's own ε, estimated from ``probe`` (where the
    statistic is far below any usual ε), is no failure: inconclusive, saying which ε to declare."""

    def check(ctx: CheckContext) -> Outcome:
        outcome = check_fn(ctx)
        if outcome.status != Status.FAIL:
            return outcome
        eps, how = effective(ctx)
        if how != "assumed":
            return outcome
        est = estimate(ctx)
        if est is None or abs(est - eps) <= 1e-6 * eps:
            return outcome
        again = check_fn(dataclasses.replace(ctx, params={**ctx.params, EPS_ESTIMATE: est}))
        if again.status != Status.PASS:
            return outcome
        return inconclusive(
            f"the layer takes no eps and has no eps attribute, so ε = {fmt(eps)} was only assumed; its outputs "
            f"fit ε = {fmt(est, 4)} (estimated from {probe}), at which this check passes. "
            f"Declare the layer's ε to check it: --param eps={est:.3g}", notes=[outcome.message.splitlines()[0]])

    check.__name__ = check_fn.__name__
    return check
