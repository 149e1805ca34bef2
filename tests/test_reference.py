"""The reference implementation against numbers worked by hand.

Each expected value below is computed on paper from the formula in
shared/FORMULAS.md (the arithmetic is in the comments), never by calling the
reference. Symbolic cross-checks live in test_symbolic.py.
"""

import doctest
import importlib
import math

import numpy as np
import pytest

import reference as R
from verify.compare import assert_close


@pytest.mark.parametrize("module", ["regularization", "initialization", "batchnorm", "newton", "sgd",
                                    "sign", "adaptive"])
def test_docstring_examples(module):
    mod = importlib.import_module(f"reference._src.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------ regularisation

def test_l2_by_hand():
    w = np.array([3.0, -1.0])
    assert R.l2_penalty(w, 0.5) == 5.0                      # 0.5·(9 + 1)
    assert_close(R.l2_grad(w, 0.5), [3.0, -1.0])             # 2·0.5·w
    # w(1 − 2ηλ) − ηg with η = 0.1, λ = 0.5, g = (1, 1): (3·0.9 − 0.1, −0.9 − 0.1)
    assert_close(R.l2_sgd_step(w, [1.0, 1.0], 0.1, 0.5), [2.6, -1.0], rtol=1e-15)
    assert R.weight_decay_factor(0.25, 1.0) == 0.5           # 1 − 2·0.25·1


def test_l1_conventions_at_zero():
    w = np.array([-2.0, 0.0, 5.0])
    assert_close(R.l1_grad(w, 0.3), [-0.3, 0.3, 0.3])                  # notes: sgn(0) = +1
    assert_close(R.l1_grad(w, 0.3, sign_at_zero=0.0), [-0.3, 0.0, 0.3])
    lo, hi = R.l1_subgradient_bounds(w, 0.3)
    assert_close(lo, [-0.3, -0.3, 0.3])
    assert_close(hi, [-0.3, 0.3, 0.3])
    with pytest.raises(ValueError, match="sign_at_zero"):
        R.l1_grad(w, 0.3, sign_at_zero=2.0)


def test_proximal_l1_gives_exact_zeros():
    # v = w − ηg = (1, 0.05, −0.5); threshold ηλ = 0.1 → (0.9, 0, −0.4)
    out = R.l1_prox_step([1.0, 0.05, -0.5], [0.0, 0.0, 0.0], lr=0.1, lam=1.0)
    assert_close(out, [0.9, 0.0, -0.4], rtol=1e-15)
    assert out[1] == 0.0


# ---------------------------------------------------------------- init

def test_fans_in_both_layouts():
    assert R.compute_fans((64, 32)) == (64, 32)
    assert R.compute_fans((3, 3, 16, 8)) == (144, 72)               # 9·16, 9·8
    assert R.compute_fans((8, 16, 3, 3), layout="torch") == (144, 72)
    with pytest.raises(ValueError, match="at least 2"):
        R.compute_fans((5,))


def test_stds_by_hand():
    assert R.lecun_std(100) == 0.1
    assert math.isclose(R.xavier_std(30, 70), math.sqrt(2 / 100))
    assert math.isclose(R.he_std(50), 0.2)
    assert math.isclose(R.init_std("he", (8, 50, 1), layout="torch"), 0.2)


@pytest.mark.parametrize("distribution,bound", [("uniform", math.sqrt(3) * 0.2), ("truncated", 2 * 0.2 / 0.87962566103423978)])
def test_variants_keep_the_variance_and_their_support(distribution, bound):
    # n = 200 000 draws: the sample std of a unit-variance draw has relative SE ≈ 1/√(2n)·√(kurtosis factor)
    # < 0.002, so a 1 % tolerance is > 5 standard errors (false alarm < 1e-6).
    w = R.he((400, 500), np.random.default_rng(1), distribution=distribution)   # fan_in = 400
    sigma = math.sqrt(2 / 400)
    assert abs(w.std() / sigma - 1) < 0.01
    scaled_bound = bound / 0.2 * sigma
    assert np.abs(w).max() <= scaled_bound + 1e-12


def test_relu_bias():
    assert_close(R.relu_bias((4,)), [0.01] * 4)
    with pytest.raises(ValueError):
        R.relu_bias((4,), value=-0.1)


# ------------------------------------------------------------ batch norm

def test_batchnorm_forward_and_running_stats_by_hand():
    x = np.array([[1.0, 0.0], [3.0, 0.0], [5.0, 3.0]])
    # feature 0: μ = 3, σ² = 8/3; feature 1: μ = 1, σ² = 2
    y, cache = R.batchnorm_forward(x, gamma=[2.0, 1.0], beta=[0.0, 1.0], eps=0.0)
    s0 = math.sqrt(8 / 3)
    assert_close(y[:, 0], [2 * -2 / s0, 0.0, 2 * 2 / s0], rtol=1e-14, atol=1e-15)
    s1 = math.sqrt(2)
    assert_close(y[:, 1], [1 - 1 / s1, 1 - 1 / s1, 1 + 2 / s1], rtol=1e-14)
    stats = R.update_running_stats(R.init_running_stats(2), x, momentum=0.1)
    # mean: 0.9·0 + 0.1·μ; var: 0.9·1 + 0.1·σ²·3/2 (unbiased: 8/3·3/2 = 4, 2·3/2 = 3)
    assert_close(stats.mean, [0.3, 0.1], rtol=1e-15)
    assert_close(stats.var, [0.9 + 0.4, 0.9 + 0.3], rtol=1e-15)
    keras = R.update_running_stats(R.init_running_stats(2), x, convention="keras")
    # m = 0.99: 0.99·1 + 0.01·σ² (biased)
    assert_close(keras.var, [0.99 + 0.01 * 8 / 3, 0.99 + 0.02], rtol=1e-15)


def test_batchnorm_backward_invariants():
    rng = np.random.default_rng(0)
    x, dy = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    _, cache = R.batchnorm_forward(x, rng.normal(size=3), rng.normal(size=3))
    dx, dgamma, dbeta = R.batchnorm_backward(dy, cache)
    # Σ_i ∂L/∂z = 0 and Σ_i ∂L/∂z · ẑ = γ/σ̃ · (Σ dy ẑ − Σ dy ẑ · mean(ẑ²)) ≈ 0 since mean(ẑ²) = σ²/(σ²+ε) ≈ 1
    assert_close(dx.sum(axis=0), np.zeros(3), atol=1e-13)
    assert_close(dbeta, dy.sum(axis=0), rtol=1e-15)


def test_batchnorm_rejects_bad_input():
    with pytest.raises(ValueError, match="more than 1 value"):
        R.batchnorm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="gamma must have shape"):
        R.batchnorm_forward(np.ones((4, 3)), np.ones(2), np.zeros(3))


# ---------------------------------------------------------------- Newton

def test_newton_exact_on_a_quadratic():
    # E = (w − 3)² + 1: E' = 2(w − 3), E'' = 2 → one step from any w0 lands at 3
    assert R.newton_step_1d(10.0, 14.0, 2.0) == 3.0
    # damped: w0 − 0.5·E'/E'' = 10 − 3.5
    assert R.newton_step_1d(10.0, 14.0, 2.0, lr=0.5) == 6.5
    a = np.array([[4.0, 1.0], [1.0, 3.0]])
    c = np.array([1.0, -2.0])
    w0 = np.array([5.0, 5.0])
    assert_close(R.newton_step(w0, a @ (w0 - c), a), c, rtol=1e-14)
    with pytest.raises(ValueError, match="singular"):
        R.newton_step(w0, w0, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="non-zero"):
        R.newton_step_1d(1.0, 1.0, 0.0)


# ------------------------------------------------------------- optimizers

def _run(opt, grads, w0=0.0):
    p = np.array([w0])
    s = opt.init(p)
    out = []
    for g in grads:
        p, s = opt.update(np.array([g]), s, p)
        out.append(float(p[0]))
    return out


def test_momentum_forms_by_hand():
    # b: 1, 1.5, 1.75 → w: −0.1, −0.25, −0.425
    for form in ("pytorch", "polyak"):
        assert_close(_run(R.momentum(0.1, 0.5, form=form), [1, 1, 1]), [-0.1, -0.25, -0.425], rtol=1e-14)


def test_nesterov_by_hand():
    # b1 = 1, w1 = −0.1(1 + 0.5) = −0.15; b2 = 1.5, w2 = −0.15 − 0.1(1 + 0.75) = −0.325
    assert_close(_run(R.nesterov(0.1, 0.5), [1, 1]), [-0.15, -0.325], rtol=1e-14)
    # Sutskever: v1 = −0.1, w1 = −0.1; v2 = −0.05 − 0.1 = −0.15, w2 = −0.25; look-ahead w + μv = −0.325
    opt = R.nesterov(0.1, 0.5, form="sutskever")
    p, s = np.zeros(1), opt.init(np.zeros(1))
    p, s = opt.update(np.ones(1), s, p)
    p, s = opt.update(np.ones(1), s, p)
    assert_close(p, [-0.25], rtol=1e-14)
    assert_close(R.nesterov_lookahead(p, s, 0.5), [-0.325], rtol=1e-14)


def test_weight_decay_sgd_coupled_and_decoupled():
    # λ = 0.5, η = 0.1, μ = 0.5, g = 0, w0 = 1.
    # coupled: b1 = 2λw = 1 → w1 = 0.9; b2 = 0.5 + 0.9 = 1.4 → w2 = 0.76
    assert_close(_run(R.sgd_weight_decay(0.1, 0.5, 0.5), [0, 0], 1.0), [0.9, 0.76], rtol=1e-14)
    # decoupled: b stays 0 → w ← 0.9 w: 0.9, 0.81
    assert_close(_run(R.sgd_weight_decay(0.1, 0.5, 0.5, decoupled=True), [0, 0], 1.0), [0.9, 0.81], rtol=1e-14)


def test_rprop_variants_by_hand():
    g = [1.0, -1.0, -1.0]
    # iRprop−: Δ 0.1 → w −0.1; flip: Δ 0.05, g←0, no step; then s = 0: w −(−1)·0.05 → −0.05
    assert_close(_run(R.rprop(0.1, variant="irprop-"), g), [-0.1, -0.1, -0.05], rtol=1e-14)
    # Rprop−: flip: Δ 0.05, step +0.05 → −0.05; then s > 0: Δ 0.06 → 0.01
    assert_close(_run(R.rprop(0.1, variant="rprop-"), g), [-0.1, -0.05, 0.01], rtol=1e-14)
    # Rprop+: flip: undo the last step → 0; then s = 0: Δ 0.05 → +0.05
    assert_close(_run(R.rprop(0.1, variant="rprop+"), g), [-0.1, 0.0, 0.05], rtol=1e-14, atol=1e-17)


def test_rprop_step_sizes_are_bounded():
    opt = R.rprop(0.1, max_step_size=0.15, min_step_size=0.08)
    # Δ: 0.1, 0.12, 0.144, 0.1728 → clipped to 0.15
    assert_close(_run(opt, [1, 1, 1, 1]), [-0.1, -0.22, -0.364, -0.514], rtol=1e-14)
    with pytest.raises(ValueError, match="eta_minus < 1 < eta_plus"):
        R.rprop(0.1, eta_minus=1.5)


def test_rmsprop_eps_placements():
    # s1 = 0.1·g² = 0.4; outside: 2/(√0.4 + 1) ; inside: 2/√(0.4 + 1)
    out = _run(R.rmsprop(1.0, 0.9, eps=1.0), [2.0])
    assert_close(out, [-2 / (math.sqrt(0.4) + 1)], rtol=1e-14)
    out = _run(R.rmsprop(1.0, 0.9, eps=1.0, eps_in_sqrt=True), [2.0])
    assert_close(out, [-2 / math.sqrt(1.4)], rtol=1e-14)


def test_adam_first_steps_by_hand():
    # Constant g: m̂ = g, v̂ = g² → each step lr·g/(|g| + ε). g = 2, ε = 1: 2/3 per step
    assert_close(_run(R.adam(1.0, eps=1.0), [2.0, 2.0]), [-2 / 3, -4 / 3], rtol=1e-14)
    # ε-hat: step t = lr·√(1−β2ᵗ)/(1−β1ᵗ)·m/(√v + ε); t = 1: √0.001/0.1 · 0.2/(√0.004 + 1)
    b2c = math.sqrt(1 - 0.999)
    expected = -(b2c / 0.1) * 0.2 / (math.sqrt(0.004) + 1)
    assert_close(_run(R.adam(1.0, eps=1.0, eps_placement="hat"), [2.0]), [expected], rtol=1e-14)
    # coupled L2: g' = g + wd·w = 0 + 1·1 → step 1/(1 + 0)·lr = 0.1 with ε = 0
    assert_close(_run(R.adam(0.1, eps=0.0, weight_decay=1.0), [0.0], 1.0), [0.9], rtol=1e-14)
    # decoupled: w − lr(m̂/(√v̂+ε) + wd·w); g = 0: m = 0 → 1 − 0.1·1·1 = 0.9 too, but
    # with g = 2: 1 − 0.1(1 + 1) = 0.8 (coupled would give 1 − 0.1·(3/3) = 0.9)
    assert_close(_run(R.adamw(0.1, eps=0.0, weight_decay=1.0), [2.0], 1.0), [0.8], rtol=1e-14)
    assert_close(_run(R.adam(0.1, eps=0.0, weight_decay=1.0), [2.0], 1.0), [0.9], rtol=1e-14)


def test_optimizers_do_not_modify_their_inputs_and_validate():
    p, g = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    for opt in (R.sgd(0.1), R.momentum(0.1), R.adam(), R.rmsprop(), R.rprop(), R.adamw(), R.sign_sgd()):
        s = opt.init(p)
        opt.update(g, s, p)
        assert_close(p, [1.0, 2.0])
        assert_close(g, [0.5, -0.5])
    with pytest.raises(ValueError, match="lr must be"):
        R.sgd(-1.0)
    with pytest.raises(ValueError, match="same shape"):
        opt = R.sgd(0.1)
        opt.update(np.ones(3), opt.init(np.ones(2)), np.ones(2))
