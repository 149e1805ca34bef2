"""ML-From-Scratch (eriklindernoren), ``mlfromscratch/deep_learning/optimizers.py``: classes with
``update(w, grad_wrt_w) -> new_w``, some constants set in ``__init__`` rather than taken (ε = 1e-8). Paraphrased.
The library's own SGD uses an averaged momentum and its Adam's bias correction omits the step count: both are
real defects of that code, kept here as they are."""

import numpy as np


class StochasticGradientDescent:
    """Under spec sgd (momentum 0) this is plain SGD; under momentum it is an exponential average."""

    def __init__(self, learning_rate=0.01, momentum=0):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.w_updt = None

    def update(self, w, grad_wrt_w):
        if self.w_updt is None:
            self.w_updt = np.zeros(np.shape(w))
        self.w_updt = self.momentum * self.w_updt + (1 - self.momentum) * grad_wrt_w
        return w - self.learning_rate * self.w_updt


class RMSprop:
    """ε inside the square root (with ε hard-coded at 1e-8)."""

    def __init__(self, learning_rate=0.01, rho=0.9):
        self.learning_rate = learning_rate
        self.Eg = None
        self.eps = 1e-8
        self.rho = rho

    def update(self, w, grad_wrt_w):
        if self.Eg is None:
            self.Eg = np.zeros(np.shape(grad_wrt_w))
        self.Eg = self.rho * self.Eg + (1 - self.rho) * np.power(grad_wrt_w, 2)
        return w - self.learning_rate * grad_wrt_w / np.sqrt(self.Eg + self.eps)


class Adam:
    """Bias correction 1 − β instead of 1 − βᵗ."""

    def __init__(self, learning_rate=0.001, b1=0.9, b2=0.999):
        self.learning_rate = learning_rate
        self.eps = 1e-8
        self.m = None
        self.v = None
        self.b1 = b1
        self.b2 = b2

    def update(self, w, grad_wrt_w):
        if self.m is None:
            self.m = np.zeros(np.shape(grad_wrt_w))
            self.v = np.zeros(np.shape(grad_wrt_w))
        self.m = self.b1 * self.m + (1 - self.b1) * grad_wrt_w
        self.v = self.b2 * self.v + (1 - self.b2) * np.power(grad_wrt_w, 2)
        m_hat = self.m / (1 - self.b1)
        v_hat = self.v / (1 - self.b2)
        self.w_updt = self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)
        return w - self.w_updt


class AdamFixed(Adam):
    """The same class as users fix it: a step counter in the corrections."""

    def __init__(self, learning_rate=0.001, b1=0.9, b2=0.999):
        super().__init__(learning_rate, b1, b2)
        self.t = 0

    def update(self, w, grad_wrt_w):
        if self.m is None:
            self.m = np.zeros(np.shape(grad_wrt_w))
            self.v = np.zeros(np.shape(grad_wrt_w))
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * grad_wrt_w
        self.v = self.b2 * self.v + (1 - self.b2) * np.power(grad_wrt_w, 2)
        m_hat = self.m / (1 - self.b1 ** self.t)
        v_hat = self.v / (1 - self.b2 ** self.t)
        self.w_updt = self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)
        return w - self.w_updt


def make_adam(lr):
    """A factory as training scripts write one: only the learning rate is chosen."""
    return AdamFixed(learning_rate=lr)


adam_instance = AdamFixed(learning_rate=0.01)      # built once in the user's module
