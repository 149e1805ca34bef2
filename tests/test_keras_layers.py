"""Keras 3 initializers (init-*, relu-bias) and BatchNormalization (batchnorm) on the jax and torch backends.

A process holds one Keras backend, and importing keras on jax turns on jax's 64-bit mode for the whole
process: everything that imports keras runs in a subprocess (``verify check`` or a short script), on the
backend the test names. Expected numbers are independent of the code under test: scipy's truncated normal,
the notes' hand-worked batch (§K.3 of the research notes), the textbook batch-norm formulas in numpy.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy import stats as sps

from tests.cli_helpers import not_passing, verify_check

pytestmark = [pytest.mark.slow, pytest.mark.keras,
              pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed")]

CASES = "tests/keras_layer_cases.py"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env(backend: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "JAX_ENABLE_X64")}
    env.update(VERIFY_KERAS_BACKEND=backend, KERAS_BACKEND=backend, PYTHONIOENCODING="utf-8",
               PYTHONPATH=os.pathsep.join([ROOT, env.get("PYTHONPATH", "")]))
    if backend == "jax":
        env["JAX_ENABLE_X64"] = "1"
    return env


def _backend_available(backend: str) -> bool:
    return importlib.util.find_spec(backend) is not None


BACKENDS = [pytest.param(b, marks=pytest.mark.skipif(not _backend_available(b), reason=f"{b} is not installed"))
            for b in ("jax", "torch")]


def _script(backend: str, code: str) -> dict:
    """Run ``code`` (which prints one JSON line last) with keras on ``backend``; its JSON."""
    prelude = "from verify.adapters.keras._backend import require_keras\nkeras = require_keras()\n"
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=600, env=_env(backend), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _check(tmp_path, backend, targets, spec, *extra, isolate=False):
    """``verify check`` on ``backend``; in one process unless ``isolate`` (a process importing Keras costs seconds:
    one test per backend covers the isolated run, the others check what the adapter says)."""
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(_env(backend))
    try:
        return verify_check(tmp_path, targets, [spec], *(["--jobs", "1"] if isolate else ["--no-isolation"]), *extra)
    finally:
        os.environ.clear()
        os.environ.update(old)


def _diagnoses(run) -> dict[str, str]:
    return {c["name"]: (c.get("diagnosis") or "") for c in run["checks"]}


def _statuses(run) -> dict[str, str]:
    return {c["name"]: c["status"] for c in run["checks"]}


# ----------------------------------------------------------------------------------------- constants


def test_truncation_constants_from_scipy():
    from verify.adapters.keras.initialisers import TORCH_TRUNCATION_LEAK

    # P(|Z| > 2) = 0.04550026…; four tries all outside: its fourth power
    assert TORCH_TRUNCATION_LEAK == pytest.approx((2 * sps.norm.sf(2.0)) ** 4, rel=1e-12)
    assert TORCH_TRUNCATION_LEAK == pytest.approx(4.2858e-6, rel=1e-4)


def test_support_test_allows_a_declared_leak_and_no_more():
    from verify import stats

    rng = np.random.default_rng(5)
    x = sps.truncnorm(-2, 2).rvs(size=2_000_000, random_state=rng)
    leak = (2 * sps.norm.sf(2.0)) ** 4
    x[:9] = 2.5                      # about the 8.6 values the torch backend leaves outside
    interval = stats.scale_interval(x, "truncated_normal", 1e-8)
    assert not stats.support_test(x, "truncated_normal", interval, 1e-6, interval_miss=1e-8).passed
    ok = stats.support_test(x, "truncated_normal", interval, 1e-6, interval_miss=1e-8, leak=leak)
    assert ok.passed and ok.details["leak"] == leak
    # P(Binomial(2e6, 4.29e-6) >= 9) = 0.49 by scipy: the p-value is that plus the interval's miss
    assert ok.p_value == pytest.approx(sps.binom.sf(8, 2_000_000, leak) + 1e-8, rel=1e-9)
    x[:60] = 2.5                     # 60 outside: P(Binomial >= 60) ~ 1e-28
    assert not stats.support_test(x, "truncated_normal", interval, 1e-6, interval_miss=1e-8, leak=leak).passed


# ----------------------------------------------------------------------------------------- initializers


@pytest.mark.parametrize("backend", BACKENDS)
def test_keras_fans_and_kernel_shapes_are_the_spec_layout(backend):
    out = _script(backend, """
        import json, reference
        from keras.src.initializers.random_initializers import compute_fans
        from verify.specs.initialisers import SHAPES
        dense = keras.layers.Dense(7); dense.build((None, 5))
        conv = keras.layers.Conv2D(8, (3, 3)); conv.build((None, 10, 10, 4))
        conv1 = keras.layers.Conv1D(100, 5); conv1.build((None, 30, 40))
        shapes = [(5, 7), (3, 3, 4, 8), (2, 3, 3, 4, 8)] + SHAPES["numpy"]
        print(json.dumps({"keras": [compute_fans(s) for s in shapes],
                          "ours": [reference.compute_fans(s, "numpy") for s in shapes],
                          "kernels": [list(dense.kernel.shape), list(conv.kernel.shape), list(conv1.kernel.shape)]}))
    """)
    assert out["keras"] == out["ours"]
    # hand-worked: (3,3,4,8): receptive 9 -> (4·9, 8·9); (2,3,3,4,8): receptive 18 -> (72, 144)
    assert out["keras"][:3] == [[5, 7], [36, 72], [72, 144]]
    assert out["kernels"] == [[5, 7], [3, 3, 4, 8], [5, 40, 100]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_keras_subject_draws_fresh_truncated_glorot_normal(backend):
    out = _script(backend, """
        import json, numpy as np
        from verify.adapters import adapt
        from verify.specs import get_spec
        spec = get_spec("init-xavier")
        params = {"distribution": "normal", "layout": "numpy"}
        fixed = keras.initializers.GlorotNormal(seed=3)    # an int seed: the same values at every call
        same = bool(np.array_equal(np.asarray(fixed((300, 120))), np.asarray(fixed((300, 120)))))
        s = adapt(fixed, spec, "x", params)
        a, b, c = s.sample((300, 120), 11), s.sample((300, 120), 11), s.sample((300, 120), 12)
        w = np.concatenate([s.sample((300, 120), 100 + i).ravel() for i in range(20)])
        named = adapt("he_uniform", get_spec("init-he"), "x", params)
        print(json.dumps({"same_calls": same, "same_seed": bool(np.array_equal(a, b)),
                          "other_seed": bool(np.array_equal(a, c)), "std": float(w.std()), "n": int(w.size),
                          "max_abs": float(np.abs(w).max()), "beyond": int((np.abs(w) > 2 * np.sqrt(2 / 420) / 0.87962566103423978 * (1 + 1e-9)).sum()),
                          "distribution": s.distribution, "leak": s.support_leak, "layout": s.layout,
                          "named": [type(named).__name__, named.distribution]}))
    """)
    assert out["same_calls"]                      # Keras' own behaviour, which the adapter works around
    assert out["same_seed"] and not out["other_seed"]
    assert out["distribution"] == "truncated" and out["layout"] == "numpy"
    assert out["named"][1] == "uniform"
    # Glorot σ = √(2/(300 + 120)) = 0.0690066; the std of a truncated normal's sample has standard error
    # σ·√((2 + κ)/(4n)) with κ scipy's excess kurtosis of N(0, 1) truncated to ±2
    sigma = math.sqrt(2 / 420)
    kurt = float(sps.truncnorm(-2, 2).stats(moments="k"))
    se = sigma * math.sqrt((2 + kurt) / (4 * out["n"]))
    assert abs(out["std"] - sigma) < 5 * se
    # truncated at 2σ' with σ' = σ/0.8796 (scipy's std of the truncated unit normal)
    assert sps.truncnorm(-2, 2).std() == pytest.approx(0.87962566103423978, rel=1e-12)
    if backend == "jax":
        assert out["beyond"] == 0 and out["leak"] == 0.0
        assert out["max_abs"] <= 2 * sigma / 0.87962566103423978 * (1 + 1e-9)
    else:
        # four tries then the first kept: 720 000 values leave 3.1 expected outside; 20 is P < 1e-9
        assert out["leak"] == pytest.approx((2 * sps.norm.sf(2.0)) ** 4)
        assert out["beyond"] <= 20


def test_correct_keras_initializers_pass_on_jax(tmp_path):
    targets = ["keras.initializers.HeNormal", "keras.initializers.HeUniform", f"{CASES}:MyHeNormal",
               f"{CASES}:he_by_name"]
    code, runs, out = _check(tmp_path, "jax", targets, "init-he")
    assert code == 0, out
    for t in targets:
        assert not not_passing(runs[(t, "init-he")]), (t, not_passing(runs[(t, "init-he")]))
    mapping = " ".join(runs[("keras.initializers.HeNormal", "init-he")]["mapping"])
    assert "truncated" in mapping and "0.87962566" in mapping
    code, runs, out = _check(tmp_path, "jax", [f"{CASES}:Subclassed", f"{CASES}:MyGlorotUniform"], "init-xavier",
                             "--check", "std", "--check", "distribution-shape", "--check", "protocol")
    assert code == 1, out
    # MyGlorotUniform declares nothing: its uniform law is the run's claim (--param), so it fails the shape test
    # of the default normal with the diagnosis naming the uniform; Subclassed inherits GlorotNormal's truncation
    assert not not_passing(runs[(f"{CASES}:Subclassed", "init-xavier")])
    uniform = runs[(f"{CASES}:MyGlorotUniform", "init-xavier")]
    assert _statuses(uniform) == {"std": "pass", "distribution-shape": "fail", "protocol": "pass"}
    assert "uniform" in _diagnoses(uniform)["distribution-shape"]
    code, runs, out = _check(tmp_path, "jax", [f"{CASES}:MyGlorotUniform", f"{CASES}:lecun_instance"],
                             "init-xavier", "--param", "distribution=uniform", "--check", "std", "--check",
                             "distribution-shape")
    assert not not_passing(runs[(f"{CASES}:MyGlorotUniform", "init-xavier")])
    # an explicit distribution wins over the declared one; LecunNormal is not Glorot's σ either
    lecun = runs[(f"{CASES}:lecun_instance", "init-xavier")]
    assert _statuses(lecun)["std"] == "fail"


BUGGY_INITIALIZERS = {
    "FanOutHe": ("init-he", "fan_in and fan_out swapped"),
    "FirstAxisHe": ("init-he", "fan_in = shape[0]"),
    "NoGainHe": ("init-he", "the ReLU gain √2 is missing"),
    "UncorrectedTruncatedHe": ("init-he", "without the 0.8796 correction"),
    "TorchFansGlorot": ("init-xavier", "fans computed for the torch layout"),
}


def test_buggy_keras_initializers_fail_with_a_diagnosis(tmp_path):
    for spec in ("init-he", "init-xavier"):
        names = [n for n, (s, _) in BUGGY_INITIALIZERS.items() if s == spec]
        code, runs, out = _check(tmp_path, "jax", [f"{CASES}:{n}" for n in names], spec, "--check", "std")
        assert code == 1, out
        for name in names:
            run = runs[(f"{CASES}:{name}", spec)]
            assert _statuses(run) == {"std": "fail"}, (name, out)
            assert BUGGY_INITIALIZERS[name][1] in _diagnoses(run)["std"], (name, _diagnoses(run))


def test_keras_initializers_on_the_torch_backend(tmp_path):
    targets = ["keras.initializers.HeNormal", f"{CASES}:FanOutHe"]
    code, runs, out = _check(tmp_path, "torch", targets, "init-he", "--check", "std", "--check",
                             "distribution-shape", "--check", "protocol")
    he = runs[("keras.initializers.HeNormal", "init-he")]
    assert not not_passing(he), not_passing(he)
    assert "torch backend" in " ".join(he["mapping"])
    shape = next(c for c in he["checks"] if c["name"] == "distribution-shape")
    assert "expected by design" in json.dumps(shape)
    bug = runs[(f"{CASES}:FanOutHe", "init-he")]
    assert _statuses(bug)["std"] == "fail" and "fan_in and fan_out swapped" in _diagnoses(bug)["std"]


def test_keras_constant_bias(tmp_path):
    code, runs, out = _check(tmp_path, "jax", ["keras.initializers.Constant"], "relu-bias")
    # Constant() is 0.0: a ReLU bias at the kink, a failure named so
    run = runs[("keras.initializers.Constant", "relu-bias")]
    assert _statuses(run)["positive-and-small"] == "fail" and "zero" in _diagnoses(run)["positive-and-small"]


# ----------------------------------------------------------------------------------------- batch norm

# The notes' batch (§K.3) and its hand-worked statistics: column means 1.875 and 9.9375, biased variances
# 7.1875/4 = 1.796875 and 1.296875/4 = 0.32421875.
X = [[1.0, 10.0], [2.0, 10.5], [4.0, 9.0], [0.5, 10.25]]
MEAN = np.array([1.875, 9.9375])
BIASED_VAR = np.array([1.796875, 0.32421875])


@pytest.mark.parametrize("backend", BACKENDS)
def test_keras_batchnorm_subject_on_the_notes_batch(backend):
    out = _script(backend, f"""
        import json, numpy as np
        from verify.adapters import adapt
        from verify.specs import get_spec
        spec = get_spec("batchnorm")
        params = {{"eps": 1e-3, "momentum": 0.99, "convention": "keras", "running_variance": "either",
                  "batch_shape": "auto", "running_start": "auto"}}
        s = adapt(keras.layers.BatchNormalization, spec, "x", params)
        layer = s.new(2, 1e-3, 0.99)
        start = [v.tolist() for v in layer.running()]
        gamma, beta = np.array([1.5, -0.5]), np.array([0.25, 2.0])
        layer.set_affine(gamma, beta)
        x = np.array({X})
        y = layer.forward(x, True)
        dy = np.array([[0.3, -1.0], [1.2, 0.4], [-0.7, 0.9], [0.1, 0.2]])
        dx, dg, db = layer.backward(dy)
        running = [v.tolist() for v in layer.running()]
        ev = layer.forward(x, False)
        print(json.dumps({{"convention": s.convention, "precision": layer.precision, "start": start, "y": y.tolist(),
                          "dx": dx.tolist(), "dg": dg.tolist(), "db": db.tolist(), "running": running,
                          "eval": ev.tolist(), "mapping": s.mapping}}))
    """)
    x, gamma, beta = np.array(X), np.array([1.5, -0.5]), np.array([0.25, 2.0])
    dy = np.array([[0.3, -1.0], [1.2, 0.4], [-0.7, 0.9], [0.1, 0.2]])
    assert out["convention"] == "keras"
    assert out["start"] == [[0.0, 0.0], [1.0, 1.0]]
    f32 = float(np.finfo(np.float32).eps)
    assert out["precision"] >= f32                         # float32 arithmetic, reported as such
    precision_line = next(m for m in out["mapping"] if m.startswith("precision"))
    assert "float32" in precision_line
    # the attained precision, measured on a probe batch: float32's rounding, far from float64's
    attained = float(precision_line.split("attained: relative error ")[1].split()[0])
    assert 1e-9 < attained < 1e-5
    # moving statistics after one batch, Keras' form: 0.99·start + 0.01·(batch mean, biased variance);
    # the notes observed [1.00796875, 0.9932421875] (the unbiased variance would give [1.01396, 0.99432])
    np.testing.assert_allclose(out["running"][0], 0.01 * MEAN, rtol=1e-6)
    np.testing.assert_allclose(out["running"][1], [1.00796875, 0.9932421875], rtol=1e-6)
    # the textbook forward and backward (Ioffe & Szegedy, Algorithm 1 and its derivative), in float64
    sd = np.sqrt(BIASED_VAR + 1e-3)
    xhat = (x - MEAN) / sd
    np.testing.assert_allclose(out["y"], gamma * xhat + beta, rtol=1e-5, atol=1e-5)
    n = x.shape[0]
    dx = gamma / (n * sd) * (n * dy - dy.sum(axis=0) - xhat * (dy * xhat).sum(axis=0))
    np.testing.assert_allclose(out["dx"], dx, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["dg"], (dy * xhat).sum(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["db"], dy.sum(axis=0), rtol=1e-6, atol=1e-6)
    r_mean, r_var = np.array(out["running"][0]), np.array(out["running"][1])
    np.testing.assert_allclose(out["eval"], gamma * (x - r_mean) / np.sqrt(r_var + 1e-3) + beta, rtol=1e-5)
    # float32 arithmetic shows: the output is not the float64 value to float64's rounding
    assert np.max(np.abs(np.array(out["y"]) - (gamma * xhat + beta))) > 1e-12


@pytest.mark.parametrize("backend", BACKENDS)
def test_keras_batchnorm_passes_under_its_convention(tmp_path, backend):
    target = "keras.layers.BatchNormalization"
    # the built-in, an instance (its momentum 0.9 and ε 1e-3 held), a Layer of one's own written in keras.ops
    targets = [target, f"{CASES}:keras_bn_instance", f"{CASES}:LayerBN"]
    code, runs, out = _check(tmp_path, backend, targets, "batchnorm", "--param", "convention=keras", isolate=True)
    for t in targets:
        assert not not_passing(runs[(t, "batchnorm")]), (t, not_passing(runs[(t, "batchnorm")]))
    assert code == 0, out
    run = runs[(target, "batchnorm")]
    running = next(c for c in run["checks"] if c["name"] == "running-statistics")
    assert "Keras' form" in running["message"] and "biased" in running["message"]
    assert any("float32" in m for m in run["mapping"])


def test_keras_batchnorm_under_the_default_convention_is_named(tmp_path):
    target = "keras.layers.BatchNormalization"
    code, runs, out = _check(tmp_path, "jax", [target], "batchnorm", "--check", "running-statistics",
                             "--check", "forward-vs-reference")
    run = runs[(target, "batchnorm")]
    assert code == 1 and _statuses(run) == {"running-statistics": "fail", "forward-vs-reference": "pass"}
    diagnosis = _diagnoses(run)["running-statistics"]
    assert "Keras' form r ← m·r + (1 − m)·stat with m = 0.1" in diagnosis
    assert "--param convention=keras" in diagnosis


# What each subclass must do under convention=keras: pass, or fail the check with the diagnosis.
SUBCLASS_CHECKS = ("forward-vs-reference", "running-statistics", "backward-vs-symbolic")
BN_SUBCLASSES = {
    "PlainSubclassBN": {},
    "OwnCallBN": {},
    "UnbiasedMomentsBN": {"forward-vs-reference": "the unbiased variance"},
    "EpsOutsideBN": {"forward-vs-reference": "ε"},
    "TorchMomentumBN": {"running-statistics": "PyTorch's form r ← (1 − m)·r + m·stat with m = 0.1"},
    "StopGradientBN": {"backward-vs-symbolic": "μ and σ are treated as constants"},
    "LayerBNUnbiasedRunning": {},        # PyTorch's estimator: a convention, reported, not a failure
}


def test_keras_batchnorm_subclasses(tmp_path):
    extra = ["--param", "convention=keras"]
    for c in SUBCLASS_CHECKS:
        extra += ["--check", c]
    code, runs, out = _check(tmp_path, "jax", [f"{CASES}:{n}" for n in BN_SUBCLASSES], "batchnorm", *extra)
    for name, expected in BN_SUBCLASSES.items():
        run = runs[(f"{CASES}:{name}", "batchnorm")]
        statuses, diagnoses = _statuses(run), _diagnoses(run)
        if not expected:
            assert set(statuses.values()) == {"pass"}, (name, not_passing(run))
        for check, diagnosis in expected.items():
            assert statuses[check] == "fail", (name, check, statuses)
            assert diagnosis in diagnoses[check], (name, diagnoses[check])
