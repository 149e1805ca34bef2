"""Buggy implementations of ``step(w, grad, hess, lr)`` (spec ``newton``)."""

import numpy as np


def _solve(hess, grad):
    return np.linalg.solve(np.atleast_2d(hess), np.atleast_1d(grad)).reshape(np.shape(grad))


def multiplies(w, grad, hess, lr):
    """Multiplies by the Hessian instead of dividing."""
    return w - lr * (np.atleast_2d(hess) @ np.atleast_1d(grad)).reshape(np.shape(w))


def ignores_lr(w, grad, hess, lr):
    """Always takes the full Newton step."""
    return w - _solve(hess, grad)


def diagonal(w, grad, hess, lr):
    """Diagonal approximation: exact in 1-D, wrong in n-D."""
    return w - lr * np.atleast_1d(grad).reshape(np.shape(w)) / np.diag(np.atleast_2d(hess)).reshape(np.shape(w))


def wrong_sign(w, grad, hess, lr):
    return w + lr * _solve(hess, grad)


def gradient_descent(w, grad, hess, lr):
    """Falls back to w − η∇E (ignores the Hessian)."""
    return w - lr * np.asarray(grad)


def regularised(w, grad, hess, lr):
    """Adds 1e-8·I to H 'for safety': a silent finite step where H is singular."""
    h = np.atleast_2d(hess) + 1e-8 * np.eye(np.atleast_2d(hess).shape[0])
    return w - lr * np.linalg.solve(h, np.atleast_1d(grad)).reshape(np.shape(w))


def in_place(w, grad, hess, lr):
    """Updates the caller's w in place (n-D) and returns it."""
    if np.ndim(w) == 0:
        return w - lr * grad / hess
    w -= lr * _solve(hess, grad)
    return w


def lr_divides(w, grad, hess, lr):
    """w − H⁻¹g/η."""
    return w - _solve(hess, grad) / lr


def abs_curvature(w, grad, hess, lr):
    """Uses |E''| (a 'saddle-free' modification) in 1-D."""
    if np.ndim(hess) == 0:
        return w - lr * grad / abs(hess)
    return w - lr * _solve(hess, grad)


def one_element_array(w, grad, hess, lr):
    """Returns a (1,) array for scalar input."""
    return np.atleast_1d(w - lr * _solve(hess, grad))


def correct(w, grad, hess, lr):
    return w - lr * _solve(hess, grad)


BUGS = {
    "multiplies": (multiplies, "step-vs-symbolic-1d", "multiplies by E''"),
    "multiplies-nd": (multiplies, "step-vs-symbolic-nd", "H multiplies"),
    "multiplies-quadratic": (multiplies, "exact-on-quadratic", None),
    "ignores-lr": (ignores_lr, "step-vs-symbolic-1d", "η is ignored"),
    "ignores-lr-damped": (ignores_lr, "damped-rate", None),
    "ignores-lr-jacobian": (ignores_lr, "newton-map-jacobian", None),
    "diagonal": (diagonal, "step-vs-symbolic-nd", "diagonal"),
    "diagonal-quadratic": (diagonal, "exact-on-quadratic", "diagonal"),
    "diagonal-jacobian": (diagonal, "newton-map-jacobian", None),
    "wrong-sign": (wrong_sign, "step-vs-symbolic-1d", "wrong sign"),
    "wrong-sign-convergence": (wrong_sign, "quadratic-convergence", None),
    "gradient-descent": (gradient_descent, "step-vs-symbolic-1d", "gradient descent"),
    "gradient-descent-order": (gradient_descent, "quadratic-convergence", None),
    "regularised": (regularised, "singular-hessian", None),
    "in-place": (in_place, "hygiene", None),
    "lr-divides": (lr_divides, "step-vs-symbolic-1d", "η divides"),
    "abs-curvature": (abs_curvature, "step-vs-symbolic-1d", "|E''|"),
    "one-element-array": (one_element_array, "hygiene", None),
}
