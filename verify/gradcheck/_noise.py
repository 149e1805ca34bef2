"""How noisy is ``f``? The rounding term of a finite difference needs to know.

A central difference at step ``h`` carries the noise of two values of ``f``
divided by ``2h``. Modelling that noise as ``eps |f|`` underestimates it when
``f`` is a sum of large terms that cancel (a batch-norm loss, a regulariser
added to a large loss). This module measures it instead, with the method of
Moré & Wild ("Estimating computational noise", SIAM J. Sci. Comput. 33(3),
2011): evaluate ``f`` at seven equally spaced points ``x + i delta d``; high
differences ``Delta^k f`` of a smooth function vanish like ``delta^k``, so
what remains is noise, and ``sigma_k^2 = gamma_k mean((Delta^k f)^2)`` with
``gamma_k = (k!)^2 / (2k)!`` estimates its variance.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

__all__ = ["estimate_noise", "NOISE_EVALS"]

#: Evaluations spent by :func:`estimate_noise` (``f(x)`` is supplied).
NOISE_EVALS = 6

_ORDERS = (4, 5, 6)


def estimate_noise(evaluate: Callable[[np.ndarray], np.ndarray], x: np.ndarray, d: np.ndarray,
                   delta: float, y0: np.ndarray,
                   realise: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Standard deviation of the noise of each output of ``f`` near ``x``.

    Args:
      evaluate: ``point -> f(point)`` (flat), counted by the caller.
      x, d: point and direction.
      delta: spacing of the seven points ``x + i delta d``, ``i = -3..3``;
        small enough that ``delta^4 |f''''|`` is far below the noise.
      y0: ``f(x)`` (so only six new evaluations are made).
      realise: float32 rounding of the points, if ``f`` rounds its input.

    Returns:
      The largest of ``sigma_4, sigma_5, sigma_6`` per output (an
      overestimate when the smooth part leaks into the differences).

    >>> rng = np.random.default_rng(0)
    >>> noisy = lambda p: np.array([np.sum(p**2) + 1e-10 * rng.standard_normal()])
    >>> s = estimate_noise(noisy, np.ones(3), np.ones(3), 1e-4, noisy(np.ones(3)))
    >>> bool(1e-11 < s[0] < 1e-9)
    True
    """
    values = []
    for i in range(-3, 4):
        if i == 0:
            values.append(np.asarray(y0, dtype=np.float64))
            continue
        point = x + (i * delta) * d
        values.append(evaluate(point if realise is None else realise(point)))
    table = np.array(values)  # (7, m)
    sigmas = []
    for k in _ORDERS:
        diff = np.diff(table, n=k, axis=0)
        gamma = math.factorial(k) ** 2 / math.factorial(2 * k)
        sigmas.append(np.sqrt(gamma * np.mean(diff**2, axis=0)))
    sigma = np.max(np.array(sigmas), axis=0)
    return np.where(np.isfinite(sigma), sigma, np.inf)
