"""Optimizers that own their parameters, for the algorithms beyond the notes, as micrograd-style frameworks and
tinygrad write them: ``opt = Adagrad(model.parameters(), lr=…)``, then ``p.grad = …; opt.step()``. tinygrad's
``LAMB`` (nn/optim.py: running products ``b1_t``, ``b2_t``; ``r = ‖w‖/‖up‖`` with 1 where a norm is 0; ``adam=True``
gives AdamW) written over numpy ``.data``/``.grad``; Adagrad, Adadelta, Adamax and Lion from "autograd from
scratch" projects. Paraphrased; checked as they are."""

import numpy as np

from tests.realworld.optimizers.owned_params import Optimizer


class Adagrad(Optimizer):
    def __init__(self, params, lr=0.01, eps=1e-10):
        super().__init__(params, lr)
        self.eps = eps
        self.sum_sq = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        for p, s in zip(self.params, self.sum_sq):
            s += p.grad ** 2
            p.data -= self.lr * p.grad / (np.sqrt(s) + self.eps)


class Adadelta(Optimizer):
    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6):
        super().__init__(params, lr)
        self.rho, self.eps = rho, eps
        self.square_avg = [np.zeros_like(p.data) for p in self.params]
        self.acc_delta = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        for p, sq, acc in zip(self.params, self.square_avg, self.acc_delta):
            sq[...] = self.rho * sq + (1 - self.rho) * p.grad * p.grad
            delta = np.sqrt(acc + self.eps) / np.sqrt(sq + self.eps) * p.grad
            acc[...] = self.rho * acc + (1 - self.rho) * delta * delta
            p.data = p.data - self.lr * delta


class Adamax(Optimizer):
    def __init__(self, params, lr=0.002, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        self.betas, self.eps, self.t = betas, eps, 0
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.u = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        b1, b2 = self.betas
        self.t += 1
        for i, p in enumerate(self.params):
            self.m[i] = b1 * self.m[i] + (1 - b1) * p.grad
            self.u[i] = np.maximum(b2 * self.u[i], np.abs(p.grad) + self.eps)
            p.data -= self.lr / (1 - b1 ** self.t) * self.m[i] / self.u[i]


class Lion(Optimizer):
    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        super().__init__(params, lr)
        self.betas, self.weight_decay = betas, weight_decay
        self.exp_avg = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        b1, b2 = self.betas
        for p, m in zip(self.params, self.exp_avg):
            p.data *= 1 - self.lr * self.weight_decay
            p.data -= self.lr * np.sign(b1 * m + (1 - b1) * p.grad)
            m *= b2
            m += (1 - b2) * p.grad


class LAMB(Optimizer):
    """tinygrad."""

    def __init__(self, params, lr=0.001, b1=0.9, b2=0.999, eps=1e-6, weight_decay=0.0, adam=False):
        super().__init__(params, lr)
        self.b1, self.b2, self.eps, self.wd, self.adam = b1, b2, eps, weight_decay, adam
        self.b1_t, self.b2_t = 1.0, 1.0
        self.m = [np.zeros(p.data.shape) for p in self.params]
        self.v = [np.zeros(p.data.shape) for p in self.params]

    def step(self):
        self.b1_t *= self.b1
        self.b2_t *= self.b2
        for i, t in enumerate(self.params):
            assert t.grad is not None
            self.m[i] = self.b1 * self.m[i] + (1.0 - self.b1) * t.grad
            self.v[i] = self.b2 * self.v[i] + (1.0 - self.b2) * (t.grad * t.grad)
            m_hat = self.m[i] / (1.0 - self.b1_t)
            v_hat = self.v[i] / (1.0 - self.b2_t)
            up = (m_hat / (np.sqrt(v_hat) + self.eps)) + self.wd * t.data
            if not self.adam:
                r1 = np.sqrt(np.sum(np.square(t.data)))
                r2 = np.sqrt(np.sum(np.square(up)))
                r = np.where(r1 > 0, np.where(r2 > 0, r1 / np.where(r2 > 0, r2, 1.0), 1.0), 1.0)
            else:
                r = 1.0
            t.data = t.data - self.lr * r * up


class AdagradSharedAccumulator(Optimizer):
    """One accumulator for every parameter (a float, broadcast): each tensor's steps shrink with the others'
    gradients — only right when the model has a single parameter."""

    def __init__(self, params, lr=0.01, eps=1e-10):
        super().__init__(params, lr)
        self.eps, self.G = eps, 0.0

    def step(self):
        for p in self.params:
            self.G = self.G + np.sum(p.grad ** 2)
            p.data -= self.lr * p.grad / (np.sqrt(self.G) + self.eps)


class LionNoSign(Lion):
    """The sign forgotten: the interpolation itself is the step (momentum SGD)."""

    def step(self):
        b1, b2 = self.betas
        for p, m in zip(self.params, self.exp_avg):
            p.data *= 1 - self.lr * self.weight_decay
            p.data -= self.lr * (b1 * m + (1 - b1) * p.grad)
            m *= b2
            m += (1 - b2) * p.grad
