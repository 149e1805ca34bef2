"""The gradient checker's trust decisions are fail-closed (issue 14).

One section per failure class the issue found. Each holds a correct gradient
that must not FAIL and a wrong one that must not PASS, for ``check_grad`` and
``check_vjp``, at sizes from 1 to 1e5. Gradients are derived by hand here
(the zoo's are checked against ``jax.grad`` in ``test_gradzoo.py``).
Evaluation counts come from a wrapper around ``f``, never from the clock.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from verify.gradcheck import (InconclusiveGradCheck, assert_grad, assert_vjp, check_grad, check_vjp)
from verify.gradcheck._noise import measure_noise
from verify.gradcheck._steps import central_window
from verify.results import Status


class Counted:
    """Counts calls of f independently of the checker."""

    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, x):
        self.calls += 1
        return self.f(x)


# ---------------------------------------------------------------------------
# 1. analyticity decided on one Rademacher probe: np.var / np.std / np.abs /
#    np.linalg.norm return real values for complex input


def bn_loss(C, eps=1e-5):
    """``sum(C * (x - mean) / sqrt(var + eps))`` through np.var (the issue's batch-norm loss)."""
    def f(x):
        return np.sum(C * (x - x.mean()) / np.sqrt(np.var(x) + eps))

    def grad(x, var_path=True):
        s = np.sqrt(np.var(x) + eps)
        xh = (x - x.mean()) / s
        g = C - C.mean()
        if var_path:
            g = g - xh * np.mean(C * xh)
        return g / s

    return f, grad, (lambda x: grad(x, var_path=False))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 16, 300])
def test_batchnorm_loss_through_np_var_passes_and_a_forgotten_variance_path_fails(n):
    # at n <= 3 the old single Rademacher probe was a pure shift, along which
    # np.var's dropped derivative is exactly 0: the right gradient was
    # rejected and the one forgetting the variance path passed
    rng = np.random.default_rng(n)
    C, x = rng.standard_normal(n), rng.standard_normal(n) * 2 + 1
    f, grad, forgot = bn_loss(C)
    right = check_grad(f, grad, x)
    assert right.passed, str(right)
    if n >= 2:  # at n = 1 the variance path is identically 0
        wrong = check_grad(f, forgot, x)
        assert wrong.failed, str(wrong)


def test_batchnorm_loss_at_1e5_within_the_central_difference_budget():
    rng = np.random.default_rng(0)
    B, C = 64, 1563
    W, X = rng.standard_normal((B, C)), rng.standard_normal((B, C)) * 2 + 1

    def f(x):
        Xr = x.reshape(B, C)
        return np.sum(W * (Xr - Xr.mean(axis=0)) / np.sqrt(np.var(Xr, axis=0) + 1e-5))

    def grad(x, var_path=True):
        Xr = x.reshape(B, C)
        inv = 1 / np.sqrt(np.var(Xr, axis=0) + 1e-5)
        xh = (Xr - Xr.mean(axis=0)) * inv
        g = W - W.mean(axis=0) - (xh * (W * xh).mean(axis=0) if var_path else 0.0)
        return (g * inv).ravel()

    counted = Counted(f)
    right = check_grad(counted, grad, X.ravel())
    assert right.passed and right.method == "central differences", str(right)
    assert right.n_evals == counted.calls <= 128
    assert check_grad(f, lambda x: grad(x, var_path=False), X.ravel()).failed


def test_elastic_net_at_n2_no_false_alarm_and_a_forgotten_l1_term_always_caught():
    # before: 18 of 40 random points falsely rejected, the forgotten term passed
    rng = np.random.default_rng(1)
    A, b = rng.standard_normal((5, 2)), rng.standard_normal(5)
    f = lambda w: 0.5 * np.sum((A @ w - b) ** 2) + 0.1 * np.linalg.norm(w, 1) + 0.05 * np.linalg.norm(w) ** 2  # noqa: E731
    g = lambda w: A.T @ (A @ w - b) + 0.1 * np.sign(w) + 0.1 * w  # noqa: E731
    forgot = lambda w: A.T @ (A @ w - b) + 0.1 * w  # noqa: E731
    statuses, caught = [], 0
    for _ in range(40):
        w = rng.standard_normal(2)
        statuses.append(check_grad(f, g, w).status)
        caught += check_grad(f, forgot, w).failed
    assert statuses.count(Status.FAIL) == 0
    assert statuses.count(Status.PASS) == 40
    assert caught == 40


@pytest.mark.parametrize("n", [2, 3, 40])
def test_layernorm_through_np_std_and_cosine_through_np_linalg_norm(n):
    rng = np.random.default_rng(n)
    C, x, a = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(n)

    def ln(x):
        return np.sum(C * (x - x.mean()) / (np.std(x) + 1e-5))

    def ln_grad(x, std_path=True):
        sd = np.std(x)
        s, xc = sd + 1e-5, x - x.mean()
        g = (C - C.mean()) / s
        return g - (np.sum(C * xc) * xc / (s**2 * n * sd) if std_path else 0.0)

    assert check_grad(ln, ln_grad, x).passed
    assert check_grad(ln, lambda x: ln_grad(x, std_path=False), x).failed

    cos = lambda w: a @ w / np.linalg.norm(w)  # noqa: E731
    cos_grad = lambda w: a / np.linalg.norm(w) - (a @ w) * w / np.linalg.norm(w) ** 3  # noqa: E731
    assert check_grad(cos, cos_grad, x).passed
    assert check_grad(cos, lambda w: a / np.linalg.norm(w), x).failed


@pytest.mark.parametrize("B, C", [(3, 1), (4, 3), (32, 40), (64, 200)])
def test_check_vjp_batchnorm_layer_through_np_var(B, C):
    rng = np.random.default_rng(B * C)
    X = rng.standard_normal((B, C)) * 3 + 1

    def forward(x):
        return (x - x.mean(axis=0)) / np.sqrt(np.var(x, axis=0) + 1e-5)

    def vjp(x, dy, var_path=True):
        inv = 1 / np.sqrt(np.var(x, axis=0) + 1e-5)
        xh = (x - x.mean(axis=0)) * inv
        dx = dy - dy.mean(axis=0) - (xh * (dy * xh).mean(axis=0) if var_path else 0.0)
        return dx * inv

    assert check_vjp(forward, vjp, X).passed
    assert check_vjp(forward, lambda x, dy: vjp(x, dy, var_path=False), X).failed


def test_a_gaussian_combination_verifies_the_complex_step_along_every_direction():
    # x / ||x||: np.linalg.norm drops its derivative, but the forgotten term
    # is orthogonal to many directions; the combination sees it anyway
    x = np.array([1.0, -2.0, 0.5])
    f = lambda v: v / np.linalg.norm(v)  # noqa: E731

    def vjp(v, dy):
        nv = np.linalg.norm(v)
        y = v / nv
        return (dy - (y @ dy) * y) / nv

    right = check_vjp(f, vjp, x)
    assert right.passed and right.method == "central differences", str(right)
    assert any("not analytic" in note for note in right.notes)
    assert check_vjp(f, lambda v, dy: dy / np.linalg.norm(v), x).failed


# ---------------------------------------------------------------------------
# 2. a failed cross-check retried with a widened bar: np.abs with exact zeros


@pytest.mark.parametrize("n", [3, 60, 300])
def test_lasso_at_exact_zeros(n):
    rng = np.random.default_rng(n)
    A, b = rng.standard_normal((n + 5, n)), rng.standard_normal(n + 5)
    w = rng.standard_normal(n)
    w[::3] = 0.0
    f = lambda w: 0.5 * np.sum((A @ w - b) ** 2) + 0.1 * np.sum(np.abs(w))  # noqa: E731
    g = lambda w: A.T @ (A @ w - b) + 0.1 * np.sign(w)  # noqa: E731
    right = check_grad(f, g, w)
    assert right.passed, str(right)
    assert right.method == "central differences"
    assert "non-differentiable" in right.diagnosis
    forgot = check_grad(f, lambda w: A.T @ (A @ w - b), w)
    assert forgot.failed, str(forgot)


def test_the_complex_step_is_never_accepted_after_widening_the_reference():
    # abs(x)**3 at exact zeros: the complex step returns 0 through np.abs;
    # the check falls back to central differences instead of re-trying with
    # a noise estimate that a kink inflates
    x = np.array([0.0, 1.5, -2.0, 0.0, 0.3])
    f = lambda x: np.sum(np.abs(x) ** 3) + np.sum(x**2)  # noqa: E731
    r = check_grad(f, lambda x: 3 * x * np.abs(x) + 2 * x, x)
    assert r.passed and r.method == "central differences", str(r)
    assert check_grad(f, lambda x: 3 * x * np.abs(x), x).failed


# ---------------------------------------------------------------------------
# 3. noise in f: the complex step's own noise is measured by repeating it


@pytest.mark.parametrize("n", [1, 100, 100_000])
def test_relative_noise_of_1e_11_is_no_false_alarm(n):
    rng = np.random.default_rng(n)
    c, x = rng.standard_normal(n), rng.standard_normal(n)
    noise = np.random.default_rng(n + 1)
    f = lambda x: np.sum(c * np.sin(x)) * (1 + 1e-11 * noise.standard_normal())  # noqa: E731
    g = lambda x: c * np.cos(x)  # noqa: E731
    right = check_grad(f, g, x)
    assert not right.failed, str(right)
    assert right.passed, str(right)
    assert check_grad(f, lambda x: g(x) * (1 + 1e-5), x).failed


# ---------------------------------------------------------------------------
# 4. float32 arithmetic inside f with float64 x and a float64 value


def float32_inside(c):
    def f(x):
        return float(np.sum(c.astype(np.float32) * np.sin(x.astype(np.float32))))
    return f


def test_noise_samples_without_variation_are_measured_again_coarser():
    f = float32_inside(np.ones(50))
    x = np.linspace(1.0, 2.0, 50)
    u = np.random.default_rng(0).standard_normal(50)
    nz = measure_noise(lambda p: np.array([f(p)]), x, u, [2.0**-26 * 1.5, 2.0**-18 * 1.5, 2.0**-10 * 1.5])
    assert nz.resolved and nz.spacing > 2.0**-26 * 1.5
    # float32 rounding of a sum of 50 terms near 45: ~1e-6, far above float64 rounding
    assert 1e-8 < nz.sigma[0] < 1e-4


@pytest.mark.parametrize("n", [1, 4, 300])
def test_float32_inside_f_is_detected_from_its_values(n):
    rng = np.random.default_rng(n)
    c, x = rng.standard_normal(n), rng.standard_normal(n)
    f = float32_inside(c)
    g = lambda x: c * np.cos(x)  # noqa: E731
    default = check_grad(f, g, x)
    # before: noise measured as 0, a 1e-10 bar against a 4e-4 error
    assert not default.failed, str(default)
    assert default.inconclusive and "resolution=" in default.reason
    assert any("float32" in note for note in default.notes)
    # resolution is per entry: float32 differences resolve ~1e-4 of the
    # gradient along a probe, ~1e-4 sqrt(n) of one entry
    assert check_grad(f, g, x, resolution=0.5).passed
    assert check_grad(f, lambda x: g(x) * 1.05, x).failed
    assert check_grad(f, lambda x: g(x) * 1.05, x, resolution=0.5).failed


# ---------------------------------------------------------------------------
# 5. piecewise-smooth f on the central-difference path


def piecewise(name, c, t):
    if name == "huber":
        return (lambda x: np.sum(c * np.where(np.abs(x - t) <= 1, 0.5 * (x - t) ** 2, np.abs(x - t) - 0.5)),
                lambda x: c * np.clip(x - t, -1, 1))
    if name == "abs-cubed":
        return lambda x: np.sum(c * np.abs(x) ** 3), lambda x: 3 * c * x * np.abs(x)
    if name == "relu-squared":
        return lambda x: np.sum(c * np.maximum(x - t, 0) ** 2), lambda x: 2 * c * np.maximum(x - t, 0)
    if name == "hinge":
        return (lambda x: np.sum(c * np.maximum(0.0, 1.0 - 3 * t * x)),
                lambda x: -3 * c * t * (1.0 - 3 * t * x > 0))
    if name == "smooth-l1":
        return (lambda x: np.sum(c * np.where(np.abs(x - t) < 1, 0.5 * (x - t) ** 2, np.abs(x - t) - 0.5)),
                lambda x: c * np.where(np.abs(x - t) < 1, x - t, np.sign(x - t)))
    raise ValueError(name)


@pytest.mark.parametrize("name", ["huber", "abs-cubed", "relu-squared", "hinge", "smooth-l1"])
@pytest.mark.parametrize("n", [1, 7, 2000, 100_000])
def test_piecewise_smooth_functions_are_never_falsely_rejected(name, n):
    rng = np.random.default_rng(n)
    c, t, x = rng.uniform(0.5, 2, n), rng.standard_normal(n) * 0.3, rng.standard_normal(n)
    f, g = piecewise(name, c, t)
    counted = Counted(f)
    right = check_grad(counted, g, x, complex_step=False)
    assert not right.failed, str(right)
    assert right.n_evals == counted.calls
    if right.mode == "directional":   # full mode (n <= 16) differences every coordinate
        assert right.n_evals <= 128
    wrong = check_grad(f, lambda x: g(x) * 1.01, x, complex_step=False)
    if np.any(g(x)):
        assert wrong.failed, str(wrong)


def test_a_breakpoint_inside_the_stencil_makes_the_window_untrusted():
    # Huber's second derivative jumps at |r| = 1; the point is 1e-3 from it
    f = lambda p: np.array([np.where(abs(p[0]) <= 1, 0.5 * p[0] ** 2, abs(p[0]) - 0.5)])  # noqa: E731
    x, d = np.array([0.999]), np.array([1.0])
    eps = float(np.finfo(float).eps)
    across = central_window(f, x, d, 0.01, eps, phi0=f(x))
    inside = central_window(f, x, d, 1e-4, eps, phi0=f(x))
    assert not across.trusted and not across.sharp
    assert inside.trusted


# ---------------------------------------------------------------------------
# 6. budgets at n = 1e5 (counted by a wrapper)


def test_budgets_at_1e5_per_path():
    rng = np.random.default_rng(6)
    n = 100_000
    a, x = rng.standard_normal(n), rng.standard_normal(n)
    # the softplus loss: np.logaddexp refuses complex input -> central differences
    f_cd = lambda x: np.sum(np.logaddexp(0.0, a * x))  # noqa: E731
    # the same loss written with log1p(exp): analytic -> complex step
    f_cs = lambda x: np.sum(np.log1p(np.exp(a * x)))  # noqa: E731
    g = lambda x: a / (1 + np.exp(-a * x))  # noqa: E731

    def one_wrong(x):
        out = g(x)
        out[4242] += 1e-5 * max(abs(out[4242]), np.linalg.norm(out) / np.sqrt(n))
        return out

    for f, method in ((f_cs, "complex step"), (f_cd, "central differences")):
        budget = 64 if method == "complex step" else 128
        counted = Counted(f)
        right = check_grad(counted, g, x)
        assert right.passed and right.method == method, str(right)
        assert right.n_evals == counted.calls <= budget
        counted = Counted(f)
        bad = check_grad(counted, one_wrong, x)
        assert bad.failed and bad.wrong_indices == ((4242,),), str(bad)
        assert bad.n_evals == counted.calls <= right.n_evals + 64


# ---------------------------------------------------------------------------
# 7. the inconclusive status


def test_inconclusive_is_neither_pass_nor_fail_and_says_why():
    c = np.random.default_rng(7).standard_normal(30)
    r = check_grad(float32_inside(c), lambda x: c * np.cos(x), np.linspace(-1, 1, 30))
    assert r.status == Status.INCONCLUSIVE and r.inconclusive
    assert not r.passed and not r.failed and not bool(r)
    assert r.reason and "Try:" in r.reason
    assert "check_grad INCONCLUSIVE" in str(r) and f"Inconclusive: {r.reason}" in str(r)
    d = r.to_dict()
    assert d["status"] == "inconclusive" and d["reason"] == r.reason


def test_assert_grad_warns_on_inconclusive_and_raises_only_when_asked():
    c = np.random.default_rng(8).standard_normal(30)
    f, g, x = float32_inside(c), (lambda x: c * np.cos(x)), np.linspace(-1, 1, 30)
    with pytest.warns(InconclusiveGradCheck, match="inconclusive"):
        assert assert_grad(f, g, x).inconclusive
    with pytest.raises(AssertionError, match="INCONCLUSIVE"):
        assert_grad(f, g, x, allow_inconclusive=False)
    with pytest.raises(AssertionError, match="FAILED"):
        assert_grad(f, lambda x: 2 * g(x), x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert assert_vjp(np.sin, lambda x, dy: dy * np.cos(x), np.linspace(0, 1, 5)).passed


# ---------------------------------------------------------------------------
# 8. a diagnosis names only patterns that are in the numbers


def test_no_constant_factor_1_and_no_dense_noise_without_evidence():
    rng = np.random.default_rng(9)
    c, x = rng.standard_normal(3000), rng.standard_normal(3000)
    f = lambda x: np.sum(c * np.sin(x))  # noqa: E731
    g = lambda x: c * np.cos(x)  # noqa: E731
    for delta in (1e-6, 1e-9):
        r = check_grad(f, lambda x: g(x) * (1 + delta), x)
        assert r.failed
        assert "factor 1:" not in r.diagnosis and "factor 1 " not in r.diagnosis, r.diagnosis
        assert r.diagnosis.startswith("off by a constant factor 1.0"), r.diagnosis
    dense = check_grad(f, lambda x: g(x) + 1e-6 * rng.standard_normal(3000), x)
    assert dense.diagnosis.startswith("dense noise")


# ---------------------------------------------------------------------------
# 9. the specs that call the checker report an inconclusive check as such


class Float32L2:
    """An L2 regulariser whose penalty is computed in float32 (returned as a Python float)."""

    @staticmethod
    def penalty(w, lam):
        return float(np.float32(lam) * np.sum(np.asarray(w, dtype=np.float32) ** 2))

    @staticmethod
    def grad(w, lam):
        return 2 * lam * np.asarray(w)


def test_a_spec_maps_an_inconclusive_gradient_check_to_inconclusive():
    from verify import check_conforms

    run = check_conforms(Float32L2, "l2", checks="penalty-gradient-consistency")
    (result,) = run.checks
    assert result.status == Status.INCONCLUSIVE, result.message
    assert "resolution=" in result.message
