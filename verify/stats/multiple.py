"""Multiple testing: Holm's step-down procedure (Holm 1979).

With ``m`` tests and family-wise level ``alpha``: sort the p-values
``p_(1) <= ... <= p_(m)``; reject ``H_(1), ..., H_(k-1)`` where ``k`` is the
first rank with ``p_(k) > alpha / (m - k + 1)``. The probability of *any*
false rejection is <= ``alpha`` whatever the dependence between the tests,
and Holm rejects everything Bonferroni rejects (and sometimes more).

The per-test level it gives is at least ``alpha / m`` (the worst case
planned for by :func:`planned_sample_size`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Iterable, Sequence

from verify.evidence import Details, Holm
from verify.stats.core import DEFAULT_FAMILY_ALPHA, StatTest, _alpha

__all__ = ["holm", "holm_levels", "holm_adjusted_pvalues", "apply_holm"]


def _pvalues(tests_or_pvalues: Iterable[Any]) -> list[float]:
    out = []
    for i, t in enumerate(tests_or_pvalues):
        p = t.p_value if isinstance(t, StatTest) else t
        try:
            p = float(p)
        except (TypeError, ValueError):
            raise ValueError(f"item {i} is neither a StatTest nor a p-value: {t!r}") from None
        if math.isnan(p) or not (0.0 <= p <= 1.0):
            raise ValueError(f"p-value {i} must be in [0, 1], got {p!r}")
        out.append(p)
    return out


def holm_levels(tests_or_pvalues: Iterable[Any], family_alpha: float = DEFAULT_FAMILY_ALPHA) -> list[float]:
    """The level Holm's procedure decides each test at, in input order.

    For a test of rank ``i`` (ascending p): ``alpha / (m - min(i, k) + 1)``,
    ``k`` the rank where the procedure stops. With these levels
    ``p <= level`` holds exactly for the rejected tests, so a message
    ``p = .. > alpha = ..`` is always consistent with the decision.

    >>> holm_levels([0.01, 0.04, 0.03], 0.05)
    [0.016666666666666666, 0.025, 0.025]
    """
    a = _alpha(family_alpha, "family_alpha")
    ps = _pvalues(tests_or_pvalues)
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    levels = [0.0] * m
    stop = m + 1
    for rank, idx in enumerate(order, start=1):
        if stop > m and ps[idx] > a / (m - rank + 1):
            stop = rank
        levels[idx] = a / (m - min(rank, stop) + 1)
    return levels


def holm(tests_or_pvalues: Iterable[Any], family_alpha: float = DEFAULT_FAMILY_ALPHA) -> list[bool]:
    """Holm-Bonferroni step-down: which hypotheses are REJECTED (True = the check fails).

    Args:
      tests_or_pvalues: :class:`StatTest` objects or p-values, in any order.
      family_alpha: family-wise false-alarm rate (default 1e-6).

    Returns:
      One bool per input, in input order: ``True`` where the null hypothesis
      is rejected (the property is violated). Note the polarity: this is the
      statistical convention (as ``statsmodels.multipletests``), the opposite
      of :attr:`StatTest.passed`.

    >>> holm([0.01, 0.04, 0.03], 0.05)
    [True, False, False]
    """
    items = list(tests_or_pvalues)
    ps = _pvalues(items)
    return [p <= lvl for p, lvl in zip(ps, holm_levels(ps, family_alpha))]


def holm_adjusted_pvalues(tests_or_pvalues: Iterable[Any]) -> list[float]:
    """Holm-adjusted p-values ``max_{j <= i} min(1, (m - j + 1) p_(j))``, in input order.

    A test is rejected at family level ``alpha`` iff its adjusted p-value is
    ``<= alpha``.
    """
    ps = _pvalues(tests_or_pvalues)
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    out = [0.0] * m
    running = 0.0
    for rank, idx in enumerate(order, start=1):
        running = max(running, min(1.0, (m - rank + 1) * ps[idx]))
        out[idx] = running
    return out


def apply_holm(tests: Sequence[StatTest], family_alpha: float = DEFAULT_FAMILY_ALPHA) -> list[StatTest]:
    """Copies of ``tests`` decided by Holm's procedure at family level ``family_alpha``.

    Each copy has ``alpha`` set to its Holm level (:func:`holm_levels`),
    ``passed`` and the message updated, the MDE recomputed at that level, and
    ``details["holm"]`` recording the family size, the family level and the
    adjusted p-value. Order is preserved.

    Example::

        results = apply_holm([std_test(w, s), mean_test(w, 0, s), shape_test(w, "normal", s)])
        ok = all(r.passed for r in results)
    """
    tests = list(tests)
    for i, t in enumerate(tests):
        if not isinstance(t, StatTest):
            raise ValueError(f"item {i} is not a StatTest: {t!r}")
    levels = holm_levels(tests, family_alpha)
    adjusted = holm_adjusted_pvalues(tests)
    out = []
    for t, lvl, padj in zip(tests, levels, adjusted):
        u = t.with_alpha(lvl)
        holm = Holm(float(family_alpha), len(tests), padj)
        details = (dataclasses.replace(u.details, holm=holm) if isinstance(u.details, Details)
                   else {**u.details, "holm": holm})      # a StatTest built by hand with a dict
        out.append(dataclasses.replace(u, details=details))
    return out
