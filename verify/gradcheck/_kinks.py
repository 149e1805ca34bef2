"""Non-differentiable points: one-sided derivatives instead of a false failure.

At a kink (``|x|`` or ``relu`` at 0) a central difference returns the average
of the two one-sided slopes, and an analytic gradient that picks one of them
(or any subgradient) looks wrong. When a comparison fails, the checker
estimates the right and left derivatives ``phi'(0+)`` and ``phi'(0-)`` along
the same direction. If they differ by more than their error bars, the point is
non-differentiable along that direction; the analytic value then passes when
it lies in the one-sided interval ``[min, max]`` (for a convex function this is
exactly the subdifferential condition ``-f'(x; -d) <= <g, d> <= f'(x; d)``),
and fails with a clear message otherwise.

Warning: ``torch.autograd.gradcheck`` and ``jax.test_util.check_grads`` report
a failure at such points.
"""

from __future__ import annotations

import dataclasses

from verify.compare import format_number

__all__ = ["Kink", "classify_kink"]


@dataclasses.dataclass(frozen=True)
class Kink:
    """A direction along which ``f`` is not differentiable at ``x``.

    Attributes:
      label: where (``"x[3]"``, ``"probe 2"``).
      index: coordinate index into ``x`` (``None`` for a random probe).
      left, right: one-sided derivatives ``phi'(0-)`` and ``phi'(0+)``.
      analytic: the analytic directional derivative.
      inside: the analytic value lies in ``[min(left, right), max(left, right)]``
        (within the error bars); the comparison then passes.
    """

    label: str
    index: tuple[int, ...] | None
    left: float
    right: float
    analytic: float
    inside: bool

    def __str__(self) -> str:
        lo, hi = sorted((self.left, self.right))
        verdict = "inside" if self.inside else "OUTSIDE"
        return (f"{self.label}: one-sided derivatives {format_number(self.left)} (left) and "
                f"{format_number(self.right)} (right); analytic {format_number(self.analytic)} is "
                f"{verdict} [{format_number(lo)}, {format_number(hi)}]")


def classify_kink(label: str, index: tuple[int, ...] | None, *, left: float, right: float,
                  side_error: float, jump: float, jump_error: float, analytic: float, tolerance: float,
                  safety: float, kink_tol: float) -> Kink | None:
    """Decide whether one direction is a kink, and whether the analytic value fits it.

    Args:
      left, right: one-sided derivatives along the direction; ``side_error``
        their estimated error.
      jump, jump_error: the estimated ``right - left`` from an expansion that
        is exact for smooth functions (a smooth point gives 0 within
        ``jump_error``).
      analytic: the analytic directional derivative.
      tolerance: the tolerance of the central comparison (rounding of the
        analytic value included); it widens the interval.
      safety: factor applied to the error estimates.
      kink_tol: minimum jump, relative to ``max(|left|, |right|)``, to call a
        kink at all.

    Returns:
      ``None`` at a smooth point, else a :class:`Kink`.

    >>> k = classify_kink("x[0]", (0,), left=-1.0, right=1.0, side_error=1e-12, jump=2.0,
    ...                   jump_error=1e-12, analytic=0.0, tolerance=1e-12, safety=4.0, kink_tol=1e-8)
    >>> k.inside
    True
    """
    if not abs(jump) > safety * jump_error + kink_tol * max(abs(left), abs(right)):
        return None
    lo, hi = min(left, right), max(left, right)
    slack = safety * side_error + tolerance
    inside = lo - slack <= analytic <= hi + slack
    return Kink(label, index, float(left), float(right), float(analytic), bool(inside))
