"""The tolerance model of optimizer conformance: running floating-point error bounds.

Two correct implementations of an optimizer in float64 differ because they
round differently (operation order, ``lerp`` vs ``β m + (1 − β) g``, a fused
``addcdiv``, ``β^t`` by ``pow`` or by repeated products). How much they may
differ depends on the data: a momentum buffer whose gradients cancel, a bias
correction ``1 − β2ᵗ`` close to 0, an Adam denominator ``√v̂ + ε`` with
``|g| ~ ε``, a coupled weight decay whose ``g + λw`` nearly cancels.

This module computes, alongside the canonical algorithm, a first-order
*running error bound* (Wilkinson's running error analysis): every value ``x``
carries a bound ``e(x)`` on its distance from the exact result of the same
formula on the same inputs. Each operation adds its own rounding,
``u·|result|`` (``u = 2⁻⁵³``), and propagates its operands' bounds with the
absolute values of its partial derivatives:

* ``x ± y``: ``e = e(x) + e(y) + u|x ± y|``
* ``x · y``: ``e = |y| e(x) + |x| e(y) + u|xy|``
* ``x / y``: ``e = e(x)/|y| + |x/y| e(y)/|y| + u|x/y|``
* ``√x``:    ``e = min(e(x)/(2√x), √e(x)) + u√x``
* ``β^t``:   ``e = t·u·β^t`` (``pow`` or ``t`` products)
* averages ``β·a + (1 − β)·x``: also ``2u(|a| + |x|)``, the rounding of the
  ``lerp`` form ``a + (1 − β)(x − a)``, whose difference can be far larger
  than the result (β ≈ 0, a small ``x`` after a large ``a``)
* sign, clip, comparisons: the decision is taken to agree (identical inputs,
  no ties: open-loop streams make this so); a clipped value is exact.

Any correct implementation is within about this bound of the exact value
(its own operations, in another order, round values of the same size), so two
correct implementations differ by at most about twice the bound. Conformance
allows

    ``tol_t = C · e(w_t)``,  ``C = 4`` (:data:`SAFETY`),

per entry and per step: a factor 2 for the two implementations and a factor
2 for second-order terms and extra operations. The bound is cumulative (the
error of ``w_t`` includes every earlier step's), grows with cancellation and
conditioning exactly where the data make the computation sensitive, and is
~1e-16 relative where it is not. A bug that changes any step by a relative
1e-6 exceeds it by many orders of magnitude, except where the computation is
genuinely that ill-conditioned (e.g. ``1 − β2ᵗ`` with ``β2 = 1 − 10⁻¹²``).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["U", "SAFETY", "Tracked", "MODELS", "error_bound", "tolerance"]

#: Unit roundoff of float64.
U = float(np.finfo(np.float64).eps) / 2.0

#: ``tol = SAFETY · bound``: two implementations (×2), second-order terms and extra operations (×2).
SAFETY = 8.0


def _abs(x: Any) -> Any:
    return np.abs(x)


class Tracked:
    """A float64 array with a running error bound; arithmetic propagates both."""

    __slots__ = ("v", "e")
    __array_priority__ = 1000

    def __init__(self, v: Any, e: Any = 0.0):
        self.v = np.asarray(v, dtype=np.float64)
        self.e = np.array(np.broadcast_to(np.asarray(e, dtype=np.float64), self.v.shape))

    @staticmethod
    def of(x: Any) -> "Tracked":
        return x if isinstance(x, Tracked) else Tracked(x, 0.0)

    def __add__(self, other: Any) -> "Tracked":
        o = Tracked.of(other)
        v = self.v + o.v
        return Tracked(v, self.e + o.e + U * _abs(v))

    __radd__ = __add__

    def __sub__(self, other: Any) -> "Tracked":
        o = Tracked.of(other)
        v = self.v - o.v
        return Tracked(v, self.e + o.e + U * _abs(v))

    def __rsub__(self, other: Any) -> "Tracked":
        return Tracked.of(other) - self

    def __neg__(self) -> "Tracked":
        return Tracked(-self.v, self.e)

    def __mul__(self, other: Any) -> "Tracked":
        o = Tracked.of(other)
        v = self.v * o.v
        return Tracked(v, _abs(o.v) * self.e + _abs(self.v) * o.e + U * _abs(v))

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> "Tracked":
        o = Tracked.of(other)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = self.v / o.v
            ad = _abs(o.v)
            e = self.e / ad + _abs(v) * o.e / ad + U * _abs(v)
        return Tracked(v, np.where(np.isfinite(e), e, np.where(np.isnan(v), 0.0, np.inf)))

    def __rtruediv__(self, other: Any) -> "Tracked":
        return Tracked.of(other) / self

    def sqrt(self) -> "Tracked":
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.sqrt(self.v)
            lin = np.where(v > 0, self.e / (2 * np.where(v > 0, v, 1.0)), np.inf)
            e = np.minimum(lin, np.sqrt(self.e)) + U * v
        return Tracked(v, e)

    def square(self) -> "Tracked":
        return self * self

    def sign(self) -> "Tracked":
        return Tracked(np.sign(self.v), 0.0)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.v.shape


def power(base: float, t: int) -> Tracked:
    """``base**t`` with the bound of ``t`` roundings (pow or repeated products)."""
    v = float(base) ** int(t)
    return Tracked(np.asarray(v), max(int(t), 1) * U * abs(v))


def where(cond: np.ndarray, a: Any, b: Any) -> Tracked:
    a, b = Tracked.of(a), Tracked.of(b)
    return Tracked(np.where(cond, a.v, b.v), np.where(cond, a.e, b.e))


def clip(x: Tracked, lo: float, hi: float) -> Tracked:
    v = np.clip(x.v, lo, hi)
    return Tracked(v, np.where(v == x.v, x.e, 0.0))


def maximum(a: Tracked, b: Tracked) -> Tracked:
    pick = a.v >= b.v
    return where(pick, a, b)


# --------------------------------------------------------------- canonical models
#
# Each model runs the spec's canonical algorithm on Tracked values and returns
# the iterates and their bounds, both of shape (T, *params.shape). They mirror
# reference/ (which stays the ground truth for the values).


def _run(step: Callable[[Tracked, np.ndarray, int, dict], Tracked], w0: np.ndarray,
         grads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = Tracked(np.array(w0, dtype=np.float64), 0.0)
    state: dict[str, Any] = {}
    values, bounds = [], []
    for t, g in enumerate(np.asarray(grads, dtype=np.float64), start=1):
        w = step(w, g, t, state)
        values.append(w.v.copy())
        bounds.append(w.e.copy())
    shape = (0, *np.shape(w0))
    return (np.array(values) if values else np.empty(shape)), (np.array(bounds) if bounds else np.empty(shape))


def _sgd(hp: Mapping[str, float]):
    lr = hp["lr"]

    def step(w, g, t, s):
        return w - lr * Tracked(g)

    return step


def _trace(mu: float, g: Tracked, s: dict) -> Tracked:
    b = s.get("b")
    b = g if b is None else mu * b + g
    s["b"] = b
    return b


def _momentum(hp):
    lr, mu = hp["lr"], hp["momentum"]

    def step(w, g, t, s):
        return w - lr * _trace(mu, Tracked(g), s)

    return step


def _nesterov(hp):
    lr, mu = hp["lr"], hp["momentum"]

    def step(w, g, t, s):
        gt = Tracked(g)
        b = _trace(mu, gt, s)
        return w - lr * (gt + mu * b)

    return step


def _weight_decay(hp):
    lr, lam, mu = hp["lr"], hp["lam"], hp.get("momentum", 0.0)

    def step(w, g, t, s):
        geff = Tracked(g) + (2.0 * lam) * w
        return w - lr * _trace(mu, geff, s)

    return step


def _sign_sgd(hp):
    lr = hp["lr"]

    def step(w, g, t, s):
        return w - lr * Tracked(np.sign(g))

    return step


def _rprop(hp):
    lr, em, ep = hp["lr"], hp["eta_minus"], hp["eta_plus"]
    lo, hi = hp["min_step_size"], hp["max_step_size"]

    def step(w, g, t, s):
        prev = s.get("prev", np.zeros_like(g))
        delta = s.get("delta", Tracked(np.full(np.shape(g), lr), 0.0))
        sgn = np.sign(g * prev)
        factor = np.where(sgn > 0, ep, np.where(sgn < 0, em, 1.0))
        delta = clip(delta * Tracked(factor), lo, hi)
        remembered = np.where(sgn < 0, 0.0, g)
        s["prev"], s["delta"] = remembered, delta
        return w - Tracked(np.sign(remembered)) * delta

    return step


def _rmsprop(hp):
    lr, rho, eps = hp["lr"], hp["rho"], hp["eps"]

    def step(w, g, t, s):
        gt = Tracked(g)
        nu = _ema(rho, s.get("nu"), gt.square())
        s["nu"] = nu
        return w - lr * (gt / (nu.sqrt() + eps))

    return step


def _ema(beta: float, prev: Tracked | None, x: Tracked) -> Tracked:
    """``β·prev + (1 − β)·x`` (``prev`` absent: 0), with the rounding of the ``lerp`` form
    ``prev + (1 − β)(x − prev)`` (PyTorch's Adam) included: its difference ``x − prev`` can be far larger than
    both terms of the sum (β ≈ 0, a small x after a large prev), and the bound must hold for either form."""
    if prev is None:
        return (Tracked(1.0) - beta) * x
    out = beta * prev + (Tracked(1.0) - beta) * x
    return Tracked(out.v, out.e + 2 * U * (_abs(prev.v) + _abs(x.v)))


def _adam_direction(hp, geff: Tracked, t: int, s: dict) -> Tracked:
    b1, b2, eps = hp["b1"], hp["b2"], hp["eps"]
    m = _ema(b1, s.get("m"), geff)
    v = _ema(b2, s.get("v"), geff.square())
    s["m"], s["v"] = m, v
    c1 = Tracked(1.0) - power(b1, t)
    c2 = Tracked(1.0) - power(b2, t)
    return (m / c1) / ((v / c2).sqrt() + eps)


def _adam(hp):
    lr, wd = hp["lr"], hp.get("weight_decay", 0.0)

    def step(w, g, t, s):
        geff = Tracked(g) + wd * w if wd else Tracked(g)
        return w - lr * _adam_direction(hp, geff, t, s)

    return step


def _adamw(hp):
    lr, wd = hp["lr"], hp.get("weight_decay", 0.0)

    def step(w, g, t, s):
        u = _adam_direction(hp, Tracked(g), t, s)
        return w - lr * (u + wd * w) if wd else w - lr * u

    return step


#: spec name -> model factory ``hparams -> step``.
MODELS: Mapping[str, Callable[[Mapping[str, float]], Callable]] = {
    "sgd": _sgd,
    "momentum": _momentum,
    "nesterov": _nesterov,
    "weight-decay": _weight_decay,
    "sign-sgd": _sign_sgd,
    "rprop": _rprop,
    "rmsprop": _rmsprop,
    "adam": _adam,
    "adamw": _adamw,
}


def error_bound(spec: str, hparams: Mapping[str, float], w0: np.ndarray,
                grads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The canonical iterates and their running error bounds, each ``(T, *w0.shape)``."""
    return _run(MODELS[spec](hparams), w0, grads)


def tolerance(spec: str, hparams: Mapping[str, float], w0: np.ndarray, grads: np.ndarray,
              *, safety: float = SAFETY) -> np.ndarray:
    """Per-step, per-entry tolerance ``safety · bound`` for comparing iterates, ``(T, *w0.shape)``."""
    _, bound = error_bound(spec, hparams, w0, grads)
    return safety * bound
