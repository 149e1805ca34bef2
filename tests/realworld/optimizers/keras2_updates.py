"""Keras 2's optimizers (keras/optimizers.py, 2.2–2.3) re-implemented in numpy the way "Keras from scratch"
projects port them: the Keras 2 constructor (``lr``, ``beta_1``, ``beta_2``, ``epsilon=None`` meaning
``K.epsilon()`` = 1e-7, ``decay=0.``, ``schedule_decay``, ``amsgrad``), slots made on the first call, and
``get_updates(params, grads)`` returning the new value of every parameter (Keras 2 returned the assignment ops),
``self.iterations`` counted per call. Paraphrased; checked as they are."""

import numpy as np

EPSILON = 1e-7          # K.epsilon()


class Optimizer:
    def __init__(self, lr, decay=0.0, **kwargs):
        allowed = {"clipnorm", "clipvalue"}
        for k in kwargs:
            if k not in allowed:
                raise TypeError("Unexpected keyword argument passed to optimizer: " + str(k))
        self.lr, self.decay, self.initial_decay = lr, decay, decay
        self.iterations = 0
        self.weights = None

    def _lr(self):
        lr = self.lr
        if self.initial_decay > 0:
            lr = lr * (1.0 / (1.0 + self.decay * self.iterations))
        return lr

    def get_updates(self, params, grads):
        raise NotImplementedError


class Adagrad(Optimizer):
    def __init__(self, lr=0.01, epsilon=None, decay=0.0, **kwargs):
        super().__init__(lr, decay, **kwargs)
        self.epsilon = EPSILON if epsilon is None else epsilon

    def get_updates(self, params, grads):
        if self.weights is None:
            self.weights = [np.zeros(np.shape(p)) for p in params]
        lr = self._lr()
        self.iterations += 1
        new_params = []
        for i, (p, g, a) in enumerate(zip(params, grads, self.weights)):
            new_a = a + np.square(g)
            self.weights[i] = new_a
            new_params.append(p - lr * g / (np.sqrt(new_a) + self.epsilon))
        return new_params


class Adadelta(Optimizer):
    def __init__(self, lr=1.0, rho=0.95, epsilon=None, decay=0.0, **kwargs):
        super().__init__(lr, decay, **kwargs)
        self.rho = rho
        self.epsilon = EPSILON if epsilon is None else epsilon

    def get_updates(self, params, grads):
        if self.weights is None:
            self.weights = [[np.zeros(np.shape(p)), np.zeros(np.shape(p))] for p in params]
        lr = self._lr()
        self.iterations += 1
        new_params = []
        for p, g, slots in zip(params, grads, self.weights):
            a, d_a = slots
            new_a = self.rho * a + (1.0 - self.rho) * np.square(g)
            update = g * np.sqrt(d_a + self.epsilon) / np.sqrt(new_a + self.epsilon)
            new_params.append(p - lr * update)
            slots[0] = new_a
            slots[1] = self.rho * d_a + (1 - self.rho) * np.square(update)
        return new_params


class Adamax(Optimizer):
    """ε added to the infinity norm outside the maximum."""

    def __init__(self, lr=0.002, beta_1=0.9, beta_2=0.999, epsilon=None, decay=0.0, **kwargs):
        super().__init__(lr, decay, **kwargs)
        self.beta_1, self.beta_2 = beta_1, beta_2
        self.epsilon = EPSILON if epsilon is None else epsilon

    def get_updates(self, params, grads):
        if self.weights is None:
            self.weights = [[np.zeros(np.shape(p)), np.zeros(np.shape(p))] for p in params]
        lr = self._lr()
        self.iterations += 1
        t = self.iterations
        lr_t = lr / (1.0 - self.beta_1 ** t)
        new_params = []
        for p, g, slots in zip(params, grads, self.weights):
            m, u = slots
            m_t = self.beta_1 * m + (1.0 - self.beta_1) * g
            u_t = np.maximum(self.beta_2 * u, np.abs(g))
            new_params.append(p - lr_t * m_t / (u_t + self.epsilon))
            slots[0], slots[1] = m_t, u_t
        return new_params


class Nadam(Optimizer):
    """One ``m_schedule`` for all the parameters, updated once per call (Keras 2)."""

    def __init__(self, lr=0.002, beta_1=0.9, beta_2=0.999, epsilon=None, schedule_decay=0.004, **kwargs):
        super().__init__(lr, 0.0, **kwargs)
        self.beta_1, self.beta_2 = beta_1, beta_2
        self.epsilon = EPSILON if epsilon is None else epsilon
        self.schedule_decay = schedule_decay
        self.m_schedule = 1.0

    def get_updates(self, params, grads):
        if self.weights is None:
            self.weights = [[np.zeros(np.shape(p)), np.zeros(np.shape(p))] for p in params]
        self.iterations += 1
        t = self.iterations
        momentum_cache_t = self.beta_1 * (1.0 - 0.5 * (np.power(0.96, t * self.schedule_decay)))
        momentum_cache_t_1 = self.beta_1 * (1.0 - 0.5 * (np.power(0.96, (t + 1) * self.schedule_decay)))
        m_schedule_new = self.m_schedule * momentum_cache_t
        m_schedule_next = self.m_schedule * momentum_cache_t * momentum_cache_t_1
        self.m_schedule = m_schedule_new
        new_params = []
        for p, g, slots in zip(params, grads, self.weights):
            m, v = slots
            g_prime = g / (1.0 - m_schedule_new)
            m_t = self.beta_1 * m + (1.0 - self.beta_1) * g
            m_t_prime = m_t / (1.0 - m_schedule_next)
            v_t = self.beta_2 * v + (1.0 - self.beta_2) * np.square(g)
            v_t_prime = v_t / (1.0 - np.power(self.beta_2, t))
            m_t_bar = (1.0 - momentum_cache_t) * g_prime + momentum_cache_t_1 * m_t_prime
            slots[0], slots[1] = m_t, v_t
            new_params.append(p - self.lr * m_t_bar / (np.sqrt(v_t_prime) + self.epsilon))
        return new_params


class Adam(Optimizer):
    """Keras 2's Adam: lr_t = lr·√(1 − β2ᵗ)/(1 − β1ᵗ), ε added to √v (ε-hat); with ``amsgrad=True`` the maximum of
    v (``vhat``) in the denominator."""

    def __init__(self, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=None, decay=0.0, amsgrad=False, **kwargs):
        super().__init__(lr, decay, **kwargs)
        self.beta_1, self.beta_2, self.amsgrad = beta_1, beta_2, amsgrad
        self.epsilon = EPSILON if epsilon is None else epsilon

    def get_updates(self, params, grads):
        if self.weights is None:
            self.weights = [[np.zeros(np.shape(p)) for _ in range(3)] for p in params]
        lr = self._lr()
        self.iterations += 1
        t = self.iterations
        lr_t = lr * (np.sqrt(1.0 - np.power(self.beta_2, t)) / (1.0 - np.power(self.beta_1, t)))
        new_params = []
        for p, g, slots in zip(params, grads, self.weights):
            m, v, vhat = slots
            m_t = self.beta_1 * m + (1.0 - self.beta_1) * g
            v_t = self.beta_2 * v + (1.0 - self.beta_2) * np.square(g)
            if self.amsgrad:
                vhat_t = np.maximum(vhat, v_t)
                p_t = p - lr_t * m_t / (np.sqrt(vhat_t) + self.epsilon)
                slots[2] = vhat_t
            else:
                p_t = p - lr_t * m_t / (np.sqrt(v_t) + self.epsilon)
            slots[0], slots[1] = m_t, v_t
            new_params.append(p_t)
        return new_params


def AMSGrad(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=None):
    """How a user checks the flag: a factory turning it on."""
    return Adam(lr=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=True)


class AdamaxAdamSecondMoment(Adamax):
    """A port that kept Adam's slot update: u ← β2u + (1 − β2)g², divided by √u + ε."""

    def get_updates(self, params, grads):
        if self.weights is None:
            self.weights = [[np.zeros(np.shape(p)), np.zeros(np.shape(p))] for p in params]
        self.iterations += 1
        t = self.iterations
        lr_t = self.lr / (1.0 - self.beta_1 ** t)
        new_params = []
        for p, g, slots in zip(params, grads, self.weights):
            m, u = slots
            m_t = self.beta_1 * m + (1.0 - self.beta_1) * g
            u_t = self.beta_2 * u + (1.0 - self.beta_2) * np.square(g)
            new_params.append(p - lr_t * m_t / (np.sqrt(u_t) + self.epsilon))
            slots[0], slots[1] = m_t, u_t
        return new_params
