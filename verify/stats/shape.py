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
    fmt,
    make_result,
    z_power,
)

__all__ = [
    "shape_test",
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


def shape_test(
    x: Any,
    distribution: str = "normal",
    scale: float = 1.0,
    alpha: float = DEFAULT_ALPHA,
    method: str = "anderson",
    *,
    loc: float = 0.0,
    truncation: float = 2.0,
    power: float = DEFAULT_POWER,
    name: str | None = None,
) -> StatTest:
    """Goodness of fit of ``x`` to a fully specified distribution.

    Hypotheses (all parameters known, none estimated):

    * ``"normal"``: N(loc, scale^2);
    * ``"uniform"``: uniform on ``[loc - sqrt(3) scale, loc + sqrt(3) scale]``
      (``scale`` is its standard deviation);
    * ``"truncated_normal"``: N(loc, scale^2) truncated to
      ``loc +- truncation * scale`` (``scale`` is the *untruncated* sigma; the
      std after truncation is :func:`distribution_std`).

    ``method="anderson"`` (default): Anderson-Darling ``A^2``; ``"ks"``:
    Kolmogorov-Smirnov ``D``. See the module docstring for the null
    distributions and their accuracy. Whatever the method, the message also
    gives the largest gap between the sample CDF and the hypothesised CDF,
    and where it is.

    Effect and MDE:

    * Anderson-Darling: the AD distance
      ``sqrt(int (G - F)^2 / (F (1 - F)) dF)`` between the true ``G`` and the
      hypothesised ``F``, estimated by ``sqrt(max(A^2 - 1, 0) / n)``
      (``E[A^2] = 1`` under the null). The MDE is a guaranteed (conservative)
      bound: any alternative at least this far is detected with probability
      >= ``power``.
    * KS: the sup distance ``D``; MDE ``D_crit(alpha, n) + z_power / (2 sqrt n)``,
      also a guaranteed bound.

    Example:
      >>> rng = np.random.default_rng(0)
      >>> x = rng.uniform(-np.sqrt(3), np.sqrt(3), 20_000)   # std 1, but uniform
      >>> shape_test(x, "normal", 1.0, alpha=5e-8).passed
      False
    """
    a = _sample(x, "sample", min_n=5)
    alpha = _alpha(alpha)
    power = _power(power)
    dist = canonical_distribution(distribution)
    null = _Null(dist, _finite("loc", loc), _positive("scale", scale), _check_truncation(truncation))
    meth = str(method).strip().lower()
    if meth in ("anderson", "ad", "anderson-darling", "anderson_darling"):
        meth = "anderson"
    elif meth not in ("ks", "kolmogorov-smirnov"):
        raise ValueError(f"unknown method {method!r}; expected 'anderson' or 'ks'")
    else:
        meth = "ks"
    n = a.size
    xs = np.sort(a)

    lo, hi = null.support
    outside_text = ""
    n_out = 0
    if math.isfinite(lo):
        tol = 1e-6 * (hi - lo)
        below, above = xs < lo - tol, xs > hi + tol
        n_out = int(below.sum() + above.sum())
        if n_out:
            outside_text = (
                f"; {n_out} of {n} values outside the support [{fmt(lo)}, {fmt(hi)}] "
                f"(min {fmt(xs[0])}, max {fmt(xs[-1])})"
            )
        xs_eval = np.clip(xs, lo, hi)  # values within rounding of a bound
    else:
        xs_eval = xs
    u, lc, ls = null.log_cdf_sf(xs_eval)

    i = np.arange(1, n + 1, dtype=np.float64)
    gaps_plus = i / n - u
    gaps_minus = u - (i - 1) / n
    j_plus, j_minus = int(np.argmax(gaps_plus)), int(np.argmax(gaps_minus))
    d_plus, d_minus = float(gaps_plus[j_plus]), float(gaps_minus[j_minus])
    D = max(d_plus, d_minus)
    j_gap = j_plus if d_plus >= d_minus else j_minus
    gap_sign = "more" if d_plus >= d_minus else "less"
    gap_text = (
        f"largest CDF gap {fmt(D, 3)} at x = {fmt(xs[j_gap], 3)} "
        f"(sample has {gap_sign} mass below than expected)"
    )

    if meth == "anderson":
        A2 = anderson_darling_statistic(lc, ls)
        p = 0.0 if n_out else anderson_darling_pvalue(A2, n)
        stat = A2
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
        p = 0.0 if n_out else float(_st.kstwo.sf(D, n))
        stat = D
        effect = D
        label = "Kolmogorov-Smirnov"
        stat_text = f"D = {fmt(D, 4)}"
        method_text = "Kolmogorov-Smirnov, fully specified null, exact distribution of D_n"
        mde_fn = functools.partial(_mde_ks, n=n)
        unit = "KS distance"
        effect_unit = "KS distance sup|G-F|"
    test_name = name or f"shape ({label} vs {dist.replace('_', ' ')})"
    summary = f"{name or 'shape'} ({label} vs {null.describe()}): {stat_text}, {gap_text}{outside_text}"
    return make_result(
        name=test_name,
        method=method_text,
        statistic=stat,
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
        details={
            "distribution": dist,
            "loc": null.loc,
            "scale": null.scale,
            "truncation": null.truncation if dist == "truncated_normal" else None,
            "support": [lo, hi],
            "n_outside_support": n_out,
            "ks_distance": D,
            "ks_location": float(xs[j_gap]),
            "std_of_hypothesis": distribution_std(dist, null.scale, null.truncation),
        },
    )
