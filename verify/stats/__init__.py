"""Statistical tests with a stated false-alarm rate and a planned power.

Every test returns a :class:`StatTest` with the sample size ``n``, the level
``alpha`` used for the decision, the p-value, the minimum detectable effect
(MDE) at the planned power, the measured and expected values, and a
one-line message naming the property and how far off it is.

Tests (the null hypothesis is always "the implementation is right"; the
check fails when ``p <= alpha``):

* :func:`mean_test` -- z-test of the mean with a known sigma;
* :func:`std_test` -- chi-square (normal) or kurtosis-corrected log-variance
  (uniform, truncated normal, any known kurtosis) test of sigma;
* :func:`shape_test` -- Anderson-Darling or Kolmogorov-Smirnov against a
  fully specified normal / uniform / truncated normal, or against the family
  with its scale in a confidence interval (:func:`scale_interval`);
* :func:`support_test` -- no value beyond the bounds of a uniform or
  truncated normal at the largest plausible scale;
* :func:`correlation_test` -- max |r| between rows or columns of a matrix;
* :func:`serial_correlation_test` -- lag correlation in memory order;
* :func:`mean_value_test`, :func:`two_hypotheses_test` -- t-tests for the
  mean of independent replicate estimates (e.g. batch norm's running
  variance: unbiased vs biased).

Multiple testing: :func:`holm`, :func:`apply_holm` (Holm 1979) keep the
family-wise false-alarm rate of a run at ``DEFAULT_FAMILY_ALPHA = 1e-6``.

Planning: :func:`planned_sample_size`, :func:`minimum_detectable_effect`,
:func:`achieved_power`. Sample sizes are planned so that a 5 % sigma error
is detected with power >= 0.99 at the worst-case Holm level
``1e-6 / 20 = 5e-8``.

See ``docs/statistics.md`` for the user documentation and measured power.
"""

from verify.stats.core import (
    DEFAULT_ALPHA,
    DEFAULT_FAMILY_ALPHA,
    DEFAULT_N_TESTS,
    DEFAULT_POWER,
    DISTRIBUTIONS,
    StatTest,
    canonical_distribution,
    distribution_std,
    excess_kurtosis,
)
from verify.stats.dependence import correlation_test, serial_correlation_test
from verify.stats.moments import mean_test, mean_value_test, std_test, two_hypotheses_test
from verify.stats.multiple import apply_holm, holm, holm_adjusted_pvalues, holm_levels
from verify.stats.planning import (
    achieved_power,
    minimum_detectable_effect,
    per_test_alpha,
    planned_sample_size,
    variance_factor,
)
from verify.stats.shape import (
    anderson_darling_critical_value,
    anderson_darling_pvalue,
    anderson_darling_statistic,
    scale_interval,
    shape_test,
    support_test,
)

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_FAMILY_ALPHA",
    "DEFAULT_N_TESTS",
    "DEFAULT_POWER",
    "DISTRIBUTIONS",
    "StatTest",
    "canonical_distribution",
    "distribution_std",
    "excess_kurtosis",
    "mean_test",
    "std_test",
    "shape_test",
    "scale_interval",
    "support_test",
    "correlation_test",
    "serial_correlation_test",
    "mean_value_test",
    "two_hypotheses_test",
    "holm",
    "holm_levels",
    "holm_adjusted_pvalues",
    "apply_holm",
    "per_test_alpha",
    "variance_factor",
    "planned_sample_size",
    "minimum_detectable_effect",
    "achieved_power",
    "anderson_darling_pvalue",
    "anderson_darling_statistic",
    "anderson_darling_critical_value",
]
