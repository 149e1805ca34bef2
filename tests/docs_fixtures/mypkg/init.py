import numpy as np


def he_normal(shape, rng):
    fan_in = int(np.prod(shape[:-1]))       # (fan_in, fan_out) or (*kernel, fan_in, fan_out)
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
