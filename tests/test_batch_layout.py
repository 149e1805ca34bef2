"""Batch-norm layers that take only 4-D batches: the shape is found by trial, per-channel statistics are kept,
a mean over the wrong axes is caught and named, and a layer that runs on no shape is refused with exit 2."""

from types import SimpleNamespace

import numpy as np
import pytest

from tests.realworld.batchnorm import spatial, students
from verify.cli import main
from verify.adapters.batch_layout import KEEP_N, SPLIT
from verify.errors import UsageError
from verify.runner import RunOptions, RunPlan, prepare, run_inline

OPTS = RunOptions(seed=0, timeout=None, max_examples=30)


@pytest.mark.parametrize("n,split", [(2, (1, 2)), (3, (1, 3)), (4, (2, 2)), (6, (2, 3)), (7, (1, 7)),
                                     (12, (3, 4)), (16, (4, 4)), (64, (8, 8))])
def test_split_shape_is_the_most_balanced_factorisation(n, split):
    assert SPLIT.shape(n, 5) == (split[0], 5, split[1], 1)
    assert KEEP_N.shape(n, 5) == (n, 5, 1, 1)


@pytest.mark.parametrize("layout", [SPLIT, KEEP_N], ids=lambda lay: lay.name)
@pytest.mark.parametrize("n", [2, 3, 8, 12])
def test_per_channel_statistics_are_the_batch_statistics(layout, n):
    x = np.random.default_rng(n).normal(size=(n, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -2.0]
    x4 = layout.to4(x)
    assert x4.shape == layout.shape(n, 3) and x4.flags.c_contiguous
    np.testing.assert_allclose(x4.mean(axis=(0, 2, 3)), x.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(x4.var(axis=(0, 2, 3)), x.var(axis=0), rtol=1e-12)
    assert np.array_equal(layout.to2(x4), x)
    # the split batch has an N and an H axis: a mean over N only is not the per-channel mean
    if layout is SPLIT and n in (8, 12):
        assert not np.allclose(x4.mean(axis=0)[:, :, 0], x.mean(axis=0)[:, None])


def _subject(target, **params):
    return prepare(RunPlan(target, "batchnorm", params)).subject


def test_a_layer_for_n_c_batches_is_fed_them_unchanged():
    subject = _subject(students.BatchNormZeroStart)
    assert subject.layout is None and not any("batches:" in m for m in subject.mapping)


def test_a_four_d_layer_gets_the_split_shape_and_the_report_says_why():
    # named for nothing in particular: (N, C) is tried first and refused
    layer = SimpleNamespace(spatial_batchnorm_forward=spatial._direct_forward,
                            spatial_batchnorm_backward=spatial._direct_backward)
    subject = _subject(layer)
    assert subject.layout is SPLIT
    note = next(m for m in subject.mapping if m.startswith("batches:"))
    assert "(N₁, C, N₂, 1)" in note and "(6, 3) batch" in note and "ValueError" in note and len(note) <= 500


def test_a_layer_named_for_convolutions_is_tried_in_four_d_first():
    # x.reshape(N, -1) is the right 1-D layer on (N, C) batches, the wrong one on (N, C, H, W)
    subject = _subject(spatial.BatchNorm2dFlattenPerActivation)
    assert subject.layout is SPLIT
    assert "not tried: the layer is named for convolutions" in " ".join(subject.mapping)


class OnlyOneByOne:
    """Runs only where H = W = 1 (it squeezes the spatial axes away)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.inner = spatial.BatchNorm2d(num_features, eps, momentum)
        self.gamma, self.beta = self.inner.gamma, self.inner.beta

    def forward(self, x, training=True):
        n, c, h, w = x.shape
        assert h == w == 1, "expects 1×1 feature maps"
        self.inner.gamma, self.inner.beta = self.gamma, self.beta
        out = self.inner.forward(x, training)
        self.running_mean, self.running_var = self.inner.running_mean, self.inner.running_var
        return out


def test_where_the_split_shape_does_not_run_n_c_1_1_is_used_and_its_blind_spot_said():
    subject = _subject(OnlyOneByOne)
    assert subject.layout is KEEP_N
    note = " ".join(subject.mapping)
    assert "(N, C, 1, 1)" in note and "statistics taken over N only" in note
    run = run_inline(RunPlan(OnlyOneByOne, "batchnorm", {}, OPTS))
    assert not {c.name for c in run.checks if c.status.value in ("fail", "error")}


class Broken:
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.gamma, self.beta = np.ones(num_features), np.zeros(num_features)

    def forward(self, x, training=True):
        raise RuntimeError("not implemented yet")


def test_a_layer_that_runs_on_no_shape_is_refused_in_one_line(capsys):
    with pytest.raises(UsageError, match="runs on no batch shape"):
        _subject(Broken)
    assert main(["check", "tests/test_batch_layout.py:Broken", "--spec", "batchnorm"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not implemented yet" in err and "(N, C)" in err


def test_batch_shape_param_overrides_the_trial(capsys):
    assert _subject(spatial.spatial_batchnorm_forward, batch_shape="NC").layout is None
    # a layer for (N, C) batches only, required to take 4-D ones: nothing to check
    assert main(["check", "tests/realworld/batchnorm/students.py:BatchNormZeroStart", "--spec", "batchnorm",
                 "--param", "batch_shape=NCHW"]) == 2
    assert "runs on no batch shape" in capsys.readouterr().err


def test_wrong_axes_are_named_on_every_split_batch():
    # a mean over axis 0 only, checked on a 12-row batch given as (3, C, 4, 1): caught and named directly
    from verify.specs.batchnorm import _diagnose_forward

    rng = np.random.default_rng(0)
    ex = {"x": rng.normal(size=(12, 2)), "gamma": rng.normal(size=2), "beta": rng.normal(size=2)}
    x4 = SPLIT.to4(ex["x"])
    g, b = ex["gamma"].reshape(1, 2, 1, 1), ex["beta"].reshape(1, 2, 1, 1)
    wrong = g * (x4 - x4.mean(axis=0)) / np.sqrt(x4.var(axis=0) + 1e-5) + b
    text = _diagnose_forward(SPLIT.to2(wrong), ex, 1e-5, layout=SPLIT)
    assert "over the batch axis N only" in text
    mixed = spatial._forward_without_transpose(x4, ex["gamma"], ex["beta"], {"mode": "train", "eps": 1e-5})[0]
    assert "mixes channels" in _diagnose_forward(SPLIT.to2(mixed), ex, 1e-5, layout=SPLIT)



def test_a_layer_that_hangs_is_timed_out_by_its_checks_not_its_shape_trial(tmp_path):
    """The shape trial runs the layer at load: a forward that never returns stops it after a short probe, the
    protocol's (N, C) batches are kept, and the check reports the hang under --timeout (before, the load itself
    waited 120 s and ended in exit 2)."""
    import json
    import subprocess
    import sys

    report = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "verify", "check", "tests/hostile/escape_targets.py:BatchNormThatHangs",
                           "--spec", "batchnorm", "--timeout", "2", "--check", "forward-vs-reference",
                           "--json", str(report)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    run = json.loads(report.read_text())["runs"][0]
    assert run["checks"][0]["status"] == "timeout"
    assert any("the shape trial stopped" in m for m in run["mapping"]), run["mapping"]
