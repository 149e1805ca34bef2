"""The SGD family: ``sgd``, ``momentum``, ``nesterov`` and ``weight-decay`` (coupled L2 with momentum)."""

from __future__ import annotations

import reference
from reference._src.base import as_optimizer, scale
from reference._src.sgd import MOMENTUM_FORMS, add_l2_gradient, trace
from verify.algorithms._blocks import opt, stateful, zeros
from verify.algorithms._mapping import KERAS_LR, OPTAX_LR, LibraryMapping, Rule, Unmapped, const, same
from verify.algorithms._record import Algorithm, Variant, decay_strength, has_positive, learning_rate, unit_interval
from verify.params import Param

__all__ = ["SGD", "MOMENTUM", "NESTEROV", "WEIGHT_DECAY"]

_MU = Param("momentum", 0.9, "momentum μ (PyTorch form b ← μb + g, w ← w − ηb)", low=0.0, high=1.0,
            draw=unit_interval)
_M, _N, _WD = ("momentum",), ("nesterov",), ("weight-decay",)


def _draw_form() -> object:
    from hypothesis import strategies as st

    return st.sampled_from(MOMENTUM_FORMS)


_FORM = Param("form", "pytorch", "the momentum form: pytorch (b ← μb + g, w ← w − ηb; PyTorch, optax) or polyak "
              "(v ← μv − ηg, w ← w + v; Keras) — the same iterates while η is constant, rounded differently",
              type=str, choices=MOMENTUM_FORMS, draw=_draw_form)
_KERAS_SGD_NOTE = "keras.optimizers.SGD; Keras applies weight_decay decoupled, so it is left at its default None"
_has = has_positive


# ----------------------------------------------------------------- bug builders


def _momentum_ema(hp):
    return opt(trace(hp["momentum"], dampening=hp["momentum"]), scale(-hp["lr"]))


def _momentum_torch_dampening(hp, nesterov=False):
    mu = hp["momentum"]

    def fn(g, s, p):
        b = g if s["first"] else mu * s["b"] + (1 - mu) * g
        s["b"], s["first"] = b, False
        return g + mu * b if nesterov else b

    return opt(stateful(zeros("b"), fn), scale(-hp["lr"]))


def _momentum_buffer_late(hp, nesterov=False):
    mu = hp["momentum"]

    def fn(g, s, p):
        u = g + mu * s["b"] if nesterov else s["b"]
        s["b"] = mu * s["b"] + g
        return u

    return opt(stateful(zeros("b"), fn), scale(-hp["lr"]))


def _momentum_signed(hp, sign):
    mu = hp["momentum"]

    def fn(g, s, p):
        s["b"] = sign * mu * s["b"] + g
        return s["b"]

    return opt(stateful(zeros("b"), fn), scale(-hp["lr"]))


def _momentum_buffer_init_g(hp):
    mu = hp["momentum"]

    def fn(g, s, p):
        b = (g if s["first"] else s["b"])
        b = mu * b + g
        s["b"], s["first"] = b, False
        return b

    return opt(stateful(zeros("b"), fn), scale(-hp["lr"]))


def _nesterov_custom(hp, combine):
    mu = hp["momentum"]

    def fn(g, s, p):
        b = mu * s["b"] + g
        s["b"] = b
        return combine(g, b, mu)

    return opt(stateful(zeros("b"), fn), scale(-hp["lr"]))


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

    return as_optimizer(stateful(zeros("b"), fn))


#: Plain SGD under momentum and nesterov: the buffer never used.
_NO_MOMENTUM = Variant("momentum/none", "plain SGD: the momentum buffer is never used",
                       _M + _N, lambda hp: reference.sgd(hp["lr"]), applies=_has("momentum"))


# ------------------------------------------------------------------ algorithms

_SGD_FORM = "momentum buffer b ← μ·b + g (dampening 0), w ← w − lr·b: the spec's canonical form"


SGD = Algorithm(
    name="sgd",
    title="Stochastic gradient descent",
    formula="w ← w − ηg",
    params=(learning_rate(0.01),),
    reference=reference.sgd,
    variants=(),
    torch=LibraryMapping(("SGD",), (same("lr"),), ("torch.optim.SGD with its default momentum=0: w ← w − lr·g",)),
    optax=LibraryMapping(("sgd",), (OPTAX_LR,), ("lr → learning_rate; optax.sgd without momentum: w ← w − lr·g",)),
    keras=LibraryMapping(("SGD",), (KERAS_LR,),
                         ("lr → learning_rate; keras.optimizers.SGD with its default momentum=0.0: w ← w − lr·g",),
                         settings={"momentum": 0.0, "nesterov": False}),
)

MOMENTUM = Algorithm(
    name="momentum",
    title="SGD with (heavy-ball) momentum",
    formula="b ← μb + g, w ← w − ηb  ≡  v ← μv − ηg, w ← w + v",
    params=(learning_rate(0.01), _MU, _FORM),
    reference=reference.momentum,
    variants=(
        Variant("momentum/polyak", "momentum in Polyak's (Keras) form v ← μv − ηg, w ← w + v — the same iterates "
                "(check it with --param form=polyak)",
                _M, lambda hp: reference.momentum(hp["lr"], hp["momentum"], form="polyak"), equivalent=True,
                applies=lambda hp: hp.get("form", "pytorch") != "polyak"),
        Variant("momentum/ema", "momentum as an exponential average b ← μb + (1 − μ)g (dampening = μ, the "
                "deeplearning.ai form): the spec's iterates with η(1 − μ) in place of η",
                _M, _momentum_ema, applies=_has("momentum")),
        Variant("momentum/torch-dampening", "PyTorch's dampening = μ: b₁ = g, then b ← μb + (1 − μ)g",
                _M, _momentum_torch_dampening, applies=_has("momentum")),
        Variant("momentum/buffer-late", "the step uses the buffer before the gradient is added (w ← w − ηb_(t−1), "
                "then b ← μb + g)", _M, _momentum_buffer_late),
        Variant("momentum/buffer-init-g", "the buffer is initialised to g and then updated with g again "
                "(b₁ = (1 + μ)g)", _M, _momentum_buffer_init_g, applies=_has("momentum")),
        Variant("momentum/negative", "the momentum term with the wrong sign: b ← −μb + g (the velocity flips sign "
                "every step)", _M, lambda hp: _momentum_signed(hp, -1.0), applies=_has("momentum")),
        Variant("momentum/nesterov", "Nesterov's update w ← w − η(g + μb) instead of heavy ball",
                _M, lambda hp: reference.nesterov(hp["lr"], hp["momentum"]), applies=_has("momentum")),
        _NO_MOMENTUM,
    ),
    torch=LibraryMapping(("SGD",), (same("lr"), same("momentum")), (_SGD_FORM,), conventions={"form": "pytorch"}),
    optax=LibraryMapping(
        ("sgd",), (OPTAX_LR, same("momentum")),
        ("lr → learning_rate; optax.trace: b ← μ·b + g, w ← w − lr·b, the spec's canonical form",),
        conventions={"form": "pytorch"}),
    keras=LibraryMapping(
        ("SGD",), (KERAS_LR, same("momentum")),
        ("lr → learning_rate; Keras keeps the velocity v = −lr·b: v ← μ·v − lr·g, w ← w + v (Polyak's form), "
         "checked as form = polyak, its only form",),
        conventions={"form": "polyak"}, settings={"nesterov": False}),
    dropped_by_bugs=("momentum",),
)

NESTEROV = Algorithm(
    name="nesterov",
    title="Nesterov's accelerated gradient",
    formula="b ← μb + g, w ← w − η(g + μb)  (iterates = Sutskever's look-ahead points)",
    params=(learning_rate(0.01), _MU),
    reference=reference.nesterov,
    variants=(
        _NO_MOMENTUM,
        Variant("nesterov/heavy-ball", "heavy-ball momentum (b ← μb + g, w ← w − ηb), not Nesterov — also what "
                "Sutskever's Nesterov (v ← μv − ηg, w ← w + v) is when it returns w_t rather than the look-ahead "
                "point w_t + μv_t: the caller takes the next gradient at the parameters returned, so no gradient is "
                "ever taken at a look-ahead point; return w_t + μv_t (PyTorch's form b ← μb + g, w ← w − η(g + μb))",
                _N, lambda hp: reference.momentum(hp["lr"], hp["momentum"]), applies=_has("momentum")),
        Variant("nesterov/lookahead-sign", "the look-ahead term with the wrong sign: w ← w − η(g − μb)",
                _N, lambda hp: _nesterov_custom(hp, lambda g, b, mu: g - mu * b), applies=_has("momentum")),
        Variant("nesterov/one-plus-mu", "(1 + μ)b instead of g + μb",
                _N, lambda hp: _nesterov_custom(hp, lambda g, b, mu: (1 + mu) * b), applies=_has("momentum")),
        Variant("nesterov/new-velocity", "Bengio's Nesterov with the velocity updated first: w ← w + μ²v_t − (1 + μ)ηg "
                "uses the new v_t ← μv_(t−1) − ηg instead of v_(t−1) (as *Deep Learning from Scratch*'s Nesterov "
                "class does); update v after the step",
                _N, lambda hp: _nesterov_custom(hp, lambda g, b, mu: mu * mu * b + (1 + mu) * g),
                applies=_has("momentum")),
        Variant("nesterov/ema", "Nesterov with an exponential-average buffer b ← μb + (1 − μ)g (dampening = μ)",
                _N, lambda hp: opt(trace(hp["momentum"], nesterov=True, dampening=hp["momentum"]), scale(-hp["lr"])),
                applies=_has("momentum")),
    ),
    torch=LibraryMapping(
        ("SGD",),
        (same("lr"), same("momentum"),
         Rule(("momentum",), "nesterov", lambda mu: float(mu) > 0.0,
              "nesterov=True; with momentum = 0 it is passed as nesterov=False (torch refuses Nesterov "
              "without momentum; both updates are then w ← w − lr·g)",
              optional=True, shown="True")),
        ("b ← μ·b + g, w ← w − lr·(g + μ·b): the re-parameterised (look-ahead) form, the spec's canonical one",),
    ),
    optax=LibraryMapping(
        ("sgd",), (OPTAX_LR, same("momentum"), const("nesterov", True, "")),
        ("lr → learning_rate; nesterov=True: b ← μ·b + g, w ← w − lr·(g + μ·b), the re-parameterised "
         "(look-ahead) form, the spec's canonical one",)),
    keras=LibraryMapping(
        ("SGD",), (KERAS_LR, same("momentum"), const("nesterov", True, "")),
        ("lr → learning_rate; nesterov=True: v ← μ·v − lr·g, w ← w + μ·v − lr·g, i.e. with v = −lr·b the "
         "re-parameterised (look-ahead) form w ← w − lr·(g + μ·b), the spec's canonical one",),
        settings={"nesterov": True}),
    dropped_by_bugs=("momentum",),
)

WEIGHT_DECAY = Algorithm(
    name="weight-decay",
    title="SGD with L2 weight decay",
    formula="b ← μb + g + 2λw, w ← w − ηb;  μ = 0: w ← w(1 − 2ηλ) − ηg",
    params=(
        learning_rate(0.01),
        Param("lam", 0.01, "λ of the penalty λΣw² (the step adds 2λw)", low=0.0, draw=decay_strength),
        Param("momentum", 0.0, "momentum μ (the decay enters the buffer: coupled L2)", low=0.0, high=1.0,
              draw=unit_interval),
    ),
    reference=reference.sgd_weight_decay,
    variants=(
        Variant("weight-decay/half", "a factor 2 in λ: the step adds λw (the gradient of (λ/2)Σw², PyTorch's "
                "weight_decay) instead of 2λw",
                _WD, lambda hp: reference.sgd_weight_decay(hp["lr"], hp["lam"] / 2, hp["momentum"]),
                applies=_has("lam")),
        Variant("weight-decay/double", "a factor 2 in λ: the step adds 4λw instead of 2λw",
                _WD, lambda hp: reference.sgd_weight_decay(hp["lr"], hp["lam"] * 2, hp["momentum"]),
                applies=_has("lam")),
        Variant("weight-decay/decoupled", "decoupled decay w ← w(1 − 2ηλ) − ηb (the decay bypasses the momentum "
                "buffer)",
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
                _WD, lambda hp: opt(add_l2_gradient(hp["lam"]), trace(hp["momentum"], dampening=hp["momentum"]),
                                    scale(-hp["lr"])),
                applies=_has("momentum")),
    ),
    torch=LibraryMapping(
        ("SGD",),
        (same("lr"), same("momentum"),
         Rule(("lam",), "weight_decay", lambda lam: 2.0 * float(lam),
              "λ (spec weight-decay) = weight_decay/2 in torch.optim.SGD: weight_decay = 2λ, since SGD adds "
              "weight_decay·w to g and the gradient of λΣw² is 2λw",
              shown="2λ", inverse=lambda wd: (float(wd) / 2.0,))),
        ("coupled (L2) decay: the decay term enters the momentum buffer, as the spec's coupled form",),
    ),
    optax=Unmapped("optax.sgd has no weight decay: give a factory f(lr, lam, momentum) returning "
                   "optax.chain(optax.add_decayed_weights(2 * lam), optax.sgd(lr, momentum)) (see docs/adapters.md)"),
    keras=LibraryMapping(
        ("SGD",),
        (KERAS_LR, Rule(("lam",), "weight_decay", lambda lam: 2.0 * float(lam),
                        "λ (spec weight-decay) = weight_decay/2 in keras.optimizers.SGD: Keras shrinks "
                        "w ← w − w·weight_decay·lr before the step, which is the spec's w(1 − 2ηλ) − ηg when "
                        "weight_decay = 2λ", shown="2λ", inverse=lambda wd: (float(wd or 0.0) / 2.0,))),
        ("Keras's decay is decoupled (it bypasses the momentum buffer): it equals the spec's coupled L2 only "
         "without momentum, so momentum is held at 0",),
        conventions={"momentum": 0.0}, settings={"momentum": 0.0, "nesterov": False}),
    no_decay={"lam": 0.0},
    dropped_by_bugs=("lam", "momentum"),
)
