"""Finding the wrong entries of a gradient with O(log n) more probes.

A failing probe ``d`` has residual ``r = <g, d> - D_d f``. With the *same*
signs restricted to a block ``B`` of coordinates, residuals add up:
``r(B1) + r(B2) = r(B)``. So one new probe (on the first half) splits the
residual between the two halves; the search follows the larger part down to
a single coordinate in ``ceil(log2 n)`` probes, then measures that coordinate
directly (one more probe) to confirm it and to learn its error ``e_i``.

Several wrong entries are found one at a time ("peeling"): the found errors
are subtracted from the residuals of the original probes, at no cost, and
the search restarts from the probe that is still most wrong. The search stops
when every original probe is explained, when ``max_wrong`` entries have been
found but the probes are still not explained ("too many wrong entries to
localise cheaply"), or when the measured coordinate turns out to be right or
explains almost none of the residual (the error is spread thinly over many
entries -- dense noise -- or cancels inside a block).

The same search runs over the *outputs* of a vector function (bisecting the
cotangent instead of the direction) to name a wrong Jacobian entry.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

__all__ = ["FoundEntry", "Localisation", "localise"]


@dataclasses.dataclass(frozen=True)
class FoundEntry:
    """One coordinate found wrong, measured directly along ``e_i``."""

    flat_index: int
    analytic: float
    numeric: float
    error_bar: float

    @property
    def error(self) -> float:
        return self.analytic - self.numeric


@dataclasses.dataclass(frozen=True)
class Localisation:
    """Outcome of :func:`localise`.

    Attributes:
      entries: the wrong coordinates found, in the order found.
      explained: after removing their errors, every original probe agrees.
      reason: why the search stopped without explaining the probes ("" if it did).
      n_probes: probes spent (block probes plus direct measurements).
      residual_fraction: norm of the probe residuals left unexplained by the
        entries found, relative to the original (0 when explained).
      dense: the search reached an entry that carries under 5 % of its
        probe's residual: measured evidence that the error is spread thinly.
    """

    entries: tuple[FoundEntry, ...]
    explained: bool
    reason: str
    n_probes: int
    residual_fraction: float = 0.0
    dense: bool = False


def localise(probes: np.ndarray, residuals: np.ndarray, tolerances: np.ndarray,
             block_residual: Callable[[int, int, int], float],
             measure_entry: Callable[[int], FoundEntry], *, max_wrong: int = 4,
             full_mode_hint: str = "mode='full'") -> Localisation:
    """Bisect the failing probes down to the wrong coordinates.

    Args:
      probes: ``(k, n)`` directions of the original probes.
      residuals, tolerances: ``(k,)`` residual ``analytic - numeric`` and its
        tolerance for each original probe.
      block_residual: ``(j, lo, hi) -> residual`` along probe ``j`` restricted
        to flat coordinates ``lo <= i < hi`` (one probe of ``f``).
      measure_entry: ``i -> FoundEntry``: the comparison along ``e_i``.
      max_wrong: give up after this many entries.
      full_mode_hint: how the advice to compare every entry names the full mode.

    >>> g_true = np.zeros(8); g = g_true.copy(); g[5] = 1.0
    >>> P = np.array([[1.0, -1, 1, 1, -1, 1, -1, 1]])
    >>> res = lambda j, lo, hi: float(np.dot(g[lo:hi] - g_true[lo:hi], P[j, lo:hi]))
    >>> meas = lambda i: FoundEntry(i, g[i], g_true[i], 1e-12)
    >>> loc = localise(P, P @ (g - g_true), np.array([1e-12]), res, meas)
    >>> [e.flat_index for e in loc.entries], loc.explained, loc.n_probes
    ([5], True, 4)
    """
    k, n = probes.shape
    found: list[FoundEntry] = []
    spent = 0
    original = float(np.linalg.norm(residuals)) or 1.0

    def stop(reason: str, dense: bool = False) -> Localisation:
        r, _ = _corrected(probes, residuals, tolerances, found)
        return Localisation(tuple(found), False, reason, spent, float(np.linalg.norm(r)) / original, dense)

    for _ in range(max_wrong + 1):
        r, t = _corrected(probes, residuals, tolerances, found)
        worst = np.abs(r) / np.where(t > 0, t, np.finfo(float).tiny)
        if not np.any(np.abs(r) > t):
            return Localisation(tuple(found), True, "", spent)
        if len(found) >= max_wrong:
            return stop(f"more than {max_wrong} wrong entries: too many to localise cheaply "
                        f"(use {full_mode_hint} to compare every entry)")
        j = int(np.argmax(worst))
        lo, hi, current = 0, n, float(r[j])
        while hi - lo > 1:
            mid = (lo + hi) // 2
            first = block_residual(j, lo, mid) - _found_part(probes[j], found, lo, mid)
            spent += 1
            second = current - first
            if abs(first) >= abs(second):
                hi, current = mid, first
            else:
                lo, current = mid, second
        lost = ("the bisection did not end at a wrong entry (errors cancelling inside blocks, or block "
                f"estimates too coarse to split the residual); use {full_mode_hint} to compare every entry")
        if any(e.flat_index == lo for e in found):
            return stop(lost)
        entry = measure_entry(lo)
        spent += 1
        if not abs(entry.error) > entry.error_bar:
            return stop(lost)
        found.append(entry)
        if abs(entry.error * probes[j, lo]) < 0.05 * abs(float(r[j])):
            # the largest entry carries under 5% of the probe's residual: with k
            # similar wrong entries it would carry ~1/sqrt(k), so k > 400
            return stop("no single entry carries it (errors spread thinly over many entries); use "
                        f"{full_mode_hint} to compare every entry", dense=True)
    return stop(f"more than {max_wrong} wrong entries")


def _corrected(probes: np.ndarray, residuals: np.ndarray, tolerances: np.ndarray,
               found: list[FoundEntry]) -> tuple[np.ndarray, np.ndarray]:
    r = np.array(residuals, dtype=np.float64)
    t = np.array(tolerances, dtype=np.float64)
    for e in found:
        col = probes[:, e.flat_index]
        r -= e.error * col
        t += e.error_bar * np.abs(col)
    return r, t


def _found_part(probe: np.ndarray, found: list[FoundEntry], lo: int, hi: int) -> float:
    return float(sum(e.error * probe[e.flat_index] for e in found if lo <= e.flat_index < hi))
