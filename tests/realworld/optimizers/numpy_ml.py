"""numpy-ml (ddbourgin/numpy-ml), ``numpy_ml/neural_nets/optimizers``: classes whose hyperparameters live in a
``self.hyperparameters`` dict and whose state lives in ``self.cache`` keyed by parameter name, stepped with
``update(param, param_grad, param_name, cur_loss=None)``; unused keywords go to ``**kwargs``. Paraphrased
without the scheduler machinery (a constant learning rate). Checked as they are: no wrapper."""

import numpy as np
from numpy.linalg import norm


class OptimizerBase:
    def __init__(self, lr):
        self.cache = {}
        self.cur_step = 0
        self.hyperparameters = {}
        self.lr = lr

    def __call__(self, param, param_grad, param_name, cur_loss=None):
        return self.update(param, param_grad, param_name, cur_loss)

    def step(self):
        self.cur_step += 1


class SGD(OptimizerBase):
    def __init__(self, lr=0.01, momentum=0.0, clip_norm=None, **kwargs):
        super().__init__(lr)
        self.hyperparameters = {"id": "SGD", "lr": lr, "momentum": momentum, "clip_norm": clip_norm}

    def update(self, param, param_grad, param_name, cur_loss=None):
        C, H = self.cache, self.hyperparameters
        momentum, clip_norm, lr = H["momentum"], H["clip_norm"], H["lr"]
        if param_name not in C:
            C[param_name] = np.zeros_like(param_grad)
        t = np.inf if clip_norm is None else clip_norm
        if norm(param_grad) > t:
            param_grad = param_grad * t / norm(param_grad)
        update = momentum * C[param_name] + lr * param_grad
        self.cache[param_name] = update
        return param - update


class RMSProp(OptimizerBase):
    def __init__(self, lr=0.001, decay=0.9, eps=1e-7, clip_norm=None, **kwargs):
        super().__init__(lr)
        self.hyperparameters = {"id": "RMSProp", "lr": lr, "eps": eps, "decay": decay, "clip_norm": clip_norm}

    def update(self, param, param_grad, param_name, cur_loss=None):
        C, H = self.cache, self.hyperparameters
        eps, decay, clip_norm, lr = H["eps"], H["decay"], H["clip_norm"], H["lr"]
        if param_name not in C:
            C[param_name] = np.zeros_like(param_grad)
        t = np.inf if clip_norm is None else clip_norm
        if norm(param_grad) > t:
            param_grad = param_grad * t / norm(param_grad)
        C[param_name] = decay * C[param_name] + (1 - decay) * param_grad ** 2
        update = lr * param_grad / (np.sqrt(C[param_name]) + eps)
        self.cache = C
        return param - update


class Adam(OptimizerBase):
    def __init__(self, lr=0.001, decay1=0.9, decay2=0.999, eps=1e-7, clip_norm=None, **kwargs):
        super().__init__(lr)
        self.hyperparameters = {"id": "Adam", "lr": lr, "eps": eps, "decay1": decay1, "decay2": decay2,
                                "clip_norm": clip_norm}

    def update(self, param, param_grad, param_name, cur_loss=None):
        C, H = self.cache, self.hyperparameters
        d1, d2, eps, clip_norm, lr = H["decay1"], H["decay2"], H["eps"], H["clip_norm"], H["lr"]
        if param_name not in C:
            C[param_name] = {"t": 0, "mean": np.zeros_like(param_grad), "var": np.zeros_like(param_grad)}
        t = np.inf if clip_norm is None else clip_norm
        if norm(param_grad) > t:
            param_grad = param_grad * t / norm(param_grad)
        t = C[param_name]["t"] + 1
        var, mean = C[param_name]["var"], C[param_name]["mean"]
        C[param_name]["t"] = t
        C[param_name]["var"] = d2 * var + (1 - d2) * param_grad ** 2
        C[param_name]["mean"] = d1 * mean + (1 - d1) * param_grad
        self.cache = C
        v_hat = C[param_name]["var"] / (1 - d2 ** t)
        m_hat = C[param_name]["mean"] / (1 - d1 ** t)
        return param - lr * m_hat / (np.sqrt(v_hat) + eps)


class AdamVarWithoutSquare(Adam):
    """A slip: the square root of v̂ forgotten, m̂/(v̂ + ε)."""

    def update(self, param, param_grad, param_name, cur_loss=None):
        C, H = self.cache, self.hyperparameters
        d1, d2, eps, lr = H["decay1"], H["decay2"], H["eps"], H["lr"]
        if param_name not in C:
            C[param_name] = {"t": 0, "mean": np.zeros_like(param_grad), "var": np.zeros_like(param_grad)}
        t = C[param_name]["t"] + 1
        C[param_name]["t"] = t
        C[param_name]["var"] = d2 * C[param_name]["var"] + (1 - d2) * param_grad ** 2
        C[param_name]["mean"] = d1 * C[param_name]["mean"] + (1 - d1) * param_grad
        m_hat = C[param_name]["mean"] / (1 - d1 ** t)
        v_hat = C[param_name]["var"] / (1 - d2 ** t)
        return param - lr * m_hat / (v_hat + eps)
