"""Regulariser classes built with their strength, checked unwrapped.

ML-From-Scratch (mlfromscratch/supervised_learning/regression.py) builds
``l1_regularization(alpha)`` / ``l2_regularization(alpha)`` whose instances
are the penalty (``__call__(w)``) and have ``grad(w)``; Keras'
``regularizers.L2(l2=0.01)`` is a penalty object called on the weights. The
verifier builds one per λ. deeplearning.ai's L2 cost ``(λ/2m)·Σ‖W‖²`` with
gradient ``(λ/m)·W`` is the half convention at m = 1 (the strength per
example is λ/m); the usual slips in the same shape.
"""

import numpy as np

from tests.realworld.corpus import buggy, correct


class l1_regularization:
    def __init__(self, alpha):
        self.alpha = alpha

    def __call__(self, w):
        return self.alpha * np.sum(np.abs(w))

    def grad(self, w):
        return self.alpha * np.sign(w)


class L2:
    """Keras-style: the penalty object, ``l2 * sum(square(x))``."""

    def __init__(self, l2=0.01):
        self.l2 = l2

    def __call__(self, x):
        return self.l2 * np.sum(np.square(x))


class L2WithGradient(L2):
    def gradient(self, x):
        return 2.0 * self.l2 * x


class DlaiL2:
    """deeplearning.ai week 1 'Regularization': cost (1/m)(λ/2)ΣW², backward dW += (λ/m)W, at m = 1."""

    def __init__(self, lambd, m=1):
        self.lambd, self.m = lambd, m

    def __call__(self, W):
        return 1.0 / self.m * self.lambd / 2 * np.sum(np.square(W))

    def grad(self, W):
        return self.lambd / self.m * W


class _DlaiL2GradientWithoutHalf(DlaiL2):
    """The backward pass written for λΣW² while the cost keeps the 1/2."""

    def grad(self, W):
        return 2 * self.lambd / self.m * W


class _L1GradientAsWeights(l1_regularization):
    def grad(self, w):
        return self.alpha * w


CASES = [
    correct("ml-from-scratch-style-l1-class", l1_regularization, "l1",
            "ML-From-Scratch-style l1_regularization(alpha) with Σ|w|, unwrapped",
            cli="tests/realworld/regularisers/built_with_strength.py:l1_regularization"),
    correct("keras-l2-object", L2, "l2", "Keras regularizers.L2(l2=0.01): the penalty object"),
    correct("keras-l2-object-with-gradient", L2WithGradient, "l2", "Keras-style L2 with a gradient method"),
    correct("dlai-l2-cost-half", DlaiL2, "l2", "deeplearning.ai compute_cost_with_regularization at m = 1",
            params={"convention": "half"}),
    buggy("dlai-l2-backward-without-half", _DlaiL2GradientWithoutHalf, "l2",
          "deeplearning.ai backward_propagation_with_regularization",
          "the gradient 2λW/m for the cost (λ/2m)ΣW²", {"gradient-vs-symbolic", "penalty-gradient-consistency"},
          "constant factor", params={"convention": "half"}),
    buggy("ml-from-scratch-style-l1-grad-is-weights", _L1GradientAsWeights, "l1",
          "ML-From-Scratch-style l1_regularization", "alpha·w instead of alpha·sign(w)",
          {"subgradient-away-from-zero"}, "λ sgn(w), not the weights"),
]
