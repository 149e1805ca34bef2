"""LAMB (You et al. 2020, Algorithm 2, φ the identity), as ``optax.lamb`` computes it (reference: ``reference.lamb``).

Adam's ``r = m̂/(√v̂ + ε)``, ``u = r + λw``, ``w ← w − η‖w‖/‖u‖·u`` per layer (the
ratio 1 where either norm is 0). A layer is one tensor: the adapters hand the
parameters over as one (``one_tensor``), so the trust ratio is the norm of the
whole parameter vector. ``weight_decay_form``: ``paper`` (optax; canonical) or
``keras`` (Keras' ``Lamb``: the weights shrunk first, ``w' = w − ηλw``, the ratio
‖w'‖/‖r‖ of the plain Adam step). PyTorch has no LAMB: a ``torch.optim.Optimizer``
subclass is called with torch's Adam keywords (cybertronai's pytorch-lamb, timm).

Without decay, and with ε = 0, the bias corrections cancel in the ratio: a LAMB
without them differs only through ε and λ, and the diagnosis names it only where
it matches on every case (``applies`` keeps it off where it cannot differ).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import reference
from reference._src.lamb import LAMB_WEIGHT_DECAY_FORMS as FORMS
from verify.algorithms._blocks import opt, stateful
from verify.algorithms._mapping import KERAS_LR, OPTAX_LR, LibraryMapping, Unmapped, const, pair, same
from verify.algorithms._record import Algorithm, Variant, decay_strength, has_positive, learning_rate, positive, \
    unit_interval
from verify.params import Param

__all__ = ["LAMB"]


def _norm(x):
    return np.sqrt(np.sum(x * x))


# ----------------------------------------------------------------- bug builders


def _custom(hp, *, debias=True, clamp=None, decay="step", ratio="norms", eps_inside=False, step_debias=False):
    """LAMB written out: ``decay`` step (paper) | gradient (coupled, Adam-style) | outside-norm (u = r + λw but the
    ratio of ‖r‖) | none; ``ratio`` norms | inverted | squared | one (no trust ratio) | unguarded (‖w‖/‖u‖ also
    where a norm is 0); ``clamp`` φ = min(‖w‖, clamp); ``step_debias`` the corrections √(1 − β2ᵗ)/(1 − β1ᵗ) on the
    step size, outside the ratio (with ``debias=False``: jettify's ``debias=True``)."""
    lr, b1, b2, eps, wd = hp["lr"], hp["b1"], hp["b2"], hp["eps"], hp["weight_decay"]

    def init(params):
        return {"m": np.zeros_like(params), "v": np.zeros_like(params), "t": 0}

    def fn(g, st, p):
        if decay == "gradient":
            g = g + wd * p
        st["t"] += 1
        t = st["t"]
        st["m"] = b1 * st["m"] + (1 - b1) * g
        st["v"] = b2 * st["v"] + (1 - b2) * g * g
        m, v = (st["m"] / (1 - b1 ** t), st["v"] / (1 - b2 ** t)) if debias else (st["m"], st["v"])
        r = m / (np.sqrt(v + eps) if eps_inside else np.sqrt(v) + eps)
        u = r + wd * p if decay in ("step", "outside-norm") else r
        wn = _norm(p) if clamp is None else min(_norm(p), clamp)
        un = _norm(r if decay == "outside-norm" else u)
        if ratio == "one":
            tr = 1.0
        elif ratio == "unguarded":
            with np.errstate(divide="ignore", invalid="ignore"):
                tr = np.float64(wn) / np.float64(un)
        elif wn == 0 or un == 0:
            tr = 1.0
        else:
            tr = {"norms": wn / un, "inverted": un / wn, "squared": (wn / un) ** 2}[ratio]
        if step_debias:
            tr = tr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return -lr * tr * u

    return opt(stateful(init, fn))


def _draw_form() -> Any:
    from hypothesis import strategies as st

    return st.sampled_from(FORMS)


_LAMB = ("lamb",)
_DECAY = has_positive("weight_decay")
_PAPER = lambda hp: hp.get("weight_decay_form", "paper") == "paper"  # noqa: E731
_PAPER_DECAY = lambda hp: _PAPER(hp) and hp["weight_decay"] > 0  # noqa: E731


def _bug(**options: Any):
    return lambda hp: _custom(hp, **options)


LAMB = Algorithm(
    name="lamb",
    title="LAMB (You et al. 2020, Algorithm 2; optax)",
    formula="r = m̂/(√v̂ + ε), u = r + λ_wd w, w ← w − η (‖w‖/‖u‖) u per layer (Adam's m̂, v̂)",
    params=(
        learning_rate(1e-3),
        Param("b1", 0.9, "β1, decay of the first moment", low=0.0, high=1.0, draw=unit_interval),
        Param("b2", 0.999, "β2, decay of the second moment", low=0.0, high=1.0, draw=unit_interval),
        Param("eps", 1e-6, "ε added to √v̂ (ε > 0)", low=0.0, low_open=True, draw=positive(1e-12, 10.0)),
        Param("weight_decay", 0.0, "decay λ_wd, added to the step the trust ratio rescales (paper)", low=0.0,
              draw=decay_strength),
        Param("weight_decay_form", "paper", "paper: u = r + λw inside the trust ratio (optax); keras: w' = w − ηλw "
              "first, then w' − η‖w'‖/‖r‖·r (keras.optimizers.Lamb)", type=str, choices=FORMS, draw=_draw_form),
    ),
    reference=reference.lamb,
    variants=(
        Variant("lamb/keras-decay", "the decay outside the trust ratio, w' = w − ηλw then w' − η‖w'‖/‖r‖·r "
                "(Keras' Lamb: check it with --param weight_decay_form=keras)", _LAMB,
                lambda hp: reference.lamb(**{**hp, "weight_decay_form": "keras"}), applies=_PAPER_DECAY),
        Variant("lamb/paper-decay", "the decay inside the trust ratio, u = r + λw (the paper's and optax's form: "
                "check it with --param weight_decay_form=paper)", _LAMB,
                lambda hp: reference.lamb(**{**hp, "weight_decay_form": "paper"}),
                applies=lambda hp: not _PAPER(hp) and hp["weight_decay"] > 0),
        Variant("lamb/decay-in-gradient", "the decay added to the gradient, Adam-style (g + λw enters m and v; the "
                "ratio of the plain Adam step) instead of to the step (cybertronai/pytorch-lamb issue #3)", _LAMB,
                _bug(decay="gradient"), applies=_PAPER_DECAY),
        Variant("lamb/no-debias", "no bias correction: r = m/(√v + ε) with the raw moments (the paper's arXiv v3 and "
                "cybertronai/pytorch-lamb; the ratio cancels the corrections only without ε and decay)", _LAMB,
                _bug(debias=False), applies=_PAPER),
        Variant("lamb/no-debias-clamped", "cybertronai/pytorch-lamb: no bias correction and φ(‖w‖) = min(‖w‖, 10)",
                _LAMB, _bug(debias=False, clamp=10.0), applies=_PAPER),
        Variant("lamb/debias-outside-ratio-clamped", "jettify/pytorch-optimizer's Lamb(debias=True): raw moments, "
                "the corrections √(1 − β2ᵗ)/(1 − β1ᵗ) on the step size outside the trust ratio (which does not cancel "
                "them there) and φ(‖w‖) = min(‖w‖, 10)", _LAMB, _bug(debias=False, clamp=10.0, step_debias=True),
                applies=_PAPER),
        Variant("lamb/unguarded-ratio", "the trust ratio ‖w‖/‖u‖ without its guard (1 where a norm is 0): where "
                "‖w‖ = 0, a bias as initialised, the ratio is 0 and the tensor never moves", _LAMB,
                _bug(ratio="unguarded"), applies=_PAPER),
        Variant("lamb/ratio-without-decay", "the trust ratio ‖w‖/‖r‖ of the Adam step without the decay, applied to "
                "r + λw", _LAMB, _bug(decay="outside-norm"), applies=_PAPER_DECAY),
        Variant("lamb/no-decay", "weight_decay ignored", _LAMB, _bug(decay="none"), applies=_PAPER_DECAY),
        Variant("lamb/no-trust-ratio", "no trust ratio: w ← w − η(r + λw), AdamW's step", _LAMB, _bug(ratio="one"),
                applies=_PAPER),
        Variant("lamb/trust-ratio-inverted", "the trust ratio inverted: ‖u‖/‖w‖", _LAMB, _bug(ratio="inverted"),
                applies=_PAPER),
        Variant("lamb/trust-ratio-squared", "the trust ratio of squared norms: ‖w‖²/‖u‖²", _LAMB,
                _bug(ratio="squared"), applies=_PAPER),
        Variant("lamb/eps-inside", "ε inside the square root: m̂/√(v̂ + ε)", _LAMB, _bug(eps_inside=True),
                applies=_PAPER),
    ),
    torch=LibraryMapping(
        ("Optimizer",), (same("lr"), pair("b1", "b2", "betas"), same("eps"), same("weight_decay")),
        ("torch has no LAMB (torch 2.13): a torch.optim.Optimizer subclass is called with Adam's keywords, "
         "Lamb(params, lr=lr, betas=(b1, b2), eps=eps, weight_decay=weight_decay) (cybertronai's pytorch-lamb, "
         "timm's Lamb)",
         "weight_decay_form held at paper: the decay inside the trust ratio",
         "timm's Lamb is checked at max_grad_norm=None, always_adapt=True (its defaults, 1.0 and False, clip the "
         "gradients by their global norm before the step and take no trust ratio where weight_decay = 0), "
         "trust_clip=False (LAMBC), grad_averaging=True, decoupled_decay=False and caution=False; set otherwise, "
         "it is refused, naming the functools.partial that checks it"),
        builtin=False, conventions={"weight_decay_form": "paper"},
        settings={"max_grad_norm": None, "always_adapt": True, "trust_clip": False, "grad_averaging": True,
                  "decoupled_decay": False, "caution": False},
    ),
    optax=LibraryMapping(
        ("lamb",), (OPTAX_LR, same("b1"), same("b2"), same("eps"), same("weight_decay"),
                    const("eps_root", 0.0, "eps_root=0: ε only outside the root")),
        ("lr → learning_rate; optax.lamb = scale_by_adam, add_decayed_weights, scale_by_trust_ratio per pytree leaf "
         "(one layer here), mask=None",
         "the decay inside the trust ratio: checked as weight_decay_form = paper, optax's only form"),
        conventions={"weight_decay_form": "paper"},
    ),
    keras=LibraryMapping(
        ("Lamb",), (KERAS_LR, same("b1", "beta_1"), same("b2", "beta_2"), same("eps", "epsilon"),
                    same("weight_decay")),
        ("lr → learning_rate, (b1, b2, eps) → (beta_1, beta_2, epsilon); every value passed (Keras's ε is 1e-7, "
         "its weight_decay None)",
         "Keras decays before the step, outside the trust ratio (w' = w − w·weight_decay·lr, then the ratio "
         "‖w'‖/‖r‖ of the Adam direction r alone): checked as weight_decay_form = keras, its only form"),
        conventions={"weight_decay_form": "keras"},
    ),
    no_decay={"weight_decay": 0.0},
    dropped_by_bugs=("eps", "weight_decay"),
    one_tensor=True,
)
