"""A wrong SGD that claims, from inside its own process, to compute in a precision so coarse that every
tolerance would swallow its bug: its adapter's precision() is patched to a unit roundoff of 1. The checks set
their tolerances from what precision() returns, so the checker accepts only float64's, float32's or float16's
(tests/test_forging.py)."""

import verify.adapters.base as _base

_base.OptimizerSubject.precision = lambda self: (1.0, "")


class SlightlyWrongSGD:
    """w − 1.01·η·g: one per cent too large a step."""

    def __init__(self, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        return params - 1.01 * self.lr * grads
