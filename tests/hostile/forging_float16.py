"""SGDs that hold a float16 array they never use, so that the verifier sees a target "computing in float16"
and judges it within float16's error model, which cannot tell one per cent from rounding
(tests/test_forging.py). No patching: an attribute is enough."""

import numpy as np


class SlightlyWrongSGD:
    """w − 1.01·η·g: one per cent too large a step."""

    def __init__(self, lr=0.01):
        self.lr = lr
        self.scratch = np.zeros(3, dtype=np.float16)

    def step(self, params, grads):
        return params - 1.01 * self.lr * grads


class RightSGD(SlightlyWrongSGD):
    """w − η·g, holding the same float16 array."""

    def step(self, params, grads):
        return params - self.lr * grads


class SlightlyWrongLayerNorm:
    """A layer norm 1 % too large that returns float16 outputs (so it shows float16's precision)."""

    def __init__(self, normalized_shape, eps=1e-5):
        d = normalized_shape if isinstance(normalized_shape, int) else normalized_shape[-1]
        self.weight, self.bias, self.eps = np.ones(d), np.zeros(d), eps

    def forward(self, x):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (1.01 * self.weight * (x - mu) / np.sqrt(var + self.eps) + self.bias).astype(np.float16)
