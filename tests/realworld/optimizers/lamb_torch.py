"""LAMB as torch ``Optimizer`` subclasses from packages other than timm: cybertronai/pytorch-lamb (no debiasing,
the weight norm clamped at 10: the paper's arXiv v3), jettify/pytorch-optimizer's ``Lamb`` (the same, with
``clamp_value``, ``adam`` and ``debias`` flags; ``debias=True`` scales the step size by √(1 − β2ᵗ)/(1 − β1ᵗ)
outside the trust ratio) and a paper-faithful one written from Algorithm 2 as NVIDIA's and course code write it
(m̂, v̂, u = m̂/(√v̂ + ε) + λw, ratio ‖w‖/‖u‖, 1 where a norm is 0). Paraphrased; with slips seen in forks."""

import functools
import math

import torch
from torch.optim import Optimizer


class LambCybertron(Optimizer):
    """cybertronai/pytorch-lamb: ``step_size = lr`` (debiasing commented out), ``weight_norm.clamp(0, 10)``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0, adam=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        self.adam = adam
        super().__init__(params, defaults)

    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p.data)
                    state["exp_avg_sq"] = torch.zeros_like(p.data)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                beta1, beta2 = group["betas"]
                state["step"] += 1
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                step_size = group["lr"]    # * math.sqrt(bias_correction2) / bias_correction1  (paper v3)
                weight_norm = p.data.pow(2).sum().sqrt().clamp(0, 10)
                adam_step = exp_avg / exp_avg_sq.sqrt().add(group["eps"])
                if group["weight_decay"] != 0:
                    adam_step.add_(p.data, alpha=group["weight_decay"])
                adam_norm = adam_step.pow(2).sum().sqrt()
                if weight_norm == 0 or adam_norm == 0:
                    trust_ratio = 1
                else:
                    trust_ratio = weight_norm / adam_norm
                state["weight_norm"], state["adam_norm"], state["trust_ratio"] = weight_norm, adam_norm, trust_ratio
                if self.adam:
                    trust_ratio = 1
                p.data.add_(adam_step, alpha=-step_size * trust_ratio)


class LambJettify(Optimizer):
    """jettify/pytorch-optimizer's Lamb: ``debias=False`` by default, ``torch.norm(p).clamp(0, clamp_value)``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0, clamp_value=10, adam=False,
                 debias=False):
        if lr <= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if clamp_value < 0.0:
            raise ValueError(f"Invalid clamp value: {clamp_value}")
        self.clamp_value, self.adam, self.debias = clamp_value, adam, debias
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                beta1, beta2 = group["betas"]
                state["step"] += 1
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                if self.debias:
                    bias_correction = math.sqrt(1 - beta2 ** state["step"])
                    bias_correction /= 1 - beta1 ** state["step"]
                else:
                    bias_correction = 1
                step_size = group["lr"] * bias_correction          # the trust ratio does not cancel it
                weight_norm = torch.norm(p.data).clamp(0, self.clamp_value)
                adam_step = exp_avg / exp_avg_sq.sqrt().add(group["eps"])
                if group["weight_decay"] != 0:
                    adam_step.add_(p.data, alpha=group["weight_decay"])
                adam_norm = torch.norm(adam_step)
                trust_ratio = 1 if weight_norm == 0 or adam_norm == 0 else weight_norm / adam_norm
                if self.adam:
                    trust_ratio = 1
                p.data.add_(adam_step, alpha=-step_size * trust_ratio)
        return loss


LambJettifyDebias = functools.partial(LambJettify, debias=True)


class Lamb(Optimizer):
    """Algorithm 2 of You et al. as written from the paper: bias-corrected moments, the decay inside the ratio."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def _update(self, p, group, state):
        beta1, beta2 = group["betas"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m_hat = m / (1 - beta1 ** state["step"])
        v_hat = v / (1 - beta2 ** state["step"])
        return m_hat / (v_hat.sqrt() + group["eps"]) + group["weight_decay"] * p

    def _grad(self, p, group):
        return p.grad

    def _ratio(self, p, update, group):
        w_norm, u_norm = torch.linalg.norm(p), torch.linalg.norm(update)
        return torch.where((w_norm > 0) & (u_norm > 0), w_norm / u_norm, torch.ones_like(w_norm))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = self._grad(p, group)
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                state["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
                state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                update = self._update(p, group, state)
                p.sub_(group["lr"] * self._ratio(p, update, group) * update)


# ----- the slips ---------------------------------------------------------------------------------------------


class LambDecayInGradient(Lamb):
    """The decay added to the gradient, Adam-style, instead of to the step the ratio rescales."""

    def _grad(self, p, group):
        return p.grad.add(p, alpha=group["weight_decay"])

    def _update(self, p, group, state):
        beta1, beta2 = group["betas"]
        m_hat = state["exp_avg"] / (1 - beta1 ** state["step"])
        v_hat = state["exp_avg_sq"] / (1 - beta2 ** state["step"])
        return m_hat / (v_hat.sqrt() + group["eps"])


class LambRatioOfAdamStep(Lamb):
    """The ratio ‖w‖/‖r‖ taken from the Adam step r before the decay is added to it."""

    def _update(self, p, group, state):
        beta1, beta2 = group["betas"]
        m_hat = state["exp_avg"] / (1 - beta1 ** state["step"])
        v_hat = state["exp_avg_sq"] / (1 - beta2 ** state["step"])
        self._r = m_hat / (v_hat.sqrt() + group["eps"])
        return self._r + group["weight_decay"] * p

    def _ratio(self, p, update, group):
        w_norm, r_norm = torch.linalg.norm(p), torch.linalg.norm(self._r)
        return torch.where((w_norm > 0) & (r_norm > 0), w_norm / r_norm, torch.ones_like(w_norm))


class LambUnguardedRatio(Lamb):
    """``trust_ratio = ‖w‖ / ‖u‖`` with no guard: a tensor whose weights are all 0 (a bias) never moves."""

    def _ratio(self, p, update, group):
        return torch.linalg.norm(p) / torch.linalg.norm(update)


class LambNoDebias(Lamb):
    """The paper's arXiv v3: no bias correction (and no clamp)."""

    def _update(self, p, group, state):
        return state["exp_avg"] / (state["exp_avg_sq"].sqrt() + group["eps"]) + group["weight_decay"] * p
