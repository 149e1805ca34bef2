"""Lion, added as one algorithm record (verify/algorithms/lion.py): optax.lion and a torch Lion written as
lucidrains' lion-pytorch pass (torch has none of its own), correct numpy Lions pass, and the real bugs —
bitsandbytes' coupled decay, the decay applied after the step — and the usual slips are named."""

from __future__ import annotations

import numpy as np
import pytest

from reference import lion
from tests.buggy.beyond import LionCoupledDecay, LionDecayAfter
from verify.results import Status
from verify.plan import RunPlan
from verify.runner import RunOptions, run_inline

CONFORMANCE = RunOptions(checks=("conformance",), max_examples=20, timeout=None)


def _status(target, overrides=None):
    run = run_inline(RunPlan(target, "lion", overrides or {}, CONFORMANCE))
    return run, run.checks[0]


def test_the_reference_is_program_1_worked_by_hand():
    # β1 = 0.5, β2 = 0.25, λ = 0.5, η = 0.1, w = 2; g = 1: c = 0.5 > 0, w ← 2 − 0.1(1 + 1) = 1.8, m = 0.75
    # g = −2: c = 0.375 − 1 < 0, w ← 1.8 − 0.1(−1 + 0.9) = 1.81
    opt = lion(lr=0.1, b1=0.5, b2=0.25, weight_decay=0.5)
    w, s = np.array([2.0]), opt.init(np.array([2.0]))
    w, s = opt.update(np.array([1.0]), s, w)
    np.testing.assert_allclose(w, [1.8], rtol=1e-15)
    w, s = opt.update(np.array([-2.0]), s, w)
    np.testing.assert_allclose(w, [1.81], rtol=1e-15)


# ------------------------------------------------------------------ the libraries


@pytest.mark.optax
def test_optax_lion_passes_with_its_decay_passed():
    optax = pytest.importorskip("optax")
    run, result = _status(optax.lion)
    assert result.status is Status.PASS, result.message
    assert any("optax's default is 1e-3" in line for line in run.mapping)
    _, result = _status(optax.lion, {"weight_decay": 0.5, "lr": 0.01})
    assert result.status is Status.PASS, result.message


def _lucidrains(torch):
    """lucidrains/lion-pytorch's Lion, paraphrased (decoupled decay first, sign of the interpolation, lerp-free)."""

    class Lion(torch.optim.Optimizer):
        def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
            super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in (p for p in group["params"] if p.grad is not None):
                    lr, wd, (beta1, beta2) = group["lr"], group["weight_decay"], group["betas"]
                    state = self.state[p]
                    if len(state) == 0:
                        state["exp_avg"] = torch.zeros_like(p)
                    exp_avg = state["exp_avg"]
                    p.data.mul_(1.0 - lr * wd)
                    update = exp_avg.clone().mul_(beta1).add(p.grad, alpha=1.0 - beta1).sign_()
                    p.add_(update, alpha=-lr)
                    exp_avg.mul_(beta2).add_(p.grad, alpha=1.0 - beta2)

    return Lion


@pytest.mark.torch
def test_a_torch_lion_written_as_lucidrains_passes():
    torch = pytest.importorskip("torch")
    run, result = _status(_lucidrains(torch), {"weight_decay": 0.1})
    assert result.status is Status.PASS, result.message
    assert any("torch has no Lion" in line for line in run.mapping)


# -------------------------------------------------------------- code as people write it


class NumpyLion:
    """Program 1 of the paper as a numpy class (state made on first use)."""

    def __init__(self, lr=1e-4, b1=0.9, b2=0.99, weight_decay=0.0):
        self.lr, self.b1, self.b2, self.wd = lr, b1, b2, weight_decay
        self.m = None

    def step(self, params, grads):
        if self.m is None:
            self.m = np.zeros_like(params)
        update = np.sign(self.b1 * self.m + (1 - self.b1) * grads)
        self.m = self.b2 * self.m + (1 - self.b2) * grads
        return params - self.lr * (update + self.wd * params)


class Float32Lion:
    """Keras-style: float32 slot, decay first, lerp-form momentum."""

    def __init__(self, lr=1e-4, b1=0.9, b2=0.99):
        self.lr, self.b1, self.b2 = np.float32(lr), np.float32(b1), np.float32(b2)
        self.m = None

    def update(self, params, grads):
        g = grads.astype(np.float32)
        if self.m is None:
            self.m = np.zeros_like(g)
        p = params.astype(np.float32) - self.lr * np.sign(self.m * self.b1 + g * (1 - self.b1))
        self.m = self.m + (g - self.m) * (1 - self.b2)
        return p


def test_correct_numpy_lions_pass():
    _, result = _status(NumpyLion, {"weight_decay": 0.3})
    assert result.status is Status.PASS, result.message
    _, result = _status(NumpyLion)
    assert result.status is Status.PASS, result.message
    _, result = _status(Float32Lion, {"lr": 0.01})
    assert result.status is Status.PASS, result.message


def test_bitsandbytes_coupled_decay_is_named():
    _, result = _status(LionCoupledDecay, {"weight_decay": 0.5, "lr": 0.1})
    assert result.status is Status.FAIL
    assert result.diagnosis.startswith("matches coupled decay: g + λw added to the gradient"), result.diagnosis


def test_the_decay_after_the_step_is_named():
    _, result = _status(LionDecayAfter, {"weight_decay": 0.5, "lr": 0.1})
    assert result.status is Status.FAIL
    assert result.diagnosis.startswith("matches the decay applied after the sign step"), result.diagnosis


class MomentumFirst(NumpyLion):
    def step(self, params, grads):
        if self.m is None:
            self.m = np.zeros_like(params)
        self.m = self.b2 * self.m + (1 - self.b2) * grads
        return params - self.lr * (np.sign(self.m) + self.wd * params)


class SwappedBetas(NumpyLion):
    def step(self, params, grads):
        if self.m is None:
            self.m = np.zeros_like(params)
        update = np.sign(self.b2 * self.m + (1 - self.b2) * grads)
        self.m = self.b1 * self.m + (1 - self.b1) * grads
        return params - self.lr * (update + self.wd * params)


@pytest.mark.parametrize("target, words", [
    (MomentumFirst, "matches the momentum updated first"),
    (SwappedBetas, "matches β1 and β2 swapped"),
], ids=["momentum-first", "swapped-betas"])
def test_slips_are_named(target, words):
    _, result = _status(target, {"lr": 0.1})
    assert result.status is Status.FAIL
    assert result.diagnosis.startswith(words), result.diagnosis
