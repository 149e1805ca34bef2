"""Detection rate and false-alarm rate of the initialiser tests, vs PyTorch's own approach.

Usage::

    python benchmarks/stats_power.py            # about 1 minute on an idle machine
    python benchmarks/stats_power.py --quick    # about 15 seconds, 10x fewer runs

The initialiser under test is He (Kaiming) normal, sigma = sqrt(2 / fan_in).
Each scenario draws samples from numpy with the sigma (or distribution) a
buggy implementation would produce, and asks two approaches whether the
initialiser is right:

* **ours** -- the battery of :mod:`verify.stats` tests on one weight of shape
  (48, 32, 3, 3) (fan_in 288, fan_out 432, 13 824 values, more than the
  12 543 planned for a 5 % sigma error at power 0.99): std (chi-square),
  mean (t-test in units of the weight's own sigma), shape (Anderson-Darling
  vs the normal with the scale fitted in its confidence interval, so a sigma
  error is the std test's alone), row and column correlation, serial
  correlation. Each test at alpha = 5e-8, the
  smallest level Holm's correction gives one of 20 tests at a family-wise
  level of 1e-6; the initialiser "fails" if any test rejects.
* **PyTorch** -- the approach of ``test/nn/test_init.py``: a 2-D tensor with
  both sizes drawn from 20..25 (400-625 values), and
  ``scipy.stats.kstest(samples, "norm", args=(0, expected_std)).pvalue > 1e-4``.

Scenarios (ratio of the produced sigma to the right one): sigma off by -2,
-5, -10, +5 %; the sqrt(2) gain missing (ratio 0.707); fan_in and fan_out
swapped (ratio sqrt(fan_in / fan_out): 0.816 for ours; for PyTorch's square-ish
matrices it is between 0.89 and 1.12, and exactly 1 when the sizes are equal);
right variance but uniform instead of normal.

It also prints, per hypothesised distribution, the planned sample size of the
std test and its simulated power and false-alarm rate at that size, and the
rejection rates of the ``distribution-shape`` check at its own sizes
(Anderson-Darling on 64 000 values with the scale fitted in an interval from
2 064 384 values, and the support test on all of them): correct normal and
truncated normal, a sigma error, the wrong law with the right variance, and a
truncated normal whose resampling loop gives up after three rounds (about
4e-6 of the values stay beyond ±2s).
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verify.stats import (  # noqa: E402
    DEFAULT_ALPHA,
    achieved_power,
    correlation_test,
    mean_value_test,
    planned_sample_size,
    scale_interval,
    serial_correlation_test,
    shape_test,
    std_test,
    support_test,
)

SHAPE = (48, 32, 3, 3)
FAN_IN = SHAPE[1] * SHAPE[2] * SHAPE[3]
FAN_OUT = SHAPE[0] * SHAPE[2] * SHAPE[3]
TORCH_P_MIN = 1e-4
TORCH_ASSERTIONS = 44  # statistical assertions in a run of PyTorch's init tests
SQRT3 = math.sqrt(3.0)
TRUNC2_STD = float(stats.truncnorm(-2, 2).std())

TESTS = ("std", "mean", "shape", "row corr", "col corr", "serial")


def he_std(fan_in: int) -> float:
    return math.sqrt(2.0 / fan_in)


# Each scenario: name, and a function (fan_in, fan_out) -> (sigma ratio, kind)
SCENARIOS = [
    ("correct", lambda fi, fo: (1.0, "normal")),
    ("σ -2 %", lambda fi, fo: (0.98, "normal")),
    ("σ -5 %", lambda fi, fo: (0.95, "normal")),
    ("σ +5 %", lambda fi, fo: (1.05, "normal")),
    ("σ -10 %", lambda fi, fo: (0.90, "normal")),
    ("√2 gain missing", lambda fi, fo: (1.0 / math.sqrt(2.0), "normal")),
    ("fan_in/fan_out swapped", lambda fi, fo: (math.sqrt(fi / fo), "normal")),
    ("uniform, right variance", lambda fi, fo: (1.0, "uniform")),
]


def sample(rng: np.random.Generator, kind: str, sigma: float, shape) -> np.ndarray:
    if kind == "normal":
        return rng.normal(0.0, sigma, shape)
    return rng.uniform(-SQRT3 * sigma, SQRT3 * sigma, shape)


def ours(w: np.ndarray, sigma: float, alpha: float) -> dict[str, float]:
    """p-values of the battery on one weight (the decision is p <= alpha)."""
    m = w.reshape(w.shape[0], -1)
    z = w.ravel() / math.sqrt(float(np.mean(w * w)))
    miss = alpha / 4
    return {
        "std": std_test(w, sigma, alpha).p_value,
        "mean": mean_value_test(z, 0.0, alpha).p_value,
        "shape": shape_test(w, "normal", scale_interval(w, "normal", miss), alpha, interval_miss=miss).p_value,
        "row corr": correlation_test(m, alpha, "rows").p_value,
        "col corr": correlation_test(m, alpha, "cols").p_value,
        "serial": serial_correlation_test(w, alpha).p_value,
    }


def torch_way(rng: np.random.Generator, pyrng: random.Random, ratio_fn) -> bool:
    """One assertion of PyTorch's approach; True if it flags the initialiser."""
    rows, cols = pyrng.randint(20, 25), pyrng.randint(20, 25)
    ratio, kind = ratio_fn(cols, rows)  # 2-D: fan_in = cols, fan_out = rows
    expected = he_std(cols)
    x = sample(rng, kind, ratio * expected, (rows, cols)).ravel()
    return stats.kstest(x, "norm", args=(0.0, expected)).pvalue <= TORCH_P_MIN


def upper95(k: int, n: int) -> float:
    """Clopper-Pearson 95 % upper bound of a rate from k events in n runs."""
    return float(stats.beta.ppf(0.95, k + 1, n - k)) if k < n else 1.0


def rate(k: int, n: int) -> str:
    if k == 0:
        return f"0 / {n} (< {upper95(0, n):.1e})"
    if k / n < 0.01:
        return f"{k / n:.1e} ({k} / {n})"
    return f"{k / n:.3f} ({k} / {n})"


def run(args) -> None:
    t0 = time.perf_counter()
    alpha = DEFAULT_ALPHA
    rng = np.random.default_rng(args.seed)
    pyrng = random.Random(args.seed)
    sigma = he_std(FAN_IN)
    n_values = int(np.prod(SHAPE))
    n_plan = planned_sample_size("std", 0.05)
    print(f"# Initialiser tests: detection and false alarms (seed {args.seed})\n")
    print(f"He normal, ours on weight {SHAPE} (fan_in {FAN_IN}, fan_out {FAN_OUT}, n = {n_values}; "
          f"planned n for a 5 % σ error: {n_plan}), each test at α = {alpha:.0e}; "
          f"PyTorch: KS p > {TORCH_P_MIN:g} on 20..25 x 20..25 matrices.\n")

    # ---- main table ------------------------------------------------------
    header = ("| scenario | σ ratio (ours) | ours: any test | ours: std test | ours: caught by | "
              "PyTorch KS, per assertion |")
    print(header)
    print("|" + "---|" * 6)
    null_pvals: dict[str, list[float]] = {t: [] for t in TESTS}
    for name, fn in SCENARIOS:
        ratio, kind = fn(FAN_IN, FAN_OUT)
        runs = args.null_runs if name == "correct" else args.runs
        hits = 0
        std_hits = 0
        by_test = {t: 0 for t in TESTS}
        for _ in range(runs):
            w = sample(rng, kind, ratio * sigma, SHAPE)
            ps = ours(w, sigma, alpha)
            rejected = [t for t in TESTS if ps[t] <= alpha]
            hits += bool(rejected)
            std_hits += "std" in rejected
            for t in rejected:
                by_test[t] += 1
            if name == "correct":
                for t in TESTS:
                    null_pvals[t].append(ps[t])
        truns = args.torch_null_runs if name == "correct" else args.runs
        thits = sum(torch_way(rng, pyrng, fn) for _ in range(truns))
        caught = ", ".join(f"{t} {by_test[t] / runs:.2f}" for t in TESTS if by_test[t]) or "-"
        print(f"| {name} | {ratio:.3f}{' (uniform)' if kind == 'uniform' else ''} | {rate(hits, runs)} | "
              f"{rate(std_hits, runs)} | {caught} | {rate(thits, truns)} |")
    print()

    # ---- false alarms ------------------------------------------------------
    n_null = args.null_runs
    any_fa = sum(any(null_pvals[t][i] <= alpha for t in TESTS) for i in range(n_null))
    f_torch_expected = 1.0 - (1.0 - TORCH_P_MIN) ** TORCH_ASSERTIONS
    print("False alarms on a correct initialiser:\n")
    print(f"- ours, whole battery of {len(TESTS)} tests at α = {alpha:.0e} each: {rate(any_fa, n_null)} runs "
          f"(designed: ≤ {len(TESTS) * alpha:.1e} per battery; ≤ 1e-6 for a whole 20-test run).")
    print(f"- PyTorch, per KS assertion at p ≤ 1e-4: see the 'correct' row; designed 1e-4 per assertion, "
          f"so {f_torch_expected:.2%} of runs of its {TORCH_ASSERTIONS} assertions fail by chance.\n")
    print("Null calibration of our tests at a loosened α = 0.05 (rate of p ≤ 0.05 on the correct runs; "
          f"5-sigma binomial band ±{5 * math.sqrt(0.05 * 0.95 / n_null):.3f}):\n")
    print("| test | " + " | ".join(TESTS) + " |")
    print("|---|" + "---|" * len(TESTS))
    print("| rate | " + " | ".join(f"{np.mean(np.array(null_pvals[t]) <= 0.05):.3f}" for t in TESTS) + " |")
    print("\n(The correlation tests use a Bonferroni bound over pairs: expected rate 0.0488-0.05.)\n")

    # ---- planned sample sizes ------------------------------------------------
    print(f"Std test at its planned n (α = {alpha:.0e}, power 0.99 for a 5 % σ error):\n")
    print("| distribution | planned n | predicted power -5 % / +5 % | simulated power -5 % | "
          "simulated power +5 % | false alarms at α = 0.05 |")
    print("|---|---|---|---|---|---|")
    for dist in ("normal", "uniform", "truncated_normal"):
        n = planned_sample_size("std", 0.05, distribution=dist)
        pw = [achieved_power("std", n, d, alpha, dist) for d in (-0.05, 0.05)]
        sims = []
        for factor in (0.95, 1.05):
            k = sum(
                std_test(_draw(rng, dist, factor, n), 1.0, alpha, distribution=dist).p_value <= alpha
                for _ in range(args.plan_runs)
            )
            sims.append(rate(k, args.plan_runs) if k < args.plan_runs else f"1.000 ({k} / {k})")
        fa = sum(
            std_test(_draw(rng, dist, 1.0, n), 1.0, 0.05, distribution=dist).p_value <= 0.05
            for _ in range(args.plan_runs)
        )
        print(f"| {dist} | {n} | {pw[0]:.4f} / {pw[1]:.4f} | {sims[0]} | {sims[1]} | "
              f"{fa / args.plan_runs:.3f} ({fa} / {args.plan_runs}) |")
    shape_check(rng, args)
    print(f"\nTotal time {time.perf_counter() - t0:.0f} s.")


SHAPE_CHECK_N, SHAPE_CHECK_AD = 2_064_384, 64_000   # what the init-* distribution-shape check draws and tests
# (expected law, what is drawn): sigma 1 throughout unless the scenario says otherwise
SHAPE_SCENARIOS = [
    ("correct normal", "normal", lambda rng, n: rng.normal(0, 1, n)),
    ("normal, σ -5 %", "normal", lambda rng, n: rng.normal(0, 0.95, n)),
    ("normal expected, uniform drawn", "normal", lambda rng, n: rng.uniform(-SQRT3, SQRT3, n)),
    ("normal expected, truncated drawn", "normal", lambda rng, n: _truncated(rng, 1 / TRUNC2_STD, n)),
    ("correct truncated", "truncated_normal", lambda rng, n: _truncated(rng, 1 / TRUNC2_STD, n)),
    ("truncated, σ +5 %", "truncated_normal", lambda rng, n: _truncated(rng, 1.05 / TRUNC2_STD, n)),
    ("truncated, 3 redraws then give up", "truncated_normal", lambda rng, n: _leaky(rng, 1 / TRUNC2_STD, n, 3)),
    ("truncated expected, normal drawn", "truncated_normal", lambda rng, n: rng.normal(0, 1, n)),
]


def _truncated(rng, s, n):
    out = rng.normal(0, s, int(n * 1.06) + 100)
    return out[np.abs(out) <= 2 * s][:n]


def _leaky(rng, s, n, rounds):
    out = rng.normal(0, s, n)
    for _ in range(rounds):
        bad = np.abs(out) > 2 * s
        out[bad] = rng.normal(0, s, int(bad.sum()))
    return out


def shape_check(rng, args) -> None:
    """Rejection rates of the distribution-shape check's two tests at their sizes."""
    alpha = 1e-6 / 6            # init-he's share of the run's 1e-6 for one of its six statistical checks
    miss = alpha / 4
    print(f"\nThe distribution-shape check at its sizes (α = {alpha:.1e} for the check, Holm over its tests; "
          f"{SHAPE_CHECK_N} values for the scale interval and the support test, {SHAPE_CHECK_AD} for "
          f"Anderson-Darling), {args.shape_runs} runs per row:\n")
    print("| scenario | expected law | values outside ±bound (mean per run) | AD rejects | support rejects | "
          "check fails |")
    print("|---|---|---|---|---|---|")
    for name, law, make in SHAPE_SCENARIOS:
        ad = sup = fails = 0
        outside = 0.0
        for _ in range(args.shape_runs):
            w = make(rng, SHAPE_CHECK_N)
            interval = scale_interval(w, law, miss)
            tests = [shape_test(w[::w.size // SHAPE_CHECK_AD][:SHAPE_CHECK_AD], law, interval, alpha,
                                interval_miss=miss)]
            if law != "normal":
                tests.append(support_test(w, law, interval, alpha, interval_miss=miss))
                outside += tests[1].statistic / args.shape_runs
            ps = sorted(t.p_value for t in tests)
            fails += any(p <= alpha / (len(ps) - k) for k, p in enumerate(ps))   # Holm's first step decides
            ad += tests[0].p_value <= alpha / len(tests)
            sup += len(tests) > 1 and tests[1].p_value <= alpha / 2
        shown_out = f"{outside:.2f}" if law != "normal" else "-"
        print(f"| {name} | {law.replace('_', ' ')} | {shown_out} | {rate(ad, args.shape_runs)} | "
              f"{rate(sup, args.shape_runs) if law != 'normal' else '-'} | {rate(fails, args.shape_runs)} |")


def _draw(rng, dist, sigma, n):
    if dist == "normal":
        return rng.normal(0.0, sigma, n)
    if dist == "uniform":
        return rng.uniform(-SQRT3 * sigma, SQRT3 * sigma, n)
    return stats.truncnorm.rvs(-2, 2, scale=sigma / TRUNC2_STD, size=n, random_state=rng)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="10x fewer runs (about 15 s)")
    p.add_argument("--seed", type=int, default=20240601)
    args = p.parse_args(argv)
    scale = 10 if args.quick else 1
    args.runs = 1000 // scale              # per bug scenario, both approaches
    args.null_runs = 5000 // scale         # correct initialiser, ours
    args.torch_null_runs = 50_000 // scale  # correct initialiser, PyTorch's KS assertion
    args.plan_runs = 1000 // scale
    args.shape_runs = 100 // scale
    run(args)


if __name__ == "__main__":
    main()
