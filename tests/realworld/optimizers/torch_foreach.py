"""``torch.optim.Optimizer`` subclasses in the styles of optimizer packages and single-file research code:
multi-tensor ``torch._foreach_*`` kernels over a parameter group, a step count kept per group, ``lerp_``
moments and the decay applied first (single-file AdamW ports), ``filter`` over parameters with gradients.
Paraphrased; checked as they are (the torch adapter splits the parameters into tensors of several shapes)."""

import torch
from torch.optim import Optimizer


class ForeachMomentum(Optimizer):
    """Heavy ball over the whole group with _foreach kernels; buffers made at the first step from the gradient."""

    def __init__(self, params, lr=0.01, momentum=0.9):
        super().__init__(params, dict(lr=lr, momentum=momentum))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            grads = [p.grad for p in params]
            bufs = []
            for p, g in zip(params, grads):
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.clone(g).detach()
                    bufs.append(None)
                else:
                    bufs.append(state["momentum_buffer"])
            old = [b for b in bufs if b is not None]
            if old:
                torch._foreach_mul_(old, group["momentum"])
                torch._foreach_add_(old, [g for g, b in zip(grads, bufs) if b is not None])
            torch._foreach_add_(params, [self.state[p]["momentum_buffer"] for p in params], alpha=-group["lr"])


class ForeachAdam(Optimizer):
    """Adam with one step count per group and multi-tensor kernels."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            beta1, beta2 = group["betas"]
            group["step"] = group.get("step", 0) + 1
            t = group["step"]
            for p in params:
                if not self.state[p]:
                    self.state[p]["exp_avg"] = torch.zeros_like(p)
                    self.state[p]["exp_avg_sq"] = torch.zeros_like(p)
            m = [self.state[p]["exp_avg"] for p in params]
            v = [self.state[p]["exp_avg_sq"] for p in params]
            torch._foreach_mul_(m, beta1)
            torch._foreach_add_(m, grads, alpha=1 - beta1)
            torch._foreach_mul_(v, beta2)
            torch._foreach_addcmul_(v, grads, grads, value=1 - beta2)
            denom = torch._foreach_sqrt(v)
            torch._foreach_div_(denom, (1 - beta2 ** t) ** 0.5)
            torch._foreach_add_(denom, group["eps"])
            torch._foreach_addcdiv_(params, m, denom, value=-group["lr"] / (1 - beta1 ** t))


class ForeachAdamStepPerTensor(ForeachAdam):
    """A port that advances the group's step count once per parameter tensor, inside the loop."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                group["step"] = group.get("step", 0) + 1
                t = group["step"]
                state = self.state[p]
                if not state:
                    state["exp_avg"], state["exp_avg_sq"] = torch.zeros_like(p), torch.zeros_like(p)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(p.grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                denom = (v.sqrt() / (1 - beta2 ** t) ** 0.5).add_(group["eps"])
                p.addcdiv_(m, denom, value=-group["lr"] / (1 - beta1 ** t))


class LerpAdamW(Optimizer):
    """A single-file AdamW: decay first (p ← p(1 − ηλ)), moments with lerp_, the count per parameter."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in filter(lambda p: p.grad is not None, group["params"]):
                grad, lr, wd, eps = p.grad, group["lr"], group["weight_decay"], group["eps"]
                beta1, beta2 = group["betas"]
                state = self.state[p]
                if len(state) == 0:
                    state["steps"] = 0
                    state["exp_avg"] = torch.zeros_like(grad)
                    state["exp_avg_sq"] = torch.zeros_like(grad)
                state["steps"] += 1
                steps = state["steps"]
                p.mul_(1.0 - lr * wd)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.lerp_(grad, 1.0 - beta1)
                exp_avg_sq.lerp_(grad * grad, 1.0 - beta2)
                denom = (exp_avg_sq / (1 - beta2 ** steps)).sqrt_().add_(eps)
                p.addcdiv_(exp_avg, denom, value=-lr / (1 - beta1 ** steps))


class LerpAdamWSquaredLerp(LerpAdamW):
    """A slip in the lerp: the second moment interpolates towards g instead of g²."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in filter(lambda p: p.grad is not None, group["params"]):
                grad, lr, wd, eps = p.grad, group["lr"], group["weight_decay"], group["eps"]
                beta1, beta2 = group["betas"]
                state = self.state[p]
                if len(state) == 0:
                    state["steps"] = 0
                    state["exp_avg"] = torch.zeros_like(grad)
                    state["exp_avg_sq"] = torch.zeros_like(grad)
                state["steps"] += 1
                steps = state["steps"]
                p.mul_(1.0 - lr * wd)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.lerp_(grad, 1.0 - beta1)
                exp_avg_sq.lerp_(grad, 1.0 - beta2)
                denom = (exp_avg_sq / (1 - beta2 ** steps)).sqrt_().add_(eps)
                p.addcdiv_(exp_avg, denom, value=-lr / (1 - beta1 ** steps))


class CenteredFlagRMSprop(Optimizer):
    """RMSprop with PyTorch's ``alpha`` and a ``centered`` flag (off by default)."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, centered=centered))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["square_avg"] = torch.zeros_like(p)
                    state["grad_avg"] = torch.zeros_like(p)
                sq = state["square_avg"].mul_(group["alpha"]).addcmul_(p.grad, p.grad, value=1 - group["alpha"])
                if group["centered"]:
                    ga = state["grad_avg"].mul_(group["alpha"]).add_(p.grad, alpha=1 - group["alpha"])
                    avg = sq.addcmul(ga, ga, value=-1).sqrt_()
                else:
                    avg = sq.sqrt()
                p.addcdiv_(p.grad, avg.add_(group["eps"]), value=-group["lr"])
