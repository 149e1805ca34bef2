"""ML-From-Scratch's ``BatchNormalization`` (mlfromscratch/deep_learning/layers.py), in its shape.

``momentum=0.99`` in Keras' sense, ``eps = 0.01`` fixed as an attribute, the
running statistics created at the first forward *from that batch's own
statistics*, biased variance; ``forward_pass(X, training)``;
``backward_pass(accum_grad)`` updates γ and β through its optimizers and
returns the input gradient only. The wrapper gives it an identity
"optimizer" that records the gradients instead.
"""

import numpy as np

from tests.realworld.corpus import correct


class _Record:
    def __init__(self):
        self.grad = None

    def update(self, w, grad):
        self.grad = grad
        return w


class BatchNormalization:
    def __init__(self, momentum=0.99):
        self.momentum = momentum
        self.trainable = True
        self.eps = 0.01
        self.running_mean = None
        self.running_var = None

    def initialize(self, input_shape, optimizer):
        self.gamma, self.beta = np.ones(input_shape), np.zeros(input_shape)
        self.gamma_opt, self.beta_opt = optimizer(), optimizer()

    def forward_pass(self, X, training=True):
        if self.running_mean is None:
            self.running_mean = np.mean(X, axis=0)
            self.running_var = np.var(X, axis=0)
        if training and self.trainable:
            mean, var = np.mean(X, axis=0), np.var(X, axis=0)
            self.running_mean = self.momentum * self.running_mean + (1 - self.momentum) * mean
            self.running_var = self.momentum * self.running_var + (1 - self.momentum) * var
        else:
            mean, var = self.running_mean, self.running_var
        self.X_centered = X - mean
        self.stddev_inv = 1 / np.sqrt(var + self.eps)
        return self.gamma * self.X_centered * self.stddev_inv + self.beta

    def backward_pass(self, accum_grad):
        gamma = self.gamma
        if self.trainable:
            X_norm = self.X_centered * self.stddev_inv
            self.gamma = self.gamma_opt.update(self.gamma, np.sum(accum_grad * X_norm, axis=0))
            self.beta = self.beta_opt.update(self.beta, np.sum(accum_grad, axis=0))
        batch_size = accum_grad.shape[0]
        return (1 / batch_size) * gamma * self.stddev_inv * (
            batch_size * accum_grad - np.sum(accum_grad, axis=0)
            - self.X_centered * self.stddev_inv ** 2 * np.sum(accum_grad * self.X_centered, axis=0))


class FromScratchBN(BatchNormalization):
    """The user's wrapper: the protocol's constructor, forward and backward."""

    def __init__(self, num_features, momentum=0.99):
        super().__init__(momentum)
        self.initialize(num_features, _Record)

    def forward(self, x, training=True):
        return self.forward_pass(x, training)

    def backward(self, dy):
        dx = self.backward_pass(dy)
        return dx, self.gamma_opt.grad, self.beta_opt.grad


SRC = "eriklindernoren/ML-From-Scratch, mlfromscratch/deep_learning/layers.py BatchNormalization"
CASES = [
    # ε = 0.01 is read from the layer; the running statistics start at the first batch's own statistics.
    correct("ml-from-scratch", FromScratchBN, "batchnorm", SRC, params={"convention": "keras", "momentum": 0.99}),
]
