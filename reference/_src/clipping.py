"""Gradient clipping by the global norm of all the gradients together.

Spec: issue 17 ("Beyond the course notes"). Source: Pascanu, Mikolov &
Bengio, "On the difficulty of training recurrent neural networks", ICML 2013,
Algorithm 1: if ``‖ĝ‖ ≥ threshold``, ``ĝ ← threshold/‖ĝ‖ · ĝ``, with ``‖ĝ‖``
the norm of the whole gradient.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from reference._src.base import as_float, check_positive

__all__ = ["CLIP_CONVENTIONS", "TORCH_CLIP_EPS", "global_norm", "clip_by_global_norm"]

CLIP_CONVENTIONS = ("pytorch", "optax")
#: The constant ``torch.nn.utils.clip_grad_norm_`` adds to the norm.
TORCH_CLIP_EPS = 1e-6


def global_norm(grads: Sequence) -> float:
    """``√(Σ_i ‖g_i‖²)``: the 2-norm of every entry of every array, as if concatenated."""
    return np.sqrt(sum(np.sum(g * g) for g in grads))


def clip_by_global_norm(grads: Sequence, max_norm: float, eps: float = TORCH_CLIP_EPS, *,
                        convention: str = "pytorch") -> tuple[list[np.ndarray], float]:
    """Scale every gradient by one factor so that their global norm ``n`` is at most ``max_norm``.

    ``n = √(Σ_i ‖g_i‖²)`` over all the arrays ``g_i`` together; by
    ``convention``:

    * ``"pytorch"`` (canonical; ``torch.nn.utils.clip_grad_norm_``):
      ``c = min(max_norm/(n + ε), 1)`` with ``ε = 1e-6``; ``g_i ← c g_i``.
      It also clips (slightly) when ``max_norm − ε < n ≤ max_norm``, and the
      clipped norm ``n·max_norm/(n + ε)`` is just below ``max_norm``.
    * ``"optax"`` (``optax.clip_by_global_norm``, Keras' ``global_clipnorm``,
      the paper): ``g_i`` unchanged if ``n < max_norm``, else
      ``g_i/n · max_norm``; the clipped norm is ``max_norm``. ``eps`` is not
      used. (optax gives NaN for ``max_norm = 0`` and all-zero gradients;
      here they stay 0.)

    Clipping each array by its own norm (``g_i ← g_i min(1, max_norm/‖g_i‖)``,
    Keras' ``clipnorm``) is another operation: it lets the global norm reach
    ``max_norm·√k`` for ``k`` arrays and changes the direction.

    Args:
      grads: the gradients, a sequence of arrays of any shapes.
      max_norm: the threshold (``≥ 0``).
      eps: PyTorch's constant (1e-6, not an argument of
        ``clip_grad_norm_``).
      convention: ``"pytorch"`` or ``"optax"``.

    Returns:
      ``(clipped, n)``: new float64 arrays and the norm before clipping (what
      ``clip_grad_norm_`` returns).

    >>> clipped, n = clip_by_global_norm([[3.0, 4.0], [[0.0, 12.0]]], 5.0, convention="optax")
    >>> n, clipped[0], clipped[1]   # n = 13: times 5/13
    (13.0, array([1.15384615, 1.53846154]), array([[0.        , 4.61538462]]))
    >>> clip_by_global_norm([[3.0, 4.0], [[0.0, 12.0]]], 5.0)[0][0]   # times 5/(13 + 1e-6)
    array([1.15384607, 1.53846142])
    """
    if convention not in CLIP_CONVENTIONS:
        raise ValueError(f"convention must be one of {CLIP_CONVENTIONS}, got {convention!r}")
    check_positive("max_norm", max_norm, allow_zero=True)
    check_positive("eps", eps, allow_zero=True)
    arrays = [as_float(g, f"grads[{i}]") for i, g in enumerate(grads)]
    if not arrays:
        raise ValueError("grads must hold at least one array")
    n = global_norm(arrays)
    if convention == "pytorch":
        coef = min(max_norm / (n + eps), 1.0)
        return [g * coef for g in arrays], float(n)
    if n < max_norm or n == 0.0:
        return arrays, float(n)
    return [g / n * max_norm for g in arrays], float(n)
