"""Gemma's RMSNorm, y = x/√(mean(x²) + ε)·(1 + w) with the weight w starting at 0: ``--param
scale=one-plus-gamma`` passes it; the default scale (γ) fails it naming that option; real slips are named.

The targets are paraphrased from public code:

* google/gemma_pytorch ``gemma/model.py``: ``RMSNorm(dim, eps=1e-6, add_unit_offset=True)``, ``weight`` zeros,
  ``_norm(x.float()).type_as(x)`` then ``x * (1 + self.weight)`` (the weight applied after casting back);
* huggingface/transformers ``GemmaRMSNorm(dim, eps=1e-6)`` (Gemma 1-3): ``_norm(x.float()) * (1.0 +
  self.weight.float())`` then ``.type_as(x)`` (the weight applied in float32, transformers#29402);
* numpy forms of the same written the way course code is (a class with ``backward``, a plain function);
* a copy with ``add_unit_offset=True`` whose weight starts at ONES (seen in public code): at construction it
  doubles x̂ -- a slip, not the convention; and a Gemma module with ε outside the root.

Both torch modules compute in float32 inside (``x.float()``), so whether the weight is applied before or after
the cast back changes only float32 rounding: the checks measure the layer's precision and judge at it.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference
from verify.api import check_conforms

try:
    import torch
    from torch import nn
except ImportError:      # the torch cases skip
    torch = None

GEMMA = {"scale": "one-plus-gamma"}
OPTION = "--param scale=one-plus-gamma"


# ------------------------------------------------------------------ targets

if torch is not None:

    class GemmaPytorchRMSNorm(nn.Module):
        """gemma_pytorch's RMSNorm (paraphrased)."""

        def __init__(self, dim, eps=1e-6, add_unit_offset=True):
            super().__init__()
            self.eps, self.add_unit_offset = eps, add_unit_offset
            self.weight = nn.Parameter(torch.zeros(dim))

        def _norm(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

        def forward(self, x):
            x = self._norm(x.float()).type_as(x)
            return x * (1 + self.weight) if self.add_unit_offset else x * self.weight

    class HFGemmaRMSNorm(nn.Module):
        """Hugging Face's GemmaRMSNorm (paraphrased)."""

        def __init__(self, dim: int, eps: float = 1e-6):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.zeros(dim))

        def _norm(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

        def forward(self, x):
            output = self._norm(x.float())
            output = output * (1.0 + self.weight.float())
            return output.type_as(x)

    class UnitOffsetOnesRMSNorm(GemmaPytorchRMSNorm):
        """add_unit_offset=True with the weight started at ones, as the plain γ: 2·x̂ at construction."""

        def __init__(self, dim, eps=1e-6, add_unit_offset=True):
            super().__init__(dim, eps, add_unit_offset)
            self.weight = nn.Parameter(torch.ones(dim))

    class GemmaEpsOutside(HFGemmaRMSNorm):
        """Gemma's form with ε added to the root instead of the mean square."""

        def _norm(self, x):
            return x / (x.pow(2).mean(-1, keepdim=True).sqrt() + self.eps)


class NumpyGemmaRMSNorm:
    """A numpy Gemma-style layer: forward caches, backward returns (dx, dweight)."""

    def __init__(self, dim, eps=1e-6):
        self.eps = eps
        self.weight = np.zeros(dim)

    def forward(self, x):
        self.r = 1.0 / np.sqrt(np.mean(x ** 2, axis=-1, keepdims=True) + self.eps)
        self.xhat = x * self.r
        return self.xhat * (1.0 + self.weight)

    def backward(self, dy):
        g = dy * (1.0 + self.weight)
        dx = self.r * (g - self.xhat * np.mean(g * self.xhat, axis=-1, keepdims=True))
        return dx, np.sum(dy * self.xhat, axis=0)


def gemma_rms_norm(x, weight, eps=1e-6):
    """A plain numpy function in Gemma's form."""
    ms = np.mean(np.square(x), axis=-1, keepdims=True)
    return x / np.sqrt(ms + eps) * (1 + weight)


# ------------------------------------------------------------------ helpers


def _check(target, params=None, checks=None):
    return check_conforms(target, "rmsnorm", isolate=False, max_examples=8, params=params or {}, checks=checks)


def _verdicts(run):
    return {c.name: c.status.value for c in run.checks}


def _rejected(run):
    return {c.name: (c.status.value, c.message[:300]) for c in run.checks
            if c.status.value in ("fail", "error", "timeout", "inconclusive")}


def _diagnoses(run):
    return " | ".join(c.diagnosis for c in run.checks if c.diagnosis)


# ------------------------------------------------------------------ a worked example by hand


def test_worked_example_by_hand():
    # x = (1, 7): mean(x²) = (1 + 49)/2 = 25; with ε = 11 the root is √36 = 6, so x̂ = (1/6, 7/6). With the
    # weight w = (0, 1) Gemma's scale is 1 + w = (1, 2): y = (1/6, 14/6) = (0.1666…, 2.3333…); the plain
    # scale γ = w would give (0, 7/6).
    want = np.array([[1 / 6, 7 / 3]])
    got = reference.rmsnorm_forward([[1.0, 7.0]], [0.0, 1.0], eps=11.0, unit_offset=True)[0]
    np.testing.assert_allclose(got, want, rtol=1e-15)
    np.testing.assert_allclose(reference.rmsnorm_forward([[1.0, 7.0]], [0.0, 1.0], eps=11.0)[0], [[0.0, 7 / 6]],
                               rtol=1e-15)
    np.testing.assert_allclose(gemma_rms_norm(np.array([[1.0, 7.0]]), np.array([0.0, 1.0]), eps=11.0), want,
                               rtol=1e-15)
    if torch is not None:
        for cls in (GemmaPytorchRMSNorm, HFGemmaRMSNorm):
            layer = cls(2, eps=11.0)
            with torch.no_grad():
                layer.weight.copy_(torch.tensor([0.0, 1.0]))
                y = layer(torch.tensor([[1.0, 7.0]], dtype=torch.float64)).numpy()
            np.testing.assert_allclose(y, want, rtol=2e-7)      # float32 inside


# ------------------------------------------------------------------ the convention passes


@pytest.mark.torch
@pytest.mark.parametrize("name", ["GemmaPytorchRMSNorm", "HFGemmaRMSNorm"])
def test_torch_gemma_passes_with_the_convention(name):
    pytest.importorskip("torch")
    run = _check(globals()[name], GEMMA)
    assert not _rejected(run), _rejected(run)
    assert _verdicts(run)["forward-vs-reference"] == "pass"
    assert _verdicts(run)["backward-finite-difference"] == "pass"


@pytest.mark.parametrize("target", [NumpyGemmaRMSNorm, gemma_rms_norm], ids=["class", "function"])
def test_numpy_gemma_passes_with_the_convention(target):
    run = _check(target, GEMMA)
    assert not _rejected(run), _rejected(run)
    assert _verdicts(run)["forward-vs-reference"] == "pass"


def test_the_reference_passes_under_both_conventions():
    for params in ({}, GEMMA):
        run = _check("reference", params, checks=("forward-vs-reference", "backward-vs-symbolic"))
        assert set(_verdicts(run).values()) == {"pass"}, _rejected(run)


# ------------------------------------------------------------------ the default fails it, naming the option


@pytest.mark.torch
def test_torch_gemma_under_the_default_fails_naming_the_convention():
    pytest.importorskip("torch")
    run = _check(HFGemmaRMSNorm, checks=("forward-vs-reference", "output-moments"))
    assert _verdicts(run) == {"forward-vs-reference": "fail", "output-moments": "fail"}
    text = _diagnoses(run)
    assert "the scale is 1 + γ, not γ" in text and OPTION in text
    assert "a fresh layer outputs x̂ itself (its weight starts at 0)" in text


def test_numpy_gemma_under_the_default_fails_naming_the_convention():
    run = _check(NumpyGemmaRMSNorm, checks=("forward-vs-reference",))
    c = run.checks[0]
    assert c.status.value == "fail" and "the scale is 1 + γ, not γ" in c.diagnosis and OPTION in c.diagnosis


@pytest.mark.torch
def test_plain_rmsnorm_under_the_convention_fails_naming_the_default():
    pytest.importorskip("torch")
    run = _check(torch.nn.RMSNorm, GEMMA, checks=("forward-vs-reference",))
    c = run.checks[0]
    assert c.status.value == "fail" and "the scale is the weight itself, not 1 + weight" in c.diagnosis
    assert "--param scale=gamma" in c.diagnosis


# ------------------------------------------------------------------ real slips


@pytest.mark.torch
def test_unit_offset_with_the_weight_started_at_ones_is_a_slip():
    # Checked as the plain γ (its weight starts at 1, as a plain RMSNorm's): the output is (1 + γ)·x̂, and a
    # fresh layer doubles x̂ -- the diagnosis says so rather than offering the convention.
    pytest.importorskip("torch")
    run = _check(UnitOffsetOnesRMSNorm, checks=("forward-vs-reference", "output-moments"))
    assert set(_verdicts(run).values()) == {"fail"}
    text = _diagnoses(run)
    assert "the scale is 1 + γ, not γ" in text
    assert "a fresh layer outputs 2·x̂: its weight starts at 1" in text and OPTION not in text


@pytest.mark.torch
def test_unit_offset_with_the_weight_started_at_ones_fails_under_the_convention_too():
    # Its formula is Gemma's, so the formula checks pass; a fresh layer doubles x̂, which the protocol check names.
    pytest.importorskip("torch")
    run = _check(UnitOffsetOnesRMSNorm, GEMMA, checks=("forward-vs-reference", "protocol"))
    assert _verdicts(run) == {"forward-vs-reference": "pass", "protocol": "fail"}
    assert "a fresh layer outputs 2·x̂: its weight starts at 1" in _diagnoses(run)


def test_a_function_has_no_initial_weight_to_judge():
    # gemma_rms_norm takes its weight: the adapter's γ (ones) is not the function's own, so under the default
    # the diagnosis offers the option without claiming anything about an initial weight.
    run = _check(gemma_rms_norm, checks=("forward-vs-reference",))
    c = run.checks[0]
    assert c.status.value == "fail" and OPTION in c.diagnosis and "fresh layer" not in c.diagnosis


@pytest.mark.torch
def test_gemma_with_eps_outside_the_root_fails_under_the_convention():
    pytest.importorskip("torch")
    run = _check(GemmaEpsOutside, GEMMA, checks=("forward-vs-reference",))
    c = run.checks[0]
    assert c.status.value == "fail" and "ε is outside the square root" in c.diagnosis, (c.message, c.diagnosis)


def test_cli_names_the_option():
    # One round trip through the command: the default fails a Gemma layer and prints the option to pass.
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "verify", "check", f"{__file__}:NumpyGemmaRMSNorm", "--spec",
                          "rmsnorm", "--check", "forward-vs-reference", "--max-examples", "8"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr
    assert OPTION in out.stdout
