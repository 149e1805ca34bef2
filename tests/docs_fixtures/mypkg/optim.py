"""A package's optimizers (docs/pytest.md)."""

import numpy as np

from my_opt import MyAdam  # noqa: F401


class MySGD:
    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        return params - self.lr * grads
