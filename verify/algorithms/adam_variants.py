"""Adam's relatives: ``adamax``, ``nadam``, ``radam`` and ``amsgrad`` (references: ``reference.adamax`` …).

Where published forms differ, a named convention parameter says which a run checks (PyTorch's form is the
canonical one): Adamax's ``eps_placement`` (ε inside the maximum: PyTorch, optax; outside: Keras), NAdam's
``schedule`` (Dozat's momentum schedule: PyTorch, Keras; constant β1: optax), RAdam's ``threshold``
(ρ_t > 5: PyTorch; ≥ 5: the authors' code, optax; > 4: the paper), ``eps_placement`` and
``degenerated_to_sgd``, AMSGrad's ``maximum_of`` (v: PyTorch, TensorFlow, Keras; v̂: optax) and
``eps_placement`` (Adam's; Keras: ε̂), and
everywhere ``decoupled_weight_decay`` (PyTorch's flag; optax's ``…w`` factories). A library's own
convention is held by its mapping, so it is checked in its form and never failed for it.

The diagnosis catalogue is seeded with the bugs that shipped: NAdam's extra μ in the momentum product
(PyTorch before pytorch/pytorch#92699, 2023), RAdam's threshold ρ_t > 4 against ≥ 5, AMSGrad's maximum of
v̂ against v (optax issue #1389), the foreach AMSGrad that never stored its maximum (pytorch/pytorch#78807,
2022), Adam's ε scaled by √(1 − β2ᵗ) (PyTorch before 2019, Keras) and decoupled decay applied after the
update (Hugging Face transformers' AdamW, bitsandbytes #2010).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

import reference
from reference._src.adam_variants import (
    ADAMAX_EPS_PLACEMENTS,
    AMSGRAD_MAXIMA,
    NADAM_SCHEDULES,
    RADAM_THRESHOLDS,
    nadam_momentum,
    radam_rho,
)
from reference._src.adaptive import EPS_PLACEMENTS
from reference._src.base import Optimizer, as_optimizer
from verify.algorithms._blocks import stateful
from verify.algorithms._mapping import KERAS_LR, OPTAX_LR, LibraryMapping, Unmapped, const, pair, same
from verify.algorithms._record import Algorithm, Variant, decay_strength, learning_rate, positive, unit_interval
from verify.params import Param

__all__ = ["ADAMAX", "NADAM", "RADAM", "AMSGRAD"]

_B1 = Param("b1", 0.9, "β1, decay of the first moment", low=0.0, high=1.0, draw=unit_interval)
_B2 = Param("b2", 0.999, "β2, decay of the second moment", low=0.0, high=1.0, draw=unit_interval)
_EPS = Param("eps", 1e-8, "ε added to the denominator (ε > 0)", low=0.0, low_open=True, draw=positive(1e-16, 10.0))
_WD = Param("weight_decay", 0.0, "weight decay λ_wd: coupled, g ← g + λ_wd·w (PyTorch's default), or decoupled, "
            "w ← w − η(… + λ_wd·w), with decoupled_weight_decay", low=0.0, draw=decay_strength)


def _booleans() -> Any:
    from hypothesis import strategies as st

    return st.booleans()


def _choices(values: tuple[str, ...]) -> Callable[[], Any]:
    def draw() -> Any:
        from hypothesis import strategies as st

        return st.sampled_from(values)

    return draw


_DECOUPLED = Param("decoupled_weight_decay", False, "the decay is decoupled (PyTorch's flag; optax's …w "
                   "factories): w ← w − η(step + λ_wd·w), w before the step", type=bool, draw=_booleans)
_COMMON = (_B1, _B2, _EPS, _WD)
_PT_RULES = (same("lr"), pair("b1", "b2", "betas"), same("eps"), same("weight_decay"))
_OPTAX_RULES = (OPTAX_LR, same("b1"), same("b2"), same("eps"))
_EPS_ROOT = const("eps_root", 0.0, "eps_root=0: ε only outside the root")
_KERAS_RULES = (KERAS_LR, same("b1", "beta_1"), same("b2", "beta_2"), same("eps", "epsilon"), same("weight_decay"))
_KERAS_DECAY_NOTE = ("Keras's weight_decay is decoupled, applied before the step (w ← w − w·weight_decay·lr): "
                     "checked as decoupled_weight_decay = true")
_ALIASES = {"lr": ("alpha",), "b1": ("decay1",), "b2": ("decay2",)}     # as Adam's (the paper's α)


def _wd(hp: Mapping[str, Any]) -> bool:
    return hp.get("weight_decay", 0.0) > 0


# ----------------------------------------------------------------- variant builders


def _convention(spec: str, build: Callable[..., Any], param: str, value: Any, text: str,
                differs: Callable[[Any], bool] | None = None) -> Variant:
    """The reference at another published convention ``param = value`` (applies wherever the run's differs)."""
    differs = differs or (lambda current: current != value)
    shown = str(value).lower()
    return Variant(f"{spec}/{param.replace('_', '-')}-{shown}", f"{text} (check it with --param {param}={shown})",
                   (spec,), lambda hp: build(**{**hp, param: value}),
                   applies=lambda hp: _param_differs(hp, param, differs))


def _param_differs(hp: Mapping[str, Any], param: str, differs: Callable[[Any], bool]) -> bool:
    return param in hp and differs(hp[param])


def _decay_after(build: Callable[..., Any]) -> Callable[[Mapping[str, Any]], Optimizer]:
    """Decoupled decay applied after the update: w ← (w − η·step)(1 − ηλ) (HF transformers' AdamW)."""

    def make(hp: Mapping[str, Any]) -> Optimizer:
        inner = build(**{**hp, "weight_decay": 0.0})
        shrink = 1.0 - hp["lr"] * hp["weight_decay"]

        def update(g, state, params):
            new, state = inner.update(g, state, params)
            return new * shrink, state

        return Optimizer(inner.init, update)

    return make


def _decay_variants(spec: str, build: Callable[..., Any]) -> tuple[Variant, ...]:
    """Coupled decay where decoupled was asked, and the reverse; decoupled decay applied after the update."""
    coupled = lambda hp: _wd(hp) and not hp.get("decoupled_weight_decay", False)    # noqa: E731
    decoupled = lambda hp: _wd(hp) and hp.get("decoupled_weight_decay", False)      # noqa: E731
    return (
        Variant(f"{spec}/decoupled-decay", f"decoupled weight decay in {spec}: w ← w − η(step + λw), the decay "
                "bypassing the moments (check it with --param decoupled_weight_decay=true)", (spec,),
                lambda hp: build(**{**hp, "decoupled_weight_decay": True}), applies=coupled),
        Variant(f"{spec}/coupled-decay", f"coupled (L2) weight decay in {spec}: g + λw enters the moments (check it "
                "with --param decoupled_weight_decay=false)", (spec,),
                lambda hp: build(**{**hp, "decoupled_weight_decay": False}), applies=decoupled),
        Variant(f"{spec}/decay-after-step", "the decoupled decay applied after the update instead of before: "
                "w ← (w − η·step)(1 − ηλ), which shrinks the new step too (Hugging Face transformers' AdamW, "
                "bitsandbytes #2010)", (spec,), _decay_after(build), applies=decoupled),
        Variant(f"{spec}/decay-not-scaled-by-lr", "the decoupled decay not multiplied by η: w ← w − η·step − λw",
                (spec,), lambda hp: _decay_unscaled(build, hp), applies=decoupled),
    )


def _decay_unscaled(build: Callable[..., Any], hp: Mapping[str, Any]) -> Optimizer:
    inner = build(**{**hp, "weight_decay": 0.0})
    wd = hp["weight_decay"]

    def update(g, state, params):
        new, state = inner.update(g, state, params)
        return new - wd * np.asarray(params, dtype=np.float64), state

    return Optimizer(inner.init, update)


def _moments_then(hp: Mapping[str, Any], finish: Callable[[np.ndarray, dict, Mapping[str, Any]], np.ndarray],
                  *, second: str = "square") -> Optimizer:
    """A bug of the Adam family as code writes it: coupled decay, the moments ``m`` and ``v`` (``second``:
    ``square`` v ← β2v + (1 − β2)g², ``inf`` u ← max(β2u, |g| + ε)), then ``finish(g, state, hp) -> update``
    (added to w). Decoupled decay (w ← w − ηλw) is added to the update when asked."""
    b1, b2, wd = hp["b1"], hp["b2"], hp.get("weight_decay", 0.0)
    decoupled = hp.get("decoupled_weight_decay", False)

    def init(params):
        z = np.zeros_like(params)
        return {"m": z, "v": z.copy(), "vmax": z.copy(), "t": 0, "prod": 1.0}

    def fn(g, s, p):
        if wd and not decoupled:
            g = g + wd * p
        s["t"] += 1
        s["m"] = b1 * s["m"] + (1 - b1) * g
        if second == "inf":
            s["v"] = np.maximum(b2 * s["v"], np.abs(g) + hp["eps"])
        else:
            s["v"] = b2 * s["v"] + (1 - b2) * g * g
        u = finish(g, s, hp)
        if wd and decoupled:
            u = u - hp["lr"] * wd * p
        return u

    return as_optimizer(stateful(init, fn))


# ------------------------------------------------------------------- Adamax


def _adamax_bug(*, absolute=True, decay_u=True, correct=True, correct_u=False, root=False) -> Callable:
    def build(hp):
        lr, b1, b2, eps = hp["lr"], hp["b1"], hp["b2"], hp["eps"]
        wd, decoupled = hp.get("weight_decay", 0.0), hp.get("decoupled_weight_decay", False)

        def init(params):
            z = np.zeros_like(params)
            return {"m": z, "u": z.copy(), "t": 0}

        def fn(g, s, p):
            if wd and not decoupled:
                g = g + wd * p
            s["t"] += 1
            t = s["t"]
            s["m"] = b1 * s["m"] + (1 - b1) * g
            inside = hp.get("eps_placement", "inside-max") == "inside-max"   # the bug in the run's own ε form
            mag = (np.abs(g) if absolute else g) + (eps if inside else 0.0)
            if root:             # Adam's second moment instead of the infinity norm
                s["u"] = b2 * s["u"] + (1 - b2) * g * g
                u = np.sqrt(s["u"]) + eps
            else:
                s["u"] = np.maximum(b2 * s["u"] if decay_u else s["u"], mag)
                u = s["u"] if inside else s["u"] + eps
            if correct_u:
                u = u / (1 - b2 ** t)
            with np.errstate(divide="ignore", invalid="ignore"):      # u = 0 where g = −ε without |·|
                step = -lr * s["m"] / ((1 - b1 ** t if correct else 1.0) * u)
            if wd and decoupled:
                step = step - lr * wd * p
            return step

        return as_optimizer(stateful(init, fn))

    return build


_AX = ("adamax",)

ADAMAX = Algorithm(
    name="adamax",
    title="Adamax (Kingma & Ba 2015, Algorithm 2; PyTorch)",
    formula="m ← β1m + (1 − β1)g, u ← max(β2u, |g| + ε), w ← w − η/(1 − β1ᵗ)·m/u",
    params=(learning_rate(2e-3), _B1, _B2,
            Param("eps", 1e-8, "ε added to |g| inside the maximum (ε ≥ 0: the paper has none, and then a zero "
                  "gradient at the first step divides 0 by 0)", low=0.0, draw=positive(1e-16, 10.0)), _WD,
            Param("eps_placement", "inside-max", "where ε enters: inside the maximum, u ← max(β2u, |g| + ε) "
                  "(PyTorch, optax), or outside it, dividing by u + ε (Keras)", type=str,
                  choices=ADAMAX_EPS_PLACEMENTS, draw=_choices(ADAMAX_EPS_PLACEMENTS)),
            _DECOUPLED),
    reference=reference.adamax,
    variants=(
        _convention("adamax", reference.adamax, "eps_placement", "outside-max",
                    "Adamax with ε outside the maximum, u ← max(β2u, |g|), dividing by u + ε (Keras' convention)"),
        _convention("adamax", reference.adamax, "eps_placement", "inside-max",
                    "Adamax with ε inside the maximum, u ← max(β2u, |g| + ε) (PyTorch's and optax's convention)"),
        Variant("adamax/no-absolute-value", "the infinity norm without the absolute value: u ← max(β2u, g + ε) (max(β2u, g) "
                "with ε outside the maximum)",
                _AX, _adamax_bug(absolute=False)),
        Variant("adamax/undecayed-maximum", "the maximum not decayed by β2: u ← max(u, |g| + ε)", _AX,
                _adamax_bug(decay_u=False)),
        Variant("adamax/no-bias-correction", "Adamax without the bias correction 1/(1 − β1ᵗ) of the step", _AX,
                _adamax_bug(correct=False)),
        Variant("adamax/bias-corrected-norm", "the infinity norm bias-corrected too: u/(1 − β2ᵗ) (it needs none: "
                "the maximum is not biased towards 0)", _AX, _adamax_bug(correct_u=True)),
        Variant("adamax/adam-second-moment", "Adam's second moment instead of the infinity norm: "
                "v ← β2v + (1 − β2)g², dividing by √v + ε without its bias correction", _AX, _adamax_bug(root=True)),
        *_decay_variants("adamax", reference.adamax),
    ),
    torch=LibraryMapping(
        ("Adamax",), _PT_RULES,
        ("(b1, b2) → betas (torch.optim.Adamax); ε inside the maximum, u ← max(β2u, |g| + ε)",
         "weight_decay is torch's coupled L2 term (g ← g + weight_decay·w); torch's Adamax has no decoupled decay"),
        conventions={"eps_placement": "inside-max", "decoupled_weight_decay": False},
    ),
    optax=LibraryMapping(
        ("adamax", "adamaxw"), _OPTAX_RULES,
        ("lr → learning_rate; ε inside the maximum, u ← max(|g| + ε, β2u), as PyTorch",
         "optax.adamaxw: decoupled decay w ← w − lr·(step + weight_decay·w), mask=None (checked as "
         "decoupled_weight_decay = true; optax's default weight_decay 1e-4 is never assumed)"),
        coupled_decay=True,
        conventions={"eps_placement": "inside-max"},
        name_conventions={"adamax": {"decoupled_weight_decay": False}, "adamaxw": {"decoupled_weight_decay": True}},
    ),
    keras=LibraryMapping(
        ("Adamax",), _KERAS_RULES,
        ("(b1, b2) → (beta_1, beta_2), eps → epsilon (keras.optimizers.Adamax); ε outside the maximum, "
         "u ← max(β2u, |g|), w ← w − lr·m/((1 − β1ᵗ)(u + ε)): checked as eps_placement = outside-max, its only "
         "form",
         _KERAS_DECAY_NOTE),
        conventions={"eps_placement": "outside-max", "decoupled_weight_decay": True},
    ),
    no_decay={"weight_decay": 0.0},
    dropped_by_bugs=("b1", "eps", "weight_decay"),
    aliases=_ALIASES,
)


# -------------------------------------------------------------------- NAdam


def _nadam_bug(*, extra_mu=False, dozat_b2=False, adam=False, keras_power=False, ruder=False) -> Callable:
    def build(hp):
        lr, b1, b2, eps = hp["lr"], hp["b1"], hp["b2"], hp["eps"]
        psi = 1.0 if keras_power else hp.get("momentum_decay", 4e-3)
        schedule = hp.get("schedule", "dozat")

        def finish(g, s, hp):
            t = s["t"]
            v_hat = s["v"] / (1 - b2 ** t)
            if adam:
                return -lr * (s["m"] / (1 - b1 ** t)) / (np.sqrt(v_hat) + eps)
            if ruder:
                m_hat = s["m"] / (1 - b1 ** t)
                return -lr * (b1 * m_hat + (1 - b1) * g / (1 - b1 ** t)) / (np.sqrt(v_hat) + eps)
            if dozat_b2:
                v_hat = b2 * v_hat
            mu = nadam_momentum(t, b1, psi, schedule=schedule)
            mu_next = nadam_momentum(t + 1, b1, psi, schedule=schedule)
            s["prod"] = s["prod"] * mu
            prod_next = s["prod"] * (mu * mu_next if extra_mu else mu_next)
            d = np.sqrt(v_hat) + eps
            return -lr * ((1 - mu) / (1 - s["prod"]) * g / d + mu_next / (1 - prod_next) * s["m"] / d)

        return _moments_then(hp, finish)

    return build


_NA = ("nadam",)

NADAM = Algorithm(
    name="nadam",
    title="NAdam (Dozat 2016; PyTorch)",
    formula="μ_t = β1(1 − ½·0.96^(tψ)), Π_t = μ_1⋯μ_t, w ← w − η[(1 − μ_t)/(1 − Π_t)·g + "
            "μ_(t+1)/(1 − Π_t μ_(t+1))·m]/(√v̂ + ε)",
    params=(learning_rate(2e-3), *_COMMON,
            Param("momentum_decay", 4e-3, "ψ, the momentum schedule's decay (PyTorch's momentum_decay; Keras "
                  "raises 0.96 to t: ψ = 1)", low=0.0, draw=positive(1e-4, 10.0)),
            Param("schedule", "dozat", "the momentum coefficients: Dozat's schedule μ_t (PyTorch, Keras) or the "
                  "constant β1 (optax's nadam)", type=str, choices=NADAM_SCHEDULES, draw=_choices(NADAM_SCHEDULES)),
            _DECOUPLED),
    reference=reference.nadam,
    variants=(
        Variant("nadam/extra-mu", "NAdam with one μ too many in the momentum coefficient, μ_(t+1)/(1 − Π_t·μ_t·"
                "μ_(t+1)) (PyTorch's single-tensor NAdam before January 2023, pytorch/pytorch#92699; TorchSharp)",
                _NA, _nadam_bug(extra_mu=True)),
        _convention("nadam", reference.nadam, "schedule", "constant",
                    "NAdam with the constant momentum β1, no schedule (optax's nadam)"),
        _convention("nadam", reference.nadam, "schedule", "dozat",
                    "NAdam with Dozat's momentum schedule μ_t = β1(1 − ½·0.96^(tψ)) (PyTorch's and Keras' form)"),
        Variant("nadam/keras-schedule", "NAdam's schedule with 0.96 raised to t instead of tψ (Keras: "
                "momentum_decay = 1; check it with --param momentum_decay=1)", _NA, _nadam_bug(keras_power=True),
                applies=lambda hp: hp.get("schedule", "dozat") == "dozat" and hp.get("momentum_decay") != 1.0),
        Variant("nadam/dozat-b2", "NAdam with v̂ multiplied by β2, as Dozat's Algorithm 2 prints it (no library "
                "does)", _NA, _nadam_bug(dozat_b2=True)),
        Variant("nadam/plain-adam", "plain Adam, m̂/(√v̂ + ε): the Nesterov look-ahead missing", _NA,
                _nadam_bug(adam=True)),
        Variant("nadam/ruder", "NAdam as Ruder's overview of gradient descent writes it: (β1·m̂_t + (1 − β1)g/(1 − β1ᵗ))"
                "/(√v̂ + ε) with m̂_t = m/(1 − β1ᵗ), constant momentum (optax divides the first term by 1 − β1^(t+1))",
                _NA, _nadam_bug(ruder=True)),
        *_decay_variants("nadam", reference.nadam),
    ),
    torch=LibraryMapping(
        ("NAdam",), _PT_RULES + (same("momentum_decay"), same("decoupled_weight_decay")),
        ("(b1, b2) → betas (torch.optim.NAdam); Dozat's schedule μ_t = β1(1 − ½·0.96^(t·momentum_decay))",
         "torch keeps the product Π_t in a scalar tensor of torch's default dtype: float64 here, so it is exact "
         "(with float32 it is off by ~4e-9 relative after 3 steps)"),
        conventions={"schedule": "dozat"},
    ),
    optax=LibraryMapping(
        ("nadam", "nadamw"), _OPTAX_RULES + (_EPS_ROOT,),
        ("lr → learning_rate; optax.nadam is adam(nesterov=True): the constant momentum β1, "
         "β1·m/(1 − β1^(t+1)) + (1 − β1)g/(1 − β1ᵗ) (checked as schedule = constant; momentum_decay has no "
         "effect there)",
         "optax.nadamw: decoupled decay w ← w − lr·(step + weight_decay·w), mask=None (checked as "
         "decoupled_weight_decay = true)"),
        coupled_decay=True,
        conventions={"schedule": "constant", "momentum_decay": 4e-3},   # ψ has no effect without the schedule
        name_conventions={"nadam": {"decoupled_weight_decay": False}, "nadamw": {"decoupled_weight_decay": True}},
    ),
    keras=LibraryMapping(
        ("Nadam",), _KERAS_RULES,
        ("(b1, b2) → (beta_1, beta_2), eps → epsilon (keras.optimizers.Nadam); Dozat's schedule with 0.96 raised "
         "to t, μ_t = β1(1 − ½·0.96ᵗ), and the product Π_t = μ_1⋯μ_t (one scalar shared by all variables, "
         "multiplied once per step): checked as schedule = dozat, momentum_decay = 1, its only form",
         _KERAS_DECAY_NOTE),
        conventions={"schedule": "dozat", "momentum_decay": 1.0, "decoupled_weight_decay": True},
    ),
    no_decay={"weight_decay": 0.0},
    dropped_by_bugs=("b1", "eps", "weight_decay"),
    aliases=_ALIASES,
)


# -------------------------------------------------------------------- RAdam


def _radam_bug(*, raw_momentum=False, rho_inf_no_minus_one=False, no_sqrt=False, always=False) -> Callable:
    def build(hp):
        lr, b1, b2, eps = hp["lr"], hp["b1"], hp["b2"], hp["eps"]

        def finish(g, s, hp):
            t = s["t"]
            c1, c2 = 1 - b1 ** t, 1 - b2 ** t
            m_hat = s["m"] / c1
            rho_t, rho_inf = radam_rho(t, b2)
            if rho_inf_no_minus_one:
                rho_inf = 2 / (1 - b2)
                rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
            if always or rho_t > 5:
                ratio = (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                r = 1.0 if always else (ratio if no_sqrt else np.sqrt(ratio))
                return -lr * m_hat * r * np.sqrt(c2) / (np.sqrt(s["v"]) + eps)
            return -lr * (s["m"] if raw_momentum else m_hat)

        return _moments_then(hp, finish)

    return build


_RA = ("radam",)


RADAM = Algorithm(
    name="radam",
    title="RAdam (Liu et al. 2020; PyTorch)",
    formula="ρ_t = ρ_∞ − 2tβ2ᵗ/(1 − β2ᵗ): once ρ_t > 5, w ← w − η r_t m̂ √(1 − β2ᵗ)/(√v + ε); before, "
            "w ← w − η m̂",
    params=(learning_rate(1e-3), *_COMMON,
            Param("threshold", "pytorch", "when the rectification starts: ρ_t > 5 (pytorch), ρ_t ≥ 5 (official: "
                  "the authors' code, optax) or ρ_t > 4 (paper)", type=str, choices=RADAM_THRESHOLDS,
                  draw=_choices(RADAM_THRESHOLDS)),
            Param("eps_placement", "hat", "where ε enters the rectified step: hat, r_t m̂ √(1 − β2ᵗ)/(√v + ε) "
                  "(PyTorch, the authors' code); outside, r_t m̂/(√v̂ + ε) (optax); inside, r_t m̂/√(v̂ + ε)",
                  type=str, choices=EPS_PLACEMENTS, draw=_choices(EPS_PLACEMENTS)),
            Param("degenerated_to_sgd", True, "before the rectification, step −η m̂ (PyTorch, optax); false: no "
                  "step at all (the authors' code's default)", type=bool, draw=_booleans),
            _DECOUPLED),
    reference=reference.radam,
    variants=(
        _convention("radam", reference.radam, "threshold", "paper",
                    "RAdam rectifying once ρ_t > 4, the paper's test, one step earlier than ρ_t > 5 (lessw2020/"
                    "Ranger PR #2)"),
        _convention("radam", reference.radam, "threshold", "pytorch",
                    "RAdam rectifying once ρ_t > 5 (PyTorch) or ≥ 5 (the authors' code, optax)",
                    differs=lambda current: current == "paper"),
        _convention("radam", reference.radam, "eps_placement", "outside",
                    "RAdam with ε added to √v̂, r_t m̂/(√v̂ + ε) (optax's convention)"),
        _convention("radam", reference.radam, "eps_placement", "hat",
                    "RAdam with ε added to √v before the bias correction, r_t m̂ √(1 − β2ᵗ)/(√v + ε) (PyTorch's and "
                    "the authors' convention)"),
        _convention("radam", reference.radam, "eps_placement", "inside",
                    "RAdam with ε inside the square root, r_t m̂/√(v̂ + ε)"),
        _convention("radam", reference.radam, "degenerated_to_sgd", False,
                    "RAdam taking no step before the rectification starts (the authors' code's default, "
                    "degenerated_to_sgd=False)"),
        _convention("radam", reference.radam, "degenerated_to_sgd", True,
                    "RAdam stepping −η m̂ before the rectification starts (PyTorch, optax)"),
        Variant("radam/sgd-phase-without-bias-correction", "RAdam's steps before the rectification use the raw "
                "momentum m instead of m̂ = m/(1 − β1ᵗ)", _RA, _radam_bug(raw_momentum=True)),
        Variant("radam/rho-inf-without-minus-one", "ρ_∞ = 2/(1 − β2) instead of 2/(1 − β2) − 1", _RA,
                _radam_bug(rho_inf_no_minus_one=True)),
        Variant("radam/rectifier-without-sqrt", "the rectifier r_t without its square root", _RA,
                _radam_bug(no_sqrt=True)),
        Variant("radam/no-rectification", "no rectification at all: Adam's step (ε-hat form) from the first step",
                _RA, _radam_bug(always=True)),
        *_decay_variants("radam", reference.radam),
    ),
    torch=LibraryMapping(
        ("RAdam",), _PT_RULES + (same("decoupled_weight_decay"),),
        ("(b1, b2) → betas (torch.optim.RAdam); rectified once ρ_t > 5, ε added to √v before the bias "
         "correction, −lr·m̂ before",),
        conventions={"threshold": "pytorch", "eps_placement": "hat", "degenerated_to_sgd": True},
    ),
    optax=LibraryMapping(
        ("radam",), _OPTAX_RULES + (_EPS_ROOT, const("threshold", 5.0, "threshold=5: rectified once ρ_t ≥ 5")),
        ("lr → learning_rate; optax rectifies once ρ_t ≥ threshold and adds ε to √v̂: checked as threshold = "
         "official, eps_placement = outside (its only conventions), −lr·m̂ before the rectification",),
        coupled_decay=True,
        conventions={"threshold": "official", "eps_placement": "outside", "degenerated_to_sgd": True,
                     "decoupled_weight_decay": False},
    ),
    keras=Unmapped("Keras 3 has no RAdam optimizer (keras.optimizers lists none)"),
    no_decay={"weight_decay": 0.0},
    dropped_by_bugs=("b1", "eps", "weight_decay"),
    aliases=_ALIASES,
)


# ------------------------------------------------------------------ AMSGrad


def _amsgrad_bug(*, forget=False, stale=False, no_correction=False, raw_max=False) -> Callable:
    def build(hp):
        lr, b1, b2, eps = hp["lr"], hp["b1"], hp["b2"], hp["eps"]
        of_v_hat = hp.get("maximum_of", "v") == "v-hat"
        placement = hp.get("eps_placement", "outside")      # the bug in the run's own ε form

        def finish(g, s, hp):
            t = s["t"]
            c1, c2 = (1.0, 1.0) if no_correction else (1 - b1 ** t, 1 - b2 ** t)
            v = s["v"] / c2 if of_v_hat else s["v"]
            old = s["vmax"]
            new = np.maximum(np.zeros_like(v) if forget else old, v)
            if not forget:
                s["vmax"] = new
            vmax = old if stale else new
            if raw_max:
                return -lr * (s["m"] / c1) / (np.sqrt(vmax) + eps)
            v_hat = vmax if of_v_hat else vmax / c2
            if placement == "inside":
                return -lr * (s["m"] / c1) / np.sqrt(v_hat + eps)
            if placement == "hat":
                return -lr * (s["m"] / c1) / (np.sqrt(v_hat) + eps / np.sqrt(c2))
            return -lr * (s["m"] / c1) / (np.sqrt(v_hat) + eps)

        return _moments_then(hp, finish)

    return build


_AM = ("amsgrad",)

AMSGRAD = Algorithm(
    name="amsgrad",
    title="AMSGrad (Reddi et al. 2018; PyTorch's Adam(amsgrad=True))",
    formula="v_max ← max(v_max, v), w ← w − η m̂/(√(v_max/(1 − β2ᵗ)) + ε)",
    params=(learning_rate(1e-3), *_COMMON,
            Param("maximum_of", "v", "the running maximum is of v, bias-corrected afterwards (PyTorch, TensorFlow, "
                  "Keras), or of v̂ = v/(1 − β2ᵗ) (optax)", type=str, choices=AMSGRAD_MAXIMA,
                  draw=_choices(AMSGRAD_MAXIMA)),
            Param("eps_placement", "outside", "where ε enters, as Adam's: outside the root after bias correction, "
                  "m̂/(√v̂_max + ε) (PyTorch, optax), inside, m̂/√(v̂_max + ε), or hat: the corrections folded into "
                  "the step size, η√(1 − β2ᵗ)/(1 − β1ᵗ)·m/(√v_max + ε) (Keras)", type=str, choices=EPS_PLACEMENTS,
                  draw=_choices(EPS_PLACEMENTS)),
            _DECOUPLED),
    reference=reference.amsgrad,
    variants=(
        _convention("amsgrad", reference.amsgrad, "maximum_of", "v-hat",
                    "AMSGrad with the maximum of the bias-corrected v̂, max(v̂_max, v/(1 − β2ᵗ)) (optax's convention; "
                    "optax issue #1389)"),
        _convention("amsgrad", reference.amsgrad, "maximum_of", "v",
                    "AMSGrad with the maximum of v, bias-corrected afterwards (PyTorch's and TensorFlow's "
                    "convention)"),
        Variant("amsgrad/maximum-never-stored", "AMSGrad whose running maximum is never stored: each step divides by "
                "max(0, v) = v, plain Adam (PyTorch's foreach kernel in 2022, pytorch/pytorch#78807)", _AM,
                _amsgrad_bug(forget=True)),
        _convention("amsgrad", reference.amsgrad, "eps_placement", "hat",
                    "AMSGrad with ε-hat, ε effectively scaled by √(1 − β2ᵗ): the corrections folded into the step "
                    "size, η√(1 − β2ᵗ)/(1 − β1ᵗ)·m/(√v_max + ε) (PyTorch's Adam before 2019, Keras' "
                    "Adam(amsgrad=True))"),
        _convention("amsgrad", reference.amsgrad, "eps_placement", "outside",
                    "AMSGrad with ε outside the root after bias correction, m̂/(√v̂_max + ε) (PyTorch's and optax's "
                    "convention)"),
        _convention("amsgrad", reference.amsgrad, "eps_placement", "inside",
                    "AMSGrad with ε inside the square root, m̂/√(v̂_max + ε)"),
        Variant("amsgrad/maximum-not-bias-corrected", "AMSGrad dividing by the raw √v_max: m̂/(√v_max + ε), v's bias "
                "correction left out", _AM, _amsgrad_bug(raw_max=True),
                applies=lambda hp: hp.get("maximum_of", "v") == "v"),
        Variant("amsgrad/stale-maximum", "the division uses the previous maximum (v_max updated after the step)",
                _AM, _amsgrad_bug(stale=True)),
        Variant("amsgrad/no-bias-correction", "AMSGrad without bias correction (Reddi et al.'s Algorithm 2, with ε)",
                _AM, _amsgrad_bug(no_correction=True)),
        *_decay_variants("amsgrad", reference.amsgrad),
    ),
    torch=LibraryMapping(
        ("Adam",), _PT_RULES + (same("decoupled_weight_decay"),
                                const("amsgrad", True, "amsgrad=True: torch's Adam keeps max(v_max, v)")),
        ("(b1, b2) → betas (torch.optim.Adam(amsgrad=True)); the maximum of v, bias-corrected afterwards: "
         "m̂/(√(v_max/(1 − β2ᵗ)) + ε)",),
        variants={"AdamW": "torch.optim.AdamW(amsgrad=True) under spec amsgrad: its weight_decay is decoupled "
                           "(checked as decoupled_weight_decay = true)"},
        conventions={"maximum_of": "v", "eps_placement": "outside"},
        name_conventions={"AdamW": {"decoupled_weight_decay": True}},
    ),
    optax=LibraryMapping(
        ("amsgrad",), _OPTAX_RULES + (_EPS_ROOT,),
        ("lr → learning_rate; optax keeps the maximum of v̂ = v/(1 − β2ᵗ): checked as maximum_of = v-hat "
         "(bias_correction_mu and bias_correction_nu at their default True)",),
        coupled_decay=True,
        conventions={"maximum_of": "v-hat", "eps_placement": "outside", "decoupled_weight_decay": False},
    ),
    keras=LibraryMapping(
        ("Adam",), _KERAS_RULES + (const("amsgrad", True, "amsgrad=True: Keras's Adam keeps v̂ ← max(v̂, v)"),),
        ("(b1, b2) → (beta_1, beta_2), eps → epsilon (keras.optimizers.Adam(amsgrad=True)); the maximum of the raw v "
         "in the ε̂ form, w ← w − lr·√(1 − β2ᵗ)/(1 − β1ᵗ)·m/(√v_max + ε): checked as maximum_of = v, "
         "eps_placement = hat, its only form",
         _KERAS_DECAY_NOTE),
        variants={"AdamW": "keras.optimizers.AdamW(amsgrad=True) under spec amsgrad: Adam(amsgrad=True) with the "
                           "decoupled decay every Keras optimizer has"},
        conventions={"maximum_of": "v", "eps_placement": "hat", "decoupled_weight_decay": True},
        settings={"amsgrad": True},
    ),
    no_decay={"weight_decay": 0.0},
    dropped_by_bugs=("b1", "eps", "weight_decay"),
    aliases=_ALIASES,
)
