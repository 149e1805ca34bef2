"""Batch norms 1 % wrong that claim, from inside their own process, a precision coarse enough for every
tolerance to swallow the bug: the protocol adapter's precision bookkeeping is patched to report the class's
``claimed`` machine epsilon (tests/test_forging.py). Between float32's and float16's a claim is held to what the
batches the checker sent can account for; at float16's a pass is withheld."""

import numpy as np

import verify.adapters.base as _base


def _claim(self, value):
    self.precision = getattr(self.layer, "claimed", self.precision)


_base.NormalisationInstance._seen = _claim


class _WrongBatchNorm:
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.gamma, self.beta = np.ones(num_features), np.zeros(num_features)
        self.eps, self.momentum = eps, momentum
        self.running_mean, self.running_var = np.zeros(num_features), np.ones(num_features)

    def forward(self, x, training=True):
        if training:
            mu, var = x.mean(0), x.var(0)
            n = x.shape[0]
            self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mu
            self.running_var = (1 - self.momentum) * self.running_var + self.momentum * var * n / (n - 1)
        else:
            mu, var = self.running_mean, self.running_var
        return 1.01 * self.gamma * (x - mu) / np.sqrt(var + self.eps) + self.beta


class ClaimsAlmostFloat16(_WrongBatchNorm):
    claimed = 2.0 ** -11


class ClaimsFloat16(_WrongBatchNorm):
    claimed = 2.0 ** -10


class LayerNormClaimsAlmostFloat16:
    """A layer norm 1 % wrong claiming 2⁻¹¹: a layer norm's precision is its dtype's, so no such claim is taken."""

    claimed = 2.0 ** -11

    def __init__(self, normalized_shape, eps=1e-5):
        d = normalized_shape if isinstance(normalized_shape, int) else normalized_shape[-1]
        self.weight, self.bias, self.eps = np.ones(d), np.zeros(d), eps

    def forward(self, x):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return 1.01 * self.weight * (x - mu) / np.sqrt(var + self.eps) + self.bias
