"""NAdam, NAdamW, Adamax and AMSGrad as torch ``Optimizer`` subclasses in the shapes of timm and of "from scratch"
notebooks: timm's old ``Nadam`` (ported from Keras: ``m_schedule`` in the state, ``schedule_decay=4e-3``, the
two ``addcdiv_`` calls, coupled decay), timm's ``NAdamW`` (PyTorch's NAdam kernel with ``mu_product`` and
decoupled decay ``param.mul_(1 − lr·wd)``, the momentum decay 0.004 hard-coded), an Adamax written after
PyTorch's single-tensor kernel (``torch.cat`` of β2u and |g| + ε, ``amax``), an AMSGrad written as Adam plus
``max_exp_avg_sq``. Paraphrased; with the historical NAdam and AMSGrad bugs rebuilt in the same shapes."""

import math

import torch
from torch.optim.optimizer import Optimizer


class Nadam(Optimizer):
    """timm (optim/nadam.py, after Keras): μ_t = β1(1 − ½·0.96^(t·schedule_decay))."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, schedule_decay=4e-3):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      schedule_decay=schedule_decay))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["m_schedule"] = 1.0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                m_schedule = state["m_schedule"]
                schedule_decay = group["schedule_decay"]
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                beta1, beta2 = group["betas"]
                eps = group["eps"]
                state["step"] += 1
                t = state["step"]
                bias_correction2 = 1 - beta2 ** t
                if group["weight_decay"] != 0:
                    grad = grad.add(p, alpha=group["weight_decay"])
                momentum_cache_t = beta1 * (1.0 - 0.5 * (0.96 ** (t * schedule_decay)))
                momentum_cache_t_1 = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * schedule_decay)))
                m_schedule_new = m_schedule * momentum_cache_t
                m_schedule_next = m_schedule * momentum_cache_t * momentum_cache_t_1
                state["m_schedule"] = m_schedule_new
                exp_avg.mul_(beta1).add_(grad, alpha=1.0 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
                denom = (exp_avg_sq / bias_correction2).sqrt().add_(eps)
                p.addcdiv_(grad, denom, value=-group["lr"] * (1.0 - momentum_cache_t) / (1.0 - m_schedule_new))
                p.addcdiv_(exp_avg, denom, value=-group["lr"] * momentum_cache_t_1 / (1.0 - m_schedule_next))


class NAdamW(Optimizer):
    """timm (optim/nadamw.py): PyTorch's NAdam kernel with the decay decoupled; ψ = 0.004 fixed."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def mu_product_next(self, mu_product, mu, mu_next):
        return mu_product * mu_next

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, weight_decay, eps = group["lr"], group["weight_decay"], group["eps"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad
                state = self.state[param]
                if len(state) == 0:
                    state["step"] = torch.tensor(0.0)
                    state["mu_product"] = torch.tensor(1.0)
                    state["exp_avg"] = torch.zeros_like(param)
                    state["exp_avg_sq"] = torch.zeros_like(param)
                state["step"] += 1
                step = state["step"].item()
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                param.mul_(1.0 - lr * weight_decay)
                bias_correction2 = 1 - beta2 ** step
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * 0.004)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * 0.004)))
                mu_product = state["mu_product"].item() * mu
                state["mu_product"] = torch.tensor(mu_product)
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = exp_avg_sq.div(bias_correction2).sqrt().add_(eps)
                param.addcdiv_(grad, denom, value=(-lr * (1.0 - mu) / (1.0 - mu_product)))
                param.addcdiv_(exp_avg, denom,
                               value=(-lr * mu_next) / (1.0 - self.mu_product_next(mu_product, mu, mu_next)))


class NAdamExtraMu(NAdamW):
    """PyTorch's single-tensor NAdam before January 2023 (pytorch/pytorch#90346): mu_product · μ · μ_next."""

    def mu_product_next(self, mu_product, mu, mu_next):
        return mu_product * mu * mu_next


class Adamax(Optimizer):
    """After PyTorch's single-tensor kernel: u ← max(β2u, |g| + ε), step η/(1 − β1ᵗ)·m/u."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def bias_corrected_norm(self, exp_inf, beta2, step):
        return exp_inf

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if group["weight_decay"] != 0:
                    grad = grad.add(p, alpha=group["weight_decay"])
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_inf"] = torch.zeros_like(p)
                exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
                state["step"] += 1
                exp_avg.lerp_(grad, 1 - beta1)
                norm_buf = torch.cat([exp_inf.mul_(beta2).unsqueeze(0), grad.abs().add_(group["eps"]).unsqueeze_(0)],
                                     0)
                exp_inf.copy_(torch.amax(norm_buf, 0, keepdim=False))
                clr = group["lr"] / (1 - beta1 ** state["step"])
                p.addcdiv_(exp_avg, self.bias_corrected_norm(exp_inf, beta2, state["step"]), value=-clr)


class AdamaxNormCorrected(Adamax):
    """u/(1 − β2ᵗ), as for Adam's v: the infinity norm needs no correction."""

    def bias_corrected_norm(self, exp_inf, beta2, step):
        return exp_inf / (1 - beta2 ** step)


class AMSGrad(Optimizer):
    """Adam plus ``max_exp_avg_sq`` (the maximum of v, bias-corrected afterwards, as PyTorch)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def running_max(self, state, exp_avg_sq):
        torch.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
        return state["max_exp_avg_sq"]

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if group["weight_decay"] != 0:
                    grad = grad.add(p, alpha=group["weight_decay"])
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                    state["max_exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                bias_correction1 = 1 - beta1 ** state["step"]
                bias_correction2 = 1 - beta2 ** state["step"]
                max_sq = self.running_max(state, exp_avg_sq)
                denom = (max_sq.sqrt() / math.sqrt(bias_correction2)).add_(group["eps"])
                p.addcdiv_(exp_avg, denom, value=-group["lr"] / bias_correction1)


class AMSGradMaxNotStored(AMSGrad):
    """PyTorch's foreach AMSGrad in 2022 (pytorch/pytorch#78807): the maximum computed into a new tensor and
    never written back, so each step divides by max(0, v) = v — plain Adam."""

    def running_max(self, state, exp_avg_sq):
        max_exp_avg_sq = state["max_exp_avg_sq"]
        max_exp_avg_sq = torch.maximum(max_exp_avg_sq, exp_avg_sq)
        return max_exp_avg_sq
