"""Lion as torch ``Optimizer`` subclasses, the way the packages people install write it: lucidrains'
lion-pytorch (an ``update_fn`` doing ``p.data.mul_(1 - lr * wd)``, then the sign of
``exp_avg.clone().mul_(β1).add(grad, alpha=1 − β1)``, then the momentum), the Google authors' reference
``lion_pytorch.py`` (plain tensor arithmetic, ``torch.sign``), and the ``lerp_`` form of newer forks. Paraphrased;
with the slips found in forks and in bitsandbytes' first Lion (decay added to the gradient)."""

import torch
from torch.optim.optimizer import Optimizer


def _exists(x):
    return x is not None


def update_fn(p, grad, exp_avg, lr, wd, beta1, beta2):
    p.data.mul_(1.0 - lr * wd)                                            # stepweight decay
    update = exp_avg.clone().mul_(beta1).add(grad, alpha=1.0 - beta1).sign_()
    p.add_(update, alpha=-lr)
    exp_avg.mul_(beta2).add_(grad, alpha=1.0 - beta2)                   # decay the momentum running average


class Lion(Optimizer):
    """lucidrains/lion-pytorch."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        assert lr > 0.0
        assert all(0.0 <= beta <= 1.0 for beta in betas)
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))
        self.update_fn = update_fn

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if _exists(closure):
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in filter(lambda p: _exists(p.grad), group["params"]):
                grad, lr, wd, beta1, beta2, state = (p.grad, group["lr"], group["weight_decay"], *group["betas"],
                                                     self.state[p])
                if len(state) == 0:
                    state["exp_avg"] = torch.zeros_like(p)
                self.update_fn(p, grad, state["exp_avg"], lr, wd, beta1, beta2)
        return loss


class LionAuthors(Optimizer):
    """The paper authors' PyTorch reference (google/automl, lion/lion_pytorch.py)."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                p.data.mul_(1 - group["lr"] * group["weight_decay"])
                grad = p.grad
                state = self.state[p]
                if len(state) == 0:
                    state["exp_avg"] = torch.zeros_like(p)
                exp_avg = state["exp_avg"]
                beta1, beta2 = group["betas"]
                update = exp_avg * beta1 + grad * (1 - beta1)
                p.add_(torch.sign(update), alpha=-group["lr"])
                exp_avg.mul_(beta2).add_(grad, alpha=1 - beta2)


class LionLerp(Optimizer):
    """A fork's ``lerp_`` form: c = m.lerp(g, 1 − β1), m.lerp_(g, 1 − β2)."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                exp_avg = self.state[p].setdefault("exp_avg", torch.zeros_like(p))
                p.mul_(1 - group["lr"] * group["weight_decay"])
                update = exp_avg.clone().lerp_(p.grad, 1 - beta1).sign_()
                p.add_(update, alpha=-group["lr"])
                exp_avg.lerp_(p.grad, 1 - beta2)


# ----- the slips ---------------------------------------------------------------------------------------------


def update_fn_coupled(p, grad, exp_avg, lr, wd, beta1, beta2):
    """bitsandbytes' first Lion: the decay added to the gradient (g + λw), so it goes through the sign."""
    grad = grad.add(p, alpha=wd)
    update = exp_avg.clone().mul_(beta1).add(grad, alpha=1.0 - beta1).sign_()
    p.add_(update, alpha=-lr)
    exp_avg.mul_(beta2).add_(grad, alpha=1.0 - beta2)


class LionCoupledDecay(Lion):
    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        super().__init__(params, lr, betas, weight_decay)
        self.update_fn = update_fn_coupled


def update_fn_momentum_first(p, grad, exp_avg, lr, wd, beta1, beta2):
    """The momentum updated before its sign is taken (one β where Lion has two)."""
    p.data.mul_(1.0 - lr * wd)
    exp_avg.mul_(beta2).add_(grad, alpha=1.0 - beta2)
    p.add_(exp_avg.sign(), alpha=-lr)


class LionMomentumFirst(Lion):
    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        super().__init__(params, lr, betas, weight_decay)
        self.update_fn = update_fn_momentum_first


def update_fn_decay_unscaled(p, grad, exp_avg, lr, wd, beta1, beta2):
    """``p.data.mul_(1 - wd)``: the decay not multiplied by the learning rate."""
    p.data.mul_(1.0 - wd)
    update = exp_avg.clone().mul_(beta1).add(grad, alpha=1.0 - beta1).sign_()
    p.add_(update, alpha=-lr)
    exp_avg.mul_(beta2).add_(grad, alpha=1.0 - beta2)


class LionDecayNotScaledByLr(Lion):
    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        super().__init__(params, lr, betas, weight_decay)
        self.update_fn = update_fn_decay_unscaled
