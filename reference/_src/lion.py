"""Lion (EvoLved Sign Momentum): a sign method with two momentum rates.

Spec: issue 17 ("Beyond the course notes"). Source: Chen et al., "Symbolic
Discovery of Optimization Algorithms", NeurIPS 2023 (arXiv:2302.06675),
Algorithm 2 / Program 1.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reference._src.base import Optimizer, Transform, check_in_range, check_positive, ema, scale
from reference._src.decay import with_weight_decay

__all__ = ["ScaleByLionState", "scale_by_lion", "lion"]


class ScaleByLionState(NamedTuple):
    """The momentum ``m`` (an average of gradients at rate β2)."""

    mu: np.ndarray


def scale_by_lion(b1: float, b2: float) -> Transform:
    """Emits ``sgn(β1 m + (1 − β1) g)``, then ``m ← β2 m + (1 − β2) g`` (``sgn(0) = 0``)."""

    def init(params):
        return ScaleByLionState(np.zeros_like(params))

    def update(g, state, params):
        u = np.sign(ema(b1, state.mu, g))
        return u, ScaleByLionState(ema(b2, state.mu, g))

    return Transform(init, update)


def lion(lr: float = 1e-4, b1: float = 0.9, b2: float = 0.99, weight_decay: float = 0.0) -> Optimizer:
    """Lion: ``c = β1 m + (1 − β1) g``, ``w ← w − η (sgn(c) + λ_wd w)``, ``m ← β2 m + (1 − β2) g``.

    ``m₀ = 0``. The interpolation ``c`` uses β1, the stored momentum β2: the
    two rates differ on purpose. Every entry moves by exactly ``η`` (or 0 where
    ``c = 0``) plus the decay ``η λ_wd |w|``.

    Args:
      lr, b1, b2: the paper's ``η``, ``β1``, ``β2`` (defaults 1e-4, 0.9, 0.99;
        PyTorch has no Lion: optax's and Keras' names, ``b1``/``b2`` as the
        other references).
      weight_decay: ``λ_wd``, decoupled and multiplied by ``η``, applied to
        the weights before the step (Program 1: ``update + wd·w`` times
        ``lr``). optax's ``lion`` (default ``weight_decay=1e-3``) and Keras'
        ``Lion`` (``weight_decay`` of its base class: ``w ← w − w λ η`` before
        the step) compute the same.

    Warning: bitsandbytes' 32-bit Lion added the decay to the gradient (coupled:
    ``g ← g + λ_wd w`` before both ``c`` and ``m``), so the sign swallows it
    (bitsandbytes issue #1992); decaying after the sign step,
    ``w ← (w − η sgn c)(1 − η λ_wd)``, is another form seen in the wild.
    Neither is Lion.

    Source: ``optax.lion``, ``keras.optimizers.Lion``, the paper's Program 1.

    >>> opt = lion(lr=0.1)
    >>> w, _ = opt.update(np.array([3.0, -1e-6, 0.0]), opt.init(np.zeros(3)), np.zeros(3))
    >>> w
    array([-0.1,  0.1,  0. ])
    >>> opt = lion(lr=0.1, weight_decay=0.5)
    >>> w, _ = opt.update(np.array([1.0]), opt.init(np.ones(1)), np.ones(1))
    >>> w  # 1 − 0.1·(1 + 0.5·1)
    array([0.85])
    """
    check_positive("lr", lr)
    check_in_range("b1", b1, 0.0, 1.0, hi_closed=True)
    check_in_range("b2", b2, 0.0, 1.0, hi_closed=True)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    return with_weight_decay(scale_by_lion(b1, b2), scale(-lr), weight_decay, decoupled=True)
