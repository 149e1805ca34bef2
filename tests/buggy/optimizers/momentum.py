"""Buggy momentum implementations (spec ``momentum``)."""

import numpy as np


class EMAMomentum:
    """b ← μb + (1 − μ)g: the 'average' form, which shrinks the effective step by 1 − μ."""

    def __init__(self, lr, momentum):
        self.lr, self.mu, self.b = lr, momentum, None

    def step(self, params, grads):
        self.b = np.zeros_like(grads) if self.b is None else self.b
        self.b = self.mu * self.b + (1 - self.mu) * grads
        return params - self.lr * self.b


class BufferLate:
    """Steps with the buffer before adding this step's gradient."""

    def __init__(self, lr, momentum):
        self.lr, self.mu, self.b = lr, momentum, None

    def step(self, params, grads):
        if self.b is None:
            self.b = np.zeros_like(grads)
        new = params - self.lr * self.b
        self.b = self.mu * self.b + grads
        return new


class BufferInitG:
    """Initialises the buffer to g, then adds g again on the first step."""

    def __init__(self, lr, momentum):
        self.lr, self.mu, self.b = lr, momentum, None

    def step(self, params, grads):
        if self.b is None:
            self.b = grads.copy()
        self.b = self.mu * self.b + grads
        return params - self.lr * self.b


class SharedBuffer:
    """The buffer lives on the class: every instance shares it."""

    buffer = {}

    def __init__(self, lr, momentum):
        self.lr, self.mu = lr, momentum

    def step(self, params, grads):
        b = SharedBuffer.buffer.get(params.shape, np.zeros_like(grads))
        b = self.mu * b + grads
        SharedBuffer.buffer[params.shape] = b
        return params - self.lr * b


class MuSquared:
    """Applies the momentum factor twice (μ²)."""

    def __init__(self, lr, momentum):
        self.lr, self.mu, self.b = lr, momentum, 0.0

    def step(self, params, grads):
        self.b = self.mu * self.mu * self.b + grads
        return params - self.lr * self.b


class NesterovByMistake:
    """Uses the Nesterov update in a heavy-ball optimizer."""

    def __init__(self, lr, momentum):
        self.lr, self.mu, self.b = lr, momentum, 0.0

    def step(self, params, grads):
        self.b = self.mu * self.b + grads
        return params - self.lr * (grads + self.mu * self.b)


def polyak_momentum(lr, momentum):
    """CORRECT (equivalent form): Keras/Polyak velocity v ← μv − ηg, w ← w + v, functional."""
    from types import SimpleNamespace

    def init(params):
        return np.zeros_like(params)

    def update(grads, v, params):
        v = momentum * v - lr * grads
        return params + v, v

    return SimpleNamespace(init=init, update=update)


def inplace_state_momentum(lr, momentum):
    """Functional form that updates the state array in place (b *= μ; b += g)."""
    from types import SimpleNamespace

    def init(params):
        return {"b": np.zeros_like(params)}

    def update(grads, state, params):
        b = state["b"]
        b *= momentum
        b += grads
        return params - lr * b, state

    return SimpleNamespace(init=init, update=update)


BUGS = {
    "ema": (EMAMomentum, "conformance", "exponential average"),
    "ema-rate": (EMAMomentum, "heavy-ball-rate", None),
    "buffer-late": (BufferLate, "conformance", "buffer before the gradient is added"),
    "buffer-init-g": (BufferInitG, "conformance", "(1 + μ)g"),
    "shared-buffer": (SharedBuffer, "instances-independent", None),
    "mu-squared": (MuSquared, "conformance", "momentum = "),
    "mu-squared-symbolic": (MuSquared, "symbolic-iterates", None),
    "nesterov": (NesterovByMistake, "conformance", "Nesterov"),
    "inplace-state": (inplace_state_momentum, "no-input-mutation", None),
}

CORRECT = {"polyak": polyak_momentum}
