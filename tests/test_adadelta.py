"""Adadelta, added as one algorithm record (verify/algorithms/adadelta.py): PyTorch's (both kernels) and optax's
Adadelta pass at matching hyperparameters, optax's default learning_rate=None is named as ascent, correct numpy
Adadeltas written the way d2l and Keras-style code write them pass, and the bugs are named."""

from __future__ import annotations

import numpy as np
import pytest

from reference import adadelta
from tests.buggy.beyond import AdadeltaForgetsState
from verify.results import Status
from verify.plan import RunPlan
from verify.runner import RunOptions, run_inline

CONFORMANCE = RunOptions(checks=("conformance",), max_examples=20, timeout=None)


def _status(target, overrides=None, options=CONFORMANCE):
    run = run_inline(RunPlan(target, "adadelta", overrides or {}, options))
    return run, run.checks[0]


def test_the_reference_is_zeilers_algorithm_worked_by_hand():
    # ρ = 0.5, ε = 1, g = 4 then 2: E[g²] = 8, Δ₁ = √1/√9·4 = 4/3, E[Δ²] = 8/9; E[g²] = 6, Δ₂ = √(17/9)/√7·2
    opt = adadelta(lr=0.5, rho=0.5, eps=1.0)
    w, s = np.zeros(1), opt.init(np.zeros(1))
    w, s = opt.update(np.array([4.0]), s, w)
    np.testing.assert_allclose(w, [-0.5 * 4 / 3], rtol=1e-15)
    w, s = opt.update(np.array([2.0]), s, w)
    np.testing.assert_allclose(w, [-0.5 * 4 / 3 - 0.5 * np.sqrt(17 / 9) / np.sqrt(7) * 2], rtol=1e-15)


# ------------------------------------------------------------------ the libraries


@pytest.mark.torch
@pytest.mark.parametrize("foreach", [False, True])
def test_torch_adadelta_passes_with_both_kernels(foreach):
    torch = pytest.importorskip("torch")

    class Kernel(torch.optim.Adadelta):
        def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
            super().__init__(params, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=foreach)

    _, result = _status(Kernel)
    assert result.status is Status.PASS, result.message
    _, result = _status(Kernel, {"weight_decay": 0.1, "lr": 0.5, "rho": 0.95})
    assert result.status is Status.PASS, result.message


@pytest.mark.optax
def test_optax_adadelta_passes_given_a_learning_rate():
    optax = pytest.importorskip("optax")
    run, result = _status(optax.adadelta)
    assert result.status is Status.PASS, result.message
    assert any("learning_rate=None adds Δ" in line for line in run.mapping)
    _, result = _status(optax.adadelta, {"weight_decay": 0.3, "eps": 1e-3})
    assert result.status is Status.PASS, result.message


@pytest.mark.optax
def test_optax_adadelta_built_with_its_default_learning_rate_ascends_and_is_named(tmp_path):
    pytest.importorskip("optax")
    (tmp_path / "built.py").write_text("import optax\ntx = optax.adadelta()\n")
    _, result = _status(f"{tmp_path / 'built.py'}:tx")
    assert result.status is Status.FAIL, result.message
    assert result.diagnosis.startswith("matches the step added instead of subtracted"), result.diagnosis


# -------------------------------------------------------------- code as people write it


class D2lAdadelta:
    """d2l's adadelta (chapter 12.9) as a class: state written into the arrays in place, no learning rate."""

    def __init__(self, rho=0.9, eps=1e-6):
        self.rho, self.eps = rho, eps
        self.s = self.delta = None

    def step(self, params, grads):
        if self.s is None:
            self.s, self.delta = np.zeros_like(params), np.zeros_like(params)
        self.s[:] = self.rho * self.s + (1 - self.rho) * np.square(grads)
        g = (np.sqrt(self.delta + self.eps) / np.sqrt(self.s + self.eps)) * grads
        params -= g
        self.delta[:] = self.rho * self.delta + (1 - self.rho) * g * g
        return params


class Float32Adadelta:
    """Keras-style numpy: float32 slots, lerp-form averages, lr applied after the accumulator update."""

    def __init__(self, lr=1.0, rho=0.9, eps=1e-6):
        self.lr, self.rho, self.eps = np.float32(lr), np.float32(rho), np.float32(eps)
        self.acc = self.acc_delta = None

    def update(self, params, grads):
        g = grads.astype(np.float32)
        if self.acc is None:
            self.acc, self.acc_delta = np.zeros_like(g), np.zeros_like(g)
        self.acc = self.acc + (1 - self.rho) * (g * g - self.acc)
        delta = -np.sqrt(self.acc_delta + self.eps) * g / np.sqrt(self.acc + self.eps)
        self.acc_delta = self.acc_delta + (1 - self.rho) * (delta * delta - self.acc_delta)
        return (params + self.lr * delta).astype(np.float32)


def test_correct_numpy_adadeltas_pass():
    run, result = _status(D2lAdadelta)
    assert result.status is Status.PASS, result.message
    assert run.held["lr"]["value"] == 1.0
    _, result = _status(Float32Adadelta, {"lr": 0.5})
    assert result.status is Status.PASS, result.message


def test_the_d2l_port_that_never_stores_its_state_is_named():
    _, result = _status(AdadeltaForgetsState)
    assert result.status is Status.FAIL
    assert result.diagnosis.startswith("matches the running averages are never stored"), result.diagnosis


class _Bug(D2lAdadelta):
    def __init__(self, lr=1.0, rho=0.9, eps=1e-6):
        super().__init__(rho, eps)
        self.lr = lr


class LrInAverage(_Bug):
    def step(self, params, grads):
        if self.s is None:
            self.s, self.delta = np.zeros_like(params), np.zeros_like(params)
        self.s = self.rho * self.s + (1 - self.rho) * grads ** 2
        update = self.lr * np.sqrt(self.delta + self.eps) / np.sqrt(self.s + self.eps) * grads
        self.delta = self.rho * self.delta + (1 - self.rho) * update ** 2
        return params - update


class EpsOutside(_Bug):
    def step(self, params, grads):
        if self.s is None:
            self.s, self.delta = np.zeros_like(params), np.zeros_like(params)
        self.s = self.rho * self.s + (1 - self.rho) * grads ** 2
        d = (np.sqrt(self.delta) + self.eps) / (np.sqrt(self.s) + self.eps) * grads
        self.delta = self.rho * self.delta + (1 - self.rho) * d ** 2
        return params - self.lr * d


@pytest.mark.parametrize("target, overrides, words", [
    (LrInAverage, {"lr": 0.1}, "matches E[Δ²] accumulates the scaled step"),
    (EpsOutside, {"eps": 1e-3}, "matches ε outside the roots"),
], ids=["lr-in-average", "eps-outside"])
def test_bugs_are_named(target, overrides, words):
    _, result = _status(target, overrides)
    assert result.status is Status.FAIL
    assert result.diagnosis.startswith(words), result.diagnosis


def test_pytorch_s_decay_convention_checked_against_keras_decoupled_form_is_named():
    class Decoupled(_Bug):
        def __init__(self, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
            super().__init__(lr, rho, eps)
            self.wd = weight_decay

        def step(self, params, grads):
            params = params - self.lr * self.wd * params          # Keras: decay first, decoupled
            if self.s is None:
                self.s, self.delta = np.zeros_like(params), np.zeros_like(params)
            self.s = self.rho * self.s + (1 - self.rho) * grads ** 2
            d = np.sqrt(self.delta + self.eps) / np.sqrt(self.s + self.eps) * grads
            self.delta = self.rho * self.delta + (1 - self.rho) * d ** 2
            return params - self.lr * d

    _, result = _status(Decoupled, {"weight_decay": 0.1, "lr": 0.5})
    assert result.status is Status.FAIL
    assert result.diagnosis.startswith("matches decoupled weight decay"), result.diagnosis
