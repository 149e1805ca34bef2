"""numpy-ml (``numpy_ml/neural_nets/layers/layers.py``, ``LayerNorm1D``), paraphrased.

The constructor takes only ``epsilon`` (and an optimizer); the parameters ``scaler`` and ``intercept`` live
in a ``parameters`` dict created at the first forward (the input width read from ``X``), with a random
scaler; ``forward(X, retain_derived=True)`` keeps its inputs for ``backward(dLdy)``, which returns ``dX`` and
accumulates the parameter gradients in a ``gradients`` dict. Also an RMS-norm layer written in the same
style.
"""

import numpy as np

from tests.realworld.corpus import buggy, correct


class LayerNorm1D:
    def __init__(self, epsilon=1e-5, optimizer=None):
        self.epsilon = epsilon
        self.optimizer = optimizer
        self.parameters = {"scaler": None, "intercept": None}
        self.is_initialized = False
        self.X = []

    def _init_params(self):
        scaler = np.random.rand(self.n_in)
        intercept = np.zeros(self.n_in)
        self.parameters = {"scaler": scaler, "intercept": intercept}
        self.gradients = {"scaler": np.zeros_like(scaler), "intercept": np.zeros_like(intercept)}
        self.is_initialized = True

    def flush_gradients(self):
        self.X = []
        for k, v in self.gradients.items():
            self.gradients[k] = np.zeros_like(v)

    def forward(self, X, retain_derived=True):
        if not self.is_initialized:
            self.n_in = self.n_out = X.shape[1]
            self._init_params()
        scaler, intercept = self.parameters["scaler"], self.parameters["intercept"]
        ep = self.epsilon
        X_mean, X_var = X.mean(axis=1, keepdims=True), X.var(axis=1, keepdims=True)
        lnorm = (X - X_mean) / np.sqrt(X_var + ep)
        y = scaler * lnorm + intercept
        if retain_derived:
            self.X.append(X)
        return y

    def backward(self, dLdy, retain_grads=True):
        if not isinstance(dLdy, list):
            dLdy = [dLdy]
        dX = []
        for dy, X in zip(dLdy, self.X):
            dx, dscaler, dintercept = self._bwd(dy, X)
            dX.append(dx)
            if retain_grads:
                self.gradients["scaler"] += dscaler
                self.gradients["intercept"] += dintercept
        return dX[0] if len(self.X) == 1 else dX

    def _bwd(self, dy, X):
        scaler = self.parameters["scaler"]
        ep = self.epsilon
        X_mean, X_var = X.mean(axis=1, keepdims=True), X.var(axis=1, keepdims=True)
        lnorm = (X - X_mean) / np.sqrt(X_var + ep)
        dLnorm = dy * scaler
        dIntercept = dy.sum(axis=0)
        dScaler = np.sum(dy * lnorm, axis=0)
        n_in = X.shape[1]
        dX = (n_in * dLnorm - dLnorm.sum(axis=1, keepdims=True)
              - lnorm * (dLnorm * lnorm).sum(axis=1, keepdims=True)) / (n_in * np.sqrt(X_var + ep))
        return dX, dScaler, dIntercept


class LayerNorm1DSquaredStd(LayerNorm1D):
    """A port that squares where it should take the root (TPlinker's ``(variance + eps) ** 2``)."""

    def forward(self, X, retain_derived=True):
        if not self.is_initialized:
            self.n_in = self.n_out = X.shape[1]
            self._init_params()
        mean = X.mean(axis=1, keepdims=True)
        variance = ((X - mean) ** 2).mean(axis=1, keepdims=True)
        std = (variance + self.epsilon) ** 2
        if retain_derived:
            self.X.append(X)
        return self.parameters["scaler"] * (X - mean) / std + self.parameters["intercept"]


class LayerNorm1DSwapped(LayerNorm1D):
    """Scale and shift mixed up when the parameters were renamed."""

    def forward(self, X, retain_derived=True):
        y = super().forward(X, retain_derived)
        s, b = self.parameters["scaler"], self.parameters["intercept"]
        lnorm = (y - b) / s
        return b * lnorm + s


class RMSNorm1D:
    """RMS norm in numpy-ml's style: ``scaler`` only."""

    def __init__(self, epsilon=1e-6):
        self.epsilon = epsilon
        self.parameters = {}
        self.gradients = {}
        self.X = None

    def forward(self, X):
        if "scaler" not in self.parameters:
            self.parameters["scaler"] = np.ones(X.shape[1])
            self.gradients["scaler"] = np.zeros(X.shape[1])
        self.X = X
        self.r = 1.0 / np.sqrt((X ** 2).mean(axis=1, keepdims=True) + self.epsilon)
        return self.parameters["scaler"] * X * self.r

    def backward(self, dLdy):
        X, r, s = self.X, self.r, self.parameters["scaler"]
        xhat = X * r
        g = dLdy * s
        self.gradients["scaler"] = (dLdy * xhat).sum(axis=0)
        return r * (g - xhat * (g * xhat).mean(axis=1, keepdims=True))


class RMSNorm1DConstantRms(RMSNorm1D):
    """The root mean square treated as a constant in backward."""

    def backward(self, dLdy):
        xhat = self.X * self.r
        self.gradients["scaler"] = (dLdy * xhat).sum(axis=0)
        return self.r * dLdy * self.parameters["scaler"]


SRC = "numpy-ml, numpy_ml/neural_nets/layers/layers.py LayerNorm1D"
CASES = [
    correct("numpy-ml-layernorm1d", LayerNorm1D, "layernorm", SRC),
    correct("numpy-ml-style-rmsnorm", RMSNorm1D, "rmsnorm", SRC),
    buggy("numpy-ml-layernorm-squared-std", LayerNorm1DSquaredStd, "layernorm", SRC,
          "(var + eps) ** 2 instead of ** 0.5", {"forward-vs-reference", "output-moments", "rescaling"},
          "(σ² + ε)² replaces √(σ² + ε)"),
    buggy("numpy-ml-layernorm-swapped", LayerNorm1DSwapped, "layernorm", SRC, "scaler and intercept swapped",
          {"forward-vs-reference"}, "γ and β are swapped"),
    buggy("numpy-ml-rmsnorm-constant-rms", RMSNorm1DConstantRms, "rmsnorm", SRC,
          "backward treats the root mean square as a constant",
          {"backward-vs-symbolic", "backward-finite-difference", "backward-invariants"},
          "the root mean square's dependence on x ignored"),
]
