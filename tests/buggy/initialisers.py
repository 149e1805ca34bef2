"""Buggy initialisers (protocol init(shape, rng), numpy layout), each a realistic mistake.

BUGS maps a name to (initialiser, spec, params, the checks that must fail, words the
diagnosis must contain or None).
"""

import math

import numpy as np


def _fans(shape):
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def he_sigma_5pct_small(shape, rng):
    fan_in, _ = _fans(shape)
    return rng.normal(0, 0.95 * math.sqrt(2 / fan_in), size=shape)


def he_fans_swapped(shape, rng):
    _, fan_out = _fans(shape)
    return rng.normal(0, math.sqrt(2 / fan_out), size=shape)


def he_missing_gain(shape, rng):
    fan_in, _ = _fans(shape)
    return rng.normal(0, math.sqrt(1 / fan_in), size=shape)


def he_uniform_right_variance(shape, rng):
    fan_in, _ = _fans(shape)
    bound = math.sqrt(3) * math.sqrt(2 / fan_in)
    return rng.uniform(-bound, bound, size=shape)


def he_uniform_bound_is_sigma(shape, rng):
    fan_in, _ = _fans(shape)
    s = math.sqrt(2 / fan_in)
    return rng.uniform(-s, s, size=shape)


def he_truncated_without_correction(shape, rng):
    fan_in, _ = _fans(shape)
    s = math.sqrt(2 / fan_in)
    out = rng.normal(0, s, size=shape)
    while (bad := np.abs(out) > 2 * s).any():
        out[bad] = rng.normal(0, s, size=int(bad.sum()))
    return out


def he_truncated_right_variance(shape, rng):
    fan_in, _ = _fans(shape)
    s = math.sqrt(2 / fan_in) / 0.87962566103423978
    out = rng.normal(0, s, size=shape)
    while (bad := np.abs(out) > 2 * s).any():
        out[bad] = rng.normal(0, s, size=int(bad.sum()))
    return out


def he_ignores_receptive_field(shape, rng):
    return rng.normal(0, math.sqrt(2 / shape[-2]), size=shape)


def he_variance_as_std(shape, rng):
    fan_in, _ = _fans(shape)
    return rng.normal(0, 2 / fan_in, size=shape)


def he_rows_repeated(shape, rng):
    fan_in, _ = _fans(shape)
    row = rng.normal(0, math.sqrt(2 / fan_in), size=shape[-1])
    return np.broadcast_to(row, shape).copy()


def he_nonzero_mean(shape, rng):
    fan_in, _ = _fans(shape)
    s = math.sqrt(2 / fan_in)
    return rng.normal(0.1 * s, s, size=shape)


def he_reseeds_itself(shape, rng):
    fan_in, _ = _fans(shape)
    return np.random.RandomState(0).normal(0, math.sqrt(2 / fan_in), size=shape)


def he_fan_in_first_axis(shape, rng):
    # the docs' old example: shape[0] is the kernel height of a (*kernel, fan_in, fan_out) weight
    return rng.normal(0, math.sqrt(2 / shape[0]), size=shape)


def he_truncation_leaks(shape, rng):
    # resamples the values beyond ±2s three times, then gives up: about 4e-6 of them stay outside
    fan_in, _ = _fans(shape)
    s = math.sqrt(2 / fan_in) / 0.87962566103423978
    out = rng.normal(0, s, size=shape)
    for _ in range(3):
        bad = np.abs(out) > 2 * s
        out[bad] = rng.normal(0, s, size=int(bad.sum()))
    return out


def he_torch_layout_kernel_ignored(shape, rng):
    # written for PyTorch's (out, in, *kernel): fan_in = shape[1], forgetting the kernel
    return rng.normal(0, math.sqrt(2 / shape[1]), size=shape)


def he_sorted(shape, rng):
    fan_in, _ = _fans(shape)
    return np.sort(rng.normal(0, math.sqrt(2 / fan_in), size=math.prod(shape))).reshape(shape)


def xavier_sum_without_2(shape, rng):
    fan_in, fan_out = _fans(shape)
    return rng.normal(0, math.sqrt(1 / (fan_in + fan_out)), size=shape)


def xavier_uniform_limit_as_sigma(shape, rng):
    fan_in, fan_out = _fans(shape)
    return rng.normal(0, math.sqrt(6 / (fan_in + fan_out)), size=shape)


def lecun_uses_he(shape, rng):
    fan_in, _ = _fans(shape)
    return rng.normal(0, math.sqrt(2 / fan_in), size=shape)


def lecun_sigma_6pct_large(shape, rng):
    fan_in, _ = _fans(shape)
    return rng.normal(0, 1.06 / math.sqrt(fan_in), size=shape)


def zero_bias(shape, rng):
    return np.zeros(shape)


def negative_bias(shape, rng):
    return np.full(shape, -0.01)


def random_bias(shape, rng):
    return rng.normal(0.01, 0.01, size=shape)


def big_bias(shape, rng):
    return np.full(shape, 1.0)


def dead_bias(shape, rng):
    return np.full(shape, -50.0)


BUGS = {
    # name: (target, spec, params, checks that must fail, diagnosis words or None)
    "he_sigma_5pct_small": (he_sigma_5pct_small, "init-he", {}, {"std"}, None),
    "he_fans_swapped": (he_fans_swapped, "init-he", {}, {"std"}, "fan_in and fan_out swapped"),
    "he_missing_gain": (he_missing_gain, "init-he", {}, {"std", "relu-depth"}, "gain √2 is missing"),
    "he_uniform_right_variance": (he_uniform_right_variance, "init-he", {}, {"distribution-shape"},
                                  "follow a uniform distribution instead of a normal"),
    "he_uniform_bound_is_sigma": (he_uniform_bound_is_sigma, "init-he", {"distribution": "uniform"}, {"std"},
                                  "uniform bound σ instead of √3 σ"),
    "he_truncated_without_correction": (he_truncated_without_correction, "init-he", {"distribution": "truncated"},
                                        {"std"}, "without the 0.8796 correction"),
    "he_truncated_right_variance": (he_truncated_right_variance, "init-he", {}, {"distribution-shape"},
                                    "truncated at ±2σ distribution instead of a normal"),
    "he_ignores_receptive_field": (he_ignores_receptive_field, "init-he", {}, {"std"}, "kernel size is ignored"),
    "he_variance_as_std": (he_variance_as_std, "init-he", {}, {"std"}, "variance used as the standard deviation"),
    "he_rows_repeated": (he_rows_repeated, "init-he", {}, {"independence"}, None),
    "he_nonzero_mean": (he_nonzero_mean, "init-he", {}, {"mean"}, None),
    "he_reseeds_itself": (he_reseeds_itself, "init-he", {}, {"protocol"}, None),
    "he_fan_in_first_axis": (he_fan_in_first_axis, "init-he", {}, {"std"}, "fan_in = shape[0]"),
    "he_truncation_leaks": (he_truncation_leaks, "init-he", {"distribution": "truncated"}, {"distribution-shape"},
                            "beyond ±2σ"),
    "he_torch_layout_kernel_ignored": (he_torch_layout_kernel_ignored, "init-he", {"layout": "torch"}, {"std"},
                                       "kernel size is ignored"),
    "he_sorted": (he_sorted, "init-he", {}, {"independence"}, None),
    "xavier_sum_without_2": (xavier_sum_without_2, "init-xavier", {}, {"std"}, "without the factor 2"),
    "xavier_uniform_limit_as_sigma": (xavier_uniform_limit_as_sigma, "init-xavier", {}, {"std"},
                                      "uniform limit √3·σ used as the normal's σ"),
    "lecun_uses_he": (lecun_uses_he, "init-lecun", {}, {"std", "variance-propagation"}, "He's σ"),
    "lecun_sigma_6pct_large": (lecun_sigma_6pct_large, "init-lecun", {}, {"std"}, None),
    "zero_bias": (zero_bias, "relu-bias", {}, {"positive-and-small", "active-fraction"}, None),
    "negative_bias": (negative_bias, "relu-bias", {}, {"positive-and-small", "active-fraction"}, None),
    "random_bias": (random_bias, "relu-bias", {}, {"constant"}, None),
    "big_bias": (big_bias, "relu-bias", {}, {"positive-and-small"}, None),
    "dead_bias": (dead_bias, "relu-bias", {}, {"positive-and-small", "no-dead-units"}, None),
}
