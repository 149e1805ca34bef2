"""Keras-style numpy optimizers as written in tutorials and small frameworks: Keras' keyword names
(``learning_rate``, ``momentum``, ``nesterov``, ``rho``, ``beta_1``, ``beta_2``, ``epsilon``), a
``apply_gradients(grads_and_vars)``-like method reduced to ``update(w, g)``, velocities kept per variable id,
and Keras 1/2's Adam with the bias corrections folded into the learning rate. Paraphrased."""

import numpy as np


class SGD:
    """Keras 2 SGD: v ← μv − ηg; w ← w + v, or with nesterov w ← w + μv − ηg."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        self.learning_rate, self.momentum, self.nesterov = learning_rate, momentum, nesterov
        self.velocities = {}

    def update(self, w, g):
        v = self.velocities.get(id(self), np.zeros_like(w))
        v = self.momentum * v - self.learning_rate * g
        self.velocities[id(self)] = v
        if self.nesterov:
            return w + self.momentum * v - self.learning_rate * g
        return w + v


class NesterovSGD(SGD):
    def __init__(self, learning_rate=0.01, momentum=0.0):
        super().__init__(learning_rate, momentum, nesterov=True)


class RMSprop:
    """Keras 2 RMSprop: ε outside the root, ρ = 0.9, ε = 1e-7 by default."""

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7):
        self.learning_rate, self.rho, self.epsilon = learning_rate, rho, epsilon
        self.accumulator = None

    def update(self, w, g):
        if self.accumulator is None:
            self.accumulator = np.zeros_like(w)
        self.accumulator = self.rho * self.accumulator + (1.0 - self.rho) * np.square(g)
        return w - self.learning_rate * g / (np.sqrt(self.accumulator) + self.epsilon)


class AdamKeras2:
    """Keras 2's Adam: lr_t = η·√(1 − β2ᵗ)/(1 − β1ᵗ), then w − lr_t·m/(√v + ε) (ε-hat in Algorithm 1's terms)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.learning_rate, self.beta_1, self.beta_2, self.epsilon = learning_rate, beta_1, beta_2, epsilon
        self.iterations = 0
        self.m = self.v = None

    def update(self, w, g):
        if self.m is None:
            self.m, self.v = np.zeros_like(w), np.zeros_like(w)
        self.iterations += 1
        t = float(self.iterations)
        lr_t = self.learning_rate * np.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)
        self.m = self.beta_1 * self.m + (1.0 - self.beta_1) * g
        self.v = self.beta_2 * self.v + (1.0 - self.beta_2) * np.square(g)
        return w - lr_t * self.m / (np.sqrt(self.v) + self.epsilon)


class NesterovWrongSign(SGD):
    """The look-ahead correction with the wrong sign: w + v − μ(…)."""

    def update(self, w, g):
        v = self.velocities.get(id(self), np.zeros_like(w))
        v_new = self.momentum * v - self.learning_rate * g
        self.velocities[id(self)] = v_new
        return w - self.momentum * v_new - self.learning_rate * g


class NesterovAsHeavyBall(SGD):
    """'Nesterov' that returns w + v: plain momentum under the name."""

    def __init__(self, learning_rate=0.01, momentum=0.0):
        super().__init__(learning_rate, momentum, nesterov=False)
