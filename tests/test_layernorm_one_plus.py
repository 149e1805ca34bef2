"""Megatron's LayerNorm1P, y = (1 + w)·x̂ + β with the weight w starting at 0: ``--param scale=one-plus-gamma``
(the option rmsnorm has for Gemma, one home in specs/layernorm.py) passes it; the default scale fails it naming
the option and what a fresh layer does; a plain layer norm under the option fails naming the default.

Megatron-LM's ``zero_centered_gamma`` (a numpy class with backward) is a case of the real-world corpus
(tests/realworld/layernorm/sequences.py): it passes under the option with every check and the default fails it
naming the option. Here: a hand-worked example, NeMo's ``LayerNorm1P`` (torch) on a few checks, the plain layer
under the option, a zero-centred weight started at ones, the reference under the option.
"""

import numpy as np
import pytest

import reference
from verify.api import check_conforms

from tests.realworld.layernorm.sequences import MegatronLayerNorm, torch

ONE_PLUS = {"scale": "one-plus-gamma"}
OPTION = "--param scale=one-plus-gamma"


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
        from tests.realworld.layernorm.sequences import LayerNorm1P

        t = LayerNorm1P(4, eps=0.0).double()
        with torch.no_grad():
            t.weight.copy_(torch.tensor(w))
            t.bias.copy_(torch.tensor(b))
            np.testing.assert_allclose(t(torch.tensor(x, dtype=torch.float64)).numpy(), [[-0.5, -2.0, 1.0, 2.0]],
                                       rtol=1e-15)


@pytest.mark.torch
def test_nemo_layernorm1p_passes_with_the_convention_and_fails_naming_it_without():
    from tests.realworld.layernorm.sequences import LayerNorm1P

    run = _check(LayerNorm1P, ONE_PLUS, checks=("forward-vs-reference", "normalized-axes", "protocol"))
    assert set(_verdicts(run).values()) == {"pass"}, _rejected(run)
    run = _check(LayerNorm1P, checks=("forward-vs-reference",))
    c = run.checks[0]
    assert c.status.value == "fail", c.message
    assert "the scale is 1 + γ, not γ: the zero-centred scale of Megatron's LayerNorm1P" in c.diagnosis
    assert "a fresh layer outputs x̂ itself (its weight starts at 0)" in c.diagnosis and OPTION in c.diagnosis


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


def test_the_reference_passes_under_the_convention():
    # (under the default: tests/test_layernorm_spec.py)
    run = _check("reference", ONE_PLUS, checks=("forward-vs-reference", "backward-vs-symbolic"))
    assert set(_verdicts(run).values()) == {"pass"}, _rejected(run)
