"""The tolerance model of optimizer conformance: running floating-point error bounds.

Two correct implementations of an optimizer in float64 differ because they
round differently (operation order, ``lerp`` vs ``β m + (1 − β) g``, a fused
``addcdiv``, ``β^t`` by ``pow`` or by repeated products). How much they may
differ depends on the data: a momentum buffer whose gradients cancel, a bias
correction ``1 − β2ᵗ`` close to 0, an Adam denominator ``√v̂ + ε`` with
``|g| ~ ε``, a coupled weight decay whose ``g + λw`` nearly cancels.

The model is the reference optimizer itself (``reference.adam(...)``, …) run
on :class:`Tracked` values: float64 arrays that carry a first-order *running
error bound* (Wilkinson's running error analysis) ``e(x)`` on their distance
from the exact result of the same formula on the same inputs. Parameters,
gradients and hyperparameters enter exact; each operation adds its own
rounding, ``u·|result|`` (``u = 2⁻⁵³``), and propagates its operands' bounds
with the absolute values of its partial derivatives:

* ``x ± y``: ``e = e(x) + e(y) + u|x ± y|``
* ``x · y``: ``e = |y| e(x) + |x| e(y) + e(x) e(y) + u|xy|``
* ``x / y``: ``e = e(x)/|y| + |x/y| e(y)/|y| + u|x/y|``
* ``√x``:    ``e = min(e(x)/(2√x), √e(x)) + u√x``
* a difference that is ≥ 0 exactly but may round below 0 (:func:`reference._src.base.nonnegative`: centred
  RMSprop's ``s − ḡ²``): where it is within its bound of 0, another correct implementation may take the root
  of a negative number (NaN), so nothing is bounded from that step on
* ``β^t``:   ``e = t·u·β^t`` (``pow`` or ``t`` products); ``c^x`` for a constant ``c``
  and a tracked ``x`` (NAdam's ``0.96^(tψ)``): ``e = 2u·c^x + |c^x ln c|·e(x)``; ``x^p`` for a
  tracked scalar ``p`` and ``x > 0`` (ASGD's ``(1 + λη₀t)^α``): ``e = 2u·xᵖ + |p xᵖ⁻¹|·e(x) + |xᵖ ln x|·e(p)``
* averages ``β·a + (1 − β)·x`` (:func:`reference._src.base.ema`): also
  ``2u(|a| + |x|)``, the rounding of the ``lerp`` form ``a + (1 − β)(x − a)``,
  whose difference can be far larger than the result (β ≈ 0, a small ``x``
  after a large ``a``)
* clip, comparisons, maximum: the decision is taken to agree (identical
  inputs, no ties: open-loop streams make this so); a clipped value is exact;
* sign: exact where the operand's bound cannot reach 0, else a bound of 2 (the
  exact sign may be the other one: Lion's ``sgn(β1·m + (1 − β1)·g)`` when the
  terms nearly cancel);
* sums ``np.sum(x)``: ``Σe + (n − 1)u·Σ|x|`` (recursive summation's bound);
* an equality ``x == y`` the bounds cannot decide (LAMB's ``‖w‖ == 0`` guard
  once the weights are driven to ~0): nothing is bounded from that step on
  (another implementation may take the other branch).

Two operations are exact and add no rounding: scaling by a constant power of
two written in the reference (``1.0 · g``, ``2.0 · λ``), and arithmetic with
an optimizer's zero-initialised state (``μ·0 + g`` is ``g``).

Any correct implementation is within about this bound of the exact value
(its own operations, in another order, round values of the same size), so two
correct implementations differ by at most about twice the bound. Conformance
allows

    ``tol_t = C · e(w_t)``,  ``C = 8`` (:data:`SAFETY`),

per entry and per step: a factor 2 for the two implementations, 2 for extra
operations and 2 for second-order terms. The bound is cumulative (the
error of ``w_t`` includes every earlier step's), grows with cancellation and
conditioning exactly where the data make the computation sensitive, and is
~1e-16 relative where it is not. A bug that changes any step by a relative
1e-6 exceeds it by many orders of magnitude, except where the computation is
genuinely that ill-conditioned (e.g. ``1 − β2ᵗ`` with ``β2 = 1 − 10⁻¹²``).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["U", "SAFETY", "Tracked", "tracked_hyperparameters", "error_bound_of", "error_bound", "tolerance"]

#: Unit roundoff of float64.
U = float(np.finfo(np.float64).eps) / 2.0

#: The unit roundoff the tracked operations charge: float64's, or a float32 target's while its bound is computed
#: (:func:`error_bound_of` ``unit=``), so that a bound too wide for its operand to be resolved at that precision
#: (a denominator whose bound reaches its value) shows as such instead of being scaled after the fact.
_RUN: dict[str, Any] = {"u": U, "undecided": False}

#: ``tol = SAFETY · bound``: two implementations (×2), second-order terms and extra operations (×2).
SAFETY = 8.0

_TINY = float(np.finfo(np.float64).tiny)
_abs = np.abs


def _parts(x: Any) -> tuple[Any, Any, bool]:
    """``(value, bound, exact zero)`` of an operand; anything not tracked is exact."""
    if type(x) is Tracked:
        return x.v, x.e, x.zero
    return x, 0.0, False


def _exact_scale(c: Any) -> float | None:
    """``|c|`` if ``c`` is an untracked constant power of two (scaling by it is exact), else None."""
    if type(c) is Tracked or not isinstance(c, (numbers.Real, np.floating, np.integer)) or isinstance(c, bool):
        return None
    c = float(c)
    return abs(c) if c != 0 and math.isfinite(c) and abs(math.frexp(c)[0]) == 0.5 else None


def _shaped(e: Any, v: Any) -> Any:
    """The bound ``e`` broadcast to the value's shape (a read-only view where it had to grow)."""
    return e if np.shape(e) == np.shape(v) else np.broadcast_to(e, np.shape(v))


def _normal(v: Any) -> bool:
    """Every entry of ``v`` is zero or a normal float (no underflow: scaling it by a power of two was exact)."""
    a = _abs(v)
    return bool(np.all((a >= _TINY) | (a == 0)) and np.all(np.isfinite(a)))


class Tracked:
    """A float64 array with a running error bound; arithmetic propagates both.

    ``Tracked(v, e)``: value ``v`` and bound ``e`` (broadcast to ``v``'s
    shape). It implements the arithmetic operators and numpy's protocols for
    the functions the reference optimizers use, so ``reference.adam(...)``
    runs on it unchanged; a numpy function it does not know raises TypeError
    (a bound never silently drops). Values are never modified in place.
    ``zero`` marks an optimizer's zero-initialised state (``np.zeros_like``):
    a product with it is an exact zero and adding it is exact.
    """

    __slots__ = ("v", "e", "zero")
    __array_priority__ = 1000
    #: passes through the reference's float64 conversion (reference._src.base.as_float)
    float64_like = True

    def __init__(self, v: Any, e: Any = 0.0):
        self.v = np.asarray(v, dtype=np.float64)
        self.e = np.array(np.broadcast_to(np.asarray(e, dtype=np.float64), self.v.shape))
        self.zero = False

    @classmethod
    def _make(cls, v: Any, e: Any, zero: bool = False) -> "Tracked":
        t = object.__new__(cls)
        t.v, t.e, t.zero = v, e, zero
        return t

    @staticmethod
    def of(x: Any) -> "Tracked":
        return x if isinstance(x, Tracked) else Tracked(x, 0.0)

    @classmethod
    def zeros(cls, shape: tuple[int, ...]) -> "Tracked":
        """An exact zero state of ``shape``."""
        z = np.zeros(shape)
        return cls._make(z, np.zeros(shape), True)

    # -- arithmetic ---------------------------------------------------------

    @staticmethod
    def _add(a: Any, b: Any, sign: float) -> "Tracked":
        av, ae, az = _parts(a)
        bv, be, bz = _parts(b)
        v = av + bv if sign > 0 else av - bv
        if az or bz:                       # x ± exact 0 is x: no rounding
            return Tracked._make(v, _shaped(ae + be, v), az and bz)
        return Tracked._make(v, ae + be + _RUN["u"] * _abs(v))

    def __add__(self, other: Any) -> "Tracked":
        return Tracked._add(self, other, 1.0)

    def __radd__(self, other: Any) -> "Tracked":
        return Tracked._add(other, self, 1.0)

    def __sub__(self, other: Any) -> "Tracked":
        return Tracked._add(self, other, -1.0)

    def __rsub__(self, other: Any) -> "Tracked":
        return Tracked._add(other, self, -1.0)

    def __neg__(self) -> "Tracked":
        return Tracked._make(-self.v, self.e, self.zero)

    def __pos__(self) -> "Tracked":
        return self

    @staticmethod
    def _mul(a: Any, b: Any) -> "Tracked":
        av, ae, az = _parts(a)
        bv, be, bz = _parts(b)
        v = av * bv
        if az or bz:                       # a product with an exact zero state is an exact zero
            return Tracked._make(v, np.zeros(np.shape(v)), True)
        for c, x in ((_exact_scale(a), b), (_exact_scale(b), a)):
            if c is not None and (c == 1.0 or _normal(v)):
                return Tracked._make(v, _shaped(c * _parts(x)[1], v))
        with np.errstate(invalid="ignore", over="ignore"):
            # the second-order ae·be keeps an inexact zero squared inexact (LAMB's ‖w‖ of weights driven to ~0)
            e = _abs(bv) * ae + _abs(av) * be + ae * be + _RUN["u"] * _abs(v)
        return Tracked._make(v, np.where(np.isnan(e), np.inf, e) if np.any(np.isinf(ae)) or np.any(np.isinf(be)) else e)

    def __mul__(self, other: Any) -> "Tracked":
        return Tracked._mul(self, other)

    def __rmul__(self, other: Any) -> "Tracked":
        return Tracked._mul(other, self)

    @staticmethod
    def _div(a: Any, b: Any) -> "Tracked":
        av, ae, _ = _parts(a)
        bv, be, _ = _parts(b)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            v = av / bv
            c = _exact_scale(b)
            if c is not None and (c == 1.0 or _normal(v)):
                return Tracked._make(v, _shaped(ae / c, v))
            ad = _abs(bv)
            if _RUN["u"] > U:
                # a float32 target: (e(x) + |x/y| e(y))/(|y| − e(y)), and no bound at all where the denominator's
                # own bound reaches its value (float32 does not resolve it: a cancelled average, say). In float64
                # the first-order rule below is kept (checked against 60-digit runs in tests/test_tolerance.py).
                room = ad - be
                e = np.where(room > 0, (ae + _abs(v) * be) / np.where(room > 0, room, 1.0), np.inf)
            else:
                e = ae / ad + _abs(v) * be / ad
            e = e + _RUN["u"] * _abs(v)
        return Tracked._make(v, np.where(np.isfinite(e), e, np.where(np.isnan(v), 0.0, np.inf)))

    def __truediv__(self, other: Any) -> "Tracked":
        return Tracked._div(self, other)

    def __rtruediv__(self, other: Any) -> "Tracked":
        return Tracked._div(other, self)

    def __pow__(self, p: Any) -> "Tracked":
        """``x**p`` for a constant ``p``: ``|p|`` roundings for an integer ``p`` (``pow`` or repeated products).

        A tracked scalar exponent (ASGD's ``(1 + λη₀t)^α``) needs a positive base and adds ``|xᵖ ln x|·e(p)``."""
        pe = 0.0
        if isinstance(p, Tracked):
            if p.v.ndim != 0 or not np.all(self.v > 0):
                raise TypeError("a tracked exponent needs a scalar exponent and a positive base (else a constant "
                                "exponent)")
            p, pe = p.v, float(p.e)
        elif not isinstance(p, (numbers.Real, np.floating, np.integer)):
            raise TypeError("a tracked value's power needs a constant exponent")
        p = float(p)
        v = np.asarray(float(self.v) ** p) if self.v.ndim == 0 else self.v ** p
        n = max(abs(p), 1.0) if p.is_integer() else 2.0
        e = n * _RUN["u"] * _abs(v)
        if np.any(self.e):
            with np.errstate(divide="ignore", invalid="ignore"):
                e = e + np.where(self.e > 0, _abs(p * self.v ** (p - 1.0)) * self.e, 0.0)
        if pe:
            e = e + _abs(v * np.log(self.v)) * pe
        return Tracked._make(v, e)

    def __rpow__(self, base: Any) -> "Tracked":
        """``base**x`` for a constant ``base > 0`` (NAdam's ``0.96^(tψ)``): ``pow``'s rounding (two units, as for a
        non-integer exponent above) plus the exponent's bound times ``|∂/∂x| = |base^x ln base|``; below the normal
        range the rounding is absolute, at most the smallest subnormal."""
        if isinstance(base, Tracked) or not isinstance(base, (numbers.Real, np.floating, np.integer)) or base <= 0:
            raise TypeError("a tracked exponent needs a constant positive base")
        b = float(base)
        v = np.asarray(b ** float(self.v)) if self.v.ndim == 0 else b ** self.v
        e = 2.0 * U * _abs(v) + _abs(v * math.log(b)) * self.e
        e = e + np.where(_abs(v) < _TINY, 2.0 ** -1074, 0.0)    # an underflow (0.96^(tψ) at large tψ) is absolute
        return Tracked._make(v, e)

    def sqrt(self) -> "Tracked":
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.sqrt(self.v)
            lin = np.where(v > 0, self.e / (2 * np.where(v > 0, v, 1.0)), np.inf)
            e = np.minimum(lin, np.sqrt(self.e)) + _RUN["u"] * v
        return Tracked._make(v, e)

    def square(self) -> "Tracked":
        return self * self

    def sign(self) -> "Tracked":
        """Exact where the value's bound cannot reach 0; where it can, the exact sign may be the other one (or 0): a
        bound of 2 (Lion's sgn(β1·m + (1 − β1)·g) when the two terms nearly cancel)."""
        return Tracked._make(np.sign(self.v), np.where((self.e > 0) & (_abs(self.v) <= self.e), 2.0, 0.0))

    def __abs__(self) -> "Tracked":
        return Tracked._make(_abs(self.v), self.e, self.zero)

    @staticmethod
    def ema(decay: Any, prev: Any, *factors: Any) -> "Tracked":
        """``decay·prev + (1 − decay)·x`` bounded for both its forms: this sum, and ``prev + (1 − decay)(x − prev)``
        (PyTorch's ``lerp``), whose difference ``x − prev`` can be far larger than both terms of the sum (β ≈ 0,
        a small x after a large prev). From a zero state it is ``(1 − decay)·x`` exactly.

        It is evaluated as ``decay·prev + (1 − decay)·x`` with ``x = f₀·f₁…`` formed first: the value may differ
        from the reference's ``((1 − decay)·f₀)·f₁…`` by a rounding, which the bound covers."""
        x = factors[0]
        for f in factors[1:]:
            x = x * f
        x = Tracked.of(x)
        weight = 1.0 - Tracked.of(decay)
        if isinstance(prev, Tracked) and prev.zero:
            return weight * x
        out = decay * prev + weight * x
        return Tracked._make(out.v, out.e + 2 * _RUN["u"] * (_abs(_parts(prev)[0]) + _abs(x.v)))

    def nonnegative(self) -> "Tracked":
        """``max(x, 0)`` of a difference that is ≥ 0 exactly (centred RMSprop's ``s − ḡ²``). Where ``x`` is within
        its bound of 0 (the gradients hardly vary: a difference of rounding errors) another correct implementation may
        compute it negative and its root NaN: the step is undecided, as for an equality the bounds cannot decide."""
        if np.any((self.e > 0) & (self.v <= SAFETY * self.e)):
            _RUN["undecided"] = True
        return Tracked._make(np.maximum(self.v, 0.0), self.e)

    # -- comparisons and conversions: on the values ---------------------------

    def __lt__(self, other: Any) -> Any:
        return self.v < _parts(other)[0]

    def __le__(self, other: Any) -> Any:
        return self.v <= _parts(other)[0]

    def __gt__(self, other: Any) -> Any:
        return self.v > _parts(other)[0]

    def __ge__(self, other: Any) -> Any:
        return self.v >= _parts(other)[0]

    def __eq__(self, other: Any) -> Any:      # type: ignore[override] - on the values, as numpy's ==
        return _equality(self, other, np.equal)

    def __ne__(self, other: Any) -> Any:      # type: ignore[override]
        return _equality(self, other, np.not_equal)

    __hash__ = None                           # type: ignore[assignment] - a value, as an array

    def __float__(self) -> float:
        return float(self.v)

    def __bool__(self) -> bool:
        return bool(self.v)

    def __repr__(self) -> str:
        if np.ndim(self.v) == 0 and not np.any(self.e):   # an exact hyperparameter, as a validation message quotes it
            return repr(float(self.v))
        return f"Tracked({self.v!r}, e={self.e!r})"

    @property
    def shape(self) -> tuple[int, ...]:
        return self.v.shape

    @property
    def ndim(self) -> int:
        return self.v.ndim

    def copy(self) -> "Tracked":
        return Tracked._make(self.v.copy(), self.e.copy(), self.zero)

    # -- numpy protocols ----------------------------------------------------

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        rule = _UFUNCS.get(ufunc)
        if method != "__call__" or kwargs or rule is None:
            raise TypeError(f"verify.tolerance.Tracked does not bound numpy.{ufunc.__name__} ({method})")
        return rule(*inputs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        rule = _FUNCTIONS.get(func)
        if rule is None:
            raise TypeError(f"verify.tolerance.Tracked does not bound numpy.{func.__name__}")
        return rule(*args, **kwargs)


def _equality(a: Any, b: Any, op: Callable[[Any, Any], Any]) -> Any:
    """``a == b`` (or ``!=``) on the values. An equality the bounds cannot decide (the values within their bounds of
    each other, not both exact: LAMB's guard ``‖w‖ == 0`` when the weights have just been driven to ~0) marks the
    step undecided: another correct implementation may take the other branch, so :func:`error_bound_of` bounds
    nothing from that step on."""
    av, ae, _ = _parts(a)
    bv, be, _ = _parts(b)
    if np.any((_abs(np.asarray(av) - np.asarray(bv)) <= ae + be) & ((ae + be) > 0)):
        _RUN["undecided"] = True
    return op(av, bv)


def _where(cond: Any, a: Any, b: Any) -> Tracked:
    av, ae, _ = _parts(a)
    bv, be, _ = _parts(b)
    v = np.where(cond, av, bv)
    return Tracked._make(v, _shaped(np.where(cond, ae, be), v))


def _clip(x: Any, lo: Any = None, hi: Any = None, **kwargs: Any) -> Tracked:
    """Clipping: a clipped entry takes the bound's value and error (exact for a constant bound)."""
    lo, hi = kwargs.pop("min", lo), kwargs.pop("max", hi)
    if kwargs:
        raise TypeError(f"verify.tolerance.Tracked does not bound numpy.clip with {sorted(kwargs)}")
    out = Tracked.of(x)
    if lo is not None:
        out = _where(out.v < _parts(lo)[0], lo, out)
    if hi is not None:
        out = _where(out.v > _parts(hi)[0], hi, out)
    return out


def _maximum(a: Any, b: Any) -> Tracked:
    return _where(_parts(a)[0] >= _parts(b)[0], a, b)


def _minimum(a: Any, b: Any) -> Tracked:
    return _where(_parts(a)[0] <= _parts(b)[0], a, b)


def _compare(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda a, b: op(_parts(a)[0], _parts(b)[0])


def _on_values(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda x: f(_parts(x)[0])


def _sum(x: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, **kwargs: Any
         ) -> Tracked:
    """The sum of every entry: ``Σe + (n − 1)u·Σ|x|`` (recursive summation's bound; numpy's pairwise summation is
    within it). Only the whole-array sum (a norm's) is bounded."""
    if axis is not None or out is not None or keepdims or kwargs:
        raise TypeError("verify.tolerance.Tracked bounds numpy.sum over every entry only")
    v, e, _ = _parts(Tracked.of(x))
    n = np.size(v)
    return Tracked._make(np.asarray(np.sum(v)), np.asarray(np.sum(e) + max(n - 1, 0) * _RUN["u"] * np.sum(_abs(v))))


def _full_like(a: Any, fill: Any, dtype: Any = None, **kwargs: Any) -> Tracked:
    fv, fe, _ = _parts(fill)
    shape = np.shape(_parts(a)[0])
    return Tracked._make(np.full(shape, fv, dtype=np.float64), np.full(shape, fe, dtype=np.float64))


_UFUNCS: dict[Any, Callable[..., Any]] = {
    np.add: lambda a, b: Tracked._add(a, b, 1.0),
    np.subtract: lambda a, b: Tracked._add(a, b, -1.0),
    np.multiply: Tracked._mul,
    np.true_divide: Tracked._div,
    np.negative: lambda x: -Tracked.of(x),
    np.positive: lambda x: Tracked.of(x),
    np.power: lambda x, p: Tracked.of(x) ** p,
    np.sqrt: lambda x: Tracked.of(x).sqrt(),
    np.square: lambda x: Tracked.of(x).square(),
    np.sign: lambda x: Tracked.of(x).sign(),
    np.absolute: lambda x: abs(Tracked.of(x)),
    np.maximum: _maximum,
    np.minimum: _minimum,
    np.greater: _compare(np.greater),
    np.greater_equal: _compare(np.greater_equal),
    np.less: _compare(np.less),
    np.less_equal: _compare(np.less_equal),
    np.equal: lambda a, b: _equality(a, b, np.equal),
    np.not_equal: lambda a, b: _equality(a, b, np.not_equal),
    np.isfinite: _on_values(np.isfinite),
    np.isnan: _on_values(np.isnan),
    np.isinf: _on_values(np.isinf),
}

_FUNCTIONS: dict[Any, Callable[..., Any]] = {
    np.zeros_like: lambda a, dtype=None, **kw: Tracked.zeros(np.shape(_parts(a)[0])),
    np.full_like: _full_like,
    np.ones_like: lambda a, dtype=None, **kw: _full_like(a, 1.0),
    np.where: _where,
    np.clip: _clip,
    np.copy: lambda a, **kw: Tracked.of(a).copy(),
    np.shape: lambda a: np.shape(_parts(a)[0]),
    np.ndim: lambda a: np.ndim(_parts(a)[0]),
    np.sign: lambda x: Tracked.of(x).sign(),
    np.sum: _sum,
}


# ------------------------------------------------------------------ the model


def tracked_hyperparameters(hparams: Mapping[str, Any], unit: float = U) -> dict[str, Any]:
    """``hparams`` with every number as a tracked scalar, so that the constants the reference derives from
    them (``1 − β``, ``β^t``, ``1 − β^t``) carry their rounding; flags and names stay as they are. At float64's
    unit roundoff they are exact; at a coarser one (a float32 target) each carries its own rounding to that
    precision, ``unit·|h|`` (``np.float32(0.999)`` is 0.999000013: ``1 − β`` moves by 1.3e-5 relative)."""
    own = 0.0 if unit <= U else unit
    return {k: Tracked(float(v), own * abs(float(v)))
            if isinstance(v, (numbers.Real, np.floating, np.integer)) and not isinstance(v, bool)
            else v for k, v in hparams.items()}


def error_bound_of(build: Callable[..., Any], hparams: Mapping[str, Any], w0: np.ndarray,
                   grads: np.ndarray, *, unit: float = U) -> tuple[np.ndarray, np.ndarray]:
    """The reference's iterates and their running error bounds, each ``(T, *w0.shape)``.

    ``build`` is a reference optimizer's builder (``reference.adam``, or one
    with its variant flags bound: ``functools.partial(reference.adam,
    amsgrad=True)``); it is called with ``hparams`` as tracked values (the
    constants it derives from them round too, so an already built optimizer
    would not do) and run on tracked parameters and gradients. ``unit``: the unit roundoff each operation is
    charged (float64's; a float32 target's for its bound, which then also says where float32 cannot resolve
    a quotient: an infinite bound there).
    """
    previous = dict(_RUN)
    _RUN.update(u=float(unit), undecided=False)
    try:
        opt = build(**tracked_hyperparameters(hparams, unit))
        w = Tracked(np.array(w0, dtype=np.float64), 0.0)
        state = opt.init(w)
        values, bounds = [], []
        for g in np.asarray(grads, dtype=np.float64):
            w, state = opt.update(Tracked(g, 0.0), state, w)
            values.append(w.v)
            bounds.append(np.full(np.shape(w.v), np.inf) if _RUN["undecided"] else w.e)
    finally:
        _RUN.update(previous)
    shape = (0, *np.shape(w0))
    return (np.array(values) if values else np.empty(shape)), (np.array(bounds) if bounds else np.empty(shape))


def error_bound(spec: Any, hparams: Mapping[str, float], w0: np.ndarray,
                grads: np.ndarray, *, unit: float = U) -> tuple[np.ndarray, np.ndarray]:
    """:func:`error_bound_of` the reference of an algorithm record (``verify.algorithms``; what the verifier's
    own call sites pass) or of the spec so named (a spec without a record, or a caller holding only a name)."""
    if isinstance(spec, str):
        from verify.specs import get_spec

        build = get_spec(spec).reference(dict(hparams))
    else:
        build = spec.reference
    return error_bound_of(build, hparams, w0, grads, unit=unit)


def tolerance(spec: Any, hparams: Mapping[str, float], w0: np.ndarray, grads: np.ndarray,
              *, safety: float = SAFETY) -> np.ndarray:
    """Per-step, per-entry tolerance ``safety · bound`` for comparing iterates, ``(T, *w0.shape)``; ``spec`` as
    for :func:`error_bound`."""
    _, bound = error_bound(spec, hparams, w0, grads)
    return safety * bound
