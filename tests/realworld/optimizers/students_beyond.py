"""Student and blog code for the optimizers beyond the course notes, in numpy: CS231n-style ``rule(w, dw,
config)`` with ``config.setdefault``, classes with β and ε hard-coded (``1e-8`` typed in the formula), counters
from 0 bumped first, float32 state, and the slips students make (Ruder's NAdam, a maximum kept after the step,
the absolute value forgotten). Paraphrased from public assignment solutions and blog posts; checked as they are."""

import numpy as np


def adagrad(w, dw, config=None):
    """CS231n's optim.py shape."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-10)
    config.setdefault("cache", np.zeros_like(w))
    config["cache"] += dw ** 2
    next_w = w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    return next_w, config


class Adamax:
    """ε typed into the division, outside the maximum (Keras' form)."""

    def __init__(self, lr=0.002):
        self.lr = lr
        self.beta1, self.beta2 = 0.9, 0.999
        self.m = self.u = None
        self.t = 0

    def step(self, w, g):
        if self.m is None:
            self.m, self.u = np.zeros_like(w), np.zeros_like(w)
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * g
        self.u = np.maximum(self.beta2 * self.u, np.abs(g))
        return w - (self.lr / (1 - self.beta1 ** self.t)) * self.m / (self.u + 1e-8)


class AdamaxNoAbs(Adamax):
    def step(self, w, g):
        if self.m is None:
            self.m, self.u = np.zeros_like(w), np.zeros_like(w)
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * g
        self.u = np.maximum(self.beta2 * self.u, g)
        return w - (self.lr / (1 - self.beta1 ** self.t)) * self.m / (self.u + 1e-8)


class AMSGrad:
    """Reddi et al. with Adam's bias correction, as PyTorch: the maximum of v, corrected afterwards."""

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.lr, self.beta1, self.beta2, self.epsilon = lr, beta1, beta2, epsilon
        self.m = self.v = self.v_max = None
        self.t = 0

    def update(self, w, dw):
        if self.m is None:
            self.m, self.v, self.v_max = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * dw
        self.v = self.beta2 * self.v + (1 - self.beta2) * dw ** 2
        self.v_max = np.maximum(self.v_max, self.v)
        m_hat = self.m / (1 - self.beta1 ** self.t)
        v_hat = self.v_max / (1 - self.beta2 ** self.t)
        return w - self.lr * m_hat / (np.sqrt(v_hat) + self.epsilon)


class AMSGradStaleMax(AMSGrad):
    """The maximum updated after the step: the division uses the previous maximum."""

    def update(self, w, dw):
        if self.m is None:
            self.m, self.v, self.v_max = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * dw
        self.v = self.beta2 * self.v + (1 - self.beta2) * dw ** 2
        m_hat = self.m / (1 - self.beta1 ** self.t)
        w = w - self.lr * m_hat / (np.sqrt(self.v_max / (1 - self.beta2 ** self.t)) + self.epsilon)
        self.v_max = np.maximum(self.v_max, self.v)
        return w


class AMSGradNoCorrection(AMSGrad):
    """Reddi et al.'s Algorithm 2 as printed: no bias correction at all."""

    def update(self, w, dw):
        if self.m is None:
            self.m, self.v, self.v_max = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
        self.m = self.beta1 * self.m + (1 - self.beta1) * dw
        self.v = self.beta2 * self.v + (1 - self.beta2) * dw ** 2
        self.v_max = np.maximum(self.v_max, self.v)
        return w - self.lr * self.m / (np.sqrt(self.v_max) + self.epsilon)


class NadamRuder:
    """NAdam as Ruder's overview writes it: θ ← θ − η/(√v̂ + ε)·(β1 m̂ + (1 − β1)g/(1 − β1ᵗ))."""

    def __init__(self, lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = self.v = 0.0
        self.t = 0

    def step(self, params, grads):
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grads
        self.v = self.beta2 * self.v + (1 - self.beta2) * grads ** 2
        m_hat = self.m / (1 - self.beta1 ** self.t)
        v_hat = self.v / (1 - self.beta2 ** self.t)
        nesterov = self.beta1 * m_hat + (1 - self.beta1) * grads / (1 - self.beta1 ** self.t)
        return params - self.lr / (np.sqrt(v_hat) + self.eps) * nesterov


class RAdamPaper:
    """RAdam from the paper's Algorithm 2: ρ_t > 4; ε added to √v in l_t (the paper has none)."""

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.rho_inf = 2 / (1 - beta2) - 1
        self.m = self.v = None
        self.t = 0

    def step(self, w, g):
        if self.m is None:
            self.m, self.v = np.zeros_like(w), np.zeros_like(w)
        self.t += 1
        b1, b2, t = self.beta1, self.beta2, self.t
        self.m = b1 * self.m + (1 - b1) * g
        self.v = b2 * self.v + (1 - b2) * g * g
        m_hat = self.m / (1 - b1 ** t)
        rho_t = self.rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho_t > 4:
            l_t = np.sqrt(1 - b2 ** t) / (np.sqrt(self.v) + self.eps)
            r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * self.rho_inf / ((self.rho_inf - 4) * (self.rho_inf - 2) * rho_t))
            return w - self.lr * r_t * m_hat * l_t
        return w - self.lr * m_hat


class LionFloat32:
    """Lion with its momentum kept in float32 (``dtype=np.float32``), weight decay on the old weights."""

    def __init__(self, lr=1e-4, b1=0.9, b2=0.99, weight_decay=0.0):
        self.lr, self.b1, self.b2, self.wd = lr, b1, b2, weight_decay
        self.exp_avg = None

    def step(self, params, grads):
        if self.exp_avg is None:
            self.exp_avg = np.zeros(params.shape, dtype=np.float32)
        update = np.sign(self.b1 * self.exp_avg + (1 - self.b1) * grads)
        params = params * (1 - self.lr * self.wd) - self.lr * update
        self.exp_avg = (self.b2 * self.exp_avg + (1 - self.b2) * grads).astype(np.float32)
        return params


class AdagradFloat32:
    """The accumulator in float32; ε = 1e-7 typed in."""

    def __init__(self, lr=0.01):
        self.lr = lr
        self.cache = None

    def step(self, w, g):
        if self.cache is None:
            self.cache = np.zeros(w.shape, np.float32)
        self.cache += (g * g).astype(np.float32)
        return w - self.lr * g / (np.sqrt(self.cache) + 1e-7)


class AdagradStaleCache:
    """The squared gradient added after the step: the first step divides by ε alone."""

    def __init__(self, lr=0.01, eps=1e-10):
        self.lr, self.eps, self.cache = lr, eps, None

    def step(self, w, g):
        if self.cache is None:
            self.cache = np.zeros_like(w)
        w = w - self.lr * g / (np.sqrt(self.cache) + self.eps)
        self.cache += g ** 2
        return w
