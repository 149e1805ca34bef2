"""Layer norm and RMS norm written for the inputs real code normalises: (B, T, D) sequences (transformers),
x[..., :] of any rank (functions), channels-first (N, C, H, W) (ConvNeXt). The checks' (N, D) rows are given to
each layer in the shape it takes (found by a trial that confirms per-row statistics, or declared with
``--param batch_shape``); a layer written for rows is never failed on shapes it does not take.

The layers (llm.c's (B, T, C) LayerNorm in numpy, a transformer layer whose backward sums over (0, 1),
ConvNeXt's channels-first LayerNorm, a row layer using ``axis=1``) are cases of the real-world corpus
(tests/realworld/layernorm/sequences.py), whose test asserts their verdicts with every check; here: what the
report says about their shapes, the functions, and the declaration.

Expected values: the reference (``reference.layernorm_forward``) and a hand-worked (B, T, C) example below.
"""

import functools

import numpy as np
import pytest

from tests.realworld.layernorm.sequences import (ChannelsFirstLayerNorm, LlmcLayerNorm, RowLayerNorm,
                                                 TransformerLayerNorm, torch)
from verify.api import check_conforms


# ------------------------------------------------------------------ targets (the classes: the corpus)


def layer_norm(x, w, b, eps=1e-5):
    """A functional layer norm over x[..., :]."""
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


def rms_norm(x, weight, eps=1e-6):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


# ------------------------------------------------------------------ helpers


def _check(target, spec="layernorm", params=None, checks=None):
    return check_conforms(target, spec, isolate=False, max_examples=8, params=params or {}, checks=checks)


def _verdicts(run):
    return {c.name: c.status.value for c in run.checks}


def _rejected(run):
    return {c.name: (c.status.value, c.message[:300]) for c in run.checks
            if c.status.value in ("fail", "error", "timeout", "inconclusive")}


def _check_named(run, name):
    return next(c for c in run.checks if c.name == name)


# ------------------------------------------------------------------ a worked example by hand


def test_llmc_layer_by_hand():
    # One sequence of two tokens, C = 2: x = [[1, 3], [2, 6]] per token: μ = 2 and 4, σ² = 1 and 4; with ε = 0
    # x̂ = [[−1, 1], [−1, 1]]. γ = (2, 1), β = (0.5, −0.5): y = [[−1.5, 0.5], [−1.5, 0.5]]. dy = ones: dβ = (2, 2),
    # dγ = Σ x̂ = (−2, 2); dx per token = r·(g − mean g − x̂·mean(g·x̂)) with g = (2, 1): mean g = 1.5,
    # mean(g·x̂) = (−2 + 1)/2 = −0.5, so g − 1.5 + 0.5·x̂ = (0, 0): dx = 0.
    layer = LlmcLayerNorm(2, eps=0.0)
    layer.weight, layer.bias = np.array([2.0, 1.0]), np.array([0.5, -0.5])
    y = layer.forward(np.array([[[1.0, 3.0], [2.0, 6.0]]]))
    np.testing.assert_allclose(y, [[[-1.5, 0.5], [-1.5, 0.5]]], rtol=1e-15)
    dx, dw, db = layer.backward(np.ones((1, 2, 2)))
    np.testing.assert_allclose(db, [2.0, 2.0])
    np.testing.assert_allclose(dw, [-2.0, 2.0])
    np.testing.assert_allclose(dx, np.zeros((1, 2, 2)), atol=1e-15)


# ------------------------------------------------------------------ they pass, on their own shapes


@pytest.mark.parametrize("target,layout", [(LlmcLayerNorm, "(B, T, D)"), (TransformerLayerNorm, "(B, T, D)"),
                                           (ChannelsFirstLayerNorm, "channels-first")])
def test_layers_written_for_other_inputs_are_given_them(target, layout):
    run = _check(target, checks=("normalized-axes", "backward-invariants"))      # the second: backward only
    assert _verdicts(run)["normalized-axes"] == "pass" and not _rejected(run), _rejected(run)
    line = next(line for line in run.mapping if line.startswith("inputs:"))
    assert layout in line and "tried first: ND:" in line, line


@pytest.mark.parametrize("target,spec", [(layer_norm, "layernorm"), (rms_norm, "rmsnorm")])
def test_functions_over_the_last_axis_are_checked_with_leading_dimensions(target, spec):
    run = _check(target, spec, checks=("forward-vs-reference", "normalized-axes"))
    assert set(_verdicts(run).values()) == {"pass"}, _rejected(run)
    assert "(2, 3, 5) and (2, 2, 2, 5)" in _check_named(run, "normalized-axes").message


@pytest.mark.torch
def test_convnext_channels_first_passes_and_channels_last_keeps_its_normalized_shape():
    pytest.importorskip("torch")
    from tests.realworld.layernorm.sequences import ConvNeXtLayerNorm

    run = _check(functools.partial(ConvNeXtLayerNorm, data_format="channels_first"), checks=("normalized-axes",))
    assert "over the channel axis" in _check_named(run, "normalized-axes").message
    run = _check(ConvNeXtLayerNorm, checks=("forward-vs-reference", "normalized-axes"))
    assert set(_verdicts(run).values()) == {"pass"}, _rejected(run)
    assert "a normalized_shape of several dimensions is not taken" in _check_named(run, "normalized-axes").message


# ------------------------------------------------------------------ fail-closed, and what a declaration changes


def test_a_row_layer_is_not_failed_on_sequences_it_never_took():
    axes = _check(RowLayerNorm, checks=("normalized-axes",)).checks[0]
    assert axes.status.value == "skip" and "--param batch_shape=BTD" in axes.message


class ShapeLayerNorm:
    """numpy, torch's signature: statistics over the trailing len(normalized_shape) axes."""

    def __init__(self, normalized_shape, eps=1e-5):
        self.shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.weight, self.bias, self.eps = np.ones(self.shape), np.zeros(self.shape), eps

    def forward(self, x):
        axes = tuple(range(-len(self.shape), 0))
        mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
        return (x - mu) / np.sqrt(var + self.eps) * self.weight + self.bias


class LastAxisOnly(ShapeLayerNorm):
    """Named normalized_shape, γ of that shape, but the statistics over the last axis only (written for ints)."""

    def forward(self, x):
        mu, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
        return (x - mu) / np.sqrt(var + self.eps) * self.weight + self.bias


def test_a_numpy_class_taking_normalized_shape_is_tried_with_several_dimensions_fail_closed():
    axes = _check(ShapeLayerNorm, checks=("normalized-axes",)).checks[0]
    assert axes.status.value == "pass" and "several trailing dimensions are normalised together" in axes.message
    axes = _check(LastAxisOnly, checks=("normalized-axes",)).checks[0]
    assert axes.status.value == "skip", axes.message
    assert "the statistics are taken over the last dimension only, not over the normalised axes (1, 2)" in axes.message
