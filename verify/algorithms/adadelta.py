"""Adadelta (Zeiler 2012), as PyTorch's ``torch.optim.Adadelta`` (reference: ``reference.adadelta``).

``E[g²] ← ρE[g²] + (1 − ρ)g²``, ``Δ = √(E[Δ²] + ε)/√(E[g²] + ε)·g``,
``E[Δ²] ← ρE[Δ²] + (1 − ρ)Δ²``, ``w ← w − ηΔ``; ``weight_decay`` is coupled
(``g ← g + λw`` first), in PyTorch and in ``optax.adadelta`` alike, which
compute the same update. The defaults differ (PyTorch ``lr = 1``; optax
``learning_rate=None``, which *adds* Δ — gradient ascent — in optax 0.2.8;
Keras ``η = 1e-3``, ``ρ = 0.95``, ``ε = 1e-7``): the mappings pass every value.
"""

from __future__ import annotations

import numpy as np

import reference
from reference._src.adagrad import scale_by_adadelta
from reference._src.base import as_optimizer, chain, scale
from reference._src.sgd import add_l2_gradient
from verify.algorithms._blocks import opt, stateful
from verify.algorithms._mapping import KERAS_LR, OPTAX_LR, LibraryMapping, Unmapped, same
from verify.algorithms._record import Algorithm, Variant, decay_strength, has_positive, learning_rate, positive, \
    unit_interval
from verify.params import Param

__all__ = ["ADADELTA"]


# ----------------------------------------------------------------- bug builders


def _custom(hp, *, swap=False, stale=False, root=True, eps_outside=False, eps_in_numerator=True, lr_in_average=False,
            forgets_state=False):
    lr, rho, eps, wd = hp["lr"], hp["rho"], hp["eps"], hp.get("weight_decay", 0.0)
    a, b = (1 - rho, rho) if swap else (rho, 1 - rho)

    def init(params):
        return {"v": np.zeros_like(params), "u": np.zeros_like(params)}

    def fn(g, st, p):
        g = g + wd * p
        old_v, u = st["v"], st["u"]
        v = a * old_v + b * g * g
        use = old_v if stale else v
        if not root:
            d = (u + eps) / (use + eps) * g
        elif eps_outside:
            d = (np.sqrt(u) + eps) / (np.sqrt(use) + eps) * g
        else:
            d = np.sqrt(u + eps if eps_in_numerator else u) / np.sqrt(use + eps) * g
        acc = lr * d if lr_in_average else d
        if not forgets_state:
            st["v"], st["u"] = v, a * u + b * acc * acc
        return -lr * d

    return opt(stateful(init, fn))


def _ascent(hp):
    """The reference's step with the sign flipped: w ← w + ηΔ."""
    inner = scale_by_adadelta(hp["rho"], hp["eps"])
    if hp["weight_decay"]:
        return as_optimizer(chain(add_l2_gradient(hp["weight_decay"] / 2.0), inner, scale(hp["lr"])))
    return as_optimizer(chain(inner, scale(hp["lr"])))


_AD = ("adadelta",)
_NOT_ONE = lambda hp: hp["lr"] != 1.0  # noqa: E731

ADADELTA = Algorithm(
    name="adadelta",
    title="Adadelta (Zeiler 2012; PyTorch, with a learning rate)",
    formula="E[g²] ← ρE[g²] + (1 − ρ)g², Δ = √(E[Δ²] + ε)/√(E[g²] + ε)·g, E[Δ²] ← ρE[Δ²] + (1 − ρ)Δ², w ← w − ηΔ; "
            "g ← g + λ_wd w",
    params=(
        learning_rate(1.0),
        Param("rho", 0.9, "ρ, decay of both running averages (ρ = 1: E[g²] stays 0 and Δ = g)", low=0.0, high=1.0,
              high_closed=True, draw=unit_interval),
        Param("eps", 1e-6, "ε inside both roots (ε > 0: it starts the steps, E[Δ²] begins at 0)", low=0.0,
              low_open=True, draw=positive(1e-10, 10.0)),
        Param("weight_decay", 0.0, "coupled L2 decay λ_wd: g ← g + λ_wd·w (PyTorch's and optax's Adadelta)", low=0.0,
              draw=decay_strength),
    ),
    reference=reference.adadelta,
    variants=(
        Variant("adadelta/no-eps-in-numerator", "ε missing from the numerator, √E[Δ²]/√(E[g²] + ε): E[Δ²] starts at 0, "
                "so nothing ever moves", _AD, lambda hp: _custom(hp, eps_in_numerator=False)),
        Variant("adadelta/eps-outside", "ε outside the roots: (√E[Δ²] + ε)/(√E[g²] + ε)·g", _AD,
                lambda hp: _custom(hp, eps_outside=True)),
        Variant("adadelta/no-sqrt", "the roots are missing: (E[Δ²] + ε)/(E[g²] + ε)·g", _AD,
                lambda hp: _custom(hp, root=False)),
        Variant("adadelta/swapped-rho", "ρ and 1 − ρ swapped in the averages: E ← (1 − ρ)E + ρx²", _AD,
                lambda hp: _custom(hp, swap=True)),
        Variant("adadelta/stale-average", "the division uses the previous E[g²] (updated after the step)", _AD,
                lambda hp: _custom(hp, stale=True)),
        Variant("adadelta/lr-in-average", "E[Δ²] accumulates the scaled step (ηΔ)² instead of Δ² (PyTorch, optax and "
                "Keras all accumulate Δ before η multiplies it)", _AD, lambda hp: _custom(hp, lr_in_average=True),
                applies=_NOT_ONE),
        Variant("adadelta/state-never-stored", "the running averages are never stored (the state updates rebind "
                "local names, as in a d2l port): every step starts from E[g²] = E[Δ²] = 0", _AD,
                lambda hp: _custom(hp, forgets_state=True)),
        Variant("adadelta/ascent", "the step added instead of subtracted, w ← w + ηΔ: gradient ascent "
                "(optax.adadelta() with its default learning_rate=None, optax 0.2.8)", _AD, _ascent),
        Variant("adadelta/decoupled-decay", "decoupled weight decay w ← w − η(Δ + λw) (Keras' weight_decay) instead "
                "of the coupled g + λw", _AD, lambda hp: reference.adadelta(**hp, decoupled_weight_decay=True),
                applies=has_positive("weight_decay")),
        Variant("adadelta/no-decay", "weight_decay ignored", _AD,
                lambda hp: reference.adadelta(**{**hp, "weight_decay": 0.0}), applies=has_positive("weight_decay")),
    ),
    torch=LibraryMapping(
        ("Adadelta",), (same("lr"), same("rho"), same("eps"), same("weight_decay")),
        ("weight_decay is torch's coupled L2 term (g ← g + weight_decay·w), as the spec",
         "E[Δ²] accumulates Δ before lr multiplies it; maximize=False (torch's default)"),
    ),
    optax=LibraryMapping(
        ("adadelta",), (OPTAX_LR, same("rho"), same("eps"), same("weight_decay")),
        ("lr → learning_rate, always passed: optax.adadelta's default learning_rate=None adds Δ (gradient ascent, "
         "optax 0.2.8)",
         "weight_decay is coupled (add_decayed_weights before scale_by_adadelta: g + weight_decay·w), as torch's"),
    ),
    keras=LibraryMapping(
        ("Adadelta",), (KERAS_LR, same("rho"), same("eps", "epsilon")),
        ("lr → learning_rate, eps → epsilon; every value passed (Keras's defaults are 1e-3, 0.95, 1e-7)",
         "Keras's weight_decay is decoupled (w ← w − w·weight_decay·lr before the step), the spec's coupled: "
         "the spec's weight_decay is held at 0"),
        conventions={"weight_decay": 0.0},
    ),
    no_decay={"weight_decay": 0.0},
    dropped_by_bugs=("eps", "weight_decay"),
)
