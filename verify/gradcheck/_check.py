"""``check_grad`` and ``check_vjp``: the orchestration.

One run:

1. evaluate ``f(x)`` and settle the working precision (float64 differences
   for float32 input when ``f`` allows it);
2. call ``grad`` (or ``vjp`` for a few cotangents);
3. measure the noise of ``f`` along a Gaussian direction, further apart
   while the samples do not vary; a function whose values are float32
   numbers computes in float32 and is treated as such;
4. choose the method: the complex step only where it is proven -- along a
   Gaussian combination of every direction the verdict uses, against a sharp
   central difference whose bar is never widened -- else central differences
   (the step chosen along the first probe, every bar at least the
   disagreement of the neighbouring windows, breakpoints inside the stencil
   making a window untrusted);
5. compare: every coordinate (full mode) or a few random probes
   (directional mode); each comparison fails, passes (a sharp bar that
   resolves ``resolution`` of one entry) or stays undecided;
6. kinks: one-sided derivatives along every direction (free with central
   differences, whose samples are at hand), a found kink confirmed at a
   64x smaller step; with central differences, a probe whose window cannot
   decide gets two more pairs of points and a least-squares fit;
7. a remaining failure is diagnosed (constant factor, sign flip, zeros,
   transposition) and, in directional mode, localised by bisection; a
   complex-step failure is reported only once central differences see it
   too, along the direction where the error is concentrated -- the
   coordinate the bisection found, else the probe with the largest residual
   -- with a step sweep and, where its window cannot resolve it, a
   least-squares fit on a wider grid (if they contradict the complex step,
   the check is redone with central differences; if they cannot resolve the
   failure, it is inconclusive);
8. the Taylor-remainder test gives a second opinion along the first probe.

The verdict is FAIL when a comparison failed, INCONCLUSIVE when none failed
but one stayed undecided (the reason says why and what to try), else PASS.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any, Callable

import numpy as np

from verify.compare import Comparison, compare, format_number
from verify.results import Status

from ._diagnosis import diagnose_entries, diagnose_probes, format_indices
from ._evaluate import (CountedFunction, Precision, as_point, find_precision, realiser,
                        rounds_input, validate_vector)
from ._kinks import Kink, classify_kink
from ._localise import FoundEntry, Localisation, localise
from ._noise import combined_sigma, measure_noise
from ._options import FULL_MODE_MAX_JACOBIAN, FULL_MODE_MAX_N, Options
from ._probes import make_probes, miss_probability
from ._result import EntryError, GradCheckResult
from ._steps import (FIT_PAIRS, RATIO, Derivative, central_pair, central_window, combination, combined_error,
                     complex_step, complex_step_size, coordinate_scales, curvature, evaluate_along, evaluate_points,
                     least_squares, one_sided, pair_samples, sweep_central, sweeps_central, typical_scale)
from ._taylor import TaylorResult, taylor_test

__all__ = ["check_grad", "check_vjp", "assert_grad", "assert_vjp", "InconclusiveGradCheck"]

EPS64 = float(np.finfo(np.float64).eps)

#: Rounding of a directional derivative, in units of eps times
#: ``|analytic| + |numeric| + ||w * d||_1``: a sum of ``n`` terms (inside ``f``
#: for the complex step, inside ``grad`` for the analytic side) is accurate to
#: ``~eps ||terms||_1``. Measured on the benchmark functions at scales
#: 1e-3..1e3 and n up to 3e4: at most ~2 in these units.
C_ROUND = 4.0
#: Rounding of the analytic side, in units of its eps times
#: ``|analytic| + 6 ||w * d||_2``: each entry of ``grad`` carries a relative
#: rounding error; summed with random signs they stay within a few
#: ``||w * d||_2`` (Hoeffding: beyond 6 with probability < 1e-7).
C_GRAD = 4.0
#: Floor relative to ``||w||_2 ||d||_inf``: a gradient entry computed with
#: cancellation (``1 - tanh^2`` of a saturated unit, a batch-norm backward)
#: is accurate to eps times the size of its *terms*, which can exceed the
#: entry itself by many orders. Measured: up to ~170 in these units (a tanh
#: network with weights ~100). Still 1e-12 of the gradient norm.
C_FLOOR = 256.0
#: Floor relative to the curvature: near a minimum the gradient is a small
#: difference of large terms (``H x + b`` with ``H x ~ -b``); their size is
#: ``|phi''| s``, so the rounding of the analytic gradient along ``d`` is
#: ``~ eps |phi''| s / ||d||``. Measured: 1.5 in these units (a quadratic).
C_CURV = 16.0
#: Probes that move only the coordinates where x is exactly 0 (see
#: ``_split_at_zeros``).
ZERO_PROBES = 2
#: Spacings of the noise-measuring points, in units of the scale of x, tried
#: in turn until the samples vary: tiny first, so that the smooth part of f
#: cannot leak into sixth differences; coarser when f's own resolution is
#: coarser (float32 arithmetic inside f rounds nearby points to one value).
NOISE_SPACINGS = (2.0**-26, 2.0**-18, 2.0**-10)
#: The noise of f differs between directions (measured up to 5x between
#: random probes of Rosenbrock near its minimum, where every term cancels),
#: and a seven-point estimate along one of them is itself uncertain.
NOISE_MARGIN = 4.0
#: Measured noise above this many eps64 of |f| is reported: f is noisy or
#: computes in reduced precision (the central-difference bars use the measured
#: noise either way).
REDUCED_PRECISION = 64.0
#: The complex step is trusted only against a central-difference reference
#: whose tolerance is at most this fraction of the magnitude of the terms:
#: a dropped term larger than that shows.
SHARP_REFERENCE = 1e-6
#: A kink found along a direction is confirmed with a window this many times
#: smaller (six evaluations): a kink at x persists, a bend within the step not.
KINK_SHRINK = 64.0
#: Moves of the step sweep that gives the complex step its reference value.
REFERENCE_MOVES = 5
#: In the complex-step path, kinks are looked for along at most this many
#: failing directions (six evaluations each).
KINK_CHECKS_COMPLEX = 4
#: A gradient whose typical entry is below this fraction of ``|f| / (n s)`` is
#: ~0 (a stationary point, its entries rounding-level differences of large
#: terms): ``resolution`` is then relative to that fraction instead.
ZERO_GRADIENT = 1e-3
#: Extra points of a probe's least-squares refinement, in units of its window's
#: step: two pairs beyond the window resolve ~20 times finer (see ``_refine``).
REFINE_STEPS = (2.0, 3.0)
#: Evaluations of f a check of a correct gradient may spend on the
#: central-difference path (issue 14); refinement stops short of it.
CD_BUDGET = 128
#: Evaluations of the Taylor test.
TAYLOR_EVALS = 8


def check_grad(f: Callable[[np.ndarray], Any], grad: Callable[[np.ndarray], Any], x: Any, *,
               f_many: Callable[[list[np.ndarray]], Any] | None = None, **options: Any) -> GradCheckResult:
    """Compare ``grad(x)`` with finite differences of the scalar function ``f``.

    The verdict uses an *estimated* finite-difference error per comparison
    (Richardson extrapolation over three steps, or the complex step when ``f``
    is analytic), not fixed ``rtol``/``atol``: with float64 it catches
    relative errors far below 1e-8 while giving no false alarms.

    Args:
      f: ``x -> float``: the loss (any array shape for ``x``).
      grad: ``x -> array`` of ``x``'s shape: the gradient to check.
      x: the point (real array; float32 is differenced in float64 when ``f``
        accepts float64).
      f_many: ``points -> [f(p) for p in points]`` in one call, for an ``f``
        whose calls cost more one by one (code in another process): the
        points of one stencil are then evaluated together. It must give
        ``f``'s values; without it ``f`` is called point by point.
      **options: keyword-only, see :class:`Options`: ``mode``,
        ``n_probes``, ``probes``, ``seed``, ``step``, ``complex_step``,
        ``safety``, ``max_worst``, ``kink_tol``, ``max_wrong``, ``taylor``.

    Returns:
      A :class:`GradCheckResult` (truthy when it passed); ``str()`` of it is
      the report, in numpy.testing's layout.

    Raises:
      TypeError, ValueError: bad input to the checker (empty or non-finite
        ``x``, ``f`` not scalar, ``grad`` of the wrong shape, ``f(x)`` NaN,
        unknown option). Exceptions raised by ``f`` or ``grad`` propagate.

    Example:

    >>> r = check_grad(lambda w: np.sum(w**2), lambda w: 2 * w, np.arange(3.0))
    >>> r.passed, r.mode, r.method
    (True, 'full', 'complex step')
    >>> r = check_grad(lambda w: np.sum(w**2), lambda w: w, np.arange(1.0, 4.0))
    >>> r.passed, r.diagnosis
    (False, 'off by a constant factor 0.5: analytic = 0.5 × numeric (a missing factor 2)')

    Warning:
      ``torch.autograd.gradcheck`` (eps=1e-6, atol=1e-5, rtol=1e-3) passes
      gradients that are wrong by 0.1 %; ``scipy.optimize.check_grad`` returns
      a number, not a verdict. Tolerances here are error bars, so a failure
      means the gradient is wrong, not that a tolerance was tight.
    """
    opts = _options(options, "check_grad")
    point = as_point(x)
    F = CountedFunction(f, point.shape, scalar=True, many=f_many)
    y0, precision = find_precision(F, point)
    _require_finite(y0, "f(x)")
    if not callable(grad):
        raise TypeError(f"grad must be callable; got {type(grad).__name__}")
    g = validate_vector(grad(point), point.shape, "grad(x)")
    analytic = _GradRows(g)
    return _Checker(F, point, y0, precision, analytic, opts, "check_grad").run()


def check_vjp(f: Callable[[np.ndarray], Any], vjp: Callable[[np.ndarray, np.ndarray], Any], x: Any, *,
              f_many: Callable[[list[np.ndarray]], Any] | None = None,
              vjp_many: Callable[[np.ndarray, list[np.ndarray]], Any] | None = None, **options: Any) -> GradCheckResult:
    """Check a vector-Jacobian product ``vjp(x, dy) = J(x)^T dy`` of ``f: R^n -> R^m``.

    Directional mode draws random probes ``d`` and random cotangents ``dy``
    and compares ``<vjp(x, dy), d>`` with ``<dy, J d>`` (``J d`` by finite
    differences, one derivative per probe for all cotangents at once). Full
    mode (small ``n`` and ``n m``) compares the whole Jacobian: ``n``
    derivatives against ``m`` calls of ``vjp`` with one-hot cotangents.

    With Rademacher ``d`` and ``dy``, an error matrix whose largest entry
    exceeds the error bar is missed with probability at most
    ``2^-n_probes + 2^-n_cotangents``.

    Args:
      f: ``x -> array`` (any shapes; the output shape must not depend on x).
      vjp: ``(x, dy) -> dx`` with ``dy`` of ``f(x)``'s shape and ``dx`` of
        ``x``'s shape (batch norm's backward, a layer's backward).
      x: the point.
      f_many: as :func:`check_grad`'s.
      vjp_many: ``(x, dys) -> [vjp(x, dy) for dy in dys]`` in one call (the
        cotangents of the comparison together), likewise.
      **options: as :func:`check_grad`, plus ``n_cotangents``.

    >>> A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> r = check_vjp(lambda v: A @ v, lambda v, dy: A.T @ dy, np.ones(2))
    >>> r.passed, r.n_grad_evals
    (True, 3)
    """
    opts = _options(options, "check_vjp")
    point = as_point(x)
    F = CountedFunction(f, point.shape, scalar=False, many=f_many)
    y0, precision = find_precision(F, point)
    _require_finite(y0, "f(x)")
    if y0.size == 0:
        raise ValueError(f"f(x) returned an empty array (shape {F.out_shape}); nothing to check")
    if not callable(vjp):
        raise TypeError(f"vjp must be callable; got {type(vjp).__name__}")
    analytic = _VjpRows(vjp, point, F.out_shape, vjp_many)
    return _Checker(F, point, y0, precision, analytic, opts, "check_vjp").run()


def assert_grad(f: Callable[[np.ndarray], Any], grad: Callable[[np.ndarray], Any], x: Any,
                *, allow_inconclusive: bool = True, **options: Any) -> GradCheckResult:
    """:func:`check_grad`, raising ``AssertionError`` with the report on failure.

    An inconclusive check (no sharp estimator along some direction: the
    gradient is neither shown right nor wrong) does not raise by default; it
    emits an :class:`InconclusiveGradCheck` warning with the reason and returns
    the result. ``allow_inconclusive=False`` raises ``AssertionError`` then too.

    >>> assert_grad(np.sin, np.cos, np.array(0.3)).passed
    True
    """
    return _asserted(check_grad(f, grad, x, **options), allow_inconclusive)


def assert_vjp(f: Callable[[np.ndarray], Any], vjp: Callable[[np.ndarray, np.ndarray], Any], x: Any,
               *, allow_inconclusive: bool = True, **options: Any) -> GradCheckResult:
    """:func:`check_vjp`, raising ``AssertionError`` with the report on failure
    (inconclusive: as :func:`assert_grad`)."""
    return _asserted(check_vjp(f, vjp, x, **options), allow_inconclusive)


class InconclusiveGradCheck(UserWarning):
    """A gradient check that could not decide (``assert_grad`` with ``allow_inconclusive=True``)."""


def _asserted(result: GradCheckResult, allow_inconclusive: bool) -> GradCheckResult:
    if result.status == Status.FAIL or (result.status == Status.INCONCLUSIVE and not allow_inconclusive):
        raise AssertionError(str(result))
    if result.status == Status.INCONCLUSIVE:
        warnings.warn(f"gradient check inconclusive: {result.reason}", InconclusiveGradCheck, stacklevel=3)
    return result


# ---------------------------------------------------------------------------
# the analytic side


class _GradRows:
    """The analytic side of check_grad: one row, the gradient, cotangent 1."""

    def __init__(self, g: np.ndarray):
        self.g = g
        self.n_calls = 1
        self.dtype = g.dtype
        self.out_shape: tuple[int, ...] = ()

    def rows(self, mode: str, rng: np.random.Generator, m: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        return np.ones((1, 1)), self.g.reshape(1, -1).astype(np.float64)


class _VjpRows:
    """The analytic side of check_vjp: ``vjp(x, dy)`` for the cotangents used."""

    def __init__(self, vjp: Callable[[np.ndarray, np.ndarray], Any], x: np.ndarray,
                 out_shape: tuple[int, ...], many: Callable[[np.ndarray, list[np.ndarray]], Any] | None = None):
        if many is not None and not callable(many):
            raise TypeError(f"vjp_many must be callable; got {type(many).__name__}")
        self.vjp = vjp
        self.many = many
        self.x = x
        self.out_shape = out_shape
        self.n_calls = 0
        self.dtype = np.dtype(np.float64)

    def rows(self, mode: str, rng: np.random.Generator, m: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        cotangents = np.eye(m) if mode == "full" else make_probes(rng, count, m)
        if self.many is None or len(cotangents) < 2:
            return cotangents, np.array([self.one(dy) for dy in cotangents])
        self.n_calls += len(cotangents)
        dxs = list(self.many(self.x, [dy.reshape(self.out_shape) for dy in cotangents]))
        if len(dxs) != len(cotangents):
            raise ValueError(f"vjp_many returned {len(dxs)} values for {len(cotangents)} cotangents")
        return cotangents, np.array([self._validated(dx) for dx in dxs])

    def one(self, dy: np.ndarray) -> np.ndarray:
        """``vjp(x, dy)`` as a flat float64 array (counted, validated)."""
        self.n_calls += 1
        return self._validated(self.vjp(self.x, dy.reshape(self.out_shape)))

    def _validated(self, value: Any) -> np.ndarray:
        dx = validate_vector(value, self.x.shape, "vjp(x, dy)")
        if dx.dtype.kind == "f" and np.finfo(dx.dtype).eps > np.finfo(self.dtype).eps:
            self.dtype = dx.dtype
        return dx.reshape(-1).astype(np.float64)


# ---------------------------------------------------------------------------
# the checker


class _Checker:
    def __init__(self, F: CountedFunction, x: np.ndarray, y0: np.ndarray, precision: Precision,
                 analytic: _GradRows | _VjpRows, opts: Options, name: str):
        self.F = F
        self.x = x
        self.xf = x.reshape(-1).astype(np.float64)
        self.y0 = y0
        self.precision = precision
        self.analytic = analytic
        self.opts = opts
        self.name = name
        self.notes: list[str] = []
        self.undecided: list[str] = []   # why the verdict is inconclusive (empty: it is not)
        self.n = self.xf.size
        self.m = y0.size
        self.scale = typical_scale(self.xf)

    # -- driver ------------------------------------------------------------
    def run(self) -> GradCheckResult:
        opts = self.opts
        rng = np.random.default_rng(opts.seed)
        self.mode = self._mode()
        k_max = opts.n_probes or 16
        first = make_probes(rng, k_max if self.mode == "directional" else 1, self.n, opts.probes)
        self.d0 = first[0]
        n_cot = opts.n_cotangents or opts.n_probes or 16
        self.DY, self.W = self.analytic.rows(self.mode, rng, self.m, n_cot)
        if not np.all(np.isfinite(self.W)):
            return self._non_finite_analytic()
        self.eps_g = float(np.finfo(self.analytic.dtype).eps) if self.analytic.dtype.kind == "f" else EPS64
        if self.analytic.dtype.kind == "f" and self.analytic.dtype.itemsize < 8:
            self.notes.append(f"Note: the analytic gradient is {self.analytic.dtype}; "
                              "it is verified to that precision")
        self._settle_precision(self.d0)
        self.realise = realiser(self.precision.bound)
        self._measure_noise()
        if self.mode == "full":
            self.scales = coordinate_scales(self.xf)
            ders, _ = self._derivatives(np.eye(self.n), self.scales)
            return self._run_full(ders)
        first = self._split_at_zeros(first)
        self.P_drawn = first
        ders, self.P = self._derivatives(first, np.full(len(first), self.scale))
        return self._run_directional(ders)

    def _split_at_zeros(self, probes: np.ndarray) -> np.ndarray:
        """Probes that keep the coordinates where x is exactly 0 apart.

        Exact zeros are where kinks sit (``|w|``, relu, hinge at 0). Along a
        probe through them, the one-sided interval spans every zero
        coordinate's subgradient range, wide enough to hide an error in all
        the other coordinates (a forgotten L1 term passes inside the interval
        of a lasso with many zeros). So the probes are zero there, and
        :data:`ZERO_PROBES` more probes move only the zero coordinates, where
        the one-sided test applies.
        """
        self.zero_probes = 0
        zeros = np.flatnonzero(self.xf == 0.0)
        if zeros.size == 0 or zeros.size == self.n:
            return probes
        mask = np.zeros(self.n)
        mask[zeros] = 1.0
        extra = probes[:ZERO_PROBES] * mask
        probes = probes * (1.0 - mask)
        self.zero_probes = extra.shape[0]
        self.notes.append(f"Note: x is exactly 0 at {zeros.size} of {self.n} entries (where kinks sit): the last "
                          f"{self.zero_probes} probes move only those entries, the others all the rest")
        return np.vstack([probes, extra])

    def _mode(self) -> str:
        if self.opts.mode != "auto":
            return self.opts.mode
        if self.n > FULL_MODE_MAX_N:
            return "directional"
        if self.name == "check_vjp" and self.n * self.m > FULL_MODE_MAX_JACOBIAN:
            return "directional"
        return "full"

    # -- precision ----------------------------------------------------------
    def _settle_precision(self, d0: np.ndarray) -> None:
        p = self.precision
        if self.x.dtype != np.float64 and p.bound is None and p.eps == EPS64:
            w0 = self.W[0]
            verdict = rounds_input(self.F, self.x, self.y0, d0,
                                   lambda delta: abs(float(np.dot(w0, delta))))
            low = np.dtype(self.x.dtype)
            if verdict is True:
                self.precision = Precision(float(np.finfo(low).eps), low,
                                           f"{low} function: f rounds its input to {low} although it "
                                           "accepts float64")
            elif verdict is None:
                self.precision = Precision(float(np.finfo(low).eps), low,
                                           f"{low} input: could not tell whether f computes in float64 "
                                           f"(f is locally flat); assumed {low}")
        if self.precision.note:
            self.notes.append(f"Precision: {self.precision.note}")

    def _entry_scale(self, analytic: np.ndarray, numeric: np.ndarray, d: np.ndarray) -> np.ndarray:
        """What one wrong entry of relative size 1 adds along ``d``, per cotangent.

        ``resolution`` is relative to an entry: its own size in full mode, the
        typical entry ``||g|| / sqrt(n)`` (times ``||d||_inf``) always -- the
        same floor the zoo and the benchmark use for "one entry wrong by
        delta". Only for a gradient that is ~0 (a stationary point: below
        :data:`ZERO_GRADIENT` of ``|f| / (n s)``, the entry of f a sum of n
        terms varying over x's scale s) does that fraction of ``|f| / (n s)``
        stand in; a gradient merely smaller than f's size suggests
        (logsumexp: ``|f| ~ log n``, entries ~1/n) is resolved against itself.
        """
        typical = np.linalg.norm(self.W, axis=1) / np.sqrt(self.n) * float(np.max(np.abs(d)))
        from_f = (np.abs(self.DY) @ np.abs(self.y0)) * float(np.max(np.abs(d))) / (self.n * self.scale)
        size = np.maximum(typical, ZERO_GRADIENT * from_f)
        if self.mode == "full":
            size = np.maximum(size, np.maximum(np.abs(analytic), np.abs(numeric)))
        return size

    def _f_scale(self, d: np.ndarray) -> np.ndarray:
        """``|<cot, f(x)>| ||d|| / ||x||`` per cotangent: the size of a derivative
        along ``d`` implied by the size of f (a zero gradient is resolved
        against it, not against itself)."""
        norm_x = float(np.linalg.norm(self.xf)) or self.scale * np.sqrt(self.n)
        return (np.abs(self.DY) @ np.abs(self.y0)) * float(np.linalg.norm(d)) / norm_x

    def _measure_noise(self) -> None:
        """Measure the noise of f along a Gaussian direction of its own (seven evaluations or more).

        Gaussian, because a Rademacher probe can be an exact symmetry of f (all
        signs equal is a shift, which batch norm ignores), and rounding along a
        symmetry is no noise at all. Samples that do not vary mean the spacing
        is below f's resolution (float32 arithmetic inside a float64 function):
        the spacing grows until they do. The precision f really computes in is
        read from the noise, not from its return dtype.
        """
        seed = None if self.opts.seed is None else [self.opts.seed, 1]
        self.u = np.random.default_rng(seed).standard_normal(self.n)
        spacings = NOISE_SPACINGS if self.precision.bound is None else NOISE_SPACINGS[-1:]
        with np.errstate(all="ignore"):
            nz = measure_noise(self.F, self.xf, self.u, [s * self.scale for s in spacings[:1]], self.realise)
            if self.precision.bound is None and self.x.dtype == np.float64 and _float32_values(
                    [self.y0] + [v for _, v in nz.samples]):
                # float32 arithmetic inside f: its values are float32 numbers
                # although it returns float64; treat it as a float32 function
                self.precision = Precision(float(np.finfo(np.float32).eps), np.dtype(np.float32),
                                           "float32 function: f computes in float32 inside (its values are "
                                           "float32 numbers) although it returns float64")
                self.notes.append(f"Precision: {self.precision.note}")
                self.realise = realiser(self.precision.bound)
                spacings = NOISE_SPACINGS[-1:]
                nz = measure_noise(self.F, self.xf, self.u, [s * self.scale for s in spacings], self.realise)
                nz = dataclasses.replace(nz, evals=nz.evals + 7)
            elif not nz.resolved and len(spacings) > 1:
                more = measure_noise(self.F, self.xf, self.u, [s * self.scale for s in spacings[1:]], self.realise)
                nz = dataclasses.replace(more, evals=more.evals + nz.evals)
        self.noise_info = nz
        self.noise = NOISE_MARGIN * nz.sigma
        # many outputs: the noise of the combination that judges a window's
        # regime, measured (the outputs' noise can be correlated)
        self.combo_noise = (float(self._cot_noise(combination(self.m)[None, :])[0])
                            if self.m > 1 and nz.samples else None)
        # relative to the size of f or of its changes over x's scale (f can cancel to ~0)
        size = max(float(np.max(np.abs(self.y0))),
                   float(np.max(np.linalg.norm(self.W, axis=1))) * float(np.linalg.norm(self.xf))) or 1.0
        relative = float(np.max(nz.sigma)) / size
        if not nz.resolved:
            self.notes.append(f"Note: f did not vary along a random direction at spacings down to "
                              f"{format_number(spacings[-1])} of x's scale: its noise level is unknown and "
                              "modelled as rounding")
        elif nz.spacing > spacings[0] * self.scale and self.precision.bound is None:
            self.notes.append(f"Precision: f does not resolve changes of x below ~{format_number(nz.spacing)} "
                              f"(measured noise {relative:.1e} of |f|): it computes in reduced precision "
                              "(float32 arithmetic inside?)")
        elif relative > REDUCED_PRECISION * EPS64:
            self.notes.append(f"Precision: f is noisy: measured noise {relative:.1e} of |f|")

    # -- method -------------------------------------------------------------
    def _derivatives(self, dirs: np.ndarray, scales: np.ndarray) -> tuple[list[Derivative], np.ndarray]:
        """Derivatives along the verdict directions: the complex step where proven, else central differences."""
        opts = self.opts
        self.method = "central differences"
        self.cd_step = opts.step
        self.complex_verified = False
        self.reference: tuple[np.ndarray, Derivative] | None = None
        self.curv0: np.ndarray | None = None  # |phi''| along the reference direction (complex-step path)
        if opts.complex_step is not False:
            if self.precision.bound is not None:
                if opts.complex_step is True:
                    raise ValueError("complex_step=True needs f to see exact float64 points, but f rounds its "
                                     f"input to {self.precision.bound}")
            elif opts.complex_step is True:
                ders = [self._complex(d, self._complex_h(s), probing=False) for d, s in zip(dirs, scales)]
                if any(d is None for d in ders):
                    raise TypeError("complex_step=True but f does not return a complex value for complex input")
                self.method = "complex step"
                return ders, dirs
            else:
                ders = self._verified_complex(dirs, scales)
                if ders is not None:
                    self.method, self.complex_verified = "complex step", True
                    return ders, dirs
        return self._central_all(dirs, scales)

    def _complex_h(self, scale: float) -> float:
        return self.opts.step if self.opts.step is not None else complex_step_size(scale)

    def _verified_complex(self, dirs: np.ndarray, scales: np.ndarray) -> list[Derivative] | None:
        """Complex-step derivatives along ``dirs``, or None unless proven right along all of them.

        ``Im f(x + i h d) / h`` is linear in ``d`` for any ``f`` numpy can
        evaluate on complex input, analytic or not: ``np.abs``, ``np.var``,
        ``np.linalg.norm`` or ``.real`` just drop their part of the derivative.
        So a Gaussian combination ``w = sum_j a_j d_j`` of the verdict
        directions tests them all at once: ``sum_j a_j CS(d_j)`` must equal a
        sharp central difference along ``w``. A dropped term ``e`` with
        ``e . d_j != 0`` for some ``j`` makes them differ with probability 1
        (the ``a_j`` are Gaussian); where ``e . d_j = 0`` for every ``j`` (a
        shift that batch norm ignores) the complex step is right along every
        direction used. The reference's bar is never widened to make them agree.
        """
        cs_u = self._complex(self.u, complex_step_size(self.scale), probing=True)
        if cs_u is None:
            return None
        if not self._screen(cs_u):
            self.notes.append("Note: f accepts complex input but is not analytic (the complex step along a "
                              "random direction disagrees with the slope of f there); used central differences")
            return None
        ders = []
        for d, s in zip(dirs, scales):
            der = self._complex(d, self._complex_h(s), probing=True)
            if der is None:
                return None
            ders.append(der)
        # the complex step's own noise: the same derivative at another imaginary step
        again = self._complex(dirs[0], 0.75 * self._complex_h(float(scales[0])), probing=True)
        if again is None:
            return None
        # and the noise of f, relative to f, which multiplies Im f as well
        jitter = np.abs(again.value - ders[0].value)
        norm0 = float(np.linalg.norm(dirs[0]))
        with np.errstate(divide="ignore", invalid="ignore"):
            relative = np.where(np.abs(self.y0) > 0, self.noise / np.abs(self.y0), 0.0)
        ders = [dataclasses.replace(dd, error=dd.error + NOISE_MARGIN * jitter * float(np.linalg.norm(d)) / norm0
                                    + relative * np.abs(dd.value))
                for dd, d in zip(ders, dirs)]
        seed = None if self.opts.seed is None else [self.opts.seed, 2]
        a = np.random.default_rng(seed).standard_normal(len(dirs))
        w = a @ dirs
        norm = float(np.linalg.norm(w))
        if not norm > 0:
            return None
        a, w = a * (np.sqrt(self.n) / norm), w * (np.sqrt(self.n) / norm)
        ref = self._central(w, self.scale, sweep=True, max_moves=REFERENCE_MOVES)
        self.reference = (w, ref)
        combo = a @ np.array([dd.value for dd in ders])
        combo_err = np.abs(a) @ np.array([dd.error for dd in ders])
        Aw = _dot_rows(self.W, w[None, :])[:, 0]
        Ncd, Ncs = self.DY @ ref.value, self.DY @ combo
        # numbers only: the error of both derivatives and the rounding of the
        # sums inside f (the analytic side plays no part in this comparison)
        tol = self._numeric_tolerance(ref, w, Ncd) + self.opts.safety * (np.abs(self.DY) @ combo_err)
        size = np.maximum(_magnitude(Aw, Ncd, self.W, w), self._f_scale(w))
        sharp = ref.sharp and bool(np.all(tol <= SHARP_REFERENCE * size))
        if not sharp:
            self.notes.append(f"Note: the complex step could not be verified (central differences along a "
                              f"random combination of the directions reach only {_rel(tol, size):.1e} "
                              "relative); used central differences")
            return None
        if not np.all(np.abs(Ncs - Ncd) <= tol):
            self.notes.append("Note: f accepts complex input but is not analytic (the complex step disagrees "
                              "with central differences along a random combination of the directions, by "
                              f"{_rel(np.abs(Ncs - Ncd), size):.1e} relative); used central differences")
            return None
        self.cd_step = ref.step
        curv = curvature(ref, self.y0, self.precision.eps, self.noise)
        self.curv0 = curv
        return ders

    def _screen(self, cs_u: Derivative) -> bool:
        """Is the complex step along the noise direction ``u`` plausibly right? (no evaluation)

        The noise samples lie at ``x + t u`` for small ``t``: a forward
        difference with one Richardson step gives the slope there to a few
        digits. A clear disagreement means ``f`` is not analytic, and the
        full verification is not worth its cost. Agreement proves nothing.
        """
        samples = dict(self.noise_info.samples)
        ts = sorted(samples)
        if len(ts) < 4:
            return True
        t1, t2, t4 = ts[0], ts[1], ts[3]
        f0 = self.y0
        d1, d2, d4 = ((samples[t] - f0) / t for t in (t1, t2, t4))
        slope = 2.0 * d1 - d2
        error = np.abs(slope - (2.0 * d2 - d4)) + 8.0 * (self.noise + 2 * EPS64 * np.abs(f0)) / t1
        lhs = np.abs(self.DY @ (cs_u.value - slope))
        rhs = 10.0 * (np.abs(self.DY) @ error) + 1e-6 * (np.abs(self.DY) @ (np.abs(slope) + np.abs(cs_u.value)))
        return bool(np.all(lhs <= rhs))

    def _central_all(self, dirs: np.ndarray, scales: np.ndarray) -> tuple[list[Derivative], np.ndarray]:
        """Central differences along the verdict directions (probe 0 chooses the step)."""
        self.method = "central differences"
        if self.mode == "full":
            if self.F.many is not None and len(dirs) > 1 and self.opts.step is None:
                # f takes many points: the coordinates' sweeps run side by side, a round of all in one call
                with np.errstate(all="ignore"):
                    ders = sweeps_central(self.F, self.xf, list(dirs), [float(v) for v in scales],
                                          self.precision.eps, self.realise, noise=self.noise, phi0=self.y0,
                                          combo_noise=self.combo_noise)
                return [self._finite(der) for der in ders], dirs
            return [self._central(e, float(scales[i]), sweep=True) for i, e in enumerate(dirs)], dirs
        k = self.opts.n_probes or 8
        z = getattr(self, "zero_probes", 0)
        dirs = np.array(np.vstack([dirs[:k], dirs[len(dirs) - z:]]) if z else dirs[:k], dtype=np.float64)
        if self.reference is not None:
            # the Gaussian combination is a random direction too: its sweep is probe 0
            dirs[0], first = self.reference
            self.replaced_probe = True
        else:
            first = self._central(dirs[0], self.scale, sweep=True)
        if self.cd_step is None:
            self.cd_step = first.step
        self.first_derivative = first
        rest = list(dirs[1:])
        starts: list[dict | None] = [None] * len(rest)
        if self.F.many is not None and len(rest) > 1:      # f takes many points: every probe's first windows at once
            with np.errstate(all="ignore"):
                starts = pair_samples(self.F, self.xf, rest, self.cd_step or self.opts.step, self.realise)
        return [first] + [self._central(d, self.scale, sweep=False, samples=s) for d, s in zip(rest, starts)], dirs

    def _complex(self, d: np.ndarray, h: float, probing: bool) -> Derivative | None:
        """Complex-step derivative, or None if f rejects or drops complex input."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with np.errstate(all="ignore"):
                    der = complex_step(self.F, self.xf, d, h, EPS64)
        except Exception:
            if probing:
                return None
            raise
        if self.F.last_dtype is None or self.F.last_dtype.kind != "c" or not np.all(np.isfinite(der.value)):
            return None
        return der

    def _central(self, d: np.ndarray, scale: float, sweep: bool, max_moves: int = 10,
                 samples: dict | None = None) -> Derivative:
        eps = self.precision.eps
        with np.errstate(all="ignore"):
            if self.cd_step is not None and not sweep or self.opts.step is not None:
                der = central_pair(self.F, self.xf, d, self.cd_step or self.opts.step, eps, self.realise,
                                   noise=self.noise, phi0=self.y0, combo_noise=self.combo_noise, samples=samples)
            else:
                der = sweep_central(self.F, self.xf, d, scale, eps, self.realise, noise=self.noise,
                                    max_moves=max_moves, phi0=self.y0, combo_noise=self.combo_noise)
        return self._finite(der)

    @staticmethod
    def _finite(der: Derivative) -> Derivative:
        if not np.all(np.isfinite(der.value)):
            raise ValueError(f"f returned NaN or inf at every step tried around x (largest step "
                             f"{format_number(der.step)}): x is at the edge of f's domain")
        return der

    def _quick_step(self) -> float:
        """The step where one central difference is most accurate along probe 0:
        truncation ``C s^2`` (``C`` from the window's two smaller steps) against
        rounding ``sigma / s``; within the window's steps and down to h/64."""
        h = self.cd_step or self.opts.step
        if getattr(self, "_quick", None) is not None:
            return self._quick
        samples = dict(self.first_derivative.samples) if getattr(self, "first_derivative", None) else {}
        s = h / RATIO**2
        steps = (h / RATIO, h / RATIO**2)
        if all(t in samples and -t in samples for t in steps):
            D = [float(self.DY[0] @ (samples[t] - samples[-t])) / (2 * t) for t in steps]
            C = abs(D[0] - D[1]) / (steps[0] ** 2 - steps[1] ** 2)
            sigma = float(np.sqrt((self.DY[0] ** 2) @ (self.noise ** 2))) + 2 * EPS64 * float(np.abs(self.DY[0]) @ np.abs(self.y0))
            if C > 0:
                s = float(np.clip((sigma / (2 * C)) ** (1 / 3), h / RATIO**3, h))
        self._quick = s
        return s

    def _quick_central(self, d: np.ndarray) -> np.ndarray:
        """One central difference at the smallest step of the chosen window (two
        evaluations; its truncation is below the window's rounding): bisection only needs to tell which half of a residual
        well above the error bar is larger; the entry it ends at is measured
        with a full window."""
        s = self._quick_step()
        with np.errstate(all="ignore"):
            [ends] = evaluate_along(self.F, self.xf, [(d, (s, -s))], self.realise)
        return (ends[0] - ends[1]) / (2.0 * s)

    def _derivative(self, d: np.ndarray) -> Derivative:
        """Derivative along a direction with the chosen method and step."""
        if self.method == "complex step":
            der = self._complex(d, self._complex_h(self.scale), probing=False)
            if der is None:
                raise ValueError("f stopped returning complex values for complex input")
            return der
        return self._central(d, self.scale, sweep=False)

    # -- tolerance ------------------------------------------------------------
    def _eps_num(self) -> float:
        return EPS64 if self.method == "complex step" else self.precision.eps

    def _pair_tolerance(self, der: Derivative, d: np.ndarray, rows: np.ndarray, cot: np.ndarray,
                        analytic: np.ndarray, numeric: np.ndarray,
                        projected: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Tolerance of <rows[l], d> vs <cot[l], J d> for every cotangent l.

        ``projected``: ``der`` is the derivative of ``<dy, f>`` for one
        cotangent ``dy`` (``cot`` is then ``[[1]]``), whose value at x and
        noise are given."""
        eps_num = EPS64 if der.method == "complex step" else self.precision.eps
        err = self._combined(der, cot)
        spread1 = np.abs(rows) @ np.abs(d)            # ||w * d||_1: worst-case rounding of a sum
        spread2 = np.sqrt((rows**2) @ (d**2))          # ||w * d||_2: independent roundings, random signs
        eps_max = max(eps_num, self.eps_g)
        floor = C_FLOOR * eps_max * np.linalg.norm(rows, axis=1) * np.max(np.abs(d))
        floor = floor + C_CURV * eps_max * self._curvature_scale(der, d, cot, self.scale, projected)
        rounding = (C_ROUND * eps_num * (np.abs(numeric) + spread1)
                    + C_GRAD * self.eps_g * (np.abs(analytic) + 6.0 * spread2) + floor)
        tol = self.opts.safety * (err + rounding)
        if der.displacement_error is not None:
            tol = tol + 2.0 * (np.abs(rows) @ der.displacement_error)
        return tol

    def _curvature_scale(self, der: Derivative, d: np.ndarray, cot: np.ndarray, scale: float,
                         projected: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """``|<cot, phi''>| scale / ||d||`` for every cotangent: the size of the terms
        whose difference a gradient near a stationary point is."""
        phi0, noise = projected if projected is not None else (self.y0, self.noise)
        curv = curvature(der, phi0, self.precision.eps, noise)
        norm2 = float(d @ d)
        if curv is None:
            # complex step: the reference window, scaled to this direction
            if self.curv0 is None or projected is not None:
                return np.zeros(cot.shape[0])
            curv = self.curv0 * norm2 / self.n
        return (np.abs(cot) @ curv) * scale / np.sqrt(norm2)

    # -- decisions ------------------------------------------------------------
    def _decide(self, ders: list[Derivative], dirs: np.ndarray, A: np.ndarray, N: np.ndarray, T: np.ndarray,
                bad: np.ndarray, resolved: np.ndarray, label: Callable[[int], str],
                refined: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Fail, pass or undecided for every comparison ``(direction, cotangent)``.

        A failure needs a bar that bounds the error: along a direction without
        a sharp estimate (windows that disagree, a breakpoint inside every
        stencil) only a disagreement beyond every window computed counts. A
        pass needs a sharp estimate whose numerical bar is within half the
        ``resolution`` of one entry (so an error of ``resolution`` cannot
        pass). Everything else is undecided.
        """
        unsure = np.zeros_like(bad)
        refined = np.zeros_like(bad) if refined is None else refined
        for j, der in enumerate(ders):
            size = self._entry_scale(A[j], N[j], dirs[j])
            if not der.sharp:
                spread = der.spread if der.spread is not None else der.error
                wide = T[j] + self.opts.safety * (np.abs(self.DY) @ spread)
                bad[j] &= (np.abs(A[j] - N[j]) > wide) | refined[j]
                here = ~bad[j] & ~resolved[j] & ~refined[j]
                if here.any():
                    unsure[j] |= here
                    self.undecided.append(f"{label(j)}: no sharp estimate (the Richardson windows disagree or a "
                                          "breakpoint of f lies inside every stencil tried)")
            # resolution is the numerical derivative's: the floors for the
            # analytic side's own rounding (a float32 gradient, cancellation
            # inside grad) are the user's precision, not a limit of the check
            numeric_part = np.where(refined[j], T[j], np.minimum(T[j], self._numeric_tolerance(der, dirs[j], N[j])))
            # within half the resolution: an error of `resolution` itself then
            # exceeds the bar whatever the sign of the numerical error
            coarse = ~bad[j] & ~resolved[j] & ~unsure[j] & (2.0 * numeric_part > self.opts.resolution * size)
            if coarse.any():
                rel = 2.0 * _rel(numeric_part, size)
                unsure[j] |= coarse
                self.coarsest = max(getattr(self, "coarsest", 0.0), rel)
                self.undecided.append(f"{label(j)}: twice the error bar is {rel:.1e} of an entry, more than "
                                      f"resolution={self.opts.resolution:g}")
        return bad, unsure

    def _combined(self, der: Derivative, cot: np.ndarray) -> np.ndarray:
        """Error of ``cot @ J d``: per-output bars summed, or for many outputs
        the bar of the combination itself when it is smaller."""
        summed = np.abs(cot) @ der.error
        if der.value.size <= 1 or not der.sharp:
            return summed
        if der.fitted:
            # a fit weighs its residuals against the noise itself, not a margin over it
            combined = combined_error(der, cot, self.precision.eps, None, self._raw_noise(cot))
        else:
            combined = combined_error(der, cot, self.precision.eps, self.noise, self._cot_noise(cot))
        return summed if combined is None else np.minimum(summed, combined)

    def _raw_noise(self, cot: np.ndarray) -> np.ndarray:
        """The measured noise of ``cot[l] @ f`` without the margin: the outputs' in
        quadrature, or the combination's own where larger."""
        raw = np.sqrt((cot**2) @ (self.noise / NOISE_MARGIN) ** 2)
        measured = self._cot_noise(cot)
        return raw if measured is None else np.maximum(raw, measured / NOISE_MARGIN)

    def _cot_noise(self, cot: np.ndarray) -> np.ndarray | None:
        """The noise of ``cot[l] @ f`` measured on the noise samples (times the
        margin), for many outputs: their noise can be correlated."""
        if not self.noise_info.samples or self.m == 1:
            return None
        with np.errstate(all="ignore"):
            return NOISE_MARGIN * combined_sigma(self.noise_info, cot)

    def _numeric_tolerance(self, der: Derivative, d: np.ndarray, numeric: np.ndarray) -> np.ndarray:
        """The numerical derivative's share of a tolerance: its error estimate
        and the rounding of the sum inside f, times the safety factor."""
        eps_num = EPS64 if der.method == "complex step" else self.precision.eps
        tol = self.opts.safety * (self._combined(der, self.DY)
                                  + C_ROUND * eps_num * (np.abs(numeric) + np.abs(self.W) @ np.abs(d)))
        if der.displacement_error is not None:
            tol = tol + 2.0 * (np.abs(self.W) @ der.displacement_error)
        return tol

    def _confirm(self, d: np.ndarray, scale: float, analytic: np.ndarray, cs: np.ndarray, cs_tol: np.ndarray,
                 rows: np.ndarray, cot: np.ndarray, label: str) -> str:
        """Central differences along a direction where the complex step found a failure.

        First the step sweep along ``d`` (its windows also show a kink); where
        its bar cannot resolve the failure, a least-squares fit on a wider
        grid along ``d`` for the comparison the complex step finds most wrong
        (:func:`least_squares`: many points at large steps average the noise
        of ``f`` that a window amplifies). ``d`` is where the error is
        concentrated -- a localised coordinate, or the probe with the largest
        residual -- so it is not diluted among entries that are right.

        Returns ``"confirmed"`` (central differences see the failure too,
        beyond their bar), ``"refuted"`` (they disagree with the complex step
        beyond both bars: it is wrong along this direction, a kink or a term
        it drops) or ``"unsure"`` (the failure is below what central
        differences resolve).
        """
        saved = self.method
        self.method = "central differences"
        try:
            der = self._central(d, scale, sweep=True)
        finally:
            self.method = saved
        N = cot @ der.value
        T = self._pair_tolerance(der, d, rows, cot, analytic, N)
        one = one_sided(der, self.y0, self.precision.eps, self.noise)
        if one is not None:
            for l in range(cot.shape[0]):
                kink = classify_kink("", None, left=float(cot[l] @ one.left), right=float(cot[l] @ one.right),
                                     side_error=float(np.abs(cot[l]) @ one.left_error),
                                     jump=float(cot[l] @ one.jump), jump_error=float(np.abs(cot[l]) @ one.jump_error),
                                     analytic=float(analytic[l]), tolerance=float(T[l]),
                                     safety=self.opts.safety, kink_tol=self.opts.kink_tol)
                if kink is not None:
                    return "refuted"
        if np.any(np.abs(cs - N) > T + cs_tol):
            return "refuted"
        wide = T if der.sharp else T + self.opts.safety * (np.abs(cot) @ der.spread)
        self.confirm_bar = float(np.max(wide))
        if np.any(np.abs(analytic - N) > wide):
            k = int(np.argmax(np.abs(analytic - N) - wide))
            return self._confirmed(label, float(N[k]), float(wide[k]), float(analytic[k]), "")
        if self.realise is not None or not der.sharp:
            return "unsure"
        l = int(np.argmax(np.abs(analytic - cs)))
        dy = cot[l]
        start = self.F.n_calls
        with np.errstate(all="ignore"):
            radius = RATIO * der.step
            fit = least_squares(lambda p: np.atleast_1d(dy @ self.F(p)), self.xf, d,
                                [radius * k / FIT_PAIRS for k in range(1, FIT_PAIRS + 1)], self.precision.eps,
                                cache={t: np.atleast_1d(dy @ v) for t, v in der.samples},
                                noise=self._raw_noise(dy[None, :]))
        if not (fit.sharp and np.all(np.isfinite(fit.value))):
            return "unsure"
        projected = (np.atleast_1d(dy @ self.y0), np.atleast_1d(np.sqrt((dy**2) @ self.noise**2)))
        n_fit = fit.value
        t_fit = self._pair_tolerance(fit, d, rows[l:l + 1], np.ones((1, 1)), analytic[l:l + 1], n_fit, projected)
        if abs(float(cs[l] - n_fit[0])) > float(t_fit[0] + cs_tol[l]):
            return "refuted"
        self.confirm_bar = min(self.confirm_bar, float(t_fit[0]))
        if abs(float(analytic[l] - n_fit[0])) > float(t_fit[0]):
            how = f"; a least-squares fit on {self.F.n_calls - start} more points within ±{format_number(fit.step)}"
            return self._confirmed(label, float(n_fit[0]), float(t_fit[0]), float(analytic[l]), how)
        return "unsure"

    def _confirmed(self, label: str, numeric: float, bar: float, analytic: float, how: str) -> str:
        self.notes.append(f"Confirmed: central differences along {label} see the failure too (numeric "
                          f"{format_number(numeric, 10)} ± {format_number(bar)}, analytic "
                          f"{format_number(analytic, 10)}: off by {format_number(abs(analytic - numeric))}{how})")
        return "confirmed"

    def _redo_central(self) -> GradCheckResult:
        ders, self.P = self._central_all(self.P_drawn, np.full(len(self.P_drawn), self.scale))
        return self._run_directional(ders)

    def _fall_back(self, where: str) -> None:
        self.notes.append(f"Note: central differences contradict the complex step along {where} (f is not "
                          "analytic there: a kink, or a term numpy drops for complex input); used central "
                          "differences")
        self.undecided.clear()

    # -- full mode ------------------------------------------------------------
    def _run_full(self, ders: list[Derivative]) -> GradCheckResult:
        n, DY, W = self.n, self.DY, self.W
        scales = self.scales
        Nj = np.stack([dd.value for dd in ders], axis=1)       # (m, n)
        Ej = np.stack([dd.error for dd in ders], axis=1)
        A = W                                                  # (L, n)
        N = DY @ Nj
        E = np.abs(DY) @ Ej
        eps_max = max(self._eps_num(), self.eps_g)
        floor = C_FLOOR * eps_max * np.linalg.norm(W, axis=1)[:, None]
        floor = floor + C_CURV * eps_max * np.stack(
            [self._curvature_scale(dd, self._basis(i), DY, scales[i]) for i, dd in enumerate(ders)], axis=1)
        rounding = (C_ROUND * self._eps_num() * np.abs(N) + C_GRAD * self.eps_g * np.abs(A) + floor)
        T = self.opts.safety * (E + rounding)
        for i, dd in enumerate(ders):
            if dd.displacement_error is not None:
                T[:, i] += 2.0 * np.abs(W[:, i]) * dd.displacement_error[i]
        bad = np.abs(A - N) > T
        kinks, ok_t, resolved_t = self._find_kinks(ders, self._basis, scales, A.T, T.T, bad.T,
                                                   lambda i, l: (self._entry_label(l, i), self._entry_index(l, i)))
        kink_ok = ok_t.T
        bad &= ~kink_ok
        unconfirmed = np.zeros_like(bad)
        if self.method == "complex step" and self.complex_verified and bad.any():
            outcome = self._confirm_entries(bad, A, Nj, T)
            if outcome is None:
                ders, _ = self._central_all(np.eye(n), scales)
                return self._run_full(ders)
            unconfirmed = outcome
        T_eff = np.where(kink_ok, np.maximum(T, np.abs(A - N)), T)
        badT, unsureT = self._decide(ders, np.eye(n), A.T, N.T, T_eff.T, bad.T.copy(), resolved_t | ok_t,
                                     lambda i: self._full_label(self._unravel(i)))
        bad, unsure = badT.T, unsureT.T | unconfirmed
        shape = self._report_shape()
        A_r, N_r = A.reshape(shape), N.reshape(shape)
        T_r = T_eff.reshape(shape)
        bad_r = bad.reshape(shape)
        status = _status(bad, unsure)
        x_ndim = self.x.ndim
        diagnosis = diagnose_entries(A_r, N_r, T_r, bad_r, max_wrong=self.opts.max_wrong, x_ndim=x_ndim)
        diagnosis = self._kink_diagnosis(kinks, diagnosis)
        wrong = tuple(tuple(int(v) for v in idx) for idx in np.argwhere(bad_r))
        taylor = self._taylor(self.d0)
        return self._result(status, A_r, N_r, T_r, diagnosis, wrong, kinks, taylor, None,
                            labeler=lambda idx: self._full_label(idx))

    def _confirm_entries(self, bad: np.ndarray, A: np.ndarray, Nj: np.ndarray, T: np.ndarray) -> np.ndarray | None:
        """Confirm every failing coordinate of the complex step by central differences along it.

        Returns the comparisons left undecided (failures central differences
        cannot resolve; ``bad`` is cleared there), or None when central
        differences refute the complex step somewhere.
        """
        unconfirmed = np.zeros_like(bad)
        for i in np.flatnonzero(bad.any(axis=0)):
            label = self._full_label(self._unravel(int(i)))
            verdict = self._confirm(self._basis(int(i)), float(self.scales[i]), A[:, i], self.DY @ Nj[:, i],
                                    T[:, i], self.W, self.DY, label)
            if verdict == "refuted":
                self._fall_back(label)
                return None
            if verdict == "unsure":
                unconfirmed[:, i] = bad[:, i]
                bad[:, i] = False
                self.undecided.append(f"{label}: the complex step finds the gradient off by less than central "
                                      "differences can confirm")
        return unconfirmed

    def _confirm_found(self, loc: Localisation, l_star: int) -> str:
        """Confirm the localised entries (found with the complex step) by central differences along each."""
        rows, cot = self.W[l_star:l_star + 1], self.DY[l_star:l_star + 1]
        verdicts = []
        for e in loc.entries:
            i = e.flat_index
            label = "x[" + _idx_text(self._unravel(i)) + "]"   # a coordinate of x, for check_vjp too
            verdicts.append(self._confirm(self._basis(i), float(max(abs(self.xf[i]), self.scale)),
                                          np.array([e.analytic]), np.array([e.numeric]), np.array([e.error_bar]),
                                          rows, cot, label))
            if verdicts[-1] == "refuted":
                self._fall_back(label)
                return "refuted"
        if "confirmed" not in verdicts:
            return "unsure"
        unconfirmed = ["x[" + _idx_text(self._unravel(e.flat_index)) + "]" for e, v in zip(loc.entries, verdicts)
                       if v != "confirmed"]
        if unconfirmed:
            self.notes.append(f"Note: {', '.join(unconfirmed)} found with the complex step; central differences "
                              "cannot resolve their errors")
        return "confirmed"

    # -- directional mode -------------------------------------------------------
    def _run_directional(self, ders: list[Derivative]) -> GradCheckResult:
        P, DY, W, k = self.P, self.DY, self.W, self.P.shape[0]
        A = _dot_rows(W, P).T                                   # (k, L)
        N = np.stack([DY @ dd.value for dd in ders])            # (k, L)
        T = np.stack([self._pair_tolerance(dd, P[j], W, DY, A[j], N[j]) for j, dd in enumerate(ders)])
        bad = np.abs(A - N) > T
        kinks, kink_ok, resolved = self._directional_kinks(ders, A, T, bad)
        bad &= ~kink_ok
        refined = np.zeros_like(bad)
        if self.method != "complex step":
            N, T, bad, refined = self._refine(ders, A, N, T, bad, resolved | kink_ok)
        T_eff = np.where(kink_ok, np.maximum(T, np.abs(A - N)), T)
        multi = DY.shape[0] > 1
        bad, unsure = self._decide(ders, P, A, N, T_eff, bad, resolved | kink_ok,
                                   lambda j: self._probe_label((j,)) if not multi else f"probe {j}", refined)
        k_eff = k - getattr(self, "zero_probes", 0) - (1 if getattr(self, "replaced_probe", False) else 0)
        miss = miss_probability(max(k_eff, 1), self.opts.probes)
        if self.name == "check_vjp":
            miss = min(1.0, miss + miss_probability(DY.shape[0], "rademacher"))
        diagnosis, wrong, localisation = "", (), None
        status = _status(bad, unsure)
        if bad.any():
            # a failure seen with the complex step is reported only once central
            # differences see it too, along a localised entry or a failing probe
            cs = self.method == "complex step" and self.complex_verified
            confirmation = "confirmed" if not cs else None
            gz = bool(np.all(W == 0.0))
            diagnosis = diagnose_probes(A, N, T_eff, gz, self._candidates())
            if diagnosis is None and self.opts.max_wrong > 0:
                localisation, l_star = self._localise(A, N, T_eff, bad)
                if localisation.explained and cs:
                    # the coordinates found are where the error is concentrated:
                    # a probe, which dilutes it among right entries, cannot do better
                    confirmation = self._confirm_found(localisation, l_star)
                    if confirmation == "refuted":
                        return self._redo_central()
            elif diagnosis is None:
                diagnosis = "the probes disagree; localisation is off (max_wrong=0)"
            if confirmation is None:
                # the largest residual: central differences' bars are alike along every probe
                j, l = np.unravel_index(np.argmax(np.where(bad, np.abs(A - N), -1.0)), A.shape)
                sel = slice(int(l), int(l) + 1)
                confirmation = self._confirm(P[j], self.scale, A[j, sel], N[j, sel], T_eff[j, sel], W[sel], DY[sel],
                                             self._probe_label((int(j), int(l)) if multi else (int(j),)))
                if confirmation == "refuted":
                    return self._redo_central()
            if localisation is not None:
                diagnosis = self._localisation_diagnosis(localisation, l_star)
                wrong = tuple(self._unravel(e.flat_index) for e in localisation.entries)
                if localisation.explained and confirmation == "confirmed":
                    return self._localised_result(localisation, l_star, diagnosis, wrong, kinks,
                                                  self._taylor(P[0]), miss)
            if confirmation == "unsure":
                status = Status.INCONCLUSIVE
                where = (f", at indices {format_indices(list(wrong))} by bisection" if wrong and localisation.explained
                         else "")
                along = (f"along {', '.join('x[' + _idx_text(i) + ']' for i in wrong)}" if wrong and localisation.explained
                         else "along the most wrong probe")
                wrong, diagnosis = (), ""   # no pattern is named for a failure not confirmed
                worst = float(np.max(np.where(bad, np.abs(A - N), 0.0)))
                self.undecided.append(
                    f"the complex step finds the gradient off by up to {format_number(worst)} along the probes"
                    f"{where}, but central differences {along} resolve only "
                    f"{format_number(getattr(self, 'confirm_bar', float('nan')))} and cannot confirm it (a term "
                    "numpy drops for complex input would look the same)")
        diagnosis = self._kink_diagnosis(kinks, diagnosis)
        taylor = self._taylor(P[0])
        L = DY.shape[0]
        if L == 1:
            A_r, N_r, T_r = A[:, 0], N[:, 0], T_eff[:, 0]
        else:
            A_r, N_r, T_r = A, N, T_eff
        return self._result(status, A_r, N_r, T_r, diagnosis, wrong, kinks, taylor, miss,
                            labeler=lambda idx: self._probe_label(idx))

    def _refine(self, ders: list[Derivative], A: np.ndarray, N: np.ndarray, T: np.ndarray, bad: np.ndarray,
                settled: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """A least-squares fit along each probe whose window cannot decide.

        A probe none of whose comparisons fails, but whose window is not
        sharp or too coarse to resolve ``resolution`` of one entry, gets two
        more pairs of points at twice and three times the window's step; the
        odd polynomial fitted to them and to the samples within four times
        the step (:func:`least_squares`) replaces the window's value and bar
        for every cotangent whose bar it tightens (the comparisons returned
        as ``refined``: sharp, whatever the window was). The fit sees only
        the odd part of ``f`` along the probe, the average of the one-sided
        derivatives at a kink: probes with a kink at x (found, or a jump the
        window's samples show, or the probes through exact zeros) keep their
        windows. Refinement stops where it would take the evaluations beyond
        :data:`CD_BUDGET` (the Taylor test's counted).
        """
        refined = np.zeros_like(bad)
        if self.realise is not None:
            return N, T, bad, refined
        reserve = TAYLOR_EVALS if self.opts.taylor else 0
        first_zero_probe = len(ders) - getattr(self, "zero_probes", 0)
        for j, der in enumerate(ders):
            if bad[j].any() or settled[j].any() or j >= first_zero_probe or self._bends_at_x(der):
                continue
            size = self._entry_scale(A[j], N[j], self.P[j])
            numeric_part = np.minimum(T[j], self._numeric_tolerance(der, self.P[j], N[j]))
            if der.sharp and not np.any(2.0 * numeric_part > self.opts.resolution * size):
                continue
            cache = dict(der.samples)
            if self.F.n_calls + 2 * sum(f * der.step not in cache for f in REFINE_STEPS) + reserve > CD_BUDGET:
                break
            fit = self._fitted(der, self.P[j])
            if fit is None:
                continue
            n_fit = self.DY @ fit.value
            t_fit = self._pair_tolerance(fit, self.P[j], self.W, self.DY, A[j], n_fit)
            window = T[j] if der.sharp else T[j] + self.opts.safety * (np.abs(self.DY) @ der.spread)
            # per cotangent, whichever bounds the comparison more tightly
            better = t_fit < window
            N[j], T[j] = np.where(better, n_fit, N[j]), np.where(better, t_fit, T[j])
            refined[j] = better
            bad[j] = np.abs(A[j] - N[j]) > T[j]
        return N, T, bad, refined

    def _fitted(self, der: Derivative, d: np.ndarray) -> Derivative | None:
        """A window's samples and two more pairs at twice and three times its step,
        fitted (:func:`least_squares`, over four times the step); None unless
        the fit qualifies."""
        with np.errstate(all="ignore"):
            fit = least_squares(self.F, self.xf, d, [f * der.step for f in REFINE_STEPS], self.precision.eps,
                                cache=dict(der.samples), noise=self.noise / NOISE_MARGIN, radius=RATIO * der.step,
                                combo_noise=None if self.combo_noise is None else self.combo_noise / NOISE_MARGIN)
        return fit if fit.sharp and np.all(np.isfinite(fit.value)) else None

    def _bends_at_x(self, der: Derivative) -> bool:
        """The window's samples show a jump of the slope at x along some cotangent
        (or cannot tell): ``phi'(0+) - phi'(0-)`` beyond its error bar."""
        one = one_sided(der, self.y0, self.precision.eps, self.noise)
        if one is None:
            return True
        return bool(np.any(np.abs(self.DY @ one.jump) > np.abs(self.DY) @ one.jump_error))

    def _directional_kinks(self, ders: list[Derivative], A: np.ndarray, T: np.ndarray,
                           bad: np.ndarray) -> tuple[list[Kink], np.ndarray, np.ndarray]:
        multi = self.DY.shape[0] > 1
        return self._find_kinks(ders, lambda j: self.P[j], np.full(len(ders), self.scale), A, T, bad,
                                lambda j, l: (self._probe_label((j, l) if multi else (j,)), None))

    def _find_kinks(self, ders: list[Derivative], direction: Callable[[int], np.ndarray],
                    scales: np.ndarray, A: np.ndarray, T: np.ndarray, bad: np.ndarray,
                    where: Callable[[int, int], tuple[str, tuple[int, ...] | None]]
                    ) -> tuple[list[Kink], np.ndarray, np.ndarray]:
        """One-sided derivatives along directions; ``A, T, bad`` are (directions, cotangents).

        Central differences already hold the samples, so every direction is
        examined for free (a kink is reported even where the comparison
        passed). With the complex step, only failing directions are, and only
        when the complex step was not cross-checked (six evaluations each).
        Returns the kinks, the failing comparisons a kink explains, and every
        comparison decided by a kink with the analytic value inside.
        """
        kinks: list[Kink] = []
        ok = np.zeros_like(bad)
        resolved = np.zeros_like(bad)
        central = self.method != "complex step"
        todo = range(len(ders)) if central else np.flatnonzero(bad.any(axis=1))
        budget = len(ders) if central else self._complex_kink_budget()
        for j in todo:
            if budget <= 0:
                break
            budget -= 1
            one, der = self._one_sided(ders[j], direction(j), float(scales[j]))
            if one is None:
                continue
            cotangents = range(A.shape[1]) if central else np.flatnonzero(bad[j])
            found = self._classify(one, j, cotangents, A, T, where)
            if found:
                # a kink *at* x persists at smaller steps; a bend within the
                # step (logsumexp near a tie, tanh far from x) does not
                with np.errstate(all="ignore"):
                    small = central_window(self.F, self.xf, direction(j), der.step / KINK_SHRINK,
                                           self.precision.eps, self.realise, noise=self.noise, phi0=self.y0,
                                           combo_noise=self.combo_noise)
                one_small, _ = self._one_sided(small, direction(j), float(scales[j]))
                found = self._classify(one_small, j, [l for l, _ in found], A, T, where) if one_small else []
            found_here = bool(found)
            for l, kink in found:
                kinks.append(kink)
                ok[j, l] = kink.inside and bool(bad[j, l])
                resolved[j, l] = kink.inside
                if not kink.inside:
                    bad[j, l] = True
            if not found_here and not central:
                break  # a smooth failure: no point paying for more one-sided checks
        return kinks, ok, resolved

    def _classify(self, one, j: int, cotangents, A: np.ndarray, T: np.ndarray,
                  where: Callable[[int, int], tuple[str, tuple[int, ...] | None]]) -> list[tuple[int, Kink]]:
        out = []
        for l in cotangents:
            dy = self.DY[l]
            label, index = where(j, l)
            kink = classify_kink(label, index, left=float(dy @ one.left), right=float(dy @ one.right),
                                 side_error=float(np.abs(dy) @ one.left_error),
                                 jump=float(dy @ one.jump), jump_error=float(np.abs(dy) @ one.jump_error),
                                 analytic=float(A[j, l]), tolerance=float(T[j, l]),
                                 safety=self.opts.safety, kink_tol=self.opts.kink_tol)
            if kink is not None:
                out.append((l, kink))
        return out

    def _complex_kink_budget(self) -> int:
        # A complex step that agreed with real differences along a probe that
        # moves every coordinate has seen no kink: at a kink the complex step
        # returns one one-sided slope and central differences their average.
        return 0 if self.complex_verified else KINK_CHECKS_COMPLEX

    def _one_sided(self, der: Derivative, d: np.ndarray, scale: float):
        """One-sided derivatives along d, and the central window they came from."""
        if der.method == "complex step":
            with np.errstate(all="ignore"):
                der = sweep_central(self.F, self.xf, d, scale, self.precision.eps, self.realise,
                                    noise=self.noise, phi0=self.y0, combo_noise=self.combo_noise)
        return one_sided(der, self.y0, self.precision.eps, self.noise), der

    def _candidates(self) -> list[tuple[str, np.ndarray]]:
        if self.name != "check_grad" or self.x.ndim < 2 or self.x.shape[-1] != self.x.shape[-2]:
            return []
        g = self.W[0].reshape(self.x.shape)
        gt = np.swapaxes(g, -1, -2).reshape(-1)
        if np.array_equal(gt, self.W[0]):
            return []
        return [("numeric.T (the gradient is transposed)", _dot_rows(gt[None, :], self.P)[0][:, None])]

    def _localise(self, A: np.ndarray, N: np.ndarray, T: np.ndarray,
                  bad: np.ndarray) -> tuple[Localisation, int]:
        ratio = np.where(bad, np.abs(A - N) / np.where(T > 0, T, np.finfo(float).tiny), 0.0)
        l_star = int(np.unravel_index(np.argmax(ratio), ratio.shape)[1])
        w, dy = self.W[l_star], self.DY[l_star]

        def block(j: int, lo: int, hi: int) -> float:
            d = np.zeros(self.n)
            d[lo:hi] = self.P[j, lo:hi]
            value = self._derivative(d).value if self.method == "complex step" else self._quick_central(d)
            return float(_dot_rows(w[None, lo:hi], d[None, lo:hi])[0, 0] - dy @ value)

        self._columns: dict[int, Derivative] = {}

        def entry(i: int) -> FoundEntry:
            e = np.zeros(self.n)
            e[i] = 1.0
            der = self._derivative(e)
            numeric = float(dy @ der.value)
            tol = float(self._pair_tolerance(der, e, w[None, :], dy[None, :], np.array([w[i]]),
                                             np.array([numeric]))[0])
            if self.method != "complex step" and not abs(w[i] - numeric) > tol:
                # the window cannot tell: two more pairs of points and a fit may
                fit = self._fitted(der, e)
                if fit is not None:
                    n_fit = float(dy @ fit.value)
                    t_fit = float(self._pair_tolerance(fit, e, w[None, :], dy[None, :], np.array([w[i]]),
                                                       np.array([n_fit]))[0])
                    if t_fit < tol:
                        der, numeric, tol = fit, n_fit, t_fit
            self._columns[i] = der
            return FoundEntry(i, float(w[i]), numeric, tol)

        loc = localise(self.P, A[:, l_star] - N[:, l_star], T[:, l_star], block, entry,
                       max_wrong=self.opts.max_wrong, full_mode_hint=self.opts.full_mode_hint)
        return loc, l_star

    def _localisation_diagnosis(self, loc: Localisation, l_star: int) -> str:
        idx = [self._unravel(e.flat_index) for e in loc.entries]
        if loc.explained:
            if all(e.analytic == 0.0 for e in loc.entries):
                return f"zero where non-zero at indices {format_indices(idx)}"
            a = np.sort([e.analytic for e in loc.entries])
            nn = np.sort([e.numeric for e in loc.entries])
            bars = max(e.error_bar for e in loc.entries)
            if len(idx) >= 2 and np.all(np.abs(a - nn) <= bars):
                return f"permuted/transposed entries: the right values in the wrong places at indices {format_indices(idx)}"
            return f"a few wrong entries at indices {format_indices(idx)}"
        if idx and loc.reason.startswith("more than"):
            return f"wrong entries at indices {format_indices(idx)} and more: {loc.reason}"
        if loc.dense:
            return ("dense noise: the error is spread over many entries, none of them large "
                    f"(use {self.opts.full_mode_hint} to compare every entry)")
        return f"the probes disagree but the error could not be localised: {loc.reason}"

    def _localised_result(self, loc: Localisation, l_star: int, diagnosis: str,
                          wrong: tuple[tuple[int, ...], ...], kinks: list[Kink],
                          taylor: TaylorResult | None, miss: float) -> GradCheckResult:
        w = self.W[l_star]
        numeric = w.copy()
        tol = np.zeros(self.n)
        for e in loc.entries:
            numeric[e.flat_index] = e.numeric
            tol[e.flat_index] = e.error_bar
        shape = self.x.shape
        self.notes.insert(0, f"Directional mode: the {self.P.shape[0]} probes are explained exactly by the "
                             "entries listed; all other entries agree along every probe")
        worst = None
        if self.name == "check_vjp":
            self.notes.insert(1, "ACTUAL/DESIRED above: vjp(x, dy) and its finite-difference value for one "
                                 "random cotangent dy; the wrong Jacobian entries are listed below")
            worst = self._jacobian_entries(loc, l_star)
            if worst:
                diagnosis = diagnosis.replace("wrong entries at indices", "wrong entries of vjp(x, dy) at input "
                                              "indices") + (f"; the wrong Jacobian entries (output, input) are "
                                                            f"{format_indices([w_.index for w_ in worst])}")
                self.notes.extend(f"  {w_}" for w_ in worst)
        return self._result(Status.FAIL, w.reshape(shape), numeric.reshape(shape), tol.reshape(shape),
                            diagnosis, wrong, kinks, taylor, miss,
                            labeler=lambda idx: "x[" + _idx_text(idx) + "]", worst=worst)

    def _jacobian_entries(self, loc: Localisation, l_star: int) -> tuple[EntryError, ...]:
        """For each wrong input coordinate, bisect the cotangent to find the output.

        The numeric column ``J[:, c]`` is known from the direct measurement;
        each bisection step costs one call of ``vjp`` and no evaluation of f.
        """
        dy = self.DY[l_star]
        out: list[EntryError] = []
        for found in loc.entries:
            c = found.flat_index
            col = self._columns[c]

            def analytic_at(cot: np.ndarray) -> float:
                return float(self.analytic.one(cot)[c])

            def block(j: int, lo: int, hi: int) -> float:
                cot = np.zeros(self.m)
                cot[lo:hi] = dy[lo:hi]
                return analytic_at(cot) - float(cot @ col.value)

            def measure(r: int) -> FoundEntry:
                cot = np.zeros(self.m)
                cot[r] = 1.0
                a = analytic_at(cot)
                n_ = float(col.value[r])
                bar = (self.opts.safety * (float(col.error[r]) + C_ROUND * self._eps_num() * abs(n_)
                                           + C_GRAD * self.eps_g * abs(a)) + found.error_bar)
                return FoundEntry(r, a, n_, bar)

            sub = localise(dy[None, :], np.array([found.error]), np.array([found.error_bar]), block, measure,
                           max_wrong=self.opts.max_wrong, full_mode_hint=self.opts.full_mode_hint)
            for e in sub.entries:
                idx = self._entry_index(e.flat_index, c)
                rel = abs(e.error) / abs(e.numeric) if e.numeric else float("inf")
                out.append(EntryError(self._full_label(idx), idx, e.analytic, e.numeric, abs(e.error), rel,
                                      e.error_bar))
        return tuple(out)

    # -- Taylor -------------------------------------------------------------------
    def _taylor(self, d: np.ndarray) -> TaylorResult | None:
        if not self.opts.taylor:
            return None
        w, dy = self.W[0], self.DY[0]
        analytic = float(_dot_rows(w[None, :], d[None, :])[0, 0])
        psi0 = float(dy @ self.y0)

        def psi(hs: list[float]) -> list[float]:
            points = [self.xf + h * d for h in hs]
            real = points if self.realise is None else [self.realise(p) for p in points]
            with np.errstate(all="ignore"):
                values = evaluate_points(self.F, real)
            # a rounded point moved off the line: its move along w is taken back out
            return [float(dy @ value) - float(np.dot(w, r - p)) for value, r, p in zip(values, real, points)]

        return taylor_test(psi, psi0, analytic, self.scale, self.precision.eps)

    # -- reporting -----------------------------------------------------------------
    def _kink_diagnosis(self, kinks: list[Kink], diagnosis: str) -> str:
        if not kinks:
            return diagnosis
        labels = list(dict.fromkeys(k.label for k in kinks))
        where = ", ".join(labels[:4]) + (f" (+{len(labels) - 4} more)" if len(labels) > 4 else "")
        if self.mode == "directional":
            zeros = [self._unravel(int(i)) for i in np.flatnonzero(self.xf == 0.0)]
            hint = (f"; x is exactly 0 at indices {format_indices(zeros)}, the usual place of a kink"
                    if zeros else "")
            where += f" (a random direction; {self.opts.full_mode_hint} names the coordinates{hint})"
        bend = " (a kink at x, or a bend closer to x than the smallest step)"
        if all(k.inside for k in kinks):
            text = (f"non-differentiable point at {where}: the one-sided derivatives differ{bend} and the "
                    "analytic value lies between them (a valid subgradient)")
        else:
            text = (f"non-differentiable point at {where}: the analytic value lies OUTSIDE the interval "
                    f"between the one-sided derivatives{bend}")
        return f"{text}; {diagnosis}" if diagnosis else text

    def _result(self, status: Status, A: np.ndarray, N: np.ndarray, T: np.ndarray, diagnosis: str,
                wrong: tuple[tuple[int, ...], ...], kinks: list[Kink], taylor: TaylorResult | None,
                miss: float | None, labeler: Callable[[tuple[int, ...]], str],
                worst: tuple[EntryError, ...] | None = None) -> GradCheckResult:
        opts = self.opts
        passed = status == Status.PASS
        verdict = {Status.PASS: "passed", Status.FAIL: "FAILED"}.get(status, "INCONCLUSIVE")
        header = (f"{self.name} {verdict}: x of shape {self.x.shape} ({self.x.dtype}), {self.mode} mode, "
                  f"{self.method}")
        comp = compare(A, N, rtol=0.0, atol=0.0, tol=T, n_worst=opts.max_worst, header=header)
        if comp.ok != passed:  # kinks outside their interval are failures compare cannot see
            comp = _with_ok(comp, passed)
        if worst is None:
            worst = _worst_entries(A, N, T, opts.max_worst, labeler)
        attainable = _attainable(A, N, T)
        if self.precision.eps > EPS64 or self.eps_g > EPS64:
            self.notes.append(f"Precision: gradients can be verified to ~{attainable:.0e} relative here")
        if taylor is not None and taylor.consistent is False and kinks:
            taylor = dataclasses.replace(taylor, verdict=taylor.verdict.replace(
                "first order: the gradient is wrong along this direction",
                "first order, as expected at a non-differentiable point"))
        elif taylor is not None and taylor.consistent is False and passed:
            self.notes.append("Note: the Taylor test disagrees with the passing comparison; check f for "
                              "noise or discontinuities")
        reason = ""
        if status == Status.INCONCLUSIVE:
            reason = _inconclusive_reason(self.undecided, getattr(self, "coarsest", None), self.opts.resolution,
                                          self.opts.full_mode_hint)
        cost = (f"Cost: {self.F.n_calls} evaluations of f, {self.analytic.n_calls} of "
                f"{'grad' if self.name == 'check_grad' else 'vjp'}")
        if miss is not None:
            k = self.P.shape[0]
            cost += (f"; {k} {opts.probes} probes: an error larger than the error bar is missed with "
                     f"probability <= {miss:.2g}")
        return GradCheckResult(
            passed=passed, n_evals=self.F.n_calls, n_grad_evals=self.analytic.n_calls, mode=self.mode,
            method=self.method, max_abs_error=float(comp.max_abs), max_rel_error=float(comp.max_rel),
            worst=worst, diagnosis=diagnosis, wrong_indices=wrong, kinks=tuple(kinks), taylor=taylor,
            miss_probability=miss, attainable=attainable, notes=tuple(self.notes), comparison=comp,
            cost=cost, status=status, reason=reason)

    def _non_finite_analytic(self) -> GradCheckResult:
        shape = self.x.shape if self.name == "check_grad" else (self.W.shape[0], *self.x.shape)
        A = self.W.reshape(shape) if self.name == "check_grad" else self.W.reshape(shape)
        stand_in = np.where(np.isfinite(A), A, 0.0)
        bad = np.argwhere(~np.isfinite(A))
        idx = [tuple(int(v) for v in row) for row in bad]
        what = "grad(x)" if self.name == "check_grad" else "vjp(x, dy)"
        header = (f"{self.name} FAILED: {what} has {len(idx)} non-finite entries (NaN or inf); f was not "
                  "differenced (DESIRED shows the finite entries)")
        comp = compare(A, stand_in, rtol=0.0, atol=0.0, header=header)
        self.mode = self.mode if hasattr(self, "mode") else "full"
        self.method = "none"
        return GradCheckResult(
            passed=False, n_evals=self.F.n_calls, n_grad_evals=self.analytic.n_calls, mode=self.mode,
            method="none", max_abs_error=float("nan"), max_rel_error=float("nan"), worst=(),
            diagnosis=f"{what} is NaN or inf at indices {format_indices(idx)}",
            wrong_indices=tuple(idx) if self.name == "check_grad" else (), kinks=(), taylor=None,
            miss_probability=None, attainable=float("nan"), notes=tuple(self.notes), comparison=comp,
            cost=f"Cost: {self.F.n_calls} evaluations of f, {self.analytic.n_calls} of "
                 f"{'grad' if self.name == 'check_grad' else 'vjp'}")

    # -- labels ------------------------------------------------------------------
    def _report_shape(self) -> tuple[int, ...]:
        if self.name == "check_grad":
            return self.x.shape
        return (*self.analytic.out_shape, *self.x.shape) if self.analytic.out_shape else self.x.shape

    def _unravel(self, flat: int) -> tuple[int, ...]:
        return tuple(int(v) for v in np.unravel_index(flat, self.x.shape)) if self.x.ndim else ()

    def _basis(self, i: int) -> np.ndarray:
        e = np.zeros(self.n)
        e[i] = 1.0
        return e

    def _entry_index(self, l: int, i: int) -> tuple[int, ...]:
        if self.name == "check_grad":
            return self._unravel(i)
        out = tuple(int(v) for v in np.unravel_index(l, self.analytic.out_shape)) if self.analytic.out_shape else ()
        return out + self._unravel(i)

    def _entry_label(self, l: int, i: int) -> str:
        return self._full_label(self._entry_index(l, i))

    def _full_label(self, idx: tuple[int, ...]) -> str:
        if self.name == "check_grad":
            return "x[" + _idx_text(idx) + "]"
        return "J[" + _idx_text(idx) + "]"

    def _probe_label(self, idx: tuple[int, ...]) -> str:
        if len(idx) == 1:
            return f"probe {idx[0]}"
        return f"probe {idx[0]}, cotangent {idx[1]}"


# ---------------------------------------------------------------------------
# helpers


def _options(options: dict[str, Any], name: str) -> Options:
    known = Options.__dataclass_fields__
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise TypeError(f"{name}() got unknown option(s) {unknown}; known options: {sorted(known)}")
    return Options(**options)


def _require_finite(y: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{what} is {format_number(y[~np.isfinite(y)][0])} at the given x; "
                         "a gradient can only be checked where f is finite")


def _dot_rows(rows: np.ndarray, probes: np.ndarray) -> np.ndarray:
    """``rows @ probes.T`` in extended precision, so the analytic side adds no rounding of its own."""
    return (rows.astype(np.longdouble) @ probes.astype(np.longdouble).T).astype(np.float64)


def _idx_text(idx: tuple[int, ...]) -> str:
    return str(idx[0]) if len(idx) == 1 else ", ".join(str(i) for i in idx)


def _worst_entries(A: np.ndarray, N: np.ndarray, T: np.ndarray, count: int,
                   labeler: Callable[[tuple[int, ...]], str]) -> tuple[EntryError, ...]:
    A, N, T = (np.asarray(v, dtype=np.float64) for v in (A, N, T))
    diff = np.abs(A - N)
    bad = diff > T
    # mismatches first (largest error first), then the rest
    order = np.lexsort((-diff.ravel(), ~bad.ravel()))
    out = []
    for flat in order[:count]:
        idx = tuple(int(v) for v in np.unravel_index(flat, A.shape)) if A.ndim else ()
        a, n_, t, dd = float(A.flat[flat]), float(N.flat[flat]), float(T.flat[flat]), float(diff.flat[flat])
        rel = dd / abs(n_) if n_ != 0 else (0.0 if dd == 0 else float("inf"))
        out.append(EntryError(labeler(idx), idx, a, n_, dd, rel, t))
    return tuple(out)


def _attainable(A: np.ndarray, N: np.ndarray, T: np.ndarray) -> float:
    mag = np.maximum(np.abs(np.asarray(A, dtype=np.float64)), np.abs(np.asarray(N, dtype=np.float64)))
    sel = mag > 0
    if not sel.any():
        return float("nan")
    return float(np.median(np.asarray(T, dtype=np.float64)[sel] / mag[sel]))


def _with_ok(comp: Comparison, ok: bool) -> Comparison:
    return dataclasses.replace(comp, ok=ok)


def _magnitude(analytic: np.ndarray, numeric: np.ndarray, rows: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Size of a directional comparison per cotangent: the larger of the two
    values, of ``||w * d||_2`` (the terms the directional derivative sums) and
    of a typical entry of ``w`` times ``||d||`` (an entry far smaller than the
    others is resolved relative to them, as the gradient's rounding is)."""
    terms = np.sqrt((rows**2) @ (d**2))
    typical = np.linalg.norm(rows, axis=1) * float(np.linalg.norm(d)) / np.sqrt(max(rows.shape[1], 1))
    return np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), np.maximum(terms, typical))


def _rel(tol: np.ndarray, size: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.asarray(tol, dtype=np.float64) / np.asarray(size, dtype=np.float64)
    r = r[np.isfinite(r)]
    return float(np.max(r)) if r.size else float("inf")


def _float32_values(values: list[np.ndarray]) -> bool:
    """Are these values of f float32 numbers (and not merely short ones, like 1.0)?

    A float64 computation leaves all 53 bits of its results in use; a float32
    computation returned as float64 has zeros beyond bit 24. Values with at
    most 12 significant bits (0, 1.0, 0.5) say nothing either way.
    """
    v = np.concatenate([np.ravel(a) for a in values]).astype(np.float64)
    v = v[np.isfinite(v) & (v != 0.0)]
    if v.size == 0 or np.any(np.abs(v) > np.finfo(np.float32).max):
        return False
    if not np.all(v.astype(np.float32).astype(np.float64) == v):
        return False
    mantissa = np.frexp(v)[0]
    return bool(np.any(np.ldexp(mantissa, 12) % 1.0 != 0.0))


def _status(bad: np.ndarray, unsure: np.ndarray) -> Status:
    if bad.any():
        return Status.FAIL
    return Status.INCONCLUSIVE if unsure.any() else Status.PASS


def _inconclusive_reason(undecided: list[str], coarsest: float | None, resolution: float,
                         full_mode_hint: str) -> str:
    """Why the check could not decide, and what to try."""
    shown = list(dict.fromkeys(undecided))
    more = f" (+{len(shown) - 3} more)" if len(shown) > 3 else ""
    why = "; ".join(shown[:3]) + more
    tries = []
    if coarsest is not None:
        tries.append(f"resolution={_round_up(coarsest):g} accepts the precision f allows here (a gradient wrong by "
                     "less would pass)")
    tries.append("f computed in float64 and without noise")
    if any("sharp" in u for u in shown):
        tries.append(f"a point away from the breakpoints of f (where its pieces meet), or {full_mode_hint}")
    if any("complex step finds" in u for u in shown):
        tries.append("complex_step=True to take the complex step's word, if f is analytic (no np.abs, np.var, "
                     "np.std, np.linalg.norm or .real inside)")
    return f"no sharp estimate decides it: {why}. Try: " + "; ".join(tries)


def _round_up(value: float) -> float:
    """The power of ten at or above ``value`` (for a suggested resolution)."""
    return float(10.0 ** math.ceil(math.log10(value))) if value > 0 and math.isfinite(value) else 1.0
