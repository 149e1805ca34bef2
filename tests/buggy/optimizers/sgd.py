"""Buggy SGD implementations (spec ``sgd``)."""

import numpy as np


class Ascent:
    """Sign error: climbs the gradient."""

    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        return params + self.lr * grads


class LrTwice:
    """The learning rate is applied twice (once in a 'scaled gradient', once in the step)."""

    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        scaled = self.lr * grads
        return params - self.lr * scaled


class ReturnsOld:
    """One-step lag: returns the parameters before the update it just computed."""

    def __init__(self, lr):
        self.lr = lr
        self.pending = None

    def step(self, params, grads):
        out = params if self.pending is None else self.pending
        self.pending = out - self.lr * grads
        return out


class InPlace:
    """CORRECT: updates the caller's parameter array in place (params -= ...) and returns it (CS231n's sgd)."""

    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        params -= self.lr * grads
        return params


class ScalesGradientInPlace:
    """Scales the caller's gradient in place (grads *= lr) to save an allocation."""

    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        grads *= self.lr
        return params - grads


class DecaysParamsInPlace:
    """Writes a decayed copy into the caller's params, then returns a step from the original values."""

    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        new = params - self.lr * grads
        params *= 0.5
        return new


class Float32:
    """Computes in float32 'for speed'."""

    def __init__(self, lr):
        self.lr = np.float32(lr)

    def step(self, params, grads):
        return params.astype(np.float32) - self.lr * grads.astype(np.float32)


def noisy_sgd(lr):
    """Functional form with an unseeded perturbation (non-deterministic)."""
    rng = np.random.default_rng()

    def init(params):
        return ()

    def update(grads, state, params):
        return params - lr * grads * (1 + 1e-9 * rng.standard_normal(grads.shape)), state

    from types import SimpleNamespace
    return SimpleNamespace(init=init, update=update)


def returns_update(lr):
    """optax habit: update() returns the update, not the new parameters."""
    from types import SimpleNamespace

    def init(params):
        return ()

    def update(grads, state, params):
        return -lr * grads, state

    return SimpleNamespace(init=init, update=update)


class DefaultDecay:
    """A weight decay of 5e-4 left on by default."""

    def __init__(self, lr, weight_decay=5e-4):
        self.lr, self.wd = lr, weight_decay

    def step(self, params, grads):
        return params - self.lr * (grads + self.wd * params)


class ClippedSGD:
    """Clips each gradient entry to [-1, 1] 'for stability' (not SGD)."""

    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        return params - self.lr * np.clip(grads, -1.0, 1.0)


BUGS = {
    "ascent": (Ascent, "conformance", "ascent"),
    "ascent-stability": (Ascent, "gd-stability", None),
    "lr-twice": (LrTwice, "conformance", "learning rate is applied twice"),
    "lr-twice-rate": (LrTwice, "gd-optimal-rate", None),
    "returns-old": (ReturnsOld, "conformance", "one-step lag"),
    "params-overwritten": (DecaysParamsInPlace, "no-input-mutation", None),
    "float32": (Float32, "shape-dtype", None),
    "noisy": (noisy_sgd, "determinism", None),
    "clipped": (ClippedSGD, "conformance", None),
    "returns-update": (returns_update, "conformance", "returns the update"),
    "default-decay": (DefaultDecay, "conformance", "weight decay the spec does not have"),
}

CORRECT = {"in-place": InPlace}
