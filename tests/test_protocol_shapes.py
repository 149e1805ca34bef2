"""Shapes of stateful optimizers the numpy protocol drives as they are written: ``__call__(params, grads)``,
Keras' ``apply_gradients(grads_and_vars)`` with state keyed by the variable, and code written for a model's
dictionary or list of parameter arrays. A shape none of the protocols fits is refused before any check runs."""

from __future__ import annotations

import numpy as np
import pytest

import verify
from verify.errors import TargetLoadError
from verify.results import Status


class CalledMomentum:
    def __init__(self, lr=0.01, momentum=0.9):
        self.lr, self.momentum, self.v = lr, momentum, None

    def __call__(self, params, grads):
        if self.v is None:
            self.v = np.zeros_like(params)
        self.v = self.momentum * self.v + grads
        params -= self.lr * self.v


class DictRMSprop:
    """Written for ``params = {'W1': …, 'b1': …}``: iterates the keys, updates in place."""

    def __init__(self, lr=0.01, rho=0.9, eps=1e-8):
        self.lr, self.rho, self.eps, self.s = lr, rho, eps, None

    def update(self, params, grads):
        if self.s is None:
            self.s = {k: np.zeros_like(v) for k, v in params.items()}
        for k in params.keys():
            self.s[k] = self.rho * self.s[k] + (1 - self.rho) * grads[k] ** 2
            params[k] = params[k] - self.lr * grads[k] / (np.sqrt(self.s[k]) + self.eps)   # rebinds the entry


class ListAdam:
    def __init__(self, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps, self.t, self.m, self.v = lr, b1, b2, eps, 0, None, None

    def step(self, params, grads):
        if self.m is None:
            self.m, self.v = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
        self.t += 1
        for i, (p, g) in enumerate(zip(params, grads)):
            self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * g
            self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * g * g
            p -= self.lr * (self.m[i] / (1 - self.b1 ** self.t)) / (np.sqrt(self.v[i] / (1 - self.b2 ** self.t))
                                                                     + self.eps)


class KerasMomentum:
    """Slots keyed by ``id(var)``: right only if the same variable comes back at every step, as in training."""

    def __init__(self, learning_rate=0.01, momentum=0.0):
        self.learning_rate, self.momentum, self.slots = learning_rate, momentum, {}

    def apply_gradients(self, grads_and_vars):
        for g, var in grads_and_vars:
            v = self.momentum * self.slots.get(id(var), 0.0) - self.learning_rate * g
            self.slots[id(var)] = v
            var += v


class InPlaceSGD:
    def __init__(self, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        params -= self.lr * grads


class NoShape:
    def __init__(self, lr=0.01):
        self.lr = lr

    def apply(self, params, grads):
        return params - self.lr * grads


@pytest.mark.parametrize("target,spec", [(CalledMomentum, "momentum"), (DictRMSprop, "rmsprop"),
                                         (ListAdam, "adam"), (KerasMomentum, "momentum")],
                         ids=["__call__", "dict", "list", "apply_gradients"])
def test_each_shape_is_driven_as_written_and_conforms(target, spec):
    run = verify.check_conforms(target, spec, max_examples=10, timeout=None)
    assert not run.status.is_problem, [(c.name, c.status, c.message[:300]) for c in run.checks]
    assert next(c for c in run.checks if c.name == "conformance").status is Status.PASS


@pytest.mark.parametrize("target,words", [(DictRMSprop, "as a dict {'W1': params}"),
                                          (ListAdam, "as a list [params]")])
def test_the_report_says_how_the_parameters_were_given(target, words):
    run = verify.check_conforms(target, "adam" if target is ListAdam else "rmsprop", checks="conformance",
                                max_examples=2, timeout=None)
    assert any(words in line for line in run.mapping), run.mapping


def test_a_bug_in_a_container_shaped_optimizer_is_still_caught_and_named():
    class DictRMSpropEpsInside(DictRMSprop):
        def update(self, params, grads):
            if self.s is None:
                self.s = {k: np.zeros_like(v) for k, v in params.items()}
            for k in params.keys():
                self.s[k] = self.rho * self.s[k] + (1 - self.rho) * grads[k] ** 2
                params[k] -= self.lr * grads[k] / np.sqrt(self.s[k] + self.eps)

    (c,) = verify.check_conforms(DictRMSpropEpsInside, "rmsprop", checks="conformance", max_examples=10,
                                 timeout=None).checks
    assert c.status is Status.FAIL and "ε inside the square root" in c.diagnosis


def test_an_in_place_step_too_small_to_change_the_params_is_not_a_protocol_violation():
    # Tiny gradients (no-nan's first stream) leave w unchanged in float64: the target is known to update in
    # place from the probe stream, so that is a step below the resolution, not "returned None and did nothing".
    (c,) = verify.check_conforms(InPlaceSGD, "sgd", checks="no-nan", timeout=None).checks
    assert c.status is Status.PASS, c.message


def test_an_object_of_no_known_shape_is_refused_before_any_check():
    with pytest.raises(TargetLoadError, match="none of the shapes the optimizer protocol drives"):
        verify.check_conforms(NoShape, "sgd", timeout=None)


# ------------------------------------------------- the target against the spec, before any check runs


class _Stepper:
    def step(self, params, grads):
        return params - 0.1 * grads


class _L2WithAnUnrelatedStep:
    """A module-like object: the protocol's grad(w, lam), and a step of its own with another signature."""

    @staticmethod
    def grad(w, lam):
        return 2 * lam * w

    @staticmethod
    def step(state):
        return state


def test_a_target_that_fits_no_role_of_the_protocol_is_refused_in_one_line():
    with pytest.raises(TargetLoadError, match=r"does not fit the regulariser protocol: .*step\(self, params, grads\)"
                                              r" cannot be called as step\(w, g, lr, lam\)"):
        verify.check_conforms(_Stepper, "l2")
    with pytest.raises(TargetLoadError, match=r"does not fit the Newton protocol"):
        verify.check_conforms(lambda w, g: w - g, "newton")


def test_a_role_with_another_signature_is_left_out_and_said_so():
    run = verify.check_conforms(_L2WithAnUnrelatedStep, "l2", max_examples=10)
    statuses = {c.name: c.status for c in run.checks}
    assert statuses["gradient-vs-symbolic"] is Status.PASS and statuses["sgd-step-identity"] is Status.SKIP
    assert any("is not the protocol's step(w, g, lr, lam): not used" in m for m in run.mapping), run.mapping


class _NotALayer:
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.n = num_features

    def step(self, params, grads):
        return params - grads


def test_a_class_that_builds_no_layer_is_refused_in_one_line_under_batchnorm():
    with pytest.raises(TargetLoadError, match=r"does not fit the batchnorm protocol of spec 'batchnorm': .*"
                                              r"without a forward\(x, training\) method"):
        verify.check_conforms(_NotALayer, "batchnorm")
