"""Adagrad (Duchi, Hazan & Singer 2011), as PyTorch's ``torch.optim.Adagrad`` (reference: ``reference.adagrad``).

``s ← s + g²`` from ``s₀ = initial_accumulator_value``, ``w ← w − η g/(√s + ε)``.

Two conventions exist for ε: PyTorch adds it outside the root (the canonical
form), optax (``scale_by_rss``) inside, ``g/√(s + ε)``, and takes a zero step
where ``s = 0``. ``eps_placement`` says which a run checks; optax's mapping
holds it at ``inside``, so ``optax.adagrad`` is checked in its own convention.
The defaults differ too (PyTorch: ``s₀ = 0``, ``ε = 1e-10``; optax:
``s₀ = 0.1``, ``ε = 1e-7``): the mappings pass every value explicitly.
PyTorch's ``lr_decay`` and ``weight_decay`` are left at 0 (not part of this algorithm).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import reference
from reference._src.adagrad import ADAGRAD_EPS_PLACEMENTS as EPS_PLACEMENTS
from reference._src.base import scale
from verify.algorithms._blocks import opt, stateful
from verify.algorithms._mapping import KERAS_LR, OPTAX_LR, LibraryMapping, same
from verify.algorithms._record import Algorithm, Variant, learning_rate, positive
from verify.params import Param

__all__ = ["ADAGRAD"]


# ----------------------------------------------------------------- bug builders


def _custom(hp, *, root=True, stale=False, mean=False, absolute=False):
    lr, eps, s0 = hp["lr"], hp["eps"], hp["initial_accumulator_value"]

    def init(params):
        return {"s": np.full_like(params, s0), "t": 0}

    def fn(g, st, p):
        st["t"] += 1
        old = st["s"]
        st["s"] = old + (np.abs(g) if absolute else g * g)
        s = old if stale else st["s"]
        if mean:
            s = s / st["t"]
        if root and hp.get("eps_placement") == "inside":     # the bug in the run's own ε convention
            return g / np.sqrt(s + eps)
        return g / ((np.sqrt(s) if root else s) + eps)

    return opt(stateful(init, fn), scale(-lr))


def _draw_placement() -> Any:
    from hypothesis import strategies as st

    return st.sampled_from(EPS_PLACEMENTS)


def _draw_accumulator() -> Any:
    from hypothesis import strategies as st

    from verify.draws import positive_floats

    return st.one_of(st.just(0.0), positive_floats(1e-6, 10.0))


_ADAGRAD = ("adagrad",)
_OUTSIDE = lambda hp: hp.get("eps_placement", "outside") == "outside"  # noqa: E731

ADAGRAD = Algorithm(
    name="adagrad",
    title="Adagrad (Duchi et al. 2011; PyTorch)",
    formula="s ← s + g² (s₀ = initial_accumulator_value), w ← w − ηg/(√s + ε)",
    params=(
        learning_rate(0.01),
        Param("eps", 1e-10, "ε added to the denominator (ε > 0)", low=0.0, low_open=True, draw=positive(1e-16, 10.0)),
        Param("initial_accumulator_value", 0.0, "s₀, the starting value of the sum of squared gradients", low=0.0,
              draw=_draw_accumulator),
        Param("eps_placement", "outside", "where ε enters: outside the root, g/(√s + ε) (PyTorch), or inside, "
              "g/√(s + ε) (optax)", type=str, choices=EPS_PLACEMENTS, draw=_draw_placement),
    ),
    reference=reference.adagrad,
    variants=(
        Variant("adagrad/eps-inside", "Adagrad with ε inside the square root, g/√(s + ε) (optax's convention: check "
                "it with --param eps_placement=inside)", _ADAGRAD,
                lambda hp: reference.adagrad(**{**hp, "eps_placement": "inside"}), applies=_OUTSIDE),
        Variant("adagrad/no-sqrt", "the square root is missing: g/(s + ε)", _ADAGRAD,
                lambda hp: _custom(hp, root=False)),
        Variant("adagrad/stale-accumulator", "the division uses the previous sum s_(t−1) (g² added after the step)",
                _ADAGRAD, lambda hp: _custom(hp, stale=True)),
        Variant("adagrad/mean-of-squares", "the mean of the squared gradients, s/t, instead of their sum",
                _ADAGRAD, lambda hp: _custom(hp, mean=True)),
        Variant("adagrad/abs-accumulator", "the accumulator sums |g| instead of g²: s ← s + |g|, dividing by √s",
                _ADAGRAD, lambda hp: _custom(hp, absolute=True)),
    ),
    torch=LibraryMapping(
        ("Adagrad",), (same("lr"), same("eps"), same("initial_accumulator_value")),
        ("ε outside the root, w ← w − lr·g/(√s + ε): torch's convention is the canonical one",
         "lr_decay=0, weight_decay=0 (torch's defaults)"),
        conventions={"eps_placement": "outside"},
    ),
    optax=LibraryMapping(
        ("adagrad",), (OPTAX_LR, same("eps"), same("initial_accumulator_value")),
        ("lr → learning_rate (optax.adagrad); initial_accumulator_value and eps always passed (optax's defaults "
         "are 0.1 and 1e-7, PyTorch's 0 and 1e-10)",
         "optax puts ε inside the root, w ← w − lr·g/√(s + ε), with a zero step where s = 0: checked as "
         "eps_placement = inside, its only convention"),
        conventions={"eps_placement": "inside"},
    ),
    keras=LibraryMapping(
        ("Adagrad",), (KERAS_LR, same("eps", "epsilon"), same("initial_accumulator_value")),
        ("lr → learning_rate, eps → epsilon (keras.optimizers.Adagrad); initial_accumulator_value and epsilon "
         "always passed (Keras's defaults are 0.1 and 1e-7)",
         "Keras puts ε inside the root, w ← w − lr·g/√(s + ε): checked as eps_placement = inside, its only "
         "convention"),
        conventions={"eps_placement": "inside"},
    ),
    dropped_by_bugs=("eps", "initial_accumulator_value"),
)
