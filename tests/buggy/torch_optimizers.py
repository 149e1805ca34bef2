"""PyTorch optimizers with planted bugs (and two correct ones), for the adapter tests.

Each class follows the constructor of the torch class of its algorithm, so the
torch adapter runs it like the real one: ``verify check
tests/buggy/torch_optimizers.py:AdamNoBiasCorrection --spec adam`` must fail.

The bugs are ones seen in real code: a forgotten bias correction, a lagged
update, ε inside the root, coupled decay in an "AdamW", one step counter
shared by all tensors, dampened ("EMA") momentum, Nesterov without the
look-ahead, Rprop without the zeroing after a sign change, decay that skips
the momentum buffer.
"""

from __future__ import annotations

import torch
from torch.optim import SGD, Adam, AdamW, Optimizer, RMSprop, Rprop

__all__ = [
    "PlainSGD",
    "PlainAdam",
    "AdamNoBiasCorrection",
    "AdamSharedStep",
    "AdamWCoupled",
    "SGDOneStepLag",
    "DampenedMomentum",
    "NesterovNoLookahead",
    "SGDDecayOutsideMomentum",
    "SGDHalfDecay",
    "RMSpropEpsInside",
    "RpropNoZeroing",
    "SignSGD",
    "SignSGDNoZero",
    "SGDNoForeach",
    "SGDScalesGradInPlace",
]


# ----- correct implementations (must pass) ----------------------------------


class PlainSGD(Optimizer):
    """Correct SGD with momentum/Nesterov/weight decay, written from scratch on ``Optimizer``."""

    def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr, mu, wd, nesterov = group["lr"], group["momentum"], group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad + wd * p
                if mu:
                    state = self.state[p]
                    buf = state.get("buf")
                    buf = g.clone() if buf is None else buf.mul_(mu).add_(g)
                    state["buf"] = buf
                    g = g + mu * buf if nesterov else buf
                p.add_(g, alpha=-lr)


class PlainAdam(Optimizer):
    """Correct Adam (coupled L2 weight decay, as torch.optim.Adam), from scratch on ``Optimizer``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad + group["weight_decay"] * p
                state = self.state[p]
                if not state:
                    state["t"], state["m"], state["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                state["t"] += 1
                t = state["t"]
                state["m"].mul_(b1).add_(g, alpha=1 - b1)
                state["v"].mul_(b2).addcmul_(g, g, value=1 - b2)
                m_hat = state["m"] / (1 - b1 ** t)
                v_hat = state["v"] / (1 - b2 ** t)
                p.sub_(group["lr"] * m_hat / (v_hat.sqrt() + group["eps"]))


class SGDNoForeach(SGD):
    """torch.optim.SGD forced onto its for-loop implementation (correct)."""

    def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov,
                         foreach=False)


class SignSGD(SGD):
    """Correct sign-SGD, following SGD's constructor: ``w ← w − lr·sgn(g)``."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(torch.sign(p.grad), alpha=-group["lr"])


# ----- Adam family -----------------------------------------------------------


class AdamNoBiasCorrection(Adam):
    """BUG: no bias correction: ``w ← w − lr·m/(√v + ε)`` (the first steps are far too small)."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad + group["weight_decay"] * p
                state = self.state[p]
                if not state:
                    state["m"], state["v"] = torch.zeros_like(p), torch.zeros_like(p)
                state["m"].mul_(b1).add_(g, alpha=1 - b1)
                state["v"].mul_(b2).addcmul_(g, g, value=1 - b2)
                p.sub_(group["lr"] * state["m"] / (state["v"].sqrt() + group["eps"]))


class AdamSharedStep(Adam):
    """BUG: one step counter for the whole optimizer, advanced once per *tensor*.

    Correct with a single parameter tensor; wrong bias correction as soon as
    there are several — only a test with several tensors sees it.
    """

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad + group["weight_decay"] * p
                state = self.state[p]
                if not state:
                    state["m"], state["v"] = torch.zeros_like(p), torch.zeros_like(p)
                self.__dict__["_t"] = self.__dict__.get("_t", 0) + 1
                t = self.__dict__["_t"]
                state["m"].mul_(b1).add_(g, alpha=1 - b1)
                state["v"].mul_(b2).addcmul_(g, g, value=1 - b2)
                m_hat = state["m"] / (1 - b1 ** t)
                v_hat = state["v"] / (1 - b2 ** t)
                p.sub_(group["lr"] * m_hat / (v_hat.sqrt() + group["eps"]))


class AdamWCoupled(AdamW):
    """BUG: an "AdamW" whose decay is coupled: ``g ← g + wd·w`` enters the moments (that is Adam + L2)."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad + group["weight_decay"] * p
                state = self.state[p]
                if not state:
                    state["t"], state["m"], state["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                state["t"] += 1
                t = state["t"]
                state["m"].mul_(b1).add_(g, alpha=1 - b1)
                state["v"].mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = (state["v"] / (1 - b2 ** t)).sqrt() + group["eps"]
                p.sub_(group["lr"] * (state["m"] / (1 - b1 ** t)) / denom)


# ----- SGD family ------------------------------------------------------------


class SGDOneStepLag(SGD):
    """BUG: applies the previous step's gradient (the update uses a stale ``p.grad``)."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                prev = state.get("prev", torch.zeros_like(p))
                p.add_(prev, alpha=-group["lr"])
                state["prev"] = p.grad.clone()


class DampenedMomentum(SGD):
    """BUG: "EMA" momentum ``b ← μ·b + (1 − μ)·g`` (dampening = μ) instead of ``b ← μ·b + g``."""

    def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr=lr, momentum=momentum, dampening=momentum, weight_decay=weight_decay,
                         nesterov=False)


class NesterovNoLookahead(SGD):
    """BUG: accepts ``nesterov=True`` but runs plain heavy-ball momentum."""

    def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=False)


class SGDDecayOutsideMomentum(SGD):
    """BUG (under spec weight-decay with momentum): the decay bypasses the momentum buffer (decoupled)."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                buf = state.get("buf")
                buf = p.grad.clone() if buf is None else buf.mul_(mu).add_(p.grad)
                state["buf"] = buf
                p.mul_(1 - lr * wd).add_(buf, alpha=-lr)


class SGDHalfDecay(SGD):
    """BUG: takes ``weight_decay`` to be the λ of λΣw² but adds λ·w (half the L2 gradient 2λw)."""

    def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay / 2, nesterov=nesterov)


# ----- RMSprop and Rprop -----------------------------------------------------


class RMSpropEpsInside(RMSprop):
    """BUG (against the canonical spec): ``w ← w − lr·g/√(s + ε)`` — ε inside the root, optax/Keras style."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["s"] = torch.zeros_like(p)
                s = state["s"].mul_(group["alpha"]).addcmul_(p.grad, p.grad, value=1 - group["alpha"])
                p.sub_(group["lr"] * p.grad / torch.sqrt(s + group["eps"]))


class RpropNoZeroing(Rprop):
    """BUG: Rprop− instead of iRprop−: after a sign change it still steps and remembers ``g_t``."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            eta_minus, eta_plus = group["etas"]
            lo, hi = group["step_sizes"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if not state:
                    state["prev"] = torch.zeros_like(p)
                    state["delta"] = torch.full_like(p, group["lr"])
                s = torch.sign(g * state["prev"])
                factor = torch.where(s > 0, eta_plus, torch.where(s < 0, eta_minus, 1.0))
                state["delta"] = (state["delta"] * factor).clamp(lo, hi)
                p.sub_(torch.sign(g) * state["delta"])
                state["prev"] = g.clone()


class SignSGDNoZero(SGD):
    """BUG: sign-SGD with ``sgn(0) = +1`` (``torch.where(g >= 0, 1, -1)``): zero gradients still move."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.sub_(group["lr"] * torch.where(p.grad >= 0, 1.0, -1.0))


class SGDScalesGradInPlace(SGD):
    """BUG: right update, but computed as ``p.grad.mul_(lr)``: the caller's gradients are overwritten."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.sub_(p.grad.mul_(group["lr"]))
