"""Buggy Adam implementations (spec ``adam``: coupled weight_decay, ε outside the root)."""

import numpy as np


class _Adam:
    """A correct Adam skeleton; subclasses override one piece."""

    def __init__(self, lr, b1, b2, eps, weight_decay=0.0):
        self.lr, self.b1, self.b2, self.eps, self.wd = lr, b1, b2, eps, weight_decay
        self.m = self.v = None
        self.t = 0

    def grad(self, params, grads):
        return grads + self.wd * params

    def moments(self, g):
        if self.m is None:
            self.m, self.v = np.zeros_like(g), np.zeros_like(g)
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g

    def direction(self):
        m_hat = self.m / (1 - self.b1 ** self.t)
        v_hat = self.v / (1 - self.b2 ** self.t)
        return m_hat / (np.sqrt(v_hat) + self.eps)

    def step(self, params, grads):
        self.moments(self.grad(params, grads))
        return params - self.lr * self.direction()


class EpsInside(_Adam):
    def direction(self):
        return (self.m / (1 - self.b1 ** self.t)) / np.sqrt(self.v / (1 - self.b2 ** self.t) + self.eps)


class EpsHat(_Adam):
    """Keras' ε-hat: the step size carries the correction, ε added to √v."""

    def direction(self):
        alpha = np.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        return alpha * self.m / (np.sqrt(self.v) + self.eps)


class NoBiasCorrection(_Adam):
    def direction(self):
        return self.m / (np.sqrt(self.v) + self.eps)


class OffByOne(_Adam):
    """The step counter is incremented after the correction is computed... then used as t + 1."""

    def direction(self):
        t = self.t + 1
        return (self.m / (1 - self.b1 ** t)) / (np.sqrt(self.v / (1 - self.b2 ** t)) + self.eps)


class SwappedBetas(_Adam):
    def moments(self, g):
        self.b1, self.b2 = self.b2, self.b1
        super().moments(g)
        self.b1, self.b2 = self.b2, self.b1


class DecoupledInAdam(_Adam):
    """AdamW's decay inside Adam."""

    def grad(self, params, grads):
        return grads

    def step(self, params, grads):
        self.moments(grads)
        return params - self.lr * (self.direction() + self.wd * params)


class CorrectionNoSqrt(_Adam):
    """√v divided by (1 − β2ᵗ) instead of √(1 − β2ᵗ)."""

    def direction(self):
        return (self.m / (1 - self.b1 ** self.t)) / (np.sqrt(self.v) / (1 - self.b2 ** self.t) + self.eps)


class MOnlyCorrected(_Adam):
    def direction(self):
        return (self.m / (1 - self.b1 ** self.t)) / (np.sqrt(self.v) + self.eps)


class CountAfter(_Adam):
    """The step counter starts at 0 and is incremented after the update: 1 − β⁰ = 0 at the first step."""

    def moments(self, g):
        if self.m is None:
            self.m, self.v = np.zeros_like(g), np.zeros_like(g)
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g

    def step(self, params, grads):
        self.moments(self.grad(params, grads))
        with np.errstate(divide="ignore", invalid="ignore"):
            out = params - self.lr * self.direction()
        self.t += 1
        return out


class SharedDefault:
    """State in a mutable default argument: every instance of a parameter shape shares it (a cache keyed by
    shape, as code that serves several layers writes it)."""

    def __init__(self, lr, b1, b2, eps, weight_decay=0.0, state={}):  # noqa: B006 - the bug
        self.lr, self.b1, self.b2, self.eps, self.wd, self.state = lr, b1, b2, eps, weight_decay, state

    def step(self, params, grads):
        g = grads + self.wd * params
        s = self.state.setdefault(params.shape, {})
        s["t"] = s.get("t", 0) + 1
        s["m"] = self.b1 * s.get("m", 0.0) + (1 - self.b1) * g
        s["v"] = self.b2 * s.get("v", 0.0) + (1 - self.b2) * g * g
        m_hat = s["m"] / (1 - self.b1 ** s["t"])
        v_hat = s["v"] / (1 - self.b2 ** s["t"])
        return params - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


BUGS = {
    "eps-inside": (EpsInside, "conformance", "ε inside the square root"),
    "eps-hat": (EpsHat, "conformance", "ε-hat"),
    "no-bias-correction": (NoBiasCorrection, "conformance", "without bias correction"),
    "no-bias-correction-constant": (NoBiasCorrection, "constant-gradient", None),
    "off-by-one": (OffByOne, "conformance", "off by one"),
    "swapped-betas": (SwappedBetas, "conformance", "swapped"),
    "decoupled": (DecoupledInAdam, "conformance", "decoupled weight decay"),
    "decoupled-property": (DecoupledInAdam, "coupled-decay", "decoupled step"),
    "correction-no-sqrt": (CorrectionNoSqrt, "conformance", "instead of √(1 − β2ᵗ)"),
    "m-only": (MOnlyCorrected, "conformance", "only m bias-corrected"),
    "shared-default": (SharedDefault, "instances-independent", None),
    "count-after": (CountAfter, "conformance", "bias correction one step behind"),
}
