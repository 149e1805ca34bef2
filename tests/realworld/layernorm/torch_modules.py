"""Hand-written PyTorch normalisation modules, in the shapes public code gives them (paraphrased).

* The Annotated Transformer's ``LayerNorm(features, eps=1e-6)``: parameters ``a_2`` (ones) and ``b_2``
  (zeros), ``a_2 * (x - mean) / (std + eps) + b_2`` with ``x.std(-1)`` -- torch's *unbiased* standard
  deviation, and ε outside the root: not ``torch.nn.LayerNorm``'s formula (named by the diagnosis).
* nanoGPT's ``LayerNorm(ndim, bias)``: ``F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)``
  with an optional bias (the thinnest wrapper gives ``bias``).
* LLaMA's / T5's ``RMSNorm(dim, eps=1e-6)``: ``weight`` only, ``x * torch.rsqrt(x.pow(2).mean(-1,
  keepdim=True) + eps)``, in Hugging Face's form computed in float32 inside and cast back.
* The RMSNorm authors' PyTorch code (bzhangGo/rmsnorm): ``scale``, ``x / (‖x‖·d^(-1/2) + eps)`` -- ε outside
  the root.
"""

import functools

from tests.realworld.corpus import buggy, correct

try:
    import torch
    from torch import nn
    import torch.nn.functional as F
except ImportError:          # the corpus lists these only where torch is installed
    torch = None


if torch is not None:

    class AnnotatedLayerNorm(nn.Module):
        def __init__(self, features, eps=1e-6):
            super().__init__()
            self.a_2 = nn.Parameter(torch.ones(features))
            self.b_2 = nn.Parameter(torch.zeros(features))
            self.eps = eps

        def forward(self, x):
            mean = x.mean(-1, keepdim=True)
            std = x.std(-1, keepdim=True)
            return self.a_2 * (x - mean) / (std + self.eps) + self.b_2

    class AnnotatedLayerNormFixed(AnnotatedLayerNorm):
        """The same module with torch.nn.LayerNorm's formula: biased variance, ε inside the root."""

        def forward(self, x):
            mean = x.mean(-1, keepdim=True)
            var = x.var(-1, keepdim=True, unbiased=False)
            return self.a_2 * (x - mean) / torch.sqrt(var + self.eps) + self.b_2

    class NanoGPTLayerNorm(nn.Module):
        def __init__(self, ndim, bias):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(ndim))
            self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

        def forward(self, input):
            return F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)

    class LlamaRMSNorm(nn.Module):
        def __init__(self, hidden_size, eps=1e-6):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(hidden_size))
            self.variance_epsilon = eps

        def forward(self, hidden_states):
            input_dtype = hidden_states.dtype
            hidden_states = hidden_states.to(torch.float32)
            variance = hidden_states.pow(2).mean(-1, keepdim=True)
            hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
            return self.weight * hidden_states.to(input_dtype)

    class MetaRMSNorm(nn.Module):
        def __init__(self, dim: int, eps: float = 1e-6):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(dim))

        def _norm(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

        def forward(self, x):
            return self._norm(x) * self.weight

    class AuthorsRMSNorm(nn.Module):
        def __init__(self, d, p=-1.0, eps=1e-8, bias=False):
            super().__init__()
            self.eps, self.d, self.p, self.bias = eps, d, p, bias
            self.scale = nn.Parameter(torch.ones(d))
            if bias:
                self.offset = nn.Parameter(torch.zeros(d))

        def forward(self, x):
            norm_x = x.norm(2, dim=-1, keepdim=True)
            rms_x = norm_x * self.d ** (-1.0 / 2)
            x_normed = x / (rms_x + self.eps)
            if self.bias:
                return self.scale * x_normed + self.offset
            return self.scale * x_normed

    class RMSNormNoMeanBackward(MetaRMSNorm):
        """The mean square taken over the batch dimension: ``x.pow(2).mean(0)``."""

        def _norm(self, x):
            return x * torch.rsqrt(x.pow(2).mean(0, keepdim=True) + self.eps)

    CASES = [
        buggy("annotated-transformer-layernorm", AnnotatedLayerNorm, "layernorm",
              "The Annotated Transformer (harvardnlp), LayerNorm", "x.std(-1) is unbiased and ε is outside the root",
              {"forward-vs-reference", "output-moments"}, "the unbiased standard deviation with ε outside the root"),
        correct("annotated-transformer-layernorm-fixed", AnnotatedLayerNormFixed, "layernorm",
                "The Annotated Transformer's LayerNorm with torch.nn.LayerNorm's formula"),
        correct("nanogpt-layernorm", functools.partial(NanoGPTLayerNorm, bias=True), "layernorm",
                "karpathy/nanoGPT model.py LayerNorm (ε fixed at 1e-5, the spec's default)"),
        correct("nanogpt-layernorm-no-bias", functools.partial(NanoGPTLayerNorm, bias=False), "layernorm",
                "karpathy/nanoGPT model.py LayerNorm(bias=False)", params={"affine": "gamma"}),
        correct("hf-llama-rmsnorm-float32-inside", LlamaRMSNorm, "rmsnorm",
                "huggingface/transformers LlamaRMSNorm / T5LayerNorm (float32 arithmetic inside)"),
        correct("meta-llama-rmsnorm", MetaRMSNorm, "rmsnorm", "meta-llama/llama model.py RMSNorm"),
        buggy("rmsnorm-authors-torch", AuthorsRMSNorm, "rmsnorm", "bzhangGo/rmsnorm rmsnorm_torch.py",
              "ε outside the root", {"forward-vs-reference", "output-moments"}, "ε is outside the square root"),
        buggy("rmsnorm-over-batch", RMSNormNoMeanBackward, "rmsnorm", "meta-llama RMSNorm with a wrong axis",
              "the mean square over the batch dimension", {"forward-vs-reference", "rescaling"},
              "over the batch axis"),
    ]
else:
    CASES = []
