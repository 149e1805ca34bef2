"""Tests of verify.stats: null calibration, planned power, exact reference values, messages.

Seeds are fixed, so every assertion is deterministic. The statistical
assertions are nevertheless chosen so that they would hold for almost any
seed, and each says how likely it is to fail by chance:

* "a correct sample passes at alpha" -- fails with probability alpha;
* "a wrong sample is caught" -- only at a sample size where the computed
  power is >= 0.999 (asserted in the test itself);
* calibration at a loosened alpha (0.05) over many seeds -- binomial bounds
  of 5 standard deviations (chance of failure < 1e-6). Levels like 1e-8
  cannot be measured by simulation; calibrating the null distribution at
  0.05 and checking the p-value functions against exact values in the tail
  is how the small levels are justified.
"""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
from scipy import integrate, special, stats

from verify.stats import (
    DEFAULT_ALPHA,
    StatTest,
    achieved_power,
    anderson_darling_critical_value,
    anderson_darling_pvalue,
    anderson_darling_statistic,
    apply_holm,
    correlation_test,
    distribution_std,
    excess_kurtosis,
    holm,
    holm_adjusted_pvalues,
    holm_levels,
    mean_test,
    mean_value_test,
    minimum_detectable_effect,
    per_test_alpha,
    planned_sample_size,
    scale_interval,
    serial_correlation_test,
    shape_test,
    std_test,
    support_test,
    two_hypotheses_test,
)

SQRT3 = math.sqrt(3.0)
TRUNC2_STD = 0.87962566103423978  # std of N(0,1) truncated to [-2, 2] (published value)


def binomial_ok(k: int, n: int, p: float, z: float = 5.0) -> bool:
    """k successes in n trials is within z standard deviations of n p."""
    return abs(k - n * p) <= z * math.sqrt(n * p * (1 - p)) + 1


def rejection_rate(pvalues, alpha):
    pv = np.asarray(pvalues)
    return int(np.sum(pv <= alpha)), pv.size


def draw(rng, dist, sigma, size):
    """Samples with standard deviation ``sigma`` from the named distribution."""
    if dist == "normal":
        return rng.normal(0.0, sigma, size)
    if dist == "uniform":
        return rng.uniform(-SQRT3 * sigma, SQRT3 * sigma, size)
    if dist == "truncated_normal":  # sigma is the std after truncation at +-2 untruncated sigma
        return stats.truncnorm.rvs(-2, 2, scale=sigma / TRUNC2_STD, size=size, random_state=rng)
    raise AssertionError(dist)


# --------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------


class TestValidation:
    def test_empty_sample(self):
        with pytest.raises(ValueError, match="empty"):
            std_test([], 1.0)
        with pytest.raises(ValueError, match="empty"):
            mean_test(np.array([]), 0.0, 1.0)

    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    def test_non_finite_sample(self, bad):
        x = np.ones(100)
        x[7] = bad
        for fn in (lambda: std_test(x, 1.0), lambda: mean_test(x, 0, 1), lambda: shape_test(x),
                   lambda: serial_correlation_test(x), lambda: correlation_test(x.reshape(10, 10))):
            with pytest.raises(ValueError, match="NaN/inf"):
                fn()

    @pytest.mark.parametrize("sigma", [0.0, -1.0, np.nan, np.inf])
    def test_non_positive_sigma(self, sigma):
        x = np.random.default_rng(0).normal(size=100)
        with pytest.raises(ValueError, match="expected_std"):
            std_test(x, sigma)
        with pytest.raises(ValueError, match="expected_std"):
            mean_test(x, 0.0, sigma)
        with pytest.raises(ValueError, match="scale"):
            shape_test(x, "normal", sigma)

    @pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5, np.nan, "x"])
    def test_alpha_outside_unit_interval(self, alpha):
        x = np.random.default_rng(0).normal(size=100)
        with pytest.raises(ValueError, match="alpha"):
            std_test(x, 1.0, alpha)
        with pytest.raises(ValueError, match="alpha"):
            holm([0.1, 0.2], alpha)

    def test_other_bad_inputs(self):
        x = np.random.default_rng(0).normal(size=100)
        with pytest.raises(ValueError, match="unknown distribution"):
            std_test(x, 1.0, distribution="cauchy")
        with pytest.raises(ValueError, match="unknown method"):
            shape_test(x, method="chisq")
        with pytest.raises(ValueError, match="EXCESS kurtosis"):
            std_test(x, 1.0, kurtosis=-2.5)
        with pytest.raises(ValueError, match="axis"):
            correlation_test(x.reshape(10, 10), axis="diag")
        with pytest.raises(ValueError, match="at least 2 dimensions"):
            correlation_test(x)
        with pytest.raises(ValueError, match="lag"):
            serial_correlation_test(x, lag=50)
        with pytest.raises(ValueError, match="power"):
            std_test(x, 1.0, power=1.0)
        with pytest.raises(ValueError, match=r"p-value 1 must be in \[0, 1\]"):
            holm([0.1, 1.2])
        with pytest.raises(ValueError, match="differ"):
            two_hypotheses_test(x, 1.0, 1.0)
        with pytest.raises(ValueError, match="rel_effect"):
            planned_sample_size("std", 0.0)
        with pytest.raises(ValueError, match="unknown test"):
            planned_sample_size("variance")
        with pytest.raises(ValueError, match="n must be a positive integer"):
            minimum_detectable_effect(0)

    def test_torch_tensor_accepted(self):
        torch = pytest.importorskip("torch")
        w = torch.randn(64, 100, generator=torch.Generator().manual_seed(0), requires_grad=True)
        r = std_test(w, 1.0)
        assert r.n == 6400 and r.passed


# --------------------------------------------------------------------------
# reference values of the hypothesised distributions
# --------------------------------------------------------------------------


class TestDistributions:
    def test_truncated_normal_std_published_value(self):
        assert distribution_std("truncated_normal", 1.0, 2.0) == pytest.approx(TRUNC2_STD, rel=1e-14)
        assert distribution_std("truncated_normal", 0.1) == pytest.approx(0.1 * TRUNC2_STD, rel=1e-14)
        assert distribution_std("uniform", 0.3) == 0.3

    def test_excess_kurtosis_closed_forms(self):
        assert excess_kurtosis("normal") == 0.0
        assert excess_kurtosis("uniform") == -1.2  # (9/5) - 3
        # Symmetric truncation at +-t: with Z = 2 Phi(t) - 1,
        # E X^2 = 1 - 2 t phi(t) / Z and E X^4 = 3 E X^2 - 2 t^3 phi(t) / Z.
        for t in (1.0, 2.0, 3.0):
            phi, Z = stats.norm.pdf(t), 2 * stats.norm.cdf(t) - 1
            m2 = 1 - 2 * t * phi / Z
            m4 = 3 * m2 - 2 * t**3 * phi / Z
            assert excess_kurtosis("truncated_normal", t) == pytest.approx(m4 / m2**2 - 3, rel=1e-9)


# --------------------------------------------------------------------------
# power planning
# --------------------------------------------------------------------------


class TestPlanning:
    def test_per_test_alpha(self):
        assert per_test_alpha() == pytest.approx(5e-8)
        assert per_test_alpha(1e-6, 4) == pytest.approx(2.5e-7)

    def test_planned_n_normal_is_smallest_with_exact_power(self):
        n = planned_sample_size("std", 0.05)  # alpha = 1e-6 / 20, power 0.99
        # Closed form V (z_a + z_b)^2 / (2 log 1.05)^2 with V = 2 (normal approximation
        # of log chi-square; the exact chi-square power needs ~1.3 % fewer samples).
        za, zb = stats.norm.isf(2.5e-8), stats.norm.ppf(0.99)
        assert n == pytest.approx(2 * (za + zb) ** 2 / (2 * math.log(1.05)) ** 2, rel=0.02)
        # Exact chi-square power, both directions, at n and just below.
        for d in (0.05, -0.05):
            assert achieved_power("std", n, d, 5e-8) >= 0.99
        assert min(achieved_power("std", n - 1, d, 5e-8) for d in (0.05, -0.05)) < 0.99

    def test_planned_n_by_distribution(self):
        n_norm = planned_sample_size("std", 0.05, distribution="normal")
        n_unif = planned_sample_size("std", 0.05, distribution="uniform")
        n_trunc = planned_sample_size("std", 0.05, distribution="truncated_normal")
        # n scales with V = excess kurtosis + 2: 2, 0.8, 1.365...
        # (the normal n comes from the exact chi-square power, ~1.3 % below the normal
        # approximation; the others include a skewness correction, ~0.5 % above it).
        assert n_unif / n_norm == pytest.approx(0.8 / 2, rel=0.03)
        assert n_trunc / n_norm == pytest.approx((2 + excess_kurtosis("truncated_normal")) / 2, rel=0.03)
        assert n_unif < n_trunc < n_norm < 13_000
        # More tests in the run -> smaller per-test alpha -> more samples.
        assert planned_sample_size("std", 0.05, n_tests=100) > n_norm

    def test_mde_at_planned_n_is_at_most_the_planned_effect(self):
        for dist in ("normal", "uniform", "truncated_normal"):
            n = planned_sample_size("std", 0.05, distribution=dist)
            mde = minimum_detectable_effect(n, 5e-8, 0.99, "std", dist)
            assert 0.045 < mde <= 0.0501
        n = planned_sample_size("mean", 0.1)
        assert minimum_detectable_effect(n, 5e-8, 0.99, "mean") <= 0.1

    @pytest.mark.parametrize("dist", ["normal", "uniform", "truncated_normal"])
    def test_simulated_power_at_planned_n(self, dist):
        # 300 seeded simulations of a 5 % error in each direction at the planned n.
        # The planned power is 0.99, so >= 291/300 (0.97) fails with probability ~3e-4.
        n = planned_sample_size("std", 0.05, distribution=dist)
        rng = np.random.default_rng(11)
        for factor in (0.95, 1.05):
            hits = sum(
                not std_test(draw(rng, dist, 0.1 * factor, n), 0.1, DEFAULT_ALPHA, distribution=dist).passed
                for _ in range(300)
            )
            assert hits >= 291, (dist, factor, hits)

    @pytest.mark.parametrize("dist", ["uniform", "truncated_normal"])
    def test_power_model_matches_simulation_mid_range(self, dist):
        # Where power is ~0.5 the prediction is sensitive to the variance model
        # (the kurtosis correction); 600 runs, 5-sigma binomial bound.
        alpha, delta = 0.01, -0.05
        n = 600 if dist == "uniform" else 1000
        predicted = achieved_power("std", n, delta, alpha, dist)
        assert 0.3 < predicted < 0.8
        rng = np.random.default_rng(12)
        hits = sum(
            not std_test(draw(rng, dist, 0.95, n), 1.0, alpha, distribution=dist).passed
            for _ in range(600)
        )
        assert binomial_ok(hits, 600, predicted), (hits, predicted)


# --------------------------------------------------------------------------
# std test
# --------------------------------------------------------------------------


class TestStd:
    @pytest.mark.parametrize(
        "dist,known_mean",
        [("normal", 0.0), ("normal", None), ("uniform", 0.0), ("uniform", None),
         ("truncated_normal", 0.0)],
    )
    def test_null_calibrated_at_005(self, dist, known_mean):
        rng = np.random.default_rng(21)
        ps = [std_test(draw(rng, dist, 2.0, 300), 2.0, 0.05, distribution=dist, known_mean=known_mean).p_value
              for _ in range(2000)]
        k, n = rejection_rate(ps, 0.05)
        assert binomial_ok(k, n, 0.05), (dist, known_mean, k)

    def test_chi2_p_value_matches_scipy(self):
        x = np.random.default_rng(0).normal(0, 1.1, 500)
        r = std_test(x, 1.0, 0.01)
        T = np.sum(x**2)
        assert r.statistic == pytest.approx(T)
        assert r.p_value == pytest.approx(2 * stats.chi2.sf(T, 500), rel=1e-10)
        ru = std_test(x, 1.0, 0.01, known_mean=None)
        assert ru.p_value == pytest.approx(2 * min(stats.chi2.sf(499 * x.var(ddof=1), 499),
                                                   stats.chi2.cdf(499 * x.var(ddof=1), 499)), rel=1e-10)

    def test_normal_theory_on_uniform_would_be_miscalibrated(self):
        # Why the kurtosis correction exists: chi-square on uniform samples rejects far too rarely.
        rng = np.random.default_rng(22)
        ps = [std_test(draw(rng, "uniform", 1.0, 300), 1.0, 0.05).p_value for _ in range(1000)]
        k, n = rejection_rate(ps, 0.05)
        assert k < 10  # nominal 50

    def test_correct_sample_passes_and_reports(self):
        n = planned_sample_size("std", 0.05)
        x = np.random.default_rng(1).normal(0, 0.1, n)
        r = std_test(x, 0.1)  # false alarm probability 5e-8
        assert r.passed and r.n == n and r.alpha == DEFAULT_ALPHA
        assert r.mde == pytest.approx(minimum_detectable_effect(n, DEFAULT_ALPHA), rel=1e-12)
        assert r.estimate == pytest.approx(math.sqrt(np.mean(x**2)))
        assert r.expected == 0.1 and r.effect == pytest.approx(r.estimate / 0.1 - 1)

    @pytest.mark.parametrize("dist", ["normal", "uniform", "truncated_normal"])
    def test_five_percent_too_small_is_caught_with_a_clear_message(self, dist):
        n = 2 * planned_sample_size("std", 0.05, distribution=dist)
        assert achieved_power("std", n, -0.05, DEFAULT_ALPHA, dist) >= 0.999
        x = draw(np.random.default_rng(2), dist, 0.095, n)
        r = std_test(x, 0.1, distribution=dist)
        assert not r.passed and r.p_value <= r.alpha
        assert -0.07 < r.effect < -0.03
        assert r.message.startswith("std 0.09")
        assert "vs expected 0.1 (-" in r.message and "FAIL" in r.message
        assert "α = 5.0e-08" in r.message

    def test_kurtosis_override_equals_named_distribution(self):
        x = draw(np.random.default_rng(3), "uniform", 1.0, 1000)
        a = std_test(x, 1.0, 0.01, distribution="uniform")
        b = std_test(x, 1.0, 0.01, kurtosis=-1.2)
        assert a.p_value == pytest.approx(b.p_value, rel=1e-12)


# --------------------------------------------------------------------------
# mean test and replicate-mean tests
# --------------------------------------------------------------------------


class TestMean:
    def test_null_calibrated_and_formula(self):
        rng = np.random.default_rng(31)
        ps = [mean_test(rng.uniform(-SQRT3, SQRT3, 200), 0.0, 1.0, 0.05).p_value for _ in range(2000)]
        assert binomial_ok(*rejection_rate(ps, 0.05), 0.05)
        x = rng.normal(0.3, 2.0, 400)
        r = mean_test(x, 0.25, 2.0, 0.01)
        z = (x.mean() - 0.25) / (2.0 / 20.0)
        assert r.statistic == pytest.approx(z) and r.p_value == pytest.approx(2 * stats.norm.sf(abs(z)))

    def test_shift_is_caught(self):
        n = 40_000
        assert achieved_power("mean", n, 0.05, DEFAULT_ALPHA) >= 0.999
        r = mean_test(np.random.default_rng(4).normal(0.05, 1.0, n), 0.0, 1.0)
        assert not r.passed and "σ" in r.message and "mean" in r.message

    def test_mean_value_test_matches_scipy_ttest(self):
        v = np.random.default_rng(5).chisquare(3, 500) / 3
        r = mean_value_test(v, 1.05, 0.01)
        ref = stats.ttest_1samp(v, 1.05)
        assert r.statistic == pytest.approx(ref.statistic) and r.p_value == pytest.approx(ref.pvalue)

    def test_mean_value_test_calibrated_on_skewed_values(self):
        # Per-batch variances at batch size 4 are chi2(3)/3: strongly skewed.
        rng = np.random.default_rng(32)
        ps = [mean_value_test(rng.chisquare(3, 200) / 3, 1.0, 0.05).p_value for _ in range(2000)]
        assert binomial_ok(*rejection_rate(ps, 0.05), 0.05)


class TestTwoHypotheses:
    @staticmethod
    def batch_ratios(rng, n_batches, N, unbiased):
        """Variance estimate of each of n_batches normal batches of size N, over sigma^2 = 1."""
        x = rng.normal(size=(n_batches, N))
        return x.var(axis=1, ddof=1 if unbiased else 0)

    def test_unbiased_running_variance_supported(self):
        N = 4
        # Values have mean 1 (unbiased) or 0.75 (biased) and sd sqrt(2/(N-1)):
        # the hypotheses are 0.25 / 0.816 = 0.31 sd apart.
        n = planned_sample_size("mean", 0.25 / math.sqrt(2 / (N - 1)))
        rng = np.random.default_rng(6)
        r = two_hypotheses_test(self.batch_ratios(rng, 2000, N, True), 1.0, (N - 1) / N,
                                labels=("unbiased", "biased"), name="running_var / sigma^2")
        assert r.passed and r.details["verdict"] == "unbiased"
        assert r.details["planned_power"] > 0.999 and n < 2000
        assert "supports unbiased" in r.message

    def test_biased_running_variance_caught(self):
        rng = np.random.default_rng(7)
        r = two_hypotheses_test(self.batch_ratios(rng, 2000, 4, False), 1.0, 0.75,
                                labels=("unbiased", "biased"))
        assert not r.passed and r.details["verdict"] == "biased"
        assert r.effect == pytest.approx(-0.25, abs=0.03)

    def test_underpowered_is_reported(self):
        rng = np.random.default_rng(8)
        r = two_hypotheses_test(self.batch_ratios(rng, 20, 4, True), 1.0, 0.75, labels=("unbiased", "biased"))
        assert r.details["planned_power"] < 0.99
        assert "underpowered" in r.message and r.details["n_needed"] > 20


# --------------------------------------------------------------------------
# shape tests
# --------------------------------------------------------------------------


def exact_ad_sf(z: float, J: int = 1000) -> float:
    """P(A^2_inf > z) by numerical Laplace inversion of E exp(s A^2) = prod_j (1 - 2s/(j(j+1)))^(-1/2).

    Independent of the implementation: Bromwich integral along Re s = theta
    (near the saddle point) of M(s) exp(-s z) / s.
    """
    j = np.arange(1, J + 1, dtype=float)
    lam = 1.0 / (j * (j + 1))
    tail1, tail2 = 1.0 / (J + 1), 1.0 / (3.0 * J**3)  # sum_{j>J} lam, sum lam^2

    def logM(s):
        return -0.5 * np.sum(np.log1p(-2 * lam * s)) + s * tail1 + s * s * tail2

    th = 0.3 if z <= 1 else max(0.05, 1 - 1 / (2 * z))

    def f(t):
        s = th + 1j * t
        return (np.exp(logM(s) - s * z) / s).real

    # |M(theta + it)| < 1e-11 beyond t = 400.
    val, _ = integrate.quad(f, 0, 400.0, limit=2000, epsabs=0, epsrel=1e-10)
    return val / math.pi


class TestAndersonDarling:
    def test_stephens_critical_values(self):
        # Fully specified case, Stephens (1974), Table 1 (critical values rounded to 3 decimals,
        # which moves p by up to ~3e-4 at the 2.5 % point).
        for a2, p in [(1.933, 0.10), (2.492, 0.05), (3.070, 0.025), (3.857, 0.01)]:
            assert anderson_darling_pvalue(a2) == pytest.approx(p, abs=4e-4)
        assert anderson_darling_critical_value(0.05) == pytest.approx(2.492, abs=2e-3)

    @pytest.mark.parametrize("z", [0.5, 1.0, 2.492, 4.0, 4.9, 5.1, 8.0, 12.0, 18.0, 25.0])
    def test_asymptotic_p_value_against_exact_inversion(self, z):
        # Marsaglia below A^2 = 5 (worst ~0.3 % near 5), the tail expansion above (< 0.12 %).
        exact = exact_ad_sf(z)
        tol = 3e-3 if z < 5 else 1.2e-3 if z < 8 else 3e-4
        assert anderson_darling_pvalue(z) == pytest.approx(exact, rel=tol)

    def test_tail_matches_leading_asymptotics(self):
        # P(A^2 > z) ~ sqrt(3) erfc(sqrt z) as z -> infinity.
        z = 60.0
        assert anderson_darling_pvalue(z) / (SQRT3 * special.erfc(math.sqrt(z))) == pytest.approx(1, abs=0.01)

    def test_statistic_against_textbook_formula(self):
        x = np.sort(np.random.default_rng(9).normal(size=200))
        u = stats.norm.cdf(x)
        i = np.arange(1, 201)
        ref = -200 - np.mean((2 * i - 1) * (np.log(u) + np.log(1 - u[::-1])))
        assert anderson_darling_statistic(np.log(u), np.log1p(-u)) == pytest.approx(ref, rel=1e-12)
        assert shape_test(x, "normal", 1.0).statistic == pytest.approx(ref, rel=1e-9)

    @pytest.mark.parametrize("n", [10, 100, 2000])
    def test_finite_n_null_calibrated(self, n):
        rng = np.random.default_rng(40 + n)
        ps = [shape_test(rng.normal(0, 3, n), "normal", 3.0, 0.05).p_value for _ in range(2000)]
        for level in (0.05, 0.01):
            assert binomial_ok(*rejection_rate(ps, level), level), (n, level)

    @pytest.mark.parametrize("dist", ["uniform", "truncated_normal"])
    def test_bounded_null_calibrated(self, dist):
        rng = np.random.default_rng(43)
        scale = 0.5 if dist == "uniform" else 0.5 / TRUNC2_STD
        ps = [shape_test(draw(rng, dist, 0.5, 500), dist, scale, 0.05).p_value for _ in range(1500)]
        assert binomial_ok(*rejection_rate(ps, 0.05), 0.05)


class TestShape:
    def test_ks_p_value_matches_scipy(self):
        x = np.random.default_rng(10).normal(0.02, 1, 700)
        r = shape_test(x, "normal", 1.0, 0.01, method="ks")
        ref = stats.kstest(x, "norm", method="exact")
        assert r.statistic == pytest.approx(ref.statistic, rel=1e-12)
        assert r.p_value == pytest.approx(ref.pvalue, rel=1e-6)
        y = np.random.default_rng(10).uniform(-SQRT3, SQRT3, 700)
        ru = shape_test(y, "uniform", 1.0, 0.01, method="ks")
        assert ru.p_value == pytest.approx(stats.kstest(y, "uniform", args=(-SQRT3, 2 * SQRT3)).pvalue, rel=1e-6)

    def test_ks_null_calibrated(self):
        rng = np.random.default_rng(44)
        ps = [shape_test(rng.normal(size=300), "normal", 1.0, 0.05, method="ks").p_value for _ in range(2000)]
        assert binomial_ok(*rejection_rate(ps, 0.05), 0.05)

    def test_right_variance_but_uniform_is_caught(self):
        # AD distance between N(0,1) and the uniform with std 1 is ~0.06; at the
        # planned n the expected A^2 is ~ n * 0.06^2 = 45 >> the 5e-8 critical
        # value (~16.7), so the power is essentially 1.
        n = planned_sample_size("std", 0.05)
        x = draw(np.random.default_rng(13), "uniform", 0.1, n)
        r = shape_test(x, "normal", 0.1)
        assert not r.passed and r.statistic > 3 * anderson_darling_critical_value(DEFAULT_ALPHA)
        assert "largest CDF gap" in r.message and "Anderson-Darling" in r.message
        assert std_test(x, 0.1).passed  # the variance alone is right

    def test_normal_against_uniform_reports_support_violation(self):
        x = np.random.default_rng(14).normal(0, 0.1, 5000)
        r = shape_test(x, "uniform", 0.1)
        assert r.p_value == 0 and not r.passed
        assert "outside the support" in r.message and r.details["n_outside_support"] > 0

    def test_float32_rounding_at_the_bound_is_not_a_violation(self):
        bound = SQRT3 * 0.1
        x = np.random.default_rng(15).uniform(-bound, bound, 5000).astype(np.float32)
        x[0] = np.nextafter(np.float32(bound), np.float32(1))  # one float32 ulp outside
        r = shape_test(x, "uniform", 0.1)
        assert r.passed and r.details["n_outside_support"] == 0

    def test_truncation_missing_is_caught(self):
        # Untruncated normal rescaled to the truncated std: values beyond +-2 sigma_untruncated.
        n = 8000
        x = np.random.default_rng(16).normal(0, 0.1 * TRUNC2_STD, n)
        r = shape_test(x, "truncated_normal", 0.1, truncation=2.0)
        assert not r.passed

    def test_scale_error_moves_the_statistic(self):
        # Known parameters: a 20 % scale error is a departure of the shape test too.
        x = np.random.default_rng(17).normal(0, 1.2, 10_000)
        assert not shape_test(x, "normal", 1.0).passed

    def test_mde_decreases_with_n(self):
        a = shape_test(np.random.default_rng(0).normal(size=1000), alpha=1e-6).mde
        b = shape_test(np.random.default_rng(0).normal(size=4000), alpha=1e-6).mde
        assert b == pytest.approx(a / 2, rel=1e-9)


# --------------------------------------------------------------------------
# independence
# --------------------------------------------------------------------------


class TestCorrelation:
    @pytest.mark.parametrize("axis", ["rows", "cols"])
    def test_null_calibrated_normal(self, axis):
        rng = np.random.default_rng(51)
        ps = [correlation_test(rng.normal(size=(12, 30)), 0.05, axis).p_value for _ in range(2000)]
        k, n = rejection_rate(ps, 0.05)
        # Bonferroni over pairwise-independent pairs: the rate is in [0.05 - 0.05^2/2, 0.05].
        assert binomial_ok(k, n, 0.05 - 0.05**2 / 4), k

    def test_uniform_entries_conservative(self):
        rng = np.random.default_rng(52)
        ps = [correlation_test(rng.uniform(-1, 1, (12, 30)), 0.05).p_value for _ in range(2000)]
        k, n = rejection_rate(ps, 0.05)
        assert k <= n * 0.05 + 5 * math.sqrt(n * 0.05 * 0.95)

    def test_pair_p_value_matches_pearsonr(self):
        w = np.random.default_rng(18).normal(size=(10, 50))
        r = correlation_test(w, 0.01)
        i, j = r.details["worst_pair"]
        ref = stats.pearsonr(w[i], w[j])
        assert r.details["r"] == pytest.approx(ref.statistic, rel=1e-10)
        assert r.p_value == pytest.approx(min(1, 45 * ref.pvalue), rel=1e-8)

    def test_duplicated_row_and_correlated_columns_caught(self):
        w = np.random.default_rng(19).normal(size=(64, 32, 3, 3))
        w[17] = w[3]
        r = correlation_test(w, DEFAULT_ALPHA, "rows")
        assert not r.passed and r.details["worst_pair"] == [3, 17]
        assert "rows 3 and 17" in r.message
        v = np.random.default_rng(20).normal(size=(64, 288))
        # r = 0.95 between two columns of length 64: Fisher z atanh(0.95) sqrt(61) = 14.3 vs a
        # threshold of 7.1 (Bonferroni over 41328 pairs at 5e-8): power ~ 1. (r = 0.8 would be
        # below this test's MDE of 0.84 for columns this short.)
        v[:, 5] = 0.95 * v[:, 2] + math.sqrt(1 - 0.95**2) * v[:, 5]
        assert r_fail(correlation_test(v, DEFAULT_ALPHA, "cols"))

    def test_mde_single_pair(self):
        r = correlation_test(np.random.default_rng(0).normal(size=(64, 288)), DEFAULT_ALPHA)
        K = 64 * 63 // 2
        expected = math.tanh((stats.norm.isf(DEFAULT_ALPHA / (2 * K)) + stats.norm.ppf(0.99)) / math.sqrt(285))
        assert r.mde == pytest.approx(expected)
        assert r.n == 64 * 288

    def test_constant_row(self):
        w = np.random.default_rng(0).normal(size=(8, 20))
        w[2] = 0.0
        r = correlation_test(w, 0.01)
        assert not r.passed and "constant" in r.message


def r_fail(r: StatTest) -> bool:
    return not r.passed and r.p_value <= r.alpha


class TestSerial:
    def test_exact_null_moments(self):
        rng = np.random.default_rng(61)
        n = 40
        rs_c = np.array([serial_correlation_test(rng.normal(size=n), 0.05).estimate for _ in range(4000)])
        rs_k = np.array([serial_correlation_test(rng.normal(size=n), 0.05, known_mean=0.0).estimate
                         for _ in range(4000)])
        # Means within 5 standard errors of the exact values, variances within 10 %.
        assert abs(rs_c.mean() + 1 / (n - 1)) < 5 * rs_c.std() / math.sqrt(4000)
        assert rs_c.var() == pytest.approx(1 / (n + 1) - 1 / (n - 1) ** 2, rel=0.1)
        assert abs(rs_k.mean()) < 5 * rs_k.std() / math.sqrt(4000)
        assert rs_k.var() == pytest.approx(1 / (n + 2), rel=0.1)

    def test_null_calibrated(self):
        rng = np.random.default_rng(62)
        ps = [serial_correlation_test(rng.uniform(size=500), 0.05, lag=3).p_value for _ in range(2000)]
        assert binomial_ok(*rejection_rate(ps, 0.05), 0.05)

    def test_patterns_caught(self):
        x = np.random.default_rng(21).normal(size=20_000)
        assert r_fail(serial_correlation_test(np.cumsum(x), DEFAULT_ALPHA))
        tiled = np.tile(x[:100], 200)  # a block of 100 values repeated
        assert r_fail(serial_correlation_test(tiled, DEFAULT_ALPHA, lag=100))
        smooth = x[1:] + x[:-1]  # lag-1 correlation 0.5
        r = serial_correlation_test(smooth, DEFAULT_ALPHA)
        assert r_fail(r) and r.estimate == pytest.approx(0.5, abs=0.03)


# --------------------------------------------------------------------------
# multiple testing
# --------------------------------------------------------------------------


def holm_reference(ps, alpha):
    """Holm 1979 step-down, straight from the definition."""
    m = len(ps)
    order = np.argsort(ps, kind="stable")
    reject = [False] * m
    for rank, idx in enumerate(order):
        if ps[idx] <= alpha / (m - rank):
            reject[idx] = True
        else:
            break
    return reject


class TestHolm:
    def test_textbook_example(self):
        ps = [0.01, 0.04, 0.03, 0.005]
        # Sorted: 0.005 <= .05/4, 0.01 <= .05/3, 0.03 > .05/2 -> stop.
        assert holm(ps, 0.05) == [True, False, False, True]
        assert holm_adjusted_pvalues(ps) == pytest.approx([0.03, 0.06, 0.06, 0.02])

    def test_against_definition_and_adjusted_p(self):
        rng = np.random.default_rng(71)
        for _ in range(300):
            m = int(rng.integers(1, 12))
            ps = list(rng.uniform(0, 0.05, m) ** rng.uniform(0.5, 2))
            a = 0.01
            rej = holm(ps, a)
            assert rej == holm_reference(ps, a)
            assert rej == [q <= a for q in holm_adjusted_pvalues(ps)]
            levels = holm_levels(ps, a)
            assert rej == [p <= lv for p, lv in zip(ps, levels)]
            assert all(a / m - 1e-18 <= lv <= a for lv in levels)

    def test_family_wise_rate_under_independent_nulls(self):
        rng = np.random.default_rng(72)
        fams = rng.uniform(size=(4000, 10))
        k = sum(any(holm(f, 0.1)) for f in fams)
        assert k <= 4000 * 0.1 + 5 * math.sqrt(4000 * 0.1 * 0.9)

    def test_apply_holm_updates_copies(self):
        rng = np.random.default_rng(73)
        x = rng.normal(0, 0.1, 20_000)
        tests = [std_test(x, 0.1, 0.05), std_test(x, 0.104, 0.05), mean_test(x, 0.0, 0.1, 0.05)]
        out = apply_holm(tests, 1e-6)
        assert [t.passed for t in out] == [not r for r in holm(tests, 1e-6)]
        assert out[1].failed and out[1].alpha == pytest.approx(1e-6 / 3)
        assert out[0].passed and out[0].alpha == pytest.approx(1e-6 / 2)  # stopped at rank 2
        assert out[0].mde > tests[0].mde  # smaller alpha, larger MDE
        assert "α = 5.0e-07" in out[0].message
        assert out[1].details["holm"]["family_size"] == 3
        assert tests[0].alpha == 0.05  # originals untouched


# --------------------------------------------------------------------------
# the result object
# --------------------------------------------------------------------------


class TestResult:
    def test_json_and_pickle(self):
        x = np.random.default_rng(0).normal(size=(32, 50))
        results = [
            std_test(x, 1.0), mean_test(x, 0, 1), shape_test(x), shape_test(x, method="ks"),
            correlation_test(x), serial_correlation_test(x), mean_value_test(x.ravel() + 1, 1.0),
            two_hypotheses_test(x.ravel() + 1, 1.0, 2.0), shape_test(x, "uniform", 1.0),
        ]
        for r in results:
            d = r.to_dict()
            json.dumps(d, allow_nan=False)
            for key in ("name", "statistic", "p_value", "n", "alpha", "mde", "mde_unit", "passed",
                        "estimate", "expected", "effect", "message"):
                assert key in d
            assert "mde_fn" not in d
            r2 = pickle.loads(pickle.dumps(r))
            assert r2 == r and r2.with_alpha(0.01).mde == pytest.approx(r.with_alpha(0.01).mde)

    def test_with_alpha(self):
        x = np.random.default_rng(0).normal(0, 1.02, 10_000)
        r = std_test(x, 1.0, 0.5)
        assert r.failed
        s = r.with_alpha(1e-9)
        assert s.passed and s.alpha == 1e-9 and s.mde > r.mde and "pass" in s.message
        assert str(s) == s.message


def truncated(rng, scale, size):
    """N(0, scale²) truncated to ±2·scale, by rejection (numpy only: fast for millions of values)."""
    out = rng.normal(0.0, scale, int(size * 1.06) + 100)
    out = out[np.abs(out) <= 2 * scale]
    assert out.size >= size
    return out[:size]


class TestShapeWhateverTheScale:
    """The composite shape test (scale in a confidence interval) and the support test."""

    @pytest.mark.parametrize("dist", ["normal", "uniform", "truncated_normal"])
    def test_scale_interval_covers_at_its_stated_rate(self, dist):
        rng = np.random.default_rng(50)
        scale = 0.5 / TRUNC2_STD if dist == "truncated_normal" else 0.5
        misses = 0
        for _ in range(2000):
            lo, hi = scale_interval(draw(rng, dist, 0.5, 2000), dist, 0.05)
            misses += not lo <= scale <= hi
        assert binomial_ok(misses, 2000, 0.05), misses

    @pytest.mark.parametrize("dist", ["normal", "uniform", "truncated_normal"])
    def test_composite_shape_test_is_valid_at_a_loosened_level(self, dist):
        # Berger & Boos: P(p <= alpha) <= alpha whatever the scale; it may be conservative, never liberal.
        rng = np.random.default_rng(51)
        ps = []
        for _ in range(1000):
            x = draw(rng, dist, 0.3, 4000)
            ps.append(shape_test(x[:1000], dist, scale_interval(x, dist, 0.01), 0.05, interval_miss=0.01).p_value)
        k, n = rejection_rate(ps, 0.05)
        assert k <= n * 0.05 + 5 * math.sqrt(n * 0.05 * 0.95), k

    def test_a_sigma_error_is_not_a_shape_error(self):
        # 10 % too wide: the fully specified test rejects, the test with the scale fitted does not.
        x = np.random.default_rng(52).normal(0, 1.1, 200_000)
        assert not shape_test(x[:64_000], "normal", 1.0).passed
        r = shape_test(x[:64_000], "normal", scale_interval(x, "normal", 1e-8), interval_miss=1e-8)
        assert r.passed and r.details["scale"] == pytest.approx(1.1, rel=0.01)

    def test_truncated_with_the_right_variance_is_caught_whatever_the_scale(self):
        # Planned: the closest normal in the interval is at AD distance >= 0.03 > the MDE (0.023 at
        # n = 64 000, α = 5e-8), so the power is >= 0.99; A² ≈ n·0.033² ≈ 70 against a critical ~17.
        rng = np.random.default_rng(53)
        for _ in range(5):
            x = truncated(rng, 1.0, 2_000_000)
            r = shape_test(x[:64_000], "normal", scale_interval(x, "normal", 1e-8), interval_miss=1e-8)
            assert not r.passed and r.mde < 0.025, r.message

    def test_support_power_matches_one_minus_one_minus_q_to_the_n(self):
        # q = 4e-5 outside, n = 100 000: power 1 − (1 − q)^n = 0.982; 300 simulated samples.
        rng = np.random.default_rng(54)
        n, q = 100_000, 4e-5
        predicted = 1 - (1 - q) ** n
        caught = 0
        for _ in range(300):
            x = truncated(rng, 1.0, n)
            leak = rng.random(n) < q
            x[leak] = rng.choice([-1, 1], leak.sum()) * rng.uniform(2.05, 3.0, leak.sum())
            r = support_test(x, "truncated_normal", scale_interval(x, "truncated_normal", 1e-8), 1e-6,
                             interval_miss=1e-8)
            caught += not r.passed
        assert binomial_ok(caught, 300, predicted), (caught, predicted)

    def test_support_passes_a_correct_sample_and_states_its_power(self):
        x = truncated(np.random.default_rng(55), 1.0, 2_000_000)
        r = support_test(x, "truncated_normal", scale_interval(x, "truncated_normal", 1e-8), 5e-8,
                         interval_miss=1e-8)
        assert r.passed and r.statistic == 0
        # The defect: 4e-6 of the values outside is caught with probability 1 − e^{−8} > 0.9996.
        assert r.mde == pytest.approx(-math.log(0.01) / 2_000_000, rel=1e-3) and r.mde < 4e-6
        u = np.random.default_rng(56).uniform(-1, 1, 100_000)
        assert support_test(u, "uniform", scale_interval(u, "uniform", 1e-8), 5e-8, interval_miss=1e-8).passed
        with pytest.raises(ValueError, match="no bounded support"):
            support_test(u, "normal", (1.0, 1.1))
