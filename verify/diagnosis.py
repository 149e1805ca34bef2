"""Diagnosis of a conformance failure: which named variant or common bug the target matches.

When a target's iterates part from the reference's, the diagnosis runs every
entry of the :data:`CATALOGUE` that applies to the spec on the same examples
(the counterexample and two probe streams) and compares the target's
iterates with each, within the same floating-point error model as
conformance (:mod:`verify.tolerance`, scaled to the variant's magnitudes).
It reports, in order of preference:

1. the variants that match: ``matches adam with ε inside the square root
   (max difference 3e-15)``;
2. a hyperparameter that explains the difference: ``behaves like the
   reference with b2 = 0.99 instead of 0.999`` (a 1-D search per
   hyperparameter; relations such as μ², 1 − μ, 2λ, λ/2, a hard-coded
   default are named);
3. structural findings: a one-step lag (the target's ``w_t`` is the
   reference's ``w_(t−1)``), the gradient used one step late, every step
   scaled by a constant (η: the learning rate applied twice; −1: ascent), a
   difference confined to the first step or to entries with a zero gradient,
   NaN where the reference is finite;
4. otherwise "No catalogued bug fits", with the closest variant (and the
   closest one-hyperparameter change) and its distance in units of the
   tolerance — never presented as the cause.

Nothing is named as the cause unless it matches within the tolerance on every
case.

Every variant is a small optimizer built from ``reference`` building blocks
(``eps_placement``, ``form``, ``variant``, ``amsgrad``, ``centered``,
``dampening``, ``decoupled``) or a local bug-builder for bugs the reference
does not offer as an option.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

import reference
from reference._src.base import EmptyState, Transform, as_optimizer, chain, scale
from reference._src.sgd import add_l2_gradient, trace
from verify import tolerance as tolmod
from verify.compare import format_number

__all__ = ["Variant", "Match", "Fit", "Diagnosis", "CATALOGUE", "variants_for", "run_variant", "diagnose",
           "fit_hyperparameter", "describe_catalogue"]

fmt = format_number


@dataclasses.dataclass(frozen=True)
class Variant:
    """A named variant or common bug of an optimizer, runnable on a gradient stream."""

    name: str
    description: str
    specs: tuple[str, ...]
    build: Callable[[Mapping[str, Any]], Any]          # hparams -> Optimizer (init/update)
    equivalent: bool = False                           # an equivalent parameterisation, not a bug
    applies: Callable[[Mapping[str, Any]], bool] = lambda hp: True


@dataclasses.dataclass(frozen=True)
class Match:
    variant: Variant
    max_diff: float
    ratio: float          # max |difference| / tolerance over the examples (≤ 1: a match)

    @property
    def matched(self) -> bool:
        return self.ratio <= 1.0


@dataclasses.dataclass
class Diagnosis:
    text: str | None
    matches: list[Match] = dataclasses.field(default_factory=list)
    closest: Match | None = None
    findings: list[str] = dataclasses.field(default_factory=list)
    fitted: str | None = None

    @property
    def matched_names(self) -> list[str]:
        return [m.variant.name for m in self.matches]


# ------------------------------------------------------------ building blocks


def _opt(*transforms: Transform) -> Any:
    return as_optimizer(chain(*transforms))


def _stateful(init_state: Callable[[np.ndarray], dict], fn: Callable[[np.ndarray, dict, np.ndarray], np.ndarray]) -> Transform:
    """A transform from ``fn(g, state_dict, params) -> update`` with a copied dict state."""

    def init(params):
        return init_state(params)

    def update(g, state, params):
        s = dict(state)
        u = fn(g, s, params)
        return u, s

    return Transform(init, update)


def _zeros(*names: str, count: bool = False) -> Callable[[np.ndarray], dict]:
    def init(params):
        d = {n: np.zeros_like(params) for n in names}
        if count:
            d["t"] = 0
        d["first"] = True
        return d

    return init


# SGD family ---------------------------------------------------------------


def _momentum_ema(hp):
    return _opt(trace(hp["momentum"], dampening=hp["momentum"]), scale(-hp["lr"]))


def _momentum_torch_dampening(hp, nesterov=False):
    mu = hp["momentum"]

    def fn(g, s, p):
        b = g if s["first"] else mu * s["b"] + (1 - mu) * g
        s["b"], s["first"] = b, False
        return g + mu * b if nesterov else b

    return _opt(_stateful(_zeros("b"), fn), scale(-hp["lr"]))


def _momentum_buffer_late(hp, nesterov=False):
    mu = hp["momentum"]

    def fn(g, s, p):
        u = g + mu * s["b"] if nesterov else s["b"]
        s["b"] = mu * s["b"] + g
        return u

    return _opt(_stateful(_zeros("b"), fn), scale(-hp["lr"]))


def _momentum_signed(hp, sign):
    mu = hp["momentum"]

    def fn(g, s, p):
        s["b"] = sign * mu * s["b"] + g
        return s["b"]

    return _opt(_stateful(_zeros("b"), fn), scale(-hp["lr"]))


def _momentum_buffer_init_g(hp):
    mu = hp["momentum"]

    def fn(g, s, p):
        b = (g if s["first"] else s["b"])
        b = mu * b + g
        s["b"], s["first"] = b, False
        return b

    return _opt(_stateful(_zeros("b"), fn), scale(-hp["lr"]))


def _nesterov_custom(hp, combine):
    mu = hp["momentum"]

    def fn(g, s, p):
        b = mu * s["b"] + g
        s["b"] = b
        return combine(g, b, mu)

    return _opt(_stateful(_zeros("b"), fn), scale(-hp["lr"]))


def _wd_custom(hp, *, decay_lr: bool = True, after: bool = False, sign: float = 1.0, factor: float = 2.0):
    lr, lam, mu = hp["lr"], hp["lam"], hp.get("momentum", 0.0)

    def fn(g, s, p):
        if after or not decay_lr:
            b = mu * s["b"] + g
            s["b"] = b
            if after:
                return (p - lr * b) * (1 - factor * lr * lam) - p
            return -lr * b - factor * lam * p
        b = mu * s["b"] + g + sign * factor * lam * p
        s["b"] = b
        return -lr * b

    return as_optimizer(_stateful(_zeros("b"), fn))


# sign methods -------------------------------------------------------------


def _sign_custom(hp, fn):
    return _opt(Transform(lambda p: EmptyState(), lambda g, s, p: (fn(g), s)), scale(-hp["lr"]))


def _signum(hp, beta=0.9):
    def fn(g, s, p):
        s["m"] = beta * s["m"] + (1 - beta) * g
        return np.sign(s["m"])

    return _opt(_stateful(_zeros("m"), fn), scale(-hp["lr"]))


def _rprop_custom(hp, *, clip_at_zero=True, swap=False, step_before_adapt=False, forget=True, bounds=True,
                  skip_flipped=True):
    lr, em, ep = hp["lr"], hp["eta_minus"], hp["eta_plus"]
    lo, hi = (hp["min_step_size"], hp["max_step_size"]) if bounds else (0.0, np.inf)
    if swap:
        em, ep = ep, em

    def init(params):
        return {"delta": np.full_like(params, lr), "prev": np.zeros_like(params)}

    def fn(g, s, p):
        sgn = np.sign(g * s["prev"])
        factor = np.where(sgn > 0, ep, np.where(sgn < 0, em, 1.0))
        old = s["delta"]
        delta = old * factor
        delta = np.clip(delta, lo, hi) if clip_at_zero else np.where(sgn == 0, delta, np.clip(delta, lo, hi))
        remembered = np.where(sgn < 0, 0.0, g) if forget else g
        step_g = np.where(sgn < 0, 0.0, g) if skip_flipped else g
        s["delta"], s["prev"] = delta, remembered
        return -np.sign(step_g) * (old if step_before_adapt else delta)

    return as_optimizer(_stateful(init, fn))


def _optax_rprop(hp):
    """optax 0.2's scale_by_rprop, step for step: it applies the *previous* call's update."""
    lr, em, ep = hp["lr"], hp["eta_minus"], hp["eta_plus"]
    lo, hi = hp["min_step_size"], hp["max_step_size"]

    def init(params):
        return {"delta": np.full_like(params, lr), "prev": np.zeros_like(params)}

    def fn(g, s, p):
        sgn = g * s["prev"]
        delta = np.where(sgn == 0, s["delta"], np.clip(s["delta"] * np.where(sgn > 0, ep, em), lo, hi))
        new_prev = np.where(sgn < 0, 0.0, delta * np.sign(g))
        update = np.where(sgn < 0, 0.0, s["prev"])
        s["delta"], s["prev"] = delta, new_prev
        return -update

    return as_optimizer(_stateful(init, fn))


def _lagged(build: Callable[[Mapping[str, Any]], Any]) -> Callable[[Mapping[str, Any]], Any]:
    """The optimizer applies, at each call, the update it computed at the previous call (0 at the first)."""

    def make(hp):
        inner = build(hp)

        def init(params):
            return (inner.init(params), np.zeros_like(np.asarray(params, dtype=np.float64)))

        def update(g, state, params):
            st, pending = state
            new, st = inner.update(g, st, params)
            return np.asarray(params, dtype=np.float64) + pending, (st, np.asarray(new) - np.asarray(params, dtype=np.float64))

        return type(inner)(init, update)

    return make


# adaptive -----------------------------------------------------------------


def _rms_custom(hp, *, swap=False, sqrt=True, init=0.0, lag=False, bias=False, first_g2=False, square=True,
                unweighted=False):
    lr, rho, eps = hp["lr"], hp["rho"], hp["eps"]

    def init_state(params):
        return {"s": np.full_like(params, init), "t": 0}

    def fn(g, st, p):
        st["t"] += 1
        a, b = (1 - rho, rho) if swap else (rho, 1.0 if unweighted else 1 - rho)
        old = st["s"]
        g2 = g * g if square else g
        s = g2 if (first_g2 and st["t"] == 1) else a * old + b * g2
        st["s"] = s
        use = old if lag else s
        if bias:
            use = use / (1 - rho ** st["t"])
        return g / ((np.sqrt(use) if sqrt else use) + eps)

    return _opt(_stateful(init_state, fn), scale(-lr))


def _adam_variant(spec: str, decay: str, suffix: str, text: str, **options: Any) -> "Variant":
    """A bug shared by adam and adamw, with the spec's own decay (``coupled`` or ``decoupled``)."""
    return Variant(f"{spec}/{suffix}", text.format(spec), (spec,),
                   lambda hp: _adam_custom(hp, **options, **{decay: hp["weight_decay"]}))


def _adam_custom(hp, *, eps_mode="outside", bc="standard", swap=False, amsgrad=False, coupled=0.0,
                 decoupled=0.0, decay_lr=True, decay_after=False, lag=False, lr_power=1, root=True,
                 first_gradient=False, square=True):
    lr, b1, b2, eps = hp["lr"], hp["b1"], hp["b2"], hp["eps"]
    c_b1, c_b2 = (b2, b1) if swap is True else (b1, b2)   # betas of the bias corrections
    if swap:
        b1, b2 = b2, b1

    def init(params):
        z = np.zeros_like(params)
        return {"m": z, "v": z.copy(), "vmax": z.copy(), "t": 0, "u": z.copy()}

    def fn(g, s, p):
        geff = g + coupled * p
        t = s["t"] + 1
        s["t"] = t
        g2 = geff * geff if square else geff
        if first_gradient and t == 1:     # the moments start at the first gradient, not at 0
            m, v = geff, g2
        else:
            m = b1 * s["m"] + (1 - b1) * geff
            v = b2 * s["v"] + (1 - b2) * g2
        s["m"], s["v"] = m, v
        if amsgrad:
            s["vmax"] = np.maximum(s["vmax"], v)
            v = s["vmax"]
        tc = {"t+1": t + 1, "t1": 1, "t-1": t - 1}.get(bc, t)
        c1 = 1.0 if bc in ("none", "v-only") else 1 - c_b1 ** tc
        c2 = 1.0 if bc in ("none", "m-only") else 1 - (c_b1 if bc == "v-b1" else c_b2) ** tc
        if bc == "power-outside":         # (1 − β)ᵗ: the exponent on the wrong side of the parenthesis
            c1, c2 = (1 - c_b1) ** tc, (1 - c_b2) ** tc
        if bc == "v-no-sqrt" and eps_mode == "hat":
            u = (c2 / c1) * m / (np.sqrt(v) + eps)
        elif bc == "v-no-sqrt":
            u = (m / c1) / (np.sqrt(v) / c2 + eps)
        elif not root:
            u = (m / c1) / (v / c2 + eps)
        elif eps_mode == "outside":
            u = (m / c1) / (np.sqrt(v / c2) + eps)
        elif eps_mode == "inside":
            u = (m / c1) / np.sqrt(v / c2 + eps)
        else:  # hat
            u = (np.sqrt(c2) / c1) * m / (np.sqrt(v) + eps)
        if lag:
            u, s["u"] = s["u"], u
        step = -lr * u
        if decoupled:
            rate = (lr ** lr_power if decay_lr else 1.0) * decoupled
            step = (p + step) * (1 - rate) - p if decay_after else step - rate * p
        return step

    return as_optimizer(_stateful(init, fn))


def _hp(hp, **changes):
    out = dict(hp)
    out.update(changes)
    return out


def _has(name: str, positive: bool = True) -> Callable[[Mapping[str, Any]], bool]:
    return lambda hp: (hp.get(name, 0.0) > 0) if positive else True


# ----------------------------------------------------------------- catalogue

_M, _N, _WD = ("momentum",), ("nesterov",), ("weight-decay",)
_A, _AW = ("adam",), ("adamw",)

CATALOGUE: tuple[Variant, ...] = (
    # momentum
    Variant("momentum/polyak", "momentum in Polyak's (Keras) form v ← μv − ηg, w ← w + v — the same iterates",
            _M, lambda hp: reference.momentum(hp["lr"], hp["momentum"], form="polyak"), equivalent=True),
    Variant("momentum/ema", "momentum as an exponential average b ← μb + (1 − μ)g (dampening = μ, the "
            "deeplearning.ai form): the spec's iterates with η(1 − μ) in place of η",
            _M, _momentum_ema, applies=_has("momentum")),
    Variant("momentum/torch-dampening", "PyTorch's dampening = μ: b₁ = g, then b ← μb + (1 − μ)g",
            _M, _momentum_torch_dampening, applies=_has("momentum")),
    Variant("momentum/buffer-late", "the step uses the buffer before the gradient is added (w ← w − ηb_(t−1), then b ← μb + g)",
            _M, _momentum_buffer_late),
    Variant("momentum/buffer-init-g", "the buffer is initialised to g and then updated with g again (b₁ = (1 + μ)g)",
            _M, _momentum_buffer_init_g, applies=_has("momentum")),
    Variant("momentum/negative", "the momentum term with the wrong sign: b ← −μb + g (the velocity flips sign "
            "every step)", _M, lambda hp: _momentum_signed(hp, -1.0), applies=_has("momentum")),
    Variant("momentum/nesterov", "Nesterov's update w ← w − η(g + μb) instead of heavy ball",
            _M, lambda hp: reference.nesterov(hp["lr"], hp["momentum"]), applies=_has("momentum")),
    Variant("momentum/none", "plain SGD: the momentum buffer is never used",
            _M + _N, lambda hp: reference.sgd(hp["lr"]), applies=_has("momentum")),
    # nesterov
    Variant("nesterov/heavy-ball", "heavy-ball momentum (b ← μb + g, w ← w − ηb), not Nesterov — also what "
            "Sutskever's Nesterov (v ← μv − ηg, w ← w + v) is when it returns w_t rather than the look-ahead point "
            "w_t + μv_t: the caller takes the next gradient at the parameters returned, so no gradient is ever taken "
            "at a look-ahead point; return w_t + μv_t (PyTorch's form b ← μb + g, w ← w − η(g + μb))",
            _N, lambda hp: reference.momentum(hp["lr"], hp["momentum"]), applies=_has("momentum")),
    Variant("nesterov/lookahead-sign", "the look-ahead term with the wrong sign: w ← w − η(g − μb)",
            _N, lambda hp: _nesterov_custom(hp, lambda g, b, mu: g - mu * b), applies=_has("momentum")),
    Variant("nesterov/one-plus-mu", "(1 + μ)b instead of g + μb",
            _N, lambda hp: _nesterov_custom(hp, lambda g, b, mu: (1 + mu) * b), applies=_has("momentum")),
    Variant("nesterov/new-velocity", "Bengio's Nesterov with the velocity updated first: w ← w + μ²v_t − (1 + μ)ηg "
            "uses the new v_t ← μv_(t−1) − ηg instead of v_(t−1) (as *Deep Learning from Scratch*'s Nesterov class "
            "does); update v after the step",
            _N, lambda hp: _nesterov_custom(hp, lambda g, b, mu: mu * mu * b + (1 + mu) * g), applies=_has("momentum")),
    Variant("nesterov/ema", "Nesterov with an exponential-average buffer b ← μb + (1 − μ)g (dampening = μ)",
            _N, lambda hp: _opt(trace(hp["momentum"], nesterov=True, dampening=hp["momentum"]), scale(-hp["lr"])),
            applies=_has("momentum")),
    # weight decay
    Variant("weight-decay/half", "a factor 2 in λ: the step adds λw (the gradient of (λ/2)Σw², PyTorch's weight_decay) instead of 2λw",
            _WD, lambda hp: reference.sgd_weight_decay(hp["lr"], hp["lam"] / 2, hp["momentum"]), applies=_has("lam")),
    Variant("weight-decay/double", "a factor 2 in λ: the step adds 4λw instead of 2λw",
            _WD, lambda hp: reference.sgd_weight_decay(hp["lr"], hp["lam"] * 2, hp["momentum"]), applies=_has("lam")),
    Variant("weight-decay/decoupled", "decoupled decay w ← w(1 − 2ηλ) − ηb (the decay bypasses the momentum buffer)",
            _WD, lambda hp: reference.sgd_weight_decay(hp["lr"], hp["lam"], hp["momentum"], decoupled=True),
            applies=lambda hp: hp["lam"] > 0 and hp["momentum"] > 0),
    Variant("weight-decay/not-scaled-by-lr", "the decay is not multiplied by η: w ← w(1 − 2λ) − ηb",
            _WD, lambda hp: _wd_custom(hp, decay_lr=False), applies=_has("lam")),
    Variant("weight-decay/after-step", "the decay is applied after the step: w ← (w − ηb)(1 − 2ηλ)",
            _WD, lambda hp: _wd_custom(hp, after=True), applies=_has("lam")),
    Variant("weight-decay/sign", "the decay term with the wrong sign: g − 2λw (the weights grow)",
            _WD, lambda hp: _wd_custom(hp, sign=-1.0), applies=_has("lam")),
    Variant("weight-decay/none", "no weight decay: λ is ignored",
            _WD, lambda hp: reference.sgd_weight_decay(hp["lr"], 0.0, hp["momentum"]), applies=_has("lam")),
    Variant("weight-decay/ema-momentum", "the momentum buffer is an exponential average (dampening = μ)",
            _WD, lambda hp: _opt(add_l2_gradient(hp["lam"]), trace(hp["momentum"], dampening=hp["momentum"]), scale(-hp["lr"])),
            applies=_has("momentum")),
    # sign-SGD
    Variant("sign-sgd/sgn0-plus-one", "sgn(0) = +1 (the notes' L1 convention) instead of 0: zero gradients still move the weight",
            ("sign-sgd",), lambda hp: _sign_custom(hp, lambda g: np.where(g >= 0, 1.0, -1.0))),
    Variant("sign-sgd/plain-sgd", "plain gradient descent w ← w − ηg (the sign is not taken)",
            ("sign-sgd",), lambda hp: reference.sgd(hp["lr"])),
    Variant("sign-sgd/normalised", "the gradient normalised by its Euclidean norm, g/‖g‖, instead of elementwise signs",
            ("sign-sgd",), lambda hp: _sign_custom(hp, lambda g: g / np.linalg.norm(g) if np.any(g) else g)),
    Variant("sign-sgd/signum", "signum: the sign of a momentum average (β = 0.9) instead of the gradient's",
            ("sign-sgd",), _signum),
    Variant("sign-sgd/ascent", "the step goes uphill: w ← w + η sgn(g)",
            ("sign-sgd",), lambda hp: _sign_custom(hp, lambda g: -np.sign(g))),
    # Rprop
    Variant("rprop/rprop-minus", "Rprop− (no zeroing of the gradient after a sign change: the step is taken and Δ shrinks)",
            ("rprop",), lambda hp: reference.rprop(**hp, variant="rprop-")),
    Variant("rprop/rprop-plus", "Rprop+ (Riedmiller & Braun 1993: the previous step is undone after a sign change)",
            ("rprop",), lambda hp: reference.rprop(**hp, variant="rprop+")),
    Variant("rprop/no-bounds", "Rprop without the step-size bounds [Δmin, Δmax]",
            ("rprop",), lambda hp: _rprop_custom(hp, bounds=False)),
    Variant("rprop/no-clip-at-zero", "Δ is not clipped while the sign product is 0 (differs only if lr is outside [Δmin, Δmax])",
            ("rprop",), lambda hp: _rprop_custom(hp, clip_at_zero=False)),
    Variant("rprop/optax", "optax 0.2's rprop: each call applies the previous call's update (a one-step lag; nothing moves "
            "at step 1), and Δ is not clipped while the sign product is 0",
            ("rprop",), _optax_rprop),
    Variant("rprop/swapped-etas", "η⁻ and η⁺ swapped (Δ grows after a sign change and shrinks otherwise)",
            ("rprop",), lambda hp: _rprop_custom(hp, swap=True)),
    Variant("rprop/step-before-adapt", "the step uses the previous Δ; Δ is adapted after moving",
            ("rprop",), lambda hp: _rprop_custom(hp, step_before_adapt=True)),
    Variant("rprop/steps-after-sign-change", "after a sign change Δ shrinks and the step is taken at once (the "
            "remembered gradient is still set to 0): no step is skipped",
            ("rprop",), lambda hp: _rprop_custom(hp, skip_flipped=False)),
    Variant("rprop/keeps-flipped-gradient", "after a sign change the step is skipped but the gradient is remembered (not set to 0)",
            ("rprop",), lambda hp: _rprop_custom(hp, forget=False)),
    # RMSprop
    Variant("rmsprop/eps-inside", "RMSprop with ε inside the square root, g/√(s + ε) (optax's and Keras' default)",
            ("rmsprop",), lambda hp: reference.rmsprop(**hp, eps_in_sqrt=True)),
    Variant("rmsprop/swapped-rho", "ρ and 1 − ρ swapped: s ← (1 − ρ)s + ρg²",
            ("rmsprop",), lambda hp: _rms_custom(hp, swap=True)),
    Variant("rmsprop/no-sqrt", "the square root is missing: g/(s + ε)",
            ("rmsprop",), lambda hp: _rms_custom(hp, sqrt=False)),
    Variant("rmsprop/no-one-minus-rho", "the new g² added without its factor 1 − ρ: s ← ρs + g²",
            ("rmsprop",), lambda hp: _rms_custom(hp, unweighted=True)),
    Variant("rmsprop/gradient-not-squared", "the average accumulates g instead of g²: s ← ρs + (1 − ρ)g",
            ("rmsprop",), lambda hp: _rms_custom(hp, square=False)),
    Variant("rmsprop/centered", "centred RMSprop (Graves 2013): divides by √(s − m²)",
            ("rmsprop",), lambda hp: reference.rmsprop(**hp, centered=True)),
    Variant("rmsprop/init-one", "the accumulator starts at s₀ = 1 (TensorFlow 1.x) instead of 0",
            ("rmsprop",), lambda hp: _rms_custom(hp, init=1.0)),
    Variant("rmsprop/init-first-gradient", "the average starts at the first squared gradient, s₁ = g₁² (not (1 − ρ)g₁²)",
            ("rmsprop",), lambda hp: _rms_custom(hp, first_g2=True)),
    Variant("rmsprop/stale-average", "the division uses the previous average s_(t−1) (s updated after the step)",
            ("rmsprop",), lambda hp: _rms_custom(hp, lag=True)),
    Variant("rmsprop/bias-corrected", "the average is bias-corrected, s/(1 − ρᵗ), as in Adam",
            ("rmsprop",), lambda hp: _rms_custom(hp, bias=True)),
    # Adam and AdamW (shared bugs)
    *(
        _adam_variant(spec, decay, suffix, text, **options)
        for spec, decay in (("adam", "coupled"), ("adamw", "decoupled"))
        for suffix, text, options in (
            ("eps-inside", "{} with ε inside the square root: m̂/√(v̂ + ε)", {"eps_mode": "inside"}),
            ("eps-hat", "{} with ε-hat — the paper's efficient form (§2; TensorFlow 1, Keras 2): the corrections "
             "folded into the step size η√(1 − β2ᵗ)/(1 − β1ᵗ) and ε added to √v, i.e. ε̂ = ε√(1 − β2ᵗ) in "
             "Algorithm 1's terms",
             {"eps_mode": "hat"}),
            ("no-bias-correction", "{} without bias correction (m and v used raw)", {"bc": "none"}),
            ("bias-correction-m-only", "{} with only m bias-corrected (v̂ = v)", {"bc": "m-only"}),
            ("bias-correction-v-only", "{} with only v bias-corrected (m̂ = m)", {"bc": "v-only"}),
            ("bias-correction-off-by-one",
             "{} with the bias correction one step ahead: 1 − βᵗ⁺¹ (step count off by one)", {"bc": "t+1"}),
            ("bias-correction-one-step-behind",
             "{} with the bias correction one step behind: 1 − βᵗ⁻¹ (the step count used before it is "
             "incremented: 1 − β⁰ = 0 divides by zero at the first step)", {"bc": "t-1"}),
            ("bias-correction-v-with-b1", "{} bias-correcting v with β1: v̂ = v/(1 − β1ᵗ) instead of v/(1 − β2ᵗ)",
             {"bc": "v-b1"}),
            ("bias-correction-no-sqrt", "{} dividing √v by (1 − β2ᵗ) instead of √(1 − β2ᵗ)", {"bc": "v-no-sqrt"}),
            ("eps-hat-no-sqrt", "{} in the ε-hat form with 1 − β2ᵗ folded into the step size without its square "
             "root: η(1 − β2ᵗ)/(1 − β1ᵗ) instead of η√(1 − β2ᵗ)/(1 − β1ᵗ)", {"eps_mode": "hat", "bc": "v-no-sqrt"}),
            ("bias-correction-without-t", "{} with the bias correction 1 − β instead of 1 − βᵗ (the step count "
             "left out of the exponent)", {"bc": "t1"}),
            ("no-sqrt", "{} without the square root: m̂/(v̂ + ε)", {"root": False}),
            ("bias-correction-power-outside", "{} with the bias correction (1 − β)ᵗ instead of 1 − βᵗ",
             {"bc": "power-outside"}),
            ("gradient-not-squared", "{} with the second moment accumulating g instead of g² (v ← β2·v + (1 − β2)·g)",
             {"square": False}),
            ("first-gradient-init", "{} with the moments started at the first gradient (m₁ = g₁, v₁ = g₁²) and "
             "then bias-corrected as if they had started at 0", {"first_gradient": True}),
            ("first-gradient-init-no-correction", "{} with the moments started at the first gradient "
             "(m₁ = g₁, v₁ = g₁²) and no bias correction", {"first_gradient": True, "bc": "none"}),
            ("swapped-betas", "{} with β1 and β2 swapped (moments and bias corrections)", {"swap": True}),
            ("swapped-betas-in-moments", "{} with β1 and β2 swapped in the moment updates "
             "(m ← β2m + (1 − β2)g, v ← β1v + (1 − β1)g²; bias corrections use the right ones)",
             {"swap": "moments"}),
            ("amsgrad", "AMSGrad ({} dividing by the running maximum of v)", {"amsgrad": True}),
        )
    ),
    Variant("adam/decoupled-decay", "decoupled weight decay (AdamW) in adam: w ← w − η(m̂/(√v̂ + ε) + λw)",
            _A, lambda hp: reference.adamw(**hp), applies=_has("weight_decay")),
    Variant("adam/decay-factor-2", "a factor 2 in the coupled decay: g + 2λw (the gradient of λΣw²) instead of g + λw",
            _A, lambda hp: _adam_custom(hp, coupled=2 * hp["weight_decay"]), applies=_has("weight_decay")),
    Variant("adam/decay-half", "half the coupled decay: g + (λ/2)w",
            _A, lambda hp: _adam_custom(hp, coupled=hp["weight_decay"] / 2), applies=_has("weight_decay")),
    Variant("adam/no-decay", "weight_decay ignored",
            _A, lambda hp: _adam_custom(hp), applies=_has("weight_decay")),
    Variant("adamw/coupled-decay", "coupled (L2) decay in adamw: g + λw enters the moments (this is Adam's weight_decay)",
            _AW, lambda hp: reference.adam(**hp), applies=_has("weight_decay")),
    Variant("adamw/decay-not-scaled-by-lr", "the decay is not multiplied by η: w ← w − ηm̂/(√v̂ + ε) − λw",
            _AW, lambda hp: _adam_custom(hp, decoupled=hp["weight_decay"], decay_lr=False), applies=_has("weight_decay")),
    Variant("adamw/decay-lr-squared", "the learning rate applied twice to the decay: w ← w(1 − η²λ) − ηm̂/(√v̂ + ε)",
            _AW, lambda hp: _adam_custom(hp, decoupled=hp["weight_decay"], lr_power=2), applies=_has("weight_decay")),
    Variant("adamw/decay-after-step", "the decay is applied after the Adam step: w ← (w − ηm̂/(√v̂ + ε))(1 − ηλ)",
            _AW, lambda hp: _adam_custom(hp, decoupled=hp["weight_decay"], decay_after=True), applies=_has("weight_decay")),
    Variant("adamw/transformers", "Hugging Face transformers' AdamW (correct_bias=True): ε-hat (the corrections "
            "folded into the step size, ε added to √v) and the decay applied after the Adam step, "
            "w ← (w − ηû)(1 − ηλ)",
            _AW, lambda hp: _adam_custom(hp, eps_mode="hat", decoupled=hp["weight_decay"], decay_after=True),
            applies=_has("weight_decay")),
    Variant("adamw/decay-factor-2", "a factor 2 in the decay: w ← w(1 − 2ηλ) − …",
            _AW, lambda hp: _adam_custom(hp, decoupled=2 * hp["weight_decay"]), applies=_has("weight_decay")),
    Variant("adamw/no-decay", "weight_decay ignored (plain Adam)",
            _AW, lambda hp: _adam_custom(hp), applies=_has("weight_decay")),
)


def _lag_variants() -> tuple[Variant, ...]:
    return tuple(
        Variant(f"{spec}/one-step-lag", f"a one-step lag: {spec} applying each call's update one call late (the "
                "parameters returned at step t include only the updates of steps 1 … t − 1; nothing moves at step 1)", (spec,),
                _lagged(_REFERENCE_BUILDERS[spec]))
        for spec in _REFERENCE_BUILDERS)


def variants_for(spec: str) -> list[Variant]:
    return [v for v in CATALOGUE + _LAG if spec in v.specs]


def describe_catalogue() -> str:
    """The catalogue as text, spec by spec: each variant's name and description ([equivalent]: same iterates)."""
    by_spec: dict[str, list[str]] = {}
    for v in CATALOGUE + _LAG:
        for s in v.specs:
            by_spec.setdefault(s, []).append(f"  {v.name}: {v.description}" + (" [equivalent]" if v.equivalent else ""))
    return "\n".join(f"{spec}\n" + "\n".join(lines) for spec, lines in by_spec.items())


# ------------------------------------------------------------------ running


def run_variant(opt: Any, w0: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """``w_0 … w_T`` of a reference-style optimizer (init/update) on a stream."""
    w = np.array(w0, dtype=np.float64)
    state = opt.init(w)
    out = [w]
    with np.errstate(all="ignore"):
        for g in grads:
            w, state = opt.update(np.array(g, dtype=np.float64), state, w)
            out.append(np.asarray(w, dtype=np.float64))
    return np.array(out)


def _magnitude(traj: np.ndarray) -> np.ndarray:
    """``Σ_(s≤t) |w_s| + |Δw_s|`` per entry: the size the error model scales with."""
    with np.errstate(invalid="ignore", over="ignore"):
        steps = np.abs(np.diff(traj, axis=0, prepend=traj[:1]))
        return np.cumsum(np.abs(traj) + steps, axis=0)


def _tolerance_for(traj: np.ndarray, ref: np.ndarray, ref_tol: np.ndarray) -> np.ndarray:
    """The reference's tolerance rescaled to another trajectory's magnitudes (same error model)."""
    mt, mr = _magnitude(traj), _magnitude(ref)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(mr > 0, mt / mr, 1.0)
    ratio = np.nan_to_num(np.maximum(ratio, 1.0), nan=1.0, posinf=1.0)
    floor = tolmod.SAFETY * 4 * tolmod.U * mt
    return np.maximum(ref_tol * ratio, np.nan_to_num(floor, posinf=np.inf))


def _distance(target: np.ndarray, other: np.ndarray, tol: np.ndarray) -> tuple[float, float]:
    """(max |difference|, max |difference|/tol) with NaN/inf positions compared."""
    if target.shape != other.shape:
        return math.inf, math.inf
    tn, on = ~np.isfinite(target), ~np.isfinite(other)
    both = tn & on & ((np.isnan(target) & np.isnan(other)) | (target == other))
    if np.any((tn | on) & ~both):
        return math.inf, math.inf
    with np.errstate(invalid="ignore"):
        d = np.where(both, 0.0, np.abs(target - other))
        r = np.where(d > 0, d / np.where(tol > 0, tol, 1e-300), 0.0)
    return float(d.max(initial=0.0)), float(r.max(initial=0.0))


@dataclasses.dataclass
class Case:
    """One example the diagnosis compares on: the stream, the target's and reference's trajectories, the tolerance."""

    hparams: dict[str, Any]
    w0: np.ndarray
    grads: np.ndarray
    target: np.ndarray
    reference: np.ndarray
    tol: np.ndarray


def _match(cases: Sequence[Case], build: Callable[[Mapping[str, Any]], Any]) -> tuple[float, float]:
    worst_d, worst_r = 0.0, 0.0
    for c in cases:
        try:
            traj = run_variant(build(c.hparams), c.w0, c.grads)
        except Exception:  # noqa: BLE001 - a variant undefined for these hyperparameters does not match
            return math.inf, math.inf
        d, r = _distance(c.target, traj, _tolerance_for(traj, c.reference, c.tol))
        worst_d, worst_r = max(worst_d, d), max(worst_r, r)
        if worst_r > 1e30:
            break
    return worst_d, worst_r


# --------------------------------------------------------------- structural


def _structural(spec: str, cases: Sequence[Case]) -> list[str]:
    out: list[str] = []
    c0 = cases[0]
    # the update returned instead of the new parameters (optax's convention)
    if all(c.target.shape[0] > 1 for c in cases):
        returns_update = True
        for c in cases:
            step = c.reference[1:] - c.reference[:-1]
            tol = c.tol[1:] + c.tol[:-1] + 4 * tolmod.U * (np.abs(c.reference[1:]) + np.abs(c.reference[:-1]))
            if _distance(c.target[1:], step, tol)[1] > 1:
                returns_update = False
                break
        if returns_update:
            return ["the target returns the update w_t − w_(t−1), not the new parameters (optax's convention: "
                    "return params + update, or use optax.apply_updates)"]
    # single precision: every iterate is a float32 value, the differences are float32 rounding
    single = True
    for c in cases:
        t = c.target[1:]
        finite = np.isfinite(t)
        with np.errstate(over="ignore"):
            as32 = t[finite].astype(np.float32).astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            rel = np.abs(c.target - c.reference) / np.maximum(np.abs(c.reference), 1e-300)
        rel = rel[1:][np.isfinite(rel[1:])]
        if not (finite.all() and np.array_equal(as32, t[finite]) and rel.size and rel.max() < 1e-5):
            single = False
            break
    if single:
        return ["every iterate the target returns is a float32 value and the differences are at float32 rounding "
                "(~1e-7 relative): it computes or stores the parameters in single precision"]
    # NaN where the reference is finite
    for c in cases:
        bad = ~np.isfinite(c.target) & np.isfinite(c.reference)
        if bad.any():
            t = int(np.argmax(bad.reshape(bad.shape[0], -1).any(axis=1)))
            out.append(f"the target produces {'NaN' if np.isnan(c.target[t]).any() else 'inf'} at step {t} where the "
                       "reference is finite (a division by zero: ε missing, or a state initialised so that 0/0 occurs)")
            return out
    # one-step lag: target_t == reference_(t−1)
    if all(c.target.shape[0] > 2 for c in cases):
        lagged = True
        for c in cases:
            d, r = _distance(c.target[1:], c.reference[:-1], _tolerance_for(c.reference[:-1], c.reference[1:], c.tol[1:]))
            if r > 1:
                lagged = False
                break
        if lagged:
            out.append("one-step lag: the target's iterate w_t equals the reference's w_(t−1) "
                       "(it returns the parameters before applying the step, or applies each step one call late)")
    # the gradient used one step late
    late = all(c.target.shape[0] > 2 for c in cases)
    if late:
        for c in cases:
            shifted = np.concatenate([np.zeros_like(c.grads[:1]), c.grads[:-1]])
            try:
                traj = run_variant(_REFERENCE_BUILDERS[spec](c.hparams), c.w0, shifted)
            except Exception:  # noqa: BLE001
                late = False
                break
            if _distance(c.target, traj, _tolerance_for(traj, c.reference, c.tol))[1] > 1:
                late = False
                break
        if late:
            out.append("the gradient is used one step late: the target's step t uses g_(t−1) (a stale gradient buffer)")
    # an extra term proportional to the weights: a weight decay the spec does not have
    if spec in ("sgd", "momentum", "nesterov", "sign-sgd", "rprop", "rmsprop") and c0.target.shape[0] > 2:
        r = np.diff(c0.target, axis=0) - np.diff(c0.reference, axis=0)
        w_prev = c0.target[:-1]
        # steps of the reference do not depend on w for these specs: fit r_t = −c·w_(t−1) on the first step,
        # where both start from the same point
        with np.errstate(all="ignore"):
            den = float(np.sum(w_prev[0] * w_prev[0]))
            c = -float(np.sum(r[0] * w_prev[0]) / den) if den > 0 else 0.0
        if c != 0.0 and np.isfinite(c):
            pred = -c * w_prev[0]
            if np.allclose(r[0], pred, rtol=1e-6, atol=1e-12 * float(np.abs(w_prev[0]).max())):
                lr = c0.hparams.get("lr")
                lam = f"; as L2, λ = c/(2η) = {fmt(c / (2 * lr), 6)}" if lr else ""
                out.append(f"each step also subtracts c·w with c = {fmt(c, 6)}: a weight decay the spec does not have "
                           f"(a default weight_decay left on?{lam})")
    # constant step factor
    ratios = []
    for c in cases:
        dt, dr = np.diff(c.target, axis=0), np.diff(c.reference, axis=0)
        mask = np.abs(dr) > 1e-200
        if mask.any():
            with np.errstate(all="ignore"):
                ratios.append((dt[mask] / dr[mask]))
    if ratios:
        rr = np.concatenate(ratios)
        if np.all(np.isfinite(rr)) and rr.size:
            c = float(np.median(rr))
            if not _same_value(c, 1.0) and np.allclose(rr, c, rtol=1e-9, atol=0):   # 1 + 1e-13 is rounding
                out.append(_factor_text(c, c0.hparams))
    # difference confined to the first step
    if c0.target.shape[0] > 2:
        dt, dr = np.diff(c0.target, axis=0), np.diff(c0.reference, axis=0)
        tol_steps = c0.tol[1:] + c0.tol[:-1]
        step_bad = np.abs(dt - dr) > tol_steps
        rows = step_bad.reshape(step_bad.shape[0], -1).any(axis=1)
        if rows[0] and not rows[1:].any():
            out.append("only the first step differs: the state's initialisation (e.g. the first moment/buffer at step 1) is wrong")
    # difference confined to entries with a zero gradient: each differing entry first parts at a step where its g is 0
    confined, any_diff = True, False
    for c in cases:
        d = np.abs(c.target[1:] - c.reference[1:]) > c.tol[1:]
        if not d.any():
            continue
        any_diff = True
        flat_d = d.reshape(d.shape[0], -1)
        flat_g = c.grads.reshape(c.grads.shape[0], -1)
        for j in np.flatnonzero(flat_d.any(axis=0)):
            t = int(np.argmax(flat_d[:, j]))
            if flat_g[t, j] != 0:
                confined = False
                break
        if not confined:
            break
    if any_diff and confined:
        out.append("the difference starts where an entry's gradient is exactly 0 "
                   "(the sgn(0) convention, or the handling of a zero gradient)")
    return out


def _factor_text(c: float, hp: Mapping[str, Any]) -> str:
    names = {-1.0: "the sign is flipped: the target steps uphill (ascent)", 2.0: "every step is doubled",
             0.5: "every step is halved"}
    lr = hp.get("lr")
    for value, text in names.items():
        if np.isclose(c, value, rtol=1e-9):
            return f"every step is {fmt(c)} × the reference's: {text}"
    if lr and np.isclose(c, lr, rtol=1e-9):
        return f"every step is η = {fmt(lr)} × the reference's: the learning rate is applied twice"
    if lr and np.isclose(c, 1 / lr, rtol=1e-9):
        return "every step is 1/η × the reference's: the learning rate is not applied"
    if lr and np.isclose(c, -lr, rtol=1e-9):
        return "every step is −η × the reference's: the learning rate is applied twice and the sign is flipped"
    return f"every step is {fmt(c, 9)} × the reference's (a constant factor: an effective learning rate {fmt(c * (lr or 1), 9)})"


# ----------------------------------------------------------- hyperparameters


_REFERENCE_BUILDERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "sgd": lambda hp: reference.sgd(**hp),
    "momentum": lambda hp: reference.momentum(**hp),
    "nesterov": lambda hp: reference.nesterov(**hp),
    "weight-decay": lambda hp: reference.sgd_weight_decay(**hp),
    "sign-sgd": lambda hp: reference.sign_sgd(**hp),
    "rprop": lambda hp: reference.rprop(**hp),
    "rmsprop": lambda hp: reference.rmsprop(**hp),
    "adam": lambda hp: reference.adam(**hp),
    "adamw": lambda hp: reference.adamw(**hp),
}

_UNIT = {"momentum", "rho", "b1", "b2", "eta_minus"}

_LAG = _lag_variants()


def _candidates(name: str, value: float) -> list[float]:
    if name in _UNIT:
        ks = np.linspace(0.0, 8.0, 33)
        return [0.0] + [float(1 - 10.0 ** -k) for k in ks if 1 - 10.0 ** -k < 1]
    if name == "eta_plus":
        return [float(1 + 10.0 ** e) for e in np.linspace(-4, 1, 26)]
    grid = [float(10.0 ** e) for e in np.linspace(-12, 4, 49)]
    return ([0.0] if name in ("lam", "weight_decay", "min_step_size") else []) + grid


def _relation(name: str, x: float, original: float, hp: Mapping[str, Any], defaults: Mapping[str, Any]) -> str:
    close = lambda a, b: b != 0 and abs(a - b) <= 1e-6 * abs(b)  # noqa: E731
    if x == 0.0:
        return f"{name} = 0: the target ignores {name}"
    rel = {
        f"{name}²": original ** 2, f"√{name}": math.sqrt(original) if original >= 0 else math.nan,
        f"1 − {name}": 1 - original, f"2·{name}": 2 * original, f"{name}/2": original / 2,
    }
    for text, value in rel.items():
        if close(x, value):
            why = " (the learning rate is applied twice)" if name == "lr" and text == "lr²" else ""
            return f"{name} = {fmt(x, 9)} = {text} instead of {fmt(original, 9)}{why}"
    for other, v in hp.items():
        if other != name and isinstance(v, float) and close(x, v):
            return f"{name} = {fmt(x, 9)}, the value of {other}: the target uses {other} where {name} belongs"
    if name in defaults and close(x, float(defaults[name])):
        return f"{name} = {fmt(x, 9)}, the default: the target ignores the {name} it is given"
    return f"{name} = {fmt(x, 9)} instead of {fmt(original, 9)}"


def _relations(name: str, value: float, hp: Mapping[str, Any], defaults: Mapping[str, Any]) -> list[float]:
    """Values a bug typically substitutes for a hyperparameter, computed as a bug would compute them."""
    out = [value * value, value / 2, value * 2, 1 - value, value * 4]
    if value >= 0:
        out.append(float(np.sqrt(value)))
    out += [float(v) for k, v in hp.items() if k != name and isinstance(v, float)]
    if name in defaults:
        out.append(float(defaults[name]))
    if name in ("lam", "weight_decay", "eps", "momentum", "min_step_size", "b1"):
        out.append(0.0)
    return out


def _golden(f: Callable[[float], float], a: float, b: float, iters: int = 90) -> float:
    """Golden-section minimum of ``f`` on ``[a, b]`` down to the float spacing (no relative tolerance)."""
    g = (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iters):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
        if b - a <= 2 * np.spacing(max(abs(a), abs(b))):
            break
    return c if fc < fd else d


@dataclasses.dataclass(frozen=True)
class Fit:
    """The reference with one hyperparameter changed, and how close it comes to the target."""

    name: str
    value: float
    original: float
    max_diff: float
    ratio: float          # ≤ 1: within the tolerance on every case
    relation: str         # "b2 = 0.99 instead of 0.999", "momentum = 0.81 = momentum² instead of 0.9", …

    @property
    def exact(self) -> bool:
        return self.ratio <= 1.0


def _fit(spec: str, cases: Sequence[Case], defaults: Mapping[str, Any],
         names: Sequence[str] | None = None) -> Fit | None:
    """A single hyperparameter value under which the reference matches the target, if any.

    Exact relations first (μ², λ/2, 1 − β, another hyperparameter's value, the
    default, 0), computed as a bug would; then a grid and a 1-D refinement in
    a transformed coordinate. A value that brings the difference within the
    tolerance on every case is a match (``exact``); otherwise the best value
    that reduces the difference a millionfold to within 1e4 tolerances is
    returned as the closest, not a match. ``names`` limits the search.
    """
    from scipy.optimize import minimize_scalar

    build = _REFERENCE_BUILDERS.get(spec)
    if build is None:
        return None
    hp0 = cases[0].hparams
    _, base_ratio = _match(cases, build)
    # Screen on a short prefix of the failing example; confirm a candidate on every case.
    c0 = cases[0]
    k = min(c0.grads.shape[0], 15)
    screen = [Case(c0.hparams, c0.w0, c0.grads[:k], c0.target[:k + 1], c0.reference[:k + 1], c0.tol[:k + 1])]

    def score(name: str, x: float, on: Sequence[Case] | None = None) -> tuple[float, float]:
        return _match(screen if on is None else on, lambda hp: build(_hp(hp, **{name: x})))

    def confirmed(name: str, x: float, d: float, r: float) -> tuple[float, float]:
        return score(name, x, cases) if r <= 1e4 else (d, r)

    def fit(name: str, x: float, d: float, r: float) -> Fit:
        original = float(hp0[name])
        return Fit(name, float(x), original, d, r, _relation(name, x, original, hp0, defaults))

    approximate: Fit | None = None
    names = [k for k, v in hp0.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
             and (names is None or k in names)]
    for name in names:
        original = float(hp0[name])
        for x in _relations(name, original, hp0, defaults):
            if _same_value(x, original):
                continue
            d, r = score(name, x)
            if r <= 1.0:
                d, r = score(name, x, cases)
            if r <= 1.0:
                return fit(name, x, d, r)
    for name in names:
        original = float(hp0[name])
        best = (math.inf, math.inf, None)
        for x in _candidates(name, original):
            d, r = score(name, x)
            if r < best[1]:
                best = (d, r, x)
        if best[2] is None or not math.isfinite(best[1]):
            continue
        if best[1] > 1.0 and best[2] != 0.0:
            x0 = best[2]
            if name in _UNIT:
                to, back = (lambda x: -math.log10(max(1 - x, 1e-16))), (lambda k: 1 - 10.0 ** -k)
            elif name == "eta_plus":
                to, back = (lambda x: math.log10(max(x - 1, 1e-16))), (lambda e: 1 + 10.0 ** e)
            else:
                to, back = (lambda x: math.log10(max(x, 1e-300))), (lambda e: 10.0 ** e)
            c = to(x0)
            res = minimize_scalar(lambda z: math.log10(max(score(name, back(z))[1], 1e-300)),
                                  bounds=(c - 0.6, c + 0.6), method="bounded", options={"xatol": 1e-15, "maxiter": 120})
            z = _golden(lambda z: math.log10(max(score(name, back(z))[1], 1e-300)),
                        float(res.x) - 1e-6 * max(1.0, abs(float(res.x))), float(res.x) + 1e-6 * max(1.0, abs(float(res.x))))
            for cand in (float(res.x), z):
                d, r = score(name, back(cand))
                if r < best[1]:
                    best = (d, r, back(cand))
            if best[1] > 1.0:  # the last few ulps: walk along neighbouring floats
                x = best[2]
                for step in range(64):
                    moved = False
                    for cand in (np.nextafter(x, np.inf), np.nextafter(x, -np.inf)):
                        d, r = score(name, float(cand))
                        if r < best[1]:
                            best, x, moved = (d, r, float(cand)), float(cand), True
                            break
                    if not moved or best[1] <= 1.0:
                        break
        if _same_value(best[2], original):
            continue     # the reference at (nearly) its own value: rounding, not another hyperparameter
        best = (*confirmed(name, best[2], best[0], best[1]), best[2])
        if best[1] <= 1.0:
            return fit(name, best[2], best[0], best[1])
        if best[1] <= 1e4 and best[1] < 1e-3 * base_ratio and (approximate is None or best[1] < approximate.ratio):
            approximate = fit(name, best[2], best[0], best[1])
    return approximate


def _same_value(x: float, original: float) -> bool:
    """Within a relative 1e-10 of each other: a fit that close is the reference itself at a few ulps (rounding),
    not a bug's value (a step 1e-7 too large is a bug, and is named)."""
    return abs(x - original) <= 1e-10 * abs(original)


def fit_hyperparameter(spec: str, cases: Sequence[Case], defaults: Mapping[str, Any],
                       names: Sequence[str]) -> Fit | None:
    """The one value of one of ``names`` under which the reference matches the target on every case, if any."""
    cases = [c for c in cases if c.target.shape == c.reference.shape and c.target.shape[0] > 1]
    if not cases:
        return None
    found = _fit(spec, cases, defaults, names=names)
    return found if found is not None and found.exact else None


# ------------------------------------------------------------------ diagnose


def diagnose(spec: str, cases: Sequence[Case], *, defaults: Mapping[str, Any] | None = None,
             fit: bool = True) -> Diagnosis:
    """Name what the target's iterates match on ``cases`` (the failing example first).

    A variant or a hyperparameter value is named as the cause only when it
    matches within the tolerance on every case; otherwise the text says that no
    catalogued bug fits and how far the closest one is.
    """
    cases = [c for c in cases if c.target.shape == c.reference.shape and c.target.shape[0] > 1]
    if not cases:
        return Diagnosis(None)
    results: list[Match] = []
    for v in variants_for(spec):
        if not all(v.applies(c.hparams) for c in cases):
            continue
        d, r = _match(cases, v.build)
        results.append(Match(v, d, r))
    results.sort(key=lambda m: m.ratio)
    matches = [m for m in results if m.matched]
    closest = results[0] if results else None
    parts: list[str] = []
    fitted = None
    approximate: Fit | None = None
    if matches:
        first = matches[0]
        kind = "an equivalent parameterisation" if first.variant.equivalent else "a known variant or bug"
        parts.append(f"matches {first.variant.description} ({kind}; max difference {fmt(first.max_diff)})")
        for m in matches[1:3]:
            parts.append(f"also consistent with {m.variant.description} (max difference {fmt(m.max_diff)})")
    elif fit:
        found = _fit(spec, cases, defaults or {})
        if found is not None and found.exact:
            fitted = f"the target behaves like the reference with {found.relation} (max difference {fmt(found.max_diff)})"
            parts.append(fitted)
        else:
            approximate = found
    findings = _structural(spec, cases)
    if not matches and not fitted:
        parts.extend(findings)
    if not parts:
        near = []
        if closest is not None and math.isfinite(closest.ratio):
            near.append(f"the closest is {closest.variant.description} at {fmt(closest.ratio)} × the tolerance")
        if approximate is not None:
            near.append(f"the closest single-hyperparameter change is {approximate.relation.replace(' = ', ' ≈ ', 1)} "
                        f"at {fmt(approximate.ratio)} × the tolerance")
        parts.append("No catalogued bug fits" + (f"; {'; '.join(near)} (not a match)" if near else ""))
    text = "; ".join(parts) if parts else None
    return Diagnosis(text, matches, closest, findings, fitted)
