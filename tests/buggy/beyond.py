"""Real bugs of the optimizers and layers beyond the course notes (issue 17), rebuilt in numpy.

Each is written the way the released code wrote it (the source is named), in
the numpy optimizer protocol (``Class(**hyperparameters).step(params, grads)
-> new params``, state kept on the object) or as a layer/clipping function
with the reference's signature. tests/test_reference_beyond.py shows each one
differs from the reference by far more than rounding on a short stream.
"""

import numpy as np


class _Moments:
    """Adam's moments kept the usual way; subclasses write the step."""

    def __init__(self, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0):
        self.lr, self.b1, self.b2, self.eps, self.weight_decay = lr, b1, b2, eps, weight_decay
        self.t = 0
        self.m = self.v = None

    def moments(self, g):
        if self.m is None:
            self.m, self.v = np.zeros_like(g), np.zeros_like(g)
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g


class NadamExtraMu(_Moments):
    """PyTorch's single-tensor NAdam before January 2023 (fixed by pytorch/pytorch#92699):
    ``mu_product_next = mu_product * mu * mu_next``, one μ too many in the momentum coefficient."""

    def __init__(self, lr=2e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, momentum_decay=4e-3):
        super().__init__(lr, b1, b2, eps, weight_decay)
        self.momentum_decay = momentum_decay
        self.mu_product = 1.0

    def step(self, params, grads):
        g = grads + self.weight_decay * params
        self.moments(g)
        t = self.t
        mu = self.b1 * (1 - 0.5 * 0.96 ** (t * self.momentum_decay))
        mu_next = self.b1 * (1 - 0.5 * 0.96 ** ((t + 1) * self.momentum_decay))
        self.mu_product *= mu
        mu_product_next = self.mu_product * mu * mu_next          # the bug: should be mu_product * mu_next
        denom = np.sqrt(self.v / (1 - self.b2 ** t)) + self.eps
        params = params - self.lr * (1 - mu) / (1 - self.mu_product) * g / denom
        return params - self.lr * mu_next / (1 - mu_product_next) * self.m / denom


class AdamEpsScaled(_Moments):
    """PyTorch's Adam before July 2019 (pytorch/pytorch#22628): the bias corrections folded into the step size,
    ``lr·√(1 − β2ᵗ)/(1 − β1ᵗ) · m/(√v + ε)``: ε is effectively ``ε/√(1 − β2ᵗ)`` (Keras' Adam still computes this)."""

    def step(self, params, grads):
        self.moments(grads + self.weight_decay * params)
        step_size = self.lr * np.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        return params - step_size * self.m / (np.sqrt(self.v) + self.eps)


class AmsgradMaxOfVhat(_Moments):
    """optax's AMSGrad (the maximum of the bias-corrected v̂), checked as PyTorch's (the maximum of v):
    TensorFlow and PyTorch keep max(v); optax issue #1389."""

    def step(self, params, grads):
        self.moments(grads + self.weight_decay * params)
        v_hat = self.v / (1 - self.b2 ** self.t)
        self.v_hat_max = v_hat if self.t == 1 else np.maximum(self.v_hat_max, v_hat)
        m_hat = self.m / (1 - self.b1 ** self.t)
        return params - self.lr * m_hat / (np.sqrt(self.v_hat_max) + self.eps)


class AmsgradForgetsMax(_Moments):
    """PyTorch's foreach AMSGrad in 2022 (pytorch/pytorch#78807): ``max_exp_avg_sqs = torch._foreach_maximum(...)``
    rebound a local list, so the stored maximum stayed 0 and every step used max(0, v) = v: plain Adam."""

    def step(self, params, grads):
        self.moments(grads + self.weight_decay * params)
        stored_max = np.zeros_like(self.v)                       # never written back
        v_max = np.maximum(stored_max, self.v)
        m_hat = self.m / (1 - self.b1 ** self.t)
        return params - self.lr * m_hat / (np.sqrt(v_max / (1 - self.b2 ** self.t)) + self.eps)


class RadamThresholdFour(_Moments):
    """RAdam rectifying once ρ_t > 4 (the paper's test) where PyTorch waits for ρ_t > 5 (the official code's ≥ 5):
    one step earlier (t = 5 for β2 = 0.999). Lessw2020/Ranger PR #2 changed 5 to 4."""

    def step(self, params, grads):
        self.moments(grads + self.weight_decay * params)
        t, b2 = self.t, self.b2
        m_hat = self.m / (1 - self.b1 ** t)
        rho_inf = 2 / (1 - b2) - 1
        rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho > 4:                                               # PyTorch: rho > 5
            r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            return params - self.lr * m_hat * r * np.sqrt(1 - b2 ** t) / (np.sqrt(self.v) + self.eps)
        return params - self.lr * m_hat


def _norm(x):
    return np.sqrt(np.sum(x * x))


class LambNoDebias(_Moments):
    """cybertronai/pytorch-lamb ("Paper v3 does not use debiasing"): raw m/(√v + ε), decay added to it,
    trust ratio ‖w‖/‖step‖ (its clamp of ‖w‖ to [0, 10] never acts on these small weights)."""

    def __init__(self, lr=1e-3, b1=0.9, b2=0.999, eps=1e-6, weight_decay=0.0):
        super().__init__(lr, b1, b2, eps, weight_decay)

    def step(self, params, grads):
        self.moments(grads)
        adam_step = self.m / (np.sqrt(self.v) + self.eps) + self.weight_decay * params
        wn, an = min(_norm(params), 10.0), _norm(adam_step)
        ratio = 1.0 if wn == 0 or an == 0 else wn / an
        return params - self.lr * ratio * adam_step


class LambDecayInGradient(_Moments):
    """LAMB with Adam's coupled decay (cybertronai/pytorch-lamb issue #3): ``g ← g + λw`` before the moments,
    the trust ratio of the plain Adam step."""

    def __init__(self, lr=1e-3, b1=0.9, b2=0.999, eps=1e-6, weight_decay=0.0):
        super().__init__(lr, b1, b2, eps, weight_decay)

    def step(self, params, grads):
        self.moments(grads + self.weight_decay * params)
        r = (self.m / (1 - self.b1 ** self.t)) / (np.sqrt(self.v / (1 - self.b2 ** self.t)) + self.eps)
        wn, rn = _norm(params), _norm(r)
        ratio = 1.0 if wn == 0 or rn == 0 else wn / rn
        return params - self.lr * ratio * r


class LionCoupledDecay:
    """bitsandbytes' 32-bit Lion (issue #1992): the decay added to the gradient, so it enters the sign and the
    momentum instead of shrinking the weights by ηλw."""

    def __init__(self, lr=1e-4, b1=0.9, b2=0.99, weight_decay=0.0):
        self.lr, self.b1, self.b2, self.weight_decay = lr, b1, b2, weight_decay
        self.m = None

    def step(self, params, grads):
        if self.m is None:
            self.m = np.zeros_like(params)
        g = grads + params * self.weight_decay
        params = params - self.lr * np.sign(self.m * self.b1 + (1 - self.b1) * g)
        self.m = self.m * self.b2 + (1 - self.b2) * g
        return params


class LionDecayAfter:
    """Lion whose decoupled decay shrinks the weights after the sign step, ``(w − η sgn c)(1 − ηλ)``."""

    def __init__(self, lr=1e-4, b1=0.9, b2=0.99, weight_decay=0.0):
        self.lr, self.b1, self.b2, self.weight_decay = lr, b1, b2, weight_decay
        self.m = None

    def step(self, params, grads):
        if self.m is None:
            self.m = np.zeros_like(params)
        params = params - self.lr * np.sign(self.b1 * self.m + (1 - self.b1) * grads)
        self.m = self.b2 * self.m + (1 - self.b2) * grads
        return params * (1 - self.lr * self.weight_decay)


class AdamWDecayAfter(_Moments):
    """AdamW whose decay shrinks the weights after the Adam step, ``w' = w − η u``, ``w ← w'(1 − ηλ)``
    (bitsandbytes issue #2010: its CUDA kernels; kyleliang919/C-Optim #3)."""

    def __init__(self, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-2):
        super().__init__(lr, b1, b2, eps, weight_decay)

    def step(self, params, grads):
        self.moments(grads)
        m_hat = self.m / (1 - self.b1 ** self.t)
        v_hat = self.v / (1 - self.b2 ** self.t)
        params = params - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return params - self.lr * self.weight_decay * params


class HuggingFaceAdamW(_Moments):
    """HuggingFace transformers' old ``AdamW`` ("Add weight decay at the end (fixed version)"): the bias
    corrections in the step size (ε̂, as :class:`AdamEpsScaled`) and the decay after the step."""

    def __init__(self, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-2):
        super().__init__(lr, b1, b2, eps, weight_decay)

    def step(self, params, grads):
        self.moments(grads)
        step_size = self.lr * np.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        params = params - step_size * self.m / (np.sqrt(self.v) + self.eps)
        return params + params * (-self.lr * self.weight_decay)


def layernorm_var_plus_eps_squared(x, gamma, beta, eps=1e-5):
    """TPlinker's LayerNorm (131250208/TPlinker-joint-extraction issue #37): ``std = (variance + eps) ** 2``."""
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    std = (variance + eps) ** 2
    return gamma * (x - mean) / std + beta


def layernorm_eps_outside_root(x, gamma, beta, eps=1e-5):
    """``(x − μ)/(√σ² + ε)`` (tracel-ai/burn issue #2185, pytorch_geometric PR #2917)."""
    mean = x.mean(axis=-1, keepdims=True)
    std = x.std(axis=-1, keepdims=True)
    return gamma * (x - mean) / (std + eps) + beta


def rmsnorm_eps_outside_root(x, gamma, eps=1e-8):
    """The RMSNorm authors' PyTorch code (bzhangGo/rmsnorm): ``x / (rms_x + eps)``."""
    rms = np.linalg.norm(x, axis=-1, keepdims=True) * x.shape[-1] ** -0.5
    return gamma * x / (rms + eps)


def clip_per_tensor(grads, max_norm):
    """Each gradient clipped by its own norm (huggingface/transformers PR #614, facebookresearch/dino's
    clip_gradients, Keras' clipnorm by design): the global norm can reach max_norm·√k."""
    out = []
    for g in grads:
        n = np.linalg.norm(g)
        out.append(g * min(1.0, max_norm / n) if n > 0 else g)
    return out


class AdadeltaForgetsState:
    """A d2l-style Adadelta whose state updates rebind local names (``s = rho * s + …``, ``delta = …``) instead of
    writing into the stored arrays (``s[:] = …``): every step starts from zero state (seen in a public d2l port)."""

    def __init__(self, lr=1.0, rho=0.9, eps=1e-6):
        self.lr, self.rho, self.eps = lr, rho, eps
        self.states = None

    def step(self, params, grads):
        if self.states is None:
            self.states = (np.zeros_like(params), np.zeros_like(params))
        s, delta = self.states
        s = self.rho * s + (1 - self.rho) * grads ** 2
        g = grads * np.sqrt((delta + self.eps) / (s + self.eps))
        delta = self.rho * delta + (1 - self.rho) * g ** 2
        return params - self.lr * g


class AmsgradEpsScaled(_Moments):
    """AMSGrad as PyTorch's Adam(amsgrad=True) computed it before July 2019 (pytorch/pytorch#22628) and Keras still
    does: the corrections folded into the step size, ``lr·√(1 − β2ᵗ)/(1 − β1ᵗ) · m/(√v_max + ε)``."""

    def step(self, params, grads):
        self.moments(grads + self.weight_decay * params)
        self.v_max = self.v.copy() if self.t == 1 else np.maximum(self.v_max, self.v)
        step_size = self.lr * np.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        return params - step_size * self.m / (np.sqrt(self.v_max) + self.eps)


class NadamDecayAfter(_Moments):
    """NAdam with decoupled decay (PyTorch's ``decoupled_weight_decay=True``) applied after the update instead of
    before it: ``w' = w − η·step``, ``w ← w'(1 − ηλ)`` (the HF-transformers AdamW pattern, in NAdam)."""

    def __init__(self, lr=2e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, momentum_decay=4e-3):
        super().__init__(lr, b1, b2, eps, weight_decay)
        self.momentum_decay, self.mu_product = momentum_decay, 1.0

    def step(self, params, grads):
        self.moments(grads)
        t = self.t
        mu = self.b1 * (1 - 0.5 * 0.96 ** (t * self.momentum_decay))
        mu_next = self.b1 * (1 - 0.5 * 0.96 ** ((t + 1) * self.momentum_decay))
        self.mu_product *= mu
        denom = np.sqrt(self.v / (1 - self.b2 ** t)) + self.eps
        params = params - self.lr * (1 - mu) / (1 - self.mu_product) * grads / denom
        params = params - self.lr * mu_next / (1 - self.mu_product * mu_next) * self.m / denom
        return params * (1 - self.lr * self.weight_decay)
