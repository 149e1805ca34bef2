"""Keras layer-norm and RMS-norm layers written the way Keras users write them, correct and buggy, for
tests/test_keras_norms.py (imported only in the subprocess that chose the backend).

The layers of one's own follow the Keras guide's custom-layer shape (``build`` adding weights by name,
``call`` with ``keras.ops``) and keras-hub's RMSNorm (cast to float32 inside, ``scale`` initialised to ones).
"""

import functools

import keras
from keras import ops

LN_NO_SCALE = functools.partial(keras.layers.LayerNormalization, scale=False)
LN_NO_CENTER = functools.partial(keras.layers.LayerNormalization, center=False)
#: Deprecated in Keras 3: scales by 1/√(var(x) + ε) without centring (keras-team/keras#21234).
LN_RMS_SCALING = functools.partial(keras.layers.LayerNormalization, rms_scaling=True)
LN_BUILT = keras.layers.LayerNormalization(epsilon=1e-4)


class HubRMSNorm(keras.layers.Layer):
    """Correct: keras-hub's shape, computing in float32 and casting back."""

    def __init__(self, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        x32 = ops.cast(x, "float32")
        ms = ops.mean(ops.square(x32), axis=-1, keepdims=True)
        y = x32 * ops.rsqrt(ms + self.epsilon) * ops.cast(self.scale, "float32")
        return ops.cast(y, x.dtype)


class MyLayerNorm(keras.layers.Layer):
    """Correct: a layer norm of one's own with gamma and beta."""

    def __init__(self, eps=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.eps = eps

    def build(self, input_shape):
        self.gamma = self.add_weight(name="gamma", shape=(input_shape[-1],), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(input_shape[-1],), initializer="zeros")

    def call(self, x):
        mean = ops.mean(x, axis=-1, keepdims=True)
        var = ops.mean(ops.square(x - mean), axis=-1, keepdims=True)
        return (x - mean) / ops.sqrt(var + self.eps) * self.gamma + self.beta


class TorchStyleLN(keras.layers.Layer):
    """Correct: written PyTorch's way, the feature count first, weight and bias made in __init__."""

    def __init__(self, dim, eps=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.eps = eps
        self.weight = self.add_weight(shape=(dim,), initializer="ones", name="weight")
        self.bias = self.add_weight(shape=(dim,), initializer="zeros", name="bias")

    def call(self, x):
        mu = ops.mean(x, axis=-1, keepdims=True)
        var = ops.mean(ops.square(x - mu), axis=-1, keepdims=True)
        return self.weight * (x - mu) / ops.sqrt(var + self.eps) + self.bias


class AnnotatedLN(keras.layers.Layer):
    """Bug: the Annotated Transformer's LayerNorm ported to Keras, a_2 and b_2 its γ and β: the unbiased
    standard deviation, ε outside the root."""

    def __init__(self, features, eps=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.a_2 = self.add_weight(shape=(features,), initializer="ones")
        self.b_2 = self.add_weight(shape=(features,), initializer="zeros")
        self.eps = eps

    def call(self, x):
        mean = ops.mean(x, axis=-1, keepdims=True)
        std = ops.sqrt(ops.sum(ops.square(x - mean), axis=-1, keepdims=True) / (x.shape[-1] - 1))
        return self.a_2 * (x - mean) / (std + self.eps) + self.b_2


RMS_OP = keras.ops.rms_normalization


class EpsOutsideLN(keras.layers.LayerNormalization):
    """Bug: ε added to the standard deviation, outside the square root."""

    def call(self, x):
        mean = ops.mean(x, axis=-1, keepdims=True)
        var = ops.var(x, axis=-1, keepdims=True)
        return (x - mean) / (ops.sqrt(var) + self.epsilon) * self.gamma + self.beta


class BatchAxisLN(keras.layers.LayerNormalization):
    """Bug: the statistics over the batch axis (axis=0), a batch norm's."""

    def call(self, x):
        mean = ops.mean(x, axis=0, keepdims=True)
        var = ops.var(x, axis=0, keepdims=True)
        return (x - mean) / ops.sqrt(var + self.epsilon) * self.gamma + self.beta


class EpsOutsideRMS(keras.layers.RMSNormalization):
    """Bug: ε added to the root mean square (the RMSNorm authors' PyTorch code)."""

    def call(self, x):
        ms = ops.mean(ops.square(x), axis=-1, keepdims=True)
        return x / (ops.sqrt(ms) + self.epsilon) * self.scale


# ------------------------------------------------------------------ batch norm, Gemma's RMS norm, initializers
# (driven here too: one Keras process per backend serves every layer and initializer case of this file)

#: Channels-first written as Keras users write it: on (N, C) batches axis=1 is the features' axis.
BN_AXIS1 = functools.partial(keras.layers.BatchNormalization, axis=1)
#: Settings the batchnorm spec has no parameter for: refused in one line.
BN_RENORM = functools.partial(keras.layers.BatchNormalization, renorm=True)
BN_SYNCHRONIZED = functools.partial(keras.layers.BatchNormalization, synchronized=True)
BN_NO_CENTER = functools.partial(keras.layers.BatchNormalization, center=False)
BN_NO_SCALE_BUILT = keras.layers.BatchNormalization(scale=False)


class RenormBN(keras.layers.BatchNormalization):
    """A subclass turning renorm on in its constructor."""

    def __init__(self, **kwargs):
        super().__init__(renorm=True, **kwargs)


class GemmaRMSNorm(keras.layers.Layer):
    """keras-hub's Gemma RMSNormalization, paraphrased: ``scale`` initialised at zeros, computed in float32,
    output x̂·(1 + scale)."""

    def __init__(self, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", trainable=True, shape=(input_shape[-1],), initializer="zeros")
        self.built = True

    def call(self, x):
        x = ops.cast(x, "float32")
        var = ops.mean(ops.square(x), axis=-1, keepdims=True)
        normed_inputs = x * ops.reciprocal(ops.sqrt(var + self.epsilon))
        return normed_inputs * (1 + self.scale)


#: He's σ over fan_out (He et al. allow either fan): a correct initializer no init-* spec describes.
HE_FAN_OUT = keras.initializers.VarianceScaling(2.0, "fan_out", "truncated_normal")
#: Xavier's σ written as VarianceScaling, uniform: init-xavier.
GLOROT_AS_VARIANCE_SCALING = keras.initializers.VarianceScaling(1.0, "fan_avg", "uniform", seed=3)


class VarianceAsStdHe(keras.initializers.Initializer):
    """Bug, in the guide's shape (``__call__(self, shape, dtype=None)``): the variance 2/fan_in passed as stddev."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        fan_in = 1
        for d in shape[:-1]:
            fan_in *= d
        return keras.random.normal(shape, stddev=2.0 / fan_in, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {"seed": self.seed}
