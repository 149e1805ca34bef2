"""Dive into Deep Learning, §8.5 "Batch Normalization" (PyTorch tab), in its own shape.

A ``batch_norm`` function tells training from prediction by
``torch.is_grad_enabled()``; the ``BatchNorm(num_features, num_dims)`` module
keeps ``gamma``/``beta`` as ``(1, C)`` parameters and ``moving_mean`` /
``moving_var`` as plain tensors (zeros and ones), and hard-codes
``eps=1e-5, momentum=0.9`` in ``moving = (1 − momentum)·moving +
momentum·batch``, with the biased batch variance. The wrapper only fixes
``num_dims = 2``, as a user would to give it the protocol's constructor.
"""

import torch
from torch import nn

from tests.realworld.corpus import buggy, correct


def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if not torch.is_grad_enabled():
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        assert len(X.shape) in (2, 4)
        if len(X.shape) == 2:
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
        else:
            mean = X.mean(dim=(0, 2, 3), keepdim=True)
            var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
        moving_var = (1.0 - momentum) * moving_var + momentum * var
    Y = gamma * X_hat + beta
    return Y, moving_mean.data, moving_var.data


class BatchNorm(nn.Module):
    def __init__(self, num_features, num_dims):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.moving_mean = torch.zeros(shape)
        self.moving_var = torch.ones(shape)

    def forward(self, X):
        if self.moving_mean.device != X.device:
            self.moving_mean = self.moving_mean.to(X.device)
            self.moving_var = self.moving_var.to(X.device)
        Y, self.moving_mean, self.moving_var = batch_norm(
            X, self.gamma, self.beta, self.moving_mean, self.moving_var, eps=1e-5, momentum=0.9)
        return Y


class D2LBatchNorm1d(BatchNorm):
    """The user's wrapper: d2l's layer for (N, C) inputs."""

    def __init__(self, num_features):
        super().__init__(num_features, num_dims=2)


class D2LVarianceNotCentred(D2LBatchNorm1d):
    """A slip in the same shape: var = mean(X²) (the mean is not subtracted)."""

    def forward(self, X):
        if not torch.is_grad_enabled():
            return super().forward(X)
        mean = X.mean(dim=0)
        var = (X ** 2).mean(dim=0)
        Y = self.gamma * (X - mean) / torch.sqrt(var + 1e-5) + self.beta
        self.moving_mean = (0.1 * self.moving_mean + 0.9 * mean).data
        self.moving_var = (0.1 * self.moving_var + 0.9 * var).data
        return Y


SRC = "d2l.ai §8.5 batch-norm.md (PyTorch tab): batch_norm() and BatchNorm(num_features, num_dims)"
CASES = [
    # The layer fixes momentum = 0.9 (on the new batch) and takes none: its running statistics cannot be
    # checked against the spec's m = 0.1, which it never sees -- "inconclusive", naming its own weight.
    correct("d2l-torch", D2LBatchNorm1d, "batchnorm", SRC, inconclusive={"running-statistics"}),
    # Declared, its own momentum is checked (PyTorch's form, m = 0.9 on the new batch) and passes.
    correct("d2l-torch-momentum-declared", D2LBatchNorm1d, "batchnorm", SRC, params={"momentum": 0.9}),
    buggy("d2l-variance-not-centred", D2LVarianceNotCentred, "batchnorm", SRC,
          "the batch variance is E[x²], not centred", {"forward-vs-reference", "output-moments"},
          "the variance is not centred"),
]
