"""Buggy SGD with L2 weight decay (spec ``weight-decay``: λ of λΣw², the step adds 2λw)."""

class _Base:
    def __init__(self, lr, lam, momentum=0.0):
        self.lr, self.lam, self.mu, self.b = lr, lam, momentum, 0.0


class TorchConvention(_Base):
    """Adds λw (PyTorch's weight_decay semantics) instead of 2λw."""

    def step(self, params, grads):
        self.b = self.mu * self.b + grads + self.lam * params
        return params - self.lr * self.b


class Decoupled(_Base):
    """Decays the weights outside the momentum buffer."""

    def step(self, params, grads):
        self.b = self.mu * self.b + grads
        return params * (1 - 2 * self.lr * self.lam) - self.lr * self.b


class NotScaledByLr(_Base):
    """w(1 − 2λ) − ηb: forgets the learning rate on the decay."""

    def step(self, params, grads):
        self.b = self.mu * self.b + grads
        return params * (1 - 2 * self.lam) - self.lr * self.b


class AfterStep(_Base):
    """Applies the decay to the already-updated weights."""

    def step(self, params, grads):
        self.b = self.mu * self.b + grads
        return (params - self.lr * self.b) * (1 - 2 * self.lr * self.lam)


class WrongSign(_Base):
    """g − 2λw: the penalty's gradient subtracted."""

    def step(self, params, grads):
        self.b = self.mu * self.b + grads - 2 * self.lam * params
        return params - self.lr * self.b


class FourLambda(_Base):
    """Differentiates λΣw² as 2λw and then doubles it again."""

    def step(self, params, grads):
        penalty_grad = 2 * (2 * self.lam * params)
        self.b = self.mu * self.b + grads + penalty_grad
        return params - self.lr * self.b


BUGS = {
    "torch-convention": (TorchConvention, "conformance", "factor 2 in λ"),
    "torch-convention-factor": (TorchConvention, "decay-factor", "1 − ηλ"),
    "decoupled": (Decoupled, "conformance", "decoupled"),
    "decoupled-momentum": (Decoupled, "coupled-with-momentum", "bypasses the momentum buffer"),
    "not-scaled": (NotScaledByLr, "conformance", "not multiplied by η"),
    "not-scaled-factor": (NotScaledByLr, "decay-factor", "not multiplied by η"),
    "after-step": (AfterStep, "conformance", "after the step"),
    "wrong-sign": (WrongSign, "conformance", "wrong sign"),
    "four-lambda": (FourLambda, "conformance", "4λw"),
    "torch-convention-gradient": (TorchConvention, "decay-gradient-finite-difference", "factor 0.5"),
    "wrong-sign-gradient": (WrongSign, "decay-gradient-finite-difference", "sign flip"),
}
