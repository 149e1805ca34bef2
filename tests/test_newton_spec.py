"""The newton spec: the reference passes, every buggy step is caught by the named check, and the
checks' expected values agree with independent hand-worked numbers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.buggy.newton.steps import BUGS, correct
from verify.results import Status
from verify.runner import RunOptions, RunPlan, run_inline


@pytest.mark.parametrize("seed", [0, 7])
def test_reference_and_a_correct_step_pass(seed):
    for target in ("reference", correct):
        run = run_inline(RunPlan(target, "newton", options=RunOptions(seed=seed, max_examples=30, timeout=None)))
        bad = [(c.name, c.message[:400]) for c in run.checks if c.status is not Status.PASS]
        assert not bad, bad


@pytest.mark.parametrize("name", sorted(BUGS))
def test_bug_is_caught(name):
    target, check, phrase = BUGS[name]
    run = run_inline(RunPlan(target, "newton", options=RunOptions(checks=(check,), max_examples=30, timeout=None)))
    (result,) = run.checks
    assert result.status is Status.FAIL, f"{check} passed {name}: {result.message}"
    if phrase:
        assert phrase in (result.diagnosis or ""), (result.diagnosis, result.message)


def test_at_least_five_distinct_bugs():
    assert len({t for t, _, _ in BUGS.values()}) >= 5


def test_quadratic_convergence_constant_is_hand_worked():
    """E = eʷ − 2w at w* = ln 2: E'' = E''' = 2, so e_(k+1)/e_k² → 1/2 (hand-worked)."""
    from verify import symbolic

    assert symbolic.newton_quadratic_convergence().func(2.0, 2.0) == pytest.approx(0.5)
    w = np.log(2.0) + 1e-3
    w1 = correct(w, np.exp(w) - 2, np.exp(w), 1.0)
    assert (w1 - np.log(2.0)) / 1e-6 == pytest.approx(0.5, rel=2e-3)


def test_singular_hessian_policy():
    """Raising (the reference) and returning inf (plain division) both pass; a regularised finite step fails."""
    def divide(w, grad, hess, lr):
        with np.errstate(divide="ignore", invalid="ignore"):
            if np.ndim(hess) == 0:
                return np.float64(w) - lr * np.float64(grad) / np.float64(hess)
            inv = np.full_like(np.asarray(hess, dtype=float), np.inf)
            return w - lr * inv @ grad

    for target, want in ((divide, Status.PASS), ("reference", Status.PASS), (BUGS["regularised"][0], Status.FAIL)):
        run = run_inline(RunPlan(target, "newton", options=RunOptions(checks=("singular-hessian",), timeout=None)))
        assert run.checks[0].status is want, run.checks[0].message


def test_newton_map_jacobian_check_is_sensitive():
    """A step off by a relative 1e-6 in η changes the Newton map's Jacobian at the minimum from 0 to ~1e-6:
    the gradient checker sees it."""
    def slightly_off(w, grad, hess, lr):
        return correct(w, grad, hess, lr * (1 + 1e-6))

    run = run_inline(RunPlan(slightly_off, "newton", options=RunOptions(checks=("newton-map-jacobian",), timeout=None)))
    assert run.checks[0].status is Status.FAIL, run.checks[0].message


def test_counterexamples_name_the_values_the_step_was_called_with():
    """Not the strategy's internals (a seed, d1/d2): w, E', E'' (1-D); n, w, ∇E(w), H, lr (n-D)."""
    import verify

    def inverted(w, grad, hess, lr):
        return w - lr * hess / grad if np.ndim(w) == 0 else w - lr * np.asarray(grad) @ np.asarray(hess)

    run = verify.check_conforms(inverted, "newton", checks=["step-vs-symbolic-1d", "step-vs-symbolic-nd"],
                                max_examples=20)
    one, nd = run.checks
    assert set(one.counterexample) == {"w", "E'", "E''", "lr"}, one.counterexample
    assert set(nd.counterexample) == {"n", "w", "∇E(w)", "H", "lr"}, nd.counterexample
    assert np.shape(nd.counterexample["H"]) == (nd.counterexample["n"],) * 2
