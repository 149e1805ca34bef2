"""Buggy numpy batch norms (the batch-norm protocol), each one realistic mistake.

``Correct`` is written here from the textbook (Ioffe & Szegedy 2015), independently
of reference/; each bug overrides one piece. BUGS maps a name to
(class, params, checks that must fail, words the diagnosis must contain or None).
"""

import numpy as np


class Correct:
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.eps, self.momentum = eps, momentum
        self.gamma, self.beta = np.ones(num_features), np.zeros(num_features)
        self.running_mean, self.running_var = np.zeros(num_features), np.ones(num_features)

    # pieces the bugs override
    def batch_var(self, x):
        return x.var(axis=0)

    def normalise(self, centred, var):
        return centred / np.sqrt(var + self.eps)

    def update(self, mean, var, n):
        m = self.momentum
        self.running_mean = (1 - m) * self.running_mean + m * mean
        self.running_var = (1 - m) * self.running_var + m * var * n / (n - 1)

    def forward(self, x, training=True):
        if not training:
            return self.gamma * self.normalise(x - self.running_mean, self.running_var) + self.beta
        n = x.shape[0]
        mean, var = x.mean(axis=0), self.batch_var(x)
        self.xhat = self.normalise(x - mean, var)
        self.std = np.sqrt(var + self.eps)
        self.update(mean, x.var(axis=0), n)
        return self.gamma * self.xhat + self.beta

    def backward(self, dy):
        n = dy.shape[0]
        dbeta = dy.sum(axis=0)
        dgamma = (dy * self.xhat).sum(axis=0)
        dx = self.gamma / (n * self.std) * (n * dy - dbeta - self.xhat * dgamma)
        return dx, dgamma, dbeta


class UnbiasedNormalisation(Correct):
    def batch_var(self, x):
        return x.var(axis=0, ddof=1)


class EpsOutsideRoot(Correct):
    def normalise(self, centred, var):
        return centred / (np.sqrt(var) + self.eps)


class KerasMomentum(Correct):
    def update(self, mean, var, n):
        m = self.momentum
        self.running_mean = m * self.running_mean + (1 - m) * mean
        self.running_var = m * self.running_var + (1 - m) * var * n / (n - 1)


class BiasedRunningVariance(Correct):
    def update(self, mean, var, n):
        m = self.momentum
        self.running_mean = (1 - m) * self.running_mean + m * mean
        self.running_var = (1 - m) * self.running_var + m * var


class NeverUpdatesRunning(Correct):
    def update(self, mean, var, n):
        pass


class BackwardMissingVarianceTerm(Correct):
    def backward(self, dy):
        n = dy.shape[0]
        dbeta, dgamma = dy.sum(axis=0), (dy * self.xhat).sum(axis=0)
        return self.gamma / (n * self.std) * (n * dy - dbeta), dgamma, dbeta


class BackwardMissingMeanTerm(Correct):
    def backward(self, dy):
        n = dy.shape[0]
        dbeta, dgamma = dy.sum(axis=0), (dy * self.xhat).sum(axis=0)
        return self.gamma / (n * self.std) * (n * dy - self.xhat * dgamma), dgamma, dbeta


class BackwardWrongDgamma(Correct):
    def backward(self, dy):
        dx, _, dbeta = super().backward(dy)
        return dx, dy.sum(axis=0), dbeta


class EvalUsesBatchStatistics(Correct):
    def forward(self, x, training=True):
        return super().forward(x, True) if not training else super().forward(x, training)


class GammaBetaSwapped(Correct):
    def forward(self, x, training=True):
        y = super().forward(x, training)
        return self.beta * (y - self.beta) / np.where(self.gamma == 0, 1, self.gamma) + self.gamma


class StatisticsOverFeatures(Correct):
    def forward(self, x, training=True):
        if not training:
            return super().forward(x, training)
        mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
        self.xhat = (x - mean) / np.sqrt(var + self.eps)
        self.std = np.sqrt(var + self.eps)
        self.update(x.mean(axis=0), x.var(axis=0), x.shape[0])
        return self.gamma * self.xhat + self.beta


class NoEps(Correct):
    def normalise(self, centred, var):
        return centred / np.sqrt(var)


class MutatesInput(Correct):
    def forward(self, x, training=True):
        y = super().forward(x, training)
        x -= x.mean(axis=0)
        return y


class MeanUpdatedVarianceNot(Correct):
    def update(self, mean, var, n):
        m = self.momentum
        self.running_mean = (1 - m) * self.running_mean + m * mean


class RunningStdInsteadOfVariance(Correct):
    def update(self, mean, var, n):
        m = self.momentum
        self.running_mean = (1 - m) * self.running_mean + m * mean
        self.running_var = (1 - m) * self.running_var + m * np.sqrt(var * n / (n - 1))


class BatchStatisticsReplaceRunning(Correct):
    def update(self, mean, var, n):
        self.running_mean, self.running_var = mean, var * n / (n - 1)


BUGS = {
    "UnbiasedNormalisation": (UnbiasedNormalisation, {}, {"forward-vs-reference", "output-moments"},
                              "unbiased variance"),
    "EpsOutsideRoot": (EpsOutsideRoot, {}, {"output-moments"}, "ε outside the square root"),
    "KerasMomentum": (KerasMomentum, {}, {"running-statistics"}, "Keras' form"),
    "BiasedRunningVariance": (BiasedRunningVariance, {"running_variance": "unbiased"},
                              {"running-statistics", "running-variance-estimate"}, "biased batch variance"),
    "NeverUpdatesRunning": (NeverUpdatesRunning, {}, {"running-statistics"}, "never updated"),
    "MeanUpdatedVarianceNot": (MeanUpdatedVarianceNot, {}, {"running-statistics"},
                               "the running variance is never updated"),
    "RunningStdInsteadOfVariance": (RunningStdInsteadOfVariance, {}, {"running-statistics", "running-variance-estimate"},
                                    "standard deviation instead of the variance"),
    "BatchStatisticsReplaceRunning": (BatchStatisticsReplaceRunning, {}, {"running-statistics"},
                                      "batch statistics replacing the running ones"),
    "BackwardMissingVarianceTerm": (BackwardMissingVarianceTerm, {},
                                    {"backward-vs-symbolic", "backward-finite-difference", "backward-invariants"},
                                    "ẑ·Σ(dy·ẑ) is missing"),
    "BackwardMissingMeanTerm": (BackwardMissingMeanTerm, {},
                                {"backward-vs-symbolic", "backward-finite-difference", "backward-invariants"},
                                "Σ dy is missing"),
    "BackwardWrongDgamma": (BackwardWrongDgamma, {}, {"backward-vs-symbolic", "backward-finite-difference"}, None),
    "EvalUsesBatchStatistics": (EvalUsesBatchStatistics, {}, {"eval-uses-running-stats"}, "batch statistics"),
    "GammaBetaSwapped": (GammaBetaSwapped, {}, {"forward-vs-reference"}, "γ and β swapped"),
    "StatisticsOverFeatures": (StatisticsOverFeatures, {}, {"forward-vs-reference"}, "over the features"),
    "NoEps": (NoEps, {}, {"output-moments"}, "ε is ignored"),
    "MutatesInput": (MutatesInput, {}, {"protocol"}, None),
}
