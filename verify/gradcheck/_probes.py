"""Random probe directions and what they can miss.

Directional mode compares ``<g, d>`` with a numerical derivative of ``f``
along ``d`` for a few random ``d``. An error ``e = g_analytic - g_true`` is
missed by one probe only when ``|<e, d>|`` stays below the probe's error bar.

**Rademacher probes** (entries ``±1``): for any ``e``, let ``j`` be its largest
entry. Fix every sign but ``d_j``; the two values ``S ± e_j`` are ``2|e_j|``
apart, so at most one of them lies in ``(-|e_j|, |e_j|)``. Hence
``P(|<e, d>| < ||e||_inf) <= 1/2`` for every ``e``, and ``k`` independent probes
all miss an error whose largest entry exceeds the error bar with probability
at most ``2^-k`` (16 probes: 1.5e-5). A single wrong entry is never missed:
``|<e, d>| = |e_j|`` exactly.

**Gaussian probes**: ``<e, d> ~ N(0, ||e||^2)``, so one probe misses with
probability ``P(|Z| < bar/||e||) <= sqrt(2/pi) bar/||e||``; better for errors
spread over many entries, worse for one entry near the threshold.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["PROBE_KINDS", "make_probes", "miss_probability"]

PROBE_KINDS = ("rademacher", "gaussian")


def make_probes(rng: np.random.Generator, k: int, n: int, kind: str = "rademacher") -> np.ndarray:
    """``k`` random directions in ``R^n`` as a ``(k, n)`` float64 array.

    >>> p = make_probes(np.random.default_rng(0), 2, 5)
    >>> p.shape, sorted(set(p.ravel().tolist()))
    ((2, 5), [-1.0, 1.0])
    """
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(k, n))
    if kind == "gaussian":
        return rng.standard_normal((k, n))
    raise ValueError(f"probes must be one of {PROBE_KINDS}; got {kind!r}")


def miss_probability(k: int, kind: str = "rademacher", ratio: float = 1.0) -> float:
    """Upper bound on the chance that ``k`` probes all miss an error.

    Rademacher: ``2^-k`` for any error whose largest entry exceeds the error
    bar. Gaussian: ``(sqrt(2/pi) / ratio)^k`` for an error whose norm is
    ``ratio`` times the error bar (``ratio`` defaults to 1, where the bound is
    ``0.80^k``).

    >>> miss_probability(16)
    1.52587890625e-05
    """
    if kind == "rademacher":
        return 0.5**k
    return min(1.0, math.sqrt(2.0 / math.pi) / ratio) ** k
