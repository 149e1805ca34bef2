"""The error of central differences against the step size: the "V-curve".

Truncation error falls like ``h²`` as the step shrinks and rounding error
grows like ``ε|f|/h``; their sum is a V on log-log axes whose bottom is the
best a finite difference can do. Against a *wrong* gradient the curve
flattens at the size of the error instead. Reports draw it with the step the
checker's own sweep chooses.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from ._evaluate import CountedFunction
from ._steps import sweep_central, typical_scale

__all__ = ["VCurve", "error_vs_step"]


@dataclasses.dataclass(frozen=True)
class VCurve:
    """``|D(h) − ⟨g, d⟩|`` over steps ``h`` along one random direction ``d``."""

    steps: tuple[float, ...]
    errors: tuple[float, ...]
    chosen_step: float
    analytic: float

    def figure(self, title: str = "Finite-difference error against step size"):
        from verify.results import Figure, Series

        pairs = [(h, e) for h, e in zip(self.steps, self.errors) if e > 0 and np.isfinite(e)]
        return Figure(
            title, "step h", "|D(h) − ⟨g, d⟩|",
            [Series("central differences", [h for h, _ in pairs], [e for _, e in pairs], "line")],
            xscale="log", yscale="log",
            markers=[{"x": self.chosen_step, "label": "step the checker chose"}],
        )


def error_vs_step(f: Callable[[np.ndarray], Any], grad: Callable[[np.ndarray], Any], x: Any, *,
                  seed: int = 0, n_steps: int = 29, f_many: Callable[[list[np.ndarray]], Any] | None = None) -> VCurve:
    """The V-curve of ``f`` at ``x`` along a random Rademacher direction.

    Steps run from ``10⁻¹³`` to ``10⁻¹`` times the scale of ``x``
    (2 evaluations each, plus the checker's own step sweep). ``f_many``: as
    :func:`~verify.gradcheck.check_grad`'s (the curve's points in one call).

    >>> v = error_vs_step(lambda p: float(np.sum(p ** 3)), lambda p: 3 * p ** 2, np.ones(3))
    >>> bool(min(v.errors) < 1e-9 < max(v.errors))
    True
    """
    x = np.asarray(x, dtype=np.float64)
    d = np.random.default_rng(seed).choice([-1.0, 1.0], size=x.shape)
    scale = typical_scale(x)
    analytic = float(np.sum(np.asarray(grad(x), dtype=np.float64) * d))
    steps = tuple(float(h) for h in scale * np.logspace(-13, -1, n_steps))
    F = CountedFunction(f, x.shape, scalar=False, many=f_many)
    values = [float(v[0]) for v in F.evaluate_all([x + t * d for h in steps for t in (h, -h)])]
    errors = [abs((values[2 * k] - values[2 * k + 1]) / (2 * h) - analytic) for k, h in enumerate(steps)]
    eps = float(np.finfo(np.float64).eps)
    chosen = sweep_central(F, x, d, scale, eps).step
    return VCurve(steps, tuple(errors), float(chosen), analytic)
