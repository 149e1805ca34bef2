"""Specs ``l2`` and ``l1``: regularisation penalties, their (sub)gradients, their SGD steps.

Protocol (regulariser): a function ``grad(w, lam)`` — the gradient of the
penalty alone — or an object/module with any of ``penalty(w, lam)``,
``grad(w, lam)``, ``step(w, g, lr, lam)`` (one SGD step on ``J + penalty``
given ``g = ∂J/∂w``) and, for L1, ``prox_step(w, g, lr, lam)``. Checks whose
role the target lacks are skipped.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from hypothesis import strategies as st

import reference
from verify import strategies as vst
from verify.compare import compare, identical
from verify.errors import ProtocolError
from verify.remote import call_each
from verify.specs._common import differential, fmt, unless_unseen
from verify.specs.base import Check, CheckContext, Family, Kind, Outcome, Param, Spec, failed, inconclusive, passed

__all__ = ["SPECS"]

# Formulas with a handful of floating-point operations agree with their
# derivation to a few ulps; 1e-12 leaves room for any operation order while
# catching every relative error above ~1e-12 (a factor, a sign, a missing term).
RTOL = 1e-12
LAM = vst.positive_floats(1e-4, 10.0)
LR = vst.positive_floats(1e-4, 1.0)

#: What the checks import inside functions (see verify.specs.modules_needed).
PRELOAD = ("verify.gradcheck", "verify.symbolic")


def _lam(ctx: CheckContext) -> Any:
    """λ over its range, or the given λ when the run holds it (every --param is held)."""
    return st.just(ctx.pinned["lam"]) if "lam" in ctx.pinned else LAM


def _examples(ctx: CheckContext, *, zeros: bool) -> Any:
    elements = vst.scaled_floats(-3, 3, allow_zero=zeros)
    return st.fixed_dictionaries({"w": vst.arrays(elements=elements), "lam": _lam(ctx)})


def _ratio_diagnosis(got: np.ndarray, want: np.ndarray, what: str, hint: dict[float, str]) -> str | None:
    """Name a constant ratio ACTUAL/DESIRED (a lost factor, a sign flip)."""
    mask = (np.abs(want) > 0) & np.isfinite(got)
    if not mask.any():
        return None
    ratios = got[mask] / want[mask]
    r = float(np.median(ratios))
    if r == 0 or not np.allclose(ratios, r, rtol=1e-9, atol=0):
        return None
    for value, text in hint.items():
        if np.isclose(r, value, rtol=1e-9):
            return f"{what} is off by a constant factor {fmt(r)}: {text}"
    return f"{what} is off by a constant factor {fmt(r)}"


def _points(ctx: CheckContext, n_points: int = 4, zeros: bool = False) -> list[np.ndarray]:
    """A few deterministic evaluation points of varied size and scale."""
    rng = ctx.rng("points")
    pts = []
    for k in range(n_points):
        n = int(rng.integers(2, 40))
        x = rng.normal(size=n) * 10.0 ** rng.uniform(-2, 2)
        if zeros and k % 2 == 1:
            x[rng.choice(n, size=max(1, n // 4), replace=False)] = 0.0
        pts.append(x)
    return pts


def _gradient_check(ctx: CheckContext, penalty, what_f: str, *, zeros: bool = False) -> Outcome:
    """Finite-difference gradient check of ``subject.grad`` against ``penalty``."""
    from verify.gradcheck import check_grad, error_vs_step

    lam = ctx.params["lam"]
    smooth_errors = []          # max relative error at points without a kink
    evals = 0
    kinks = 0
    points = _points(ctx, zeros=zeros)
    f = lambda w: penalty(w, lam)                  # noqa: E731
    grad = lambda w: ctx.subject.grad(w, lam)      # noqa: E731
    figure = error_vs_step(f, grad, points[0], seed=ctx.int_seed("v-curve")).figure(
        f"Finite-difference error of grad(w, lam) against step size (n = {points[0].size})")
    for i, x in enumerate(points):
        result = check_grad(f, grad, x, seed=ctx.int_seed("gradcheck", i), **ctx.gradcheck)
        evals += result.n_evals
        if result.inconclusive:
            return inconclusive(f"finite differences of {what_f} cannot decide grad(w, lam) (λ = {fmt(lam)}, "
                                f"n = {x.size}): {result.reason}", metrics={"function_evals": evals}, figures=[figure])
        if not result.passed:
            return failed(
                f"grad(w, lam) is not the gradient of {what_f} (λ = {fmt(lam)}, n = {x.size}):\n{result}",
                diagnosis=result.diagnosis,
                counterexample={"w": x, "lam": lam},
                metrics={"max_rel_error": result.max_rel_error, "function_evals": evals},
                figures=[figure],
            )
        if result.kinks:
            kinks += 1
        else:
            smooth_errors.append(result.max_rel_error)
    worst = max(smooth_errors) if smooth_errors else None
    detail = f"max relative error {fmt(worst)} away from kinks, " if worst is not None else ""
    notes = [f"non-differentiable points (w = 0) met at {kinks} of {len(points)} points: the value there was "
             "accepted because it lies between the one-sided derivatives"] if kinks else []
    return passed(f"grad(w, lam) agrees with finite differences of {what_f} at {len(points)} points "
                  f"({detail}{evals} evaluations)",
                  metrics={"max_rel_error": worst, "function_evals": evals}, notes=notes, figures=[figure])


def _penalty_consistency(ctx: CheckContext) -> Outcome:
    """The target's own penalty and gradient agree (finite differences)."""
    from verify.gradcheck import check_grad

    lam = ctx.params["lam"]
    for i, x in enumerate(_points(ctx, n_points=2)):
        result = check_grad(lambda w: ctx.subject.penalty(w, lam), lambda w: ctx.subject.grad(w, lam), x,
                            f_many=lambda ws: call_each(ctx.subject, "penalty", [(w, lam) for w in ws]),
                            seed=ctx.int_seed("consistency", i), **ctx.gradcheck)
        if result.inconclusive:
            return inconclusive(f"finite differences of the target's penalty cannot decide its grad: {result.reason}")
        if not result.passed:
            return failed(f"the target's grad(w, lam) is not the gradient of its own penalty(w, lam):\n{result}",
                          diagnosis=result.diagnosis, counterexample={"w": x, "lam": lam})
    return passed("the target's grad(w, lam) is the gradient of its own penalty(w, lam)")


def _hygiene(role: str):
    """The target leaves its inputs alone and answers the same twice."""

    def check(ctx: CheckContext) -> Outcome:
        rng = ctx.rng("hygiene")
        w = rng.normal(size=(3, 4))
        g = rng.normal(size=(3, 4))
        lam, lr = ctx.params["lam"], 0.1
        args = {"grad": (w, lam), "penalty": (w, lam), "step": (w, g, lr, lam), "prox_step": (w, g, lr, lam)}[role]
        call = getattr(ctx.subject, role)
        record = ctx.subject.inputs
        seen = len(record.failures)
        try:
            call(*args)         # what it does to its inputs: the subject's record says
        except ProtocolError:
            pass                # a misfit return is reported below, by the same call again
        if record.failures[seen:]:
            why = record.failures[seen]
            return failed(why, diagnosis=f"{why} (e.g. w -= …): the caller's array changes")
        first = call(*args)
        second = call(*args)
        if not identical(first, second):
            return failed(f"{role}{_signature(role)} returned different values for the same input")
        shape = np.shape(first)
        kept = "" if role == "penalty" else f" ({shape})"
        return unless_unseen(record, passed(f"{role}{_signature(role)} leaves its inputs unchanged, is deterministic, "
                                            f"and keeps a (3, 4) input's shape{kept}"))

    return check


def _signature(role: str) -> str:
    return {"grad": "(w, lam)", "penalty": "(w, lam)", "step": "(w, g, lr, lam)", "prox_step": "(w, g, lr, lam)"}[role]


# ------------------------------------------------------------------------ L2


def _step_examples(ctx: CheckContext) -> Any:
    return st.tuples(vst.arrays(elements=vst.scaled_floats(-3, 3)), LR, _lam(ctx)).flatmap(
        lambda t: st.fixed_dictionaries({"w": st.just(t[0]), "lr": st.just(t[1]), "lam": st.just(t[2]),
                                         "g": vst.arrays(shape=t[0].shape)}))



# The penalty's convention: the notes' λ Σ w² (gradient 2λw), or (λ/2) Σ w² (gradient λw: Goodfellow et
# al., Bishop, d2l, old CS231n, PyTorch's weight_decay). Every expected value is the notes' at λ·scale.
_PENALTY_SCALE = {"sum": 1.0, "half": 0.5}
_PENALTY_TEXT = {"sum": "λ Σ w²", "half": "(λ/2) Σ w²"}


def _scale(ctx: CheckContext) -> float:
    return _PENALTY_SCALE[ctx.params["convention"]]


def _other_penalty_hint(ctx: CheckContext) -> dict[float, str]:
    """Ratio hints: the factor 2 between the two conventions names the other one and the --param to use."""
    if ctx.params["convention"] == "sum":
        return {0.5: "λw is the gradient of (λ/2) Σ w², not of λ Σ w²; if your penalty is (λ/2) Σ w², check it "
                     "with --param convention=half"}
    return {2.0: "2λw is the gradient of λ Σ w², not of (λ/2) Σ w²; if your penalty is λ Σ w², check it with "
                 "--param convention=sum"}


def _l2_grad_symbolic(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d = symbolic.l2_gradient()
    c = _scale(ctx)
    statement = d.statement if c == 1 else "∂/∂w ((λ/2) Σ w²) = w·λ (the sympy derivation at λ/2)"
    hints = {-1.0: "sign flip", 2.0: "4λw: the factor 2 is applied twice"} if c == 1 else {-1.0: "sign flip"}
    return differential(
        ctx, _examples(ctx, zeros=True),
        actual=lambda ex: ctx.subject.grad(ex["w"], ex["lam"]),
        desired=lambda ex: d.func(ex["w"], c * ex["lam"]),
        what="grad(w, lam)", source=f"sympy: {statement}", rtol=RTOL,
        diagnose=lambda got, want, ex: _ratio_diagnosis(got, want, "the gradient",
                                                        {**hints, **_other_penalty_hint(ctx)}),
    )


def _l2_penalty(ctx: CheckContext) -> Outcome:
    c = _scale(ctx)
    other = ({0.5: "(λ/2) Σ w² instead of λ Σ w² (--param convention=half checks that convention)"} if c == 1 else
             {2.0: "λ Σ w² instead of (λ/2) Σ w² (--param convention=sum checks that convention)"})
    return differential(
        ctx, _examples(ctx, zeros=True),
        actual=lambda ex: ctx.subject.penalty(ex["w"], ex["lam"]),
        desired=lambda ex: c * ex["lam"] * np.sum(ex["w"] ** 2),
        what="penalty(w, lam)", source=f"the definition {_PENALTY_TEXT[ctx.params['convention']]}", rtol=RTOL,
        diagnose=lambda got, want, ex: _ratio_diagnosis(got, want, "the penalty", other),
    )


def _l2_gradcheck(ctx: CheckContext) -> Outcome:
    c = _scale(ctx)
    return _gradient_check(ctx, lambda w, lam: c * lam * np.sum(w * w), _PENALTY_TEXT[ctx.params["convention"]])


def _l2_step(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d = symbolic.l2_sgd_step()
    c = _scale(ctx)
    statement = d.statement if c == 1 else "w ← w(1 − ηλ) − η g (sympy's step at λ/2)"
    return differential(
        ctx, _step_examples(ctx),
        actual=lambda e: ctx.subject.step(e["w"], e["g"], e["lr"], e["lam"]),
        desired=lambda e: d.func(e["w"], e["g"], e["lr"], c * e["lam"]),
        what="step(w, g, lr, lam)", source=f"sympy: {statement}", rtol=0.0,
        # w(1−2ηλ) − ηg can cancel; allow rounding relative to the terms, not the result.
        tol=lambda e, want: RTOL * (np.abs(e["w"]) + e["lr"] * np.abs(e["g"])),
        diagnose=lambda got, want, ex: _decay_diagnosis(got, want, ex, c),
    )


def _decay_diagnosis(got: np.ndarray, want: np.ndarray, ex: dict, c: float = 1.0) -> str | None:
    """Recognise a wrong decay factor (the other convention's, 1 + 2ηλ, no decay) in an SGD step."""
    w, g, lr, lam = ex["w"], ex["g"], ex["lr"], ex["lam"]
    k = 2 * c        # the decay factor is 1 − kηλ
    other = ("the decay factor is 1 − ηλ instead of 1 − 2ηλ (the gradient of (λ/2) Σ w²; --param convention=half "
             "checks that convention)", w * (1 - lr * lam) - lr * g) if c == 1 else (
             "the decay factor is 1 − 2ηλ instead of 1 − ηλ (the gradient of λ Σ w²; --param convention=sum checks "
             "that convention)", w * (1 - 2 * lr * lam) - lr * g)
    candidates = {
        other[0]: other[1],
        f"the decay factor is 1 + {'2' if k == 2 else ''}ηλ: the penalty's gradient is added with the wrong sign":
            w * (1 + k * lr * lam) - lr * g,
        "no weight decay at all: the step ignores λ": w - lr * g,
        "the data gradient is added, not subtracted": w * (1 - k * lr * lam) + lr * g,
        f"the learning rate does not multiply the decay: w(1 − {'2' if k == 2 else ''}λ) − ηg":
            w * (1 - k * lam) - lr * g,
    }
    for text, value in candidates.items():
        if compare(got, value, rtol=1e-9, atol=1e-300).ok:
            return text
    return None


def _l2_reference(params: dict) -> Any:
    c = _PENALTY_SCALE[params["convention"]]
    return SimpleNamespace(penalty=lambda w, lam: reference.l2_penalty(w, c * lam),
                           grad=lambda w, lam: reference.l2_grad(w, c * lam),
                           step=lambda w, g, lr, lam: reference.l2_sgd_step(w, g, lr, c * lam))


# ------------------------------------------------------------------------ L1


_AT_ZERO = {"any": None, "1": 1.0, "0": 0.0, "-1": -1.0}


def _l1_away(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d = symbolic.l1_derivative()
    return differential(
        ctx, _examples(ctx, zeros=False),
        actual=lambda ex: ctx.subject.grad(ex["w"], ex["lam"]),
        desired=lambda ex: d.func(ex["w"], ex["lam"]),
        what="grad(w, lam) away from w = 0", source=f"sympy: {d.statement}", rtol=RTOL,
        diagnose=lambda got, want, ex: _l1_shape_diagnosis(got, ex) or _ratio_diagnosis(
            got, want, "the subgradient", {-1.0: "sign flip", 2.0: "2λ sgn(w): the L2 factor 2 carried over"}),
    )


def _l1_shape_diagnosis(got: np.ndarray, ex: dict) -> str | None:
    w, lam = ex["w"], ex["lam"]
    if np.all(np.abs(w) == 1.0):     # there λw = λ sgn(w): the counterexample cannot tell them apart
        return None
    if compare(got, lam * w, rtol=1e-9).ok:
        return "the result is λw: the L1 gradient must be λ sgn(w), not the weights themselves"
    if compare(got, 2 * lam * w, rtol=1e-9).ok:
        return "the result is 2λw, the L2 gradient"
    return None


def _l1_at_zero(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d = symbolic.l1_subgradient_at_zero()
    lam = ctx.params["lam"]
    rng = ctx.rng("zeros")
    w = rng.normal(size=12)
    w[::3] = 0.0
    got = ctx.subject.grad(w, lam)
    lo, hi = (np.asarray(a, dtype=np.float64) for a in d.func(w, lam))
    zero = w == 0
    at_zero = got[zero]
    inside = (at_zero >= lo[zero] - 1e-15) & (at_zero <= hi[zero] + 1e-15)
    metrics = {"values_at_zero": at_zero, "lam": lam}
    if not inside.all():
        return failed(
            f"grad(w, lam) at w = 0 gave {fmt(at_zero[~inside][0])}, outside the subdifferential "
            f"λ·[−1, 1] = [{fmt(-lam)}, {fmt(lam)}] ({d.statement}, derived by sympy)",
            counterexample={"w": w, "lam": lam}, metrics=metrics)
    if not np.all(at_zero == at_zero[0]):
        return failed(f"grad(w, lam) at w = 0 is not consistent: values {sorted(set(at_zero.tolist()))}",
                      counterexample={"w": w, "lam": lam}, metrics=metrics)
    value = float(at_zero[0])
    convention = {lam: "sgn(0) = +1, the notes' convention", 0.0: "sgn(0) = 0, numpy's and PyTorch's sign",
                  -lam: "sgn(0) = −1"}.get(value, f"a subgradient λ·{fmt(value / lam)}")
    wanted = _AT_ZERO[ctx.params["sign_at_zero"]]
    if wanted is not None and value != wanted * lam:
        return failed(f"grad(w, lam) at w = 0 is {fmt(value)} ({convention}); --param sign_at_zero="
                      f"{ctx.params['sign_at_zero']} asks for {fmt(wanted * lam)}", metrics=metrics)
    return passed(f"grad(w, lam) at w = 0 is {fmt(value)}: {convention}; inside the subdifferential "
                  f"λ·[−1, 1]", metrics=metrics, notes=[f"L1 convention at zero: {convention}"])


def _l1_gradcheck(ctx: CheckContext) -> Outcome:
    return _gradient_check(ctx, lambda w, lam: lam * np.sum(np.abs(w)), "λ Σ |w|", zeros=True)


def _l1_penalty(ctx: CheckContext) -> Outcome:
    return differential(
        ctx, _examples(ctx, zeros=True),
        actual=lambda ex: ctx.subject.penalty(ex["w"], ex["lam"]),
        desired=lambda ex: ex["lam"] * np.sum(np.abs(ex["w"])),
        what="penalty(w, lam)", source="the definition λ Σ |w|", rtol=RTOL,
        diagnose=lambda got, want, ex: _l1_penalty_diagnosis(got, ex),
    )


def _l1_penalty_diagnosis(got: np.ndarray, ex: dict) -> str | None:
    w, lam = np.ravel(ex["w"]), ex["lam"]
    candidates = {
        "the penalty is λ‖w‖₂, the Euclidean norm (np.linalg.norm's default), not λ Σ |w|": lam * np.linalg.norm(w),
        "the penalty is λ Σ w², the L2 penalty": lam * np.sum(w * w),
        "the penalty is Σ |w|: λ is missing": np.sum(np.abs(w)),
    }
    for text, value in candidates.items():
        if compare(got, value, rtol=1e-9, atol=1e-300).ok:
            return text
    return None


def _l1_step(ctx: CheckContext) -> Outcome:
    """SGD step with the subgradient: exact away from 0, within the interval at 0."""
    from verify import symbolic

    d = symbolic.l1_subgradient_at_zero()

    def test(e):
        w, g, lr, lam = e["w"], e["g"], e["lr"], e["lam"]
        got = ctx.subject.step(w, g, lr, lam)
        lo, hi = (np.asarray(a, dtype=np.float64) for a in d.func(w, lam))
        # step = w − η(g + s), s ∈ [lo, hi]: so the step lies in [w − η(g + hi), w − η(g + lo)].
        low, high = w - lr * (g + hi), w - lr * (g + lo)
        slack = RTOL * (np.abs(w) + lr * (np.abs(g) + lam))
        bad = (got < low - slack) | (got > high + slack) | ~np.isfinite(got)
        if bad.any():
            i = tuple(int(j) for j in np.argwhere(bad)[0])
            return (f"step(w, g, lr, lam) at index {i}: ACTUAL {fmt(got[i])}, DESIRED w − η(g + λ sgn(w)) "
                    f"= {fmt(low[i]) if low[i] == high[i] else f'in [{fmt(low[i])}, {fmt(high[i])}]'} "
                    f"(w = {fmt(w[i])}, g = {fmt(g[i])}, η = {fmt(lr)}, λ = {fmt(lam)})")
        return None

    from verify.search import falsify
    from verify.specs._common import found_to_outcome

    found = falsify(_step_examples(ctx), test, seed=ctx.int_seed("search"), max_examples=ctx.max_examples)
    if found:
        return found_to_outcome(found, found.message)
    return passed("step(w, g, lr, lam) = w − η(g + λ sgn(w)), with a subgradient in λ·[−1, 1] at w = 0")


def _l1_prox(ctx: CheckContext) -> Outcome:
    def desired(e):
        v = e["w"] - e["lr"] * e["g"]
        return np.sign(v) * np.maximum(np.abs(v) - e["lr"] * e["lam"], 0.0)

    outcome = differential(
        ctx, _step_examples(ctx),
        actual=lambda e: ctx.subject.prox_step(e["w"], e["g"], e["lr"], e["lam"]),
        desired=desired, what="prox_step(w, g, lr, lam)",
        source="soft-thresholding sign(v)·max(|v| − ηλ, 0), v = w − ηg", rtol=0.0,
        tol=lambda e, want: RTOL * (np.abs(e["w"]) + e["lr"] * (np.abs(e["g"]) + e["lam"])),
        diagnose=lambda got, want, e: _prox_diagnosis(got, e),
    )
    if outcome.status.value != "pass":
        return outcome
    # Exact zeros: the point of the proximal step. Entries whose gradient step lands inside ±ηλ.
    w = np.array([0.05, -0.05, 2.0, -2.0, 0.0])
    got = ctx.subject.prox_step(w, np.zeros(5), 0.1, 1.0)
    if not (got[[0, 1, 4]] == 0.0).all():
        return failed(f"prox_step does not give exact zeros: w = {w.tolist()}, g = 0, η = 0.1, λ = 1 gave "
                      f"{got.tolist()}; entries with |w| ≤ ηλ = 0.1 must be exactly 0",
                      diagnosis="prox_step leaves small weights non-zero: no soft-thresholding")
    return outcome


def _prox_diagnosis(got: np.ndarray, e: dict) -> str | None:
    w, g, lr, lam = e["w"], e["g"], e["lr"], e["lam"]
    v = w - lr * g
    candidates = {
        "prox_step is the subgradient step w − η(g + λ sgn(w)): no soft-thresholding, so no exact zeros":
            w - lr * (g + lam * np.sign(w)),
        "prox_step thresholds w − ηg by λ instead of ηλ": np.sign(v) * np.maximum(np.abs(v) - lam, 0.0),
        "prox_step clips at zero without shrinking (hard thresholding)": np.where(np.abs(v) > lr * lam, v, 0.0),
    }
    for text, value in candidates.items():
        if compare(got, value, rtol=1e-9, atol=1e-300).ok:
            return text
    return None


def _l1_reference() -> Any:
    return SimpleNamespace(penalty=reference.l1_penalty, grad=reference.l1_grad,
                           step=reference.l1_sgd_step, prox_step=reference.l1_prox_step)


_LAM_PARAM = Param("lam", 0.01, "regularisation strength λ in J + λ·penalty", low=0.0, low_open=True)

SPECS = {
    "l2": Spec(
        name="l2",
        family=Family.REGULARISER,
        title="L2 regularisation",
        formula="J_L2 = J + λ Σ w²;  ∂J_L2/∂w = ∂J/∂w + 2λw;  w ← w(1 − 2ηλ) − η ∂J/∂w  (or "
                "(λ/2) Σ w², λw and 1 − ηλ with convention=half)",
        params=(_LAM_PARAM,
                Param("convention", "sum", "the penalty's convention: sum (λ Σ w², the notes: gradient 2λw) or half "
                      "((λ/2) Σ w²: Goodfellow et al., Bishop, d2l, PyTorch's weight_decay: gradient λw)", type=str,
                      choices=tuple(_PENALTY_SCALE), to_target=False)),
        checks=(
            Check("gradient-vs-symbolic", Kind.SYMBOLIC, "grad(w, lam) = 2λw (λw for convention=half) as derived by sympy", _l2_grad_symbolic, ("grad",)),
            Check("gradient-finite-difference", Kind.GRADIENT, "grad(w, lam) is the gradient of the penalty (finite differences)", _l2_gradcheck, ("grad",)),
            Check("penalty-value", Kind.REFERENCE, "penalty(w, lam) = λ Σ w² ((λ/2) Σ w² for convention=half)", _l2_penalty, ("penalty",)),
            Check("penalty-gradient-consistency", Kind.GRADIENT, "the target's grad is the gradient of its own penalty", _penalty_consistency, ("penalty", "grad")),
            Check("sgd-step-identity", Kind.SYMBOLIC, "step(w, g, lr, lam) = w(1 − 2ηλ) − ηg (1 − ηλ for convention=half; sympy identity)", _l2_step, ("step",)),
            Check("grad-hygiene", Kind.PROTOCOL, "grad leaves its inputs unchanged and is deterministic", _hygiene("grad"), ("grad",)),
            Check("step-hygiene", Kind.PROTOCOL, "step leaves its inputs unchanged and is deterministic", _hygiene("step"), ("step",)),
        ),
        reference=lambda params: _l2_reference(params),
    ),
    "l1": Spec(
        name="l1",
        family=Family.REGULARISER,
        title="L1 regularisation",
        formula="J_L1 = J + λ Σ |w|;  ∂J_L1/∂w = ∂J/∂w + λ sgn(w), any value in [−λ, λ] at w = 0",
        params=(
            _LAM_PARAM,
            Param("sign_at_zero", "any", "required sgn(0): any value in [−1, 1] (any), or exactly 1, 0 or -1",
                  type=str, choices=tuple(_AT_ZERO), to_target=False),
        ),
        checks=(
            Check("subgradient-away-from-zero", Kind.SYMBOLIC, "grad(w, lam) = λ sgn(w) for w ≠ 0 (sympy)", _l1_away, ("grad",)),
            Check("subgradient-at-zero", Kind.SYMBOLIC, "grad at w = 0 lies in λ·[−1, 1]; the convention is reported", _l1_at_zero, ("grad",)),
            Check("gradient-finite-difference", Kind.GRADIENT, "grad matches finite differences of λ Σ |w|, kinks included", _l1_gradcheck, ("grad",)),
            Check("penalty-value", Kind.REFERENCE, "penalty(w, lam) = λ Σ |w|", _l1_penalty, ("penalty",)),
            Check("penalty-gradient-consistency", Kind.GRADIENT, "the target's grad is a (sub)gradient of its own penalty", _penalty_consistency, ("penalty", "grad")),
            Check("sgd-step", Kind.SYMBOLIC, "step(w, g, lr, lam) = w − η(g + λ sgn(w))", _l1_step, ("step",)),
            Check("proximal-step", Kind.REFERENCE, "prox_step soft-thresholds and gives exact zeros", _l1_prox, ("prox_step",)),
            Check("grad-hygiene", Kind.PROTOCOL, "grad leaves its inputs unchanged and is deterministic", _hygiene("grad"), ("grad",)),
        ),
        reference=lambda params: _l1_reference(),
    ),
}
