"""timm's Lamb (huggingface/pytorch-image-models ``timm/optim/lamb.py``, an NvLamb after NVIDIA's FusedLAMB) under
spec ``lamb``: its defaults are not LAMB and are refused with the reason; the algorithm itself passes.

timm's ``Lamb(params, lr, bias_correction=True, betas, eps=1e-6, weight_decay=0.01, grad_averaging=True,
max_grad_norm=1.0, trust_clip=False, always_adapt=False, caution=False, decoupled_decay=False)``, paraphrased
below with what changes the formula:

* ``max_grad_norm=1.0``: every gradient is divided by max(‖g‖_global/1.0, 1) before the moments -- a gradient
  clipping step the spec has no parameter for (spec grad-clip-norm checks clipping on its own);
* ``always_adapt=False``: no trust ratio where ``weight_decay == 0`` (meant for parameters excluded from decay);
* ``trust_clip=True``: LAMBC, the ratio clamped at 1; ``grad_averaging=False``: m ← β1·m + g;
  ``decoupled_decay=True``: the weights shrunk by lr·λ first, the ratio of the plain Adam step (Keras' form);
* ``bias_correction=False``: no debiasing, a catalogued variant the diagnosis names.

Set otherwise than LAMB, it is refused in one line naming the ``functools.partial`` that checks LAMB itself;
``functools.partial(Lamb, max_grad_norm=None, always_adapt=True)`` passes. Expected numbers: a step worked by
hand and ``reference.lamb`` (You et al. 2020, Algorithm 2) as the peer of the clipped run.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from reference import lamb
from verify.api import check_conforms
from verify.errors import TargetLoadError

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch


class Lamb(torch.optim.Optimizer):
    """timm's Lamb, paraphrased."""

    def __init__(self, params, lr=1e-3, bias_correction=True, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01,
                 grad_averaging=True, max_grad_norm=1.0, trust_clip=False, always_adapt=False, caution=False,
                 decoupled_decay=False):
        super().__init__(params, dict(lr=lr, bias_correction=bias_correction, betas=betas, eps=eps,
                                      weight_decay=weight_decay, grad_averaging=grad_averaging,
                                      max_grad_norm=max_grad_norm, trust_clip=trust_clip, always_adapt=always_adapt,
                                      caution=caution, decoupled_decay=decoupled_decay))

    def _get_clip_grad_norm(self):
        max_grad_norm = self.defaults["max_grad_norm"]
        if max_grad_norm is None:
            return None
        norms = [torch.linalg.vector_norm(p.grad) for group in self.param_groups for p in group["params"]
                 if p.grad is not None]
        return (torch.linalg.vector_norm(torch.stack(norms)) / max_grad_norm).clamp_(min=1.0)

    @torch.no_grad()
    def step(self, closure=None):
        clip_grad_norm = self._get_clip_grad_norm()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            beta3 = 1 - beta1 if group["grad_averaging"] else 1.0
            group["step"] = group.get("step", 0) + 1
            step = group["step"]
            bias_correction1, bias_correction2 = ((1 - beta1 ** step, 1 - beta2 ** step) if group["bias_correction"]
                                                  else (1.0, 1.0))
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if clip_grad_norm is not None:
                    grad.div_(clip_grad_norm)
                state = self.state[p]
                if len(state) == 0:
                    state["exp_avg"], state["exp_avg_sq"] = torch.zeros_like(p), torch.zeros_like(p)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.mul_(beta1).add_(grad, alpha=beta3)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = (exp_avg_sq.sqrt() / (bias_correction2 ** 0.5)).add_(group["eps"])
                update = (exp_avg / bias_correction1).div_(denom)
                if group["caution"]:
                    mask = (update * grad > 0).to(grad.dtype)
                    update.mul_(mask / mask.mean().clamp_(min=1e-3))
                weight_decay = group["weight_decay"]
                if weight_decay != 0:
                    if group["decoupled_decay"]:
                        p.add_(p, alpha=-group["lr"] * weight_decay)
                    else:
                        update.add_(p, alpha=weight_decay)
                if weight_decay != 0 or group["always_adapt"]:
                    w_norm, g_norm = p.norm(2.0), update.norm(2.0)
                    trust_ratio = torch.where(w_norm > 0, torch.where(g_norm > 0, w_norm / g_norm, 1.0), 1.0)
                    if group["trust_clip"]:
                        trust_ratio = torch.clamp(trust_ratio, max=1.0)
                    update.mul_(trust_ratio)
                p.add_(update, alpha=-group["lr"])


LAMB = functools.partial(Lamb, max_grad_norm=None, always_adapt=True)


def _steps(make, grads, w0=(3.0, 4.0), **kw):
    p = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    opt = make([p], **kw)
    out = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append(p.detach().numpy().copy())
    return out


def test_one_step_by_hand_and_what_clipping_changes():
    # t = 1, ε = 0: m̂ = g, v̂ = g², r = g/|g| = (1, 1) for g = (6, 8), whatever the clip (step 1 is scale-invariant);
    # λ = 0.1, w = (3, 4): u = r + λw = (1.3, 1.4), ‖w‖ = 5, ‖u‖ = √3.65, w₁ = w − 0.1·(5/√3.65)·u.
    w1 = np.array([3.0, 4.0]) - 0.1 * 5 / np.sqrt(3.65) * np.array([1.3, 1.4])
    for make in (LAMB, Lamb):
        np.testing.assert_allclose(_steps(make, [(6.0, 8.0)], lr=0.1, eps=0.0, weight_decay=0.1)[0], w1, rtol=1e-14)
    # From step 2 the clip (‖g₁‖ = 10 → g₁/10; g₂ = (0.3, −0.4) unclipped) changes the moments' mix: the
    # algorithm (max_grad_norm=None) follows LAMB's reference, timm's default does not.
    grads = [(6.0, 8.0), (0.3, -0.4)]
    opt, w = lamb(lr=0.1, eps=1e-6, weight_decay=0.1), np.array([3.0, 4.0])
    state, want = opt.init(w), []
    for g in grads:
        w, state = opt.update(np.array(g), state, w)
        want.append(w)
    np.testing.assert_allclose(_steps(LAMB, grads, lr=0.1, weight_decay=0.1), want, rtol=1e-13)
    clipped = _steps(Lamb, grads, lr=0.1, weight_decay=0.1)
    assert np.max(np.abs(clipped[1] - want[1])) > 1e-3


def test_timm_defaults_are_refused_naming_the_partial_that_checks_lamb():
    with pytest.raises(TargetLoadError) as err:
        check_conforms(Lamb, "lamb", isolate=False, max_examples=8)
    text = str(err.value)
    assert "is set max_grad_norm=1.0, always_adapt=False: spec 'lamb' has no parameter for it" in text
    assert "functools.partial(" in text and "max_grad_norm=None, always_adapt=True)" in text
    for setting in ({"trust_clip": True}, {"decoupled_decay": True}, {"grad_averaging": False}):
        with pytest.raises(TargetLoadError, match=f"is set {next(iter(setting))}="):
            check_conforms(functools.partial(LAMB, **setting), "lamb", isolate=False, max_examples=8)
    with pytest.raises(TargetLoadError, match="binds weight_decay: a hyperparameter of spec 'lamb'"):
        check_conforms(functools.partial(LAMB, weight_decay=0.1), "lamb", isolate=False, max_examples=8)


def test_timm_lamb_without_the_clip_passes_and_without_debiasing_is_named():
    for params in ({}, {"weight_decay": 0.01}):
        run = check_conforms(LAMB, "lamb", isolate=False, max_examples=8, params=params,
                             checks=("conformance", "zero-gradient-fixed-point"))
        assert {c.status.value for c in run.checks} <= {"pass", "skip"}, [c.message for c in run.checks]
        assert run.checks[0].status.value == "pass"
        assert any("bound by functools.partial: max_grad_norm=None, always_adapt=True" in line for line in run.mapping)
    run = check_conforms(functools.partial(LAMB, bias_correction=False), "lamb", isolate=False, max_examples=8,
                         params={"weight_decay": 0.01}, checks=("conformance",))
    c = run.checks[0]
    assert c.status.value == "fail" and "matches no bias correction" in c.diagnosis
