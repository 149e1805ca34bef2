"""Buggy Rprop implementations (spec ``rprop``: iRprop−, PyTorch's)."""

import numpy as np


class _Base:
    def __init__(self, lr, eta_minus, eta_plus, min_step_size, max_step_size):
        self.lr, self.em, self.ep = lr, eta_minus, eta_plus
        self.lo, self.hi = min_step_size, max_step_size
        self.delta = None
        self.prev = None

    def _start(self, grads):
        if self.delta is None:
            self.delta = np.full_like(grads, self.lr)
            self.prev = np.zeros_like(grads)


class RpropMinus(_Base):
    """Rprop−: after a sign change the step is still taken (no zeroing)."""

    def step(self, params, grads):
        self._start(grads)
        s = np.sign(grads * self.prev)
        self.delta = np.clip(self.delta * np.where(s > 0, self.ep, np.where(s < 0, self.em, 1.0)), self.lo, self.hi)
        self.prev = grads
        return params - np.sign(grads) * self.delta


class NoBounds(_Base):
    """Forgets to clip the step sizes."""

    def step(self, params, grads):
        self._start(grads)
        s = np.sign(grads * self.prev)
        self.delta = self.delta * np.where(s > 0, self.ep, np.where(s < 0, self.em, 1.0))
        g = np.where(s < 0, 0.0, grads)
        self.prev = g
        return params - np.sign(g) * self.delta


class SwappedEtas(_Base):
    """Grows the step after a sign change and shrinks it otherwise."""

    def step(self, params, grads):
        self._start(grads)
        s = np.sign(grads * self.prev)
        self.delta = np.clip(self.delta * np.where(s > 0, self.em, np.where(s < 0, self.ep, 1.0)), self.lo, self.hi)
        g = np.where(s < 0, 0.0, grads)
        self.prev = g
        return params - np.sign(g) * self.delta


class StepBeforeAdapt(_Base):
    """Moves with the old step size, then adapts it."""

    def step(self, params, grads):
        self._start(grads)
        s = np.sign(grads * self.prev)
        g = np.where(s < 0, 0.0, grads)
        new = params - np.sign(g) * self.delta
        self.delta = np.clip(self.delta * np.where(s > 0, self.ep, np.where(s < 0, self.em, 1.0)), self.lo, self.hi)
        self.prev = g
        return new


class Backtracking(_Base):
    """Rprop+ (undoes the previous step after a sign change)."""

    def step(self, params, grads):
        self._start(grads)
        if not hasattr(self, "last"):
            self.last = np.zeros_like(grads)
        s = np.sign(grads * self.prev)
        self.delta = np.clip(self.delta * np.where(s > 0, self.ep, np.where(s < 0, self.em, 1.0)), self.lo, self.hi)
        step = np.where(s < 0, -self.last, -np.sign(grads) * self.delta)
        self.prev = np.where(s < 0, 0.0, grads)
        self.last = step
        return params + step


class KeepsFlipped(_Base):
    """Skips the step after a sign change but remembers the flipped gradient."""

    def step(self, params, grads):
        self._start(grads)
        s = np.sign(grads * self.prev)
        self.delta = np.clip(self.delta * np.where(s > 0, self.ep, np.where(s < 0, self.em, 1.0)), self.lo, self.hi)
        self.prev = grads
        return params - np.sign(np.where(s < 0, 0.0, grads)) * self.delta


BUGS = {
    "rprop-minus": (RpropMinus, "conformance", "Rprop−"),
    "no-bounds": (NoBounds, "conformance", "without the step-size bounds"),
    "no-bounds-property": (NoBounds, "step-size-bounds", None),
    "swapped-etas": (SwappedEtas, "conformance", "swapped"),
    "swapped-etas-bounds": (SwappedEtas, "step-size-bounds", None),
    "step-before-adapt": (StepBeforeAdapt, "conformance", "previous Δ"),
    "backtracking": (Backtracking, "conformance", "Rprop+"),
    "keeps-flipped": (KeepsFlipped, "conformance", "remembered"),
}
