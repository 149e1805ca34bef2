"""Layer norms written for the inputs real code normalises, and Megatron's zero-centred scale (paraphrased).

* karpathy/llm.c ``doc/layernorm/layernorm.py``: ``B, T, C = x.size()``, a cache, the parameter gradients summed
  over ``(0, 1)``; here in numpy with nanoGPT's ``weight``/``bias`` names. It takes (B, T, C) inputs only.
* a numpy transformer layer (tiny-transformer style): ``mean(axis=-1)`` forward, ``backward`` summing over
  ``axis=(0, 1)``, ``grad_gamma``/``grad_beta`` kept on the layer, dx returned.
* facebookresearch/ConvNeXt ``models/convnext.py`` ``LayerNorm(normalized_shape, eps, data_format)``:
  ``channels_first`` normalises axis 1 of (N, C, H, W), scaling by ``weight[:, None, None]``; and a numpy form.
* NVIDIA/NeMo ``LayerNorm1P`` and Megatron-LM's ``zero_centered_gamma=True``: y = (1 + w)·x̂ + β with w = 0 at
  construction (``--param scale=one-plus-gamma``).
* bugs: a (B, T, C) layer with its statistics over T; a row layer (``axis=1``) declared for sequences.

NeMo's ``LayerNorm1P`` and ConvNeXt's channels-last form are checked on a few checks in
tests/test_layernorm_one_plus.py and tests/test_layernorm_shapes.py (a torch module's full run costs ~7 s).
"""

import functools

import numpy as np

from tests.realworld.corpus import buggy, correct

try:
    import torch
    from torch import nn
    import torch.nn.functional as F
except ImportError:          # the torch cases are listed only where torch is installed
    torch = None

LLMC = "karpathy/llm.c doc/layernorm/layernorm.py (numpy, (B, T, C))"
CONVNEXT = "facebookresearch/ConvNeXt models/convnext.py LayerNorm"
MEGATRON = "NVIDIA/Megatron-LM zero_centered_gamma / NVIDIA/NeMo LayerNorm1P"
ONE_PLUS = {"scale": "one-plus-gamma"}


class LlmcLayerNorm:
    """llm.c's LayerNorm, (B, T, C) only, in numpy."""

    def __init__(self, n_embd, eps=1e-5):
        self.weight, self.bias, self.eps = np.ones(n_embd), np.zeros(n_embd), eps

    def forward(self, x):
        B, T, C = x.shape
        mean = x.sum(-1, keepdims=True) / C
        xshift = x - mean
        var = (xshift ** 2).sum(-1, keepdims=True) / C
        rstd = (var + self.eps) ** -0.5
        norm = xshift * rstd
        self.cache = (norm, rstd)
        return norm * self.weight + self.bias

    def backward(self, dout):
        norm, rstd = self.cache
        db = dout.sum((0, 1))
        dw = (dout * norm).sum((0, 1))
        dnorm = dout * self.weight
        dx = dnorm - dnorm.mean(-1, keepdims=True) - norm * (dnorm * norm).mean(-1, keepdims=True)
        return dx * rstd, dw, db


class TransformerLayerNorm:
    """Forward on any rank; backward summing over (0, 1), gradients kept on the layer."""

    def __init__(self, d_model, eps=1e-6):
        self.eps, self.gamma, self.beta = eps, np.ones(d_model), np.zeros(d_model)

    def forward(self, x):
        mean = x.mean(axis=-1, keepdims=True)
        self.std_inv = 1.0 / np.sqrt(x.var(axis=-1, keepdims=True) + self.eps)
        self.x_norm = (x - mean) * self.std_inv
        return self.gamma * self.x_norm + self.beta

    def backward(self, grad_output):
        self.grad_beta = grad_output.sum(axis=(0, 1))
        self.grad_gamma = (grad_output * self.x_norm).sum(axis=(0, 1))
        g = grad_output * self.gamma
        d = g.shape[-1]
        return self.std_inv / d * (d * g - g.sum(-1, keepdims=True)
                                   - self.x_norm * (g * self.x_norm).sum(-1, keepdims=True))


class RowLayerNorm:
    """Written for (N, D): statistics over axis=1."""

    def __init__(self, D, eps=1e-5):
        self.gamma, self.beta, self.eps = np.ones(D), np.zeros(D), eps

    def forward(self, x):
        mu, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
        return self.gamma * (x - mu) / np.sqrt(var + self.eps) + self.beta


class SequenceOverTime(LlmcLayerNorm):
    """A (B, T, C) layer whose statistics run over T (axis 1): a bug."""

    def forward(self, x):
        B, T, C = x.shape
        mean = x.mean(1, keepdims=True)
        var = ((x - mean) ** 2).mean(1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.weight + self.bias


class ChannelsFirstLayerNorm:
    """numpy, (N, C, H, W): statistics over C at each position."""

    def __init__(self, num_channels, eps=1e-6):
        self.weight, self.bias, self.eps = np.ones(num_channels), np.zeros(num_channels), eps

    def forward(self, x):
        u = x.mean(1, keepdims=True)
        s = ((x - u) ** 2).mean(1, keepdims=True)
        return self.weight.reshape(1, -1, 1, 1) * (x - u) / np.sqrt(s + self.eps) + self.bias.reshape(1, -1, 1, 1)


class MegatronLayerNorm:
    """Megatron-LM's zero_centered_gamma in numpy: forward caches, backward returns (dx, dweight, dbias)."""

    def __init__(self, hidden_size, eps=1e-5, zero_centered_gamma=True):
        self.eps, self.zero_centered_gamma = eps, zero_centered_gamma
        self.weight = np.zeros(hidden_size) if zero_centered_gamma else np.ones(hidden_size)
        self.bias = np.zeros(hidden_size)

    def _scale(self):
        return self.weight + 1 if self.zero_centered_gamma else self.weight

    def forward(self, x):
        mu = x.mean(-1, keepdims=True)
        self.rstd = 1.0 / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + self.eps)
        self.xhat = (x - mu) * self.rstd
        return self.xhat * self._scale() + self.bias

    def backward(self, dy):
        g = dy * self._scale()
        dx = self.rstd * (g - g.mean(-1, keepdims=True) - self.xhat * (g * self.xhat).mean(-1, keepdims=True))
        return dx, (dy * self.xhat).sum(0), dy.sum(0)



CASES = [
    correct("llmc-layernorm-btc", LlmcLayerNorm, "layernorm", LLMC),
    correct("transformer-layernorm-backward-01", TransformerLayerNorm, "layernorm",
            "numpy transformer LayerNorm (backward summing over axis=(0, 1))"),
    correct("numpy-layernorm-channels-first", ChannelsFirstLayerNorm, "layernorm", CONVNEXT + " (numpy form)"),
    correct("course-layernorm-rows-axis1", RowLayerNorm, "layernorm", "course code written for (N, D): axis=1"),
    correct("megatron-layernorm-zero-centred", MegatronLayerNorm, "layernorm", MEGATRON, params=ONE_PLUS),
    buggy("btc-layernorm-statistics-over-time", SequenceOverTime, "layernorm", LLMC + " with mean(1)",
          "statistics over T instead of the features", {"forward-vs-reference", "normalized-axes"},
          "the statistics are taken over axis 1"),
    buggy("row-layernorm-declared-for-sequences", RowLayerNorm, "layernorm", "course code, axis=1, used on (B, T, D)",
          "axis=1 is T on a (B, T, D) input", {"forward-vs-reference", "normalized-axes"},
          "the statistics are taken over axis 1", params={"batch_shape": "BTD"}),
    buggy("megatron-layernorm-checked-as-plain", MegatronLayerNorm, "layernorm", MEGATRON,
          "the zero-centred scale 1 + w checked as γ", {"forward-vs-reference"},
          ("the scale is 1 + γ, not γ", "--param scale=one-plus-gamma")),
]

if torch is not None:

    class ConvNeXtLayerNorm(nn.Module):
        """ConvNeXt's LayerNorm (paraphrased): channels_last by F.layer_norm, channels_first by hand."""

        def __init__(self, normalized_shape, eps=1e-6, data_format="channels_last"):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(normalized_shape))
            self.bias = nn.Parameter(torch.zeros(normalized_shape))
            self.eps, self.data_format = eps, data_format
            self.normalized_shape = (normalized_shape,)

        def forward(self, x):
            if self.data_format == "channels_last":
                return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
            u = x.mean(1, keepdim=True)
            s = (x - u).pow(2).mean(1, keepdim=True)
            x = (x - u) / torch.sqrt(s + self.eps)
            return self.weight[:, None, None] * x + self.bias[:, None, None]


    class LayerNorm1P(nn.LayerNorm):
        """NeMo's LayerNorm1P (paraphrased)."""

        def reset_parameters(self):
            nn.init.zeros_(self.weight)
            nn.init.zeros_(self.bias)

        def forward(self, x):
            return F.layer_norm(x, self.normalized_shape, self.weight + 1, self.bias, self.eps)



    CASES += [
        correct("convnext-layernorm-channels-first", functools.partial(ConvNeXtLayerNorm, data_format="channels_first"),
                "layernorm", CONVNEXT),
    ]
