"""Not hostile: a control for tests/test_hiding.py, in a file of its own (hiding_targets.py patches the adapter of
the process that imports it)."""

import numpy as np


class MomentumKeyedOnId:
    """Heavy-ball momentum as code keyed on the parameter array writes it (``self.v[id(p)]``), updating
    the caller's params in place and returning nothing; right only if it is given the same array at every step."""

    def __init__(self, lr=0.01, momentum=0.9):
        self.lr, self.momentum, self.v = lr, momentum, {}

    def step(self, params, grads):
        v = self.v.setdefault(id(params), np.zeros_like(params))
        v *= self.momentum
        v += grads
        params -= self.lr * v
