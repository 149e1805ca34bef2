"""L2 and L1 regularisation, weight decay, and the proximal L1 step.

Spec: ``shared/FORMULAS.md`` sections 1 and 2 (specs ``l2``, ``weight-decay``,
``l1``). Source: the course notes, "Regularización L2" and "Regularización L1".
"""

from __future__ import annotations

import numpy as np

from reference._src.base import as_float, check_in_range, check_positive

__all__ = [
    "sgn",
    "l2_penalty",
    "l2_grad",
    "l2_sgd_step",
    "weight_decay_factor",
    "decoupled_decay_step",
    "l1_penalty",
    "l1_grad",
    "l1_subgradient_bounds",
    "l1_sgd_step",
    "soft_threshold",
    "l1_prox_step",
]


def sgn(x, at_zero: float = 1.0) -> np.ndarray:
    """Sign with a chosen value at 0.

    ``sgn(x) = +1 if x > 0, -1 if x < 0, at_zero if x == 0``.

    The notes define ``sgn(w) = +1 for w >= 0`` (``at_zero=1``, the default);
    ``numpy.sign`` and ``torch.sign`` use 0.

    >>> sgn([-2.0, 0.0, 3.0])
    array([-1.,  1.,  1.])
    >>> sgn([-2.0, 0.0, 3.0], at_zero=0.0)
    array([-1.,  0.,  1.])
    """
    x = as_float(x, "x")
    return np.where(x > 0, 1.0, np.where(x < 0, -1.0, float(at_zero)))


# --------------------------------------------------------------------- L2


def l2_penalty(w, lam: float) -> float:
    """L2 penalty ``λ Σ w²``.

    The objective is ``J_L2 = J + λ Σ w²`` (no ½: the gradient is ``2λw``).

    >>> float(l2_penalty([1.0, -2.0], 0.5))
    2.5
    """
    w = as_float(w, "w")
    return lam * np.sum(w * w)


def l2_grad(w, lam: float) -> np.ndarray:
    """Gradient of the L2 penalty: ``∂(λ Σ w²)/∂w = 2λw``.

    >>> l2_grad([1.0, -2.0], 0.5)
    array([ 1., -2.])
    """
    return 2.0 * lam * as_float(w, "w")


def weight_decay_factor(lr: float, lam: float) -> float:
    """The weight-decay factor ``1 − 2ηλ`` of an SGD step on ``J + λ Σ w²``.

    The notes require ``0 < 1 − 2ηλ < 1``, i.e. ``0 < ηλ < 1/2``: at
    ``ηλ > 1/2`` the weights flip sign each step, at ``λ < 0`` they grow.

    >>> weight_decay_factor(0.1, 0.5)
    0.9
    """
    return 1.0 - 2.0 * lr * lam


def l2_sgd_step(w, grad, lr: float, lam: float) -> np.ndarray:
    """One SGD step on ``J + λ Σ w²`` given ``grad = ∂J/∂w``.

    ``w ← w − η (∂J/∂w + 2λw) = w (1 − 2ηλ) − η ∂J/∂w``

    Warning: PyTorch's ``SGD(weight_decay=wd)`` adds ``wd·w`` to the gradient,
    so it is this step with ``λ = wd/2``.

    >>> l2_sgd_step([1.0], [0.5], lr=0.1, lam=0.5)
    array([0.85])
    """
    w = as_float(w, "w")
    g = as_float(grad, "grad")
    return w * weight_decay_factor(lr, lam) - lr * g


def decoupled_decay_step(w, update, lr: float, lam: float) -> np.ndarray:
    """Decoupled weight decay (Loshchilov & Hutter 2019): ``w ← w(1 − 2ηλ) − η·update``.

    ``update`` is whatever direction the optimizer computed from ∂J/∂w alone
    (the raw gradient for SGD, a momentum buffer, Adam's ``m̂/(√v̂+ε)``). For
    plain SGD (``update = ∂J/∂w``) this equals :func:`l2_sgd_step`.
    """
    w = as_float(w, "w")
    return w * weight_decay_factor(lr, lam) - lr * as_float(update, "update")


# --------------------------------------------------------------------- L1


def l1_penalty(w, lam: float) -> float:
    """L1 penalty ``λ Σ |w|``.

    >>> float(l1_penalty([1.0, -2.0], 0.5))
    1.5
    """
    return lam * np.sum(np.abs(as_float(w, "w")))


def l1_grad(w, lam: float, *, sign_at_zero: float = 1.0) -> np.ndarray:
    """(Sub)gradient of the L1 penalty: ``λ sgn(w)``.

    At ``w = 0`` the penalty has no derivative; every value in ``[−λ, λ]`` is
    a subgradient. The notes' convention is ``sgn(0) = +1`` (the default);
    ``sign_at_zero=0`` gives numpy's/PyTorch's ``sign`` convention.

    >>> l1_grad([-3.0, 0.0, 2.0], 0.1)
    array([-0.1,  0.1,  0.1])
    """
    check_in_range("sign_at_zero", sign_at_zero, -1.0, 1.0, hi_closed=True)
    return lam * sgn(w, at_zero=sign_at_zero)


def l1_subgradient_bounds(w, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """The subdifferential of ``λ Σ |w|`` as per-entry bounds ``(lo, hi)``.

    ``{λ sgn(w)}`` where ``w ≠ 0`` and the interval ``[−λ, λ]`` where ``w = 0``
    (for ``λ ≥ 0``).

    >>> lo, hi = l1_subgradient_bounds([0.0, 2.0], 0.5)
    >>> lo, hi
    (array([-0.5,  0.5]), array([0.5, 0.5]))
    """
    w = as_float(w, "w")
    s = np.sign(w)
    lo = np.where(w == 0, -abs(lam), lam * s)
    hi = np.where(w == 0, abs(lam), lam * s)
    return lo, hi


def l1_sgd_step(w, grad, lr: float, lam: float, *, sign_at_zero: float = 1.0) -> np.ndarray:
    """One subgradient step on ``J + λ Σ |w|``: ``w ← w − η (∂J/∂w + λ sgn(w))``.

    Unlike :func:`l1_prox_step` this never produces exact zeros; it oscillates
    around 0 with amplitude ``ηλ``.
    """
    w = as_float(w, "w")
    return w - lr * (as_float(grad, "grad") + l1_grad(w, lam, sign_at_zero=sign_at_zero))


def soft_threshold(v, threshold: float) -> np.ndarray:
    """Soft-thresholding, the proximal operator of ``threshold · Σ|w|``.

    ``sign(v) · max(|v| − threshold, 0)``

    >>> soft_threshold([-3.0, 0.5, 2.0], 1.0)
    array([-2.,  0.,  1.])
    """
    check_positive("threshold", threshold, allow_zero=True)
    v = as_float(v, "v")
    return np.sign(v) * np.maximum(np.abs(v) - threshold, 0.0)


def l1_prox_step(w, grad, lr: float, lam: float) -> np.ndarray:
    """Proximal-gradient (ISTA) step on ``J + λ Σ |w|``.

    ``v = w − η ∂J/∂w``, ``w ← sign(v) · max(|v| − ηλ, 0)``: entries whose
    gradient step lands within ``ηλ`` of zero become exactly zero.

    Reference: Parikh & Boyd, *Proximal Algorithms* (2014), §6.5.2.

    >>> l1_prox_step([1.0, 0.05], [0.0, 0.0], lr=0.1, lam=1.0)
    array([0.9, 0. ])
    """
    v = as_float(w, "w") - lr * as_float(grad, "grad")
    return soft_threshold(v, lr * lam)
