"""Andrej Karpathy's ``BatchNorm1d`` from "Building makemore, part 3" (nn-zero-to-hero), in its shape.

A plain class (not an ``nn.Module``) over torch tensors: ``__call__(x)``, a
``training`` attribute, ``gamma``/``beta``, running mean 0 and variance 1
updated PyTorch's way under ``torch.no_grad()``. It normalises with
``x.var(0)``, torch's *unbiased* variance, where Ioffe & Szegedy's Algorithm 1
(and the spec) use the biased one: the lecture itself points at this
train/test discrepancy. dlverify names it. The wrapper converts numpy to
torch and back, and differentiates with autograd for the backward pass.
"""

import numpy as np
import torch

from tests.realworld.corpus import buggy


class BatchNorm1d:
    def __init__(self, dim, eps=1e-5, momentum=0.1):
        self.eps, self.momentum = eps, momentum
        self.training = True
        self.gamma, self.beta = torch.ones(dim), torch.zeros(dim)
        self.running_mean, self.running_var = torch.zeros(dim), torch.ones(dim)

    def __call__(self, x):
        if self.training:
            xmean = x.mean(0, keepdim=True)
            xvar = x.var(0, keepdim=True)
        else:
            xmean, xvar = self.running_mean, self.running_var
        xhat = (x - xmean) / torch.sqrt(xvar + self.eps)
        self.out = self.gamma * xhat + self.beta
        if self.training:
            with torch.no_grad():
                self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * xmean
                self.running_var = (1 - self.momentum) * self.running_var + self.momentum * xvar
        return self.out


def _numpy(v):
    return (v.detach().numpy() if torch.is_tensor(v) else np.asarray(v)).astype(np.float64)


class MakemoreBN(BatchNorm1d):
    """The user's wrapper: numpy in and out, float64, backward by autograd."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__(num_features, eps, momentum)
        self.gamma, self.beta = self.gamma.double(), self.beta.double()
        self.running_mean, self.running_var = self.running_mean.double(), self.running_var.double()

    def forward(self, x, training=True):
        self.training = training
        self._x = torch.tensor(x, requires_grad=True)
        self.gamma = torch.as_tensor(_numpy(self.gamma)).requires_grad_(True)
        self.beta = torch.as_tensor(_numpy(self.beta)).requires_grad_(True)
        return self(self._x).detach().numpy()

    def backward(self, dy):
        grads = torch.autograd.grad(self.out, (self._x, self.gamma, self.beta), torch.tensor(dy))
        return tuple(g.numpy() for g in grads)


SRC = "karpathy/nn-zero-to-hero, makemore part 3: BatchNorm1d (x.var(0) is torch's unbiased variance)"
CASES = [
    buggy("karpathy-makemore", MakemoreBN, "batchnorm", SRC,
          "normalises with the unbiased batch variance (torch's x.var default)",
          {"forward-vs-reference", "output-moments"}, "unbiased variance σ²·N/(N − 1) normalises"),
]
