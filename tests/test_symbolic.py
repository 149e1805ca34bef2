"""Symbolic derivations (``verify.symbolic``) against the reference.

Each derivation's lambdified result is compared with ``reference`` at
hypothesis-drawn points through ``verify.compare``. Expected values come from
sympy or from hand-worked numbers (and, for integrals, from scipy as a second
independent source), never from the reference itself.

Tolerances: both sides compute the same closed form in float64, in a
different order, so they differ by a few ulps of the *terms* being combined.
Where a formula subtracts (``w(1 − 2ηλ) − ηg``, ``w0 − ηΔ``) the relative
error of the result is unbounded near cancellation, so those comparisons use
a per-entry tolerance of a few ulps of the terms' magnitudes instead of rtol.

The perturbation tests feed a deliberately wrong formula through the same
comparison and require that it fails.
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import integrate as sci_integrate
from scipy import stats as sci_stats

import reference as R
from verify import symbolic as S
from verify.compare import assert_close, compare
from verify.symbolic.base import _require

EPS = np.finfo(np.float64).eps
SUBNORMAL = np.finfo(np.float64).smallest_subnormal


def ulps(*terms, k: float = 8.0):
    """Per-entry tolerance: ``k`` ulps of the sum of the terms' magnitudes."""
    return k * EPS * sum(np.abs(np.asarray(t, dtype=np.float64)) for t in terms)


# ---------------------------------------------------------------- strategies

reals = st.floats(-10.0, 10.0, allow_nan=False, allow_subnormal=False)
positive = st.floats(0.05, 10.0, allow_nan=False)
small_positive = st.floats(1e-4, 1.0, allow_nan=False)
momenta = st.floats(0.0, 0.99, allow_nan=False)
lengths = st.integers(1, 6)


def vectors(n=None, elements=reals):
    shape = st.integers(1, 6) if n is None else st.just(n)
    return hnp.arrays(np.float64, shape, elements=elements)


def vectors_with_zeros():
    return hnp.arrays(np.float64, st.integers(1, 8), elements=st.one_of(st.just(0.0), reals))


# ------------------------------------------------------------------ registry


def test_registry_names_match_and_serialise():
    for key, factory in S.ALL.items():
        d = factory()
        assert d.name == key
        assert d.steps and all(isinstance(s, str) and s for s in d.steps)
        assert d.statement and d.source
        assert all(isinstance(s, sp.Symbol) for s in d.symbols)
        json.dumps(d.to_dict())
    assert [d.name for d in S.derivations()] == list(S.ALL)
    assert len({hash(d) for d in S.derivations()}) == len(S.ALL)
    assert S.get("l2-gradient") is S.l2_gradient()
    with pytest.raises(KeyError, match="no derivation named"):
        S.get("no-such-derivation")


def test_import_runs_no_derivation():
    code = (
        "import verify.symbolic as S\n"
        "assert all(f.cache_info().currsize == 0 for f in (S.l2_gradient, S.batchnorm_backward, "
        "S.truncated_normal_std, S.heavy_ball_optimal))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_require_raises_derivation_error():
    with pytest.raises(S.DerivationError, match="fails the check"):
        _require(False, "demo", "a property")
    _require(sp.true, "demo", "a property")


# ------------------------------------------------------------ regularisation


@given(w=vectors(), lam=reals)
def test_l2_gradient_matches_reference(w, lam):
    # Same product 2·λ·w on both sides: a couple of ulps at most.
    assert_close(S.l2_gradient().func(w, lam), R.l2_grad(w, lam), rtol=4 * EPS)


def test_l2_gradient_is_derived_from_the_indexed_sum():
    d = S.l2_gradient()
    w, lam = d.symbols
    assert sp.expand(d.expr - 2 * lam * w) == 0


@given(w=vectors(), data=st.data(), lr=small_positive, lam=reals)
def test_l2_sgd_step_matches_reference(w, data, lr, lam):
    g = data.draw(vectors(len(w)))
    factor = 1 - 2 * lr * lam
    tol = ulps(w * factor, lr * g, w)
    derived = S.l2_sgd_step().func(w, g, lr, lam)
    assert_close(derived, R.l2_sgd_step(w, g, lr, lam), rtol=0, tol=tol)
    # The identity's left side, with the reference's L2 gradient.
    assert_close(derived, w - lr * (g + R.l2_grad(w, lam)), rtol=0, tol=tol)


@given(lr=small_positive, lam=reals)
def test_weight_decay_factor_matches_reference(lr, lam):
    assert_close(S.weight_decay_factor().func(lr, lam), R.weight_decay_factor(lr, lam),
                 rtol=0, tol=ulps(1.0, 2 * lr * lam, k=4))


def test_weight_decay_bound_is_solved():
    d = S.weight_decay_bound()
    assert d.parts["bounds"]() == (0.0, 0.5)
    p = sp.Symbol("p", real=True)
    assert d.expr == sp.And(sp.Lt(0, p), sp.Lt(p, sp.Rational(1, 2)))


@given(lr=st.floats(1e-3, 2.0), lam=st.floats(-2.0, 2.0))
def test_weight_decay_bound_matches_reference_factor(lr, lam):
    p = lr * lam
    if abs(p) < 1e-9 or abs(p - 0.5) < 1e-9:
        return  # on the boundary rounding decides; nothing to learn there
    factor = R.weight_decay_factor(lr, lam)
    assert bool(S.weight_decay_bound().func(lr, lam)) == (0 < factor < 1)


@given(w=vectors(elements=reals.filter(lambda v: v != 0)), lam=positive)
def test_l1_derivative_matches_reference_away_from_zero(w, lam):
    derived = S.l1_derivative().func(w, lam)
    assert_close(derived, R.l1_grad(w, lam), rtol=0)
    assert_close(derived, R.l1_grad(w, lam, sign_at_zero=0.0), rtol=0)


def test_l1_derivative_is_undefined_at_zero():
    assert np.isnan(S.l1_derivative().func(0.0, 1.0))


@given(w=vectors_with_zeros(), lam=reals)
def test_l1_subgradient_matches_reference_bounds(w, lam):
    lo, hi = S.l1_subgradient_at_zero().func(w, lam)
    ref_lo, ref_hi = R.l1_subgradient_bounds(w, lam)
    assert_close(lo, ref_lo, rtol=0)
    assert_close(hi, ref_hi, rtol=0)
    # Every convention for sgn(0) the reference offers is a subgradient.
    for at_zero in (-1.0, 0.0, 1.0):
        g = R.l1_grad(w, lam, sign_at_zero=at_zero)
        assert np.all((lo <= g) & (g <= hi))


def test_l1_subgradient_at_zero_is_minus_one_to_one():
    assert S.l1_subgradient_at_zero().expr == sp.Interval(-1, 1)


# ------------------------------------------------------------------- Newton

nonzero_curvature = st.one_of(st.floats(0.1, 10.0), st.floats(-10.0, -0.1))


@given(w0=reals, d1=reals, d2=nonzero_curvature, lr=st.floats(0.05, 1.0))
def test_newton_step_1d_matches_reference(w0, d1, d2, lr):
    derived = S.newton_step_1d().func(w0, d1, d2, lr)
    assert_close(derived, R.newton_step_1d(w0, d1, d2, lr), rtol=0, tol=ulps(w0, lr * d1 / d2))


def spd_matrices(n):
    """Exactly symmetric positive-definite matrices M Mᵀ + ½I."""
    def build(m):
        h = m @ m.T + 0.5 * np.eye(n)
        return 0.5 * (h + h.T)
    return hnp.arrays(np.float64, (n, n), elements=st.floats(-3.0, 3.0)).map(build)


@given(h=spd_matrices(3), data=st.data(), lr=st.floats(0.05, 1.0))
def test_newton_step_nd_matches_reference(h, data, lr):
    w0, g = data.draw(vectors(3)), data.draw(vectors(3))
    derived = S.newton_step_nd().func(w0, g, h, lr)
    delta = np.linalg.solve(h, g)
    # Cofactor formula vs LU solve: error ~ cond(H)·eps of the norms, mixed across components.
    tol = ulps(np.max(np.abs(w0)), lr * np.max(np.abs(delta)), k=8 * np.linalg.cond(h))
    assert_close(derived, R.newton_step(w0, g, h, lr), rtol=0, tol=tol)


def test_newton_step_nd_equals_1d_for_n_1():
    d = S.newton_step_nd(1)
    assert_close(d.func([2.0], [4.0], [[8.0]], 0.5), [1.75], rtol=0)  # 2 − 0.5·4/8


@given(a=nonzero_curvature, b=reals, w0=reals)
def test_newton_is_exact_on_a_1d_quadratic(a, b, w0):
    w_star = S.newton_exact_on_quadratic().func(a, b)  # −b/a, derived
    grad = a * w0 + b
    assert_close(R.newton_step_1d(w0, grad, a), w_star, rtol=0, tol=ulps(w0, grad / a, b / a))


@pytest.mark.parametrize("n", [2, 3])
@given(data=st.data())
def test_newton_is_exact_on_an_nd_quadratic(n, data):
    a = data.draw(spd_matrices(n))
    b, w0 = data.draw(vectors(n)), data.draw(vectors(n))
    w_star = S.newton_exact_on_quadratic(n).func(a, b)
    step = R.newton_step(w0, a @ w0 + b, a)
    # Errors mix across components: tolerance from the norms, scaled by cond(A).
    tol = ulps(np.max(np.abs(w0)), np.max(np.abs(np.linalg.solve(a, a @ w0 + b))), k=8 * np.linalg.cond(a))
    assert_close(step, w_star, rtol=0, tol=tol)


def test_newton_quadratic_convergence_constant():
    d = S.newton_quadratic_convergence()
    e2, e3 = d.symbols
    assert sp.simplify(d.expr - e3 / (2 * e2)) == 0


@given(w_star=st.floats(-2.0, 2.0), a=st.floats(0.5, 5.0), b=st.floats(-5.0, 5.0))
def test_newton_quadratic_convergence_matches_reference_iterates(w_star, a, b):
    # E(w*+e) = a e²/2 + b e³/6: E'' = a, E''' = b at the minimiser.
    e = 1e-4
    d1, d2 = a * e + b * e * e / 2, a + b * e
    e_next = R.newton_step_1d(w_star + e, d1, d2) - w_star
    const = S.newton_quadratic_convergence().func(a, b)
    # Exactly e_next/e² = C/(1 + b e/a): O(e) relative; rounding of w*+e: 4·eps·2/e².
    tol = abs(const) * 2 * abs(b / a) * e + 4 * EPS * 4 / e ** 2
    assert_close(e_next / e ** 2, const, rtol=0, tol=tol)


# ------------------------------------------------------------ initialisation

fans = st.integers(1, 100_000)


@given(fan_in=fans, fan_out=fans)
def test_init_stds_match_reference(fan_in, fan_out):
    # 1/√N as N**-0.5 or 1/sqrt(N), √2/√N vs √(2/N): a few ulps apart.
    assert_close(S.lecun_std().func(fan_in), R.lecun_std(fan_in), rtol=1e-15)
    assert_close(S.he_std().func(fan_in), R.he_std(fan_in), rtol=1e-15)
    assert_close(S.xavier_std().func(fan_in, fan_out), R.xavier_std(fan_in, fan_out), rtol=1e-15)
    shape = (fan_in, fan_out)
    assert_close(S.xavier_std().func(fan_in, fan_out), R.init_std("xavier", shape), rtol=1e-15)


def test_init_stds_hand_worked():
    assert S.lecun_std().func(4) == 0.5
    assert S.he_std().func(8) == 0.5
    assert S.xavier_std().func(3, 5) == 0.5
    assert sp.simplify((S.he_std().expr / S.lecun_std().expr) ** 2) == 2  # He's factor 2


@given(sigma=st.floats(0.01, 10.0))
def test_relu_second_moment_against_quadrature(sigma):
    numeric, err = sci_integrate.quad(
        lambda z: z * z * math.exp(-z * z / (2 * sigma * sigma)) / math.sqrt(2 * math.pi * sigma * sigma),
        0, math.inf)
    # quad's own error estimate, plus 1e-12 relative.
    assert_close(S.relu_second_moment().func(sigma), numeric, rtol=1e-12, atol=10 * err)


@pytest.mark.parametrize("std", [0.01, 0.5, 3.0])
def test_uniform_bound_matches_reference_samples(std):
    bound = S.uniform_bound().func(std)
    x = R.sample_scaled((20_000,), std, np.random.default_rng(0), "uniform")
    # Every sample is within the derived bound and the largest is close to it:
    # P(max|x| < (1 − 1e-3)·a) = (1 − 1e-3)^20000 ≈ 2e-9.
    assert np.abs(x).max() <= bound
    assert np.abs(x).max() >= (1 - 1e-3) * bound


def test_truncated_normal_std_matches_reference_and_scipy():
    value = S.truncated_normal_std().func()
    assert_close(value, R.TRUNCATED_NORMAL_STD, rtol=EPS)
    assert_close(value, sci_stats.truncnorm(-2, 2).std(), rtol=1e-12)


@pytest.mark.parametrize("std", [0.1, 2.0])
def test_truncated_samples_stop_at_two_truncated_stds(std):
    scale = std / S.truncated_normal_std().func()
    x = R.sample_scaled((20_000,), std, np.random.default_rng(1), "truncated")
    assert np.abs(x).max() <= 2 * scale * (1 + 1e-12)
    assert np.abs(x).max() >= 0.99 * 2 * scale


def test_excess_kurtosis():
    assert S.excess_kurtosis("uniform").expr == sp.Rational(-6, 5)  # 9/5 − 3
    assert S.excess_kurtosis("normal").expr == 0
    assert_close(S.excess_kurtosis("truncated").func(), float(sci_stats.truncnorm(-2, 2).stats(moments="k")),
                 rtol=1e-10)
    assert_close(S.excess_kurtosis("uniform").func(), float(sci_stats.uniform(-1, 2).stats(moments="k")),
                 rtol=1e-14)
    with pytest.raises(ValueError, match="distribution"):
        S.excess_kurtosis("laplace")


# ---------------------------------------------------------------- batch norm

bn_x = hnp.arrays(np.float64, (3, 2), elements=reals)
bn_eps = st.floats(1e-8, 1.0)


def bn_tolerances(x, gamma, eps, dy):
    """Error scale of the backward pass, per entry, from the forward's conditioning."""
    var = x.var(axis=0)
    inv_std = 1.0 / np.sqrt(var + eps)
    # x − μ loses eps·|x| absolute; dividing by σ̃ magnifies it.
    cond = 1.0 + np.abs(x).max(axis=0) * inv_std
    sum_dy = np.abs(dy).sum(axis=0)
    # Products that underflow round to a multiple of the smallest subnormal: an absolute error no relative
    # term covers (γ = dy = 1.2e-162 gives dx = 4.9e-324 against 0), magnified by at most N sums and 1/σ̃.
    underflow = 64 * x.shape[0] * (1.0 + inv_std) * SUBNORMAL
    t_dx = 64 * EPS * np.abs(gamma) * inv_std * sum_dy * cond + underflow
    t_dgamma = 64 * EPS * sum_dy * cond + underflow
    t_dbeta = 8 * EPS * sum_dy + underflow
    return np.broadcast_to(t_dx, x.shape), t_dgamma, t_dbeta


@given(x=bn_x, dy=bn_x, gamma=vectors(2), beta=vectors(2), eps=bn_eps)
def test_batchnorm_backward_matches_reference(x, dy, gamma, beta, eps):
    dx, dgamma, dbeta = S.batchnorm_backward().func(x, gamma, beta, eps, dy)
    _, cache = R.batchnorm_forward(x, gamma, beta, eps)
    ref_dx, ref_dgamma, ref_dbeta = R.batchnorm_backward(dy, cache)
    t_dx, t_dgamma, t_dbeta = bn_tolerances(x, gamma, eps, dy)
    assert_close(dx, ref_dx, rtol=0, tol=t_dx, header="dx")
    assert_close(dgamma, ref_dgamma, rtol=0, tol=t_dgamma, header="dgamma")
    assert_close(dbeta, ref_dbeta, rtol=0, tol=t_dbeta, header="dbeta")


@given(x=hnp.arrays(np.float64, st.tuples(st.integers(2, 8), st.integers(1, 3)), elements=reals), eps=bn_eps)
def test_batchnorm_output_variance_matches_reference(x, eps):
    c = x.shape[1]
    _, cache = R.batchnorm_forward(x, np.ones(c), np.zeros(c), eps)
    var = x.var(axis=0)
    # ẑ's variance recomputed from ẑ: a few ulps of 1, plus the forward's cancellation.
    tol = 64 * EPS * (1 + np.abs(x).max(axis=0) / np.sqrt(var + eps)) ** 2
    assert_close(cache.xhat.var(axis=0), S.batchnorm_output_variance().func(var, eps), rtol=0, tol=tol)


def test_batchnorm_output_variance_is_derived():
    d = S.batchnorm_output_variance()
    s2, eps = d.symbols
    assert sp.simplify(d.expr - s2 / (s2 + eps)) == 0


def _central_vjp(f, x, dy, h=1e-6):
    """⟨dy, ∂f/∂x⟩ by central differences, entry by entry (independent of sympy and of reference)."""
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        out[idx] = np.sum(dy * (f(x + e) - f(x - e))) / (2 * h)
    return out


def _ln(x, gamma, beta, eps):
    c = x - x.mean(axis=1, keepdims=True)
    return gamma * c / np.sqrt((c * c).mean(axis=1, keepdims=True) + eps) + beta


def _rmsn(x, gamma, eps):
    return gamma * x / np.sqrt((x * x).mean(axis=1, keepdims=True) + eps)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_layernorm_and_rmsnorm_backward_match_finite_differences(seed):
    rng = np.random.default_rng(seed)
    x, dy = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    gamma, beta, eps = rng.normal(size=3), rng.normal(size=3), 0.05
    dx, dgamma, dbeta = S.layernorm_backward().func(x, gamma, beta, eps, dy)
    assert_close(dx, _central_vjp(lambda v: _ln(v, gamma, beta, eps), x, dy), rtol=1e-7, atol=1e-8)
    assert_close(dgamma, _central_vjp(lambda g: _ln(x, g, beta, eps), gamma, dy), rtol=1e-7, atol=1e-8)
    assert_close(dbeta, dy.sum(axis=0), rtol=1e-14)
    dx, dgamma = S.rmsnorm_backward().func(x, gamma, eps, dy)
    assert_close(dx, _central_vjp(lambda v: _rmsn(v, gamma, eps), x, dy), rtol=1e-7, atol=1e-8)
    assert_close(dgamma, _central_vjp(lambda g: _rmsn(x, g, eps), gamma, dy), rtol=1e-7, atol=1e-8)


def test_rmsnorm_mean_square_and_rescaling_factor_by_hand():
    # mean(x̂²) = ms/(ms + ε): ms = 4, ε = 1 → 0.8.
    assert S.rmsnorm_output_mean_square().func(4.0, 1.0) == pytest.approx(0.8, rel=1e-15)
    # c√(v + ε)/√(c²v + ε): v = 1, ε = 1, c = 2 → 2√2/√5; 1 at ε = 0 (invariance).
    for d in (S.normalisation_rescaling(), S.normalisation_rescaling(True)):
        assert d.func(1.0, 1.0, 2.0) == pytest.approx(2 * math.sqrt(2) / math.sqrt(5), rel=1e-15)
        assert d.func(3.0, 0.0, 7.5) == pytest.approx(1.0, rel=1e-15)
    # and against the layers computed directly: x → c·x + s per example.
    rng = np.random.default_rng(3)
    x, c, s, eps = rng.normal(size=(4, 5)), np.array([[0.3], [2.0], [5.0], [1.1]]), rng.normal(size=(4, 1)), 0.2
    one = np.ones(5)
    var = x.var(axis=1, keepdims=True)
    assert_close(_ln(c * x + s, one, 0.0, eps), _ln(x, one, 0.0, eps) * S.normalisation_rescaling().func(var, eps, c),
                 rtol=1e-13)
    ms = (x * x).mean(axis=1, keepdims=True)
    assert_close(_rmsn(c * x, one, eps), _rmsn(x, one, eps) * S.normalisation_rescaling(True).func(ms, eps, c),
                 rtol=1e-13)


@given(x=hnp.arrays(np.float64, st.tuples(st.integers(2, 8), st.integers(1, 3)), elements=reals))
def test_unbiased_factor_matches_reference_running_variance(x):
    n, c = x.shape
    zero = R.RunningStats(np.zeros(c), np.zeros(c))
    # PyTorch convention with momentum 1: the running variance is the unbiased batch variance.
    ref = R.update_running_stats(zero, x, momentum=1.0, convention="pytorch").var
    factor = S.biased_variance_expectation().parts["unbiased_factor"](n)
    assert_close(ref, x.var(axis=0) * factor, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_biased_variance_expectation_by_exact_enumeration(n):
    # x_i i.i.d. uniform on 4 values: average the reference's biased batch
    # variance (Keras convention, momentum 0) over all 4**n equally likely batches.
    values = np.array([-1.0, 0.5, 2.0, 3.5])
    pop_var = values.var()
    zero = R.RunningStats(np.zeros(1), np.zeros(1))
    total = 0.0
    for batch in itertools.product(values, repeat=n):
        x = np.array(batch)[:, None]
        total += R.update_running_stats(zero, x, momentum=0.0, convention="keras").var[0]
    mean_biased = total / len(values) ** n
    assert_close(mean_biased, S.biased_variance_expectation().func(pop_var, n), rtol=1e-13)


# --------------------------------------------------------------- optimizers


def run(opt, w0, grads):
    """Parameter sequence ``[w0, w1, …]`` of a reference optimizer fed ``grads``."""
    w, state = np.asarray(w0, dtype=np.float64), opt.init(np.asarray(w0, dtype=np.float64))
    out = [w]
    for g in grads:
        w, state = opt.update(g, state, w)
        out.append(w)
    return np.stack(out), state


def iterate_tol(w0, lr, mu, grads):
    """Rounding of k momentum steps: ulps of |w0| + η Σ|g| / (1 − μ), times k."""
    k = len(grads)
    scale = np.abs(w0) + lr * sum(np.abs(g) for g in grads) / (1 - mu + 1e-2)
    return np.broadcast_to(16 * EPS * (k + 1) * scale, (k + 1,) + np.shape(w0))


steps_k = 4


@given(w0=vectors(), lr=small_positive, mu=momenta, data=st.data())
def test_momentum_forms_match_reference(w0, lr, mu, data):
    grads = [data.draw(vectors(len(w0))) for _ in range(steps_k)]
    d = S.momentum_iterates(steps_k)
    polyak, pytorch = d.func(w0, lr, mu, *grads)
    tol = iterate_tol(w0, lr, mu, grads)
    ref_polyak, _ = run(R.momentum(lr, mu, form="polyak"), w0, grads)
    ref_pytorch, _ = run(R.momentum(lr, mu, form="pytorch"), w0, grads)
    assert_close(polyak, ref_polyak, rtol=0, tol=tol)
    assert_close(pytorch, ref_pytorch, rtol=0, tol=tol)
    assert_close(d.parts["polyak"](w0, lr, mu, *grads), ref_polyak, rtol=0, tol=tol)


def test_momentum_iterates_hand_worked():
    # Docstring example of reference.momentum: w2 = −0.1·1 − 0.1·(0.5 + 1) = −0.25.
    polyak, pytorch = S.momentum_iterates(2).func(0.0, 0.1, 0.5, 1.0, 1.0)
    assert_close(polyak, [0.0, -0.1, -0.25], rtol=1e-15)
    assert_close(pytorch, polyak, rtol=0)


@given(w0=vectors(), lr=small_positive, mu=momenta, data=st.data())
def test_nesterov_forms_match_reference(w0, lr, mu, data):
    grads = [data.draw(vectors(len(w0))) for _ in range(steps_k)]
    d = S.nesterov_iterates(steps_k)
    lookahead, pytorch = d.func(w0, lr, mu, *grads)
    tol = iterate_tol(w0, lr, mu, grads) * (1 + mu)
    ref_pytorch, _ = run(R.nesterov(lr, mu, form="pytorch"), w0, grads)
    ref_sutskever, state = run(R.nesterov(lr, mu, form="sutskever"), w0, grads)
    assert_close(pytorch, ref_pytorch, rtol=0, tol=tol)
    assert_close(d.parts["sutskever"](w0, lr, mu, *grads), ref_sutskever, rtol=0, tol=tol)
    # The PyTorch-form iterate is Sutskever's look-ahead point w + μv.
    assert_close(lookahead[-1], R.nesterov_lookahead(ref_sutskever[-1], state, mu), rtol=0, tol=tol[-1])
    assert_close(lookahead, ref_pytorch, rtol=0, tol=tol)


@given(g=vectors(elements=st.one_of(st.floats(0.01, 10.0), st.floats(-10.0, -0.01))), lr=small_positive,
       b1=st.floats(0.0, 0.99), b2=st.floats(0.0, 0.999), t=st.integers(1, 30))
def test_adam_constant_gradient_matches_reference(g, lr, b1, b2, t):
    d = S.adam_constant_gradient()
    eps = 1e-8
    ws, state = run(R.adam(lr, b1, b2, eps), np.zeros_like(g), [g] * t)
    adam_state = state.inner[0]
    # m_t accumulates t roundings of a geometric sum.
    assert_close(adam_state.mu, d.func(g, b1, t), rtol=4 * (t + 1) * EPS, atol=0)
    assert_close(d.parts["m_hat"](g, b1, t), g, rtol=0)
    # Every step is −η g/(|g| + ε); differences of iterates lose ulps of |w_t|.
    steps = np.diff(ws, axis=0)
    expected = np.stack([d.parts["step"](g, lr, b1, b2, eps, k) for k in range(1, t + 1)])
    assert_close(steps, expected, rtol=16 * (t + 1) * EPS, atol=8 * EPS * lr * (t + 1))


def test_adam_bias_correction_is_derived():
    d = S.adam_constant_gradient()
    g, b1, t = d.symbols
    assert sp.simplify(d.expr - (1 - b1 ** t) * g) == 0


@given(lr=st.floats(1e-3, 5.0), big_l=st.floats(0.05, 10.0))
def test_gd_stability_bound_matches_reference_step(lr, big_l):
    if abs(lr * big_l - 2.0) < 1e-9:
        return  # on the boundary rounding decides
    w1, _ = R.sgd(lr).update(np.array([big_l * 1.0]), R.sgd(lr).init(np.ones(1)), np.ones(1))
    factor = float(w1[0])  # w1/w0 with w0 = 1 on E = ½Lw²
    assert bool(S.gd_stability_bound().func(lr, big_l)) == (abs(factor) < 1)


def test_gd_stability_bound_is_solved():
    d = S.gd_stability_bound()
    assert d.parts["max_lr"](4.0) == 0.5
    lr, big_l = d.symbols
    for value in (sp.Integer(1), sp.Rational(5, 2), sp.Integer(8)):
        assert d.expr.subs(big_l, value).as_set() == sp.Interval.open(0, 2 / value)


def contraction(opt_lr, eigenvalues):
    """One reference SGD step on f = ½ Σ λ_i w_i² from w = 1: the per-direction factors."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    opt = R.sgd(opt_lr)
    w1, _ = opt.update(lam, opt.init(np.ones_like(lam)), np.ones_like(lam))
    return np.abs(w1)


@given(m=st.floats(0.01, 10.0), kappa=st.floats(1.0, 1e4))
def test_gd_optimal_rate_matches_reference_step(m, kappa):
    big_l = m * kappa
    lr, rate = S.gd_optimal_rate().func(m, big_l)
    factors = contraction(lr, [m, big_l])
    # 1 − ηm and ηL − 1 both equal the rate; absolute ulps of 1 + ηL.
    assert_close(factors, [rate, rate], rtol=0, tol=ulps(1.0, lr * big_l))
    assert_close(rate, S.gd_optimal_rate().parts["rate_kappa"](kappa), rtol=0, tol=ulps(1.0, kappa, k=16))
    # Any other step size contracts some direction less.
    for other in (0.9 * lr, 1.1 * lr):
        assert contraction(other, [m, big_l]).max() > rate


def test_gd_optimal_rate_hand_worked():
    lr, rate = S.gd_optimal_rate().func(1.0, 3.0)
    assert (lr, rate) == (0.5, 0.5)


def heavy_ball_radius(lr, mu, lam):
    """Spectral radius of the reference Polyak momentum step on E = ½λw², state (w, v)."""
    opt = R.momentum(lr, mu, form="polyak")
    columns = []
    for w, v in ((1.0, 0.0), (0.0, 1.0)):
        params = np.array([w])
        w1, state = opt.update(lam * params, R.VelocityState(np.array([v])), params)
        columns.append([w1[0], state.velocity[0]])
    return np.abs(np.linalg.eigvals(np.array(columns).T)).max()


@given(m=st.floats(0.01, 10.0), kappa=st.floats(1.5, 1e3))
@settings(max_examples=50)
def test_heavy_ball_optimal_matches_reference_iteration(m, kappa):
    big_l = m * kappa
    lr, mu, rate = S.heavy_ball_optimal().func(m, big_l)
    assert_close(mu, rate ** 2, rtol=4 * EPS)
    assert_close(rate, S.heavy_ball_optimal().parts["rate_kappa"](kappa), rtol=1e-13, atol=1e-15)
    # At λ = m and λ = L the iteration matrix has a double (defective) eigenvalue,
    # which eigvals resolves only to ~√eps; in between the roots are complex, |z| = √μ.
    for lam in (m, math.sqrt(m * big_l), 0.5 * (m + big_l), big_l):
        assert_close(heavy_ball_radius(lr, mu, lam), rate, rtol=1e-6, atol=1e-7)
    assert rate <= S.gd_optimal_rate().func(m, big_l)[1] + 1e-12


def test_heavy_ball_optimal_hand_worked():
    # κ = 9: rate (3 − 1)/(3 + 1) = 1/2, μ = 1/4, η = 4/(3 + 1)² = 1/4.
    assert S.heavy_ball_optimal().func(1.0, 9.0) == (0.25, 0.25, 0.5)


# -------------------------------------------------- perturbed formulas are caught

grid_w = np.array([-3.0, -0.5, 0.25, 2.0])
grid_lam = np.array([0.01, 0.3, 1.7])


def caught(perturbed, derived, **tol) -> bool:
    return not compare(perturbed, derived, **tol).ok


def test_perturbed_l2_gradient_is_caught():
    w, lam = np.meshgrid(grid_w, grid_lam)
    assert caught(lam * w, S.l2_gradient().func(w, lam), rtol=1e-12)


def test_perturbed_l2_gradient_found_by_hypothesis():
    from hypothesis import find

    point = find(st.tuples(reals, reals),
                 lambda p: caught(p[1] * p[0], S.l2_gradient().func(*p), rtol=1e-12))
    assert point[0] != 0 and point[1] != 0


def test_perturbed_decay_factor_is_caught():
    lr, lam = np.meshgrid([0.01, 0.1, 0.5], grid_lam)
    assert caught(1 - lr * lam, S.weight_decay_factor().func(lr, lam), rtol=1e-12)
    # …and so is the bound it would imply (0 < ηλ < 1).
    lr, lam = np.array([0.7]), np.array([1.0])
    assert bool(S.weight_decay_bound().func(lr, lam)[0]) != (0 < 1 - lr[0] * lam[0] < 1)


def test_perturbed_newton_step_is_caught():
    w0, d1, d2, lr = 1.0, np.array([0.5, 2.0, -3.0]), np.array([4.0, 1.5, 2.5]), 1.0
    assert caught(w0 - lr * d2 / d1, S.newton_step_1d().func(w0, d1, d2, lr), rtol=1e-12)


def test_perturbed_batchnorm_backward_is_caught():
    rng = np.random.default_rng(0)
    x, dy = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    gamma, beta, eps = np.array([1.5, -0.7]), np.array([0.1, 0.2]), 1e-5
    _, (xhat, inv_std, _) = R.batchnorm_forward(x, gamma, beta, eps)
    n = x.shape[0]
    missing = gamma * inv_std / n * (n * dy - dy.sum(axis=0))  # no ẑ Σ dy ẑ term
    dx, _, _ = S.batchnorm_backward().func(x, gamma, beta, eps, dy)
    assert caught(missing, dx, rtol=1e-12)


def test_perturbed_momentum_dampening_is_caught():
    lr, mu, w0 = 0.1, 0.9, np.array([1.0, -2.0])
    grads = [np.array([0.5, 1.0]), np.array([-1.0, 0.3]), np.array([2.0, 2.0]), np.array([0.1, -0.4])]
    damped = R.as_optimizer(R.chain(R.trace(mu, dampening=0.1), R.scale(-lr)))
    ws, _ = run(damped, w0, grads)
    polyak, _ = S.momentum_iterates(4).func(w0, lr, mu, *grads)
    assert caught(ws, polyak, rtol=1e-12)


def test_perturbed_nesterov_iterate_is_caught():
    # Taking Sutskever's w (not the look-ahead w + μv) as PyTorch's iterate.
    lr, mu, w0 = 0.1, 0.9, np.array([1.0])
    grads = [np.array([0.5]), np.array([-1.0]), np.array([2.0]), np.array([0.1])]
    ref_sutskever, _ = run(R.nesterov(lr, mu, form="sutskever"), w0, grads)
    _, pytorch = S.nesterov_iterates(4).func(w0, lr, mu, *grads)
    assert caught(ref_sutskever, pytorch, rtol=1e-12)


def test_perturbed_adam_without_bias_correction_is_caught():
    lr, b1, b2, eps, g = 0.1, 0.9, 0.999, 1e-8, np.array([4.0, -0.5])
    no_correction = []
    m = v = np.zeros_like(g)
    for _ in range(3):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        no_correction.append(-lr * m / (np.sqrt(v) + eps))
    expected = np.stack([S.adam_constant_gradient().parts["step"](g, lr, b1, b2, eps, t) for t in (1, 2, 3)])
    assert caught(np.stack(no_correction), expected, rtol=1e-12)


def test_perturbed_init_scales_are_caught():
    fan_in, fan_out = np.array([3, 64, 500]), np.array([5, 32, 100])
    assert caught(np.sqrt(1.0 / fan_in), S.he_std().func(fan_in), rtol=1e-12)  # He without the factor 2
    assert caught(np.sqrt(1.0 / (fan_in + fan_out)), S.xavier_std().func(fan_in, fan_out), rtol=1e-12)
    assert caught(np.full(3, 0.87962566), np.full(3, S.truncated_normal_std().func()), rtol=1e-12)
