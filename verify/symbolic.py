"""Symbolic derivations of the spec's formulas, turned into numbers.

Each public function derives one formula of ``shared/FORMULAS.md`` with sympy
(``diff``, ``solve``, ``reduce_inequalities``, ``integrate``, ``summation``,
``series``) — never by writing the final formula down — checks inside the
derivation that sympy's result has the property the derivation claims, and
returns a :class:`Derivation`: the sympy result, the derivation's steps as
text, and a numpy function (``sympy.lambdify``) of the result, so it can be
compared with ``reference`` or with a target at any numeric point.

These derivations are the *independent* source of expected values: the
statistical checks take their constants (initialisation scales, the
truncated-normal correction, kurtoses, convergence rates) from here, not from
``reference``.

Nothing is derived at import time: sympy is slow, so every derivation runs on
first use and is cached (``functools.lru_cache``). :data:`ALL` maps every
derivation's name to the function that produces it.

If sympy ever returns something other than what a derivation claims, the
derivation raises :class:`DerivationError` naming the step that failed.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy as sp

from verify.errors import VerifyError

__all__ = [
    "Derivation",
    "DerivationError",
    "ALL",
    "derivations",
    "get",
    # regularisation
    "l2_gradient",
    "l2_sgd_step",
    "weight_decay_factor",
    "weight_decay_bound",
    "l1_derivative",
    "l1_subgradient_at_zero",
    # Newton
    "newton_step_1d",
    "newton_step_nd",
    "newton_exact_on_quadratic",
    "newton_quadratic_convergence",
    # initialisation
    "lecun_std",
    "relu_second_moment",
    "he_std",
    "xavier_std",
    "uniform_bound",
    "truncated_normal_std",
    "excess_kurtosis",
    "KURTOSIS_DISTRIBUTIONS",
    # batch norm
    "batchnorm_backward",
    "batchnorm_output_variance",
    "biased_variance_expectation",
    # optimizers
    "momentum_iterates",
    "nesterov_iterates",
    "adam_constant_gradient",
    "gd_stability_bound",
    "gd_optimal_rate",
    "heavy_ball_optimal",
]


class DerivationError(VerifyError):
    """sympy's result does not have the property the derivation claims."""


@dataclasses.dataclass(frozen=True)
class Derivation:
    """One formula derived by sympy, with its numeric form.

    Attributes:
      name: identifier, e.g. ``"l2-gradient"`` (the key in :data:`ALL`).
      statement: the result in one human-readable line.
      expr: sympy's result (an expression, a tuple of them, a set or a
        relation).
      symbols: the sympy symbols that are ``func``'s arguments, in order. Where
        ``func`` takes arrays (batch norm, n-D Newton) these are the flattened
        entries, in the order the docstring of the producing function gives.
      func: numpy function of the result; its signature is documented by the
        function that produced the derivation.
      steps: the derivation's main steps, as short text for reports.
      source: paper or notes the formula comes from.
      parts: further numeric functions of the same derivation (e.g. each of
        the two momentum forms), by name.
    """

    name: str
    statement: str
    expr: Any
    symbols: tuple[sp.Symbol, ...]
    func: Callable[..., Any]
    steps: tuple[str, ...]
    source: str
    parts: Mapping[str, Callable[..., Any]] = dataclasses.field(
        default_factory=lambda: MappingProxyType({}), compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "statement", readable(self.statement))

    def __call__(self, *args: Any) -> Any:
        return self.func(*args)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (no callables)."""
        return {
            "name": self.name,
            "statement": self.statement,
            "expr": _expr_text(self.expr),
            "symbols": [str(s) for s in self.symbols],
            "steps": list(self.steps),
            "source": self.source,
            "parts": sorted(self.parts),
        }


# ------------------------------------------------------------------ helpers


_SUPERSCRIPTS = str.maketrans("0123456789t", "⁰¹²³⁴⁵⁶⁷⁸⁹ᵗ")


def readable(text: str) -> str:
    """sympy's plain printing made readable: ``2*w*λ`` → ``2·w·λ``, ``σ**2`` → ``σ²``, ``sqrt(N)`` → ``√N``.

    Applied to every statement; hand-written text passes through unchanged.

    >>> readable("1/sqrt(N) + σ**2*(β1**t - 1) in Interval(-1, 1)")
    '1/√N + σ²·(β1ᵗ - 1) in [-1, 1]'
    """
    text = re.sub(r"Interval\(([^(),]+), ([^(),]+)\)", r"[\1, \2]", text)
    text = re.sub(r"\*\*([0-9]+|t)\b", lambda m: m.group(1).translate(_SUPERSCRIPTS), text)
    text = re.sub(r"sqrt\(([\w.]+)\)", r"√\1", text)
    text = text.replace("sqrt(", "√(").replace("**", "^")
    # A product sign sits between operands; a starred name (w*, η*) keeps its star.
    return re.sub(r"(?<=[\w)²³ᵗ])\*(?=[\w(√-])", "·", text)


def _expr_text(expr: Any) -> str:
    if isinstance(expr, (tuple, list)):
        return "(" + ", ".join(_expr_text(e) for e in expr) + ")"
    return str(expr)


def _require(condition: Any, name: str, what: str) -> None:
    """Raise :class:`DerivationError` unless ``condition`` is (sympy-)true."""
    if condition is not True and condition != sp.true:
        raise DerivationError(f"derivation {name!r}: sympy's result fails the check: {what}")


def _is_zero(expr: sp.Expr) -> bool:
    """Exact zero test, cheapest first (expand, cancel, simplify)."""
    expr = sp.sympify(expr)
    for simplifier in (sp.expand, sp.cancel, sp.simplify):
        if simplifier(expr) == 0:
            return True
    return False


def _finish(out: Any, shape: tuple[int, ...]) -> Any:
    """Broadcast a lambdified result to the inputs' shape; 0-d becomes a scalar."""
    if isinstance(out, (tuple, list)):
        return tuple(_finish(o, shape) for o in out)
    arr = np.asarray(out)
    if arr.dtype == object:
        arr = arr.astype(np.float64)
    arr = np.array(np.broadcast_to(arr, np.broadcast_shapes(arr.shape, shape)))
    return arr[()] if arr.ndim == 0 else arr


def _numeric(symbols: Sequence[sp.Symbol], expr: Any, *, cse: bool = False) -> Callable[..., Any]:
    """Elementwise numpy function of ``expr``; outputs broadcast to the inputs' shape."""
    f = sp.lambdify(list(symbols), expr, modules="numpy", cse=cse)

    def func(*args: Any) -> Any:
        if len(args) != len(symbols):
            raise TypeError(f"expected {len(symbols)} arguments ({', '.join(map(str, symbols))}), got {len(args)}")
        arrs = [np.asarray(a, dtype=np.float64) for a in args]
        shape = np.broadcast_shapes(*(a.shape for a in arrs)) if arrs else ()
        with np.errstate(divide="ignore", invalid="ignore"):
            return _finish(f(*arrs), shape)

    return func


def _positive_root(solutions: Sequence[sp.Expr], name: str) -> sp.Expr:
    """The one positive solution of an equation (scales are positive)."""
    positive = [s for s in solutions if s.is_positive]
    _require(len(positive) == 1, name, f"exactly one positive solution among {solutions}")
    return positive[0]


def _inside_range(expr: sp.Expr, index: sp.Symbol, upper: sp.Symbol) -> sp.Expr:
    """``expr`` for ``index ≤ upper``: resolves sympy's ``Piecewise`` on that condition.

    Each condition is decided with ``upper = index + k``, ``k ≥ 0``; the first
    branch whose condition is then true is returned.
    """
    k = sp.Symbol("k_extra", integer=True, nonnegative=True)
    pw = sp.piecewise_fold(expr)
    if not isinstance(pw, sp.Piecewise):
        return pw
    for branch, cond in pw.args:
        decided = cond.subs(upper, index + k)
        if decided == sp.true:
            return branch
    raise DerivationError(f"could not resolve {expr} for {index} ≤ {upper}")


def _open_interval(solution: sp.Basic, var: sp.Symbol, name: str) -> tuple[sp.Expr, sp.Expr]:
    """``(lo, hi)`` from ``reduce_inequalities``' ``(lo < var) & (var < hi)``."""
    lo = hi = None
    relations = solution.args if isinstance(solution, sp.And) else (solution,)
    for rel in relations:
        if isinstance(rel, sp.StrictLessThan) and rel.rhs == var and not rel.lhs.has(var):
            lo = rel.lhs
        elif isinstance(rel, sp.StrictLessThan) and rel.lhs == var and not rel.rhs.has(var):
            hi = rel.rhs
        elif isinstance(rel, sp.StrictGreaterThan) and rel.lhs == var and not rel.rhs.has(var):
            lo = rel.rhs
        elif isinstance(rel, sp.StrictGreaterThan) and rel.rhs == var and not rel.lhs.has(var):
            hi = rel.lhs
        else:
            raise DerivationError(f"derivation {name!r}: unexpected condition {rel} in {solution}")
    _require(lo is not None and hi is not None and len(relations) == 2, name,
             f"an open interval lo < {var} < hi, got {solution}")
    return lo, hi


def _parts(**funcs: Callable[..., Any]) -> Mapping[str, Callable[..., Any]]:
    return MappingProxyType(dict(funcs))


# ------------------------------------------------------------ regularisation


@functools.lru_cache(maxsize=None)
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


@functools.lru_cache(maxsize=None)
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


@functools.lru_cache(maxsize=None)
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


@functools.lru_cache(maxsize=None)
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


@functools.lru_cache(maxsize=None)
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


@functools.lru_cache(maxsize=None)
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


# ------------------------------------------------------------------- Newton


@functools.lru_cache(maxsize=None)
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


def _vector(prefix: str, n: int) -> list[sp.Symbol]:
    return [sp.Symbol(f"{prefix}_{i}", real=True) for i in range(n)]


def _random_rational_point(symbols: Sequence[sp.Symbol], seed: int) -> dict[sp.Symbol, sp.Rational]:
    rng = np.random.default_rng(seed)
    return {s: sp.Rational(int(rng.integers(1, 19)), int(rng.integers(1, 7))) for s in symbols}


def _upper(h: np.ndarray, n: int) -> list[np.ndarray]:
    return [h[..., i, j] for i in range(n) for j in range(i, n)]


@functools.lru_cache(maxsize=None)
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


@functools.lru_cache(maxsize=None)
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


@functools.lru_cache(maxsize=None)
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


# ------------------------------------------------------------ initialisation


@functools.lru_cache(maxsize=None)
def lecun_std() -> Derivation:
    """``Var(Σ_{i≤N} x_i w_i) = Nσ²`` for ``x_i = 1``; ``= 1`` gives ``σ = 1/√N``.

    Steps: ``E[(Σ x_i w_i)²] = Σ_i Σ_j x_i x_j E[w_i w_j]`` with
    ``E[w_i w_j] = σ² δ_ij`` (independent, mean 0); ``summation`` with
    ``x_i = 1`` gives ``Nσ²``; ``solve(Nσ² = 1)`` for ``σ > 0``.

    Numeric: ``func(fan_in) -> 1/√fan_in``.

    Source: FORMULAS.md §3; the notes, "Inicialización de pesos"; LeCun et
    al., *Efficient BackProp* (1998).
    """
    name = "lecun-std"
    i, j = sp.symbols("i j", integer=True, positive=True)
    big_n = sp.Symbol("N", integer=True, positive=True)
    sigma = sp.Symbol("σ", positive=True)
    # E[w_i w_j] = σ² δ_ij (independent, mean 0) and x_i = 1.
    inner = _inside_range(sp.summation(sigma ** 2 * sp.KroneckerDelta(i, j), (j, 1, big_n)), i, big_n)
    variance = sp.simplify(sp.summation(inner, (i, 1, big_n)))
    _require(_is_zero(variance - big_n * sigma ** 2), name, f"Var = Nσ², got {variance}")
    std = _positive_root(sp.solve(sp.Eq(variance, 1), sigma), name)
    return Derivation(
        name=name,
        statement=f"Var(Σ_(i≤N) w_i) = {variance} = 1 ⇒ σ = {std}",
        expr=std,
        symbols=(big_n,),
        func=_numeric((big_n,), std),
        steps=(
            "x_i = 1, w_i ~ N(0, σ) independent: E[w_i w_j] = σ² δ_ij",
            f"Var(z) = Σ_i Σ_j x_i x_j E[w_i w_j] = Σ_(i=1..N) σ² = {variance}",
            f"solve({variance} = 1, σ > 0): σ = {std}",
        ),
        source="FORMULAS.md §3; the notes, 'Inicialización de pesos'; LeCun et al. (1998)",
    )


@functools.lru_cache(maxsize=None)
def relu_second_moment() -> Derivation:
    """``E[relu(z)²] = σ²/2`` for ``z ~ N(0, σ)``.

    Steps: ``∫_0^∞ z² φ_σ(z) dz`` (the negative half contributes 0).

    Numeric: ``func(sigma) -> sigma²/2``.

    Source: He et al., *Delving Deep into Rectifiers* (ICCV 2015), §2.2.
    """
    name = "relu-second-moment"
    z = sp.Symbol("z", real=True)
    sigma = sp.Symbol("σ", positive=True)
    density = sp.exp(-z ** 2 / (2 * sigma ** 2)) / sp.sqrt(2 * sp.pi * sigma ** 2)
    _require(sp.simplify(sp.integrate(density, (z, -sp.oo, sp.oo))) == 1, name, "the density integrates to 1")
    moment = sp.simplify(sp.integrate(z ** 2 * density, (z, 0, sp.oo)))
    _require(_is_zero(sp.simplify(moment / sigma ** 2) - moment.subs(sigma, 1)), name, "the moment is ∝ σ²")
    return Derivation(
        name=name,
        statement=f"E[relu(z)²] = {moment} for z ~ N(0, σ)",
        expr=moment,
        symbols=(sigma,),
        func=_numeric((sigma,), moment),
        steps=(
            "relu(z)² = z² for z > 0, 0 otherwise",
            f"E[relu(z)²] = ∫_0^∞ z² φ_σ(z) dz = {moment}",
        ),
        source="He, Zhang, Ren & Sun, Delving Deep into Rectifiers (ICCV 2015), §2.2",
    )


@functools.lru_cache(maxsize=None)
def he_std() -> Derivation:
    """He/Kaiming: ``N σ_w² E[relu(z)²]/σ_z² = 1`` gives ``σ_w = √(2/N)``.

    Steps: ``Var(y_l) = N σ_w² E[x_l²]`` with ``x_l = relu(y_{l−1})`` and
    ``E[x_l²] = Var(y_{l−1})/2`` (:func:`relu_second_moment`); requiring
    ``Var(y_l) = Var(y_{l−1})`` and solving for ``σ_w > 0``. The factor
    ``2 = σ²/E[relu(z)²]`` is what separates He from LeCun.

    Numeric: ``func(fan_in) -> √(2/fan_in)``.

    Source: FORMULAS.md §3; He et al. (ICCV 2015), eq. 10.
    """
    name = "he-std"
    moment = relu_second_moment()
    (sigma_z,) = moment.symbols
    big_n = sp.Symbol("N", integer=True, positive=True)
    sigma_w = sp.Symbol("σ_w", positive=True)
    factor = sp.simplify(sigma_z ** 2 / moment.expr)
    var_next = big_n * sigma_w ** 2 * moment.expr
    std = _positive_root(sp.solve(sp.Eq(var_next, sigma_z ** 2), sigma_w), name)
    (lecun_n,) = lecun_std().symbols
    _require(_is_zero(sp.simplify((std / lecun_std().expr.subs(lecun_n, big_n)) ** 2) - factor),
             name, f"(He/LeCun)² equals ReLU's factor {factor}")
    return Derivation(
        name=name,
        statement=f"N σ_w² E[relu(z)²] = σ_z² ⇒ σ_w = {std} (factor {factor} over LeCun)",
        expr=std,
        symbols=(big_n,),
        func=_numeric((big_n,), std),
        steps=(
            "Var(y_l) = N σ_w² E[x_l²], x_l = relu(y_(l−1))",
            f"E[x_l²] = {moment.expr} with σ² = Var(y_(l−1))",
            f"solve(N σ_w² {moment.expr} = σ², σ_w > 0): σ_w = {std}",
            f"factor over LeCun: σ²/E[relu(z)²] = {factor}",
        ),
        source="FORMULAS.md §3; He et al., Delving Deep into Rectifiers (ICCV 2015), eq. 10",
    )


@functools.lru_cache(maxsize=None)
def xavier_std() -> Derivation:
    """Glorot/Xavier: ``σ² = 2/(fan_in + fan_out)``.

    Steps: the forward condition ``fan_in σ² = 1`` and the backward condition
    ``fan_out σ² = 1`` are solved separately; they cannot both hold, and the
    compromise is their harmonic mean (Glorot & Bengio eq. 12,
    ``Var = 2/(n_j + n_{j+1})``).

    Numeric: ``func(fan_in, fan_out) -> √(2/(fan_in + fan_out))``.

    Source: FORMULAS.md §3; Glorot & Bengio (AISTATS 2010), eqs. 10–12.
    """
    name = "xavier-std"
    fan_in, fan_out = sp.symbols("fan_in fan_out", positive=True)
    var = sp.Symbol("v", positive=True)
    (v_fwd,) = sp.solve(sp.Eq(fan_in * var, 1), var)
    (v_bwd,) = sp.solve(sp.Eq(fan_out * var, 1), var)
    v_comp = sp.simplify(2 / (1 / v_fwd + 1 / v_bwd))
    sigma = sp.Symbol("σ", positive=True)
    std = _positive_root(sp.solve(sp.Eq(sigma ** 2, v_comp), sigma), name)
    _require(_is_zero(v_comp.subs(fan_out, fan_in) - v_fwd), name, "reduces to LeCun when fan_in = fan_out")
    return Derivation(
        name=name,
        statement=f"σ² = {v_comp}, σ = {std}",
        expr=std,
        symbols=(fan_in, fan_out),
        func=_numeric((fan_in, fan_out), std),
        steps=(
            f"forward: fan_in σ² = 1 ⇒ σ² = {v_fwd}",
            f"backward: fan_out σ² = 1 ⇒ σ² = {v_bwd}",
            f"compromise (harmonic mean, Glorot & Bengio eq. 12): σ² = {v_comp}",
        ),
        source="FORMULAS.md §3; Glorot & Bengio (AISTATS 2010), eq. 12",
    )


@functools.lru_cache(maxsize=None)
def uniform_bound() -> Derivation:
    """``Var U(−a, a) = a²/3``, so variance ``σ²`` needs ``a = √3 σ``.

    Steps: ``∫_{−a}^{a} x/(2a) dx = 0`` and ``∫_{−a}^{a} x²/(2a) dx = a²/3``;
    ``solve(a²/3 = σ²)`` for ``a > 0``.

    Numeric: ``func(sigma) -> √3·sigma``.

    Source: FORMULAS.md §3; Glorot & Bengio (2010), eq. 16.
    """
    name = "uniform-bound"
    x = sp.Symbol("x", real=True)
    a, sigma = sp.symbols("a σ", positive=True)
    mean = sp.integrate(x / (2 * a), (x, -a, a))
    _require(mean == 0, name, "U(−a, a) has mean 0")
    var = sp.simplify(sp.integrate(x ** 2 / (2 * a), (x, -a, a)))
    bound = _positive_root(sp.solve(sp.Eq(var, sigma ** 2), a), name)
    return Derivation(
        name=name,
        statement=f"Var U(−a, a) = {var} = σ² ⇒ a = {bound}",
        expr=bound,
        symbols=(sigma,),
        func=_numeric((sigma,), bound),
        steps=(
            f"E[x] = ∫ x/(2a) dx = {mean}",
            f"Var = ∫_(−a)^a x²/(2a) dx = {var}",
            f"solve({var} = σ², a > 0): a = {bound}",
        ),
        source="FORMULAS.md §3; Glorot & Bengio (AISTATS 2010), eq. 16",
    )


@functools.lru_cache(maxsize=None)
def _truncated_normal_moments(bound: int) -> tuple[sp.Expr, sp.Expr]:
    """Second and fourth moments of N(0, 1) truncated to [−bound, bound] (closed form)."""
    x = sp.Symbol("x", real=True)
    kernel = sp.exp(-x ** 2 / 2)
    mass = sp.integrate(kernel, (x, -bound, bound))
    m2 = sp.simplify(sp.integrate(x ** 2 * kernel, (x, -bound, bound)) / mass)
    m4 = sp.simplify(sp.integrate(x ** 4 * kernel, (x, -bound, bound)) / mass)
    return m2, m4


@functools.lru_cache(maxsize=None)
def truncated_normal_std() -> Derivation:
    """Standard deviation of N(0, 1) truncated to [−2, 2]: ``0.87962566103423978…``.

    Steps: ``Z = ∫_{−2}^{2} e^{−x²/2} dx`` and ``∫ x² e^{−x²/2} dx`` in
    closed form (erf and exp); ``√(m2)`` evaluated to 30 digits. Truncated
    initialisers divide σ by it to keep the variance σ².

    Numeric: ``func() -> 0.8796256610342397…`` (a float).

    Source: FORMULAS.md §3; Keras/TF ``variance_scaling`` (truncated normal).
    """
    name = "truncated-normal-std"
    m2, _ = _truncated_normal_moments(2)
    std = sp.sqrt(m2)
    _require(m2.has(sp.erf), name, f"a closed form in erf, got {m2}")
    value = float(std.evalf(30))
    _require(0.0 < value < 1.0, name, f"truncation lowers the std below 1, got {value}")
    return Derivation(
        name=name,
        statement=f"std N(0,1)|[−2,2] = √({m2}) = {sp.N(std, 20)}",
        expr=std,
        symbols=(),
        func=lambda: value,
        steps=(
            "Z = ∫_(−2)^2 e^(−x²/2) dx",
            f"m2 = ∫_(−2)^2 x² e^(−x²/2) dx / Z = {m2}",
            f"std = √m2 = {sp.N(std, 20)}",
        ),
        source="FORMULAS.md §3; Keras/TensorFlow variance_scaling (truncated normal)",
    )


KURTOSIS_DISTRIBUTIONS = ("uniform", "truncated", "normal")


@functools.lru_cache(maxsize=None)
def excess_kurtosis(distribution: str = "uniform") -> Derivation:
    """Excess kurtosis ``E[x⁴]/E[x²]² − 3`` of a zero-mean distribution.

    * ``"uniform"``: ``U(−a, a)``, integrated with symbolic ``a``: ``−6/5``
      (independent of ``a``);
    * ``"truncated"``: N(0, 1) truncated to [−2, 2] (the truncated
      initialisers' shape; scale-free): closed form in erf, ≈ −0.6345;
    * ``"normal"``: N(0, σ): 0.

    The variance tests use it: ``Var(s²) = σ⁴ (2/(n−1) + κ/n)`` for a sample
    of ``n`` values with excess kurtosis ``κ``.

    Numeric: ``func() -> float``.

    Source: FORMULAS.md §3 (the initialisers' distributions).
    """
    if distribution not in KURTOSIS_DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {KURTOSIS_DISTRIBUTIONS}, got {distribution!r}")
    x = sp.Symbol("x", real=True)
    label = {"uniform": "uniform", "truncated": "truncated-normal", "normal": "normal"}[distribution]
    name = f"excess-kurtosis-{label}"
    if distribution == "uniform":
        a = sp.Symbol("a", positive=True)
        m2 = sp.integrate(x ** 2 / (2 * a), (x, -a, a))
        m4 = sp.integrate(x ** 4 / (2 * a), (x, -a, a))
        what = "U(−a, a)"
    elif distribution == "normal":
        s = sp.Symbol("σ", positive=True)
        density = sp.exp(-x ** 2 / (2 * s ** 2)) / sp.sqrt(2 * sp.pi * s ** 2)
        m2 = sp.integrate(x ** 2 * density, (x, -sp.oo, sp.oo))
        m4 = sp.integrate(x ** 4 * density, (x, -sp.oo, sp.oo))
        what = "N(0, σ)"
    else:
        m2, m4 = _truncated_normal_moments(2)
        what = "N(0, 1) truncated to [−2, 2]"
    kurt = sp.simplify(m4 / m2 ** 2 - 3)
    _require(not kurt.free_symbols, name, f"scale-free, got {kurt}")
    value = float(kurt.evalf(30))
    return Derivation(
        name=name,
        statement=f"excess kurtosis of {what} = {kurt if kurt.is_Rational else sp.N(kurt, 15)}",
        expr=kurt,
        symbols=(),
        func=lambda: value,
        steps=(f"E[x²] = {m2}", f"E[x⁴] = {m4}", f"E[x⁴]/E[x²]² − 3 = {kurt}"),
        source="FORMULAS.md §3 (initialiser distributions)",
    )


# ---------------------------------------------------------------- batch norm


@functools.lru_cache(maxsize=None)
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


@functools.lru_cache(maxsize=None)
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


@functools.lru_cache(maxsize=None)
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


# --------------------------------------------------------------- optimizers


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


@functools.lru_cache(maxsize=None)
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


@functools.lru_cache(maxsize=None)
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


@functools.lru_cache(maxsize=None)
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
        parts=_parts(m_hat=_numeric((g, b1, t), m_hat), step=_numeric((g, lr, b1, b2, eps, t), step)),
    )


@functools.lru_cache(maxsize=None)
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


@functools.lru_cache(maxsize=None)
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


@functools.lru_cache(maxsize=None)
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


# ------------------------------------------------------------------ registry

#: Every derivation, by name (the :attr:`Derivation.name` it produces).
ALL: Mapping[str, Callable[[], Derivation]] = MappingProxyType({
    "l2-gradient": l2_gradient,
    "l2-sgd-step": l2_sgd_step,
    "weight-decay-factor": weight_decay_factor,
    "weight-decay-bound": weight_decay_bound,
    "l1-derivative": l1_derivative,
    "l1-subgradient-at-zero": l1_subgradient_at_zero,
    "newton-step-1d": newton_step_1d,
    "newton-step-nd": newton_step_nd,
    "newton-exact-on-quadratic": newton_exact_on_quadratic,
    "newton-exact-on-quadratic-2d": functools.partial(newton_exact_on_quadratic, 2),
    "newton-quadratic-convergence": newton_quadratic_convergence,
    "lecun-std": lecun_std,
    "relu-second-moment": relu_second_moment,
    "he-std": he_std,
    "xavier-std": xavier_std,
    "uniform-bound": uniform_bound,
    "truncated-normal-std": truncated_normal_std,
    "excess-kurtosis-uniform": functools.partial(excess_kurtosis, "uniform"),
    "excess-kurtosis-truncated-normal": functools.partial(excess_kurtosis, "truncated"),
    "excess-kurtosis-normal": functools.partial(excess_kurtosis, "normal"),
    "batchnorm-backward": batchnorm_backward,
    "batchnorm-output-variance": batchnorm_output_variance,
    "biased-variance-expectation": biased_variance_expectation,
    "momentum-iterates": momentum_iterates,
    "nesterov-iterates": nesterov_iterates,
    "adam-constant-gradient": adam_constant_gradient,
    "gd-stability-bound": gd_stability_bound,
    "gd-optimal-rate": gd_optimal_rate,
    "heavy-ball-optimal": heavy_ball_optimal,
})


def get(name: str) -> Derivation:
    """The derivation called ``name`` (see :data:`ALL`)."""
    if name not in ALL:
        raise KeyError(f"no derivation named {name!r}; known: {', '.join(ALL)}")
    return ALL[name]()


def derivations() -> list[Derivation]:
    """Every derivation in :data:`ALL`, derived (slow the first time, cached after)."""
    return [factory() for factory in ALL.values()]
