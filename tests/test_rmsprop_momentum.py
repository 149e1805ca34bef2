"""RMSprop with momentum and centring (spec rmsprop's momentum, centered and form): the reference against hand-worked
numbers and Keras's own (research notes §K.1), PyTorch's two kernels and optax as peers, optax's nesterov and a built
torch RMSprop with weight decay refused in one line, and numpy RMSprops written the way courses, Graves-style code
and float32 code write them — correct ones pass in their own conventions, the slips are named."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import reference
from verify.api import check_conforms
from verify.errors import TargetLoadError
from verify.results import Status


def _conformance(target, params=None, examples=8):
    (c,) = check_conforms(target, "rmsprop", params=params or {}, checks="conformance", max_examples=examples,
                          isolate=False).checks
    return c


def _passes(target, params=None):
    c = _conformance(target, params)
    assert c.status is Status.PASS, f"{c.message}\n{c.diagnosis}"
    return c


def _named(target, params, phrase):
    c = _conformance(target, params)
    assert c.status is Status.FAIL, c.message
    assert c.diagnosis and c.diagnosis.startswith("matches") and phrase in c.diagnosis, c.diagnosis
    return c


# ------------------------------------------------------------------ the reference, independently


def test_centred_momentum_worked_by_hand():
    # ρ = 0.5, μ = 0.5, η = 0.1, ε = 0, g = 2 then 1:
    # s₁ = 2, ḡ₁ = 1, s₁ − ḡ₁² = 1, b₁ = 2, w₁ = −0.2;
    # s₂ = 1.5, ḡ₂ = 1, s₂ − ḡ₂² = 0.5, b₂ = 0.5·2 + 1/√0.5 = 1 + √2, w₂ = −0.2 − 0.1(1 + √2)
    for form in ("pytorch", "polyak"):
        opt = reference.rmsprop(lr=0.1, rho=0.5, eps=0.0, momentum=0.5, centered=True, form=form)
        w, s = np.zeros(1), opt.init(np.zeros(1))
        w, s = opt.update(np.array([2.0]), s, w)
        np.testing.assert_allclose(w, [-0.2], rtol=1e-15)
        w, s = opt.update(np.array([1.0]), s, w)
        np.testing.assert_allclose(w, [-0.3 - 0.1 * np.sqrt(2.0)], rtol=1e-15)


def test_keras_form_matches_keras_s_own_numbers():
    # Keras 3.15.1 RMSprop(0.1, momentum=0.5, centered=True) (ε = 1e-7 inside the root, η inside the buffer), three
    # steps on two variables: the values printed by the research notes' script kx.py (§K.1), jax and torch backends.
    keras_t3 = [0.7474114447378266, -1.9892329773091877, -0.06026348686845122, -0.41766929681915044,
                0.13119246941325408, 0.6235299463357135, -0.49872185473565067]
    w_a, g_a = np.array([1.0, -2.0, 0.5]), [[0.1, -0.2, 0.3], [-0.4, 0.5, 0.05], [0.2, 0.2, -0.1]]
    w_b, g_b = np.array([[0.3, -0.1], [0.2, 0.4]]), [[[0.5, 0.0], [-0.3, 0.1]], [[0.2, -0.2], [0.1, 0.0]],
                                                      [[-0.1, 0.3], [0.0, 0.2]]]
    got = []
    for w, gs in ((w_a, g_a), (w_b, g_b)):
        opt = reference.rmsprop(lr=0.1, rho=0.9, eps=1e-7, momentum=0.5, centered=True, eps_in_sqrt=True,
                                form="polyak")
        s = opt.init(w)
        for g in gs:
            w, s = opt.update(np.array(g), s, w)
        got += w.ravel().tolist()
    np.testing.assert_allclose(got, keras_t3, rtol=1e-14)


# ------------------------------------------------------------------ the libraries, as peers


def _foreach(torch):
    class ForeachRMSprop(torch.optim.RMSprop):
        def __init__(self, params, **kwargs):
            super().__init__(params, foreach=True, **kwargs)

    return ForeachRMSprop


@pytest.mark.torch
def test_torch_rmsprop_with_momentum_and_centring_passes_in_both_kernels():
    torch = pytest.importorskip("torch")
    # the foreach kernel at a momentum and centred; the single-tensor one with both drawn over their range
    _passes(_foreach(torch), {"momentum": 0.9, "centered": True, "rho": 0.99})
    c = _passes(torch.optim.RMSprop)
    assert "momentum, centered over" in c.message


@pytest.mark.torch
def test_a_built_torch_rmsprop_is_checked_at_its_momentum_and_refused_with_weight_decay():
    torch = pytest.importorskip("torch")
    params = [torch.zeros(3, dtype=torch.float64)]
    run = check_conforms(torch.optim.RMSprop(params, lr=0.01, momentum=0.5, centered=True, foreach=True), "rmsprop",
                         checks="conformance", max_examples=8, isolate=False)
    assert run.status is Status.PASS, run.checks[0].message
    assert (run.held["momentum"]["value"], run.held["centered"]["value"]) == (0.5, True)
    with pytest.raises(TargetLoadError, match=r"is set weight_decay=0.1: spec 'rmsprop' has no parameter for it "
                                              r"\(it checks .* at weight_decay=0.0 only\)"):
        check_conforms(torch.optim.RMSprop(params, weight_decay=0.1), "rmsprop", isolate=False, checks="conformance")


@pytest.mark.optax
def test_optax_rmsprop_passes_as_the_polyak_form_and_nesterov_is_refused():
    optax = pytest.importorskip("optax")
    run = check_conforms(optax.rmsprop, "rmsprop", params={"momentum": 0.9, "centered": True}, checks="conformance",
                         max_examples=8, isolate=False)
    assert run.status is Status.PASS, run.checks[0].message
    assert run.held["form"]["value"] == "polyak"
    with pytest.raises(TargetLoadError, match=r"partial\(optax.rmsprop\) is set nesterov=True: spec 'rmsprop' has no "
                                              r"parameter for it"):
        check_conforms(functools.partial(optax.rmsprop, momentum=0.9, nesterov=True), "rmsprop", isolate=False)


# ------------------------------------------------------------------ numpy code, as it is written


def cs231n_rmsprop_momentum(w, dw, config=None):
    """CS231n's rmsprop(w, dw, config) with a velocity added the way the sgd_momentum solution keeps one
    (v = μv − η·step, w + v: η inside the buffer)."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("momentum", 0.9)
    config.setdefault("cache", np.zeros_like(w))
    config.setdefault("velocity", np.zeros_like(w))
    cache = config["decay_rate"] * config["cache"] + (1 - config["decay_rate"]) * dw ** 2
    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"], config["velocity"] = cache, v
    return w + v, config


class GravesRMSProp:
    """Centred RMSprop with momentum as Graves (2013, eq. 38–41), TensorFlow 1 and Sonnet write it: ε inside the
    root, η inside the momentum buffer (Δ ← μΔ − ηg/√(n − ḡ² + ε), w ← w + Δ)."""

    def __init__(self, learning_rate=1e-3, decay_rate=0.9, momentum=0.9, epsilon=1e-7, centered=True):
        self.lr, self.rho, self.mu, self.eps, self.centered = learning_rate, decay_rate, momentum, epsilon, centered
        self.n = self.g = self.delta = None

    def update(self, params, grads):
        if self.n is None:
            self.n, self.g, self.delta = (np.zeros_like(params) for _ in range(3))
        self.n = self.rho * self.n + (1 - self.rho) * grads ** 2
        if self.centered:
            self.g = self.rho * self.g + (1 - self.rho) * grads
        self.delta = self.mu * self.delta - self.lr * grads / np.sqrt(self.n - self.g ** 2 + self.eps)
        return params + self.delta


class Float32RMSprop:
    """PyTorch's algorithm with its state kept in float32 (as a float32 training script keeps it)."""

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, centered=False):
        self.lr, self.alpha, self.eps = np.float32(lr), np.float32(alpha), np.float32(eps)
        self.momentum, self.centered = np.float32(momentum), centered
        self.sq = self.avg = self.buf = None

    def step(self, params, grads):
        g = grads.astype(np.float32)
        if self.sq is None:
            self.sq, self.avg, self.buf = (np.zeros_like(g) for _ in range(3))
        self.sq = self.alpha * self.sq + (1 - self.alpha) * g * g
        denom = self.sq
        if self.centered:
            self.avg = self.alpha * self.avg + (1 - self.alpha) * g
            denom = self.sq - self.avg * self.avg
        step = g / (np.sqrt(np.maximum(denom, 0)) + self.eps)
        if self.momentum > 0:
            self.buf = self.momentum * self.buf + step
            step = self.buf
        return (params.astype(np.float32) - self.lr * step).astype(params.dtype)


class MomentumRMSprop:
    """PyTorch's RMSprop(momentum, centered) in numpy, with one slip chosen by ``bug``."""

    def __init__(self, lr=0.01, rho=0.9, eps=1e-8, momentum=0.9, centered=False, bug=None):
        self.lr, self.rho, self.eps, self.momentum, self.centered, self.bug = lr, rho, eps, momentum, centered, bug
        self.s = self.m = self.b = None

    def step(self, params, grads):
        if self.s is None:
            self.s, self.m, self.b = (np.zeros_like(params) for _ in range(3))
        self.s = self.rho * self.s + (1 - self.rho) * grads ** 2
        second = self.s
        if self.centered and self.bug != "centered-ignored":
            self.m = self.rho * self.m + (1 - self.rho) * grads
            second = self.s - (self.m if self.bug == "mean-unsquared" else self.m ** 2)
        if self.bug == "momentum-first":          # the raw gradient accumulated, divided afterwards
            self.b = self.momentum * self.b + grads
            return params - self.lr * self.b / (np.sqrt(second) + self.eps)
        if self.bug == "momentum-ignored":
            return params - self.lr * grads / (np.sqrt(second) + self.eps)
        if self.bug == "lr-inside":               # Keras's buffer, v ← μv + ηg/(√s + ε), w ← w − v
            self.b = self.momentum * self.b + self.lr * grads / (np.sqrt(second) + self.eps)
            return params - self.b
        self.b = self.momentum * self.b + grads / (np.sqrt(second) + self.eps)
        return params - self.lr * self.b


def test_course_code_with_a_velocity_passes():
    # η inside its velocity: the same iterates as PyTorch's form at a constant η, within the rounding model
    c = _passes(cs231n_rmsprop_momentum)
    assert "momentum over" in c.message     # the config's momentum is varied too


def test_graves_centred_rmsprop_passes_in_its_own_conventions_and_is_named_under_pytorch_s():
    _passes(GravesRMSProp, {"eps_in_sqrt": True, "form": "polyak"})
    _named(GravesRMSProp, {"centered": True, "momentum": 0.9}, "ε inside the square root")


def test_float32_rmsprop_with_momentum_and_centring_passes_at_float32():
    c = _passes(Float32RMSprop, {"momentum": 0.9, "centered": True, "rho": 0.99})
    assert "float32" in c.message


def test_numpy_pytorch_form_passes_and_eta_inside_the_buffer_is_not_a_false_alarm():
    _passes(MomentumRMSprop, {"centered": True})
    # η inside the buffer is PyTorch's iterates at a constant η: not a bug the iterates can show
    _passes(functools.partial(MomentumRMSprop, bug="lr-inside"), {"centered": True})


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")   # √(s − ḡ) of the slip
@pytest.mark.parametrize("bug, params, phrase", [
    ("mean-unsquared", {"centered": True, "rho": 0.5}, "mean subtracted unsquared"),
    ("momentum-first", {}, "momentum on the raw gradient"),
    ("centered-ignored", {"centered": True}, "the running mean ḡ is never subtracted"),
])
def test_slips_are_named(bug, params, phrase):
    _named(functools.partial(MomentumRMSprop, bug=bug), params, phrase)


def test_momentum_ignored_is_named_by_its_value():
    c = _conformance(functools.partial(MomentumRMSprop, bug="momentum-ignored"), {"momentum": 0.9})
    assert c.status is Status.FAIL, c.message
    assert c.diagnosis.startswith("the target behaves like the reference with momentum = 0"), c.diagnosis
