"""Weight decay around an optimizer's direction: PyTorch's coupled L2 term or the decoupled one."""

from __future__ import annotations

from reference._src.adaptive import add_decayed_weights
from reference._src.base import Optimizer, Transform, as_optimizer, chain
from reference._src.sgd import add_l2_gradient

__all__ = ["with_weight_decay"]


def with_weight_decay(direction: Transform, step: Transform, weight_decay, *, decoupled: bool = False) -> Optimizer:
    """``direction`` then ``step`` (the learning rate, ``scale(−η)``), with ``λ_wd``:

    * coupled (PyTorch's ``weight_decay``): ``g ← g + λ_wd w`` before ``direction``;
    * decoupled (AdamW; PyTorch's ``decoupled_weight_decay=True``, which
      shrinks ``w ← w(1 − η λ_wd)`` first): ``u ← u + λ_wd w`` after it, so
      ``w ← w − η (u + λ_wd w)`` with ``w`` the weights before the step.
    """
    if not weight_decay:
        return as_optimizer(chain(direction, step))
    if decoupled:
        return as_optimizer(chain(direction, add_decayed_weights(weight_decay), step))
    # add_l2_gradient adds 2λw; PyTorch's coupled decay adds wd·w.
    return as_optimizer(chain(add_l2_gradient(weight_decay / 2.0), direction, step))
