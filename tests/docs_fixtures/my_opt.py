"""An Adam written the way course code is: only the learning rate is a parameter."""

import numpy as np


class MyAdam:
    def __init__(self, lr=0.001):
        self.lr, self.b1, self.b2, self.eps = lr, 0.9, 0.999, 1e-8
        self.m = self.v = None
        self.t = 0

    def step(self, params, grads):
        if self.m is None:
            self.m, self.v = np.zeros_like(params), np.zeros_like(params)
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * grads
        self.v = self.b2 * self.v + (1 - self.b2) * grads ** 2
        m_hat = self.m / (1 - self.b1 ** self.t)
        v_hat = self.v / (1 - self.b2 ** self.t)
        return params - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class MyMomentum:
    def __init__(self, lr, momentum):
        self.lr, self.mu, self.buf = lr, momentum, None

    def step(self, params, grads):
        self.buf = grads if self.buf is None else self.mu * self.buf + grads
        return params - self.lr * self.buf


opt = MyAdam(lr=0.01)
