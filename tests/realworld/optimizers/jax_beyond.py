"""Adagrad, Lion, NAdam, AMSGrad and LAMB as pure JAX functions over parameter pytrees, the way JAX posts and small
training scripts write them beside optax (``tree_map``, a NamedTuple or dict state with the count, ``jax.jit``),
each with the init/update wrapper of docs/protocols.md. NAdam and AMSGrad follow optax's forms (the constant β1
look-ahead; the maximum of the bias-corrected v̂), declared in the corpus. Paraphrased."""

from types import SimpleNamespace
from typing import NamedTuple

import jax
import jax.numpy as jnp

tree_map = jax.tree_util.tree_map


def adagrad(lr, eps):
    def init(params):
        return tree_map(jnp.zeros_like, params)

    @jax.jit
    def update(grads, sum_sq, params):
        sum_sq = tree_map(lambda s, g: s + g * g, sum_sq, grads)
        return tree_map(lambda p, g, s: p - lr * g / (jnp.sqrt(s) + eps), params, grads, sum_sq), sum_sq

    return SimpleNamespace(init=init, update=update)


def lion(lr, b1, b2, weight_decay):
    """optax's scale_by_lion, then the decay on the old weights, then −η."""

    def init(params):
        return {"mu": tree_map(jnp.zeros_like, params)}

    def update(grads, state, params):
        direction = tree_map(lambda m, g: jnp.sign(b1 * m + (1 - b1) * g), state["mu"], grads)
        mu = tree_map(lambda m, g: b2 * m + (1 - b2) * g, state["mu"], grads)
        new = tree_map(lambda p, d: p - lr * (d + weight_decay * p), params, direction)
        return new, {"mu": mu}

    return SimpleNamespace(init=init, update=update)


class MomentsState(NamedTuple):
    count: jnp.ndarray
    mu: object
    nu: object


def _moments_init(params):
    zeros = tree_map(jnp.zeros_like, params)
    return MomentsState(jnp.zeros([], jnp.int32), zeros, zeros)


def nadam(lr, b1, b2, eps):
    """optax's ``scale_by_adam(nesterov=True)``: m̂ = β1·m_t/(1 − β1^(t+1)) + (1 − β1)g/(1 − β1ᵗ)."""

    @jax.jit
    def update(grads, state, params):
        count = state.count + 1
        mu = tree_map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, grads)
        nu = tree_map(lambda v, g: b2 * v + (1 - b2) * g ** 2, state.nu, grads)
        mu_hat = tree_map(lambda m, g: b1 * m / (1 - b1 ** (count + 1)) + (1 - b1) * g / (1 - b1 ** count), mu, grads)
        nu_hat = tree_map(lambda v: v / (1 - b2 ** count), nu)
        new = tree_map(lambda p, m, v: p - lr * m / (jnp.sqrt(v) + eps), params, mu_hat, nu_hat)
        return new, MomentsState(count, mu, nu)

    return SimpleNamespace(init=_moments_init, update=update)


def amsgrad(lr, b1, b2, eps):
    """optax's ``scale_by_amsgrad``: the maximum of v̂ = v/(1 − β2ᵗ) kept in the state."""

    def init(params):
        zeros = tree_map(jnp.zeros_like, params)
        return {"count": 0, "mu": zeros, "nu": zeros, "nu_max": zeros}

    def update(grads, state, params):
        count = state["count"] + 1
        mu = tree_map(lambda m, g: b1 * m + (1 - b1) * g, state["mu"], grads)
        nu = tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, state["nu"], grads)
        nu_hat = tree_map(lambda v: v / (1 - b2 ** count), nu)
        nu_max = tree_map(jnp.maximum, state["nu_max"], nu_hat)
        new = tree_map(lambda p, m, v: p - lr * (m / (1 - b1 ** count)) / (jnp.sqrt(v) + eps), params, mu, nu_max)
        return new, {"count": count, "mu": mu, "nu": nu, "nu_max": nu_max}

    return SimpleNamespace(init=init, update=update)


def lamb(lr, b1, b2, eps, weight_decay):
    """Per-leaf trust ratio over a pytree of layers (optax's scale_by_trust_ratio: 1 where a norm is 0)."""

    def ratio(p, u):
        p_norm, u_norm = jnp.linalg.norm(p), jnp.linalg.norm(u)
        safe = jnp.where(u_norm > 0, p_norm / jnp.where(u_norm > 0, u_norm, 1.0), 1.0)
        return jnp.where(p_norm > 0, safe, 1.0)

    @jax.jit
    def update(grads, state, params):
        count = state.count + 1
        mu = tree_map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, grads)
        nu = tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, state.nu, grads)
        u = tree_map(lambda m, v, p: (m / (1 - b1 ** count)) / (jnp.sqrt(v / (1 - b2 ** count)) + eps)
                     + weight_decay * p, mu, nu, params)
        new = tree_map(lambda p, u: p - lr * ratio(p, u) * u, params, u)
        return new, MomentsState(count, mu, nu)

    return SimpleNamespace(init=_moments_init, update=update)


def lion_decay_after(lr, b1, b2, weight_decay):
    """A slip: the decay applied to the weights after the sign step."""

    def init(params):
        return {"mu": tree_map(jnp.zeros_like, params)}

    def update(grads, state, params):
        direction = tree_map(lambda m, g: jnp.sign(b1 * m + (1 - b1) * g), state["mu"], grads)
        mu = tree_map(lambda m, g: b2 * m + (1 - b2) * g, state["mu"], grads)
        new = tree_map(lambda p, d: (p - lr * d) * (1 - lr * weight_decay), params, direction)
        return new, {"mu": mu}

    return SimpleNamespace(init=init, update=update)
