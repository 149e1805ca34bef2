"""Buggy optimizers for ``generic-optimizer`` (no reference: properties only)."""

import numpy as np


class Ascent:
    def __init__(self, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        return params + self.lr * grads


class NormalisedNaN:
    """g/|g| elementwise: 0/0 = NaN on a zero gradient."""

    def __init__(self, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        with np.errstate(invalid="ignore", divide="ignore"):
            return params - self.lr * grads / np.abs(grads)


class Drifts:
    """Adds a constant 'exploration' step even when the gradient is zero."""

    def __init__(self, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        return params - self.lr * (grads + 1e-3)


class Random:
    def __init__(self, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        return params - self.lr * grads * np.random.uniform(0.5, 1.5)


class Shared:
    velocity = [None]

    def __init__(self, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        v = Shared.velocity[0]
        v = grads if v is None or np.shape(v) != np.shape(grads) else 0.9 * v + grads
        Shared.velocity[0] = v
        return params - self.lr * v


class InPlace:
    """CORRECT: updates the caller's params in place (params -= …) and returns them, as much numpy code does."""

    def __init__(self, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        params -= self.lr * grads
        return params


class BufferAliasesGradient:
    """Keeps the first gradient itself as its buffer and updates the buffer in place (v *= μ; v += g):
    the gradient array the caller passed at step 1 changes at step 2."""

    def __init__(self, lr=0.01):
        self.lr, self.v = lr, None

    def step(self, params, grads):
        if self.v is None:
            self.v = grads
        else:
            self.v *= 0.5
            self.v += grads
        return params - self.lr * self.v


class Float32:
    def __init__(self, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        return (params - self.lr * grads).astype(np.float32)


class Correct:
    """CORRECT: plain SGD with momentum, a 'new' optimizer with every property."""

    def __init__(self, lr=0.01):
        self.lr, self.v = lr, None

    def step(self, params, grads):
        self.v = grads if self.v is None else 0.5 * self.v + grads
        return params - self.lr * self.v


BUGS = {
    "ascent": (Ascent, "convergence-quadratic", None),
    "nan": (NormalisedNaN, "no-nan", None),
    "nan-fixed-point": (NormalisedNaN, "zero-gradient-fixed-point", None),
    "drifts": (Drifts, "zero-gradient-fixed-point", None),
    "random": (Random, "determinism", None),
    "shared": (Shared, "instances-independent", None),
    "buffer-aliases-gradient": (BufferAliasesGradient, "no-input-mutation", None),
    "float32": (Float32, "shape-dtype", None),
}

CORRECT = {"sgd-momentum": Correct, "in-place": InPlace}
