"""Rprop and sign-based methods as found in numpy code (course exercises on Riedmiller & Braun, Hinton's
lecture 6e; signSGD / signum after Bernstein et al.). Paraphrased, in their own shapes."""

import numpy as np


class IRpropMinus:
    """iRprop−: after a sign change Δ shrinks, no step is taken and the remembered gradient is set to 0."""

    def __init__(self, lr=0.01, eta_plus=1.2, eta_minus=0.5, delta_min=1e-6, delta_max=50.0):
        self.delta0, self.eta_plus, self.eta_minus = lr, eta_plus, eta_minus
        self.delta_min, self.delta_max = delta_min, delta_max
        self.delta = self.prev = None

    def step(self, params, grads):
        if self.delta is None:
            self.delta = np.full_like(params, self.delta0)
            self.prev = np.zeros_like(params)
        g = grads.copy()
        s = g * self.prev
        self.delta[s > 0] = np.minimum(self.delta[s > 0] * self.eta_plus, self.delta_max)
        self.delta[s < 0] = np.maximum(self.delta[s < 0] * self.eta_minus, self.delta_min)
        self.delta = np.clip(self.delta, self.delta_min, self.delta_max)
        g[s < 0] = 0.0
        self.prev = g
        return params - np.sign(g) * self.delta


class RpropMinus(IRpropMinus):
    """Classic Rprop− (no backtracking, no zeroing): the step is taken even after a sign change."""

    def step(self, params, grads):
        if self.delta is None:
            self.delta = np.full_like(params, self.delta0)
            self.prev = np.zeros_like(params)
        s = grads * self.prev
        self.delta = np.where(s > 0, np.minimum(self.delta * self.eta_plus, self.delta_max),
                              np.where(s < 0, np.maximum(self.delta * self.eta_minus, self.delta_min), self.delta))
        self.prev = grads.copy()
        return params - np.sign(grads) * self.delta


class RpropStepsAfterFlip(IRpropMinus):
    """A C++-inspired port: after a sign change Δ shrinks and the step is still taken, the memory set to 0."""

    def step(self, params, grads):
        if self.delta is None:
            self.delta = np.full_like(params, self.delta0)
            self.prev = np.zeros_like(params)
        new = params.copy()
        for i in range(params.size):
            gi, pi = grads.flat[i], self.prev.flat[i]
            if gi * pi > 0:
                self.delta.flat[i] = min(self.delta_max, self.eta_plus * self.delta.flat[i])
                self.prev.flat[i] = gi
            elif gi * pi < 0:
                self.delta.flat[i] = max(self.delta_min, self.eta_minus * self.delta.flat[i])
                self.prev.flat[i] = 0.0
            else:
                self.prev.flat[i] = gi
            new.flat[i] -= self.delta.flat[i] * np.sign(gi)
        return new


class RpropSwappedEtas(IRpropMinus):
    """η⁺ and η⁻ exchanged when the factors are applied."""

    def step(self, params, grads):
        if self.delta is None:
            self.delta = np.full_like(params, self.delta0)
            self.prev = np.zeros_like(params)
        g = grads.copy()
        s = g * self.prev
        factor = np.where(s > 0, self.eta_minus, np.where(s < 0, self.eta_plus, 1.0))
        self.delta = np.clip(self.delta * factor, self.delta_min, self.delta_max)
        g[s < 0] = 0.0
        self.prev = g
        return params - np.sign(g) * self.delta


class SignSGD:
    def __init__(self, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        return params - self.lr * np.sign(grads)


class SignSGDPlusOneAtZero(SignSGD):
    """The sign taken as +1 for g ≥ 0 (np.where(g >= 0, 1, -1))."""

    def step(self, params, grads):
        return params - self.lr * np.where(grads >= 0, 1.0, -1.0)


class Signum(SignSGD):
    """Signum (the sign of a momentum average, β = 0.9) checked under sign-sgd."""

    def __init__(self, lr=0.01):
        super().__init__(lr)
        self.m = None

    def step(self, params, grads):
        self.m = (1 - 0.9) * grads if self.m is None else 0.9 * self.m + (1 - 0.9) * grads
        return params - self.lr * np.sign(self.m)
