"""Buggy AdamW implementations (spec ``adamw``: decoupled decay w ← w − η(… + λw))."""

import numpy as np


class _AdamW:
    def __init__(self, lr, b1, b2, eps, weight_decay=1e-2):
        self.lr, self.b1, self.b2, self.eps, self.wd = lr, b1, b2, eps, weight_decay
        self.m = self.v = None
        self.t = 0

    def adam_direction(self, g):
        if self.m is None:
            self.m, self.v = np.zeros_like(g), np.zeros_like(g)
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g
        return (self.m / (1 - self.b1 ** self.t)) / (np.sqrt(self.v / (1 - self.b2 ** self.t)) + self.eps)

    def step(self, params, grads):
        return params - self.lr * (self.adam_direction(grads) + self.wd * params)


class Coupled(_AdamW):
    """The decay is added to the gradient (Adam's L2), not decoupled."""

    def step(self, params, grads):
        return params - self.lr * self.adam_direction(grads + self.wd * params)


class NotScaledByLr(_AdamW):
    def step(self, params, grads):
        return params - self.lr * self.adam_direction(grads) - self.wd * params


class AfterStep(_AdamW):
    def step(self, params, grads):
        return (params - self.lr * self.adam_direction(grads)) * (1 - self.lr * self.wd)


class DoubleDecay(_AdamW):
    """Decay written as the gradient of λΣw² (2λw)."""

    def step(self, params, grads):
        return params - self.lr * (self.adam_direction(grads) + 2 * self.wd * params)


class LrSquaredDecay(_AdamW):
    """The decay multiplied by a 'scheduled' lr·lr."""

    def step(self, params, grads):
        params = params * (1 - self.lr * self.lr * self.wd)
        return params - self.lr * self.adam_direction(grads)


class EpsInside(_AdamW):
    def adam_direction(self, g):
        if self.m is None:
            self.m, self.v = np.zeros_like(g), np.zeros_like(g)
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g
        return (self.m / (1 - self.b1 ** self.t)) / np.sqrt(self.v / (1 - self.b2 ** self.t) + self.eps)


BUGS = {
    "coupled": (Coupled, "conformance", "coupled (L2) decay"),
    "coupled-property": (Coupled, "decoupled-decay", None),
    "not-scaled": (NotScaledByLr, "conformance", "not multiplied by η"),
    "after-step": (AfterStep, "conformance", "after the Adam step"),
    "double-decay": (DoubleDecay, "conformance", "factor 2 in the decay"),
    "double-decay-property": (DoubleDecay, "decoupled-decay", None),
    "lr-squared": (LrSquaredDecay, "conformance", "applied twice to the decay"),
    "eps-inside": (EpsInside, "conformance", "ε inside the square root"),
}
