"""Calling the code under test: counting calls, validating what comes back,
and finding the precision that ``f`` really computes in.

The checker never trusts a return value: a non-scalar loss, a gradient of the
wrong shape or a ``None`` produce a ``TypeError``/``ValueError`` that names
the function, the value and what was expected. Exceptions raised *by* the
user's code propagate unchanged (the caller wraps them), except in the two
probing calls that are allowed to fail: complex input and float64 input.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Callable

import numpy as np

__all__ = ["CountedFunction", "Precision", "as_point", "validate_vector", "find_precision", "rounds_input", "realiser"]


def as_point(x: Any) -> np.ndarray:
    """Validate the point ``x`` and return it as an array (not flattened).

    Raises ``TypeError`` for non-numeric or complex input and ``ValueError``
    for an empty array or non-finite entries (naming their positions).
    """
    if x is None:
        raise TypeError("x is None; expected a real array")
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # a torch tensor
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and objects numpy refuses
        raise TypeError(f"x cannot be read as an array: {exc}") from None
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        kind = "complex" if arr.dtype.kind == "c" else f"dtype {arr.dtype}"
        raise TypeError(f"x must be a real array; got {kind}")
    if arr.size == 0:
        raise ValueError(f"x is empty (shape {arr.shape}); nothing to check")
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        where = [tuple(int(i) for i in idx) if len(idx) != 1 else int(idx[0]) for idx in np.argwhere(bad)[:5]]
        raise ValueError(f"x has {int(bad.sum())} non-finite entries (NaN or inf) at {where}; "
                         "a gradient can only be checked at a finite point")
    return arr


def validate_vector(value: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """Check that ``value`` (returned by ``grad`` or ``vjp``) is a real array of ``shape``."""
    if value is None:
        raise TypeError(f"{what} returned None; expected an array of shape {shape}")
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach().cpu().numpy()
    if isinstance(value, (tuple, list)) and len(value) == 1 and np.ndim(value[0]) == len(shape) and len(shape) > 0:
        hint = " (a 1-tuple: did you mean to return its element?)"
    else:
        hint = ""
    try:
        arr = np.asarray(value)
    except Exception as exc:
        raise TypeError(f"{what} returned {type(value).__name__}, which cannot be read as an array: {exc}") from None
    if arr.dtype == object or arr.dtype.kind not in "biufc":
        raise TypeError(f"{what} returned {type(value).__name__} of dtype {arr.dtype}; expected a real array of shape {shape}")
    if arr.dtype.kind == "c":
        raise TypeError(f"{what} returned a complex array; expected a real array of shape {shape}")
    if arr.shape != shape:
        raise ValueError(f"{what} returned shape {arr.shape}; expected x's shape {shape}{hint}")
    return arr


class CountedFunction:
    """``f`` behind a counter: every call is counted, its value validated.

    Calls take a *flat* point and return a flat 1-D array of the outputs
    (one entry for a scalar loss).

    Attributes:
      n_calls: calls of ``f`` so far (failed ones included).
      out_shape: shape of ``f``'s value, fixed by the first call.
      last_dtype: numpy dtype of the last value (before conversion).
    """

    def __init__(self, f: Callable[[np.ndarray], Any], shape: tuple[int, ...], *,
                 scalar: bool, name: str = "f", many: Callable[[list[np.ndarray]], Any] | None = None):
        if not callable(f):
            raise TypeError(f"{name} must be callable; got {type(f).__name__}")
        if many is not None and not callable(many):
            raise TypeError(f"{name}_many must be callable; got {type(many).__name__}")
        self.f = f
        self.many = many
        self.shape = shape
        self.scalar = scalar
        self.name = name
        self.n_calls = 0
        self.out_shape: tuple[int, ...] | None = None
        self.last_dtype: np.dtype | None = None
        self.input_dtype: np.dtype | None = None  # dtype points are cast to before the call

    def __call__(self, point: np.ndarray) -> np.ndarray:
        arr = self._argument(point)
        self.n_calls += 1
        raw = self.f(arr)
        return self.convert(raw, complex_input=np.iscomplexobj(arr))

    def evaluate_all(self, points: list[np.ndarray]) -> list[np.ndarray]:
        """``[self(p) for p in points]``: through ``many`` in one call where it was given."""
        if self.many is None or len(points) < 2:
            return [self(p) for p in points]
        args = [self._argument(p) for p in points]
        self.n_calls += len(args)
        raws = list(self.many(args))
        if len(raws) != len(args):
            raise ValueError(f"{self.name}_many returned {len(raws)} values for {len(args)} points")
        return [self.convert(raw, complex_input=np.iscomplexobj(arr)) for raw, arr in zip(raws, args)]

    def _argument(self, point: np.ndarray) -> np.ndarray:
        arr = point.reshape(self.shape)
        if self.input_dtype is not None and not np.iscomplexobj(arr):
            arr = arr.astype(self.input_dtype)
        return arr

    def call_raw(self, arr: np.ndarray) -> Any:
        """Call ``f`` on an array of x's shape, counted, without conversion."""
        self.n_calls += 1
        return self.f(arr)

    def convert(self, raw: Any, *, complex_input: bool = False) -> np.ndarray:
        """Validate one value of ``f`` and return it as a flat array."""
        name = self.name
        if raw is None:
            raise TypeError(f"{name}(x) returned None; expected {'a scalar' if self.scalar else 'an array'}")
        if hasattr(raw, "detach") and hasattr(raw, "numpy"):
            raw = raw.detach().cpu().numpy()
        try:
            arr = np.asarray(raw)
        except Exception as exc:
            raise TypeError(f"{name}(x) returned {type(raw).__name__}, which is not a number: {exc}") from None
        if arr.dtype == object or arr.dtype.kind not in "iufc":
            raise TypeError(f"{name}(x) returned {type(raw).__name__} of dtype {arr.dtype}; expected "
                            f"{'a real scalar' if self.scalar else 'a real array'}")
        if self.scalar and arr.ndim != 0:
            hint = (" (a size-1 array: return .item() or arr[0])" if arr.size == 1
                    else "; check_grad needs a scalar loss, use check_vjp for vector-valued functions")
            raise ValueError(f"{name}(x) must return a scalar; got an array of shape {arr.shape}{hint}")
        if self.out_shape is None:
            self.out_shape = arr.shape
        elif arr.shape != self.out_shape:
            raise ValueError(f"{name} returned shape {arr.shape} here but {self.out_shape} at x; "
                             "the output shape must not depend on the point")
        if arr.dtype.kind == "c" and not complex_input:
            raise TypeError(f"{name}(x) returned a complex value for real input; expected a real value")
        self.last_dtype = arr.dtype
        flat = arr.reshape(-1)
        return flat.astype(np.complex128) if arr.dtype.kind == "c" else flat.astype(np.float64)


@dataclasses.dataclass(frozen=True)
class Precision:
    """The precision the check works in.

    Attributes:
      eps: unit rounding of ``f``'s values (float64: 2.2e-16; float32: 1.2e-7).
      bound: the dtype ``f`` rounds its *input* to (``float32``), or ``None``
        when evaluation points reach ``f`` exactly.
      note: one sentence for the report ("" for plain float64).
    """

    eps: float
    bound: np.dtype | None
    note: str


def realiser(bound: np.dtype | None) -> Callable[[np.ndarray], np.ndarray] | None:
    """The map from a point to the point a function bound to ``bound`` really sees."""
    if bound is None:
        return None
    return lambda p: p.astype(bound).astype(np.float64)


def find_precision(F: CountedFunction, x: np.ndarray) -> tuple[np.ndarray, Precision]:
    """Evaluate ``f(x)`` and decide the working precision.

    Float64 (and integer) ``x``: ``f`` is called with float64 points.
    Lower-precision ``x`` (float32/float16): ``f`` is first called with a
    float64 copy of ``x``; if it raises, the check runs in ``x``'s dtype. If
    ``f`` returns a float32 value, it is a float32 function. Otherwise the
    caller runs :func:`rounds_input` (one more call) to see whether ``f``
    rounds its input internally.

    Returns ``(f(x) as a flat array, Precision)``; the precision of a float64
    function that accepted float64 input is provisional until
    :func:`rounds_input` has run.
    """
    eps64 = float(np.finfo(np.float64).eps)
    flat = x.reshape(-1).astype(np.float64)
    if x.dtype == np.float64:
        y0 = F(flat)
        if F.last_dtype is not None and F.last_dtype.kind == "f" and F.last_dtype.itemsize < 8:
            low = np.dtype(F.last_dtype)
            return y0, Precision(float(np.finfo(low).eps), None,
                                 f"{low} function: f returns {low} for float64 input")
        return y0, Precision(eps64, None, "")
    low = np.dtype(x.dtype)
    eps_low = float(np.finfo(low).eps)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = F.call_raw(flat.reshape(x.shape))
        y0 = F.convert(raw)
    except Exception:
        F.input_dtype = low
        y0 = F(flat)
        return y0, Precision(eps_low, low, f"{low} function: f does not accept float64 input, "
                                           f"so differences are taken in {low}")
    if F.last_dtype is not None and F.last_dtype.kind == "f" and F.last_dtype.itemsize < 8:
        return y0, Precision(eps_low, low, f"{low} function: f returns {F.last_dtype} for float64 input")
    return y0, Precision(eps64, None, f"{low} input; f accepts float64, so differences are taken in float64")


def rounds_input(F: CountedFunction, x: np.ndarray, y0: np.ndarray, d: np.ndarray,
                 predicted_change: Callable[[np.ndarray], float]) -> bool | None:
    """Does ``f`` round its input to ``x.dtype`` although it takes float64? (one call)

    Moves every coordinate by a quarter of its float32 spacing (a move that
    rounding to float32 undoes) and compares ``f`` bit for bit. ``None`` when
    the predicted change is too small to tell.
    """
    flat = x.reshape(-1).astype(np.float64)
    spacing = np.spacing(np.abs(x.reshape(-1))).astype(np.float64)
    delta = 0.25 * spacing * d
    y1 = F(flat + delta)
    if not np.array_equal(y1, y0):
        return False
    visible = predicted_change(delta) > 64 * np.finfo(np.float64).eps * float(np.max(np.abs(y0)) + 1e-300)
    return True if visible else None
