"""Every buggy optimizer in tests/buggy/optimizers is caught by the check named in its BUGS entry,
with a diagnosis (or message) naming the bug where one is claimed; the correct ones (equivalent forms,
in-place updates) pass every check."""

from __future__ import annotations

import importlib

import pytest

from verify.results import Status
from verify.runner import RunOptions, RunPlan, run_inline

MODULES = {
    "sgd": "sgd", "momentum": "momentum", "nesterov": "nesterov", "weight-decay": "weight_decay",
    "sign-sgd": "sign_sgd", "rprop": "rprop", "rmsprop": "rmsprop", "adam": "adam", "adamw": "adamw",
    "generic-optimizer": "generic",
}


def _bugs():
    for spec, mod in MODULES.items():
        bugs = importlib.import_module(f"tests.buggy.optimizers.{mod}").BUGS
        for name, (target, check, phrase) in bugs.items():
            yield pytest.param(spec, target, check, phrase, id=f"{spec}:{name}")


def _correct():
    for spec, mod in MODULES.items():
        for name, target in getattr(importlib.import_module(f"tests.buggy.optimizers.{mod}"), "CORRECT", {}).items():
            yield pytest.param(spec, target, id=f"{spec}:{name}")


def test_at_least_five_bugs_per_spec():
    for spec, mod in MODULES.items():
        bugs = importlib.import_module(f"tests.buggy.optimizers.{mod}").BUGS
        distinct = {target for target, _, _ in bugs.values()}
        assert len(distinct) >= 5, (spec, len(distinct))


@pytest.mark.parametrize("spec, target, check, phrase", list(_bugs()))
def test_bug_is_caught(spec, target, check, phrase):
    run = run_inline(RunPlan(target, spec, options=RunOptions(checks=(check,), max_examples=30, timeout=None)))
    (result,) = run.checks
    assert result.status is Status.FAIL, f"{check} did not catch {target.__name__}: {result.status}\n{result.message}"
    assert check == result.name
    text = f"{result.message}\n{result.diagnosis or ''}"
    if phrase is not None:
        assert phrase in (result.diagnosis or ""), f"diagnosis does not name the bug ({phrase!r}):\n{text}"
    if check == "conformance":
        # the counterexample is explicit and the comparison table is in the message
        assert result.counterexample and "w0" in result.counterexample and "replay" in result.counterexample
        assert "ACTUAL" in result.message and "DESIRED" in result.message
        assert "part from the reference's at step" in result.message


@pytest.mark.parametrize("spec, target", list(_correct()))
def test_equivalent_forms_pass(spec, target):
    run = run_inline(RunPlan(target, spec, options=RunOptions(max_examples=30, timeout=None)))
    bad = [(c.name, c.status.value, c.message[:600]) for c in run.checks if c.status is not Status.PASS]
    assert not bad, bad


def test_sutskever_nesterov_is_heavy_ball_under_the_protocol():
    """Sutskever's form returning w_t: under step(params, grads) the next gradient is taken at w_t, so it is
    heavy ball — conformance and the symbolic iterates fail with that diagnosis, and so does the closed-loop
    rate; none of them passes it as an 'equivalent parameterisation'."""
    from tests.buggy.optimizers.nesterov import Sutskever

    run = run_inline(RunPlan(Sutskever, "nesterov", options=RunOptions(checks=("conformance", "symbolic-iterates",
                                                                        "nesterov-rate"),
                                                                max_examples=20, timeout=None)))
    conf, sym, rate = run.checks
    assert conf.status is Status.FAIL and conf.diagnosis.startswith("matches heavy-ball momentum"), conf.diagnosis
    assert sym.status is Status.FAIL and "heavy-ball momentum" in sym.diagnosis
    assert rate.status is Status.FAIL and "heavy-ball" in rate.diagnosis and "look-ahead" in rate.diagnosis
    assert not any("equivalent" in n for c in run.checks for n in c.notes)


def test_reference_variant_forms():
    """The reference's own alternative forms: Polyak momentum passes everything; Sutskever's Nesterov (returning
    w_t) fails conformance as heavy ball."""
    import reference

    run = run_inline(RunPlan(lambda lr, momentum: reference.momentum(lr, momentum, form="polyak"), "momentum",
                     options=RunOptions(max_examples=20, timeout=None)))
    assert run.passed, [(c.name, c.message[:300]) for c in run.checks if c.status is not Status.PASS]
    run = run_inline(RunPlan(lambda lr, momentum: reference.nesterov(lr, momentum, form="sutskever"), "nesterov",
                     options=RunOptions(checks=("conformance",), max_examples=20, timeout=None)))
    assert run.checks[0].status is Status.FAIL and "heavy-ball momentum" in run.checks[0].diagnosis
