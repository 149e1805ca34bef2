"""tinygrad's early ``BatchNorm2d`` (extra/nn or tinygrad/nn), rewritten in numpy in its shape.

PyTorch's conventions: ``momentum=0.1`` on the new statistic, running mean 0
and variance 1, the running variance fed ``n/(n − C)·batch_var`` (unbiased),
``num_batches_tracked``; the mode is a class-level ``training`` flag and the
layer is called directly (``__call__``). Written for (N, C, H, W); the
wrapper feeds it (N, C) batches as (N, C, 1, 1).
"""

import numpy as np

from tests.realworld.corpus import buggy, correct


class Tensor:
    training = True


class BatchNorm2d:
    def __init__(self, sz, eps=1e-5, affine=True, track_running_stats=True, momentum=0.1):
        self.eps, self.track_running_stats, self.momentum = eps, track_running_stats, momentum
        self.weight, self.bias = (np.ones(sz), np.zeros(sz)) if affine else (None, None)
        self.running_mean, self.running_var = np.zeros(sz), np.ones(sz)
        self.num_batches_tracked = np.zeros(1)

    def __call__(self, x):
        if Tensor.training:
            batch_mean = x.mean(axis=(0, 2, 3))
            y = x - batch_mean.reshape(1, -1, 1, 1)
            batch_var = (y * y).mean(axis=(0, 2, 3))
            if self.track_running_stats:
                self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * batch_mean
                self.running_var = ((1 - self.momentum) * self.running_var
                                    + self.momentum * y.size / (y.size - y.shape[1]) * batch_var)
                self.num_batches_tracked += 1
        else:
            batch_mean, batch_var = self.running_mean, self.running_var
        invstd = 1.0 / np.sqrt(batch_var + self.eps)
        return ((x - batch_mean.reshape(1, -1, 1, 1)) * (self.weight * invstd).reshape(1, -1, 1, 1)
                + self.bias.reshape(1, -1, 1, 1))


class TinygradStyleBN(BatchNorm2d):
    """The user's wrapper: (N, C) batches, and the global flag set from the protocol's ``training``."""

    def forward(self, x, training=True):
        Tensor.training = training
        try:
            return self(x[:, :, None, None])[:, :, 0, 0]
        finally:
            Tensor.training = True


class TinygradStyleCountsChannels(TinygradStyleBN):
    """A slip in the same shape: the Bessel factor computed as n/(n − 1) with n = N·C·H·W, every value."""

    def __call__(self, x):
        if not Tensor.training:
            return super().__call__(x)
        m = self.momentum
        mean = x.mean(axis=(0, 2, 3))
        y = x - mean.reshape(1, -1, 1, 1)
        var = (y * y).mean(axis=(0, 2, 3))
        self.running_mean = (1 - m) * self.running_mean + m * mean
        self.running_var = (1 - m) * self.running_var + m * y.size / (y.size - 1) * var
        return y / np.sqrt(var + self.eps).reshape(1, -1, 1, 1) * self.weight.reshape(1, -1, 1, 1) \
            + self.bias.reshape(1, -1, 1, 1)


SRC = "tinygrad (2020), BatchNorm2d with num_batches_tracked and the n/(n − C) Bessel factor"
CASES = [
    correct("tinygrad-style", TinygradStyleBN, "batchnorm", SRC),
    buggy("tinygrad-style-bessel-over-all-values", TinygradStyleCountsChannels, "batchnorm", SRC,
          "the running variance's Bessel factor counts every value of every channel",
          {"running-statistics"}, "c·σ² with c = 24/23"),
]
