"""Optimizers that own their parameters, as micrograd-style mini-frameworks, tinygrad and "autograd from scratch"
course code write them: ``opt = SGD(model.parameters(), lr=0.1)``, then each training step sets ``p.grad`` and
calls ``opt.step()`` (``zero_grad()`` between steps). The parameters are objects with ``.data`` and ``.grad``
(numpy arrays, or micrograd's Python floats), or ``.value``/``.gradient``, or private ``._data``; the optimizer
updates ``p.data`` in place or rebinds it. Some keep the plain arrays and take the gradients in ``step(grads)``.
Paraphrased from public forks of micrograd, tinygrad's ``nn/optim.py``, and numpy "pytorch from scratch"
projects; checked as they are."""

import functools
import math

import numpy as np


class Optimizer:
    """The usual base class: keeps the parameters, zeroes their gradients."""

    def __init__(self, params, lr):
        self.params, self.lr = list(params), lr

    def zero_grad(self):
        for p in self.params:
            p.grad = np.zeros_like(p.data)

    def step(self):
        raise NotImplementedError


class SGD(Optimizer):
    def __init__(self, parameters, lr=0.01):
        super().__init__(parameters, lr)

    def step(self):
        for p in self.params:
            p.data -= self.lr * p.grad


class SGDPrivate:
    """A mini-framework whose tensors keep ``_data``/``_grad``; the value is rebound, not updated in place."""

    def __init__(self, parameters, learning_rate=0.01):
        self._parameters, self.lr = parameters, learning_rate

    def step(self):
        for p in self._parameters:
            if p._grad is not None:
                p._data = p._data - self.lr * p._grad

    def zero_grad(self):
        for p in self._parameters:
            p._grad = None


class Momentum(Optimizer):
    def __init__(self, params, lr=0.01, momentum=0.9):
        super().__init__(params, lr)
        self.momentum = momentum
        self.velocities = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        for v, p in zip(self.velocities, self.params):
            v *= self.momentum
            v += p.grad
            p.data -= self.lr * v


class MomentumSharedBuffer(Optimizer):
    """One velocity for all the parameters (``self.v`` should be a list): each parameter's update carries the
    others' gradients."""

    def __init__(self, params, lr=0.01, momentum=0.9):
        super().__init__(params, lr)
        self.momentum, self.v = momentum, 0.0

    def step(self):
        for p in self.params:
            self.v = self.momentum * self.v + p.grad
            p.data = p.data - self.lr * self.v


class LARS(Optimizer):
    """tinygrad's shape: the base class' ``step`` asks ``_step(params, grads)`` for the new values and assigns them;
    momentum and Nesterov as flags, buffers starting at zero, ``tcoef = 0`` (plain SGD)."""

    def __init__(self, params, lr=0.001, momentum=0.9, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr)
        self.momentum, self.wd, self.nesterov = momentum, weight_decay, nesterov
        self.b = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        new = self._step([p.data for p in self.params], [p.grad for p in self.params])
        for p, value in zip(self.params, new):
            p.data = value

    def _step(self, params, grads):
        out = []
        for i, (t, g) in enumerate(zip(params, grads)):
            if self.wd > 0:
                g = g + self.wd * t
            self.b[i] = self.momentum * self.b[i] + g
            g = g + self.momentum * self.b[i] if self.nesterov else self.b[i]
            out.append(t - self.lr * g)
        return out


def SGDFactory(params, lr=0.001, momentum=0.0, weight_decay=0.0, nesterov=False):
    """tinygrad's ``SGD`` is a function returning a ``LARS``."""
    return LARS(params, lr, momentum, weight_decay, nesterov)


NesterovSGD = functools.partial(SGDFactory, nesterov=True)      # how its user asks for Nesterov


class RMSprop:
    """Parameters exposing ``.value`` and ``.gradient`` (a course's ``Parameter`` class)."""

    def __init__(self, params, lr=0.01, rho=0.9, eps=1e-8):
        self.params, self.lr, self.rho, self.eps = params, lr, rho, eps
        self.cache = [np.zeros_like(p.value) for p in params]

    def step(self):
        for c, p in zip(self.cache, self.params):
            c[...] = self.rho * c + (1 - self.rho) * p.gradient ** 2
            p.value -= self.lr * p.gradient / (np.sqrt(c) + self.eps)


class RMSpropEpsInside(RMSprop):
    def step(self):
        for c, p in zip(self.cache, self.params):
            c[...] = self.rho * c + (1 - self.rho) * p.gradient ** 2
            p.value -= self.lr * p.gradient / np.sqrt(c + self.eps)


class ValueAdam:
    """micrograd's scalar ``Value`` objects: ``.data`` and ``.grad`` are floats, ``math.sqrt`` in the update."""

    def __init__(self, parameters, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        self.parameters, self.lr, self.beta1, self.beta2, self.eps = parameters, lr, beta1, beta2, eps
        self.m = [0.0 for _ in parameters]
        self.v = [0.0 for _ in parameters]
        self.t = 0

    def step(self):
        self.t += 1
        for i, p in enumerate(self.parameters):
            self.m[i] = self.beta1 * self.m[i] + (1 - self.beta1) * p.grad
            self.v[i] = self.beta2 * self.v[i] + (1 - self.beta2) * p.grad ** 2
            m_hat = self.m[i] / (1 - self.beta1 ** self.t)
            v_hat = self.v[i] / (1 - self.beta2 ** self.t)
            p.data += -self.lr * m_hat / (math.sqrt(v_hat) + self.eps)

    def zero_grad(self):
        for p in self.parameters:
            p.grad = 0.0


class ValueAdamNoBiasCorrection(ValueAdam):
    def step(self):
        self.t += 1
        for i, p in enumerate(self.parameters):
            self.m[i] = self.beta1 * self.m[i] + (1 - self.beta1) * p.grad
            self.v[i] = self.beta2 * self.v[i] + (1 - self.beta2) * p.grad ** 2
            p.data += -self.lr * self.m[i] / (math.sqrt(self.v[i]) + self.eps)


class Adam(Optimizer):
    """PyTorch's keyword names (``betas``), buffers made from ``p.data`` up front, ``p.grad is None`` skipped."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        self.betas, self.eps, self.t = betas, eps, 0
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        self.t += 1
        b1, b2 = self.betas
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            self.m[i] = b1 * self.m[i] + (1 - b1) * p.grad
            self.v[i] = b2 * self.v[i] + (1 - b2) * p.grad * p.grad
            m_hat = self.m[i] / (1 - b1 ** self.t)
            v_hat = self.v[i] / (1 - b2 ** self.t)
            p.data = p.data - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class AdamW(Adam):
    """Decoupled decay applied to ``p.data`` before the Adam step (PyTorch's order)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps)
        self.weight_decay = weight_decay

    def step(self):
        for p in self.params:
            p.data -= self.lr * self.weight_decay * p.data
        super().step()


class AdamWDecaysGrad(Adam):
    """The decay is added to ``p.grad`` instead of applied to ``p.data``: L2 regularisation, not AdamW."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps)
        self.weight_decay = weight_decay

    def step(self):
        for p in self.params:
            p.grad = p.grad + self.weight_decay * p.data
        super().step()


class ArrayAdam:
    """Keeps the model's arrays and takes the gradients in ``step(grads)``, updating the arrays in place."""

    def __init__(self, params, lr=1e-3):
        self.params, self.lr = params, lr
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        for i, (p, g) in enumerate(zip(self.params, grads)):
            self.m[i] = 0.9 * self.m[i] + 0.1 * g
            self.v[i] = 0.999 * self.v[i] + 0.001 * g * g
            p -= self.lr * (self.m[i] / (1 - 0.9 ** self.t)) / (np.sqrt(self.v[i] / (1 - 0.999 ** self.t)) + 1e-8)
