"""Holberton School machine-learning curriculum, "optimization" project: pure functions taking every
hyperparameter and the state explicitly and returning the new variable and state, e.g.
``update_variables_Adam(alpha, beta1, beta2, epsilon, var, grad, v, s, t)``. Paraphrased, with the functional
wrapper (init/update) a user writes around each."""

from types import SimpleNamespace

import numpy as np


def update_variables_momentum(alpha, beta1, var, grad, v):
    dW_prev = beta1 * v + (1 - beta1) * grad
    var = var - alpha * dW_prev
    return var, dW_prev


def update_variables_RMSProp(alpha, beta2, epsilon, var, grad, s):
    s_new = beta2 * s + (1 - beta2) * grad ** 2
    var = var - alpha * grad / (np.sqrt(s_new) + epsilon)
    return var, s_new


def update_variables_Adam(alpha, beta1, beta2, epsilon, var, grad, v, s, t):
    v_dW = beta1 * v + (1 - beta1) * grad
    s_dW = beta2 * s + (1 - beta2) * grad ** 2
    v_corr = v_dW / (1 - beta1 ** t)
    s_corr = s_dW / (1 - beta2 ** t)
    var = var - alpha * v_corr / (np.sqrt(s_corr) + epsilon)
    return var, v_dW, s_dW


def update_variables_Adam_t_squared(alpha, beta1, beta2, epsilon, var, grad, v, s, t):
    """A submission whose second correction uses a fixed exponent: 1 − β2² (a 't' typed as 2)."""
    v_dW = beta1 * v + (1 - beta1) * grad
    s_dW = beta2 * s + (1 - beta2) * grad ** 2
    var = var - alpha * (v_dW / (1 - beta1 ** t)) / (np.sqrt(s_dW / (1 - beta2 ** 2)) + epsilon)
    return var, v_dW, s_dW


def rmsprop(lr, rho, eps):
    def init(params):
        return np.zeros_like(params)

    def update(grads, state, params):
        return update_variables_RMSProp(lr, rho, eps, params, grads, state)

    return SimpleNamespace(init=init, update=update)


def momentum(lr, momentum):
    """The curriculum's momentum: an exponential average (dampened), under spec momentum."""
    def init(params):
        return np.zeros_like(params)

    def update(grads, state, params):
        return update_variables_momentum(lr, momentum, params, grads, state)

    return SimpleNamespace(init=init, update=update)


def _adam(rule):
    def factory(lr, b1, b2, eps):
        def init(params):
            return (np.zeros_like(params), np.zeros_like(params), 0)

        def update(grads, state, params):
            v, s, t = state
            var, v, s = rule(lr, b1, b2, eps, params, grads, v, s, t + 1)
            return var, (v, s, t + 1)

        return SimpleNamespace(init=init, update=update)

    return factory


adam = _adam(update_variables_Adam)
adam_t_squared = _adam(update_variables_Adam_t_squared)
