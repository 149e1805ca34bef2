"""How noisy is ``f``? The rounding term of a finite difference needs to know.

A central difference at step ``h`` carries the noise of two values of ``f``
divided by ``2h``. Modelling that noise as ``eps |f|`` underestimates it when
``f`` is a sum of large terms that cancel (a batch-norm loss, a regulariser
added to a large loss). This module measures it instead, with the method of
Moré & Wild ("Estimating computational noise", SIAM J. Sci. Comput. 33(3),
2011): evaluate ``f`` at seven equally spaced points ``x + i delta d``; high
differences ``Delta^k f`` of a smooth function vanish like ``delta^k``, so
what remains is noise, and ``sigma_k^2 = gamma_k mean((Delta^k f)^2)`` with
``gamma_k = (k!)^2 / (2k)!`` estimates its variance. Points that do not vary
say the spacing is below f's resolution; they are taken again further apart.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Sequence

import numpy as np

from ._steps import evaluate_along

__all__ = ["measure_noise", "Noise", "combined_sigma"]

#: Orders of the differences whose largest noise estimate is taken.
_ORDERS = (4, 5, 6)

#: Fewer distinct values than this among the seven samples of an output: the
#: spacing is below the resolution of ``f`` (a float32 computation inside a
#: float64 function rounds nearby points to the same value), so the samples
#: say nothing about the noise.
MIN_DISTINCT = 4


@dataclasses.dataclass(frozen=True)
class Noise:
    """A measured noise level of ``f`` near ``x``.

    Attributes:
      sigma: standard deviation per output of ``f``.
      spacing: the spacing of the seven points that resolved it (in units of x).
      resolved: the samples varied at that spacing (else ``sigma`` is a guess:
        ``f`` did not change along the direction at any spacing tried).
      evals: evaluations spent.
      samples: ``(t, f(x + t u))`` at the last spacing tried.
    """

    sigma: np.ndarray
    spacing: float
    resolved: bool
    evals: int
    samples: tuple[tuple[float, np.ndarray], ...] = ()


def measure_noise(evaluate: Callable[[np.ndarray], np.ndarray], x: np.ndarray, u: np.ndarray,
                  spacings: Sequence[float], realise: Callable[[np.ndarray], np.ndarray] | None = None) -> Noise:
    """Noise of ``f`` from seven points ``x + i delta u``, ``i = 1..7``, coarsening ``delta`` until they vary.

    The points lie on one side of ``x``: a kink *at* ``x`` (relu or ``|w|`` at
    0, the usual place of one) stays outside the stencil. Samples that show no
    variation (fewer than :data:`MIN_DISTINCT` distinct values for most
    outputs) mean the resolution of ``f`` is unknown, not that ``f`` is exact:
    the next, coarser spacing is tried (Moré & Wild's ECnoise does the same).

    >>> rng = np.random.default_rng(0)
    >>> f32 = lambda p: np.array([np.sum(np.sin(p.astype(np.float32)), dtype=np.float32)], dtype=np.float64)
    >>> nz = measure_noise(f32, np.linspace(1, 2, 50), rng.standard_normal(50), [2.0**-26, 2.0**-18, 2.0**-10])
    >>> nz.resolved, nz.spacing > 2.0**-26, bool(1e-8 < nz.sigma[0] / 75 < 1e-5)
    (True, True, True)
    """
    evals = 0
    last = None
    for delta in spacings:
        [values] = evaluate_along(evaluate, x, [(u, [i * delta for i in range(1, 8)])], realise)
        evals += len(values)
        table = np.array(values)  # (7, m)
        ordered = np.sort(table, axis=0)
        distinct = 1 + np.count_nonzero(np.diff(ordered, axis=0) != 0, axis=0)
        sigma = _sigma(table)
        last = Noise(sigma, delta, False, evals, tuple(((i + 1) * delta, table[i]) for i in range(7)))
        if np.mean(distinct >= MIN_DISTINCT) >= 0.5:
            return dataclasses.replace(last, resolved=True)
    return last


def combined_sigma(noise: Noise, cot: np.ndarray) -> np.ndarray:
    """Noise of ``cot[l] @ f`` for every row of ``cot``, from the same samples.

    The outputs' noise need not be independent: a batch-norm layer's outputs
    share the rounding of their column's mean and variance, so the noise of a
    combination can far exceed the outputs' noise added in quadrature.
    """
    table = np.array([v for _, v in noise.samples])          # (7, m)
    return _sigma(table @ np.asarray(cot, dtype=np.float64).T)


def _sigma(table: np.ndarray) -> np.ndarray:
    sigmas = []
    for k in _ORDERS:
        diff = np.diff(table, n=k, axis=0)
        gamma = math.factorial(k) ** 2 / math.factorial(2 * k)
        sigmas.append(np.sqrt(gamma * np.mean(diff**2, axis=0)))
    sigma = np.max(np.array(sigmas), axis=0)
    return np.where(np.isfinite(sigma), sigma, np.inf)
