"""Optimizers shaped the way real code is: hyperparameters hard-coded or under other names, objects built
beforehand, functools.partial, **kwargs, CS231n's config functions. Used by tests/test_held.py."""

import functools

import numpy as np


class OnlyLrAdam:
    """Adam that takes only the learning rate; β1, β2 and ε are hard-coded (the defaults)."""

    def __init__(self, learning_rate=0.001):
        self.learning_rate = learning_rate
        self.beta1, self.beta2, self.epsilon = 0.9, 0.999, 1e-8
        self.m = self.v = None
        self.t = 0

    def step(self, params, grads):
        if self.m is None:
            self.m, self.v = np.zeros_like(params), np.zeros_like(params)
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grads
        self.v = self.beta2 * self.v + (1 - self.beta2) * grads ** 2
        m_hat = self.m / (1 - self.beta1 ** self.t)
        v_hat = self.v / (1 - self.beta2 ** self.t)
        return params - self.learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)


class HardCodedB2Adam(OnlyLrAdam):
    """Correct Adam whose hard-coded β2 is 0.99, not the spec's default 0.999."""

    def __init__(self, learning_rate=0.001):
        super().__init__(learning_rate)
        self.beta2 = 0.99


class HardCodedB2NoCorrection(HardCodedB2Adam):
    """β2 = 0.99 hard-coded and, a real bug, no bias correction."""

    def step(self, params, grads):
        if self.m is None:
            self.m, self.v = np.zeros_like(params), np.zeros_like(params)
        self.m = self.beta1 * self.m + (1 - self.beta1) * grads
        self.v = self.beta2 * self.v + (1 - self.beta2) * grads ** 2
        return params - self.learning_rate * self.m / (np.sqrt(self.v) + self.epsilon)


class KerasNamedAdam(OnlyLrAdam):
    """Keras' keyword names: learning_rate, beta_1, beta_2, epsilon."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        self.beta1, self.beta2, self.epsilon = beta_1, beta_2, epsilon


class BetasTupleAdam(OnlyLrAdam):
    """PyTorch's keyword names in numpy code: lr, betas=(β1, β2), eps, weight_decay (coupled)."""

    def __init__(self, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(lr)
        (self.beta1, self.beta2), self.epsilon, self.wd = betas, eps, weight_decay

    def step(self, params, grads):
        return super().step(params, grads + self.wd * params)


class Momentum:
    """Heavy ball with both hyperparameters as keywords."""

    def __init__(self, lr=0.01, momentum=0.9):
        self.lr, self.momentum, self.velocity = lr, momentum, None

    def step(self, params, grads):
        if self.velocity is None:
            self.velocity = np.zeros_like(params)
        self.velocity = self.momentum * self.velocity + grads
        return params - self.lr * self.velocity


class KwargsMomentum:
    """Reads momentum from **kwargs; ignores everything else it is given."""

    def __init__(self, lr=0.01, **kwargs):
        self.lr, self.mu, self.b = lr, kwargs.get("momentum", 0.9), None

    def step(self, params, grads):
        self.b = grads if self.b is None else self.mu * self.b + grads
        return params - self.lr * self.b


class KwargsSwallowed:
    """Takes **kwargs for compatibility and uses none of them: μ = 0.9 is hard-coded."""

    def __init__(self, lr=0.01, **unused):
        self.lr, self.b = lr, None

    def step(self, params, grads):
        self.b = grads if self.b is None else 0.9 * self.b + grads
        return params - self.lr * self.b


built_adam = OnlyLrAdam(learning_rate=0.01)                # checked at its own lr
built_momentum = Momentum(lr=0.05, momentum=0.5)
stepped_momentum = Momentum(lr=0.05, momentum=0.5)
stepped_momentum.step(np.ones(3), np.ones(3))               # used once already: not a fresh start
partial_momentum = functools.partial(Momentum, momentum=0.5)


def sgd(w, dw, config=None):
    """CS231n's sgd: updates w in place and returns it with the config."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config


def rmsprop(w, dw, config=None):
    """CS231n-style RMSprop: decay_rate, epsilon and the cache in the config dict."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    cache = config["decay_rate"] * config["cache"] + (1 - config["decay_rate"]) * dw ** 2
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    return next_w, config


def rmsprop_eps_inside(w, dw, config=None):
    """The same with ε inside the root."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config["decay_rate"] * config.get("cache", np.zeros_like(w)) + (1 - config["decay_rate"]) * dw ** 2
    config["cache"] = cache
    return w - config["learning_rate"] * dw / np.sqrt(cache + config["epsilon"]), config


class MakesNaN:
    """Divides by a running sum that starts at 0: NaN on the first step (a no-nan failure, not a mutation)."""

    def __init__(self, lr=0.01):
        self.lr, self.s = lr, None

    def step(self, params, grads):
        self.s = np.zeros_like(params) if self.s is None else self.s + grads ** 2
        with np.errstate(all="ignore"):
            return params - self.lr * grads * 0.0 / self.s


class Float32StateAdam(OnlyLrAdam):
    """Moments kept in float32 arrays (as when the state is allocated with the model's dtype); params float64."""

    def step(self, params, grads):
        if self.m is None:
            self.m = np.zeros(params.shape, dtype=np.float32)
            self.v = np.zeros(params.shape, dtype=np.float32)
        self.t += 1
        self.m[...] = self.beta1 * self.m + (1 - self.beta1) * grads
        self.v[...] = self.beta2 * self.v + (1 - self.beta2) * grads ** 2
        m_hat = self.m / (1 - self.beta1 ** self.t)
        v_hat = self.v / (1 - self.beta2 ** self.t)
        return params - self.learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)


class LrOffBy1e7Adam(OnlyLrAdam):
    """float64 throughout, with the step 1e-7 (relative) too large: float32-sized, but not float32 arithmetic."""

    def step(self, params, grads):
        return params + (super().step(params, grads) - params) * (1 + 1e-7)


class LiteralB2Adam(OnlyLrAdam):
    """β2 = 0.99 written as a literal in the update (nothing to read on the object), as in d2l's code."""

    def step(self, params, grads):
        if self.m is None:
            self.m, self.v = np.zeros_like(params), np.zeros_like(params)
        self.t += 1
        self.m = 0.9 * self.m + 0.1 * grads
        self.v = 0.99 * self.v + 0.01 * grads ** 2
        return params - self.learning_rate * (self.m / (1 - 0.9 ** self.t)) / (
            np.sqrt(self.v / (1 - 0.99 ** self.t)) + 1e-8)


class TransformerAdam(OnlyLrAdam):
    """"Attention is all you need"'s Adam: β2 = 0.98 and ε = 1e-9 written as literals (two values other than the
    spec's defaults, neither taken nor on the object)."""

    def step(self, params, grads):
        if self.m is None:
            self.m, self.v = np.zeros_like(params), np.zeros_like(params)
        self.t += 1
        self.m = 0.9 * self.m + 0.1 * grads
        self.v = 0.98 * self.v + 0.02 * grads ** 2
        return params - self.learning_rate * (self.m / (1 - 0.9 ** self.t)) / (
            np.sqrt(self.v / (1 - 0.98 ** self.t)) + 1e-9)


class TransformerAdamNoCorrection(TransformerAdam):
    """The same values, and a bug: no bias correction."""

    def step(self, params, grads):
        if self.m is None:
            self.m, self.v = np.zeros_like(params), np.zeros_like(params)
        self.m = 0.9 * self.m + 0.1 * grads
        self.v = 0.98 * self.v + 0.02 * grads ** 2
        return params - self.learning_rate * self.m / (np.sqrt(self.v) + 1e-9)


class WeightDecaySGD:
    """SGD with its own keyword for the decay (off by default), which the spec weight-decay calls lam: lam is
    not taken, so the run assumes 0.01 while the class decays by 0."""

    def __init__(self, lr=0.01, weight_decay=0.0):
        self.lr, self.weight_decay = lr, weight_decay

    def step(self, params, grads):
        return params - self.lr * (grads + self.weight_decay * params)


class DecayNotScaledSGD:
    """A hard-coded decay not multiplied by η: w − ηg − 0.0004w. At one η it looks like λ = 0.0002/η; no single
    λ fits two step sizes, so it is a bug whatever λ the author meant."""

    def __init__(self, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        return params - self.lr * grads - 0.0004 * params
