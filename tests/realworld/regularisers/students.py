"""Course-style L1/L2 regulariser functions, right and wrong, in the protocol's own names."""

import numpy as np

from tests.realworld.corpus import buggy, correct


class L2:
    @staticmethod
    def penalty(w, lam):
        return lam * np.sum(w ** 2)

    @staticmethod
    def grad(w, lam):
        return 2 * lam * w

    @staticmethod
    def step(w, g, lr, lam):
        return w - lr * (g + 2 * lam * w)


class L1:
    @staticmethod
    def penalty(w, lam):
        return lam * np.abs(w).sum()

    @staticmethod
    def grad(w, lam):
        return lam * np.sign(w)

    @staticmethod
    def step(w, g, lr, lam):
        return w - lr * (g + lam * np.sign(w))

    @staticmethod
    def prox_step(w, g, lr, lam):
        v = w - lr * g
        return np.sign(v) * np.maximum(np.abs(v) - lr * lam, 0.0)


class L2InPlace(L2):
    @staticmethod
    def step(w, g, lr, lam):
        w -= lr * (g + 2 * lam * w)          # updates the caller's array
        return w


class L2DecayWithoutLr(L2):
    @staticmethod
    def step(w, g, lr, lam):
        return w * (1 - 2 * lam) - lr * g


class L1GradIsWeights(L1):
    @staticmethod
    def grad(w, lam):
        return lam * w


class L1ProxWithoutThreshold(L1):
    @staticmethod
    def prox_step(w, g, lr, lam):
        return w - lr * (g + lam * np.sign(w))


class L1SignAtZeroOne(L1):
    @staticmethod
    def grad(w, lam):
        return lam * np.where(w >= 0, 1.0, -1.0)     # the notes' sgn(0) = +1


def l2_grad_sign_flipped(w, lam):
    return -2 * lam * w


SRC = "course-style regulariser code"
CASES = [
    correct("student-l2", L2, "l2", SRC, cli="tests/realworld/regularisers/students.py:L2"),
    correct("student-l1", L1, "l1", SRC),
    correct("student-l1-sgn0-plus-one", L1SignAtZeroOne, "l1", SRC),
    buggy("student-l2-step-in-place", L2InPlace, "l2", SRC, "w -= ... modifies the caller's weights",
          {"step-hygiene"}, "modified its input w in place"),
    buggy("student-l2-decay-without-lr", L2DecayWithoutLr, "l2", SRC, "the decay is not scaled by η",
          {"sgd-step-identity"}, "learning rate does not multiply the decay"),
    buggy("student-l1-grad-is-weights", L1GradIsWeights, "l1", SRC, "λw instead of λ sgn(w)",
          {"subgradient-away-from-zero"}, "λ sgn(w), not the weights"),
    buggy("student-l1-prox-no-threshold", L1ProxWithoutThreshold, "l1", SRC,
          "the 'proximal' step is a subgradient step: no exact zeros", {"proximal-step"}, "no soft-thresholding"),
    buggy("student-l2-sign-flipped", l2_grad_sign_flipped, "l2", SRC, "−2λw", {"gradient-vs-symbolic"}, "sign flip"),
]
