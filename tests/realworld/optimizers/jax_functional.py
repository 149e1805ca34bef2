"""Optimizers written as pure JAX functions over parameter pytrees, as in blog posts and small JAX training
scripts: ``adam_update(params, grads, state)`` with ``jax.tree_util.tree_map``, the state a NamedTuple or a
dict holding the step count (from 0 or from 1), ``jax.jit`` on the update. Each comes with the wrapper
docs/protocols.md asks for (a factory returning ``init``/``update``; a single array is a pytree). Paraphrased."""

from types import SimpleNamespace
from typing import NamedTuple

import jax
import jax.numpy as jnp

tree_map = jax.tree_util.tree_map


class AdamState(NamedTuple):
    m: object
    v: object
    t: int


def adam_init(params):
    zeros = tree_map(jnp.zeros_like, params)
    return AdamState(zeros, zeros, 0)


def adam_update(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state.t + 1
    m = tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, state.m, grads)
    v = tree_map(lambda v, g: beta2 * v + (1 - beta2) * g ** 2, state.v, grads)
    new = tree_map(lambda p, m, v: p - lr * (m / (1 - beta1 ** t)) / (jnp.sqrt(v / (1 - beta2 ** t)) + eps),
                   params, m, v)
    return new, AdamState(m, v, t)


def adam(lr, b1, b2, eps):
    return SimpleNamespace(init=adam_init,
                           update=lambda grads, state, params: adam_update(params, grads, state, lr, b1, b2, eps))


def _init_dict(params):
    zeros = tree_map(jnp.zeros_like, params)
    return {"step": jnp.array(0), "mu": zeros, "nu": zeros}


def adam_dict_state(learning_rate, beta1, beta2, epsilon):
    """The state a dict whose step counter starts at 0 and is incremented first; jitted."""

    @jax.jit
    def update(grads, state, params):
        step = state["step"] + 1
        mu = tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, state["mu"], grads)
        nu = tree_map(lambda v, g: beta2 * v + (1 - beta2) * jnp.square(g), state["nu"], grads)
        mu_hat = tree_map(lambda m: m / (1 - beta1 ** step), mu)
        nu_hat = tree_map(lambda v: v / (1 - beta2 ** step), nu)
        new = tree_map(lambda p, m, v: p - learning_rate * m / (jnp.sqrt(v) + epsilon), params, mu_hat, nu_hat)
        return new, {"step": step, "mu": mu, "nu": nu}

    return SimpleNamespace(init=_init_dict, update=update)


def adam_step_used_before_increment(learning_rate, beta1, beta2, epsilon):
    """A bug: the corrections use the counter before it is incremented (1 − β⁰ = 0 at the first step)."""

    def update(grads, state, params):
        step = state["step"]
        mu = tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, state["mu"], grads)
        nu = tree_map(lambda v, g: beta2 * v + (1 - beta2) * jnp.square(g), state["nu"], grads)
        new = tree_map(lambda p, m, v: p - learning_rate * (m / (1 - beta1 ** step)) /
                       (jnp.sqrt(v / (1 - beta2 ** step)) + epsilon), params, mu, nu)
        return new, {"step": step + 1, "mu": mu, "nu": nu}

    return SimpleNamespace(init=_init_dict, update=update)


def momentum(lr, momentum):
    """Heavy ball with a jitted update; the velocity is a pytree like the parameters."""

    def init(params):
        return tree_map(jnp.zeros_like, params)

    @jax.jit
    def update(grads, velocity, params):
        velocity = tree_map(lambda v, g: momentum * v + g, velocity, grads)
        return tree_map(lambda p, v: p - lr * v, params, velocity), velocity

    return SimpleNamespace(init=init, update=update)


def rmsprop(lr, rho, eps):
    """ε inside the root, as optax and many JAX posts write it."""

    def init(params):
        return tree_map(jnp.zeros_like, params)

    def update(grads, nu, params):
        nu = tree_map(lambda s, g: rho * s + (1 - rho) * g * g, nu, grads)
        return tree_map(lambda p, g, s: p - lr * g / jnp.sqrt(s + eps), params, grads, nu), nu

    return SimpleNamespace(init=init, update=update)


def adamw(lr, b1, b2, eps, weight_decay):
    """AdamW: the parameters shrink by η·λ, then the Adam step (the state a NamedTuple, the count from 0)."""

    def update(grads, state, params):
        new, state = adam_update(params, grads, state, lr, b1, b2, eps)
        return tree_map(lambda n, p: n - lr * weight_decay * p, new, params), state

    return SimpleNamespace(init=adam_init, update=update)


def momentum_float32(lr, momentum):
    """Code that keeps its velocity in float32 (JAX's default precision) while the parameters stay as given."""

    def init(params):
        return tree_map(lambda p: jnp.zeros(jnp.shape(p), jnp.float32), params)

    def update(grads, velocity, params):
        velocity = tree_map(lambda v, g: (momentum * v + g).astype(jnp.float32), velocity, grads)
        return tree_map(lambda p, v: p - lr * v, params, velocity), velocity

    return SimpleNamespace(init=init, update=update)
