"""Derivations for batch norm (spec ``batchnorm``): the backward pass, the output variance, the biased batch
variance."""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from verify.symbolic.base import (Derivation, derivation, _require, _is_zero, _numeric, _inside_range, _parts,
                                  _vector, _random_rational_point)


@derivation("batchnorm-backward")
def batchnorm_backward(n: int = 3, c: int = 2) -> Derivation:
    """Batch-norm backward pass, by ``diff`` of ``L = Σ dy·y`` for a symbolic batch.

    Steps: the forward pass ``μ_j``, biased ``σ²_j``,
    ``ẑ = (z − μ)/√(σ² + ε)``, ``y = γẑ + β`` on an ``n × c`` matrix of
    symbols; ``∂L/∂z_ij``, ``∂L/∂γ_j``, ``∂L/∂β_j`` by ``diff`` of
    ``L = Σ_ij dy_ij y_ij`` (vector–Jacobian product). Checks: ``∂L/∂β = Σ_i dy``
    and ``∂L/∂γ = Σ_i dy ẑ`` exactly; ``Σ_i ∂L/∂z_ij = 0`` (and
    ``Σ_i ẑ_ij ∂L/∂z_ij = 0`` at ``ε = 0``) at a rational point, to 40 digits.

    Numeric: ``func(x, gamma, beta, eps, dy) -> (dx, dgamma, dbeta)`` with
    ``x``, ``dy`` of shape ``(n, c)``, ``gamma``, ``beta`` of shape ``(c,)``.
    ``symbols`` are ``x`` row-major, ``γ``, ``β``, ``ε``, ``dy`` row-major.

    Source: FORMULAS.md §5; Ioffe & Szegedy (ICML 2015), §3.
    """
    name = "batchnorm-backward" if (n, c) == (3, 2) else f"batchnorm-backward-{n}x{c}"
    x = sp.Matrix(n, c, lambda i, j: sp.Symbol(f"x_{i}{j}", real=True))
    dy = sp.Matrix(n, c, lambda i, j: sp.Symbol(f"dy_{i}{j}", real=True))
    gamma = _vector("γ", c)
    beta = _vector("β", c)
    eps = sp.Symbol("ε", positive=True)
    loss = sp.Integer(0)
    xhat = sp.zeros(n, c)
    for j in range(c):
        col = [x[i, j] for i in range(n)]
        mean = sum(col) / n
        var = sum((v - mean) ** 2 for v in col) / n
        for i in range(n):
            xhat[i, j] = (x[i, j] - mean) / sp.sqrt(var + eps)
            loss += dy[i, j] * (gamma[j] * xhat[i, j] + beta[j])
    dx = [[sp.diff(loss, x[i, j]) for j in range(c)] for i in range(n)]
    dgamma = [sp.diff(loss, gj) for gj in gamma]
    dbeta = [sp.diff(loss, bj) for bj in beta]
    for j in range(c):
        _require(_is_zero(dbeta[j] - sum(dy[i, j] for i in range(n))), name, "∂L/∂β = Σ_i dy")
        _require(_is_zero(dgamma[j] - sum(dy[i, j] * xhat[i, j] for i in range(n))), name, "∂L/∂γ = Σ_i dy ẑ")
    symbols = tuple(list(x) + gamma + beta + [eps] + list(dy))
    point = _random_rational_point(symbols, seed=n * 10 + c)
    no_eps = dict(point) | {eps: 0}
    for j in range(c):
        sum_dx = sum(dx[i][j] for i in range(n)).subs(point)
        # With ε > 0, Σ ẑ dz = (γ/σ̃) Σ dy ẑ · ε/(σ² + ε); it vanishes at ε = 0.
        sum_xdx = sum(xhat[i, j] * dx[i][j] for i in range(n)).subs(no_eps)
        _require(abs(sp.N(sum_dx, 50)) < 1e-40 and abs(sp.N(sum_xdx, 50)) < 1e-40, name,
                 "Σ_i ∂L/∂z = 0, and Σ_i ẑ ∂L/∂z = 0 at ε = 0")
    raw = sp.lambdify(list(symbols), (dx, dgamma, dbeta), modules="numpy", cse=True)

    def func(x_: Any, gamma_: Any, beta_: Any, eps_: Any, dy_: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        xa, dya = np.asarray(x_, dtype=np.float64), np.asarray(dy_, dtype=np.float64)
        ga, ba = np.asarray(gamma_, dtype=np.float64), np.asarray(beta_, dtype=np.float64)
        if xa.shape != (n, c) or dya.shape != (n, c) or ga.shape != (c,) or ba.shape != (c,):
            raise ValueError(f"expected x, dy of shape ({n}, {c}) and gamma, beta of shape ({c},), got "
                             f"{xa.shape}, {dya.shape}, {ga.shape}, {ba.shape}")
        d_x, d_g, d_b = raw(*xa.ravel(), *ga, *ba, float(eps_), *dya.ravel())
        return (np.array(d_x, dtype=np.float64), np.array(d_g, dtype=np.float64),
                np.array(d_b, dtype=np.float64))

    return Derivation(
        name=name,
        statement=f"batch-norm backward = ∂(Σ dy·y)/∂(z, γ, β), derived for a {n}×{c} batch",
        expr=(sp.ImmutableMatrix(dx), sp.ImmutableMatrix(dgamma), sp.ImmutableMatrix(dbeta)),
        symbols=symbols,
        func=func,
        steps=(
            "μ_j = (1/N) Σ_i z_ij, σ²_j = (1/N) Σ_i (z_ij − μ_j)²",
            "ẑ_ij = (z_ij − μ_j)/√(σ²_j + ε), y_ij = γ_j ẑ_ij + β_j",
            "L = Σ_ij dy_ij y_ij; dz, dγ, dβ = diff(L, ·)",
            "checks: dβ = Σ dy, dγ = Σ dy ẑ, Σ_i dz_ij = 0 (and Σ_i ẑ_ij dz_ij = 0 at ε = 0)",
        ),
        source="FORMULAS.md §5; Ioffe & Szegedy, Batch Normalization (ICML 2015), §3",
    )


@derivation("batchnorm-output-variance")
def batchnorm_output_variance(n: int = 4) -> Derivation:
    """The batch variance of ``ẑ`` is ``σ²/(σ² + ε)`` (and its mean is 0).

    Steps: for a symbolic batch of ``n`` values, the batch variance of
    ``c·x`` divided by that of ``x`` ``cancel`` s to ``c²``; with
    ``c = 1/√(σ² + ε)`` the variance of ``ẑ`` is ``σ²/(σ² + ε)``. The batch
    mean of ``ẑ`` expands to 0.

    Numeric: ``func(var, eps) -> var/(var + eps)`` with ``var`` the biased
    batch variance.

    Source: FORMULAS.md §5; Ioffe & Szegedy (2015), §3.
    """
    name = "batchnorm-output-variance"
    xs = _vector("x", n)
    scale = sp.Symbol("c", positive=True)
    s2, eps = sp.symbols("σ2 ε", positive=True)

    def batch_var(values: list[sp.Expr]) -> sp.Expr:
        mean = sum(values) / n
        return sum((v - mean) ** 2 for v in values) / n

    ratio = sp.cancel(batch_var([scale * v for v in xs]) / batch_var(xs))
    _require(ratio.free_symbols == {scale}, name, f"Var(c x)/Var(x) depends on c only, got {ratio}")
    mean_zhat = sp.expand(sum(scale * (v - sum(xs) / n) for v in xs) / n)
    _require(mean_zhat == 0, name, "the batch mean of ẑ is 0")
    var_zhat = sp.simplify((ratio * s2).subs(scale, 1 / sp.sqrt(s2 + eps)))
    return Derivation(
        name=name,
        statement=f"Var(ẑ) = {var_zhat} with σ² the biased batch variance",
        expr=var_zhat,
        symbols=(s2, eps),
        func=_numeric((s2, eps), var_zhat),
        steps=(
            f"Var_batch(c x)/Var_batch(x) = {ratio} (n = {n} symbolic values)",
            "ẑ = c (x − μ) with c = 1/√(σ² + ε); mean(ẑ) = 0",
            f"Var(ẑ) = c² σ² = {var_zhat}",
        ),
        source="FORMULAS.md §5; Ioffe & Szegedy, Batch Normalization (ICML 2015), §3",
    )


@derivation("biased-variance-expectation")
def biased_variance_expectation() -> Derivation:
    """``E[σ̂²] = σ²(N − 1)/N`` for the biased batch variance; ``N/(N − 1)`` unbiases it.

    Steps: ``σ̂² = (1/N) Σ x_i² − x̄²`` with ``x_i`` i.i.d., mean ``m``,
    variance ``σ²``; ``E[Σ x_i²] = Σ_i (σ² + m²)`` and
    ``E[(Σ x_i)²] = Σ_i Σ_j (m² + σ² δ_ij)`` by ``summation`` with
    symbolic ``N``; ``m`` cancels. ``solve(E[c σ̂²] = σ²)`` gives the
    correction ``c``. Cross-checked for N = 3 by expanding ``σ̂²`` as a
    polynomial and taking expectations monomial by monomial.

    Numeric: ``func(sigma2, n) -> sigma2·(n − 1)/n``;
    ``parts["unbiased_factor"](n) -> n/(n − 1)``.

    Source: FORMULAS.md §5 (PyTorch's running variance uses the unbiased one).
    """
    name = "biased-variance-expectation"
    i, j = sp.symbols("i j", integer=True, positive=True)
    big_n = sp.Symbol("N", integer=True, positive=True)
    m = sp.Symbol("m", real=True)
    s2, corr = sp.symbols("σ2 c", positive=True)
    # E[x_i x_j] = m² + σ² δ_ij for i.i.d. values.
    e_sum_sq = sp.summation(s2 + m ** 2, (i, 1, big_n))
    inner = _inside_range(sp.summation(m ** 2 + s2 * sp.KroneckerDelta(i, j), (j, 1, big_n)), i, big_n)
    e_sq_sum = sp.summation(inner, (i, 1, big_n))
    expectation = sp.factor(sp.simplify(e_sum_sq / big_n - e_sq_sum / big_n ** 2))
    _require(not expectation.has(m), name, f"the mean cancels, got {expectation}")
    # Independent cross-check at N = 3: x_i = m + σ e_i, E[e_i] = 0, E[e_i e_j] = δ_ij.
    sigma = sp.Symbol("σ", positive=True)
    es = _vector("e", 3)
    xs = [m + sigma * e for e in es]
    poly = sp.Poly(sp.expand(sum(v ** 2 for v in xs) / 3 - (sum(xs) / 3) ** 2), *es)
    moments = {0: 1, 1: 0, 2: 1}
    e3 = sum(coeff * sp.Mul(*[moments[k] for k in powers]) for powers, coeff in poly.terms())
    _require(_is_zero(e3 - expectation.subs({big_n: 3, s2: sigma ** 2})), name, "agrees with N = 3 expanded")
    (factor,) = sp.solve(sp.Eq(corr * expectation, s2), corr)
    return Derivation(
        name=name,
        statement=f"E[σ̂²] = {expectation}; unbiased: σ̂² · {factor}",
        expr=expectation,
        symbols=(s2, big_n),
        func=_numeric((s2, big_n), expectation),
        steps=(
            "σ̂² = (1/N) Σ x_i² − ((1/N) Σ x_i)²",
            f"E[Σ x_i²] = {e_sum_sq}",
            f"E[(Σ x_i)²] = {sp.expand(e_sq_sum)}",
            f"E[σ̂²] = {expectation}",
            f"solve(c E[σ̂²] = σ²): c = {factor}",
        ),
        source="FORMULAS.md §5; PyTorch BatchNorm running_var (unbiased)",
        parts=_parts(unbiased_factor=_numeric((big_n,), factor)),
    )
