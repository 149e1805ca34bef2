"""What every statistical test shares: assembling its result, input validation, quantiles.

Every test in :mod:`verify.stats` returns a :class:`StatTest` (a record of
:mod:`verify.evidence`, re-exported here, built by :func:`make_result`): the statistic,
its p-value, the sample size, the level ``alpha`` the decision used, the
minimum detectable effect (MDE) at the planned power, the measured and the
expected value, and a one-line message that says which property was tested,
how far off it is and what the decision was.

Decision rule used everywhere: the null hypothesis ("the implementation is
right") is *rejected* -- the check fails -- when ``p_value <= alpha``.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import numpy as np
from scipy import stats as _st

# The record and its message live with the other evidence; the formatters with the one number formatter.
# All are re-exported here for the test modules of this package.
from verify.evidence import DEFAULT_POWER, Details, StatTest, stat_message
from verify.evidence import check_level as _alpha
from verify.numbers import format_p as fmt_p
from verify.numbers import format_percent as fmt_pct
from verify.numbers import format_short as fmt

__all__ = [
    "DEFAULT_FAMILY_ALPHA",
    "DEFAULT_N_TESTS",
    "DEFAULT_ALPHA",
    "DEFAULT_POWER",
    "DISTRIBUTIONS",
    "StatTest",
    "excess_kurtosis",
    "distribution_std",
    "canonical_distribution",
]

#: Family-wise false-alarm rate of a whole ``verify check`` run.
DEFAULT_FAMILY_ALPHA = 1e-6
#: Number of statistical tests a run is planned for (the Holm worst case).
DEFAULT_N_TESTS = 20
#: Per-test level in the Holm worst case: ``DEFAULT_FAMILY_ALPHA / DEFAULT_N_TESTS``.
DEFAULT_ALPHA = DEFAULT_FAMILY_ALPHA / DEFAULT_N_TESTS
#: Power at which sample sizes are planned and MDEs are reported: ``DEFAULT_POWER`` (0.99, a StatTest's default).

#: Hypothesised distributions understood by the variance and shape tests.
DISTRIBUTIONS = ("normal", "uniform", "truncated_normal")

_ALIASES = {
    "normal": "normal",
    "norm": "normal",
    "gaussian": "normal",
    "uniform": "uniform",
    "truncated_normal": "truncated_normal",
    "trunc_normal": "truncated_normal",
    "truncnorm": "truncated_normal",
    "truncated-normal": "truncated_normal",
}


def canonical_distribution(name: str) -> str:
    """The canonical name (one of :data:`DISTRIBUTIONS`) for ``name`` or its alias."""
    key = str(name).strip().lower()
    if key not in _ALIASES:
        raise ValueError(
            f"unknown distribution {name!r}; expected one of {', '.join(DISTRIBUTIONS)}"
        )
    return _ALIASES[key]


def _check_truncation(truncation: float) -> float:
    t = float(truncation)
    if not (t > 0) or math.isnan(t):
        raise ValueError(f"truncation must be > 0 (in units of the untruncated sigma), got {truncation!r}")
    return t


@functools.lru_cache(maxsize=64)
def _truncnorm_moments(truncation: float) -> tuple[float, float]:
    """(std, excess kurtosis) of N(0, 1) truncated to [-t, t], from scipy.stats.truncnorm."""
    if math.isinf(truncation):
        return 1.0, 0.0
    var, kurt = _st.truncnorm(-truncation, truncation).stats(moments="vk")
    return float(math.sqrt(var)), float(kurt)


def excess_kurtosis(distribution: str, truncation: float = 2.0) -> float:
    """Excess kurtosis ``E[(X-mu)^4]/sigma^4 - 3`` of a hypothesised distribution.

    * ``"normal"``: 0.
    * ``"uniform"``: -6/5 = -1.2.
    * ``"truncated_normal"``: a normal truncated symmetrically at
      ``+-truncation`` untruncated standard deviations; computed exactly with
      ``scipy.stats.truncnorm`` (about -0.6 at +-2).

    Example:
      >>> excess_kurtosis("uniform")
      -1.2
    """
    dist = canonical_distribution(distribution)
    if dist == "normal":
        return 0.0
    if dist == "uniform":
        return -1.2
    return _truncnorm_moments(_check_truncation(truncation))[1]


def distribution_std(distribution: str, scale: float = 1.0, truncation: float = 2.0) -> float:
    """Standard deviation of the distribution that :func:`shape_test` calls ``(distribution, scale)``.

    * ``"normal"``: ``scale``.
    * ``"uniform"``: ``scale`` (the uniform on [-sqrt(3) scale, sqrt(3) scale]).
    * ``"truncated_normal"``: ``scale`` times the std of N(0,1) truncated to
      ``+-truncation`` (0.87962566103423978 at +-2).
    """
    dist = canonical_distribution(distribution)
    s = _positive("scale", scale)
    if dist == "truncated_normal":
        return s * _truncnorm_moments(_check_truncation(truncation))[0]
    return s


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------


def _sample(x: Any, what: str = "sample", min_n: int = 1) -> np.ndarray:
    """``x`` as a flat float64 array; ValueError if empty, too short or not finite."""
    if hasattr(x, "detach"):  # torch tensors, including ones that require grad
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} cannot be read as an array of numbers: {exc}") from None
    if a.size == 0:
        raise ValueError(f"{what} is empty")
    if a.size < min_n:
        raise ValueError(f"{what} has {a.size} values; this test needs at least {min_n}")
    bad = ~np.isfinite(a)
    if bad.any():
        idx = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{what} contains {int(bad.sum())} NaN/inf value(s) (first at flat index {idx}: {a[idx]})"
        )
    return a


def _matrix(x: Any, what: str = "matrix") -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} cannot be read as an array of numbers: {exc}") from None
    if a.ndim < 2:
        raise ValueError(f"{what} must have at least 2 dimensions, got shape {a.shape}")
    if a.ndim > 2:  # (out, in, *kernel) -> (out, in * receptive field)
        a = a.reshape(a.shape[0], -1)
    if a.size == 0:
        raise ValueError(f"{what} is empty (shape {a.shape})")
    bad = ~np.isfinite(a)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{what} contains {int(bad.sum())} NaN/inf value(s) (first at {idx})")
    return a


def _power(power: Any) -> float:
    return _alpha(power, "power")


def _positive(what: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a positive number, got {value!r}") from None
    if not (v > 0.0) or not math.isfinite(v):
        raise ValueError(f"{what} must be a positive finite number, got {value!r}")
    return v


def _finite(what: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a finite number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return v


# --------------------------------------------------------------------------
# quantiles
# --------------------------------------------------------------------------


def z_two_sided(alpha: float) -> float:
    """Critical value ``z`` with ``P(|Z| > z) = alpha`` for a standard normal Z."""
    return float(_st.norm.isf(_alpha(alpha) / 2.0))


def z_power(power: float) -> float:
    """``z`` with ``P(Z < z) = power`` (2.326 at power 0.99)."""
    return float(_st.norm.ppf(_power(power)))


# --------------------------------------------------------------------------
# the result (the record itself is typed evidence: verify.evidence.StatTest)
# --------------------------------------------------------------------------


def make_result(
    *,
    name: str,
    method: str,
    statistic: float,
    p_value: float,
    n: int,
    alpha: float,
    power: float,
    estimate: float,
    expected: float,
    effect: float,
    effect_unit: str,
    summary: str,
    mde_fn: Callable[[float, float], float],
    mde_unit: str,
    details: Details | None = None,
) -> StatTest:
    """Assemble a :class:`StatTest` (decision, MDE and message) from a test's numbers."""
    p = float(min(1.0, max(0.0, p_value)))
    mde = float(mde_fn(alpha, power))
    return StatTest(
        name=name,
        statistic=float(statistic),
        p_value=p,
        n=int(n),
        alpha=float(alpha),
        mde=mde,
        mde_unit=mde_unit,
        passed=bool(p > alpha),
        estimate=float(estimate),
        expected=float(expected),
        effect=float(effect),
        message=stat_message(summary, p, alpha, n, mde, mde_unit, power),
        method=method,
        effect_unit=effect_unit,
        power=float(power),
        summary=summary,
        details=details if details is not None else Details(),
        mde_fn=mde_fn,
    )
