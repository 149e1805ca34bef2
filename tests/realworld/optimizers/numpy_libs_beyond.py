"""numpy libraries' Adagrad and Adadelta: numpy-ml's ``AdaGrad`` (``update(param, param_grad, param_name)``, the
hyperparameters dict, the cache keyed by name, ε = 1e-7 outside the root, optional ``clip_norm``) and
ML-From-Scratch's ``Adagrad`` (ε = 1e-8 set in ``__init__``, inside the root) and ``Adadelta`` (no learning rate;
``update(w, grad) -> new_w``). Paraphrased; checked as they are."""

import numpy as np
from numpy.linalg import norm

from tests.realworld.optimizers.numpy_ml import OptimizerBase


class AdaGrad(OptimizerBase):
    """numpy-ml."""

    def __init__(self, lr=0.01, eps=1e-7, clip_norm=None, **kwargs):
        super().__init__(lr)
        self.hyperparameters = {"id": "AdaGrad", "lr": lr, "eps": eps, "clip_norm": clip_norm}

    def update(self, param, param_grad, param_name, cur_loss=None):
        C, H = self.cache, self.hyperparameters
        eps, clip_norm, lr = H["eps"], H["clip_norm"], H["lr"]
        if param_name not in C:
            C[param_name] = np.zeros_like(param_grad)
        t = np.inf if clip_norm is None else clip_norm
        if norm(param_grad) > t:
            param_grad = param_grad * t / norm(param_grad)
        C[param_name] += param_grad ** 2
        update = lr * param_grad / (np.sqrt(C[param_name]) + eps)
        self.cache = C
        return param - update


class Adagrad:
    """ML-From-Scratch: G sums the squared gradients; ε = 1e-8 inside the root."""

    def __init__(self, learning_rate=0.01):
        self.learning_rate = learning_rate
        self.G = None
        self.eps = 1e-8

    def update(self, w, grad_wrt_w):
        if self.G is None:
            self.G = np.zeros(np.shape(w))
        self.G += np.power(grad_wrt_w, 2)
        return w - self.learning_rate * grad_wrt_w / np.sqrt(self.G + self.eps)


class Adadelta:
    """ML-From-Scratch: the rescaled gradient is the whole step (a learning rate of 1)."""

    def __init__(self, rho=0.95, eps=1e-6):
        self.E_w_updt = None
        self.E_grad = None
        self.w_updt = None
        self.eps = eps
        self.rho = rho

    def update(self, w, grad_wrt_w):
        if self.w_updt is None:
            self.w_updt = np.zeros(np.shape(w))
            self.E_w_updt = np.zeros(np.shape(w))
            self.E_grad = np.zeros(np.shape(grad_wrt_w))
        self.E_grad = self.rho * self.E_grad + (1 - self.rho) * np.power(grad_wrt_w, 2)
        rms_delta_w = np.sqrt(self.E_w_updt + self.eps)
        rms_grad = np.sqrt(self.E_grad + self.eps)
        adaptive_lr = rms_delta_w / rms_grad
        self.w_updt = adaptive_lr * grad_wrt_w
        self.E_w_updt = self.rho * self.E_w_updt + (1 - self.rho) * np.power(self.w_updt, 2)
        return w - self.w_updt


class AdadeltaStaleAverage(Adadelta):
    """The average of g² updated after the division (the step uses E[g²] of the previous step)."""

    def update(self, w, grad_wrt_w):
        if self.w_updt is None:
            self.w_updt = np.zeros(np.shape(w))
            self.E_w_updt = np.zeros(np.shape(w))
            self.E_grad = np.zeros(np.shape(grad_wrt_w))
        adaptive_lr = np.sqrt(self.E_w_updt + self.eps) / np.sqrt(self.E_grad + self.eps)
        self.w_updt = adaptive_lr * grad_wrt_w
        self.E_grad = self.rho * self.E_grad + (1 - self.rho) * np.power(grad_wrt_w, 2)
        self.E_w_updt = self.rho * self.E_w_updt + (1 - self.rho) * np.power(self.w_updt, 2)
        return w - self.w_updt
