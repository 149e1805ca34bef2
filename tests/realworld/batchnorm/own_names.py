"""Batch-norm layers under their own names and modes, checked unwrapped.

* Chainer's ``BatchNormalization(size, decay=0.9, eps=2e-5)``: ``avg_mean`` /
  ``avg_var``, ``__call__(x, train=True)``, the unbiased running variance.
* TensorFlow-1 tutorials' layer: ``pop_mean`` / ``pop_var`` with
  ``decay = 0.999`` weighting the old value.
* A ``torch.nn.Module`` written by hand: ``register_buffer`` and in-place
  ``mul_().add_()`` updates under ``torch.no_grad()``, ``self.training``.
* Statistics computed in float64 but kept in float32 buffers.
* ``forward(x, mode='train')`` with ``(1, C)`` parameters (keepdims).
* Running statistics under names the protocol cannot know (``ema_mean``):
  inconclusive, naming them, never "never stored".
"""

import numpy as np
import torch
from torch import nn

from tests.realworld.corpus import buggy, correct


class ChainerBatchNormalization:
    def __init__(self, size, decay=0.9, eps=2e-5):
        self.gamma, self.beta = np.ones(size), np.zeros(size)
        self.avg_mean, self.avg_var = np.zeros(size), np.ones(size)
        self.decay, self.eps = decay, eps

    def __call__(self, x, train=True):
        if not train:
            return self.gamma * (x - self.avg_mean) / np.sqrt(self.avg_var + self.eps) + self.beta
        m = x.shape[0]
        mean, var = x.mean(axis=0), x.var(axis=0)
        self.avg_mean = self.decay * self.avg_mean + (1 - self.decay) * mean
        self.avg_var = self.decay * self.avg_var + (1 - self.decay) * m / max(m - 1.0, 1.0) * var
        return self.gamma * (x - mean) / np.sqrt(var + self.eps) + self.beta


class TFTutorialBatchNorm:
    def __init__(self, num_features, decay=0.999, epsilon=1e-3):
        self.scale, self.offset = np.ones(num_features), np.zeros(num_features)
        self.pop_mean, self.pop_var = np.zeros(num_features), np.ones(num_features)
        self.decay, self.epsilon = decay, epsilon

    def forward(self, x, is_training=True):
        if is_training:
            batch_mean, batch_var = x.mean(axis=0), x.var(axis=0)
            self.pop_mean = self.pop_mean * self.decay + batch_mean * (1 - self.decay)
            self.pop_var = self.pop_var * self.decay + batch_var * (1 - self.decay)
            return self.scale * (x - batch_mean) / np.sqrt(batch_var + self.epsilon) + self.offset
        return self.scale * (x - self.pop_mean) / np.sqrt(self.pop_var + self.epsilon) + self.offset


class _TFTutorialForgetsOldValue(TFTutorialBatchNorm):
    """pop_mean = decay·batch_mean: the old value left out of the average."""

    def forward(self, x, is_training=True):
        if not is_training:
            return super().forward(x, is_training)
        batch_mean, batch_var = x.mean(axis=0), x.var(axis=0)
        self.pop_mean = batch_mean * (1 - self.decay)
        self.pop_var = batch_var * (1 - self.decay)
        return self.scale * (x - batch_mean) / np.sqrt(batch_var + self.epsilon) + self.offset


class HandWrittenBatchNorm1d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        if self.training:
            mean, var = x.mean(0), x.var(0, unbiased=False)
            with torch.no_grad():
                n = x.shape[0]
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * n / (n - 1))
        else:
            mean, var = self.running_mean, self.running_var
        return self.weight * (x - mean) / torch.sqrt(var + self.eps) + self.bias


class _HandWrittenEvalUsesBatch(HandWrittenBatchNorm1d):
    """The mode test forgotten: evaluation normalises with the batch too."""

    def forward(self, x):
        training = self.training
        self.training = True
        try:
            return super().forward(x)
        finally:
            self.training = training


class Float32Buffers:
    """Statistics in float64, stored in float32 running buffers."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.eps, self.momentum = eps, momentum
        self.gamma, self.beta = np.ones(num_features), np.zeros(num_features)
        self.running_mean = np.zeros(num_features, dtype=np.float32)
        self.running_var = np.ones(num_features, dtype=np.float32)

    def forward(self, x, training=True):
        if not training:
            return self.gamma * (x - self.running_mean) / np.sqrt(self.running_var + self.eps) + self.beta
        n = x.shape[0]
        mu, var = x.mean(0), x.var(0)
        self.running_mean = ((1 - self.momentum) * self.running_mean + self.momentum * mu).astype(np.float32)
        self.running_var = ((1 - self.momentum) * self.running_var
                            + self.momentum * var * n / (n - 1)).astype(np.float32)
        self.xhat, self.std = (x - mu) / np.sqrt(var + self.eps), np.sqrt(var + self.eps)
        return self.gamma * self.xhat + self.beta

    def backward(self, dy):
        n = dy.shape[0]
        dgamma, dbeta = (dy * self.xhat).sum(0), dy.sum(0)
        return self.gamma / (n * self.std) * (n * dy - dbeta - self.xhat * dgamma), dgamma, dbeta


class ModeStringKeepdims:
    def __init__(self, num_features, eps=1e-5, momentum=0.9):
        self.eps, self.momentum = eps, momentum
        self.gamma, self.beta = np.ones((1, num_features)), np.zeros((1, num_features))
        self.running_mean, self.running_var = np.zeros((1, num_features)), np.ones((1, num_features))

    def forward(self, x, mode="train"):
        if mode == "train":
            mu, var = np.mean(x, axis=0, keepdims=True), np.var(x, axis=0, keepdims=True)
            self.running_mean = self.momentum * self.running_mean + (1 - self.momentum) * mu
            self.running_var = self.momentum * self.running_var + (1 - self.momentum) * var
            self.x_norm, self.ivar = (x - mu) / np.sqrt(var + self.eps), 1 / np.sqrt(var + self.eps)
            return self.gamma * self.x_norm + self.beta
        return self.gamma * (x - self.running_mean) / np.sqrt(self.running_var + self.eps) + self.beta

    def backward(self, dout):
        n = dout.shape[0]
        dbeta, dgamma = dout.sum(axis=0, keepdims=True), (dout * self.x_norm).sum(axis=0, keepdims=True)
        dxn = dout * self.gamma
        dx = self.ivar / n * (n * dxn - dxn.sum(0) - self.x_norm * (dxn * self.x_norm).sum(0))
        return dx, dgamma, dbeta


class EmaNames(ModeStringKeepdims):
    """The same layer keeping its statistics as ema_mean / ema_var."""

    def __init__(self, num_features, eps=1e-5, momentum=0.9):
        super().__init__(num_features, eps, momentum)
        self.ema_mean, self.ema_var = self.__dict__.pop("running_mean"), self.__dict__.pop("running_var")

    def forward(self, x, mode="train"):
        self.running_mean, self.running_var = self.ema_mean, self.ema_var
        try:
            return super().forward(x, mode)
        finally:
            self.ema_mean, self.ema_var = self.__dict__.pop("running_mean"), self.__dict__.pop("running_var")


KERAS_09 = {"convention": "keras", "momentum": 0.9}
TF = {"convention": "keras", "momentum": 0.999, "eps": 1e-3}
CASES = [
    correct("chainer-unwrapped", ChainerBatchNormalization, "batchnorm",
            "Chainer BatchNormalization(size, decay=0.9, eps=2e-5): avg_mean/avg_var, __call__(x, train)",
            params={**KERAS_09, "eps": 2e-5}),
    correct("tf1-tutorial-pop-stats", TFTutorialBatchNorm, "batchnorm",
            "TensorFlow-1 batch-norm tutorials: pop_mean/pop_var, decay 0.999, is_training", params=TF),
    correct("torch-hand-written-module", HandWrittenBatchNorm1d, "batchnorm",
            "a hand-written nn.Module: register_buffer, in-place updates under no_grad, self.training"),
    correct("float32-running-buffers", Float32Buffers, "batchnorm", "float64 statistics kept in float32 buffers"),
    correct("mode-string-keepdims", ModeStringKeepdims, "batchnorm", "forward(x, mode='train'), (1, C) parameters",
            params=KERAS_09),
    correct("running-stats-unknown-names", EmaNames, "batchnorm", "statistics kept as ema_mean/ema_var",
            params=KERAS_09,
            inconclusive={"running-statistics", "running-variance-estimate", "eval-uses-running-stats"}),
    buggy("tf1-tutorial-forgets-old-value", _TFTutorialForgetsOldValue, "batchnorm",
          "TensorFlow-1 batch-norm tutorials", "pop_mean = (1 − decay)·batch_mean: no average", {"running-statistics"},
          params=TF),
    buggy("torch-hand-written-eval-uses-batch", _HandWrittenEvalUsesBatch, "batchnorm",
          "a hand-written nn.Module", "evaluation mode normalises with the batch statistics",
          {"eval-uses-running-stats"}, "batch statistics instead of the running ones"),
]
