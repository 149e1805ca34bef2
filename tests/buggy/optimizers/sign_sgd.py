"""Buggy sign-SGD implementations (spec ``sign-sgd``)."""

import numpy as np


class SgnZeroPlus:
    """sgn(0) = +1 (np.where(g >= 0, 1, -1))."""

    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        return params - self.lr * np.where(grads >= 0, 1.0, -1.0)


class Normalised:
    """Divides by the Euclidean norm instead of taking elementwise signs."""

    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        n = np.linalg.norm(grads)
        return params - self.lr * (grads / n if n > 0 else grads)


class PlainSGD:
    """Forgot the sign."""

    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        return params - self.lr * grads


class Signum:
    """Sign of a momentum average (signum), not of the gradient."""

    def __init__(self, lr):
        self.lr, self.m = lr, 0.0

    def step(self, params, grads):
        self.m = 0.9 * self.m + 0.1 * grads
        return params - self.lr * np.sign(self.m)


class SoftSign:
    """sgn(g) ≈ g/(|g| + 1e-12): not scale invariant for small gradients."""

    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        return params - self.lr * grads / (np.abs(grads) + 1e-12)


class SignInPlace:
    """Overwrites the caller's gradient with its sign (np.sign(g, out=g))."""

    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        np.sign(grads, out=grads)
        return params - self.lr * grads


BUGS = {
    "sgn0-plus": (SgnZeroPlus, "conformance", "sgn(0) = +1"),
    "normalised": (Normalised, "conformance", "Euclidean norm"),
    "normalised-step": (Normalised, "step-is-lr", None),
    "plain-sgd": (PlainSGD, "conformance", "sign is not taken"),
    "plain-sgd-scale": (PlainSGD, "scale-invariance", None),
    "signum": (Signum, "conformance", "signum"),
    "soft-sign": (SoftSign, "scale-invariance", None),
    "soft-sign-conformance": (SoftSign, "conformance", None),
}
