"""LAMB: Adam's step rescaled per layer by the trust ratio ‖w‖/‖step‖.

Spec: issue 17 ("Beyond the course notes"). Source: You et al., "Large Batch
Optimization for Deep Learning: Training BERT in 76 Minutes", ICLR 2020
(arXiv:1904.00962), Algorithm 2.

A layer is one array: the trust ratio is computed over the whole ``params``
array passed to ``update``; drive one optimizer per layer (as optax does per
leaf of a pytree).
"""

from __future__ import annotations

import numpy as np

from reference._src.adaptive import add_decayed_weights, scale_by_adam
from reference._src.base import (
    EmptyState,
    Optimizer,
    Transform,
    as_optimizer,
    chain,
    check_in_range,
    check_positive,
    scale,
)

__all__ = ["LAMB_WEIGHT_DECAY_FORMS", "l2_norm", "trust_ratio", "scale_by_trust_ratio", "lamb"]

LAMB_WEIGHT_DECAY_FORMS = ("paper", "keras")


def l2_norm(x):
    """``‖x‖₂`` over every entry: ``√(Σ x²)``."""
    return np.sqrt(np.sum(x * x))


def trust_ratio(weights, step):
    """``‖w‖/‖step‖``, or 1 when either norm is 0 (the layer would never move, or the step is 0)."""
    wn, sn = l2_norm(weights), l2_norm(step)
    zero = (wn == 0.0) | (sn == 0.0)
    return np.where(zero, 1.0, wn / np.where(zero, 1.0, sn))


def scale_by_trust_ratio() -> Transform:
    """Multiply the update by :func:`trust_ratio` of the parameters and the update (optax.scale_by_trust_ratio)."""

    def init(params):
        return EmptyState()

    def update(u, state, params):
        return trust_ratio(params, u) * u, state

    return Transform(init, update)


def _decay_then_trust_ratio(lr, weight_decay) -> Transform:
    """Keras' order: ``w' = w − w λ η``, then ``w' − η (‖w'‖/‖r‖) r``; emits the whole change ``w_new − w``."""

    def init(params):
        return EmptyState()

    def update(r, state, params):
        # the change −w λ η written as such, not as (w − wλη) − w: the same number up to a rounding, and a
        # tracked run (verify.tolerance) does not count the weights' error twice
        shrink = params * weight_decay * lr
        return -shrink - lr * trust_ratio(params - shrink, r) * r, state

    return Transform(init, update)


def lamb(lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-6, weight_decay: float = 0.0, *,
         weight_decay_form: str = "paper") -> Optimizer:
    """LAMB (You et al. 2020, Algorithm 2, with ``φ`` the identity), per layer.

    ``m``, ``v``, ``m̂``, ``v̂`` as Adam; ``r = m̂/(√v̂ + ε)``;
    ``u = r + λ_wd w``; ``w ← w − η ‖w‖/‖u‖ · u`` (the ratio is 1 when
    ``‖w‖ = 0`` or ``‖u‖ = 0``). The step's norm is ``η ‖w‖``: LAMB moves each
    layer by the fraction ``η`` of its own size.

    Args:
      lr, b1, b2, eps, weight_decay: optax's ``lamb`` defaults (ε = 1e-6,
        ``λ_wd = 0``; PyTorch has no LAMB; the paper trains BERT with
        ``λ_wd = 0.01``).
      weight_decay_form: ``"paper"`` (canonical; optax): the decay is part
        of the step the trust ratio rescales, as above. ``"keras"``
        (``keras.optimizers.Lamb``): the weights are shrunk first,
        ``w' = w − η λ_wd w``, then ``w ← w' − η ‖w'‖/‖r‖ · r``; the decay
        stays outside the ratio. The two agree at ``λ_wd = 0``.

    The trust ratio cancels any scalar factor of the step: without decay and
    with ``ε = 0`` the bias corrections (scalars per step) change nothing.

    Warning: the paper's v3 on arXiv dropped the bias correction (so did
    cybertronai/pytorch-lamb, which also clamps ``‖w‖`` to [0, 10]); early
    ports added ``λ_wd w`` to the gradient, Adam-style, instead of to ``r``.
    Neither is the published algorithm.

    Source: ``optax.lamb`` (``scale_by_adam``, ``add_decayed_weights``,
    ``scale_by_trust_ratio``), ``keras.optimizers.Lamb``.

    With ``ε = 0`` the first ``r`` is ``sgn(g)``: here ``‖r‖ = 2``,
    ``‖w‖ = 4``, so every entry moves by ``0.1 · 4/2``:

    >>> opt = lamb(lr=0.1, eps=0.0)
    >>> w0 = np.full(4, 2.0)
    >>> w, _ = opt.update(np.array([1.0, -1.0, 3.0, -0.5]), opt.init(w0), w0)
    >>> w
    array([1.8, 2.2, 1.8, 2.2])
    """
    check_positive("lr", lr)
    check_in_range("b1", b1, 0.0, 1.0)
    check_in_range("b2", b2, 0.0, 1.0)
    check_positive("eps", eps, allow_zero=True)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    if weight_decay_form not in LAMB_WEIGHT_DECAY_FORMS:
        raise ValueError(f"weight_decay_form must be one of {LAMB_WEIGHT_DECAY_FORMS}, got {weight_decay_form!r}")
    adam_step = scale_by_adam(b1, b2, eps)
    if weight_decay_form == "keras":
        return as_optimizer(chain(adam_step, _decay_then_trust_ratio(lr, weight_decay)))
    if weight_decay:
        return as_optimizer(chain(adam_step, add_decayed_weights(weight_decay), scale_by_trust_ratio(), scale(-lr)))
    return as_optimizer(chain(adam_step, scale_by_trust_ratio(), scale(-lr)))
