"""The PyTorch adapter: optimizers, initialisers and batch norm against the reference.

Unit tests drive the adapted torch object and the adapted reference with the
same inputs and compare; the end-to-end tests (``verify check``) are in
``tests/test_adapters_e2e.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from verify.adapters.mapping import parameter_shapes

torch = pytest.importorskip("torch")

import reference  # noqa: E402
from verify.adapters.protocol import optimizers as numpy_protocol  # noqa: E402
from verify.adapters import torch_adapter as ta  # noqa: E402
from verify.errors import (  # noqa: E402
    BadParameterError,
    HeldParameterError,
    MissingDependencyError,
    ProtocolError,
    TargetError,
    TargetLoadError,
)
from verify.runner import RunPlan, prepare  # noqa: E402
from verify.specs import SPEC_NAMES, get_spec  # noqa: E402
from verify.specs.base import Family, Spec  # noqa: E402
from verify.targets import load_target  # noqa: E402

pytestmark = pytest.mark.torch

BUGGY = Path(__file__).resolve().parent / "buggy" / "torch_optimizers.py"


def buggy(name):
    return load_target(f"{BUGGY}:{name}")


def spec_stub(name, family=Family.OPTIMIZER):
    """A spec with the given name, the registered spec's params and no checks (the adapters read name, params,
    family; the params carry the defaults of the conventions a library holds, such as momentum's form)."""
    params = get_spec(name).params if name in SPEC_NAMES else ()
    return Spec(name=name, family=family, title=name, formula="", params=params, checks=(), reference=lambda p: None)


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
    "rmsprop": dict(lr=0.01, rho=0.9, eps=1e-8),
    "adam": dict(lr=0.01, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.1),
    "adamw": dict(lr=0.01, b1=0.8, b2=0.99, eps=1e-8, weight_decay=0.1),
}


def stream(n, steps=25, seed=0, zeros=True):
    """A start point and a gradient stream; some exact zeros and repeated signs, to exercise Rprop/sign."""
    rng = np.random.default_rng(seed)
    p0 = rng.normal(size=n)
    grads = [rng.normal(size=n) for _ in range(steps)]
    if zeros and n > 2 and steps > 4:
        grads[3][1] = 0.0
        grads[4] = grads[3].copy()
    return p0, grads


def iterates(subject, hp, p0, grads):
    return subject.run(hp, p0, grads)


def assert_same_iterates(actual, desired, rtol=1e-12):
    scale = np.max(np.abs(desired)) if desired.size else 1.0
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * scale)


def ref_subject(spec):
    return numpy_protocol.optimizer(REF[spec], "reference")


# ----- optimizers: conformance with the reference ---------------------------------------------------

BUILTIN = [
    ("sgd", torch.optim.SGD), ("momentum", torch.optim.SGD), ("nesterov", torch.optim.SGD),
    ("weight-decay", torch.optim.SGD), ("rprop", torch.optim.Rprop), ("rmsprop", torch.optim.RMSprop),
    ("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW),
]


@pytest.mark.parametrize("spec,cls", BUILTIN, ids=[s for s, _ in BUILTIN])
@pytest.mark.parametrize("n", [1, 3, 8, 15])
def test_torch_optimizers_match_the_reference(spec, cls, n):
    subject = ta.optimizer(cls, spec_stub(spec), cls.__name__)
    p0, grads = stream(n)
    assert_same_iterates(iterates(subject, HP[spec], p0, grads), iterates(ref_subject(spec), HP[spec], p0, grads))


@pytest.mark.parametrize("spec,hp", [
    ("nesterov", dict(lr=0.1, momentum=0.0)),          # torch refuses nesterov without momentum: mapped
    ("weight-decay", dict(lr=0.1, lam=0.3, momentum=0.0)),
    ("adam", dict(lr=0.01, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0)),
    ("adamw", dict(lr=0.01, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0)),
    ("rmsprop", dict(lr=0.01, rho=0.99, eps=0.1)),
    ("rprop", dict(lr=0.1, eta_minus=0.3, eta_plus=1.5, min_step_size=0.05, max_step_size=0.2)),
])
def test_edge_hyperparameters_match_the_reference(spec, hp):
    cls = dict(BUILTIN)[spec]
    subject = ta.optimizer(cls, spec_stub(spec), cls.__name__)
    p0, grads = stream(12)
    assert_same_iterates(iterates(subject, hp, p0, grads), iterates(ref_subject(spec), hp, p0, grads))


@pytest.mark.parametrize("spec,name", [
    ("sgd", "PlainSGD"), ("momentum", "PlainSGD"), ("nesterov", "PlainSGD"), ("weight-decay", "PlainSGD"),
    ("adam", "PlainAdam"), ("sign-sgd", "SignSGD"), ("momentum", "SGDNoForeach"), ("nesterov", "SGDNoForeach"),
    ("weight-decay", "SGDNoForeach"),
])
def test_correct_user_subclasses_match_the_reference(spec, name):
    subject = ta.optimizer(buggy(name), spec_stub(spec), name)
    p0, grads = stream(15)
    assert_same_iterates(iterates(subject, HP[spec], p0, grads), iterates(ref_subject(spec), HP[spec], p0, grads))


@pytest.mark.parametrize("spec,name", [
    ("adam", "AdamNoBiasCorrection"), ("adam", "AdamSharedStep"), ("adamw", "AdamWCoupled"),
    ("sgd", "SGDOneStepLag"), ("momentum", "DampenedMomentum"), ("nesterov", "NesterovNoLookahead"),
    ("weight-decay", "SGDDecayOutsideMomentum"), ("weight-decay", "SGDHalfDecay"),
    ("rmsprop", "RMSpropEpsInside"), ("rprop", "RpropNoZeroing"), ("sign-sgd", "SignSGDNoZero"),
])
def test_buggy_subclasses_differ_from_the_reference(spec, name):
    subject = ta.optimizer(buggy(name), spec_stub(spec), name)
    hp = dict(HP[spec])
    if spec == "rmsprop":
        hp["eps"] = 0.01            # ε inside vs outside the root shows when g² ≈ ε
    p0, grads = stream(15)
    got, want = iterates(subject, hp, p0, grads), iterates(ref_subject(spec), hp, p0, grads)
    assert not np.allclose(got, want, rtol=1e-8, atol=1e-10)


def test_a_shared_step_counter_shows_only_with_several_tensors():
    subject = ta.optimizer(buggy("AdamSharedStep"), spec_stub("adam"), "AdamSharedStep")
    hp = HP["adam"]
    p0, grads = stream(1)
    assert_same_iterates(iterates(subject, hp, p0, grads), iterates(ref_subject("adam"), hp, p0, grads))
    p0, grads = stream(15)
    assert not np.allclose(iterates(subject, hp, p0, grads), iterates(ref_subject("adam"), hp, p0, grads))


def test_several_float64_tensors_of_different_shapes_with_grads_set():
    seen = []

    class Spy(torch.optim.SGD):
        def step(self, closure=None):
            seen.append([(tuple(p.shape), p.dtype, p.grad.dtype, torch.get_default_dtype())
                         for p in self.param_groups[0]["params"]])
            return super().step(closure)

    subject = ta.optimizer(Spy, spec_stub("sgd"), "Spy")
    p0, grads = stream(15, steps=2)
    subject.run({"lr": 0.1}, p0, grads)
    shapes = [s for s, *_ in seen[0]]
    assert shapes == [(2, 3), (4,), (1,), (4,)]
    assert all(d == torch.float64 and g == torch.float64 and dd == torch.float64 for _, d, g, dd in seen[0])
    assert torch.get_default_dtype() == torch.float32       # restored after the step


@pytest.mark.parametrize("shape,pieces", [
    ((), [()]), ((1,), [(1,)]), ((2,), [(1,), (1,)]), ((6,), [(5,), (1,)]), ((7,), [(2, 3), (1,)]),
    ((10,), [(2, 3), (4,)]), ((11,), [(2, 3), (4,), (1,)]), ((3, 5), [(2, 3), (4,), (1,), (4,)]),
])
def test_parameter_shapes(shape, pieces):
    got = parameter_shapes(shape)
    assert got == pieces
    assert sum(int(np.prod(s)) for s in got) == int(np.prod(shape))


def test_matrix_shaped_parameters_keep_their_shape():
    subject = ta.optimizer(torch.optim.Adam, spec_stub("adam"), "Adam")
    rng = np.random.default_rng(1)
    p0 = rng.normal(size=(3, 5))
    grads = [rng.normal(size=(3, 5)) for _ in range(5)]
    got = subject.run(HP["adam"], p0, grads)
    assert got.shape == (5, 3, 5)
    assert_same_iterates(got, ref_subject("adam").run(HP["adam"], p0, grads))


# ----- mapping lines -----------------------------------------------------------------------------------


def test_mapping_weight_decay_states_lambda_is_half_torch_weight_decay():
    subject = ta.optimizer(torch.optim.SGD, spec_stub("weight-decay"), "torch.optim.SGD")
    text = "\n".join(subject.mapping)
    assert "λ (spec weight-decay) = weight_decay/2 in torch.optim.SGD" in text
    assert "constructor: torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=2λ)" in text
    assert subject.library == "torch"


def test_mapping_lines_per_spec():
    def text(spec, cls):
        return "\n".join(ta.optimizer(cls, spec_stub(spec), cls.__name__).mapping)

    assert "rho → alpha (torch.optim.RMSprop)" in text("rmsprop", torch.optim.RMSprop)
    assert "ε outside the root" in text("rmsprop", torch.optim.RMSprop)
    assert "betas=(b1, b2)" in text("adam", torch.optim.Adam)
    assert "nesterov=True" in text("nesterov", torch.optim.SGD)
    assert "etas=(eta_minus, eta_plus)" in text("rprop", torch.optim.Rprop)
    assert "step_sizes=(min_step_size, max_step_size)" in text("rprop", torch.optim.Rprop)
    assert "decoupled (spec adamw)" in text("adam", torch.optim.AdamW)
    assert "coupled L2 (spec adam)" in text("adamw", torch.optim.Adam)


def test_the_table_covers_the_optimizer_specs():
    assert set(ta.TORCH_OPTIMIZERS) == {"sgd", "momentum", "nesterov", "weight-decay", "sign-sgd", "rprop",
                                        "rmsprop", "adam", "adamw", "adagrad", "amsgrad", "adamax", "nadam", "radam",
                                        "adadelta", "lion", "lamb",
                                        "asgd"}


# ----- refusals ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls,spec,words", [
    (torch.optim.Adam, "rprop", "torch.optim.Adam does not implement spec 'rprop'"),
    (torch.optim.SGD, "adam", "check it under --spec sgd or momentum or nesterov or weight-decay"),
    (torch.optim.NAdam, "adam", "torch.optim.NAdam does not implement spec 'adam'"),
    (torch.optim.SGD, "sign-sgd", "torch has no sign-SGD"),
    (torch.nn.Linear, "adam", "is not a torch.optim.Optimizer subclass"),
])
def test_unsupported_combinations_are_refused_in_one_line(cls, spec, words):
    with pytest.raises(TargetLoadError) as info:
        ta.optimizer(cls, spec_stub(spec), "target")
    assert words in str(info.value) and "\n" not in str(info.value)


def test_a_subclass_of_another_algorithm_is_refused():
    with pytest.raises(TargetLoadError, match=r"a subclass of torch.optim.Adam\) does not implement spec 'rmsprop'"):
        ta.optimizer(buggy("AdamNoBiasCorrection"), spec_stub("rmsprop"), "x")


def test_a_minimal_constructor_runs_only_at_torch_defaults_of_what_it_lacks():
    class FixedBetasAdam(torch.optim.Optimizer):
        """Adam with β1 = 0.9, β2 = 0.999, ε = 1e-8 built in; only lr is a keyword."""

        def __init__(self, params, lr):
            super().__init__(params, {"lr": lr})

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    st = self.state[p]
                    if not st:
                        st.update(t=0, m=torch.zeros_like(p), v=torch.zeros_like(p))
                    st["t"] += 1
                    st["m"].mul_(0.9).add_(p.grad, alpha=0.1)
                    st["v"].mul_(0.999).addcmul_(p.grad, p.grad, value=0.001)
                    m_hat, v_hat = st["m"] / (1 - 0.9 ** st["t"]), st["v"] / (1 - 0.999 ** st["t"])
                    p.sub_(group["lr"] * m_hat / (v_hat.sqrt() + 1e-8))

    prep = prepare(RunPlan(FixedBetasAdam, "adam"))
    text = "\n".join(prep.subject.mapping)
    assert "takes no 'betas' keyword: b1, b2 held at torch.optim.Adam's default (0.9, 0.999)" in text
    assert prep.subject.takes == {"lr"} and prep.varied == ["lr"]
    assert {k: (h.value, h.source) for k, h in prep.held.items()} == {
        "b1": (0.9, "not-taken"), "b2": (0.999, "not-taken"), "eps": (1e-8, "not-taken"),
        "weight_decay": (0.0, "not-taken"), "eps_placement": ("outside", "read")}
    hp = dict(lr=0.01, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0)
    p0, grads = stream(8)
    assert_same_iterates(prep.subject.run(hp, p0, grads), ref_subject("adam").run(hp, p0, grads))
    with pytest.raises(HeldParameterError, match=r"needs b1 = 0.8, but b1 is held at 0.9"):
        prep.subject.run(dict(hp, b1=0.8), p0, grads)


def test_a_keyword_with_a_torch_default_is_dropped_and_refused_only_when_needed():
    class NoDecay(torch.optim.Optimizer):
        def __init__(self, params, lr, momentum):
            super().__init__(params, {"lr": lr, "momentum": momentum})

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    buf = self.state[p].get("b")
                    buf = p.grad.clone() if buf is None else buf.mul_(group["momentum"]).add_(p.grad)
                    self.state[p]["b"] = buf
                    p.sub_(group["lr"] * buf)

    prep = prepare(RunPlan(NoDecay, "weight-decay"))
    assert any("takes no 'weight_decay'" in line for line in prep.subject.mapping)
    assert prep.held["lam"].value == 0.0 and prep.held["lam"].source == "not-taken"   # torch's weight_decay=0
    p0, grads = stream(8)
    hp = dict(lr=0.1, lam=0.0, momentum=0.5)
    assert_same_iterates(prep.subject.run(hp, p0, grads), ref_subject("weight-decay").run(hp, p0, grads))
    with pytest.raises(HeldParameterError, match="needs lam = 0.2"):
        prep.subject.run(dict(hp, lam=0.2), p0, grads)


def test_an_optional_flag_not_accepted_is_left_out():
    class MyNesterov(torch.optim.Optimizer):
        def __init__(self, params, lr, momentum):
            super().__init__(params, {"lr": lr, "momentum": momentum})

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    buf = self.state[p].get("b")
                    buf = p.grad.clone() if buf is None else buf.mul_(group["momentum"]).add_(p.grad)
                    self.state[p]["b"] = buf
                    p.sub_(group["lr"] * (p.grad + group["momentum"] * buf))

    subject = ta.optimizer(MyNesterov, spec_stub("nesterov"), "MyNesterov")
    p0, grads = stream(9)
    assert_same_iterates(subject.run(HP["nesterov"], p0, grads), ref_subject("nesterov").run(HP["nesterov"], p0, grads))


def test_unknown_hyperparameters_are_a_bad_parameter():
    subject = ta.optimizer(torch.optim.SGD, spec_stub("sgd"), "SGD")
    with pytest.raises(BadParameterError, match="has no equivalent in torch.optim.SGD"):
        subject.make(lr=0.1, foo=1.0)


def test_generic_optimizer_passes_torch_names_through():
    spec = Spec(name="generic-optimizer", family=Family.OPTIMIZER, title="", formula="", params=(), checks=(),
                reference=lambda p: None, accepts_extra_params=True)
    subject = ta.optimizer(torch.optim.Adam, spec, "Adam")
    p0, grads = stream(4)
    got = subject.run({"lr": 0.01, "betas": (0.9, 0.999)}, p0, grads)
    assert_same_iterates(got, ref_subject("adam").run(dict(HP["adam"], weight_decay=0.0), p0, grads))


def test_spec_defaults_fill_missing_hyperparameters():
    from verify.specs.base import Param

    spec = Spec(name="momentum", family=Family.OPTIMIZER, title="", formula="",
                params=(Param("lr", 0.05, ""), Param("momentum", 0.9, ""), Param("form", "pytorch", "", type=str)),
                checks=(), reference=lambda p: None)
    subject = ta.optimizer(torch.optim.SGD, spec, "SGD")
    p0, grads = stream(5)
    assert_same_iterates(subject.run({"lr": 0.05}, p0, grads),
                         ref_subject("momentum").run({"lr": 0.05, "momentum": 0.9}, p0, grads))


def test_target_exceptions_are_target_errors():
    class Broken(torch.optim.SGD):
        def step(self, closure=None):
            raise RuntimeError("kaboom")

    subject = ta.optimizer(Broken, spec_stub("sgd"), "Broken")
    with pytest.raises(TargetError, match="optimizer.step\\(\\) raised RuntimeError: kaboom"):
        subject.run({"lr": 0.1}, *stream(3, steps=1))


def test_missing_torch_is_a_missing_dependency(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"install dlverify\[torch\]"):
        ta.require_torch()
    with pytest.raises(MissingDependencyError, match=r"install dlverify\[torch\]"):
        ta.optimizer(object, spec_stub("sgd"), "x")


# ----- initialisers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn,scheme", [(torch.nn.init.kaiming_normal_, "he"), (torch.nn.init.xavier_normal_, "xavier")])
@pytest.mark.parametrize("shape", [(256, 128), (64, 32, 3, 3), (40, 20, 5)])
def test_initialisers_use_torch_layout_fans(fn, scheme, shape):
    subject = ta.initialiser(fn, fn.__name__)
    assert subject.layout == "torch" and subject.library == "torch"
    w = subject.sample(shape, seed=3)
    assert w.dtype == np.float64 and w.shape == shape
    want = reference.init_std(scheme, shape, layout="torch")
    wrong = reference.init_std(scheme, shape, layout="numpy")
    n = w.size
    # the sample std is within 6 standard errors of the torch-layout σ, and away from the numpy-layout one
    assert abs(w.std() - want) < 6 * want / np.sqrt(2 * n)
    if abs(wrong - want) > 12 * want / np.sqrt(2 * n):
        assert abs(w.std() - wrong) > 6 * want / np.sqrt(2 * n)


def test_initialiser_is_seeded_per_call_and_leaves_the_global_rng_alone():
    subject = ta.initialiser(torch.nn.init.kaiming_normal_, "k")
    torch.manual_seed(123)
    before = torch.get_rng_state().clone()
    a, b, c = subject.sample((8, 4), 1), subject.sample((8, 4), 1), subject.sample((8, 4), 2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert torch.equal(torch.get_rng_state(), before)


def test_initialiser_mapping_states_the_layout():
    subject = ta.initialiser(torch.nn.init.xavier_normal_, "x")
    assert "torch.nn.init.xavier_normal_" in subject.description
    assert any("(fan_out, fan_in, *kernel)" in line for line in subject.mapping)


def test_initialiser_reads_the_tensor_not_only_the_return_value():
    def fills_returns_none(t):
        torch.nn.init.normal_(t, 0.0, 0.5)

    w = ta.initialiser(fills_returns_none, "f").sample((50, 40), 0)
    assert 0.45 < w.std() < 0.55


@pytest.mark.parametrize("fn,words", [
    (lambda t: torch.randn(t.shape, dtype=t.dtype), "returned a new tensor and left the tensor it was given unfilled"),
    (lambda t: t[:1].normal_(), "left 9 of 12 entries of the tensor unfilled"),
    (lambda t: t.normal_().clone() * 2, "differs from the tensor it filled"),
])
def test_initialiser_protocol_violations(fn, words):
    with pytest.raises(ProtocolError, match=words):
        ta.initialiser(fn, "bad").sample((4, 3), 0)


def test_initialiser_exceptions_are_target_errors():
    def boom(t):
        raise ValueError("no fans")

    with pytest.raises(TargetError, match="no fans"):
        ta.initialiser(boom, "boom").sample((4, 3), 0)


def test_relu_bias_with_a_torch_function():
    w = ta.initialiser(lambda t: torch.nn.init.constant_(t, 0.01), "b").sample((7,), 0)
    np.testing.assert_array_equal(w, np.full(7, 0.01))


# ----- batch norm -------------------------------------------------------------------------------------------


def bn_pair(cls=torch.nn.BatchNorm1d, c=3, eps=1e-5, momentum=0.1, seed=0):
    subject = ta.batchnorm(cls, "bn")
    inst = subject.new(c, eps, momentum)
    ref = reference.BatchNorm1d(c, eps, momentum)
    rng = np.random.default_rng(seed)
    gamma, beta = rng.normal(size=c), rng.normal(size=c)
    inst.set_affine(gamma, beta)
    ref.gamma, ref.beta = gamma, beta
    return subject, inst, ref, rng


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batchnorm_forward_backward_running_match_the_reference(shape):
    subject, inst, ref, rng = bn_pair(eps=1e-3, momentum=0.3)
    assert subject.library == "torch" and "backward" in subject.roles
    for _ in range(3):
        x = 2.0 + 3.0 * rng.normal(size=shape)
        np.testing.assert_allclose(inst.forward(x, True), ref.forward(x, True), rtol=1e-12, atol=1e-12)
    dy = rng.normal(size=shape)
    for got, want in zip(inst.backward(dy), ref.backward(dy)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    for got, want in zip(inst.running(), (ref.running_mean, ref.running_var)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    x = rng.normal(size=shape)
    np.testing.assert_allclose(inst.forward(x, False), ref.forward(x, False), rtol=1e-12, atol=1e-12)
    # eval mode leaves the running statistics alone, and backward still refers to the last training forward
    for got, want in zip(inst.running(), (ref.running_mean, ref.running_var)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    for got, want in zip(inst.backward(dy), ref.backward(dy)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_batchnorm_backward_is_repeatable():
    _, inst, _, rng = bn_pair()
    inst.forward(rng.normal(size=(5, 3)), True)
    dy = rng.normal(size=(5, 3))
    first = inst.backward(dy)
    second = inst.backward(dy)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


class BiasedRunningVar(torch.nn.BatchNorm1d):
    """BUG: feeds the running variance the biased batch variance (Keras' choice with PyTorch's momentum)."""

    def forward(self, x):
        if self.training:
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * x.mean(0))
                self.running_var.mul_(1 - m).add_(m * x.var(0, unbiased=False))
            mean, var = x.mean(0), x.var(0, unbiased=False)
            return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
        return super().forward(x)


class DetachedStats(torch.nn.BatchNorm1d):
    """BUG: the batch statistics are detached, so dx misses the terms through μ and σ²."""

    def forward(self, x):
        mean, var = x.mean(0).detach(), x.var(0, unbiased=False).detach()
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


def test_buggy_batchnorm_modules_differ_from_the_reference():
    _, inst, ref, rng = bn_pair(BiasedRunningVar)
    x = rng.normal(size=(5, 3))
    np.testing.assert_allclose(inst.forward(x, True), ref.forward(x, True), rtol=1e-12, atol=1e-12)
    assert not np.allclose(inst.running()[1], ref.running_var)

    _, inst, ref, rng = bn_pair(DetachedStats)
    x = rng.normal(size=(5, 3))
    np.testing.assert_allclose(inst.forward(x, True), ref.forward(x, True), rtol=1e-12, atol=1e-12)
    dy = rng.normal(size=(5, 3))
    dx, dgamma, dbeta = inst.backward(dy)
    rdx, rdgamma, rdbeta = ref.backward(dy)
    np.testing.assert_allclose(dgamma, rdgamma, rtol=1e-10)
    assert not np.allclose(dx, rdx)


def test_batchnorm_refusals():
    with pytest.raises(TargetLoadError, match="give the class"):
        ta.batchnorm(torch.nn.BatchNorm1d(3), "inst")
    with pytest.raises(TargetLoadError, match="not a torch.nn.Module"):
        ta.batchnorm(dict, "dict")
    subject = ta.batchnorm(torch.nn.BatchNorm1d, "bn")
    assert any("momentum=None" in line for line in subject.mapping)
    # The cumulative convention gives the module momentum=None (torch's cumulative average), whatever m is.
    cumulative = ta.batchnorm(torch.nn.BatchNorm1d, "bn", convention="cumulative").new(3, 1e-5, 0.1)
    assert cumulative.module.momentum is None
    for k in range(1, 4):
        cumulative.forward(np.full((2, 3), float(k)) + np.array([[0.0], [1.0]]), True)
    np.testing.assert_allclose(cumulative.running()[0], np.full(3, 2.5))   # the mean of 1.5, 2.5, 3.5


def test_batchnorm_without_affine_or_running_stats_is_a_protocol_error():
    class NoAffine(torch.nn.BatchNorm1d):
        def __init__(self, num_features, eps=1e-5, momentum=0.1):
            super().__init__(num_features, eps=eps, momentum=momentum, affine=False, track_running_stats=False)

    inst = ta.batchnorm(NoAffine, "n").new(3, 1e-5, 0.1)
    with pytest.raises(ProtocolError, match="no 'weight' or 'gamma' parameter"):
        inst.set_affine(np.ones(3), np.zeros(3))
    with pytest.raises(ProtocolError, match="no 'running_mean' buffer"):
        inst.running()


def test_batchnorm_target_exceptions_are_target_errors():
    _, inst, _, _ = bn_pair()
    with pytest.raises(TargetError, match="more than 1 value per channel"):
        inst.forward(np.ones((1, 3)), True)


# ----- end to end: `verify check` on the acceptance targets and on buggy subclasses -------------------------

from tests.cli_helpers import not_passing, verify_check  # noqa: E402


ACCEPTANCE = [
    ("torch.optim.SGD", ("sgd", "momentum", "nesterov", "weight-decay")),
    ("torch.optim.Rprop", ("rprop",)),
    ("torch.optim.RMSprop", ("rmsprop",)),
    ("torch.optim.Adam", ("adam",)),
    ("torch.optim.AdamW", ("adamw",)),
    ("torch.nn.init.kaiming_normal_", ("init-he",)),
    ("torch.nn.init.xavier_normal_", ("init-xavier",)),
    ("torch.nn.BatchNorm1d", ("batchnorm",)),
]


@pytest.mark.slow
@pytest.mark.parametrize("target,specs", ACCEPTANCE, ids=[t for t, _ in ACCEPTANCE])
def test_acceptance_torch_targets_pass_every_check(tmp_path, target, specs):
    status, runs, out = verify_check(tmp_path, [target], specs)
    assert set(runs) == {(target, s) for s in specs}, out
    for spec in specs:
        run = runs[(target, spec)]
        assert not_passing(run) == [], (spec, out)
        assert run["mapping"] and run["versions"].get("torch"), run
    assert status == 0, out


def test_sgd_mapping_is_in_the_report(tmp_path):
    status, runs, out = verify_check(tmp_path, ["torch.optim.SGD"], ["weight-decay"], "--check", "determinism",
                                     "--no-isolation")
    run = runs[("torch.optim.SGD", "weight-decay")]
    assert "λ (spec weight-decay) = weight_decay/2 in torch.optim.SGD" in "\n".join(run["mapping"])
    assert run["adapter"].startswith("torch optimizer torch.optim.SGD")


# spec -> [(class in tests/buggy/torch_optimizers.py, words the diagnosis names; None: must pass)]
BUGGY_E2E = {
    "adam": [("AdamNoBiasCorrection", ["without bias correction"]), ("AdamSharedStep", []), ("PlainAdam", None)],
    "adamw": [("AdamWCoupled", ["coupled (l2) decay in adamw"])],
    "sgd": [("SGDOneStepLag", ["one call late"]), ("PlainSGD", None)],
    "momentum": [("DampenedMomentum", ["dampening"]), ("SGDNoForeach", None)],
    "weight-decay": [("SGDHalfDecay", ["factor 2 in λ"]), ("SGDDecayOutsideMomentum", ["decoupled decay"]),
                     ("PlainSGD", None)],
    "rmsprop": [("RMSpropEpsInside", ["ε inside the square root"])],
    "rprop": [("RpropNoZeroing", ["rprop−"])],
    "sign-sgd": [("SignSGDNoZero", ["sgn(0) = +1"]), ("SignSGD", None)],
}


def assert_verdicts(runs, spec, cases, path, out):
    for name, words in cases:
        run = runs[(f"{path}:{name}", spec)]
        failing = [c for c in run["checks"] if c["status"] == "fail"]
        if words is None:
            assert not_passing(run) == [], (name, out)
            continue
        assert failing, (name, out)
        text = " ".join((c.get("diagnosis") or "") + " " + c["message"] for c in failing).lower()
        assert all(w.lower() in text for w in words), (name, text[:3000])


@pytest.mark.slow
@pytest.mark.parametrize("spec", list(BUGGY_E2E))
def test_buggy_torch_subclasses_fail_with_a_diagnosis(tmp_path, spec):
    """One `verify check` per spec over its buggy (and correct) classes, conformance only."""
    cases = BUGGY_E2E[spec]
    targets = [f"{BUGGY}:{name}" for name, _ in cases]
    status, runs, out = verify_check(tmp_path, targets, [spec], "--check", "conformance", "--no-isolation")
    assert status == 1, out
    assert_verdicts(runs, spec, cases, BUGGY, out)


@pytest.mark.slow
def test_nesterov_without_lookahead_fails_as_heavy_ball(tmp_path):
    """Heavy ball (= Sutskever's w_t) under nesterov: torch takes the next gradient at the parameters the step
    left, so conformance fails and names heavy ball, as does the closed-loop rate."""
    target = f"{BUGGY}:NesterovNoLookahead"
    status, runs, out = verify_check(tmp_path, [target], ["nesterov"], "--check", "conformance",
                                     "--check", "nesterov-rate", "--no-isolation")
    checks = {c["name"]: c for c in runs[(target, "nesterov")]["checks"]}
    assert status == 1 and checks["conformance"]["status"] == "fail", out
    assert checks["conformance"]["diagnosis"].startswith("matches heavy-ball momentum")
    assert checks["nesterov-rate"]["status"] == "fail" and "heavy-ball" in checks["nesterov-rate"]["diagnosis"]


@pytest.mark.slow
def test_unsupported_combination_exits_2_in_one_line(tmp_path):
    status, runs, out = verify_check(tmp_path, ["torch.optim.Adam"], ["rprop"])
    assert status == 2 and "does not implement spec 'rprop'" in out, out


def test_missing_torch_exits_2_naming_the_extra():
    code = ("import sys; sys.modules['torch'] = None; from verify.cli import main; "
            "sys.exit(main(['check', 'torch.optim.Adam', '--spec', 'l2', '--no-isolation']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "install dlverify[torch]" in proc.stderr, proc.stderr


def test_missing_torch_at_adapt_time_exits_2(tmp_path):
    """A file that loads without torch but whose initialiser fn(tensor) needs the torch adapter."""
    f = tmp_path / "lazy_init.py"
    f.write_text("def init(tensor):\n    import torch\n    return torch.nn.init.kaiming_normal_(tensor)\n")
    code = ("import sys; sys.modules['torch'] = None; from verify.cli import main; "
            f"sys.exit(main(['check', {str(f) + ':init'!r}, '--spec', 'init-he', '--no-isolation']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "install dlverify[torch]" in proc.stderr, proc.stderr


BUGGY_BN = '''
import torch


class BiasedRunningVar(torch.nn.BatchNorm1d):
    """BUG: the running variance is fed the biased batch variance."""

    def forward(self, x):
        if self.training:
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * x.mean(0))
                self.running_var.mul_(1 - m).add_(m * x.var(0, unbiased=False))
            mean, var = x.mean(0), x.var(0, unbiased=False)
            return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
        return super().forward(x)


class DetachedStats(torch.nn.BatchNorm1d):
    """BUG: μ and σ² are detached, so dx misses the terms through the batch statistics."""

    def forward(self, x):
        if self.training:
            mean, var = x.mean(0).detach(), x.var(0, unbiased=False).detach()
            return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
        return super().forward(x)
'''


@pytest.mark.slow
def test_buggy_torch_batchnorm_modules_fail(tmp_path):
    f = tmp_path / "buggy_bn.py"
    f.write_text(BUGGY_BN)
    targets = [f"{f}:BiasedRunningVar", f"{f}:DetachedStats"]
    status, runs, out = verify_check(tmp_path, targets, ["batchnorm"], "--no-isolation",
                                     "--param", "running_variance=unbiased")
    assert status == 1, out
    biased = {c["name"]: c["status"] for c in runs[(targets[0], "batchnorm")]["checks"]}
    detached = {c["name"]: c["status"] for c in runs[(targets[1], "batchnorm")]["checks"]}
    assert biased["running-variance-estimate"] == "fail" and biased["forward-vs-reference"] == "pass", biased
    assert detached["backward-finite-difference"] == "fail" and detached["forward-vs-reference"] == "pass", detached


def test_an_optimizer_that_overwrites_p_grad_is_reported_not_failed():
    """Old PyTorch code scales or decays p.grad in place: the update is right and backward recomputes p.grad for
    every step, so the verdict is a pass with a note naming the write, not a failure."""
    from verify.runner import RunOptions, run_inline

    from tests.buggy.torch_optimizers import SGDScalesGradInPlace

    run = run_inline(RunPlan(SGDScalesGradInPlace, "sgd", options=RunOptions(timeout=None, max_examples=20)))
    checks = {c.name: c for c in run.checks}
    assert checks["conformance"].status.value == "pass"         # the update itself is right
    mutation = checks["no-input-mutation"]
    assert mutation.status.value == "pass", mutation.message
    assert any("modified p.grad of parameter tensor 0 in place" in n for n in mutation.notes), mutation.notes
    torch_sgd = run_inline(RunPlan("torch.optim.SGD", "sgd", options=RunOptions(timeout=None, max_examples=5,
                                                                         checks=("no-input-mutation",))))
    assert torch_sgd.checks[0].status.value == "pass" and not torch_sgd.checks[0].notes
