"""Tests on moments: mean (known sigma), standard deviation, mean of replicate estimates."""

from __future__ import annotations

import functools
import math
from typing import Any, Sequence

import numpy as np
from scipy import stats as _st

from verify.evidence import Details, MeanDetails, MeanValueDetails, StdDetails, TwoHypothesesDetails
from verify.stats.core import (
    DEFAULT_ALPHA,
    DEFAULT_POWER,
    StatTest,
    _alpha,
    _finite,
    _positive,
    _power,
    _sample,
    canonical_distribution,
    fmt,
    fmt_p,
    fmt_pct,
    make_result,
    z_power,
)
from verify.stats.planning import (
    _mde_std,
    _mde_std_chi2,
    _mde_std_skewed,
    _mde_z,
    _resolve_excess,
    _x2_skewness,
    variance_factor,
)

__all__ = ["mean_test", "std_test", "mean_value_test", "two_hypotheses_test"]


def mean_test(
    x: Any,
    expected_mean: float = 0.0,
    expected_std: float = 1.0,
    alpha: float = DEFAULT_ALPHA,
    *,
    power: float = DEFAULT_POWER,
    name: str = "mean",
) -> StatTest:
    """Two-sided z-test of the mean with a known sigma.

    Statistic: ``z = (mean(x) - expected_mean) / (expected_std / sqrt(n))``.
    Null distribution: standard normal -- exact for normal samples, and by
    the central limit theorem (Berry-Esseen error O(1/sqrt n)) for any iid
    sample with the hypothesised sigma. p-value ``2 Phi(-|z|)``.

    Effect: the mean shift in units of ``expected_std``. MDE: the shift
    detected with probability ``power``, ``(z_{1-alpha/2} + z_power)/sqrt(n)``
    sigma.

    Example:
      >>> x = np.random.default_rng(0).normal(0.0, 0.1, 10_000)
      >>> mean_test(x, 0.0, 0.1, alpha=1e-6).passed
      True
    """
    a = _sample(x, "sample")
    alpha = _alpha(alpha)
    power = _power(power)
    mu0 = _finite("expected_mean", expected_mean)
    sigma = _positive("expected_std", expected_std)
    n = a.size
    m = float(a.mean())
    se = sigma / math.sqrt(n)
    z = (m - mu0) / se
    p = 2.0 * float(_st.norm.sf(abs(z)))
    shift = (m - mu0) / sigma
    summary = (
        f"{name} {fmt(m)} vs expected {fmt(mu0)} ({shift:+.3g} σ, z = {z:+.2f})"
    )
    return make_result(
        name=name,
        method="z-test of the mean with known sigma (normal null)",
        statistic=z,
        p_value=p,
        n=n,
        alpha=alpha,
        power=power,
        estimate=m,
        expected=mu0,
        effect=shift,
        effect_unit="mean shift in units of sigma",
        summary=summary,
        mde_fn=functools.partial(_mde_z, se=1.0 / math.sqrt(n)),
        mde_unit="σ mean shift",
        details=MeanDetails(expected_std=sigma, standard_error=se),
    )


def std_test(
    x: Any,
    expected_std: float,
    alpha: float = DEFAULT_ALPHA,
    *,
    distribution: str = "normal",
    kurtosis: float | None = None,
    truncation: float = 2.0,
    known_mean: float | None = 0.0,
    power: float = DEFAULT_POWER,
    name: str = "std",
) -> StatTest:
    """Two-sided test that the sample's standard deviation is ``expected_std``.

    The variance estimate is ``v = sum((x - known_mean)^2) / n`` when the
    mean is known (the default, 0, as for weight initialisers) or the unbiased
    ``s^2`` when ``known_mean=None``.

    * Normal hypothesis (``distribution="normal"``, no ``kurtosis``): the
      chi-square test. ``T = n v / sigma0^2`` is exactly chi-square with ``n``
      (known mean) or ``n - 1`` degrees of freedom; p-value
      ``2 min(F(T), 1 - F(T))`` (equal tails).
    * Any other hypothesis: the kurtosis-corrected log-variance test
      (Bartlett & Kendall 1946; Box 1953). ``log v`` is asymptotically normal
      with variance ``V/n``, ``V = excess + 2`` (known mean) or
      ``excess + 3 - (n-3)/(n-1)`` (estimated mean), where ``excess`` is the
      excess kurtosis of the *hypothesised* distribution: -1.2 for the
      uniform, the exact value from ``scipy.stats.truncnorm`` for the
      truncated normal (about -0.63 at +-2), or ``kurtosis`` if given.
      ``z = (log(v / sigma0^2) + V/(2n)) / sqrt(V/n)`` (the ``V/(2n)`` term
      removes the O(1/n) bias of ``log v``); p-value ``2 Phi(-|z|)``. The
      first-order skewness error of the normal approximation cancels between
      the two tails, so the two-sided level is accurate to O(1/n).

    Without the kurtosis correction a normal-theory chi-square test on a
    uniform sample would have the wrong level (its variance estimate is
    2.5x less variable than chi-square assumes).

    Args:
      x: the sample (any shape; flattened).
      expected_std: the standard deviation the sample should have (for the
        truncated normal: the std *after* truncation, see
        :func:`distribution_std`).
      alpha: level of the two-sided test.
      distribution: ``"normal"``, ``"uniform"`` or ``"truncated_normal"``.
      kurtosis: excess kurtosis of the hypothesised distribution, overriding
        ``distribution``.
      truncation: truncation point of ``"truncated_normal"`` in untruncated
        standard deviations.
      known_mean: the mean, if known (default 0); ``None`` to estimate it.
      power: power at which the MDE is reported.

    Effect: ``estimate / expected_std - 1`` (relative sigma error). MDE: the
    relative sigma error detected with probability ``power`` (see
    :func:`minimum_detectable_effect`).

    Example:
      >>> x = np.random.default_rng(0).normal(0.0, 0.095, 20_000)
      >>> r = std_test(x, 0.1, alpha=5e-8)
      >>> r.passed, round(r.effect, 2)
      (False, -0.05)
    """
    a = _sample(x, "sample", min_n=2)
    alpha = _alpha(alpha)
    power = _power(power)
    sigma0 = _positive("expected_std", expected_std)
    dist = canonical_distribution(distribution)
    n = a.size
    if known_mean is None:
        v = float(a.var(ddof=1))
        df = n - 1
        mean_text = "estimated mean"
    else:
        mu = _finite("known_mean", known_mean)
        v = float(np.mean((a - mu) ** 2))
        df = n
        mean_text = f"known mean {fmt(mu)}"
    est = math.sqrt(v)
    rel = est / sigma0 - 1.0
    use_chi2 = dist == "normal" and (kurtosis is None or float(kurtosis) == 0.0)
    excess = 0.0 if use_chi2 else _resolve_excess(dist, kurtosis, truncation)
    V = variance_factor(excess, n, known_mean is not None)
    if use_chi2:
        T = df * v / sigma0**2
        lower = float(_st.chi2.cdf(T, df))
        upper = float(_st.chi2.sf(T, df))
        p = min(1.0, 2.0 * min(lower, upper))
        stat = T
        method = f"chi-square variance test, {df} degrees of freedom ({mean_text})"
        stat_text = f"chi2 = {fmt(T, 6)} on {df} df"
    else:
        se = math.sqrt(V / n)
        with np.errstate(divide="ignore"):
            z = (math.log(v / sigma0**2) + se * se / 2.0) / se if v > 0 else -math.inf
        p = 2.0 * float(_st.norm.sf(abs(z)))
        stat = z
        method = (
            f"log-variance z-test, kurtosis-corrected (excess kurtosis {excess:.6g}, {mean_text})"
        )
        stat_text = f"z = {z:+.2f}"
    if use_chi2:
        mde_fn = functools.partial(_mde_std_chi2, df=df)
    elif kurtosis is None:
        mde_fn = functools.partial(_mde_std_skewed, n=n, V=V, gamma=_x2_skewness(dist, float(truncation)))
    else:
        mde_fn = functools.partial(_mde_std, n=n, V=V)
    summary = f"{name} {fmt(est)} vs expected {fmt(sigma0)} ({fmt_pct(rel)}, {stat_text})"
    return make_result(
        name=name,
        method=method,
        statistic=stat,
        p_value=p,
        n=n,
        alpha=alpha,
        power=power,
        estimate=est,
        expected=sigma0,
        effect=rel,
        effect_unit="relative sigma error (measured / expected - 1)",
        summary=summary,
        mde_fn=mde_fn,
        mde_unit="relative σ error",
        details=StdDetails(
            distribution=dist if kurtosis is None else f"excess kurtosis {float(kurtosis):g}",
            excess_kurtosis=excess,
            variance_factor=V,
            known_mean=known_mean,
            variance=v,
        ),
    )


def _mde_tmean(alpha: float, power: float, n: int, se: float, scale: float) -> float:
    tcrit = float(_st.t.isf(alpha / 2.0, n - 1))
    return (tcrit + z_power(power)) * se / scale


def _t_pvalue(t: float, df: int) -> float:
    if math.isnan(t):
        return 1.0
    return min(1.0, 2.0 * float(_st.t.sf(abs(t), df)))


def mean_value_test(
    values: Any,
    expected: float,
    alpha: float = DEFAULT_ALPHA,
    *,
    power: float = DEFAULT_POWER,
    name: str = "mean",
) -> StatTest:
    """One-sample t-test that independent replicate values have mean ``expected``.

    Use it when sigma is not known: e.g. ``values`` are many independent
    estimates of one quantity (a running variance after a batch, divided by
    the true variance) and ``expected`` is what theory predicts for their
    mean. Statistic ``t = (mean - expected) / (s / sqrt(n))``; null
    distribution Student-t with ``n - 1`` degrees of freedom (exact for normal
    values; for skewed values the two-sided level is accurate to O(1/n) since
    the first-order skewness errors of the two tails cancel). The values must
    be independent (not successive states of one running average).

    Effect and MDE are relative to ``expected`` (``mean / expected - 1``);
    if ``expected`` is 0 they are absolute.

    Example:
      >>> v = np.random.default_rng(1).chisquare(3, 4000) / 3   # unbiased variance / sigma^2, N = 4
      >>> mean_value_test(v, 1.0, alpha=1e-6).passed
      True
    """
    alpha = _alpha(alpha)
    power = _power(power)
    h0 = _finite("expected", expected)
    n, m, s, se = _replicates(values)
    t = _tstat(m, h0, se)
    p = _t_pvalue(t, n - 1)
    rel = (m - h0) / (abs(h0) if h0 != 0 else 1.0)
    rel_text = fmt_pct(rel) if h0 != 0 else f"{rel:+.4g}"
    summary = f"{name} {fmt(m, 6)} ± {fmt(se, 2)} (SE) vs expected {fmt(h0, 6)} ({rel_text}, t = {t:+.2f})"
    return _mean_result(name, f"one-sample t-test, {n - 1} degrees of freedom (estimated standard error)",
                        t, p, n, alpha, power, m, h0, se, summary,
                        MeanValueDetails(standard_error=se, sample_std=s))


def _replicates(values: Any) -> tuple[int, float, float, float]:
    """``(n, mean, sample std, standard error of the mean)`` of independent replicate values."""
    a = _sample(values, "values", min_n=2)
    s = float(a.std(ddof=1))
    return a.size, float(a.mean()), s, s / math.sqrt(a.size)


def _mean_result(name: str, method: str, t: float, p: float, n: int, alpha: float, power: float, m: float,
                 h0: float, se: float, summary: str, details: Details) -> StatTest:
    """The StatTest of a t-test of a replicate mean against ``h0`` (effect relative to h0 unless h0 = 0)."""
    scale = abs(h0) if h0 != 0 else 1.0
    unit = "relative deviation of the mean" if h0 != 0 else "deviation of the mean"
    return make_result(
        name=name, method=method, statistic=t, p_value=p, n=n, alpha=alpha, power=power,
        estimate=m, expected=h0, effect=(m - h0) / scale, effect_unit=unit, summary=summary,
        mde_fn=functools.partial(_mde_tmean, n=n, se=se, scale=scale), mde_unit=unit, details=details,
    )


def _tstat(m: float, h: float, se: float) -> float:
    if se > 0:
        return (m - h) / se
    # All values identical: the mean is exact.
    return 0.0 if m == h else math.copysign(math.inf, m - h)


def two_hypotheses_test(
    values: Any,
    expected: float,
    alternative: float,
    alpha: float = DEFAULT_ALPHA,
    *,
    labels: Sequence[str] = ("expected", "alternative"),
    power: float = DEFAULT_POWER,
    name: str = "mean",
) -> StatTest:
    """Which of two predicted means do independent replicate values support?

    Typical use: batch norm's running variance. Over many independent batches
    of size ``N`` from a distribution with variance ``sigma^2``, the batch
    variance it stores (divided by ``sigma^2``) averages ``1`` if it is the
    unbiased estimate and ``(N-1)/N`` if it is the biased one::

        two_hypotheses_test(ratios, 1.0, (N - 1) / N, labels=("unbiased", "biased"))

    The decision is the t-test of :func:`mean_value_test` against
    ``expected`` (the right prediction): the check passes when
    ``p > alpha``. The same t-test against ``alternative`` is reported as
    evidence, with a verdict: ``labels[0]`` (consistent with ``expected``,
    ``alternative`` rejected), ``labels[1]`` (the reverse), ``"neither"`` or
    ``"inconclusive"`` (both consistent -- too few values).

    The planned power to tell the two apart is reported:
    ``separation = |alternative - expected| / SE`` standard errors, power
    ``~= Phi(separation - t_crit)``; if it is below ``power`` the message says
    so and ``details["n_needed"]`` gives the number of values that would reach
    it.

    Example (batches of N = 4; the biased estimate would average 3/4 of sigma^2):
      >>> rng = np.random.default_rng(2)
      >>> ratios = rng.chisquare(3, 2000) / 3                       # unbiased var / sigma^2
      >>> r = two_hypotheses_test(ratios, 1.0, 0.75, labels=("unbiased", "biased"))
      >>> r.details["verdict"]
      'unbiased'
    """
    alpha = _alpha(alpha)
    power = _power(power)
    h0 = _finite("expected", expected)
    h1 = _finite("alternative", alternative)
    if h0 == h1:
        raise ValueError(f"expected and alternative must differ, both are {h0}")
    if len(labels) != 2:
        raise ValueError(f"labels must be two strings, got {labels!r}")
    l0, l1 = (str(s) for s in labels)
    n, m, _, se = _replicates(values)
    t0, t1 = _tstat(m, h0, se), _tstat(m, h1, se)
    p0, p1 = _t_pvalue(t0, n - 1), _t_pvalue(t1, n - 1)
    ok0, ok1 = p0 > alpha, p1 > alpha
    verdict = l0 if ok0 and not ok1 else l1 if ok1 and not ok0 else "inconclusive" if ok0 else "neither"
    tcrit = float(_st.t.isf(alpha / 2.0, n - 1))
    sep = abs(h1 - h0) / se if se > 0 else math.inf
    plan_power = float(_st.norm.cdf(sep - tcrit) + _st.norm.cdf(-sep - tcrit)) if math.isfinite(sep) else 1.0
    n_needed = (
        int(math.ceil(n * ((tcrit + z_power(power)) / sep) ** 2)) if sep > 0 and math.isfinite(sep) else n
    )
    verdict_text = {
        l0: f"supports {l0}",
        l1: f"supports {l1}",
        "neither": "supports neither",
        "inconclusive": "cannot tell them apart",
    }[verdict]
    summary = (
        f"{name} {fmt(m, 6)} ± {fmt(se, 2)} (SE, {n} values): "
        f"{l0} {fmt(h0, 6)}: t = {t0:+.2f}, p = {fmt_p(p0)}; "
        f"{l1} {fmt(h1, 6)}: t = {t1:+.2f}, p = {fmt_p(p1)} -> {verdict_text}"
    )
    if plan_power < power:
        summary += (
            f" [underpowered: hypotheses {sep:.1f} SE apart, power {plan_power:.2f}; "
            f"need about {n_needed} values]"
        )
    return _mean_result(name, f"one-sample t-tests against two predicted means, {n - 1} degrees of freedom",
                        t0, p0, n, alpha, power, m, h0, se, summary, TwoHypothesesDetails(
                            labels=[l0, l1],
                            alternative=h1,
                            t_alternative=t1,
                            p_alternative=p1,
                            verdict=verdict,
                            standard_error=se,
                            separation_se=sep,
                            planned_power=plan_power,
                            n_needed=n_needed,
                        ))
