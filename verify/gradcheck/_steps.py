"""Numerical directional derivatives, each with an estimate of its own error.

For a direction ``d`` and ``phi(t) = f(x + t d)`` (vector valued, ``m``
outputs) this module estimates ``phi'(0) = J d``:

* :func:`complex_step` -- ``Im f(x + i h d) / h``. There is no subtraction, so
  no cancellation: the result is accurate to a few units of rounding for any
  tiny ``h`` (Squire & Trapp 1998; Martins, Sturdza & Alonso 2003). Valid only
  when ``f`` is analytic along ``d``; the caller verifies that.
* :func:`central_window` -- central differences at ``h, h/4, h/16`` combined by
  two Richardson steps (error ``O(h^6)``); the error estimate is the distance
  between the last two extrapolants plus a rounding term ``~ eps |f| / h``
  (the textbook model: truncation ``~ h^2 |f'''|``, rounding ``~ eps |f| / h``).
* :func:`sweep_central` -- moves that window by factors of 4 towards whichever
  error term dominates, and keeps the step with the smallest estimated error
  that a neighbouring window confirms (the idea behind numdifftools' step
  selection, at a fraction of the cost).
* :func:`least_squares` -- an odd polynomial fitted to ``phi`` on a uniform
  grid of ``[-R, R]``: many points at large steps average the noise of ``f``
  down that a Richardson window amplifies at its smallest step. Used where a
  failure must be confirmed beyond what a window resolves.

Every sample ``phi(t)`` is kept (:attr:`Derivative.samples`) so one-sided
derivatives for the kink test come for free.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Sequence

import numpy as np

__all__ = [
    "RATIO",
    "Derivative",
    "OneSided",
    "typical_scale",
    "coordinate_scales",
    "complex_step",
    "complex_step_size",
    "central_window",
    "central_pair",
    "sweep_central",
    "one_sided",
    "curvature",
    "window_estimate",
    "combined_error",
    "least_squares",
    "fit_estimate",
    "FIT_PAIRS",
    "combination",
]

#: Ratio between successive steps of a Richardson window.
RATIO = 4.0

#: First step of a sweep, in units of the scale of ``x``: the window is
#: ``s/256, s/1024, s/4096``.
_START = 1.0 / 256.0

#: Imaginary step of the complex step, in units of the scale of ``x``. Any
#: tiny value works: the result does not depend on it to first order.
_COMPLEX_STEP = 1e-20

# Rounding of one value of f is modelled as a few units of its magnitude.
_ROUNDING_ULPS = 2.0

Evaluate = Callable[[np.ndarray], np.ndarray]


@dataclasses.dataclass(frozen=True)
class Derivative:
    """A numerical directional derivative ``J d`` with its error estimate.

    Attributes:
      value: estimate of ``J d`` (one entry per output of ``f``).
      error: estimated absolute error of ``value`` (one bar, before any safety
        factor), same shape.
      step: the (largest) step ``h`` used, in units of ``x``.
      method: ``"complex step"`` or ``"central differences"``.
      samples: real evaluations ``((t, phi(t)), ...)``, sorted by ``t``; used
        for one-sided derivatives. Empty for the complex step.
      displacement_error: where ``f`` rounds its input (a float32 function)
        the evaluation points are not exactly ``x + t d``; this is an upper
        bound of ``|actual displacement / t - d|`` per coordinate of ``x``
        (``None`` when points are exact).
      rounding: the rounding part of ``error`` (central differences only).
      trusted: the window was in the asymptotic regime (see
        :func:`window_estimate`).
      sharp: the error bar is credible and tight: the window is in the
        asymptotic regime (odd and even parts, so no breakpoint of ``f`` lies
        inside the stencil) and a neighbouring window agrees with it. The
        complex step is sharp once verified.
      spread: the largest disagreement between this value and any other
        window computed along the direction (a bound that stays honest when
        the window is not sharp); 0 when only one window exists.
      fitted: a least-squares fit over ``[-step, step]`` (:func:`least_squares`),
        not a Richardson window at ``step``.
    """

    value: np.ndarray
    error: np.ndarray
    step: float
    method: str
    samples: tuple[tuple[float, np.ndarray], ...] = ()
    displacement_error: np.ndarray | None = None
    rounding: np.ndarray | None = None
    trusted: bool = True
    sharp: bool = True
    spread: np.ndarray | None = None
    fitted: bool = False


@dataclasses.dataclass(frozen=True)
class OneSided:
    """Right and left derivatives ``phi'(0+)`` and ``phi'(0-)``, and the jump
    ``phi'(0+) - phi'(0-)`` (0 for a smooth function), with error bars."""

    right: np.ndarray
    right_error: np.ndarray
    left: np.ndarray
    left_error: np.ndarray
    jump: np.ndarray
    jump_error: np.ndarray


def typical_scale(x: np.ndarray) -> float:
    """Root-mean-square of ``x``, or 1 when ``x`` is zero.

    >>> typical_scale(np.array([3.0, -4.0]))
    3.5355339059327378
    """
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0
    return rms if rms > 0 and np.isfinite(rms) else 1.0


def coordinate_scales(x: np.ndarray) -> np.ndarray:
    """Per-coordinate step scale ``max(|x_i|, rms(x))`` (never zero)."""
    return np.maximum(np.abs(x), typical_scale(x))


def complex_step(evaluate: Evaluate, x: np.ndarray, d: np.ndarray, h: float,
                 eps: float) -> Derivative:
    """``Im f(x + i h d) / h`` (one evaluation); use ``h = complex_step_size(scale)``.

    The error bar is rounding only (``~ eps |value|``); the caller adds the
    rounding of the sum inside ``f``, which depends on the analytic gradient.

    >>> def ev(p): return np.array([np.sum(np.exp(p))])
    >>> der = complex_step(ev, np.zeros(3), np.ones(3), 1e-20, 2.2e-16)
    >>> float(der.value[0])
    3.0
    """
    y = evaluate(x + 1j * h * d)
    value = np.imag(y) / h
    return Derivative(value, _ROUNDING_ULPS * eps * np.abs(value), h, "complex step")


def complex_step_size(scale: float) -> float:
    """Imaginary step ``1e-20 * scale``: far below any truncation error."""
    return _COMPLEX_STEP * scale


def central_window(evaluate: Evaluate, x: np.ndarray, d: np.ndarray, h: float, eps: float,
                   realise: Callable[[np.ndarray], np.ndarray] | None = None,
                   cache: dict[float, np.ndarray] | None = None,
                   noise: np.ndarray | None = None, phi0: np.ndarray | None = None,
                   combo_noise: float | None = None) -> Derivative:
    """Central differences at ``h, h/4, h/16`` with two Richardson steps.

    Six evaluations (fewer when ``cache`` already holds some samples). With
    ``D(h) = (phi(h) - phi(-h)) / 2h = phi' + a h^2 + b h^4 + ...``, the first
    Richardson step removes ``a h^2``, the second ``b h^4``. The error
    estimate is ``|R2 - R1|`` (Richardson's own estimate, Press et al.,
    Numerical Recipes §5.7) plus the rounding of the smallest step,
    ``2 sigma / (h/16)`` with ``sigma`` the noise of ``f`` (measured, or
    ``eps max|phi|``). Outside the asymptotic regime -- when
    ``(D(h) - D(h/4)) / (D(h/4) - D(h/16))`` is far from 16 (or 256) -- the
    Richardson extrapolation is not trusted: the value is ``D(h/16)`` and its
    error ``|D(h/4) - D(h/16)|``.

    Args:
      evaluate: ``point -> f(point)`` as a flat array (counted by the caller).
      x, d: point and direction (flat).
      h: largest step.
      eps: unit rounding of ``f``'s values.
      realise: maps a point to the point ``f`` really sees (float32 rounding);
        ``None`` when points are exact.
      cache: ``t -> phi(t)`` samples to reuse and extend.
      noise: measured noise of each output of ``f`` (see ``_noise``).
      combo_noise: for many outputs, the measured noise of the combination
        :func:`combination` that judges the window's regime (the outputs'
        noise can be correlated: more than their noise in quadrature).

    >>> ev = lambda p: np.array([np.sin(p[0])])
    >>> der = central_window(ev, np.array([0.5]), np.array([1.0]), 0.1, 2.2e-16)
    >>> bool(abs(der.value[0] - np.cos(0.5)) < 1e-13)
    True
    """
    cache = {} if cache is None else cache
    if phi0 is not None:
        cache.setdefault(0.0, phi0)
    steps = _steps_of(h)
    _sample(evaluate, x, d, steps, cache, realise)
    disp_err = None
    for s in steps:
        if realise is not None:
            e = _displacement_error(x, d, s, realise)
            disp_err = e if disp_err is None else np.maximum(disp_err, e)
    value, error, rounding, trusted = window_estimate(cache, h, eps, noise, combo_noise)
    samples = tuple(sorted((t, cache[t]) for t in _window_ts(steps) + ([0.0] if 0.0 in cache else [])))
    if disp_err is not None:
        disp_err = disp_err * 1.2  # Richardson weights amplify the rounding slightly
    return Derivative(value, error, h, "central differences", samples, disp_err, rounding, trusted,
                      sharp=trusted)


def window_estimate(samples: dict[float, np.ndarray], h: float, eps: float,
                    noise: np.ndarray | None = None, combo_noise: float | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Value, error estimate, its rounding part, and whether the window is in the
    asymptotic regime (for every output), for the window ``h, h/4, h/16``."""
    steps = _steps_of(h)
    diffs = [(samples[s] - samples[-s]) / (2.0 * s) for s in steps]
    r2, r4 = RATIO**2, RATIO**4
    r1a = diffs[1] + (diffs[1] - diffs[0]) / (r2 - 1.0)
    r1b = diffs[2] + (diffs[2] - diffs[1]) / (r2 - 1.0)
    value = r1b + (r1b - r1a) / (r4 - 1.0)
    magnitude = np.max(np.abs(np.array([samples[t] for t in _window_ts(steps)])), axis=0)
    sigma = _ROUNDING_ULPS * eps * magnitude
    if noise is not None:
        sigma = np.maximum(sigma, noise)
    rounding = 2.0 * sigma / steps[-1]
    first, second = diffs[0] - diffs[1], diffs[1] - diffs[2]
    trusted = _asymptotic(samples, steps, sigma)
    if value.size > 1:
        # many outputs: a few always fail a ratio test by chance (their noise
        # estimate is rough); the comparisons see random combinations of
        # them, so the window's regime is judged on one such combination
        r = combination(value.size)
        needed = _window_ts(steps) + ([0.0] if 0.0 in samples else [])
        projected = dict(zip(needed, (np.array([samples[t] for t in needed]) @ r)[:, None]))
        combo_sigma = float(np.sqrt(np.sum(sigma**2)))
        if combo_noise is not None:
            combo_sigma = max(combo_sigma, combo_noise)
        overall = bool(_asymptotic(projected, steps, np.atleast_1d(combo_sigma))[0])
        trusted = np.full(value.shape, overall)
    # untrusted: the largest step may be far off and would leak into R2
    # through the Richardson weights; fall back to the smallest step
    value = np.where(trusted, value, diffs[2])
    truncation = np.where(trusted, np.abs(value - r1b), np.abs(second))
    error = truncation + rounding
    bad = ~(np.isfinite(value) & np.isfinite(error))
    if bad.any():
        error = np.where(bad, np.inf, error)
    return value, error, rounding, bool(np.all(trusted))


def _asymptotic(samples: dict[float, np.ndarray], steps: tuple[float, float, float],
                sigma: np.ndarray) -> np.ndarray:
    """Per output: the window is in the asymptotic regime of a smooth function.

    Odd part: ``(D(h) - D(h/4)) / (D(h/4) - D(h/16))`` near 16 (or 256), or
    every difference at the noise level; even part: :func:`_even_part_smooth`
    (when ``phi(0)`` is among the samples).
    """
    diffs = [(samples[s] - samples[-s]) / (2.0 * s) for s in steps]
    rounding = 2.0 * sigma / steps[-1]
    first, second = diffs[0] - diffs[1], diffs[1] - diffs[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = first / second
    asymptotic = ((ratio >= 8.0) & (ratio <= 32.0)) | ((ratio >= 128.0) & (ratio <= 512.0))
    above_noise = (np.abs(second) > 10.0 * rounding) | (np.abs(first) > 10.0 * rounding)
    if 0.0 in samples:
        # the central difference sees only the odd part; a breakpoint exactly
        # at x (|x|^3 at 0) bends the even part alone and does no harm, one
        # inside the stencil bends both, and the odd ratio can look
        # asymptotic by chance: the even part must agree then
        asymptotic = asymptotic & _even_part_smooth(samples, steps, sigma)
    return asymptotic | ~above_noise


def _even_part_smooth(samples: dict[float, np.ndarray], steps: tuple[float, float, float],
                      sigma: np.ndarray) -> np.ndarray:
    """No breakpoint of ``f`` inside the stencil: the even part is smooth too.

    ``c(t) = (phi(t) + phi(-t) - 2 phi(0)) / t^2 = phi_2 + phi_4 t^2 / 12 + ...``
    (``phi_k`` the k-th derivative) for a smooth ``phi``, so
    ``(c(h) - c(h/4)) / (c(h/4) - c(h/16))`` is near 16 (or 256). A jump of
    ``phi''`` inside the stencil (Huber, ``|x|^3``, relu², smooth-L1 next to
    ``x``) or a kink makes ``c`` change like ``t`` or ``1/t`` instead, while
    the odd part alone can look asymptotic by chance. Differences at the
    noise level of ``c`` (``~4 sigma / t^2``) say nothing and pass.
    """
    phi0 = samples[0.0]
    c = [(samples[t] + samples[-t] - 2.0 * phi0) / (t * t) for t in steps]
    first, second = c[0] - c[1], c[1] - c[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = first / second
    asymptotic = ((ratio >= 8.0) & (ratio <= 32.0)) | ((ratio >= 128.0) & (ratio <= 512.0))
    quiet = ((np.abs(first) <= 40.0 * sigma / steps[1] ** 2)
             & (np.abs(second) <= 40.0 * sigma / steps[2] ** 2))
    return asymptotic | quiet


def _steps_of(h: float) -> tuple[float, float, float]:
    return (h, h / RATIO, h / RATIO**2)


def sweep_central(evaluate: Evaluate, x: np.ndarray, d: np.ndarray, scale: float, eps: float,
                  realise: Callable[[np.ndarray], np.ndarray] | None = None,
                  max_moves: int = 10, start: float | None = None,
                  noise: np.ndarray | None = None, phi0: np.ndarray | None = None,
                  combo_noise: float | None = None) -> Derivative:
    """Choose the step of :func:`central_window` along ``d`` and return the best window.

    Starts at ``h = scale/256``; if the truncation estimate dominates, moves to
    ``h/4``, if rounding dominates, to ``4h``, and continues in that direction
    until two windows in a row fail to lower the estimated error (at most
    ``max_moves`` moves, two new evaluations each). Steps where ``f`` returns
    NaN/inf are abandoned.

    A window is accepted only if its value agrees with a neighbouring window
    (step x4 or /4) within their error estimates: far from the asymptotic
    regime a Richardson estimate can be small by accident, and a neighbour
    exposes it. If no window passes, the best one is returned with its error
    widened to the disagreement.

    >>> ev = lambda p: np.array([np.exp(p[0])])
    >>> der = sweep_central(ev, np.array([1.0]), np.array([1.0]), 1.0, 2.2e-16)
    >>> bool(abs(der.value[0] - np.e) / np.e < 1e-12)
    True
    """
    return sweeps_central(evaluate, x, [d], [scale], eps, realise, max_moves, start, noise, phi0, combo_noise)[0]


def sweeps_central(evaluate: Evaluate, x: np.ndarray, dirs: Sequence[np.ndarray], scales: Sequence[float],
                   eps: float, realise: Callable[[np.ndarray], np.ndarray] | None = None,
                   max_moves: int = 10, start: float | None = None,
                   noise: np.ndarray | None = None, phi0: np.ndarray | None = None,
                   combo_noise: float | None = None) -> list[Derivative]:
    """:func:`sweep_central` along each of ``dirs`` (each with its scale), side by side: each round, the new
    points of every sweep still running are asked in one call (:func:`evaluate_points`); a sweep's own points
    come in the order it alone would ask them, so each result is the one :func:`sweep_central` gives."""
    sweeps = [_sweep(x, d, scale, eps, realise, max_moves, start, noise, phi0, combo_noise)
              for d, scale in zip(dirs, scales)]
    results: list[Any] = [None] * len(sweeps)
    asked: dict[int, list[float]] = {}

    def advance(k: int, values: list[np.ndarray] | None) -> None:
        try:
            asked[k] = sweeps[k].send(values)
        except StopIteration as done:
            results[k] = done.value
            asked.pop(k, None)

    for k in range(len(sweeps)):
        advance(k, None)
    while asked:
        rounds = list(asked.items())
        for (k, _), values in zip(rounds, evaluate_along(evaluate, x, [(dirs[k], ts) for k, ts in rounds], realise)):
            advance(k, values)
    return results


def _sweep(x: np.ndarray, d: np.ndarray, scale: float, eps: float,
           realise: Callable[[np.ndarray], np.ndarray] | None, max_moves: int, start: float | None,
           noise: np.ndarray | None, phi0: np.ndarray | None, combo_noise: float | None):
    """:func:`sweep_central`'s step choice as a generator: it yields the steps ``t`` whose ``phi(t)`` it needs
    next and is sent their values; it returns the derivative."""
    cache: dict[float, np.ndarray] = {} if phi0 is None else {0.0: phi0}

    def window(h: float):
        ts = _new_ts(_steps_of(h), cache)
        if ts:
            cache.update(zip(ts, (yield ts)))
        return central_window(_cached_only, x, d, h, eps, realise, cache, noise, combo_noise=combo_noise)

    h = scale * (_START if start is None else start)
    first = yield from window(h)
    windows = [first]
    total = _total(first.error)
    sigma = _ROUNDING_ULPS * eps * _magnitude(first)
    if noise is not None:
        sigma = max(sigma, float(np.max(noise)))
    rounding = float(np.sum(np.broadcast_to(2.0 * sigma / (h / RATIO**2), first.error.shape)))
    if not np.isfinite(total):
        direction = 1.0 / RATIO  # f undefined at some sample: try smaller steps
    else:
        direction = 1.0 / RATIO if total - rounding > rounding else RATIO
    worse = 0
    for _ in range(max_moves):
        h = h * direction
        candidate = yield from window(h)
        windows.append(candidate)
        cand_total = _total(candidate.error)
        if cand_total < total:
            total, worse = cand_total, 0
        elif np.isfinite(total):
            # outside the asymptotic regime the estimate can rise before it
            # falls: give up only after two windows in a row do not improve
            worse += 1
            if worse >= 2:
                break
    best = _consistent_best(windows)
    for _ in range(3):
        # no window confirmed by an asymptotic neighbour (a breakpoint of f
        # inside the larger stencils): smaller steps move away from it
        if best.sharp:
            break
        smallest = min(w.step for w in windows)
        candidate = yield from window(smallest / RATIO)
        if not np.all(np.isfinite(candidate.value)):
            break
        windows.append(candidate)
        best = _consistent_best(windows)
    return dataclasses.replace(best, samples=tuple(sorted(cache.items())))


def _cached_only(point: np.ndarray) -> np.ndarray:
    raise AssertionError("a sweep's window evaluated a point it had not asked for")


def central_pair(evaluate: Evaluate, x: np.ndarray, d: np.ndarray, h: float, eps: float,
                 realise: Callable[[np.ndarray], np.ndarray] | None = None,
                 noise: np.ndarray | None = None, max_extra: int = 6,
                 phi0: np.ndarray | None = None, combo_noise: float | None = None,
                 samples: dict[float, np.ndarray] | None = None) -> Derivative:
    """Two overlapping windows, at ``h`` and ``h/4`` (eight evaluations), cross-checked.

    Used along probes after :func:`sweep_central` chose ``h`` along another
    probe: a step that suits one direction can be outside the asymptotic
    regime along another (a bend of ``f`` closer to ``x``), and the second
    window exposes it. Then the windows move to smaller steps (two
    evaluations each, at most ``max_extra``) until two neighbours are in the
    asymptotic regime and agree; the acceptance rule is :func:`sweep_central`'s.

    >>> ev = lambda p: np.array([np.sum(np.cos(p))])
    >>> der = central_pair(ev, np.zeros(2), np.array([1.0, -1.0]), 0.01, 2.2e-16)
    >>> bool(abs(der.value[0]) < 1e-12)
    True
    """
    cache: dict[float, np.ndarray] = dict(samples or {})        # samples: taken already (pair_samples)
    if phi0 is not None:
        cache.setdefault(0.0, phi0)
    _sample(evaluate, x, d, _steps_of(h) + _steps_of(h / RATIO), cache, realise)     # both windows' points at once
    windows = [central_window(evaluate, x, d, h, eps, realise, cache, noise, combo_noise=combo_noise),
               central_window(evaluate, x, d, h / RATIO, eps, realise, cache, noise, combo_noise=combo_noise)]
    for _ in range(max_extra):
        last, previous = windows[-1], windows[-2]
        if last.trusted and previous.trusted and _agree(last, previous):
            break
        if not np.all(np.isfinite(last.value)):
            break
        windows.append(central_window(evaluate, x, d, last.step / RATIO, eps, realise, cache, noise,
                                      combo_noise=combo_noise))
    best = _consistent_best(windows)
    return dataclasses.replace(best, samples=tuple(sorted(cache.items())))


#: Pairs of points ``+-R k / FIT_PAIRS`` on the grid that confirms a failure.
FIT_PAIRS = 12
#: Odd terms of the polynomials fitted (``t, t^3, ...``: degrees 3 to 11).
_FIT_TERMS = (2, 3, 4, 5, 6)
#: The noise part of a fit's error, in standard deviations of its slope (a
#: window's rounding term ``2 sigma / (h/16)`` is ~2.7 of its own).
_FIT_Z = 3.0
#: A fit whose residuals exceed this many times the measured noise (of the
#: odd part) does not describe ``phi`` on its points (too low a degree, a
#: breakpoint) and is not used. The noise of ``f`` differs between
#: directions by up to ~5x and a few residuals scatter; a larger residual
#: noise also widens the fit's own bar (twice the residual noise).
_FIT_ADEQUATE = 8.0
#: The noise that the residuals show is doubled before it sets the slope's
#: standard deviation: from ~10 degrees of freedom it is below half the true
#: noise with probability < 1 %.
_FIT_NOISE_UCB = 2.0


def least_squares(evaluate: Evaluate, x: np.ndarray, d: np.ndarray, points: Sequence[float], eps: float,
                  cache: dict[float, np.ndarray] | None = None, noise: np.ndarray | None = None,
                  phi0: np.ndarray | None = None, combo_noise: float | None = None,
                  radius: float | None = None) -> Derivative:
    """``phi'(0)`` from odd polynomials fitted to ``phi`` at ``+-points`` and the samples in ``cache``.

    A Richardson window at step ``h`` leans on its smallest step ``h/16`` and
    carries ~12 sigma / h of noise (sigma the noise of one value of ``f``). The
    odd part ``o(t) = (phi(t) - phi(-t)) / 2 = phi'(0) t + c_3 t^3 + ...``
    fitted by least squares spreads its weight over every point, and higher
    degrees reach further out: a window's samples and two more pairs at
    ``2h, 3h`` resolve ~20 times finer, twelve pairs over ``[-4h, 4h]`` finer
    still. Every sample in ``cache`` within ``radius`` (default
    ``max(points)``) joins the fit (a window's or a sweep's along the same
    direction). See
    :func:`fit_estimate` for the fits tried and their error; for many
    outputs the fit is chosen on the combination :func:`combination` (whose
    measured noise is ``combo_noise``) and used for every output. Costs two
    evaluations per point not in ``cache``; points must be exact (a float64
    ``f``). ``step`` of the result is the radius.

    >>> ev = lambda p: np.array([np.sum(np.exp(p))])
    >>> grid = [0.5 * k / 12 for k in range(1, 13)]
    >>> der = least_squares(ev, np.array([0.3]), np.array([1.0]), grid, 2.2e-16)
    >>> bool(der.sharp and abs(der.value[0] - np.exp(0.3)) < 1e-13)
    True
    """
    cache = {} if cache is None else cache
    if phi0 is not None:
        cache.setdefault(0.0, phi0)
    _sample(evaluate, x, d, points, cache, None)
    radius = float(max(points)) if radius is None else float(radius)
    value, error, sharp, spread = fit_estimate(cache, radius, eps, noise, combo_noise)
    return Derivative(value, error, radius, "central differences", tuple(sorted(cache.items())),
                      trusted=bool(np.all(sharp)), sharp=bool(np.all(sharp)), spread=spread, fitted=True)


def fit_estimate(samples: dict[float, np.ndarray], radius: float, eps: float, noise: np.ndarray | None = None,
                 combo_noise: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Value, error, sharpness and spread of the best odd-polynomial fit, per output.

    Fits with 2 to 6 odd terms on the sample points within ``radius``,
    ``radius / 2`` and ``radius / 4`` (both signs present, two degrees of
    freedom left at least), compared in consecutive pairs of degrees. The
    error of either fit of a pair is the disagreement of their slopes plus
    :data:`_FIT_Z` standard deviations of its own slope, from the larger of
    the measured ``noise`` (of one value of ``f``) and twice the noise the
    higher degree's residuals show. The higher degree qualifies when its
    residuals are within :data:`_FIT_ADEQUATE` times the measured noise of
    the odd part (the polynomial describes ``phi`` on those points: the
    degree is high enough and no breakpoint lies among them), its slope then
    bounded by the last correction like a Richardson step; the lower degree
    when both residuals are at the noise level and the slopes agree within
    their noise. The qualifying fit with the smallest error wins (``sharp``);
    without one, the fit with the smallest error (not sharp). For many
    outputs the choice is made once, on a fixed random combination of them
    (noise ``combo_noise``, or the outputs' in quadrature), so that every
    combination of the values is itself one fit. ``spread``: the largest
    disagreement with any other fit, at least the error.
    """
    # points where f is finite on both sides (f can leave its domain far out)
    ts = np.array(sorted(t for t in samples if 0.0 < t <= radius * (1 + 1e-9) and -t in samples
                         and np.all(np.isfinite(samples[t])) and np.all(np.isfinite(samples[-t]))))
    shape = np.shape(next(iter(samples.values())))
    inf = np.full(shape, np.inf)
    if ts.size < _FIT_TERMS[0] + 3:
        return np.zeros(shape), inf, np.zeros(shape, dtype=bool), inf
    odd = np.array([np.atleast_1d((samples[t] - samples[-t]) / 2.0) for t in ts])   # (k, m)
    m = odd.shape[1]
    if noise is None:
        magnitude = np.max(np.abs(np.array([samples[t] for t in ts] + [samples[-t] for t in ts])), axis=0)
        noise = _ROUNDING_ULPS * eps * magnitude
    # measured noise (a fraction of an ulp of f where only its final rounding
    # varies): the residuals check it along this direction
    floor = np.broadcast_to(np.asarray(noise, dtype=np.float64), (m,)) / np.sqrt(2.0)   # noise of the odd part
    if m == 1:
        specs, slopes, errors, ok = _fit_candidates(ts, radius, odd, floor)
    else:
        # choose on the combination, then fit every output with that choice
        r = combination(m)
        combo = float(np.sqrt(np.sum(floor**2)))
        if combo_noise is not None:
            combo = max(combo, combo_noise / np.sqrt(2.0))
        specs, slopes, errors, ok = _fit_candidates(ts, radius, (odd @ r)[:, None], np.array([combo]))
    if not specs:
        return np.zeros(shape), inf, np.zeros(shape, dtype=bool), inf
    errors = np.where(np.isfinite(slopes) & np.isfinite(errors), errors, np.inf)
    keyed = np.where(ok, errors, np.inf)
    sharp = np.any(np.isfinite(keyed), axis=0)
    pick = np.where(sharp, np.argmin(keyed, axis=0), np.argmin(errors, axis=0))
    if m == 1:
        value, error = slopes[pick, 0], errors[pick, 0]
        finite = np.where(np.isfinite(slopes), slopes, value)
        spread = np.maximum(np.max(np.abs(finite - value), axis=0), error)
    else:
        _, chosen, chosen_error, _ = _fit_candidates(ts, radius, odd, floor, only=specs[int(pick[0])])
        value, error = chosen[0], chosen_error[0]
        spread, sharp = error, np.full(m, sharp[0])
    return value.reshape(shape), error.reshape(shape), sharp.reshape(shape), spread.reshape(shape)


def _fit_candidates(ts: np.ndarray, radius: float, odd: np.ndarray, floor: np.ndarray,
                    only: tuple[float, int, bool] | None = None
                    ) -> tuple[list[tuple[float, int, bool]], np.ndarray, np.ndarray, np.ndarray]:
    """The fits :func:`fit_estimate` chooses from, for every column of ``odd`` (``k`` points).

    Returns ``(specs, slopes, errors, qualifies)``, one row per candidate; a
    spec ``(rad, p, higher)`` names the pair of fits with ``p`` and ``p + 1``
    odd terms on the points within ``rad`` and which of the two it is.
    ``only``: that candidate alone.
    """
    specs, slopes, errors, ok = [], [], [], []
    for rad in (radius, radius / 2.0, radius / 4.0):
        if only is not None and rad != only[0]:
            continue
        sel = ts <= rad * (1 + 1e-9)
        k = int(np.count_nonzero(sel))
        u, o = ts[sel] / rad, odd[sel]
        fits = {}
        for p in _FIT_TERMS:
            if k < p + 2 or only is not None and p not in (only[1], only[1] + 1):
                continue
            V = u[:, None] ** (2 * np.arange(p) + 1)
            coef, _, rank, _ = np.linalg.lstsq(V, o, rcond=None)
            if rank < p:   # points too close to 0 to tell the high powers apart
                continue
            resid = o - V @ coef
            fits[p] = (coef[0] / rad, np.sqrt(np.sum(resid**2, axis=0) / (k - p)),
                       float(np.linalg.norm(np.linalg.pinv(V)[0])) / rad)
        for p in sorted(fits):
            if p + 1 not in fits:
                continue
            (slope, s, unit), (slope2, s2, unit2) = fits[p], fits[p + 1]
            # the higher degree's residuals show the noise along this direction
            noise_odd = np.maximum(floor, _FIT_NOISE_UCB * s2)
            gap = np.abs(slope - slope2)
            adequate2 = s2 <= _FIT_ADEQUATE * floor
            # the lower degree, where the higher one agrees with it
            for higher, value, error, qualifies in (
                    (False, slope, gap + _FIT_Z * unit * noise_odd,
                     (s <= _FIT_ADEQUATE * floor) & adequate2 & (gap <= _FIT_Z * (unit + unit2) * noise_odd)),
                    # the higher degree, its last correction its truncation (Richardson's rule)
                    (True, slope2, gap + _FIT_Z * unit2 * noise_odd, adequate2)):
                if only is not None and (rad, p, higher) != only:
                    continue
                specs.append((rad, p, higher))
                slopes.append(value)
                errors.append(error)
                ok.append(qualifies)
    if not specs:
        return [], np.zeros((0, odd.shape[1])), np.zeros((0, odd.shape[1])), np.zeros((0, odd.shape[1]), dtype=bool)
    return specs, np.array(slopes), np.array(errors), np.array(ok)


def _consistent_best(windows: list[Derivative]) -> Derivative:
    """The window whose error bar, widened to its neighbours' disagreement, is smallest.

    A window's bar is at least its observed disagreement with the neighbouring
    windows (step x4 and /4): "agrees within the sum of both bars" would let a
    quantised or pre-asymptotic window with an accidentally tiny estimate pass
    with its tiny bar. A window is *sharp* when it is in the asymptotic regime
    and a neighbour in the asymptotic regime agrees with it; sharp windows are
    preferred. ``spread`` records the largest disagreement with any window
    computed, the bar of last resort.
    """
    by_step = sorted(windows, key=lambda w: w.step)
    ok = [bool(np.all(np.isfinite(w.value)) and np.all(np.isfinite(w.error))) for w in by_step]
    if not any(ok):
        return dataclasses.replace(by_step[0], sharp=False)
    best, best_key = None, None
    for i, w in enumerate(by_step):
        if not ok[i]:
            continue
        neighbours = [by_step[j] for j in (i - 1, i + 1) if 0 <= j < len(by_step) and ok[j]]
        bar = w.error
        for nb in neighbours:
            bar = np.maximum(bar, np.abs(w.value - nb.value))
        if neighbours:
            sharp = w.trusted and any(nb.trusted and _agree(w, nb) for nb in neighbours)
        else:
            sharp = w.trusted
        key = (not sharp, _total(bar))
        if best_key is None or key < best_key:
            best, best_key = dataclasses.replace(w, error=bar, sharp=bool(sharp)), key
    others = [v for v, good in zip(by_step, ok) if good and v.step != best.step]
    spread = (np.max(np.array([np.abs(best.value - v.value) for v in others]), axis=0) if others
              else np.zeros_like(best.value))
    return dataclasses.replace(best, spread=np.maximum(spread, best.error))


def _agree(a: Derivative, b: Derivative) -> bool:
    """Same value within the two error estimates: per output for a scalar
    ``f``; for many outputs along one random-sign combination of them, with
    the summed estimates, the way the checker's comparisons combine outputs
    (per output, a few of thousands disagree by chance)."""
    if a.value.size > 1:
        r = combination(a.value.size)
        return bool(abs(float(r @ (a.value - b.value))) <= float(np.sum(a.error + b.error)))
    return bool(np.all(np.abs(a.value - b.value) <= a.error + b.error))


def combined_error(der: Derivative, cot: np.ndarray, eps: float, noise: np.ndarray | None,
                   cot_noise: np.ndarray | None = None) -> np.ndarray | None:
    """Error bars of ``cot[l] @ J d`` for a vector-valued ``f``, from the combined samples.

    Summing the per-output bars (``|cot| @ error``) treats every output's
    error as if all had the same sign at their worst: thousands of outputs of
    a layer then make the bar ``m`` times the error of one. The combination
    ``cot[l] @ phi(t)`` is itself a scalar function of ``t``: its window, its
    neighbours' disagreement and its noise (outputs' noise adding in
    quadrature, or ``cot_noise``: the noise of each combination measured
    directly, where larger) give the bar of the compared quantity directly;
    for a least-squares fit, the combination's own fit. ``None`` for the
    complex step or when the samples are missing.
    """
    samples = dict(der.samples)
    h = der.step
    if not der.fitted and (der.method != "central differences"
                           or any(s not in samples or -s not in samples for s in _steps_of(h))):
        return None
    sig = None if noise is None else np.sqrt((cot**2) @ (np.asarray(noise, dtype=np.float64) ** 2))
    if cot_noise is not None:
        sig = cot_noise if sig is None else np.maximum(sig, cot_noise)
    ts = sorted(samples)
    combined = np.array([samples[t] for t in ts]) @ cot.T          # (samples, cotangents): one product
    bars = []
    for l in range(cot.shape[0]):
        proj = {t: combined[i, l:l + 1] for i, t in enumerate(ts)}
        nz = None if sig is None else np.atleast_1d(sig[l])
        if der.fitted:
            # the combination's own fit; its distance from the combined values
            # (one fit chosen for every output) widens its bar
            value, error, sharp, _ = fit_estimate(proj, h, eps, nz)
            bars.append(float(error[0] + abs(value[0] - cot[l] @ der.value)) if sharp[0] else np.inf)
            continue
        value, error, _, _ = window_estimate(proj, h, eps, nz)
        bar = error
        for other in (h * RATIO, h / RATIO):
            if all(s in proj and -s in proj for s in _steps_of(other)):
                bar = np.maximum(bar, np.abs(value - window_estimate(proj, other, eps, nz)[0]))
        bars.append(float(bar[0]))
    return np.array(bars)


@functools.lru_cache(maxsize=8)
def combination(m: int) -> np.ndarray:
    """A fixed random-sign combination of ``m`` outputs (the same for every window)."""
    r = np.random.default_rng(m).choice(np.array([-1.0, 1.0]), m)
    r.flags.writeable = False
    return r


def one_sided(derivative: Derivative, phi0: np.ndarray, eps: float,
              noise: np.ndarray | None = None) -> OneSided | None:
    """Right and left derivatives, and the jump between them, from a central window.

    With ``J(t) = (phi(t) - 2 phi(0) + phi(-t)) / t`` (the right minus the left
    difference quotient) and ``D(t)`` the central difference, the one-sided
    quotients are ``D(t) +- J(t)/2``. For a smooth ``phi``,
    ``J(t) = phi_2 t + phi_4 t^3 / 12 + ...`` (``phi_k`` the k-th derivative)
    holds odd powers only and tends to 0; at a kink it tends to the jump
    ``phi'(0+) - phi'(0-)``. So:

    * ``jump`` -- Richardson for odd powers (eliminating ``t`` and ``t^3``),
      with error ``|J2 - J1|`` plus noise: a smooth function gives 0 within it;
    * ``right``/``left`` -- the window's central value ``+- J/2``, with ``J``
      extrapolated for a general expansion (a kink's sides have curvature).

    Differencing the two one-sided quotients directly is less reliable: each
    has an ``O(t)`` expansion whose Richardson estimate fails quietly when a
    coefficient happens to be small. Needs the samples of a window; returns
    ``None`` for a complex-step derivative.

    >>> ev = lambda p: np.array([abs(p[0])])
    >>> one = one_sided(central_window(ev, np.zeros(1), np.ones(1), 0.1, 2.2e-16), np.zeros(1), 2.2e-16)
    >>> float(one.left[0]), float(one.right[0]), float(one.jump[0])
    (-1.0, 1.0, 2.0)
    """
    samples = dict(derivative.samples)
    h = derivative.step
    steps = _steps_of(h)
    if any(t not in samples or -t not in samples for t in steps):
        return None
    central, central_error, _, _ = window_estimate(samples, h, eps, noise)
    magnitude = max(float(np.max(np.abs(samples[t]))) for t in _window_ts(steps))
    magnitude = max(magnitude, float(np.max(np.abs(phi0))))
    sigma = _ROUNDING_ULPS * eps * magnitude
    if noise is not None:
        sigma = np.maximum(sigma, noise)
    rounding = 4.0 * sigma / steps[-1]
    J = [(samples[t] - 2.0 * phi0 + samples[-t]) / t for t in steps]
    first, second = J[0] - J[1], J[1] - J[2]
    j1a = J[1] + (J[1] - J[0]) / (RATIO - 1.0)
    j1b = J[2] + (J[2] - J[1]) / (RATIO - 1.0)
    jump_smooth = j1b + (j1b - j1a) / (RATIO**3 - 1.0)        # odd powers: t, then t^3
    jump_general = j1b + (j1b - j1a) / (RATIO**2 - 1.0)       # all powers: t, then t^2
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = first / second
    asymptotic = ((ratio >= 2.0) & (ratio <= 8.0)) | ((ratio >= 32.0) & (ratio <= 128.0))
    above_noise = (np.abs(first) > 10.0 * rounding) | (np.abs(second) > 10.0 * rounding)
    trusted = asymptotic | ~above_noise
    jump = np.where(trusted, jump_smooth, J[2])
    jump_error = np.where(trusted, np.abs(jump_smooth - j1b), np.abs(second)) + rounding
    value = np.where(trusted, jump_general, J[2])
    value_error = np.where(trusted, np.abs(jump_general - j1b), np.abs(second)) + rounding
    right, left = central + value / 2.0, central - value / 2.0
    side_error = central_error + value_error / 2.0
    return OneSided(right, side_error, left, side_error, jump, jump_error)


def curvature(derivative: Derivative, phi0: np.ndarray, eps: float,
              noise: np.ndarray | None = None) -> np.ndarray | None:
    """``|phi''(0)|`` along the direction, from the largest step of a window.

    ``|phi(h) + phi(-h) - 2 phi(0)| / h^2`` less its rounding: a magnitude, not
    a precise value (it sets the rounding floor of gradients computed with
    cancellation). ``None`` for a complex-step derivative.
    """
    samples = dict(derivative.samples)
    h = derivative.step
    if h not in samples or -h not in samples:
        return None
    second = np.abs(samples[h] + samples[-h] - 2.0 * phi0) / h**2
    sigma = _ROUNDING_ULPS * eps * np.maximum(np.abs(samples[h]), np.abs(phi0))
    if noise is not None:
        sigma = np.maximum(sigma, noise)
    return np.maximum(second - 4.0 * sigma / h**2, 0.0)


def _window_ts(steps: tuple[float, ...]) -> list[float]:
    return [s for s in steps] + [-s for s in steps]


def _sample(evaluate: Evaluate, x: np.ndarray, d: np.ndarray, steps: Sequence[float],
            cache: dict[float, np.ndarray], realise: Callable[[np.ndarray], np.ndarray] | None) -> None:
    """``phi(s)`` and ``phi(-s)`` for each step ``s`` into ``cache``: the points not there yet, in one call where
    ``evaluate`` takes several (:func:`evaluate_points`)."""
    ts = _new_ts(steps, cache)
    cache.update(zip(ts, evaluate_along(evaluate, x, [(d, ts)], realise)[0]))


def _new_ts(steps: Sequence[float], cache: dict[float, np.ndarray]) -> list[float]:
    ts = [t for s in steps for t in (s, -s)]
    return [t for k, t in enumerate(ts) if t not in cache and t not in ts[:k]]


def pair_samples(evaluate: Evaluate, x: np.ndarray, dirs: Sequence[np.ndarray], h: float,
                 realise: Callable[[np.ndarray], np.ndarray] | None = None) -> list[dict[float, np.ndarray]]:
    """The samples :func:`central_pair` at step ``h`` starts with, along each of ``dirs``, all asked at once (in the
    order the pairs would ask them one after another): its ``samples`` argument, one per direction."""
    ts = _new_ts(_steps_of(h) + _steps_of(h / RATIO), {})
    return [dict(zip(ts, values)) for values in evaluate_along(evaluate, x, [(d, ts) for d in dirs], realise)]


def evaluate_along(evaluate: Evaluate, x: np.ndarray, asks: Sequence[tuple[np.ndarray, Sequence[float]]],
                   realise: Callable[[np.ndarray], np.ndarray] | None = None) -> list[list[np.ndarray]]:
    """``[[f(x + t d) for t in ts] for d, ts in asks]`` (each point as ``realise`` makes it), all in one call
    where ``evaluate`` takes several (:func:`evaluate_points`)."""
    points = [x + t * d for d, ts in asks for t in ts]
    values = evaluate_points(evaluate, [p if realise is None else realise(p) for p in points])
    out, at = [], 0
    for _, ts in asks:
        out.append(values[at:at + len(ts)])
        at += len(ts)
    return out


def evaluate_points(evaluate: Evaluate, points: list[np.ndarray]) -> list[np.ndarray]:
    """``[evaluate(p) for p in points]``, in one call where ``evaluate`` takes them together (a
    :class:`~verify.gradcheck._evaluate.CountedFunction` given ``many``: ``f`` behind a process boundary)."""
    together = getattr(evaluate, "evaluate_all", None)
    return together(points) if together is not None else [evaluate(p) for p in points]


def _displacement_error(x: np.ndarray, d: np.ndarray, s: float,
                        realise: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    plus = realise(x + s * d) - x - s * d
    minus = realise(x - s * d) - x + s * d
    return np.abs(plus - minus) / (2.0 * s)


def _magnitude(der: Derivative) -> float:
    return max((float(np.max(np.abs(v))) for _, v in der.samples), default=0.0)


def _total(error: np.ndarray) -> float:
    total = float(np.sum(error))
    return total if np.isfinite(total) else np.inf
