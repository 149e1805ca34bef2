"""RAdam as torch ``Optimizer`` subclasses: the authors' code (LiyuanLucasLiu/RAdam ``radam/radam.py``: ρ_t and
the step size cached in ``group['buffer']`` by ``step % 10``, the test ``N_sma >= 5``, computed in float32 by
``p.data.float()``, decoupled decay ``p ← p − λη p`` on the steps that move, ``degenerated_to_sgd=False``: no
step before the rectification), its ``PlainRAdam`` (no cache), jettify/pytorch-optimizer's ``RAdam`` (the cached
step size includes η; always steps, decay on every step), and a PyTorch-style one from the paper's formulas with
the slips seen in forks. Paraphrased."""

import math

import torch
from torch.optim.optimizer import Optimizer


def _check(lr, eps, betas):
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
        raise ValueError(f"Invalid beta parameters: {betas}")


def _fp32_state(state, p_data_fp32):
    if len(state) == 0:
        state["step"] = 0
        state["exp_avg"] = torch.zeros_like(p_data_fp32)
        state["exp_avg_sq"] = torch.zeros_like(p_data_fp32)
    else:
        state["exp_avg"] = state["exp_avg"].type_as(p_data_fp32)
        state["exp_avg_sq"] = state["exp_avg_sq"].type_as(p_data_fp32)
    return state["exp_avg"], state["exp_avg_sq"]


class RAdamOfficial(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, degenerated_to_sgd=False):
        _check(lr, eps, betas)
        self.degenerated_to_sgd = degenerated_to_sgd
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        buffer=[[None, None, None] for _ in range(10)])
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data.float()
                p_data_fp32 = p.data.float()
                state = self.state[p]
                exp_avg, exp_avg_sq = _fp32_state(state, p_data_fp32)
                beta1, beta2 = group["betas"]
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                state["step"] += 1
                buffered = group["buffer"][int(state["step"] % 10)]
                if state["step"] == buffered[0]:
                    n_sma, step_size = buffered[1], buffered[2]
                else:
                    buffered[0] = state["step"]
                    beta2_t = beta2 ** state["step"]
                    n_sma_max = 2 / (1 - beta2) - 1
                    n_sma = n_sma_max - 2 * state["step"] * beta2_t / (1 - beta2_t)
                    buffered[1] = n_sma
                    if n_sma >= 5:      # more conservative since it's an approximated value
                        step_size = math.sqrt((1 - beta2_t) * (n_sma - 4) / (n_sma_max - 4) * (n_sma - 2) / n_sma
                                              * n_sma_max / (n_sma_max - 2)) / (1 - beta1 ** state["step"])
                    elif self.degenerated_to_sgd:
                        step_size = 1.0 / (1 - beta1 ** state["step"])
                    else:
                        step_size = -1
                    buffered[2] = step_size
                if n_sma >= 5:
                    if group["weight_decay"] != 0:
                        p_data_fp32.add_(p_data_fp32, alpha=-group["weight_decay"] * group["lr"])
                    denom = exp_avg_sq.sqrt().add_(group["eps"])
                    p_data_fp32.addcdiv_(exp_avg, denom, value=-step_size * group["lr"])
                    p.data.copy_(p_data_fp32)
                elif step_size > 0:
                    if group["weight_decay"] != 0:
                        p_data_fp32.add_(p_data_fp32, alpha=-group["weight_decay"] * group["lr"])
                    p_data_fp32.add_(exp_avg, alpha=-step_size * group["lr"])
                    p.data.copy_(p_data_fp32)
        return loss


class PlainRAdam(Optimizer):
    """The authors' uncached version (same file)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, degenerated_to_sgd=False):
        _check(lr, eps, betas)
        self.degenerated_to_sgd = degenerated_to_sgd
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data.float()
                p_data_fp32 = p.data.float()
                state = self.state[p]
                exp_avg, exp_avg_sq = _fp32_state(state, p_data_fp32)
                beta1, beta2 = group["betas"]
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                state["step"] += 1
                beta2_t = beta2 ** state["step"]
                n_sma_max = 2 / (1 - beta2) - 1
                n_sma = n_sma_max - 2 * state["step"] * beta2_t / (1 - beta2_t)
                if n_sma >= 5:
                    if group["weight_decay"] != 0:
                        p_data_fp32.add_(p_data_fp32, alpha=-group["weight_decay"] * group["lr"])
                    step_size = group["lr"] * math.sqrt(
                        (1 - beta2_t) * (n_sma - 4) / (n_sma_max - 4) * (n_sma - 2) / n_sma * n_sma_max
                        / (n_sma_max - 2)) / (1 - beta1 ** state["step"])
                    denom = exp_avg_sq.sqrt().add_(group["eps"])
                    p_data_fp32.addcdiv_(exp_avg, denom, value=-step_size)
                    p.data.copy_(p_data_fp32)
                elif self.degenerated_to_sgd:
                    if group["weight_decay"] != 0:
                        p_data_fp32.add_(p_data_fp32, alpha=-group["weight_decay"] * group["lr"])
                    step_size = group["lr"] / (1 - beta1 ** state["step"])
                    p_data_fp32.add_(exp_avg, alpha=-step_size)
                    p.data.copy_(p_data_fp32)


class RAdamJettify(Optimizer):
    """jettify/pytorch-optimizer: the buffer caches η·(step size); SGD phase always; decay on every step."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        _check(lr, eps, betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        buffer=[[None, None, None] for _ in range(10)])
        super().__init__(params, defaults)

    def step(self, closure=None):
        for group in self.param_groups:
            lr, weight_decay, eps = group["lr"], group["weight_decay"], group["eps"]
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data.float()
                p_data_fp32 = p.data.float()
                state = self.state[p]
                exp_avg, exp_avg_sq = _fp32_state(state, p_data_fp32)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                state["step"] += 1
                buffered = group["buffer"][int(state["step"] % 10)]
                if state["step"] == buffered[0]:
                    n_sma, step_size = buffered[1], buffered[2]
                else:
                    buffered[0] = state["step"]
                    beta2_t = beta2 ** state["step"]
                    n_sma_max = 2 / (1 - beta2) - 1
                    n_sma = n_sma_max - 2 * state["step"] * beta2_t / (1 - beta2_t)
                    buffered[1] = n_sma
                    if n_sma >= 5:
                        step_size = lr * math.sqrt((1 - beta2_t) * (n_sma - 4) / (n_sma_max - 4) * (n_sma - 2)
                                                   / n_sma * n_sma_max / (n_sma_max - 2)) / (1 - beta1 ** state["step"])
                    else:
                        step_size = lr / (1 - beta1 ** state["step"])
                    buffered[2] = step_size
                if weight_decay != 0:
                    p_data_fp32.add_(p_data_fp32, alpha=-weight_decay * lr)
                if n_sma >= 5:
                    denom = exp_avg_sq.sqrt().add_(eps)
                    p_data_fp32.addcdiv_(exp_avg, denom, value=-step_size)
                else:
                    p_data_fp32.add_(exp_avg, alpha=-step_size)
                p.data.copy_(p_data_fp32)


class RAdam(Optimizer):
    """From the paper's formulas, PyTorch's choices (ρ_t > 5, ε added to √v, −η m̂ before, coupled decay)."""

    threshold = 5.0

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def rho_inf(self, beta2):
        return 2 / (1 - beta2) - 1

    def rectifier(self, rho_t, rho_inf):
        return math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))

    def rectified(self, rho_t):
        return rho_t > self.threshold

    def unrectified_step(self, exp_avg, bias_correction1):
        return exp_avg / bias_correction1

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
                state["step"] += 1
                t = state["step"]
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                bias_correction1 = 1 - beta1 ** t
                bias_correction2 = 1 - beta2 ** t
                rho_inf = self.rho_inf(beta2)
                rho_t = rho_inf - 2 * t * beta2 ** t / bias_correction2
                if self.rectified(rho_t):
                    r_t = self.rectifier(rho_t, rho_inf)
                    adaptive_lr = math.sqrt(bias_correction2) / (exp_avg_sq.sqrt().add_(group["eps"]))
                    p.add_(exp_avg / bias_correction1 * r_t * adaptive_lr, alpha=-group["lr"])
                else:
                    p.add_(self.unrectified_step(exp_avg, bias_correction1), alpha=-group["lr"])


# ----- the slips ---------------------------------------------------------------------------------------------


class RAdamThresholdFour(RAdam):
    """The paper's test ρ_t > 4 (lessw2020/Ranger's change): rectifies one step earlier."""

    threshold = 4.0


class RAdamRhoInfNoMinusOne(RAdam):
    def rho_inf(self, beta2):
        return 2 / (1 - beta2)


class RAdamRectifierNoSqrt(RAdam):
    def rectifier(self, rho_t, rho_inf):
        return (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)


class RAdamSgdPhaseRawMomentum(RAdam):
    """Before the rectification: ``p.add_(exp_avg, alpha=-lr)``, the momentum without its bias correction."""

    def unrectified_step(self, exp_avg, bias_correction1):
        return exp_avg
