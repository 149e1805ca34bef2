"""Dive into Deep Learning (d2l.ai), sections "Adagrad" and "Adadelta", PyTorch edition: ``rule(params, states,
hyperparams)`` updating ``p`` in place from ``p.grad``, the state tensors made by ``init_*_states`` (float32, as in
the book), the constants (ε; Adadelta has no learning rate) hard-coded in the function. Paraphrased, each with the
small wrapper a user writes to check it (the book's wrapper shape of tests/realworld/optimizers/d2l.py); the
hard-coded values are declared with --param in the corpus."""

import torch

from tests.realworld.optimizers.d2l import _Book, _zeros


def init_adagrad_states(shape):
    return [_zeros(shape)]


def adagrad(params, states, hyperparams):
    """The book's Adagrad: ε = 1e-6 inside the square root."""
    eps = 1e-6
    for p, s in zip(params, states):
        with torch.no_grad():
            s[:] += torch.square(p.grad)
            p[:] -= hyperparams["lr"] * p.grad / torch.sqrt(s + eps)
        p.grad.data.zero_()


def init_adadelta_states(shape):
    return [(_zeros(shape), _zeros(shape))]


def adadelta(params, states, hyperparams):
    """The book's Adadelta: ε = 1e-5 in both roots, no learning rate; the rescaled gradient is stored in place."""
    rho, eps = hyperparams["rho"], 1e-5
    for p, (s, delta) in zip(params, states):
        with torch.no_grad():
            s[:] = rho * s + (1 - rho) * torch.square(p.grad)
            g = (torch.sqrt(delta + eps) / torch.sqrt(s + eps)) * p.grad
            p[:] -= g
            delta[:] = rho * delta + (1 - rho) * g * g
        p.grad.data.zero_()


class Adagrad(_Book):
    rule = staticmethod(adagrad)
    init_states = staticmethod(init_adagrad_states)

    def __init__(self, lr):
        super().__init__(lr=lr)


class Adadelta(_Book):
    rule = staticmethod(adadelta)
    init_states = staticmethod(init_adadelta_states)

    def __init__(self, rho):
        super().__init__(rho=rho)


# ----- ports of the book's code with a reader's slip ----------------------------------------------------------


def adadelta_rebinding(params, states, hyperparams):
    """``s = …`` instead of ``s[:] = …``: the averages are rebound to new local tensors, never stored."""
    rho, eps = hyperparams["rho"], 1e-5
    for p, (s, delta) in zip(params, states):
        with torch.no_grad():
            s = rho * s + (1 - rho) * torch.square(p.grad)
            g = (torch.sqrt(delta + eps) / torch.sqrt(s + eps)) * p.grad
            p[:] -= g
            delta = rho * delta + (1 - rho) * g * g
        p.grad.data.zero_()


class AdadeltaStateNeverStored(Adadelta):
    rule = staticmethod(adadelta_rebinding)


def adagrad_without_square(params, states, hyperparams):
    """The accumulator sums |g| (``torch.abs`` where the book squares): the square root of a sum of |g|."""
    eps = 1e-6
    for p, s in zip(params, states):
        with torch.no_grad():
            s[:] += torch.abs(p.grad)
            p[:] -= hyperparams["lr"] * p.grad / torch.sqrt(s + eps)
        p.grad.data.zero_()


class AdagradAbsAccumulator(Adagrad):
    rule = staticmethod(adagrad_without_square)
