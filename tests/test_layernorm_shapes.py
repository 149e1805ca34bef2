"""Layer norm and RMS norm written for the inputs real code normalises: (B, T, D) sequences (transformers),
x[..., :] of any rank (functions), channels-first (N, C, H, W) (ConvNeXt). The checks' (N, D) rows are given to
each layer in the shape it takes (found by a trial that confirms per-row statistics, or declared with
``--param batch_shape``); a layer written for rows is never failed on shapes it does not take.

Targets paraphrased from public code:

* karpathy/llm.c ``doc/layernorm/layernorm.py`` (``B, T, C = x.size()``, a cache, backward summing the parameter
  gradients over ``(0, 1)``), here in numpy as a class with nanoGPT's ``weight``/``bias`` names;
* numpy transformer layers (tiny-transformer style): ``mean(axis=-1)`` forward, ``backward`` summing over
  ``axis=(0, 1)`` and keeping ``grad_gamma``/``grad_beta`` on the layer, returning dx;
* facebookresearch/ConvNeXt ``models/convnext.py`` ``LayerNorm(normalized_shape, eps, data_format)``:
  ``channels_first`` normalises axis 1 and scales by ``weight[:, None, None]``;
* a course-style row layer using ``axis=1`` (right for (N, D), wrong axis on (B, T, D)).

Expected values: the reference (``reference.layernorm_forward``) and a hand-worked (B, T, C) example below.
"""

import functools

import numpy as np
import pytest

from verify.api import check_conforms

try:
    import torch
    from torch import nn
    import torch.nn.functional as F
except ImportError:
    torch = None


# ------------------------------------------------------------------ targets


class LlmcLayerNorm:
    """llm.c's LayerNorm, (B, T, C) only, in numpy."""

    def __init__(self, n_embd, eps=1e-5):
        self.weight, self.bias, self.eps = np.ones(n_embd), np.zeros(n_embd), eps

    def forward(self, x):
        B, T, C = x.shape
        mean = x.sum(-1, keepdims=True) / C
        xshift = x - mean
        var = (xshift ** 2).sum(-1, keepdims=True) / C
        rstd = (var + self.eps) ** -0.5
        norm = xshift * rstd
        self.cache = (norm, rstd)
        return norm * self.weight + self.bias

    def backward(self, dout):
        norm, rstd = self.cache
        db = dout.sum((0, 1))
        dw = (dout * norm).sum((0, 1))
        dnorm = dout * self.weight
        dx = dnorm - dnorm.mean(-1, keepdims=True) - norm * (dnorm * norm).mean(-1, keepdims=True)
        return dx * rstd, dw, db


class TransformerLayerNorm:
    """Forward on any rank; backward summing over (0, 1), gradients kept on the layer."""

    def __init__(self, d_model, eps=1e-6):
        self.eps, self.gamma, self.beta = eps, np.ones(d_model), np.zeros(d_model)

    def forward(self, x):
        mean = x.mean(axis=-1, keepdims=True)
        self.std_inv = 1.0 / np.sqrt(x.var(axis=-1, keepdims=True) + self.eps)
        self.x_norm = (x - mean) * self.std_inv
        return self.gamma * self.x_norm + self.beta

    def backward(self, grad_output):
        self.grad_beta = grad_output.sum(axis=(0, 1))
        self.grad_gamma = (grad_output * self.x_norm).sum(axis=(0, 1))
        g = grad_output * self.gamma
        d = g.shape[-1]
        return self.std_inv / d * (d * g - g.sum(-1, keepdims=True)
                                   - self.x_norm * (g * self.x_norm).sum(-1, keepdims=True))


def layer_norm(x, w, b, eps=1e-5):
    """A functional layer norm over x[..., :]."""
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


def rms_norm(x, weight, eps=1e-6):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


class RowLayerNorm:
    """Written for (N, D): statistics over axis=1."""

    def __init__(self, D, eps=1e-5):
        self.gamma, self.beta, self.eps = np.ones(D), np.zeros(D), eps

    def forward(self, x):
        mu, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
        return self.gamma * (x - mu) / np.sqrt(var + self.eps) + self.beta


class SequenceOverTime(LlmcLayerNorm):
    """A (B, T, C) layer whose statistics run over T (axis 1): a bug."""

    def forward(self, x):
        B, T, C = x.shape
        mean = x.mean(1, keepdims=True)
        var = ((x - mean) ** 2).mean(1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.weight + self.bias


class ChannelsFirstLayerNorm:
    """numpy, (N, C, H, W): statistics over C at each position."""

    def __init__(self, num_channels, eps=1e-6):
        self.weight, self.bias, self.eps = np.ones(num_channels), np.zeros(num_channels), eps

    def forward(self, x):
        u = x.mean(1, keepdims=True)
        s = ((x - u) ** 2).mean(1, keepdims=True)
        return self.weight.reshape(1, -1, 1, 1) * (x - u) / np.sqrt(s + self.eps) + self.bias.reshape(1, -1, 1, 1)


if torch is not None:

    class ConvNeXtLayerNorm(nn.Module):
        """ConvNeXt's LayerNorm (paraphrased): channels_last by F.layer_norm, channels_first by hand."""

        def __init__(self, normalized_shape, eps=1e-6, data_format="channels_last"):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(normalized_shape))
            self.bias = nn.Parameter(torch.zeros(normalized_shape))
            self.eps, self.data_format = eps, data_format
            self.normalized_shape = (normalized_shape,)

        def forward(self, x):
            if self.data_format == "channels_last":
                return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
            u = x.mean(1, keepdim=True)
            s = (x - u).pow(2).mean(1, keepdim=True)
            x = (x - u) / torch.sqrt(s + self.eps)
            return self.weight[:, None, None] * x + self.bias[:, None, None]


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
def test_layers_written_for_other_inputs_pass_on_them(target, layout):
    run = _check(target)
    assert not _rejected(run), _rejected(run)
    assert _verdicts(run)["forward-vs-reference"] == "pass"
    assert any(layout in line for line in run.mapping), run.mapping
    if target is not ChannelsFirstLayerNorm:
        assert _verdicts(run)["backward-finite-difference"] == "pass"
    axes = _check_named(run, "normalized-axes")
    assert axes.status.value == "pass", axes.message


@pytest.mark.parametrize("target,spec", [(layer_norm, "layernorm"), (rms_norm, "rmsnorm")])
def test_functions_over_the_last_axis_are_checked_with_leading_dimensions(target, spec):
    run = _check(target, spec, checks=("forward-vs-reference", "normalized-axes"))
    assert set(_verdicts(run).values()) == {"pass"}, _rejected(run)
    assert "(2, 3, 5) and (2, 2, 2, 5)" in _check_named(run, "normalized-axes").message


@pytest.mark.torch
def test_convnext_channels_first_passes_and_channels_last_keeps_its_normalized_shape():
    pytest.importorskip("torch")
    run = _check(functools.partial(ConvNeXtLayerNorm, data_format="channels_first"))
    assert not _rejected(run), _rejected(run)
    assert "over the channel axis" in _check_named(run, "normalized-axes").message
    run = _check(ConvNeXtLayerNorm, checks=("forward-vs-reference", "normalized-axes"))
    assert set(_verdicts(run).values()) == {"pass"}, _rejected(run)
    assert "a normalized_shape of several dimensions is not taken" in _check_named(run, "normalized-axes").message


# ------------------------------------------------------------------ fail-closed, and what a declaration changes


def test_a_row_layer_is_not_failed_on_sequences_it_never_took():
    run = _check(RowLayerNorm)
    assert not _rejected(run), _rejected(run)
    axes = _check_named(run, "normalized-axes")
    assert axes.status.value == "skip" and "--param batch_shape=BTD" in axes.message


def test_declared_sequences_fail_a_layer_normalising_the_wrong_axis():
    run = _check(RowLayerNorm, params={"batch_shape": "BTD"}, checks=("forward-vs-reference", "normalized-axes"))
    assert _verdicts(run) == {"forward-vs-reference": "fail", "normalized-axes": "fail"}
    assert "the statistics are taken over axis 1 of the (2, 3, 5) input, not over axis 2" in \
        _check_named(run, "normalized-axes").diagnosis


def test_a_sequence_layer_normalising_over_time_fails_not_errors():
    run = _check(SequenceOverTime, checks=("forward-vs-reference", "normalized-axes"))
    assert _verdicts(run) == {"forward-vs-reference": "fail", "normalized-axes": "fail"}, _rejected(run)
    assert "over axis 1" in _check_named(run, "normalized-axes").diagnosis
