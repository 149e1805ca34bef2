"""Dive into Deep Learning (d2l.ai), chapter "Optimization Algorithms", PyTorch edition: functions
``rule(params, states, hyperparams)`` updating tensors in place from ``p.grad``, with state tensors made by
``init_*_states`` (float32, as in the book) and constants hard-coded in the function. Paraphrased, each with the
small wrapper a user writes to check it per docs/protocols.md (only the hyperparameters the book's function
reads from ``hyperparams`` are taken; the hard-coded ones are declared with --param where they differ)."""

import torch


def _zeros(shape):
    return torch.zeros(shape, dtype=torch.float32)


def sgd(params, states, hyperparams):
    for p in params:
        p.data.sub_(hyperparams["lr"] * p.grad)
        p.grad.data.zero_()


def init_momentum_states(shape):
    return [_zeros(shape)]


def sgd_momentum(params, states, hyperparams):
    for p, v in zip(params, states):
        with torch.no_grad():
            v[:] = hyperparams["momentum"] * v + p.grad
            p[:] -= hyperparams["lr"] * v
        p.grad.data.zero_()


def init_rmsprop_states(shape):
    return [_zeros(shape)]


def rmsprop(params, states, hyperparams):
    gamma, eps = hyperparams["gamma"], 1e-6
    for p, s in zip(params, states):
        with torch.no_grad():
            s[:] = gamma * s + (1 - gamma) * torch.square(p.grad)
            p[:] -= hyperparams["lr"] * p.grad / torch.sqrt(s + eps)
        p.grad.data.zero_()


def init_adam_states(shape):
    return [(_zeros(shape), _zeros(shape))]


def adam(params, states, hyperparams):
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    for p, (v, s) in zip(params, states):
        with torch.no_grad():
            v[:] = beta1 * v + (1 - beta1) * p.grad
            s[:] = beta2 * s + (1 - beta2) * torch.square(p.grad)
            v_bias_corr = v / (1 - beta1 ** hyperparams["t"])
            s_bias_corr = s / (1 - beta2 ** hyperparams["t"])
            p[:] -= hyperparams["lr"] * v_bias_corr / (torch.sqrt(s_bias_corr) + eps)
        p.grad.data.zero_()
    hyperparams["t"] += 1


class _Book:
    """The user's wrapper: one float64 tensor parameter, the book's state initialiser and update rule."""

    rule = staticmethod(sgd)
    init_states = None

    def __init__(self, **hyperparams):
        self.hyperparams = dict(hyperparams)
        self.states = None

    def step(self, params, grads):
        p = torch.tensor(params, requires_grad=True)
        p.grad = torch.tensor(grads)
        if self.states is None and self.init_states is not None:
            self.states = type(self).init_states(p.shape)
        type(self).rule([p], self.states, self.hyperparams)
        return p.detach().numpy()


class SGD(_Book):
    def __init__(self, lr):
        super().__init__(lr=lr)


class Momentum(_Book):
    rule = staticmethod(sgd_momentum)
    init_states = staticmethod(init_momentum_states)

    def __init__(self, lr, momentum):
        super().__init__(lr=lr, momentum=momentum)


class RMSProp(_Book):
    """The book's RMSProp: ε = 1e-6 inside the square root (its definition, not the spec's)."""

    rule = staticmethod(rmsprop)
    init_states = staticmethod(init_rmsprop_states)

    def __init__(self, lr, rho):
        super().__init__(lr=lr, gamma=rho)


class Adam(_Book):
    rule = staticmethod(adam)
    init_states = staticmethod(init_adam_states)

    def __init__(self, lr):
        super().__init__(lr=lr, t=1)


# ----- the book's code with a student's slip ---------------------------------------------------------------


def adam_t_zero_based(params, states, hyperparams):
    """t starts at 0 in hyperparams and is incremented after use... so the first correction divides by 1 − β⁰.
    Written here with the count bumped before the correction but started at 1: the corrections use t + 1."""
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    hyperparams["t"] += 1
    for p, (v, s) in zip(params, states):
        with torch.no_grad():
            v[:] = beta1 * v + (1 - beta1) * p.grad
            s[:] = beta2 * s + (1 - beta2) * torch.square(p.grad)
            p[:] -= hyperparams["lr"] * (v / (1 - beta1 ** hyperparams["t"])) / (
                torch.sqrt(s / (1 - beta2 ** hyperparams["t"])) + eps)
        p.grad.data.zero_()


class AdamOffByOne(Adam):
    rule = staticmethod(adam_t_zero_based)


def sgd_momentum_dampened(params, states, hyperparams):
    """Momentum as a running average of the gradients: v ← μv + (1 − μ)g."""
    for p, v in zip(params, states):
        with torch.no_grad():
            v[:] = hyperparams["momentum"] * v + (1 - hyperparams["momentum"]) * p.grad
            p[:] -= hyperparams["lr"] * v
        p.grad.data.zero_()


class MomentumDampened(Momentum):
    rule = staticmethod(sgd_momentum_dampened)
