"""Hypothesis strategies for training formulas, reusable in users' own tests.

>>> from hypothesis import given
>>> from verify import strategies as vst
>>> @given(vst.vectors())
... def test_l2_grad_is_linear(w):
...     ...

Values span several orders of magnitude on purpose: bugs such as a misplaced
ε or a lost factor show at scales a unit-interval draw never reaches.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

__all__ = ["scaled_floats", "arrays", "vectors", "positive_floats"]


def scaled_floats(min_exponent: int = -3, max_exponent: int = 3, *, allow_zero: bool = True,
                  positive: bool = False) -> st.SearchStrategy[float]:
    """Floats ``± m · 10^e`` with ``m ∈ [1, 10)`` and ``e`` in the given range (and 0 if allowed).

    Shrinks towards small exponents and simple mantissas.
    """
    if min_exponent > max_exponent:
        raise ValueError(f"min_exponent {min_exponent} > max_exponent {max_exponent}")
    mags = st.builds(
        lambda m, e: m * 10.0 ** e,
        st.floats(1.0, 9.999, allow_nan=False, allow_infinity=False),
        st.integers(min_exponent, max_exponent),
    )
    signed = mags if positive else st.builds(lambda s, x: s * x, st.sampled_from([1.0, -1.0]), mags)
    return (st.just(0.0) | signed) if allow_zero and not positive else signed


def positive_floats(low: float, high: float, *, log: bool = True) -> st.SearchStrategy[float]:
    """Floats in ``[low, high]`` (``0 < low``), uniform in log scale by default."""
    if not 0 < low <= high:
        raise ValueError(f"need 0 < low <= high, got {low}, {high}")
    if not log:
        return st.floats(low, high, allow_nan=False, allow_infinity=False)
    lo, hi = np.log10(low), np.log10(high)
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(
        lambda e: float(min(max(10.0 ** e, low), high)))


def arrays(shape: Any = None, *, min_dims: int = 1, max_dims: int = 2, max_side: int = 5,
           elements: st.SearchStrategy[float] | None = None) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays whose entries come from ``elements`` (default :func:`scaled_floats`)."""
    from hypothesis.extra import numpy as hnp

    elements = elements if elements is not None else scaled_floats()
    shapes = st.just(tuple(shape)) if isinstance(shape, tuple) else (
        shape if shape is not None else hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, max_side=max_side))
    return hnp.arrays(np.float64, shapes, elements=elements)


def vectors(min_size: int = 1, max_size: int = 8, *,
            elements: st.SearchStrategy[float] | None = None) -> st.SearchStrategy[np.ndarray]:
    """1-D float64 arrays of ``min_size`` to ``max_size`` entries."""
    return arrays(st.integers(min_size, max_size).map(lambda n: (n,)), elements=elements)
