"""Goodness of fit against a fully specified distribution: Anderson-Darling and Kolmogorov-Smirnov.

The hypothesised distribution has *known* parameters (nothing is estimated
from the sample), so a wrong scale is a departure too, and the p-values
come from the fully specified ("case 0") null distributions:

* Anderson-Darling (Anderson & Darling 1952, 1954). ``A^2`` is computed from
  ``log F`` and ``log(1 - F)`` directly (accurate in the tails). Its p-value
  combines

  - for ``A^2 < 6`` (p > ~1e-3): Marsaglia & Marsaglia (2004), "Evaluating
    the Anderson-Darling distribution", J. Stat. Softw. 9(2): the
    asymptotic distribution ``ADinf`` (|error| < 2e-6) plus their finite-n
    correction ``errfix`` (for every n);
  - for ``A^2 >= 5``: the large-deviation expansion of the asymptotic law
    ``A^2 = sum_j Z_j^2 / (j (j+1))`` (Anderson & Darling 1952). Conditioning
    on the leading term ``Z_1^2 / 2`` and expanding ``erfc`` in ``1/z`` gives
    ``P(A^2 > z) = sqrt(3) erfc(sqrt z) [1 + m1/(2z) + (3 m2/8 - m1/2)/z^2
    + (5 m3/16 - 3 m2/4 + 5 m1/4)/z^3 + O(z^-4)]``, where
    ``sqrt 3 = prod_{j>=2} (1 - 2/(j(j+1)))^(-1/2)`` and ``m1 = 11/18``,
    ``m2``, ``m3`` are the raw moments of ``R = sum_{j>=2} Z_j^2/(j(j+1))``
    under exponential tilting at ``t = 1`` (``R`` becomes
    ``sum_{k>=1} Z^2 / (k (k+3))``). Checked against exact numerical
    inversion of the characteristic function
    (``prod_j (1 - 2it/(j(j+1)))^(-1/2)``): relative error < 0.12 % for
    ``z >= 5``, decreasing like ``z^-4`` (3e-5 at ``z = 15``, p ~ 1e-7).
    Marsaglia's ``ADinf`` is accurate only in absolute terms there (its
    relative error is -2 % at p = 1e-4 and -50 % at p = 1e-5); the
    multiple-test levels here are ~1e-8, so relative accuracy in the far
    tail is what matters. Marsaglia's finite-n correction is applied there
    too (a relative change of about 0.47/n).

  Anderson-Darling weights the tails, where initialiser bugs (uniform instead
  of normal, wrong truncation) show most, so it is the default.

* Kolmogorov-Smirnov: ``D = sup |F_n - F|``, p-value from the exact
  distribution of ``D_n`` (``scipy.stats.kstwo``; Simard & L'Ecuyer 2011).

Bounded hypotheses (uniform, truncated normal): a value outside the support
(beyond a relative rounding tolerance of 1e-6 of its width) is impossible
under the null, so the p-value is 0 and the message says how many values
fell outside.

Shape whatever the scale: with ``scale=(lo, hi)`` the hypothesis is the whole
family over a confidence interval for the scale (:func:`scale_interval`);
the statistic is minimised over the interval and the p-value is Berger &
Boos' (1994) ``sup p(s) + P(interval misses)``. A σ error is then not a
shape failure. :func:`support_test` counts values beyond the bounds of a
bounded family at the largest plausible scale (O(n): millions of values).

R. L. Berger, D. D. Boos (1994), P values maximized over a confidence set
for the nuisance parameter, *JASA* 89.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np
from scipy import optimize as _opt
from scipy import special as _sp
from scipy import stats as _st

from verify.evidence import ShapeDetails, SupportDetails
from verify.stats.core import (
    DEFAULT_ALPHA,
    DEFAULT_POWER,
    StatTest,
    _alpha,
    _check_truncation,
    _finite,
    _positive,
    _power,
    _sample,
    canonical_distribution,
    distribution_std,
    excess_kurtosis,
    fmt,
    fmt_p,
    make_result,
    z_power,
)

__all__ = [
    "shape_test",
    "scale_interval",
    "support_test",
    "anderson_darling_statistic",
    "anderson_darling_pvalue",
    "anderson_darling_critical_value",
]

# Raw moments of R = sum_{k>=1} Z_k^2 / (k (k+3)) (the remainder after the
# leading term, exponentially tilted at t = 1): cumulants 2^(j-1) (j-1)! sum mu_k^j.
_MU = 1.0 / (np.arange(1.0, 200_001.0) * np.arange(4.0, 200_004.0))
_K1 = 11.0 / 18.0                                          # sum mu_k, exact
_K2 = (2.0 / 9.0) * (math.pi**2 / 3.0 - 31.0 / 12.0)      # 2 sum mu_k^2, exact
_K3 = 8.0 * float(np.sum(_MU**3))                          # tail beyond 2e5 < 1e-30
_M1 = _K1
_M2 = _K2 + _K1**2
_M3 = _K3 + 3.0 * _K2 * _K1 + _K1**3
del _MU
_SWITCH = 5.0  # A^2 above which the large-deviation expansion is used
_LOG_TINY = math.log(np.finfo(np.float64).tiny)

# Marsaglia & Marsaglia's errfix polynomial for x > 0.8, re-expanded in
# q = 1 - x so it can be evaluated without cancellation when p = q is tiny.
# The constant term (-6e-4, rounding residue of the published coefficients)
# is dropped so the correction vanishes as p -> 0, as it must.
_ERRFIX_HI = np.array([-130.2137, 745.2337, -1705.091, 1950.646, -1116.360, 255.7844])


def _errfix_hi_in_q() -> np.ndarray:
    P = np.polynomial.polynomial
    out = np.zeros(1)
    for k, c in enumerate(_ERRFIX_HI):
        out = P.polyadd(out, c * P.polypow([1.0, -1.0], k))
    out[0] = 0.0
    return out


_ERRFIX_HI_Q = _errfix_hi_in_q()


def _ad_inf_sf(z: float) -> float:
    """P(A^2 > z) for the asymptotic (n -> infinity) Anderson-Darling law."""
    if z <= 0.0:
        return 1.0
    if z < 2.0:
        cdf = math.exp(-1.2337141 / z) / math.sqrt(z) * (
            2.00012 + (0.247105 - (0.0649821 - (0.0347962 - (0.011672 - 0.00168691 * z) * z) * z) * z) * z
        )
        return 1.0 - cdf
    if z < _SWITCH:
        e = 1.0776 - (2.30695 - (0.43424 - (0.082433 - (0.008056 - 0.0003146 * z) * z) * z) * z) * z
        return -math.expm1(-math.exp(e))
    e = 1.0 / z
    series = 1.0 + e * (_M1 / 2.0 + e * (3.0 * _M2 / 8.0 - _M1 / 2.0 + e * (5.0 * _M3 / 16.0 - 0.75 * _M2 + 1.25 * _M1)))
    return math.sqrt(3.0) * float(_sp.erfc(math.sqrt(z))) * series


def anderson_darling_pvalue(a2: float, n: int | None = None) -> float:
    """P(A^2_n >= a2) under a fully specified continuous null.

    ``n=None`` gives the asymptotic law. See the module docstring for the
    method (Marsaglia & Marsaglia 2004 in the body, a large-deviation
    expansion in the tail) and its accuracy.

    >>> round(anderson_darling_pvalue(2.492), 3)     # Stephens' 5 % point
    0.05
    """
    z = float(a2)
    if math.isnan(z):
        raise ValueError("A^2 is NaN")
    if math.isinf(z):
        return 0.0
    q = _ad_inf_sf(z)
    if n is None:
        return q
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    x = 1.0 - q
    if x > 0.8:
        v = float(np.polynomial.polynomial.polyval(q, _ERRFIX_HI_Q)) / n
        p = q - v
        # Guard: the correction is a relative change of ~0.47/n in the tail.
        return float(min(1.0, max(p, 0.5 * q)))
    c = 0.01265 + 0.1757 / n
    if x < c:
        t = x / c
        t = math.sqrt(t) * (1.0 - t) * (49.0 * t - 102.0)
        v = t * (0.0037 / (n * n) + 0.00078 / n + 0.00006) / n
    else:
        t = (x - c) / (0.8 - c)
        t = -0.00022633 + (6.54034 - (14.6538 - (14.458 - (8.259 - 1.91864 * t) * t) * t) * t) * t
        v = t * (0.04213 / n + 0.01365 / (n * n)) / n
    return float(min(1.0, max(0.0, q - v)))


@functools.lru_cache(maxsize=256)
def anderson_darling_critical_value(alpha: float) -> float:
    """The asymptotic critical value ``a`` with ``P(A^2 > a) = alpha`` (2.492 at 0.05)."""
    a = _alpha(alpha)
    if a < 1e-250:
        raise ValueError(f"alpha too small for the Anderson-Darling critical value: {alpha!r}")
    la = math.log(a)
    return float(_opt.brentq(lambda z: math.log(_ad_inf_sf(z)) - la, 1e-3, 600.0, xtol=1e-12))


def anderson_darling_statistic(logcdf_sorted: np.ndarray, logsf_sorted: np.ndarray) -> float:
    """``A^2 = -n - (1/n) sum_i [(2i-1) log F(x_(i)) + (2n-2i+1) log(1 - F(x_(i)))]``.

    Takes ``log F`` and ``log(1 - F)`` at the *sorted* sample (both floored at
    log(tiny) so a value on the boundary of a bounded support stays finite).
    """
    n = logcdf_sorted.size
    i = np.arange(1, n + 1, dtype=np.float64)
    lc = np.maximum(logcdf_sorted, _LOG_TINY)
    ls = np.maximum(logsf_sorted, _LOG_TINY)
    return float(-n - np.sum((2 * i - 1) * lc + (2 * n - 2 * i + 1) * ls) / n)


# --------------------------------------------------------------------------
# the hypothesised distributions
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Null:
    dist: str
    loc: float
    scale: float
    truncation: float

    @property
    def support(self) -> tuple[float, float]:
        if self.dist == "normal":
            return -math.inf, math.inf
        h = math.sqrt(3.0) * self.scale if self.dist == "uniform" else self.truncation * self.scale
        return self.loc - h, self.loc + h

    def describe(self) -> str:
        if self.dist == "normal":
            return f"normal(mean {fmt(self.loc)}, std {fmt(self.scale)})"
        lo, hi = self.support
        if self.dist == "uniform":
            return f"uniform[{fmt(lo)}, {fmt(hi)}] (std {fmt(self.scale)})"
        return (
            f"normal(mean {fmt(self.loc)}, std {fmt(self.scale)}) truncated at "
            f"±{fmt(self.truncation)} std = [{fmt(lo)}, {fmt(hi)}]"
        )

    def frozen(self):
        if self.dist == "normal":
            return _st.norm(self.loc, self.scale)
        if self.dist == "uniform":
            lo, hi = self.support
            return _st.uniform(lo, hi - lo)
        t = self.truncation
        return _st.truncnorm(-t, t, loc=self.loc, scale=self.scale)

    def log_cdf_sf(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(F, log F, log(1-F)) at ``xs``."""
        with np.errstate(divide="ignore"):
            if self.dist == "uniform":
                lo, hi = self.support
                u = np.clip((xs - lo) / (hi - lo), 0.0, 1.0)
                return u, np.log(u), np.log1p(-u)
            if self.dist == "normal":
                zs = (xs - self.loc) / self.scale
                return _sp.ndtr(zs), _sp.log_ndtr(zs), _sp.log_ndtr(-zs)
            # Truncated normal, by symmetry: F(x) = (Phi(z) - Phi(-t)) / (Phi(t) - Phi(-t)),
            # 1 - F(x) = (Phi(-z) - Phi(-t)) / (...). Differences of lower-tail
            # values keep full relative precision near both bounds.
            t = self.truncation
            zs = np.clip((xs - self.loc) / self.scale, -t, t)
            lo_mass = _sp.ndtr(-t)
            total = 1.0 - 2.0 * lo_mass
            below = np.maximum(_sp.ndtr(zs) - lo_mass, 0.0)
            above = np.maximum(_sp.ndtr(-zs) - lo_mass, 0.0)
            return below / total, np.log(below) - math.log(total), np.log(above) - math.log(total)


def _mde_ad(alpha: float, power: float, n: int) -> float:
    # A^2 ~ n D^2 + 2 sqrt(n) <d, B> + ||B||^2 under an alternative at AD
    # distance D; Var(2 sqrt(n) <d, B>) <= 2 n D^2 (the AD covariance
    # operator's largest eigenvalue is 1/2) and ||B||^2 >= 0, so
    # n D^2 - z_b sqrt(2 n) D >= a_alpha guarantees the power.
    a = anderson_darling_critical_value(alpha)
    zb = z_power(power)
    s = (zb * math.sqrt(2.0) + math.sqrt(2.0 * zb * zb + 4.0 * a)) / 2.0
    return s / math.sqrt(n)


def _mde_ks(alpha: float, power: float, n: int) -> float:
    # At the point of largest CDF gap, F_n has sd <= 0.5/sqrt(n).
    return float(_st.kstwo.isf(alpha, n)) + 0.5 * z_power(power) / math.sqrt(n)


def _method(method: str) -> str:
    meth = str(method).strip().lower()
    if meth in ("anderson", "ad", "anderson-darling", "anderson_darling"):
        return "anderson"
    if meth in ("ks", "kolmogorov-smirnov"):
        return "ks"
    raise ValueError(f"unknown method {method!r}; expected 'anderson' or 'ks'")


def _outside(xs: np.ndarray, null: _Null) -> tuple[int, np.ndarray]:
    """Values of the sorted sample beyond ``null``'s support (past a rounding tolerance), and the clipped sample."""
    lo, hi = null.support
    if not math.isfinite(lo):
        return 0, xs
    tol = 1e-6 * (hi - lo)
    n_out = int(np.count_nonzero(xs < lo - tol) + np.count_nonzero(xs > hi + tol))
    return n_out, np.clip(xs, lo, hi)  # values within rounding of a bound


def _fit(xs: np.ndarray, null: _Null, meth: str) -> dict[str, Any]:
    """Statistic, p-value and largest CDF gap of the sorted sample ``xs`` against ``null``."""
    n = xs.size
    n_out, xs_eval = _outside(xs, null)
    u, lc, ls = null.log_cdf_sf(xs_eval)
    i = np.arange(1, n + 1, dtype=np.float64)
    gaps_plus = i / n - u
    gaps_minus = u - (i - 1) / n
    j_plus, j_minus = int(np.argmax(gaps_plus)), int(np.argmax(gaps_minus))
    d_plus, d_minus = float(gaps_plus[j_plus]), float(gaps_minus[j_minus])
    D = max(d_plus, d_minus)
    if meth == "anderson":
        stat = anderson_darling_statistic(lc, ls)
        p = 0.0 if n_out else anderson_darling_pvalue(stat, n)
    else:
        stat = D
        p = 0.0 if n_out else float(_st.kstwo.sf(D, n))
    return {"stat": stat, "p": p, "D": D, "n_out": n_out,
            "j_gap": j_plus if d_plus >= d_minus else j_minus,
            "gap_sign": "more" if d_plus >= d_minus else "less"}


def _best_scale(xs: np.ndarray, make_null, lo: float, hi: float, meth: str) -> tuple[float, dict[str, Any]]:
    """The scale in [lo, hi] whose hypothesis fits ``xs`` best (smallest statistic), and its fit.

    A bounded hypothesis cannot fit at a scale that leaves sample values
    outside its support, so the search starts at the smallest scale that
    contains them all (when that is inside the interval).
    """
    feasible_lo = lo
    bound = make_null(1.0).support[1] - make_null(1.0).loc
    if math.isfinite(bound):
        centre = make_null(1.0).loc
        reach = max(abs(xs[0] - centre), abs(xs[-1] - centre)) / (1.0 + 1e-6 * 2.0) / bound
        feasible_lo = min(max(lo, reach), hi)
    grid = np.geomspace(feasible_lo, hi, 7) if hi > feasible_lo else np.array([hi])
    fits = [(float(s), _fit(xs, make_null(float(s)), meth)) for s in grid]
    best = min(range(len(fits)), key=lambda k: fits[k][1]["stat"])
    if len(fits) > 1:
        a, b = fits[max(best - 1, 0)][0], fits[min(best + 1, len(fits) - 1)][0]
        r = _opt.minimize_scalar(lambda ls: _fit(xs, make_null(math.exp(ls)), meth)["stat"],
                                 bounds=(math.log(a), math.log(b)), method="bounded",
                                 options={"xatol": 1e-7})
        s = math.exp(float(r.x))
        fit = _fit(xs, make_null(s), meth)
        if fit["stat"] < fits[best][1]["stat"]:
            return s, fit
    return fits[best]


def shape_test(
    x: Any,
    distribution: str = "normal",
    scale: float | tuple[float, float] = 1.0,
    alpha: float = DEFAULT_ALPHA,
    method: str = "anderson",
    *,
    loc: float = 0.0,
    truncation: float = 2.0,
    power: float = DEFAULT_POWER,
    name: str | None = None,
    interval_miss: float = 0.0,
) -> StatTest:
    """Goodness of fit of ``x`` to a distribution with a known scale, or a scale in an interval.

    Hypotheses (location known):

    * ``"normal"``: N(loc, scale^2);
    * ``"uniform"``: uniform on ``[loc - sqrt(3) scale, loc + sqrt(3) scale]``
      (``scale`` is its standard deviation);
    * ``"truncated_normal"``: N(loc, scale^2) truncated to
      ``loc +- truncation * scale`` (``scale`` is the *untruncated* sigma; the
      std after truncation is :func:`distribution_std`).

    ``scale`` a number: the hypothesis is fully specified and the p-value is
    the exact (case 0) one. ``scale = (lo, hi)``: the hypothesis is the whole
    family with a scale somewhere in the interval -- "this is the right
    *shape*, whatever its σ", so a pure σ error is not a shape failure. The
    interval is a confidence interval for the scale (see
    :func:`scale_interval`) that misses the true scale with probability at
    most ``interval_miss``; the p-value is Berger & Boos' (1994)
    ``sup_{s in [lo, hi]} p(s) + interval_miss``, a valid p-value whatever the
    dependence between the interval and the sample (union bound), found by
    minimising the statistic over the interval.

    ``method="anderson"`` (default): Anderson-Darling ``A^2``; ``"ks"``:
    Kolmogorov-Smirnov ``D``. See the module docstring for the null
    distributions and their accuracy. Whatever the method, the message also
    gives the largest gap between the sample CDF and the hypothesised CDF,
    and where it is.

    Effect and MDE:

    * Anderson-Darling: the AD distance
      ``sqrt(int (G - F)^2 / (F (1 - F)) dF)`` between the true ``G`` and the
      hypothesised ``F`` (the closest member of the family for an interval),
      estimated by ``sqrt(max(A^2 - 1, 0) / n)`` (``E[A^2] = 1`` under the
      null). The MDE is a guaranteed (conservative) bound: any alternative at
      least this far is detected with probability >= ``power``.
    * KS: the sup distance ``D``; MDE ``D_crit(alpha, n) + z_power / (2 sqrt n)``,
      also a guaranteed bound.

    Example:
      >>> rng = np.random.default_rng(0)
      >>> x = rng.uniform(-np.sqrt(3), np.sqrt(3), 20_000)   # std 1, but uniform
      >>> shape_test(x, "normal", 1.0, alpha=5e-8).passed
      False
      >>> shape_test(1.1 * rng.normal(size=20_000), "normal", (1.05, 1.15), alpha=5e-8,
      ...            interval_miss=1e-8).passed                # σ 10 % off, shape right
      True
    """
    a = _sample(x, "sample", min_n=5)
    alpha = _alpha(alpha)
    power = _power(power)
    dist = canonical_distribution(distribution)
    loc = _finite("loc", loc)
    trunc = _check_truncation(truncation)
    meth = _method(method)
    miss = float(interval_miss)
    if not 0.0 <= miss < 1.0:
        raise ValueError(f"interval_miss must be in [0, 1), got {interval_miss!r}")
    xs = np.sort(a)
    n = a.size

    def make_null(s: float) -> _Null:
        return _Null(dist, loc, s, trunc)

    if isinstance(scale, (tuple, list)):
        s_lo, s_hi = (_positive("scale interval bound", v) for v in scale)
        if s_lo > s_hi:
            raise ValueError(f"scale interval ({s_lo}, {s_hi}) is empty")
        s_fit, fit = _best_scale(xs, make_null, s_lo, s_hi, meth)
        scale_text = f"scale fitted in [{fmt(s_lo)}, {fmt(s_hi)}]: {fmt(s_fit)}"
    else:
        s_fit = _positive("scale", scale)
        s_lo = s_hi = s_fit
        fit = _fit(xs, make_null(s_fit), meth)
        scale_text = ""
    null = make_null(s_fit)
    lo, hi = null.support
    n_out = fit["n_out"]
    outside_text = ""
    if n_out:
        # A bounded law cannot fit at any scale of the interval: every scale leaves values outside.
        outside_text = (f"; {n_out} of {n} values outside the support [{fmt(lo)}, {fmt(hi)}] "
                        f"(min {fmt(xs[0])}, max {fmt(xs[-1])})")
    j_gap = fit["j_gap"]
    gap_text = (
        f"largest CDF gap {fmt(fit['D'], 3)} at x = {fmt(xs[j_gap], 3)} "
        f"(sample has {fit['gap_sign']} mass below than expected)"
    )
    p = min(1.0, fit["p"] + miss)
    if meth == "anderson":
        A2 = fit["stat"]
        effect = math.sqrt(max(A2 - 1.0, 0.0) / n)
        label = "Anderson-Darling"
        stat_text = f"A² = {fmt(A2, 4)}"
        method_text = (
            "Anderson-Darling, fully specified null (Marsaglia & Marsaglia 2004 body, "
            "large-deviation tail)"
        )
        mde_fn = functools.partial(_mde_ad, n=n)
        unit = "AD distance"
        effect_unit = "AD distance sqrt(∫(G-F)²/(F(1-F)) dF), estimated"
    else:
        effect = fit["stat"]
        label = "Kolmogorov-Smirnov"
        stat_text = f"D = {fmt(fit['stat'], 4)}"
        method_text = "Kolmogorov-Smirnov, fully specified null, exact distribution of D_n"
        mde_fn = functools.partial(_mde_ks, n=n)
        unit = "KS distance"
        effect_unit = "KS distance sup|G-F|"
    if scale_text:
        method_text += (f"; composite over a scale interval: p = sup p(s) + {fmt_p(miss)} "
                        "(Berger & Boos 1994)")
        stat_text = f"{scale_text}, {stat_text}"
        mde_fn = functools.partial(_mde_shifted, inner=mde_fn, miss=miss)
    test_name = name or f"shape ({label} vs {dist.replace('_', ' ')})"
    shown = null.describe() if not scale_text else dist.replace("_", " ") + (
        f" truncated at ±{fmt(trunc)} scale" if dist == "truncated_normal" else "")
    summary = f"{name or 'shape'} ({label} vs {shown}): {stat_text}, {gap_text}{outside_text}"
    return make_result(
        name=test_name,
        method=method_text,
        statistic=fit["stat"],
        p_value=p,
        n=n,
        alpha=alpha,
        power=power,
        estimate=effect,
        expected=0.0,
        effect=effect,
        effect_unit=effect_unit,
        summary=summary,
        mde_fn=mde_fn,
        mde_unit=unit,
        details=ShapeDetails(
            distribution=dist,
            loc=loc,
            scale=s_fit,
            scale_interval=[s_lo, s_hi],
            interval_miss=miss,
            truncation=trunc if dist == "truncated_normal" else None,
            support=[lo, hi],
            n_outside_support=n_out,
            ks_distance=fit["D"],
            ks_location=float(xs[j_gap]),
            std_of_hypothesis=distribution_std(dist, s_fit, trunc),
        ),
    )


def _mde_shifted(alpha: float, power: float, *, inner, miss: float) -> float:
    """MDE of a composite test: its inner test runs at ``alpha - miss``."""
    return float(inner(max(alpha - miss, alpha * 1e-3), power))


def scale_interval(
    x: Any,
    distribution: str = "normal",
    miss: float = 1e-8,
    *,
    loc: float = 0.0,
    truncation: float = 2.0,
) -> tuple[float, float]:
    """A confidence interval ``(lo, hi)`` for the scale of the family ``distribution``.

    The sample is assumed to follow ``distribution`` centred at ``loc`` with
    an unknown scale ``s`` (as in :func:`shape_test`: σ for the normal, the
    std for the uniform, the *untruncated* σ for the truncated normal). The
    estimate is ``v = Σ (x - loc)² / n``, ``E v = s² c`` with ``c`` the
    variance at scale 1. The interval misses ``s`` with probability at most
    ``miss`` (two-sided, equal tails):

    * normal: exact, ``n v / s² ~ chi-square(n)``;
    * uniform, truncated normal: ``log v`` normal with variance ``V/n``,
      ``V = excess kurtosis + 2`` (Bartlett & Kendall 1946, the std test's
      approximation, accurate to O(1/n): use it with n in the millions).

    >>> lo, hi = scale_interval(np.random.default_rng(0).normal(0, 2.0, 1_000_000))
    >>> lo < 2.0 < hi and hi / lo < 1.015
    True
    """
    a = _sample(x, "sample", min_n=2)
    dist = canonical_distribution(distribution)
    miss = _alpha(miss, "miss")
    loc = _finite("loc", loc)
    trunc = _check_truncation(truncation)
    n = a.size
    v = float(np.mean((a - loc) ** 2))
    if not v > 0:
        raise ValueError("the sample has no spread: every value equals loc")
    c = distribution_std(dist, 1.0, trunc) ** 2
    if dist == "normal":
        var_lo = n * v / float(_st.chi2.isf(miss / 2.0, n))
        var_hi = n * v / float(_st.chi2.ppf(miss / 2.0, n))
    else:
        V = excess_kurtosis(dist, trunc) + 2.0
        se = math.sqrt(V / n)
        z = float(_st.norm.isf(miss / 2.0))
        centre = math.log(v) + se * se / 2.0
        var_lo, var_hi = math.exp(centre - z * se), math.exp(centre + z * se)
    return math.sqrt(var_lo / c), math.sqrt(var_hi / c)


def support_test(
    x: Any,
    distribution: str,
    scale: tuple[float, float],
    alpha: float = DEFAULT_ALPHA,
    *,
    interval_miss: float = 0.0,
    loc: float = 0.0,
    truncation: float = 2.0,
    power: float = DEFAULT_POWER,
    name: str = "support",
    leak: float = 0.0,
) -> StatTest:
    """No value beyond the bounds of a bounded distribution whose scale lies in ``scale = (lo, hi)``.

    Under the hypothesis (uniform on ``loc ± √3 s``, or a normal truncated at
    ``loc ± truncation·s``, for the true scale ``s``) a value beyond the
    bound is impossible; the bound used is the one at the interval's upper
    end ``hi`` (plus a rounding tolerance of 1e-6 of the width), so the only
    way a correct sample fails is the interval missing ``s`` from below:
    p-value ``interval_miss`` when values are outside, 1 otherwise (Berger &
    Boos 1994). The test is O(n): give it millions of values.

    Power: a defect that puts a fraction ``q`` of the values outside is
    caught with probability ``1 − (1 − q)^n`` (e.g. q = 4e-6, n = 2·10⁶:
    0.9997); the MDE is the ``q`` caught with probability ``power``,
    ``1 − (1 − power)^(1/n)``.

    ``leak``: the fraction of values an implementation of the law lets through
    the bounds by design (Keras' torch backend resamples a truncated normal
    four times and then keeps the last draw: P(|Z| > 2)⁴ ≈ 4.3e-6). The count
    outside is then tested against Binomial(n, leak), one-sided: p =
    ``interval_miss`` + P(Binomial(n, leak) ≥ count); the MDE is the
    fraction outside caught with probability ``power`` at the critical count.
    """
    a = _sample(x, "sample", min_n=1)
    alpha = _alpha(alpha)
    power = _power(power)
    dist = canonical_distribution(distribution)
    if dist == "normal":
        raise ValueError("a normal distribution has no bounded support to test")
    loc = _finite("loc", loc)
    trunc = _check_truncation(truncation)
    s_lo, s_hi = (_positive("scale interval bound", v) for v in scale)
    null = _Null(dist, loc, s_hi, trunc)
    lo, hi = null.support
    half = hi - loc
    n = a.size
    tol = 1e-6 * (hi - lo)
    outside = (a < lo - tol) | (a > hi + tol)
    n_out = int(np.count_nonzero(outside))
    reach = float(np.max(np.abs(a - loc)))
    leak = float(leak)
    if not 0.0 <= leak < 1.0:
        raise ValueError(f"leak must be a fraction in [0, 1), got {leak!r}")
    p_count = (1.0 if not n_out else float(_st.binom.sf(n_out - 1, n, leak))) if leak else (0.0 if n_out else 1.0)
    p = min(1.0, float(interval_miss) + p_count)
    bound_text = "√3" if dist == "uniform" else f"{fmt(trunc)}"
    allowed = f", {fmt(leak * n)} expected by design (a fraction {fmt(leak)})" if leak else ""
    summary = (f"{name}: {n_out} of {n} values beyond ±{bound_text}·s = ±{fmt(half)}{allowed} (s ≤ {fmt(s_hi)}, "
               f"the upper end of the scale's interval); largest |x| = {fmt(reach)} = {fmt(reach / s_hi)}·s")
    return make_result(
        name=name,
        method=(f"count of values outside the support at the largest plausible scale; p = {fmt_p(float(interval_miss))} "
                "if any (Berger & Boos 1994), else 1" if not leak else
                "count of values outside the support at the largest plausible scale against Binomial(n, leak), "
                f"one-sided, plus {fmt_p(float(interval_miss))} (Berger & Boos 1994)"),
        statistic=n_out,
        p_value=p,
        n=n,
        alpha=alpha,
        power=power,
        estimate=n_out / n,
        expected=leak,
        effect=n_out / n,
        effect_unit="fraction of values outside the support",
        summary=summary,
        mde_fn=functools.partial(_mde_support, n=n, leak=leak, miss=float(interval_miss)),
        mde_unit="fraction outside the support",
        details=SupportDetails(distribution=dist, loc=loc, scale_interval=[s_lo, s_hi], bound=half,
                               n_outside_support=n_out, max_abs=reach, interval_miss=float(interval_miss),
                               leak=leak),
    )


def _mde_support(alpha: float, power: float, n: int, leak: float = 0.0, miss: float = 0.0) -> float:
    if not leak:
        return float(-math.expm1(math.log1p(-power) / n))
    # The smallest count rejected at level alpha (after the interval's share), then the fraction reaching it
    # with probability ``power``.
    level = max(alpha - miss, 1e-300)
    k = int(_st.binom.isf(level, n, leak)) + 1
    while _st.binom.sf(k - 1, n, leak) > level:
        k += 1
    return float(_opt.brentq(lambda q: _st.binom.sf(k - 1, n, q) - power, leak, 1.0 - 1e-12))
