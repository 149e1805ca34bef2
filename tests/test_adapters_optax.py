"""The optax adapter: factories, instances and users' chains against the reference."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

optax = pytest.importorskip("optax")
jax = pytest.importorskip("jax")

import reference  # noqa: E402
from verify.adapters.protocol import optimizers as numpy_protocol  # noqa: E402
from verify.adapters import optax_adapter as oa  # noqa: E402
from verify.adapters.base import OptimizerSubject  # noqa: E402
from verify.errors import BadParameterError, MissingDependencyError, ProtocolError, TargetError, TargetLoadError  # noqa: E402
from verify.specs import SPEC_NAMES, get_spec  # noqa: E402
from verify.specs.base import Family, Param, Spec  # noqa: E402
from verify.targets import load_target  # noqa: E402

pytestmark = pytest.mark.optax

BUGGY = Path(__file__).resolve().parent / "buggy" / "optax_chains.py"


def chain(name):
    return load_target(f"{BUGGY}:{name}")


def spec_stub(name, params=None):
    if params is None:      # the registered spec's params: the defaults of the conventions optax holds
        params = get_spec(name).params if name in SPEC_NAMES else ()
    return Spec(name=name, family=Family.OPTIMIZER, title=name, formula="", params=params, checks=(),
                reference=lambda p: None, accepts_extra_params=name == "generic-optimizer")


REF = {
    "sgd": reference.sgd, "momentum": reference.momentum, "nesterov": reference.nesterov,
    "weight-decay": reference.sgd_weight_decay, "sign-sgd": reference.sign_sgd, "rprop": reference.rprop,
    "rmsprop": reference.rmsprop, "adam": reference.adam, "adamw": reference.adamw,
}

HP = {
    "sgd": dict(lr=0.1),
    "momentum": dict(lr=0.05, momentum=0.9),
    "nesterov": dict(lr=0.05, momentum=0.9),
    "weight-decay": dict(lr=0.05, lam=0.2, momentum=0.9),
    "sign-sgd": dict(lr=0.01),
    "rprop": dict(lr=0.01, eta_minus=0.5, eta_plus=1.2, min_step_size=1e-6, max_step_size=50.0),
    "rmsprop": dict(lr=0.01, rho=0.9, eps=0.01),
    "adam": dict(lr=0.01, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0),
    "adamw": dict(lr=0.01, b1=0.8, b2=0.99, eps=1e-8, weight_decay=0.1),
}


def stream(n, steps=15, seed=0):
    rng = np.random.default_rng(seed)
    p0 = rng.normal(size=n)
    grads = [rng.normal(size=n) for _ in range(steps)]
    if n > 2 and steps > 4:
        grads[3][1] = 0.0
        grads[4] = grads[3].copy()
    return p0, grads


def assert_same_iterates(actual, desired, rtol=1e-12):
    scale = np.max(np.abs(desired)) if desired.size else 1.0
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * scale)


def ref_run(spec, hp, p0, grads):
    return numpy_protocol.optimizer(REF[spec], "reference").run(hp, p0, grads)


def factory_subject(fn):
    """A user's chain factory driven like the numpy protocol will once it hands GradientTransformations to us."""
    return OptimizerSubject("chain", factory=lambda **hp: oa.run_for(fn(**hp), fn.__name__))


# ----- optax factories -------------------------------------------------------------------------------

FACTORIES = [("sgd", optax.sgd), ("momentum", optax.sgd), ("nesterov", optax.sgd), ("sign-sgd", optax.sign_sgd),
             ("rmsprop", optax.rmsprop), ("adam", optax.adam), ("adamw", optax.adamw)]


@pytest.mark.parametrize("spec,fn", FACTORIES, ids=[s for s, _ in FACTORIES])
@pytest.mark.parametrize("n", [1, 3, 15])
def test_optax_factories_match_the_reference(spec, fn, n):
    subject = oa.optimizer(fn, spec_stub(spec), fn.__name__)
    assert subject.library == "optax"
    p0, grads = stream(n)
    assert_same_iterates(subject.run(HP[spec], p0, grads), ref_run(spec, HP[spec], p0, grads))


@pytest.mark.parametrize("spec,fn,hp", [
    ("nesterov", optax.sgd, dict(lr=0.1, momentum=0.0)),
    ("adam", optax.adam, dict(lr=0.01, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.1)),   # coupled: a chain
    ("adam", optax.adamw, dict(lr=0.01, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0)),  # the variant, wd = 0
    ("adamw", optax.adamw, dict(lr=0.01, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0)),
    ("rmsprop", optax.rmsprop, dict(lr=0.01, rho=0.99, eps=1e-8)),
])
def test_edge_hyperparameters_match_the_reference(spec, fn, hp):
    subject = oa.optimizer(fn, spec_stub(spec), fn.__name__)
    p0, grads = stream(12)
    assert_same_iterates(subject.run(hp, p0, grads), ref_run(spec, hp, p0, grads))


def test_adamw_under_adam_with_decay_is_the_decoupled_variant():
    subject = oa.optimizer(optax.adamw, spec_stub("adam"), "optax.adamw")
    assert any("decoupled (spec adamw)" in line for line in subject.mapping)
    hp = dict(lr=0.01, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.5)
    p0, grads = stream(8)
    got = subject.run(hp, p0, grads)
    assert not np.allclose(got, ref_run("adam", hp, p0, grads))
    assert_same_iterates(got, ref_run("adamw", hp, p0, grads))


def test_optax_rprop_matches_or_shows_the_known_one_step_lag():
    """optax ≤ 0.2.8's scale_by_rprop emits the previous step's update (google-deepmind/optax#1725)."""
    subject = oa.optimizer(optax.rprop, spec_stub("rprop"), "optax.rprop")
    p0, grads = stream(8)
    got = subject.run(HP["rprop"], p0, grads)
    want = ref_run("rprop", HP["rprop"], p0, grads)
    if not np.allclose(got, want, rtol=1e-12):
        np.testing.assert_array_equal(got[0], p0)          # the first update is zero: the lag
        assert not np.array_equal(want[0], p0)
    assert any("lr ∈ [min_step_size, max_step_size]" in line for line in subject.mapping)


def test_rmsprop_maps_eps_outside_the_root():
    subject = oa.optimizer(optax.rmsprop, spec_stub("rmsprop"), "optax.rmsprop")
    text = "\n".join(subject.mapping)
    # eps_in_sqrt is the spec's own convention parameter, passed through (outside the root at its default)
    assert "ε placement: optax.rmsprop(eps_in_sqrt=eps_in_sqrt)" in text
    assert "rho → decay" in text
    assert ("factory: optax.rmsprop(learning_rate=lr, decay=rho, eps=eps, eps_in_sqrt=eps_in_sqrt, "
            "momentum=momentum or None, centered=centered)") in text


def test_mapping_lines():
    def text(spec, fn):
        return "\n".join(oa.optimizer(fn, spec_stub(spec), "x").mapping)

    assert "nesterov=True" in text("nesterov", optax.sgd)
    assert "eps_root=0" in text("adam", optax.adam)
    assert "optax.chain(optax.add_decayed_weights(weight_decay), optax.adam(...))" in text("adam", optax.adam)
    assert "mask=None" in text("adamw", optax.adamw)
    assert "lr → learning_rate" in text("sgd", optax.sgd)


def test_params_are_a_pytree_of_float64_arrays_of_several_shapes():
    seen = []

    def spy_update(updates, state, params=None):
        seen.append(jax.tree_util.tree_map(lambda a: (a.shape, str(a.dtype)), (updates, params)))
        return jax.tree_util.tree_map(lambda g: -0.1 * g, updates), state

    tx = optax.GradientTransformation(lambda params: (), spy_update)
    run = oa.run_for(tx, "spy")
    p0, grads = stream(15, steps=2)
    run.init(p0)
    out = run.step(grads[0])
    np.testing.assert_allclose(out, p0 - 0.1 * grads[0], rtol=1e-15)
    updates, params = seen[0]
    assert params == {"dense": {"kernel": ((2, 3), "float64"), "bias": ((4,), "float64")},
                      "scale": ((1,), "float64"), "rest": ((4,), "float64")}
    assert updates == params


@pytest.mark.parametrize("n", [0, 1, 2, 7, 11, 30])
def test_flat_vector_round_trips_through_the_pytree(n):
    tx = optax.sgd(1.0)
    run = oa.run_for(tx, "sgd")
    p0 = np.arange(n, dtype=np.float64)
    run.init(p0)
    np.testing.assert_array_equal(run.step(np.zeros(n)), p0)
    np.testing.assert_array_equal(run.step(np.ones(n)), p0 - 1)


# ----- instances and users' chains -------------------------------------------------------------------


def test_a_chain_instance_runs_as_built():
    subject = oa.optimizer(chain("adam_instance"), spec_stub("adam"), "optax_chains.py:adam_instance")
    assert "instance" in subject.description and "fixed" in subject.mapping[0]
    hp = dict(lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0)
    p0, grads = stream(9)
    assert_same_iterates(subject.run(hp, p0, grads), ref_run("adam", hp, p0, grads))


@pytest.mark.parametrize("spec,name", [
    ("adam", "adam_chain"), ("adamw", "adamw_chain"), ("weight-decay", "sgd_weight_decay_chain"),
    ("momentum", "momentum_chain"),
])
def test_correct_user_chains_match_the_reference(spec, name):
    hp = dict(HP[spec], weight_decay=0.1) if spec == "adam" else HP[spec]
    p0, grads = stream(12)
    assert_same_iterates(factory_subject(chain(name)).run(hp, p0, grads), ref_run(spec, hp, p0, grads))


@pytest.mark.parametrize("spec,name", [
    ("adam", "adam_eps_root_swapped"), ("adam", "adam_missing_scale"), ("adam", "adam_ascends"),
    ("adam", "adam_no_bias_correction"), ("adamw", "adamw_coupled"), ("adamw", "adamw_decay_unscaled"),
    ("rmsprop", "rmsprop_eps_inside"), ("momentum", "momentum_ema"),
    ("weight-decay", "sgd_decay_after_momentum"), ("weight-decay", "sgd_decay_lambda"),
])
def test_buggy_user_chains_differ_from_the_reference(spec, name):
    hp = dict(HP[spec])
    if spec == "adam":
        hp.update(eps=1e-3, weight_decay=0.1)     # ε inside/outside the root shows when v̂ ≈ ε
    p0, grads = stream(12)
    got = factory_subject(chain(name)).run(hp, p0, grads)
    assert not np.allclose(got, ref_run(spec, hp, p0, grads), rtol=1e-8, atol=1e-10)


def test_numpy_protocol_hands_gradient_transformations_to_the_optax_adapter():
    subject = numpy_protocol.optimizer(chain("adam_chain"), "adam_chain")
    run = subject.make(**dict(HP["adam"], weight_decay=0.1))
    assert isinstance(run, oa._OptaxRun)
    p0, grads = stream(6)
    hp = dict(HP["adam"], weight_decay=0.1)
    assert_same_iterates(subject.run(hp, p0, grads), ref_run("adam", hp, p0, grads))


def test_adapt_routes_optax_objects_to_the_optax_adapter():
    from verify.adapters import adapt

    subject = adapt(optax.adam, spec_stub("adam"), "optax.adam", {})
    assert subject.library == "optax"
    assert subject.description.startswith("optax factory optax.adam")


# ----- protocol violations and refusals ------------------------------------------------------------


def test_updates_of_the_wrong_structure_are_a_protocol_error():
    tx = optax.GradientTransformation(lambda p: (), lambda u, s, p=None: ([1.0], s))
    run = oa.run_for(tx, "bad")
    run.init(np.zeros(12))
    with pytest.raises(ProtocolError, match="pytree structure"):
        run.step(np.ones(12))


def test_update_not_returning_a_pair_is_a_protocol_error():
    tx = optax.GradientTransformation(lambda p: (), lambda u, s, p=None: u)
    run = oa.run_for(tx, "bad")
    run.init(np.zeros(3))
    with pytest.raises(ProtocolError, match="expected a pair"):
        run.step(np.ones(3))


def test_target_exceptions_are_target_errors():
    def update(u, s, p=None):
        raise FloatingPointError("nan in update")

    run = oa.run_for(optax.GradientTransformation(lambda p: (), update), "boom")
    run.init(np.zeros(3))
    with pytest.raises(TargetError, match="nan in update"):
        run.step(np.ones(3))


@pytest.mark.parametrize("fn,spec,words", [
    (optax.adam, "rprop", "optax.adam does not implement spec 'rprop'"),
    (optax.nadam, "adam", "check it under --spec nadam"),
    (optax.sgd, "weight-decay", "optax.sgd has no weight decay"),
    (optax.adam, "adamw", "check it under --spec adam"),
    (optax.apply_updates, "sgd", "does not implement spec 'sgd'"),
])
def test_unsupported_combinations_are_refused_in_one_line(fn, spec, words):
    with pytest.raises(TargetLoadError) as info:
        oa.optimizer(fn, spec_stub(spec), "x")
    assert words in str(info.value) and "\n" not in str(info.value)


def test_unknown_hyperparameters_are_a_bad_parameter():
    subject = oa.optimizer(optax.sgd, spec_stub("sgd"), "optax.sgd")
    with pytest.raises(BadParameterError, match="has no equivalent in optax.sgd"):
        subject.make(lr=0.1, foo=2.0)


def test_generic_optimizer_passes_optax_names_through():
    subject = oa.optimizer(optax.sgd, spec_stub("generic-optimizer"), "optax.sgd")
    p0, grads = stream(5)
    got = subject.run({"learning_rate": 0.05, "momentum": 0.9}, p0, grads)
    assert_same_iterates(got, ref_run("momentum", HP["momentum"], p0, grads))


def test_spec_defaults_fill_missing_hyperparameters():
    spec = spec_stub("momentum", params=(Param("lr", 0.05, ""), Param("momentum", 0.9, ""),
                                         Param("form", "pytorch", "", type=str)))
    subject = oa.optimizer(optax.sgd, spec, "optax.sgd")
    p0, grads = stream(5)
    assert_same_iterates(subject.run({"lr": 0.05}, p0, grads), ref_run("momentum", HP["momentum"], p0, grads))


def test_a_factory_not_returning_a_transformation_is_a_protocol_error():
    subject = oa.optimizer(lambda learning_rate: None, spec_stub("sgd"), "f")
    with pytest.raises(ProtocolError, match="not an optax GradientTransformation"):
        subject.make(lr=0.1)


def test_missing_jax_is_a_missing_dependency(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(MissingDependencyError, match=r"install dlverify\[optax\]"):
        oa.require_optax()


def test_detection_never_imports_jax():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from verify.adapters import optax_adapter as oa
        from types import SimpleNamespace
        assert not oa.is_optax_object(np.sum)
        assert not oa.is_optax_object(SimpleNamespace(init=1, update=2))
        assert not oa.is_gradient_transformation(lambda: 0)
        oa.enable_x64_if_loaded()
        assert "jax" not in sys.modules and "optax" not in sys.modules, sorted(sys.modules)
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr


def test_detection_recognises_optax_objects():
    import functools

    assert oa.is_optax_object(optax.adam)
    assert oa.is_optax_object(functools.partial(optax.adam, b1=0.8))
    assert oa.is_gradient_transformation(optax.adam(1e-3))
    assert oa.is_gradient_transformation(optax.chain(optax.scale(1.0)))
    assert not oa.is_gradient_transformation(reference.adam())
    assert not oa.is_optax_object(chain("adam_chain"))     # a user's factory: the numpy protocol's names


def test_x64_is_enabled_for_runs():
    run = oa.run_for(optax.sgd(0.1), "sgd")
    run.init(np.zeros(3))
    assert all(str(leaf.dtype) == "float64" for leaf in jax.tree_util.tree_leaves(run.params))


# ----- end to end: `verify check` on the acceptance targets and on buggy chains ---------------------------

from tests.cli_helpers import not_passing, verify_check  # noqa: E402


ACCEPTANCE = [("optax.sgd", ("sgd", "momentum", "nesterov")), ("optax.adam", ("adam",)), ("optax.adamw", ("adamw",))]


@pytest.mark.slow
@pytest.mark.parametrize("target,specs", ACCEPTANCE, ids=[t for t, _ in ACCEPTANCE])
def test_acceptance_optax_targets_pass_every_check(tmp_path, target, specs):
    status, runs, out = verify_check(tmp_path, [target], specs)
    assert set(runs) == {(target, s) for s in specs}, out
    for spec in specs:
        run = runs[(target, spec)]
        assert not_passing(run) == [], (spec, out)
        assert run["mapping"] and run["versions"].get("optax"), run
    assert status == 0, out


# spec -> [(factory in tests/buggy/optax_chains.py, words the diagnosis names; None: must pass)]
BUGGY_E2E = {
    "adam": [("adam_eps_root_swapped", ["ε inside the square root"]), ("adam_missing_scale", ["lr = 1 instead"]),
             ("adam_ascends", ["ascent"]), ("adam_no_bias_correction", ["without bias correction"]),
             ("adam_chain", None)],
    "adamw": [("adamw_coupled", ["coupled (l2) decay in adamw"]), ("adamw_decay_unscaled", ["not multiplied by η"]),
              ("adamw_chain", None)],
    "rmsprop": [("rmsprop_eps_inside", ["ε inside the square root"])],
    "momentum": [("momentum_ema", ["exponential average"]), ("momentum_chain", None)],
    "weight-decay": [("sgd_decay_after_momentum", ["decoupled decay"]), ("sgd_decay_lambda", ["factor 2 in λ"]),
                     ("sgd_weight_decay_chain", None)],
}


@pytest.mark.slow
@pytest.mark.parametrize("spec", list(BUGGY_E2E))
def test_buggy_optax_chains_fail_with_a_diagnosis(tmp_path, spec):
    """One `verify check` per spec over its buggy (and correct) chain factories, conformance only."""
    cases = BUGGY_E2E[spec]
    targets = [f"{BUGGY}:{name}" for name, _ in cases]
    status, runs, out = verify_check(tmp_path, targets, [spec], "--check", "conformance", "--no-isolation")
    assert status == 1, out
    for name, words in cases:
        run = runs[(f"{BUGGY}:{name}", spec)]
        failing = [c for c in run["checks"] if c["status"] == "fail"]
        if words is None:
            assert not_passing(run) == [], (name, out)
            continue
        assert failing, (name, out)
        text = " ".join((c.get("diagnosis") or "") + " " + c["message"] for c in failing).lower()
        assert all(w.lower() in text for w in words), (name, text[:3000])


@pytest.mark.slow
def test_a_chain_instance_is_checked_at_its_own_hyperparameters(tmp_path):
    """Every hyperparameter of a built chain is held: conformance draws streams only; a check that needs another
    value (coupled-decay needs weight_decay > 0) is skipped, saying why; the report lists what was held."""
    target = f"{BUGGY}:adam_instance"
    status, runs, out = verify_check(tmp_path, [target], ["adam"], "--check", "conformance",
                                     "--check", "determinism", "--check", "coupled-decay", "--no-isolation")
    run = runs[(target, "adam")]
    checks = {c["name"]: c for c in run["checks"]}
    assert checks["determinism"]["status"] == "pass", out
    assert checks["conformance"]["status"] == "pass", checks["conformance"]["message"]
    assert "every hyperparameter held" in checks["conformance"]["message"]
    assert checks["coupled-decay"]["status"] == "skip"
    assert "weight_decay is held at 0" in checks["coupled-decay"]["message"]
    assert set(run["held"]) == {"lr", "b1", "b2", "eps", "weight_decay", "eps_placement"}
    assert all(h["source"] == "built" for n, h in run["held"].items() if n != "eps_placement")
    assert run["held"]["eps_placement"]["value"] == "outside"      # optax's only form, held


def test_a_correct_transformation_built_with_other_values_is_never_failed():
    """Its values cannot be read and are assumed to be the defaults. Three written otherwise are found and named
    together (lr, b1, b2); where no combination of written values explains the iterates (momentum, centring and
    optax's form as well), the result is still inconclusive, never a failure."""
    from verify.api import check_conforms

    adam = check_conforms(f"{BUGGY}:adam_built_otherwise", "adam", max_examples=8, isolate=False,
                          checks="conformance").checks[0]
    assert adam.status.value == "inconclusive", adam.message
    assert "--param lr=0.01 --param b1=0.8 --param b2=0.99" in adam.message, adam.message
    rmsprop = check_conforms(f"{BUGGY}:rmsprop_built_otherwise", "rmsprop", max_examples=8, isolate=False,
                             checks=("conformance", "constant-gradient")).checks
    assert [c.status.value for c in rmsprop] == ["inconclusive", "inconclusive"], [c.message for c in rmsprop]
    assert "could not be read" in rmsprop[0].message


@pytest.mark.slow
def test_optax_rprop_is_reported_with_its_known_lag(tmp_path):
    status, runs, out = verify_check(tmp_path, ["optax.rprop"], ["rprop"], "--check", "conformance",
                                     "--no-isolation")
    run = runs[("optax.rprop", "rprop")]
    if status == 0:     # an optax with the fix
        return
    failing = [c for c in run["checks"] if c["status"] == "fail"]
    text = " ".join((c.get("diagnosis") or "") + " " + c["message"] for c in failing).lower()
    assert "optax 0.2's rprop" in text and "one-step lag" in text, text[:3000]


def test_missing_optax_exits_2_naming_the_extra():
    code = ("import sys; sys.modules['optax'] = None; from verify.cli import main; "
            "sys.exit(main(['check', 'optax.adam', '--spec', 'l2', '--no-isolation']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "install dlverify[optax]" in proc.stderr, proc.stderr
