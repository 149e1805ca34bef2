"""Lion (Chen et al. 2023, Program 1), as ``optax.lion`` and Keras' ``Lion`` compute it (reference: ``reference.lion``).

``c = β1m + (1 − β1)g``, ``w ← w − η(sgn c + λw)``, ``m ← β2m + (1 − β2)g``: the
interpolation uses β1, the stored momentum β2, and the decay is decoupled
(multiplied by η, applied to the weights before the step). PyTorch has no Lion:
a ``torch.optim.Optimizer`` subclass is called as lucidrains' ``lion-pytorch``
(``Lion(params, lr, betas, weight_decay)``). optax's default ``weight_decay`` is
1e-3, the spec's 0: the mapping always passes it.
"""

from __future__ import annotations

import numpy as np

import reference
from verify.algorithms._blocks import opt, stateful
from verify.algorithms._mapping import KERAS_LR, OPTAX_LR, LibraryMapping, pair, same
from verify.algorithms._record import Algorithm, Variant, decay_strength, has_positive, learning_rate, unit_interval
from verify.params import Param

__all__ = ["LION"]


# ----------------------------------------------------------------- bug builders


def _custom(hp, *, decay="decoupled", direction="interpolation", sign=np.sign):
    """Lion written out: ``decay`` coupled | decoupled | after | unscaled | none; ``direction`` interpolation |
    momentum-first (m updated, then sgn m) | swapped (c with β2, m with β1) | stored-interpolation (m ← c) |
    gradient (sgn g) | no-sign (c itself)."""
    lr, b1, b2, wd = hp["lr"], hp["b1"], hp["b2"], hp["weight_decay"]

    def init(params):
        return {"m": np.zeros_like(params)}

    def fn(g, st, p):
        if decay == "coupled":
            g = g + wd * p
        m = st["m"]
        ci, cm = (b2, b1) if direction == "swapped" else (b1, b2)
        c = ci * m + (1 - ci) * g
        new_m = cm * m + (1 - cm) * g
        if direction == "momentum-first":
            c = new_m
        elif direction == "stored-interpolation":
            new_m = c
        elif direction == "gradient":
            c = g
        st["m"] = new_m
        step = -lr * (c if direction == "no-sign" else sign(c))
        if decay == "decoupled":
            step = step - lr * wd * p
        elif decay == "after":
            step = (p + step) * (1 - lr * wd) - p
        elif decay == "unscaled":
            step = step - wd * p
        return step

    return opt(stateful(init, fn))


def _plus_at_zero(c):
    return np.where(c >= 0, 1.0, -1.0)


_LION = ("lion",)
_DECAY = has_positive("weight_decay")
_BETAS_DIFFER = lambda hp: hp["b1"] != hp["b2"]  # noqa: E731

LION = Algorithm(
    name="lion",
    title="Lion (Chen et al. 2023; optax, Keras)",
    formula="c = β1m + (1 − β1)g, w ← w − η(sgn c + λ_wd w), m ← β2m + (1 − β2)g",
    params=(
        learning_rate(1e-4),
        Param("b1", 0.9, "β1, the interpolation of the momentum and the gradient whose sign is the step", low=0.0,
              high=1.0, draw=unit_interval),
        Param("b2", 0.99, "β2, decay of the stored momentum m", low=0.0, high=1.0, draw=unit_interval),
        Param("weight_decay", 0.0, "decoupled decay λ_wd: w ← w − η(sgn c + λ_wd·w), on the weights before the step",
              low=0.0, draw=decay_strength),
    ),
    reference=reference.lion,
    variants=(
        Variant("lion/coupled-decay", "coupled decay: g + λw added to the gradient, so it enters the sign and the "
                "momentum instead of shrinking the weights by ηλw (bitsandbytes' 32-bit Lion, issue #1992)", _LION,
                lambda hp: _custom(hp, decay="coupled"), applies=_DECAY),
        Variant("lion/decay-after-step", "the decay applied after the sign step: w ← (w − η sgn c)(1 − ηλ)", _LION,
                lambda hp: _custom(hp, decay="after"), applies=_DECAY),
        Variant("lion/decay-not-scaled-by-lr", "the decay is not multiplied by η: w ← w − η sgn c − λw", _LION,
                lambda hp: _custom(hp, decay="unscaled"), applies=_DECAY),
        Variant("lion/no-decay", "weight_decay ignored", _LION, lambda hp: _custom(hp, decay="none"),
                applies=_DECAY),
        Variant("lion/momentum-updated-first", "the momentum updated first and its sign taken: sgn(β2m + (1 − β2)g) "
                "(one β where Lion has two)", _LION, lambda hp: _custom(hp, direction="momentum-first"),
                applies=_BETAS_DIFFER),
        Variant("lion/swapped-betas", "β1 and β2 swapped: the sign of β2m + (1 − β2)g, the momentum kept with β1",
                _LION, lambda hp: _custom(hp, direction="swapped"), applies=_BETAS_DIFFER),
        Variant("lion/interpolation-stored", "the interpolation c stored as the momentum (m ← β1m + (1 − β1)g; β2 "
                "unused)", _LION, lambda hp: _custom(hp, direction="stored-interpolation"), applies=_BETAS_DIFFER),
        Variant("lion/sign-of-gradient", "the sign of the gradient alone (sign SGD: no momentum)", _LION,
                lambda hp: _custom(hp, direction="gradient")),
        Variant("lion/no-sign", "no sign: the step is η·c itself (momentum SGD)", _LION,
                lambda hp: _custom(hp, direction="no-sign")),
        Variant("lion/sign-zero-plus-one", "sgn(0) taken as +1 (c ≥ 0 → +1): an entry whose c is 0 still moves",
                _LION, lambda hp: _custom(hp, sign=_plus_at_zero)),
    ),
    torch=LibraryMapping(
        ("Optimizer",), (same("lr"), pair("b1", "b2", "betas"), same("weight_decay")),
        ("torch has no Lion (torch 2.13): a torch.optim.Optimizer subclass is called as lucidrains' lion-pytorch, "
         "Lion(params, lr=lr, betas=(b1, b2), weight_decay=weight_decay)",
         "weight_decay decoupled: w ← w(1 − lr·weight_decay) before the sign step"),
        builtin=False,
    ),
    optax=LibraryMapping(
        ("lion",), (OPTAX_LR, same("b1"), same("b2"), same("weight_decay")),
        ("lr → learning_rate; weight_decay always passed (optax's default is 1e-3, the spec's 0)",
         "decoupled, lr-scaled decay (add_decayed_weights before scale_by_learning_rate): "
         "w ← w − lr·(sgn c + weight_decay·w); mask=None: every parameter is decayed"),
    ),
    keras=LibraryMapping(
        ("Lion",), (KERAS_LR, same("b1", "beta_1"), same("b2", "beta_2"), same("weight_decay")),
        ("(b1, b2) → (beta_1, beta_2) (keras.optimizers.Lion): w ← w − lr·sgn(β1m + (1 − β1)g), m ← β2m + (1 − β2)g",
         "weight_decay decoupled, applied before the sign step (w ← w − w·weight_decay·lr), as the spec"),
        restricted={"b1": (lambda b1: b1 > 0, "b1 > 0: keras.optimizers.Lion raises for beta_1 ≤ 0 (\"the "
                                               "optimizer degenerates to SignSGD\")")},
    ),
    no_decay={"weight_decay": 0.0},
    dropped_by_bugs=("weight_decay",),
)
