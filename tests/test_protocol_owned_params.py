"""Optimizers that own their parameters (``opt = SGD(params, lr=0.1)``, then ``p.grad = …; opt.step()``), the shape
of micrograd-style frameworks, tinygrad and course "autograd from scratch" code: built with parameter objects of the
verifier's, one per tensor of several shapes, stepped as a training loop does, their values read back whether
updated in place or rebound. A shape the verifier cannot drive is refused (exit status 2), never given a verdict."""

from __future__ import annotations

import numpy as np
import pytest

import verify
from tests.realworld.optimizers import owned_params as owned
from verify.cli import main
from verify.errors import TargetLoadError
from verify.results import Status


def _conformance(target, spec, **params):
    (c,) = verify.check_conforms(target, spec, params=params, checks="conformance", max_examples=6,
                                 timeout=None).checks
    return c


@pytest.mark.parametrize("target,spec", [
    (owned.SGD, "sgd"),                     # p.data -= …, in place
    (owned.SGDPrivate, "sgd"),              # p._data = p._data - …, rebound
    (owned.RMSprop, "rmsprop"),             # .value / .gradient
    (owned.ValueAdam, "adam"),              # micrograd's float Values, math.sqrt
    (owned.ArrayAdam, "adam"),              # plain arrays, step(grads)
    (owned.NesterovSGD, "nesterov"),        # a tinygrad-style factory bound with functools.partial
], ids=["in-place", "rebound-private", "value-gradient", "micrograd-scalars", "step-grads", "factory-partial"])
def test_each_owned_shape_is_driven_as_written_and_conforms(target, spec):
    assert _conformance(target, spec).status is Status.PASS


def test_a_correct_owned_optimizer_passes_every_check():
    run = verify.check_conforms(owned.Momentum, "momentum", max_examples=6, timeout=None)
    assert not run.status.is_problem, [(c.name, c.status, c.message[:300]) for c in run.checks]


@pytest.mark.parametrize("target,words", [
    (owned.RMSprop, ["owns its parameters", "objects holding float64 arrays", ".gradient", ".value"]),
    (owned.ValueAdam, ["micrograd-style scalar objects", "not as objects: TypeError"]),
    (owned.ArrayAdam, ["plain float64 arrays", "step(grads)"]),
])
def test_the_report_says_which_protocol_and_which_attributes(target, words):
    run = verify.check_conforms(target, "rmsprop" if target is owned.RMSprop else "adam", checks="conformance",
                                max_examples=1, timeout=None)
    text = "\n".join(run.mapping)
    assert all(w in text for w in words), text
    assert "owning its parameters" in run.adapter


def test_hyperparameters_the_constructor_does_not_take_are_held():
    # ArrayAdam hard-codes β1, β2, ε: held at the spec's defaults (equal to its own), lr varied.
    run = verify.check_conforms(owned.ArrayAdam, "adam", checks="conformance", max_examples=4, timeout=None)
    assert set(run.held) == {"b1", "b2", "eps", "weight_decay", "eps_placement"}
    assert run.checks[0].status is Status.PASS


def test_an_undeclared_hard_coded_value_is_inconclusive():
    class Beta2IsPoint99(owned.ArrayAdam):
        def step(self, grads):
            self.t += 1
            for i, (p, g) in enumerate(zip(self.params, grads)):
                self.m[i] = 0.9 * self.m[i] + 0.1 * g
                self.v[i] = 0.99 * self.v[i] + 0.01 * g * g
                p -= self.lr * (self.m[i] / (1 - 0.9 ** self.t)) / (np.sqrt(self.v[i] / (1 - 0.99 ** self.t)) + 1e-8)

    c = _conformance(Beta2IsPoint99, "adam")
    assert c.status is Status.INCONCLUSIVE and "b2 = 0.99" in c.message
    assert _conformance(Beta2IsPoint99, "adam", b2=0.99).status is Status.PASS


@pytest.mark.parametrize("target,spec,cause", [
    (owned.ValueAdamNoBiasCorrection, "adam", "without bias correction"),
    (owned.RMSpropEpsInside, "rmsprop", "ε inside the square root"),
    (owned.AdamWDecaysGrad, "adamw", "coupled (L2) decay"),
])
def test_bugs_are_caught_and_named(target, spec, cause):
    c = _conformance(target, spec)
    assert c.status is Status.FAIL and cause in c.diagnosis, c.diagnosis


def test_state_shared_between_parameters_is_caught():
    # One velocity for every parameter: each update carries the other parameters' gradients.
    c = _conformance(owned.MomentumSharedBuffer, "momentum")
    assert c.status is Status.FAIL


class ResetsOnZeroGrad(owned.Momentum):
    """zero_grad also clears the velocity: calling it between steps would turn momentum into plain SGD."""

    def zero_grad(self):
        super().zero_grad()
        for v in self.velocities:
            v[...] = 0.0


def test_zero_grad_is_never_called():
    assert _conformance(ResetsOnZeroGrad, "momentum").status is Status.PASS


class ZeroesGradsInPlace(owned.SGD):
    def step(self):
        super().step()
        for p in self.params:
            p.grad *= 0.0               # the gradient zeroed after use, as step(zero=True) does


class DecaysGradInPlace(owned.SGD):
    def step(self):
        for p in self.params:
            p.grad += 0.0 * p.data + 1.0     # the caller's gradient array changed (to non-zero values)
            p.data -= self.lr * (p.grad - 1.0)


@pytest.mark.parametrize("target,noted", [(ZeroesGradsInPlace, False), (DecaysGradInPlace, True)])
def test_gradients_modified_in_place_are_noted_and_zeroing_them_is_not(target, noted):
    # As for every optimizer protocol: a gradient changed within the step is reported in a note, not failed.
    (c,) = verify.check_conforms(target, "sgd", checks="no-input-mutation", timeout=None).checks
    assert c.status is Status.PASS, c.message
    assert any("modified p.grad of parameter 0 in place" in n for n in c.notes) is noted, c.notes


class ReadsWeight:
    def __init__(self, params, lr=0.01):
        self.params, self.lr = params, lr

    def step(self):
        for p in self.params:
            p.weight -= self.lr * p.weight_grad


class UpdatesACopy:
    """Copies the values at construction and updates the copies: the parameters never change."""

    def __init__(self, params, lr=0.01):
        self.values, self.params, self.lr = [np.array(p.data, copy=True) for p in params], params, lr

    def step(self):
        for v, p in zip(self.values, self.params):
            v -= self.lr * p.grad


class TakesParamsAndGrads:
    def __init__(self, params, lr=0.01):
        self.params, self.lr = params, lr

    def step(self, params, grads):
        return params - self.lr * grads


@pytest.mark.parametrize("target,words", [
    (ReadsWeight, "AttributeError"),
    (UpdatesACopy, "left every parameter unchanged"),
    (TakesParamsAndGrads, "does not take zero arguments"),
])
def test_a_shape_the_verifier_cannot_drive_is_refused_naming_what_was_expected(target, words):
    with pytest.raises(TargetLoadError, match="Expected a list of parameters with .data and .grad") as exc:
        verify.check_conforms(target, "sgd", timeout=None)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_the_command_line_exits_2_on_a_shape_it_cannot_drive(tmp_path, capsys):
    path = tmp_path / "opt.py"
    path.write_text("class SGD:\n    def __init__(self, params, lr=0.01):\n        self.params, self.lr = params, lr\n"
                    "    def step(self):\n        for p in self.params:\n            p.w -= self.lr * p.dw\n")
    assert main(["check", f"{path}:SGD", "--spec", "sgd", "--no-isolation"]) == 2
    assert "Expected a list of parameters" in capsys.readouterr().err


def test_an_optimizer_built_with_its_own_parameters_is_refused_naming_the_class_route():
    opt = owned.SGD([], lr=0.1)
    with pytest.raises(TargetLoadError, match="owns its parameters .*give its class"):
        verify.check_conforms(opt, "sgd", timeout=None)


def test_the_docs_example_conforms():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "protocols.md").read_text(encoding="utf-8")
    start = text.index("```python\n", text.index("**Optimizers that own their parameters**")) + len("```python\n")
    namespace: dict = {}
    exec(compile(text[start:text.index("```", start)], "docs/protocols.md (owned)", "exec"), namespace)  # noqa: S102
    assert _conformance(namespace["SGD"], "sgd").status is Status.PASS


class ModelMomentum:
    """Written for a model: reads ``model.parameters()`` at every step."""

    def __init__(self, model, lr=0.01, momentum=0.9):
        self.model, self.lr, self.momentum, self.buf = model, lr, momentum, {}

    def step(self):
        for p in self.model.parameters():
            b = self.momentum * self.buf.get(id(p), 0.0) + p.grad
            self.buf[id(p)] = b
            p.data = p.data - self.lr * b


def test_an_optimizer_taking_the_model_reads_its_parameters():
    assert _conformance(ModelMomentum, "momentum").status is Status.PASS
