"""Held hyperparameters: what the target does not take, and everything given explicitly, is held fixed for the
whole run, reported, and respected by every check; objects built beforehand, functools.partial, **kwargs and
CS231n's config functions are checked at their own hyperparameters."""

from __future__ import annotations

import json

import numpy as np
import pytest

import reference
import verify
from tests import held_targets as T
from tests.cli_helpers import verify_check
from verify.errors import TargetLoadError
from verify.results import Status
from verify.specs import get_spec
from verify.runner import RunPlan, prepare

TARGETS = "tests/held_targets.py"


def checks_of(run):
    return {c.name: c for c in run.checks}


def held_of(run):
    """The held hyperparameters, without the named conventions (ε's placement, the momentum form), which a
    target that does not take them always has held at the spec's form."""
    conventions = {p.name for p in get_spec(run.spec).params if p.choices or p.type is bool}
    return {k: (v["value"], v["source"]) for k, v in run.held.items() if k not in conventions}


# ----- explicit values are held, whatever they are --------------------------------------------------------


@pytest.mark.parametrize("value", [0.9, 0.5])
def test_a_given_value_is_held_even_when_it_is_the_default(value):
    seen = set()

    def spy(lr, b1, b2, eps, weight_decay):
        seen.add(b1)
        return reference.adam(lr, b1, b2, eps, weight_decay)

    run = verify.check_conforms(spy, "adam", b1=value, max_examples=15, checks="conformance")
    assert run.checks[0].status is Status.PASS, run.checks[0].message
    assert seen == {value}
    assert held_of(run) == {"b1": (value, "given")}


def test_an_explicit_zero_decay_is_held_not_replaced():
    """weight_decay=0 given: the decay checks skip saying so (no silent 0.1), and conformance never draws a decay."""
    seen = set()

    def spy(lr, b1, b2, eps, weight_decay):
        seen.add(weight_decay)
        return reference.adam(lr, b1, b2, eps, weight_decay)

    run = verify.check_conforms(spy, "adam", weight_decay=0.0, max_examples=15,
                                checks=["conformance", "coupled-decay", "constant-gradient"])
    c = checks_of(run)
    assert c["conformance"].status is Status.PASS and seen == {0.0}
    assert c["coupled-decay"].status is Status.SKIP
    assert "needs weight_decay > 0" in c["coupled-decay"].message and "held at 0 (given explicitly" in c["coupled-decay"].message
    assert c["constant-gradient"].status is Status.PASS


def test_an_ignored_decay_is_held_at_the_default_and_fails_only_where_the_spec_decays():
    """An Adam that takes weight_decay and ignores it: held at the default (adam: 0, no decay), where every
    iterate matches, but the code names a feature it does not apply: inconclusive, naming the --param that checks
    it without the feature; declared 0, it passes. Under adamw, whose default decays, it is 'weight_decay
    ignored' — and so under adam when a decay is declared."""
    def no_decay(lr, b1, b2, eps, weight_decay):
        return reference.adam(lr, b1, b2, eps, 0.0)

    run = verify.check_conforms(no_decay, "adam", max_examples=15, checks="conformance")
    assert run.checks[0].status is Status.INCONCLUSIVE and held_of(run)["weight_decay"] == (0.0, "ignored")
    assert "changed nothing on a probe stream" in run.checks[0].message
    assert run.checks[0].message.endswith("--param weight_decay=0.0")
    assert "weight_decay held at 0: no_decay takes it, but its value does not change the iterates" in \
        run.hyperparameters
    assert verify.check_conforms(no_decay, "adam", weight_decay=0.0, max_examples=15, checks="conformance").passed
    for spec, given in (("adamw", {}), ("adam", {"weight_decay": 0.1})):
        run = verify.check_conforms(no_decay, spec, params=given, max_examples=15, checks="conformance")
        assert run.checks[0].status is Status.FAIL and "weight_decay ignored" in run.checks[0].diagnosis


# ----- hyperparameters the target does not take ------------------------------------------------------------


def test_only_lr_is_varied_and_the_rest_held_at_the_defaults_and_reported(tmp_path):
    status, runs, out = verify_check(tmp_path, [f"{TARGETS}:OnlyLrAdam"], ["adam"], "--html",
                                     str(tmp_path / "r.html"), max_examples=10)
    run = runs[(f"{TARGETS}:OnlyLrAdam", "adam")]
    assert status == 0, out
    read = ("b1, b2, eps held at 0.9, 0.999, 1e-08: read from OnlyLrAdam().beta1, OnlyLrAdam().beta2, "
            "OnlyLrAdam().epsilon")                       # what its constructor sets, read off a fresh object
    line = "weight_decay, eps_placement held at 0, outside: OnlyLrAdam does not take them"
    for text in (read, line):
        assert text in out                                # terminal
        assert text in run["hyperparameters"]             # JSON
        assert text in (tmp_path / "r.html").read_text(encoding="utf-8")    # HTML
    assert "varied over their valid range: lr" in run["hyperparameters"]
    assert {k: v["source"] for k, v in run["held"].items()} == {"b1": "read", "b2": "read", "eps": "read",
                                                               "weight_decay": "not-taken", "eps_placement": "not-taken"}
    mapping = " ".join(run["mapping"])
    assert "learning_rate" in mapping                     # lr reached it under its own keyword name


def test_other_keyword_names_and_a_betas_tuple_are_recognised():
    prep = prepare(RunPlan(T.KerasNamedAdam, "adam"))
    assert prep.subject.takes == {"lr", "b1", "b2", "eps"} and set(prep.held) == {"weight_decay", "eps_placement"}
    assert any("lr → learning_rate" in m and "b1 → beta_1" in m for m in prep.subject.mapping)
    prep = prepare(RunPlan(T.BetasTupleAdam, "adam"))
    assert prep.subject.takes == {"lr", "b1", "b2", "eps", "weight_decay"} and set(prep.held) == {"eps_placement"}
    run = verify.check_conforms(T.BetasTupleAdam, "adam", max_examples=15, checks="conformance")
    assert run.passed, run.checks[0].message


def test_a_hard_coded_value_set_in_the_constructor_is_read():
    run = verify.check_conforms(T.HardCodedB2Adam, "adam", max_examples=15, checks="conformance")
    assert run.passed and held_of(run)["b2"] == (0.99, "read"), run.checks[0].message


def test_a_hard_coded_literal_other_than_the_default_is_inconclusive_not_a_failure():
    """β2 = 0.99 as a literal in the update, not taken: at the assumed 0.999 the iterates differ, and they match
    exactly with 0.99 — the assumption is what failed, so the verdict is inconclusive, naming the value."""
    run = verify.check_conforms(T.LiteralB2Adam, "adam", max_examples=15, checks="conformance")
    c = run.checks[0]
    assert c.status is Status.INCONCLUSIVE, c.message
    assert "b2 = 0.99" in c.message and "--param b2=0.99" in c.message
    declared = verify.check_conforms(T.LiteralB2Adam, "adam", b2=0.99, max_examples=15, checks="conformance")
    assert declared.passed, declared.checks[0].message


def test_two_hard_coded_values_other_than_the_defaults_are_inconclusive_not_a_failure():
    """β2 = 0.98 and ε = 1e-9 as literals: no single changed value explains the iterates, the two together do
    (exactly, on every probe stream), so the verdict names both; declared, the same code passes."""
    run = verify.check_conforms(T.TransformerAdam, "adam", max_examples=15, checks="conformance")
    c = run.checks[0]
    assert c.status is Status.INCONCLUSIVE, c.message
    assert "--param b2=0.98 --param eps=1e-09" in c.message, c.message
    declared = verify.check_conforms(T.TransformerAdam, "adam", b2=0.98, eps=1e-9, max_examples=15,
                                     checks="conformance")
    assert declared.passed, declared.checks[0].message
    # the same values with a real bug: no change of the assumed values explains it
    bad = verify.check_conforms(T.TransformerAdamNoCorrection, "adam", max_examples=15, checks="conformance")
    assert bad.checks[0].status is Status.FAIL, bad.checks[0].message


def test_a_bug_behind_a_hard_coded_value_still_fails():
    for given in ({"b2": 0.99}, {}):           # declared, or read from the object
        run = verify.check_conforms(T.HardCodedB2NoCorrection, "adam", params=given, max_examples=15,
                                    checks="conformance")
        c = run.checks[0]
        assert c.status is Status.FAIL and "without bias correction" in c.diagnosis, c.diagnosis


def test_kwargs_pass_what_changes_the_iterates_and_hold_the_rest():
    prep = prepare(RunPlan(T.KwargsMomentum, "momentum"))
    assert prep.subject.takes == {"lr", "momentum"} and set(prep.held) == {"form"}
    prep = prepare(RunPlan(T.KwargsSwallowed, "momentum"))
    assert prep.subject.takes == {"lr"} and prep.held["momentum"].source == "not-taken"
    assert any("does not change the iterates" in m for m in prep.subject.mapping)
    assert verify.check_conforms(T.KwargsSwallowed, "momentum", max_examples=10).passed


def test_a_required_parameter_the_protocol_cannot_give_is_a_usage_error():
    class NeedsShape:
        def __init__(self, shape, lr=0.01):
            self.lr = lr

        def step(self, params, grads):
            return params - self.lr * grads

    with pytest.raises(TargetLoadError, match="requires shape"):
        prepare(RunPlan(NeedsShape, "sgd"))


# ----- checks adapt to held values, or skip saying why -----------------------------------------------------


@pytest.mark.parametrize("lr", [0.5, 1e-4])
def test_rate_checks_run_at_a_held_step_size(lr):
    """A held η: the quadratic is scaled so that η·λ is what the property needs; a bug is still caught."""
    from tests.buggy.optimizers.sgd import LrTwice

    run = verify.check_conforms("reference", "sgd", lr=lr, checks=["gd-stability", "gd-optimal-rate"])
    assert all(c.status is Status.PASS for c in run.checks), [c.message for c in run.checks]
    run = verify.check_conforms(LrTwice, "sgd", lr=lr, checks=["gd-optimal-rate"])
    assert run.checks[0].status is Status.FAIL


@pytest.mark.parametrize("mu", [0.3, 0.95])
def test_momentum_rates_run_at_a_held_momentum(mu):
    from tests.buggy.optimizers.nesterov import HeavyBall

    run = verify.check_conforms(T.Momentum, "momentum", momentum=mu, checks=["heavy-ball-rate", "heavy-ball-stability"])
    assert all(c.status is Status.PASS for c in run.checks), [c.message for c in run.checks]
    run = verify.check_conforms("reference", "nesterov", momentum=mu, lr=0.3, checks=["nesterov-rate"])
    assert run.checks[0].status is Status.PASS, run.checks[0].message
    if mu < 0.5:   # near 1 the two rates differ by less than the measurement allows
        run = verify.check_conforms(HeavyBall, "nesterov", momentum=mu, checks=["nesterov-rate"])
        assert run.checks[0].status is Status.FAIL


def test_a_held_value_a_check_cannot_use_skips_it_with_the_reason():
    run = verify.check_conforms(T.Momentum, "momentum", momentum=0.0, checks=["heavy-ball-rate", "conformance"])
    c = checks_of(run)
    assert c["heavy-ball-rate"].status is Status.SKIP
    assert "momentum is held at 0 (given explicitly" in c["heavy-ball-rate"].message
    assert c["conformance"].status is Status.PASS


# ----- objects built beforehand, partial ----------------------------------------------------------------


def test_a_built_instance_runs_at_its_own_hyperparameters_from_fresh_copies():
    before = vars(T.built_adam).copy()
    run = verify.check_conforms(f"{TARGETS}:built_adam", "adam", max_examples=10)
    assert run.passed, [(c.name, c.message[:300]) for c in run.checks if c.status.is_problem]
    assert held_of(run)["lr"] == (0.01, "read") and held_of(run)["weight_decay"] == (0.0, "built")
    assert "built_adam.learning_rate" in run.held["lr"]["why"]
    assert vars(T.built_adam) == before          # the object as loaded is never stepped
    assert T.built_adam.m is None


def test_a_built_instance_with_another_value_than_assumed_is_caught_by_the_reading():
    """built_momentum has lr = 0.05, μ = 0.5 as attributes: read, held, and the checks pass at those values."""
    run = verify.check_conforms(f"{TARGETS}:built_momentum", "momentum", max_examples=10)
    assert held_of(run) == {"lr": (0.05, "read"), "momentum": (0.5, "read")}
    assert run.passed


def test_an_instance_that_has_already_stepped_is_refused():
    with pytest.raises(TargetLoadError, match="has already taken steps: velocity"):
        prepare(RunPlan(f"{TARGETS}:stepped_momentum", "momentum"))


def test_partial_binds_are_held():
    run = verify.check_conforms(f"{TARGETS}:partial_momentum", "momentum", max_examples=10)
    assert held_of(run) == {"momentum": (0.5, "bound")}
    assert run.passed


# ----- CS231n's f(w, dw, config) ------------------------------------------------------------------------


def test_cs231n_config_functions_are_driven_through_their_config():
    prep = prepare(RunPlan(T.rmsprop, "rmsprop"))
    assert prep.subject.takes == {"lr", "rho", "eps"}
    assert any("'decay_rate' ← rho (its own default 0.99)" in m for m in prep.subject.mapping)
    assert verify.check_conforms(T.rmsprop, "rmsprop", max_examples=10).passed
    sgd = verify.check_conforms(T.sgd, "sgd", max_examples=10)          # w -= …; return w, config: in place
    assert sgd.passed and "updated in place" in checks_of(sgd)["no-input-mutation"].message
    bad = verify.check_conforms(T.rmsprop_eps_inside, "rmsprop", max_examples=10, checks="conformance")
    assert bad.checks[0].status is Status.FAIL and "ε inside the square root" in bad.checks[0].diagnosis


# ----- hygiene ------------------------------------------------------------------------------------------


def test_nan_iterates_are_not_called_input_mutation():
    """NaN ≠ NaN: a target whose iterates become NaN fails no-nan, not no-input-mutation."""
    run = verify.check_conforms(T.MakesNaN, "sgd", checks=["no-input-mutation", "no-nan"])
    c = checks_of(run)
    assert c["no-input-mutation"].status is Status.PASS, c["no-input-mutation"].message
    assert c["no-nan"].status is Status.FAIL


# ----- library objects ----------------------------------------------------------------------------------


@pytest.mark.torch
def test_a_torch_optimizer_instance_is_rebuilt_from_its_own_defaults():
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(2)], lr=0.05, momentum=0.5)
    run = verify.check_conforms(opt, "momentum", max_examples=10, checks=["conformance", "heavy-ball-rate"])
    assert held_of(run) == {"lr": (0.05, "read"), "momentum": (0.5, "read")}
    assert all(c.status is Status.PASS for c in run.checks), [c.message for c in run.checks]
    p = torch.nn.Parameter(torch.ones(2))
    stepped = torch.optim.SGD([p], lr=0.05, momentum=0.5)
    p.grad = torch.ones(2)
    stepped.step()
    with pytest.raises(TargetLoadError, match="already taken steps"):
        prepare(RunPlan(stepped, "momentum"))


@pytest.mark.torch
def test_state_a_torch_constructor_makes_is_not_a_step():
    """torch.optim.Adagrad fills state['sum'] (at initial_accumulator_value) and state['step'] in its constructor:
    built in a module it is accepted, read at its own value; once stepped it is refused."""
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.zeros(3))
    built = torch.optim.Adagrad([p], lr=0.05, initial_accumulator_value=0.1)
    assert built.state                                  # the constructor's state
    held = prepare(RunPlan(built, "adagrad")).held
    assert (held["initial_accumulator_value"].value, held["initial_accumulator_value"].source) == (0.1, "read")
    p.grad = torch.ones(3)
    built.step()
    with pytest.raises(TargetLoadError, match="already taken steps"):
        prepare(RunPlan(built, "adagrad"))


@pytest.mark.optax
def test_an_optax_instance_reads_inject_hyperparams():
    optax = pytest.importorskip("optax")
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=0.003, b1=0.8)
    prep = prepare(RunPlan(tx, "adam"))
    assert {k: (h.value, h.source) for k, h in prep.held.items() if h.source == "read"} == {
        "lr": (0.003, "read"), "b1": (0.8, "read"), "b2": (0.999, "read"), "eps": (1e-8, "read")}
    run = verify.check_conforms(tx, "adam", max_examples=10, checks="conformance")
    assert run.passed, run.checks[0].message


def test_the_json_report_lists_held_and_varied(tmp_path):
    status, runs, out = verify_check(tmp_path, ["reference"], ["momentum"], "--param", "momentum=0.9",
                                     "--check", "conformance", max_examples=5)
    run = runs[("reference", "momentum")]
    why = "given explicitly (--param, or a keyword in Python)"
    assert run["held"] == {"momentum": {"value": 0.9, "source": "given", "why": why}}
    assert run["hyperparameters"] == ["varied over their valid range: lr, form",
                                      f"momentum held at 0.9: {why}"]
    assert json.loads(json.dumps(run))      # strict JSON


# ----- precision ----------------------------------------------------------------------------------------


def test_float32_state_is_compared_within_a_float32_model():
    run = verify.check_conforms(T.Float32StateAdam, "adam", max_examples=10)
    c = checks_of(run)
    assert run.passed, [(x.name, x.message[:300]) for x in run.checks if x.status.is_problem]
    assert "reduced-precision error model" in c["conformance"].message
    assert any("float32" in n and "the optimizer.m" in n for n in c["conformance"].notes), c["conformance"].notes
    assert c["conformance"].metrics["unit_roundoff"] == 2.0 ** -24


def test_returned_float32_is_judged_at_float32_but_fails_the_dtype_rule():
    """Returning float32 for float64 input: the formula is right at float32 precision (conformance passes,
    saying so), and the precision lost is the protocol failure shape-dtype reports."""
    from tests.buggy.optimizers.sgd import Float32

    c = checks_of(verify.check_conforms(Float32, "sgd", max_examples=10, checks=["conformance", "shape-dtype"]))
    assert c["conformance"].status is Status.PASS and "reduced-precision" in c["conformance"].message
    assert c["shape-dtype"].status is Status.FAIL and "float32" in c["shape-dtype"].message


def test_float64_code_keeps_the_float64_model():
    """A float32-sized error in float64 code is not excused: the precision is read from what the target holds."""
    run = verify.check_conforms(T.LrOffBy1e7Adam, "adam", max_examples=10, checks="conformance")
    assert run.checks[0].status is Status.FAIL
    assert "lr = " in run.checks[0].diagnosis         # the fit finds the effective step size


def test_every_optimizer_check_is_inconclusive_where_an_assumed_value_explains_its_failure():
    """lam is assumed at 0.01 (the class calls it weight_decay and defaults it to 0): the decay checks see no
    decay, and the reference at lam = 0 matches every probe stream — inconclusive, naming the value, not FAIL."""
    run = verify.check_conforms(T.WeightDecaySGD, "weight-decay", max_examples=15)
    by_name = {c.name: c for c in run.checks}
    assert not [c.name for c in run.checks if c.status is Status.FAIL]
    for name in ("conformance", "decay-factor", "decay-gradient-finite-difference",
                 "l2-equals-decoupled-without-momentum"):
        c = by_name[name]
        assert c.status is Status.INCONCLUSIVE and "--param lam=0.0" in c.message, (name, c.message)
    declared = verify.check_conforms(T.WeightDecaySGD, "weight-decay", lam=0.0, max_examples=15,
                                     checks="conformance")
    assert declared.passed, declared.checks[0].message


def test_a_hard_coded_bug_that_scales_with_a_varied_value_is_not_taken_for_another_assumed_value():
    run = verify.check_conforms(T.DecayNotScaledSGD, "weight-decay", max_examples=15)
    by_name = {c.name: c.status for c in run.checks}
    assert by_name["conformance"] is Status.FAIL and by_name["decay-factor"] is Status.FAIL, by_name


def test_gradients_modified_in_place_are_reported_not_failed_but_aliasing_fails():
    """`grads *= lr` or np.sign(g, out=g) inside step: the iterates are right and a training loop recomputes the
    gradients, so no-input-mutation passes with a note; a buffer that is the caller's gradient array (modified at a
    later step) is aliasing, and fails."""
    from tests.buggy.optimizers.generic import BufferAliasesGradient
    from tests.buggy.optimizers.sgd import ScalesGradientInPlace

    run = verify.check_conforms(ScalesGradientInPlace, "sgd", max_examples=15,
                                checks=["conformance", "no-input-mutation"])
    c = checks_of(run)
    assert run.passed, [(x.name, x.message) for x in run.checks]
    assert any("modified its argument grads in place" in n for n in c["no-input-mutation"].notes)
    aliased = verify.check_conforms(BufferAliasesGradient, "generic-optimizer", checks=["no-input-mutation"])
    assert aliased.checks[0].status is Status.FAIL and "aliases" in aliased.checks[0].message
