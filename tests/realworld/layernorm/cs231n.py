"""CS231n assignment 2 (``cs231n/layers.py``): ``layernorm_forward(x, gamma, beta, ln_param)`` and
``layernorm_backward(dout, cache)``, as course solutions write them.

Two shapes seen in public solutions: the transpose trick (the batch-norm code run on ``x.T``, so the
statistics are per example, then transposed back) and the direct one (``axis=1, keepdims=True``) with a
backward written stage by stage. The buggy variants are the slips the transpose trick invites (a
batch-norm function reused without transposing) and the usual backward mistakes.
"""

from types import SimpleNamespace

import numpy as np

from tests.realworld.corpus import buggy, correct


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    xt = x.T                                         # (D, N): batch norm's statistics over axis 0 are per example
    mu = xt.mean(axis=0)
    var = xt.var(axis=0)
    x_norm = ((xt - mu) / np.sqrt(var + eps)).T
    out = gamma * x_norm + beta
    return out, (x_norm, gamma, var, eps)


def layernorm_backward(dout, cache):
    x_norm, gamma, var, eps = cache
    dgamma = (dout * x_norm).sum(axis=0)
    dbeta = dout.sum(axis=0)
    dxhat, xn = (dout * gamma).T, x_norm.T           # back to the transposed layout
    D = xn.shape[0]
    dx = 1.0 / D / np.sqrt(var + eps) * (D * dxhat - dxhat.sum(axis=0) - xn * (dxhat * xn).sum(axis=0))
    return dx.T, dgamma, dbeta


def layernorm_forward_direct(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mean = np.mean(x, axis=1, keepdims=True)
    xmu = x - mean
    var = np.mean(xmu ** 2, axis=1, keepdims=True)
    ivar = 1.0 / np.sqrt(var + eps)
    xhat = xmu * ivar
    return gamma * xhat + beta, (xhat, xmu, ivar, gamma)


def layernorm_backward_direct(dout, cache):
    # stage by stage through xhat = xmu * ivar, ivar = 1/sqrt(var + eps), var = mean(xmu²), xmu = x − mean
    xhat, xmu, ivar, gamma = cache
    D = dout.shape[1]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    divar = np.sum(dxhat * xmu, axis=1, keepdims=True)
    dxmu1 = dxhat * ivar
    dvar = -0.5 * ivar ** 3 * divar
    dxmu2 = 2.0 * xmu * dvar / D
    dx1 = dxmu1 + dxmu2
    dx2 = -np.sum(dx1, axis=1, keepdims=True) / D
    return dx1 + dx2, dgamma, dbeta


def _batchnorm_reused_without_transpose(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mu, var = x.mean(axis=0), x.var(axis=0)          # the batch-norm statistics, per feature
    x_norm = (x - mu) / np.sqrt(var + eps)
    return gamma * x_norm + beta, (x_norm.T, gamma, var, eps)


def _cached_x(x, gamma, beta, ln_param):
    out, (x_norm, gamma_, var, eps) = layernorm_forward(x, gamma, beta, ln_param)
    return out, (x_norm, gamma_, var, eps, x)


def _backward_without_transpose_real(dout, cache):
    # the batch-norm backward pasted as it is, on the untransposed input: sums over the batch axis
    x_norm, gamma, var, eps, x = cache
    N = dout.shape[0]
    sd = np.sqrt(x.var(axis=0) + eps)
    xh = (x - x.mean(axis=0)) / sd
    dxhat = dout * gamma
    dx = 1.0 / (N * sd) * (N * dxhat - dxhat.sum(axis=0) - xh * (dxhat * xh).sum(axis=0))
    return dx, (dout * x_norm).sum(axis=0), dout.sum(axis=0)


def _backward_no_variance_path(dout, cache):
    xhat, xmu, ivar, gamma = cache
    D = dout.shape[1]
    dxhat = dout * gamma
    dx = ivar * (dxhat - dxhat.sum(axis=1, keepdims=True) / D)     # the variance's dependence on x left out
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def _forward_unbiased(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mean = x.mean(axis=1, keepdims=True)
    std = np.sqrt(x.var(axis=1, ddof=1, keepdims=True) + eps)      # np.var(ddof=1): the sample variance
    xhat = (x - mean) / std
    return gamma * xhat + beta, (xhat, x - mean, 1.0 / std, gamma)


def _dgamma_averaged(dout, cache):
    dx, dgamma, dbeta = layernorm_backward_direct(dout, cache)
    n = dout.shape[0]
    return dx, dgamma / n, dbeta / n


SRC = "CS231n assignment 2 solutions, cs231n/layers.py layernorm_forward / layernorm_backward"
_ns = SimpleNamespace
CASES = [
    correct("cs231n-ln-transpose-trick", _ns(layernorm_forward=layernorm_forward,
                                             layernorm_backward=layernorm_backward), "layernorm", SRC,
            cli="tests/realworld/layernorm/cs231n.py:layernorm_forward"),
    correct("cs231n-ln-direct-staged", _ns(layernorm_forward=layernorm_forward_direct,
                                           layernorm_backward=layernorm_backward_direct), "layernorm", SRC),
    buggy("cs231n-ln-batchnorm-not-transposed", _ns(layernorm_forward=_batchnorm_reused_without_transpose,
                                                    layernorm_backward=layernorm_backward), "layernorm", SRC,
          "the batch-norm code reused without transposing: statistics per feature",
          {"forward-vs-reference", "output-moments", "rescaling"}, "over the batch axis"),
    buggy("cs231n-ln-backward-not-transposed", _ns(layernorm_forward=_cached_x,
                                                   layernorm_backward=_backward_without_transpose_real),
          "layernorm", SRC, "the batch-norm backward pasted without transposing",
          {"backward-vs-symbolic", "backward-finite-difference", "backward-invariants"}, "over the batch axis"),
    buggy("cs231n-ln-no-variance-path", _ns(layernorm_forward=layernorm_forward_direct,
                                            layernorm_backward=_backward_no_variance_path), "layernorm", SRC,
          "dx misses the path through the variance",
          {"backward-vs-symbolic", "backward-finite-difference", "backward-invariants"},
          "the variance's dependence on x ignored"),
    buggy("cs231n-ln-unbiased-variance", _ns(layernorm_forward=_forward_unbiased,
                                             layernorm_backward=layernorm_backward_direct), "layernorm", SRC,
          "np.var(ddof=1) normalises", {"forward-vs-reference", "output-moments"}, "unbiased variance"),
    buggy("cs231n-ln-dgamma-averaged", _ns(layernorm_forward=layernorm_forward_direct,
                                           layernorm_backward=_dgamma_averaged), "layernorm", SRC,
          "dgamma and dbeta divided by N", {"backward-vs-symbolic", "backward-finite-difference"},
          "averaged over the batch instead of summed"),
]
