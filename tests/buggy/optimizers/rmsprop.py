"""Buggy RMSprop implementations (spec ``rmsprop``: ε outside the root, s₀ = 0)."""

import numpy as np


class _Base:
    def __init__(self, lr, rho, eps):
        self.lr, self.rho, self.eps, self.s = lr, rho, eps, None


class EpsInside(_Base):
    def step(self, params, grads):
        self.s = (0.0 if self.s is None else self.s) * self.rho + (1 - self.rho) * grads ** 2
        return params - self.lr * grads / np.sqrt(self.s + self.eps)


class SwappedRho(_Base):
    def step(self, params, grads):
        self.s = (0.0 if self.s is None else self.s) * (1 - self.rho) + self.rho * grads ** 2
        return params - self.lr * grads / (np.sqrt(self.s) + self.eps)


class NoSqrt(_Base):
    def step(self, params, grads):
        self.s = (0.0 if self.s is None else self.s) * self.rho + (1 - self.rho) * grads ** 2
        return params - self.lr * grads / (self.s + self.eps)


class InitOne(_Base):
    """Accumulator initialised with ones (TensorFlow 1.x habit)."""

    def step(self, params, grads):
        self.s = (np.ones_like(grads) if self.s is None else self.s) * self.rho + (1 - self.rho) * grads ** 2
        return params - self.lr * grads / (np.sqrt(self.s) + self.eps)


class StaleAverage(_Base):
    """Divides by last step's average, updates it afterwards."""

    def step(self, params, grads):
        s_old = np.zeros_like(grads) if self.s is None else self.s
        out = params - self.lr * grads / (np.sqrt(s_old) + self.eps)
        self.s = self.rho * s_old + (1 - self.rho) * grads ** 2
        return out


class BiasCorrected(_Base):
    """Adds Adam's bias correction to RMSprop."""

    def step(self, params, grads):
        self.t = getattr(self, "t", 0) + 1
        self.s = (0.0 if self.s is None else self.s) * self.rho + (1 - self.rho) * grads ** 2
        return params - self.lr * grads / (np.sqrt(self.s / (1 - self.rho ** self.t)) + self.eps)


class MeanAbs(_Base):
    """Averages |g| instead of g² (and divides by it): a different method altogether."""

    def step(self, params, grads):
        self.s = (0.0 if self.s is None else self.s) * self.rho + (1 - self.rho) * np.abs(grads)
        return params - self.lr * grads / (self.s + self.eps)


BUGS = {
    "eps-inside": (EpsInside, "conformance", "ε inside the square root"),
    "swapped-rho": (SwappedRho, "conformance", "swapped"),
    "no-sqrt": (NoSqrt, "conformance", "square root is missing"),
    "no-sqrt-constant": (NoSqrt, "constant-gradient", None),
    "init-one": (InitOne, "conformance", "s₀ = 1"),
    "stale-average": (StaleAverage, "conformance", "previous average"),
    "bias-corrected": (BiasCorrected, "conformance", "bias-corrected"),
    "bias-corrected-constant": (BiasCorrected, "constant-gradient", None),
    "mean-abs": (MeanAbs, "conformance", None),
}
