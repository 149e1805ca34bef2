"""batchnorm spec: correct implementations pass, every buggy batch norm is caught and explained."""

import numpy as np
import pytest

from tests.buggy.batchnorms import BUGS, Correct
from verify.runner import RunOptions, RunPlan, run_inline

OPTS = RunOptions(seed=0, timeout=None, max_examples=30)


def _fails(run):
    return {c.name for c in run.checks if c.status.value != "pass"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reference_and_textbook_implementation_pass(seed):
    opts = RunOptions(seed=seed, timeout=None, max_examples=30)
    assert not _fails(run_inline(RunPlan("reference", "batchnorm", {}, opts)))
    assert not _fails(run_inline(RunPlan(Correct, "batchnorm", {}, opts)))
    assert not _fails(run_inline(RunPlan("reference", "batchnorm", {"convention": "keras", "momentum": 0.99}, opts)))


@pytest.mark.torch
def test_torch_batchnorm1d_passes():
    pytest.importorskip("torch")
    run = run_inline(RunPlan("torch.nn.BatchNorm1d", "batchnorm", {}, OPTS))
    assert not _fails(run), [(c.name, c.message[:300]) for c in run.checks if c.status.value != "pass"]


@pytest.mark.parametrize("name", sorted(BUGS))
def test_buggy_batchnorm_is_caught(name):
    cls, params, must_fail, diagnosis = BUGS[name]
    run = run_inline(RunPlan(cls, "batchnorm", params, OPTS, target_name=name))
    assert must_fail <= _fails(run), [(c.name, c.status.value, c.message[:200]) for c in run.checks]
    if diagnosis:
        texts = " | ".join(c.diagnosis or "" for c in run.checks)
        assert diagnosis in texts, texts


def _status(run, name):
    return next(c for c in run.checks if c.name == name)


def test_keras_convention_is_checked_when_asked():
    from tests.buggy.batchnorms import KerasMomentum
    # Keras' momentum form with PyTorch's unbiased variance: a right running average under convention=keras...
    run = run_inline(RunPlan(KerasMomentum, "batchnorm", {"convention": "keras", "momentum": 0.9}, OPTS))
    assert not _fails(run)
    assert "unbiased batch variance" in _status(run, "running-statistics").message
    # ... and a failure, naming the estimator, when Keras' biased variance is required.
    run = run_inline(RunPlan(KerasMomentum, "batchnorm", {"convention": "keras", "momentum": 0.9,
                                                  "running_variance": "biased"}, OPTS))
    c = _status(run, "running-statistics")
    assert c.status.value == "fail" and "the run requires the biased batch variance" in c.diagnosis


def test_a_layer_in_keras_sense_checked_as_pytorch_is_told_which_convention_it_follows():
    from tests.realworld.batchnorm.students import BatchNormLazy
    c = _status(run_inline(RunPlan(BatchNormLazy, "batchnorm", {}, OPTS)), "running-statistics")
    assert c.status.value == "fail"
    assert "Keras' form" in c.diagnosis and "--param convention=keras" in c.diagnosis


def test_a_declared_start_is_required_and_a_read_one_is_reported():
    from tests.realworld.batchnorm.students import BatchNormLazy, BatchNormZeroStart
    c = _status(run_inline(RunPlan(BatchNormZeroStart, "batchnorm", {}, OPTS)), "running-statistics")
    assert c.status.value == "pass" and "variance 0 (read from the layer after construction)" in c.message
    c = _status(run_inline(RunPlan(BatchNormZeroStart, "batchnorm", {"running_start": "0,1"}, OPTS)), "running-statistics")
    assert c.status.value == "fail" and "starts at 0 (read after construction), not at the declared 1" in c.message
    lazy = {"convention": "keras", "momentum": 0.9}
    c = _status(run_inline(RunPlan(BatchNormLazy, "batchnorm", {**lazy, "running_start": "0,0"}, OPTS)), "running-statistics")
    assert c.status.value == "pass"
    c = _status(run_inline(RunPlan(BatchNormLazy, "batchnorm", {**lazy, "running_start": "0,1"}, OPTS)), "running-statistics")
    assert c.status.value == "fail"


class _FixedEps(Correct):
    """Takes no eps and shows none: uses Keras' 1e-3."""

    def __init__(self, num_features, momentum=0.1):
        super().__init__(num_features, momentum=momentum)
        del self.eps

    def normalise(self, centred, var):
        return centred / np.sqrt(var + 1e-3)

    def forward(self, x, training=True):
        self.eps = 1e-3
        try:
            return super().forward(x, training)
        finally:
            del self.eps


class _FixedEpsShown(Correct):
    def __init__(self, num_features, momentum=0.1):
        super().__init__(num_features, eps=1e-3, momentum=momentum)


def test_an_eps_the_layer_fixes_is_read_or_estimated_never_failed():
    # Shown as an attribute: read and used.
    assert not _fails(run_inline(RunPlan(_FixedEpsShown, "batchnorm", {}, OPTS)))
    # Hidden: the spec's 1e-5 is only an assumption; the checks that need ε end inconclusive with the estimate.
    run = run_inline(RunPlan(_FixedEps, "batchnorm", {}, OPTS))
    statuses = {c.name: c.status.value for c in run.checks}
    assert "fail" not in statuses.values() and "error" not in statuses.values(), statuses
    c = _status(run, "output-moments")
    assert c.status.value == "inconclusive" and "--param eps=0.001" in c.message


class _IgnoresMomentum(Correct):
    """Takes momentum and uses 0.01 whatever it is given."""

    def update(self, mean, var, n):
        self.running_mean = 0.99 * self.running_mean + 0.01 * mean
        self.running_var = 0.99 * self.running_var + 0.01 * var * n / (n - 1)


def test_a_momentum_the_layer_ignores_is_named_not_failed():
    c = _status(run_inline(RunPlan(_IgnoresMomentum, "batchnorm", {}, OPTS)), "running-statistics")
    assert c.status.value == "inconclusive"
    assert "ignores the momentum it is given" in c.message and "--param momentum=0.01" in c.message


def test_cumulative_average_is_a_convention():
    from tests.realworld.batchnorm.students import CumulativeAverage
    assert not _fails(run_inline(RunPlan(CumulativeAverage, "batchnorm", {"convention": "cumulative"}, OPTS)))
    # A plain exponential average checked as a cumulative one fails, named.
    from tests.realworld.batchnorm.students import BatchNormLazy

    class EMAIgnoringNone(BatchNormLazy):
        def __init__(self, num_features, eps=1e-5, momentum=None):
            super().__init__(num_features, eps, 0.9)

    c = _status(run_inline(RunPlan(EMAIgnoringNone, "batchnorm", {"convention": "cumulative"}, OPTS)), "running-statistics")
    assert c.status.value == "fail" and "with m = 0.1" in c.diagnosis
