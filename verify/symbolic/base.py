"""The one type of a sympy derivation (:class:`Derivation`), its registry, and the helpers derivations share.

A derivation is a function that derives one formula with sympy, checks the
property it claims (:func:`_require`, raising :class:`DerivationError`), and
returns a :class:`Derivation`. Decorated with :func:`derivation`, it is
cached (nothing is derived before first use: sympy is slow) and registered
under its name in :data:`ALL`.
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

__all__ = ["Derivation", "DerivationError", "derivation", "ALL", "get", "derivations", "readable"]


class DerivationError(VerifyError):
    """sympy's result does not have the property the derivation claims."""


@dataclasses.dataclass(frozen=True)
class Derivation:
    """One formula derived by sympy, with its numeric form.

    Attributes:
      name: identifier, e.g. ``"l2-gradient"`` (the key in :data:`ALL`).
      statement: the result in one human-readable line (made readable by
        :func:`readable` unless ``tidy=False``: a few statements are shown in
        messages exactly as sympy prints them, and reports keep them so).
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
    tidy: dataclasses.InitVar[bool] = True

    def __post_init__(self, tidy: bool) -> None:
        if tidy:
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


# ------------------------------------------------------------------ registry

_REGISTRY: dict[str, Callable[[], Derivation]] = {}

#: Every derivation, by name (the :attr:`Derivation.name` it produces), in the order they are registered.
ALL: Mapping[str, Callable[[], Derivation]] = MappingProxyType(_REGISTRY)


def derivation(name: str, *, variants: Mapping[str, tuple[Any, ...]] | None = None
               ) -> Callable[[Callable[..., Derivation]], Callable[..., Derivation]]:
    """Register the decorated function under ``name`` (called without arguments), cached.

    ``variants`` registers further names for calls with arguments, e.g.
    ``{"newton-exact-on-quadratic-2d": (2,)}``. The function's own calls, with
    any arguments, are cached too (``functools.lru_cache``).
    """

    def register(func: Callable[..., Derivation]) -> Callable[..., Derivation]:
        cached = functools.lru_cache(maxsize=None)(func)
        for key, args in {name: (), **(variants or {})}.items():
            if key in _REGISTRY:
                raise ValueError(f"two derivations are named {key!r}")
            _REGISTRY[key] = functools.partial(cached, *args) if args else cached
        return cached

    return register


def get(name: str) -> Derivation:
    """The derivation called ``name`` (see :data:`ALL`)."""
    if name not in ALL:
        raise KeyError(f"no derivation named {name!r}; known: {', '.join(ALL)}")
    return ALL[name]()


def derivations() -> list[Derivation]:
    """Every derivation in :data:`ALL`, derived (slow the first time, cached after)."""
    return [factory() for factory in ALL.values()]


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


def _vector(prefix: str, n: int) -> list[sp.Symbol]:
    return [sp.Symbol(f"{prefix}_{i}", real=True) for i in range(n)]


def _random_rational_point(symbols: Sequence[sp.Symbol], seed: int) -> dict[sp.Symbol, sp.Rational]:
    rng = np.random.default_rng(seed)
    return {s: sp.Rational(int(rng.integers(1, 19)), int(rng.integers(1, 7))) for s in symbols}
