"""The tolerance model is the reference optimizer run on tracked values, and its bound is a bound.

The decisive test runs every canonical optimizer, and variants of the
reference that have no spec of their own (Adam with ε inside the root or
Keras' ε̂, AMSGrad, centred RMSprop with ε in the root and momentum, the
Polyak and Sutskever forms, the other Rprop variants), in float64 and in
float32 over hundreds of steps, and compares each against the same formula
in 60-digit arithmetic written out independently here (from the docstrings
of reference/_src): the actual rounding error must lie within the running
bound, scaled by the float32/float64 unit roundoff ratio for float32.
"""

from __future__ import annotations

import functools
import zlib

import mpmath
import numpy as np
import pytest

import reference
from reference._src import base as ref_base, sign as ref_sign
from verify import tolerance as tolmod
from verify.problems import open_loop_stream
from verify.specs import get_spec

U32 = float(np.finfo(np.float32).eps) / 2.0


def _f32(x: float) -> float:
    """``x`` rounded to float32, so that a float32 run starts from exactly the inputs of the exact one."""
    return float(np.float32(x))


# ------------------------------------------------------------- the exact oracle


def _exact(algo: str, hp: dict, w0: np.ndarray, grads: np.ndarray, **flags) -> np.ndarray:
    """``w_1 … w_T`` of ``algo`` in 60-digit arithmetic (mpf entries), entry by entry, from the formulas as documented."""
    mpmath.mp.dps = 60
    mp = mpmath.mpf
    h = {k: mp(v) if isinstance(v, float) else v for k, v in hp.items()}
    out = np.empty(grads.shape, dtype=object)
    for i in range(w0.size):
        w = mp(float(w0.flat[i]))
        b = m = v = vmax = mean = buf = prev_g = prev_step = mp(0)
        delta = h.get("lr")
        for t, gt in enumerate(grads[:, i], start=1):
            g = mp(float(gt))
            if algo == "sgd":
                w = w - h["lr"] * g
            elif algo in ("momentum", "nesterov") and flags.get("form") in ("polyak", "sutskever"):
                b = h["momentum"] * b - h["lr"] * g          # velocity v
                w = w + b
            elif algo in ("momentum", "nesterov", "weight-decay"):
                if algo == "weight-decay":
                    g = g + 2 * h["lam"] * w
                b = h["momentum"] * b + g
                w = w - h["lr"] * (g + h["momentum"] * b if algo == "nesterov" else b)
            elif algo == "sign-sgd":
                w = w - h["lr"] * mpmath.sign(g)
            elif algo == "rprop":
                s = mpmath.sign(g * prev_g)
                delta = delta * (h["eta_plus"] if s > 0 else h["eta_minus"] if s < 0 else 1)
                delta = min(max(delta, h["min_step_size"]), h["max_step_size"])
                variant = flags.get("variant", "irprop-")
                if variant == "rprop-":
                    step, prev_g = -mpmath.sign(g) * delta, g
                elif variant == "irprop-":
                    prev_g = mp(0) if s < 0 else g
                    step = -mpmath.sign(prev_g) * delta
                else:                                          # rprop+: undo the last step on a sign change
                    step = -prev_step if s < 0 else -mpmath.sign(g) * delta
                    prev_g = mp(0) if s < 0 else g
                prev_step = step
                w = w + step
            elif algo == "rmsprop":
                rho = h["rho"]
                v = rho * v + (1 - rho) * g * g
                mean = rho * mean + (1 - rho) * g if flags.get("centered") else mean
                second = v - mean * mean
                denom = mpmath.sqrt(second + h["eps"]) if flags.get("eps_in_sqrt") else mpmath.sqrt(second) + h["eps"]
                u = g / denom
                if flags.get("momentum"):
                    buf = flags["momentum"] * buf + u
                    u = buf
                w = w - h["lr"] * u
            elif algo in ("adam", "adamw"):
                wd = h.get("weight_decay", 0)
                if algo == "adam":
                    g = g + wd * w
                m = h["b1"] * m + (1 - h["b1"]) * g
                v = h["b2"] * v + (1 - h["b2"]) * g * g
                vmax = max(vmax, v)
                vv = vmax if flags.get("amsgrad") else v
                c1, c2 = 1 - h["b1"] ** t, 1 - h["b2"] ** t
                placement = flags.get("eps_placement", "outside")
                if placement == "outside":
                    u = (m / c1) / (mpmath.sqrt(vv / c2) + h["eps"])
                elif placement == "inside":
                    u = (m / c1) / mpmath.sqrt(vv / c2 + h["eps"])
                else:
                    u = mpmath.sqrt(c2) / c1 * m / (mpmath.sqrt(vv) + h["eps"])
                w = w - h["lr"] * (u + wd * w if algo == "adamw" else u)
            elif algo in ("adamax", "nadam", "radam", "amsgrad"):
                wd = h.get("weight_decay", 0)
                decoupled = flags.get("decoupled_weight_decay", False)
                if not decoupled:
                    g = g + wd * w
                b1, b2, eps = h["b1"], h["b2"], h["eps"]
                m = b1 * m + (1 - b1) * g
                c1, c2 = 1 - b1 ** t, 1 - b2 ** t
                take = True
                if algo == "adamax":
                    if flags.get("eps_placement", "inside-max") == "inside-max":
                        v = max(b2 * v, abs(g) + eps)
                        u = m / (c1 * v)
                    else:
                        v = max(b2 * v, abs(g))
                        u = m / (c1 * (v + eps))
                else:
                    v = b2 * v + (1 - b2) * g * g
                if algo == "nadam":
                    def mu_at(k):
                        if flags.get("schedule", "dozat") == "constant":
                            return b1
                        return b1 * (1 - mp("0.5") * mp(0.96) ** (k * h["momentum_decay"]))
                    if t == 1:
                        prod = mp(1)
                    prod = prod * mu_at(t)
                    d = mpmath.sqrt(v / c2) + eps
                    u = (1 - mu_at(t)) / (1 - prod) * g / d + mu_at(t + 1) / (1 - prod * mu_at(t + 1)) * m / d
                elif algo == "radam":
                    rho_inf = 2 / (1 - b2) - 1
                    rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
                    limit = {"pytorch": 5, "official": 5, "paper": 4}[flags.get("threshold", "pytorch")]
                    strict = flags.get("threshold", "pytorch") != "official"
                    if rho > limit if strict else rho >= limit:
                        r = mpmath.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
                        placement = flags.get("eps_placement", "hat")
                        if placement == "hat":
                            u = m / c1 * r * mpmath.sqrt(c2) / (mpmath.sqrt(v) + eps)
                        elif placement == "outside":
                            u = r * (m / c1) / (mpmath.sqrt(v / c2) + eps)
                        else:
                            u = r * (m / c1) / mpmath.sqrt(v / c2 + eps)
                    elif flags.get("degenerated_to_sgd", True):
                        u = m / c1
                    else:
                        u, take = mp(0), False
                elif algo == "amsgrad":
                    if flags.get("maximum_of", "v") == "v":
                        vmax = max(vmax, v)
                        u = (m / c1) / (mpmath.sqrt(vmax / c2) + eps)
                    else:
                        vmax = max(vmax, v / c2)
                        u = (m / c1) / (mpmath.sqrt(vmax) + eps)
                if decoupled and take:
                    u = u + wd * w
                w = w - h["lr"] * u
            elif algo == "adadelta":                          # m: E[Δ²], v: E[g²]
                g = g + h.get("weight_decay", 0) * w
                v = h["rho"] * v + (1 - h["rho"]) * g * g
                d = mpmath.sqrt(m + h["eps"]) / mpmath.sqrt(v + h["eps"]) * g
                m = h["rho"] * m + (1 - h["rho"]) * d * d
                w = w - h["lr"] * d
            elif algo == "lion":                              # m: the momentum
                c = h["b1"] * m + (1 - h["b1"]) * g
                w = w - h["lr"] * (mpmath.sign(c) + h["weight_decay"] * w)
                m = h["b2"] * m + (1 - h["b2"]) * g
            elif algo == "asgd":                              # t0 only moves the average, never w
                k = t - 1
                if flags.get("eta_form", "power-of-sum") == "power-of-step":
                    eta = h["lr"] / (1 + h["lambd"] * h["lr"] * mp(k) ** h["alpha"])
                else:
                    eta = h["lr"] / (1 + h["lambd"] * h["lr"] * k) ** h["alpha"]
                g = g + h["weight_decay"] * w
                w = w * (1 - h["lambd"] * eta) - eta * g
            else:  # pragma: no cover - a case below names an unknown algorithm
                raise AssertionError(algo)
            out[t - 1, i] = w
    return out


# ------------------------------------------------------------- the cases

_ADAM = {"lr": 0.01, "b1": 0.9, "b2": 0.999, "eps": 1e-8, "weight_decay": 0.0}
_RMS = {"lr": 0.01, "rho": 0.9, "eps": 1e-8}
_RPROP = {"lr": 0.01, "eta_minus": 0.5, "eta_plus": 1.2, "min_step_size": 1e-6, "max_step_size": 50.0}

#: (id, algorithm, hyperparameters, variant flags of the reference builder)
CASES = [
    ("sgd", "sgd", {"lr": 0.1}, {}),
    ("momentum", "momentum", {"lr": 0.05, "momentum": 0.9}, {}),
    ("momentum-long-memory", "momentum", {"lr": 0.01, "momentum": 0.999}, {}),
    ("momentum-polyak", "momentum", {"lr": 0.05, "momentum": 0.9}, {"form": "polyak"}),
    ("nesterov", "nesterov", {"lr": 0.05, "momentum": 0.9}, {}),
    ("nesterov-sutskever", "nesterov", {"lr": 0.05, "momentum": 0.9}, {"form": "sutskever"}),
    ("weight-decay", "weight-decay", {"lr": 0.1, "lam": 0.3, "momentum": 0.0}, {}),
    ("weight-decay-momentum", "weight-decay", {"lr": 0.05, "lam": 0.1, "momentum": 0.9}, {}),
    ("sign-sgd", "sign-sgd", {"lr": 0.01}, {}),
    ("rprop", "rprop", _RPROP, {}),
    ("rprop-clipped", "rprop", dict(_RPROP, min_step_size=0.005, max_step_size=0.02), {}),
    ("rprop-minus", "rprop", _RPROP, {"variant": "rprop-"}),
    ("rprop-plus", "rprop", _RPROP, {"variant": "rprop+"}),
    ("rmsprop", "rmsprop", _RMS, {}),
    ("rmsprop-long-memory", "rmsprop", dict(_RMS, rho=0.9999, eps=1e-10), {}),
    ("rmsprop-eps-in-sqrt", "rmsprop", _RMS, {"eps_in_sqrt": True}),
    ("rmsprop-centered", "rmsprop", _RMS, {"centered": True}),
    ("rmsprop-momentum", "rmsprop", _RMS, {"momentum": 0.9}),
    ("rmsprop-centered-sqrt-momentum", "rmsprop", _RMS, {"eps_in_sqrt": True, "centered": True, "momentum": 0.5}),
    ("adam", "adam", _ADAM, {}),
    ("adam-ill-conditioned", "adam", dict(_ADAM, lr=0.5, b1=0.99, b2=0.99999, eps=1e-3), {}),
    ("adam-coupled-decay", "adam", dict(_ADAM, weight_decay=0.1), {}),
    ("adam-eps-inside", "adam", _ADAM, {"eps_placement": "inside"}),
    ("adam-eps-hat", "adam", _ADAM, {"eps_placement": "hat"}),
    ("adam-amsgrad", "adam", _ADAM, {"amsgrad": True}),
    ("adamw", "adamw", dict(_ADAM, weight_decay=0.01), {}),
    ("adamw-amsgrad-inside", "adamw", dict(_ADAM, weight_decay=0.1), {"amsgrad": True, "eps_placement": "inside"}),
    ("adamax", "adamax", _ADAM, {}),
    ("adamax-outside-max-decoupled", "adamax", dict(_ADAM, eps=1e-3, weight_decay=0.1),
     {"eps_placement": "outside-max", "decoupled_weight_decay": True}),
    ("adamax-coupled", "adamax", dict(_ADAM, weight_decay=0.1), {}),
    ("nadam", "nadam", dict(_ADAM, momentum_decay=4e-3), {}),
    ("nadam-keras-schedule", "nadam", dict(_ADAM, b1=0.99, momentum_decay=1.0, weight_decay=0.1), {}),
    ("nadam-constant-decoupled", "nadam", dict(_ADAM, momentum_decay=4e-3, weight_decay=0.1),
     {"schedule": "constant", "decoupled_weight_decay": True}),
    ("radam", "radam", _ADAM, {}),
    ("radam-paper-outside", "radam", dict(_ADAM, b2=0.9), {"threshold": "paper", "eps_placement": "outside"}),
    ("radam-official-inside-decoupled", "radam", dict(_ADAM, weight_decay=0.1),
     {"threshold": "official", "eps_placement": "inside", "degenerated_to_sgd": False,
      "decoupled_weight_decay": True}),
    ("radam-coupled", "radam", dict(_ADAM, b2=0.99, weight_decay=0.1), {}),
    ("amsgrad", "amsgrad", _ADAM, {}),
    ("amsgrad-v-hat", "amsgrad", dict(_ADAM, b2=0.99), {"maximum_of": "v-hat"}),
    ("amsgrad-v-hat-decoupled", "amsgrad", dict(_ADAM, weight_decay=0.1),
     {"maximum_of": "v-hat", "decoupled_weight_decay": True}),
    ("adadelta", "adadelta", {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0}, {}),
    ("adadelta-decay-long-memory", "adadelta", {"lr": 0.5, "rho": 0.999, "eps": 1e-3, "weight_decay": 0.1}, {}),
    ("lion", "lion", {"lr": 0.01, "b1": 0.9, "b2": 0.99, "weight_decay": 0.0}, {}),
    ("lion-decay", "lion", {"lr": 0.01, "b1": 0.5, "b2": 0.999, "weight_decay": 0.3}, {}),
    ("lamb", "lamb", {"lr": 0.01, "b1": 0.9, "b2": 0.999, "eps": 1e-6, "weight_decay": 0.0}, {}),
    ("lamb-decay", "lamb", {"lr": 0.01, "b1": 0.9, "b2": 0.999, "eps": 1e-6, "weight_decay": 0.1}, {}),
    ("lamb-keras-decay", "lamb", {"lr": 0.01, "b1": 0.9, "b2": 0.999, "eps": 1e-6, "weight_decay": 0.1},
     {"weight_decay_form": "keras"}),
    ("asgd", "asgd", {"lr": 0.01, "lambd": 1e-4, "alpha": 0.75, "t0": 1e6, "weight_decay": 0.0}, {}),
    ("asgd-fast-decay", "asgd", {"lr": 0.5, "lambd": 0.5, "alpha": 0.6, "t0": 2.0, "weight_decay": 0.1}, {}),
    ("asgd-power-of-step", "asgd", {"lr": 0.5, "lambd": 0.5, "alpha": 0.6, "t0": 2.0, "weight_decay": 0.0},
     {"eta_form": "power-of-step"}),
]


def _exact_lamb(hp: dict, w0: np.ndarray, grads: np.ndarray, form: str = "paper") -> np.ndarray:
    """LAMB's iterates in 60 digits: Adam's r per entry, then the layer's norms (Algorithm 2; Keras' order)."""
    mpmath.mp.dps = 60
    mp = mpmath.mpf
    h = {k: mp(v) for k, v in hp.items()}
    w = [mp(float(x)) for x in w0]
    m = [mp(0)] * len(w)
    v = [mp(0)] * len(w)
    out = np.empty(grads.shape, dtype=object)
    for t, gt in enumerate(grads, start=1):
        g = [mp(float(x)) for x in gt]
        m = [h["b1"] * a + (1 - h["b1"]) * b for a, b in zip(m, g)]
        v = [h["b2"] * a + (1 - h["b2"]) * b * b for a, b in zip(v, g)]
        r = [(a / (1 - h["b1"] ** t)) / (mpmath.sqrt(b / (1 - h["b2"] ** t)) + h["eps"]) for a, b in zip(m, v)]
        norm = lambda x: mpmath.sqrt(mpmath.fsum(y * y for y in x))  # noqa: E731
        if form == "keras":
            w = [x - x * h["weight_decay"] * h["lr"] for x in w]
            u = r
        else:
            u = [a + h["weight_decay"] * x for a, x in zip(r, w)]
        wn, un = norm(w), norm(u)
        ratio = 1 if wn == 0 or un == 0 else wn / un
        w = [x - h["lr"] * ratio * a for x, a in zip(w, u)]
        out[t - 1] = w
    return out


def _builder(algo: str, flags: dict):
    """The reference's builder with the variant flags bound; ``momentum`` of RMSprop is a flag here too."""
    return functools.partial(get_spec(algo).reference({}), **flags)


def _float32_run(build, hp: dict, w0: np.ndarray, grads: np.ndarray, monkeypatch) -> np.ndarray:
    """The reference computing in float32: its conversion to float64 replaced by one to float32.

    (Rprop's step-size factors and the ε̂ form's ``√(1 − β2ᵗ)`` are numpy float64 scalars made from Python
    floats: they promote part of those runs to float64, which only makes them more accurate.)"""
    to32 = lambda x, name="array": np.array(x, dtype=np.float32)  # noqa: E731
    monkeypatch.setattr(ref_base, "as_float", to32)
    monkeypatch.setattr(ref_sign, "as_float", to32)
    try:
        opt = build(**hp)
        w, state, out = np.float32(w0), opt.init(np.float32(w0)), []
        for g in grads:
            w, state = opt.update(np.float32(g), state, w)
            out.append(np.asarray(w))
    finally:
        monkeypatch.undo()
    return np.array(out)


@pytest.mark.parametrize("kind", ["gaussian", "sign-flips", "tiny", "mixed-scales"])
@pytest.mark.parametrize("case_id, algo, hp, flags", CASES, ids=[c[0] for c in CASES])
def test_the_bound_covers_the_rounding_of_float64_and_float32_runs(case_id, algo, hp, flags, kind, monkeypatch):
    rng = np.random.default_rng(zlib.crc32(f"{case_id} {kind}".encode()))
    hp = {k: _f32(v) for k, v in hp.items()}
    flags = {k: _f32(v) if isinstance(v, float) else v for k, v in flags.items()}
    steps = 300
    grads = np.float32(open_loop_stream(kind, steps, (3,), rng, eps=hp.get("eps"))).astype(np.float64)
    w0 = np.float32(rng.normal(size=3)).astype(np.float64)
    build = _builder(algo, flags)

    values, bound = tolmod.error_bound_of(build, hp, w0, grads)
    exact = (_exact_lamb(hp, w0, grads, flags.get("weight_decay_form", "paper")) if algo == "lamb"
             else _exact(algo, hp, w0, grads, **flags))

    opt = build(**hp)
    state, w, run64 = opt.init(w0), w0, []
    for g in grads:
        w, state = opt.update(g, state, w)
        run64.append(w)
    run64 = np.array(run64)
    run32 = _float32_run(build, hp, w0, grads, monkeypatch)

    # the tracked run is the reference's (its moving averages form (1 − β)·(g·g), not ((1 − β)·g)·g: a rounding)
    assert np.all(np.abs(values - run64) <= 2 * bound), "the tracked run computes other values than the reference's"
    assert np.all(np.isfinite(bound)) and np.all(bound >= 0)
    # differences taken in 60 digits: rounding the exact value to float64 first would add half an ulp
    err64 = np.vectorize(lambda a, b: float(abs(mpmath.mpf(float(a)) - b)))(run64, exact)
    err32 = np.vectorize(lambda a, b: float(abs(mpmath.mpf(float(a)) - b)))(run32, exact)
    exact = exact.astype(np.float64)
    bound32 = bound * (U32 / tolmod.U)
    assert np.all(err64 <= bound), f"float64 error {np.max(err64 / np.maximum(bound, 1e-300)):.3g} × the bound"
    assert np.all(err32 <= bound32), f"float32 error {np.max(err32 / np.maximum(bound32, 1e-300)):.3g} × the bound"
    if kind in ("gaussian", "sign-flips"):
        # and it is tight enough to matter: a relative 1e-6 change of the motion exceeds it. (Tiny gradients after
        # a coupled decay, or 300 steps of a contracting decay, widen it far more: it stays a bound, not a wall.)
        motion = np.abs(exact - w0).max() + np.abs(exact).max() * 1e-3
        assert bound.max() <= 1e-6 * motion, (bound.max(), motion)


# ------------------------------------------------------------- the tracked arithmetic


def test_the_reference_runs_on_tracked_values_unchanged_for_plain_arrays():
    """The hooks the model needs leave the reference's plain results bit for bit as written before."""
    rng = np.random.default_rng(3)
    prev, g = rng.normal(size=50), rng.normal(size=50) * 10.0 ** rng.uniform(-8, 8, size=50)
    for b in (0.9, 0.999, 1e-7, 0.5):
        assert np.array_equal(ref_base.ema(b, prev, g), b * prev + (1.0 - b) * g)
        assert np.array_equal(ref_base.ema(b, prev, g, g), b * prev + (1.0 - b) * g * g)
    x = np.array([1.0, 2.0])
    out = ref_base.as_float(x)
    assert out is not x and out.dtype == np.float64
    t = tolmod.Tracked(x)
    assert ref_base.as_float(t) is t


def test_a_clipped_step_size_is_exact_and_an_unclipped_one_keeps_its_bound():
    x = tolmod.Tracked(np.array([0.5, 2.0, 7.0]), np.array([1e-16, 2e-16, 3e-16]))
    c = np.clip(x, 1.0, 5.0)
    np.testing.assert_array_equal(c.v, [1.0, 2.0, 5.0])
    np.testing.assert_array_equal(c.e, [0.0, 2e-16, 0.0])


def test_a_zero_state_is_exact_and_a_computed_zero_is_not():
    """μ·0 + g is g (PyTorch starts its buffer at g); 0·b + g with a computed b rounds as any sum does."""
    g = tolmod.Tracked(np.array([3.0, -1.0]))
    state = np.zeros_like(tolmod.Tracked(np.ones(2)))
    b = 0.9 * state + 1.0 * g
    np.testing.assert_array_equal(b.v, g.v)
    np.testing.assert_array_equal(b.e, [0.0, 0.0])
    b2 = tolmod.Tracked(0.0) * tolmod.Tracked(np.array([1.0, 1.0]), 1e-16) + g
    np.testing.assert_allclose(b2.e, tolmod.U * np.array([3.0, 1.0]))


def test_scaling_by_a_power_of_two_is_exact_and_by_a_hyperparameter_rounds():
    x = tolmod.Tracked(np.array([3.0]), 1e-10)
    assert (2.0 * x).e[0] == 2e-10 and (x / 2.0).e[0] == 0.5e-10
    assert (x * 3.0).e[0] == pytest.approx(3e-10 + tolmod.U * 9)
    lr = tolmod.Tracked(0.5)                 # a hyperparameter: its products round (as an implementation's may)
    assert (lr * x).e[0] == pytest.approx(0.5e-10 + tolmod.U * 1.5)


def test_a_power_counts_one_rounding_per_factor():
    b = tolmod.Tracked(0.9)
    p = b ** 7
    assert float(p.v) == 0.9 ** 7
    assert float(p.e) == pytest.approx(7 * tolmod.U * 0.9 ** 7)
    c = 1.0 - b ** 3                          # 1 − β³: the pow's bound plus the subtraction's rounding
    assert float(c.e) == pytest.approx(3 * tolmod.U * 0.9 ** 3 + tolmod.U * (1 - 0.9 ** 3))


def test_a_constant_raised_to_a_tracked_exponent_bounds_pow_and_the_exponent_s_error():
    """NAdam's 0.96^(tψ): the tracked ψ·t is exact or carries a bound; the result's bound covers the 60-digit
    value of 0.96 raised to the exact exponent, and a non-constant base refuses."""
    mpmath.mp.dps = 60
    rng = np.random.default_rng(8)
    for _ in range(200):
        psi = float(10.0 ** rng.uniform(-4, 1))
        t = int(rng.integers(1, 10_000))
        x = t * tolmod.Tracked(psi)                 # t·ψ rounds once: its bound is u|tψ|
        p = 0.96 ** x
        exact = mpmath.mpf(0.96) ** (t * mpmath.mpf(psi))
        assert abs(mpmath.mpf(float(p.v)) - exact) <= float(p.e), (psi, t)
        # and tight: pow's rounding and the exponent's, plus the smallest subnormal where it underflowed
        assert float(p.e) <= 4 * tolmod.U * float(p.v) + abs(float(p.v) * np.log(0.96)) * float(x.e) * 1.01 + 2.0 ** -1074
    with pytest.raises(TypeError, match="positive base"):
        tolmod.Tracked(-2.0) ** tolmod.Tracked(0.5)
    with pytest.raises(TypeError, match="constant positive base"):
        (-2.0) ** tolmod.Tracked(0.5)


def test_a_tracked_base_raised_to_a_tracked_exponent_bounds_pow_and_both_errors():
    """ASGD's (1 + λη₀t)^α with a rounded base and an α off by float32's rounding (a float32 target's): the bound
    covers the 60-digit power of the exact base and the exact α at either end of its bound, and is pow's rounding
    plus the two first-order terms."""
    mpmath.mp.dps = 60
    rng = np.random.default_rng(9)
    for _ in range(200):
        c, t, alpha = float(10.0 ** rng.uniform(-6, 0)), int(rng.integers(1, 10_000)), float(rng.uniform(0.01, 2))
        base = 1 + tolmod.Tracked(c) * t                          # rounds once: its bound is u|1 + ct|
        a = tolmod.Tracked(alpha, U32 * alpha)
        p = base ** a
        v = float(p.v)
        for side in (-1, 1):
            exact = (1 + mpmath.mpf(c) * t) ** (mpmath.mpf(alpha) * (1 + side * mpmath.mpf(U32)))
            assert abs(mpmath.mpf(v) - exact) <= float(p.e) * (1 + 1e-6), (c, t, alpha, side)   # first order
        assert float(p.e) <= 2 * tolmod.U * v + abs(alpha * v / float(base.v)) * float(base.e) * 1.01 \
            + abs(v * np.log(float(base.v))) * float(a.e) * 1.01


def test_a_division_by_zero_gives_an_infinite_bound_and_nan_none():
    x = tolmod.Tracked(np.array([1.0, 0.0]), 1e-16)
    y = tolmod.Tracked(np.array([0.0, 0.0]))
    q = x / y
    assert np.isinf(q.v[0]) and np.isinf(q.e[0])
    assert np.isnan(q.v[1]) and q.e[1] == 0.0


def test_comparisons_are_plain_and_unknown_numpy_functions_refuse():
    x = tolmod.Tracked(np.array([-1.0, 2.0]))
    assert (x > 0).dtype == np.bool_ and np.array_equal(np.greater(x, 0), [False, True])
    for f in (np.exp, np.cumsum, np.log):
        with pytest.raises(TypeError, match="does not bound"):
            f(x)


@pytest.mark.parametrize("spec", ["sgd", "momentum", "nesterov", "weight-decay", "sign-sgd", "rprop", "rmsprop",
                                  "adam", "adamw", "adamax", "nadam", "radam", "amsgrad"])
def test_every_canonical_optimizers_bound_is_its_references_run(spec):
    """``error_bound(name)`` runs the spec's own reference: its iterates are the reference's (bit for bit, but for
    a moving average's own order of products, within the bound)."""
    hp = {p.name: p.default for p in get_spec(spec).params}
    rng = np.random.default_rng(5)
    w0, grads = rng.normal(size=3), rng.normal(size=(20, 3))
    values, bound = tolmod.error_bound(spec, hp, w0, grads)
    opt = get_spec(spec).reference({})(**hp)
    state, w = opt.init(w0), w0
    for t, g in enumerate(grads):
        w, state = opt.update(g, state, w)
        if spec in ("rmsprop", "adam", "adamw", "adamax", "nadam", "radam", "amsgrad"):
            assert np.all(np.abs(values[t] - w) <= 2 * bound[t])
        else:
            assert np.array_equal(values[t], w)
    assert np.all(bound > 0) and np.all(np.isfinite(bound))


def test_a_float32_run_charges_float32_rounding_to_its_hyperparameters_and_unresolved_quotients():
    hp = {"lr": 0.5, "rho": 0.999, "eps": 1e-6, "weight_decay": 0.0}
    w0, grads = np.array([1.0]), np.array([[3.0], [-2.0]])
    _, b64 = tolmod.error_bound_of(reference.adadelta, hp, w0, grads)
    _, b32 = tolmod.error_bound_of(reference.adadelta, hp, w0, grads, unit=U32)
    # np.float32(0.999) is 0.999000013: 1 − ρ off by 1.3e-5 relative. That alone moves the iterates beyond float64's
    # bound scaled to float32 at the first step (what the model charged before), and stays within the float32 run's.
    opt, shifted = reference.adadelta(**hp), reference.adadelta(**dict(hp, rho=float(np.float32(0.999))))
    w, s, ws, ss, moved = w0, opt.init(w0), w0, shifted.init(w0), []
    for g in grads:
        (w, s), (ws, ss) = opt.update(g, s, w), shifted.update(g, ss, ws)
        moved.append(np.abs(ws - w))
    moved = np.array(moved)
    assert moved[0, 0] > (U32 / tolmod.U) * b64[0, 0] and np.all(moved <= b32)
    assert float(tolmod.tracked_hyperparameters(hp, U32)["rho"].e) == U32 * 0.999
    assert float(tolmod.tracked_hyperparameters(hp)["rho"].e) == 0.0
    # a denominator whose float32 bound reaches its value: 1e8 − (1e8 − 1) in float32 is 0 or 8, not 1
    big = tolmod.Tracked(1e8)
    den = big - (big - 1.0)
    tolmod._RUN["u"] = U32
    try:
        q = tolmod.Tracked(1.0) / (tolmod.Tracked(den.v, den.e * (U32 / tolmod.U)))
        assert np.isinf(q.e)
    finally:
        tolmod._RUN["u"] = tolmod.U
    assert np.isfinite((tolmod.Tracked(1.0) / den).e)          # float64 keeps the first-order rule


def test_a_sign_whose_operand_may_be_zero_gets_a_bound_of_two():
    x = tolmod.Tracked(np.array([1.0, 1e-20, -3e-16, 0.0]), np.array([1e-16, 1e-16, 1e-16, 0.0]))
    s = np.sign(x)
    np.testing.assert_array_equal(s.v, [1.0, 1.0, -1.0, 0.0])
    np.testing.assert_array_equal(s.e, [0.0, 2.0, 0.0, 0.0])      # an exact 0 stays exact


def test_a_sum_bounds_its_rounding_and_tracked_values_compare_equal_by_value():
    rng = np.random.default_rng(3)
    x = rng.normal(size=1000) * 10.0 ** rng.integers(-8, 8, size=1000)
    total = np.sum(tolmod.Tracked(x))
    exact = mpmath.fsum([mpmath.mpf(float(v)) for v in x])
    assert abs(mpmath.mpf(float(total.v)) - exact) <= float(total.e)
    assert float(total.e) <= 999 * tolmod.U * np.sum(np.abs(x))
    with pytest.raises(TypeError, match="every entry"):
        np.sum(tolmod.Tracked(np.ones((2, 2))), axis=0)
    assert tolmod.Tracked(0.0) == 0.0 and not (tolmod.Tracked(1.0) == 0.0) and tolmod.Tracked(1.0) != 0.0
