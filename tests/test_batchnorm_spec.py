"""batchnorm spec: correct implementations pass, every buggy batch norm is caught and explained."""

import pytest

from tests.buggy.batchnorms import BUGS, Correct
from verify.runner import RunOptions, run_inline

OPTS = RunOptions(seed=0, timeout=None, max_examples=30)


def _fails(run):
    return {c.name for c in run.checks if c.status.value != "pass"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reference_and_textbook_implementation_pass(seed):
    opts = RunOptions(seed=seed, timeout=None, max_examples=30)
    assert not _fails(run_inline("reference", "batchnorm", {}, opts))
    assert not _fails(run_inline(Correct, "batchnorm", {}, opts))
    assert not _fails(run_inline("reference", "batchnorm", {"convention": "keras", "momentum": 0.99}, opts))


@pytest.mark.torch
def test_torch_batchnorm1d_passes():
    pytest.importorskip("torch")
    run = run_inline("torch.nn.BatchNorm1d", "batchnorm", {}, OPTS)
    assert not _fails(run), [(c.name, c.message[:300]) for c in run.checks if c.status.value != "pass"]


@pytest.mark.parametrize("name", sorted(BUGS))
def test_buggy_batchnorm_is_caught(name):
    cls, must_fail, diagnosis = BUGS[name]
    run = run_inline(cls, "batchnorm", {}, OPTS, target_name=name)
    assert must_fail <= _fails(run), [(c.name, c.status.value, c.message[:200]) for c in run.checks]
    if diagnosis:
        texts = " | ".join(c.diagnosis or "" for c in run.checks)
        assert diagnosis in texts, texts


def test_keras_convention_is_checked_when_asked():
    from tests.buggy.batchnorms import KerasMomentum
    run = run_inline(KerasMomentum, "batchnorm", {"convention": "keras", "momentum": 0.9}, OPTS)
    # Keras' momentum form but PyTorch's unbiased variance: only the variance is wrong.
    assert "running-statistics" in _fails(run)
