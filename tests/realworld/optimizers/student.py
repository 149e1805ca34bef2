"""Student and tutorial code in the shapes it takes on GitHub: a class that prints every step, a counter
starting at 1 and incremented after use, velocity started from the first gradient, a learning rate that may be
a schedule callable (given a constant here), Adam with an ``amsgrad`` flag, RMSprop with ``centered``, and the
slips such code makes. Paraphrased; checked as they are."""

import numpy as np


class VerboseAdam:
    """Logs every step; the step counter starts at 1 and is incremented after the update."""

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, verbose=True):
        self.lr, self.beta1, self.beta2, self.epsilon, self.verbose = lr, beta1, beta2, epsilon, verbose
        self.m = self.v = None
        self.t = 1

    def step(self, w, dw):
        if self.m is None:
            self.m, self.v = np.zeros_like(w), np.zeros_like(w)
        self.m = self.beta1 * self.m + (1 - self.beta1) * dw
        self.v = self.beta2 * self.v + (1 - self.beta2) * (dw ** 2)
        m_hat = self.m / (1 - self.beta1 ** self.t)
        v_hat = self.v / (1 - self.beta2 ** self.t)
        w = w - self.lr * m_hat / (np.sqrt(v_hat) + self.epsilon)
        if self.verbose:
            print(f"step {self.t}: |m| = {np.abs(self.m).mean():.3e}, |v| = {np.abs(self.v).mean():.3e}")
        self.t += 1
        return w


class MomentumFromFirstGradient:
    """The buffer starts as a copy of the first gradient (PyTorch's b₁ = g₁), then b ← μb + g."""

    def __init__(self, lr=0.01, momentum=0.9):
        self.lr, self.momentum, self.buf = lr, momentum, None

    def step(self, params, grads):
        if self.buf is None:
            self.buf = grads.copy()
        else:
            self.buf = self.momentum * self.buf + grads
        return params - self.lr * self.buf


class ScheduledAdam:
    """The learning rate is a number or a schedule ``lr(t)``; a number is held constant."""

    def __init__(self, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, amsgrad=False):
        self.schedule = lr if callable(lr) else (lambda t: lr)
        self.b1, self.b2, self.eps, self.amsgrad = b1, b2, eps, amsgrad
        self.t, self.m, self.v, self.v_max = 0, 0.0, 0.0, 0.0

    def update(self, params, grads):
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * grads
        self.v = self.b2 * self.v + (1 - self.b2) * grads * grads
        v = self.v
        if self.amsgrad:
            self.v_max = np.maximum(self.v_max, self.v)
            v = self.v_max
        m_hat = self.m / (1 - self.b1 ** self.t)
        v_hat = v / (1 - self.b2 ** self.t)
        return params - self.schedule(self.t) * m_hat / (np.sqrt(v_hat) + self.eps)


class AdamWrongBetaInV(ScheduledAdam):
    """A slip: v's bias correction uses β1."""

    def update(self, params, grads):
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * grads
        self.v = self.b2 * self.v + (1 - self.b2) * grads * grads
        m_hat = self.m / (1 - self.b1 ** self.t)
        v_hat = self.v / (1 - self.b1 ** self.t)
        return params - self.schedule(self.t) * m_hat / (np.sqrt(v_hat) + self.eps)


class RMSpropNoOneMinusRho:
    """A slip: the new squared gradient is added without its (1 − ρ) factor."""

    def __init__(self, lr=0.01, rho=0.9, eps=1e-8):
        self.lr, self.rho, self.eps, self.s = lr, rho, eps, None

    def step(self, params, grads):
        if self.s is None:
            self.s = np.zeros_like(params)
        self.s = self.rho * self.s + grads ** 2
        return params - self.lr * grads / (np.sqrt(self.s) + self.eps)


class RMSpropCentered:
    """RMSprop with a ``centered`` flag, off by default (then exactly Hinton's RMSprop)."""

    def __init__(self, lr=0.01, rho=0.9, eps=1e-8, centered=False):
        self.lr, self.rho, self.eps, self.centered = lr, rho, eps, centered
        self.s = self.g_avg = None

    def step(self, params, grads):
        if self.s is None:
            self.s, self.g_avg = np.zeros_like(params), np.zeros_like(params)
        self.s = self.rho * self.s + (1 - self.rho) * grads ** 2
        denominator = self.s
        if self.centered:
            self.g_avg = self.rho * self.g_avg + (1 - self.rho) * grads
            denominator = self.s - self.g_avg ** 2
        return params - self.lr * grads / (np.sqrt(denominator) + self.eps)


class NesterovMomentumNoLookahead:
    """A "Nesterov" whose look-ahead is computed and then not used (w ← w − ηb): heavy ball."""

    def __init__(self, lr=0.01, momentum=0.9):
        self.lr, self.momentum, self.b = lr, momentum, None

    def step(self, params, grads):
        self.b = grads if self.b is None else self.momentum * self.b + grads
        lookahead = grads + self.momentum * self.b      # noqa: F841 - the slip: computed, never used
        return params - self.lr * self.b


class AdamLrDecayedEveryStep:
    """A student's Adam that decays its step size inside step() (η·0.99ᵗ) — not the spec's constant η."""

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = self.v = 0.0
        self.t = 0

    def step(self, params, grads):
        self.t += 1
        self.lr *= 0.99
        self.m = self.beta1 * self.m + (1 - self.beta1) * grads
        self.v = self.beta2 * self.v + (1 - self.beta2) * grads ** 2
        m_hat, v_hat = self.m / (1 - self.beta1 ** self.t), self.v / (1 - self.beta2 ** self.t)
        return params - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
