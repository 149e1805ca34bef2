"""ASGD, added as one algorithm record (verify/algorithms/asgd.py): PyTorch's ASGD passes with both kernels, the
old multi-tensor kernel's rate η₀/(1 + λη₀t^α) (PyTorch before PR #125440) fails with its name, ASGDs written the
way course code writes them pass, and what conformance cannot see (the average ax, hence t0) is checked through
the reference's own average."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

import reference
from reference._src import asgd as asgd_module
from verify.plan import RunPlan
from verify.results import Status
from verify.runner import RunOptions, run_inline

CONFORMANCE = RunOptions(checks=("conformance",), max_examples=12, timeout=None)
#: hyperparameters where everything of ASGD shows within a few steps: a decaying rate, a shrink, coupled decay,
#: averaging from the fourth step on
BUSY = {"lr": 0.2, "lambd": 0.3, "alpha": 0.6, "t0": 1.0, "weight_decay": 0.1}


def _status(target, overrides=None):
    run = run_inline(RunPlan(target, "asgd", overrides or {}, CONFORMANCE))
    return run, run.checks[0]


def test_the_reference_is_pytorch_s_asgd_worked_by_hand():
    # η₀ = 0.5, λ = 0.4, α = 0.5, λ_wd = 0.1, w = 1, g = 2:
    # step 1: η = 0.5, g' = 2 + 0.1 = 2.1, w = 1·(1 − 0.2) − 0.5·2.1 = −0.25
    # step 2: η = 0.5/√1.2, g' = 2 − 0.025 = 1.975, w = −0.25(1 − 0.4η) − 1.975η
    opt = reference.asgd(lr=0.5, lambd=0.4, alpha=0.5, t0=0.0, weight_decay=0.1)
    w, s = np.ones(1), opt.init(np.ones(1))
    w, s = opt.update(np.array([2.0]), s, w)
    np.testing.assert_allclose(w, [-0.25], rtol=1e-15)
    w, s = opt.update(np.array([2.0]), s, w)
    eta = 0.5 / math.sqrt(1.2)
    np.testing.assert_allclose(w, [-0.25 * (1 - 0.4 * eta) - 1.975 * eta], rtol=1e-15)
    assert s.count == 2 and np.array_equal(s.ax, w)            # μ = 1 until step t₀ + 3
    # the rate of step 3 in the two forms: 0.5/1.4^0.5 = 0.42258, and the old kernel's 0.5/(1 + 0.2·√2) = 0.38976 (mpmath)
    assert reference.asgd_eta(3, 0.5, 0.4, 0.5) == pytest.approx(0.422577127364258, rel=1e-14)
    assert reference.asgd_eta(3, 0.5, 0.4, 0.5, eta_form="power-of-step") == pytest.approx(0.389759395394228799,
                                                                                            rel=1e-14)
    result = doctest.testmod(asgd_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3 and result.failed == 0


# ------------------------------------------------------------------ PyTorch


@pytest.mark.torch
@pytest.mark.parametrize("foreach", [False, True])
def test_torch_asgd_passes_with_both_kernels(foreach):
    torch = pytest.importorskip("torch")

    class Kernel(torch.optim.ASGD):
        def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0):
            super().__init__(params, lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                             foreach=foreach)

    _, result = _status(Kernel)
    assert result.status is Status.PASS, result.message
    _, result = _status(Kernel, BUSY)
    assert result.status is Status.PASS, result.message
    # and the state torch keeps beside the parameters is the reference's average (torch keeps η and μ as scalar
    # tensors of its default dtype: float64 here, as the adapter runs it; under float32 μ = 1/3 is off by 4e-8)
    params = [torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))]
    ref = reference.asgd(**BUSY)
    w, s = np.array([1.0, -2.0]), ref.init(np.array([1.0, -2.0]))
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        opt = Kernel(params, **BUSY)
        for g in ([0.5, 1.0], [-1.0, 0.25], [2.0, -0.5], [0.1, 0.3], [1.5, -1.0]):
            params[0].grad = torch.tensor(g, dtype=torch.float64)
            opt.step()
            w, s = ref.update(np.array(g), s, w)
    finally:
        torch.set_default_dtype(old)
    np.testing.assert_allclose(opt.state[params[0]]["ax"].numpy(), s.ax, rtol=1e-13)
    assert not np.allclose(s.ax, w)                              # the average did average (t₀ = 1, five steps)


def _old_foreach_asgd(torch):
    """torch.optim.ASGD's multi-tensor kernel as it was before PR #125440, paraphrased: every tensor takes the
    first tensor's rate, and the new rate is lr/(1 + lambd·lr·step**alpha) (Python's precedence: the power binds
    to the step only)."""

    class OldForeachASGD(torch.optim.ASGD):
        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                params = [p for p in group["params"] if p.grad is not None]
                grads = [p.grad for p in params]
                states = [self.state[p] for p in params]
                for p, st in zip(params, states):
                    if not st:
                        st.update(step=0, eta=group["lr"], mu=1.0, ax=torch.zeros_like(p))
                lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
                for st in states:
                    st["step"] += 1
                if group["weight_decay"] != 0:
                    grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
                eta = states[0]["eta"]
                torch._foreach_mul_(params, 1 - lambd * eta)
                torch._foreach_add_(params, grads, alpha=-eta)
                for p, st in zip(params, states):
                    if st["mu"] != 1:
                        st["ax"].add_(p.sub(st["ax"]).mul(st["mu"]))
                    else:
                        st["ax"].copy_(p)
                for st in states:
                    st["eta"] = lr / (1 + lambd * lr * st["step"] ** alpha)
                    st["mu"] = 1 / max(1, st["step"] - t0)

    return OldForeachASGD


@pytest.mark.torch
def test_the_old_foreach_kernel_s_rate_fails_and_is_named():
    torch = pytest.importorskip("torch")
    cls = _old_foreach_asgd(torch)
    for overrides in ({}, {"lambd": 0.3, "lr": 0.5}):            # PyTorch's defaults (α = 0.75) too
        _, result = _status(cls, overrides)
        assert result.status is Status.FAIL, result.message
        assert result.diagnosis.startswith("matches the rate η₀/(1 + λη₀t^α), the power applied to the step count "
                                           "alone"), result.diagnosis
    # where both forms are one (α = 1, or λ = 0) it is ASGD, and passes
    _, result = _status(cls, {"alpha": 1.0, "lambd": 0.3})
    assert result.status is Status.PASS, result.message


# -------------------------------------------------------------- code as people write it


class CourseASGD:
    """A course solution's ASGD: hyperparameters hard-coded but the learning rate, its own state dict, the rate and
    the averaging weight updated after the step as torch does."""

    def __init__(self, lr=0.01):
        self.lr, self.lambd, self.alpha, self.t0 = lr, 1e-4, 0.75, 1e6
        self.state = {}

    def step(self, params, grads):
        st = self.state
        if not st:
            st["step"], st["eta"], st["mu"], st["ax"] = 0, self.lr, 1.0, np.zeros_like(params)
        st["step"] += 1
        params = params * (1 - self.lambd * st["eta"]) - st["eta"] * grads
        st["ax"] = params.copy() if st["mu"] == 1 else st["ax"] + st["mu"] * (params - st["ax"])
        st["eta"] = self.lr / (1 + self.lambd * self.lr * st["step"]) ** self.alpha
        st["mu"] = 1 / max(1, st["step"] - self.t0)
        return params


def asgd(w, dw, config=None):
    """CS231n's update-rule shape: asgd(w, dw, config) -> (next_w, config), the schedule by the steps taken."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("lambd", 1e-4)
    config.setdefault("alpha", 0.75)
    config.setdefault("t", 0)
    lr, lam = config["learning_rate"], config["lambd"]
    eta = lr * (1 + lam * lr * config["t"]) ** -config["alpha"]
    next_w = w - eta * (dw + lam * w)
    config["t"] += 1
    return next_w, config


class Float32ASGD:
    """numpy in float32 throughout (hyperparameters, state, arithmetic), the shrink and step in torch's order."""

    def __init__(self, lr=0.01, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0):
        self.lr, self.lambd, self.alpha, self.wd = (np.float32(v) for v in (lr, lambd, alpha, weight_decay))
        self.t = 0

    def update(self, params, grads):
        w = params.astype(np.float32)
        g = grads.astype(np.float32) + self.wd * w
        eta = self.lr / (np.float32(1) + self.lambd * self.lr * np.float32(self.t)) ** self.alpha
        self.t += 1
        return w * (np.float32(1) - self.lambd * eta) - eta * g


def test_correct_numpy_asgds_pass():
    run, result = _status(CourseASGD)
    assert result.status is Status.PASS, result.message
    assert run.held["lambd"]["value"] == 1e-4 and run.held["t0"]["value"] == 1e6
    _, result = _status(CourseASGD, {"lr": 0.5})
    assert result.status is Status.PASS, result.message
    _, result = _status(asgd, {"lambd": 0.2, "alpha": 0.9, "weight_decay": 0.0})
    assert result.status is Status.PASS, result.message
    _, result = _status(Float32ASGD, BUSY)
    assert result.status is Status.PASS, result.message
    assert "float32" in result.message


class LateAveraging(CourseASGD):
    """t₀ handled off by one: μ = 1/max(1, t − t₀ − 1), so the average starts one step late."""

    def __init__(self, lr=0.01, t0=1e6):
        super().__init__(lr)
        self.t0 = t0

    def step(self, params, grads):
        out = super().step(params, grads)
        self.state["mu"] = 1 / max(1, self.state["step"] - self.t0 - 1)
        return out


def test_t0_off_by_one_leaves_the_iterates_alone_and_is_caught_through_the_average():
    """Conformance checks the iterates, which t₀ never touches: this bug passes it (a limit docs/optimizers.md
    states). Its average, compared with reference.asgd_average of its own iterates, differs from step t₀ + 3."""
    _, result = _status(LateAveraging, {"t0": 2.0})
    assert result.status is Status.PASS, result.message
    rng = np.random.default_rng(3)
    w0, grads = rng.normal(size=4), rng.normal(size=(8, 4))
    right, late = CourseASGD(lr=0.1), LateAveraging(lr=0.1, t0=2.0)
    right.t0 = 2.0
    for opt in (right, late):
        w, iterates = w0.copy(), []
        for g in grads:
            w = opt.step(w, g)
            iterates.append(w)
        opt.expected_average = reference.asgd_average(iterates, t0=2.0)[-1]
    np.testing.assert_allclose(right.state["ax"], right.expected_average, rtol=1e-13)
    assert not np.allclose(late.state["ax"], late.expected_average, rtol=1e-6)


class ReturnsAverage(CourseASGD):
    """Returns the average instead of the iterate (keeps the iterate inside)."""

    def __init__(self, lr=0.01, t0=1e6):
        super().__init__(lr)
        self.t0, self.w = t0, None

    def step(self, params, grads):
        self.w = super().step(params if self.w is None else self.w, grads)
        return self.state["ax"].copy()


def test_returning_the_average_is_named():
    _, result = _status(ReturnsAverage, {"t0": 0.0, "lr": 0.1})
    assert result.status is Status.FAIL, result.message
    assert result.diagnosis.startswith("matches the average ax returned"), result.diagnosis


class RateFromCurrentStep(CourseASGD):
    """The rate of step t from t (the counter incremented first), as a loop `for t in range(1, T + 1)` writes it."""

    def step(self, params, grads):
        self.state["step"] = self.state.get("step", 0) + 1
        eta = self.lr / (1 + self.lambd * self.lr * self.state["step"]) ** self.alpha
        return params * (1 - self.lambd * eta) - eta * grads


class NoShrink(CourseASGD):
    """λ only in the schedule: plain SGD at the decaying rate."""

    def step(self, params, grads):
        t = self.state.get("step", 0)
        self.state["step"] = t + 1
        return params - self.lr / (1 + self.lambd * self.lr * t) ** self.alpha * grads


@pytest.mark.parametrize("target, words", [
    (RateFromCurrentStep, "matches the rate of step t computed from t instead of the t − 1 steps"),
    (NoShrink, "matches the weights are not shrunk by 1 − λη"),
], ids=["rate-from-current-step", "no-shrink"])
def test_bugs_are_named(target, words):
    _, result = _status(target)
    assert result.status is Status.FAIL
    assert result.diagnosis.startswith(words), result.diagnosis
