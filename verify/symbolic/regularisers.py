"""Derivations for the regularisers and decoupled weight decay: specs ``l2``, ``l1`` (and ``weight-decay``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from verify.symbolic.base import (Derivation, derivation, _require, _is_zero, _numeric, _inside_range,
                                  _open_interval, _parts)


@derivation("l2-gradient")
def l2_gradient() -> Derivation:
    """``∂/∂w_k (λ Σ_{i≤n} w_i²) = 2λ w_k`` for every ``k`` and ``n``.

    Steps: differentiate the indexed sum ``λ Σ_{i=1..n} w_i²`` with respect to
    ``w_k`` (sympy gives ``Σ 2λ w_i δ_ik``), evaluate the sum for ``1 ≤ k ≤ n``.

    Numeric: ``func(w, lam) -> 2·lam·w`` (elementwise, broadcasting).

    Source: FORMULAS.md §1; the notes, "Regularización L2".
    """
    name = "l2-gradient"
    w = sp.IndexedBase("w")
    i, k = sp.symbols("i k", integer=True, positive=True)
    n = sp.Symbol("n", integer=True, positive=True)
    lam, wk = sp.symbols("λ w", real=True)
    penalty = lam * sp.Sum(w[i] ** 2, (i, 1, n))
    # k ≤ n: w_k is one of the summed weights.
    grad = _inside_range(penalty.diff(w[k]).doit(), k, n).subs(w[k], wk)
    _require(not grad.has(sp.Piecewise, sp.Sum, sp.Indexed), name, f"a closed form, got {grad}")
    _require(grad.free_symbols == {lam, wk}, name, f"the k-th gradient depends on w_k and λ only, got {grad}")
    return Derivation(
        name=name,
        statement="∂/∂w (λ Σ w²) = " + str(grad),
        expr=grad,
        symbols=(wk, lam),
        func=_numeric((wk, lam), grad),
        steps=(
            "J_L2 = J + λ Σ_{i=1..n} w_i²",
            "∂/∂w_k Σ_i w_i² = Σ_i 2 w_i δ_ik",
            f"= 2 w_k for 1 ≤ k ≤ n, so ∂/∂w_k (λ Σ w²) = {grad}",
        ),
        source="FORMULAS.md §1; the notes, 'Regularización L2'",
    )


@derivation("l2-sgd-step")
def l2_sgd_step() -> Derivation:
    """``w − η(∂J + 2λw) = w(1 − 2ηλ) − η ∂J``.

    Steps: take the gradient from :func:`l2_gradient`, write the SGD step,
    collect in ``w`` and ``∂J``; the identity's two sides differ by 0.

    Numeric: ``func(w, grad, lr, lam) -> w(1 − 2·lr·lam) − lr·grad``.

    Source: FORMULAS.md §1.
    """
    name = "l2-sgd-step"
    g2 = l2_gradient()
    wk, lam = g2.symbols
    g, lr = sp.symbols("g η", real=True)
    step = wk - lr * (g + g2.expr)
    collected = sp.collect(sp.expand(step), [wk, g])
    _require(_is_zero(collected - step), name, "the collected step equals the step")
    coeff_w = collected.coeff(wk)
    _require(coeff_w.free_symbols == {lr, lam}, name, f"the factor of w depends on η, λ only, got {coeff_w}")
    _require(_is_zero(collected.coeff(g) + lr), name, "the gradient enters as −η ∂J")
    return Derivation(
        name=name,
        statement=f"w − η(∂J + 2λw) = {collected}",
        expr=collected,
        symbols=(wk, g, lr, lam),
        func=_numeric((wk, g, lr, lam), collected),
        steps=(
            f"∂J_L2/∂w = ∂J + {g2.expr}",
            f"w ← w − η(∂J + {g2.expr})",
            f"collect in w and ∂J: {collected}",
        ),
        source="FORMULAS.md §1; the notes, 'Regularización L2'",
    )


@derivation("weight-decay-factor")
def weight_decay_factor() -> Derivation:
    """The weight-decay factor ``∂w_new/∂w = 1 − 2ηλ`` of an SGD step on ``J + λ Σ w²``.

    Steps: differentiate the step of :func:`l2_sgd_step` with respect to ``w``
    (``∂J`` held fixed).

    Numeric: ``func(lr, lam) -> 1 − 2·lr·lam``.

    Source: FORMULAS.md §1.
    """
    name = "weight-decay-factor"
    step = l2_sgd_step()
    wk, g, lr, lam = step.symbols
    factor = sp.expand(sp.diff(step.expr, wk))
    _require(factor.free_symbols == {lr, lam}, name, f"the factor depends on η, λ only, got {factor}")
    return Derivation(
        name=name,
        statement=f"weight-decay factor = {factor}",
        expr=factor,
        symbols=(lr, lam),
        func=_numeric((lr, lam), factor),
        steps=(f"w_new = {step.expr}", f"∂w_new/∂w = {factor}"),
        source="FORMULAS.md §1; the notes, 'Regularización L2'",
    )


@derivation("weight-decay-bound")
def weight_decay_bound() -> Derivation:
    """sympy solves ``0 < 1 − 2ηλ < 1`` for ``p = ηλ``: ``0 < ηλ < 1/2``.

    Steps: substitute ``ηλ = p`` in the factor of :func:`weight_decay_factor`,
    ``reduce_inequalities`` on the two conditions.

    Numeric: ``func(lr, lam) -> bool`` (``0 < lr·lam < 1/2``, elementwise);
    ``parts["bounds"]() -> (0.0, 0.5)``, the open interval of ``ηλ``.

    Source: FORMULAS.md §1 (the notes require ``0 < 1 − 2ηλ < 1``).
    """
    name = "weight-decay-bound"
    wdf = weight_decay_factor()
    lr, lam = wdf.symbols
    p = sp.Symbol("p", real=True)
    factor_p = wdf.expr.subs(lr * lam, p)
    _require(factor_p.free_symbols == {p}, name, f"the factor is a function of ηλ, got {factor_p}")
    solution = sp.reduce_inequalities([sp.Lt(0, factor_p), sp.Lt(factor_p, 1)], [p])
    lo, hi = _open_interval(solution, p, name)
    in_bound = solution.subs(p, lr * lam)
    bounds = (float(lo), float(hi))
    return Derivation(
        name=name,
        statement=f"0 < {wdf.expr} < 1 ⇔ {lo} < ηλ < {hi}",
        expr=solution,
        symbols=(lr, lam),
        func=_numeric((lr, lam), in_bound),
        steps=(
            f"factor = {wdf.expr} = {factor_p} with p = ηλ",
            f"reduce_inequalities(0 < {factor_p} < 1) = {solution}",
        ),
        source="FORMULAS.md §1; the notes, 'Regularización L2'",
        parts=_parts(bounds=lambda: bounds),
    )


@derivation("l1-derivative")
def l1_derivative() -> Derivation:
    """``d|w|/dw = sgn(w)`` for ``w ≠ 0``; no derivative at 0.

    Steps: ``diff(Abs(w), w)`` for real ``w`` gives ``sign(w)``; it is +1 for
    ``w > 0`` and −1 for ``w < 0``; the one-sided difference quotients at 0
    have limits +1 and −1, which differ, so ``|w|`` is not differentiable at 0.

    Numeric: ``func(w, lam) -> lam·sgn(w)`` for ``w ≠ 0`` and NaN at ``w = 0``
    (the derivative does not exist there; see :func:`l1_subgradient_at_zero`).

    Source: FORMULAS.md §2; the notes, "Regularización L1".
    """
    name = "l1-derivative"
    w, lam = sp.symbols("w λ", real=True)
    d = sp.diff(sp.Abs(w), w)
    wp, wn = sp.Symbol("w_pos", positive=True), sp.Symbol("w_neg", negative=True)
    _require(d.subs(w, wp) == 1 and d.subs(w, wn) == -1, name, f"{d} is +1 for w > 0 and −1 for w < 0")
    h = sp.Symbol("h", real=True)
    right = sp.limit(sp.Abs(h) / h, h, 0, "+")
    left = sp.limit(sp.Abs(h) / h, h, 0, "-")
    _require(right != left, name, "the one-sided derivatives at 0 differ")
    expr = lam * d
    numeric = _numeric((w, lam), expr)

    def func(w_: Any, lam_: Any) -> Any:
        out = np.asarray(numeric(w_, lam_), dtype=np.float64)
        out = np.where(np.asarray(w_) == 0, np.nan, out)
        return out[()] if out.ndim == 0 else out

    return Derivation(
        name=name,
        statement=f"d/dw (λ|w|) = {expr} for w ≠ 0",
        expr=expr,
        symbols=(w, lam),
        func=func,
        steps=(
            f"d|w|/dw = {d} (w real)",
            f"{d} = 1 for w > 0, −1 for w < 0",
            f"at 0: right limit of |h|/h = {right}, left limit = {left}; they differ: no derivative",
        ),
        source="FORMULAS.md §2; the notes, 'Regularización L1'",
    )


@derivation("l1-subgradient-at-zero")
def l1_subgradient_at_zero() -> Derivation:
    """The subdifferential of ``|w|`` at 0 is ``[−1, 1]``.

    Steps: ``s`` is a subgradient at 0 iff ``|w| ≥ s·w`` for every ``w``;
    ``solveset`` for ``w > 0`` gives ``s ≤ 1`` and for ``w < 0`` gives
    ``s ≥ −1``; the intersection is ``[−1, 1]``, which equals
    ``[left derivative, right derivative]``.

    Numeric: ``func(w, lam) -> (lo, hi)``, the subdifferential of ``lam·|w|``
    entry by entry: ``[−|lam|, |lam|]`` at ``w = 0`` and the single value
    ``lam·sgn(w)`` elsewhere.

    Source: FORMULAS.md §2; Rockafellar, *Convex Analysis* (1970), §23.
    """
    name = "l1-subgradient-at-zero"
    s = sp.Symbol("s", real=True)
    wp, wn = sp.Symbol("w_pos", positive=True), sp.Symbol("w_neg", negative=True)
    cond_pos = sp.solveset(sp.Abs(wp) >= s * wp, s, sp.S.Reals)
    cond_neg = sp.solveset(sp.Abs(wn) >= s * wn, s, sp.S.Reals)
    subdiff = sp.Intersection(cond_pos, cond_neg)
    _require(isinstance(subdiff, sp.Interval) and not subdiff.left_open and not subdiff.right_open,
             name, f"a closed interval, got {subdiff}")
    h = sp.Symbol("h", real=True)
    one_sided = sp.Interval(sp.limit(sp.Abs(h) / h, h, 0, "-"), sp.limit(sp.Abs(h) / h, h, 0, "+"))
    _require(subdiff == one_sided, name, f"{subdiff} equals [left, right derivative] = {one_sided}")
    deriv = l1_derivative()
    w, lam = deriv.symbols
    d = deriv.expr / lam  # sgn(w), derived away from 0
    # λ·[−1, 1] as a set: its ends are ordered by the sign of λ.
    ends = (lam * subdiff.start, lam * subdiff.end)
    lo = sp.Piecewise((sp.Min(*ends), sp.Eq(w, 0)), (lam * d, True))
    hi = sp.Piecewise((sp.Max(*ends), sp.Eq(w, 0)), (lam * d, True))
    return Derivation(
        name=name,
        statement=f"∂|w| at w = 0 is {subdiff}",
        expr=subdiff,
        symbols=(w, lam),
        func=_numeric((w, lam), (lo, hi)),
        steps=(
            "s ∈ ∂|·|(0) ⇔ |w| ≥ |0| + s·(w − 0) for all w",
            f"w > 0: s ∈ {cond_pos}; w < 0: s ∈ {cond_neg}",
            f"intersection: {subdiff} = [left derivative, right derivative]",
        ),
        source="FORMULAS.md §2; Rockafellar, Convex Analysis (1970), §23",
    )
