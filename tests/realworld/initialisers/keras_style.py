"""Keras' ``VarianceScaling`` initialiser (keras/initializers), rewritten in numpy in its shape.

Fans from ``_compute_fans``: the receptive field is the product of every
dimension but the last two, ``fan_in = shape[-2]·rf``, ``fan_out =
shape[-1]·rf``; ``scale / max(1, fan)`` for the mode (``fan_in``,
``fan_out``, ``fan_avg``); ``truncated_normal`` divides σ by 0.87962566103423978
so the truncated weights keep the variance; ``uniform`` uses the limit
√(3·variance). ``he_normal``, ``glorot_uniform`` and ``lecun_normal`` are
instances. Written with a numpy ``Generator``, as the protocol's ``rng``.
"""

import math

import numpy as np

from tests.realworld.corpus import buggy, correct


def _compute_fans(shape):
    shape = tuple(shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field_size = math.prod(shape[:-2])
    return shape[-2] * receptive_field_size, shape[-1] * receptive_field_size


class VarianceScaling:
    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal"):
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, rng):
        fan_in, fan_out = _compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, fan)
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(scale) / 0.87962566103423978
            out = rng.normal(0.0, stddev, size=shape)
            bad = np.abs(out) > 2 * stddev
            while bad.any():
                out[bad] = rng.normal(0.0, stddev, size=int(bad.sum()))
                bad = np.abs(out) > 2 * stddev
            return out
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, math.sqrt(scale), size=shape)
        limit = math.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, size=shape)


he_normal = VarianceScaling(2.0, "fan_in", "truncated_normal")
he_uniform = VarianceScaling(2.0, "fan_in", "uniform")
glorot_uniform = VarianceScaling(1.0, "fan_avg", "uniform")
glorot_normal = VarianceScaling(1.0, "fan_avg", "truncated_normal")
lecun_normal = VarianceScaling(1.0, "fan_in", "truncated_normal")
he_normal_fan_out = VarianceScaling(2.0, "fan_out", "untruncated_normal")


class _FanSumWithoutHalf(VarianceScaling):
    """A slip in the same shape: fan_avg computed as fan_in + fan_out (the /2 forgotten)."""

    def __call__(self, shape, rng):
        fan_in, fan_out = _compute_fans(shape)
        return rng.normal(0.0, math.sqrt(self.scale / (fan_in + fan_out)), size=shape)


SRC = "Keras VarianceScaling / he_normal / glorot_uniform / lecun_normal (keras/initializers)"
CASES = [
    correct("keras-he-normal", he_normal, "init-he", SRC, params={"distribution": "truncated"}),
    correct("keras-he-uniform", he_uniform, "init-he", SRC, params={"distribution": "uniform"}),
    correct("keras-glorot-uniform", glorot_uniform, "init-xavier", SRC, params={"distribution": "uniform"}),
    correct("keras-glorot-normal", glorot_normal, "init-xavier", SRC, params={"distribution": "truncated"}),
    correct("keras-lecun-normal", lecun_normal, "init-lecun", SRC, params={"distribution": "truncated"}),
    buggy("keras-he-fan-out-mode", he_normal_fan_out, "init-he", SRC, "mode='fan_out' where He uses fan_in",
          {"std"}, "fan_in and fan_out swapped"),
    buggy("keras-glorot-fan-sum", _FanSumWithoutHalf(1.0, "fan_avg", "untruncated_normal"), "init-xavier", SRC,
          "fan_avg without the /2: σ = √(1/(fan_in + fan_out))", {"std"}, "without the factor 2"),
]
