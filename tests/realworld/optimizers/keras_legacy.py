"""Keras-2-style optimizers re-implemented in numpy (tutorials, "Keras from scratch" projects): the Keras
signature with its flags (``nesterov=False``, ``amsgrad=False``, ``centered=False``, a learning-rate ``decay``
schedule left at 0), ``apply_gradients(zip(grads, vars))`` updating the variables in place, slots kept per
variable (keyed by ``id(var)``, as the variables live for the whole training). Paraphrased; checked as they
are, a flag bound with ``functools.partial`` where the spec needs it on."""

import functools

import numpy as np


class _Optimizer:
    def __init__(self, learning_rate, decay=0.0):
        self.learning_rate, self.decay = learning_rate, decay
        self.iterations = 0
        self._slots = {}

    def _slot(self, var, name):
        return self._slots.setdefault((id(var), name), np.zeros_like(var))

    def _set(self, var, name, value):
        self._slots[(id(var), name)] = value

    def _lr(self):
        """Keras 2's time-based decay: η / (1 + decay·iterations) — constant at decay = 0."""
        return self.learning_rate / (1.0 + self.decay * self.iterations)

    def apply_gradients(self, grads_and_vars):
        lr = self._lr()
        for grad, var in grads_and_vars:
            self._apply(grad, var, lr)
        self.iterations += 1


class SGD(_Optimizer):
    """v ← μv − ηg; w ← w + v, or with nesterov w ← w + μv − ηg."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, decay=0.0):
        super().__init__(learning_rate, decay)
        self.momentum, self.nesterov = momentum, nesterov

    def _apply(self, grad, var, lr):
        v = self.momentum * self._slot(var, "momentum") - lr * grad
        self._set(var, "momentum", v)
        var += self.momentum * v - lr * grad if self.nesterov else v


NesterovSGD = functools.partial(SGD, nesterov=True)


class Adam(_Optimizer):
    """Algorithm 1 of the paper (ε outside the corrected root), AMSGrad behind a flag that is off."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, decay=0.0):
        super().__init__(learning_rate, decay)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def _apply(self, grad, var, lr):
        t = self.iterations + 1
        m = self.beta_1 * self._slot(var, "m") + (1 - self.beta_1) * grad
        v = self.beta_2 * self._slot(var, "v") + (1 - self.beta_2) * np.square(grad)
        self._set(var, "m", m)
        self._set(var, "v", v)
        if self.amsgrad:
            v = np.maximum(self._slot(var, "vhat"), v)
            self._set(var, "vhat", v)
        m_hat, v_hat = m / (1 - self.beta_1 ** t), v / (1 - self.beta_2 ** t)
        var -= lr * m_hat / (np.sqrt(v_hat) + self.epsilon)


class AdamAmsgradAlwaysOn(Adam):
    """A port whose flag test was lost: the running maximum is always taken."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, decay=0.0):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, True, decay)


class RMSprop(_Optimizer):
    """ε outside the root; ``centered`` subtracts the squared mean gradient (off by default)."""

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7, centered=False, decay=0.0):
        super().__init__(learning_rate, decay)
        self.rho, self.epsilon, self.centered = rho, epsilon, centered

    def _apply(self, grad, var, lr):
        a = self.rho * self._slot(var, "rms") + (1 - self.rho) * np.square(grad)
        self._set(var, "rms", a)
        denominator = a
        if self.centered:
            mg = self.rho * self._slot(var, "mg") + (1 - self.rho) * grad
            self._set(var, "mg", mg)
            denominator = a - np.square(mg)
        var -= lr * grad / (np.sqrt(denominator) + self.epsilon)


CenteredRMSprop = functools.partial(RMSprop, centered=True)

