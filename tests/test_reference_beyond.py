"""The references of issue 17 (Adagrad, Adadelta, Adamax, NAdam, RAdam, AMSGrad, Lion, LAMB, layer and RMS
norm, clipping by the global norm) against independent numbers.

(a) PyTorch and optax run now, in float64, on the same streams (several steps, several tensors), at the
    convention that matches each library; literal numbers computed with PyTorch, optax and Keras 3.15.1 in
    float64 (docs of issue 17's research, /work/research/beyond-notes.md) where the library is not installed;
(b) values worked by hand (the arithmetic in the comments);
(c) properties with known answers;
(d) the historical bugs of tests/buggy/beyond.py, each far from the reference on a short stream;
(e) implementations written by others (paraphrased in numpy), each at the convention it follows.
"""

import contextlib
import doctest
import importlib
import math

import numpy as np
import pytest

import reference as R
from tests.buggy import beyond as bugs
from verify.compare import assert_close

# The research's streams: a (3,) tensor and a (2, 2) tensor, three gradients each.
A0 = np.array([1.0, -2.0, 0.5])
B0 = np.array([[0.3, -0.1], [0.2, 0.4]])
GA = [np.array([0.1, -0.2, 0.3]), np.array([-0.4, 0.5, 0.05]), np.array([0.2, 0.2, -0.1])]
GB = [np.array([[0.5, 0.0], [-0.3, 0.1]]), np.array([[0.2, -0.2], [0.1, 0.0]]), np.array([[-0.1, 0.3], [0.0, 0.2]])]


def _stream(steps=9, seed=0):
    """Gradients for A0 and B0 whose size changes by 2⁴ over each 4 steps (so maxima, ratios and signs move)."""
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=p.shape) * 0.5 ** (t % 4) for p in (A0, B0)] for t in range(steps)]


def run_reference(opt, stream, params=(A0, B0)):
    """Iterates of ``opt`` driven per tensor (an optimizer state per tensor), flattened and concatenated per step."""
    ps = [np.array(p, dtype=float) for p in params]
    states = [opt.init(p) for p in ps]
    out = []
    for grads in stream:
        for i, g in enumerate(grads):
            ps[i], states[i] = opt.update(g, states[i], ps[i])
        out.append(np.concatenate([p.ravel() for p in ps]))
    return np.array(out)


def run_buggy(cls, stream, params=(A0, B0), **hp):
    objs = [cls(**hp) for _ in params]
    ps = [np.array(p, dtype=float) for p in params]
    out = []
    for grads in stream:
        ps = [o.step(p, g) for o, p, g in zip(objs, ps, grads)]
        out.append(np.concatenate([p.ravel() for p in ps]))
    return np.array(out)


def _close(actual, desired):
    # rounding of 9 steps in another order: ~1e-15 relative; 1e-13 absolute for entries near 0
    assert_close(actual, desired, rtol=1e-12, atol=1e-13)


def _rel_diff(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)) / np.maximum(np.abs(b), 1e-300)))


@pytest.mark.parametrize("module", ["adagrad", "adam_variants", "lion", "lamb", "normalization", "clipping", "decay"])
def test_docstring_examples(module):
    mod = importlib.import_module(f"reference._src.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0 or module == "decay"


# ------------------------------------------------------------ (a) libraries, run now

@contextlib.contextmanager
def _torch_float64():
    torch = pytest.importorskip("torch")
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)     # NAdam's μ product and the step counts are float64 too
    try:
        yield torch
    finally:
        torch.set_default_dtype(old)


def run_torch(name, stream, foreach, **kw):
    with _torch_float64() as torch:
        ps = [torch.nn.Parameter(torch.tensor(p)) for p in (A0, B0)]
        opt = getattr(torch.optim, name)(ps, foreach=foreach, **kw)
        out = []
        for grads in stream:
            for p, g in zip(ps, grads):
                p.grad = torch.tensor(g)
            opt.step()
            out.append(np.concatenate([p.detach().numpy().ravel() for p in ps]))
    return np.array(out)


def _optax():
    jax = pytest.importorskip("jax")
    optax = pytest.importorskip("optax")
    jax.config.update("jax_enable_x64", True)
    return jax, optax


def run_optax(make, stream):
    jax, optax = _optax()
    import jax.numpy as jnp

    tx = make(optax)
    ps = [jnp.asarray(p) for p in (A0, B0)]
    state = tx.init(ps)
    out = []
    for grads in stream:
        updates, state = tx.update([jnp.asarray(g) for g in grads], state, ps)
        ps = optax.apply_updates(ps, updates)
        out.append(np.concatenate([np.asarray(p).ravel() for p in ps]))
    return np.array(out)


TORCH_CASES = {
    # id: (reference, torch class, keywords)
    "adagrad": (R.adagrad(0.1), "Adagrad", dict(lr=0.1)),
    "adagrad-all-options": (R.adagrad(0.1, lr_decay=0.5, weight_decay=0.1, initial_accumulator_value=0.1, eps=1e-3),
                            "Adagrad", dict(lr=0.1, lr_decay=0.5, weight_decay=0.1, initial_accumulator_value=0.1,
                                            eps=1e-3)),
    "adadelta": (R.adadelta(1.0), "Adadelta", dict(lr=1.0)),
    "adadelta-decay": (R.adadelta(0.5, 0.95, 1e-3, 0.1), "Adadelta", dict(lr=0.5, rho=0.95, eps=1e-3, weight_decay=0.1)),
    "adadelta-rho-1": (R.adadelta(0.1, rho=1.0), "Adadelta", dict(lr=0.1, rho=1.0)),       # plain SGD
    "adamax": (R.adamax(0.1, eps=1e-3), "Adamax", dict(lr=0.1, eps=1e-3)),
    "adamax-decay": (R.adamax(0.1, weight_decay=0.1), "Adamax", dict(lr=0.1, weight_decay=0.1)),
    "nadam": (R.nadam(0.1), "NAdam", dict(lr=0.1)),
    "nadam-coupled": (R.nadam(0.1, eps=1e-3, weight_decay=0.1, momentum_decay=0.1), "NAdam",
                      dict(lr=0.1, eps=1e-3, weight_decay=0.1, momentum_decay=0.1)),
    "nadam-no-schedule-decay": (R.nadam(0.1, momentum_decay=0.0), "NAdam", dict(lr=0.1, momentum_decay=0.0)),
    "nadam-decoupled": (R.nadam(0.1, weight_decay=0.1, decoupled_weight_decay=True), "NAdam",
                        dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True)),
    "radam": (R.radam(0.1), "RAdam", dict(lr=0.1)),
    "radam-eps-coupled": (R.radam(0.1, eps=1e-2, weight_decay=0.1), "RAdam", dict(lr=0.1, eps=1e-2, weight_decay=0.1)),
    "radam-decoupled": (R.radam(0.1, eps=1e-2, weight_decay=0.1, decoupled_weight_decay=True), "RAdam",
                        dict(lr=0.1, eps=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
    "amsgrad": (R.amsgrad(0.1, eps=1e-3), "Adam", dict(lr=0.1, eps=1e-3, amsgrad=True)),
    "amsgrad-decay": (R.amsgrad(0.1, weight_decay=0.1), "Adam", dict(lr=0.1, weight_decay=0.1, amsgrad=True)),
    "amsgrad-decoupled": (R.amsgrad(0.1, weight_decay=0.1, decoupled_weight_decay=True), "AdamW",
                          dict(lr=0.1, weight_decay=0.1, amsgrad=True)),
}


@pytest.mark.parametrize("foreach", [False, True], ids=["single-tensor", "foreach"])
@pytest.mark.parametrize("case", list(TORCH_CASES))
def test_matches_torch(case, foreach):
    ref, name, kw = TORCH_CASES[case]
    stream = _stream()
    _close(run_reference(ref, stream), run_torch(name, stream, foreach, **kw))


OPTAX_CASES = {
    # id: (reference at optax's convention, optax factory)
    "adagrad": (R.adagrad(0.1, initial_accumulator_value=0.1, eps=1e-7, eps_placement="inside"),
                lambda o: o.adagrad(0.1)),
    "adadelta-decay": (R.adadelta(0.5, 0.95, 1e-3, 0.1), lambda o: o.adadelta(0.5, rho=0.95, eps=1e-3, weight_decay=0.1)),
    "adamax": (R.adamax(0.1, eps=1e-3), lambda o: o.adamax(0.1, eps=1e-3)),
    "adamaxw": (R.adamax(0.1, eps=1e-3, weight_decay=0.1, decoupled_weight_decay=True),
                lambda o: o.adamaxw(0.1, eps=1e-3, weight_decay=0.1)),
    "nadam": (R.nadam(0.1, schedule="constant"), lambda o: o.nadam(0.1)),
    "nadamw": (R.nadam(0.1, eps=1e-3, weight_decay=0.1, schedule="constant", decoupled_weight_decay=True),
               lambda o: o.nadamw(0.1, eps=1e-3, weight_decay=0.1)),
    "radam": (R.radam(0.1, eps=1e-2, threshold="official", eps_placement="outside"), lambda o: o.radam(0.1, eps=1e-2)),
    "amsgrad": (R.amsgrad(0.1, eps=1e-3, maximum_of="v-hat"), lambda o: o.amsgrad(0.1, eps=1e-3)),
    "lion": (R.lion(0.1), lambda o: o.lion(0.1, weight_decay=0.0)),
    "lion-decay": (R.lion(0.1, b1=0.8, b2=0.95, weight_decay=0.5), lambda o: o.lion(0.1, b1=0.8, b2=0.95, weight_decay=0.5)),
    "lamb": (R.lamb(0.1), lambda o: o.lamb(0.1)),
    "lamb-decay": (R.lamb(0.1, eps=1e-3, weight_decay=0.1), lambda o: o.lamb(0.1, eps=1e-3, weight_decay=0.1)),
}


@pytest.mark.parametrize("case", list(OPTAX_CASES))
def test_matches_optax(case):
    ref, make = OPTAX_CASES[case]
    stream = _stream()
    _close(run_reference(ref, stream), run_optax(make, stream))


def test_torch_and_optax_conventions_really_differ():
    """The conventions are not cosmetic: at their defaults the libraries disagree far beyond rounding."""
    stream = _stream()
    pairs = [
        (R.nadam(0.1), R.nadam(0.1, schedule="constant")),
        (R.radam(0.1, eps=1e-2), R.radam(0.1, eps=1e-2, threshold="official", eps_placement="outside")),
        (R.amsgrad(0.1), R.amsgrad(0.1, maximum_of="v-hat")),
        (R.adagrad(0.1, initial_accumulator_value=0.1, eps=1e-3),
         R.adagrad(0.1, initial_accumulator_value=0.1, eps=1e-3, eps_placement="inside")),
        (R.adamax(0.1, eps=1e-2), R.adamax(0.1, eps=1e-2, eps_placement="outside-max")),
    ]
    for a, b in pairs:
        assert _rel_diff(run_reference(a, stream), run_reference(b, stream)) > 1e-6     # rounding: ~1e-15


# Literal float64 numbers of the research (PyTorch 2.13, optax 0.2.8, Keras 3.15.1 on the jax backend):
# the third iterate of a|b (flattened) on the streams GA, GB.
KERAS_T3 = {
    "Adamax(0.1)": (R.adamax(0.1, eps=1e-7, eps_placement="outside-max"),
                    [0.9480846796573651, -1.969735057530632, 0.32063296322851237, 0.09564544655236423,
                     -0.062128590049836355, 0.3487112493275613, 0.2007393180459433]),
    "Nadam(0.1)": (R.nadam(0.1, eps=1e-7, momentum_decay=1.0),
                   [0.950239540435085, -2.0279098072036366, 0.3946325810921224, 0.1584088161205914,
                    -0.08199915966208243, 0.2854104075102347, 0.18746506538002405]),
    "Lion(0.1, weight_decay=0.5)": (R.lion(0.1, weight_decay=0.5),
                                    [0.762125, -1.8195, 0.34343749999999995, 0.17196249999999996, -0.0907375,
                                     0.266725, 0.0577]),
    "Lamb(0.1)": (R.lamb(0.1, eps=1e-7),
                  [1.0143633169599875, -2.1332355560231653, 0.08979554496008811, 0.20869983482084759,
                   -0.08227218190871954, 0.2608627867488127, 0.3061699324056179]),
    "Adagrad(0.1)": (R.adagrad(0.1, initial_accumulator_value=0.1, eps=1e-7, eps_placement="inside"),
                     [1.0109078462720305, -2.057111547865557, 0.44200145999989865, 0.19927034627002857,
                      -0.10910208132595434, 0.24646402786457716, 0.3182091185110939]),
    "Adadelta(1.0)": (R.adadelta(1.0, rho=0.95, eps=1e-7),
                      [0.9992931808003129, -2.001418873821593, 0.4989035309676992, 0.2982309456979207,
                       -0.10026283871090134, 0.2007670234195217, 0.3968022209685862]),
    "Adam(0.1, amsgrad=True)": (R.adam(0.1, eps=1e-7, amsgrad=True, eps_placement="hat"),
                                [0.9669703727889278, -1.998516848317862, 0.2841240952824825, 0.053527039163733275,
                                 -0.04685158109587556, 0.37094163260070795, 0.15274024764556662]),
}


@pytest.mark.parametrize("name", list(KERAS_T3))
def test_keras_numbers_at_keras_conventions(name):
    ref, t3 = KERAS_T3[name]
    _close(run_reference(ref, list(zip(GA, GB)))[2], t3)


def test_keras_lamb_keeps_the_decay_outside_the_trust_ratio():
    # Keras Lamb(0.1, weight_decay=0.1) (ε = 1e-7), first iterate; optax lamb(0.1, weight_decay=0.1), first iterate
    keras = [0.8590353610329803, -1.8490352955506935, 0.3640352737232501, 0.26569344142452556, -0.099,
             0.22930655440126804, 0.3646934664697474]
    optax_t1 = [0.8698900796985315, -1.8580612061916748, 0.37580343220771667, 0.2679735853608563,
                -0.09968906333178298, 0.2304716898400573, 0.36766289743898894]
    stream = list(zip(GA, GB))
    _close(run_reference(R.lamb(0.1, eps=1e-7, weight_decay=0.1, weight_decay_form="keras"), stream)[0], keras)
    _close(run_reference(R.lamb(0.1, weight_decay=0.1), stream)[0], optax_t1)
    # at λ = 0 the two forms are one
    _close(run_reference(R.lamb(0.1, weight_decay_form="keras"), stream), run_reference(R.lamb(0.1), stream))


def test_torch_numbers_of_the_research():
    """PyTorch 2.13 float64 trajectories on A0 with GA (RAdam: GA repeated to 7 steps)."""
    one = [(g,) for g in GA]
    nadam = [[0.8943548327289779, -1.8943548274467197, 0.39435482568596697],
             [0.9942068304334792, -1.9890441286259273, 0.3709458875914656],
             [0.9498813977100645, -2.0324339326490866, 0.39890925363203733]]
    _close(run_reference(R.nadam(0.1), one, params=(A0,)), nadam)
    radam = [[0.99, -1.98, 0.47], [1.0063157894736843, -1.996842105263158, 0.4531578947368421],
             [1.0092309186249757, -2.0148494853369585, 0.44622062536414836],
             [1.0083905580550425, -2.0218049956597266, 0.43257712434641066],
             [1.0175231799690372, -2.0392717241889446, 0.42104431684476235],
             [1.0178076604905395, -2.040673662875685, 0.42007485325617766],
             [1.017865730905154, -2.0417838830139816, 0.41826353719520554]]
    seven = [(g,) for g in (GA * 3)[:7]]
    _close(run_reference(R.radam(0.1), seven, params=(A0,)), radam)
    # optax radam(0.1): the same until t = 5, then ε added to √v̂
    optax_t6 = [1.0178076606187607, -2.0406736633797857, 0.42007485263044253]
    ref = run_reference(R.radam(0.1, threshold="official", eps_placement="outside"), seven, params=(A0,))
    _close(ref[:5], radam[:5])
    _close(ref[5], optax_t6)
    # the paper's ρ > 4 rectifies at t = 5 already
    paper_t5 = [1.008963931362485, -2.0226635380076807, 0.4315659298998156]
    _close(run_reference(R.radam(0.1, threshold="paper"), seven, params=(A0,))[4], paper_t5)


def test_amsgrad_numbers_of_the_research():
    stream = [(np.array(g),) for g in ([1.0, -2.0, 0.5], [0.01, 0.02, -0.01], [0.01, -0.02, 0.3])]
    torch_t3 = [0.7793259045394781, -1.78196404120795, 0.2582203721027573]
    optax_t3 = [0.8215148590386872, -1.823231696358691, 0.30231890082680124]
    _close(run_reference(R.amsgrad(0.1), stream, params=(A0,))[2], torch_t3)
    _close(run_reference(R.amsgrad(0.1, maximum_of="v-hat"), stream, params=(A0,))[2], optax_t3)


# ------------------------------------------------------------- (b) by hand

def _steps(opt, grads, w0=0.0):
    w = np.array([w0])
    s = opt.init(w)
    out = []
    for g in grads:
        w, s = opt.update(np.array([g]), s, w)
        out.append(float(w[0]))
    return out


def test_adagrad_by_hand():
    # s: 9, 25 → steps 0.1·3/3, 0.1·4/5; with lr_decay 1: the second rate is 0.1/2
    assert_close(_steps(R.adagrad(0.1, eps=0.0), [3, 4]), [-0.1, -0.18], rtol=1e-15)
    assert_close(_steps(R.adagrad(0.1, lr_decay=1.0, eps=0.0), [3, 4]), [-0.1, -0.14], rtol=1e-15)
    # inside: s₀ = 0.1, ε = 0.9: 3/√(9.1 + 0.9) ; outside, ε = 1: 3/(√9 + 1)
    assert_close(_steps(R.adagrad(1.0, initial_accumulator_value=0.1, eps=0.9, eps_placement="inside"), [3]),
                 [-3 / math.sqrt(10.0)], rtol=1e-15)
    assert_close(_steps(R.adagrad(1.0, eps=1.0), [3]), [-0.75], rtol=1e-15)
    # coupled decay 0.5 at w0 = 2: g = 1 + 1 = 2, s = 4 → step 1·2/2; decoupled: g = 1, s = 1, step 1 + 0.5·2
    assert_close(_steps(R.adagrad(1.0, weight_decay=0.5, eps=0.0), [1], 2.0), [1.0], rtol=1e-15)
    assert_close(_steps(R.adagrad(1.0, weight_decay=0.5, eps=0.0, decoupled_weight_decay=True), [1], 2.0), [0.0],
                 atol=1e-15)


def test_adadelta_by_hand():
    # ρ = 0.5, ε = 1, g = 4, 4: E[g²] = 8, Δ = 4·√1/√9 = 4/3, E[Δ²] = 0.5·16/9 = 8/9;
    # E[g²] = 4 + 8 = 12, Δ = 4·√(8/9 + 1)/√13
    d2 = 4 * math.sqrt(17 / 9) / math.sqrt(13)
    assert_close(_steps(R.adadelta(1.0, rho=0.5, eps=1.0), [4, 4]), [-4 / 3, -4 / 3 - d2], rtol=1e-15)
    # the learning rate scales the step, not what E[Δ²] accumulates: with η = 0.1 the steps are a tenth
    assert_close(_steps(R.adadelta(0.1, rho=0.5, eps=1.0), [4, 4]), [-0.4 / 3, -0.4 / 3 - 0.1 * d2], rtol=1e-15)


def test_adamax_by_hand():
    # β1 = β2 = 0.5, ε = 0, η = 1: g = 2: m = 1, u = 2 → 1/(0.5·2) = 1; g = −0.5: m = 0.25, u = max(1, 0.5) = 1 →
    # 0.25/(0.75·1) = 1/3
    assert_close(_steps(R.adamax(1.0, 0.5, 0.5, eps=0.0), [2, -0.5]), [-1.0, -4 / 3], rtol=1e-15)
    # ε = 0.5: inside the max u = max(1.25, 1.0) = 1.25 → 0.25/(0.75·1.25); outside u = 1, 0.25/(0.75·1.5)
    assert_close(_steps(R.adamax(1.0, 0.5, 0.5, eps=0.5), [2, -0.5]), [-0.8, -0.8 - 0.25 / 0.9375], rtol=1e-15)
    assert_close(_steps(R.adamax(1.0, 0.5, 0.5, eps=0.5, eps_placement="outside-max"), [2, -0.5]),
                 [-0.8, -0.8 - 0.25 / 1.125], rtol=1e-15)


def test_nadam_by_hand():
    # constant μ = β1 = 0.5, β2 = 0.5, ε = 0, η = 1, g = 2 then 2:
    # t = 1: v̂ = 4, m = 1: (1 − 0.5)/(1 − 0.5)·2/2 + 0.5/(1 − 0.25)·1/2 = 1 + 1/3
    # t = 2: v̂ = 4, m = 1.5: 0.5/(1 − 0.25)·1 + 0.5/(1 − 0.125)·1.5/2 = 2/3 + 3/7
    assert_close(_steps(R.nadam(1.0, 0.5, 0.5, eps=0.0, schedule="constant"), [2, 2]),
                 [-4 / 3, -4 / 3 - 2 / 3 - 3 / 7], rtol=1e-15)
    # Dozat's schedule with 0.96^ψ = 1/2: μ_t = β1(1 − 2^−(t+1)): μ1 = 0.375, μ2 = 0.4375 (β1 = 0.5)
    psi = math.log(0.5) / math.log(0.96)
    mu1, mu2 = 0.375, 0.4375
    step1 = (1 - mu1) / (1 - mu1) * 1 + mu2 / (1 - mu1 * mu2) * 0.5     # g/√v̂ = 1, m/√v̂ = 0.5
    assert_close(_steps(R.nadam(1.0, 0.5, 0.5, eps=0.0, momentum_decay=psi), [2]), [-step1], rtol=1e-14)


def test_radam_by_hand():
    # ρ_1 = 1 and ρ_2 = (1 + 3β2)/(1 + β2) for every β2
    for b2 in (0.0, 0.5, 0.999):
        # ρ_∞ − 2tβ2ᵗ/(1 − β2ᵗ) cancels ~2000 down to 2 at β2 = 0.999: rounding ~1e-16·2000/2
        assert_close(R.radam_rho(1, b2)[0], 1.0, rtol=1e-10)
        assert_close(R.radam_rho(2, b2)[0], (1 + 3 * b2) / (1 + b2), rtol=1e-10)
    # β2 = 0.999: ρ_5 = 4.996 (> 4, not > 5), ρ_6 = 5.994
    assert 4.99 < R.radam_rho(5, 0.999)[0] < 5 < 5.99 < R.radam_rho(6, 0.999)[0] < 6


def test_lion_by_hand():
    # optax lion(0.1, weight_decay=0) on A0, GA (the research's numbers, checkable by hand):
    # t = 1: c = 0.1 g₁ → sgn g₁; t = 2: c = 0.9·0.01 g₁ + 0.1 g₂ = [−0.0391, 0.0482, 0.0077]; t = 3 likewise
    traj = run_reference(R.lion(0.1), [(g,) for g in GA], params=(A0,))
    assert_close(traj, [[0.9, -1.9, 0.4], [1.0, -2.0, 0.3], [0.9, -2.1, 0.4]], rtol=1e-15)
    # decay 0.5: t = 1: w − 0.1(sgn g + 0.5 w) = [1 − 0.15, −2 + 0.1 + 0.1, 0.5 − 0.1 − 0.025]
    traj = run_reference(R.lion(0.1, weight_decay=0.5), [(g,) for g in GA], params=(A0,))
    assert_close(traj[0], [0.85, -1.8, 0.375], rtol=1e-15)
    assert_close(traj[2], [0.762125, -1.8195, 0.3434375], rtol=1e-15)


def test_lamb_by_hand():
    # ε = 0, λ = 0: r = sgn g at t = 1; ‖w‖ = 5 ([3, 4]), ‖r‖ = √2: the step is 0.1·5/√2·sgn g
    w = run_reference(R.lamb(0.1, eps=0.0), [(np.array([2.0, -7.0]),)], params=(np.array([3.0, 4.0]),))[0]
    assert_close(w, [3 - 0.5 / math.sqrt(2), 4 + 0.5 / math.sqrt(2)], rtol=1e-15)
    # λ = 1: u = r + w = [4, 3], ‖u‖ = 5 = ‖w‖: the step is 0.1·u
    w = run_reference(R.lamb(0.1, eps=0.0, weight_decay=1.0), [(np.array([2.0, -7.0]),)],
                      params=(np.array([3.0, 4.0]),))[0]
    assert_close(w, [2.6, 3.7], rtol=1e-15)


def test_layernorm_by_hand():
    # row [1, 2, 4, −1]: μ = 1.5, σ² = (0.25 + 0.25 + 6.25 + 6.25)/4 = 3.25
    x = np.array([[1.0, 2.0, 4.0, -1.0]])
    y, _ = R.layernorm_forward(x, eps=0.75)       # √(3.25 + 0.75) = 2
    assert_close(y, [[-0.25, 0.25, 1.25, -1.25]], rtol=1e-15)
    gamma, beta = np.array([1.0, 2.0, 0.5, -1.0]), np.array([0.0, 0.1, -0.2, 0.3])
    y, _ = R.layernorm_forward(x, gamma, beta, eps=0.75)
    assert_close(y, [[-0.25, 0.6, 0.425, 1.55]], rtol=1e-15)
    # torch.nn.LayerNorm(4) with these γ, β (ε = 1e-5), float64 (the research's numbers)
    x2 = np.array([[1.0, 2.0, 4.0, -1.0], [0.5, 0.5, 0.5, 0.5001]])
    torch_y = [[-0.2773496714211406, 0.6546993428422812, 0.49337417855285143, 1.686748357105703],
               [-0.007904953095785101, 0.0841900938084298, -0.20395247654789256, 0.2762851407125745]]
    assert_close(R.layernorm_forward(x2, gamma, beta)[0], torch_y, rtol=1e-12)


def test_rmsnorm_by_hand():
    # [1, 7]: mean(x²) = 25; ε = 11 → √36 = 6
    assert_close(R.rmsnorm_forward([[1.0, 7.0]], eps=11.0)[0], [[1 / 6, 7 / 6]], rtol=1e-15)
    assert_close(R.rmsnorm_forward([[1.0, 7.0]], [2.0, -1.0], eps=0.0)[0], [[0.4, -1.4]], rtol=1e-15)
    # torch.nn.RMSNorm(4, eps=1e-2) with γ = [1, 2, 0.5, −1] (the research's numbers)
    x = np.array([[1.0, 2.0, 4.0, -1.0], [0.5, 0.5, 0.5, 0.5001]])
    torch_y = [[0.426014322842305, 1.70405729136922, 0.85202864568461, 0.426014322842305],
               [0.9805335310750388, 1.9610670621500776, 0.4902667655375194, -0.9807296377812538]]
    assert_close(R.rmsnorm_forward(x, [1.0, 2.0, 0.5, -1.0], eps=1e-2)[0], torch_y, rtol=1e-12)


def test_clip_by_hand():
    grads = [np.array([3.0, 4.0]), np.array([[0.0, 12.0]])]      # global norm 13
    clipped, n = R.clip_by_global_norm(grads, 5.0)
    assert n == 13.0
    assert_close(clipped[0], np.array([3.0, 4.0]) * 5 / (13 + 1e-6), rtol=1e-15)
    clipped, _ = R.clip_by_global_norm(grads, 5.0, convention="optax")
    assert_close(clipped[1], [[0.0, 60 / 13]], rtol=1e-15)
    # torch's numbers (clip_grad_norm_ in float64, research): max_norm 13 still scales by 13/(13 + 1e-6)
    assert_close(R.clip_by_global_norm(grads, 13.0)[0][1], [[0.0, 11.99999907692315]], rtol=1e-15)
    assert_close(R.clip_by_global_norm(grads, 13.0, convention="optax")[0][1], [[0.0, 12.0]], rtol=0)


# ------------------------------------------------------- (c) properties

def _random_stream(steps, shape, seed, scales=(1.0, 1e-3, 10.0)):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=shape) * scales[t % len(scales)],) for t in range(steps)]


@pytest.mark.parametrize("b1,b2", [(0.9, 0.999), (0.5, 0.6), (0.0, 0.9)])
def test_adamax_step_is_bounded(b1, b2):
    """|Δw_t| ≤ η(1 − β1)Σ_{k<t}(β1/β2)^k/(1 − β1ᵗ) per entry; attained by gradients shrinking by β2 per step."""
    lr = 0.1
    stream = _random_stream(30, (50,), seed=1)
    for eps in (0.0, 1e-3):
        traj = run_reference(R.adamax(lr, b1, b2, eps=eps), stream, params=(np.zeros(50),))
        steps = np.abs(np.diff(np.vstack([np.zeros(50), traj]), axis=0))
        q = b1 / b2
        for t, s in enumerate(steps, start=1):
            bound = lr * (1 - b1) * sum(q ** k for k in range(t)) / (1 - b1 ** t) if b1 else lr
            assert s.max() <= bound * (1 + 1e-12)
    steps = 60
    geometric = [(np.array([b2 ** t]),) for t in range(1, steps + 1)]
    traj = run_reference(R.adamax(lr, b1, b2, eps=0.0), geometric, params=(np.zeros(1),))
    last = abs(traj[-1, 0] - traj[-2, 0])
    q = b1 / b2
    bound = lr * (1 - b1) * (1 - q ** steps) / (1 - q) / (1 - b1 ** steps) if b1 else lr
    assert_close(last, bound, rtol=1e-12)
    if b1:      # the paper's |Δ| ≤ α is this bound rounded down: it tends to η(1 − β1)/(1 − β1/β2) > η
        assert last > lr


def test_lion_moves_every_entry_by_exactly_lr():
    lr, wd = 0.01, 0.3
    stream = _random_stream(20, (40,), seed=2)
    w0 = np.random.default_rng(3).normal(size=40)
    for decay in (0.0, wd):
        traj = np.vstack([w0, run_reference(R.lion(lr, weight_decay=decay), stream, params=(w0,))])
        sign_part = (traj[1:] - traj[:-1]) + lr * decay * traj[:-1]     # Δw + ηλw = −η sgn(c)
        assert_close(np.abs(sign_part), np.full_like(sign_part, lr), rtol=1e-12)
    # sgn(0) = 0: a zero gradient from a zero momentum does not move
    assert_close(run_reference(R.lion(lr), [(np.zeros(3),)], params=(np.ones(3),)), [[1.0, 1.0, 1.0]], rtol=0)


def test_radam_is_sgd_with_momentum_until_rho_passes_the_threshold():
    lr, b1, b2 = 0.05, 0.8, 0.999
    stream = _random_stream(8, (6,), seed=4)
    m, w, expected = np.zeros(6), np.zeros(6), []
    for t, (g,) in enumerate(stream, start=1):
        m = b1 * m + (1 - b1) * g
        w = w - lr * m / (1 - b1 ** t)
        expected.append(w)
    first = {"pytorch": 6, "official": 6, "paper": 5}          # β2 = 0.999: ρ_5 = 4.996, ρ_6 = 5.994
    for threshold, t0 in first.items():
        traj = run_reference(R.radam(lr, b1, b2, threshold=threshold), stream, params=(np.zeros(6),))
        _close(traj[:t0 - 1], expected[:t0 - 1])
        assert _rel_diff(traj[t0 - 1], expected[t0 - 1]) > 1e-3
    # the authors' default (degenerated_to_sgd=False) does not move before
    still = run_reference(R.radam(lr, b1, b2, degenerated_to_sgd=False, weight_decay=0.1,
                                  decoupled_weight_decay=True), stream, params=(np.ones(6),))
    assert_close(still[:5], np.ones((5, 6)), rtol=0)
    assert np.all(still[5] != 1.0)
    # β2 ≤ 3/5 makes ρ_∞ ≤ 4: RAdam never rectifies, it is SGD with momentum throughout
    traj = run_reference(R.radam(lr, b1, 0.6, threshold="paper"), stream, params=(np.zeros(6),))
    _close(traj, expected)


def test_nadam_schedules():
    stream = _stream()
    # 0.96^(10⁶ t) underflows: Dozat's schedule with a huge ψ is the constant one (optax)
    _close(run_reference(R.nadam(0.1, momentum_decay=1e6), stream), run_reference(R.nadam(0.1, schedule="constant"),
                                                                                    stream))
    assert R.nadam_momentum(1, 0.9) == pytest.approx(0.9 * (1 - 0.5 * 0.96 ** 0.004))
    assert R.nadam_momentum(7, 0.9, schedule="constant") == 0.9


def test_amsgrad_maxima_agree_while_v_grows_and_part_when_it_shrinks():
    growing = [(np.array([g]),) for g in (0.1, 0.2, 0.4, 0.8, 1.6)]
    _close(run_reference(R.amsgrad(0.1), growing, params=(np.zeros(1),)),
           run_reference(R.amsgrad(0.1, maximum_of="v-hat"), growing, params=(np.zeros(1),)))
    shrinking = [(np.array([g]),) for g in (1.0, 0.01, 0.01, 0.01)]
    torch_form = run_reference(R.amsgrad(0.1), shrinking, params=(np.zeros(1),))
    optax_form = run_reference(R.amsgrad(0.1, maximum_of="v-hat"), shrinking, params=(np.zeros(1),))
    assert_close(torch_form[0], optax_form[0], rtol=1e-15)
    # optax's maximum of v̂ is the larger denominator: smaller steps after the first
    assert np.all(np.abs(np.diff(optax_form[:, 0])) < np.abs(np.diff(torch_form[:, 0])))
    # the canonical form is PyTorch's Adam(amsgrad=True), which is reference.adam(amsgrad=True)
    _close(run_reference(R.amsgrad(0.1, eps=1e-3), _stream()), run_reference(R.adam(0.1, eps=1e-3, amsgrad=True), _stream()))


def test_lamb_moves_each_layer_by_lr_times_its_norm():
    lr = 0.01
    stream = _stream()
    traj = run_reference(R.lamb(lr), stream)
    prev = np.concatenate([A0.ravel(), B0.ravel()])
    for w in traj:
        for sl in (slice(0, 3), slice(3, 7)):       # the two layers
            assert_close(np.linalg.norm(w[sl] - prev[sl]), lr * np.linalg.norm(prev[sl]), rtol=1e-12)
        prev = w
    # zero weights: the ratio is 1, the step is η r
    w = run_reference(R.lamb(lr, eps=0.0), [(np.array([2.0, -3.0]),)], params=(np.zeros(2),))[0]
    assert_close(w, [-lr, lr], rtol=1e-15)
    # the trust ratio cancels any scalar: without decay and ε, debiasing changes nothing
    _close(run_reference(R.lamb(lr, eps=0.0), stream), run_buggy(bugs.LambNoDebias, stream, lr=lr, eps=0.0))


@pytest.mark.parametrize("eps", [0.0, 1e-5, 0.3])
def test_layernorm_standardises_each_example(eps):
    x = np.random.default_rng(5).normal(size=(4, 3, 5)) * [[[1.0]], [[3.0]], [[0.01]], [[100.0]]] + 7.0
    y, _ = R.layernorm_forward(x, eps=eps, normalized_shape=(3, 5))
    var = x.reshape(4, -1).var(axis=1)
    assert_close(y.reshape(4, -1).mean(axis=1), np.zeros(4), atol=1e-12)    # x − μ rounds at 1e-16·|x|/σ
    assert_close(y.reshape(4, -1).var(axis=1), var / (var + eps), rtol=1e-12)
    if eps == 0.0:      # invariant to a shift and a positive scale of each example
        assert_close(R.layernorm_forward(3 * x - 2, eps=0.0, normalized_shape=(3, 5))[0], y, rtol=1e-10, atol=1e-13)


def test_rmsnorm_has_unit_mean_square():
    x = np.random.default_rng(6).normal(size=(5, 8)) * 0.01
    for eps in (0.0, 1e-4):
        y, _ = R.rmsnorm_forward(x, eps=eps)
        ms = (x * x).mean(axis=1)
        assert_close((y * y).mean(axis=1), ms / (ms + eps), rtol=1e-12)
    assert_close(R.rmsnorm_forward(-4 * x, eps=0.0)[0], -R.rmsnorm_forward(x, eps=0.0)[0], rtol=1e-14)
    assert R.rmsnorm_default_eps(np.ones(2)) == np.finfo(np.float64).eps
    assert R.rmsnorm_default_eps(np.ones(2, dtype=np.float32)) == np.finfo(np.float32).eps


def _numeric_vjp(f, x, dy, h=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        grad[i] = np.sum(dy * (f(x + e) - f(x - e))) / (2 * h)
    return grad


def test_norm_backward_passes_by_central_differences():
    rng = np.random.default_rng(7)
    x, dy = rng.normal(size=(3, 2, 4)), rng.normal(size=(3, 2, 4))
    gamma, beta = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    _, cache = R.layernorm_forward(x, gamma, beta, eps=0.1)
    dx, dgamma, dbeta = R.layernorm_backward(dy, cache)
    assert_close(dx, _numeric_vjp(lambda z: R.layernorm_forward(z, gamma, beta, eps=0.1)[0], x, dy), rtol=1e-7, atol=1e-9)
    assert_close(dgamma, _numeric_vjp(lambda gm: R.layernorm_forward(x, gm, beta, eps=0.1)[0], gamma, dy), rtol=1e-7,
                 atol=1e-9)
    assert_close(dbeta, dy.sum(axis=0), rtol=1e-14)
    _, cache = R.rmsnorm_forward(x, gamma, eps=0.1)
    dx, dgamma = R.rmsnorm_backward(dy, cache)
    assert_close(dx, _numeric_vjp(lambda z: R.rmsnorm_forward(z, gamma, eps=0.1)[0], x, dy), rtol=1e-7, atol=1e-9)
    assert_close(dgamma, _numeric_vjp(lambda gm: R.rmsnorm_forward(x, gm, eps=0.1)[0], gamma, dy), rtol=1e-7,
                 atol=1e-9)
    # no affine parameters: nothing to return for them
    _, cache = R.layernorm_forward(x, eps=0.1, normalized_shape=4)
    assert R.layernorm_backward(dy, cache)[1:] == (None, None)


def test_norm_backward_passes_against_sympy():
    """∂(Σ dy·y)/∂x and ∂/∂γ derived by sympy from the forward formulas, at a point, for one example of 4 entries."""
    sp = pytest.importorskip("sympy")
    xs, gs, bs = sp.symbols("x0:4"), sp.symbols("g0:4"), sp.symbols("b0:4")
    eps = sp.Rational(1, 10)
    mean = sum(xs) / 4
    var = sum((x - mean) ** 2 for x in xs) / 4
    ln = [g * (x - mean) / sp.sqrt(var + eps) + b for x, g, b in zip(xs, gs, bs)]
    ms = sum(x ** 2 for x in xs) / 4
    rms = [g * x / sp.sqrt(ms + eps) for x, g in zip(xs, gs)]
    x = np.array([0.3, -1.2, 2.0, 0.7])
    gamma, beta, dy = np.array([1.5, -0.5, 2.0, 1.0]), np.array([0.1, 0.2, -0.3, 0.0]), np.array([1.0, -2.0, 0.5, 3.0])
    point = {**dict(zip(xs, x)), **dict(zip(gs, gamma)), **dict(zip(bs, beta))}

    def grads(outputs, wrt):
        loss = sum(d * y for d, y in zip(dy, outputs))
        return np.array([float(sp.diff(loss, v).subs(point)) for v in wrt])

    _, cache = R.layernorm_forward(x[None], gamma, beta, eps=0.1)
    dx, dgamma, dbeta = R.layernorm_backward(dy[None], cache)
    assert_close(dx[0], grads(ln, xs), rtol=1e-13)
    assert_close(dgamma, grads(ln, gs), rtol=1e-13)
    assert_close(dbeta, grads(ln, bs), rtol=1e-13)
    _, cache = R.rmsnorm_forward(x[None], gamma, eps=0.1)
    dx, dgamma = R.rmsnorm_backward(dy[None], cache)
    assert_close(dx[0], grads(rms, xs), rtol=1e-13)
    assert_close(dgamma, grads(rms, gs), rtol=1e-13)


def test_norms_match_torch_forward_and_backward():
    with _torch_float64() as torch:
        rng = np.random.default_rng(8)
        x, dy = rng.normal(size=(3, 2, 4)), rng.normal(size=(3, 2, 4))
        gamma, beta = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
        tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
        ty = torch.nn.functional.layer_norm(tx, (2, 4), tg, tb, eps=0.3)
        ty.backward(torch.tensor(dy))
        y, cache = R.layernorm_forward(x, gamma, beta, eps=0.3)
        assert_close(y, ty.detach().numpy(), rtol=1e-13, atol=1e-14)
        for mine, theirs in zip(R.layernorm_backward(dy, cache), (tx, tg, tb)):
            assert_close(mine, theirs.grad.numpy(), rtol=1e-12, atol=1e-13)
        # torch.nn.LayerNorm(4, bias=False) and LayerNorm(4, elementwise_affine=False): one dimension, no shift
        for weight in (gamma[0], None):
            layer = torch.nn.LayerNorm(4, eps=0.3, bias=False, elementwise_affine=weight is not None)
            if weight is not None:
                layer.weight.data = torch.tensor(weight)
            assert_close(R.layernorm_forward(x, weight, eps=0.3, normalized_shape=4)[0],
                         layer(torch.tensor(x)).detach().numpy(), rtol=1e-13, atol=1e-14)
        tx, tg = (torch.tensor(a, requires_grad=True) for a in (x, gamma))
        ty = torch.nn.functional.rms_norm(tx, (2, 4), tg, eps=0.3)
        ty.backward(torch.tensor(dy))
        y, cache = R.rmsnorm_forward(x, gamma, eps=0.3)
        assert_close(y, ty.detach().numpy(), rtol=1e-13, atol=1e-14)
        for mine, theirs in zip(R.rmsnorm_backward(dy, cache), (tx, tg)):
            assert_close(mine, theirs.grad.numpy(), rtol=1e-12, atol=1e-13)
        # RMSNorm(eps=None) in float32 uses float32's machine ε: inputs of mean square ~1e-7 show it
        small = (rng.normal(size=(4, 6)) * 3e-4).astype(np.float32)
        layer = torch.nn.RMSNorm(6, dtype=torch.float32)
        theirs = layer(torch.tensor(small)).detach().numpy()
        assert_close(R.rmsnorm_forward(small)[0], theirs, rtol=1e-5)
        assert _rel_diff(R.rmsnorm_forward(small, eps=np.finfo(np.float64).eps)[0], theirs) > 0.1


def test_clip_small_unchanged_large_to_max_norm():
    rng = np.random.default_rng(9)
    grads = [rng.normal(size=(3,)), rng.normal(size=(2, 5)), rng.normal(size=())]
    n = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    for convention in ("pytorch", "optax"):
        clipped, norm = R.clip_by_global_norm(grads, 2 * n, convention=convention)
        assert norm == pytest.approx(n, rel=1e-15)
        for c, g in zip(clipped, grads):
            assert_close(c, g, rtol=0)
        clipped, _ = R.clip_by_global_norm(grads, n / 4, convention=convention)
        new_norm = math.sqrt(sum(np.sum(c * c) for c in clipped))
        expected = n / 4 if convention == "optax" else n / 4 * n / (n + 1e-6)
        assert new_norm == pytest.approx(expected, rel=1e-14)
        for c, g in zip(clipped, grads):          # one factor for every tensor: the direction is kept
            assert_close(c, g * (new_norm / n), rtol=1e-13)
    # torch clips within 1e-6 below max_norm already; optax does not
    clipped, _ = R.clip_by_global_norm(grads, n + 5e-7)
    assert math.sqrt(sum(np.sum(c * c) for c in clipped)) < n
    assert all(np.array_equal(c, g) for c, g in zip(R.clip_by_global_norm(grads, n + 5e-7, convention="optax")[0],
                                                       grads))


def test_clip_matches_torch_and_optax():
    rng = np.random.default_rng(10)
    grads = [rng.normal(size=(3,)), rng.normal(size=(2, 5))]
    n = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    for max_norm in (n / 3, n - 5e-7, n, 2 * n):
        with _torch_float64() as torch:
            ps = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
            for p, g in zip(ps, grads):
                p.grad = torch.tensor(g)
            total = torch.nn.utils.clip_grad_norm_(ps, max_norm)
            theirs = [p.grad.numpy() for p in ps]
        mine, norm = R.clip_by_global_norm(grads, max_norm)
        assert norm == pytest.approx(float(total), rel=1e-15)
        for a, b in zip(mine, theirs):
            assert_close(a, b, rtol=1e-15, atol=1e-17)
        jax, optax = _optax()
        import jax.numpy as jnp

        theirs, _ = optax.clip_by_global_norm(max_norm).update([jnp.asarray(g) for g in grads], optax.EmptyState())
        for a, b in zip(R.clip_by_global_norm(grads, max_norm, convention="optax")[0], theirs):
            assert_close(a, np.asarray(b), rtol=1e-15, atol=1e-17)


# ------------------------------------------------- validation


@pytest.mark.parametrize("build, message", [
    (lambda: R.adamax(eps_placement="inside"), "eps_placement must be one of"),
    (lambda: R.nadam(schedule="keras"), "schedule must be one of"),
    (lambda: R.radam(threshold=4), "threshold must be one of"),
    (lambda: R.radam(eps_placement="none"), "eps_placement must be one of"),
    (lambda: R.amsgrad(maximum_of="vhat"), "maximum_of must be one of"),
    (lambda: R.adagrad(eps_placement="hat"), "eps_placement must be one of"),
    (lambda: R.lamb(weight_decay_form="decoupled"), "weight_decay_form must be one of"),
    (lambda: R.lion(b1=1.5), "b1 must be in"),
    (lambda: R.adadelta(rho=1.5), "rho must be in"),
    (lambda: R.nadam(momentum_decay=-1.0), "momentum_decay must be"),
    (lambda: R.clip_by_global_norm([np.ones(2)], 1.0, convention="keras"), "convention must be one of"),
    (lambda: R.clip_by_global_norm([np.ones(2)], -1.0), "max_norm must be"),
    (lambda: R.layernorm_forward(np.ones((2, 3)), normalized_shape=(2,)), "trailing dimensions"),
    (lambda: R.layernorm_forward(np.ones((2, 3)), np.ones(2)), "trailing dimensions"),
    (lambda: R.rmsnorm_forward(np.ones((2, 3)), np.ones(3), normalized_shape=3, eps=-1.0), "eps must be"),
])
def test_bad_arguments_are_named(build, message):
    with pytest.raises(ValueError, match=message):
        build()


# ------------------------------------------------- (d) the historical bugs


def test_nadam_extra_mu():
    one = [(g,) for g in GA]
    buggy = run_buggy(bugs.NadamExtraMu, one, params=(A0,), lr=0.1)
    # PyTorch before #92699, float64 (research): t = 1 and t = 3
    _close(buggy[0], [0.8950468935343888, -1.8950468882867337, 0.39504688653751524])
    _close(buggy[2], [0.9502657554496698, -2.032749328247491, 0.40009687478923706])
    assert _rel_diff(buggy, run_reference(R.nadam(0.1), one, params=(A0,))) > 1e-4


def test_adam_eps_scaled_by_the_bias_correction():
    stream = _stream()
    buggy = run_buggy(bugs.AdamEpsScaled, stream, lr=0.1, eps=1e-3)
    assert _rel_diff(buggy, run_reference(R.adam(0.1, eps=1e-3), stream)) > 1e-3
    _close(buggy, run_reference(R.adam(0.1, eps=1e-3, eps_placement="hat"), stream))     # Keras' form


def test_amsgrad_maximum_of_v_hat_is_optax_not_torch():
    stream = _stream()
    buggy = run_buggy(bugs.AmsgradMaxOfVhat, stream, lr=0.1)
    assert _rel_diff(buggy, run_reference(R.amsgrad(0.1), stream)) > 1e-3
    _close(buggy, run_reference(R.amsgrad(0.1, maximum_of="v-hat"), stream))


def test_amsgrad_that_forgets_its_maximum_is_adam():
    stream = [(np.array(g),) for g in ([1.0, -2.0, 0.5], [0.01, 0.02, -0.01], [0.01, -0.02, 0.3])]
    buggy = run_buggy(bugs.AmsgradForgetsMax, stream, params=(A0,), lr=0.1)
    # PyTorch 2022 foreach AMSGrad = Adam (research): t = 3
    _close(buggy[2], [0.7792477091273107, -1.7818875517284178, 0.2582007180469588])
    assert _rel_diff(buggy, run_reference(R.amsgrad(0.1), stream, params=(A0,))) > 1e-5
    _close(buggy, run_reference(R.adam(0.1), stream, params=(A0,)))


def test_radam_threshold_four():
    stream = _stream(7)
    buggy = run_buggy(bugs.RadamThresholdFour, stream, lr=0.1)
    ref = run_reference(R.radam(0.1), stream)
    _close(buggy[:4], ref[:4])
    assert _rel_diff(buggy[4], ref[4]) > 1e-3                    # t = 5: ρ_5 = 4.996
    _close(buggy, run_reference(R.radam(0.1, threshold="paper"), stream))


def test_lamb_without_debiasing():
    stream = list(zip(GA, GB))
    buggy = run_buggy(bugs.LambNoDebias, stream, lr=0.1, weight_decay=0.1)
    # the research's t = 1 (ε 1e-6, λ 0.1, no clamp acting)
    _close(buggy[0], [0.8684244463964441, -1.864369805228505, 0.3704148003815091, 0.26824259447798515,
                      -0.09990051180210163, 0.231258638246911, 0.36815106231665595])
    assert _rel_diff(buggy, run_reference(R.lamb(0.1, weight_decay=0.1), stream)) > 1e-3


def test_lamb_with_decay_in_the_gradient():
    stream = list(zip(GA, GB))
    buggy = run_buggy(bugs.LambDecayInGradient, stream, lr=0.1, weight_decay=0.1)
    _close(buggy[0], [0.8677126391767449, -1.8677123084591696, 0.3677123557046388, 0.27261315294198696,
                      -0.07261583968472214, 0.22738680092130611, 0.3726132968879986])
    assert _rel_diff(buggy, run_reference(R.lamb(0.1, weight_decay=0.1), stream)) > 1e-2


def test_lion_with_coupled_decay():
    one = [(g,) for g in GA]
    buggy = run_buggy(bugs.LionCoupledDecay, one, params=(A0,), lr=0.1, weight_decay=0.5)
    # bitsandbytes' form (research): the decay is swallowed by the sign
    _close(buggy, [[0.9, -1.9, 0.4], [0.8, -1.8, 0.3], [0.7, -1.7, 0.2]])
    assert _rel_diff(buggy, run_reference(R.lion(0.1, weight_decay=0.5), one, params=(A0,))) > 1e-2


def test_decoupled_decay_after_the_update():
    one = [(g,) for g in GA]
    buggy = run_buggy(bugs.LionDecayAfter, one, params=(A0,), lr=0.1, weight_decay=0.5)
    _close(buggy, [[0.855, -1.805, 0.38], [0.90725, -1.80975, 0.266], [0.7668875, -1.8142625, 0.3477]])
    assert _rel_diff(buggy, run_reference(R.lion(0.1, weight_decay=0.5), one, params=(A0,))) > 1e-2
    buggy = run_buggy(bugs.AdamWDecayAfter, one, params=(A0,), lr=0.1, weight_decay=0.1)
    # t = 1: m̂/(√v̂ + ε) = g/(|g| + ε); (w − 0.1 g/(|g| + ε))(1 − 0.1·0.1)
    _close(buggy[0], (A0 - 0.1 * GA[0] / (np.abs(GA[0]) + 1e-8)) * 0.99)
    assert _rel_diff(buggy, run_reference(R.adamw(0.1, weight_decay=0.1), one, params=(A0,))) > 1e-3
    # HuggingFace's old AdamW also folded the bias corrections into the step size (ε̂): the research's numbers
    buggy = run_buggy(bugs.HuggingFaceAdamW, one, params=(A0,), lr=0.1, weight_decay=0.1)
    _close(buggy[0], [0.8910003130644983, -1.8810001565324967, 0.3960001043550528])
    _close(buggy[2], [0.9390134874276217, -1.9406610729167302, 0.27417594958658487])


def test_layernorm_bugs():
    x = np.array([[1.0, 2.0, 4.0, -1.0], [0.5, 0.5, 0.5, 0.5001]])    # row 2: σ² = 1.9e-9, below ε
    gamma, beta = np.array([1.0, 2.0, 0.5, -1.0]), np.array([0.0, 0.1, -0.2, 0.3])
    ref = R.layernorm_forward(x, gamma, beta)[0]
    squared = bugs.layernorm_var_plus_eps_squared(x, gamma, beta)
    assert_close(squared[0], [-0.047336986801526544, 0.1946739736030531, -0.08165753299618364, 0.5366849340076327],
                 rtol=1e-12)
    assert _rel_diff(squared, ref) > 1.0
    outside = bugs.layernorm_eps_outside_root(x, gamma, beta)
    assert_close(outside[1], [-0.4690319744950324, -0.8380639489900649, -0.4345159872475162, -1.107095923489263],
                 rtol=1e-9)
    assert _rel_diff(outside[1], ref[1]) > 0.5


def test_rmsnorm_eps_outside_the_root():
    x = np.array([[1.0, 2.0, 4.0, -1.0], [0.5, 0.5, 0.5, 0.5001]])
    gamma = np.array([1.0, 2.0, 0.5, -1.0])
    buggy = bugs.rmsnorm_eps_outside_root(x, gamma, eps=1e-2)
    assert_close(buggy, [[0.42459097072887053, 1.6983638829154821, 0.8491819414577411, 0.42459097072887053],
                         [0.9803440971755241, 1.9606881943510481, 0.49017204858776203, -0.9805401659949592]],
                 rtol=1e-12)
    assert _rel_diff(buggy, R.rmsnorm_forward(x, gamma, eps=1e-2)[0]) > 1e-4


def test_clipping_per_tensor():
    grads = [np.array([3.0, 4.0]), np.array([[0.0, 12.0]])]
    buggy = bugs.clip_per_tensor(grads, 5.0)
    assert_close(buggy[1], [[0.0, 5.0]], rtol=0)
    assert_close(buggy[0], [3.0, 4.0], rtol=0)                     # its own norm is 5: left alone
    ref, _ = R.clip_by_global_norm(grads, 5.0)
    assert _rel_diff(np.concatenate([b.ravel() for b in buggy]), np.concatenate([r.ravel() for r in ref])) > 1.0


def test_adadelta_that_forgets_its_state():
    stream = _stream()
    buggy = run_buggy(bugs.AdadeltaForgetsState, stream)
    assert _rel_diff(buggy, run_reference(R.adadelta(1.0), stream)) > 1e-3
    # every step is the first step of a fresh Adadelta
    firsts = np.array([run_reference(R.adadelta(1.0), [grads], params=prev)[0]
                       for grads, prev in zip(stream, [(A0, B0)] + [(w[:3], w[3:].reshape(2, 2)) for w in buggy])])
    _close(buggy, firsts)


# ------------------------------------------- (e) implementations written by others


class D2lAdadelta:
    """d2l.ai §12.9 (from scratch): ε = 1e-5, no learning rate, state written in place."""

    def __init__(self, rho=0.9):
        self.rho, self.eps, self.s, self.delta = rho, 1e-5, None, None

    def step(self, params, grads):
        if self.s is None:
            self.s, self.delta = np.zeros_like(params), np.zeros_like(params)
        self.s[:] = self.rho * self.s + (1 - self.rho) * np.square(grads)
        g = (np.sqrt(self.delta + self.eps) / np.sqrt(self.s + self.eps)) * grads
        self.delta[:] = self.rho * self.delta + (1 - self.rho) * g * g
        return params - g


class D2lAdagrad:
    """d2l.ai §12.7 (from scratch): ε = 1e-6 inside the root."""

    def __init__(self, lr=0.1):
        self.lr, self.s = lr, None

    def step(self, params, grads):
        if self.s is None:
            self.s = np.zeros_like(params)
        self.s[:] += np.square(grads)
        return params - self.lr * grads / np.sqrt(self.s + 1e-6)


class ScratchAdaGrad:
    """"Deep learning from scratch" (common/optimizer.py): h += g·g, lr·g/(√h + 1e-7)."""

    def __init__(self, lr=0.01):
        self.lr, self.h = lr, None

    def step(self, params, grads):
        if self.h is None:
            self.h = np.zeros_like(params)
        self.h += grads * grads
        return params - self.lr * grads / (np.sqrt(self.h) + 1e-7)


class LucidrainsLion:
    """lion-pytorch's update_fn: p ← p(1 − lr·wd); p ← p − lr·sign(β1 m + (1 − β1) g); m ← β2 m + (1 − β2) g."""

    def __init__(self, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        self.lr, (self.b1, self.b2), self.wd, self.exp_avg = lr, betas, weight_decay, None

    def step(self, params, grads):
        if self.exp_avg is None:
            self.exp_avg = np.zeros_like(params)
        p = params * (1 - self.lr * self.wd)
        update = np.sign(self.exp_avg * self.b1 + grads * (1 - self.b1))
        self.exp_avg = self.exp_avg * self.b2 + grads * (1 - self.b2)
        return p - self.lr * update


class OfficialRAdam:
    """LiyuanLucasLiu/RAdam's radam.py: N_sma ≥ 5, ε added to √v with the corrections in the step size, no step
    before (degenerated_to_sgd=False, its default), decoupled decay on the steps it takes."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, degenerated_to_sgd=False):
        self.lr, (self.b1, self.b2), self.eps, self.wd = lr, betas, eps, weight_decay
        self.degenerated_to_sgd, self.step_count, self.m, self.v = degenerated_to_sgd, 0, None, None

    def step(self, params, grads):
        if self.m is None:
            self.m, self.v = np.zeros_like(params), np.zeros_like(params)
        self.v = self.v * self.b2 + (1 - self.b2) * grads * grads
        self.m = self.m * self.b1 + (1 - self.b1) * grads
        self.step_count += 1
        t, b2 = self.step_count, self.b2
        b2t = b2 ** t
        n_sma_max = 2 / (1 - b2) - 1
        n_sma = n_sma_max - 2 * t * b2t / (1 - b2t)
        if n_sma >= 5:
            step_size = math.sqrt((1 - b2t) * (n_sma - 4) / (n_sma_max - 4) * (n_sma - 2) / n_sma * n_sma_max
                                  / (n_sma_max - 2)) / (1 - self.b1 ** t)
        elif self.degenerated_to_sgd:
            step_size = 1.0 / (1 - self.b1 ** t)
        else:
            return params
        p = params - self.wd * self.lr * params if self.wd else params
        if n_sma >= 5:
            return p - step_size * self.lr * self.m / (np.sqrt(self.v) + self.eps)
        return p - step_size * self.lr * self.m


@pytest.mark.parametrize("target, hp, reference", [
    (D2lAdadelta, dict(rho=0.9), R.adadelta(1.0, rho=0.9, eps=1e-5)),
    (D2lAdagrad, dict(lr=0.1), R.adagrad(0.1, eps=1e-6, eps_placement="inside")),
    (ScratchAdaGrad, dict(lr=0.1), R.adagrad(0.1, eps=1e-7)),
    (LucidrainsLion, dict(lr=0.1, weight_decay=0.3), R.lion(0.1, weight_decay=0.3)),
    (OfficialRAdam, dict(lr=0.1, eps=1e-2, weight_decay=0.1),
     R.radam(0.1, eps=1e-2, weight_decay=0.1, threshold="official", degenerated_to_sgd=False, decoupled_weight_decay=True)),
    (OfficialRAdam, dict(lr=0.1, eps=1e-2, weight_decay=0.1, degenerated_to_sgd=True),
     R.radam(0.1, eps=1e-2, weight_decay=0.1, threshold="official", decoupled_weight_decay=True)),
], ids=["d2l-adadelta", "d2l-adagrad", "scratch-adagrad", "lucidrains-lion", "official-radam",
        "official-radam-sgd"])
def test_implementations_written_by_others(target, hp, reference):
    stream = _stream()
    _close(run_buggy(target, stream, **hp), run_reference(reference, stream))
