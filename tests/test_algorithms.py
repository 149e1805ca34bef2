"""Every algorithm record has everything the verifier needs: its reference runs, the tolerance model runs
on it and bounds the reference's rounding, its diagnosis variants build and run, its hyperparameters are
drawn valid, each library mapping builds the library's optimizer and runs it (or is an explicit Unmapped
with a reason), and it is a spec. A record missing a field fails when it is built, not at check time."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify import algorithms
from verify import diagnosis as dg
from verify import strategies as vst
from verify import tolerance as tolmod
from verify.algorithms import ALGORITHMS, Algorithm, LibraryMapping, Unmapped, same
from verify.errors import BadParameterError
from verify.params import Param
from verify.specs import SPEC_NAMES, get_spec

IDS = [a.name for a in ALGORITHMS]


def _stream(seed: int = 0, steps: int = 12, n: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    w0 = rng.normal(size=n)
    grads = rng.normal(size=(steps, n)) * 10.0 ** rng.uniform(-2, 1, size=(steps, n))
    grads[3, 2] = 0.0            # an exact zero (sign conventions, Rprop's product)
    return w0, grads


def _positive_decay(a: Algorithm) -> dict[str, float]:
    """The defaults with every decay on and momentum positive: where the decay variants differ at all."""
    hp = a.defaults()
    hp.update({k: 0.05 for k in a.no_decay})
    if "momentum" in hp and hp["momentum"] == 0.0:
        hp["momentum"] = 0.9
    return hp


# ------------------------------------------------------------------ registry


def test_every_algorithm_is_a_spec_in_the_registry_order():
    optimizer_specs = [n for n in SPEC_NAMES if algorithms.find(n) is not None]
    assert sorted(optimizer_specs, key=algorithms.NAMES.index) == list(algorithms.NAMES)
    for a in ALGORITHMS:
        spec = get_spec(a.name)
        assert (spec.title, spec.formula, spec.params) == (a.title, a.formula, a.params)
        assert spec.reference({}) is a.reference
        assert algorithms.get(a.name) is a and algorithms.resolve(spec) is a
    assert algorithms.find("generic-optimizer") is None
    with pytest.raises(KeyError, match="the algorithms are sgd"):
        algorithms.get("ftrl")


# ----------------------------------------------------------- reference, tolerance


@pytest.mark.parametrize("a", ALGORITHMS, ids=IDS)
def test_the_reference_runs_and_the_tolerance_model_bounds_its_rounding(a):
    w0, grads = _stream()
    for hp in (a.defaults(), _positive_decay(a)):
        ref = dg.run_variant(a.build(hp), w0, grads)[1:]
        assert ref.shape == grads.shape and np.all(np.isfinite(ref))
        assert np.any(ref != w0), "the reference never moves"
        values, bound = tolmod.error_bound(a.name, hp, w0, grads)
        assert values.shape == bound.shape == grads.shape
        assert np.all(bound >= 0) and np.all(np.isfinite(bound))
        # the model's own iterates are the algorithm's, within its bound (a second implementation of the
        # algorithm that computes something else would differ by far more than rounding)
        assert np.all(np.abs(values - ref) <= tolmod.SAFETY * bound), np.max(np.abs(values - ref) / bound)
        # and the bound is rounding-sized, not a loose allowance
        assert np.all(bound <= 1e-10 * np.cumsum(np.abs(ref) + np.abs(np.diff(ref, axis=0, prepend=w0[None])),
                                                 axis=0) + 1e-300)


# -------------------------------------------------------------------- diagnosis


@pytest.mark.parametrize("a", ALGORITHMS, ids=IDS)
def test_every_diagnosis_variant_builds_and_runs(a):
    w0, grads = _stream(1)
    variants = dg.variants_for(a)
    assert variants == dg.variants_for(a.name)
    assert variants[-1].name == f"{a.name}/one-step-lag"
    names = [v.name for v in variants]
    assert len(set(names)) == len(names)
    ran = 0
    for v in variants:
        assert a.name in v.specs and v.description
        for hp in (a.defaults(), _positive_decay(a)):
            if not v.applies(hp):
                continue
            traj = dg.run_variant(v.build(hp), w0, grads)
            assert traj.shape == (grads.shape[0] + 1, *w0.shape), v.name
            ran += 1
            if v.equivalent:      # the same iterates as the reference, within the tolerance
                ref = dg.run_variant(a.build(hp), w0, grads)
                tol = tolmod.tolerance(a.name, hp, w0, grads)
                assert np.all(np.abs(traj[1:] - ref[1:]) <= tol), v.name
    assert ran >= len(variants)     # every variant ran at one of the two settings at least


# ------------------------------------------------------------------- strategies


@settings(max_examples=120)
@given(st.sampled_from(ALGORITHMS).flatmap(lambda a: st.tuples(st.just(a), vst.hyperparameters(a))))
def test_drawn_hyperparameters_are_valid(pair):
    a, hp = pair
    assert set(hp) == {p.name for p in a.params}
    for p in a.params:
        assert p.parse(hp[p.name]) == hp[p.name]
    a.check(hp)                     # the constraints between hyperparameters hold
    a.build(hp)                     # and the reference accepts them


def test_validate_refuses_what_the_ranges_cannot_say():
    rprop = algorithms.get("rprop")
    with pytest.raises(BadParameterError, match="min_step_size 2.0 exceeds max_step_size 1.0"):
        rprop.check(dict(rprop.defaults(), min_step_size=2.0, max_step_size=1.0))
    for a in ALGORITHMS:
        a.check(a.defaults())


# -------------------------------------------------------------- library mappings


def _mapping_ok(a: Algorithm, library: str) -> LibraryMapping | None:
    mapping = a.mapping(library)
    assert isinstance(mapping, (LibraryMapping, Unmapped)), (a.name, library)
    if isinstance(mapping, Unmapped):
        assert len(mapping.reason) > 20, mapping.reason
        return None
    assert mapping.names and all(s in {p.name for p in a.params} for r in mapping.rules for s in r.sources)
    return mapping


def _runs_as_the_reference_or_a_named_variant(a: Algorithm, subject, what: str) -> None:
    w0, grads = _stream(2, steps=8)
    hp = a.defaults()
    subject.one_tensor = a.one_tensor          # what verify.adapters.adapt's finish sets (LAMB: one layer)
    got = np.concatenate([w0[None], np.asarray(subject.run(dict(hp), w0, list(grads)), dtype=np.float64)])
    ref = dg.run_variant(a.build(hp), w0, grads)
    tol = np.concatenate([np.zeros((1, w0.size)), tolmod.tolerance(a.name, hp, w0, grads)])
    if np.all(np.abs(got - ref) <= tol):
        return
    # a library that departs from the canonical form must depart as a catalogued variant (optax's Rprop lag)
    found = dg.diagnose(a, [dg.Case(hp, w0, grads, got, ref, tol)], fit=False)
    assert found.matches, f"{what} under {a.name}: neither the reference nor a named variant ({found.text})"


def _torch_sign_sgd(torch):
    class SignSGD(torch.optim.SGD):
        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.add_(torch.sign(p.grad), alpha=-group["lr"])

    return SignSGD


def _torch_lion(torch):
    from tests.test_lion import _lucidrains

    return _lucidrains(torch)


def _torch_lamb(torch):
    from tests.test_lamb import _torch_lamb as lamb

    return lamb(torch)


@pytest.mark.torch
@pytest.mark.parametrize("a", ALGORITHMS, ids=IDS)
def test_the_torch_mapping_builds_torch_s_optimizer(a):
    mapping = _mapping_ok(a, "torch")
    if mapping is None:
        return
    torch = pytest.importorskip("torch")
    from verify.adapters import torch_adapter

    cls = getattr(torch.optim, mapping.primary)
    if not mapping.builtin:          # torch has no such optimizer: a subclass following its constructor
        cls = {"sign-sgd": _torch_sign_sgd, "lion": _torch_lion, "lamb": _torch_lamb}[a.name](torch)
    subject = torch_adapter.optimizer(cls, get_spec(a.name), a.name)
    assert any(mapping.primary in line for line in subject.mapping)
    _runs_as_the_reference_or_a_named_variant(a, subject, f"torch.optim.{mapping.primary}")


@pytest.mark.optax
@pytest.mark.parametrize("a", ALGORITHMS, ids=IDS)
def test_the_optax_mapping_builds_optax_s_optimizer(a):
    mapping = _mapping_ok(a, "optax")
    if mapping is None:
        return
    optax = pytest.importorskip("optax")
    from verify.adapters import optax_adapter

    for name in mapping.names:
        subject = optax_adapter.optimizer(getattr(optax, name), get_spec(a.name), f"optax.{name}")
        _runs_as_the_reference_or_a_named_variant(a, subject, f"optax.{name}")


# ----------------------------------------------------------- records fail early


def _record(**changes):
    base = dict(name="demo", title="Demo", formula="w ← w − ηg",
                params=(Param("lr", 0.1, "η", low=0.0, low_open=True, draw=lambda: st.just(0.1)),),
                reference=lambda lr: None, variants=(),
                torch=LibraryMapping(("SGD",), (same("lr"),)), optax=Unmapped("no optax counterpart in this test"),
                keras=Unmapped("no keras counterpart in this test"))
    base.update(changes)
    return Algorithm(**base)


def test_a_record_missing_a_field_or_naming_an_unknown_hyperparameter_fails_when_built():
    _record()
    fields = {f.name for f in dataclasses.fields(Algorithm) if f.default is dataclasses.MISSING
              and f.default_factory is dataclasses.MISSING}
    assert fields == {"name", "title", "formula", "params", "reference", "variants", "torch", "optax", "keras"}
    with pytest.raises(TypeError):
        Algorithm(name="demo", title="Demo", formula="…", params=(), reference=print, variants=(), torch=None)
    with pytest.raises(ValueError, match="optax must be a LibraryMapping or Unmapped"):
        _record(optax=None)
    with pytest.raises(ValueError, match="keras must be a LibraryMapping or Unmapped"):
        _record(keras=None)
    with pytest.raises(ValueError, match="its torch mapping names momentum"):
        _record(torch=LibraryMapping(("SGD",), (same("lr"), same("momentum"))))
    with pytest.raises(ValueError, match="no_decay names lam"):
        _record(no_decay={"lam": 0.0})
    with pytest.raises(ValueError, match="no draw for lr"):
        _record(params=(Param("lr", 0.1, "η", low=0.0, low_open=True),))
    with pytest.raises(ValueError, match="Unmapped needs a reason"):
        Unmapped("")
