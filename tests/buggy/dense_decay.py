import numpy as np


class NoisyDecay:
    """SGD with L2 decay whose decay term is off by a relative 1e-3 in every entry of a vector longer than 16, alternating in sign."""

    def __init__(self, lr=0.01, lam=0.01, momentum=0.0):
        self.lr, self.lam = lr, lam

    def step(self, params, grads):
        w = np.asarray(params, dtype=float)
        signs = np.where(np.arange(w.size) % 2 == 0, 1.0, -1.0).reshape(w.shape)
        noise = 1e-3 * signs if w.size > 16 else 0.0   # right on small vectors
        return w - self.lr * (np.asarray(grads) + 2 * self.lam * w * (1 + noise))
