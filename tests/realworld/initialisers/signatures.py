"""Initialisers in the signatures real code gives them, checked without a wrapper where none is needed.

* deeplearning.ai's ``initialize_parameters_he(layers_dims)`` returns a dict
  of ``W1 … WL`` of shape ``(n_l, n_{l-1})`` (PyTorch's ``(out, in)``) and
  ``b`` columns of zeros; ``initialize_parameters_deep`` divides by
  ``√n_{l-1}`` (LeCun's σ); ``initialize_parameters_random`` multiplies by a
  fixed 0.01. Written for dense layers only: the user's wrapper unpacks
  ``n_out, n_in = shape``, and the verifier checks it on matrices.
* Small autograd libraries (babygrad-style) unpack ``fan_in, fan_out = shape``.
* Keras-style initialiser classes are called ``init(shape, dtype=None)``;
  numpy-ml's take the shape alone (``he_uniform(weight_shape)``,
  ``glorot_normal(weight_shape, gain=1.0)``); ``np.random.randn``-style
  functions take ``*shape``; JAX's take ``(key, shape, dtype)``.
* tinygrad's ``Tensor.kaiming_uniform(*shape, a=0.01)`` (bound
  √3·√(2/(1 + a²))/√∏shape[1:]) and ``Tensor.glorot_uniform(*shape)`` (bound
  √(6/(shape[0] + ∏shape[1:]))), in PyTorch's layout: the latter counts the
  receptive field in fan_in only, so it is Glorot's σ for matrices and not for
  kernels.
* *Neural Networks from Scratch*'s ``Layer_Dense`` draws
  ``0.01 * np.random.randn(n_inputs, n_neurons)``.
* A ReLU bias as ``nn.init.constant_(b, 0.01)`` and as a Keras ``Constant``.
"""

import math

import numpy as np
import torch
from torch import nn

from tests.realworld.corpus import buggy, correct


# ------------------------------------------------------------- deeplearning.ai (Coursera, course 2 week 1)


def initialize_parameters_he(layers_dims):
    parameters = {}
    for l in range(1, len(layers_dims)):
        parameters["W" + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * np.sqrt(2 / layers_dims[l - 1])
        parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))
    return parameters


def initialize_parameters_deep(layers_dims):
    parameters = {}
    for l in range(1, len(layers_dims)):
        parameters["W" + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) / np.sqrt(layers_dims[l - 1])
        parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))
    return parameters


def initialize_parameters_random(layers_dims):
    parameters = {}
    for l in range(1, len(layers_dims)):
        parameters["W" + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * 0.01
        parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))
    return parameters


def initialize_parameters_he_fan_out(layers_dims):
    """The usual slip: the current layer's size where the previous one's belongs."""
    parameters = {}
    for l in range(1, len(layers_dims)):
        parameters["W" + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * np.sqrt(2 / layers_dims[l])
        parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))
    return parameters


def first_layer(initialize):
    """The user's wrapper: one layer of n_in → n_out units, W1 from the course's dict."""
    def init(shape, rng):
        n_out, n_in = shape
        return initialize([n_in, n_out])["W1"]
    init.__name__ = initialize.__name__
    return init


def first_bias(initialize):
    """The user's wrapper for relu-bias: the b1 column as a vector."""
    def bias(shape, rng):
        return initialize([3, *shape])["b1"].reshape(shape)
    bias.__name__ = initialize.__name__ + "_b1"
    return bias


# ------------------------------------------------------------- small autograd libraries


def xavier_uniform(shape, rng):
    fan_in, fan_out = shape
    bound = math.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, shape)


def xavier_uniform_precedence(shape, rng):
    fan_in, fan_out = shape
    bound = math.sqrt(6 / fan_in + fan_out)           # the parentheses forgotten
    return rng.uniform(-bound, bound, shape)


# ------------------------------------------------------------- Keras-style classes: __call__(shape, dtype=None)


class GlorotNormal:
    """Keras' glorot_normal: a normal truncated at ±2s, s = σ/0.8796, so the weights keep σ² = 2/(fan_in + fan_out)."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        receptive = math.prod(shape[:-2])
        fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
        s = math.sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978
        out = np.random.normal(0.0, s, size=shape)
        bad = np.abs(out) > 2 * s
        while bad.any():
            out[bad] = np.random.normal(0.0, s, size=int(bad.sum()))
            bad = np.abs(out) > 2 * s
        return out.astype(dtype or np.float32)


class Constant:
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, dtype=dtype or np.float32)


# ------------------------------------------------------------- numpy-ml: the shape alone


def he_uniform(weight_shape):
    fan_in = weight_shape[0] if len(weight_shape) == 2 else weight_shape[-2] * np.prod(weight_shape[:-2])
    b = np.sqrt(6 / fan_in)
    return np.random.uniform(-b, b, size=weight_shape)


def glorot_normal_untruncated(weight_shape, gain=1.0):
    receptive = np.prod(weight_shape[:-2])
    fan_in, fan_out = weight_shape[-2] * receptive, weight_shape[-1] * receptive
    return np.random.normal(0, gain * np.sqrt(2 / (fan_in + fan_out)), size=weight_shape)


# ------------------------------------------------------------- *shape: np.random.randn's own form, tinygrad


def he_randn(*shape):
    return np.random.randn(*shape) * np.sqrt(2.0 / np.prod(shape[:-1]))


def kaiming_uniform(*shape, a=0.01):
    bound = math.sqrt(3.0) * math.sqrt(2.0 / (1 + a ** 2)) / math.sqrt(math.prod(shape[1:]))
    return np.random.uniform(-bound, bound, size=shape)


def glorot_uniform(*shape):
    return np.random.uniform(-1.0, 1.0, size=shape) * math.sqrt(6 / (shape[0] + math.prod(shape[1:])))


# ------------------------------------------------------------- torch: a user's in-place function returning None


def he_normal_(tensor):
    fan_in = tensor.shape[1] * tensor[0][0].numel()
    with torch.no_grad():
        tensor.normal_(0.0, math.sqrt(2.0 / fan_in))


def relu_bias_(bias):
    nn.init.constant_(bias, 0.01)


# ------------------------------------------------------------- Neural Networks from Scratch


class Layer_Dense:
    def __init__(self, n_inputs, n_neurons):
        self.weights = 0.01 * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))


def nnfs_weights(shape, rng):
    """The user's wrapper: the weights of a freshly built dense layer."""
    return Layer_Dense(*shape).weights


def _jax_he_normal():
    import jax
    return jax.nn.initializers.he_normal()      # truncated normal, fan_in from the (…, in, out) axes


DLAI = "deeplearning.ai, Improving Deep Neural Networks, week 1 Initialization (initialize_parameters_*)"
TORCH = {"layout": "torch"}
CASES = [
    correct("dlai-initialize-parameters-he", first_layer(initialize_parameters_he), "init-he", DLAI, params=TORCH),
    correct("dlai-initialize-parameters-deep", first_layer(initialize_parameters_deep), "init-lecun", DLAI,
            params=TORCH),
    correct("babygrad-xavier-uniform-matrices", xavier_uniform, "init-xavier",
            "small autograd libraries: fan_in, fan_out = shape", params={"distribution": "uniform"}),
    correct("keras-class-shape-dtype", GlorotNormal(), "init-xavier",
            "Keras-style initializer class, __call__(shape, dtype=None)", params={"distribution": "truncated"}),
    correct("numpy-ml-he-uniform-shape-only", he_uniform, "init-he",
            "numpy-ml utils.he_uniform(weight_shape), unwrapped", params={"distribution": "uniform"},
            cli="tests/realworld/initialisers/signatures.py:he_uniform"),
    correct("numpy-ml-glorot-gain-default", glorot_normal_untruncated, "init-xavier",
            "numpy-ml-style glorot(weight_shape, gain=1.0), unwrapped"),
    correct("randn-star-shape", he_randn, "init-he", "np.random.randn(*shape)-style init(*shape)"),
    correct("tinygrad-kaiming-uniform", kaiming_uniform, "init-he",
            "tinygrad Tensor.kaiming_uniform(*shape, a=0.01)", params={"distribution": "uniform", "layout": "torch"}),
    correct("torch-user-in-place-returns-none", he_normal_, "init-he",
            "a user's torch init function: tensor.normal_ under no_grad, no return"),
    correct("jax-he-normal", _jax_he_normal(), "init-he", "jax.nn.initializers.he_normal()",
            params={"distribution": "truncated"}),
    correct("torch-constant-relu-bias", relu_bias_, "relu-bias", "nn.init.constant_(bias, 0.01)"),
    correct("keras-constant-relu-bias", Constant(0.1), "relu-bias", "Keras-style Constant(0.1)(shape, dtype)"),
    buggy("dlai-he-fan-out", first_layer(initialize_parameters_he_fan_out), "init-he", DLAI,
          "√(2/layers_dims[l]): the layer's own size, not the previous one's", {"std"},
          "fan_in and fan_out swapped", params=TORCH),
    buggy("dlai-random-0.01-as-he", first_layer(initialize_parameters_random), "init-he", DLAI,
          "initialize_parameters_random's fixed 0.01 checked as He", {"std", "relu-depth"},
          "a fixed scale", params=TORCH),
    buggy("nnfs-layer-dense-0.01", nnfs_weights, "init-lecun", "Neural Networks from Scratch, Layer_Dense",
          "0.01·randn(n_inputs, n_neurons): no fan-in in σ", {"std", "variance-propagation"}, "a fixed scale"),
    buggy("tinygrad-glorot-uniform-kernels", glorot_uniform, "init-xavier",
          "tinygrad Tensor.glorot_uniform(*shape): shape[0] + ∏shape[1:]",
          "the receptive field counted in fan_in only", {"std"}, "left out of fan_out only",
          params={"distribution": "uniform", "layout": "torch"}),
    buggy("xavier-uniform-precedence", xavier_uniform_precedence, "init-xavier",
          "small autograd libraries: fan_in, fan_out = shape", "√(6/fan_in + fan_out): the parentheses forgotten",
          {"std"}, "operator precedence", params={"distribution": "uniform"}),
    buggy("dlai-zero-bias-as-relu-bias", first_bias(initialize_parameters_he), "relu-bias", DLAI,
          "b = np.zeros: every ReLU unit starts at the kink", {"positive-and-small"}, "the bias is 0"),
]
