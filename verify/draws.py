"""The hypothesis strategies hyperparameters are drawn from: a low module, so that the algorithm records
(:mod:`verify.algorithms`) can name their draws without importing :mod:`verify.strategies`, which imports
the records (an import cycle). :mod:`verify.strategies` re-exports both.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

__all__ = ["positive_floats", "unit_interval"]


def positive_floats(low: float, high: float, *, log: bool = True) -> st.SearchStrategy[float]:
    """Floats in ``[low, high]`` (``0 < low``), uniform in log scale by default."""
    if not 0 < low <= high:
        raise ValueError(f"need 0 < low <= high, got {low}, {high}")
    if not log:
        return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    lo, hi = np.log10(low), np.log10(high)
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(
        lambda e: float(min(max(10.0 ** e, low), high)))


def unit_interval(*, max_exponent: float = 7.0) -> st.SearchStrategy[float]:
    """Values in ``[0, 1)`` for decay rates (momentum, ρ, β): 0, the bulk, and ``1 − 10⁻ᵏ`` near 1.

    Values near 1 are where long memories amplify rounding and where swapped
    or misapplied decays show most. No subnormal: no hyperparameter is one
    (:class:`verify.params.Param` refuses them).
    """
    return st.one_of(
        st.just(0.0),
        st.floats(0.0, 0.99, allow_nan=False, allow_infinity=False, allow_subnormal=False),
        st.floats(2.0, max_exponent, allow_nan=False, allow_infinity=False).map(lambda k: 1.0 - 10.0 ** -k),
    )
