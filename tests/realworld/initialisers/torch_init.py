"""``torch.nn.init`` as people call it (PyTorch's (out, in, *kernel) layout, filling in place).

Correct calls, and classic misuses: ``kaiming_uniform_(w, a=√5)`` (what
``nn.Linear`` uses, not He's initialisation), and
``trunc_normal_(w, std=σ)`` whose bounds ``a = −2, b = 2`` are absolute, so
a small σ is not truncated at all.
"""

import math

import torch
from torch.nn import init

from tests.realworld.corpus import buggy, correct


def kaiming_normal_relu(w):
    return init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")


def kaiming_uniform_relu(w):
    return init.kaiming_uniform_(w, nonlinearity="relu")


def linear_default_init(w):
    return init.kaiming_uniform_(w, a=math.sqrt(5))   # nn.Linear's reset_parameters: gain √(2/6), σ = 1/√(3·fan_in)


def he_trunc_normal(w):
    fan_in = w.shape[1] * math.prod(w.shape[2:])
    s = math.sqrt(2.0 / fan_in) / 0.87962566103423978
    return init.trunc_normal_(w, std=s, a=-2 * s, b=2 * s)


def he_trunc_normal_absolute_bounds(w):
    fan_in = w.shape[1] * math.prod(w.shape[2:])
    s = math.sqrt(2.0 / fan_in) / 0.87962566103423978
    return init.trunc_normal_(w, std=s)      # a = -2, b = 2: hundreds of σ away


def kaiming_normal_fan_out(w):
    return init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")


def manual_normal_(w):
    fan_in = w.size(1) * w[0][0].numel()
    with torch.no_grad():
        return w.normal_(0, math.sqrt(2.0 / fan_in))


SRC = "torch.nn.init (PyTorch 2.x)"
CASES = [
    correct("torch-kaiming-normal", kaiming_normal_relu, "init-he", SRC,
            cli="torch.nn.init.kaiming_normal_"),
    correct("torch-kaiming-uniform-relu", kaiming_uniform_relu, "init-he", SRC, params={"distribution": "uniform"}),
    correct("torch-xavier-normal", init.xavier_normal_, "init-xavier", SRC),
    correct("torch-xavier-uniform", init.xavier_uniform_, "init-xavier", SRC, params={"distribution": "uniform"}),
    correct("torch-trunc-normal-he", he_trunc_normal, "init-he", SRC, params={"distribution": "truncated"}),
    correct("torch-manual-normal", manual_normal_, "init-he", SRC + ": tensor.normal_ with fan_in = size(1)·kernel"),
    buggy("torch-linear-default-as-he", linear_default_init, "init-he", SRC,
          "nn.Linear's kaiming_uniform_(w, a=√5) taken for He's initialisation", {"std"}, "constant factor",
          params={"distribution": "uniform"}),
    buggy("torch-trunc-normal-absolute-bounds", he_trunc_normal_absolute_bounds, "init-he", SRC,
          "trunc_normal_'s bounds a, b are absolute: nothing is truncated", {"distribution-shape"},
          "follow a normal distribution instead of a normal truncated", params={"distribution": "truncated"}),
    buggy("torch-kaiming-normal-fan-out", kaiming_normal_fan_out, "init-he", SRC,
          "mode='fan_out' checked as He (fan_in)", {"std"}, "fan_in and fan_out swapped"),
]
