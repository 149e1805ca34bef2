"""CS231n assignment 1's regularised losses (linear_svm.py / softmax.py), the L2 term in their shape.

Since 2017 the solutions write ``loss += reg * np.sum(W * W)`` and
``dW += 2 * reg * W`` (the notes' λ Σ w²); the 2016 ones
``loss += 0.5 * reg * np.sum(W * W)`` and ``dW += reg * W`` ((λ/2) Σ w²). The
wrapper isolates the penalty from the data loss, as the protocol asks.
"""

from types import SimpleNamespace

import numpy as np

from tests.realworld.corpus import buggy, correct


def reg_terms(W, reg):
    loss = reg * np.sum(W * W)
    dW = 2 * reg * W
    return loss, dW


def reg_terms_2016(W, reg):
    loss = 0.5 * reg * np.sum(W * W)
    dW = reg * W
    return loss, dW


def _mixed(W, reg):
    loss = reg * np.sum(W * W)     # the 2017 loss with the 2016 gradient
    dW = reg * W
    return loss, dW


def protocol(fn):
    """The user's wrapper: penalty(w, lam) and grad(w, lam) from the loss/gradient pair."""
    return SimpleNamespace(penalty=lambda w, lam: fn(w, lam)[0], grad=lambda w, lam: fn(w, lam)[1])


SRC = "CS231n assignment 1, cs231n/classifiers/linear_svm.py and softmax.py (regularisation terms)"
CASES = [
    correct("cs231n-reg", protocol(reg_terms), "l2", SRC),
    correct("cs231n-reg-2016-half", protocol(reg_terms_2016), "l2", SRC + " (2016: 0.5·reg)",
            params={"convention": "half"}),
    buggy("cs231n-reg-2016-checked-as-sum", protocol(reg_terms_2016), "l2", SRC + " (2016: 0.5·reg)",
          "(λ/2) Σ w² checked under the notes' λ Σ w² without declaring it",
          {"gradient-vs-symbolic", "penalty-value"}, "--param convention=half"),
    buggy("cs231n-reg-loss-and-gradient-disagree", protocol(_mixed), "l2", SRC,
          "the loss is λ Σ w² but the gradient λW", {"gradient-vs-symbolic", "penalty-gradient-consistency"},
          "(λ/2) Σ w²"),
]
