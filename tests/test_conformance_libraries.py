"""The tolerance model against real libraries: PyTorch's and optax's optimizers, driven by tiny local
drivers (p.grad + opt.step(); optax update + apply_updates in float64), never fail conformance — their
different operation orders (lerp, addcdiv, separate square roots of the bias corrections, foreach
kernels) stay inside the error model — and the conventions they differ in are diagnosed by name."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import strategies as st

from verify import conformance as conf
from verify import strategies as vst
from verify.adapters.protocol import optimizers as numpy_protocol
from verify.adapters.base import OptimizerRun, OptimizerSubject
from verify.results import Status
from verify.runner import RunOptions, RunPlan, execute_check, prepare
from verify.search import falsify
from verify.specs import get_spec
from verify.specs.base import Held


# ------------------------------------------------------------------ drivers


def _forms(spec: str) -> dict[str, Held]:
    """The spec's named conventions (ε's placement, the momentum form) held at its canonical form, which the
    hand-built runs below implement (a real adapter holds them the same way)."""
    return {p.name: Held(p.default, "given", "the canonical form") for p in get_spec(spec).params
            if p.choices or p.type is bool}


def torch_subject(spec: str, *, foreach: bool = False, convention: str = "canonical") -> OptimizerSubject:
    torch = pytest.importorskip("torch")

    def build(p, hp):
        lr = hp["lr"]
        if spec == "sgd":
            return torch.optim.SGD([p], lr=lr, foreach=foreach)
        if spec in ("momentum", "nesterov"):
            nesterov = spec == "nesterov" and hp["momentum"] > 0
            return torch.optim.SGD([p], lr=lr, momentum=hp["momentum"], nesterov=nesterov, foreach=foreach)
        if spec == "weight-decay":
            wd = 2 * hp["lam"] if convention == "canonical" else hp["lam"]
            return torch.optim.SGD([p], lr=lr, momentum=hp["momentum"], weight_decay=wd, foreach=foreach)
        if spec == "rprop":
            return torch.optim.Rprop([p], lr=lr, etas=(hp["eta_minus"], hp["eta_plus"]),
                                     step_sizes=(hp["min_step_size"], hp["max_step_size"]), foreach=foreach)
        if spec == "rmsprop":
            return torch.optim.RMSprop([p], lr=lr, alpha=hp["rho"], eps=hp["eps"], momentum=hp["momentum"],
                                       centered=hp["centered"], foreach=foreach)
        if spec in ("adam", "adamw"):
            cls = torch.optim.Adam if (spec == "adam") == (convention == "canonical") else torch.optim.AdamW
            return cls([p], lr=lr, betas=(hp["b1"], hp["b2"]), eps=hp["eps"], weight_decay=hp["weight_decay"],
                       foreach=foreach)
        raise KeyError(spec)

    class Run(OptimizerRun):
        def __init__(self, hp):
            self.hp = hp

        def init(self, params):
            self.p = torch.tensor(np.array(params, dtype=np.float64), requires_grad=True)
            self.opt = build(self.p, self.hp)

        def step(self, grads):
            self.p.grad = torch.tensor(np.array(grads, dtype=np.float64))
            self.opt.step()
            return self.p.detach().numpy().copy()

    return OptimizerSubject(f"torch {spec}", factory=lambda **hp: Run(hp), library="torch", found=_forms(spec))


def _optax():
    optax = pytest.importorskip("optax")
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return optax, jax


@functools.lru_cache(maxsize=None)
def _optax_factory(spec: str, variant: str):
    optax, jax = _optax()

    def wd_sgd(learning_rate, lam2, momentum):
        return optax.chain(optax.add_decayed_weights(lam2), optax.sgd(learning_rate, momentum=momentum))

    def l2_adam(learning_rate, b1, b2, eps, weight_decay):
        return optax.chain(optax.add_decayed_weights(weight_decay), optax.adam(learning_rate, b1, b2, eps))

    def sign_sgd(learning_rate):
        return optax.chain(optax.scale_by_sign(), optax.scale(-learning_rate))

    table = {
        "sgd": (optax.sgd, lambda hp: {"learning_rate": hp["lr"]}, ()),
        "momentum": (optax.sgd, lambda hp: {"learning_rate": hp["lr"], "momentum": hp["momentum"]}, ()),
        "nesterov": (optax.sgd, lambda hp: {"learning_rate": hp["lr"], "momentum": hp["momentum"], "nesterov": True},
                     ("nesterov",)),
        "weight-decay": (wd_sgd, lambda hp: {"learning_rate": hp["lr"], "lam2": 2 * hp["lam"], "momentum": hp["momentum"]}, ()),
        "sign-sgd": (sign_sgd, lambda hp: {"learning_rate": hp["lr"]}, ()),
        "rprop": (optax.rprop, lambda hp: {"learning_rate": hp["lr"], "eta_minus": hp["eta_minus"], "eta_plus": hp["eta_plus"],
                                           "min_step_size": hp["min_step_size"], "max_step_size": hp["max_step_size"]}, ()),
        # momentum always a number (0 gives optax's trace of decay 0, the identity), so it is injected, not static
        "rmsprop": (optax.rmsprop, lambda hp: {"learning_rate": hp["lr"], "decay": hp["rho"], "eps": hp["eps"],
                                               "momentum": hp["momentum"], "centered": hp["centered"],
                                               "eps_in_sqrt": variant == "optax-default"}, ("eps_in_sqrt", "centered")),
        "adam": (l2_adam, lambda hp: {"learning_rate": hp["lr"], "b1": hp["b1"], "b2": hp["b2"], "eps": hp["eps"],
                                      "weight_decay": hp["weight_decay"]}, ()),
        "adamw": (optax.adamw, lambda hp: {"learning_rate": hp["lr"], "b1": hp["b1"], "b2": hp["b2"], "eps": hp["eps"],
                                           "weight_decay": hp["weight_decay"]}, ()),
    }
    factory, kwargs, static = table[spec]
    return optax.inject_hyperparams(factory, static_args=static), kwargs


def optax_subject(spec: str, variant: str = "canonical") -> OptimizerSubject:
    optax, jax = _optax()
    import jax.numpy as jnp

    injected, kwargs = _optax_factory(spec, variant)

    class Run(OptimizerRun):
        def __init__(self, hp):
            self.tx = injected(**kwargs(hp))

        def init(self, params):
            self.p = jnp.asarray(np.array(params, dtype=np.float64))
            self.s = self.tx.init(self.p)

        def step(self, grads):
            self.p, self.s = _optax_step(spec, variant, self.tx, jnp.asarray(np.array(grads, dtype=np.float64)), self.s, self.p)
            return np.asarray(self.p, dtype=np.float64).copy()

    found = _forms(spec)
    if spec == "rmsprop":       # optax's momentum accumulates η·g/√(…): the Polyak form, as the adapter holds it
        found["form"] = Held("polyak", "given", "optax's form")
    return OptimizerSubject(f"optax {spec}", factory=lambda **hp: Run(hp), library="optax", found=found)


_JITTED: dict = {}


def _optax_step(spec, variant, tx, g, s, p):
    optax, jax = _optax()
    key = (spec, variant)
    if key not in _JITTED:
        def step(g, s, p):
            u, s2 = tx.update(g, s, p)
            return optax.apply_updates(p, u), s2
        # tx's hyperparameters are read from the state (inject_hyperparams): the compiled step is reusable.
        _JITTED[key] = jax.jit(step)
    return _JITTED[key](g, s, p)


# ------------------------------------------------------------------ sweeps


def _reference(spec):
    return numpy_protocol.optimizer(get_spec(spec).reference({}), "reference")


def sweep(spec: str, subject: OptimizerSubject, n: int, seed: int = 0) -> tuple[float, list[str]]:
    ref = _reference(spec)
    worst, fails = [0.0], []

    def test(pair):
        hp, recipe = pair
        ex = conf.build_example(ref, hp, recipe, eps=hp.get("eps"))
        v = conf.judge(spec, subject, ref, ex)
        if not v.ok:
            fails.append(f"{hp} {recipe}\n{v.comparison}")
            return "fail"
        worst[0] = max(worst[0], v.ratio)
        return None

    held = {n: h.value for n, h in (subject.found or {}).items()}     # pinned, as a run pins them
    falsify(st.tuples(vst.hyperparameters(spec, **held), conf.recipes()), test, seed=seed, max_examples=n)
    return worst[0], fails


TORCH_SPECS = ("sgd", "momentum", "nesterov", "weight-decay", "rprop", "rmsprop", "adam", "adamw")
OPTAX_SPECS = ("sgd", "momentum", "nesterov", "weight-decay", "sign-sgd", "rmsprop", "adam", "adamw")


@pytest.mark.torch
@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("spec", TORCH_SPECS)
def test_torch_never_fails_conformance(spec, foreach):
    worst, fails = sweep(spec, torch_subject(spec, foreach=foreach), n=25, seed=11)
    assert not fails, fails[0]
    assert worst < 0.5, worst   # headroom: the closest example uses under half the tolerance


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.parametrize("spec", TORCH_SPECS)
def test_torch_never_fails_conformance_long(spec):
    # With and without the foreach kernels; benchmarks/false_alarms.py sweeps 20 seeds per optimizer.
    for seed in range(2):
        worst, fails = sweep(spec, torch_subject(spec, foreach=bool(seed % 2)), n=150, seed=seed)
        assert not fails, fails[0]


@pytest.mark.optax
@pytest.mark.parametrize("spec", OPTAX_SPECS)
def test_optax_never_fails_conformance(spec):
    worst, fails = sweep(spec, optax_subject(spec), n=12, seed=5)
    assert not fails, fails[0]
    assert worst < 0.5, worst


@pytest.mark.optax
@pytest.mark.slow
@pytest.mark.parametrize("spec", OPTAX_SPECS)
def test_optax_never_fails_conformance_long(spec):
    worst, fails = sweep(spec, optax_subject(spec), n=100, seed=1)
    assert not fails, fails[0]


# ------------------------------------------------------------------ whole specs and conventions


def _run_check(subject, spec, check, overrides=None, seed=0):
    prep = prepare(RunPlan("reference", spec, overrides))
    prep.subject, prep.target_name = subject, subject.description
    prep.held = {**prep.held, **(subject.found or {})}       # the forms the hand-built run implements
    return execute_check(prep, prep.spec.check(check), RunOptions(seed=seed, max_examples=30))


@pytest.mark.torch
@pytest.mark.parametrize("spec", TORCH_SPECS)
def test_torch_passes_every_check(spec):
    subject = torch_subject(spec)
    for check in get_spec(spec).checks:
        result = _run_check(subject, spec, check.name)
        assert result.status in (Status.PASS, Status.SKIP), (check.name, result.message[:1500])


@pytest.mark.torch
def test_torch_conventions_are_diagnosed():
    """PyTorch's SGD weight_decay = λ (not 2λ) and AdamW under the adam spec are named by the diagnosis."""
    r = _run_check(torch_subject("weight-decay", convention="torch"), "weight-decay", "conformance", {"lam": 0.05})
    assert r.status is Status.FAIL and "factor 2 in λ" in r.diagnosis and "PyTorch's weight_decay" in r.diagnosis
    r = _run_check(torch_subject("adam", convention="swapped"), "adam", "conformance", {"weight_decay": 0.05})
    assert r.status is Status.FAIL and r.diagnosis.startswith("matches decoupled weight decay (AdamW) in adam")
    r = _run_check(torch_subject("adamw", convention="swapped"), "adamw", "conformance")
    assert r.status is Status.FAIL and r.diagnosis.startswith("matches coupled (L2) decay in adamw")


@pytest.mark.optax
def test_optax_rmsprop_default_is_eps_inside():
    r = _run_check(optax_subject("rmsprop", "optax-default"), "rmsprop", "conformance")
    assert r.status is Status.FAIL
    assert r.diagnosis.startswith("matches RMSprop with ε inside the square root")


@pytest.mark.optax
def test_optax_rprop_is_one_step_late():
    """optax 0.2's rprop applies each call's update at the next call: found and named."""
    optax, _ = _optax()
    subject = OptimizerSubject("optax rprop", factory=lambda **hp: _OptaxRpropRun(hp))
    r = _run_check(subject, "rprop", "conformance")
    assert r.status is Status.FAIL
    assert "optax 0.2's rprop" in r.diagnosis and "one-step lag" in r.diagnosis


class _OptaxRpropRun(OptimizerRun):
    def __init__(self, hp):
        optax, _ = _optax()
        self.optax = optax
        self.tx = optax.rprop(hp["lr"], hp["eta_minus"], hp["eta_plus"], hp["min_step_size"], hp["max_step_size"])

    def init(self, params):
        import jax.numpy as jnp

        self.p = jnp.asarray(np.array(params, dtype=np.float64))
        self.s = self.tx.init(self.p)

    def step(self, grads):
        import jax.numpy as jnp

        u, self.s = self.tx.update(jnp.asarray(np.array(grads, dtype=np.float64)), self.s, self.p)
        self.p = self.optax.apply_updates(self.p, u)
        return np.asarray(self.p, dtype=np.float64).copy()
