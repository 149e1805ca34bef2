"""Keras 3 optimizer subclasses written the way Keras's guide and users write them (``build`` makes the slots
with ``add_variable_from_reference``, ``update_step(gradient, variable, learning_rate)`` assigns them): correct
ones, ones in Keras's own published forms, and common bugs. Loaded by ``verify check`` in a subprocess (keras
fixes its backend when imported)."""

import keras
from keras import ops


class _Slots(keras.optimizers.Optimizer):
    """Slots named in ``SLOTS``, one per variable, zeros (or ``INIT``)."""

    SLOTS: tuple = ()
    INIT = 0.0
    SLOT_DTYPE = None

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        for slot in self.SLOTS:
            if self.SLOT_DTYPE is None:
                made = [self.add_variable_from_reference(v, name=slot,
                                                         initializer=keras.initializers.Constant(self.INIT))
                        for v in var_list]
            else:
                made = [self.add_variable(shape=v.shape, initializer="zeros", dtype=self.SLOT_DTYPE, name=slot)
                        for v in var_list]
            setattr(self, "_" + slot, made)

    def slot(self, name, variable):
        return getattr(self, "_" + name)[self._get_variable_index(variable)]

    def step_count(self, variable):
        return ops.cast(self.iterations + 1, variable.dtype)


# ----------------------------------------------------------------------------- Adam family


class TextbookAdam(_Slots):
    """Kingma & Ba, Algorithm 1: m̂/(√v̂ + ε) — the adam spec's default convention."""

    SLOTS = ("m", "v")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, name="textbook_adam",
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def moments(self, g, variable):
        m, v = self.slot("m", variable), self.slot("v", variable)
        self.assign(m, self.beta_1 * m + (1 - self.beta_1) * g)
        self.assign(v, self.beta_2 * v + (1 - self.beta_2) * ops.square(g))
        return m, v

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        t = self.step_count(variable)
        m, v = self.moments(g, variable)
        m_hat = m / (1 - ops.power(self.beta_1, t))
        v_hat = v / (1 - ops.power(self.beta_2, t))
        self.assign_sub(variable, lr * m_hat / (ops.sqrt(v_hat) + self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class KerasStyleAdam(TextbookAdam):
    """The ε̂ form, as Keras's own Adam computes it: α_t = η√(1 − β2ᵗ)/(1 − β1ᵗ), w ← w − α_t·m/(√v + ε)."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        t = self.step_count(variable)
        m, v = self.moments(g, variable)
        alpha = lr * ops.sqrt(1 - ops.power(self.beta_2, t)) / (1 - ops.power(self.beta_1, t))
        self.assign_sub(variable, alpha * m / (ops.sqrt(v) + self.epsilon))


class AdamNoBiasCorrection(TextbookAdam):
    """Bug: m and v used raw."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        m, v = self.moments(ops.cast(gradient, variable.dtype), variable)
        self.assign_sub(variable, lr * m / (ops.sqrt(v) + self.epsilon))


class AdamSwappedBetas(TextbookAdam):
    """Bug: β1 and β2 swapped in the moment updates."""

    def moments(self, g, variable):
        m, v = self.slot("m", variable), self.slot("v", variable)
        self.assign(m, self.beta_2 * m + (1 - self.beta_2) * g)
        self.assign(v, self.beta_1 * v + (1 - self.beta_1) * ops.square(g))
        return m, v


class Float32Adam(TextbookAdam):
    """Correct formula, moments kept in float32 slots (a precision finding, not a wrong formula)."""

    SLOT_DTYPE = "float32"

    def moments(self, g, variable):
        m, v = self.slot("m", variable), self.slot("v", variable)
        g32 = ops.cast(g, "float32")
        self.assign(m, self.beta_1 * m + (1 - self.beta_1) * g32)
        self.assign(v, self.beta_2 * v + (1 - self.beta_2) * ops.square(g32))
        return ops.cast(m, variable.dtype), ops.cast(v, variable.dtype)


class AdamWDecayAfterStep(keras.optimizers.AdamW):
    """Bug: the decoupled decay applied to the updated weights, after the Adam step (Keras applies it before)."""

    def _apply_weight_decay(self, variables):
        return None      # no decay before the step ...

    def update_step(self, gradient, variable, learning_rate):
        super().update_step(gradient, variable, learning_rate)
        lr = ops.cast(learning_rate, variable.dtype)
        self.assign_sub(variable, variable * self.weight_decay * lr)   # ... but after it


# ----------------------------------------------------------------------------- SGD family


class MomentumSGD(keras.optimizers.SGD):
    """Heavy ball in PyTorch's form, b ← μb + g, w ← w − ηb (a subclass replacing Keras's Polyak form)."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        if self.momentum == 0:          # Keras builds no buffers then
            self.assign_sub(variable, lr * g)
            return
        b = self.momentums[self._get_variable_index(variable)]
        self.assign(b, self.momentum * b + g)
        self.assign_sub(variable, lr * b)


class MomentumBufferLate(keras.optimizers.SGD):
    """Bug: the step uses the buffer before the gradient is added."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        if self.momentum == 0:
            self.assign_sub(variable, lr * g)
            return
        b = self.momentums[self._get_variable_index(variable)]
        self.assign_sub(variable, lr * b)
        self.assign(b, self.momentum * b + g)


class SignSGD(keras.optimizers.SGD):
    """signSGD (Bernstein et al. 2018): w ← w − η·sgn(g)."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        self.assign_sub(variable, lr * ops.sign(ops.cast(gradient, variable.dtype)))


# ----------------------------------------------------------------------------- RMSprop, Adagrad


class TorchStyleRMSprop(keras.optimizers.RMSprop):
    """RMSprop with ε outside the root, g/(√s + ε) (PyTorch's form; the rmsprop spec's default)."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        s = self._velocities[self._get_variable_index(variable)]
        self.assign(s, self.rho * s + (1 - self.rho) * ops.square(g))
        self.assign_sub(variable, lr * g / (ops.sqrt(s) + self.epsilon))


class RMSpropSwappedRho(keras.optimizers.RMSprop):
    """Bug: ρ and 1 − ρ swapped (and ε inside the root, as Keras)."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        s = self._velocities[self._get_variable_index(variable)]
        self.assign(s, (1 - self.rho) * s + self.rho * ops.square(g))
        self.assign_sub(variable, lr * g / ops.sqrt(s + self.epsilon))


class AdagradStale(keras.optimizers.Adagrad):
    """Bug: divides by the previous sum (g² added after the step)."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        s = self._accumulators[self._get_variable_index(variable)]
        self.assign_sub(variable, lr * g / ops.sqrt(s + self.epsilon))
        self.assign_add(s, ops.square(g))


class SubclassedAdam(keras.optimizers.Adam):
    """A subclass that only renames: Keras's own Adam code runs (on torch, the generic update_step path)."""


#: An optimizer built beforehand (checked at its own hyperparameters, rebuilt from get_config() for every run).
BUILT_ADAM = keras.optimizers.Adam(learning_rate=0.01, beta_1=0.8)


# ----------------------------------------------------------------------------- Adam's relatives


class AdamaxEpsInsideMax(keras.optimizers.Adamax):
    """Adamax ported from PyTorch into Keras: ε inside the maximum, u ← max(β2u, |g| + ε), dividing by u (Keras's
    own Adamax puts ε outside: u + ε)."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        t = ops.cast(self.iterations + 1, variable.dtype)
        m = self._m[self._get_variable_index(variable)]
        u = self._u[self._get_variable_index(variable)]
        self.assign(m, self.beta_1 * m + (1 - self.beta_1) * g)
        self.assign(u, ops.maximum(self.beta_2 * u, ops.abs(g) + self.epsilon))
        self.assign_sub(variable, lr * m / ((1 - ops.power(ops.cast(self.beta_1, variable.dtype), t)) * u))


class NadamExtraMu(keras.optimizers.Nadam):
    """Bug: one μ too many in the momentum coefficient, u_(t+1)/(1 − Π_t·u_t·u_(t+1)) (PyTorch's single-tensor
    NAdam before pytorch/pytorch#92699)."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        t = ops.cast(self.iterations + 1, variable.dtype)
        u_t = self.beta_1 * (1.0 - 0.5 * ops.power(0.96, t))
        u_next = self.beta_1 * (1.0 - 0.5 * ops.power(0.96, t + 1))
        product = ops.cast(self._u_product, variable.dtype)
        product_next = product * u_t * u_next            # the extra u_t
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign(m, self.beta_1 * m + (1 - self.beta_1) * g)
        self.assign(v, self.beta_2 * v + (1 - self.beta_2) * ops.square(g))
        m_hat = u_next * m / (1 - product_next) + (1 - u_t) * g / (1 - product)
        v_hat = v / (1 - ops.power(ops.cast(self.beta_2, variable.dtype), t))
        self.assign_sub(variable, lr * m_hat / (ops.sqrt(v_hat) + self.epsilon))


class AmsgradMaxNotStored(keras.optimizers.Adam):
    """Bug: the running maximum computed but never stored (each step divides by max(0, v) = v: plain Adam; the
    foreach AMSGrad of pytorch/pytorch#78807), in Keras's ε̂ form."""

    def __init__(self, **kwargs):
        super().__init__(amsgrad=True, **{k: v for k, v in kwargs.items() if k != "amsgrad"})

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        t = ops.cast(self.iterations + 1, variable.dtype)
        alpha = lr * ops.sqrt(1 - ops.power(ops.cast(self.beta_2, variable.dtype), t)) / (
            1 - ops.power(ops.cast(self.beta_1, variable.dtype), t))
        i = self._get_variable_index(variable)
        m, v, v_hat = self._momentums[i], self._velocities[i], self._velocity_hats[i]
        self.assign(m, self.beta_1 * m + (1 - self.beta_1) * g)
        self.assign(v, self.beta_2 * v + (1 - self.beta_2) * ops.square(g))
        v_max = ops.maximum(v_hat, v)                    # never assigned back to v_hat
        self.assign_sub(variable, alpha * m / (ops.sqrt(v_max) + self.epsilon))


class MomentumRMSprop(keras.optimizers.RMSprop):
    """Keras's own RMSprop set to momentum 0.9 in its constructor: the rmsprop spec has no momentum."""

    def __init__(self, **kwargs):
        super().__init__(momentum=0.9, **kwargs)


class LionCoupledDecay(keras.optimizers.Lion):
    """Bug: the decay folded into the gradient, g + λw, so it enters the sign and the momentum (bitsandbytes'
    32-bit Lion, issue #1992), instead of Keras's decoupled w ← w − w·λ·η."""

    def _apply_weight_decay(self, variables):
        return None

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype) + (self.weight_decay or 0.0) * variable
        m = self._momentums[self._get_variable_index(variable)]
        self.assign_sub(variable, lr * ops.sign(self.beta_1 * m + (1 - self.beta_1) * g))
        self.assign(m, self.beta_2 * m + (1 - self.beta_2) * g)


# ----------------------------------------------------------------------------- RMSprop with momentum and centring


class RMSpropMomentumRawGradient(keras.optimizers.RMSprop):
    """Bug: the momentum buffer accumulates the raw gradient and is divided afterwards, v ← μv + g,
    w ← w − lr·v/√(s + ε), instead of accumulating lr·g/√(s + ε) (built with momentum > 0)."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        i = self._get_variable_index(variable)
        s, v = self._velocities[i], self._momentums[i]
        self.assign(s, self.rho * s + (1 - self.rho) * ops.square(g))
        self.assign(v, self.momentum * v + g)
        self.assign_sub(variable, lr * v / ops.sqrt(s + self.epsilon))


class RMSpropCenteredMeanUnsquared(keras.optimizers.RMSprop):
    """Bug: centred with the mean gradient subtracted unsquared, √(s − ḡ + ε) instead of √(s − ḡ² + ε) (built with
    centered=True)."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        i = self._get_variable_index(variable)
        s, a = self._velocities[i], self._average_gradients[i]
        self.assign(s, self.rho * s + (1 - self.rho) * ops.square(g))
        self.assign(a, self.rho * a + (1 - self.rho) * g)
        self.assign_sub(variable, lr * g / ops.sqrt(s - a + self.epsilon))


# ----------------------------------------------------------------------------- written as Keras's guide writes them


class DocStyleMomentum(keras.optimizers.Optimizer):
    """Correct, the shape of the example in Keras's ``BaseOptimizer`` docstring: ``__init__(**kwargs)`` only, the
    momentum hard-coded at 0.9, Polyak's form v ← μv − ηg, w ← w + v with ``self.assign`` / ``assign_add``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.momentum = 0.9

    def build(self, variables):
        super().build(variables)
        self.velocities = [self.add_variable_from_reference(reference_variable=v, name="velocity") for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        v = self.velocities[self._get_variable_index(variable)]
        self.assign(v, ops.subtract(ops.multiply(v, ops.cast(self.momentum, variable.dtype)),
                                    ops.multiply(ops.cast(gradient, variable.dtype), lr)))
        self.assign_add(variable, v)


class DictStateAdam(keras.optimizers.Optimizer):
    """Correct textbook Adam keeping its state its own way: (m, v, t) per variable in a dict keyed by the variable's
    path, its own step counter (a float variable) instead of ``self.iterations``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.state = {}

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        for v in var_list:
            self.state[v.path] = (self.add_variable_from_reference(v, "m"), self.add_variable_from_reference(v, "v"),
                                  self.add_variable((), initializer="zeros", dtype=v.dtype, name="t"))

    def update_step(self, gradient, variable, learning_rate):
        m, v, t = self.state[variable.path]
        g = ops.cast(gradient, variable.dtype)
        self.assign_add(t, 1.0)
        self.assign(m, self.beta_1 * m + (1.0 - self.beta_1) * g)
        self.assign(v, self.beta_2 * v + (1.0 - self.beta_2) * g * g)
        m_hat = m / (1.0 - ops.power(self.beta_1, t))
        v_hat = v / (1.0 - ops.power(self.beta_2, t))
        self.assign_sub(variable, ops.cast(learning_rate, variable.dtype) * m_hat / (ops.sqrt(v_hat) + self.epsilon))


class AdamStepFromIterations(DictStateAdam):
    """Bug: t = ``self.iterations`` (0 at the first step, not 1): the bias correction divides by 1 − β⁰ = 0."""

    def update_step(self, gradient, variable, learning_rate):
        m, v, _ = self.state[variable.path]
        g = ops.cast(gradient, variable.dtype)
        t = ops.cast(self.iterations, variable.dtype)
        self.assign(m, self.beta_1 * m + (1.0 - self.beta_1) * g)
        self.assign(v, self.beta_2 * v + (1.0 - self.beta_2) * g * g)
        m_hat = m / (1.0 - ops.power(self.beta_1, t))
        v_hat = v / (1.0 - ops.power(self.beta_2, t))
        self.assign_sub(variable, ops.cast(learning_rate, variable.dtype) * m_hat / (ops.sqrt(v_hat) + self.epsilon))


class ClippedMomentumSGD(keras.optimizers.SGD):
    """Correct SGD whose constructor turns clipping on (as a training script's optimizer factory does)."""

    def __init__(self, learning_rate=0.01, momentum=0.9, **kwargs):
        super().__init__(learning_rate=learning_rate, momentum=momentum, clipnorm=1.0, **kwargs)


class DecayingSGD(keras.optimizers.SGD):
    """Correct SGD whose constructor wraps the learning rate in a schedule."""

    def __init__(self, learning_rate=0.01, **kwargs):
        super().__init__(learning_rate=keras.optimizers.schedules.ExponentialDecay(learning_rate, 10, 0.5), **kwargs)


# Optimizers configured as training scripts configure them: correct, but each setting changes the step the spec
# describes (or names another spec), so each must be refused in one line, never failed.
CLIPNORM_ADAM = keras.optimizers.Adam(learning_rate=1e-3, clipnorm=1.0)
CLIPVALUE_ADAM = keras.optimizers.Adam(learning_rate=1e-3, clipvalue=0.5)
GLOBAL_CLIPNORM_ADAM = keras.optimizers.Adam(learning_rate=1e-3, global_clipnorm=1.0)
EMA_OVERWRITE_ADAM = keras.optimizers.Adam(learning_rate=1e-3, use_ema=True, ema_overwrite_frequency=2)
ACCUMULATING_ADAM = keras.optimizers.Adam(learning_rate=1e-3, gradient_accumulation_steps=4)
LOSS_SCALED_ADAM = keras.optimizers.Adam(learning_rate=1e-3, loss_scale_factor=128.0)
EXPONENTIAL_DECAY_ADAM = keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.ExponentialDecay(1e-3, 100, 0.9))
COSINE_DECAY_ADAM = keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.CosineDecay(1e-3, 1000))
DECAYED_ADAM = keras.optimizers.Adam(learning_rate=1e-3, weight_decay=0.01)
DECAYED_MOMENTUM_SGD = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, weight_decay=1e-4)
DECAYED_RMSPROP = keras.optimizers.RMSprop(learning_rate=1e-3, weight_decay=1e-4)
AMSGRAD_ADAM = keras.optimizers.Adam(learning_rate=1e-3, amsgrad=True)
NESTEROV_SGD = keras.optimizers.SGD(learning_rate=0.01, momentum=0.9, nesterov=True)
LOSS_SCALE_OPTIMIZER = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-3))
#: Use EMA without writing it over the variables: the variables follow Adam exactly.
EMA_ADAM = keras.optimizers.Adam(learning_rate=1e-3, use_ema=True)


def _lr():
    return 1e-3


CALLABLE_LR_ADAM = keras.optimizers.Adam(learning_rate=_lr)
