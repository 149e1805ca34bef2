"""Derivations for the optimizer specs: momentum and Nesterov iterates, Adam and RMSprop on a constant gradient,
decoupled decay, the rates and stability bounds of GD, heavy ball and Nesterov."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import sympy as sp

from verify.symbolic.base import Derivation, derivation, _require, _is_zero, _numeric, _open_interval, _parts


def _iterate_func(symbols: Sequence[sp.Symbol], iterates: Sequence[sp.Expr]) -> Callable[..., np.ndarray]:
    """Numeric ``(w0, lr, mu, g_1..g_k) -> array (k + 1, *broadcast shape)``."""
    scalar = _numeric(symbols, tuple(iterates))

    def func(*args: Any) -> np.ndarray:
        return np.stack([np.asarray(v, dtype=np.float64) for v in scalar(*args)])

    return func


def _symbols_for_steps(steps: int) -> tuple[sp.Symbol, sp.Symbol, sp.Symbol, list[sp.Symbol]]:
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    w0, lr, mu = sp.symbols("w0 η μ", real=True)
    gs = [sp.Symbol(f"g_{t}", real=True) for t in range(1, steps + 1)]
    return w0, lr, mu, gs


@derivation("momentum-iterates")
def momentum_iterates(steps: int = 4) -> Derivation:
    """Polyak's and PyTorch's momentum forms produce the same iterates.

    * Polyak: ``v ← μv − ηg``, ``w ← w + v``, ``v₀ = 0``;
    * PyTorch/optax: ``b ← μb + g``, ``w ← w − ηb``, ``b₀ = 0``.

    Steps: run both forms ``steps`` times on symbols ``w0, η, μ, g_1..g_k``
    (``g_t`` the gradient at step ``t``); each iterate's difference expands
    to 0. Because the iterates agree, so do gradients evaluated at them: by
    induction the forms agree for any loss.

    Numeric: ``func(w0, lr, mu, g_1, …, g_k) -> (polyak, pytorch)``, each of
    shape ``(k + 1, *broadcast)`` (``w_0 … w_k``);
    ``parts["polyak"]`` and ``parts["pytorch"]`` give each alone.

    Source: FORMULAS.md §7; Polyak (1964); PyTorch ``SGD``, ``optax.sgd``.
    """
    name = "momentum-iterates"
    w0, lr, mu, gs = _symbols_for_steps(steps)
    w, v = w0, sp.Integer(0)
    polyak = [w]
    for g in gs:
        v = mu * v - lr * g
        w = w + v
        polyak.append(sp.expand(w))
    w, b = w0, sp.Integer(0)
    pytorch = [w]
    for g in gs:
        b = mu * b + g
        w = w - lr * b
        pytorch.append(sp.expand(w))
    _require(all(_is_zero(a - c) for a, c in zip(polyak, pytorch)), name, "the two forms' iterates are equal")
    symbols = (w0, lr, mu, *gs)
    f_polyak, f_pytorch = _iterate_func(symbols, polyak), _iterate_func(symbols, pytorch)
    return Derivation(
        name=name,
        statement=f"v ← μv − ηg, w ← w + v ≡ b ← μb + g, w ← w − ηb ({steps} symbolic steps)",
        expr=tuple(polyak),
        symbols=symbols,
        func=lambda *a: (f_polyak(*a), f_pytorch(*a)),
        steps=(
            "Polyak: v ← μv − ηg, w ← w + v; PyTorch: b ← μb + g, w ← w − ηb; v₀ = b₀ = 0",
            f"w_1 = {polyak[1]}, w_2 = {polyak[2] if steps > 1 else '…'}",
            f"w_t(Polyak) − w_t(PyTorch) expands to 0 for t ≤ {steps} (v = −ηb)",
        ),
        source="FORMULAS.md §7; Polyak (1964); PyTorch SGD / optax.sgd",
        parts=_parts(polyak=f_polyak, pytorch=f_pytorch),
    )


@derivation("nesterov-iterates")
def nesterov_iterates(steps: int = 4) -> Derivation:
    """PyTorch's Nesterov iterates are Sutskever's look-ahead points ``w + μv``.

    * Sutskever et al.: ``v ← μv − η g``, ``w ← w + v``, with ``g`` taken at
      the look-ahead point ``w + μv``;
    * PyTorch/optax/Keras: ``b ← μb + g``, ``p ← p − η(g + μb)``, with ``g``
      taken at ``p``.

    Steps: run both ``steps`` times on symbols ``w0, η, μ, g_1..g_k``; the
    PyTorch iterate ``p_t`` minus ``w_t + μ v_t`` expands to 0 for every ``t``
    (so both take their gradients at the same points, and by induction agree
    for any loss). ``w_t`` itself differs from ``p_t`` by ``μ v_t``.

    Numeric: ``func(w0, lr, mu, g_1, …, g_k) -> (lookahead, pytorch)``, each
    of shape ``(k + 1, *broadcast)``; ``parts["sutskever"]`` (the ``w_t``),
    ``parts["sutskever_lookahead"]`` and ``parts["pytorch"]``.

    Source: FORMULAS.md §7; Sutskever, Martens, Dahl & Hinton (ICML 2013), eqs. 3–4.
    """
    name = "nesterov-iterates"
    w0, lr, mu, gs = _symbols_for_steps(steps)
    w, v = w0, sp.Integer(0)
    sutskever, lookahead = [w], [w]
    for g in gs:
        v = mu * v - lr * g
        w = w + v
        sutskever.append(sp.expand(w))
        lookahead.append(sp.expand(w + mu * v))
    p, b = w0, sp.Integer(0)
    pytorch = [p]
    for g in gs:
        b = mu * b + g
        p = p - lr * (g + mu * b)
        pytorch.append(sp.expand(p))
    _require(all(_is_zero(a - c) for a, c in zip(lookahead, pytorch)), name,
             "PyTorch's iterates equal Sutskever's look-ahead points")
    _require(not _is_zero(sutskever[1] - pytorch[1]), name, "w_t itself differs from the PyTorch iterate")
    symbols = (w0, lr, mu, *gs)
    f_sut, f_look, f_pt = (_iterate_func(symbols, it) for it in (sutskever, lookahead, pytorch))
    return Derivation(
        name=name,
        statement=f"PyTorch Nesterov p_t = Sutskever w_t + μ v_t ({steps} symbolic steps)",
        expr=tuple(pytorch),
        symbols=symbols,
        func=lambda *a: (f_look(*a), f_pt(*a)),
        steps=(
            "Sutskever: v ← μv − η g(w + μv), w ← w + v; PyTorch: b ← μb + g, p ← p − η(g + μb)",
            f"p_1 = {pytorch[1]} = w_1 + μ v_1",
            f"p_t − (w_t + μ v_t) expands to 0 for t ≤ {steps}; w_t − p_t = −μ v_t ≠ 0",
        ),
        source="FORMULAS.md §7; Sutskever, Martens, Dahl & Hinton (ICML 2013), eqs. 3–4",
        parts=_parts(sutskever=f_sut, sutskever_lookahead=f_look, pytorch=f_pt),
    )


@derivation("adam-constant-gradient")
def adam_constant_gradient() -> Derivation:
    """Adam with a constant (mean) gradient: ``E[m_t] = (1 − β1ᵗ) g``.

    Steps: unroll ``m ← β1 m + (1 − β1) g_t`` from ``m₀ = 0``:
    ``m_t = Σ_{i=1..t} (1 − β1) β1^{t−i} g_i``; with ``E[g_i] = g`` sympy's
    ``summation`` gives ``(1 − β1ᵗ) g``, and likewise
    ``v_t = (1 − β2ᵗ) g²`` for a constant gradient. The bias correction
    ``m̂ = m_t/(1 − β1ᵗ)`` simplifies to ``g`` (``v̂`` to ``g²``), so each step
    is ``−η g/(|g| + ε)``.

    Numeric: ``func(g, b1, t) -> (1 − b1^t)·g``;
    ``parts["m_hat"](g, b1, t) -> g``;
    ``parts["step"](g, lr, b1, b2, eps, t) -> −lr·g/(|g| + eps)``, the
    parameter change at step ``t``.

    Source: FORMULAS.md §10; Kingma & Ba (ICLR 2015), §3.
    """
    name = "adam-constant-gradient"
    g = sp.Symbol("g", real=True)
    lr, eps = sp.symbols("η ε", positive=True)
    b1, b2 = sp.symbols("β1 β2", positive=True)
    t = sp.Symbol("t", integer=True, positive=True)
    i = sp.Symbol("i", integer=True, positive=True)
    m_t = sp.factor(sp.summation((1 - b1) * b1 ** (t - i) * g, (i, 1, t)))
    v_t = sp.factor(sp.summation((1 - b2) * b2 ** (t - i) * g ** 2, (i, 1, t)))
    _require(not m_t.has(sp.Sum, sp.Piecewise), name, f"a closed form for m_t, got {m_t}")
    m_hat = sp.simplify(m_t / (1 - b1 ** t))
    v_hat = sp.simplify(v_t / (1 - b2 ** t))
    _require(m_hat == g and _is_zero(v_hat - g ** 2), name, f"m̂ = g and v̂ = g², got {m_hat}, {v_hat}")
    step = sp.simplify(-lr * m_hat / (sp.sqrt(v_hat) + eps))
    # The other ε placements (reference.adam's eps_placement) on the same moments:
    # inside the root, −η m̂/√(v̂ + ε); ε̂ (Kingma & Ba §2, Keras), −η √(1 − β2ᵗ)/(1 − β1ᵗ)·m_t/(√v_t + ε).
    step_inside = sp.simplify(-lr * m_hat / sp.sqrt(v_hat + eps))
    step_hat = sp.simplify(-lr * sp.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m_t / (sp.sqrt(sp.factor(v_t)) + eps))
    return Derivation(
        name=name,
        statement=f"E[m_t] = {m_t} for E[g_t] = g; m̂_t = {m_hat}",
        expr=m_t,
        symbols=(g, b1, t),
        func=_numeric((g, b1, t), m_t),
        steps=(
            "m_t = Σ_(i=1..t) (1 − β1) β1^(t−i) g_i, m₀ = 0",
            f"E[g_i] = g: E[m_t] = {m_t}",
            f"m̂ = m_t/(1 − β1ᵗ) = {m_hat}, v̂ = {v_hat}",
            f"step = −η m̂/(√v̂ + ε) = {step}",
        ),
        source="FORMULAS.md §10; Kingma & Ba, Adam (ICLR 2015), §3",
        parts=_parts(m_hat=_numeric((g, b1, t), m_hat), step=_numeric((g, lr, b1, b2, eps, t), step),
                     step_inside=_numeric((g, lr, b1, b2, eps, t), step_inside),
                     step_hat=_numeric((g, lr, b1, b2, eps, t), step_hat)),
    )


@derivation("gd-stability-bound")
def gd_stability_bound() -> Derivation:
    """GD on ``E = ½Lw²`` is stable iff ``|1 − ηL| < 1`` ⇔ ``0 < η < 2/L``.

    Steps: one GD step ``w − η E'(w)``, its factor ``∂w_new/∂w = 1 − ηL`` by
    ``diff``; ``reduce_inequalities(−1 < 1 − ηL < 1)`` for ``L > 0``.

    Numeric: ``func(lr, L) -> bool`` (stable, elementwise);
    ``parts["max_lr"](L) -> 2/L``.

    Source: FORMULAS.md §7; Nesterov, *Lectures on Convex Optimization* (2018), §1.2.3.
    """
    name = "gd-stability-bound"
    w, lr = sp.symbols("w η", real=True)
    big_l = sp.Symbol("L", positive=True)
    energy = big_l * w ** 2 / 2
    factor = sp.diff(w - lr * sp.diff(energy, w), w)
    _require(not factor.has(w), name, f"a linear iteration, factor {factor}")
    solution = sp.reduce_inequalities([sp.Lt(-1, factor), sp.Lt(factor, 1)], [lr])
    lo, max_lr = _open_interval(solution, lr, name)
    _require(lo == 0, name, f"0 < η < …, got {solution}")
    return Derivation(
        name=name,
        statement=f"|{factor}| < 1 ⇔ {solution}",
        expr=solution,
        symbols=(lr, big_l),
        func=_numeric((lr, big_l), solution),
        steps=(
            f"E = {energy}; w ← w − ηE'(w) = ({factor}) w",
            f"stable ⇔ −1 < {factor} < 1",
            f"reduce_inequalities (L > 0): {solution}",
        ),
        source="FORMULAS.md §7; Nesterov, Lectures on Convex Optimization (2018), §1.2.3",
        parts=_parts(max_lr=_numeric((big_l,), max_lr)),
    )


@derivation("gd-optimal-rate")
def gd_optimal_rate() -> Derivation:
    """Optimal GD on eigenvalues in ``[m, L]``: ``η = 2/(m + L)``, rate ``(κ − 1)/(κ + 1)``.

    Steps: the rate is ``max(|1 − ηm|, |1 − ηL|)``; the first term falls and
    the second rises with ``η`` beyond ``1/L``, so the minimum is where
    ``1 − ηm = −(1 − ηL)`` (``solve``); substitute, and write ``L = κm``.

    Numeric: ``func(m, L) -> (lr, rate)``; ``parts["rate_kappa"](kappa) -> rate``.

    Source: FORMULAS.md §7; Polyak, *Introduction to Optimization* (1987), §1.4.
    """
    name = "gd-optimal-rate"
    lr = sp.Symbol("η", positive=True)
    m, big_l, kappa = sp.symbols("m L κ", positive=True)
    (lr_opt,) = sp.solve(sp.Eq(1 - lr * m, -(1 - lr * big_l)), lr)
    rate = sp.simplify((1 - lr_opt * m))
    _require(_is_zero(rate - sp.simplify(-(1 - lr_opt * big_l))), name, "both ends contract equally")
    rate_kappa = sp.simplify(rate.subs(big_l, kappa * m))
    _require(rate_kappa.free_symbols == {kappa}, name, f"the rate depends on κ only, got {rate_kappa}")
    return Derivation(
        name=name,
        statement=f"η* = {lr_opt}, rate = {rate} = {rate_kappa}",
        expr=(lr_opt, rate),
        symbols=(m, big_l),
        func=_numeric((m, big_l), (lr_opt, rate)),
        steps=(
            "rate(η) = max(|1 − ηm|, |1 − ηL|)",
            f"solve(1 − ηm = −(1 − ηL)): η* = {lr_opt}",
            f"rate(η*) = {rate}; with L = κm: {rate_kappa}",
        ),
        source="FORMULAS.md §7; Polyak, Introduction to Optimization (1987), §1.4",
        parts=_parts(rate_kappa=_numeric((kappa,), rate_kappa)),
    )


def _heavy_ball_matrix(lr: sp.Expr, mu: sp.Expr, lam: sp.Expr) -> sp.Matrix:
    """Heavy ball on eigen-direction λ: (w_{k+1}, w_k) = M (w_k, w_{k−1})."""
    return sp.Matrix([[1 + mu - lr * lam, -mu], [1, 0]])


@derivation("heavy-ball-optimal")
def heavy_ball_optimal() -> Derivation:
    """Heavy ball: ``η = 4/(√L + √m)²``, ``μ = ((√κ − 1)/(√κ + 1))²``, rate ``(√κ − 1)/(√κ + 1)``.

    Steps: on eigen-direction ``λ`` the iteration matrix is
    ``[[1 + μ − ηλ, −μ], [1, 0]]``, characteristic polynomial
    ``z² − (1 + μ − ηλ)z + μ``. Its roots have modulus ``√μ`` whenever the
    discriminant is ≤ 0; the optimum puts double roots at both ends:
    ``1 + r² − ηm = 2r`` and ``1 + r² − ηL = −2r`` with ``r = √μ``, which
    sympy ``solve`` s (keeping ``0 ≤ r < 1``). Checks: the discriminant is 0
    at ``λ = m`` and ``λ = L``; at ``κ = 4, 9, 49/4`` the eigenvalues, exact,
    have modulus ``r`` at ``λ = m, (m + L)/2, L``.

    Numeric: ``func(m, L) -> (lr, mu, rate)``; ``parts["rate_kappa"](kappa)``.

    Source: FORMULAS.md §7; Polyak (1964); Polyak, *Introduction to Optimization* (1987), §3.2.
    """
    name = "heavy-ball-optimal"
    a, b = sp.symbols("a b", positive=True)  # m = a², L = b²
    m, big_l, kappa = sp.symbols("m L κ", positive=True)
    r, lr = sp.symbols("r η", real=True)
    sols = sp.solve([1 + r ** 2 - lr * a ** 2 - 2 * r, 1 + r ** 2 - lr * b ** 2 + 2 * r], [r, lr], dict=True)
    probe = {a: 1, b: 2}
    valid = [s for s in sols if 0 <= s[r].subs(probe) < 1 and s[lr].subs(probe) > 0]
    _require(len(valid) == 1, name, f"one solution with 0 ≤ r < 1, got {sols}")
    to_ml = {a: sp.sqrt(m), b: sp.sqrt(big_l)}
    rate = sp.simplify(sp.factor(valid[0][r]).subs(to_ml))
    lr_opt = sp.simplify(sp.factor(valid[0][lr]).subs(to_ml))
    mu_opt = rate ** 2
    rate_kappa = sp.simplify(sp.factor(valid[0][r]).subs({a: 1, b: sp.sqrt(kappa)}))
    lam = sp.Symbol("λ", positive=True)
    z = sp.Symbol("z")
    char = _heavy_ball_matrix(lr_opt, mu_opt, lam).charpoly(z).as_expr()
    disc = sp.discriminant(char, z)
    _require(_is_zero(disc.subs(lam, m)) and _is_zero(disc.subs(lam, big_l)), name,
             "double roots at λ = m and λ = L")
    for k in (sp.Integer(4), sp.Integer(9), sp.Rational(49, 4)):
        at = {m: 1, big_l: k}
        expected = rate.subs(at)
        for lam_val in (1, (1 + k) / 2, k):
            eig = _heavy_ball_matrix(lr_opt.subs(at), mu_opt.subs(at), lam_val).eigenvals()
            radius = max(sp.sqrt(sp.expand(e * sp.conjugate(e))) for e in eig)
            _require(_is_zero(radius - expected), name, f"spectral radius = rate at κ = {k}, λ = {lam_val}")
    return Derivation(
        name=name,
        statement=f"η = {lr_opt}, μ = {mu_opt}, rate = {rate_kappa} (κ = L/m)",
        expr=(lr_opt, mu_opt, rate),
        symbols=(m, big_l),
        func=_numeric((m, big_l), (lr_opt, mu_opt, rate)),
        steps=(
            "eigen-direction λ: M = [[1 + μ − ηλ, −μ], [1, 0]], det(zI − M) = z² − (1 + μ − ηλ)z + μ",
            "complex roots have modulus √μ; optimum: double roots at λ = m (z = r) and λ = L (z = −r)",
            f"solve: r = {rate}, η = {lr_opt}",
            f"μ = r² = {mu_opt}; rate in κ: {rate_kappa}",
            "checks: discriminant 0 at m and L; exact spectral radius = r at κ = 4, 9, 49/4",
        ),
        source="FORMULAS.md §7; Polyak (1964); Polyak, Introduction to Optimization (1987), §3.2",
        parts=_parts(rate_kappa=_numeric((kappa,), rate_kappa)),
    )


@derivation("heavy-ball-stability")
def heavy_ball_stability() -> Derivation:
    """Heavy ball on an eigen-direction λ is stable iff ``0 < ηλ < 2(1 + μ)`` (for ``0 ≤ μ < 1``).

    Steps: the iteration matrix ``[[1 + μ − ηλ, −μ], [1, 0]]`` has characteristic
    polynomial ``p(z) = z² − (1 + μ − ηλ)z + μ``; by the Jury (Schur–Cohn)
    conditions for a monic quadratic, both roots lie inside the unit circle iff
    ``p(1) > 0``, ``p(−1) > 0`` and ``|μ| < 1``; sympy solves ``p(−1) > 0`` for ``η``.

    Numeric: ``func(lam, mu) -> 2(1 + μ)/λ``; ``parts["max_lr"](L, mu)`` the same as a float.

    Source: Polyak (1964); the Jury stability criterion.
    """
    name = "heavy-ball-stability"
    z, lr, lam, mu = sp.symbols("z eta lambda mu", positive=True)
    p = z ** 2 - (1 + mu - lr * lam) * z + mu
    at_one = sp.simplify(p.subs(z, 1))          # = ηλ > 0 always
    at_minus = sp.simplify(p.subs(z, -1))
    sol = sp.solve(sp.Eq(at_minus, 0), lr)
    _require(len(sol) == 1, name, f"one boundary, got {sol}")
    bound = sp.simplify(sol[0])
    _require(sp.simplify(at_one - lr * lam) == 0, name, f"p(1) = ηλ, got {at_one}")
    f = sp.lambdify((lam, mu), bound, "numpy")
    return Derivation(
        name=name,
        statement=f"stable ⇔ 0 < η < {bound} (p(1) = {at_one} > 0, p(−1) = {at_minus} > 0)",
        expr=bound,
        symbols=(lam, mu),
        func=f,
        steps=(f"p(z) = {p}", f"p(1) = {at_one}", f"p(−1) = {at_minus} > 0 ⇔ η < {bound}"),
        source="Polyak (1964); Jury (Schur–Cohn) stability conditions for a quadratic",
        parts=_parts(max_lr=lambda L, m: float(f(L, m))),
        tidy=False,
    )


@derivation("nesterov-optimal")
def nesterov_optimal() -> Derivation:
    """Nesterov with ``η = 1/L``, ``μ = (√κ − 1)/(√κ + 1)`` on eigenvalues in ``[m, L]``: rate ``1 − 1/√κ``.

    Steps: on eigen-direction λ the PyTorch-form iteration ``(p, b)`` has
    matrix ``[[1 − ηλ(1 + μ), −ημ²], [λ, μ]]``; sympy's characteristic
    polynomial is ``z² − (1 + μ)(1 − ηλ)z + μ(1 − ηλ)``. At ``λ = m`` with the
    parameters above its discriminant simplifies to 0: a double root, which
    simplifies to ``1 − 1/√κ``; at ``λ = L`` both roots are 0, and in between
    the modulus ``√(μ(1 − ηλ))`` is smaller.

    Numeric: ``func(kappa) -> rate``; ``parts["params"](m, L) -> (lr, mu, rate)``.

    Source: Nesterov (1983); Lessard, Recht & Packard (2016).
    """
    name = "nesterov-optimal"
    z, lr, lam, mu, p_, b_ = sp.symbols("z eta lambda mu p b")
    m, kappa = sp.symbols("m kappa", positive=True)
    g = lam * p_
    b_new = mu * b_ + g
    p_new = p_ - lr * (g + mu * b_new)
    mat = sp.Matrix([[sp.diff(p_new, p_), sp.diff(p_new, b_)], [sp.diff(b_new, p_), sp.diff(b_new, b_)]])
    char = sp.expand(mat.charpoly(z).as_expr())
    s = sp.sqrt(kappa)
    subs = {lr: 1 / (kappa * m), mu: (s - 1) / (s + 1), lam: m}
    at_m = sp.simplify(char.subs(subs))
    disc = sp.simplify(sp.discriminant(at_m, z))
    _require(disc == 0, name, f"a double root at λ = m (discriminant 0), got discriminant {disc}")
    roots = sp.solve(at_m, z)
    root = sp.simplify(roots[0])
    _require(sp.simplify(root - (1 - 1 / s)) == 0, name, f"the double root is 1 − 1/√κ, got {root}")
    rate = sp.lambdify(kappa, root, "numpy")

    def params(m_: float, L_: float) -> tuple[float, float, float]:
        k = L_ / m_
        return 1.0 / L_, float((np.sqrt(k) - 1) / (np.sqrt(k) + 1)), float(rate(k))

    return Derivation(
        name=name,
        statement=f"η = 1/L, μ = (√κ − 1)/(√κ + 1): rate = {root}",
        expr=root,
        symbols=(kappa,),
        func=rate,
        steps=(f"det(zI − M) = {char}", f"at λ = m: {at_m}, discriminant {disc}", f"double root {root}"),
        source="Nesterov (1983); Lessard, Recht & Packard (2016)",
        parts=_parts(params=params),
        tidy=False,
    )


@derivation("rmsprop-constant-gradient")
def rmsprop_constant_gradient() -> Derivation:
    """RMSprop with a constant gradient ``g``: ``s_t = (1 − ρᵗ) g²``, step ``−η g/(√(1 − ρᵗ)|g| + ε)``.

    Steps: unroll ``s ← ρs + (1 − ρ)g²`` from ``s₀ = 0`` as a sum; sympy's
    ``summation`` gives ``(1 − ρᵗ)g²``.

    Numeric: ``func(g, lr, rho, eps, t)`` -> the parameter change at step ``t``
    (also ``parts["step"]``).

    Source: Hinton, Neural Networks for Machine Learning, lecture 6e (2012).
    """
    name = "rmsprop-constant-gradient"
    g = sp.Symbol("g", real=True)
    lr, eps, rho = sp.symbols("eta epsilon rho", positive=True)
    t, i = sp.symbols("t i", integer=True, positive=True)
    s_t = sp.factor(sp.summation((1 - rho) * rho ** (t - i) * g ** 2, (i, 1, t)))
    _require(sp.simplify(s_t - (1 - rho ** t) * g ** 2) == 0, name, f"s_t = (1 − ρᵗ)g², got {s_t}")
    step = -lr * g / (sp.sqrt(s_t) + eps)
    f = sp.lambdify((g, lr, rho, eps, t), step, "numpy")
    # ε inside the root (optax's and Keras' default), g/√(s + ε):
    f_inside = sp.lambdify((g, lr, rho, eps, t), -lr * g / sp.sqrt(s_t + eps), "numpy")

    def step_func(*args: Any) -> np.ndarray:
        return np.asarray(f(*args), dtype=np.float64)

    def step_inside(*args: Any) -> np.ndarray:
        return np.asarray(f_inside(*args), dtype=np.float64)

    return Derivation(
        name=name,
        statement=f"s_t = {s_t}; Δw_t = {step}",
        expr=step,
        symbols=(g, lr, rho, eps, t),
        func=step_func,
        steps=(f"s_t = Σ (1 − ρ)ρ^(t−i) g² = {s_t}",),
        source="Hinton, Neural Networks for Machine Learning, lecture 6e (2012)",
        parts=_parts(step=step_func, step_inside=step_inside),
        tidy=False,
    )


@derivation("decoupled-decay-iterates")
def decoupled_decay_iterates() -> Derivation:
    """Decoupled decay with a constant Adam direction: ``w_(t+1) = (1 − ηλ)w_t + d`` (sympy ``rsolve``).

    With ``g = 0`` AdamW's moments stay 0, ``d = 0`` and ``w_t = w_0 (1 − ηλ)ᵗ``;
    with a constant gradient ``d = −η g/(|g| + ε)`` (bias correction exact).

    Numeric: ``func(w0, lr, wd, d, t)`` (also ``parts["w_affine"]``) and
    ``parts["w"](w0, lr, wd, t)`` (``d = 0``).

    Source: Loshchilov & Hutter, Decoupled Weight Decay Regularization (2019).
    """
    name = "decoupled-decay-iterates"
    w = sp.Function("w")
    t = sp.Symbol("t", integer=True, nonnegative=True)
    lr, wd = sp.symbols("eta lambda", positive=True)
    w0, d = sp.symbols("w0 d", real=True)
    sol = sp.simplify(sp.rsolve(w(t + 1) - w(t) * (1 - lr * wd) - d, w(t), {w(0): w0}))
    for k in range(4):  # the solution satisfies the recurrence and the start
        lhs = sol.subs(t, k + 1) - (1 - lr * wd) * sol.subs(t, k) - d
        _require(sp.simplify(lhs) == 0 and sp.simplify(sol.subs(t, 0) - w0) == 0, name,
                 f"rsolve's {sol} satisfies the recurrence and w(0) = w0")
    zero = sp.simplify(sol.subs(d, 0))
    _require(sp.simplify(zero - w0 * (1 - lr * wd) ** t) == 0, name, f"with d = 0, w_t = w0(1 − ηλ)ᵗ, got {zero}")
    r = 1 - lr * wd
    geometric = w0 * r ** t + d * (1 - r ** t) / (lr * wd)
    _require(sp.simplify(sol - geometric) == 0, name, f"{sol} is w0·rᵗ + d(1 − rᵗ)/(ηλ)")

    # Evaluated in that geometric form with expm1/log1p: (1 − rᵗ)/(ηλ) cancels badly for small ηλ.
    def w_affine(w0_, lr_, wd_, d_, t_):
        p = np.asarray(lr_, dtype=np.float64) * np.asarray(wd_, dtype=np.float64)
        t_ = np.asarray(t_, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_r = np.log1p(-p)
            rt = np.exp(t_ * log_r)
            geom = np.where(p > 0, -np.expm1(t_ * log_r) / np.where(p > 0, p, 1.0), t_)
        return np.asarray(w0_ * rt + d_ * geom, dtype=np.float64)

    return Derivation(
        name=name,
        statement=f"w_t = {zero}",
        expr=sol,
        symbols=(w0, lr, wd, d, t),
        func=w_affine,
        steps=("w_(t+1) = (1 − ηλ)w_t + d", f"rsolve: w_t = {sol}",
               "= w0·(1 − ηλ)ᵗ + d·(1 − (1 − ηλ)ᵗ)/(ηλ)"),
        source="Loshchilov & Hutter, Decoupled Weight Decay Regularization (2019)",
        parts=_parts(w=lambda w0_, lr_, wd_, t_: w_affine(w0_, lr_, wd_, 0.0, t_), w_affine=w_affine),
        tidy=False,
    )
