"""Sign methods: ``sign-sgd`` and ``rprop`` (iRprop−, as PyTorch)."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

import reference
from reference._src.base import EmptyState, Transform, as_optimizer, scale
from verify.algorithms._blocks import opt, stateful, zeros
from verify.algorithms._mapping import KERAS_LR, OPTAX_LR, LibraryMapping, Unmapped, pair, same
from verify.algorithms._record import Algorithm, Variant, constraint, learning_rate
from verify.params import Param

__all__ = ["SIGN_SGD", "RPROP"]

_SIGN, _RPROP = ("sign-sgd",), ("rprop",)


# ----------------------------------------------------------------- bug builders


def _sign_custom(hp, fn):
    return opt(Transform(lambda p: EmptyState(), lambda g, s, p: (fn(g), s)), scale(-hp["lr"]))


def _signum(hp, beta=0.9):
    def fn(g, s, p):
        s["m"] = beta * s["m"] + (1 - beta) * g
        return np.sign(s["m"])

    return opt(stateful(zeros("m"), fn), scale(-hp["lr"]))


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

    return as_optimizer(stateful(init, fn))


def optax_rprop(hp):
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

    return as_optimizer(stateful(init, fn))


# ------------------------------------------------------------------------ draws


def _rprop_hyperparameters(pinned: Mapping[str, Any]) -> Any:
    """Rprop's factors and bounds, with ``min_step_size ≤ lr ≤ max_step_size``.

    An initial step ``lr`` outside the bounds is clipped at once by PyTorch
    (and the reference) but not by optax while the sign product is 0; the
    drawn range avoids that degenerate corner unless ``lr`` or a bound is pinned.
    """
    from hypothesis import strategies as st

    from verify.draws import positive_floats

    pinned = dict(pinned)

    def build(eta_minus, eta_plus, lo, hi, u):
        lo = pinned.get("min_step_size", lo)
        hi = pinned.get("max_step_size", hi)
        if lo > hi:
            lo, hi = hi, lo
        top, bottom = min(hi, 10.0), max(lo, 1e-8)
        # exp(log(·)) rounds: an lr one ulp outside [bottom, top] is the corner the range avoids
        lr = pinned.get("lr", float(np.clip(np.exp(np.log(bottom) + u * (np.log(top) - np.log(bottom))), bottom, top))
                        if bottom < top else top)
        return {"lr": lr, "eta_minus": pinned.get("eta_minus", eta_minus),
                "eta_plus": pinned.get("eta_plus", eta_plus), "min_step_size": lo, "max_step_size": hi}

    return st.builds(
        build,
        st.floats(0.05, 0.95),
        st.floats(1.05, 3.0),
        st.one_of(st.just(0.0), positive_floats(1e-12, 1e-3)),
        positive_floats(1e-3, 1e3),
        st.floats(0.0, 1.0),
    )


def _bounds_in_order(p: Mapping[str, Any]) -> str | None:
    if p["min_step_size"] > p["max_step_size"]:
        return f"min_step_size {p['min_step_size']} exceeds max_step_size {p['max_step_size']}"
    return None


# ------------------------------------------------------------------ algorithms

SIGN_SGD = Algorithm(
    name="sign-sgd",
    title="Sign-SGD",
    formula="w ← w − η sgn(g), sgn(0) = 0",
    params=(learning_rate(0.01),),
    reference=reference.sign_sgd,
    variants=(
        Variant("sign-sgd/sgn0-plus-one", "sgn(0) = +1 (the notes' L1 convention) instead of 0: zero gradients still "
                "move the weight", _SIGN, lambda hp: _sign_custom(hp, lambda g: np.where(g >= 0, 1.0, -1.0))),
        Variant("sign-sgd/plain-sgd", "plain gradient descent w ← w − ηg (the sign is not taken)",
                _SIGN, lambda hp: reference.sgd(hp["lr"])),
        Variant("sign-sgd/normalised", "the gradient normalised by its Euclidean norm, g/‖g‖, instead of elementwise "
                "signs", _SIGN, lambda hp: _sign_custom(hp, lambda g: g / np.linalg.norm(g) if np.any(g) else g)),
        Variant("sign-sgd/signum", "signum: the sign of a momentum average (β = 0.9) instead of the gradient's",
                _SIGN, _signum),
        Variant("sign-sgd/ascent", "the step goes uphill: w ← w + η sgn(g)",
                _SIGN, lambda hp: _sign_custom(hp, lambda g: -np.sign(g))),
    ),
    torch=LibraryMapping(
        ("SGD",), (same("lr"),),
        ("torch has no sign-SGD: the target is a subclass following torch.optim.SGD's constructor",),
        builtin=False,
    ),
    optax=LibraryMapping(("sign_sgd",), (OPTAX_LR,), ("lr → learning_rate; sgn(0) = 0",)),
    keras=LibraryMapping(
        ("SGD",), (KERAS_LR,),
        ("Keras has no sign-SGD (Lion would be one at beta_1 = 0, which it refuses): the target is a subclass "
         "following keras.optimizers.SGD's constructor",),
        builtin=False,
    ),
)

RPROP = Algorithm(
    name="rprop",
    title="Rprop (iRprop−, PyTorch)",
    formula="Δ ← clip(Δ·η^±), g ← 0 after a sign change, w ← w − Δ sgn(g)",
    params=(
        learning_rate(0.01),
        Param("eta_minus", 0.5, "η⁻, step-size factor after a sign change", low=0.0, high=1.0, low_open=True),
        Param("eta_plus", 1.2, "η⁺, step-size factor while the sign holds", low=1.0, low_open=True),
        Param("min_step_size", 1e-6, "Δmin, lower bound of the step sizes", low=0.0),
        Param("max_step_size", 50.0, "Δmax, upper bound of the step sizes", low=0.0, low_open=True),
    ),
    reference=reference.rprop,
    draw=_rprop_hyperparameters,
    validate=constraint(_bounds_in_order),
    variants=(
        Variant("rprop/rprop-minus", "Rprop− (no zeroing of the gradient after a sign change: the step is taken and "
                "Δ shrinks)", _RPROP, lambda hp: reference.rprop(**hp, variant="rprop-")),
        Variant("rprop/rprop-plus", "Rprop+ (Riedmiller & Braun 1993: the previous step is undone after a sign "
                "change)", _RPROP, lambda hp: reference.rprop(**hp, variant="rprop+")),
        Variant("rprop/no-bounds", "Rprop without the step-size bounds [Δmin, Δmax]",
                _RPROP, lambda hp: _rprop_custom(hp, bounds=False)),
        Variant("rprop/no-clip-at-zero", "Δ is not clipped while the sign product is 0 (differs only if lr is outside "
                "[Δmin, Δmax])", _RPROP, lambda hp: _rprop_custom(hp, clip_at_zero=False)),
        Variant("rprop/optax", "optax 0.2's rprop: each call applies the previous call's update (a one-step lag; "
                "nothing moves at step 1), and Δ is not clipped while the sign product is 0",
                _RPROP, optax_rprop),
        Variant("rprop/swapped-etas", "η⁻ and η⁺ swapped (Δ grows after a sign change and shrinks otherwise)",
                _RPROP, lambda hp: _rprop_custom(hp, swap=True)),
        Variant("rprop/step-before-adapt", "the step uses the previous Δ; Δ is adapted after moving",
                _RPROP, lambda hp: _rprop_custom(hp, step_before_adapt=True)),
        Variant("rprop/steps-after-sign-change", "after a sign change Δ shrinks and the step is taken at once (the "
                "remembered gradient is still set to 0): no step is skipped",
                _RPROP, lambda hp: _rprop_custom(hp, skip_flipped=False)),
        Variant("rprop/keeps-flipped-gradient", "after a sign change the step is skipped but the gradient is "
                "remembered (not set to 0)", _RPROP, lambda hp: _rprop_custom(hp, forget=False)),
    ),
    torch=LibraryMapping(
        ("Rprop",),
        (same("lr"), pair("eta_minus", "eta_plus", "etas"), pair("min_step_size", "max_step_size", "step_sizes")),
        ("(eta_minus, eta_plus) → etas, (min_step_size, max_step_size) → step_sizes (torch.optim.Rprop)",
         "torch.optim.Rprop is iRprop− (zeroes g_t after a sign change, clips Δ at every step): the spec's "
         "canonical variant"),
    ),
    optax=LibraryMapping(
        ("rprop",),
        (OPTAX_LR, same("eta_minus"), same("eta_plus"), same("min_step_size"), same("max_step_size")),
        ("lr → learning_rate (the initial step size Δ₀)",
         "optax.rprop's documented algorithm is iRprop− (no step after a sign change, which zeroes the "
         "remembered gradient), the spec's canonical variant; nothing else is mapped",
         "optax skips the clip of Δ to [min_step_size, max_step_size] when g_t·g_{t−1} = 0 (the first step, "
         "zero gradients); equal to the spec, which clips at every step, when lr ∈ [min_step_size, max_step_size]"),
    ),
    keras=Unmapped("Keras 3 has no Rprop optimizer (keras.optimizers lists none)"),
    dropped_by_bugs=("min_step_size",),
    aliases={"lr": ("delta0", "delta_0", "init_step", "initial_step_size")},
)
