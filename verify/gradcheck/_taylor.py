"""The Taylor-remainder test: a second opinion that needs no step choice.

For the right gradient, ``r(h) = |f(x + h d) - f(x) - h <g, d>| = h^2 |phi''| / 2 + O(h^3)``:
on a log-log plot the remainder falls with slope 2. If ``<g, d>`` is wrong by
``e``, ``r(h) ~ h |e|`` once ``h < |e| / |phi''|``: the slope drops to 1. The test
evaluates ``f`` at ``h = s/4, s/16, ...`` and reads the slope at the smallest
steps whose remainder is still well above rounding (Farrell, Ham, Funke &
Rognes, "Automated derivation of the adjoint of high-level transient finite
element programs", SIAM J. Sci. Comput. 2013, §5: the "Taylor test").

It sees errors down to about ``sqrt(eps)`` relative (below that the slope-1
region is buried in rounding), so it complements, and does not replace, the
error-bar comparison.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Sequence

import numpy as np

from verify.compare import format_number

__all__ = ["TaylorResult", "taylor_test"]

_RATIO = 4.0


@dataclasses.dataclass(frozen=True)
class TaylorResult:
    """Outcome of :func:`taylor_test`.

    Attributes:
      steps, remainders: the steps ``h`` and remainders ``r(h)``.
      slope: log-log slope at the smallest usable steps (``None`` when fewer
        than two remainders stand above rounding).
      consistent: ``True`` for slope ~2, ``False`` for slope ~1, ``None`` when
        inconclusive.
      verdict: one line for the report.
    """

    steps: tuple[float, ...]
    remainders: tuple[float, ...]
    slope: float | None
    consistent: bool | None
    verdict: str

    def __str__(self) -> str:
        return f"Taylor test: {self.verdict}"


def taylor_test(psi: Callable[[list[float]], Sequence[float]], psi0: float, analytic: float, scale: float,
                eps: float, n_points: int = 8) -> TaylorResult:
    """Remainder slope of ``psi(h) - psi(0) - h * analytic`` for ``h = scale * 4^-k``.

    Args:
      psi: ``[h, ...] -> [f(x + h d), ...]`` (scalars; one evaluation of ``f``
        per step, all asked at once).
      psi0: ``f(x)``.
      analytic: the analytic directional derivative ``<g, d>``.
      scale: largest step is ``scale / 4``.
      eps: unit rounding of ``f``'s values.
      n_points: number of steps (evaluations).

    >>> psi = lambda hs: [float(np.exp(1.0 + h)) for h in hs]
    >>> t = taylor_test(psi, float(np.e), float(np.e), 1.0, 2.2e-16)
    >>> t.consistent, round(t.slope)
    (True, 2)
    >>> t = taylor_test(psi, float(np.e), 2 * float(np.e), 1.0, 2.2e-16)
    >>> t.consistent, round(t.slope)
    (False, 1)
    """
    steps = [scale * _RATIO**-k for k in range(1, n_points + 1)]
    rems, usable = [], []
    for h, value in zip(steps, psi(steps), strict=True):
        r = abs(value - psi0 - h * analytic)
        floor = 8.0 * eps * (abs(psi0) + abs(value) + abs(h * analytic))
        rems.append(r)
        usable.append(bool(np.isfinite(r)) and r > 100.0 * floor)
    pts = [(math.log(h), math.log(r)) for h, r, ok in zip(steps, rems, usable) if ok]
    # keep the run of usable points that ends at the smallest usable step
    if len(pts) < 2:
        return TaylorResult(tuple(steps), tuple(rems), None, None,
                            "inconclusive: the remainder is at rounding level at every step")
    tail = pts[-3:]
    xs = np.array([p[0] for p in tail])
    ys = np.array([p[1] for p in tail])
    slope = float(np.polyfit(xs, ys, 1)[0])
    lo, hi = format_number(steps[-1]), format_number(steps[0])
    if slope >= 1.7:
        consistent, word = True, "second order, consistent with the gradient"
    elif slope <= 1.3:
        consistent, word = False, "first order: the gradient is wrong along this direction"
    else:
        consistent, word = None, "between first and second order"
    return TaylorResult(tuple(steps), tuple(rems), slope, consistent,
                        f"remainder slope {slope:.2f} for h in [{lo}, {hi}] ({word})")
