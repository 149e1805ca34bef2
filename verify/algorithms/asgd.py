"""ASGD (averaged SGD, Polyak & Juditsky 1992), as PyTorch's ``torch.optim.ASGD`` (reference: ``reference.asgd``).

``g ← g + λ_wd w``, ``w ← w(1 − λη_t) − η_t g``, ``ax ← ax + μ_t(w − ax)``, ``η_t = η₀/(1 + λη₀(t − 1))^α``,
``μ_t = 1/max(1, t − 1 − t₀)``. The checked output is the iterate ``w`` (every optimizer's observable): the
average ``ax`` never enters it, so ``t0`` changes nothing conformance sees (``reference.asgd_average`` checks
an average, docs/optimizers.md). The catalogue is seeded with PyTorch's real bug: the multi-tensor kernel's
``η₀/(1 + λη₀t^α)`` before PR #125440 (2024). optax and Keras have no ASGD.
"""

from __future__ import annotations

import numpy as np

import reference
from reference._src.asgd import asgd_eta, asgd_mu
from verify.algorithms._blocks import opt, stateful
from verify.algorithms._mapping import LibraryMapping, Unmapped, same
from verify.algorithms._record import Algorithm, Variant, decay_strength, has_positive, learning_rate, positive
from verify.params import Param

__all__ = ["ASGD"]


# ----------------------------------------------------------------- draws


def _lambd():
    from hypothesis import strategies as st

    from verify.draws import positive_floats

    # 0 (plain SGD), PyTorch's default, and λη₀ large enough that the schedule's form shows within a few steps
    return st.one_of(st.just(0.0), st.just(1e-4), positive_floats(1e-6, 1.0))


def _alpha():
    from hypothesis import strategies as st

    # 0 (a constant rate), 1 (where both forms of the schedule agree) and PyTorch's 0.75 beside the bulk
    return st.one_of(st.just(0.75), st.sampled_from((0.0, 0.5, 1.0)), st.floats(0.0, 2.0, allow_subnormal=False))


def _t0():
    from hypothesis import strategies as st

    # averaging from the first steps on, and PyTorch's default (no averaging in the first million steps)
    return st.one_of(st.just(1e6), st.integers(0, 10).map(float))


# ----------------------------------------------------------------- bug builders


def _custom(hp, *, eta_step=lambda t: t - 1, schedule=True, shrink="before", returns_average=False, mu_step=0):
    """ASGD written out: ``eta_step(t)`` the step count the rate of step ``t`` is computed from; ``schedule``
    False: η = η₀ throughout; ``shrink`` before | after (w ← (w − ηg)(1 − λη)) | lr (1 − λη₀) | none;
    ``returns_average``: the average ``ax`` is returned as the new parameters (True: the iterate kept inside;
    "fed-back": the next step starts from the average it was given back, as a ``step(w, g)`` returning ``ax`` does);
    ``mu_step``: ax's weight of step t is μ of step t + mu_step (1: μ = 1/max(1, t − t₀))."""
    lr, lambd, alpha, t0, wd = hp["lr"], hp["lambd"], hp["alpha"], hp["t0"], hp["weight_decay"]

    def init(params):
        return {"t": 0, "w": np.array(params, copy=True), "ax": np.zeros_like(params)}

    def fn(g, st, p):
        t = st["t"] + 1
        w = p if returns_average == "fed-back" else st["w"]
        eta = asgd_eta(eta_step(t) + 1, lr, lambd, alpha) if schedule else lr
        g = g + wd * w
        if shrink == "before":
            new = w * (1 - lambd * eta) - eta * g
        elif shrink == "after":
            new = (w - eta * g) * (1 - lambd * eta)
        elif shrink == "lr":
            new = w * (1 - lambd * lr) - eta * g
        else:
            new = w - eta * g
        mu = asgd_mu(t + mu_step, t0)
        ax = new if mu == 1.0 else st["ax"] + mu * (new - st["ax"])
        st.update(t=t, w=new, ax=ax)
        return (ax if returns_average else new) - p

    return opt(stateful(init, fn))


_AS = ("asgd",)
_SCHEDULED = lambda hp: hp["lambd"] > 0 and hp["alpha"] > 0  # noqa: E731
_SHRINKS = has_positive("lambd")
_FORMS_DIFFER = lambda hp: hp["lambd"] > 0 and hp["alpha"] != 1.0  # noqa: E731

ASGD = Algorithm(
    name="asgd",
    title="ASGD, averaged SGD (Polyak & Juditsky 1992; PyTorch)",
    formula="g ← g + λ_wd w, w ← w(1 − λη_t) − η_t g, η_t = η₀/(1 + λη₀(t − 1))^α; "
            "ax ← ax + μ_t(w − ax), μ_t = 1/max(1, t − 1 − t₀) (the iterates w are checked)",
    params=(
        learning_rate(1e-2),
        Param("lambd", 1e-4, "λ, the decay of the rate η_t and the shrink w(1 − λη_t) (PyTorch's lambd)", low=0.0,
              draw=_lambd),
        Param("alpha", 0.75, "α, the power of the rate's decay η₀/(1 + λη₀(t − 1))^α", low=0.0, draw=_alpha),
        Param("t0", 1e6, "t₀, the step after which ax averages the iterates (it never changes the iterates)",
              low=0.0, draw=_t0),
        Param("weight_decay", 0.0, "coupled L2 decay λ_wd: g ← g + λ_wd·w (PyTorch's ASGD)", low=0.0,
              draw=decay_strength),
    ),
    reference=reference.asgd,
    variants=(
        Variant("asgd/eta-power-on-step", "the rate η₀/(1 + λη₀t^α), the power applied to the step count alone, "
                "instead of η₀/(1 + λη₀t)^α (PyTorch's multi-tensor ASGD, foreach=True, before PR #125440, 2024)",
                _AS, lambda hp: reference.asgd(**hp, eta_form="power-of-step"), applies=_FORMS_DIFFER),
        Variant("asgd/eta-from-current-step", "the rate of step t computed from t instead of the t − 1 steps "
                "taken before it (η updated before the step, not after)", _AS,
                lambda hp: _custom(hp, eta_step=lambda t: t), applies=_SCHEDULED),
        Variant("asgd/constant-eta", "the rate never decays: η = η₀ at every step", _AS,
                lambda hp: _custom(hp, schedule=False), applies=_SCHEDULED),
        Variant("asgd/no-shrink", "the weights are not shrunk by 1 − λη (λ only in the rate's schedule)", _AS,
                lambda hp: _custom(hp, shrink="none"), applies=_SHRINKS),
        Variant("asgd/shrink-after-step", "the shrink applied after the step: w ← (w − ηg)(1 − λη)", _AS,
                lambda hp: _custom(hp, shrink="after"), applies=_SHRINKS),
        Variant("asgd/shrink-by-initial-rate", "the shrink uses the initial rate: w(1 − λη₀) instead of w(1 − λη_t)",
                _AS, lambda hp: _custom(hp, shrink="lr"), applies=_SCHEDULED),
        Variant("asgd/average-returned", "the average ax returned as the new parameters instead of the iterate w",
                _AS, lambda hp: _custom(hp, returns_average=True), applies=lambda hp: hp["t0"] < 1e3),
        Variant("asgd/average-returned-from-t", "the average ax returned as the new parameters instead of the iterate "
                "w, ax averaging from step t₀ + 2 (μ = 1/max(1, t − t₀), one step before PyTorch's)", _AS,
                lambda hp: _custom(hp, returns_average=True, mu_step=1), applies=lambda hp: hp["t0"] < 1e3),
        Variant("asgd/average-fed-back", "the average ax returned as the new parameters, and the next step taken "
                "from it: training continues from the average, not from the iterate w", _AS,
                lambda hp: _custom(hp, returns_average="fed-back"), applies=lambda hp: hp["t0"] < 1e3),
        Variant("asgd/average-fed-back-from-t", "the average ax returned as the new parameters, and the next step "
                "taken from it, ax averaging from step t₀ + 2 (μ = 1/max(1, t − t₀))", _AS,
                lambda hp: _custom(hp, returns_average="fed-back", mu_step=1), applies=lambda hp: hp["t0"] < 1e3),
    ),
    torch=LibraryMapping(
        ("ASGD",), (same("lr"), same("lambd"), same("alpha"), same("t0"), same("weight_decay")),
        ("weight_decay is torch's coupled L2 term (g ← g + weight_decay·w), as the spec",
         "both kernels (foreach=False and True) compute the spec's η_t = lr/(1 + lambd·lr·(t − 1))^alpha in torch "
         "2.13; the checked output is the parameters, not state['ax']; maximize=False (torch's default)"),
    ),
    optax=Unmapped("optax has no ASGD (optax 0.2.8): write it as an optax-style init/update pair and check that"),
    keras=Unmapped("Keras 3 has no ASGD (keras 3.15.1): check a numpy or torch implementation"),
    no_decay={"lambd": 0.0, "weight_decay": 0.0},
    dropped_by_bugs=("weight_decay", "lambd"),
)
