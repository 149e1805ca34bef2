"""optax chains with planted bugs (and correct ones), for the adapter tests.

Each is a *factory* called with the spec's canonical hyperparameters (the
numpy protocol's names: ``lr``, ``b1``, ``lam``, ...) returning an
``optax.GradientTransformation``; the numpy protocol hands what it returns to
the optax adapter::

    verify check tests/buggy/optax_chains.py:adam_eps_root_swapped --spec adam

The module-level ``adam_instance`` is a chain built once, with optax's
default hyperparameters.
"""

from __future__ import annotations

import optax

__all__ = [
    "adam_chain",
    "adamw_chain",
    "sgd_weight_decay_chain",
    "momentum_chain",
    "adam_instance",
    "adam_eps_root_swapped",
    "adam_missing_scale",
    "adam_ascends",
    "adam_no_bias_correction",
    "adamw_coupled",
    "adamw_decay_unscaled",
    "rmsprop_eps_inside",
    "momentum_ema",
    "sgd_decay_after_momentum",
    "sgd_decay_lambda",
]


# ----- correct (must pass) ---------------------------------------------------


def adam_chain(lr, b1, b2, eps, weight_decay):
    """Adam with PyTorch's coupled weight decay, as a chain."""
    return optax.chain(optax.add_decayed_weights(weight_decay), optax.scale_by_adam(b1, b2, eps),
                       optax.scale(-lr))


def adamw_chain(lr, b1, b2, eps, weight_decay):
    """AdamW: decoupled decay between the Adam scaling and the learning rate."""
    return optax.chain(optax.scale_by_adam(b1, b2, eps), optax.add_decayed_weights(weight_decay),
                       optax.scale(-lr))


def sgd_weight_decay_chain(lr, lam, momentum):
    """SGD on J + λΣw²: add 2λw to the gradient, then (momentum) SGD — spec weight-decay."""
    return optax.chain(optax.add_decayed_weights(2 * lam), optax.sgd(lr, momentum=momentum))


def momentum_chain(lr, momentum):
    """Heavy ball: ``b ← μ·b + g``, ``w ← w − lr·b``."""
    return optax.chain(optax.trace(decay=momentum), optax.scale(-lr))


#: built once with optax's defaults (lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8)
adam_instance = optax.chain(optax.scale_by_adam(), optax.scale(-1e-3))
# Correct, built with values other than the spec's defaults (which the run cannot read from a transformation)
adam_built_otherwise = optax.adam(0.01, b1=0.8, b2=0.99)
rmsprop_built_otherwise = optax.rmsprop(0.01, decay=0.95, momentum=0.9, centered=True)


# ----- buggy -----------------------------------------------------------------


def adam_eps_root_swapped(lr, b1, b2, eps, weight_decay):
    """BUG: ε passed as eps_root (inside the root, √(v̂ + ε)) and eps = 0."""
    return optax.chain(optax.add_decayed_weights(weight_decay),
                       optax.scale_by_adam(b1, b2, eps=0.0, eps_root=eps), optax.scale(-lr))


def adam_missing_scale(lr, b1, b2, eps, weight_decay):
    """BUG: the learning rate is never applied; the step is −m̂/(√v̂ + ε)."""
    return optax.chain(optax.add_decayed_weights(weight_decay), optax.scale_by_adam(b1, b2, eps),
                       optax.scale(-1.0))


def adam_ascends(lr, b1, b2, eps, weight_decay):
    """BUG: ``scale(lr)`` instead of ``scale(-lr)``: gradient *ascent*."""
    return optax.chain(optax.add_decayed_weights(weight_decay), optax.scale_by_adam(b1, b2, eps),
                       optax.scale(lr))


def adam_no_bias_correction(lr, b1, b2, eps, weight_decay):
    """BUG: Adam without bias correction, from optax's building blocks (EMA of g and g²)."""
    return optax.chain(
        optax.add_decayed_weights(weight_decay),
        optax.GradientTransformation(
            lambda params: (optax.tree.zeros_like(params), optax.tree.zeros_like(params)),
            lambda g, state, params=None: _no_bias_update(g, state, b1, b2, eps)),
        optax.scale(-lr))


def _no_bias_update(g, state, b1, b2, eps):
    import jax

    m, v = state
    m = jax.tree.map(lambda m_, g_: b1 * m_ + (1 - b1) * g_, m, g)
    v = jax.tree.map(lambda v_, g_: b2 * v_ + (1 - b2) * g_ * g_, v, g)
    u = jax.tree.map(lambda m_, v_: m_ / (v_ ** 0.5 + eps), m, v)
    return u, (m, v)


def adamw_coupled(lr, b1, b2, eps, weight_decay):
    """BUG: "AdamW" with the decay *before* the Adam scaling: coupled L2 (that is Adam's weight_decay)."""
    return optax.chain(optax.add_decayed_weights(weight_decay), optax.scale_by_adam(b1, b2, eps),
                       optax.scale(-lr))


def adamw_decay_unscaled(lr, b1, b2, eps, weight_decay):
    """BUG: the decay is added after the learning rate: ``w ← w − lr·u − wd·w`` (not ``lr·wd·w``)."""
    return optax.chain(optax.scale_by_adam(b1, b2, eps), optax.scale(-lr),
                       optax.add_decayed_weights(-weight_decay))


def rmsprop_eps_inside(lr, rho, eps):
    """BUG against the canonical spec: optax.rmsprop's default ε inside the root (eps_in_sqrt=True)."""
    return optax.rmsprop(lr, decay=rho, eps=eps)


def momentum_ema(lr, momentum):
    """BUG: EMA "momentum" ``b ← μ·b + (1 − μ)·g`` (optax.ema) instead of ``b ← μ·b + g``."""
    return optax.chain(optax.ema(decay=momentum, debias=False), optax.scale(-lr))


def sgd_decay_after_momentum(lr, lam, momentum):
    """BUG: the decay bypasses the momentum buffer (decoupled), wrong under spec weight-decay with μ > 0."""
    return optax.chain(optax.trace(decay=momentum), optax.add_decayed_weights(2 * lam), optax.scale(-lr))


def sgd_decay_lambda(lr, lam, momentum):
    """BUG: adds λw instead of the L2 gradient 2λw."""
    return optax.chain(optax.add_decayed_weights(lam), optax.sgd(lr, momentum=momentum))
