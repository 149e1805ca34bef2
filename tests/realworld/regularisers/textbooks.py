"""Textbook and library regularisers in their shapes.

* d2l §3.7 (weight decay): ``l2_penalty(w) = torch.sum(w.pow(2)) / 2``, the loss
  ``+ lambd * l2_penalty(w)``, the gradient by autograd.
* ML-From-Scratch (mlfromscratch/supervised_learning/regression.py):
  ``l2_regularization`` is ``alpha · 0.5 · wᵀw`` with gradient ``alpha · w``;
  ``l1_regularization`` is ``alpha · np.linalg.norm(w)`` -- the Euclidean norm,
  not Σ|w| -- with gradient ``alpha · sign(w)``: a documented slip.
* Keras (keras/regularizers.py): ``l2 · Σ x²`` and ``l1 · Σ |x|``, gradients
  from their definitions.
* PyTorch's SGD with ``weight_decay``: ``d_p = d_p + weight_decay · p`` then
  ``p ← p − lr · d_p``, i.e. L2 with (λ/2) Σ w².
"""

from types import SimpleNamespace

import numpy as np
import torch

from tests.realworld.corpus import buggy, correct


def d2l_l2_penalty(w):
    return torch.sum(w.pow(2)) / 2


class D2LWeightDecay:
    """The user's wrapper: the penalty d2l adds to its loss, and its gradient by autograd."""

    @staticmethod
    def penalty(w, lam):
        return float(lam * d2l_l2_penalty(torch.tensor(w)))

    @staticmethod
    def grad(w, lam):
        t = torch.tensor(w, requires_grad=True)
        (lam * d2l_l2_penalty(t)).backward()
        return t.grad.numpy()


class l1_regularization:
    def __init__(self, alpha):
        self.alpha = alpha

    def __call__(self, w):
        return self.alpha * np.linalg.norm(w)

    def grad(self, w):
        return self.alpha * np.sign(w)


class l2_regularization:
    def __init__(self, alpha):
        self.alpha = alpha

    def __call__(self, w):
        return self.alpha * 0.5 * w.T.dot(w)

    def grad(self, w):
        return self.alpha * w


def from_scratch(cls):
    """The user's wrapper: the (alpha) object as penalty(w, lam) and grad(w, lam)."""
    return SimpleNamespace(penalty=lambda w, lam: cls(lam)(w.ravel()), grad=lambda w, lam: cls(lam).grad(w))


class KerasL2:
    @staticmethod
    def penalty(w, lam):
        return lam * np.sum(np.square(w))

    @staticmethod
    def grad(w, lam):
        return 2.0 * lam * w


class KerasL1:
    @staticmethod
    def penalty(w, lam):
        return lam * np.sum(np.abs(w))

    @staticmethod
    def grad(w, lam):
        return lam * np.sign(w)


def torch_sgd_weight_decay_step(w, g, lr, lam):
    """One torch.optim.SGD step with weight_decay = lam on a parameter whose loss gradient is g."""
    p = torch.nn.Parameter(torch.tensor(w))
    p.grad = torch.tensor(g)
    torch.optim.SGD([p], lr=lr, weight_decay=lam).step()
    return p.detach().numpy()


CASES = [
    correct("d2l-weight-decay", D2LWeightDecay, "l2", "d2l.ai §3.7 weight-decay.md: l2_penalty = Σ w²/2",
            params={"convention": "half"}),
    correct("ml-from-scratch-l2", from_scratch(l2_regularization), "l2",
            "eriklindernoren/ML-From-Scratch regression.py l2_regularization", params={"convention": "half"}),
    buggy("ml-from-scratch-l1", from_scratch(l1_regularization), "l1",
          "eriklindernoren/ML-From-Scratch regression.py l1_regularization",
          "the L1 penalty uses np.linalg.norm(w), the Euclidean norm", {"penalty-value", "penalty-gradient-consistency"},
          "λ‖w‖₂, the Euclidean norm"),
    correct("keras-l2", KerasL2, "l2", "Keras regularizers.L2: l2 · Σ x²"),
    correct("keras-l1", KerasL1, "l1", "Keras regularizers.L1: l1 · Σ |x|"),
    correct("torch-sgd-weight-decay", SimpleNamespace(step=torch_sgd_weight_decay_step), "l2",
            "torch.optim.SGD(weight_decay=λ): the step of L2 with (λ/2) Σ w²", params={"convention": "half"}),
]
