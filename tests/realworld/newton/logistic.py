"""Newton's method as logistic-regression code writes its update (IRLS).

The update θ ← θ − H⁻¹∇ℓ is written with ``np.linalg.pinv`` (course code;
the pseudo-inverse also gives a step when H is singular, the minimum-norm
one), ``np.linalg.lstsq``, a Cholesky solve (``scipy.linalg.cho_solve``:
logistic regression's Hessian XᵀSX is positive definite, and the
factorisation raises on any other), or ``np.linalg.inv`` on column vectors
(deeplearning.ai / CS229 shapes: θ of shape (n, 1)). The wrapper only
dispatches the protocol's 1-D call (floats) and n-D call (arrays), as in
tests/realworld/newton/textbooks.py. The slips: a ridge λI added to H "for
stability" (λ = 1e-3), the update written in place on the caller's array,
"ascent" written as θ + H⁻¹∇, and |H| (eigenvalues made positive) taken for
Newton's H.
"""

import numpy as np
import scipy.linalg

from tests.realworld.corpus import buggy, correct


def protocol(n_d):
    """The user's wrapper: step(w, grad, hess, lr) with the n-D update applied to 1 × 1 Hessians in 1-D."""
    def step(w, grad, hess, lr):
        if np.ndim(w) == 0:
            return float(n_d(np.array([w]), np.array([grad]), np.array([[hess]]), lr)[0])
        return n_d(w, grad, hess, lr)
    step.__name__ = n_d.__name__
    return step


def newton_pinv(theta, grad, H, lr):
    return theta - lr * np.linalg.pinv(H).dot(grad)


def newton_lstsq(theta, grad, H, lr):
    delta, *_ = np.linalg.lstsq(H, grad, rcond=None)
    return theta - lr * delta


def newton_cholesky(theta, grad, H, lr):
    return theta - lr * scipy.linalg.cho_solve(scipy.linalg.cho_factor(H), grad)


def newton_columns(theta, grad, H, lr):
    theta, grad = theta.reshape(-1, 1), grad.reshape(-1, 1)      # (n, 1) column vectors
    theta = theta - lr * np.dot(np.linalg.inv(H), grad)
    return theta.ravel()


def _ridge_for_stability(theta, grad, H, lr):
    lambda_reg = 1e-3
    return theta - lr * np.linalg.solve(H + lambda_reg * np.eye(H.shape[0]), grad)


def _in_place(theta, grad, H, lr):
    theta -= lr * np.linalg.solve(H, grad)
    return theta


def _ascent_sign(theta, grad, H, lr):
    return theta + lr * np.linalg.solve(H, grad)


def _absolute_hessian(theta, grad, H, lr):
    lam, V = np.linalg.eigh(H)
    return theta - lr * V @ ((V.T @ grad) / np.abs(lam))


SRC = "logistic regression by Newton's method (IRLS) in course code: CS229 problem set 1, course notebooks"
CASES = [
    correct("logistic-newton-pinv", protocol(newton_pinv), "newton", SRC + ", np.linalg.pinv"),
    correct("logistic-newton-lstsq", protocol(newton_lstsq), "newton", SRC + ", np.linalg.lstsq"),
    correct("logistic-newton-cholesky", protocol(newton_cholesky), "newton", SRC + ", scipy.linalg.cho_solve"),
    correct("logistic-newton-column-vectors", protocol(newton_columns), "newton", SRC + ", (n, 1) columns and inv"),
    buggy("logistic-newton-ridge", protocol(_ridge_for_stability), "newton", SRC,
          "H + 1e-3·I 'for stability': not Newton's step", {"step-vs-symbolic-nd", "exact-on-quadratic"},
          "ridge (Levenberg–Marquardt) term"),
    buggy("logistic-newton-in-place", protocol(_in_place), "newton", SRC,
          "theta -= ... updates the caller's array", {"hygiene"}, "modified"),
    buggy("logistic-newton-ascent-sign", protocol(_ascent_sign), "newton", SRC,
          "θ + H⁻¹∇: 'ascent' on a function being minimised", {"step-vs-symbolic-nd"}, "wrong sign"),
    buggy("logistic-newton-absolute-hessian", protocol(_absolute_hessian), "newton", SRC,
          "eigenvalues of H made positive: a saddle-free step, not Newton's", {"step-vs-symbolic-1d"}, "|E''|"),
]
