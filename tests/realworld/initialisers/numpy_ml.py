"""numpy-ml's initialisers (numpy_ml/neural_nets/utils/utils.py), in their shape.

``calc_fan(weight_shape)``: ``(fan_in, fan_out)`` for a matrix, and for a
convolution ``(*kernel, in_ch, out_ch)`` both multiplied by the kernel size;
``he_uniform`` (bound √(6/fan_in)), ``glorot_uniform`` (bound
gain·√(6/(fan_in + fan_out))), and ``he_normal`` / ``glorot_normal``, which
draw a normal truncated at ±2σ by rejection *without* rescaling: their σ is
0.88 of the one the docstrings state (a documented variance of 2/fan_in that
the weights do not have). Every function takes only the shape and draws from
``np.random``; the wrapper adds the protocol's unused ``rng``.
"""

import numpy as np

from tests.realworld.corpus import buggy, correct


def calc_fan(weight_shape):
    if len(weight_shape) == 2:
        fan_in, fan_out = weight_shape
    elif len(weight_shape) in [3, 4]:
        in_ch, out_ch = weight_shape[-2:]
        kernel_size = np.prod(weight_shape[:-2])
        fan_in, fan_out = in_ch * kernel_size, out_ch * kernel_size
    else:
        raise ValueError("Unrecognized weight dimension: {}".format(weight_shape))
    return fan_in, fan_out


def truncated_normal(mean, std, out_shape):
    samples = np.random.normal(loc=mean, scale=std, size=out_shape)
    reject = np.logical_or(samples >= mean + 2 * std, samples <= mean - 2 * std)
    while any(reject.flatten()):
        resamples = np.random.normal(loc=mean, scale=std, size=reject.sum())
        samples[reject] = resamples
        reject = np.logical_or(samples >= mean + 2 * std, samples <= mean - 2 * std)
    return samples


def he_uniform(weight_shape):
    fan_in, fan_out = calc_fan(weight_shape)
    b = np.sqrt(6 / fan_in)
    return np.random.uniform(-b, b, size=weight_shape)


def he_normal(weight_shape):
    fan_in, fan_out = calc_fan(weight_shape)
    std = np.sqrt(2 / fan_in)
    return truncated_normal(0, std, weight_shape)


def glorot_uniform(weight_shape, gain=1.0):
    fan_in, fan_out = calc_fan(weight_shape)
    b = gain * np.sqrt(6 / (fan_in + fan_out))
    return np.random.uniform(-b, b, size=weight_shape)


def glorot_normal(weight_shape, gain=1.0):
    fan_in, fan_out = calc_fan(weight_shape)
    std = gain * np.sqrt(2 / (fan_in + fan_out))
    return truncated_normal(0, std, weight_shape)


def protocol(fn):
    """The user's wrapper: ``init(shape, rng)`` calling a shape-only initialiser."""
    def init(shape, rng):
        return fn(shape)
    init.__name__ = fn.__name__
    return init


SRC = "numpy-ml, numpy_ml/neural_nets/utils/utils.py (calc_fan, he_uniform, glorot_uniform, he_normal, glorot_normal)"
CASES = [
    correct("numpy-ml-he-uniform", protocol(he_uniform), "init-he", SRC, params={"distribution": "uniform"}),
    correct("numpy-ml-glorot-uniform", protocol(glorot_uniform), "init-xavier", SRC, params={"distribution": "uniform"}),
    buggy("numpy-ml-he-normal", protocol(he_normal), "init-he", SRC,
          "truncated at ±2σ without dividing σ by 0.8796: std 0.88·√(2/fan_in)", {"std"},
          "truncated normal without the 0.8796 correction", params={"distribution": "truncated"}),
    buggy("numpy-ml-glorot-normal", protocol(glorot_normal), "init-xavier", SRC,
          "truncated at ±2σ without dividing σ by 0.8796", {"std"},
          "truncated normal without the 0.8796 correction", params={"distribution": "truncated"}),
]
