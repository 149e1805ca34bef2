"""Building blocks shared by the reference optimizers.

Optimizers follow optax's shape: a pair of pure functions with explicit state.
Named algorithms are compositions of small :class:`Transform` s that map a
gradient to an *update* (the quantity added to the parameters); :func:`as_optimizer`
turns a transform into an :class:`Optimizer` whose ``update`` returns the new
parameters, as the spec protocol asks:

    ``init(params) -> state``
    ``update(grads, state, params) -> (new_params, new_state)``

Everything computes in float64 (complex128 for complex input).
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import numpy as np

__all__ = [
    "Optimizer",
    "Transform",
    "EmptyState",
    "ChainState",
    "chain",
    "scale",
    "as_optimizer",
    "as_float",
    "ema",
    "nonnegative",
    "check_positive",
    "check_in_range",
]


class EmptyState(NamedTuple):
    """State of a stateless transform."""


class ChainState(NamedTuple):
    """State of :func:`chain`: one entry per inner transform."""

    inner: tuple


class Transform(NamedTuple):
    """A gradient transformation: ``update(updates, state, params) -> (updates, state)``."""

    init: Callable[[np.ndarray], Any]
    update: Callable[[np.ndarray, Any, np.ndarray], tuple[np.ndarray, Any]]


class Optimizer(NamedTuple):
    """An optimizer: ``update(grads, state, params) -> (new_params, new_state)``."""

    init: Callable[[np.ndarray], Any]
    update: Callable[[np.ndarray, Any, np.ndarray], tuple[np.ndarray, Any]]


def as_float(x: Any, name: str = "array") -> np.ndarray:
    """``x`` as a float64 array (complex128 if complex), a copy never aliasing ``x``.

    A value whose type declares ``float64_like = True`` is returned as is: it
    computes in float64 itself, through numpy's protocols, and is never
    modified in place (``verify.tolerance.Tracked``, float64 values that carry
    their rounding error bound: the tolerance model runs these optimizers on it).
    """
    if getattr(type(x), "float64_like", False):
        return x
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name} must be numeric, got {type(x).__name__} of dtype {arr.dtype}")
    dtype = np.complex128 if np.iscomplexobj(arr) else np.float64
    return np.array(arr, dtype=dtype, copy=True)


def ema(decay: Any, prev: Any, *factors: Any) -> Any:
    """The moving average ``decay·prev + (1 − decay)·x`` of ``x = factors[0]·factors[1]·…``.

    Computed as written, ``decay·prev + ((1 − decay)·f₀)·f₁…`` (so ``ema(β2, v, g, g)``
    is ``β2·v + (1 − β2)·g·g``). Libraries also write it as ``prev + (1 − decay)(x − prev)``
    (PyTorch's ``lerp``), which rounds differently; a value type with its own
    ``ema`` (``verify.tolerance.Tracked``, whose error bound covers both forms)
    computes it instead.
    """
    for arg in (prev, *factors):
        own = getattr(type(arg), "ema", None)
        if own is not None:
            return own(decay, prev, *factors)
    x = 1.0 - decay
    for f in factors:
        x = x * f
    return decay * prev + x


def nonnegative(x: Any) -> Any:
    """``max(x, 0)`` of a difference that is ≥ 0 exactly but that rounding can take below 0 (centred RMSprop's
    ``s − ḡ²``, where PyTorch's and optax's roots then give NaN): the exact bound. A value type with its own
    ``nonnegative`` (``verify.tolerance.Tracked``, which marks such a step undecided) computes it instead."""
    own = getattr(type(x), "nonnegative", None)
    if own is not None:
        return own(x)
    return np.maximum(x, 0.0)


def check_positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    """Validate a hyperparameter that must be positive (or non-negative)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return v


def check_in_range(name: str, value: float, lo: float, hi: float, *,
                   lo_closed: bool = True, hi_closed: bool = False) -> float:
    """Validate a hyperparameter that must lie in an interval."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    ok_lo = v >= lo if lo_closed else v > lo
    ok_hi = v <= hi if hi_closed else v < hi
    if not (math.isfinite(v) and ok_lo and ok_hi):
        interval = f"{'[' if lo_closed else '('}{lo}, {hi}{']' if hi_closed else ')'}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return v


def _check_same_shape(grads: np.ndarray, params: np.ndarray) -> None:
    if grads.shape != params.shape:
        raise ValueError(
            f"grads and params must have the same shape, got grads {grads.shape} and params {params.shape}"
        )


def chain(*transforms: Transform) -> Transform:
    """Apply ``transforms`` one after the other (optax.chain)."""

    def init(params):
        return ChainState(tuple(t.init(params) for t in transforms))

    def update(updates, state, params):
        new_inner = []
        for t, s in zip(transforms, state.inner):
            updates, s = t.update(updates, s, params)
            new_inner.append(s)
        return updates, ChainState(tuple(new_inner))

    return Transform(init, update)


def scale(factor: float) -> Transform:
    """Multiply the update by ``factor`` (``-lr`` turns a direction into a step)."""

    def init(params):
        return EmptyState()

    def update(updates, state, params):
        return factor * updates, state

    return Transform(init, update)


def as_optimizer(transform: Transform) -> Optimizer:
    """Turn a transform into an optimizer: ``new_params = params + update``.

    Inputs are copied to float64, so an optimizer never modifies the arrays it
    is given.
    """

    def init(params):
        return transform.init(as_float(params, "params"))

    def update(grads, state, params):
        p = as_float(params, "params")
        g = as_float(grads, "grads")
        _check_same_shape(g, p)
        u, state = transform.update(g, state, p)
        return p + u, state

    return Optimizer(init, update)
