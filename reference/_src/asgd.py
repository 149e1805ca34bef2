"""ASGD: stochastic gradient descent with a decaying rate, a shrink of the weights and a running average of the
iterates (Polyak & Juditsky 1992), as PyTorch's ``torch.optim.ASGD`` computes it.

Spec: issue 17 ("Beyond the course notes"), the ASGD item of its list of real bugs.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from reference._src.base import Optimizer, Transform, as_float, as_optimizer, check_positive

__all__ = ["ASGD_ETA_FORMS", "ScaleByAsgdState", "asgd_eta", "asgd_mu", "scale_by_asgd", "asgd", "asgd_average"]

#: ``"power-of-sum"`` (canonical): ``η = η₀/(1 + λη₀t)^α``; ``"power-of-step"``: ``η₀/(1 + λη₀t^α)``, the α applied
#: to the step count only (PyTorch's multi-tensor kernel before PR #125440, 2024).
ASGD_ETA_FORMS = ("power-of-sum", "power-of-step")


class ScaleByAsgdState(NamedTuple):
    """The steps taken ``t`` and the average of the iterates ``ax`` (zeros before the first step)."""

    count: int
    ax: np.ndarray


def asgd_eta(t: int, lr: Any, lambd: Any, alpha: Any, *, eta_form: str = "power-of-sum") -> Any:
    """The rate of step ``t`` (``t ≥ 1``): ``η₀/(1 + λη₀(t − 1))^α``; step 1 takes ``η₀``.

    PyTorch computes the rate of the next step after each one, from the steps taken so far: step ``t`` uses
    ``t − 1``. ``eta_form="power-of-step"``: ``η₀/(1 + λη₀(t − 1)^α)`` (see :data:`ASGD_ETA_FORMS`).
    """
    k = t - 1
    if eta_form == "power-of-step":
        return lr / (1 + lambd * lr * float(k) ** alpha) if k else lr
    return lr / (1 + lambd * lr * k) ** alpha


def asgd_mu(t: int, t0: float) -> float:
    """The averaging weight of step ``t`` (``t ≥ 1``): ``μ = 1/max(1, t − 1 − t₀)``.

    While ``μ = 1`` the average is the iterate itself; from step ``t₀ + 3`` on it averages (PyTorch computes
    μ after each step from the steps taken, as η).
    """
    return 1.0 / max(1.0, (t - 1) - float(t0))


def _check_eta_form(eta_form: str) -> None:
    if eta_form not in ASGD_ETA_FORMS:
        raise ValueError(f"eta_form must be one of {ASGD_ETA_FORMS}, got {eta_form!r}")


def scale_by_asgd(lr: Any, lambd: Any, alpha: Any, t0: float, weight_decay: Any = 0.0, *,
                  eta_form: str = "power-of-sum") -> Transform:
    """ASGD's step ``w ← w(1 − λη) − η(g + λ_wd w)`` as an update; the state keeps the average ``ax``."""
    _check_eta_form(eta_form)

    def init(params):
        return ScaleByAsgdState(0, np.zeros_like(params))

    def update(g, state, params):
        t = state.count + 1
        eta = asgd_eta(t, lr, lambd, alpha, eta_form=eta_form)
        if weight_decay:
            g = g + weight_decay * params
        # the increment of w(1 − λη) − ηg: the same iterate, and an error bound that follows w's (the tolerance
        # model charges new − w as if their errors were independent)
        u = -eta * g - (lambd * eta) * params
        new = params + u
        mu = asgd_mu(t, t0)
        ax = new if mu == 1.0 else state.ax + mu * (new - state.ax)
        return u, ScaleByAsgdState(t, ax)

    return Transform(init, update)


def asgd(lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0.0, *,
         eta_form: str = "power-of-sum") -> Optimizer:
    """ASGD (averaged SGD), PyTorch's ``torch.optim.ASGD``:

    ``g ← g + λ_wd w``, ``w ← w(1 − λη_t) − η_t g``, ``ax ← ax + μ_t(w − ax)``, with
    ``η_t = η₀/(1 + λη₀(t − 1))^α`` and ``μ_t = 1/max(1, t − 1 − t₀)`` at step ``t = 1, 2, …``.

    ``ax`` is Polyak–Juditsky's average of the iterates (Polyak & Juditsky, "Acceleration of stochastic
    approximation by averaging", SIAM J. Control Optim. 30(4), 1992): the iterate itself until step
    ``t₀ + 2``, then their running mean. It never enters the iterates: the step is plain SGD with the decaying
    rate and the shrink ``1 − λη`` of Bottou's and Xu's averaged SGD for an L2-regularised objective (λ is
    the regularisation constant and the schedule's decay at once; Xu, "Towards optimal one pass large scale
    learning with averaged stochastic gradient descent", arXiv:1107.2490, 2011; Bottou, "Stochastic Gradient
    Descent Tricks", 2012, ``γ_t = γ₀(1 + γ₀λt)^(−3/4)``). The optimizer's ``update`` returns the iterate
    ``w``; the average is ``state.ax`` (:func:`asgd_average` recomputes it from the iterates).

    Args:
      lr, lambd, alpha, t0, weight_decay: PyTorch's names and defaults (``η₀ = 1e-2``, ``λ = 1e-4``,
        ``α = 0.75``, ``t₀ = 1e6``: no averaging in the first million steps). ``weight_decay`` is
        coupled, ``g + λ_wd w`` before the step (the same as a decoupled ``η λ_wd w``: the step is linear
        in ``g``).
      eta_form: ``"power-of-sum"`` (canonical) or ``"power-of-step"``: PyTorch's multi-tensor kernel
        (``foreach=True``) before PR #125440 (2024) computed ``η₀/(1 + λη₀t^α)``, the power applied to the
        step count alone, while the single-tensor kernel computed ``η₀/(1 + λη₀t)^α``.

    Where libraries differ: optax and Keras have no ASGD. PyTorch's kernels agree since the fix (torch 2.13:
    both compute the canonical form); the old multi-tensor kernel also took every tensor's rate from the
    first tensor's state, which agrees while all tensors take every step.

    Source: ``torch.optim.ASGD`` (``_single_tensor_asgd``, ``_multi_tensor_asgd``), torch 2.13.

    With ``η₀ = 1``, ``λ = 1``, ``α = 1``, ``g = 1`` from ``w = 0``: ``η₁ = 1``, ``w₁ = 0 − 1 = −1``;
    ``η₂ = 1/2``, ``w₂ = −1·(1 − 1/2) − 1/2 = −1``:

    >>> opt = asgd(lr=1.0, lambd=1.0, alpha=1.0, t0=0.0)
    >>> w, s = np.zeros(1), opt.init(np.zeros(1))
    >>> for _ in range(2):
    ...     w, s = opt.update(np.ones(1), s, w)
    >>> w, s.ax
    (array([-1.]), array([-1.]))
    """
    check_positive("lr", lr)
    check_positive("lambd", lambd, allow_zero=True)
    check_positive("alpha", alpha, allow_zero=True)
    check_positive("t0", t0, allow_zero=True)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    _check_eta_form(eta_form)
    return as_optimizer(scale_by_asgd(lr, lambd, alpha, t0, weight_decay, eta_form=eta_form))


def asgd_average(iterates: Any, t0: float) -> np.ndarray:
    """The averages ``ax_1, …, ax_T`` ASGD keeps of the iterates ``w_1, …, w_T`` (shape ``(T, *w.shape)``).

    ``ax_t = ax_{t−1} + μ_t(w_t − ax_{t−1})`` with :func:`asgd_mu`; ``ax_t = w_t`` while ``μ_t = 1``. The
    average depends on the iterates and ``t₀`` only, so code that keeps its own average is checked by feeding
    its iterates here and comparing with its average.

    >>> asgd_average([[1.0], [2.0], [4.0], [9.0]], t0=0.0)[:, 0]   # μ = 1, 1, 1/2, 1/3
    array([1., 2., 3., 5.])
    """
    w = as_float(iterates, "iterates")
    out = np.empty_like(w)
    for i in range(len(w)):
        mu = asgd_mu(i + 1, t0)
        out[i] = w[i] if mu == 1.0 else out[i - 1] + mu * (w[i] - out[i - 1])
    return out
