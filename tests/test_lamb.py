"""LAMB, added as one algorithm record (verify/algorithms/lamb.py): optax.lamb and a torch LAMB (torch has none)
pass with the parameters handed over as one layer, Keras' decay form is a named convention, correct numpy LAMBs
pass (float32 included), and cybertronai/pytorch-lamb's bugs are named."""

from __future__ import annotations

import numpy as np
import pytest

from reference import lamb
from tests.buggy.beyond import LambDecayInGradient, LambNoDebias
from verify.results import Status
from verify.plan import RunPlan
from verify.runner import RunOptions, run_inline

CONFORMANCE = RunOptions(checks=("conformance",), max_examples=20, timeout=None)


def _status(target, overrides=None):
    run = run_inline(RunPlan(target, "lamb", overrides or {}, CONFORMANCE))
    return run, run.checks[0]


def test_the_reference_is_algorithm_2_worked_by_hand():
    # t = 1, ε = 0: m̂ = g, v̂ = g², r = sgn g = [1, −1]; λ = 0.5, w = [3, 4]: u = [2.5, 1], ‖w‖ = 5, ‖u‖ = √7.25
    opt = lamb(lr=0.1, eps=0.0, weight_decay=0.5)
    w0 = np.array([3.0, 4.0])
    w, _ = opt.update(np.array([2.0, -7.0]), opt.init(w0), w0)
    np.testing.assert_allclose(w, w0 - 0.1 * 5 / np.sqrt(7.25) * np.array([2.5, 1.0]), rtol=1e-15)


# ------------------------------------------------------------------ the libraries


@pytest.mark.optax
def test_optax_lamb_passes_as_one_layer():
    optax = pytest.importorskip("optax")
    run, result = _status(optax.lamb)
    assert result.status is Status.PASS, result.message
    assert run.held["weight_decay_form"]["value"] == "paper"
    assert any("handed over as one tensor" in line for line in run.mapping)
    _, result = _status(optax.lamb, {"weight_decay": 0.1, "eps": 1e-3})
    assert result.status is Status.PASS, result.message


def _torch_lamb(torch):
    """A torch LAMB as cybertronai's pytorch-lamb is shaped, with the bias correction and without the clamp."""

    class Lamb(torch.optim.Optimizer):
        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0):
            super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["step"], state["exp_avg"], state["exp_avg_sq"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                    beta1, beta2 = group["betas"]
                    state["step"] += 1
                    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    exp_avg.mul_(beta1).add_(p.grad, alpha=1 - beta1)
                    exp_avg_sq.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                    m_hat = exp_avg / (1 - beta1 ** state["step"])
                    v_hat = exp_avg_sq / (1 - beta2 ** state["step"])
                    adam_step = m_hat / (v_hat.sqrt() + group["eps"])
                    if group["weight_decay"] != 0:
                        adam_step.add_(p, alpha=group["weight_decay"])
                    weight_norm, adam_norm = p.norm(p=2), adam_step.norm(p=2)
                    trust = 1.0 if weight_norm == 0 or adam_norm == 0 else weight_norm / adam_norm
                    p.add_(adam_step, alpha=-group["lr"] * float(trust))

    return Lamb


@pytest.mark.torch
def test_a_torch_lamb_passes_as_one_layer():
    torch = pytest.importorskip("torch")
    run, result = _status(_torch_lamb(torch), {"weight_decay": 0.01})
    assert result.status is Status.PASS, result.message
    assert any("torch has no LAMB" in line for line in run.mapping)


# -------------------------------------------------------------- code as people write it


class NumpyLamb:
    """The paper's Algorithm 2 for one layer, as a numpy class."""

    def __init__(self, lr=1e-3, b1=0.9, b2=0.999, eps=1e-6, weight_decay=0.0):
        self.lr, self.b1, self.b2, self.eps, self.wd = lr, b1, b2, eps, weight_decay
        self.m = self.v = None
        self.t = 0

    def step(self, params, grads):
        if self.m is None:
            self.m, self.v = np.zeros_like(params), np.zeros_like(params)
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * grads
        self.v = self.b2 * self.v + (1 - self.b2) * grads ** 2
        r = (self.m / (1 - self.b1 ** self.t)) / (np.sqrt(self.v / (1 - self.b2 ** self.t)) + self.eps)
        update = r + self.wd * params
        w_norm, u_norm = np.linalg.norm(params), np.linalg.norm(update)
        ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
        return params - self.lr * ratio * update


class Float32Lamb(NumpyLamb):
    def step(self, params, grads):
        return super().step(params.astype(np.float32), grads.astype(np.float32)).astype(np.float32)


class KerasLamb(NumpyLamb):
    """Keras' Lamb: the decay applied to the weights first, the trust ratio of the plain Adam step."""

    def step(self, params, grads):
        params = params - params * self.wd * self.lr
        if self.m is None:
            self.m, self.v = np.zeros_like(params), np.zeros_like(params)
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * grads
        self.v = self.b2 * self.v + (1 - self.b2) * grads ** 2
        r = (self.m / (1 - self.b1 ** self.t)) / (np.sqrt(self.v / (1 - self.b2 ** self.t)) + self.eps)
        w_norm, r_norm = np.linalg.norm(params), np.linalg.norm(r)
        ratio = w_norm / r_norm if w_norm > 0 and r_norm > 0 else 1.0
        return params - ratio * self.lr * r


def test_correct_numpy_lambs_pass():
    _, result = _status(NumpyLamb, {"weight_decay": 0.1})
    assert result.status is Status.PASS, result.message
    _, result = _status(Float32Lamb, {"lr": 0.01})
    assert result.status is Status.PASS, result.message


def test_keras_decay_form_is_a_convention_named_with_its_flag():
    _, result = _status(KerasLamb, {"weight_decay": 0.1})
    assert result.status is Status.FAIL
    assert result.diagnosis.startswith("matches the decay outside the trust ratio"), result.diagnosis
    assert "--param weight_decay_form=keras" in result.diagnosis
    # KerasLamb does not take weight_decay_form: a --param holds it at keras
    _, result = _status(KerasLamb, {"weight_decay": 0.1, "weight_decay_form": "keras"})
    assert result.status is Status.PASS, result.message


def test_cybertronai_lamb_without_debiasing_is_named():
    _, result = _status(LambNoDebias, {"weight_decay": 0.1})
    assert result.status is Status.FAIL
    assert "no bias correction" in result.diagnosis.split(";")[0], result.diagnosis


def test_decay_added_to_the_gradient_is_named():
    _, result = _status(LambDecayInGradient, {"weight_decay": 0.1})
    assert result.status is Status.FAIL
    assert result.diagnosis.startswith("matches the decay added to the gradient, Adam-style"), result.diagnosis


def test_without_debiasing_is_not_claimed_where_the_numbers_cannot_tell():
    """At λ = 0 and ε → 0 the trust ratio cancels the bias corrections: the unbiased LAMB then passes (nothing to
    diagnose), and is never reported as a failure the numbers cannot show."""

    class NoDebiasTinyEps(NumpyLamb):
        def step(self, params, grads):
            if self.m is None:
                self.m, self.v = np.zeros_like(params), np.zeros_like(params)
            self.m = self.b1 * self.m + (1 - self.b1) * grads
            self.v = self.b2 * self.v + (1 - self.b2) * grads ** 2
            r = self.m / (np.sqrt(self.v) + self.eps)
            w_norm, r_norm = np.linalg.norm(params), np.linalg.norm(r)
            ratio = w_norm / r_norm if w_norm > 0 and r_norm > 0 else 1.0     # NumpyLamb's guard
            return params - self.lr * ratio * r

    run = run_inline(RunPlan(NoDebiasTinyEps, "lamb", {"eps": 1e-300, "weight_decay": 0.0}, CONFORMANCE))
    result = run.checks[0]
    if result.status is Status.FAIL:      # only where ε = 1e-300 still shows against √v̂ (v ≈ 0): then it is named
        assert "no bias correction" in (result.diagnosis or ""), result.diagnosis
    else:
        assert result.status is Status.PASS, result.message
