"""Adagrad and its extension Adadelta: per-coordinate rates from accumulated squared gradients.

Spec: issue 17 ("Beyond the course notes").
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reference._src.base import Optimizer, Transform, check_in_range, check_positive, ema, scale
from reference._src.decay import with_weight_decay

__all__ = [
    "ADAGRAD_EPS_PLACEMENTS",
    "ScaleByRssState",
    "ScaleByAdadeltaState",
    "InverseTimeState",
    "scale_by_rss",
    "scale_by_adadelta",
    "scale_by_inverse_time",
    "adagrad",
    "adadelta",
]

ADAGRAD_EPS_PLACEMENTS = ("outside", "inside")


class ScaleByRssState(NamedTuple):
    """The running sum of squared gradients ``s``."""

    sum_of_squares: np.ndarray


class ScaleByAdadeltaState(NamedTuple):
    """Running averages of the squared gradients ``E[g²]`` and of the squared steps ``E[Δ²]``."""

    square_avg: np.ndarray
    acc_delta: np.ndarray


class InverseTimeState(NamedTuple):
    """Step count ``t``."""

    count: int


def scale_by_rss(initial_accumulator_value: float, eps: float, *, eps_placement: str = "outside") -> Transform:
    """``s ← s + g²`` from ``s₀``; emits ``g/(√s + ε)`` (``"outside"``) or ``g/√(s + ε)`` (``"inside"``)."""
    if eps_placement not in ADAGRAD_EPS_PLACEMENTS:
        raise ValueError(f"eps_placement must be one of {ADAGRAD_EPS_PLACEMENTS}, got {eps_placement!r}")
    outside = eps_placement == "outside"

    def init(params):
        return ScaleByRssState(np.full_like(params, initial_accumulator_value))

    def update(g, state, params):
        s = state.sum_of_squares + g * g
        u = g / (np.sqrt(s) + eps) if outside else g / np.sqrt(s + eps)
        return u, ScaleByRssState(s)

    return Transform(init, update)


def scale_by_inverse_time(lr: float, lr_decay: float) -> Transform:
    """Multiply the update by ``−η/(1 + (t − 1) d)`` (PyTorch's Adagrad ``lr_decay`` ``d``)."""

    def init(params):
        return InverseTimeState(0)

    def update(u, state, params):
        t = state.count + 1
        return (-lr / (1.0 + (t - 1) * lr_decay)) * u, InverseTimeState(t)

    return Transform(init, update)


def adagrad(lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
            eps: float = 1e-10, *, eps_placement: str = "outside", decoupled_weight_decay: bool = False) -> Optimizer:
    """Adagrad (Duchi, Hazan & Singer, JMLR 2011, Figure 1, diagonal form): ``s ← s + g²``, ``w ← w − η g/(√s + ε)``.

    ``s₀ = initial_accumulator_value`` (0 in the paper). The step of a
    coordinate shrinks as its gradients accumulate: with a constant
    gradient the t-th step is ``η/√t`` (at ``s₀ = ε = 0``).

    Args:
      lr, lr_decay, weight_decay, initial_accumulator_value, eps: PyTorch's
        names, order and defaults. ``lr_decay`` ``d`` makes the t-th rate
        ``η/(1 + (t − 1) d)``; ``weight_decay`` is coupled,
        ``g ← g + λ_wd w`` before the sum.
      eps_placement: ``"outside"`` (canonical; the paper's ``δ``, PyTorch):
        ``g/(√s + ε)``; ``"inside"`` (optax's ``adagrad`` and Keras'):
        ``g/√(s + ε)``. optax also takes a zero step where ``s = 0``, which
        differs from ``g/√(s + ε)`` only at ``ε = 0`` (0 there, ``0/0``
        here).
      decoupled_weight_decay: Keras' form, ``w ← w − η(step + λ_wd w)``.

    The defaults differ between libraries: PyTorch ``s₀ = 0``, ``ε = 1e-10``;
    optax and Keras ``s₀ = 0.1``, ``ε = 1e-7`` (inside); Keras ``η = 1e-3``.

    Source: ``torch.optim.Adagrad`` (``_single_tensor_adagrad``),
    ``optax.adagrad`` (``scale_by_rss``), ``keras.optimizers.Adagrad``.

    >>> opt = adagrad(lr=0.1, eps=0.0)
    >>> w, s = np.zeros(1), opt.init(np.zeros(1))
    >>> for g in (3.0, 4.0):
    ...     w, s = opt.update(np.array([g]), s, w)
    >>> w  # −0.1·3/√9 − 0.1·4/√25
    array([-0.18])
    """
    check_positive("lr", lr)
    check_positive("lr_decay", lr_decay, allow_zero=True)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    check_positive("initial_accumulator_value", initial_accumulator_value, allow_zero=True)
    check_positive("eps", eps, allow_zero=True)
    step = scale_by_inverse_time(lr, lr_decay) if lr_decay else scale(-lr)
    return with_weight_decay(scale_by_rss(initial_accumulator_value, eps, eps_placement=eps_placement), step,
                             weight_decay, decoupled=decoupled_weight_decay)


def scale_by_adadelta(rho: float, eps: float) -> Transform:
    """Adadelta's step ``Δ = √(E[Δ²] + ε)/√(E[g²] + ε) · g`` (before the learning rate), with both averages at rate ρ."""

    def init(params):
        z = np.zeros_like(params)
        return ScaleByAdadeltaState(z, z.copy())

    def update(g, state, params):
        square_avg = ema(rho, state.square_avg, g, g)
        delta = np.sqrt(state.acc_delta + eps) / np.sqrt(square_avg + eps) * g
        acc_delta = ema(rho, state.acc_delta, delta, delta)
        return delta, ScaleByAdadeltaState(square_avg, acc_delta)

    return Transform(init, update)


def adadelta(lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0, *,
             decoupled_weight_decay: bool = False) -> Optimizer:
    """Adadelta (Zeiler 2012, arXiv:1212.5701, Algorithm 1), with PyTorch's learning rate.

    ``E[g²] ← ρ E[g²] + (1 − ρ) g²``,
    ``Δ = √(E[Δ²] + ε)/√(E[g²] + ε) · g``,
    ``E[Δ²] ← ρ E[Δ²] + (1 − ρ) Δ²``, ``w ← w − η Δ``; both averages start
    at 0. The paper has no learning rate (``η = 1``); ``E[Δ²]`` accumulates
    ``Δ`` *before* ``η`` multiplies it, in PyTorch, optax and Keras alike.

    Args:
      lr, rho, eps, weight_decay: PyTorch's names and defaults (the paper
        uses ρ = 0.95, ε = 1e-6; Keras η = 1e-3, ρ = 0.95, ε = 1e-7).
        ``weight_decay`` is coupled, ``g ← g + λ_wd w`` (PyTorch, optax's
        ``adadelta(weight_decay=…)``).
      decoupled_weight_decay: Keras' form, ``w ← w − η(Δ + λ_wd w)``.

    Warning: ``optax.adadelta()`` with its default ``learning_rate=None``
    applies ``+Δ``: gradient ascent (optax 0.2.8). Pass a learning rate.

    Source: ``torch.optim.Adadelta``, ``optax.adadelta``
    (``scale_by_adadelta``), ``keras.optimizers.Adadelta``.

    With ``ρ = 0.5``, ``ε = 1``, ``g = 4``: ``E[g²] = 8``, ``Δ = √1/√9 · 4``:

    >>> opt = adadelta(lr=1.0, rho=0.5, eps=1.0)
    >>> w, _ = opt.update(np.array([4.0]), opt.init(np.zeros(1)), np.zeros(1))
    >>> w
    array([-1.33333333])
    """
    check_positive("lr", lr)
    check_in_range("rho", rho, 0.0, 1.0, hi_closed=True)     # ρ = 1 (PyTorch allows it): E[g²] stays 0, Δ = g
    check_positive("eps", eps, allow_zero=True)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    return with_weight_decay(scale_by_adadelta(rho, eps), scale(-lr), weight_decay, decoupled=decoupled_weight_decay)
