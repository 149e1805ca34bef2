"""Adam's relatives: Adamax, NAdam, RAdam and AMSGrad's second published maximum.

Spec: issue 17 ("Beyond the course notes"). Every update is plain arithmetic
and ``np.sqrt``/``np.maximum``/``np.abs`` on the arrays and hyperparameters it
is given, with the moving averages written as :func:`~reference._src.base.ema`
(the tolerance model runs these functions on values that carry their rounding
error, and its bound of ``ema`` covers PyTorch's ``lerp`` form too); decisions
that depend only on the step count (RAdam's rectification) are taken on
scalars.

Weight decay is PyTorch's: coupled ``g ← g + λ_wd·w``, or decoupled
``w ← w(1 − η λ_wd)`` before the step (:func:`reference._src.decay.with_weight_decay`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reference._src.adaptive import EPS_PLACEMENTS, _check_adam, adam, adamw
from reference._src.base import Optimizer, Transform, check_positive, ema, scale
from reference._src.decay import with_weight_decay

__all__ = [
    "ADAMAX_EPS_PLACEMENTS",
    "NADAM_SCHEDULES",
    "RADAM_THRESHOLDS",
    "AMSGRAD_MAXIMA",
    "ScaleByAdamaxState",
    "ScaleByNadamState",
    "ScaleByRadamState",
    "ScaleByAmsgradState",
    "scale_by_adamax",
    "scale_by_nadam",
    "scale_by_radam",
    "scale_by_amsgrad",
    "nadam_momentum",
    "radam_rho",
    "adamax",
    "nadam",
    "radam",
    "amsgrad",
]

ADAMAX_EPS_PLACEMENTS = ("inside-max", "outside-max")
NADAM_SCHEDULES = ("dozat", "constant")
#: When RAdam rectifies: ``"pytorch"`` ρ_t > 5, ``"official"`` ρ_t ≥ 5 (the authors' code, optax), ``"paper"`` ρ_t > 4.
RADAM_THRESHOLDS = ("pytorch", "official", "paper")
AMSGRAD_MAXIMA = ("v", "v-hat")


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


# ------------------------------------------------------------------- Adamax


class ScaleByAdamaxState(NamedTuple):
    """Step count ``t``, the first moment ``m`` and the exponentially weighted infinity norm ``u``."""

    count: int
    mu: np.ndarray
    inf_norm: np.ndarray


def scale_by_adamax(b1: float, b2: float, eps: float, *, eps_placement: str = "inside-max") -> Transform:
    """Adamax's scaling: ``m ← β1 m + (1 − β1) g``, emits ``m/((1 − β1ᵗ) u)``.

    ``"inside-max"``: ``u ← max(β2 u, |g| + ε)``; ``"outside-max"``:
    ``u ← max(β2 u, |g|)`` and the division is by ``u + ε``.
    """
    _check_choice("eps_placement", eps_placement, ADAMAX_EPS_PLACEMENTS)
    inside = eps_placement == "inside-max"

    def init(params):
        z = np.zeros_like(params)
        return ScaleByAdamaxState(0, z, z.copy())

    def update(g, state, params):
        t = state.count + 1
        mu = ema(b1, state.mu, g)
        if inside:
            u = np.maximum(b2 * state.inf_norm, np.abs(g) + eps)
            denom = u
        else:
            u = np.maximum(b2 * state.inf_norm, np.abs(g))
            denom = u + eps
        return mu / ((1.0 - b1 ** t) * denom), ScaleByAdamaxState(t, mu, u)

    return Transform(init, update)


def adamax(lr: float = 2e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
           *, eps_placement: str = "inside-max", decoupled_weight_decay: bool = False) -> Optimizer:
    """Adamax (Kingma & Ba 2015, §7.1, Algorithm 2): Adam with the infinity norm.

    ``m ← β1 m + (1 − β1) g``, ``u ← max(β2 u, |g| + ε)``,
    ``w ← w − η/(1 − β1ᵗ) · m/u``; ``m₀ = u₀ = 0``.

    Every step is bounded per entry: ``u_t ≥ β2^(t−i)|g_i|`` gives
    ``|Δw_t| ≤ η (1 − β1) Σ_{k<t} (β1/β2)^k / (1 − β1ᵗ)``, which is ``η`` at
    ``t = 1`` and below ``η (1 − β1)/(1 − β1/β2)`` (``1.0091 η`` at the
    defaults), attained by gradients that shrink by ``β2`` per step. The
    paper's "``|Δ_t| ≤ α``" is this bound rounded.

    Args:
      lr, b1, b2, eps, weight_decay: PyTorch's ``lr``, ``betas``, ``eps``,
        ``weight_decay`` (coupled, ``g ← g + λ_wd w``) and defaults.
      eps_placement: ``"inside-max"`` (canonical; PyTorch, optax): ``ε`` is
        added to ``|g|`` inside the maximum; ``"outside-max"`` (Keras):
        ``u ← max(β2 u, |g|)``, divide by ``u + ε``. The two agree while
        ``|g|`` is the maximum and differ once the decayed ``β2 u`` wins.
      decoupled_weight_decay: ``w ← w − η(step + λ_wd w)`` (optax's
        ``adamaxw``, Keras' ``weight_decay``) instead of the coupled L2 term.

    The paper has no ``ε`` (both placements coincide at ``ε = 0``).

    Source: ``torch.optim.Adamax``, ``optax.adamax``/``adamaxw``,
    ``keras.optimizers.Adamax``.

    With a constant gradient ``m_t = (1 − β1ᵗ) g`` and ``u_t = |g|``: every
    step is ``η sgn(g)``:

    >>> opt = adamax(lr=0.1, eps=0.0)
    >>> w, s = np.zeros(1), opt.init(np.zeros(1))
    >>> for _ in range(3):
    ...     w, s = opt.update(np.array([4.0]), s, w)
    >>> w
    array([-0.3])
    """
    _check_adam(lr, b1, b2, eps, weight_decay)
    inner = scale_by_adamax(b1, b2, eps, eps_placement=eps_placement)
    return with_weight_decay(inner, scale(-lr), weight_decay, decoupled=decoupled_weight_decay)


# -------------------------------------------------------------------- NAdam


class ScaleByNadamState(NamedTuple):
    """Step count ``t``, ``Π_t = ∏_{i≤t} μ_i`` (1 at the start) and the moments ``m``, ``v``."""

    count: int
    mu_product: float
    mu: np.ndarray
    nu: np.ndarray


def nadam_momentum(t: int, b1: float, momentum_decay: float = 4e-3, *, schedule: str = "dozat"):
    """NAdam's momentum coefficient at step ``t``: ``μ_t = β1 (1 − ½·0.96^(t ψ))`` (``"dozat"``), or ``β1``."""
    if schedule == "constant":
        return b1
    return b1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))


def scale_by_nadam(b1: float, b2: float, eps: float, momentum_decay: float = 4e-3, *,
                   schedule: str = "dozat") -> Transform:
    """NAdam's scaling as PyTorch computes it (the schedule enters only the two coefficients).

    ``m ← β1 m + (1 − β1) g``, ``v ← β2 v + (1 − β2) g²``, ``d = √(v/(1 − β2ᵗ)) + ε``,
    ``Π_t = Π_{t−1} μ_t``; emits
    ``(1 − μ_t)/(1 − Π_t) · g/d + μ_{t+1}/(1 − Π_t μ_{t+1}) · m/d``.
    """
    _check_choice("schedule", schedule, NADAM_SCHEDULES)

    def init(params):
        z = np.zeros_like(params)
        return ScaleByNadamState(0, 1.0, z, z.copy())

    def update(g, state, params):
        t = state.count + 1
        mu_t = nadam_momentum(t, b1, momentum_decay, schedule=schedule)
        mu_next = nadam_momentum(t + 1, b1, momentum_decay, schedule=schedule)
        product = state.mu_product * mu_t
        mu = ema(b1, state.mu, g)
        nu = ema(b2, state.nu, g, g)
        denom = np.sqrt(nu / (1.0 - b2 ** t)) + eps
        u = ((1.0 - mu_t) / (1.0 - product)) * g / denom + (mu_next / (1.0 - product * mu_next)) * mu / denom
        return u, ScaleByNadamState(t, product, mu, nu)

    return Transform(init, update)


def nadam(lr: float = 2e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
          momentum_decay: float = 4e-3, *, schedule: str = "dozat", decoupled_weight_decay: bool = False) -> Optimizer:
    """NAdam (Dozat 2016, "Incorporating Nesterov momentum into Adam"), as PyTorch's ``NAdam``.

    With the momentum schedule ``μ_t = β1 (1 − ½·0.96^(t ψ))`` (``ψ`` =
    ``momentum_decay``) and ``Π_t = μ_1 ⋯ μ_t``:

    ``m ← β1 m + (1 − β1) g``, ``v ← β2 v + (1 − β2) g²``, ``v̂ = v/(1 − β2ᵗ)``,
    ``w ← w − η [(1 − μ_t)/(1 − Π_t) · g + μ_{t+1}/(1 − Π_t μ_{t+1}) · m]/(√v̂ + ε)``.

    Args:
      lr, b1, b2, eps, weight_decay, momentum_decay: PyTorch's names and
        defaults (``betas`` split into ``b1``, ``b2``; coupled decay
        ``g ← g + λ_wd w``).
      schedule: ``"dozat"`` (canonical; PyTorch): the schedule above.
        ``"constant"`` (optax's ``nadam``): ``μ_t = β1``, so
        ``Π_t = β1ᵗ`` and the step is
        ``η [β1 m̂_{t+1} + (1 − β1) g/(1 − β1ᵗ)]/(√v̂ + ε)`` with
        ``m̂_{t+1} = m/(1 − β1^(t+1))``. Keras' ``Nadam`` is ``"dozat"`` with
        ``momentum_decay = 1`` (it raises 0.96 to the power ``t``, not
        ``0.004 t``), one product shared by all variables, ``ε = 1e-7``.
      decoupled_weight_decay: PyTorch's flag (``w ← w(1 − η λ_wd)`` first;
        optax's ``nadamw``).

    Dozat's Algorithm 2 also multiplies ``v̂`` by ``β2``; no library does.
    PyTorch before January 2023 (pytorch/pytorch#92699) used
    ``1 − Π_t μ_t μ_{t+1}`` in the second coefficient: one ``μ`` too many.

    Source: ``torch.optim.NAdam`` (``_single_tensor_nadam``), ``optax.nadam``.

    With ``μ_t = β1 = 0.9`` the first step is ``η g/|g| · (1 + 0.9/1.9)``:

    >>> opt = nadam(lr=0.1, eps=0.0, schedule="constant")
    >>> w, _ = opt.update(np.array([2.0]), opt.init(np.zeros(1)), np.zeros(1))
    >>> w  # −0.1·2.8/1.9
    array([-0.14736842])
    """
    _check_adam(lr, b1, b2, eps, weight_decay)
    check_positive("momentum_decay", momentum_decay, allow_zero=True)
    inner = scale_by_nadam(b1, b2, eps, momentum_decay, schedule=schedule)
    return with_weight_decay(inner, scale(-lr), weight_decay, decoupled=decoupled_weight_decay)


# -------------------------------------------------------------------- RAdam


class ScaleByRadamState(NamedTuple):
    """Step count ``t`` and the moments ``m``, ``v``."""

    count: int
    mu: np.ndarray
    nu: np.ndarray


def radam_rho(t: int, b2: float):
    """``(ρ_t, ρ_∞)``: ``ρ_∞ = 2/(1 − β2) − 1``, ``ρ_t = ρ_∞ − 2t β2ᵗ/(1 − β2ᵗ)`` (``ρ_1 = 1``, ``ρ_t ≤ t``)."""
    rho_inf = 2.0 / (1.0 - b2) - 1.0
    b2t = b2 ** t
    return rho_inf - 2.0 * t * b2t / (1.0 - b2t), rho_inf


def _rectifies(rho_t, threshold: str) -> bool:
    if threshold == "pytorch":
        return bool(rho_t > 5.0)
    if threshold == "official":
        return bool(rho_t >= 5.0)
    return bool(rho_t > 4.0)


def scale_by_radam(b1: float, b2: float, eps: float, *, threshold: str = "pytorch", eps_placement: str = "hat",
                   degenerated_to_sgd: bool = True, decoupled_weight_decay: float = 0.0) -> Transform:
    """RAdam's scaling: ``r_t · m̂/(√v̂ + ε)`` once ρ_t passes the threshold, ``m̂`` before.

    ``degenerated_to_sgd=False`` emits 0 before (no step at all, also no
    decay). ``decoupled_weight_decay`` ``λ`` adds ``λ w`` to every step taken
    (it lives here, not in a chained transform, because the authors' code
    skips it on the steps it skips).
    """
    _check_choice("threshold", threshold, RADAM_THRESHOLDS)
    _check_choice("eps_placement", eps_placement, EPS_PLACEMENTS)

    def init(params):
        z = np.zeros_like(params)
        return ScaleByRadamState(0, z, z.copy())

    def update(g, state, params):
        t = state.count + 1
        mu = ema(b1, state.mu, g)
        nu = ema(b2, state.nu, g, g)
        c1 = 1.0 - b1 ** t
        c2 = 1.0 - b2 ** t
        m_hat = mu / c1
        rho_t, rho_inf = radam_rho(t, b2)
        new_state = ScaleByRadamState(t, mu, nu)
        if _rectifies(rho_t, threshold):
            r = np.sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
            if eps_placement == "hat":
                u = m_hat * r * np.sqrt(c2) / (np.sqrt(nu) + eps)
            elif eps_placement == "outside":
                u = r * m_hat / (np.sqrt(nu / c2) + eps)
            else:
                u = r * m_hat / np.sqrt(nu / c2 + eps)
        elif degenerated_to_sgd:
            u = m_hat
        else:
            return np.zeros_like(g), new_state
        if decoupled_weight_decay:
            u = u + decoupled_weight_decay * params
        return u, new_state

    return Transform(init, update)


def radam(lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0, *,
          threshold: str = "pytorch", eps_placement: str = "hat", degenerated_to_sgd: bool = True,
          decoupled_weight_decay: bool = False) -> Optimizer:
    """RAdam (Liu et al., "On the variance of the adaptive learning rate and beyond", ICLR 2020, Algorithm 2).

    ``m``, ``v``, ``m̂ = m/(1 − β1ᵗ)`` as Adam; ``ρ_∞ = 2/(1 − β2) − 1``,
    ``ρ_t = ρ_∞ − 2t β2ᵗ/(1 − β2ᵗ)``. Once ``ρ_t > 5`` (the variance of the
    adaptive rate is tractable), with
    ``r_t = √((ρ_t − 4)(ρ_t − 2)ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2)ρ_t))``:
    ``w ← w − η r_t m̂ √(1 − β2ᵗ)/(√v + ε)``; before, ``w ← w − η m̂``
    (SGD with bias-corrected momentum). ``ρ_1 = 1`` and ``ρ_t ≤ t``: with
    ``β2 = 0.999`` the first rectified step is ``t = 6`` (``ρ_5 = 4.996``).

    Args:
      lr, b1, b2, eps, weight_decay: PyTorch's names and defaults (coupled
        decay ``g ← g + λ_wd w``).
      threshold: when to rectify: ``"pytorch"`` (canonical) ``ρ_t > 5``;
        ``"official"`` ``ρ_t ≥ 5`` (the authors' code, optax's
        ``threshold=5``); ``"paper"`` ``ρ_t > 4`` (Algorithm 2, which rectifies
        one step earlier, at ``t = 5`` for ``β2 = 0.999``). ``"pytorch"`` and
        ``"official"`` differ only when ``ρ_t = 5`` exactly.
      eps_placement: ``"hat"`` (canonical; PyTorch and the authors' code):
        ``r_t m̂ √(1 − β2ᵗ)/(√v + ε)``; ``"outside"`` (optax):
        ``r_t m̂/(√v̂ + ε)``; ``"inside"``: ``r_t m̂/√(v̂ + ε)``. The paper has no
        ``ε``; at ``ε = 0`` all three agree.
      degenerated_to_sgd: ``False`` is the authors' code's default: no step
        (and no decay) until the rectification starts.
      decoupled_weight_decay: PyTorch's flag: ``w ← w(1 − η λ_wd)`` before the
        step (the authors' code always decouples).

    Source: ``torch.optim.RAdam``, ``optax.radam``, LiyuanLucasLiu/RAdam.

    The first two steps are SGD with bias-corrected momentum, ``m̂ = g`` for
    a constant gradient:

    >>> opt = radam(lr=0.1)
    >>> w, s = np.zeros(1), opt.init(np.zeros(1))
    >>> for _ in range(2):
    ...     w, s = opt.update(np.array([3.0]), s, w)
    >>> w  # −0.1·3 − 0.1·3
    array([-0.6])
    """
    _check_adam(lr, b1, b2, eps, weight_decay)
    inner = scale_by_radam(b1, b2, eps, threshold=threshold, eps_placement=eps_placement,
                           degenerated_to_sgd=degenerated_to_sgd,
                           decoupled_weight_decay=weight_decay if decoupled_weight_decay else 0.0)
    return with_weight_decay(inner, scale(-lr), 0.0 if decoupled_weight_decay else weight_decay)


# ------------------------------------------------------------------ AMSGrad


class ScaleByAmsgradState(NamedTuple):
    """Step count ``t``, the moments ``m``, ``v`` and the running maximum of ``v̂``."""

    count: int
    mu: np.ndarray
    nu: np.ndarray
    nu_hat_max: np.ndarray


def scale_by_amsgrad(b1: float, b2: float, eps: float, *, eps_placement: str = "outside") -> Transform:
    """optax's AMSGrad scaling: ``v̂_max ← max(v̂_max, v/(1 − β2ᵗ))``, emits ``m̂/(√v̂_max + ε)``.

    ``eps_placement`` as Adam's: ``"inside"`` emits ``m̂/√(v̂_max + ε)``, ``"hat"`` adds ``ε`` before the
    bias correction, i.e. ``m̂/(√v̂_max + ε/√(1 − β2ᵗ))``.
    """
    if eps_placement not in EPS_PLACEMENTS:
        raise ValueError(f"eps_placement must be one of {EPS_PLACEMENTS}, got {eps_placement!r}")

    def init(params):
        z = np.zeros_like(params)
        return ScaleByAmsgradState(0, z, z.copy(), z.copy())

    def update(g, state, params):
        t = state.count + 1
        mu = ema(b1, state.mu, g)
        nu = ema(b2, state.nu, g, g)
        nu_hat_max = np.maximum(state.nu_hat_max, nu / (1.0 - b2 ** t))
        m_hat = mu / (1.0 - b1 ** t)
        if eps_placement == "inside":
            u = m_hat / np.sqrt(nu_hat_max + eps)
        elif eps_placement == "hat":
            u = m_hat / (np.sqrt(nu_hat_max) + eps / np.sqrt(1.0 - b2 ** t))
        else:
            u = m_hat / (np.sqrt(nu_hat_max) + eps)
        return u, ScaleByAmsgradState(t, mu, nu, nu_hat_max)

    return Transform(init, update)


def amsgrad(lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0, *,
            maximum_of: str = "v", eps_placement: str = "outside", decoupled_weight_decay: bool = False) -> Optimizer:
    """AMSGrad (Reddi, Kale & Kumar, "On the convergence of Adam and beyond", ICLR 2018): Adam whose denominator never shrinks.

    ``m``, ``v`` as Adam; with ``maximum_of``:

    * ``"v"`` (canonical; PyTorch's ``Adam(amsgrad=True)``, TensorFlow,
      Keras): ``v_max ← max(v_max, v)``, ``w ← w − η m̂/(√(v_max/(1 − β2ᵗ)) + ε)``
      — exactly ``adam(..., amsgrad=True)``;
    * ``"v-hat"`` (optax's ``amsgrad``): ``v̂_max ← max(v̂_max, v/(1 − β2ᵗ))``,
      ``w ← w − η m̂/(√v̂_max + ε)``.

    They agree at ``t = 1`` and while the current ``v`` is the maximum; once an
    older ``v`` dominates, optax's maximum is the larger (``1 − β2ˢ`` grows with
    ``s``, so an old ``v_s/(1 − β2ˢ)`` exceeds ``v_s/(1 − β2ᵗ)``). Reddi's
    Algorithm 2 has neither bias correction nor ``ε``.

    ``eps_placement`` is Adam's (:func:`~reference._src.adaptive.scale_by_adam`): ``"outside"`` (canonical;
    PyTorch, optax), ``"inside"``, or ``"hat"`` (Keras' ``Adam(amsgrad=True)``:
    ``η√(1 − β2ᵗ)/(1 − β1ᵗ)·m/(√v_max + ε)``, i.e. ``ε`` replaced by ``ε/√(1 − β2ᵗ)``).

    ``weight_decay`` is PyTorch's coupled term ``g ← g + λ_wd w`` (optax's
    ``amsgrad`` has none); ``decoupled_weight_decay=True`` is PyTorch's flag
    (``AdamW(amsgrad=True)``: ``w ← w − η(step + λ_wd w)``).

    Source: ``torch.optim.Adam(amsgrad=True)``, ``optax.amsgrad``
    (optax issue #1389 discusses the difference).

    With ``β1 = 0``, ``β2 = 0.5`` and gradients 1 then 0.5: ``v = 0.5``, then
    ``0.375``; ``v̂ = 1``, then ``0.5``. The second step divides by
    ``√(0.5/0.75)`` (PyTorch) or by ``√1`` (optax):

    >>> for which in ("v", "v-hat"):
    ...     opt = amsgrad(lr=1.0, b1=0.0, b2=0.5, eps=0.0, maximum_of=which)
    ...     w, s = np.zeros(1), opt.init(np.zeros(1))
    ...     for g in (1.0, 0.5):
    ...         w, s = opt.update(np.array([g]), s, w)
    ...     print(which, w)
    v [-1.61237244]
    v-hat [-1.5]
    """
    _check_choice("maximum_of", maximum_of, AMSGRAD_MAXIMA)
    if maximum_of == "v" and decoupled_weight_decay:
        return adamw(lr, b1, b2, eps, weight_decay, eps_placement=eps_placement, amsgrad=True)
    if maximum_of == "v":
        return adam(lr, b1, b2, eps, weight_decay, eps_placement=eps_placement, amsgrad=True)
    _check_adam(lr, b1, b2, eps, weight_decay)
    return with_weight_decay(scale_by_amsgrad(b1, b2, eps, eps_placement=eps_placement), scale(-lr), weight_decay,
                             decoupled=decoupled_weight_decay)
