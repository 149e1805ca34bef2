"""Newton's method as textbooks and course code write it.

* 1-D (Nocedal & Wright §3.3; any numerical-methods course): ``x - f1(x) / f2(x)``.
* n-D with ``np.linalg.solve`` (Boyd & Vandenberghe §9.5: Δx = −∇²f⁻¹∇f),
  damped by a step size, as statsmodels' ``_fit_newton`` loop does with
  ``ridge_factor = 0``.
* n-D with ``np.linalg.inv`` (many course notebooks).

The wrapper dispatches the protocol's scalar (1-D) and array (n-D) calls. The
buggy variants are the usual slips.
"""

import numpy as np

from tests.realworld.corpus import buggy, correct


def newton_1d(x, f1, f2):
    return x - f1 / f2


def newton_nd_solve(x, g, H, t=1.0):
    return x - t * np.linalg.solve(H, g)


def newton_nd_inv(x, g, H, t=1.0):
    return x - t * np.linalg.inv(H).dot(g)


def protocol(one_d, n_d):
    """The user's wrapper: step(w, grad, hess, lr) for floats (1-D) and arrays (n-D)."""
    def step(w, grad, hess, lr):
        if np.ndim(w) == 0:
            return w + lr * (one_d(w, grad, hess) - w)
        return n_d(w, grad, hess, lr)
    return step


def _diagonal_only(x, g, H, t=1.0):
    return x - t * g / np.diag(H)


def _multiplies_by_hessian(x, g, H, t=1.0):
    return x - t * H @ g


def _ignores_damping(x, g, H, t=1.0):
    return x - np.linalg.solve(H, g)


def _ratio_inverted(x, f1, f2):
    return x - f2 / f1


SRC = "Nocedal & Wright §3.3; Boyd & Vandenberghe §9.5; statsmodels base/optimizer.py _fit_newton"
CASES = [
    correct("newton-solve", protocol(newton_1d, newton_nd_solve), "newton", SRC),
    correct("newton-inv", protocol(newton_1d, newton_nd_inv), "newton", SRC + " (np.linalg.inv)"),
    buggy("newton-diagonal-hessian", protocol(newton_1d, _diagonal_only), "newton", SRC,
          "divides by diag(H): only the Hessian's diagonal", {"step-vs-symbolic-nd"}, "only the diagonal of H"),
    buggy("newton-multiplies-by-hessian", protocol(newton_1d, _multiplies_by_hessian), "newton", SRC,
          "H·g instead of H⁻¹g", {"step-vs-symbolic-nd"}, "H multiplies instead of solving"),
    buggy("newton-ignores-damping", protocol(newton_1d, _ignores_damping), "newton", SRC,
          "the step size is not applied in n-D", {"step-vs-symbolic-nd"}, "damping η is ignored"),
    buggy("newton-ratio-inverted", protocol(_ratio_inverted, newton_nd_solve), "newton", SRC,
          "E''/E' instead of E'/E''", {"exact-on-quadratic"}, "ratio is inverted"),
]
