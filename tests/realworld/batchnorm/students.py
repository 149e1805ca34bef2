"""Student-style numpy batch-norm classes, written the way course code usually is.

Running variance started at 0 (as CS231n does), statistics created lazily,
momentum in either sense, float32 parameters updated in place; and the
mistakes such code makes, each in that shape.
"""

import numpy as np

from tests.realworld.corpus import buggy, correct


class BatchNormZeroStart:
    """PyTorch's momentum, but the running variance starts at zero."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.eps, self.momentum = eps, momentum
        self.gamma, self.beta = np.ones(num_features), np.zeros(num_features)
        self.running_mean = np.zeros(num_features)
        self.running_var = np.zeros(num_features)

    def forward(self, x, training=True):
        if training:
            mu, var = x.mean(axis=0), x.var(axis=0)
            self.cache = (x, mu, var)
            self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mu
            self.running_var = (1 - self.momentum) * self.running_var + self.momentum * x.var(axis=0, ddof=1)
        else:
            mu, var = self.running_mean, self.running_var
        return self.gamma * (x - mu) / np.sqrt(var + self.eps) + self.beta

    def backward(self, dout):
        x, mu, var = self.cache
        n = x.shape[0]
        inv = 1.0 / np.sqrt(var + self.eps)
        xhat = (x - mu) * inv
        dgamma, dbeta = (dout * xhat).sum(axis=0), dout.sum(axis=0)
        dxhat = dout * self.gamma
        dx = inv / n * (n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
        return dx, dgamma, dbeta


class BatchNormLazy:
    """Keras-sense momentum; running statistics created on the first training batch (None before)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.9):
        self.eps, self.momentum = eps, momentum
        self.gamma, self.beta = np.ones(num_features), np.zeros(num_features)
        self.running_mean = self.running_var = None

    def forward(self, x, training=True):
        if training:
            mu, var = x.mean(axis=0), x.var(axis=0)
            if self.running_mean is None:
                self.running_mean, self.running_var = np.zeros_like(mu), np.zeros_like(var)
            self.running_mean = self.momentum * self.running_mean + (1 - self.momentum) * mu
            self.running_var = self.momentum * self.running_var + (1 - self.momentum) * var
            self.xhat, self.std = (x - mu) / np.sqrt(var + self.eps), np.sqrt(var + self.eps)
            return self.gamma * self.xhat + self.beta
        return self.gamma * (x - self.running_mean) / np.sqrt(self.running_var + self.eps) + self.beta

    def backward(self, dout):
        n = dout.shape[0]
        dgamma, dbeta = (dout * self.xhat).sum(axis=0), dout.sum(axis=0)
        dx = self.gamma / (n * self.std) * (n * dout - dbeta - self.xhat * dgamma)
        return dx, dgamma, dbeta


class BatchNormFloat32:
    """Everything in float32, running statistics updated in place."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.eps, self.momentum = np.float32(eps), np.float32(momentum)
        self.gamma = np.ones(num_features, dtype=np.float32)
        self.beta = np.zeros(num_features, dtype=np.float32)
        self.running_mean = np.zeros(num_features, dtype=np.float32)
        self.running_var = np.ones(num_features, dtype=np.float32)

    def forward(self, x, training=True):
        x = x.astype(np.float32)
        gamma, beta = np.float32(self.gamma), np.float32(self.beta)
        if training:
            n = x.shape[0]
            mu = x.mean(axis=0)
            var = ((x - mu) ** 2).mean(axis=0)
            self.running_mean *= 1 - self.momentum
            self.running_mean += self.momentum * mu
            self.running_var *= 1 - self.momentum
            self.running_var += self.momentum * var * np.float32(n / (n - 1))
            self.xhat, self.std = (x - mu) / np.sqrt(var + self.eps), np.sqrt(var + self.eps)
            return gamma * self.xhat + beta
        return gamma * (x - self.running_mean) / np.sqrt(self.running_var + self.eps) + beta

    def backward(self, dout):
        dout = dout.astype(np.float32)
        n = dout.shape[0]
        dgamma, dbeta = (dout * self.xhat).sum(axis=0), dout.sum(axis=0)
        dx = np.float32(self.gamma) / (n * self.std) * (n * dout - dbeta - self.xhat * dgamma)
        return dx, dgamma, dbeta


class Float32BackwardWithoutMeanTerm(BatchNormFloat32):
    """float32 throughout, and dx forgets Σ dy."""

    def backward(self, dout):
        dout = dout.astype(np.float32)
        n = dout.shape[0]
        dgamma, dbeta = (dout * self.xhat).sum(axis=0), dout.sum(axis=0)
        dx = np.float32(self.gamma) / (n * self.std) * (n * dout - self.xhat * dgamma)
        return dx, dgamma, dbeta


class CumulativeAverage(BatchNormZeroStart):
    """momentum=None means a plain average of every batch so far (PyTorch's convention)."""

    def __init__(self, num_features, eps=1e-5, momentum=None):
        super().__init__(num_features, eps, momentum)
        self.seen = 0

    def forward(self, x, training=True):
        if not training or self.momentum is not None:
            return super().forward(x, training)
        self.seen += 1
        mu, var = x.mean(axis=0), x.var(axis=0)
        self.cache = (x, mu, var)
        self.running_mean = self.running_mean + (mu - self.running_mean) / self.seen
        self.running_var = self.running_var + (x.var(axis=0, ddof=1) - self.running_var) / self.seen
        return self.gamma * (x - mu) / np.sqrt(var + self.eps) + self.beta


class UpdatesRunningInEval(BatchNormZeroStart):
    """Updates the running statistics whatever the mode."""

    def forward(self, x, training=True):
        out = super().forward(x, training)
        if not training:
            self.running_mean = 0.9 * self.running_mean + 0.1 * x.mean(axis=0)
        return out


class NormalisesOverFeatures(BatchNormZeroStart):
    """axis=1: each sample normalised over its features (a layer norm)."""

    def forward(self, x, training=True):
        if not training:
            return super().forward(x, training)
        mu, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
        self.running_mean = 0.9 * self.running_mean + 0.1 * x.mean(axis=0)
        self.running_var = 0.9 * self.running_var + 0.1 * x.var(axis=0, ddof=1)
        self.cache = (x, x.mean(axis=0), x.var(axis=0))
        return self.gamma * (x - mu) / np.sqrt(var + self.eps) + self.beta


class StdWithoutEps(BatchNormZeroStart):
    """x.std() in the denominator, ε forgotten."""

    def forward(self, x, training=True):
        out = super().forward(x, training)
        if training:
            return self.gamma * (x - x.mean(axis=0)) / x.std(axis=0) + self.beta
        return out


class KerasMomentumUnderTorchName(BatchNormZeroStart):
    """Takes `momentum` like torch.nn.BatchNorm1d but uses it as the weight of the old value."""

    def forward(self, x, training=True):
        if not training:
            return super().forward(x, training)
        m = self.momentum
        mu, var = x.mean(axis=0), x.var(axis=0)
        self.cache = (x, mu, var)
        self.running_mean = m * self.running_mean + (1 - m) * mu
        self.running_var = m * self.running_var + (1 - m) * x.var(axis=0, ddof=1)
        return self.gamma * (x - mu) / np.sqrt(var + self.eps) + self.beta


SRC = "student-style numpy layers (course code)"
CASES = [
    correct("student-zero-start", BatchNormZeroStart, "batchnorm", SRC,
            cli="tests/realworld/batchnorm/students.py:BatchNormZeroStart"),
    correct("student-lazy-keras-momentum", BatchNormLazy, "batchnorm", SRC,
            params={"convention": "keras", "momentum": 0.9}),
    correct("student-float32", BatchNormFloat32, "batchnorm", SRC),
    correct("student-cumulative", CumulativeAverage, "batchnorm", SRC, params={"convention": "cumulative"}),
    buggy("student-float32-backward-no-sum-dy", Float32BackwardWithoutMeanTerm, "batchnorm", SRC,
          "float32 layer whose dx leaves out Σ dy", {"backward-vs-symbolic", "backward-finite-difference"},
          "Σ dy is missing"),
    buggy("student-updates-running-in-eval", UpdatesRunningInEval, "batchnorm", SRC,
          "evaluation mode updates the running mean", {"eval-uses-running-stats"}, "evaluation mode updates the running statistics"),
    buggy("student-normalises-over-features", NormalisesOverFeatures, "batchnorm", SRC,
          "statistics over axis 1", {"forward-vs-reference"}, "over the features instead of the batch"),
    buggy("student-std-without-eps", StdWithoutEps, "batchnorm", SRC, "ε left out of the denominator",
          {"output-moments"}, "ε is ignored"),
    buggy("student-keras-momentum-torch-name", KerasMomentumUnderTorchName, "batchnorm", SRC,
          "momentum weights the old value under PyTorch's name", {"running-statistics"}, "Keras' form"),
]
