"""Initialisers written the way course code writes them, right and wrong.

``np.random.randn(...) * np.sqrt(2 / fan_in)`` ignoring the ``rng`` it is
given, legacy ``RandomState`` calls (``rng.randn``), float32 weights,
convolution kernels in numpy's ``(kh, kw, in, out)`` and PyTorch's
``(out, in, kh, kw)`` layouts; then the usual mistakes in the same shapes.
"""

import math

import numpy as np

from tests.realworld.corpus import buggy, correct


def he_randn(shape, rng):
    fan_in = np.prod(shape[:-1])                 # (kh, kw, in) for a kernel, the rows for a matrix
    return np.random.randn(*shape) * np.sqrt(2.0 / fan_in)


def lecun_randn(shape, rng):
    return np.random.randn(*shape) / np.sqrt(np.prod(shape[:-1]))


def xavier_with_rng(shape, rng):
    receptive = math.prod(shape[:-2])
    fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def he_legacy_randomstate(shape, rng):
    fan_in = np.prod(shape[:-1])
    return rng.randn(*shape) * np.sqrt(2. / fan_in)      # written for np.random.RandomState


def he_float32(shape, rng):
    fan_in = np.prod(shape[:-1])
    return (rng.standard_normal(shape) * np.sqrt(2 / fan_in)).astype(np.float32)


def he_conv_torch_layout(shape, rng):
    out_ch, in_ch, *kernel = shape
    fan_in = in_ch * int(np.prod(kernel))
    return rng.normal(0, np.sqrt(2 / fan_in), size=shape)


def he_uniform_limit(shape, rng):
    limit = np.sqrt(6 / np.prod(shape[:-1]))
    return rng.uniform(-limit, limit, size=shape)


# --------------------------------------------------------------------------- mistakes


def he_fan_in_shape0(shape, rng):
    return np.random.randn(*shape) * np.sqrt(2.0 / shape[0])


def he_fan_in_without_kernel(shape, rng):
    return np.random.randn(*shape) * np.sqrt(2.0 / shape[-2])


def he_torch_layout_without_kernel(shape, rng):
    return rng.normal(0, np.sqrt(2 / shape[1]), size=shape)


def he_fans_swapped(shape, rng):
    receptive = math.prod(shape[:-2])
    return np.random.randn(*shape) * np.sqrt(2.0 / (shape[-1] * receptive))


def xavier_missing_two(shape, rng):
    receptive = math.prod(shape[:-2])
    return rng.normal(0, np.sqrt(1 / (shape[-2] * receptive + shape[-1] * receptive)), size=shape)


def he_uniform_limit_is_sigma(shape, rng):
    limit = np.sqrt(2 / np.prod(shape[:-1]))
    return rng.uniform(-limit, limit, size=shape)


def he_variance_as_std(shape, rng):
    return rng.normal(0, 2 / np.prod(shape[:-1]), size=shape)


def he_without_gain(shape, rng):
    return np.random.randn(*shape) * np.sqrt(1.0 / np.prod(shape[:-1]))


def xavier_uniform_bound_as_sigma(shape, rng):
    receptive = math.prod(shape[:-2])
    return rng.normal(0, np.sqrt(6 / ((shape[-2] + shape[-1]) * receptive)), size=shape)


def he_reseeded(shape, rng):
    np.random.seed(42)                           # "for reproducibility"
    return np.random.randn(*shape) * np.sqrt(2.0 / np.prod(shape[:-1]))


def he_rows_shared(shape, rng):
    row = rng.normal(0, np.sqrt(2 / np.prod(shape[:-1])), size=shape[-1])
    return np.tile(row, shape[:-1] + (1,))


SRC = "course-style numpy initialisers"
CASES = [
    correct("student-he-randn", he_randn, "init-he", SRC, cli="tests/realworld/initialisers/students.py:he_randn"),
    correct("student-lecun-randn", lecun_randn, "init-lecun", SRC),
    correct("student-xavier-rng", xavier_with_rng, "init-xavier", SRC),
    correct("student-he-randomstate-api", he_legacy_randomstate, "init-he", SRC),
    correct("student-he-float32", he_float32, "init-he", SRC),
    correct("student-he-torch-layout", he_conv_torch_layout, "init-he", SRC, params={"layout": "torch"}),
    correct("student-he-uniform", he_uniform_limit, "init-he", SRC, params={"distribution": "uniform"}),
    buggy("student-he-fan-in-shape0", he_fan_in_shape0, "init-he", SRC, "fan_in = shape[0]: the kernel height",
          {"std"}, "fan_in = shape[0]"),
    buggy("student-he-kernel-ignored", he_fan_in_without_kernel, "init-he", SRC, "the kernel size left out of fan_in",
          {"std"}, "kernel size is ignored"),
    buggy("student-he-torch-layout-kernel-ignored", he_torch_layout_without_kernel, "init-he", SRC,
          "fan_in = shape[1] without the kernel, PyTorch layout", {"std"}, "kernel size is ignored",
          params={"layout": "torch"}),
    buggy("student-he-fans-swapped", he_fans_swapped, "init-he", SRC, "fan_out used", {"std"},
          "fan_in and fan_out swapped"),
    buggy("student-xavier-missing-two", xavier_missing_two, "init-xavier", SRC, "σ = √(1/(fan_in + fan_out))",
          {"std"}, "without the factor 2"),
    buggy("student-he-uniform-limit-is-sigma", he_uniform_limit_is_sigma, "init-he", SRC,
          "the uniform's limit set to σ", {"std"}, "uniform bound σ instead of √3 σ", params={"distribution": "uniform"}),
    buggy("student-he-variance-as-std", he_variance_as_std, "init-he", SRC, "2/fan_in passed as the std", {"std"},
          "variance used as the standard deviation"),
    buggy("student-he-without-gain", he_without_gain, "init-he", SRC, "√(1/fan_in): LeCun's, not He's", {"std"},
          "gain √2 is missing"),
    buggy("student-xavier-uniform-bound-as-sigma", xavier_uniform_bound_as_sigma, "init-xavier", SRC,
          "Glorot's uniform limit used as a normal's σ", {"std"}, "uniform limit √3·σ used as the normal's σ"),
    buggy("student-he-reseeded", he_reseeded, "init-he", SRC, "np.random.seed(42) inside: every layer identical",
          {"protocol"}, "same weights whatever the seed"),
    buggy("student-he-rows-shared", he_rows_shared, "init-he", SRC, "one row tiled over the fan-in", {"independence"},
          "not independent"),
]
