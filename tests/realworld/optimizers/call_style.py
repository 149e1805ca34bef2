"""Small numpy frameworks whose optimizers are **called**: ``opt(params, grads)`` updates in place and returns
nothing (the ``__call__`` shape of deeplearning-from-scratch frameworks on GitHub and of many course projects),
some over lists of arrays (``for w, g in zip(params, grads)``), RMSprop's ρ named ``alpha`` as in PyTorch.
Paraphrased; checked as they are."""

import numpy as np


class SGD:
    def __init__(self, lr=0.01):
        self.lr = lr

    def __call__(self, params, grads):
        params -= self.lr * grads


class Momentum:
    def __init__(self, lr=0.01, momentum=0.9):
        self.lr, self.momentum, self.v = lr, momentum, None

    def __call__(self, params, grads):
        if self.v is None:
            self.v = np.zeros_like(params)
        self.v = self.momentum * self.v + grads
        params -= self.lr * self.v


class RMSProp:
    """PyTorch's name for ρ (``alpha``), with PyTorch's default 0.99."""

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-08):
        self.lr, self.alpha, self.eps, self.v = lr, alpha, eps, None

    def __call__(self, params, grads):
        if self.v is None:
            self.v = np.zeros_like(params)
        self.v = self.alpha * self.v + (1 - self.alpha) * grads ** 2
        params -= self.lr * grads / (np.sqrt(self.v) + self.eps)


class ListSGD:
    """Over a list of parameter arrays."""

    def __init__(self, lr=1e-3):
        self.lr = lr

    def __call__(self, params, gradients):
        for weights, gradient in zip(params, gradients):
            weights -= self.lr * gradient


class ListMomentum:
    """The velocity accumulates ηg (u ← μu + ηg, w ← w − u): the same iterates while η is constant."""

    def __init__(self, lr=1e-3, momentum=0.9):
        self.lr, self.momentum, self._u = lr, momentum, []

    def __call__(self, params, gradients):
        if not self._u:
            self._u = [0] * len(params)
        for i, (weights, gradient) in enumerate(zip(params, gradients)):
            self._u[i] = self._u[i] * self.momentum + self.lr * gradient
            weights -= self._u[i]


class ListAdam:
    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m, self.v, self.t = None, None, 0

    def __call__(self, params, gradients):
        if self.m is None:
            self.m = [np.zeros_like(w) for w in params]
            self.v = [np.zeros_like(w) for w in params]
        self.t += 1
        for i, (w, g) in enumerate(zip(params, gradients)):
            self.m[i] = self.beta1 * self.m[i] + (1 - self.beta1) * g
            self.v[i] = self.beta2 * self.v[i] + (1 - self.beta2) * g * g
            m_hat = self.m[i] / (1 - self.beta1 ** self.t)
            v_hat = self.v[i] / (1 - self.beta2 ** self.t)
            w -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class ListAdamVNotCorrected(ListAdam):
    """A submission that bias-corrects m but divides by the raw √v."""

    def __call__(self, params, gradients):
        if self.m is None:
            self.m = [np.zeros_like(w) for w in params]
            self.v = [np.zeros_like(w) for w in params]
        self.t += 1
        for i, (w, g) in enumerate(zip(params, gradients)):
            self.m[i] = self.beta1 * self.m[i] + (1 - self.beta1) * g
            self.v[i] = self.beta2 * self.v[i] + (1 - self.beta2) * g * g
            m_hat = self.m[i] / (1 - self.beta1 ** self.t)
            w -= self.lr * m_hat / (np.sqrt(self.v[i]) + self.eps)
