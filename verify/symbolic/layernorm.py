"""Derivations for the per-example normalisation layers (specs ``layernorm`` and ``rmsnorm``): the backward
passes, the output's second moment, and how the output changes when each example is scaled (and shifted)."""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from verify.symbolic.base import (Derivation, derivation, _require, _is_zero, _numeric, _vector,
                                  _random_rational_point)


def _rows(n: int, h: int, name: str) -> sp.Matrix:
    return sp.Matrix(n, h, lambda i, j: sp.Symbol(f"{name}_{i}{j}", real=True))


def _lambdified_backward(name: str, symbols: tuple, outputs: Any, n: int, h: int, with_beta: bool):
    raw = sp.lambdify(list(symbols), outputs, modules="numpy", cse=True)

    def func(x_: Any, gamma_: Any, *rest: Any) -> tuple[np.ndarray, ...]:
        *beta_, eps_, dy_ = rest
        xa, dya = np.asarray(x_, dtype=np.float64), np.asarray(dy_, dtype=np.float64)
        ga = np.asarray(gamma_, dtype=np.float64)
        extra = [np.asarray(beta_[0], dtype=np.float64)] if with_beta else []
        if xa.shape != (n, h) or dya.shape != (n, h) or ga.shape != (h,) or any(b.shape != (h,) for b in extra):
            raise ValueError(f"{name}: expected x, dy of shape ({n}, {h}) and the parameters of shape ({h},)")
        out = raw(*xa.ravel(), *ga, *(extra[0] if extra else ()), float(eps_), *dya.ravel())
        return tuple(np.array(o, dtype=np.float64) for o in out)

    return func


@derivation("layernorm-backward")
def layernorm_backward(n: int = 2, h: int = 3) -> Derivation:
    """Layer-norm backward pass, by ``diff`` of ``L = Σ dy·y`` for a symbolic ``n × h`` input.

    Steps: per row (example) ``μ_i``, biased ``σ²_i`` over its ``h`` entries,
    ``x̂ = (x − μ)/√(σ² + ε)``, ``y = γ x̂ + β`` (γ, β per column); ``∂L/∂x``,
    ``∂L/∂γ``, ``∂L/∂β`` by ``diff``. Checks: ``∂L/∂β = Σ_i dy`` and
    ``∂L/∂γ = Σ_i dy x̂`` exactly; per row ``Σ_j ∂L/∂x_ij = 0`` and, at
    ``ε = 0``, ``Σ_j x̂_ij ∂L/∂x_ij = 0`` at a rational point, to 40 digits.

    Numeric: ``func(x, gamma, beta, eps, dy) -> (dx, dgamma, dbeta)`` with
    ``x``, ``dy`` of shape ``(n, h)`` and ``gamma``, ``beta`` of shape ``(h,)``.

    Source: Ba, Kiros & Hinton, Layer Normalization (arXiv:1607.06450, 2016), eq. 4; ε inside the root as
    in torch.nn.LayerNorm.
    """
    name = "layernorm-backward" if (n, h) == (2, 3) else f"layernorm-backward-{n}x{h}"
    x, dy = _rows(n, h, "x"), _rows(n, h, "dy")
    gamma, beta = _vector("γ", h), _vector("β", h)
    eps = sp.Symbol("ε", positive=True)
    xhat = sp.zeros(n, h)
    loss = sp.Integer(0)
    for i in range(n):
        row = [x[i, j] for j in range(h)]
        mean = sum(row) / h
        var = sum((v - mean) ** 2 for v in row) / h
        for j in range(h):
            xhat[i, j] = (x[i, j] - mean) / sp.sqrt(var + eps)
            loss += dy[i, j] * (gamma[j] * xhat[i, j] + beta[j])
    dx = [[sp.diff(loss, x[i, j]) for j in range(h)] for i in range(n)]
    dgamma = [sp.diff(loss, g) for g in gamma]
    dbeta = [sp.diff(loss, b) for b in beta]
    for j in range(h):
        _require(_is_zero(dbeta[j] - sum(dy[i, j] for i in range(n))), name, "∂L/∂β = Σ_i dy")
        _require(_is_zero(dgamma[j] - sum(dy[i, j] * xhat[i, j] for i in range(n))), name, "∂L/∂γ = Σ_i dy x̂")
    symbols = tuple(list(x) + gamma + beta + [eps] + list(dy))
    point = _random_rational_point(symbols, seed=100 + n * 10 + h)
    no_eps = dict(point) | {eps: 0}
    for i in range(n):
        sum_dx = sum(dx[i][j] for j in range(h)).subs(point)
        sum_xdx = sum(xhat[i, j] * dx[i][j] for j in range(h)).subs(no_eps)
        _require(abs(sp.N(sum_dx, 50)) < 1e-40 and abs(sp.N(sum_xdx, 50)) < 1e-40, name,
                 "per row Σ_j ∂L/∂x = 0, and Σ_j x̂ ∂L/∂x = 0 at ε = 0")
    return Derivation(
        name=name,
        statement=f"layer-norm backward = ∂(Σ dy·y)/∂(x, γ, β), derived for a {n}×{h} input",
        expr=(sp.ImmutableMatrix(dx), sp.ImmutableMatrix(dgamma), sp.ImmutableMatrix(dbeta)),
        symbols=symbols,
        func=_lambdified_backward(name, symbols, (dx, dgamma, dbeta), n, h, with_beta=True),
        steps=(
            "μ_i = (1/H) Σ_j x_ij, σ²_i = (1/H) Σ_j (x_ij − μ_i)² (per example)",
            "x̂_ij = (x_ij − μ_i)/√(σ²_i + ε), y_ij = γ_j x̂_ij + β_j",
            "L = Σ_ij dy_ij y_ij; dx, dγ, dβ = diff(L, ·)",
            "checks: dβ = Σ_i dy, dγ = Σ_i dy x̂, Σ_j dx_ij = 0 (and Σ_j x̂_ij dx_ij = 0 at ε = 0)",
        ),
        source="Ba, Kiros & Hinton, Layer Normalization (2016), eq. 4; torch.nn.LayerNorm",
    )


@derivation("rmsnorm-backward")
def rmsnorm_backward(n: int = 2, h: int = 3) -> Derivation:
    """RMS-norm backward pass, by ``diff`` of ``L = Σ dy·y`` for a symbolic ``n × h`` input.

    Steps: per row ``ms_i = (1/h) Σ_j x_ij²``, ``x̂ = x/√(ms + ε)``,
    ``y = γ x̂``; ``∂L/∂x``, ``∂L/∂γ`` by ``diff``. Checks:
    ``∂L/∂γ = Σ_i dy x̂`` exactly; at ``ε = 0`` the output is homogeneous of
    degree 0 in each row, so ``Σ_j x_ij ∂L/∂x_ij = 0`` (Euler) at a rational
    point, to 40 digits.

    Numeric: ``func(x, gamma, eps, dy) -> (dx, dgamma)``.

    Source: Zhang & Sennrich, Root Mean Square Layer Normalization (NeurIPS 2019), eq. 4; ε inside the root
    as in torch.nn.RMSNorm.
    """
    name = "rmsnorm-backward" if (n, h) == (2, 3) else f"rmsnorm-backward-{n}x{h}"
    x, dy = _rows(n, h, "x"), _rows(n, h, "dy")
    gamma = _vector("γ", h)
    eps = sp.Symbol("ε", positive=True)
    loss = sp.Integer(0)
    xhat = sp.zeros(n, h)
    for i in range(n):
        ms = sum(x[i, j] ** 2 for j in range(h)) / h
        for j in range(h):
            xhat[i, j] = x[i, j] / sp.sqrt(ms + eps)
            loss += dy[i, j] * gamma[j] * xhat[i, j]
    dx = [[sp.diff(loss, x[i, j]) for j in range(h)] for i in range(n)]
    dgamma = [sp.diff(loss, g) for g in gamma]
    for j in range(h):
        _require(_is_zero(dgamma[j] - sum(dy[i, j] * xhat[i, j] for i in range(n))), name, "∂L/∂γ = Σ_i dy x̂")
    symbols = tuple(list(x) + gamma + [eps] + list(dy))
    point = _random_rational_point(symbols, seed=200 + n * 10 + h)
    no_eps = dict(point) | {eps: 0}
    for i in range(n):
        euler = sum(x[i, j] * dx[i][j] for j in range(h)).subs(no_eps)
        _require(abs(sp.N(euler, 50)) < 1e-40, name, "per row Σ_j x ∂L/∂x = 0 at ε = 0")
    return Derivation(
        name=name,
        statement=f"RMS-norm backward = ∂(Σ dy·y)/∂(x, γ), derived for a {n}×{h} input",
        expr=(sp.ImmutableMatrix(dx), sp.ImmutableMatrix(dgamma)),
        symbols=symbols,
        func=_lambdified_backward(name, symbols, (dx, dgamma), n, h, with_beta=False),
        steps=(
            "ms_i = (1/H) Σ_j x_ij² (per example)",
            "x̂_ij = x_ij/√(ms_i + ε), y_ij = γ_j x̂_ij",
            "L = Σ_ij dy_ij y_ij; dx, dγ = diff(L, ·)",
            "checks: dγ = Σ_i dy x̂; Σ_j x_ij dx_ij = 0 at ε = 0 (the output is scale-invariant)",
        ),
        source="Zhang & Sennrich, Root Mean Square Layer Normalization (NeurIPS 2019), eq. 4; torch.nn.RMSNorm",
    )


@derivation("rmsnorm-output-mean-square")
def rmsnorm_output_mean_square(h: int = 4) -> Derivation:
    """The mean square of ``x̂ = x/√(ms + ε)`` over an example is ``ms/(ms + ε)``.

    Steps: for ``h`` symbolic values, ``mean((c x)²)/mean(x²)`` ``cancel`` s
    to ``c²``; with ``c = 1/√(ms + ε)`` the mean square of ``x̂`` is
    ``ms/(ms + ε)``.

    Numeric: ``func(ms, eps) -> ms/(ms + eps)``.

    Source: Zhang & Sennrich (2019), eq. 4.
    """
    name = "rmsnorm-output-mean-square"
    xs = _vector("x", h)
    c = sp.Symbol("c", positive=True)
    ms, eps = sp.symbols("ms ε", positive=True)
    ratio = sp.cancel(sum((c * v) ** 2 for v in xs) / sum(v ** 2 for v in xs))
    _require(ratio == c ** 2, name, f"mean((c x)²)/mean(x²) = c², got {ratio}")
    out = sp.simplify((ratio * ms).subs(c, 1 / sp.sqrt(ms + eps)))
    return Derivation(
        name=name,
        statement=f"mean(x̂²) = {out}",
        expr=out,
        symbols=(ms, eps),
        func=_numeric((ms, eps), out),
        steps=(f"mean((c x)²)/mean(x²) = {ratio} ({h} symbolic values)",
               "x̂ = c x with c = 1/√(ms + ε)", f"mean(x̂²) = c² ms = {out}"),
        source="Zhang & Sennrich, Root Mean Square Layer Normalization (NeurIPS 2019), eq. 4",
    )


@derivation("layernorm-rescaling", variants={"rmsnorm-rescaling": (True,)})
def normalisation_rescaling(rms: bool = False, h: int = 3) -> Derivation:
    """How the output of layer norm (RMS norm) changes when an example ``x`` becomes ``c·x + s`` (``c·x``).

    Steps: for ``h`` symbolic values, the per-example statistic of
    ``c x + s`` (layer norm: the biased variance; RMS norm: the mean square of
    ``c x``) divided by that of ``x`` ``cancel`` s to ``c²``, and the centred
    ``(c x + s) − mean`` to ``c (x − mean)``; so
    ``f_ε(c x + s) = f_ε(x) · c√(v + ε)/√(c² v + ε)`` with ``v`` the
    statistic of ``x`` — invariance when ``ε = 0``. Checked at a rational
    point against the two outputs computed directly.

    Numeric: ``func(v, eps, c) -> c·√(v + ε)/√(c² v + ε)`` (the factor).

    Source: Ba et al. (2016) §4 (invariance to re-scaling and re-centering of a single example);
    Zhang & Sennrich (2019) §3 (re-scaling invariance of RMSNorm).
    """
    name = "rmsnorm-rescaling" if rms else "layernorm-rescaling"
    xs = _vector("x", h)
    c = sp.Symbol("c", positive=True)
    s = sp.Symbol("s", real=True)
    v, eps = sp.symbols("v ε", positive=True)

    def stat(values):
        if rms:
            return sum(u ** 2 for u in values) / h
        mean = sum(values) / h
        return sum((u - mean) ** 2 for u in values) / h

    def centred(values, k):
        return values[k] if rms else values[k] - sum(values) / h

    moved = [c * u + (0 if rms else s) for u in xs]
    ratio = sp.cancel(stat(moved) / stat(xs))
    _require(ratio == c ** 2, name, f"the statistic of c·x{'' if rms else ' + s'} is c² times that of x, got {ratio}")
    _require(_is_zero(centred(moved, 0) - c * centred(xs, 0)), name, "the centred input scales by c")
    factor = c * sp.sqrt(v + eps) / sp.sqrt(ratio * v + eps)
    point = {u: sp.Rational(k + 2, 3) * (-1) ** k for k, u in enumerate(xs)} | {c: sp.Rational(7, 2),
                                                                            s: sp.Rational(-5, 3),
                                                                            eps: sp.Rational(1, 10)}
    direct = (centred(moved, 1) / sp.sqrt(stat(moved) + eps)).subs(point)
    via = (centred(xs, 1) / sp.sqrt(stat(xs) + eps) * factor.subs(v, stat(xs))).subs(point)
    _require(abs(sp.N(direct - via, 50)) < 1e-40, name, "f_ε(c x + s) = f_ε(x)·factor at a rational point")
    what = "RMSNorm_ε(c·x)" if rms else "LayerNorm_ε(c·x + s)"
    return Derivation(
        name=name,
        statement=f"{what} = {'RMSNorm' if rms else 'LayerNorm'}_ε(x)·{factor} (c > 0, before γ and β)",
        expr=factor,
        symbols=(v, eps, c),
        func=_numeric((v, eps, c), factor),
        steps=(f"statistic(c·x{'' if rms else ' + s'})/statistic(x) = {ratio}",
               "centred(c·x + s) = c·centred(x)" if not rms else "x is not centred: c·x stays c·x",
               f"factor = c√(v + ε)/√(c²v + ε) = {factor}; 1 at ε = 0"),
        source=("Zhang & Sennrich, Root Mean Square Layer Normalization (2019), §3" if rms else
                "Ba, Kiros & Hinton, Layer Normalization (2016), §4"),
    )
