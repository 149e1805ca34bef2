"""The sample test file in the docs (docs/examples/test_my_optimizer.py) is right and runs green."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

import reference

pytest_plugins = ("pytester",)

SAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "test_my_optimizer.py"



@pytest.fixture(scope="module")
def sample():
    spec = importlib.util.spec_from_file_location("_sample_test_my_optimizer", SAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _trajectory(opt_step, grads, w0):
    w, out = w0.copy(), []
    for g in grads:
        w = opt_step(w, g)
        out.append(w.copy())
    return np.array(out)


def test_sample_momentum_is_the_references(sample) -> None:
    rng = np.random.default_rng(0)
    w0, grads = rng.normal(size=5), rng.normal(size=(20, 5))
    opt = reference.momentum(lr=0.05, momentum=0.9)
    state = opt.init(w0)

    def ref_step(w, g):
        nonlocal state
        w, state = opt.update(g, state, w)
        return w

    want = _trajectory(ref_step, grads, w0)
    np.testing.assert_allclose(_trajectory(sample.MyMomentum(0.05, 0.9).step, grads, w0), want, rtol=1e-12)
    wrong = _trajectory(sample.DampenedMomentum(0.05, 0.9).step, grads, w0)
    assert not np.allclose(wrong, want, rtol=1e-3)


def test_sample_initialiser_is_he(sample) -> None:
    rng = np.random.default_rng(1)
    for shape in [(300, 200), (3, 3, 40, 50)]:
        fan_in = reference.compute_fans(shape)[0]
        x = sample.he_normal(shape, rng)
        assert x.shape == shape
        assert abs(x.std() / reference.he_std(fan_in) - 1) < 0.02
        assert abs(x.mean()) < 0.01


@pytest.mark.slow
def test_sample_runs_green(pytester: pytest.Pytester) -> None:
    shutil.copy(SAMPLE, pytester.path / SAMPLE.name)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--verify-json", "report.json")
    result.assert_outcomes(passed=5)
    assert (pytester.path / "report.json").exists()


def test_sample_collects_and_its_property_test_passes(pytester: pytest.Pytester) -> None:
    shutil.copy(SAMPLE, pytester.path / SAMPLE.name)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "first_step")
    result.assert_outcomes(passed=1, deselected=4)
