"""Adagrad, added as one algorithm record (verify/algorithms/adagrad.py): its reference against the formula
worked by hand, PyTorch's and optax's Adagrad each checked in its own ε convention (never a false alarm for
the other's), and the bugs and conventions of code written the way people write Adagrad named."""

from __future__ import annotations

import numpy as np
import pytest

from reference import adagrad
from verify.results import Status
from verify.runner import RunOptions, RunPlan, run_inline

CONFORMANCE = RunOptions(checks=("conformance",), max_examples=20, timeout=None)


def _status(target, overrides=None):
    run = run_inline(RunPlan(target, "adagrad", overrides or {}, CONFORMANCE))
    return run, run.checks[0]


# ------------------------------------------------------------------ the reference


def test_the_reference_is_the_formula_worked_by_hand():
    g = np.array([[3.0, 0.0], [4.0, -2.0], [0.0, 1.0]])
    opt = adagrad(lr=0.5, eps=0.25, initial_accumulator_value=1.0)
    w, s = np.array([1.0, 2.0]), None
    s = opt.init(w)
    for gt in g:
        w, s = opt.update(gt, s, w)
    # s: [1+9, 1] → [26, 5] → [26, 6]; steps −0.5·g/(√s + 0.25)
    want = np.array([1.0 - 0.5 * 3 / (np.sqrt(10) + 0.25) - 0.5 * 4 / (np.sqrt(26) + 0.25),
                     2.0 + 0.5 * 2 / (np.sqrt(5) + 0.25) - 0.5 * 1 / (np.sqrt(6) + 0.25)])
    np.testing.assert_allclose(w, want, rtol=1e-15)
    inside = adagrad(lr=0.5, eps=0.25, eps_placement="inside")
    w1, _ = inside.update(np.array([3.0]), inside.init(np.zeros(1)), np.zeros(1))
    np.testing.assert_allclose(w1, [-0.5 * 3 / np.sqrt(9.25)], rtol=1e-15)
    with pytest.raises(ValueError, match="eps_placement"):
        adagrad(eps_placement="under")


# ------------------------------------------------------------------ the libraries


@pytest.mark.torch
def test_torch_adagrad_conforms_at_its_own_convention():
    torch = pytest.importorskip("torch")
    run, result = _status(torch.optim.Adagrad)
    assert result.status is Status.PASS, result.message
    assert run.held["eps_placement"]["value"] == "outside"
    run, result = _status(torch.optim.Adagrad, {"initial_accumulator_value": 0.1, "eps": 1e-7})
    assert result.status is Status.PASS, result.message


@pytest.mark.optax
def test_optax_adagrad_conforms_with_eps_inside_the_root_and_its_own_defaults_never_assumed():
    optax = pytest.importorskip("optax")
    run, result = _status(optax.adagrad)
    assert result.status is Status.PASS, result.message
    assert run.held["eps_placement"]["value"] == "inside"
    assert any("optax's defaults are 0.1 and 1e-7" in line for line in run.mapping)


@pytest.mark.optax
def test_optax_adagrad_checked_as_pytorch_s_form_is_named_as_eps_inside():
    optax = pytest.importorskip("optax")
    _, result = _status(optax.adagrad, {"eps_placement": "outside", "eps": 1e-3})
    assert result.status is Status.FAIL
    assert result.diagnosis.startswith("matches Adagrad with ε inside the square root"), result.diagnosis


# -------------------------------------------------------------- code as people write it


class NumpyAdagrad:
    """The textbook numpy class (d2l, CS231n style): a cache of squared gradients, ε added after the root."""

    def __init__(self, lr=0.01, eps=1e-10, initial_accumulator_value=0.0):
        self.lr, self.eps, self.s0 = lr, eps, initial_accumulator_value

    def init(self, params):
        return np.full_like(params, self.s0)

    def update(self, grads, cache, params):
        cache = cache + grads ** 2
        return params - self.lr * grads / (np.sqrt(cache) + self.eps), cache


def test_a_numpy_adagrad_written_as_the_textbooks_passes():
    _, result = _status(NumpyAdagrad)
    assert result.status is Status.PASS, result.message


def test_eps_inside_the_root_is_named_with_the_flag_that_checks_it():
    class Inside(NumpyAdagrad):
        def update(self, grads, cache, params):
            cache = cache + grads ** 2
            return params - self.lr * grads / np.sqrt(cache + self.eps), cache

    _, result = _status(Inside, {"eps": 1e-4})
    assert result.status is Status.FAIL
    assert "ε inside the square root" in result.diagnosis and "eps_placement=inside" in result.diagnosis
    run, result = _status(Inside, {"eps": 1e-4, "eps_placement": "inside"})
    assert result.status is Status.PASS, result.message


def test_the_accumulator_updated_after_the_step_is_named():
    class Stale(NumpyAdagrad):
        def update(self, grads, cache, params):
            new = params - self.lr * grads / (np.sqrt(cache) + self.eps)
            return new, cache + grads ** 2

    _, result = _status(Stale, {"initial_accumulator_value": 1.0})
    assert result.status is Status.FAIL
    assert result.diagnosis.startswith("matches the division uses the previous sum"), result.diagnosis


def test_a_hard_coded_starting_accumulator_is_inconclusive_naming_it_not_a_failure():
    """optax's default s₀ = 0.1 hard-coded in code that does not take it: the formula is right."""

    def factory(lr=0.01, eps=1e-10):
        return NumpyAdagrad(lr, eps, initial_accumulator_value=0.1)

    _, result = _status(factory)
    assert result.status is Status.INCONCLUSIVE, result.message
    assert "--param initial_accumulator_value=0.1" in result.message
