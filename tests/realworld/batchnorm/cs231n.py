"""CS231n assignment 2 (``cs231n/layers.py``), as course solutions write it.

``batchnorm_forward(x, gamma, beta, bn_param)`` keeps its running statistics
in the ``bn_param`` dict, created at the first training call as *zeros* (the
variance too), updated as ``momentum·running + (1 − momentum)·batch`` with the
biased batch variance (the assignment's docstring); ``batchnorm_backward``
walks the computation graph stage by stage, ``batchnorm_backward_alt`` is the
simplified formula. The module itself is the target (dlverify recognises the
bn_param protocol); the buggy variants are the usual student slips, in the
same shape.
"""

from types import SimpleNamespace

import numpy as np

from tests.realworld.corpus import buggy, correct


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    out, cache = None, None
    if mode == "train":
        sample_mean = x.mean(axis=0)
        x_centred = x - sample_mean
        sample_var = (x_centred ** 2).mean(axis=0)
        std = np.sqrt(sample_var + eps)
        x_hat = x_centred / std
        out = gamma * x_hat + beta
        cache = (x_hat, gamma, x_centred, std)
        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
    elif mode == "test":
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
    else:
        raise ValueError(f'Invalid forward batchnorm mode "{mode}"')
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    # stage by stage through out = gamma * x_hat + beta, x_hat = xc / std, std = sqrt(var + eps)
    x_hat, gamma, x_centred, std = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx_centred = dx_hat / std
    dstd = -np.sum(dx_hat * x_centred / std ** 2, axis=0)
    dvar = 0.5 * dstd / std
    dx_centred += 2.0 / N * x_centred * dvar
    dmean = -np.sum(dx_centred, axis=0)
    dx = dx_centred + dmean / N
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    x_hat, gamma, _, std = cache
    N = dout.shape[0]
    dgamma = (dout * x_hat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    dx = gamma / (N * std) * (N * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def _test_mode_uses_batch_statistics(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    bn_param["mode"] = "train"          # "the same code path for both modes" -- the batch is normalised by itself
    try:
        out, cache = batchnorm_forward(x, gamma, beta, bn_param)
    finally:
        bn_param["mode"] = mode
    return out, cache


def _running_stats_never_stored(x, gamma, beta, bn_param):
    scratch = dict(bn_param)            # works on a copy: the updated statistics never reach bn_param
    return batchnorm_forward(x, gamma, beta, scratch)


def _eps_outside_the_root(x, gamma, beta, bn_param):
    if bn_param["mode"] != "train":
        return batchnorm_forward(x, gamma, beta, bn_param)
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    D = x.shape[1]
    mu, var = x.mean(axis=0), x.var(axis=0)
    std = np.sqrt(var) + eps
    x_hat = (x - mu) / std
    bn_param["running_mean"] = momentum * bn_param.get("running_mean", np.zeros(D)) + (1 - momentum) * mu
    bn_param["running_var"] = momentum * bn_param.get("running_var", np.zeros(D)) + (1 - momentum) * var
    return gamma * x_hat + beta, (x_hat, gamma, x - mu, std)


def _momentum_weights_the_batch(x, gamma, beta, bn_param):
    # running = (1 - momentum) * running + momentum * batch, with CS231n's momentum = 0.9
    out, cache = batchnorm_forward(x, gamma, beta, {**bn_param, "momentum": 1 - bn_param.get("momentum", 0.9)})
    if bn_param["mode"] == "train":
        m = bn_param.get("momentum", 0.9)
        D = x.shape[1]
        bn_param["running_mean"] = (1 - m) * bn_param.get("running_mean", np.zeros(D)) + m * x.mean(axis=0)
        bn_param["running_var"] = (1 - m) * bn_param.get("running_var", np.zeros(D)) + m * x.var(axis=0)
    return out, cache


def _backward_forgets_the_mean_path(dout, cache):
    x_hat, gamma, x_centred, std = cache
    N = dout.shape[0]
    dx_hat = dout * gamma
    dx_centred = dx_hat / std
    dvar = 0.5 * -np.sum(dx_hat * x_centred / std ** 2, axis=0) / std
    dx = dx_centred + 2.0 / N * x_centred * dvar        # the gradient through the mean is left out
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def _dgamma_without_x_hat(dout, cache):
    dx, _, dbeta = batchnorm_backward(dout, cache)
    return dx, dout.sum(axis=0), dbeta


SRC = "CS231n assignment 2 solutions, cs231n/layers.py batchnorm_forward / batchnorm_backward(_alt)"
_ns = SimpleNamespace
CASES = [
    correct("cs231n-staged-backward", _ns(batchnorm_forward=batchnorm_forward,
                                          batchnorm_backward=batchnorm_backward), "batchnorm", SRC,
            cli="tests/realworld/batchnorm/cs231n.py:batchnorm_forward"),
    correct("cs231n-alt-backward", _ns(batchnorm_forward=batchnorm_forward,
                                       batchnorm_backward=batchnorm_backward_alt), "batchnorm", SRC),
    correct("cs231n-momentum-declared", _ns(batchnorm_forward=batchnorm_forward,
                                            batchnorm_backward=batchnorm_backward),
            "batchnorm", SRC, params={"momentum": 0.9, "convention": "keras"}),
    buggy("cs231n-test-mode-batch-stats", _ns(batchnorm_forward=_test_mode_uses_batch_statistics,
                                              batchnorm_backward=batchnorm_backward), "batchnorm", SRC,
          "test mode normalises with the batch's statistics", {"eval-uses-running-stats"},
          "batch statistics instead of the running ones"),
    buggy("cs231n-running-never-stored", _ns(batchnorm_forward=_running_stats_never_stored,
                                             batchnorm_backward=batchnorm_backward), "batchnorm", SRC,
          "the running statistics are never written back to bn_param",
          {"running-statistics", "eval-uses-running-stats"}, "no running statistics"),
    buggy("cs231n-eps-outside-root", _ns(batchnorm_forward=_eps_outside_the_root,
                                         batchnorm_backward=batchnorm_backward), "batchnorm", SRC,
          "ε added to the standard deviation", {"output-moments"}, "ε outside the square root"),
    buggy("cs231n-momentum-weights-batch", _ns(batchnorm_forward=_momentum_weights_the_batch,
                                               batchnorm_backward=batchnorm_backward), "batchnorm", SRC,
          "momentum weights the batch statistic instead of the running value", {"running-statistics"},
          "PyTorch's form"),
    buggy("cs231n-backward-no-mean-path", _ns(batchnorm_forward=batchnorm_forward,
                                              batchnorm_backward=_backward_forgets_the_mean_path),
          "batchnorm", SRC, "dx misses the path through the batch mean",
          {"backward-vs-symbolic", "backward-finite-difference"}, "Σ dy is missing"),
    buggy("cs231n-dgamma-sum-dout", _ns(batchnorm_forward=batchnorm_forward,
                                        batchnorm_backward=_dgamma_without_x_hat), "batchnorm", SRC,
          "dgamma = Σ dout (x_hat forgotten)", {"backward-vs-symbolic", "backward-finite-difference"},
          "dgamma"),
]
