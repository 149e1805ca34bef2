"""Adaptive methods: RMSprop, Adam, AdamW.

Spec: ``shared/FORMULAS.md`` sections 9 and 10 (specs ``rmsprop``, ``adam``,
``adamw``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reference._src.base import (
    Optimizer,
    Transform,
    as_optimizer,
    chain,
    check_in_range,
    ema,
    check_positive,
    nonnegative,
    scale,
)
from reference._src.sgd import MOMENTUM_FORMS, add_l2_gradient, trace

__all__ = [
    "ScaleByRmsState",
    "ScaleByAdamState",
    "EPS_PLACEMENTS",
    "scale_by_rms",
    "scale_by_adam",
    "add_decayed_weights",
    "rmsprop",
    "adam",
    "adamw",
]

EPS_PLACEMENTS = ("outside", "inside", "hat")


class ScaleByRmsState(NamedTuple):
    """Running mean of squared gradients ``s`` (and of gradients, if centred; and the momentum buffer)."""

    nu: np.ndarray
    mu: np.ndarray
    momentum: np.ndarray


class ScaleByAdamState(NamedTuple):
    """Step count ``t`` and the moment estimates ``m``, ``v`` (and ``max v`` for AMSGrad)."""

    count: int
    mu: np.ndarray
    nu: np.ndarray
    nu_max: np.ndarray


def scale_by_rms(rho: float, eps: float, *, eps_in_sqrt: bool = False, centered: bool = False,
                 momentum: float = 0.0) -> Transform:
    """RMSprop's scaling: ``s ← ρ s + (1 − ρ) g²``, emits ``g/(√s + ε)``.

    ``eps_in_sqrt=True`` emits ``g/√(s + ε)`` (optax's and Keras' default);
    ``centered=True`` divides by ``√(s − m²) + ε`` (``√(s − m² + ε)``) with ``m`` the
    running mean of ``g`` (Graves 2013); ``momentum`` accumulates the scaled gradient as
    PyTorch does (``buf ← μ buf + g/(√s + ε)``).
    """

    def init(params):
        z = np.zeros_like(params)
        return ScaleByRmsState(z, z.copy(), z.copy())

    def update(g, state, params):
        nu = ema(rho, state.nu, g, g)
        mu = ema(rho, state.mu, g) if centered else state.mu
        # s − ḡ² ≥ 0 exactly (Cauchy–Schwarz: ḡ² ≤ (1 − ρᵗ)s), but rounding can take it below 0 where the gradients
        # hardly vary (PyTorch's and optax's roots are then NaN): the reference takes the exact bound, 0
        second = nonnegative(nu - mu * mu) if centered else nu
        denom = np.sqrt(second + eps) if eps_in_sqrt else np.sqrt(second) + eps
        u = g / denom
        buf = state.momentum
        if float(momentum) > 0:
            buf = momentum * buf + u
            u = buf
        return u, ScaleByRmsState(nu, mu, buf)

    return Transform(init, update)


def scale_by_adam(b1: float, b2: float, eps: float, *, eps_placement: str = "outside",
                  amsgrad: bool = False) -> Transform:
    """Adam's scaling with bias correction (Kingma & Ba 2015, Algorithm 1).

    ``m ← β1 m + (1 − β1) g``, ``v ← β2 v + (1 − β2) g²``,
    ``m̂ = m/(1 − β1ᵗ)``, ``v̂ = v/(1 − β2ᵗ)``; emits, by ``eps_placement``:

    * ``"outside"`` (canonical; PyTorch, optax): ``m̂/(√v̂ + ε)``;
    * ``"inside"``: ``m̂/√(v̂ + ε)``;
    * ``"hat"`` (Keras; the paper's end of §2): ``√(1−β2ᵗ)/(1−β1ᵗ) · m/(√v + ε)``,
      i.e. ``ε̂ = ε √(1 − β2ᵗ)`` added before the bias correction.

    ``amsgrad=True`` divides by the running maximum of ``v`` (Reddi et al. 2018,
    as PyTorch implements it).
    """
    if eps_placement not in EPS_PLACEMENTS:
        raise ValueError(f"eps_placement must be one of {EPS_PLACEMENTS}, got {eps_placement!r}")

    def init(params):
        z = np.zeros_like(params)
        return ScaleByAdamState(0, z, z.copy(), z.copy())

    def update(g, state, params):
        t = state.count + 1
        mu = ema(b1, state.mu, g)
        nu = ema(b2, state.nu, g, g)
        nu_max = np.maximum(state.nu_max, nu) if amsgrad else state.nu_max
        v = nu_max if amsgrad else nu
        c1 = 1.0 - b1 ** t
        c2 = 1.0 - b2 ** t
        if eps_placement == "outside":
            u = (mu / c1) / (np.sqrt(v / c2) + eps)
        elif eps_placement == "inside":
            u = (mu / c1) / np.sqrt(v / c2 + eps)
        else:
            u = (np.sqrt(c2) / c1) * mu / (np.sqrt(v) + eps)
        return u, ScaleByAdamState(t, mu, nu, nu_max)

    return Transform(init, update)


def add_decayed_weights(weight_decay: float) -> Transform:
    """Add ``λ_wd · w`` to the update (optax.add_decayed_weights)."""

    def init(params):
        return ()

    def update(u, state, params):
        return u + weight_decay * params, state

    return Transform(init, update)


def rmsprop(lr: float = 0.01, rho: float = 0.9, eps: float = 1e-8, *, momentum: float = 0.0,
            centered: bool = False, eps_in_sqrt: bool = False, form: str = "pytorch") -> Optimizer:
    """RMSprop (Hinton, Coursera lecture 6e): ``s ← ρ s + (1 − ρ) g²``, ``w ← w − η g/(√s + ε)``.

    ``s₀ = 0``. PyTorch calls ``ρ`` ``alpha`` (default 0.99); the lecture uses 0.9.

    * ``centered=True`` (Graves 2013, eq. 38–41): also ``ḡ ← ρ ḡ + (1 − ρ) g`` and divide by
      ``√(s − ḡ²) + ε``, an estimate of the gradient's standard deviation instead of its RMS;
    * ``momentum`` ``μ > 0`` (PyTorch's ``momentum``): ``b ← μ b + g/(√s + ε)``, ``w ← w − η b``;
      ``form="polyak"`` keeps ``η`` inside the buffer instead, ``v ← μ v + η g/(√s + ε)``,
      ``w ← w − v`` (Keras's ``RMSprop(momentum=…)``, optax's ``rmsprop(momentum=…)``, which
      applies ``optax.trace`` after the learning rate): the same iterates while ``η`` is constant
      (``v = η b``), rounded differently;
    * ``eps_in_sqrt=True``: ``g/√(s + ε)`` (``√(s − ḡ² + ε)`` centred; optax's and Keras's default).

    Sources: PyTorch 2.13 ``torch/optim/rmsprop.py`` (both kernels), Keras 3.15
    ``keras/src/optimizers/rmsprop.py``, optax 0.2.8 ``optax.rmsprop`` / ``scale_by_stddev``.

    Warning: the canonical form puts ``ε`` outside the root (PyTorch); optax
    and Keras put it inside by default (``eps_in_sqrt=True``), which changes
    the first steps markedly when ``g² ≲ ε``.

    >>> opt = rmsprop(lr=0.1, rho=0.9, eps=0.0)
    >>> w, _ = opt.update(np.array([2.0]), opt.init(np.zeros(1)), np.zeros(1))
    >>> w  # −0.1 · 2/√(0.1·4)
    array([-0.31622777])

    Centred, the first step divides by ``√(ρ(1 − ρ)) |g|``: ``s₁ − ḡ₁² = 0.1·4 − 0.2² = 0.36``:

    >>> opt = rmsprop(lr=0.1, rho=0.9, eps=0.0, centered=True)
    >>> w, _ = opt.update(np.array([2.0]), opt.init(np.zeros(1)), np.zeros(1))
    >>> w  # −0.1 · 2/0.6
    array([-0.33333333])
    """
    check_positive("lr", lr)
    check_in_range("rho", rho, 0.0, 1.0)
    check_positive("eps", eps, allow_zero=True)
    check_in_range("momentum", momentum, 0.0, 1.0)
    if form not in MOMENTUM_FORMS:
        raise ValueError(f"form must be one of {MOMENTUM_FORMS}, got {form!r}")
    if form == "polyak" and float(momentum) > 0:
        # v ← μv + η·g/√(…) kept as the negative step −v (optax: trace after scale_by_learning_rate)
        return as_optimizer(chain(scale_by_rms(rho, eps, eps_in_sqrt=eps_in_sqrt, centered=centered),
                                  scale(-lr), trace(momentum)))
    return as_optimizer(chain(scale_by_rms(rho, eps, eps_in_sqrt=eps_in_sqrt, centered=centered,
                                           momentum=momentum), scale(-lr)))


def _check_adam(lr, b1, b2, eps, weight_decay):
    check_positive("lr", lr)
    check_in_range("b1", b1, 0.0, 1.0)
    check_in_range("b2", b2, 0.0, 1.0)
    check_positive("eps", eps, allow_zero=True)
    check_positive("weight_decay", weight_decay, allow_zero=True)


def adam(lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
         weight_decay: float = 0.0, *, eps_placement: str = "outside", amsgrad: bool = False) -> Optimizer:
    """Adam (Kingma & Ba 2015, Algorithm 1): ``w ← w − η m̂/(√v̂ + ε)``.

    ``weight_decay`` is PyTorch's coupled L2 term: ``g ← g + λ_wd · w`` before
    the moments (an L2 penalty ``(λ_wd/2) Σ w²``). See :func:`adamw` for the
    decoupled form.

    With a constant gradient ``g``, ``E[m_t] = (1 − β1ᵗ) g``; the bias
    correction makes every step ``η g/(|g| + ε)``:

    >>> opt = adam(lr=0.1)
    >>> w, s = np.zeros(1), opt.init(np.zeros(1))
    >>> for _ in range(3):
    ...     w, s = opt.update(np.array([4.0]), s, w)
    >>> w
    array([-0.3])
    """
    _check_adam(lr, b1, b2, eps, weight_decay)
    inner = scale_by_adam(b1, b2, eps, eps_placement=eps_placement, amsgrad=amsgrad)
    if weight_decay:
        # add_l2_gradient adds 2λw; PyTorch's coupled decay adds wd·w.
        return as_optimizer(chain(add_l2_gradient(weight_decay / 2.0), inner, scale(-lr)))
    return as_optimizer(chain(inner, scale(-lr)))


def adamw(lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
          weight_decay: float = 1e-2, *, eps_placement: str = "outside", amsgrad: bool = False) -> Optimizer:
    """AdamW (Loshchilov & Hutter 2019): ``w ← w − η (m̂/(√v̂ + ε) + λ_wd w)``.

    The decay is decoupled from the moments: it never enters ``m`` or ``v``.
    PyTorch's ``AdamW`` (``w ← w(1 − η λ_wd)`` then the Adam step) and
    ``optax.adamw`` compute the same update.
    """
    _check_adam(lr, b1, b2, eps, weight_decay)
    inner = scale_by_adam(b1, b2, eps, eps_placement=eps_placement, amsgrad=amsgrad)
    return as_optimizer(chain(inner, add_decayed_weights(weight_decay), scale(-lr)))
