"""The V-curve of central differences: truncation ~ h², rounding ~ 1/h, a floor at a wrong gradient's error."""

import numpy as np

from verify.gradcheck import error_vs_step


def test_v_shape_for_a_correct_gradient():
    x = np.linspace(0.5, 1.5, 6)
    v = error_vs_step(lambda p: float(np.sum(np.exp(p))), np.exp, x, seed=1)
    errors = np.array(v.errors)
    bottom = int(np.argmin(errors))
    # The best step is interior: both ends of the sweep are far worse than the bottom.
    assert 0 < bottom < len(errors) - 1
    assert errors[0] > 1e3 * errors[bottom] and errors[-1] > 1e3 * errors[bottom]
    # Truncation side: error ∝ h² (slope 2 on log-log over the two largest steps, a factor 10^(12/28)).
    h = np.array(v.steps)
    slope = np.log(errors[-1] / errors[-2]) / np.log(h[-1] / h[-2])
    assert 1.8 < slope < 2.2
    assert v.steps[0] < v.chosen_step < v.steps[-1]


def test_floor_at_the_error_of_a_wrong_gradient():
    x = np.array([1.0, 2.0, 3.0])
    v = error_vs_step(lambda p: float(np.sum(p ** 2)), lambda p: p, x, seed=0)   # should be 2p
    # |⟨2x − x, d⟩| with d = ±1: the error never falls below the gradient's own error.
    d = np.random.default_rng(0).choice([-1.0, 1.0], size=3)
    assert min(v.errors) > 0.99 * abs(np.sum(x * d))


def test_figure_marks_the_chosen_step():
    v = error_vs_step(lambda p: float(np.sum(np.sin(p))), np.cos, np.ones(4))
    fig = v.figure()
    assert fig.xscale == fig.yscale == "log"
    assert fig.markers[0]["x"] == v.chosen_step
