"""Weight decay as numpy code writes it: SGD on J + λΣw² (the notes' L2), PyTorch's convention (adds λw),
Adam with coupled L2, AdamW with the decay decoupled — and the usual mix-ups. Paraphrased."""

import numpy as np


class SGDL2:
    """SGD on J + λΣw²: the gradient gains 2λw (the regulariser's derivative, as in the course notes)."""

    def __init__(self, lr, lam):
        self.lr, self.lam = lr, lam

    def step(self, params, grads):
        return params - self.lr * (grads + 2 * self.lam * params)


class SGDL2TorchConvention(SGDL2):
    """Adds λw (PyTorch's weight_decay convention) although λ is the coefficient of λΣw²."""

    def step(self, params, grads):
        return params - self.lr * (grads + self.lam * params)


class SGDShrinkThenStep:
    """w ← (1 − 2ηλ)w − ηg written as a shrink then a step: the same update."""

    def __init__(self, lr=0.1, lam=0.01):
        self.lr, self.lam = lr, lam

    def step(self, params, grads):
        params = params * (1 - 2 * self.lr * self.lam)
        return params - self.lr * grads


class _Adam:
    def __init__(self, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0):
        self.lr, self.b1, self.b2, self.eps, self.wd = lr, b1, b2, eps, weight_decay
        self.m = self.v = None
        self.t = 0

    def _direction(self, g):
        if self.m is None:
            self.m, self.v = np.zeros_like(g), np.zeros_like(g)
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g
        return (self.m / (1 - self.b1 ** self.t)) / (np.sqrt(self.v / (1 - self.b2 ** self.t)) + self.eps)


class AdamL2(_Adam):
    """Adam with L2 regularisation in the gradient (PyTorch's Adam weight_decay)."""

    def step(self, params, grads):
        return params - self.lr * self._direction(grads + self.wd * params)


class AdamW(_Adam):
    """Decoupled decay: w ← w − η(m̂/(√v̂ + ε) + λw)."""

    def __init__(self, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-2):
        super().__init__(lr, b1, b2, eps, weight_decay)

    def step(self, params, grads):
        return params - self.lr * (self._direction(grads) + self.wd * params)


class AdamWDecayAfter(AdamW):
    """The decay applied to the already-updated weights: (w − η·u)(1 − ηλ)."""

    def step(self, params, grads):
        return (params - self.lr * self._direction(grads)) * (1 - self.lr * self.wd)


class AdamWCoupled(AdamW):
    """'AdamW' with the decay in the gradient."""

    def step(self, params, grads):
        return params - self.lr * self._direction(grads + self.wd * params)


class AdamWDecayLrSquared(AdamW):
    """The decay multiplied by the learning rate twice (η was already folded into the decay coefficient)."""

    def step(self, params, grads):
        decay = self.lr * self.wd
        return params - self.lr * (self._direction(grads) + decay * params)


class AdamDecoupledUnderAdam(AdamL2):
    """Checked as Adam (coupled L2) but decays like AdamW."""

    def step(self, params, grads):
        return params - self.lr * (self._direction(grads) + self.wd * params)
