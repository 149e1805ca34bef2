"""init-* and relu-bias specs: the reference passes, every buggy initialiser is caught and explained."""

import re

import pytest

from tests.buggy.initialisers import BUGS
from verify.runner import RunOptions, RunPlan, run_inline

OPTS = RunOptions(seed=0, timeout=None)


CASES = [(s, {"distribution": d}) for s in ("init-lecun", "init-xavier", "init-he")
         for d in ("normal", "uniform", "truncated")] + [("relu-bias", {})]


@pytest.mark.parametrize("spec,params", CASES, ids=[f"{s}-{p.get('distribution', '')}" for s, p in CASES])
def test_reference_passes_every_check(spec, params):
    for seed in (0, 1):
        run = run_inline(RunPlan("reference", spec, params, RunOptions(seed=seed, timeout=None)))
        bad = [(c.name, c.message) for c in run.checks if c.status.value != "pass"]
        assert not bad, bad


@pytest.mark.parametrize("name", sorted(BUGS))
def test_buggy_initialiser_is_caught_with_numbers(name):
    target, spec, params, must_fail, diagnosis = BUGS[name]
    run = run_inline(RunPlan(target, spec, params, OPTS, target_name=name))
    failed = {c.name for c in run.checks if c.status.value == "fail"}
    assert must_fail <= failed, [(c.name, c.status.value, c.message[:200]) for c in run.checks]
    for c in run.checks:
        if c.name in must_fail and c.kind == "statistical":
            # The message names the property and gives numbers (a measured value, a p-value or a percentage).
            assert re.search(r"\d", c.message.splitlines()[0]), c.message
    if diagnosis:
        texts = " ".join(c.diagnosis or "" for c in run.checks)
        assert diagnosis in texts, texts


def test_std_failure_says_by_how_much():
    target, spec, params, _, _ = BUGS["he_sigma_5pct_small"]
    run = run_inline(RunPlan(target, spec, params, OPTS))
    std = next(c for c in run.checks if c.name == "std")
    assert "-5." in std.message and "%" in std.message and "p = " in std.message
    tests = std.stat_tests
    assert len(tests) == 3 and all({"n", "alpha", "p_value", "mde"} <= set(t) for t in tests)
    assert all(t["n"] >= 12_000 for t in tests)    # planned for 5 % at power 0.99


def test_layout_param_applies_to_numpy_code():
    import reference
    torch_layout = lambda shape, rng: reference.he(shape, rng, layout="torch")  # noqa: E731
    assert run_inline(RunPlan(torch_layout, "init-he", {"layout": "torch"}, OPTS)).passed
    # The same code checked as numpy layout: its fans are read from the wrong axes.
    run = run_inline(RunPlan(torch_layout, "init-he", {}, OPTS))
    assert next(c for c in run.checks if c.name == "std").status.value == "fail"


SIGMA_ONLY = ["he_sigma_5pct_small", "he_fans_swapped", "he_missing_gain", "he_variance_as_std", "he_fan_in_first_axis",
              "xavier_uniform_limit_as_sigma", "xavier_sum_without_2", "lecun_uses_he", "he_truncated_without_correction"]


@pytest.mark.parametrize("name", SIGMA_ONLY)
def test_a_pure_sigma_bug_fails_only_the_sigma_checks(name):
    # Shape and mean are tested in units of the weights' own σ: a wrong σ is not a wrong shape.
    target, spec, params, _, _ = BUGS[name]
    run = run_inline(RunPlan(target, spec, params, RunOptions(seed=0, timeout=None,
                                                      checks=("distribution-shape", "mean", "protocol"))))
    assert all(c.status.value == "pass" for c in run.checks), [(c.name, c.message) for c in run.checks]


# ---------------------------------------------------------------- targets that are not initialisers


class _AnOptimizer:
    def __init__(self, lr, momentum):
        self.lr, self.momentum = lr, momentum


class _NoArguments:
    def __init__(self):
        pass


def _raises_inside(shape, rng):
    return rng.normal(size=shape) * np.sqrt(2.0 / shape[0]) + "a bug of its own"   # TypeError in its own code


def _forgets_to_return(shape, rng):
    rng.normal(size=shape)


@pytest.mark.parametrize("target, words", [
    (_AnOptimizer, "returned a _AnOptimizer instance, not an array of weights"),      # (shape, rng) bind to (lr, momentum)
    (_NoArguments, "cannot be called as an initialiser: TypeError"),
])
def test_a_target_that_is_not_an_initialiser_is_refused_in_one_line(target, words):
    from verify.api import check_conforms
    from verify.errors import UsageError

    with pytest.raises(UsageError, match="does not fit the initialiser protocol of spec 'init-he'") as exc:
        check_conforms(target, "init-he", checks="protocol")
    assert words in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("target, status", [(_raises_inside, "error"), (_forgets_to_return, "fail")])
def test_an_initialiser_with_a_bug_of_its_own_is_checked_not_refused(target, status):
    from verify.api import check_conforms

    run = check_conforms(target, "init-he", checks="protocol")
    assert [c.status.value for c in run.checks] == [status]
