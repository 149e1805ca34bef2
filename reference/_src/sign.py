"""Methods that use only the sign of the derivative: sign-SGD and Rprop.

Spec: ``shared/FORMULAS.md`` section 8 (specs ``sign-sgd``, ``rprop``).
Source: the course notes, "Utilizar el signo de la derivada":
``sgn(x) = x/√(x²)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reference._src.base import (
    EmptyState,
    Optimizer,
    Transform,
    as_float,
    as_optimizer,
    chain,
    check_positive,
    scale,
)

__all__ = ["RpropState", "RPROP_VARIANTS", "scale_by_sign", "sign_sgd", "rprop"]

RPROP_VARIANTS = ("irprop-", "rprop-", "rprop+", "irprop+")


def scale_by_sign() -> Transform:
    """Replace the gradient by its sign, ``sgn(g) = g/√(g²)`` with ``sgn(0) = 0``."""

    def init(params):
        return EmptyState()

    def update(g, state, params):
        return np.sign(g), state

    return Transform(init, update)


def sign_sgd(lr: float = 0.01) -> Optimizer:
    """Sign-SGD: ``w ← w − η sgn(g)``; the step does not depend on ``|g|``.

    ``sgn(0) = 0`` (``numpy.sign``, ``optax.scale_by_sign``): a zero gradient
    leaves the weight in place. The notes' ``x/√(x²)`` is undefined at 0.

    Reference: Bernstein, Wang, Azizzadenesheli & Anandkumar, *signSGD* (ICML 2018).

    >>> opt = sign_sgd(lr=0.1)
    >>> w, _ = opt.update(np.array([-5.0, 0.0, 1e-9]), opt.init(np.zeros(3)), np.zeros(3))
    >>> w
    array([ 0.1,  0. , -0.1])
    """
    check_positive("lr", lr)
    return as_optimizer(chain(scale_by_sign(), scale(-lr)))


class RpropState(NamedTuple):
    """Per-weight step sizes ``Δ``, the remembered gradient, the last step, the last loss."""

    step_sizes: np.ndarray
    prev_grad: np.ndarray
    prev_step: np.ndarray
    prev_loss: float


def rprop(lr: float = 0.01, eta_minus: float = 0.5, eta_plus: float = 1.2,
          min_step_size: float = 1e-6, max_step_size: float = 50.0, *,
          variant: str = "irprop-") -> Optimizer:
    """Resilient backpropagation.

    One step size ``Δ`` per weight, started at ``η`` (``lr``). With
    ``s = sgn(g_t · g_{t−1})`` (``g_0 = 0``):

    ``Δ ← clip(Δ·η⁺ if s > 0, Δ·η⁻ if s < 0, Δ if s = 0; Δmin, Δmax)``

    then, by ``variant`` (Igel & Hüsken 2000):

    * ``"irprop-"`` (canonical; PyTorch's ``Rprop``): if ``s < 0`` set
      ``g_t ← 0``; ``w ← w − Δ sgn(g_t)``; remember ``g_t``;
    * ``"rprop-"``: ``w ← w − Δ sgn(g_t)``; remember ``g_t`` (no zeroing);
    * ``"rprop+"`` (Riedmiller & Braun 1993): if ``s < 0`` undo the previous
      step and set ``g_t ← 0``, else ``w ← w − Δ sgn(g_t)``;
    * ``"irprop+"``: as ``rprop+`` but the previous step is undone only if the
      loss increased; ``update`` then needs ``loss=`` (the loss at ``params``).

    The clip is applied at every step, also when ``s = 0``, as PyTorch does;
    optax skips it when ``s = 0``, which differs only if ``lr`` lies outside
    ``[Δmin, Δmax]``.

    References: Riedmiller & Braun, *A direct adaptive method for faster
    backpropagation learning: the RPROP algorithm* (1993); Igel & Hüsken,
    *Improving the Rprop learning algorithm* (2000).

    >>> opt = rprop(lr=0.1)
    >>> p, s = np.zeros(1), opt.init(np.zeros(1))
    >>> for g in (1.0, 1.0, -1.0, -1.0):
    ...     p, s = opt.update(np.array([g]), s, p)
    ...     print(round(float(p[0]), 4), round(float(s.step_sizes[0]), 4))
    -0.1 0.1
    -0.22 0.12
    -0.22 0.06
    -0.16 0.06
    """
    check_positive("lr", lr)
    check_positive("eta_minus", eta_minus)
    check_positive("eta_plus", eta_plus)
    check_positive("min_step_size", min_step_size, allow_zero=True)
    check_positive("max_step_size", max_step_size)
    if not eta_minus < 1.0 < eta_plus:
        raise ValueError(f"Rprop needs 0 < eta_minus < 1 < eta_plus, got {eta_minus} and {eta_plus}")
    if min_step_size > max_step_size:
        raise ValueError(f"min_step_size {min_step_size} exceeds max_step_size {max_step_size}")
    if variant not in RPROP_VARIANTS:
        raise ValueError(f"variant must be one of {RPROP_VARIANTS}, got {variant!r}")

    def init(params):
        p = as_float(params, "params")
        return RpropState(np.full_like(p, lr), np.zeros_like(p), np.zeros_like(p), np.inf)

    def update(grads, state, params, *, loss: float | None = None):
        p = as_float(params, "params")
        g = as_float(grads, "grads")
        if g.shape != p.shape:
            raise ValueError(f"grads and params must have the same shape, got {g.shape} and {p.shape}")
        if variant == "irprop+" and loss is None:
            raise ValueError("the irprop+ variant needs the loss at params: update(grads, state, params, loss=...)")
        s = np.sign(g * state.prev_grad)
        factor = np.where(s > 0, eta_plus, np.where(s < 0, eta_minus, 1.0))
        delta = np.clip(state.step_sizes * factor, min_step_size, max_step_size)
        flipped = s < 0
        if variant == "rprop-":
            step = -np.sign(g) * delta
            remembered = g
        elif variant == "irprop-":
            remembered = np.where(flipped, 0.0, g)
            step = -np.sign(remembered) * delta
        else:  # rprop+ and irprop+: backtrack on a sign change
            undo = flipped if variant == "rprop+" else flipped & (loss > state.prev_loss)
            remembered = np.where(flipped, 0.0, g)
            step = np.where(undo, -state.prev_step, np.where(flipped, 0.0, -np.sign(g) * delta))
        new_loss = state.prev_loss if loss is None else float(loss)
        return p + step, RpropState(delta, remembered, step, new_loss)

    return Optimizer(init, update)
