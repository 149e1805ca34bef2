"""Names the pages' Python fragments use without defining them, each a small correct instance."""

import numpy as np
import torch

from my_opt import MyAdam, MyMomentum  # noqa: F401
from verify.stats import planned_sample_size, two_hypotheses_test  # noqa: F401

_rng = np.random.default_rng(0)

# A function, its gradient and a point (README, docs/gradcheck.md).
x = _rng.standard_normal(20)


def f(x):
    return float(np.sum(np.log1p(np.exp(x))))


def grad_f(x):
    return 1.0 / (1.0 + np.exp(-x))


grad = grad_f

# A batch-norm forward and its vector-Jacobian product (docs/gradcheck.md).
X = _rng.standard_normal((8, 3))


def bn_forward(x, eps=1e-5):
    return (x - x.mean(0)) / np.sqrt(x.var(0) + eps)


def bn_backward(x, dy, eps=1e-5):
    n = x.shape[0]
    xhat = bn_forward(x, eps)
    return (n * dy - dy.sum(0) - xhat * (dy * xhat).sum(0)) / (n * np.sqrt(x.var(0) + eps))


def fn(t):
    return (t.sin() * t).sum()


x_tensor = torch.tensor(_rng.standard_normal(5), dtype=torch.float64)

# Unbiased running-variance ratios at batch size N (docs/statistics.md).
N = 4
ratios = np.array([np.var(_rng.standard_normal(N), ddof=1) for _ in range(2000)])

# A figure's data (docs/reports.md).
steps = np.arange(30)
target_loss = 0.85 ** steps
ref_loss = 0.85 ** steps
bound = 0.85 ** steps
