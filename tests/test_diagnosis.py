"""The diagnosis catalogue: every named variant, used as a target, is reported as itself; the
structural findings and the hyperparameter fit name what they claim; nothing is claimed without a match."""

from __future__ import annotations

import numpy as np
import pytest

import reference
from verify import algorithms
from verify import diagnosis as dg
from verify.algorithms import ALGORITHMS
from verify.algorithms.sign import optax_rprop
from verify.evidence import Diagnosis, DiagnosisKind
from verify.results import Status
from verify.runner import RunOptions, RunPlan, run_inline
from verify.specs import get_spec


def _switched_on(a: algorithms.Algorithm) -> dict[str, float]:
    """Hyperparameters under which an algorithm's variants differ from it at all: each decay on (its
    ``no_decay`` ones at 0.05) and each decay rate that is off by default (weight-decay's momentum) at 0.9."""
    pins = {name: 0.05 for name in a.no_decay}
    pins.update({p.name: 0.9 for p in a.params
                 if p.default == 0.0 and p.name not in pins and (p.low, p.high) == (0.0, 1.0)})
    return pins


# A variant that differs only where a hyperparameter is far from its default: Rprop without the clip at a
# zero product shows only once a step reaches max_step_size.
VARIANT_PINS = {"rprop/no-clip-at-zero": {"lr": 100.0},
                # the decoupled decay's own bugs differ only where the decay is decoupled
                **{f"{spec}/{bug}": {"weight_decay": 0.05, "decoupled_weight_decay": True}
                   for spec in ("amsgrad", "adamax", "nadam", "radam")
                   for bug in ("coupled-decay", "decay-after-step", "decay-not-scaled-by-lr")},
                # a published convention named from a run at another one
                "amsgrad/maximum-of-v": {"maximum_of": "v-hat"},
                "adamax/eps-placement-inside-max": {"eps_placement": "outside-max"},
                "nadam/schedule-dozat": {"schedule": "constant"},
                "radam/threshold-pytorch": {"threshold": "paper"},
                "radam/eps-placement-hat": {"eps_placement": "outside"},
                "radam/degenerated-to-sgd-true": {"degenerated_to_sgd": False},
                # LAMB's bugs are written in the paper's decay form; the paper form named under Keras'
                "lamb/paper-decay": {"weight_decay_form": "keras"}}

PINS = {**{a.name: _switched_on(a) for a in ALGORITHMS}, **VARIANT_PINS}
PINS["lamb"] = {**PINS["lamb"], "weight_decay_form": "paper"}

VARIANTS = [(spec, v) for v in dg.CATALOGUE + dg._LAG for spec in v.specs]


def _factory(spec, build):
    """A factory taking the spec's hyperparameters by name, as a user's would (not through **kwargs)."""
    import inspect

    from verify.specs import get_spec

    def factory(**hp):
        return build(hp)

    factory.__signature__ = inspect.Signature(
        [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY) for p in get_spec(spec).params])
    return factory


@pytest.mark.parametrize("spec, variant", VARIANTS, ids=[f"{s}:{v.name}" for s, v in VARIANTS])
def test_each_variant_is_diagnosed_as_itself(spec, variant):
    pins = dict(PINS.get(spec, {}), **PINS.get(variant.name, {}))
    run = run_inline(RunPlan(_factory(spec, variant.build), spec, pins,
                     RunOptions(checks=("conformance",), max_examples=25, timeout=None)))
    result = run.checks[0]
    if variant.equivalent:
        assert result.status is Status.PASS, result.message
        return
    assert result.status is Status.FAIL, f"{variant.name} passed conformance"
    assert variant.description in (result.diagnosis or ""), result.diagnosis
    assert result.diagnosis.startswith("matches ") or "also consistent with" in result.diagnosis
    # the typed record says the same as the text
    assert isinstance(result.diagnosis, Diagnosis) and variant.name in result.diagnosis.matched_names
    assert result.diagnosis.kind in (DiagnosisKind.VARIANT, DiagnosisKind.EQUIVALENT)


def test_catalogue_covers_the_issue_list():
    names = {v.name for v in dg.CATALOGUE + dg._LAG}
    for wanted in ("adam/eps-inside", "rmsprop/eps-inside", "adam/eps-hat", "adam/no-bias-correction",
                   "adam/bias-correction-off-by-one", "adam/swapped-betas", "momentum/ema",
                   "momentum/torch-dampening", "sgd/one-step-lag", "rprop/rprop-minus", "rprop/rprop-plus",
                   "rprop/no-bounds", "momentum/polyak", "adam/decoupled-decay", "adamw/coupled-decay",
                   "weight-decay/half", "weight-decay/decoupled", "nesterov/heavy-ball"):
        assert wanted in names, wanted
    # every optimizer spec has a catalogue; those the issue listed, five entries at least
    issue_list = ("sgd", "momentum", "nesterov", "weight-decay", "sign-sgd", "rprop", "rmsprop", "adam", "adamw")
    for a in ALGORITHMS:
        spec = a.name
        assert len(dg.variants_for(spec)) >= (1 if spec == "sgd" else 5 if spec in issue_list else 2), spec


@pytest.mark.parametrize("a", ALGORITHMS, ids=[a.name for a in ALGORITHMS])
def test_every_algorithm_s_catalogue_can_be_told_apart(a):
    """What the diagnosis needs of every record: named variants of its own (plain SGD has only the lag), with
    distinct names and descriptions (the text names a variant by its description), each differing from the
    algorithm (``applies``) somewhere conformance draws from at the pins of its run (a published convention
    at the default value differs only where the run's is another), and the lag last."""
    from hypothesis import Phase, find, settings
    from hypothesis.errors import NoSuchExample

    from verify import strategies as vst

    variants = dg.variants_for(a)
    assert variants[-1].name == f"{a.name}/one-step-lag"
    assert len(variants) >= (1 if a.name == "sgd" else 2)
    assert len({v.name for v in variants}) == len({v.description for v in variants}) == len(variants)
    for v in variants:
        pins = dict(_switched_on(a), **VARIANT_PINS.get(v.name, {}))
        if v.applies(dict(a.defaults(), **pins)):
            continue
        try:
            find(vst.hyperparameters(a, **pins), v.applies,
                 settings=settings(max_examples=300, database=None, derandomize=True, phases=[Phase.generate]))
        except NoSuchExample:
            pytest.fail(f"{v.name} differs from {a.name} nowhere in the drawn range at {pins}: never tried")


def test_no_claim_without_a_match():
    """An unrelated bug gets 'closest …' with its distance in tolerances, never 'matches'."""
    def weird(lr, rho, eps):
        def init(p):
            return np.zeros_like(p)

        def update(g, s, p):
            s = rho * s + (1 - rho) * np.abs(g) ** 3
            return p - lr * g / (np.cbrt(s) + eps), s

        return reference.Optimizer(init, update)

    result = run_inline(RunPlan(weird, "rmsprop", options=RunOptions(checks=("conformance",), timeout=None))).checks[0]
    assert result.status is Status.FAIL
    assert not result.diagnosis.startswith("matches")
    assert "closest" in result.diagnosis and "× the tolerance" in result.diagnosis
    d = result.diagnosis
    assert d.kind is DiagnosisKind.NO_MATCH and d.match is None and d.matches == ()
    # every variant of the catalogue was compared, closest first, and the text quotes the closest's distance
    assert [c.name for c in sorted(d.candidates, key=lambda c: c.ratio)] == [c.name for c in d.candidates]
    # (those that apply at the run's hyperparameters: momentum and centring are held off, so not their variants)
    held = {p.name: p.default for p in get_spec("rmsprop").params}
    assert {c.name for c in d.candidates} == {v.name for v in dg.variants_for("rmsprop") if v.applies(held)}
    assert f"the closest is {d.closest.description} at {dg.fmt(d.closest.ratio)} × the tolerance" in d


def test_structural_constant_factor_and_lag():
    hp = {"lr": 0.1}
    rng = np.random.default_rng(0)
    w0, g = rng.normal(size=3), rng.normal(size=(10, 3))
    ref = dg.run_variant(reference.sgd(**hp), w0, g)
    tol = np.full_like(ref, 1e-15)
    double = np.concatenate([w0[None], w0 + 2 * np.cumsum(ref[1:] - ref[:-1], axis=0)])
    findings = dg._structural("sgd", [dg.Case(hp, w0, g, double, ref, tol)])
    assert any("every step is 2 × the reference's" in f for f in findings), findings
    lagged = np.concatenate([w0[None], ref[:-1]])
    findings = dg._structural("sgd", [dg.Case(hp, w0, g, lagged, ref, tol)])
    assert any(f.startswith("one-step lag") for f in findings), findings
    up = np.concatenate([w0[None], w0 - np.cumsum(ref[1:] - ref[:-1], axis=0)])
    findings = dg._structural("sgd", [dg.Case(hp, w0, g, up, ref, tol)])
    assert any("ascent" in f for f in findings), findings


def test_hyperparameter_fit_names_relations():
    def mu_squared(lr, momentum):
        return reference.momentum(lr, momentum * momentum)

    def hard_coded_b2(lr, b1, b2, eps, weight_decay):
        return reference.adam(lr, b1, 0.999, eps, weight_decay)

    r = run_inline(RunPlan(mu_squared, "momentum", options=RunOptions(checks=("conformance",), timeout=None))).checks[0]
    assert "momentum = 0.81 = momentum² instead of 0.9" in r.diagnosis
    fit = r.diagnosis.fit
    assert r.diagnosis.kind is DiagnosisKind.HYPERPARAMETER and fit.exact and not fit.dropped
    assert (fit.name, fit.original) == ("momentum", 0.9) and fit.value == pytest.approx(0.9 * 0.9, rel=1e-12)
    assert f"(max difference {dg.fmt(fit.max_diff)})" in r.diagnosis
    r = run_inline(RunPlan(hard_coded_b2, "adam", {"b2": 0.99}, RunOptions(checks=("conformance",), timeout=None))).checks[0]
    assert "b2 = 0.999, the default: the target ignores the b2 it is given" in r.diagnosis
    assert (r.diagnosis.fit.name, r.diagnosis.fit.value, r.diagnosis.fit.original) == ("b2", 0.999, 0.99)


def test_a_dropped_hyperparameter_is_named_in_the_record():
    """RMSprop without its ε (a bug the record lists in dropped_by_bugs): the reference at ε = 0 matches."""
    def no_eps(lr, rho, eps):
        return reference.rmsprop(lr, rho, 0.0)

    r = run_inline(RunPlan(no_eps, "rmsprop", options=RunOptions(checks=("conformance",), timeout=None))).checks[0]
    assert r.status is Status.FAIL and "eps = 0: the target ignores eps" in r.diagnosis, r.diagnosis
    assert r.diagnosis.kind is DiagnosisKind.HYPERPARAMETER and r.diagnosis.dropped == "eps"


def test_a_structural_finding_is_a_finding():
    """Ascent (every step × −1) matches no variant and no single hyperparameter: the finding is the cause."""
    def ascent(lr, rho, eps):
        inner = reference.rmsprop(lr, rho, eps)

        def update(g, s, p):
            new, s = inner.update(g, s, p)
            return 2 * p - new, s

        return reference.Optimizer(inner.init, update)

    r = run_inline(RunPlan(ascent, "rmsprop", options=RunOptions(checks=("conformance",), timeout=None))).checks[0]
    assert r.status is Status.FAIL and "ascent" in r.diagnosis, r.diagnosis
    assert r.diagnosis.kind is DiagnosisKind.FINDING and r.diagnosis.findings
    assert all(f in r.diagnosis for f in r.diagnosis.findings)
    assert r.diagnosis.fit is None or not r.diagnosis.fit.exact


def test_optax_rprop_variant_is_optax():
    """The catalogue's optax Rprop reproduces optax 0.2's scale_by_rprop step for step."""
    optax = pytest.importorskip("optax")
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    hp = {"lr": 0.01, "eta_minus": 0.5, "eta_plus": 1.2, "min_step_size": 1e-6, "max_step_size": 50.0}
    rng = np.random.default_rng(3)
    g = rng.normal(size=(25, 4))
    g[::4] *= -1
    w0 = rng.normal(size=4)
    ours = dg.run_variant(optax_rprop(hp), w0, g)
    tx = optax.rprop(hp["lr"], hp["eta_minus"], hp["eta_plus"], hp["min_step_size"], hp["max_step_size"])
    p, s = jnp.asarray(w0), tx.init(jnp.asarray(w0))
    theirs = [w0]
    for gi in g:
        u, s = tx.update(jnp.asarray(gi), s, p)
        p = optax.apply_updates(p, u)
        theirs.append(np.asarray(p))
    np.testing.assert_array_equal(ours, np.array(theirs))
