"""Independence tests: correlation between rows / columns, serial correlation."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from scipy import stats as _st

from verify.evidence import ConstantVectorsDetails, CorrelationDetails, LagDetails
from verify.stats.core import (
    DEFAULT_ALPHA,
    DEFAULT_POWER,
    StatTest,
    _alpha,
    _finite,
    _matrix,
    _power,
    _sample,
    fmt,
    make_result,
    z_power,
    z_two_sided,
)

__all__ = ["correlation_test", "serial_correlation_test"]


def _pair_pvalue(r: float, df: int) -> float:
    """Two-sided p-value of one sample correlation: t = r sqrt(df/(1-r^2)) ~ Student-t(df)."""
    r = min(1.0, abs(r))
    one_minus = (1.0 - r) * (1.0 + r)
    if one_minus <= 0.0:
        return 0.0
    t = r * math.sqrt(df / one_minus)
    return min(1.0, 2.0 * float(_st.t.sf(t, df)))


def _mde_corr(alpha: float, power: float, m: int, K: int) -> float:
    # Fisher z: atanh(r) ~ N(atanh(rho), 1/(m-3)); one pair must clear the
    # Bonferroni threshold alpha / K.
    z = float(_st.norm.isf(alpha / (2.0 * K)))
    return math.tanh((z + z_power(power)) / math.sqrt(m - 3.0))


def correlation_test(
    matrix: Any,
    alpha: float = DEFAULT_ALPHA,
    axis: str = "rows",
    *,
    max_vectors: int = 2048,
    power: float = DEFAULT_POWER,
    name: str | None = None,
) -> StatTest:
    """Are the rows (or columns) of ``matrix`` uncorrelated? Max-|r| test over all pairs.

    ``matrix`` of shape ``(p, m)`` (a weight of more than 2 dimensions is
    reshaped to ``(shape[0], -1)``: output units x (inputs x receptive field)).
    With ``axis="rows"`` the ``p`` rows are the vectors (each of length ``m``);
    with ``axis="cols"`` the columns are. For every pair of vectors the
    Pearson correlation ``r_ij`` is computed; the statistic is
    ``max |r_ij|`` over the ``K = p(p-1)/2`` pairs.

    Null distribution. If the entries are iid normal, each
    ``t = r sqrt((m-2)/(1-r^2))`` is exactly Student-t with ``m - 2`` degrees of
    freedom (Fisher 1915; it only needs one of the two vectors to be normal),
    and the ``r_ij`` are *pairwise* independent (given vector ``i``, ``r_ij``
    does not depend on it, by rotational symmetry). The p-value reported is
    ``min(1, K p_pair(max|r|))`` (Bonferroni): it is never below the exact
    p-value, and by the second Bonferroni inequality plus pairwise
    independence it exceeds it by at most ``(K p_pair)^2 / 2`` -- negligible at
    the levels used here (1e-8 vs 1e-16). For light-tailed entries (uniform,
    truncated normal: negative excess kurtosis) the pair statistic has
    lighter tails than Student-t, so the test is conservative.

    Power. Sensitive to any strongly correlated pair (a duplicated or
    re-seeded row, a tiled pattern, a low-rank component). The MDE is the
    correlation of a single pair detected with probability ``power`` (Fisher
    z-transform): ``tanh((z_{1 - alpha/(2K)} + z_power) / sqrt(m - 3))``.
    A weak correlation spread evenly over all pairs below that level is not
    detected.

    If ``p > max_vectors`` only the first ``max_vectors`` vectors are used
    (still a valid test; ``K`` shrinks accordingly). A constant vector has no
    correlation and is impossible under a continuous null: p-value 0.

    Example:
      >>> w = np.random.default_rng(0).normal(size=(64, 288))
      >>> correlation_test(w, 5e-8, "rows").passed
      True
      >>> w[17] = w[3]                                  # a duplicated row
      >>> correlation_test(w, 5e-8, "rows").passed
      False
    """
    X = _matrix(matrix)
    alpha = _alpha(alpha)
    power = _power(power)
    if axis in ("rows", "row", 0):
        word = "row"
    elif axis in ("cols", "col", "columns", "column", 1):
        word = "column"
        X = X.T
    else:
        raise ValueError(f"axis must be 'rows' or 'cols', got {axis!r}")
    if int(max_vectors) < 2:
        raise ValueError(f"max_vectors must be >= 2, got {max_vectors!r}")
    p_all, m = X.shape
    if p_all < 2:
        raise ValueError(f"need at least 2 {word}s to correlate, got {p_all} (matrix shape {X.shape if word == 'row' else X.T.shape})")
    if m < 4:
        raise ValueError(f"each {word} needs at least 4 entries for a correlation test, got {m}")
    X = X[: int(max_vectors)]
    p = X.shape[0]
    K = p * (p - 1) // 2
    df = m - 2
    test_name = name or f"{word} correlation"
    Xc = X - X.mean(axis=1, keepdims=True)
    norms = np.sqrt(np.einsum("ij,ij->i", Xc, Xc))
    mde_fn = functools.partial(_mde_corr, m=m, K=K)
    # Typical (median) max |r| under independence, for the message.
    t_med = float(_st.t.isf(min(0.5, 0.5 / K) / 2.0, df))
    r_typ = t_med / math.sqrt(df + t_med * t_med)
    const = np.flatnonzero(norms <= 1e-300 + 1e-12 * np.abs(X).max(axis=1))
    if const.size:
        i = int(const[0])
        summary = (
            f"{test_name}: {const.size} constant {word}(s) (first: {word} {i}), "
            f"impossible for independent continuous entries"
        )
        return make_result(
            name=test_name, method="constant vectors", statistic=1.0, p_value=0.0, n=p * m,
            alpha=alpha, power=power, estimate=1.0, expected=0.0, effect=1.0,
            effect_unit="max |r|", summary=summary, mde_fn=mde_fn,
            mde_unit="|r| of one pair", details=ConstantVectorsDetails(constant=const[:20].tolist(), pairs=K),
        )
    Z = Xc / norms[:, None]
    R = Z @ Z.T
    np.fill_diagonal(R, 0.0)
    flat = int(np.argmax(np.abs(R)))
    i, j = divmod(flat, p)
    i, j = min(i, j), max(i, j)
    rmax = float(R[i, j])
    p_pair = _pair_pvalue(rmax, df)
    pval = min(1.0, K * p_pair)
    summary = (
        f"{test_name}: max |r| = {fmt(abs(rmax), 3)} ({word}s {i} and {j}, r = {rmax:+.3f}) over "
        f"{K} pairs of {p} {word}s of length {m}; typical max under independence {fmt(r_typ, 3)}"
    )
    return make_result(
        name=test_name,
        method=(
            f"max |Pearson r| over {K} pairs, Student-t({df}) per pair, Bonferroni over pairs"
        ),
        statistic=abs(rmax),
        p_value=pval,
        n=p * m,
        alpha=alpha,
        power=power,
        estimate=abs(rmax),
        expected=0.0,
        effect=abs(rmax),
        effect_unit="max |r| over pairs",
        summary=summary,
        mde_fn=mde_fn,
        mde_unit="|r| of one pair",
        details=CorrelationDetails(
            axis=word,
            vectors=p,
            vectors_total=p_all,
            length=m,
            pairs=K,
            worst_pair=[i, j],
            r=rmax,
            p_pair=p_pair,
            typical_max_abs_r=r_typ,
            mean_sq_r=float(np.sum(R * R) / (p * (p - 1))),
        ),
    )


def _serial_null(n: int, centred: bool) -> tuple[float, float]:
    """Mean and sd of the circular lag-k serial correlation under iid normal data (0 < k < n/2)."""
    if centred:
        mean = -1.0 / (n - 1)
        var = 1.0 / (n + 1) - 1.0 / (n - 1) ** 2
    else:
        mean = 0.0
        var = 1.0 / (n + 2)
    return mean, math.sqrt(var)


def _mde_serial(alpha: float, power: float, sd: float) -> float:
    return (z_two_sided(alpha) + z_power(power)) * sd


def serial_correlation_test(
    x: Any,
    alpha: float = DEFAULT_ALPHA,
    lag: int = 1,
    *,
    known_mean: float | None = None,
    power: float = DEFAULT_POWER,
    name: str | None = None,
) -> StatTest:
    """Are consecutive values (in flattened, C order) uncorrelated? Circular serial correlation test.

    Statistic: ``r = sum_t y_t y_{(t+lag) mod n} / sum_t y_t^2`` with
    ``y = x - mean(x)`` (or ``x - known_mean``). For iid normal data ``y`` is
    uniformly distributed on a sphere, so the moments of ``r`` are exact
    (R. L. Anderson 1942, circular definition): known mean ``E r = 0``,
    ``Var r = 1/(n+2)``; estimated mean ``E r = -1/(n-1)``,
    ``Var r = 1/(n+1) - 1/(n-1)^2`` (for ``0 < lag < n/2``). The p-value uses
    the normal approximation of the standardised ``r`` (asymptotically normal
    for any iid sample with a finite fourth moment; its kurtosis error is
    O(1/n)).

    Catches generators that fill memory with a pattern: repeated blocks,
    strided copies (use ``lag`` = the block length), smoothing, sorted output.
    The MDE is the lag correlation detected with probability ``power``.

    Example:
      >>> x = np.random.default_rng(0).normal(size=10_000)
      >>> serial_correlation_test(x, 5e-8).passed
      True
      >>> serial_correlation_test(np.cumsum(x), 5e-8).passed   # a random walk
      False
    """
    a = _sample(x, "sample", min_n=8)
    alpha = _alpha(alpha)
    power = _power(power)
    n = a.size
    k = int(lag)
    if k != lag or k < 1 or 2 * k >= n:
        raise ValueError(f"lag must be an integer with 1 <= lag < n/2 = {n / 2:g}, got {lag!r}")
    if known_mean is None:
        y = a - a.mean()
        centred = True
    else:
        y = a - _finite("known_mean", known_mean)
        centred = False
    ss = float(np.dot(y, y))
    mean0, sd0 = _serial_null(n, centred)
    test_name = name or (f"serial correlation (lag {k})")
    mde_fn = functools.partial(_mde_serial, sd=sd0)
    if ss == 0.0:
        summary = f"{test_name}: all {n} values are equal (to the mean), impossible for continuous iid values"
        return make_result(
            name=test_name, method="constant sample", statistic=math.inf, p_value=0.0, n=n,
            alpha=alpha, power=power, estimate=1.0, expected=mean0, effect=1.0,
            effect_unit="lag correlation", summary=summary, mde_fn=mde_fn, mde_unit="lag correlation",
        )
    r = float(np.dot(y, np.roll(y, -k))) / ss
    z = (r - mean0) / sd0
    p = 2.0 * float(_st.norm.sf(abs(z)))
    summary = f"{test_name}: r = {r:+.4f} vs expected {mean0:+.1e} (z = {z:+.2f})"
    return make_result(
        name=test_name,
        method=(
            "circular serial correlation, exact null mean and variance for iid normal data, "
            "normal approximation"
        ),
        statistic=z,
        p_value=p,
        n=n,
        alpha=alpha,
        power=power,
        estimate=r,
        expected=mean0,
        effect=r - mean0,
        effect_unit="lag correlation",
        summary=summary,
        mde_fn=mde_fn,
        mde_unit="lag correlation",
        details=LagDetails(lag=k, null_sd=sd0, known_mean=known_mean),
    )
