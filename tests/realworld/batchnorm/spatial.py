"""Batch norm for convolutions: layers that take only 4-D batches (N, C, H, W), statistics per channel.

CS231n assignment 2 (``cs231n/layers.py``) asks for
``spatial_batchnorm_forward(x, gamma, beta, bn_param)`` and its backward;
course solutions write it in two ways: move C last and reshape to
``(N·H·W, C)`` to reuse ``batchnorm_forward``, or take the statistics directly
over ``axis=(0, 2, 3)`` and broadcast ``(1, C, 1, 1)``. Small numpy frameworks
have a ``BatchNorm2d(num_features)`` class with ``forward(x, training)`` and
``backward(dout)``, γ/β kept as ``(1, C, 1, 1)``; PyTorch has
``nn.BatchNorm2d``, and d2l's layer is built with ``num_dims=4``. dlverify
feeds each of its (N, C) batches to them as (N₁, C, N₂, 1). The bugs are the
usual ones of this shape: statistics over the batch axis only, a reshape
without the transpose (channels mixed), the unbiased correction counting N
instead of N·H·W, backward sums over the wrong axes.
"""

from types import SimpleNamespace

import numpy as np
import torch

from tests.realworld.batchnorm.cs231n import batchnorm_backward, batchnorm_backward_alt, batchnorm_forward
from tests.realworld.batchnorm.d2l import BatchNorm as D2LBatchNorm
from tests.realworld.corpus import buggy, correct


# ------------------------------------------------ CS231n: reuse the (N, D) layer through a transpose and reshape


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    x_flat = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out_flat, cache = batchnorm_forward(x_flat, gamma, beta, bn_param)
    out = out_flat.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dout_flat = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    dx_flat, dgamma, dbeta = batchnorm_backward(dout_flat, cache)
    dx = dx_flat.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return dx, dgamma, dbeta


def _spatial_backward_alt(dout, cache):
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward_alt(np.moveaxis(dout, 1, -1).reshape(-1, C), cache)
    return np.moveaxis(dx.reshape(N, H, W, C), -1, 1), dgamma, dbeta


def _forward_without_transpose(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    out, cache = batchnorm_forward(x.reshape(-1, C), gamma, beta, bn_param)   # rows mix channels and positions
    return out.reshape(N, C, H, W), cache


def _backward_without_transpose(dout, cache):
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward(dout.reshape(-1, C), cache)
    return dx.reshape(N, C, H, W), dgamma, dbeta


# ------------------------------------------------ CS231n: statistics over axis=(0, 2, 3), broadcast per channel


def _direct_forward(x, gamma, beta, bn_param, axes=(0, 2, 3)):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, C, H, W = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(C, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(C, dtype=x.dtype))
    g, b = gamma.reshape(1, C, 1, 1), beta.reshape(1, C, 1, 1)
    if mode == "train":
        mu = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)
        x_hat = (x - mu) / np.sqrt(var + eps)
        out = g * x_hat + b
        cache = (x_hat, g, np.sqrt(var + eps))
        running_mean = momentum * running_mean + (1 - momentum) * mu.reshape(-1)[:C]
        running_var = momentum * running_var + (1 - momentum) * var.reshape(-1)[:C]
    else:
        out = g * (x - running_mean.reshape(1, C, 1, 1)) / np.sqrt(running_var.reshape(1, C, 1, 1) + eps) + b
        cache = None
    bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
    return out, cache


def _direct_backward(dout, cache, sum_axes=(0, 2, 3)):
    x_hat, g, std = cache
    m = dout.size // dout.shape[1] if sum_axes == (0, 2, 3) else dout.shape[0]
    dbeta = dout.sum(axis=(0, 2, 3))
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3))
    dx = g / (m * std) * (m * dout - dout.sum(axis=sum_axes, keepdims=True)
                          - x_hat * (dout * x_hat).sum(axis=sum_axes, keepdims=True))
    return dx, dgamma, dbeta


def _forward_over_batch_axis_only(x, gamma, beta, bn_param):
    # mean and variance over axis 0 only: one statistic per (channel, position); the running statistics keep
    # the channel's first position's
    return _direct_forward(x, gamma, beta, bn_param, axes=0)


def _backward_sums_over_batch_axis(dout, cache):
    return _direct_backward(dout, cache, sum_axes=(0,))


# ------------------------------------------------ a numpy BatchNorm2d class of a small framework


class BatchNorm2d:
    """PyTorch's conventions (momentum 0.1 on the new batch, unbiased running variance over N·H·W)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, dtype=np.float64):
        self.eps, self.momentum, self.dtype = eps, momentum, dtype
        self.gamma = np.ones((1, num_features, 1, 1), dtype=dtype)
        self.beta = np.zeros((1, num_features, 1, 1), dtype=dtype)
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)

    def _count(self, x):
        return x.size // x.shape[1]

    def forward(self, x, training=True):
        x = x.astype(self.dtype)
        if not training:
            mean = self.running_mean.reshape(1, -1, 1, 1)
            var = self.running_var.reshape(1, -1, 1, 1)
            return self.gamma * (x - mean) / np.sqrt(var + self.eps) + self.beta
        mean = x.mean(axis=(0, 2, 3), keepdims=True)
        var = x.var(axis=(0, 2, 3), keepdims=True)
        m = self._count(x)
        self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean.ravel()
        self.running_var = (1 - self.momentum) * self.running_var + self.momentum * var.ravel() * m / (m - 1)
        self.std = np.sqrt(var + self.eps)
        self.x_hat = (x - mean) / self.std
        return self.gamma * self.x_hat + self.beta

    def backward(self, dout):
        m = self._count(dout)
        self.dbeta = dout.sum(axis=(0, 2, 3))
        self.dgamma = (dout * self.x_hat).sum(axis=(0, 2, 3))
        dx_hat = dout * self.gamma
        return (m * dx_hat - dx_hat.sum(axis=(0, 2, 3), keepdims=True)
                - self.x_hat * (dx_hat * self.x_hat).sum(axis=(0, 2, 3), keepdims=True)) / (m * self.std)


class BatchNorm2dFloat32(BatchNorm2d):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__(num_features, eps, momentum, dtype=np.float32)


class BatchNorm2dUnbiasedOverN(BatchNorm2d):
    """The unbiased correction counts the batch axis only: σ²·N/(N − 1), not σ²·NHW/(NHW − 1)."""

    def forward(self, x, training=True):
        self._count = lambda x: x.shape[0]
        out = super().forward(x, training)
        del self._count
        return out


class BatchNorm2dFlattenPerActivation:
    """Reuses the 1-D formula on x.reshape(N, -1): statistics per (channel, position), over the batch axis only.

    Right for (N, C) batches, where it is the 1-D layer; named for convolutions, it is checked on 4-D ones.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.eps, self.momentum, self.c = eps, momentum, num_features
        self.gamma, self.beta = np.ones(num_features), np.zeros(num_features)
        self.running_mean, self.running_var = np.zeros(num_features), np.ones(num_features)

    def _per_channel(self, v, x):
        return v.reshape((1, self.c) + (1,) * (x.ndim - 2))

    def forward(self, x, training=True):
        g, b = self._per_channel(self.gamma, x), self._per_channel(self.beta, x)
        if not training:
            return g * (x - self._per_channel(self.running_mean, x)) / np.sqrt(
                self._per_channel(self.running_var, x) + self.eps) + b
        n = x.shape[0]
        flat = x.reshape(n, -1)
        mean, var = flat.mean(axis=0), flat.var(axis=0)
        x_hat = ((flat - mean) / np.sqrt(var + self.eps)).reshape(x.shape)
        self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean.reshape(self.c, -1).mean(1)
        self.running_var = ((1 - self.momentum) * self.running_var
                            + self.momentum * var.reshape(self.c, -1).mean(1) * n / max(n - 1, 1))
        return g * x_hat + b


class D2LBatchNorm2d(D2LBatchNorm):
    """d2l's layer built for convolutions, as a user wraps it."""

    def __init__(self, num_features):
        super().__init__(num_features, num_dims=4)


SRC = "CS231n assignment 2 solutions, cs231n/layers.py spatial_batchnorm_forward / spatial_batchnorm_backward"
SRC_CLASS = "numpy BatchNorm2d classes of small frameworks (forward(x, training), backward(dout), γ as (1, C, 1, 1))"
_ns = SimpleNamespace
_BUGGY_CLASS_FAILS = {"forward-vs-reference", "output-moments"}
CASES = [
    correct("spatial-cs231n-transpose-reshape", _ns(spatial_batchnorm_forward=spatial_batchnorm_forward,
                                                    spatial_batchnorm_backward=spatial_batchnorm_backward),
            "batchnorm", SRC, cli="tests/realworld/batchnorm/spatial.py:spatial_batchnorm_forward"),
    correct("spatial-cs231n-moveaxis-alt-backward", _ns(spatial_batchnorm_forward=spatial_batchnorm_forward,
                                                        spatial_batchnorm_backward=_spatial_backward_alt),
            "batchnorm", SRC),
    correct("spatial-cs231n-axis-023", _ns(spatial_batchnorm_forward=_direct_forward,
                                           spatial_batchnorm_backward=_direct_backward), "batchnorm", SRC),
    correct("spatial-numpy-batchnorm2d", BatchNorm2d, "batchnorm", SRC_CLASS,
            cli="tests/realworld/batchnorm/spatial.py:BatchNorm2d"),
    correct("spatial-numpy-batchnorm2d-float32", BatchNorm2dFloat32, "batchnorm", SRC_CLASS),
    correct("spatial-torch-batchnorm2d", torch.nn.BatchNorm2d, "batchnorm", "torch.nn.BatchNorm2d"),
    # d2l fixes momentum = 0.9 on the new batch and takes none (as for its 2-D use in d2l.py)
    correct("spatial-d2l-num-dims-4", D2LBatchNorm2d, "batchnorm", "d2l.ai §8.5 BatchNorm(num_features, num_dims=4)",
            inconclusive={"running-statistics"}),
    buggy("spatial-stats-over-batch-axis", _ns(spatial_batchnorm_forward=_forward_over_batch_axis_only,
                                               spatial_batchnorm_backward=_direct_backward), "batchnorm", SRC,
          "mean and variance over axis 0 only", _BUGGY_CLASS_FAILS, "over the batch axis N only"),
    buggy("spatial-flatten-per-activation", BatchNorm2dFlattenPerActivation, "batchnorm", SRC_CLASS,
          "x.reshape(N, -1): statistics per activation, not per channel", _BUGGY_CLASS_FAILS,
          "over the batch axis N only"),
    buggy("spatial-reshape-without-transpose", _ns(spatial_batchnorm_forward=_forward_without_transpose,
                                                   spatial_batchnorm_backward=_backward_without_transpose),
          "batchnorm", SRC, "x.reshape(-1, C) without moving C last: channels mixed", _BUGGY_CLASS_FAILS,
          "without moving the channel axis last"),
    buggy("spatial-unbiased-over-n", BatchNorm2dUnbiasedOverN, "batchnorm", SRC_CLASS,
          "the running variance's unbiased correction counts N, not N·H·W", {"running-variance-estimate"},
          "N·H·W"),
    buggy("spatial-backward-sums-over-batch-axis", _ns(spatial_batchnorm_forward=_direct_forward,
                                                      spatial_batchnorm_backward=_backward_sums_over_batch_axis),
          "batchnorm", SRC, "dx's sums over axis 0 only (and the count N)",
          {"backward-vs-symbolic", "backward-finite-difference"}, "batch axis N only"),
]
