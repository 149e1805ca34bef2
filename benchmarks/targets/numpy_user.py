"""Correct numpy implementations written the way users write them, one per spec kind, for
benchmarks/speed.py (the time `verify check` takes on user code, not on the bundled reference)."""

import numpy as np


def l2_grad(w, lam):
    return 2 * lam * w


def l1_grad(w, lam):
    return lam * np.sign(w)


def he_normal(shape, rng):
    fan_in = int(np.prod(shape[:-1]))
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def newton_step(w, grad, hess, lr):
    return w - lr * np.linalg.solve(np.atleast_2d(hess), np.atleast_1d(grad)).reshape(np.shape(w))


class BatchNorm:
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.eps, self.momentum = eps, momentum
        self.gamma, self.beta = np.ones(num_features), np.zeros(num_features)
        self.running_mean, self.running_var = np.zeros(num_features), np.ones(num_features)

    def forward(self, x, training=True):
        if training:
            mu, var = x.mean(axis=0), x.var(axis=0)
            n = x.shape[0]
            self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mu
            self.running_var = (1 - self.momentum) * self.running_var + self.momentum * var * n / (n - 1)
            self.cache = (x - mu) / np.sqrt(var + self.eps), var
        else:
            mu, var = self.running_mean, self.running_var
            return self.gamma * (x - mu) / np.sqrt(var + self.eps) + self.beta
        return self.gamma * self.cache[0] + self.beta

    def backward(self, dy):
        xhat, var = self.cache
        n = dy.shape[0]
        dxhat = dy * self.gamma
        dx = (n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (n * np.sqrt(var + self.eps))
        return dx, (dy * xhat).sum(axis=0), dy.sum(axis=0)


class SGD:
    def __init__(self, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        return params - self.lr * grads


class Momentum:
    def __init__(self, lr=0.01, momentum=0.9):
        self.lr, self.momentum, self.buf = lr, momentum, None

    def step(self, params, grads):
        self.buf = grads.copy() if self.buf is None else self.momentum * self.buf + grads
        return params - self.lr * self.buf


class RMSprop:
    def __init__(self, lr=0.01, rho=0.9, eps=1e-8):
        self.lr, self.rho, self.eps, self.s = lr, rho, eps, None

    def step(self, params, grads):
        if self.s is None:
            self.s = np.zeros_like(params)
        self.s = self.rho * self.s + (1 - self.rho) * grads ** 2
        return params - self.lr * grads / (np.sqrt(self.s) + self.eps)


class Adam:
    def __init__(self, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0):
        self.lr, self.b1, self.b2, self.eps, self.wd = lr, b1, b2, eps, weight_decay
        self.m = self.v = None
        self.t = 0

    def step(self, params, grads):
        g = grads + self.wd * params
        if self.m is None:
            self.m, self.v = np.zeros_like(params), np.zeros_like(params)
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g
        m_hat = self.m / (1 - self.b1 ** self.t)
        v_hat = self.v / (1 - self.b2 ** self.t)
        return params - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
