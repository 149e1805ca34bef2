"""Megatron's LayerNorm1P, y = (1 + w)·x̂ + β with the weight w starting at 0: ``--param scale=one-plus-gamma``
(the option rmsnorm has for Gemma, one home in specs/layernorm.py) passes it; the default scale fails it naming
the option and what a fresh layer does; a plain layer norm under the option fails naming the default.

Targets paraphrased from public code:

* NVIDIA/NeMo ``LayerNorm1P(nn.LayerNorm)``: ``reset_parameters`` zeroes weight and bias, ``forward`` is
  ``F.layer_norm(x, normalized_shape, self.weight + 1, self.bias, self.eps)``;
* NVIDIA/Megatron-LM ``FusedLayerNorm(..., zero_centered_gamma=True)``: weight initialised to zeros,
  ``weight = self.weight + 1 if self.zero_centered_gamma else self.weight``; here as a numpy class with backward.
"""

import numpy as np
import pytest

import reference
from verify.api import check_conforms

try:
    import torch
    from torch import nn
    import torch.nn.functional as F
except ImportError:
    torch = None

ONE_PLUS = {"scale": "one-plus-gamma"}
OPTION = "--param scale=one-plus-gamma"

if torch is not None:

    class LayerNorm1P(nn.LayerNorm):
        """NeMo's LayerNorm1P (paraphrased)."""

        def reset_parameters(self):
            nn.init.zeros_(self.weight)
            nn.init.zeros_(self.bias)

        def forward(self, x):
            return F.layer_norm(x, self.normalized_shape, self.weight + 1, self.bias, self.eps)


class MegatronLayerNorm:
    """Megatron-LM's zero_centered_gamma in numpy: forward caches, backward returns (dx, dweight, dbias)."""

    def __init__(self, hidden_size, eps=1e-5, zero_centered_gamma=True):
        self.eps, self.zero_centered_gamma = eps, zero_centered_gamma
        self.weight = np.zeros(hidden_size) if zero_centered_gamma else np.ones(hidden_size)
        self.bias = np.zeros(hidden_size)

    def _scale(self):
        return self.weight + 1 if self.zero_centered_gamma else self.weight

    def forward(self, x):
        mu = x.mean(-1, keepdims=True)
        self.rstd = 1.0 / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + self.eps)
        self.xhat = (x - mu) * self.rstd
        return self.xhat * self._scale() + self.bias

    def backward(self, dy):
        g = dy * self._scale()
        dx = self.rstd * (g - g.mean(-1, keepdims=True) - self.xhat * (g * self.xhat).mean(-1, keepdims=True))
        return dx, (dy * self.xhat).sum(0), dy.sum(0)


def _check(target, params=None, checks=None):
    return check_conforms(target, "layernorm", isolate=False, max_examples=8, params=params or {}, checks=checks)


def _verdicts(run):
    return {c.name: c.status.value for c in run.checks}


def _rejected(run):
    return {c.name: (c.status.value, c.message[:300]) for c in run.checks
            if c.status.value in ("fail", "error", "timeout", "inconclusive")}


def test_worked_example_by_hand():
    # x = (0, 0, 4, 4): μ = 2, σ² = 4, so with ε = 0 x̂ = (−1, −1, 1, 1). w = (0, 1, 0, 1): 1 + w = (1, 2, 1, 2),
    # β = (0.5, 0, 0, 0): y = (−0.5, −2, 1, 2); the plain scale γ = w gives (0.5, −1, 0, 1).
    x, w, b = [[0.0, 0.0, 4.0, 4.0]], [0.0, 1.0, 0.0, 1.0], [0.5, 0.0, 0.0, 0.0]
    np.testing.assert_allclose(reference.layernorm_forward(x, w, b, eps=0.0, unit_offset=True)[0],
                               [[-0.5, -2.0, 1.0, 2.0]], rtol=1e-15)
    np.testing.assert_allclose(reference.layernorm_forward(x, w, b, eps=0.0)[0], [[0.5, -1.0, 0.0, 1.0]], rtol=1e-15)
    layer = MegatronLayerNorm(4, eps=0.0)
    layer.weight, layer.bias = np.array(w), np.array(b)
    np.testing.assert_allclose(layer.forward(np.array(x)), [[-0.5, -2.0, 1.0, 2.0]], rtol=1e-15)
    if torch is not None:
        t = LayerNorm1P(4, eps=0.0).double()
        with torch.no_grad():
            t.weight.copy_(torch.tensor(w))
            t.bias.copy_(torch.tensor(b))
            np.testing.assert_allclose(t(torch.tensor(x, dtype=torch.float64)).numpy(), [[-0.5, -2.0, 1.0, 2.0]],
                                       rtol=1e-15)


@pytest.mark.torch
def test_nemo_layernorm1p_passes_with_the_convention_and_fails_naming_it_without():
    pytest.importorskip("torch")
    run = _check(LayerNorm1P, ONE_PLUS, checks=("forward-vs-reference", "backward-finite-difference",
                                                "normalized-axes", "protocol"))
    assert set(_verdicts(run).values()) == {"pass"}, _rejected(run)
    run = _check(LayerNorm1P, checks=("forward-vs-reference",))
    c = run.checks[0]
    assert c.status.value == "fail", c.message
    assert "the scale is 1 + γ, not γ: the zero-centred scale of Megatron's LayerNorm1P" in c.diagnosis
    assert "a fresh layer outputs x̂ itself (its weight starts at 0)" in c.diagnosis and OPTION in c.diagnosis


def test_numpy_megatron_layer_passes_with_the_convention():
    run = _check(MegatronLayerNorm, ONE_PLUS)
    assert not _rejected(run), _rejected(run)
    assert _verdicts(run)["backward-vs-symbolic"] == "pass"


@pytest.mark.torch
def test_plain_layernorm_under_the_convention_fails_naming_the_default():
    pytest.importorskip("torch")
    run = _check(torch.nn.LayerNorm, ONE_PLUS, checks=("forward-vs-reference",))
    c = run.checks[0]
    assert c.status.value == "fail" and "the scale is the weight itself, not 1 + weight" in c.diagnosis
    assert "--param scale=gamma" in c.diagnosis


def test_a_zero_centred_weight_started_at_ones_is_a_slip():
    class OnesStart(MegatronLayerNorm):        # zero_centered_gamma with the weight initialised to ones
        def __init__(self, hidden_size, eps=1e-5):
            super().__init__(hidden_size, eps)
            self.weight = np.ones(hidden_size)

    run = _check(OnesStart, checks=("forward-vs-reference",))
    assert "a fresh layer outputs 2·x̂: its weight starts at 1" in run.checks[0].diagnosis
    run = _check(OnesStart, ONE_PLUS, checks=("forward-vs-reference", "protocol"))
    assert _verdicts(run) == {"forward-vs-reference": "pass", "protocol": "fail"}


def test_the_reference_passes_under_both_conventions():
    for params in ({}, ONE_PLUS):
        run = _check("reference", params, checks=("forward-vs-reference", "backward-vs-symbolic"))
        assert set(_verdicts(run).values()) == {"pass"}, _rejected(run)
