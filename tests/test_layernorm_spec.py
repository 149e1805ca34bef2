"""layernorm and rmsnorm specs: the reference and PyTorch pass, the published bugs are caught and named."""

import functools

import numpy as np
import pytest

from tests.buggy import beyond
from verify.runner import RunOptions, RunPlan, run_inline

OPTS = RunOptions(seed=0, timeout=None, max_examples=30)


def _bad(run):
    return {c.name: (c.status.value, c.message[:300]) for c in run.checks if c.status.value not in ("pass", "skip")}


def _status(run, name):
    return next(c for c in run.checks if c.name == name)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("spec", ["layernorm", "rmsnorm"])
def test_the_reference_passes_every_check(spec, seed):
    run = run_inline(RunPlan("reference", spec, {}, RunOptions(seed=seed, timeout=None, max_examples=30)))
    assert not _bad(run)
    assert {c.status.value for c in run.checks} == {"pass"}


@pytest.mark.torch
@pytest.mark.parametrize("target,spec,params", [
    ("torch.nn.LayerNorm", "layernorm", {}),
    ("torch.nn.RMSNorm", "rmsnorm", {}),
    ("torch.nn.functional.layer_norm", "layernorm", {}),
    ("torch.nn.functional.rms_norm", "rmsnorm", {"eps": 1e-3}),
    ("torch.nn.LayerNorm", "layernorm", {"eps": 1e-3}),          # Keras' default ε
])
def test_torch_passes(target, spec, params):
    pytest.importorskip("torch")
    run = run_inline(RunPlan(target, spec, params, OPTS))
    assert not _bad(run), _bad(run)
    assert {c.status.value for c in run.checks} == {"pass"}
    # torch takes a normalized_shape of several dimensions: checked with (3, 5) and (2, 3), none left out
    assert "several trailing dimensions are normalised together" in _status(run, "normalized-axes").message


@pytest.mark.torch
def test_torch_layernorm_affine_flags_are_read_and_can_be_required():
    torch = pytest.importorskip("torch")
    no_bias = functools.partial(torch.nn.LayerNorm, bias=False)
    run = run_inline(RunPlan(no_bias, "layernorm", {}, OPTS, target_name="LayerNorm(bias=False)"))
    assert not _bad(run) and "the layer has γ" in _status(run, "protocol").message
    bare = functools.partial(torch.nn.LayerNorm, elementwise_affine=False)
    run = run_inline(RunPlan(bare, "layernorm", {"affine": "none"}, OPTS, target_name="LayerNorm(elementwise_affine=False)"))
    assert not _bad(run) and "no affine parameters" in _status(run, "protocol").message
    run = run_inline(RunPlan(bare, "layernorm", {"affine": "gamma,beta"}, OPTS, target_name="bare"))
    c = _status(run, "protocol")
    assert c.status.value == "fail" and "the layer has none, not gamma,beta" in c.diagnosis


@pytest.mark.torch
def test_torch_rmsnorm_default_eps_is_the_machine_epsilon_of_the_dtype():
    # torch.nn.RMSNorm(eps=None): ε = torch.finfo(dtype).eps, which reference.rmsnorm_forward(eps=None) follows.
    # Worked example of the research notes (§11.4), computed there with torch.
    torch = pytest.importorskip("torch")
    import reference

    x = np.array([[1.0, 2.0, 4.0, -1.0], [0.5, 0.5, 0.5, 0.5001]])
    gamma = np.array([1.0, 2.0, 0.5, -1.0])
    notes = [[0.42640143271122083, 1.7056057308448833, 0.8528028654224417, 0.42640143271122083],
             [0.999949998750437, 1.999899997500874, 0.4999749993752185, -1.000149988750187]]
    np.testing.assert_allclose(reference.rmsnorm_forward(x, gamma)[0], notes, rtol=1e-14)
    for dtype, rtol in ((torch.float64, 1e-14), (torch.float32, 1e-6)):
        layer = torch.nn.RMSNorm(4, dtype=dtype)
        assert layer.eps is None
        with torch.no_grad():
            layer.weight.copy_(torch.tensor(gamma, dtype=dtype))
            got = layer(torch.tensor(x, dtype=dtype)).double().numpy()
        want = reference.rmsnorm_forward(x.astype(np.float64 if dtype == torch.float64 else np.float32), gamma)[0]
        np.testing.assert_allclose(got, want, rtol=rtol)


def test_the_diagnosis_formulas_reproduce_the_published_bugs_worked_numbers():
    # Research notes §10.4 / §11.4 (torch LayerNorm(4), γ = [1, 2, 0.5, −1], β = [0, 0.1, −0.2, 0.3]).
    from verify.specs.layernorm import _forward_candidates

    x = np.array([[1.0, 2.0, 4.0, -1.0], [0.5, 0.5, 0.5, 0.5001]])
    gamma, beta = np.array([1.0, 2.0, 0.5, -1.0]), np.array([0.0, 0.1, -0.2, 0.3])
    ln = _forward_candidates(x, gamma, beta, 1e-5, rms=False)
    squared = next(v for k, v in ln.items() if k.startswith("(σ² + ε)²"))
    np.testing.assert_allclose(squared, [
        [-0.047336986801526544, 0.1946739736030531, -0.08165753299618364, 0.5366849340076327],
        [-249906.27636001483, -499812.4527200297, -124953.33818000741, -749718.529082264]], rtol=1e-9)
    outside = next(v for k, v in ln.items() if k.startswith("ε is outside"))
    np.testing.assert_allclose(outside[1], [-0.4690319744950324, -0.8380639489900649, -0.4345159872475162,
                                            -1.107095923489263], rtol=1e-9)
    rms = _forward_candidates(x, gamma, None, 1e-2, rms=True)
    outside = next(v for k, v in rms.items() if k.startswith("ε is outside"))
    np.testing.assert_allclose(outside, [
        [0.42459097072887053, 1.6983638829154821, 0.8491819414577411, 0.42459097072887053],
        [0.9803440971755241, 1.9606881943510481, 0.49017204858776203, -0.9805401659949592]], rtol=1e-12)


@pytest.mark.parametrize("target,spec,words", [
    (beyond.layernorm_var_plus_eps_squared, "layernorm", "(σ² + ε)² replaces √(σ² + ε)"),
    (beyond.layernorm_eps_outside_root, "layernorm", "ε is outside the square root: (x − μ)/(√σ² + ε)"),
    (beyond.rmsnorm_eps_outside_root, "rmsnorm", "ε is outside the square root: x/(√mean(x²) + ε)"),
])
def test_published_bugs_are_caught_and_named(target, spec, words):
    run = run_inline(RunPlan(target, spec, {}, OPTS, target_name=target.__name__))
    assert {"forward-vs-reference", "output-moments", "rescaling"} <= {
        c.name for c in run.checks if c.status.value == "fail"}
    assert words in _status(run, "forward-vs-reference").diagnosis


def test_a_layer_without_an_eps_argument_is_not_failed_on_an_assumed_eps():
    class FixedEps:                      # hard-codes ε = 1e-3 and shows it nowhere
        def __init__(self, d):
            self.gamma, self.beta = np.ones(d), np.zeros(d)

        def forward(self, x):
            mu, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
            return self.gamma * (x - mu) / np.sqrt(var + 1e-3) + self.beta

    run = run_inline(RunPlan(FixedEps, "layernorm", {}, OPTS, target_name="FixedEps"))
    assert not {c.name for c in run.checks if c.status.value == "fail"}
    c = _status(run, "forward-vs-reference")
    assert c.status.value == "inconclusive" and "--param eps=0.001" in c.message
    run = run_inline(RunPlan(FixedEps, "layernorm", {"eps": 1e-3}, OPTS, target_name="FixedEps"))
    assert not _bad(run), _bad(run)
