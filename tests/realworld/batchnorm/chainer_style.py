"""Chainer's ``BatchNormalization`` forward (functions/normalization/batch_normalization.py), in numpy.

``decay=0.9`` weights the old value, ``eps=2e-5``, running mean 0 and
variance 1, and the running variance is fed the *unbiased* variance through
``adjust = m / max(m − 1, 1)``. Checked with its decay declared as Keras-sense
momentum.
"""

import numpy as np

from tests.realworld.corpus import correct


class ChainerStyleBatchNormalization:
    def __init__(self, size, decay=0.9, eps=2e-5):
        self.gamma, self.beta = np.ones(size), np.zeros(size)
        self.avg_mean, self.avg_var = np.zeros(size), np.ones(size)
        self.decay, self.eps = decay, eps

    def __call__(self, x, finetune=False, train=True):
        if not train:
            return self.gamma * (x - self.avg_mean) / np.sqrt(self.avg_var + self.eps) + self.beta
        m = x.size // self.gamma.size
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        adjust = m / max(m - 1.0, 1.0)
        self.avg_mean *= self.decay
        self.avg_mean += (1 - self.decay) * mean
        self.avg_var *= self.decay
        self.avg_var += (1 - self.decay) * adjust * var
        return self.gamma * (x - mean) / np.sqrt(var + self.eps) + self.beta


class ChainerStyleBN(ChainerStyleBatchNormalization):
    """The user's wrapper: names the protocol's arguments and attributes."""

    def __init__(self, num_features, eps=2e-5, momentum=0.9):
        super().__init__(num_features, decay=momentum, eps=eps)

    running_mean = property(lambda s: s.avg_mean)
    running_var = property(lambda s: s.avg_var)

    def forward(self, x, training=True):
        return self(x, train=training)


SRC = "Chainer, functions/normalization/batch_normalization.py (decay 0.9, eps 2e-5, unbiased adjust)"
CASES = [
    correct("chainer-style", ChainerStyleBN, "batchnorm", SRC,
            params={"convention": "keras", "momentum": 0.9, "eps": 2e-5}),
]
