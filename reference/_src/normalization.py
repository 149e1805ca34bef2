"""Layer normalisation and RMS normalisation: forward and backward passes.

Spec: issue 17 ("Beyond the course notes"). Unlike batch norm, the
statistics are per example, over the trailing ``normalized_shape`` dimensions
of ``x`` (PyTorch's convention: ``LayerNorm(normalized_shape)``,
``RMSNorm(normalized_shape)``); every leading dimension is a batch
dimension. The affine parameters have shape ``normalized_shape`` and are
optional (``None``: PyTorch's ``elementwise_affine=False``, or ``bias=False``).
Everything computes in float64.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reference._src.base import as_float, check_positive

__all__ = [
    "NormCache",
    "layernorm_forward",
    "layernorm_backward",
    "rmsnorm_forward",
    "rmsnorm_backward",
    "rmsnorm_default_eps",
]


class NormCache(NamedTuple):
    """What a backward pass needs from its forward pass."""

    xhat: np.ndarray          # the normalised input, shape of x
    inv_std: np.ndarray       # 1/√(var + ε) (layer norm) or 1/√(mean(x²) + ε) (RMS norm), one per example, kept dims
    gamma: np.ndarray | None  # scale, shape normalized_shape, or None
    axes: tuple[int, ...]     # the normalised (trailing) axes
    has_beta: bool            # whether the forward pass had a shift


def _normalized_axes(x: np.ndarray, normalized_shape, gamma) -> tuple[int, ...]:
    if normalized_shape is None:
        shape = np.shape(gamma) if gamma is not None else x.shape[-1:]
    elif isinstance(normalized_shape, (int, np.integer)):
        shape = (int(normalized_shape),)
    else:
        shape = tuple(int(d) for d in normalized_shape)
    if not shape or len(shape) > x.ndim or x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"normalized_shape {shape} must be the trailing dimensions of the input's shape {x.shape}")
    return tuple(range(x.ndim - len(shape), x.ndim))


def _affine(name: str, value, x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray | None:
    if value is None:
        return None
    arr = as_float(value, name)
    expected = tuple(x.shape[a] for a in axes)
    if arr.shape != expected:
        raise ValueError(f"{name} must have the normalised shape {expected}, got {arr.shape}")
    return arr


def _scale_and_shift(xhat, gamma, beta):
    y = xhat if gamma is None else xhat * gamma
    return y if beta is None else y + beta


def layernorm_forward(x, gamma=None, beta=None, eps: float = 1e-5,
                      normalized_shape=None, unit_offset: bool = False) -> tuple[np.ndarray, NormCache]:
    """Layer norm (Ba, Kiros & Hinton 2016, eq. 4), as ``torch.nn.LayerNorm``.

    Per example, over the ``H`` entries of the normalised dimensions:
    ``μ = (1/H) Σ x``, ``σ² = (1/H) Σ (x − μ)²`` (biased),
    ``x̂ = (x − μ)/√(σ² + ε)``, ``y = γ x̂ + β``.

    ``x̂`` has mean 0 and variance ``σ²/(σ² + ε)`` per example.

    Args:
      x: input, any shape whose trailing dimensions are ``normalized_shape``.
      gamma, beta: scale and shift of shape ``normalized_shape``, or ``None``
        (no scale: ``elementwise_affine=False``; no shift: ``bias=False``).
      eps: ``ε``, inside the root (PyTorch's default 1e-5; Keras' 1e-3). The
        paper has none.
      normalized_shape: the trailing dimensions normalised together (an int
        or a tuple; default ``gamma``'s shape, else the last dimension).
      unit_offset: the scale is ``1 + γ`` (``γ`` a zero-centred weight,
        initialised at 0): Megatron-LM's ``LayerNorm(zero_centered_gamma=True)``
        and NeMo's ``LayerNorm1P``. ``∂y/∂γ`` is the plain form's, so
        :func:`layernorm_backward` needs nothing more.

    Warning: ``(x − μ)/(√σ² + ε)`` (ε outside the root) and
    ``(x − μ)/(σ² + ε)²`` are published bugs; they differ most where ``σ²``
    is comparable to ``ε``.

    Source: ``torch.nn.LayerNorm``/``torch.nn.functional.layer_norm``
    (``torch._refs.native_layer_norm``); ``keras.layers.LayerNormalization``
    computes the same formula.

    Returns:
      ``(y, cache)``; pass ``cache`` to :func:`layernorm_backward`.

    >>> y, _ = layernorm_forward([[0.0, 0.0, 4.0, 4.0]], eps=0.0)   # μ = 2, σ² = 4
    >>> y
    array([[-1., -1.,  1.,  1.]])
    >>> layernorm_forward([[0.0, 0.0, 4.0, 4.0]], [0.0, 1.0, 0.0, 1.0], eps=0.0, unit_offset=True)[0]
    array([[-1., -2.,  1.,  2.]])
    """
    x = as_float(x, "x")
    check_positive("eps", eps, allow_zero=True)
    axes = _normalized_axes(x, normalized_shape, gamma)
    gamma, beta = _affine("gamma", gamma, x, axes), _affine("beta", beta, x, axes)
    if unit_offset and gamma is not None:
        gamma = 1.0 + gamma                    # the cache holds the effective scale: dx uses it
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = centred * inv_std
    return _scale_and_shift(xhat, gamma, beta), NormCache(xhat, inv_std, gamma, axes, beta is not None)


def _param_grads(dy, cache: NormCache):
    batch_axes = tuple(a for a in range(dy.ndim) if a not in cache.axes)
    dgamma = (dy * cache.xhat).sum(axis=batch_axes) if cache.gamma is not None else None
    dbeta = dy.sum(axis=batch_axes) if cache.has_beta else None
    dxhat = dy if cache.gamma is None else dy * cache.gamma
    return dxhat, dgamma, dbeta


def _check_dy(dy, cache: NormCache) -> np.ndarray:
    dy = as_float(dy, "dy")
    if dy.shape != cache.xhat.shape:
        raise ValueError(f"dy must have the forward output's shape {cache.xhat.shape}, got {dy.shape}")
    return dy


def layernorm_backward(dy, cache: NormCache):
    """Backward pass of :func:`layernorm_forward`.

    With ``g = ∂L/∂x̂ = γ dy`` and ``H`` entries per example:
    ``∂L/∂x = 1/(H √(σ² + ε)) · (H g − Σ g − x̂ Σ (g x̂))``,
    ``∂L/∂γ = Σ_batch dy x̂``, ``∂L/∂β = Σ_batch dy`` (sums over the
    leading, batch dimensions).

    Returns:
      ``(dx, dgamma, dbeta)``; ``dgamma``/``dbeta`` are ``None`` where the
      forward pass had no ``gamma``/``beta``.
    """
    dy = _check_dy(dy, cache)
    dxhat, dgamma, dbeta = _param_grads(dy, cache)
    axes, xhat = cache.axes, cache.xhat
    h = int(np.prod([dy.shape[a] for a in axes]))
    dx = cache.inv_std / h * (h * dxhat - dxhat.sum(axis=axes, keepdims=True)
                              - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True))
    return dx, dgamma, dbeta


def rmsnorm_default_eps(x) -> float:
    """PyTorch's ``RMSNorm(eps=None)``: the machine epsilon of the computation's dtype.

    float64 input: ``2.22e-16``; float32, float16 and bfloat16 (computed in
    float32): ``1.19e-7``; other input is computed in float64 here.
    """
    dtype = np.asarray(x).dtype
    if np.issubdtype(dtype, np.floating) and dtype.itemsize <= 4:
        return float(np.finfo(np.float32).eps)
    return float(np.finfo(np.float64).eps)


def rmsnorm_forward(x, gamma=None, eps: float | None = None, normalized_shape=None,
                    unit_offset: bool = False) -> tuple[np.ndarray, NormCache]:
    """RMS norm (Zhang & Sennrich, NeurIPS 2019, eq. 4), as ``torch.nn.RMSNorm``.

    Per example, over the ``H`` entries of the normalised dimensions:
    ``x̂ = x/√((1/H) Σ x² + ε)``, ``y = γ x̂``. No centring, no shift.

    Args:
      x: input, any shape whose trailing dimensions are ``normalized_shape``.
      gamma: scale of shape ``normalized_shape`` or ``None``
        (``elementwise_affine=False``).
      eps: ``ε``, inside the root (PyTorch, Keras, the authors' TensorFlow
        code). ``None`` is PyTorch's default: :func:`rmsnorm_default_eps`
        of ``x``'s dtype. Keras' ``RMSNormalization`` defaults to 1e-6.
      normalized_shape: as :func:`layernorm_forward`.
      unit_offset: the scale is ``1 + γ`` (``γ`` a zero-centred weight,
        initialised at 0): Gemma's RMSNorm (``gemma_pytorch``'s
        ``RMSNorm(add_unit_offset=True)``, Hugging Face's ``GemmaRMSNorm``).
        ``∂y/∂γ`` is the same as for the plain form, so
        :func:`rmsnorm_backward` needs nothing more.

    Warning: the authors' PyTorch code divides by ``√mean(x²) + ε`` (ε
    outside the root), which differs where ``mean(x²)`` is comparable to
    ``ε``: choose ``ε`` large or inputs small to tell them apart.

    Source: ``torch.nn.RMSNorm``/``torch.nn.functional.rms_norm``,
    ``keras.layers.RMSNormalization``.

    Returns:
      ``(y, cache)``; pass ``cache`` to :func:`rmsnorm_backward`.

    >>> y, _ = rmsnorm_forward([[1.0, 7.0]], eps=0.0)   # mean(x²) = 25
    >>> y
    array([[0.2, 1.4]])
    >>> rmsnorm_forward([[1.0, 7.0]], [0.0, 1.0], eps=0.0, unit_offset=True)[0]
    array([[0.2, 2.8]])
    """
    if eps is None:
        eps = rmsnorm_default_eps(x)
    x = as_float(x, "x")
    check_positive("eps", eps, allow_zero=True)
    axes = _normalized_axes(x, normalized_shape, gamma)
    gamma = _affine("gamma", gamma, x, axes)
    if unit_offset and gamma is not None:
        gamma = 1.0 + gamma                    # the cache holds the effective scale: dx uses it
    inv_rms = 1.0 / np.sqrt((x * x).mean(axis=axes, keepdims=True) + eps)
    xhat = x * inv_rms
    return _scale_and_shift(xhat, gamma, None), NormCache(xhat, inv_rms, gamma, axes, False)


def rmsnorm_backward(dy, cache: NormCache):
    """Backward pass of :func:`rmsnorm_forward`.

    With ``g = γ dy``, ``r = 1/√(mean(x²) + ε)`` and ``H`` entries per example:
    ``∂L/∂x = r (g − x̂ · (1/H) Σ (g x̂))``, ``∂L/∂γ = Σ_batch dy x̂``.

    Returns:
      ``(dx, dgamma)``; ``dgamma`` is ``None`` without ``gamma``.
    """
    dy = _check_dy(dy, cache)
    dxhat, dgamma, _ = _param_grads(dy, cache)
    xhat = cache.xhat
    dx = cache.inv_std * (dxhat - xhat * (dxhat * xhat).mean(axis=cache.axes, keepdims=True))
    return dx, dgamma
