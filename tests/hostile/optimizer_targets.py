"""Broken and hostile SGD optimizers (stateful protocol: Cls(lr).step(params, grads) -> new params)."""

import numpy as np


class RaisesAtConstruction:
    def __init__(self, lr):
        raise ValueError("refusing to be built")


class RaisesAtStep:
    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        raise ZeroDivisionError("step failed")


class LoopsAtStep:
    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        while True:
            pass


class ReturnsNone:
    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        new = params - self.lr * grads      # computes the step, forgets to return it  # noqa: F841


class ReturnsNaN:
    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        return params * np.nan


class WrongShape:
    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        return (params - self.lr * grads).ravel()[:-1]


class ReturnsComplex:
    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        return params - self.lr * grads + 0j


class NoProtocol:
    def __init__(self, lr):
        self.lr = lr


class Nondeterministic:
    def __init__(self, lr):
        self.lr = lr
        self.rng = np.random.default_rng()

    def step(self, params, grads):
        return params - self.lr * grads * (1 + 1e-9 * self.rng.random())
