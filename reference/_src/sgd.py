"""SGD, momentum (both forms), Nesterov (both forms), SGD with L2 weight decay.

Spec: ``shared/FORMULAS.md`` sections 1 and 7 (specs ``sgd``, ``momentum``,
``nesterov``, ``weight-decay``).
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
    check_in_range,
    check_positive,
    scale,
)

__all__ = [
    "TraceState",
    "VelocityState",
    "trace",
    "add_l2_gradient",
    "sgd",
    "momentum",
    "nesterov",
    "nesterov_lookahead",
    "sgd_weight_decay",
]

MOMENTUM_FORMS = ("pytorch", "polyak")
NESTEROV_FORMS = ("pytorch", "sutskever")


class TraceState(NamedTuple):
    """Momentum buffer ``b`` of the PyTorch/optax form."""

    trace: np.ndarray


class VelocityState(NamedTuple):
    """Velocity ``v`` of the Polyak/Sutskever form (``v = −η b``)."""

    velocity: np.ndarray


def trace(decay: float, *, nesterov: bool = False, dampening: float = 0.0) -> Transform:
    """Momentum buffer ``b ← μ b + (1 − d) g`` (optax.trace; PyTorch's buffer).

    Emits ``b`` or, with ``nesterov=True``, ``g + μ b``. ``dampening`` ``d`` is
    PyTorch's; the canonical specs use ``d = 0``.
    """

    def init(params):
        return TraceState(np.zeros_like(params))

    def update(g, state, params):
        b = decay * state.trace + (1.0 - dampening) * g
        return (g + decay * b if nesterov else b), TraceState(b)

    return Transform(init, update)


def add_l2_gradient(lam: float) -> Transform:
    """Add the gradient of ``λ Σ w²``: ``g ← g + 2λw``."""

    def init(params):
        return EmptyState()

    def update(g, state, params):
        return g + 2.0 * lam * params, state

    return Transform(init, update)


def sgd(lr: float = 0.01) -> Optimizer:
    """Plain gradient descent: ``w ← w − η g``.

    >>> opt = sgd(lr=0.1)
    >>> w, _ = opt.update(np.array([1.0]), opt.init(np.array([2.0])), np.array([2.0]))
    >>> w
    array([1.9])
    """
    check_positive("lr", lr)
    return as_optimizer(scale(-lr))


def momentum(lr: float = 0.01, momentum: float = 0.9, *, form: str = "pytorch") -> Optimizer:
    """SGD with (heavy-ball) momentum.

    * ``form="pytorch"`` (PyTorch, optax): ``b ← μ b + g``, ``w ← w − η b``;
    * ``form="polyak"`` (Polyak 1964; Keras): ``v ← μ v − η g``, ``w ← w + v``.

    Both start from a zero buffer and give the same iterates for a constant
    ``η`` (``v = −η b``), up to rounding.

    Reference: Polyak, *Some methods of speeding up the convergence of
    iteration methods* (1964).

    >>> opt = momentum(lr=0.1, momentum=0.5)
    >>> w, s = opt.update(np.array([1.0]), opt.init(np.zeros(1)), np.zeros(1))
    >>> w, _ = opt.update(np.array([1.0]), s, w)
    >>> w  # −0.1·1 − 0.1·(0.5 + 1)
    array([-0.25])
    """
    check_positive("lr", lr)
    check_in_range("momentum", momentum, 0.0, 1.0)
    if form == "pytorch":
        return as_optimizer(chain(trace(momentum), scale(-lr)))
    if form == "polyak":
        return as_optimizer(_velocity(lr, momentum))
    raise ValueError(f"form must be one of {MOMENTUM_FORMS}, got {form!r}")


def _velocity(lr: float, mu: float) -> Transform:
    def init(params):
        return VelocityState(np.zeros_like(params))

    def update(g, state, params):
        v = mu * state.velocity - lr * g
        return v, VelocityState(v)

    return Transform(init, update)


def nesterov(lr: float = 0.01, momentum: float = 0.9, *, form: str = "pytorch") -> Optimizer:
    """Nesterov's accelerated gradient.

    * ``form="pytorch"`` (PyTorch, optax, Keras): ``b ← μ b + g``,
      ``w ← w − η (g + μ b)``; the parameters are Sutskever's look-ahead points.
    * ``form="sutskever"`` (Sutskever et al. 2013, eq. 3–4):
      ``v ← μ v − η g(w + μ v)``, ``w ← w + v``. The parameters are ``w``; the
      caller must evaluate the gradient at the look-ahead point
      :func:`nesterov_lookahead` ``= w + μ v``.

    Warning: with the same gradients, the two forms' parameters differ by
    ``μ v``: the PyTorch form's iterate is ``w + μ v`` of the Sutskever form.

    Reference: Sutskever, Martens, Dahl & Hinton, *On the importance of
    initialization and momentum in deep learning* (ICML 2013).
    """
    check_positive("lr", lr)
    check_in_range("momentum", momentum, 0.0, 1.0)
    if form == "pytorch":
        return as_optimizer(chain(trace(momentum, nesterov=True), scale(-lr)))
    if form == "sutskever":
        return as_optimizer(_velocity(lr, momentum))
    raise ValueError(f"form must be one of {NESTEROV_FORMS}, got {form!r}")


def nesterov_lookahead(params, state, momentum: float) -> np.ndarray:
    """Where the Sutskever form wants its next gradient: ``w + μ v``."""
    return as_float(params, "params") + momentum * state.velocity


def sgd_weight_decay(lr: float = 0.1, lam: float = 0.01, momentum: float = 0.0, *,
                     decoupled: bool = False) -> Optimizer:
    """SGD (with optional momentum) on ``J + λ Σ w²``.

    * coupled (L2, canonical): ``b ← μ b + (g + 2λw)``, ``w ← w − η b``; without
      momentum ``w ← w(1 − 2ηλ) − η g``, the notes' weight decay;
    * ``decoupled=True`` (Loshchilov & Hutter 2019): ``b ← μ b + g``,
      ``w ← w(1 − 2ηλ) − η b``.

    The two coincide for ``μ = 0`` and differ with momentum.

    Warning: PyTorch's ``SGD(weight_decay=wd)`` is the coupled form with
    ``λ = wd/2``.

    >>> opt = sgd_weight_decay(lr=0.1, lam=0.5)
    >>> w, _ = opt.update(np.array([0.5]), opt.init(np.array([1.0])), np.array([1.0]))
    >>> w  # 1·(1 − 2·0.1·0.5) − 0.1·0.5
    array([0.85])
    """
    check_positive("lr", lr)
    check_positive("lam", lam, allow_zero=True)
    check_in_range("momentum", momentum, 0.0, 1.0)
    if not decoupled:
        return as_optimizer(chain(add_l2_gradient(lam), trace(momentum), scale(-lr)))

    inner = chain(trace(momentum), scale(-lr))

    def update(g, state, params):
        u, state = inner.update(g, state, params)
        return u - 2.0 * lr * lam * params, state

    return as_optimizer(Transform(inner.init, update))
