"""Keras initializers and BatchNormalization layers written the way Keras users write them, correct and
buggy, checked through `verify check tests/keras_layer_cases.py:NAME` (on the backend the test asks for).

The initializer subclasses follow the shape of the Keras guide's custom initializer (an ``Initializer``
subclass with ``__call__(self, shape, dtype=None)`` drawing from ``keras.random`` with ``self.seed``, and a
``get_config``); the fan mistakes are the ones tutorials make with channels-last kernels.
"""

import math

import keras
from keras import ops


def _fans(shape):
    """Keras' own rule (compute_fans): (*kernel, in, out)."""
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class MyHeNormal(keras.initializers.Initializer):
    """Correct: He's σ = √(2/fan_in) as a plain (untruncated) normal, fans as Keras computes them."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        fan_in, _ = _fans(shape)
        return keras.random.normal(shape, stddev=math.sqrt(2.0 / fan_in), dtype=dtype, seed=self.seed)

    def get_config(self):
        return {"seed": self.seed}


class MyGlorotUniform(keras.initializers.Initializer):
    """Correct: Glorot's uniform limit √(6/(fan_in + fan_out))."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _fans(shape)
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return keras.random.uniform(shape, -limit, limit, dtype=dtype, seed=self.seed)


class FanOutHe(keras.initializers.Initializer):
    """Bug: He's σ from fan_out (mode="fan_out" where fan_in was meant)."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        _, fan_out = _fans(shape)
        return keras.random.normal(shape, stddev=math.sqrt(2.0 / fan_out), dtype=dtype, seed=self.seed)


class FirstAxisHe(keras.initializers.Initializer):
    """Bug: fan_in = shape[0], right for a Dense kernel, the kernel height for a Conv kernel."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        return keras.random.normal(shape, stddev=math.sqrt(2.0 / shape[0]), dtype=dtype, seed=self.seed)


class NoGainHe(keras.initializers.Initializer):
    """Bug: the ReLU gain √2 forgotten (σ = 1/√fan_in, LeCun's)."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        fan_in, _ = _fans(shape)
        return keras.random.normal(shape, stddev=1.0 / math.sqrt(fan_in), dtype=dtype, seed=self.seed)


class UncorrectedTruncatedHe(keras.initializers.HeNormal):
    """Bug: a HeNormal subclass truncating at ±2σ without the 0.8796 correction (TF 1's old
    truncated_normal initializers): the weights' std is 0.88·σ."""

    def __call__(self, shape, dtype=None):
        fan_in, _ = _fans(shape)
        return keras.random.truncated_normal(shape, stddev=math.sqrt(2.0 / fan_in), dtype=dtype, seed=self.seed)


class TorchFansGlorot(keras.initializers.GlorotUniform):
    """Bug: fans read as torch's (out, in, *kernel) from a Keras (*kernel, in, out) kernel."""

    def __call__(self, shape, dtype=None):
        receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
        fan_out, fan_in = shape[0] * receptive, shape[1] * receptive
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return keras.random.uniform(shape, -limit, limit, dtype=dtype, seed=self.seed)


class Subclassed(keras.initializers.GlorotNormal):
    """Correct: a subclass that changes nothing (Keras' own truncated Glorot normal)."""


# ------------------------------------------------------------------ BatchNormalization subclasses


class PlainSubclassBN(keras.layers.BatchNormalization):
    """Correct: a subclass that changes nothing."""


class UnbiasedMomentsBN(keras.layers.BatchNormalization):
    """Bug: normalises with the unbiased batch variance (σ²·N/(N − 1)), a torch.var habit."""

    def _moments(self, inputs, mask):
        mean, var = ops.moments(inputs, axes=self._reduction_axes)
        n = inputs.shape[0]
        return mean, var * n / (n - 1)


class OwnCallBN(keras.layers.BatchNormalization):
    """Correct, written out: a call of its own, two-pass moments with keras.ops (whose mean, like the layer's
    own call, computes in result_type(float64, float32) = float32 on jax and torch)."""

    def call(self, inputs, training=None, mask=None):
        if training:
            mean = ops.mean(inputs, axis=0)
            var = ops.mean(ops.square(inputs - mean), axis=0)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
            self.moving_variance.assign(self.moving_variance * m + var * (1.0 - m))
        else:
            mean, var = self.moving_mean, self.moving_variance
        return self.gamma * (inputs - mean) / ops.sqrt(var + self.epsilon) + self.beta


class EpsOutsideBN(OwnCallBN):
    """Bug: ε added outside the square root, (x − μ)/(√σ² + ε)."""

    def call(self, inputs, training=None, mask=None):
        if training:
            mean = ops.mean(inputs, axis=0)
            var = ops.mean(ops.square(inputs - mean), axis=0)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
            self.moving_variance.assign(self.moving_variance * m + var * (1.0 - m))
        else:
            mean, var = self.moving_mean, self.moving_variance
        return self.gamma * (inputs - mean) / (ops.sqrt(var) + self.epsilon) + self.beta


class TorchMomentumBN(OwnCallBN):
    """Bug under Keras' convention: the moving statistics weight the *new* value by momentum (PyTorch's
    meaning, ported into a Keras layer without flipping it)."""

    def call(self, inputs, training=None, mask=None):
        if training:
            mean = ops.mean(inputs, axis=0)
            var = ops.mean(ops.square(inputs - mean), axis=0)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * (1.0 - m) + mean * m)
            self.moving_variance.assign(self.moving_variance * (1.0 - m) + var * m)
        else:
            mean, var = self.moving_mean, self.moving_variance
        return self.gamma * (inputs - mean) / ops.sqrt(var + self.epsilon) + self.beta


class StopGradientBN(OwnCallBN):
    """Bug: the batch statistics treated as constants in the backward pass (stop_gradient on μ and σ²)."""

    def call(self, inputs, training=None, mask=None):
        mean = ops.stop_gradient(ops.mean(inputs, axis=0))
        var = ops.stop_gradient(ops.mean(ops.square(inputs - mean), axis=0))
        if training:
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
            self.moving_variance.assign(self.moving_variance * m + var * (1.0 - m))
        else:
            mean, var = self.moving_mean, self.moving_variance
        return self.gamma * (inputs - mean) / ops.sqrt(var + self.epsilon) + self.beta


keras_bn_instance = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
he_by_name = "he_uniform"           # as a layer's kernel_initializer="he_uniform"
lecun_instance = keras.initializers.LecunNormal(seed=7)


class LayerBN(keras.layers.Layer):
    """Correct: batch norm as a Layer of its own (the Keras guide's custom-layer shape: weights made in build,
    moving statistics as non-trainable weights, ``training`` an argument of call); Keras' momentum."""

    def __init__(self, momentum=0.99, epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.momentum, self.epsilon = momentum, epsilon

    def build(self, input_shape):
        c = input_shape[-1]
        self.gamma = self.add_weight(shape=(c,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(c,), initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(shape=(c,), initializer="zeros", trainable=False, name="moving_mean")
        self.moving_var = self.add_weight(shape=(c,), initializer="ones", trainable=False, name="moving_var")

    def call(self, x, training=False):
        if training:
            mean = ops.mean(x, axis=0)
            var = ops.var(x, axis=0)
            self.moving_mean.assign(self.momentum * self.moving_mean + (1 - self.momentum) * mean)
            self.moving_var.assign(self.momentum * self.moving_var + (1 - self.momentum) * var)
        else:
            mean, var = self.moving_mean, self.moving_var
        return self.gamma * (x - mean) / ops.sqrt(var + self.epsilon) + self.beta


class LayerBNUnbiasedRunning(LayerBN):
    """PyTorch's estimator in a Keras-style layer: the moving variance fed σ²·N/(N − 1) — a convention, not a
    bug, unless the run requires Keras' biased one (--param running_variance=biased)."""

    def call(self, x, training=False):
        if training:
            n = x.shape[0]
            mean = ops.mean(x, axis=0)
            var = ops.var(x, axis=0)
            self.moving_mean.assign(self.momentum * self.moving_mean + (1 - self.momentum) * mean)
            self.moving_var.assign(self.momentum * self.moving_var + (1 - self.momentum) * var * n / (n - 1))
        else:
            mean, var = self.moving_mean, self.moving_var
        return self.gamma * (x - mean) / ops.sqrt(var + self.epsilon) + self.beta
