"""deeplearning.ai, "Improving Deep Neural Networks", week 2 assignment: functions over dictionaries of
parameters (``W1``, ``b1``, …) with the state passed in and returned, momentum as an exponentially weighted
average, Adam with ``t`` counted by the caller. Paraphrased, each with the wrapper a user writes (one
parameter array ``W1``; the caller's loop increments ``t`` before the call, as the assignment's model does)."""

import numpy as np


def update_parameters_with_momentum(parameters, grads, v, beta, learning_rate):
    L = len(parameters) // 2
    for l in range(L):
        v["dW" + str(l + 1)] = beta * v["dW" + str(l + 1)] + (1 - beta) * grads["dW" + str(l + 1)]
        v["db" + str(l + 1)] = beta * v["db" + str(l + 1)] + (1 - beta) * grads["db" + str(l + 1)]
        parameters["W" + str(l + 1)] = parameters["W" + str(l + 1)] - learning_rate * v["dW" + str(l + 1)]
        parameters["b" + str(l + 1)] = parameters["b" + str(l + 1)] - learning_rate * v["db" + str(l + 1)]
    return parameters, v


def update_parameters_with_adam(parameters, grads, v, s, t, learning_rate=0.01, beta1=0.9, beta2=0.999,
                                epsilon=1e-8):
    L = len(parameters) // 2
    v_corrected, s_corrected = {}, {}
    for l in range(L):
        for p in ("W", "b"):
            k = "d" + p + str(l + 1)
            v[k] = beta1 * v[k] + (1 - beta1) * grads[k]
            v_corrected[k] = v[k] / (1 - beta1 ** t)
            s[k] = beta2 * s[k] + (1 - beta2) * grads[k] ** 2
            s_corrected[k] = s[k] / (1 - beta2 ** t)
            parameters[p + str(l + 1)] = parameters[p + str(l + 1)] - learning_rate * v_corrected[k] / (
                np.sqrt(s_corrected[k]) + epsilon)
    return parameters, v, s


def update_parameters_with_adam_eps_inside(parameters, grads, v, s, t, learning_rate=0.01, beta1=0.9,
                                           beta2=0.999, epsilon=1e-8):
    """A submission with ε inside the square root."""
    L = len(parameters) // 2
    for l in range(L):
        for p in ("W", "b"):
            k = "d" + p + str(l + 1)
            v[k] = beta1 * v[k] + (1 - beta1) * grads[k]
            s[k] = beta2 * s[k] + (1 - beta2) * np.power(grads[k], 2)
            vc, sc = v[k] / (1 - np.power(beta1, t)), s[k] / (1 - np.power(beta2, t))
            parameters[p + str(l + 1)] = parameters[p + str(l + 1)] - learning_rate * vc / np.sqrt(sc + epsilon)
    return parameters, v, s


def update_parameters_with_adam_swapped(parameters, grads, v, s, t, learning_rate=0.01, beta1=0.9, beta2=0.999,
                                        epsilon=1e-8):
    """A submission with β1 and β2 exchanged throughout."""
    L = len(parameters) // 2
    for l in range(L):
        for p in ("W", "b"):
            k = "d" + p + str(l + 1)
            v[k] = beta2 * v[k] + (1 - beta2) * grads[k]
            s[k] = beta1 * s[k] + (1 - beta1) * grads[k] ** 2
            vc, sc = v[k] / (1 - beta2 ** t), s[k] / (1 - beta1 ** t)
            parameters[p + str(l + 1)] = parameters[p + str(l + 1)] - learning_rate * vc / (np.sqrt(sc) + epsilon)
    return parameters, v, s


class _Course:
    """The user's wrapper: one layer, W1 the parameters under test, b1 a scalar bias with zero gradient."""

    def _dicts(self, params, grads):
        return {"W1": params, "b1": np.zeros((1, 1))}, {"dW1": grads, "db1": np.zeros((1, 1))}

    def _zeros(self, params):
        return {"dW1": np.zeros_like(params), "db1": np.zeros((1, 1))}


class Momentum(_Course):
    """The course's momentum is the exponential average: under spec momentum this is the dampened form."""

    def __init__(self, lr, momentum):
        self.lr, self.beta, self.v = lr, momentum, None

    def step(self, params, grads):
        parameters, g = self._dicts(params, grads)
        if self.v is None:
            self.v = self._zeros(params)
        parameters, self.v = update_parameters_with_momentum(parameters, g, self.v, self.beta, self.lr)
        return parameters["W1"]


class Adam(_Course):
    rule = staticmethod(update_parameters_with_adam)

    def __init__(self, lr, b1, b2, eps):
        self.hp = dict(learning_rate=lr, beta1=b1, beta2=b2, epsilon=eps)
        self.v = self.s = None
        self.t = 0

    def step(self, params, grads):
        parameters, g = self._dicts(params, grads)
        if self.v is None:
            self.v, self.s = self._zeros(params), self._zeros(params)
        self.t += 1
        parameters, self.v, self.s = type(self).rule(parameters, g, self.v, self.s, self.t, **self.hp)
        return parameters["W1"]


class AdamEpsInside(Adam):
    rule = staticmethod(update_parameters_with_adam_eps_inside)


class AdamSwapped(Adam):
    rule = staticmethod(update_parameters_with_adam_swapped)
