"""Keras' ``BatchNormalization`` layer (keras/layers/normalization), rewritten in numpy in its shape.

Defaults ``momentum=0.99, epsilon=1e-3``; ``moving_mean`` starts at zeros and
``moving_variance`` at ones; in training, ``moving = moving·momentum +
batch·(1 − momentum)`` with the biased variance (``tf.nn.moments``);
``call(inputs, training)``. No backward: Keras gets it by autodiff, so the
backward checks are skipped. Checked under its own convention, declared.
"""

import numpy as np

from tests.realworld.corpus import buggy, correct


class KerasLikeBatchNormalization:
    def __init__(self, units, momentum=0.99, epsilon=1e-3):
        self.momentum, self.epsilon = momentum, epsilon
        self.gamma, self.beta = np.ones(units), np.zeros(units)
        self.moving_mean, self.moving_variance = np.zeros(units), np.ones(units)

    def _assign_moving_average(self, variable, value):
        return variable * self.momentum + value * (1.0 - self.momentum)

    def call(self, inputs, training=None):
        if training:
            mean = inputs.mean(axis=0)
            variance = ((inputs - mean) ** 2).mean(axis=0)
            self.moving_mean = self._assign_moving_average(self.moving_mean, mean)
            self.moving_variance = self._assign_moving_average(self.moving_variance, variance)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        inv = 1.0 / np.sqrt(variance + self.epsilon) * self.gamma
        return inputs * inv + (self.beta - mean * inv)


class KerasStyleBN(KerasLikeBatchNormalization):
    """The user's wrapper: the protocol's constructor and forward."""

    def __init__(self, num_features, eps=1e-3, momentum=0.99):
        super().__init__(num_features, momentum=momentum, epsilon=eps)

    def forward(self, x, training=True):
        return self.call(x, training=training)


class KerasStyleStdInVariance(KerasStyleBN):
    """A slip in the same shape: the moving "variance" is fed the standard deviation."""

    def call(self, inputs, training=None):
        if not training:
            return super().call(inputs, training)
        mean, variance = inputs.mean(axis=0), inputs.var(axis=0)
        self.moving_mean = self._assign_moving_average(self.moving_mean, mean)
        self.moving_variance = self._assign_moving_average(self.moving_variance, np.sqrt(variance))
        return self.gamma * (inputs - mean) / np.sqrt(variance + self.epsilon) + self.beta


SRC = "Keras BatchNormalization (momentum 0.99, epsilon 1e-3, moving_variance initialised to ones)"
KERAS = {"convention": "keras", "momentum": 0.99, "eps": 1e-3}
CASES = [
    correct("keras-style-declared", KerasStyleBN, "batchnorm", SRC, params=KERAS),
    buggy("keras-style-std-in-variance", KerasStyleStdInVariance, "batchnorm", SRC,
          "the moving variance is fed the standard deviation", {"running-statistics"},
          "standard deviation instead of the variance", params=KERAS),
]
