"""Adaptive methods: ``rmsprop``, ``adam`` (coupled weight_decay, as PyTorch's Adam) and ``adamw``."""

from __future__ import annotations

from typing import Any

import numpy as np

import reference
from reference._src.base import as_optimizer, scale
from verify.algorithms._blocks import opt, stateful
from reference._src.adaptive import EPS_PLACEMENTS
from reference._src.sgd import MOMENTUM_FORMS
from verify.algorithms._mapping import KERAS_LR, OPTAX_LR, LibraryMapping, Rule, const, pair, same
from verify.algorithms._record import (
    Algorithm,
    Variant,
    decay_strength,
    has_positive,
    learning_rate,
    positive,
    unit_interval,
)
from verify.params import Param

__all__ = ["RMSPROP", "ADAM", "ADAMW"]

_EPS = Param("eps", 1e-8, "ε added to the denominator (ε > 0)", low=0.0, low_open=True, draw=positive(1e-16, 10.0))
_B1 = Param("b1", 0.9, "β1, decay of the first moment", low=0.0, high=1.0, draw=unit_interval)
_B2 = Param("b2", 0.999, "β2, decay of the second moment", low=0.0, high=1.0, draw=unit_interval)
_has = has_positive


def _draw_choice(choices: tuple[Any, ...]) -> Any:
    def draw() -> Any:
        from hypothesis import strategies as st

        return st.sampled_from(choices)

    return draw


_EPS_PLACEMENT = Param("eps_placement", "outside", "where ε enters: outside the root after bias correction, "
                       "m̂/(√v̂ + ε) (Algorithm 1; PyTorch, optax), inside, m̂/√(v̂ + ε), or hat: the corrections "
                       "folded into the step size, η√(1 − β2ᵗ)/(1 − β1ᵗ)·m/(√v + ε) (§2's ε̂; Keras)",
                       type=str, choices=EPS_PLACEMENTS, draw=_draw_choice(EPS_PLACEMENTS))
_EPS_IN_SQRT = Param("eps_in_sqrt", False, "ε inside the root, g/√(s + ε) (optax's and Keras' default), instead "
                     "of outside, g/(√s + ε) (PyTorch)", type=bool, draw=_draw_choice((False, True)))
_RMS_MOMENTUM = Param("momentum", 0.0, "momentum μ of the scaled gradient: b ← μb + g/(√s + ε), w ← w − ηb "
                      "(PyTorch's RMSprop)", low=0.0, high=1.0, draw=unit_interval)
_CENTERED = Param("centered", False, "centred (Graves 2013): ḡ ← ρḡ + (1 − ρ)g and divide by √(s − ḡ²) + ε, the "
                  "gradient's standard deviation instead of its RMS", type=bool, draw=_draw_choice((False, True)))
_RMS_FORM = Param("form", "pytorch", "where η sits with momentum: pytorch, b ← μb + g/(√s + ε), w ← w − ηb "
                  "(PyTorch), or polyak, η inside the buffer, v ← μv + ηg/(√s + ε), w ← w − v (Keras, optax) — "
                  "the same iterates while η is constant, rounded differently (spec momentum's form)",
                  type=str, choices=MOMENTUM_FORMS, draw=_draw_choice(MOMENTUM_FORMS))


# ----------------------------------------------------------------- bug builders


def _rms_custom(hp, *, swap=False, sqrt=True, init=0.0, lag=False, bias=False, first_g2=False, square=True,
                unweighted=False, mean_squared=True, momentum_first=False, dampened=False):
    """RMSprop with one slip, in the run's own centring, momentum and ε convention."""
    lr, rho, eps = hp["lr"], hp["rho"], hp["eps"]
    mu, centered = float(hp.get("momentum", 0.0)), hp.get("centered", False)

    def init_state(params):
        z = np.zeros_like(params)
        return {"s": np.full_like(params, init), "m": z, "b": z.copy(), "t": 0}

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
        if centered:
            st["m"] = rho * st["m"] + (1 - rho) * g
            use = use - (st["m"] * st["m"] if mean_squared else st["m"])
        num = g
        if mu > 0 and momentum_first:                        # the raw gradient accumulated, then divided
            st["b"] = mu * st["b"] + g
            num = st["b"]
        with np.errstate(invalid="ignore", divide="ignore"):
            if sqrt and hp.get("eps_in_sqrt"):              # the bug in the run's own ε convention
                u = num / np.sqrt(use + eps)
            else:
                u = num / ((np.sqrt(use) if sqrt else use) + eps)
        if mu > 0 and not momentum_first:
            st["b"] = mu * st["b"] + ((1 - mu) if dampened else 1.0) * u
            u = st["b"]
        return u

    return opt(stateful(init_state, fn), scale(-lr))


def _adam_custom(hp, *, eps_mode="outside", bc="standard", swap=False, coupled=0.0,
                 decoupled=0.0, decay_lr=True, decay_after=False, lag=False, lr_power=1, root=True,
                 first_gradient=False, square=True):
    lr, b1, b2, eps = hp["lr"], hp["b1"], hp["b2"], hp["eps"]
    c_b1, c_b2 = (b2, b1) if swap is True else (b1, b2)   # betas of the bias corrections
    if swap:
        b1, b2 = b2, b1

    def init(params):
        z = np.zeros_like(params)
        return {"m": z, "v": z.copy(), "t": 0, "u": z.copy()}

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
        else:  # hat
            u = (np.sqrt(c2) / c1) * m / (np.sqrt(v) + eps)
        if lag:
            u, s["u"] = s["u"], u
        step = -lr * u
        if decoupled:
            rate = (lr ** lr_power if decay_lr else 1.0) * decoupled
            step = (p + step) * (1 - rate) - p if decay_after else step - rate * p
        return step

    return as_optimizer(stateful(init, fn))


def _adam_bugs(spec: str, decay: str) -> tuple[Variant, ...]:
    """The bugs adam and adamw share, each with the algorithm's own decay (``coupled`` or ``decoupled``).

    The published conventions (ε inside the root, ε-hat, AMSGrad) are the reference's own flags;
    the others are small builders.
    """
    own = reference.adam if spec == "adam" else reference.adamw

    def convention(**flags: Any):
        return lambda hp: own(**{**hp, **flags})

    def bug(**options: Any):
        # in the run's ε form (Keras's ε̂ is checked as eps_placement = hat), unless the bug names its own
        form = lambda hp: {"eps_mode": "hat"} if hp.get("eps_placement") == "hat" else {}  # noqa: E731
        return lambda hp: _adam_custom(hp, **{**form(hp), **options}, **{decay: hp["weight_decay"]})

    entries = (
        ("eps-inside", "{} with ε inside the square root: m̂/√(v̂ + ε)", convention(eps_placement="inside")),
        ("eps-hat", "{} with ε-hat — the paper's efficient form (§2; TensorFlow 1, Keras; check it with --param "
         "eps_placement=hat): the corrections "
         "folded into the step size η√(1 − β2ᵗ)/(1 − β1ᵗ) and ε added to √v, i.e. ε̂ = ε√(1 − β2ᵗ) in "
         "Algorithm 1's terms", convention(eps_placement="hat")),
        ("no-bias-correction", "{} without bias correction (m and v used raw)", bug(bc="none")),
        ("bias-correction-m-only", "{} with only m bias-corrected (v̂ = v)", bug(bc="m-only")),
        ("bias-correction-v-only", "{} with only v bias-corrected (m̂ = m)", bug(bc="v-only")),
        ("bias-correction-off-by-one",
         "{} with the bias correction one step ahead: 1 − βᵗ⁺¹ (step count off by one)", bug(bc="t+1")),
        ("bias-correction-one-step-behind",
         "{} with the bias correction one step behind: 1 − βᵗ⁻¹ (the step count used before it is "
         "incremented: 1 − β⁰ = 0 divides by zero at the first step)", bug(bc="t-1")),
        ("bias-correction-v-with-b1", "{} bias-correcting v with β1: v̂ = v/(1 − β1ᵗ) instead of v/(1 − β2ᵗ)",
         bug(bc="v-b1")),
        ("bias-correction-no-sqrt", "{} dividing √v by (1 − β2ᵗ) instead of √(1 − β2ᵗ)", bug(bc="v-no-sqrt")),
        ("eps-hat-no-sqrt", "{} in the ε-hat form with 1 − β2ᵗ folded into the step size without its square "
         "root: η(1 − β2ᵗ)/(1 − β1ᵗ) instead of η√(1 − β2ᵗ)/(1 − β1ᵗ)", bug(eps_mode="hat", bc="v-no-sqrt")),
        ("bias-correction-without-t", "{} with the bias correction 1 − β instead of 1 − βᵗ (the step count "
         "left out of the exponent)", bug(bc="t1")),
        ("no-sqrt", "{} without the square root: m̂/(v̂ + ε)", bug(root=False)),
        ("bias-correction-power-outside", "{} with the bias correction (1 − β)ᵗ instead of 1 − βᵗ",
         bug(bc="power-outside")),
        ("gradient-not-squared", "{} with the second moment accumulating g instead of g² (v ← β2·v + (1 − β2)·g)",
         bug(square=False)),
        ("first-gradient-init", "{} with the moments started at the first gradient (m₁ = g₁, v₁ = g₁²) and "
         "then bias-corrected as if they had started at 0", bug(first_gradient=True)),
        ("first-gradient-init-no-correction", "{} with the moments started at the first gradient "
         "(m₁ = g₁, v₁ = g₁²) and no bias correction", bug(first_gradient=True, bc="none")),
        ("swapped-betas", "{} with β1 and β2 swapped (moments and bias corrections)", bug(swap=True)),
        ("swapped-betas-in-moments", "{} with β1 and β2 swapped in the moment updates "
         "(m ← β2m + (1 − β2)g, v ← β1v + (1 − β1)g²; bias corrections use the right ones)", bug(swap="moments")),
        ("amsgrad", "AMSGrad ({} dividing by the running maximum of v; check it under --spec amsgrad)",
         convention(amsgrad=True)),
    )
    differs = {"eps-inside": lambda hp: hp.get("eps_placement", "outside") != "inside",
               "eps-hat": lambda hp: hp.get("eps_placement", "outside") != "hat"}
    return tuple(Variant(f"{spec}/{suffix}", text.format(spec), (spec,), build,
                         applies=differs.get(suffix, lambda hp: True)) for suffix, text, build in entries)


def _rms_variants() -> tuple[Variant, ...]:
    """RMSprop's published forms (the reference's own flags) and its slips (``_rms_custom``), each in the run's
    centring, momentum and ε convention unless the variant is about that."""
    every, mu = (lambda hp: True), _has("momentum")
    inside, centred = (lambda hp: bool(hp.get("eps_in_sqrt", False))), (lambda hp: bool(hp.get("centered", False)))

    def flags(**changes: Any):
        return lambda hp: reference.rmsprop(**{**hp, **changes})

    def bug(**options: Any):
        return lambda hp: _rms_custom(hp, **options)

    entries = (
        ("eps-inside", "RMSprop with ε inside the square root, g/√(s + ε) (optax's and Keras' default; check it "
         "with --param eps_in_sqrt=true)", flags(eps_in_sqrt=True), lambda hp: not inside(hp), False),
        ("eps-outside", "RMSprop with ε outside the square root, g/(√s + ε) (PyTorch's; check it with --param "
         "eps_in_sqrt=false)", flags(eps_in_sqrt=False), inside, False),
        ("swapped-rho", "ρ and 1 − ρ swapped: s ← (1 − ρ)s + ρg²", bug(swap=True), every, False),
        ("no-sqrt", "the square root is missing: g/(s + ε)", bug(sqrt=False), every, False),
        ("no-one-minus-rho", "the new g² added without its factor 1 − ρ: s ← ρs + g²", bug(unweighted=True),
         every, False),
        ("gradient-not-squared", "the average accumulates g instead of g²: s ← ρs + (1 − ρ)g", bug(square=False),
         every, False),
        ("centered", "centred RMSprop (Graves 2013): divides by √(s − ḡ²) with ḡ the running mean of g (check it "
         "with --param centered=true)", flags(centered=True), lambda hp: not centred(hp), False),
        ("not-centered", "plain RMSprop where centred was asked: the running mean ḡ is never subtracted, "
         "√s instead of √(s − ḡ²)", flags(centered=False), centred, False),
        ("centered-mean-not-squared", "centred with the mean subtracted unsquared: √(s − ḡ) instead of "
         "√(s − ḡ²)", bug(mean_squared=False), centred, False),
        ("momentum-before-denominator", "momentum on the raw gradient, divided afterwards: b ← μb + g, "
         "w ← w − ηb/(√s + ε) instead of b ← μb + g/(√s + ε)", bug(momentum_first=True), mu, False),
        ("momentum-dampened", "momentum as an exponential average of the scaled gradient: "
         "b ← μb + (1 − μ)g/(√s + ε) (the step shrunk by 1 − μ)", bug(dampened=True), mu, False),
        ("lr-inside-buffer", "η inside the momentum buffer, v ← μv + ηg/(√s + ε), w ← w − v (Keras's and optax's "
         "form): the same iterates while η is constant (check it with --param form=polyak)",
         flags(form="polyak"), lambda hp: mu(hp) and hp.get("form", "pytorch") != "polyak", True),
        ("lr-outside-buffer", "η outside the momentum buffer, b ← μb + g/(√s + ε), w ← w − ηb (PyTorch's form): "
         "the same iterates while η is constant (check it with --param form=pytorch)",
         flags(form="pytorch"), lambda hp: mu(hp) and hp.get("form", "pytorch") == "polyak", True),
        ("init-one", "the accumulator starts at s₀ = 1 (TensorFlow 1.x) instead of 0", bug(init=1.0), every, False),
        ("init-first-gradient", "the average starts at the first squared gradient, s₁ = g₁² (not (1 − ρ)g₁²)",
         bug(first_g2=True), every, False),
        ("stale-average", "the division uses the previous average s_(t−1) (s updated after the step)",
         bug(lag=True), every, False),
        ("bias-corrected", "the average is bias-corrected, s/(1 − ρᵗ), as in Adam", bug(bias=True), every, False),
    )
    return tuple(Variant(f"rmsprop/{suffix}", text, ("rmsprop",), build, equivalent=equivalent, applies=applies)
                 for suffix, text, build, applies, equivalent in entries)


# ------------------------------------------------------------------ algorithms


_ADAM_ALIASES = {"lr": ("alpha",), "b1": ("decay1",), "b2": ("decay2",)}
_OPTAX_ADAM_RULES = (OPTAX_LR, same("b1"), same("b2"), same("eps"),
                     const("eps_root", 0.0, "eps_root=0: ε only outside the root, as Algorithm 1"))
_A, _AW = ("adam",), ("adamw",)
_KERAS_ADAM_RULES = (KERAS_LR, same("b1", "beta_1"), same("b2", "beta_2"), same("eps", "epsilon"))
_KERAS_ADAM_NOTE = ("Keras's Adam is the ε̂ form (Kingma & Ba §2): w ← w − lr·√(1 − β2ᵗ)/(1 − β1ᵗ)·m/(√v + ε), "
                    "Algorithm 1 with ε replaced by ε/√(1 − β2ᵗ): checked as eps_placement = hat, its only form "
                    "(amsgrad=False)")

_OPTAX_RMS_MOMENTUM = Rule(("momentum",), "momentum", lambda mu: float(mu) if float(mu) > 0 else None,
                           "momentum=None when μ = 0 (no buffer), else μ: optax applies optax.trace(decay=momentum) "
                           "after the learning rate", shown="momentum or None",
                           inverse=lambda v: (0.0 if v is None else float(v),))

RMSPROP = Algorithm(
    name="rmsprop",
    title="RMSprop (with PyTorch's momentum and centring)",
    formula="s ← ρs + (1 − ρ)g², w ← w − ηg/(√s + ε); centred: ḡ ← ρḡ + (1 − ρ)g, √(s − ḡ²); "
            "momentum: b ← μb + g/(√s + ε), w ← w − ηb",
    params=(learning_rate(0.01),
            Param("rho", 0.9, "ρ, decay of the mean square (PyTorch's alpha)", low=0.0, high=1.0, draw=unit_interval),
            _EPS, _RMS_MOMENTUM, _CENTERED, _EPS_IN_SQRT, _RMS_FORM),
    reference=reference.rmsprop,
    variants=_rms_variants(),
    torch=LibraryMapping(
        ("RMSprop",),
        (same("lr"), same("rho", "alpha"), same("eps"), same("momentum"), same("centered")),
        ("rho → alpha (torch.optim.RMSprop)",
         "ε outside the root, w ← w − lr·g/(√s + ε); momentum b ← μb + g/(√s + ε), w ← w − lr·b (lr outside the "
         "buffer); centred √(s − ḡ²) + ε: torch's conventions are the canonical ones",
         "weight_decay=0 (torch's default: its coupled decay has no parameter in this spec; a built RMSprop with "
         "another is refused)"),
        conventions={"eps_in_sqrt": False, "form": "pytorch"},
        settings={"weight_decay": 0.0},
    ),
    optax=LibraryMapping(
        ("rmsprop",),
        (OPTAX_LR, same("rho", "decay"), same("eps"),
         Rule(("eps_in_sqrt",), "eps_in_sqrt", bool,
              "ε placement: optax.rmsprop(eps_in_sqrt=eps_in_sqrt) (optax's default puts ε inside, √(s + ε); the "
              "spec's default is outside)", optional=True,
              if_unsupported="this optax's rmsprop has no eps_in_sqrt: ε is inside the root, √(s + ε) — "
                             "the 'ε inside' variant, not the spec's canonical form",
              inverse=lambda v: (bool(v),)),
         _OPTAX_RMS_MOMENTUM, same("centered")),
        ("lr → learning_rate, rho → decay (optax.rmsprop)",
         "optax's momentum is optax.trace after the learning rate, v ← μv − lr·g/(√s + ε) (lr inside the buffer): "
         "checked as form = polyak, its only form; centered=True is optax.scale_by_stddev, √(s − ḡ²)",
         "initial_scale=0 (s₀ = 0), bias_correction=False, nesterov=False (optax's defaults; nesterov=True is "
         "refused: the spec has no Nesterov form of RMSprop)"),
        conventions={"form": "polyak"},
        settings={"nesterov": False, "initial_scale": 0.0, "bias_correction": False},
    ),
    keras=LibraryMapping(
        ("RMSprop",), (KERAS_LR, same("rho"), same("eps", "epsilon"), same("momentum"), same("centered")),
        ("lr → learning_rate, eps → epsilon (keras.optimizers.RMSprop; rho always passed: Keras's default is 0.9, "
         "PyTorch's alpha 0.99)",
         "Keras puts ε inside the root, w ← w − lr·g/√(s + ε) (centred √(s − ḡ² + ε)), and lr inside the momentum "
         "buffer, v ← μv + lr·g/√(s + ε), w ← w − v: checked as eps_in_sqrt = true, form = polyak, its only "
         "conventions"),
        conventions={"eps_in_sqrt": True, "form": "polyak"},
    ),
    dropped_by_bugs=("eps", "momentum"),
)

ADAM = Algorithm(
    name="adam",
    title="Adam (Kingma & Ba, Algorithm 1; coupled weight_decay)",
    formula="m ← β1m + (1 − β1)g, v ← β2v + (1 − β2)g², w ← w − η m̂/(√v̂ + ε); g ← g + λ_wd w",
    params=(learning_rate(1e-3), _B1, _B2, _EPS,
            Param("weight_decay", 0.0, "coupled L2 decay λ_wd: g ← g + λ_wd·w (PyTorch's Adam)", low=0.0,
                  draw=decay_strength),
            _EPS_PLACEMENT),
    reference=reference.adam,
    variants=_adam_bugs("adam", "coupled") + (
        Variant("adam/decoupled-decay", "decoupled weight decay (AdamW) in adam: w ← w − η(m̂/(√v̂ + ε) + λw)",
                _A, lambda hp: reference.adamw(**hp), applies=_has("weight_decay")),
        Variant("adam/decay-factor-2", "a factor 2 in the coupled decay: g + 2λw (the gradient of λΣw²) instead of "
                "g + λw", _A, lambda hp: _adam_custom(hp, coupled=2 * hp["weight_decay"]), applies=_has("weight_decay")),
        Variant("adam/decay-half", "half the coupled decay: g + (λ/2)w",
                _A, lambda hp: _adam_custom(hp, coupled=hp["weight_decay"] / 2), applies=_has("weight_decay")),
        Variant("adam/no-decay", "weight_decay ignored",
                _A, lambda hp: _adam_custom(hp), applies=_has("weight_decay")),
    ),
    torch=LibraryMapping(
        ("Adam",),
        (same("lr"), pair("b1", "b2", "betas"), same("eps"), same("weight_decay")),
        ("(b1, b2) → betas (torch.optim.Adam)",
         "weight_decay is torch's coupled L2 term (g ← g + weight_decay·w before the moments), as the spec",
         "ε outside the root after bias correction (Algorithm 1), amsgrad=False"),
        variants={"AdamW": "torch.optim.AdamW under spec adam: its weight_decay is decoupled (spec adamw); "
                           "equal to Adam when weight_decay = 0"},
        conventions={"eps_placement": "outside"},
    ),
    optax=LibraryMapping(
        ("adam",), _OPTAX_ADAM_RULES,
        ("lr → learning_rate; m̂/(√v̂ + ε) with bias correction (Algorithm 1), nesterov=False",),
        variants={"adamw": "optax.adamw under spec adam: its weight_decay is decoupled (spec adamw); equal to "
                           "Adam when weight_decay = 0"},
        coupled_decay=True,
        conventions={"eps_placement": "outside"},
    ),
    keras=LibraryMapping(
        ("Adam",), _KERAS_ADAM_RULES,
        (_KERAS_ADAM_NOTE,
         "Keras's weight_decay is decoupled, applied before the step (w ← w − w·weight_decay·lr: spec adamw), "
         "so the spec's coupled weight_decay is held at 0",),
        conventions={"eps_placement": "hat", "weight_decay": 0.0},
        settings={"amsgrad": False},
    ),
    no_decay={"weight_decay": 0.0},
    dropped_by_bugs=("b1", "eps", "weight_decay"),
    aliases=_ADAM_ALIASES,
)

ADAMW = Algorithm(
    name="adamw",
    title="AdamW (decoupled weight decay)",
    formula="w ← w − η(m̂/(√v̂ + ε) + λ_wd w)",
    params=(learning_rate(1e-3), _B1, _B2, _EPS,
            Param("weight_decay", 1e-2, "decoupled decay λ_wd: w ← w − η(… + λ_wd·w)", low=0.0, draw=decay_strength),
            _EPS_PLACEMENT),
    reference=reference.adamw,
    variants=_adam_bugs("adamw", "decoupled") + (
        Variant("adamw/coupled-decay", "coupled (L2) decay in adamw: g + λw enters the moments (this is Adam's "
                "weight_decay)", _AW, lambda hp: reference.adam(**hp), applies=_has("weight_decay")),
        Variant("adamw/decay-not-scaled-by-lr", "the decay is not multiplied by η: w ← w − ηm̂/(√v̂ + ε) − λw",
                _AW, lambda hp: _adam_custom(hp, decoupled=hp["weight_decay"], decay_lr=False),
                applies=_has("weight_decay")),
        Variant("adamw/decay-lr-squared", "the learning rate applied twice to the decay: w ← w(1 − η²λ) − "
                "ηm̂/(√v̂ + ε)", _AW, lambda hp: _adam_custom(hp, decoupled=hp["weight_decay"], lr_power=2),
                applies=_has("weight_decay")),
        Variant("adamw/decay-after-step", "the decay is applied after the Adam step: w ← (w − ηm̂/(√v̂ + ε))(1 − ηλ)",
                _AW, lambda hp: _adam_custom(hp, decoupled=hp["weight_decay"], decay_after=True),
                applies=_has("weight_decay")),
        Variant("adamw/transformers", "Hugging Face transformers' AdamW (correct_bias=True): ε-hat (the corrections "
                "folded into the step size, ε added to √v) and the decay applied after the Adam step, "
                "w ← (w − ηû)(1 − ηλ)",
                _AW, lambda hp: _adam_custom(hp, eps_mode="hat", decoupled=hp["weight_decay"], decay_after=True),
                applies=_has("weight_decay")),
        Variant("adamw/decay-factor-2", "a factor 2 in the decay: w ← w(1 − 2ηλ) − …",
                _AW, lambda hp: _adam_custom(hp, decoupled=2 * hp["weight_decay"]), applies=_has("weight_decay")),
        Variant("adamw/no-decay", "weight_decay ignored (plain Adam)",
                _AW, lambda hp: _adam_custom(hp), applies=_has("weight_decay")),
    ),
    torch=LibraryMapping(
        ("AdamW",),
        (same("lr"), pair("b1", "b2", "betas"), same("eps"), same("weight_decay")),
        ("(b1, b2) → betas (torch.optim.AdamW)",
         "decoupled decay: torch applies w ← w(1 − lr·weight_decay) before the Adam step, the same update "
         "as w ← w − lr·(m̂/(√v̂ + ε) + weight_decay·w)"),
        variants={"Adam": "torch.optim.Adam under spec adamw: its weight_decay is coupled L2 (spec adam); "
                          "equal to AdamW when weight_decay = 0"},
        conventions={"eps_placement": "outside"},
    ),
    optax=LibraryMapping(
        ("adamw",), _OPTAX_ADAM_RULES + (same("weight_decay"),),
        ("lr → learning_rate; w ← w − lr·(m̂/(√v̂ + ε) + weight_decay·w) (decoupled), mask=None: every "
         "parameter is decayed",),
        conventions={"eps_placement": "outside"},
    ),
    keras=LibraryMapping(
        ("AdamW",), _KERAS_ADAM_RULES + (same("weight_decay"),),
        (_KERAS_ADAM_NOTE,
         "decoupled decay: Keras shrinks w ← w − w·weight_decay·lr before the Adam step, the same update as "
         "w ← w − lr·(û + weight_decay·w) since the Adam step does not depend on w"),
        variants={"Adam": "keras.optimizers.Adam under spec adamw: Keras's Adam(weight_decay=λ) decays decoupled "
                          "like its AdamW (which is Adam with weight_decay=0.004 by default)"},
        conventions={"eps_placement": "hat"},
        settings={"amsgrad": False},
    ),
    no_decay={"weight_decay": 0.0},
    dropped_by_bugs=("b1", "eps", "weight_decay"),
    aliases=_ADAM_ALIASES,
)
