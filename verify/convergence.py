"""Properties with known answers: closed-loop runs of a target, measured rates, and their theory.

The conformance check feeds the target a fixed gradient stream; here the
target runs *closed loop* on a problem (its own iterates produce its next
gradients), and what is measured — a linear rate, stability, drift on the
mini-batch stream — is compared with what theory predicts. The expected
values come from sympy: :mod:`verify.symbolic` (GD bound and optimal rate,
heavy ball at its optimum, Adam with a constant gradient, the weight-decay
factor) and the derivations below (heavy-ball stability region, Nesterov's
rate at ``η = 1/L``, RMSprop with a constant gradient).

Quadratics here have their minimum at 0, so errors are the iterates
themselves: relative precision holds down to the underflow threshold and a
rate can be measured over hundreds of steps.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy as sp

from verify.problems import Quadratic, random_orthogonal
from verify.results import Figure, Series

__all__ = [
    "diag_quadratic",
    "closed_loop",
    "errors",
    "window_rate",
    "rate_bracket",
    "RateMeasurement",
    "measure_rate",
    "heavy_ball_stability",
    "nesterov_optimal",
    "rmsprop_constant_gradient",
    "decoupled_decay_iterates",
    "drift_ratio",
    "rate_figure",
]

BLOWUP = 1e100


def diag_quadratic(eigenvalues: Sequence[float], seed: int = 0, *, rotate: bool = True) -> Quadratic:
    """``½ wᵀAw`` with the given eigenvalues (exactly; a random rotation unless ``rotate=False``), minimum at 0."""
    eigs = np.asarray(eigenvalues, dtype=np.float64)
    n = eigs.size
    if rotate and n > 1:
        q = random_orthogonal(np.random.default_rng(seed), n)
        a = (q * eigs) @ q.T
        a = (a + a.T) / 2
    else:
        a = np.diag(eigs)
    return Quadratic(a, np.zeros(n), (n,))


def closed_loop(subject: Any, hparams: Mapping[str, Any], grad: Callable[[np.ndarray], np.ndarray],
                w0: np.ndarray, steps: int, *,
                lookahead: float | None = None) -> np.ndarray:
    """The target's iterates ``w_0 … w_T`` when each gradient is taken at its own iterate.

    ``lookahead = μ`` evaluates the gradient at Sutskever's look-ahead point
    ``w_t + μ(w_t − w_(t−1))`` (for a Nesterov target in Sutskever's form).
    Stops early (the rest is ``inf``) once an iterate exceeds 1e100 or is not finite.
    """
    run = subject.make(**dict(hparams))
    run.init(np.array(w0, dtype=np.float64))
    w_prev = w = np.array(w0, dtype=np.float64)
    out = [w]
    for _ in range(int(steps)):
        at = w if lookahead is None else w + lookahead * (w - w_prev)
        g = grad(at)
        w_prev, w = w, run.step(np.asarray(g, dtype=np.float64))
        out.append(w)
        if not np.all(np.isfinite(w)) or np.abs(w).max(initial=0.0) > BLOWUP:
            out.extend([np.full_like(w, np.inf)] * (int(steps) + 1 - len(out)))
            break
    return np.array(out)


def errors(traj: np.ndarray, w_star: np.ndarray | float = 0.0) -> np.ndarray:
    """``‖w_t − w*‖`` for each step."""
    d = traj.reshape(traj.shape[0], -1) - np.ravel(w_star)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.linalg.norm(d, axis=1)


def window_rate(err: np.ndarray, start: int, end: int) -> float:
    """Average contraction per step between ``start`` and ``end``: ``(e_end/e_start)^(1/(end − start))``."""
    a, b = float(err[start]), float(err[end])
    if not (np.isfinite(a) and np.isfinite(b)) or a <= 0:
        return float("inf") if not np.isfinite(b) else float("nan")
    if b == 0:
        return 0.0
    return float((b / a) ** (1.0 / (end - start)))


def rate_bracket(rate: float, start: int, end: int, *, jordan: bool, slack: float) -> tuple[float, float]:
    """Where a measured window rate may lie when the spectral radius is ``rate``.

    With a double eigenvalue (``jordan``) the error behaves like ``(a + bt)·rateᵗ``,
    so the window estimate exceeds ``rate`` by up to ``((1 + end)/(1 + start))^(1/(end − start))``.
    ``slack`` is a relative allowance for the finite window.
    """
    upper = rate * (((1.0 + end) / (1.0 + start)) ** (1.0 / (end - start)) if jordan else 1.0)
    return rate * (1 - slack), upper * (1 + slack)


@dataclasses.dataclass
class RateMeasurement:
    """A measured linear rate against its theoretical bracket."""

    measured: float
    theory: float
    low: float
    high: float
    err: np.ndarray
    window: tuple[int, int]

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.measured) and self.low <= self.measured <= self.high)


def measure_rate(err: np.ndarray, theory: float, *, start: int, end: int, jordan: bool,
                 slack: float = 1e-3) -> RateMeasurement:
    lo, hi = rate_bracket(theory, start, end, jordan=jordan, slack=slack)
    return RateMeasurement(window_rate(err, start, end), theory, lo, hi, err, (start, end))


def rate_figure(title: str, curves: Mapping[str, np.ndarray], theory: float | None = None,
                err0: float = 1.0, label: str = "theory: rateᵗ") -> Figure:
    """‖w_t − w*‖ against t (log scale), with the theoretical ``rateᵗ`` line."""
    series = []
    for name, e in curves.items():
        t = np.arange(e.size, dtype=float)
        keep = np.isfinite(e) & (e > 0)
        series.append(Series(name, t[keep].tolist(), e[keep].tolist()))
    if theory is not None:
        n = max(e.size for e in curves.values())
        t = np.arange(n, dtype=float)
        with np.errstate(under="ignore"):
            line = err0 * theory ** t
        keep = line > 1e-300
        series.append(Series(label, t[keep].tolist(), line[keep].tolist(), style="dashed"))
    return Figure(title, "step t", "‖w_t − w*‖", series, yscale="log")


def drift_ratio(traj: np.ndarray) -> float:
    """``|w_T − w_0| / Σ|Δw_t|`` (per entry, the largest): 0 = stays put, 1 = moves one way."""
    steps = np.abs(np.diff(traj, axis=0)).sum(axis=0)
    net = np.abs(traj[-1] - traj[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(steps > 0, net / steps, 0.0)
    return float(np.max(r))


# ------------------------------------------------------------------ sympy


@dataclasses.dataclass(frozen=True)
class Derived:
    """A small sympy derivation: a statement and numeric functions."""

    statement: str
    steps: tuple[str, ...]
    funcs: Mapping[str, Callable[..., Any]]


@functools.lru_cache(maxsize=None)
def heavy_ball_stability() -> Derived:
    """Heavy ball on an eigen-direction λ is stable iff ``0 < ηλ < 2(1 + μ)`` (for ``0 ≤ μ < 1``).

    Steps: the iteration matrix ``[[1 + μ − ηλ, −μ], [1, 0]]`` has characteristic
    polynomial ``p(z) = z² − (1 + μ − ηλ)z + μ``; by the Jury (Schur–Cohn)
    conditions for a monic quadratic, both roots lie inside the unit circle iff
    ``p(1) > 0``, ``p(−1) > 0`` and ``|μ| < 1``; sympy solves ``p(−1) > 0`` for ``η``.

    ``funcs["max_lr"](L, mu) -> 2(1 + μ)/L``.
    """
    z, lr, lam, mu = sp.symbols("z eta lambda mu", positive=True)
    p = z ** 2 - (1 + mu - lr * lam) * z + mu
    at_one = sp.simplify(p.subs(z, 1))          # = ηλ > 0 always
    at_minus = sp.simplify(p.subs(z, -1))
    sol = sp.solve(sp.Eq(at_minus, 0), lr)
    if len(sol) != 1:
        raise RuntimeError(f"heavy-ball stability: expected one boundary, got {sol}")
    bound = sp.simplify(sol[0])
    if sp.simplify(at_one - lr * lam) != 0:
        raise RuntimeError(f"heavy-ball stability: p(1) = {at_one}, expected ηλ")
    f = sp.lambdify((lam, mu), bound, "numpy")
    return Derived(f"stable ⇔ 0 < η < {bound} (p(1) = {at_one} > 0, p(−1) = {at_minus} > 0)",
                   (f"p(z) = {p}", f"p(1) = {at_one}", f"p(−1) = {at_minus} > 0 ⇔ η < {bound}"),
                   {"max_lr": lambda L, m: float(f(L, m))})


@functools.lru_cache(maxsize=None)
def nesterov_optimal() -> Derived:
    """Nesterov with ``η = 1/L``, ``μ = (√κ − 1)/(√κ + 1)`` on eigenvalues in ``[m, L]``: rate ``1 − 1/√κ``.

    Steps: on eigen-direction λ the PyTorch-form iteration ``(p, b)`` has
    matrix ``[[1 − ηλ(1 + μ), −ημ²], [λ, μ]]``; sympy's characteristic
    polynomial is ``z² − (1 + μ)(1 − ηλ)z + μ(1 − ηλ)``. At ``λ = m`` with the
    parameters above its discriminant simplifies to 0: a double root, which
    simplifies to ``1 − 1/√κ``; at ``λ = L`` both roots are 0, and in between
    the modulus ``√(μ(1 − ηλ))`` is smaller.

    ``funcs["params"](m, L) -> (lr, mu, rate)``.
    """
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
    if disc != 0:
        raise RuntimeError(f"nesterov rate: discriminant at λ = m is {disc}, expected 0")
    roots = sp.solve(at_m, z)
    root = sp.simplify(roots[0])
    target = 1 - 1 / s
    if sp.simplify(root - target) != 0:
        raise RuntimeError(f"nesterov rate: double root {root}, expected {target}")
    rate = sp.lambdify(kappa, root, "numpy")

    def params(m_: float, L_: float) -> tuple[float, float, float]:
        k = L_ / m_
        return 1.0 / L_, float((np.sqrt(k) - 1) / (np.sqrt(k) + 1)), float(rate(k))

    return Derived(f"η = 1/L, μ = (√κ − 1)/(√κ + 1): rate = {root}",
                   (f"det(zI − M) = {char}", f"at λ = m: {at_m}, discriminant {disc}", f"double root {root}"),
                   {"params": params})


@functools.lru_cache(maxsize=None)
def rmsprop_constant_gradient() -> Derived:
    """RMSprop with a constant gradient ``g``: ``s_t = (1 − ρᵗ) g²``, step ``−η g/(√(1 − ρᵗ)|g| + ε)``.

    Steps: unroll ``s ← ρs + (1 − ρ)g²`` from ``s₀ = 0`` as a sum; sympy's
    ``summation`` gives ``(1 − ρᵗ)g²``.

    ``funcs["step"](g, lr, rho, eps, t)`` -> the parameter change at step ``t``.
    """
    g = sp.Symbol("g", real=True)
    lr, eps, rho = sp.symbols("eta epsilon rho", positive=True)
    t, i = sp.symbols("t i", integer=True, positive=True)
    s_t = sp.factor(sp.summation((1 - rho) * rho ** (t - i) * g ** 2, (i, 1, t)))
    if sp.simplify(s_t - (1 - rho ** t) * g ** 2) != 0:
        raise RuntimeError(f"rmsprop constant gradient: s_t = {s_t}")
    step = -lr * g / (sp.sqrt(s_t) + eps)
    f = sp.lambdify((g, lr, rho, eps, t), step, "numpy")
    return Derived(f"s_t = {s_t}; Δw_t = {step}", (f"s_t = Σ (1 − ρ)ρ^(t−i) g² = {s_t}",),
                   {"step": lambda *a: np.asarray(f(*a), dtype=np.float64)})


@functools.lru_cache(maxsize=None)
def decoupled_decay_iterates() -> Derived:
    """Decoupled decay with a constant Adam direction: ``w_(t+1) = (1 − ηλ)w_t + d`` (sympy ``rsolve``).

    With ``g = 0`` AdamW's moments stay 0, ``d = 0`` and ``w_t = w_0 (1 − ηλ)ᵗ``;
    with a constant gradient ``d = −η g/(|g| + ε)`` (bias correction exact).

    ``funcs["w"](w0, lr, wd, t)`` (``d = 0``) and ``funcs["w_affine"](w0, lr, wd, d, t)``.
    """
    w = sp.Function("w")
    t = sp.Symbol("t", integer=True, nonnegative=True)
    lr, wd = sp.symbols("eta lambda", positive=True)
    w0, d = sp.symbols("w0 d", real=True)
    sol = sp.simplify(sp.rsolve(w(t + 1) - w(t) * (1 - lr * wd) - d, w(t), {w(0): w0}))
    for k in range(4):  # the solution satisfies the recurrence and the start
        lhs = sol.subs(t, k + 1) - (1 - lr * wd) * sol.subs(t, k) - d
        if sp.simplify(lhs) != 0 or sp.simplify(sol.subs(t, 0) - w0) != 0:
            raise RuntimeError(f"decoupled decay: rsolve gave {sol}")
    zero = sp.simplify(sol.subs(d, 0))
    if sp.simplify(zero - w0 * (1 - lr * wd) ** t) != 0:
        raise RuntimeError(f"decoupled decay: with d = 0 got {zero}")
    r = 1 - lr * wd
    geometric = w0 * r ** t + d * (1 - r ** t) / (lr * wd)
    if sp.simplify(sol - geometric) != 0:
        raise RuntimeError(f"decoupled decay: {sol} is not w0·rᵗ + d(1 − rᵗ)/(ηλ)")

    # Evaluated in that geometric form with expm1/log1p: (1 − rᵗ)/(ηλ) cancels badly for small ηλ.
    def w_affine(w0_, lr_, wd_, d_, t_):
        p = np.asarray(lr_, dtype=np.float64) * np.asarray(wd_, dtype=np.float64)
        t_ = np.asarray(t_, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_r = np.log1p(-p)
            rt = np.exp(t_ * log_r)
            geom = np.where(p > 0, -np.expm1(t_ * log_r) / np.where(p > 0, p, 1.0), t_)
        return np.asarray(w0_ * rt + d_ * geom, dtype=np.float64)

    return Derived(f"w_t = {zero}", ("w_(t+1) = (1 − ηλ)w_t + d", f"rsolve: w_t = {sol}",
                                     "= w0·(1 − ηλ)ᵗ + d·(1 − (1 − ηλ)ᵗ)/(ηλ)"),
                   {"w": lambda w0_, lr_, wd_, t_: w_affine(w0_, lr_, wd_, 0.0, t_), "w_affine": w_affine})
