"""Newton's method, in one and in n dimensions, plain and damped.

Spec: ``shared/FORMULAS.md`` section 6 (spec ``newton``). Source: the course
notes, "Método de Newton": the optimal step on the local quadratic model
satisfies ``E''(w0) = E'(w0)/Δ_opt``, so ``w = w0 − E'(w0)/E''(w0)``, exact
in one step for a quadratic ("problema cuadrático"); the method damps it:
``w = w0 − η E'(w0)/E''(w0)``.

Protocol for a Newton step: ``step(w, grad, hess, lr) -> new_w``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from reference._src.base import as_float, check_positive

__all__ = ["newton_step_1d", "newton_step", "newton_iterates"]


def newton_step_1d(w0: float, d1: float, d2: float, lr: float = 1.0) -> float:
    """One Newton step in one dimension: ``w = w0 − η E'(w0)/E''(w0)``.

    Args:
      w0: current point.
      d1: ``E'(w0)``.
      d2: ``E''(w0)``; must be non-zero. Where ``E'' < 0`` the step goes
        uphill (towards a maximum of the local model).
      lr: damping ``η`` (1 for the pure Newton step).

    >>> newton_step_1d(3.0, d1=4.0, d2=2.0)  # E = (w − 1)², minimum at 1
    1.0
    """
    check_positive("lr", lr)
    d2 = float(d2)
    if d2 == 0.0 or not np.isfinite(d2):
        raise ValueError(f"E''(w0) must be finite and non-zero for a Newton step, got {d2!r}")
    return float(w0) - lr * float(d1) / d2


def newton_step(w, grad, hess, lr: float = 1.0) -> np.ndarray:
    """One (damped) Newton step: ``w ← w − η H⁻¹ ∇E(w)``.

    ``H⁻¹∇E`` is computed by solving ``H Δ = ∇E`` (never by inverting ``H``).
    Scalars are accepted for the one-dimensional case.

    Args:
      w: current point, shape ``(n,)`` (or a scalar).
      grad: ``∇E(w)``, same shape as ``w``.
      hess: ``∇²E(w)``, shape ``(n, n)`` (or a scalar); must be non-singular.
      lr: damping ``η``.

    Raises:
      ValueError: on mismatched shapes or a singular Hessian.

    >>> newton_step([1.0, 1.0], grad=[2.0, 8.0], hess=[[2.0, 0.0], [0.0, 8.0]])
    array([0., 0.])
    """
    check_positive("lr", lr)
    w = as_float(w, "w")
    g = as_float(grad, "grad")
    h = as_float(hess, "hess")
    if w.ndim == 0:
        if g.ndim != 0 or h.size != 1:
            raise ValueError(f"a scalar w needs a scalar grad and hess, got shapes {g.shape} and {h.shape}")
        return np.asarray(newton_step_1d(float(w), float(g), float(h.reshape(())), lr))
    if w.ndim != 1:
        raise ValueError(f"w must be a scalar or a vector, got shape {w.shape}")
    n = w.shape[0]
    if g.shape != (n,):
        raise ValueError(f"grad must have shape ({n},) like w, got {g.shape}")
    if h.shape != (n, n):
        raise ValueError(f"hess must have shape ({n}, {n}), got {h.shape}")
    try:
        delta = np.linalg.solve(h, g)
    except np.linalg.LinAlgError:
        raise ValueError("the Hessian is singular: the Newton step is undefined") from None
    return w - lr * delta


def newton_iterates(grad_fn: Callable, hess_fn: Callable, w0, n_steps: int,
                    lr: float = 1.0) -> list[np.ndarray]:
    """``[w0, w1, …, w_n]`` of Newton's method from ``w0``.

    Near a minimum with positive-definite Hessian (and ``lr = 1``) the error
    squares at each step (quadratic convergence).
    """
    w = as_float(w0, "w0")
    out = [w]
    for _ in range(int(n_steps)):
        w = newton_step(w, grad_fn(w), hess_fn(w), lr)
        out.append(w)
    return out
