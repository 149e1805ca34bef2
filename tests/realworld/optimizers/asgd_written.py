"""ASGD as people write it: a torch ``Optimizer`` subclass after PyTorch's single-tensor kernel (``eta``, ``mu``
and ``ax`` in the state; η and μ updated after the step), a numpy class computing η_t from the step count,
averaged SGD written as plain SGD plus an average of the iterates (Polyak–Juditsky with no decay: PyTorch's ASGD
at λ = 0), and the slips. Paraphrased."""

import numpy as np
import torch
from torch.optim import Optimizer


class ASGD(Optimizer):
    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0):
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay))

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
                    state["eta"] = group["lr"]
                    state["mu"] = 1
                    state["ax"] = torch.zeros_like(p)
                state["step"] += 1
                if group["weight_decay"] != 0:
                    grad = grad.add(p, alpha=group["weight_decay"])
                p.mul_(1 - group["lambd"] * state["eta"])             # decay term
                p.add_(grad, alpha=-state["eta"])                     # update parameter
                if state["mu"] != 1:                                   # averaging
                    state["ax"].add_(p.sub(state["ax"]).mul(state["mu"]))
                else:
                    state["ax"].copy_(p)
                state["eta"] = group["lr"] / ((1 + group["lambd"] * group["lr"] * state["step"]) ** group["alpha"])
                state["mu"] = 1 / max(1, state["step"] - group["t0"])


class AveragedSGD:
    """SGD whose iterates are averaged for evaluation; the iterate is what training continues from."""

    def __init__(self, lr=0.01):
        self.lr = lr
        self.avg, self.n = None, 0

    def step(self, w, g):
        w = w - self.lr * g
        self.n += 1
        self.avg = w.copy() if self.avg is None else self.avg + (w - self.avg) / self.n
        return w


class ASGDNumpy:
    """η_t from the number of steps taken before this one."""

    def __init__(self, lr=0.01, lambd=1e-4, alpha=0.75, t0=1e6):
        self.lr, self.lambd, self.alpha, self.t0 = lr, lambd, alpha, t0
        self.t = 0
        self.ax = None

    def step(self, w, g):
        eta = self.lr / (1 + self.lambd * self.lr * self.t) ** self.alpha
        self.t += 1
        w = w * (1 - self.lambd * eta) - eta * g
        mu = 1 / max(1, self.t - self.t0)
        self.ax = w.copy() if self.ax is None else self.ax + mu * (w - self.ax)
        return w


class ASGDEtaFromCurrentStep(ASGDNumpy):
    """η_t computed after the count is bumped: η₀/(1 + λη₀t)^α at step t."""

    def step(self, w, g):
        self.t += 1
        eta = self.lr / (1 + self.lambd * self.lr * self.t) ** self.alpha
        w = w * (1 - self.lambd * eta) - eta * g
        mu = 1 / max(1, self.t - self.t0)
        self.ax = w.copy() if self.ax is None else self.ax + mu * (w - self.ax)
        return w


class ASGDReturnsAverage(ASGDNumpy):
    """The average returned where the iterate should be."""

    def step(self, w, g):
        super().step(w, g)
        return self.ax.copy()
