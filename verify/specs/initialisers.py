"""Specs ``init-lecun``, ``init-xavier``, ``init-he`` and ``relu-bias``.

Protocol: ``init(shape, rng) -> ndarray`` for numpy code (layout
``(fan_in, fan_out)`` or ``(*kernel, fan_in, fan_out)``; ``--param
layout=torch`` for ``(fan_out, fan_in, *kernel)``), or a ``torch.nn.init``
function ``fn(tensor)`` (PyTorch layout).

Every statistical check states its level and power: the run's family-wise
false-alarm rate (``--alpha``, default 1e-6) is split evenly over the spec's
statistical checks, and Holm's procedure decides the tests inside a check.
Sample sizes are planned so that a 5 % error in σ is detected with power
≥ 0.99 at the worst-case level. Expected values come from the sympy
derivations in :mod:`verify.symbolic`, never from the code under test.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

import reference
from verify.compare import format_number as fmt
from verify.results import Figure, Series
from verify.specs.base import Check, CheckContext, Family, Kind, Outcome, Param, Spec, failed, passed

__all__ = ["SPECS"]

# Weight shapes with fan_in ≠ fan_out and a receptive field > 1, so that a fan
# mix-up or a forgotten kernel size changes σ by a factor far above 5 %.
SHAPES = {
    "numpy": [(3, 3, 64, 32), (5, 40, 100), (300, 120)],
    "torch": [(32, 64, 3, 3), (100, 40, 5), (120, 300)],
}
MAX_DRAWS = 40              # bound on calls per shape, whatever the planned sample size
REL_EFFECT = 0.05           # the σ error every std test must detect with power 0.99
SHAPE_N = 32_000            # values for the distribution-shape test
POWER = 0.99
_STATS_DISTRIBUTION = {"normal": "normal", "uniform": "uniform", "truncated": "truncated_normal"}


# ------------------------------------------------------------ expected values


def _fans(shape: tuple[int, ...], layout: str) -> tuple[int, int]:
    return reference.compute_fans(shape, layout)


def _derived_std(scheme: str, fan_in: int, fan_out: int) -> float:
    """σ from the sympy derivation of the scheme (not from any implementation)."""
    from verify import symbolic

    if scheme == "lecun":
        return float(symbolic.lecun_std().func(fan_in))
    if scheme == "he":
        return float(symbolic.he_std().func(fan_in))
    return float(symbolic.xavier_std().func(fan_in, fan_out))


def _expected_std(scheme: str, shape: tuple[int, ...], layout: str) -> float:
    return _derived_std(scheme, *_fans(shape, layout))


def _truncated_scale() -> float:
    from verify import symbolic

    return float(symbolic.truncated_normal_std().func())


# ------------------------------------------------------------------- sampling


def _layout(ctx: CheckContext) -> str:
    return getattr(ctx.subject, "layout", "numpy")


def _draw(ctx: CheckContext, shape: tuple[int, ...], n_needed: int, salt: str) -> np.ndarray:
    """Independent draws of ``shape`` (different seeds) until ``n_needed`` values, stacked."""
    per = math.prod(shape)
    k = min(MAX_DRAWS, max(1, math.ceil(n_needed / per)))
    return np.stack([ctx.subject.sample(shape, ctx.int_seed(salt, shape, i)) for i in range(k)])


def _planned_n(ctx: CheckContext, n_tests: int, distribution: str = "normal") -> int:
    from verify import stats

    return stats.planned_sample_size("std", REL_EFFECT, alpha=ctx.alpha / n_tests, power=POWER,
                                     distribution=_STATS_DISTRIBUTION[distribution])


def _holm_outcome(ctx: CheckContext, tests: list, ok_text: str, fail_text: Callable[[Any], str],
                  **fields: Any) -> Outcome:
    """Decide a check's tests with Holm at the check's level; one outcome."""
    from verify import stats

    decided = stats.apply_holm(tests, ctx.alpha)
    dicts = [t.to_dict() for t in decided]
    bad = [t for t in decided if not t.passed]
    if bad:
        lines = [fail_text(bad[0])] + [f"  {t.message}" for t in decided]
        return failed("\n".join(lines), stat_tests=dicts, **fields)
    return passed(ok_text + "\n" + "\n".join(f"  {t.message}" for t in decided), stat_tests=dicts, **fields)


# ------------------------------------------------------------------ diagnosis


def _std_candidates(scheme: str, distribution: str) -> dict[str, Callable[[int, int], float]]:
    """σ that common bugs produce, as functions of (fan_in, fan_out)."""
    right = lambda fi, fo: _derived_std(scheme, fi, fo)  # noqa: E731
    trunc = _truncated_scale()
    out = {
        "fan_in and fan_out swapped": lambda fi, fo: _derived_std(scheme, fo, fi),
        "LeCun's σ = 1/√fan_in": lambda fi, fo: _derived_std("lecun", fi, fo),
        "He's σ = √(2/fan_in)": lambda fi, fo: _derived_std("he", fi, fo),
        "Glorot/Xavier's σ = √(2/(fan_in + fan_out))": lambda fi, fo: _derived_std("xavier", fi, fo),
        "Glorot's uniform limit √(6/(fan_in + fan_out)) used as σ": lambda fi, fo: math.sqrt(6 / (fi + fo)),
        "the variance used as the standard deviation (σ² instead of σ)": lambda fi, fo: right(fi, fo) ** 2,
        "σ = 1/fan_in instead of 1/√fan_in": lambda fi, fo: right(fi, fo) ** 2 * (2 if scheme == "he" else 1),
    }
    if scheme == "he":
        out["the ReLU gain √2 is missing"] = lambda fi, fo: right(fi, fo) / math.sqrt(2)
    if distribution == "uniform":
        out["uniform bound σ instead of √3 σ"] = lambda fi, fo: right(fi, fo) / math.sqrt(3)
    if distribution == "truncated":
        out["truncated normal without the 0.8796 correction"] = lambda fi, fo: right(fi, fo) * trunc
    else:
        out["a normal truncated at ±2σ without the 0.8796 correction"] = lambda fi, fo: right(fi, fo) * trunc
    return out


def _diagnose_std(scheme: str, distribution: str, layout: str,
                  measured: dict[tuple[int, ...], tuple[float, float]]) -> str | None:
    """The candidates whose σ matches the measured σ at every shape (within 4 standard errors)."""
    matches = []
    for name, fn in _std_candidates(scheme, distribution).items():
        zs = []
        for shape, (sd, se) in measured.items():
            pred = fn(*_fans(shape, layout))
            zs.append(abs(sd - pred) / se if pred > 0 else math.inf)
        if max(zs) < 4.0:
            matches.append(name)
    if not matches:
        return None
    text = matches[0] if len(matches) == 1 else f"{matches[0]} (equivalently: {' or '.join(matches[1:])})"
    return f"the measured σ matches {text} at every shape tested"


# --------------------------------------------------------------------- checks


def _std(scheme: str):
    def check(ctx: CheckContext) -> Outcome:
        from verify import stats

        layout, dist = _layout(ctx), ctx.params["distribution"]
        shapes = SHAPES[layout]
        n_needed = _planned_n(ctx, len(shapes), dist)
        tests, measured = [], {}
        for shape in shapes:
            w = _draw(ctx, shape, n_needed, "std").ravel()
            sigma = _expected_std(scheme, shape, layout)
            fi, fo = _fans(shape, layout)
            t = stats.std_test(w, sigma, ctx.alpha, distribution=_STATS_DISTRIBUTION[dist], power=POWER,
                               name=f"std at shape {shape} (fan_in {fi}, fan_out {fo})")
            tests.append(t)
            sd = float(np.sqrt(np.mean(w * w)))
            kurt = stats.excess_kurtosis(_STATS_DISTRIBUTION[dist])
            measured[shape] = (sd, sd * math.sqrt((2 + kurt) / (4 * w.size)) or 1e-300)
        outcome = _holm_outcome(
            ctx, tests,
            f"σ matches the derivation ({_statement(scheme)}) at {len(shapes)} shapes in {layout} layout",
            lambda t: f"σ is wrong: {t.summary}",
            metrics={"shapes": [list(s) for s in shapes], "layout": layout},
        )
        if outcome.status.value == "fail":
            outcome.diagnosis = _diagnose_std(scheme, dist, layout, measured)
        return outcome

    return check


def _statement(scheme: str) -> str:
    return {"lecun": "σ = 1/√fan_in", "he": "σ = √(2/fan_in)", "xavier": "σ = √(2/(fan_in + fan_out))"}[scheme]


def _standardised(ctx: CheckContext, scheme: str, n_needed: int, salt: str) -> np.ndarray:
    layout = _layout(ctx)
    parts = []
    for shape in SHAPES[layout]:
        w = _draw(ctx, shape, n_needed // len(SHAPES[layout]) + 1, salt).ravel()
        parts.append(w / _expected_std(scheme, shape, layout))
    return np.concatenate(parts)


def _mean(scheme: str):
    def check(ctx: CheckContext) -> Outcome:
        from verify import stats

        n = stats.planned_sample_size("mean", REL_EFFECT, alpha=ctx.alpha, power=POWER)
        z = _standardised(ctx, scheme, n, "mean")
        t = stats.mean_test(z, 0.0, 1.0, ctx.alpha, power=POWER, name="mean (in units of the expected σ)")
        return _holm_outcome(ctx, [t], "the weights have mean 0", lambda t: f"the mean is not 0: {t.summary}")

    return check


def _shape(scheme: str):
    def check(ctx: CheckContext) -> Outcome:
        from verify import stats

        dist = ctx.params["distribution"]
        sd = _STATS_DISTRIBUTION[dist]
        # Telling a ±2σ-truncated normal from a normal of the same variance takes ~31 000 values
        # at power 0.99 (docs/statistics.md); the σ plan alone would give about 12 500.
        n = max(_planned_n(ctx, 1, dist), SHAPE_N)
        z = _standardised(ctx, scheme, n, "shape")
        # Standardised values have σ 1; the truncated normal's scale is the untruncated σ.
        scale = 1.0 / _truncated_scale() if dist == "truncated" else 1.0
        t = stats.shape_test(z, sd, scale, ctx.alpha, method="anderson", power=POWER,
                             name=f"shape (Anderson-Darling vs {dist})")
        outcome = _holm_outcome(ctx, [t], f"the weights follow the {dist} distribution",
                                lambda t: f"the weights do not follow the {dist} distribution: {t.summary}",
                                figures=_distribution_figures(z, dist, scale))
        if outcome.status.value == "fail":
            outcome.diagnosis = _diagnose_shape(z, dist, ctx.alpha)
        return outcome

    return check


def _diagnose_shape(z: np.ndarray, dist: str, alpha: float) -> str | None:
    from verify import stats

    trunc = _truncated_scale()
    for other, scale in (("normal", 1.0), ("uniform", 1.0), ("truncated_normal", 1.0 / trunc)):
        if _STATS_DISTRIBUTION[dist] == other:
            continue
        t = stats.shape_test(z, other, scale, alpha, method="anderson")
        if t.passed:
            name = {"truncated_normal": "a normal truncated at ±2σ"}.get(other, other)
            return f"the right variance but the wrong distribution: the samples fit {name} (p = {fmt(t.p_value)})"
    if np.abs(z).max() <= 2.0 / trunc * 1.0000001 and dist == "normal":
        return "no sample beyond ±2.27σ: the values look truncated"
    return None


def _distribution_figures(z: np.ndarray, dist: str, scale: float) -> list[Figure]:
    from scipy import stats as sps

    if dist == "normal":
        law = sps.norm(0, 1)
    elif dist == "uniform":
        law = sps.uniform(-math.sqrt(3), 2 * math.sqrt(3))
    else:
        law = sps.truncnorm(-2, 2, scale=scale)
    edges = np.linspace(-4, 4, 61)
    heights, _ = np.histogram(z, bins=edges, density=True)
    grid = np.linspace(-4, 4, 241)
    probs = (np.arange(1, 200) - 0.5) / 199
    sample_q = np.quantile(z, probs)
    return [
        Figure("Standardised weights w/σ against the expected density", "w / σ", "density",
               [Series("target", edges.tolist(), heights.tolist(), "step"),
                Series(f"expected {dist} density", grid.tolist(), law.pdf(grid).tolist(), "line")],
               kind="histogram"),
        Figure("QQ plot against the expected distribution", f"{dist} quantile", "sample quantile",
               [Series("target", law.ppf(probs).tolist(), sample_q.tolist(), "points")], kind="qq"),
    ]


def _independence(ctx: CheckContext) -> Outcome:
    from verify import stats

    layout = _layout(ctx)
    shape = SHAPES[layout][-1]       # the 2-D weight: rows are one axis, columns the other
    w = ctx.subject.sample(shape, ctx.int_seed("independence"))
    tests = [
        stats.correlation_test(w, ctx.alpha, axis="rows", power=POWER, name=f"row correlation at {shape}"),
        stats.correlation_test(w, ctx.alpha, axis="cols", power=POWER, name=f"column correlation at {shape}"),
        stats.serial_correlation_test(w.ravel(), ctx.alpha, lag=1, known_mean=0.0, power=POWER,
                                      name="serial correlation (lag 1, memory order)"),
        stats.serial_correlation_test(w.ravel(), ctx.alpha, lag=shape[1], known_mean=0.0, power=POWER,
                                      name=f"serial correlation (lag {shape[1]}, one row)"),
    ]
    return _holm_outcome(ctx, tests, "no correlation between rows, columns or neighbours",
                         lambda t: f"the weights are not independent: {t.summary}")


def _propagation(scheme: str):
    """The notes' argument: with x_i = 1, z = Σ_i w_i over the fan-in has Var z = fan_in σ²."""

    def check(ctx: CheckContext) -> Outcome:
        from verify import stats

        layout = _layout(ctx)
        # Many output units, a modest fan-in (kernel 2 × 16 inputs): one draw gives thousands of z.
        shape = (2, 16, 2048) if layout == "numpy" else (2048, 16, 2)
        fan_in, fan_out = _fans(shape, layout)
        n = _planned_n(ctx, 1)
        w = _draw(ctx, shape, n * fan_in, "propagation")
        axes = tuple(range(1, w.ndim - 1)) if layout == "numpy" else tuple(range(2, w.ndim))
        z = w.sum(axis=axes).ravel()              # one z per output unit and draw, x_i = 1
        sigma = _derived_std(scheme, fan_in, fan_out)
        # The notes: Var(Σ_{i≤N} x_i w_i) = Nσ² for x_i = 1 (the premise of symbolic.lecun_std).
        expected = math.sqrt(fan_in) * sigma
        t = stats.std_test(z, expected, ctx.alpha, distribution="normal", power=POWER,
                           name=f"std of z = Σ_i w_i with x_i = 1 (fan_in {fan_in})")
        return _holm_outcome(
            ctx, [t],
            f"z = Σ_i x_i w_i with x_i = 1 has std √fan_in·σ = {fmt(expected)}, i.e. Var z = fan_in·σ²",
            lambda t: f"the sum over the fan-in does not have variance fan_in·σ²: {t.summary}",
            metrics={"shape": list(shape), "layout": layout})

    return check


def _relu_depth(ctx: CheckContext) -> Outcome:
    """He's property: the second moment of ReLU activations is kept layer after layer."""
    from verify import stats, symbolic

    layout = _layout(ctx)
    width, batch, depth, stacks = 256, 64, 10, 12
    shape = (width, width)
    sigma = _derived_std("he", width, width)
    # E[relu(y)²] = Var(y)/2 (sympy), Var(y) = fan_in σ² q: so q_l / q_{l-1} has mean fan_in σ²/2 = 1.
    half = float(symbolic.relu_second_moment().func(1.0))
    expected = width * sigma ** 2 * half
    rng = ctx.rng("inputs")
    ratios, curves = [], []
    for s in range(stacks):
        h = rng.normal(size=(batch, width))
        q_prev = float(np.mean(h * h))
        curve = [q_prev]
        for layer in range(depth):
            w = ctx.subject.sample(shape, ctx.int_seed("depth", s, layer))
            w = w if layout == "numpy" else w.T      # torch stores (fan_out, fan_in)
            h = np.maximum(h @ w, 0.0)
            q = float(np.mean(h * h))
            if not np.isfinite(q) or q_prev == 0:
                return failed(f"activations became {fmt(q)} at layer {layer + 1} of a ReLU stack")
            ratios.append(q / q_prev)
            curve.append(q)
            q_prev = q
        curves.append(curve)
    t = stats.mean_value_test(ratios, expected, ctx.alpha, power=POWER,
                              name="layer-to-layer ratio of the ReLU activations' second moment")
    mean_curve = np.exp(np.mean(np.log(np.array(curves)), axis=0))
    fig = Figure("Second moment of ReLU activations through the layers", "layer", "E[a²] (geometric mean over stacks)",
                 [Series("target", list(range(depth + 1)), mean_curve.tolist(), "line"),
                  Series("He: constant", [0, depth], [mean_curve[0], mean_curve[0]], "dashed")], yscale="log")
    return _holm_outcome(ctx, [t], f"the activations' second moment is kept through {depth} ReLU layers",
                         lambda t: f"the ReLU activations do not keep their variance: {t.summary}",
                         figures=[fig], metrics={"final_over_initial": float(mean_curve[-1] / mean_curve[0])})


def _protocol(ctx: CheckContext) -> Outcome:
    layout = _layout(ctx)
    shape = SHAPES[layout][0]
    a = ctx.subject.sample(shape, 1234)
    b = ctx.subject.sample(shape, 1234)
    c = ctx.subject.sample(shape, 4321)
    if not np.isfinite(a).all():
        return failed(f"init returned {int((~np.isfinite(a)).sum())} non-finite values at shape {shape}")
    if not np.array_equal(a, b):
        return failed("init is not reproducible: the same seed gave different weights")
    if np.array_equal(a, c):
        return failed("init ignores its random generator: different seeds gave the same weights")
    return passed(f"init returns finite weights of the requested shape {shape}; the same seed gives the same "
                  "weights and another seed other weights")


def _init_reference(scheme: str):
    fn = {"lecun": reference.lecun, "xavier": reference.xavier, "he": reference.he}[scheme]

    def make(params):
        return lambda shape, rng: fn(shape, rng, distribution=params["distribution"], layout=params["layout"])

    return make


_INIT_PARAMS = (
    Param("distribution", "normal", "the distribution the initialiser draws from", type=str,
          choices=("normal", "uniform", "truncated"), to_target=False),
    Param("layout", "numpy", "weight layout of a numpy initialiser: numpy (fan_in, fan_out) or torch "
          "(fan_out, fan_in, *kernel); torch.nn.init functions always use torch", type=str,
          choices=("numpy", "torch"), to_target=False),
)


def _init_spec(scheme: str, title: str, formula: str) -> Spec:
    checks = [
        Check("std", Kind.STATISTICAL, f"σ matches the derivation {_statement(scheme)} at shapes with fan_in ≠ fan_out", _std(scheme)),
        Check("mean", Kind.STATISTICAL, "the weights have mean 0", _mean(scheme)),
        Check("distribution-shape", Kind.STATISTICAL, "Anderson-Darling against the normal/uniform/truncated law", _shape(scheme)),
        Check("independence", Kind.STATISTICAL, "no correlation between rows, columns or neighbours", _independence),
        Check("variance-propagation", Kind.STATISTICAL, "x_i = 1 gives Var Σ x_i w_i = fan_in σ² (the notes' argument)", _propagation(scheme)),
    ]
    if scheme == "he":
        checks.append(Check("relu-depth", Kind.STATISTICAL, "ReLU activations keep their second moment through 10 layers", _relu_depth))
    checks.append(Check("protocol", Kind.PROTOCOL, "shape, finiteness, reproducibility from the seed", _protocol))
    return Spec(name=f"init-{scheme}", family=Family.INITIALISER, title=title, formula=formula,
                params=_INIT_PARAMS, checks=tuple(checks), reference=_init_reference(scheme))


# ----------------------------------------------------------------- ReLU bias


def _bias_values(ctx: CheckContext, units: int = 512) -> np.ndarray:
    return ctx.subject.sample((units,), ctx.int_seed("bias"))


def _bias_constant(ctx: CheckContext) -> Outcome:
    b = _bias_values(ctx)
    b2 = ctx.subject.sample((512,), ctx.int_seed("bias", "again"))
    if not np.isfinite(b).all():
        return failed("the bias has non-finite entries")
    if np.ptp(b) != 0:
        return failed(f"the bias is not constant: values from {fmt(b.min())} to {fmt(b.max())} "
                      f"(std {fmt(b.std())})", metrics={"min": b.min(), "max": b.max()})
    if not np.array_equal(b, b2):
        return failed(f"the bias constant changes between calls: {fmt(b[0])} then {fmt(b2[0])}")
    return passed(f"the bias is the constant {fmt(b[0])}", metrics={"value": b[0]})


def _bias_positive_small(ctx: CheckContext) -> Outcome:
    b = _bias_values(ctx)
    top = ctx.params["max_value"]
    if (b <= 0).any():
        worst = b.min()
        why = ("zero: units start exactly at the kink of the ReLU" if worst == 0
               else "negative: units start inactive and may never recover")
        return failed(f"the bias is {fmt(worst)}, {why}; ReLU biases should be a small positive constant "
                      f"(0.01 in CS231n, 0.1 in Goodfellow et al.)", metrics={"min": worst})
    if (b > top).any():
        return failed(f"the bias is {fmt(b.max())}, larger than max_value = {fmt(top)}: not a small constant",
                      metrics={"max": b.max()})
    return passed(f"the bias {fmt(b[0])} is positive and at most {fmt(top)}")


def _relu_layer(ctx: CheckContext, b: np.ndarray) -> np.ndarray:
    """Pre-activations z + b of a He-initialised layer on standard-normal inputs."""
    fan_in = 256
    rng = ctx.rng("layer")
    w = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, b.size))
    x = rng.normal(size=(2048, fan_in))
    return x @ w + b


def _bias_active(ctx: CheckContext) -> Outcome:
    from scipy.stats import norm

    b = _bias_values(ctx)
    y = _relu_layer(ctx, b)
    measured = float(np.mean(y > 0))
    # z ~ N(0, 2) for a He layer on N(0, 1) inputs: P(z + b > 0) = Φ(b/√2) per unit.
    expected = float(np.mean(norm.cdf(b / math.sqrt(2.0))))
    metrics = {"active_fraction": measured, "predicted": expected}
    if expected <= 0.5:
        return failed(f"only {fmt(100 * measured, 4)} % of the units are active at initialisation (predicted "
                      f"{fmt(100 * expected, 4)} %): a ReLU bias must make P(z + b > 0) > 1/2", metrics=metrics)
    return passed(f"{fmt(100 * measured, 4)} % of the units are active at initialisation (predicted "
                  f"P(z + b > 0) = {fmt(100 * expected, 4)} % > 50 %)", metrics=metrics)


def _bias_dead(ctx: CheckContext) -> Outcome:
    b = _bias_values(ctx)
    y = _relu_layer(ctx, b)
    dead = ~(y > 0).any(axis=0)
    if dead.any():
        return failed(f"{int(dead.sum())} of {b.size} units are dead at initialisation (never active on 2048 "
                      f"inputs), e.g. unit {int(np.argmax(dead))} with bias {fmt(b[np.argmax(dead)])}",
                      metrics={"dead_units": int(dead.sum())})
    return passed(f"no dead unit: every one of {b.size} units is active on some of 2048 inputs")


def _bias_protocol(ctx: CheckContext) -> Outcome:
    for shape in ((1,), (7,), (3, 5)):
        out = ctx.subject.sample(shape, 0)
        if out.shape != shape:
            return failed(f"bias(shape={shape}) returned shape {out.shape}")
    return passed("bias(shape, rng) returns the requested shape")


SPECS = {
    "init-lecun": _init_spec("lecun", "LeCun initialisation", "w ~ N(0, σ), σ = 1/√fan_in (the notes' σ = 1/√N)"),
    "init-xavier": _init_spec("xavier", "Glorot/Xavier initialisation", "w ~ N(0, σ), σ = √(2/(fan_in + fan_out))"),
    "init-he": _init_spec("he", "He/Kaiming initialisation", "w ~ N(0, σ), σ = √(2/fan_in)"),
    "relu-bias": Spec(
        name="relu-bias",
        family=Family.BIAS,
        title="Bias initialisation for ReLU units",
        formula="b = small positive constant (0.01–0.1), so P(z + b > 0) > 1/2 and no unit is dead",
        params=(Param("max_value", 0.1, "the largest bias still called small", low=0.0, low_open=True,
                      to_target=False),),
        checks=(
            Check("constant", Kind.PROPERTY, "the bias is one constant", _bias_constant),
            Check("positive-and-small", Kind.PROPERTY, "0 < b ≤ max_value", _bias_positive_small),
            Check("active-fraction", Kind.PROPERTY, "more than half the units active at initialisation", _bias_active),
            Check("no-dead-units", Kind.PROPERTY, "every unit active for some input", _bias_dead),
            Check("protocol", Kind.PROTOCOL, "bias(shape, rng) returns the requested shape", _bias_protocol),
        ),
        reference=lambda params: reference.relu_bias,
    ),
}
