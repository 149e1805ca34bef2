"""Saying *what* is wrong with a gradient, not just that it is wrong.

Each test below is a hypothesis about a typical bug, accepted only when it
explains every comparison within its tolerance:

* **zero where non-zero** -- the analytic value is exactly 0 where the numeric
  one is not (a forgotten term, a detached branch);
* **constant factor** ``c`` -- analytic = ``c`` x numeric everywhere: ``c = 0.5``
  is a missing factor 2 (``lambda w`` instead of ``2 lambda w``), ``c = -1`` a
  sign flip (gradient ascent instead of descent);
* **permuted / transposed entries** -- the right values in the wrong places
  (``W.T`` for ``W``, swapped indices);
* **a few wrong entries** -- at most ``max_wrong`` entries disagree;
* otherwise **dense noise** -- errors spread over many entries with no pattern.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["describe_factor", "factor_resolution", "constant_factor", "diagnose_entries", "diagnose_probes", "format_indices"]


def format_indices(indices: Sequence[tuple[int, ...]], limit: int = 8) -> str:
    """``[(0, 1), (2, 3)]`` -> ``"[(0, 1), (2, 3)]"``; 1-D indices print as plain ints."""
    shown = [i[0] if len(i) == 1 else tuple(i) for i in indices[:limit]]
    more = f" (+{len(indices) - limit} more)" if len(indices) > limit else ""
    return f"{shown}{more}"


def describe_factor(c: float, resolution: float = 1e-12) -> str:
    """Words for ``analytic = c * numeric``; ``resolution`` is the relative
    uncertainty of ``c`` (it sets the digits shown).

    >>> describe_factor(-1.0)
    'sign flip: analytic = -1 × numeric'
    >>> describe_factor(0.5)
    'off by a constant factor 0.5: analytic = 0.5 × numeric (a missing factor 2)'
    >>> describe_factor(2.0)
    'off by a constant factor 2: analytic = 2 × numeric (an extra factor 2)'
    >>> describe_factor(1.0000000123, 1e-11)
    'off by a constant factor 1.0000000123: analytic = 1.0000000123 × numeric (1.23e-08 relative too large)'
    """
    text = _short(c, resolution)
    if abs(c + 1.0) <= max(1e-6, resolution):
        return f"sign flip: analytic = {text} × numeric"
    base = f"off by a constant factor {text}: analytic = {text} × numeric"
    if 0.9 < c < 1.1:
        word = "too large" if c > 1 else "too small"
        return base + f" ({abs(c - 1.0):.3g} relative {word})"
    sign = ", and a sign flip" if c < 0 else ""
    if abs(c) < 1.0:
        return base + f" (a missing factor {_short(1.0 / abs(c), resolution)}{sign})"
    return base + f" (an extra factor {_short(abs(c), resolution)}{sign})"


def factor_resolution(numeric: np.ndarray, tol: np.ndarray) -> float:
    """Relative uncertainty of a fitted factor: the typical ``tol / |numeric|``."""
    n, t = np.abs(np.asarray(numeric, dtype=np.float64)).ravel(), np.asarray(tol, dtype=np.float64).ravel()
    sig = n > t
    return float(np.median(t[sig] / n[sig])) if sig.any() else 1.0


def constant_factor(analytic: np.ndarray, numeric: np.ndarray, tol: np.ndarray) -> float | None:
    """The ``c != 1`` with ``|analytic - c numeric| <= tol max(1, |c|)`` everywhere, if any.

    ``c`` is the least-squares ratio over entries whose numeric value is
    significant; ``None`` when no single factor explains all entries, when
    ``c`` is indistinguishable from 1, or when nothing is significant.

    >>> float(constant_factor(np.array([2.0, -4.0]), np.array([1.0, -2.0]), np.array([1e-9, 1e-9])))
    2.0
    """
    a, n, t = (np.asarray(v, dtype=np.float64).ravel() for v in (analytic, numeric, tol))
    sig = np.abs(n) > t
    if not sig.any():
        return None
    denom = float(np.dot(n[sig], n[sig]))
    c = float(np.dot(a[sig], n[sig]) / denom)
    if not np.isfinite(c) or c == 0.0:
        return None
    if not np.all(np.abs(a - c * n) <= t * max(1.0, abs(c))):
        return None
    if not np.any(np.abs(a - n) > t):
        return None  # c is 1 within the tolerance: not a factor error
    if abs(c - 1.0) <= 3.0 * factor_resolution(n, t):
        return None  # the numbers cannot tell c from 1: "a factor 1" is no pattern
    return c


def diagnose_entries(analytic: np.ndarray, numeric: np.ndarray, tol: np.ndarray, bad: np.ndarray,
                     *, max_wrong: int = 4, x_ndim: int | None = None) -> str:
    """Diagnosis from an entry-by-entry comparison (full mode).

    Args:
      analytic, numeric, tol, bad: same shape; ``bad`` marks failed entries
        (kinks inside their one-sided interval already removed).
      max_wrong: at most this many wrong entries count as "a few".
      x_ndim: number of trailing axes that belong to ``x`` (for the
        transposition test); default: all.

    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> diagnose_entries(a.T, a, np.full((2, 2), 1e-9), a.T != a)
    'permuted/transposed entries: analytic = numeric.T'
    """
    a, n, t = (np.asarray(v, dtype=np.float64) for v in (analytic, numeric, tol))
    bad = np.asarray(bad, dtype=bool)
    if not bad.any():
        return ""
    idx = [tuple(int(i) for i in row) for row in np.argwhere(bad)]
    if np.all(a == 0.0):
        return "zero where non-zero: the analytic gradient is identically zero, the numeric one is not"
    c = constant_factor(a, n, t)
    if c is not None:
        return describe_factor(c, factor_resolution(n, t))
    if _transposed(a, n, t, x_ndim):
        return "permuted/transposed entries: analytic = numeric.T"
    tmax = float(np.max(t[bad]))
    if bad.sum() >= 2 and _same_multiset(a[bad], n[bad], tmax):
        return f"permuted/transposed entries: the right values in the wrong places at indices {format_indices(idx)}"
    zero = bad & (a == 0.0) & (np.abs(n) > t)
    if zero.sum() == bad.sum():
        return f"zero where non-zero at indices {format_indices(idx)}"
    if len(idx) <= max_wrong:
        return f"a few wrong entries at indices {format_indices(idx)}"
    frac = 100.0 * len(idx) / a.size
    return (f"dense noise: {len(idx)} of {a.size} entries ({frac:.3g}%) are wrong with no common factor, "
            "sign flip or permutation")


def diagnose_probes(analytic: np.ndarray, numeric: np.ndarray, tol: np.ndarray, gradient_is_zero: bool,
                    candidates: Sequence[tuple[str, np.ndarray]] = ()) -> str | None:
    """Diagnosis from directional comparisons, before any localisation.

    Args:
      analytic, numeric, tol: one entry per (probe, cotangent) comparison.
      gradient_is_zero: the analytic gradient is exactly zero everywhere.
      candidates: ``(name, values)`` pairs: analytic directional derivatives of
        transformed gradients (e.g. ``g.T``); a candidate that matches every
        numeric value explains the failure.

    Returns the diagnosis, or ``None`` when only localisation can tell.
    """
    a, n, t = (np.asarray(v, dtype=np.float64).ravel() for v in (analytic, numeric, tol))
    if gradient_is_zero and np.any(np.abs(n) > t):
        return "zero where non-zero: the analytic gradient is identically zero, the numeric one is not"
    c = constant_factor(a, n, t)
    if c is not None:
        return describe_factor(c, factor_resolution(n, t))
    for name, values in candidates:
        if np.all(np.abs(np.asarray(values, dtype=np.float64).ravel() - n) <= t):
            return f"permuted/transposed entries: analytic = {name}"
    return None


def _transposed(a: np.ndarray, n: np.ndarray, t: np.ndarray, x_ndim: int | None) -> bool:
    k = a.ndim if x_ndim is None else x_ndim
    if k < 2 or a.shape[-1] != a.shape[-2]:
        return False
    at = np.swapaxes(a, -1, -2)
    return bool(np.all(np.abs(at - n) <= t)) and not np.array_equal(at, a)


def _same_multiset(a: np.ndarray, n: np.ndarray, tol: float) -> bool:
    sa, sn = np.sort(a.ravel()), np.sort(n.ravel())
    return bool(np.all(np.abs(sa - sn) <= tol)) and not np.all(np.abs(a - n) <= tol)


def _short(c: float, resolution: float = 1e-12) -> str:
    """``c`` with as many digits as its uncertainty supports (integers plainly)."""
    r = round(c)
    if r != 0 and abs(c - r) <= 3.0 * resolution * abs(c):
        return str(int(r))
    digits = int(min(15, max(3, np.ceil(-np.log10(max(resolution, 1e-16))) + 1)))
    return f"{c:.{digits}g}"
