"""*Deep Learning from Scratch* (Saito, O'Reilly Japan; ``common/optimizer.py``, copied into hundreds of student
repositories): classes with ``update(params, grads)`` over **dictionaries** of parameters (``params['W1']``, …),
updated in place, nothing returned; ε = 1e-7 hard-coded; Keras-form momentum; the book's Nesterov in Bengio's
form; Adam with the corrections folded into the step size. Paraphrased; checked as they are (no wrapper)."""

import numpy as np


def _zeros(params):
    return {key: np.zeros_like(value) for key, value in params.items()}


class SGD:
    def __init__(self, lr=0.01):
        self.lr = lr

    def update(self, params, grads):
        for key in params.keys():
            params[key] -= self.lr * grads[key]


class Momentum:
    """v ← μv − ηg; w ← w + v (the same iterates as b ← μb + g, w ← w − ηb)."""

    def __init__(self, lr=0.01, momentum=0.9):
        self.lr, self.momentum, self.v = lr, momentum, None

    def update(self, params, grads):
        if self.v is None:
            self.v = _zeros(params)
        for key in params.keys():
            self.v[key] = self.momentum * self.v[key] - self.lr * grads[key]
            params[key] += self.v[key]


class Nesterov:
    """The book's Nesterov: the velocity is updated first, and the look-ahead step then uses the *new* velocity,
    w ← w + μ²v_t − (1 + μ)ηg. Bengio et al.'s form uses the old one (the step is μ³v − (1 + μ + μ²)ηg here)."""

    def __init__(self, lr=0.01, momentum=0.9):
        self.lr, self.momentum, self.v = lr, momentum, None

    def update(self, params, grads):
        if self.v is None:
            self.v = _zeros(params)
        for key in params.keys():
            self.v[key] *= self.momentum
            self.v[key] -= self.lr * grads[key]
            params[key] += self.momentum * self.momentum * self.v[key]
            params[key] -= (1 + self.momentum) * self.lr * grads[key]


class NesterovBengio(Nesterov):
    """Bengio et al. (2013): w ← w + μ²v − (1 + μ)ηg with the velocity *before* this step, then v ← μv − ηg —
    the same iterates as PyTorch's Nesterov (the order a reader's fix of the book's class uses)."""

    def update(self, params, grads):
        if self.v is None:
            self.v = _zeros(params)
        for key in params.keys():
            params[key] += self.momentum * self.momentum * self.v[key]
            params[key] -= (1 + self.momentum) * self.lr * grads[key]
            self.v[key] *= self.momentum
            self.v[key] -= self.lr * grads[key]


class RMSprop:
    """ρ is ``decay_rate`` (0.99 by default), ε = 1e-7 in the code."""

    def __init__(self, lr=0.01, decay_rate=0.99):
        self.lr, self.decay_rate, self.h = lr, decay_rate, None

    def update(self, params, grads):
        if self.h is None:
            self.h = _zeros(params)
        for key in params.keys():
            self.h[key] *= self.decay_rate
            self.h[key] += (1 - self.decay_rate) * grads[key] * grads[key]
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h[key]) + 1e-7)


class Adam:
    """The corrections folded into lr_t (ε-hat), moments as m += (1 − β1)(g − m), ε = 1e-7 in the code."""

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        self.lr, self.beta1, self.beta2 = lr, beta1, beta2
        self.iter = 0
        self.m = self.v = None

    def update(self, params, grads):
        if self.m is None:
            self.m, self.v = _zeros(params), _zeros(params)
        self.iter += 1
        lr_t = self.lr * np.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)
        for key in params.keys():
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key] ** 2 - self.v[key])
            params[key] -= lr_t * self.m[key] / (np.sqrt(self.v[key]) + 1e-7)


class AdamNoSqrtOfCorrection(Adam):
    """A student's version that folds in 1 − β2ᵗ without its square root."""

    def update(self, params, grads):
        if self.m is None:
            self.m, self.v = _zeros(params), _zeros(params)
        self.iter += 1
        lr_t = self.lr * (1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)
        for key in params.keys():
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key] ** 2 - self.v[key])
            params[key] -= lr_t * self.m[key] / (np.sqrt(self.v[key]) + 1e-7)
