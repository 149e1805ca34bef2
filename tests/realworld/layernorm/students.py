"""Layer norm and RMS norm as students and blog posts write them in numpy: a class with ``forward`` /
``backward`` caching what the backward needs, a plain function ``layer_norm(x, gamma, beta, eps)``, and the
usual slips (ε outside the root, the variance without its root, no centring, γ forgotten in ``dx``)."""

import numpy as np

from tests.realworld.corpus import buggy, correct


class LayerNorm:
    def __init__(self, dim, eps=1e-5):
        self.eps = eps
        self.gamma = np.ones(dim)
        self.beta = np.zeros(dim)

    def forward(self, x):
        self.mu = x.mean(axis=-1, keepdims=True)
        self.var = x.var(axis=-1, keepdims=True)
        self.std = np.sqrt(self.var + self.eps)
        self.xhat = (x - self.mu) / self.std
        return self.gamma * self.xhat + self.beta

    def backward(self, dout):
        D = dout.shape[-1]
        self.dgamma = np.sum(dout * self.xhat, axis=0)
        self.dbeta = np.sum(dout, axis=0)
        dxhat = dout * self.gamma
        dx = (D * dxhat - dxhat.sum(axis=-1, keepdims=True)
              - self.xhat * (dxhat * self.xhat).sum(axis=-1, keepdims=True)) / (D * self.std)
        return dx


class LayerNormGammaForgotten(LayerNorm):
    def backward(self, dout):
        D = dout.shape[-1]
        self.dgamma = np.sum(dout * self.xhat, axis=0)
        self.dbeta = np.sum(dout, axis=0)
        dx = (D * dout - dout.sum(axis=-1, keepdims=True)
              - self.xhat * (dout * self.xhat).sum(axis=-1, keepdims=True)) / (D * self.std)
        return dx


class LayerNormVarianceNoRoot(LayerNorm):
    def forward(self, x):
        self.mu = x.mean(axis=-1, keepdims=True)
        self.var = x.var(axis=-1, keepdims=True)
        self.std = self.var + self.eps                 # the square root forgotten
        self.xhat = (x - self.mu) / self.std
        return self.gamma * self.xhat + self.beta


class LayerNormNotCentred(LayerNorm):
    def forward(self, x):
        self.mu = 0.0
        self.var = (x ** 2).mean(axis=-1, keepdims=True)
        self.std = np.sqrt(self.var + self.eps)
        self.xhat = x / self.std
        return self.gamma * self.xhat + self.beta


def layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def layer_norm_no_beta(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps)


def rms_norm(x, weight, eps=1e-6):
    return weight * x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)


def rms_norm_sum_of_squares(x, weight, eps=1e-6):
    return weight * x / np.sqrt(np.sum(x * x, axis=-1, keepdims=True) + eps)


def rms_norm_variance(x, weight, eps=1e-6):
    # Keras' LayerNormalization(rms_scaling=True) before its deprecation: the variance, not the mean square
    return x * (1.0 / np.sqrt(np.var(x, axis=-1, keepdims=True) + eps)) * weight


SRC = "typical numpy layer norm / RMS norm (course exercises, blog posts)"
CASES = [
    correct("student-layernorm-class", LayerNorm, "layernorm", SRC),
    correct("student-layer-norm-function", layer_norm, "layernorm", SRC,
            cli="tests/realworld/layernorm/students.py:layer_norm"),
    correct("student-rms-norm-function", rms_norm, "rmsnorm", SRC),
    buggy("student-layernorm-gamma-forgotten-in-dx", LayerNormGammaForgotten, "layernorm", SRC,
          "dx without γ", {"backward-vs-symbolic", "backward-finite-difference"}, "γ is missing from dx"),
    buggy("student-layernorm-variance-no-root", LayerNormVarianceNoRoot, "layernorm", SRC,
          "divides by var + eps", {"forward-vs-reference", "output-moments", "rescaling"},
          "divided by the variance instead of the standard deviation"),
    buggy("student-layernorm-not-centred", LayerNormNotCentred, "layernorm", SRC, "the mean is not subtracted",
          {"forward-vs-reference", "output-moments", "rescaling"}, "the input is not centred"),
    buggy("student-layer-norm-no-beta", layer_norm_no_beta, "layernorm", SRC, "β taken but never added",
          {"forward-vs-reference"}, "β is not added"),
    buggy("keras-rms-scaling-variance", rms_norm_variance, "rmsnorm",
          "keras/src/layers/normalization/layer_normalization.py, rms_scaling=True (keras-team/keras#21234)",
          "the variance instead of the mean square", {"forward-vs-reference", "output-moments"},
          "its standard deviation, not its root mean square"),
    buggy("student-rms-norm-sum-of-squares", rms_norm_sum_of_squares, "rmsnorm", SRC,
          "the sum of squares instead of their mean", {"forward-vs-reference", "output-moments"},
          "the sum of squares replaces the mean"),
]
