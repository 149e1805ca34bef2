"""numpy-ml's ``BatchNorm1D`` (numpy_ml/neural_nets/layers/layers.py), in its own shape.

``BatchNorm1D(momentum=0.9, epsilon=1e-5)``: parameters ``scaler`` and
``intercept`` and the running statistics live in a ``parameters`` dict,
created at the first forward once the number of features is known (running
mean 0, variance 1); ``momentum`` weights the old value (``mm·rm + (1 − mm)·mean``)
with the biased variance; ``trainable`` (freeze/unfreeze) selects the mode;
``backward(dLdy)`` returns dX and stores the parameter gradients in
``gradients``. The wrapper gives it the protocol's face: a constructor with
``num_features``, the dict entries as attributes, a training flag.
"""

import numpy as np

from tests.realworld.corpus import buggy, correct


class BatchNorm1D:
    def __init__(self, momentum=0.9, epsilon=1e-5):
        self.epsilon, self.momentum = epsilon, momentum
        self.n_in = None
        self.trainable = True
        self.parameters = {"scaler": None, "intercept": None, "running_var": None, "running_mean": None}
        self.gradients = {}
        self.X = []
        self.is_initialized = False

    def _init_params(self):
        self.parameters = {"scaler": np.random.rand(self.n_in), "intercept": np.zeros(self.n_in),
                           "running_mean": np.zeros(self.n_in), "running_var": np.ones(self.n_in)}
        self.gradients = {"scaler": np.zeros(self.n_in), "intercept": np.zeros(self.n_in)}
        self.is_initialized = True

    def forward(self, X, retain_derived=True):
        if not self.is_initialized:
            self.n_in = X.shape[1]
            self._init_params()
        ep, mm = self.epsilon, self.momentum
        rm, rv = self.parameters["running_mean"], self.parameters["running_var"]
        X_mean, X_var = rm, rv
        if self.trainable and retain_derived:
            X_mean, X_var = X.mean(axis=0), X.var(axis=0)
            self.parameters["running_mean"] = mm * rm + (1.0 - mm) * X_mean
            self.parameters["running_var"] = mm * rv + (1.0 - mm) * X_var
        if retain_derived:
            self.X.append(X)
        N = (X - X_mean) / np.sqrt(X_var + ep)
        return self.parameters["scaler"] * N + self.parameters["intercept"]

    def backward(self, dLdy):
        X = self.X[-1]
        scaler, ep = self.parameters["scaler"], self.epsilon
        n_ex = X.shape[0]
        X_mean, X_var = X.mean(axis=0), X.var(axis=0)
        N = (X - X_mean) / np.sqrt(X_var + ep)
        self.gradients["scaler"] = (dLdy * N).sum(axis=0)
        self.gradients["intercept"] = dLdy.sum(axis=0)
        dN = dLdy * scaler
        return (n_ex * dN - dN.sum(axis=0) - N * (dN * N).sum(axis=0)) / (n_ex * np.sqrt(X_var + ep))


class NumpyMLBatchNorm(BatchNorm1D):
    """The user's wrapper: parameters created at construction, the dict entries as attributes."""

    def __init__(self, num_features, eps=1e-5, momentum=0.9):
        super().__init__(momentum=momentum, epsilon=eps)
        self.n_in = num_features
        self._init_params()
        self.parameters["scaler"] = np.ones(num_features)

    gamma = property(lambda s: s.parameters["scaler"], lambda s, v: s.parameters.__setitem__("scaler", v))
    beta = property(lambda s: s.parameters["intercept"], lambda s, v: s.parameters.__setitem__("intercept", v))
    running_mean = property(lambda s: s.parameters["running_mean"])
    running_var = property(lambda s: s.parameters["running_var"])
    dgamma = property(lambda s: s.gradients["scaler"])
    dbeta = property(lambda s: s.gradients["intercept"])

    def forward(self, X, training=True):
        self.trainable = training
        return super().forward(X)


class NumpyMLUnbiasedNormalisation(NumpyMLBatchNorm):
    """A slip in the same shape: the `# , ddof=1)` comment taken up in the normalisation."""

    def forward(self, X, training=True):
        if not training:
            return super().forward(X, training)
        self.X.append(X)
        mm, rm, rv = self.momentum, self.parameters["running_mean"], self.parameters["running_var"]
        X_mean, X_var = X.mean(axis=0), X.var(axis=0, ddof=1)
        self.parameters["running_mean"] = mm * rm + (1.0 - mm) * X_mean
        self.parameters["running_var"] = mm * rv + (1.0 - mm) * X_var
        return self.gamma * (X - X_mean) / np.sqrt(X_var + self.epsilon) + self.beta


SRC = "numpy-ml, numpy_ml/neural_nets/layers/layers.py BatchNorm1D"
KERAS_SENSE = {"convention": "keras", "momentum": 0.9}
CASES = [
    correct("numpy-ml-batchnorm1d", NumpyMLBatchNorm, "batchnorm", SRC, params=KERAS_SENSE),
    buggy("numpy-ml-unbiased-normalisation", NumpyMLUnbiasedNormalisation, "batchnorm", SRC,
          "normalises with the unbiased variance", {"forward-vs-reference"}, "unbiased variance σ²·N/(N − 1) normalises",
          params=KERAS_SENSE),
]
