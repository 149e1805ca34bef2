"""Adamax, NAdam, RAdam and AMSGrad (verify/algorithms/adam_variants.py): PyTorch's and optax's optimizers pass
in their own conventions (torch's single-tensor and foreach kernels alike), each checked at the other's
convention fails with that convention named, the bugs that shipped are caught by the CLI and named, and correct
implementations written the way people write them pass."""

from __future__ import annotations

import numpy as np
import pytest

from tests.cli_helpers import verify_check
from verify.results import Status
from verify.runner import RunOptions, RunPlan, run_inline

CONFORMANCE = RunOptions(checks=("conformance",), max_examples=12, timeout=None)
BUGGY = "tests/buggy/beyond.py"


def _check(target, spec, overrides=None, options=CONFORMANCE):
    run = run_inline(RunPlan(target, spec, overrides or {}, options))
    return run, run.checks[0]


def _passes(target, spec, overrides=None):
    run, result = _check(target, spec, overrides)
    assert result.status is Status.PASS, f"{spec}: {result.message}\n{result.diagnosis}"
    return run


def _named(target, spec, overrides, phrase):
    _, result = _check(target, spec, overrides)
    assert result.status is Status.FAIL, f"{spec}: {result.status} {result.message}"
    assert result.diagnosis and result.diagnosis.startswith("matches") and phrase in result.diagnosis, \
        result.diagnosis
    return result


# ------------------------------------------------------------------ PyTorch


def _foreach(torch, base):
    """torch's multi-tensor kernels (on CPU torch picks the single-tensor ones unless told)."""

    class Foreach(base):
        def __init__(self, params, **kwargs):
            super().__init__(params, foreach=True, **kwargs)

    Foreach.__name__ = f"Foreach{base.__name__}"
    return Foreach


@pytest.mark.torch
@pytest.mark.parametrize("spec, name", [("adamax", "Adamax"), ("nadam", "NAdam"), ("radam", "RAdam"),
                                        ("amsgrad", "Adam")])
@pytest.mark.parametrize("foreach", [False, True], ids=["single-tensor", "foreach"])
def test_torch_optimizers_pass_in_both_kernels(spec, name, foreach):
    torch = pytest.importorskip("torch")
    cls = getattr(torch.optim, name)
    run = _passes(_foreach(torch, cls) if foreach else cls, spec)
    if spec == "amsgrad":
        assert any("amsgrad=True" in line for line in run.mapping), run.mapping


@pytest.mark.torch
def test_torch_decoupled_decay_and_adamw_amsgrad_pass():
    torch = pytest.importorskip("torch")
    for spec, cls in (("nadam", torch.optim.NAdam), ("radam", torch.optim.RAdam), ("amsgrad", torch.optim.Adam)):
        _passes(cls, spec, {"decoupled_weight_decay": True, "weight_decay": 0.1})
    run = _passes(torch.optim.AdamW, "amsgrad", {"weight_decay": 0.1})
    assert run.held["decoupled_weight_decay"]["value"] is True
    assert not any("takes no 'decoupled_weight_decay'" in line for line in run.mapping), run.mapping


@pytest.mark.torch
def test_a_built_adam_with_amsgrad_is_checked_as_built_and_plain_adam_is_named():
    torch = pytest.importorskip("torch")
    params = [torch.zeros(3, dtype=torch.float64)]
    _, result = _check(torch.optim.Adam(params, lr=0.01, amsgrad=True, foreach=True), "amsgrad")
    assert result.status is Status.PASS, result.message
    _, result = _check(torch.optim.Adam(params, lr=0.01, amsgrad=True), "adam")
    assert result.status is Status.FAIL and "AMSGrad" in result.diagnosis, result.diagnosis
    # an Adam without amsgrad under spec amsgrad: the running maximum is never used — what the 2022 bug did
    _named(torch.optim.Adam(params, lr=0.01), "amsgrad", {}, "running maximum is never stored")


@pytest.mark.torch
def test_torch_nadam_runs_with_a_float64_mu_product():
    """NAdam's Π_t lives in a scalar tensor of torch's default dtype: float32 would be 4e-9 off after 3 steps
    (research notes §0.1), which the adapter avoids by running with float64 as the default dtype."""
    torch = pytest.importorskip("torch")
    assert torch.get_default_dtype() == torch.float32
    run = _passes(torch.optim.NAdam, "nadam", {"lr": 0.1})
    assert torch.get_default_dtype() == torch.float32       # restored after the run
    assert any("float64 here, so it is exact" in line for line in run.mapping)


# ------------------------------------------------------------------ optax


@pytest.mark.optax
@pytest.mark.parametrize("spec, name, held", [
    ("adamax", "adamax", {"eps_placement": "inside-max", "decoupled_weight_decay": False}),
    ("adamax", "adamaxw", {"decoupled_weight_decay": True}),
    ("nadam", "nadam", {"schedule": "constant", "decoupled_weight_decay": False}),
    ("nadam", "nadamw", {"schedule": "constant", "decoupled_weight_decay": True}),
    ("radam", "radam", {"threshold": "official", "eps_placement": "outside"}),
    ("amsgrad", "amsgrad", {"maximum_of": "v-hat"}),
])
def test_optax_factories_pass_in_their_own_conventions(spec, name, held):
    optax = pytest.importorskip("optax")
    run = _passes(getattr(optax, name), spec, {"weight_decay": 0.05})
    for param, value in held.items():
        assert run.held[param]["value"] == value, (param, run.held[param])


@pytest.mark.optax
@pytest.mark.parametrize("spec, name, overrides, phrase", [
    ("amsgrad", "amsgrad", {"maximum_of": "v"}, "the maximum of the bias-corrected v̂"),
    # (ψ given: held only by assumption, the diagnosis would rather say ψ = 1000 mimics the constant momentum)
    ("nadam", "nadam", {"schedule": "dozat", "momentum_decay": 4e-3}, "the constant momentum β1"),
    ("radam", "radam", {"eps_placement": "hat", "eps": 1e-3}, "ε added to √v̂"),
])
def test_optax_checked_at_pytorch_s_convention_fails_naming_its_own(spec, name, overrides, phrase):
    """The held convention is what makes optax pass: asked for PyTorch's form, the difference is named, with the
    --param that checks optax's form."""
    optax = pytest.importorskip("optax")
    from verify.algorithms import get

    mapping = get(spec).optax
    param = next(iter(overrides))
    value = mapping.conventions[param]

    def unpinned(learning_rate, b1=0.9, b2=0.999, eps=1e-8):   # optax's, but not recognised as optax's own
        return getattr(optax, name)(learning_rate, b1, b2, eps)

    unpinned.__module__ = "my_module"
    result = _named(unpinned, spec, {**overrides}, phrase)
    assert f"--param {param}={value}" in result.diagnosis


# ------------------------------------------------------------ the real bugs, by the CLI


@pytest.mark.parametrize("cls, spec, params, phrase", [
    ("NadamExtraMu", "nadam", (), "one μ too many"),
    ("NadamDecayAfter", "nadam", ("decoupled_weight_decay=true", "weight_decay=0.05"),
     "decoupled decay applied after the update"),
    ("RadamThresholdFour", "radam", (), "ρ_t > 4"),
    ("AmsgradMaxOfVhat", "amsgrad", (), "the maximum of the bias-corrected v̂"),
    ("AmsgradForgetsMax", "amsgrad", (), "running maximum is never stored"),
    ("AmsgradEpsScaled", "amsgrad", (), "ε effectively scaled by √(1 − β2ᵗ)"),
    ("AdamEpsScaled", "adam", (), "ε-hat"),
    ("AdamWDecayAfter", "adamw", (), "decay is applied after the Adam step"),
])
def test_the_real_bugs_fail_and_are_named_by_the_cli(tmp_path, cls, spec, params, phrase):
    extra = [a for p in params for a in ("--param", p)]
    code, runs, out = verify_check(tmp_path, [f"{BUGGY}:{cls}"], [spec], "--check", "conformance", *extra,
                                   max_examples=10)
    assert code == 1, out
    (run,) = runs.values()
    (check,) = run["checks"]
    assert check["status"] == "fail", check["message"]
    diagnosis = check["diagnosis"]
    text = diagnosis["text"] if isinstance(diagnosis, dict) else diagnosis
    assert text.startswith("matches") and phrase in text, text


# -------------------------------------------------- correct code as people write it


class CourseAdamax:
    """Course-style numpy Adamax: only the learning rate taken, β and ε hard-coded, state on the object."""

    def __init__(self, lr=0.002):
        self.lr = lr
        self.beta1, self.beta2, self.epsilon = 0.9, 0.999, 1e-8
        self.m = self.u = None
        self.t = 0

    def step(self, params, grads):
        if self.m is None:
            self.m = np.zeros_like(params)
            self.u = np.zeros_like(params)
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grads
        self.u = np.maximum(self.beta2 * self.u, np.abs(grads) + self.epsilon)
        return params - (self.lr / (1 - self.beta1 ** self.t)) * self.m / self.u


class KerasStyleAdamax:
    """Keras' Adamax in numpy: ε outside the maximum, float32 state, updating the variable in place."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.lr, self.b1, self.b2, self.eps = learning_rate, beta_1, beta_2, epsilon
        self.iterations = 0
        self.m = self.u = None

    def update(self, params, grads):
        if self.m is None:
            self.m = np.zeros(params.shape, dtype=np.float32)
            self.u = np.zeros(params.shape, dtype=np.float32)
        self.iterations += 1
        g = grads.astype(np.float32)
        self.m += (g - self.m) * (1 - self.b1)
        self.u = np.maximum(self.b2 * self.u, np.abs(g))
        params -= (self.lr * self.m / ((1 - self.b1 ** self.iterations) * (self.u + self.eps))).astype(params.dtype)
        return params


class NumpyNAdam:
    """A d2l/numpy-ml-style NAdam class (PyTorch's formula): a dict of state per parameter, ψ hard-coded."""

    def __init__(self, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.hp = {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps}
        self.state = {}

    def step(self, params, grads):
        st = self.state or self.state.update(m=np.zeros_like(params), v=np.zeros_like(params), t=0, mu_prod=1.0) \
            or self.state
        b1, b2 = self.hp["beta1"], self.hp["beta2"]
        st["t"] += 1
        t = st["t"]
        mu_t = b1 * (1.0 - 0.5 * 0.96 ** (t * 0.004))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * 0.004))
        st["mu_prod"] *= mu_t
        st["m"] = b1 * st["m"] + (1 - b1) * grads
        st["v"] = b2 * st["v"] + (1 - b2) * grads ** 2
        m_bar = (1 - mu_t) * grads / (1 - st["mu_prod"]) + mu_next * st["m"] / (1 - st["mu_prod"] * mu_next)
        v_hat = st["v"] / (1 - b2 ** t)
        return params - self.hp["lr"] * m_bar / (np.sqrt(v_hat) + self.hp["eps"])


class OfficialRAdam:
    """The RAdam authors' step (LiyuanLucasLiu/RAdam, paraphrased in numpy): N_sma ≥ 5, ε added to √v, the step
    size folding in both corrections, decay shrinking the weights first on every step that updates."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, degenerated_to_sgd=True):
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.degenerated_to_sgd = degenerated_to_sgd
        self.step_count, self.exp_avg, self.exp_avg_sq = 0, None, None

    def step(self, params, grads):
        beta1, beta2 = self.betas
        if self.exp_avg is None:
            self.exp_avg, self.exp_avg_sq = np.zeros_like(params), np.zeros_like(params)
        self.exp_avg_sq = self.exp_avg_sq * beta2 + (1 - beta2) * grads * grads
        self.exp_avg = self.exp_avg * beta1 + (1 - beta1) * grads
        self.step_count += 1
        beta2_t = beta2 ** self.step_count
        n_sma_max = 2 / (1 - beta2) - 1
        n_sma = n_sma_max - 2 * self.step_count * beta2_t / (1 - beta2_t)
        if n_sma >= 5:
            step_size = np.sqrt((1 - beta2_t) * (n_sma - 4) / (n_sma_max - 4) * (n_sma - 2) / n_sma * n_sma_max
                                / (n_sma_max - 2)) / (1 - beta1 ** self.step_count)
        elif self.degenerated_to_sgd:
            step_size = 1.0 / (1 - beta1 ** self.step_count)
        else:
            step_size = -1
        p = params.copy()
        if n_sma >= 5:
            if self.weight_decay != 0:
                p = p - self.weight_decay * self.lr * p
            p = p - step_size * self.lr * self.exp_avg / (np.sqrt(self.exp_avg_sq) + self.eps)
        elif step_size > 0:
            if self.weight_decay != 0:
                p = p - self.weight_decay * self.lr * p
            p = p - step_size * self.lr * self.exp_avg
        return p


def amsgrad(w, dw, config=None):
    """CS231n-style AMSGrad: a config dict carries the hyperparameters and the state (maximum of v, as TensorFlow)."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("vmax", np.zeros_like(w))
    config.setdefault("t", 0)
    config["t"] += 1
    config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
    config["v"] = config["beta2"] * config["v"] + (1 - config["beta2"]) * dw ** 2
    config["vmax"] = np.maximum(config["vmax"], config["v"])
    mt = config["m"] / (1 - config["beta1"] ** config["t"])
    vt = config["vmax"] / (1 - config["beta2"] ** config["t"])
    next_w = w - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"])
    return next_w, config


class Float32AMSGradVHat:
    """optax's form (maximum of v̂) with its state and step in float32, as a small JAX-port class keeps it."""

    def __init__(self, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = np.float32(lr), np.float32(b1), np.float32(b2), np.float32(eps)
        self.count, self.mu = 0, None

    def step(self, params, grads):
        g = grads.astype(np.float32)
        if self.mu is None:
            self.mu, self.nu, self.nu_max = (np.zeros_like(g) for _ in range(3))
        self.count += 1
        self.mu = (1 - self.b1) * g + self.b1 * self.mu
        self.nu = (1 - self.b2) * g * g + self.b2 * self.nu
        self.nu_max = np.maximum(self.nu_max, self.nu / (1 - self.b2 ** self.count))
        m_hat = self.mu / (1 - self.b1 ** self.count)
        return params - (self.lr * m_hat / (np.sqrt(self.nu_max) + self.eps)).astype(params.dtype)


@pytest.mark.parametrize("target, spec, overrides", [
    (CourseAdamax, "adamax", {}),
    (KerasStyleAdamax, "adamax", {"eps_placement": "outside-max", "eps": 1e-7}),
    (NumpyNAdam, "nadam", {}),
    (OfficialRAdam, "radam", {"decoupled_weight_decay": True}),        # the authors' decay is decoupled
    (amsgrad, "amsgrad", {}),
    (Float32AMSGradVHat, "amsgrad", {"maximum_of": "v-hat"}),
], ids=["course-adamax", "keras-adamax", "numpy-nadam", "official-radam", "cs231n-amsgrad",
        "float32-amsgrad-v-hat"])
def test_correct_implementations_written_by_others_pass_every_check(target, spec, overrides):
    run = run_inline(RunPlan(target, spec, overrides, RunOptions(max_examples=10, timeout=None)))
    bad = [(c.name, c.status, c.message) for c in run.checks if c.status not in (Status.PASS, Status.SKIP)]
    assert not bad, bad


def test_the_authors_radam_without_sgd_phase_is_named_with_its_flag():
    _, result = _check(lambda lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0:
                       OfficialRAdam(lr, betas, eps, weight_decay, degenerated_to_sgd=False), "radam")
    assert result.status is Status.FAIL
    assert "no step before the rectification" in result.diagnosis and "degenerated_to_sgd=false" in result.diagnosis, \
        result.diagnosis
    _, result = _check(lambda lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0:
                       OfficialRAdam(lr, betas, eps, weight_decay, degenerated_to_sgd=False), "radam",
                       {"degenerated_to_sgd": False, "decoupled_weight_decay": True})
    assert result.status is Status.PASS, result.message


# -------------------------------------------------- properties with known answers


@pytest.mark.parametrize("cls, spec, phrase", [
    ("RadamThresholdFour", "radam", "−η g until ρ_t passes the threshold"),
    ("NadamExtraMu", "nadam", "μ_(t+1)(1 − β1ᵗ)/(1 − Π_t μ_(t+1))"),
    ("AmsgradEpsScaled", "amsgrad", "−η g/(|g| + ε)"),
])
def test_the_constant_gradient_closed_forms_catch_the_real_bugs_on_their_own(cls, spec, phrase):
    from tests.buggy import beyond

    _, result = _check(getattr(beyond, cls), spec, options=RunOptions(checks=("constant-gradient",), timeout=None))
    assert result.status is Status.FAIL, result.message
    assert phrase in result.message, result.message


def test_radam_s_first_five_steps_are_sgd_with_momentum_and_the_sixth_is_rectified():
    """By hand: with β2 = 0.999, ρ_5 = 4.996 and ρ_6 = 5.994 (notes §5.4), so a constant gradient moves w by
    exactly −η g for five steps; the sixth step is −η r_6 g√(1 − β2⁶)/(√(1 − β2⁶)|g| + ε)."""
    from reference import radam

    opt, w = radam(lr=0.1), np.zeros(2)
    state = opt.init(w)
    g = np.array([2.0, -0.5])
    traj = []
    for _ in range(6):
        w, state = opt.update(g, state, w)
        traj.append(w)
    np.testing.assert_allclose(np.diff(np.vstack([np.zeros(2)] + traj), axis=0)[:5], np.tile(-0.1 * g, (5, 1)),
                               rtol=1e-15)
    b2, t = 0.999, 6
    rho_inf = 2 / (1 - b2) - 1
    rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
    assert 5.99 < rho < 6.0
    r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    c = np.sqrt(1 - b2 ** t)
    np.testing.assert_allclose(traj[5] - traj[4], -0.1 * r * g * c / (c * np.abs(g) + 1e-8), rtol=1e-13)


class PaperAdamax:
    """Kingma & Ba's Algorithm 2 as printed: no ε at all, u ← max(β2u, |g|)."""

    def __init__(self, alpha=0.002, beta1=0.9, beta2=0.999):
        self.alpha, self.beta1, self.beta2 = alpha, beta1, beta2
        self.t, self.m, self.u = 0, 0.0, 0.0

    def step(self, params, grads):
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grads
        self.u = np.maximum(self.beta2 * self.u, np.abs(grads))
        return params - (self.alpha / (1 - self.beta1 ** self.t)) * self.m / self.u


def test_the_paper_s_adamax_without_eps_conforms_at_eps_zero_and_is_named_otherwise():
    run, result = _check(PaperAdamax, "adamax", {"eps": 0.0})
    assert result.status is Status.PASS, result.message
    _, result = _check(PaperAdamax, "adamax", {"eps": 1e-3})
    assert result.status is Status.FAIL and "eps = 0" in (result.diagnosis or ""), result.diagnosis


def test_a_numpy_nadam_in_ruder_s_form_is_named():
    class RuderNadam(NumpyNAdam):
        def step(self, params, grads):
            st = self.state or self.state.update(m=np.zeros_like(params), v=np.zeros_like(params), t=0) or self.state
            b1, b2 = self.hp["beta1"], self.hp["beta2"]
            st["t"] += 1
            st["m"] = b1 * st["m"] + (1 - b1) * grads
            st["v"] = b2 * st["v"] + (1 - b2) * grads ** 2
            m_hat = st["m"] / (1 - b1 ** st["t"])
            v_hat = st["v"] / (1 - b2 ** st["t"])
            nesterov = b1 * m_hat + (1 - b1) * grads / (1 - b1 ** st["t"])
            return params - self.hp["lr"] * nesterov / (np.sqrt(v_hat) + self.hp["eps"])

    _named(RuderNadam, "nadam", {}, "Ruder's overview")
