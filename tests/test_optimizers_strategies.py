"""Public strategies for optimizer tests: hyperparameters within each spec's valid range, SPD matrices
with the requested condition number, gradient streams and quadratic problems."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from verify import algorithms
from verify import strategies as vst
from verify.problems import STREAM_KINDS, Quadratic, Rosenbrock, minibatch_stream
from verify.specs import get_spec

#: Every optimizer spec with an algorithm record: one drawn with the others as soon as its record is registered.
SPECS = algorithms.NAMES


@settings(max_examples=17 * len(SPECS))     # about 17 draws per spec
@given(st.sampled_from(SPECS).flatmap(lambda s: st.tuples(st.just(s), vst.hyperparameters(s))))
def test_hyperparameters_are_valid_params(pair):
    spec_name, hp = pair
    spec = get_spec(spec_name)
    assert set(hp) == {p.name for p in spec.params}
    for p in spec.params:
        assert p.parse(hp[p.name]) == hp[p.name]          # within the Param's range
    if spec_name == "rprop":
        assert hp["min_step_size"] <= hp["lr"] <= hp["max_step_size"]
    algorithms.get(spec_name).check(hp)                   # the constraints between hyperparameters hold
    # the reference accepts every drawn set
    spec.reference({})(**hp)


@given(vst.hyperparameters("adam", b2=0.5, weight_decay=0.0))
def test_pinned_hyperparameters_stay_fixed(hp):
    assert hp["b2"] == 0.5 and hp["weight_decay"] == 0.0


def test_hyperparameters_reach_the_edges():
    seen = {"near_one": False, "zero": False, "large_eps": False}

    @settings(max_examples=300, database=None)
    @given(vst.hyperparameters("adam"))
    def draw(hp):
        seen["near_one"] |= hp["b2"] > 1 - 1e-5
        seen["zero"] |= hp["b1"] == 0.0
        seen["large_eps"] |= hp["eps"] > 0.1

    draw()
    assert all(seen.values()), seen


@given(st.integers(1, 6), vst.positive_floats(1.0, 1e6), st.integers(0, 1000))
def test_spd_matrices_have_the_condition_number(n, kappa, seed):
    from verify.problems import spd_matrix

    a = spd_matrix(np.random.default_rng(seed), n, kappa, largest=3.0)
    eig = np.linalg.eigvalsh(a)
    assert np.allclose(a, a.T)
    assert eig[-1] == np.float64(eig[-1]) and abs(eig[-1] - 3.0) < 1e-9 * kappa
    if n > 1:
        assert abs(eig[-1] / eig[0] - kappa) <= 1e-7 * kappa ** 2
    assert np.all(eig > 0)


@given(vst.spd_matrices(3, 100.0))
def test_spd_matrices_strategy(a):
    eig = np.linalg.eigvalsh(a)
    assert abs(eig[-1] / eig[0] - 100.0) < 1e-6


@given(vst.gradient_streams(steps=7, shape=(2, 3), eps=1e-8))
def test_gradient_streams_shape(g):
    assert g.shape == (7, 2, 3) and np.all(np.isfinite(g))


def test_stream_kinds():
    from verify.problems import open_loop_stream

    rng = np.random.default_rng(0)
    for kind in STREAM_KINDS:
        g = open_loop_stream(kind, 20, (3,), rng, eps=1e-8)
        assert g.shape == (20, 3)
    tiny = open_loop_stream("tiny", 200, (3,), rng, eps=1e-8)
    assert 1e-9 * 0.99 <= np.abs(tiny).min() and np.abs(tiny).max() <= 1e-3 * 1.01
    assert (open_loop_stream("sparse", 50, (4,), rng) == 0).mean() > 0.3
    mb = minibatch_stream(20, (1,))
    assert mb.sum() == 0.0 or abs(mb.sum()) < 1e-12
    assert list(mb[:10, 0]) == [0.1] * 9 + [-0.9]


@given(vst.quadratic_problems(n=4, condition_number=50.0))
def test_quadratic_problems(q):
    assert isinstance(q, Quadratic)
    assert abs(q.condition_number - 50.0) < 1e-6
    assert np.allclose(q.grad(q.w_star), 0.0)


def test_rosenbrock_gradient_matches_finite_differences():
    r = Rosenbrock()
    w = np.array([0.3, -0.7, 1.2])
    g = r.grad(w)
    h = 1e-6
    fd = np.array([(r.value(w + h * e) - r.value(w - h * e)) / (2 * h) for e in np.eye(3)])
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    np.testing.assert_array_equal(r.grad(np.ones(4)), 0.0)
