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

Every sample ``phi(t)`` is kept (:attr:`Derivative.samples`) so one-sided
derivatives for the kink test come for free.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

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
                   noise: np.ndarray | None = None, phi0: np.ndarray | None = None) -> Derivative:
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

    >>> ev = lambda p: np.array([np.sin(p[0])])
    >>> der = central_window(ev, np.array([0.5]), np.array([1.0]), 0.1, 2.2e-16)
    >>> bool(abs(der.value[0] - np.cos(0.5)) < 1e-13)
    True
    """
    cache = {} if cache is None else cache
    if phi0 is not None:
        cache.setdefault(0.0, phi0)
    steps = _steps_of(h)
    disp_err = None
    for s in steps:
        _sample(evaluate, x, d, s, cache, realise)
        if realise is not None:
            e = _displacement_error(x, d, s, realise)
            disp_err = e if disp_err is None else np.maximum(disp_err, e)
    value, error, rounding, trusted = window_estimate(cache, h, eps, noise)
    samples = tuple(sorted((t, cache[t]) for t in _window_ts(steps) + ([0.0] if 0.0 in cache else [])))
    if disp_err is not None:
        disp_err = disp_err * 1.2  # Richardson weights amplify the rounding slightly
    return Derivative(value, error, h, "central differences", samples, disp_err, rounding, trusted,
                      sharp=trusted)


def window_estimate(samples: dict[float, np.ndarray], h: float, eps: float,
                    noise: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
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
        r = _combination(value.size)
        projected = {t: np.atleast_1d(r @ v) for t, v in samples.items()}
        overall = bool(_asymptotic(projected, steps, np.atleast_1d(np.sqrt(np.sum(sigma**2))))[0])
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
                  noise: np.ndarray | None = None, phi0: np.ndarray | None = None) -> Derivative:
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
    cache: dict[float, np.ndarray] = {} if phi0 is None else {0.0: phi0}
    h = scale * (_START if start is None else start)
    first = central_window(evaluate, x, d, h, eps, realise, cache, noise)
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
        candidate = central_window(evaluate, x, d, h, eps, realise, cache, noise)
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
        candidate = central_window(evaluate, x, d, smallest / RATIO, eps, realise, cache, noise)
        if not np.all(np.isfinite(candidate.value)):
            break
        windows.append(candidate)
        best = _consistent_best(windows)
    return dataclasses.replace(best, samples=tuple(sorted(cache.items())))


def central_pair(evaluate: Evaluate, x: np.ndarray, d: np.ndarray, h: float, eps: float,
                 realise: Callable[[np.ndarray], np.ndarray] | None = None,
                 noise: np.ndarray | None = None, max_extra: int = 6,
                 phi0: np.ndarray | None = None) -> Derivative:
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
    cache: dict[float, np.ndarray] = {} if phi0 is None else {0.0: phi0}
    windows = [central_window(evaluate, x, d, h, eps, realise, cache, noise),
               central_window(evaluate, x, d, h / RATIO, eps, realise, cache, noise)]
    for _ in range(max_extra):
        last, previous = windows[-1], windows[-2]
        if last.trusted and previous.trusted and _agree(last, previous):
            break
        if not np.all(np.isfinite(last.value)):
            break
        windows.append(central_window(evaluate, x, d, last.step / RATIO, eps, realise, cache, noise))
    best = _consistent_best(windows)
    return dataclasses.replace(best, samples=tuple(sorted(cache.items())))


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
        r = _combination(a.value.size)
        return bool(abs(float(r @ (a.value - b.value))) <= float(np.sum(a.error + b.error)))
    return bool(np.all(np.abs(a.value - b.value) <= a.error + b.error))


def combined_error(der: Derivative, cot: np.ndarray, eps: float, noise: np.ndarray | None) -> np.ndarray | None:
    """Error bars of ``cot[l] @ J d`` for a vector-valued ``f``, from the combined samples.

    Summing the per-output bars (``|cot| @ error``) treats every output's
    error as if all had the same sign at their worst: thousands of outputs of
    a layer then make the bar ``m`` times the error of one. The combination
    ``cot[l] @ phi(t)`` is itself a scalar function of ``t``: its window, its
    neighbours' disagreement and its noise (outputs' noise adding in
    quadrature) give the bar of the compared quantity directly. ``None`` for
    the complex step or when the samples are missing.
    """
    samples = dict(der.samples)
    h = der.step
    if der.method != "central differences" or any(s not in samples or -s not in samples for s in _steps_of(h)):
        return None
    sig = None if noise is None else np.sqrt((cot**2) @ (np.asarray(noise, dtype=np.float64) ** 2))
    bars = []
    for l in range(cot.shape[0]):
        proj = {t: np.atleast_1d(cot[l] @ v) for t, v in samples.items()}
        nz = None if sig is None else np.atleast_1d(sig[l])
        value, error, _, _ = window_estimate(proj, h, eps, nz)
        bar = error
        for other in (h * RATIO, h / RATIO):
            if all(s in proj and -s in proj for s in _steps_of(other)):
                bar = np.maximum(bar, np.abs(value - window_estimate(proj, other, eps, nz)[0]))
        bars.append(float(bar[0]))
    return np.array(bars)


@functools.lru_cache(maxsize=8)
def _combination(m: int) -> np.ndarray:
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


def _sample(evaluate: Evaluate, x: np.ndarray, d: np.ndarray, s: float,
            cache: dict[float, np.ndarray],
            realise: Callable[[np.ndarray], np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    for t in (s, -s):
        if t not in cache:
            point = x + t * d
            cache[t] = evaluate(point if realise is None else realise(point))
    return cache[s], cache[-s]


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
