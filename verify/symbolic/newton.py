"""Derivations for Newton's method (spec ``newton``): the damped step in 1-D and n-D, exactness on quadratics,
quadratic convergence."""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from verify.symbolic.base import Derivation, derivation, _require, _is_zero, _numeric, _vector, _random_rational_point


@derivation("newton-step-1d")
def newton_step_1d() -> Derivation:
    """Minimising ``E + E'Δ + ½E''Δ²`` gives ``Δ = −E'/E''``; damped step ``w0 + ηΔ``.

    Steps: ``d/dΔ`` of the quadratic model, ``solve`` for ``Δ`` (one
    solution); the model's curvature is ``E''``, so it is a minimum iff
    ``E'' > 0``.

    Numeric: ``func(w0, d1, d2, lr) -> w0 − lr·d1/d2`` (elementwise).

    Source: FORMULAS.md §6; the notes, "Método de Newton".
    """
    name = "newton-step-1d"
    w0, e0, d1, d2, delta, lr = sp.symbols("w0 E d1 d2 Δ η", real=True)
    model = e0 + d1 * delta + d2 * delta ** 2 / 2
    stationary = sp.solve(sp.diff(model, delta), delta)
    _require(len(stationary) == 1, name, f"one stationary point, got {stationary}")
    _require(sp.diff(model, delta, 2) == d2, name, "the model's curvature is E''")
    delta_opt = stationary[0]
    new_w = w0 + lr * delta_opt
    return Derivation(
        name=name,
        statement=f"argmin_Δ (E + E'Δ + ½E''Δ²) = {delta_opt}; w = {new_w}",
        expr=new_w,
        symbols=(w0, d1, d2, lr),
        func=_numeric((w0, d1, d2, lr), new_w),
        steps=(
            f"model q(Δ) = {model}",
            f"q'(Δ) = {sp.diff(model, delta)} = 0 ⇒ Δ = {delta_opt}",
            "q''(Δ) = E'': a minimum iff E'' > 0",
            f"damped step: w = w0 + ηΔ = {new_w}",
        ),
        source="FORMULAS.md §6; the notes, 'Método de Newton'",
    )


def _sym_matrix(prefix: str, n: int) -> tuple[sp.Matrix, list[sp.Symbol]]:
    """A symmetric n×n matrix of symbols and its upper-triangle symbols (row-major)."""
    upper = {(i, j): sp.Symbol(f"{prefix}_{i}{j}", real=True) for i in range(n) for j in range(i, n)}
    mat = sp.Matrix(n, n, lambda i, j: upper[(min(i, j), max(i, j))])
    return mat, list(upper.values())


def _upper(h: np.ndarray, n: int) -> list[np.ndarray]:
    return [h[..., i, j] for i in range(n) for j in range(i, n)]


@derivation("newton-step-nd")
def newton_step_nd(n: int = 3) -> Derivation:
    """n-D Newton: minimising ``E + gᵀΔ + ½ΔᵀHΔ`` gives ``Δ = −H⁻¹g``.

    Steps: gradient of the quadratic model in ``Δ`` (``g + HΔ`` for
    symmetric ``H``), ``solve`` the linear system; check ``HΔ + g = 0`` at a
    rational point exactly.

    Numeric: ``func(w0, grad, hess, lr) -> w0 − lr·H⁻¹·grad`` with ``w0`` and
    ``grad`` of shape ``(..., n)``, ``hess`` of shape ``(..., n, n)``
    (symmetric: only its upper triangle is read). ``symbols`` are
    ``w0_0..w0_{n−1}, g_0..g_{n−1}``, the upper triangle of ``H`` row by row,
    then ``η``.

    Source: FORMULAS.md §6; Nocedal & Wright, *Numerical Optimization* (2006), §3.3.
    """
    name = "newton-step-nd" if n == 3 else f"newton-step-{n}d"
    h, h_syms = _sym_matrix("H", n)
    w0 = sp.Matrix(_vector("w0", n))
    g = sp.Matrix(_vector("g", n))
    lr = sp.Symbol("η", real=True)
    d = sp.Matrix(_vector("Δ", n))
    model = (g.T * d)[0] + (d.T * h * d)[0] / 2
    grad_model = sp.Matrix([sp.diff(model, di) for di in d])
    _require(all(_is_zero(e) for e in grad_model - (g + h * d)), name, "the model's gradient is g + HΔ")
    sol = sp.solve(list(grad_model), list(d), dict=True)
    _require(len(sol) == 1, name, f"one stationary point, got {len(sol)}")
    delta = sp.Matrix([sol[0][di] for di in d])
    point = _random_rational_point(h_syms + list(g), seed=n)
    _require(all(sp.simplify(e.subs(point)) == 0 for e in h * delta + g), name, "HΔ + g = 0")
    new_w = w0 + lr * delta
    symbols = tuple(list(w0) + list(g) + h_syms + [lr])
    raw = sp.lambdify(list(symbols), list(new_w), modules="numpy", cse=True)

    def func(w0_: Any, grad_: Any, hess_: Any, lr_: Any) -> np.ndarray:
        w0a, ga, ha = (np.asarray(a, dtype=np.float64) for a in (w0_, grad_, hess_))
        if w0a.shape[-1:] != (n,) or ga.shape[-1:] != (n,) or ha.shape[-2:] != (n, n):
            raise ValueError(f"expected w0, grad of shape (..., {n}) and hess (..., {n}, {n}), "
                             f"got {w0a.shape}, {ga.shape}, {ha.shape}")
        args = [w0a[..., i] for i in range(n)] + [ga[..., i] for i in range(n)] + _upper(ha, n)
        lra = np.asarray(lr_, dtype=np.float64)
        shape = np.broadcast_shapes(*(a.shape for a in args), lra.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = raw(*args, lra)
        return np.stack([np.broadcast_to(np.asarray(o, dtype=np.float64), shape) for o in out], axis=-1)

    return Derivation(
        name=name,
        statement=f"argmin_Δ (E + gᵀΔ + ½ΔᵀHΔ) = −H⁻¹g; w = w0 − η H⁻¹ g (n = {n})",
        expr=sp.ImmutableMatrix(new_w),
        symbols=symbols,
        func=func,
        steps=(
            "model q(Δ) = E + gᵀΔ + ½ΔᵀHΔ, H symmetric",
            "∇_Δ q = g + HΔ = 0",
            f"sympy solves the {n}×{n} system: Δ = −H⁻¹g",
            "damped step: w = w0 + ηΔ",
        ),
        source="FORMULAS.md §6; Nocedal & Wright, Numerical Optimization (2006), §3.3",
    )


@derivation("newton-exact-on-quadratic", variants={"newton-exact-on-quadratic-2d": (2,)})
def newton_exact_on_quadratic(n: int = 1) -> Derivation:
    """One Newton step lands on the minimiser of any quadratic, from any ``w0``.

    ``E(w) = ½ wᵀAw + bᵀw + c`` (``A`` symmetric, non-singular). Steps:
    ``∇E`` and ``∇²E = A`` by ``diff``; the Newton iterate
    ``w0 − (∇²E)⁻¹∇E(w0)``; the stationary point by ``solve(∇E = 0)``; their
    difference simplifies to 0 for symbolic ``w0``, ``A``, ``b``.

    Numeric: ``func(A, b) -> w*``, the minimiser. For ``n = 1`` ``A`` and
    ``b`` are scalars or arrays (elementwise, ``w* = −b/A``); for ``n > 1``
    ``A`` has shape ``(..., n, n)`` (upper triangle read) and ``b`` ``(..., n)``.

    Source: FORMULAS.md §6 ("problema cuadrático").
    """
    name = "newton-exact-on-quadratic" if n == 1 else f"newton-exact-on-quadratic-{n}d"
    a_mat, a_syms = _sym_matrix("A", n)
    b = sp.Matrix(_vector("b", n))
    w = sp.Matrix(_vector("w", n))
    w0 = sp.Matrix(_vector("w0", n))
    c = sp.Symbol("c", real=True)
    energy = (w.T * a_mat * w)[0] / 2 + (b.T * w)[0] + c
    grad = sp.Matrix([sp.diff(energy, wi) for wi in w])
    hess = sp.hessian(energy, list(w))
    _require(all(_is_zero(e) for e in hess - a_mat), name, "∇²E = A")
    at_w0 = dict(zip(w, w0))
    newton = w0 - hess.LUsolve(grad.subs(at_w0))
    sol = sp.solve(list(grad), list(w), dict=True)
    _require(len(sol) == 1, name, f"one stationary point, got {len(sol)}")
    w_star = sp.Matrix([sp.cancel(sol[0][wi]) for wi in w])
    _require(all(_is_zero(e) for e in newton - w_star), name, "the Newton iterate equals the minimiser for every w0")
    symbols = tuple(a_syms + list(b))
    if n == 1:
        expr = w_star[0]
        func = _numeric(symbols, expr)
    else:
        expr = sp.ImmutableMatrix(w_star)
        raw = sp.lambdify(list(symbols), list(w_star), modules="numpy", cse=True)

        def func(a_: Any, b_: Any) -> np.ndarray:
            aa, ba = np.asarray(a_, dtype=np.float64), np.asarray(b_, dtype=np.float64)
            if aa.shape[-2:] != (n, n) or ba.shape[-1:] != (n,):
                raise ValueError(f"expected A of shape (..., {n}, {n}) and b (..., {n}), got {aa.shape}, {ba.shape}")
            args = _upper(aa, n) + [ba[..., i] for i in range(n)]
            shape = np.broadcast_shapes(*(x.shape for x in args))
            with np.errstate(divide="ignore", invalid="ignore"):
                out = raw(*args)
            return np.stack([np.broadcast_to(np.asarray(o, dtype=np.float64), shape) for o in out], axis=-1)

    return Derivation(
        name=name,
        statement=f"E = ½wᵀAw + bᵀw + c (n = {n}): one Newton step from any w0 gives w* = −A⁻¹b",
        expr=expr,
        symbols=symbols,
        func=func,
        steps=(
            "∇E(w) = Aw + b, ∇²E = A",
            "Newton: w1 = w0 − A⁻¹(A w0 + b)",
            "solve(∇E = 0): w* = −A⁻¹b",
            "w1 − w* simplifies to 0 for symbolic w0, A, b",
        ),
        source="FORMULAS.md §6; the notes, 'Método de Newton' (problema cuadrático)",
    )


@derivation("newton-quadratic-convergence")
def newton_quadratic_convergence() -> Derivation:
    """Newton's error near a minimum: ``e_{k+1} = (E'''/(2E'')) e_k² + O(e_k³)``.

    Steps: Taylor-expand ``E'`` and ``E''`` around the minimiser ``w*``
    (``E'(w*) = 0``, derivatives ``E2 = E''(w*)``, ``E3``, ``E4``); the Newton
    error ``e_{k+1} = e − E'(w*+e)/E''(w*+e)``; ``series`` in ``e``: the
    constant and linear terms vanish, the ``e²`` coefficient is the constant.

    Numeric: ``func(d2, d3) -> d3/(2·d2)`` (``E''(w*)``, ``E'''(w*)``).

    Source: FORMULAS.md §6; Nocedal & Wright (2006), Theorem 3.5.
    """
    name = "newton-quadratic-convergence"
    e, e2, e3, e4 = sp.symbols("e E2 E3 E4", real=True)
    d1 = e2 * e + e3 * e ** 2 / 2 + e4 * e ** 3 / 6
    d2 = sp.diff(d1, e)
    e_next = e - d1 / d2
    expansion = sp.series(e_next, e, 0, 3).removeO()
    poly = sp.Poly(sp.expand(expansion), e)
    _require(poly.coeff_monomial(1) == 0 and poly.coeff_monomial(e) == 0, name,
             f"no constant or linear term in {expansion}")
    const = sp.simplify(poly.coeff_monomial(e ** 2))
    _require(not const.has(e4), name, "the constant depends on E'' and E''' only")
    return Derivation(
        name=name,
        statement=f"e_(k+1) = ({const}) e_k² + O(e_k³)",
        expr=const,
        symbols=(e2, e3),
        func=_numeric((e2, e3), const),
        steps=(
            f"E'(w*+e) = {d1} + O(e⁴)",
            f"E''(w*+e) = {d2} + O(e³)",
            "e_next = e − E'(w*+e)/E''(w*+e)",
            f"series in e: {expansion} + O(e³)",
        ),
        source="FORMULAS.md §6; Nocedal & Wright, Numerical Optimization (2006), Thm 3.5",
    )
