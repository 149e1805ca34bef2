"""Tests of the finite-difference gradient checker (``verify.gradcheck``).

Every gradient used as "correct" here is derived by hand in this file and
cross-checked against sympy (``test_reference_gradients_match_sympy``); no
expected value is taken from the checker itself.

"Relative delta" means (and the benchmark uses the same definitions):

* scaled: ``g (1 + delta)``;
* one entry: ``g_i += delta * max(|g_i|, ||g|| / sqrt(n))`` -- relative to the
  entry's natural scale, floored at the typical entry size;
* dense noise: ``g + delta * (||g|| / sqrt(n)) * xi``, ``xi ~ N(0, 1)``, so
  ``||error|| ~ delta ||g||``.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.gradcheck import (EntryError, GradCheckResult, assert_grad, assert_vjp, check_grad,
                              check_vjp, error_vs_step)

DELTA = 1e-8


# ---------------------------------------------------------------------------
# test functions with hand-derived gradients


def logsumexp(x):
    m = np.max(x.real)
    return m + np.log(np.sum(np.exp(x - m)))


def logsumexp_grad(x):
    e = np.exp(x - np.max(x))
    return e / e.sum()


def _softplus(z):
    # log(1 + e^z), stable for both signs, and analytic (complex-step friendly)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(z.real > 0, z + np.log1p(np.exp(-z)), np.log1p(np.exp(z)))


def make_logistic(n, rng, samples=16):
    """Mean logistic loss ``mean_b log(1 + exp(-y_b a_b.w))``; gradient ``-A^T (y sigma(-m)) / B``."""
    A = rng.standard_normal((samples, n)) / np.sqrt(n)
    y = rng.choice([-1.0, 1.0], samples)

    def f(w):
        return np.mean(_softplus(-y * (A @ w)))

    def grad(w):
        m = y * (A @ w)
        sig_neg = 0.5 * (1.0 - np.tanh(m / 2.0))  # sigma(-m)
        return -(A.T @ (y * sig_neg)) / samples

    return f, grad


def make_quadratic(n, rng):
    """``0.5 x^T (D + U U^T) x + b^T x``; gradient ``(D + U U^T) x + b``."""
    D = rng.uniform(0.5, 2.0, n)
    U = rng.standard_normal((n, 3)) / np.sqrt(n)
    b = rng.standard_normal(n)

    def f(x):
        return 0.5 * np.sum(D * x * x) + 0.5 * np.sum((U.T @ x) ** 2) + b @ x

    def grad(x):
        return D * x + U @ (U.T @ x) + b

    return f, grad


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_grad(x):
    g = np.zeros_like(x)
    t = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * t - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * t
    return g


def make_mlp(n, rng, batch=6):
    """One-hidden-layer tanh network, parameters ``(w1, b1, w2)`` of ``n // 3`` units each."""
    hidden = max(1, n // 3)
    xs, ts = rng.standard_normal(batch), rng.standard_normal(batch)

    def f(theta):
        w1, b1, w2 = theta[:hidden], theta[hidden:2 * hidden], theta[2 * hidden:]
        h = np.tanh(np.outer(xs, w1) + b1)
        return 0.5 * np.mean((h @ w2 - ts) ** 2)

    def grad(theta):
        w1, b1, w2 = theta[:hidden], theta[hidden:2 * hidden], theta[2 * hidden:]
        h = np.tanh(np.outer(xs, w1) + b1)
        r = (h @ w2 - ts) / batch
        dz = np.outer(r, w2) * (1.0 - h**2)
        return np.concatenate([xs @ dz, dz.sum(axis=0), h.T @ r])

    return f, grad, 3 * hidden


def batchnorm_forward(x, eps=1e-5):
    """Textbook batch normalisation over axis 0: ``(x - mean) / sqrt(var + eps)``."""
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    return (x - mu) / np.sqrt(var + eps)


def batchnorm_backward(x, dy, eps=1e-5):
    """Textbook backward (Ioffe & Szegedy 2015): ``(1/B) inv (B dy - sum dy - y sum(dy y))``."""
    batch = x.shape[0]
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    inv = 1.0 / np.sqrt(var + eps)
    y = (x - mu) * inv
    return inv / batch * (batch * dy - dy.sum(axis=0) - y * (dy * y).sum(axis=0))


def make_batchnorm_loss(n, rng, batch=8):
    """``sum(W * bn(X))`` over a ``(batch, n // batch)`` input, flattened."""
    channels = max(1, n // batch)
    W = rng.standard_normal((batch, channels))

    def f(xf):
        return np.sum(W * batchnorm_forward(xf.reshape(batch, channels)))

    def grad(xf):
        return batchnorm_backward(xf.reshape(batch, channels), W).ravel()

    return f, grad, batch * channels


FAMILIES = ("logsumexp", "logistic", "quadratic", "rosenbrock", "mlp", "batchnorm")


def make(family, n, rng):
    """``(f, grad, size)`` for one of the benchmark families."""
    if family == "logsumexp":
        return logsumexp, logsumexp_grad, n
    if family == "logistic":
        return (*make_logistic(n, rng), n)
    if family == "quadratic":
        return (*make_quadratic(n, rng), n)
    if family == "rosenbrock":
        return rosenbrock, rosenbrock_grad, max(n, 2)
    if family == "mlp":
        return make_mlp(n, rng)
    return make_batchnorm_loss(n, rng)


def point(family, size, scale, rng):
    x = rng.standard_normal(size) * scale
    return x + 1.0 if family == "rosenbrock" else x


def wrong(grad, kind, delta=DELTA, index=None, seed=0):
    """``grad`` made wrong by a relative ``delta`` of the given kind (see module docstring)."""
    def g(x):
        true = np.array(grad(x), dtype=np.float64)
        n = true.size
        typical = np.linalg.norm(true) / np.sqrt(n)
        if kind == "scaled":
            return true * (1.0 + delta)
        if kind == "one":
            i = n // 2 if index is None else index
            out = true.copy()
            out.flat[i] += delta * max(abs(true.flat[i]), typical)
            return out
        if kind == "dense":
            return true + delta * typical * np.random.default_rng(seed).standard_normal(true.shape)
        raise ValueError(kind)
    return g


class Counted:
    """A wrapper that counts calls of ``f`` independently of the checker."""

    def __init__(self, f):
        self.f = f
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return self.f(x)


# ---------------------------------------------------------------------------
# the reference gradients are right (independent source: sympy)


def test_reference_gradients_match_sympy():
    rng = np.random.default_rng(0)
    n = 4
    xs = sp.symbols(f"x0:{n}")
    vec = sp.Matrix(xs)
    x = rng.standard_normal(n)
    subs = dict(zip(xs, x))

    def sym_grad(expr):
        return np.array([float(sp.diff(expr, v).subs(subs)) for v in xs])

    rosen = sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(n - 1))
    np.testing.assert_allclose(rosenbrock_grad(x), sym_grad(rosen), rtol=1e-13)

    lse = sp.log(sum(sp.exp(v) for v in xs))
    np.testing.assert_allclose(logsumexp_grad(x), sym_grad(lse), rtol=1e-13)

    f, g = make_logistic(n, np.random.default_rng(1), samples=3)
    r = np.random.default_rng(1)
    A = r.standard_normal((3, n)) / np.sqrt(n)
    y = r.choice([-1.0, 1.0], 3)
    logistic = sum(sp.log(1 + sp.exp(-y[b] * (sp.Matrix(A[b]).T * vec)[0])) for b in range(3)) / 3
    np.testing.assert_allclose(g(x), sym_grad(logistic), rtol=1e-12)
    assert abs(f(x) - float(logistic.subs(subs))) < 1e-13

    # batch norm: B = 2, C = 2, loss = sum(W * bn(X))
    W = np.random.default_rng(2).standard_normal((2, 2))
    X = sp.Matrix(2, 2, xs)
    loss = 0
    for c in range(2):
        col = [X[b, c] for b in range(2)]
        mu = sum(col) / 2
        var = sum((v - mu) ** 2 for v in col) / 2
        loss += sum(W[b, c] * (col[b] - mu) / sp.sqrt(var + sp.Rational(1, 100000)) for b in range(2))
    got = batchnorm_backward(x.reshape(2, 2), W).ravel()
    np.testing.assert_allclose(got, sym_grad(loss), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------
# no false alarms


@settings(max_examples=300)
@given(family=st.sampled_from(FAMILIES), n=st.sampled_from([1, 2, 5, 16, 17, 60, 400]),
       log_scale=st.floats(-3.0, 3.0), seed=st.integers(0, 2**16))
def test_correct_gradients_pass_everywhere(family, n, log_scale, seed):
    rng = np.random.default_rng(seed)
    f, grad, size = make(family, n, rng)
    x = point(family, size, 10.0**log_scale, rng)
    with np.errstate(all="ignore"):
        if not (np.isfinite(f(x)) and np.all(np.isfinite(grad(x)))):
            return
    result = check_grad(f, grad, x, seed=seed)
    assert result.passed, str(result)
    assert result.diagnosis == "" or "non-differentiable" not in result.diagnosis


@settings(max_examples=80)
@given(family=st.sampled_from(FAMILIES), n=st.sampled_from([5, 60, 400]),
       log_scale=st.floats(-3.0, 3.0), seed=st.integers(0, 2**16))
def test_correct_gradients_pass_with_central_differences(family, n, log_scale, seed):
    rng = np.random.default_rng(seed)
    f, grad, size = make(family, n, rng)
    x = point(family, size, 10.0**log_scale, rng)
    with np.errstate(all="ignore"):
        if not (np.isfinite(f(x)) and np.all(np.isfinite(grad(x)))):
            return
    result = check_grad(f, grad, x, complex_step=False, seed=seed)
    assert result.passed, str(result)
    assert result.method == "central differences"
    assert not result.kinks, str(result)


# ---------------------------------------------------------------------------
# every kind of wrong gradient is caught at delta = 1e-8


@pytest.mark.parametrize("kind", ["scaled", "one", "dense"])
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("n", [6, 300])
def test_wrong_gradients_are_caught_at_1e_8(family, kind, n):
    rng = np.random.default_rng(zlib.crc32(repr((family, kind, n)).encode()))
    f, grad, size = make(family, n, rng)
    x = point(family, size, 1.0, rng)
    assert check_grad(f, grad, x).passed
    result = check_grad(f, wrong(grad, kind), x)
    assert not result.passed, str(result)


@settings(max_examples=80)
@given(family=st.sampled_from(FAMILIES), kind=st.sampled_from(["scaled", "one", "dense"]),
       log_scale=st.floats(-3.0, 3.0), seed=st.integers(0, 2**16))
def test_wrong_gradients_are_caught_across_scales(family, kind, log_scale, seed):
    rng = np.random.default_rng(seed)
    f, grad, size = make(family, 200, rng)
    x = point(family, size, 10.0**log_scale, rng)
    with np.errstate(all="ignore"):
        g = grad(x)
        if not (np.isfinite(f(x)) and np.all(np.isfinite(g))) or not np.any(g):
            return
    result = check_grad(f, wrong(grad, kind, seed=seed), x)
    assert not result.passed, str(result)


def test_caught_with_central_differences_at_moderate_size():
    # Without the complex step the error bars are ~1e-11 relative: delta =
    # 1e-8 still shows for scaled and dense errors and for one entry at n=300.
    rng = np.random.default_rng(3)
    f, grad = make_logistic(300, rng)
    x = rng.standard_normal(300)
    for kind in ("scaled", "one", "dense"):
        result = check_grad(f, wrong(grad, kind), x, complex_step=False)
        assert not result.passed, (kind, str(result))


# ---------------------------------------------------------------------------
# directional mode at n = 1e5: cost independent of n, localisation


def test_directional_mode_at_1e5_costs_at_most_64_evaluations_and_names_the_entry():
    # budget (docs/gradcheck.md): <= 64 evaluations for a correct gradient on
    # the complex-step path, localising one wrong entry <= 64 more
    rng = np.random.default_rng(4)
    n = 100_000
    f, grad = make_quadratic(n, rng)
    x = rng.standard_normal(n)
    counted = Counted(f)
    ok = check_grad(counted, grad, x)
    assert ok.passed and ok.mode == "directional" and ok.method == "complex step"
    assert ok.n_evals == counted.calls <= 64

    counted = Counted(f)
    bad = check_grad(counted, wrong(grad, "one", index=77_777), x)
    assert bad.failed
    assert bad.n_evals == counted.calls <= ok.n_evals + 64
    assert bad.wrong_indices == ((77_777,),)
    assert "a few wrong entries at indices [77777]" in bad.diagnosis
    assert bad.worst[0].index == (77_777,)
    g = grad(x)
    expected_error = DELTA * max(abs(g[77_777]), np.linalg.norm(g) / np.sqrt(n))
    assert bad.worst[0].abs_error == pytest.approx(expected_error, rel=1e-3)


def test_localisation_finds_up_to_four_entries_and_says_when_there_are_more():
    rng = np.random.default_rng(5)
    c = rng.standard_normal(3000)
    f = lambda x: np.sum(c * np.sin(x))  # noqa: E731
    x = rng.standard_normal(3000)
    for k in (1, 2, 4):
        idx = sorted(rng.choice(3000, k, replace=False).tolist())

        def g(x, idx=idx):
            out = c * np.cos(x)
            out[idx] += 1e-7
            return out

        result = check_grad(f, g, x)
        assert sorted(i[0] for i in result.wrong_indices) == idx, str(result)
        assert "a few wrong entries at indices" in result.diagnosis

    def g_many(x):
        out = c * np.cos(x)
        out[::300] += 1e-7  # ten entries
        return out

    result = check_grad(f, g_many, x)
    assert not result.passed
    assert "more than 4 wrong entries" in result.diagnosis
    assert "too many to localise cheaply" in result.diagnosis


def test_dense_noise_is_called_dense():
    rng = np.random.default_rng(6)
    f, grad = make_logistic(2000, rng)
    x = rng.standard_normal(2000)
    result = check_grad(f, wrong(grad, "dense", delta=1e-6), x)
    assert not result.passed
    assert result.diagnosis.startswith("dense noise")


# ---------------------------------------------------------------------------
# diagnosis


@pytest.mark.parametrize("n", [4, 500])
def test_diagnosis_names_a_missing_factor_of_two(n):
    # weight decay: d/dw (lam/2 ||w||^2 * 2) = 2 lam w, implemented as lam w
    lam = 0.01
    w = np.random.default_rng(7).standard_normal(n)
    result = check_grad(lambda w: lam * np.sum(w**2), lambda w: lam * w, w)
    assert not result.passed
    assert "missing factor 2" in result.diagnosis
    assert "off by a constant factor 0.5" in result.diagnosis


@pytest.mark.parametrize("n", [4, 500])
def test_diagnosis_names_a_constant_factor_two(n):
    w = np.random.default_rng(8).standard_normal(n)
    result = check_grad(lambda w: np.sum(w**2), lambda w: 4.0 * w, w)
    assert "off by a constant factor 2" in result.diagnosis


@pytest.mark.parametrize("n", [4, 500])
def test_diagnosis_names_a_sign_flip(n):
    f, grad = make_quadratic(n, np.random.default_rng(9))
    x = np.random.default_rng(10).standard_normal(n)
    result = check_grad(f, lambda x: -grad(x), x)
    assert not result.passed
    assert result.diagnosis.startswith("sign flip")


@pytest.mark.parametrize("n", [4, 500])
def test_diagnosis_names_zero_where_non_zero(n):
    x = np.random.default_rng(11).standard_normal(n)
    result = check_grad(logsumexp, np.zeros_like, x)
    assert "zero where non-zero" in result.diagnosis
    x = np.random.default_rng(11).standard_normal(n)

    def dropped(x):
        g = logsumexp_grad(x)
        g[1] = 0.0
        return g

    result = check_grad(logsumexp, dropped, x)
    assert "zero where non-zero at indices [1]" in result.diagnosis


@pytest.mark.parametrize("k", [3, 40])
def test_diagnosis_names_a_transposed_gradient(k):
    rng = np.random.default_rng(12)
    A = rng.standard_normal((k, k))
    X = rng.standard_normal((k, k))
    # f(X) = tr(A X^2 ...) -> use an entrywise-weighted square: grad = 2 A * X (not symmetric)
    result = check_grad(lambda X: np.sum(A * X**2), lambda X: (2 * A * X).T, X)
    assert not result.passed
    assert "permuted/transposed entries" in result.diagnosis
    assert "numeric.T" in result.diagnosis


def test_diagnosis_names_permuted_entries():
    rng = np.random.default_rng(13)
    c = rng.standard_normal(2000)
    x = rng.standard_normal(2000)

    def swapped(x):
        g = c * np.cos(x)
        g[[10, 1500]] = g[[1500, 10]]
        return g

    result = check_grad(lambda x: np.sum(c * np.sin(x)), swapped, x)
    assert "permuted/transposed entries" in result.diagnosis
    assert "[10, 1500]" in result.diagnosis
    small = check_grad(lambda x: np.sum(c[:5] * np.sin(x)), lambda x: (c[:5] * np.cos(x))[[1, 0, 2, 3, 4]],
                       x[:5])
    assert "permuted/transposed entries" in small.diagnosis


def test_diagnosis_lists_a_few_wrong_entries_in_full_mode():
    x = np.linspace(-1.0, 1.0, 10)

    def g(x):
        out = 3 * x**2
        out[[2, 7]] += 1e-6
        return out

    result = check_grad(lambda x: np.sum(x**3), g, x)
    assert result.diagnosis == "a few wrong entries at indices [2, 7]"
    assert [e.index for e in result.worst[:2]] == [(2,), (7,)] or [e.index for e in result.worst[:2]] == [(7,), (2,)]


# ---------------------------------------------------------------------------
# kinks


def test_abs_at_zero_is_a_reported_kink_not_a_failure():
    x = np.array([0.0, 1.5, -2.0])
    for sub in (0.0, 0.5, -1.0, 1.0):
        result = check_grad(lambda x: np.sum(np.abs(x)), lambda x, s=sub: np.where(x == 0, s, np.sign(x)), x)
        assert result.passed, str(result)
        assert "non-differentiable point at x[0]" in result.diagnosis
        kink = result.kinks[0]
        assert (kink.left, kink.right) == pytest.approx((-1.0, 1.0), abs=1e-8)


def test_subgradient_outside_the_one_sided_interval_fails_clearly():
    x = np.array([0.0, 1.5, -2.0])
    result = check_grad(lambda x: np.sum(np.abs(x)), lambda x: np.where(x == 0, 2.0, np.sign(x)), x)
    assert not result.passed
    assert "OUTSIDE" in result.diagnosis


def test_relu_at_zero_in_directional_mode():
    rng = np.random.default_rng(14)
    w = np.arange(1.0, 201.0)
    x = rng.standard_normal(200)
    x[[3, 50]] = 0.0
    f = lambda x: np.sum(w * np.maximum(x, 0.0))  # noqa: E731
    result = check_grad(f, lambda x: w * (x > 0), x)
    assert result.passed, str(result)
    assert result.mode == "directional"
    assert "non-differentiable point" in result.diagnosis
    assert "x is exactly 0 at indices [3, 50]" in result.diagnosis
    # relu'(0) = 1 is also a valid choice
    assert check_grad(f, lambda x: w * (x >= 0), x).passed
    # but 2 is not
    bad = check_grad(f, lambda x: w * np.where(x == 0, 2.0, x > 0), x)
    assert not bad.passed


# ---------------------------------------------------------------------------
# Taylor-remainder second opinion


def test_taylor_test_slope_two_when_right_one_when_wrong():
    x = np.random.default_rng(15).standard_normal(50)
    right = check_grad(logsumexp, logsumexp_grad, x)
    assert right.taylor.consistent is True
    assert right.taylor.slope == pytest.approx(2.0, abs=0.1)
    off = check_grad(logsumexp, lambda x: logsumexp_grad(x) * 1.01, x)
    assert off.taylor.consistent is False
    assert off.taylor.slope == pytest.approx(1.0, abs=0.1)


# ---------------------------------------------------------------------------
# evaluation counts are exact


@pytest.mark.parametrize("options", [
    {}, {"mode": "full"}, {"mode": "directional"}, {"complex_step": False},
    {"complex_step": False, "mode": "full"}, {"complex_step": True}, {"taylor": False},
    {"n_probes": 3}, {"probes": "gaussian"}, {"step": 1e-3, "complex_step": False},
])
@pytest.mark.parametrize("size", [7, 300])
def test_n_evals_is_exact(options, size):
    rng = np.random.default_rng(16)
    f, grad = make_logistic(size, rng)
    x = rng.standard_normal(size)
    for g in (grad, wrong(grad, "one", delta=1e-6), wrong(grad, "scaled", delta=1e-6)):
        counted = Counted(f)
        grads = Counted(g)
        result = check_grad(counted, grads, x, **options)
        assert result.n_evals == counted.calls
        assert result.n_grad_evals == grads.calls == 1


def test_n_evals_counts_the_failed_complex_and_float64_probes():
    rng = np.random.default_rng(17)
    c = rng.standard_normal(40).astype(np.float32)

    def float32_only(x):
        if x.dtype != np.float32:
            raise TypeError("float32 only")
        return np.sum(c * np.sin(x))

    counted = Counted(float32_only)
    x = rng.standard_normal(40).astype(np.float32)
    result = check_grad(counted, lambda x: c * np.cos(x), x, resolution=1e-2)
    assert result.passed
    assert result.n_evals == counted.calls


def test_n_evals_for_check_vjp_is_exact():
    rng = np.random.default_rng(18)
    x = rng.standard_normal((16, 8))
    counted = Counted(batchnorm_forward)
    calls = []

    def vjps(x, dy):
        calls.append(1)
        return batchnorm_backward(x, dy)

    result = check_vjp(counted, vjps, x)
    assert result.n_evals == counted.calls
    assert result.n_grad_evals == len(calls)


# ---------------------------------------------------------------------------
# complex step


def test_complex_step_is_used_when_f_is_analytic_and_not_otherwise():
    x = np.random.default_rng(19).standard_normal(30)
    assert check_grad(logsumexp, logsumexp_grad, x).method == "complex step"
    # abs() kills analyticity: the complex step would return 0, so it is refused
    f = lambda x: np.sum(np.abs(x) ** 3)  # noqa: E731
    result = check_grad(f, lambda x: 3 * x * np.abs(x), x)
    assert result.passed and result.method == "central differences"
    # float() rejects complex input: silent fallback
    result = check_grad(lambda x: float(np.sum(x**2)), lambda x: 2 * x, x)
    assert result.passed and result.method == "central differences"
    with pytest.raises(TypeError, match="complex"):
        check_grad(lambda x: float(np.sum(x**2)), lambda x: 2 * x, x, complex_step=True)


# ---------------------------------------------------------------------------
# float32


def test_float32_input_is_differenced_in_float64_when_f_allows_it():
    rng = np.random.default_rng(20)
    c = rng.standard_normal(100)
    x = rng.standard_normal(100).astype(np.float32)
    f = lambda x: np.sum(c * np.sin(x))  # noqa: E731
    result = check_grad(f, lambda x: (c * np.cos(x)).astype(np.float32), x)
    assert result.passed
    assert any("differences are taken in float64" in n for n in result.notes)
    # the analytic side is float32: relative 1e-3 is far beyond its rounding
    assert not check_grad(f, lambda x: (c * np.cos(x) * 1.001).astype(np.float32), x).passed


def test_float32_function_reports_the_attainable_precision():
    rng = np.random.default_rng(21)
    c = rng.standard_normal(100).astype(np.float32)
    x = rng.standard_normal(100).astype(np.float32)
    f = lambda x: np.sum(c * np.sin(np.asarray(x, np.float32)), dtype=np.float32)  # noqa: E731
    g = lambda x: (c * np.cos(x)).astype(np.float32)  # noqa: E731
    # float32 differences cannot see a 1e-6 error: by default that is inconclusive, and says what to try
    default = check_grad(f, g, x)
    assert default.inconclusive and not default.passed and not default.failed, str(default)
    assert "resolution=" in default.reason
    result = check_grad(f, g, x, resolution=1e-2)
    assert result.passed, str(result)
    assert result.method == "central differences"
    assert any("float32 function" in n for n in result.notes)
    assert any("gradients can be verified to ~" in n for n in result.notes)
    assert 1e-6 < result.attainable < 1e-2
    assert check_grad(f, lambda x: g(x) * 1.05, x, resolution=1e-2).failed
    assert check_grad(f, lambda x: g(x) * 1.05, x).failed


# ---------------------------------------------------------------------------
# check_vjp


@pytest.mark.parametrize("shape", [(4, 3), (32, 16), (64, 128)])
def test_batchnorm_backward_passes_check_vjp(shape):
    x = np.random.default_rng(22).standard_normal(shape) * 3.0 + 1.0
    result = check_vjp(batchnorm_forward, batchnorm_backward, x)
    assert result.passed, str(result)


@pytest.mark.parametrize("shape", [(4, 3), (32, 16)])
def test_batchnorm_backward_without_the_variance_path_fails(shape):
    def no_variance_path(x, dy, eps=1e-5):
        inv = 1.0 / np.sqrt(x.var(axis=0) + eps)
        return inv * (dy - dy.mean(axis=0))

    x = np.random.default_rng(23).standard_normal(shape)
    result = check_vjp(batchnorm_forward, no_variance_path, x)
    assert not result.passed
    with pytest.raises(AssertionError, match="check_vjp FAILED"):
        assert_vjp(batchnorm_forward, no_variance_path, x)


def test_check_vjp_names_one_wrong_jacobian_entry():
    rng = np.random.default_rng(24)
    A = rng.standard_normal((50, 40)) / np.sqrt(40)  # pre-activations ~ N(0, 1): tanh not saturated
    A_wrong = A.copy()
    A_wrong[7, 13] += 1e-7
    f = lambda v: np.tanh(A @ v)  # noqa: E731
    vjp = lambda v, dy: A_wrong.T @ (dy * (1 - np.tanh(A @ v) ** 2))  # noqa: E731
    v = rng.standard_normal(40)
    counted = Counted(f)
    result = check_vjp(counted, vjp, v)
    assert result.n_evals == counted.calls
    assert not result.passed
    assert result.wrong_indices == ((13,),)
    assert result.worst[0].index == (7, 13)
    expected = 1e-7 * (1 - np.tanh(A[7] @ v) ** 2)
    assert result.worst[0].abs_error == pytest.approx(expected, rel=1e-4)


def test_check_vjp_full_mode_compares_the_whole_jacobian():
    A = np.arange(6.0).reshape(3, 2)
    result = check_vjp(lambda v: A @ v, lambda v, dy: A.T @ dy, np.ones(2))
    assert result.passed and result.mode == "full"
    assert result.n_grad_evals == 3  # one-hot cotangents
    bad = check_vjp(lambda v: A @ v, lambda v, dy: 2 * A.T @ dy, np.ones(2))
    assert "off by a constant factor 2" in bad.diagnosis


# ---------------------------------------------------------------------------
# determinism, options, report


def test_same_seed_same_probes_same_verdict():
    rng = np.random.default_rng(25)
    f, grad = make_logistic(500, rng)
    x = rng.standard_normal(500)
    g = wrong(grad, "dense", delta=1e-10)
    a, b = check_grad(f, g, x, seed=3), check_grad(f, g, x, seed=3)
    assert (a.passed, a.n_evals, str(a)) == (b.passed, b.n_evals, str(b))


def test_report_has_numpy_testing_layout_and_assert_grad_raises_it():
    x = np.random.default_rng(26).standard_normal(8)
    result = check_grad(lambda x: np.sum(x**2), lambda x: x, x)
    text = str(result)
    order = ["check_grad FAILED", "Tolerance:", "Mismatched elements: 8 / 8", "Worst mismatches:", "ACTUAL",
             "DESIRED", "Max absolute difference", "Max relative difference", "Diagnosis:"]
    positions = [text.index(word) for word in order]
    assert positions == sorted(positions)
    assert isinstance(result, GradCheckResult) and not result
    assert isinstance(result.worst[0], EntryError)
    w = result.worst[0]
    assert w.abs_error == pytest.approx(abs(w.analytic - w.numeric))
    assert w.analytic == pytest.approx(w.numeric / 2, rel=1e-12)
    with pytest.raises(AssertionError) as info:
        assert_grad(lambda x: np.sum(x**2), lambda x: x, x)
    assert str(info.value) == text
    assert assert_grad(lambda x: np.sum(x**2), lambda x: 2 * x, x).passed


def test_a_nan_in_the_analytic_gradient_is_a_structural_failure():
    result = check_grad(lambda x: np.sum(x), lambda x: np.array([1.0, np.nan, 1.0]), np.ones(3))
    assert not result.passed
    assert "NaN positions differ: ACTUAL NaN at [1]" in str(result)
    assert "grad(x) is NaN or inf at indices [1]" in result.diagnosis


# ---------------------------------------------------------------------------
# bad input to the checker gives a clear message


@pytest.mark.parametrize("f, grad, x, error, message", [
    (lambda x: x, lambda x: x, np.ones(3), ValueError, r"f\(x\) must return a scalar; got an array of shape \(3,\)"),
    (lambda x: np.array([x.sum()]), lambda x: x, np.ones(3), ValueError, r"size-1 array"),
    (lambda x: None, lambda x: x, np.ones(3), TypeError, r"f\(x\) returned None"),
    (lambda x: "loss", lambda x: x, np.ones(3), TypeError, r"f\(x\) returned str"),
    (np.sum, lambda x: x[:2], np.ones(3), ValueError, r"grad\(x\) returned shape \(2,\); expected x's shape \(3,\)"),
    (np.sum, lambda x: None, np.ones(3), TypeError, r"grad\(x\) returned None"),
    (np.sum, lambda x: x, np.array([1.0, np.nan]), ValueError, r"x has 1 non-finite entries .* at \[1\]"),
    (np.sum, lambda x: x, np.array([]), ValueError, r"x is empty"),
    (np.sum, lambda x: x, np.ones(2) + 1j, TypeError, r"x must be a real array; got complex"),
    (lambda x: np.log(x[0] - 2.0), lambda x: x, np.ones(3), ValueError, r"f\(x\) is nan at the given x"),
    (np.sum, "grad", np.ones(3), TypeError, r"grad must be callable"),
])
def test_bad_input_is_named(f, grad, x, error, message):
    with np.errstate(all="ignore"), pytest.raises(error, match=message):
        check_grad(f, grad, x)


def test_bad_options_are_named():
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['n_probe'\]"):
        check_grad(np.sum, np.ones_like, np.ones(3), n_probe=3)
    with pytest.raises(ValueError, match="mode must be one of"):
        check_grad(np.sum, np.ones_like, np.ones(3), mode="fast")
    with pytest.raises(ValueError, match="safety must be a positive"):
        check_grad(np.sum, np.ones_like, np.ones(3), safety=0)


def test_exceptions_from_user_code_propagate():
    def boom(x):
        raise KeyError("inside f")

    with pytest.raises(KeyError, match="inside f"):
        check_grad(boom, np.ones_like, np.ones(3))
    with pytest.raises(ZeroDivisionError):
        check_grad(np.sum, lambda x: 1 / 0, np.ones(3))


def test_vjp_of_the_wrong_shape_is_named():
    with pytest.raises(ValueError, match=r"vjp\(x, dy\) returned shape \(2,\); expected x's shape \(3,\)"):
        check_vjp(lambda x: 2 * x, lambda x, dy: dy[:2], np.ones(3))


# ---------------------------------------------------------------------------
# many points in one call (f behind a process boundary)


class _Counted:
    """``f`` with its one-point and many-point calls counted."""

    def __init__(self, f):
        self.f, self.single, self.batches = f, 0, 0

    def one(self, p):
        self.single += 1
        return self.f(p)

    def many(self, ps):
        self.batches += 1
        return [self.f(p) for p in ps]


@pytest.mark.parametrize("factor", [1.0, 1.001])
@pytest.mark.parametrize("n,most", [(12, 10), (40, 10)])
def test_f_many_gives_the_same_check_in_far_fewer_calls(factor, n, most):
    # The same points (each direction's in the order it alone asks them): the same numbers, so the same verdict
    # to the last bit. Full mode (n = 12): the coordinates' step sweeps run side by side, a round of all in one
    # call; directional (n = 40): every probe's first two windows in one call.
    x = np.random.default_rng(21).standard_normal(n)
    grad = lambda p: logsumexp_grad(p) * factor  # noqa: E731
    alone = check_grad(logsumexp, grad, x, complex_step=False)
    f = _Counted(logsumexp)
    batched = check_grad(f.one, grad, x, f_many=f.many, complex_step=False)
    assert (batched.passed, batched.n_evals, batched.max_rel_error, batched.diagnosis, batched.mode) == \
        (alone.passed, alone.n_evals, alone.max_rel_error, alone.diagnosis, alone.mode)
    assert alone.passed is (factor == 1.0) and alone.mode == ("full" if n <= 16 else "directional")
    assert f.single == 1 and f.batches <= most, (f.batches, batched.n_evals)     # f(x) alone, then rounds


def test_vjp_many_and_the_v_curve_take_their_points_together():
    a = np.random.default_rng(22).standard_normal((5, 4))
    fn = lambda v: np.tanh(a @ v)  # noqa: E731
    vjp = lambda v, dy: a.T @ ((1 - np.tanh(a @ v) ** 2) * dy)  # noqa: E731
    x = np.random.default_rng(23).standard_normal(4)
    alone = check_vjp(fn, vjp, x, complex_step=False)
    f, cotangents = _Counted(fn), []

    def vjp_many(v, dys):
        cotangents.append(len(dys))
        return [vjp(v, dy) for dy in dys]

    batched = check_vjp(f.one, vjp, x, f_many=f.many, vjp_many=vjp_many, complex_step=False)
    assert (batched.passed, batched.n_evals, batched.n_grad_evals, batched.max_rel_error) == \
        (alone.passed, alone.n_evals, alone.n_grad_evals, alone.max_rel_error)
    assert cotangents == [5]          # full mode: the Jacobian's five one-hot cotangents in one call
    scalar = lambda v: float(np.sum(fn(v)))  # noqa: E731
    g = lambda v: vjp(v, np.ones(5))  # noqa: E731
    curve = error_vs_step(scalar, g, x, seed=3)
    s = _Counted(scalar)
    again = error_vs_step(s.one, g, x, seed=3, f_many=s.many)
    assert again.errors == curve.errors and again.chosen_step == curve.chosen_step
    assert s.single <= 1 and s.batches <= 15          # 58 points of the curve in one call, then the sweep's


def test_f_many_must_give_one_value_per_point():
    with pytest.raises(ValueError, match="f_many returned 1 values for 7 points"):
        check_grad(logsumexp, logsumexp_grad, np.ones(3), f_many=lambda ps: [logsumexp(ps[0])], complex_step=False)
