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

import dataclasses
import math
from typing import Any, Callable

import numpy as np

import reference
from verify.compare import format_number as fmt
from verify.compare import identical
from verify.errors import ProtocolError, TargetError, kind_of
from verify.remote import call_each
from verify.results import Figure, Series, Status
from verify.specs.base import (
    Check,
    CheckContext,
    Family,
    Kind,
    Outcome,
    Param,
    Spec,
    failed,
    inconclusive,
    passed,
)

__all__ = ["SPECS"]

# Weight shapes with fan_in ≠ fan_out and a receptive field > 1, so that a fan
# mix-up or a forgotten kernel size changes σ by a factor far above 5 %.
SHAPES = {
    "numpy": [(3, 3, 64, 32), (5, 40, 100), (300, 120)],
    "torch": [(32, 64, 3, 3), (100, 40, 5), (120, 300)],
}
MAX_DRAWS = 40              # bound on calls per shape, whatever the planned sample size
REL_EFFECT = 0.05           # the σ error every std test must detect with power 0.99
# The distribution-shape check draws SUPPORT_N values of one large weight: all of them go to the
# support test and to the confidence interval of the scale, the first SHAPE_N to Anderson-Darling.
SUPPORT_N = 2_000_000       # a defect putting 4e-6 of the values outside the bounds: caught w.p. 0.9997
SHAPE_N = 64_000            # AD distance 0.023 detected w.p. 0.99; truncated-vs-normal is at 0.033
SHAPE_SHAPES = {"numpy": (3, 3, 128, 256), "torch": (256, 128, 3, 3)}
PROPAGATION_SHAPES = {"numpy": (2, 16, 2048), "torch": (2048, 16, 2)}   # fan_in 32: thousands of z per draw
# An initialiser written for dense layers only (``fan_in, fan_out = shape``, deeplearning.ai's
# ``randn(n_l, n_prev)``) is checked on matrices with the same fans, and the report says so.
MATRIX_SHAPES = {"numpy": [(576, 288), (200, 500), (300, 120)], "torch": [(288, 576), (500, 200), (120, 300)]}
MATRIX_SHAPE_SHAPES = {"numpy": (1024, 2048), "torch": (2048, 1024)}
MATRIX_PROPAGATION_SHAPES = {"numpy": (32, 2048), "torch": (2048, 32)}
KERNEL_PROBE = {"numpy": (3, 3, 4, 8), "torch": (8, 4, 3, 3)}
POWER = 0.99
_STATS_DISTRIBUTION = {"normal": "normal", "uniform": "uniform", "truncated": "truncated_normal"}

#: What the checks import inside functions (see verify.specs.modules_needed).
PRELOAD = ("verify.stats", "verify.symbolic", "hypothesis")


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


def _distribution(ctx: CheckContext) -> str:
    """The distribution tested: the one the target declares (its adapter leaves it unset where the run was
    given one explicitly), else the run's."""
    return getattr(ctx.subject, "distribution", None) or ctx.params["distribution"]


@dataclasses.dataclass(frozen=True)
class _Geometry:
    """The weight shapes a run draws: convolution kernels and matrices, or matrices only (``note`` says why)."""

    shapes: list[tuple[int, ...]]
    shape_shape: tuple[int, ...]
    propagation: tuple[int, ...]
    note: str | None = None

    def annotate(self, outcome: Outcome) -> Outcome:
        if self.note:
            outcome.notes.append(self.note)
        return outcome


def _geometry(ctx: CheckContext) -> _Geometry:
    """Kernel shapes, unless ``init`` raises on a kernel's shape while it takes a matrix's.

    Such an initialiser is written for dense layers only; checking it on
    kernels would report its scope, not its formula. It is checked on
    matrices with the same fans (a fan taken from the wrong axis still shows;
    a kernel size left out cannot, and the note says so).
    """
    layout = _layout(ctx)
    full = _Geometry(SHAPES[layout], SHAPE_SHAPES[layout], PROPAGATION_SHAPES[layout])
    try:
        ctx.subject.sample(KERNEL_PROBE[layout], ctx.int_seed("kernel-probe"))
    except TargetError as exc:
        try:
            ctx.subject.sample(MATRIX_SHAPES[layout][-1], ctx.int_seed("kernel-probe"))
        except (TargetError, ProtocolError):
            return full                   # it fails on matrices too: the checks report that
        return _Geometry(MATRIX_SHAPES[layout], MATRIX_SHAPE_SHAPES[layout], MATRIX_PROPAGATION_SHAPES[layout],
                         f"init takes matrices only (init(shape={KERNEL_PROBE[layout]}) raised "
                         f"{kind_of(exc.exc)}: {exc.exc}): checked on matrices with the fans of the kernels; "
                         "how it would treat a kernel's receptive field is not tested")
    except ProtocolError:
        pass
    return full


class _RepeatedDraws(Exception):
    """The initialiser returned the same weights for different seeds: draws are not independent."""


def _draw(ctx: CheckContext, shape: tuple[int, ...], n_needed: int, salt: str) -> np.ndarray:
    """Independent draws of ``shape`` (different seeds) until ``n_needed`` values, stacked."""
    per = math.prod(shape)
    k = min(MAX_DRAWS, max(1, math.ceil(n_needed / per)))
    draws = [ctx.subject.sample(shape, ctx.int_seed(salt, shape, i)) for i in range(k)]
    if k > 1 and identical(draws[0], draws[1]):
        raise _RepeatedDraws(shape)
    return np.stack(draws)


def _independent_draws(check_fn: Callable[[CheckContext], Outcome]) -> Callable[[CheckContext], Outcome]:
    """A statistical check that needs independent draws says so instead of testing repeated ones."""

    def check(ctx: CheckContext) -> Outcome:
        try:
            return check_fn(ctx)
        except _RepeatedDraws as exc:
            return inconclusive(f"init returned identical weights of shape {exc.args[0]} for two different "
                                "seeds, so its draws are not independent samples and this statistical check "
                                "cannot be run (see the protocol check)")

    check.__name__ = getattr(check_fn, "__name__", "check")
    return check


def _planned_n(ctx: CheckContext, n_tests: int, distribution: str = "normal") -> int:
    from verify import stats

    return stats.planned_sample_size("std", REL_EFFECT, alpha=ctx.alpha / n_tests, power=POWER,
                                     distribution=_STATS_DISTRIBUTION[distribution])


def _holm_outcome(ctx: CheckContext, tests: list, ok_text: str, fail_text: Callable[[Any], str],
                  **fields: Any) -> Outcome:
    """Decide a check's tests with Holm at the check's level; one outcome."""
    from verify import stats

    decided = stats.apply_holm(tests, ctx.alpha)
    bad = [t for t in decided if not t.passed]
    if bad:
        lines = [fail_text(bad[0])] + [f"  {t.message}" for t in decided]
        return failed("\n".join(lines), stat_tests=decided, **fields)
    return passed(ok_text + "\n" + "\n".join(f"  {t.message}" for t in decided), stat_tests=decided, **fields)


# ------------------------------------------------------------------ diagnosis


def _fan_variants(scheme: str, layout: str) -> dict[str, Callable[[tuple[int, ...]], tuple[int, int]]]:
    """(fan_in, fan_out) that common fan mistakes compute, as functions of the weight's shape."""
    other = "torch" if layout == "numpy" else "numpy"
    if layout == "numpy":    # (*kernel, fan_in, fan_out)
        no_kernel = "the kernel size is ignored: fan_in = shape[-2] (no receptive field)"
        first = "fan_in = shape[0] (the first axis; for a (*kernel, fan_in, fan_out) weight, the kernel height)"
        first_two = "fan_in, fan_out = shape[0], shape[1] (the first two axes, the kernel for a conv weight)"
    else:                    # (fan_out, fan_in, *kernel)
        no_kernel = "the kernel size is ignored: fan_in = shape[1] (no receptive field)"
        first = "fan_in = shape[0] (the output channels of an (out, in, *kernel) weight)"
        first_two = "fan_in, fan_out = shape[0], shape[1] (the output and input channels)"
    out = {
        "fan_in and fan_out swapped": lambda sh: _fans(sh, layout)[::-1],
        no_kernel: lambda sh: (sh[-2], sh[-1]) if layout == "numpy" else (sh[1], sh[0]),
        first: lambda sh: (sh[0], _fans(sh, layout)[1]),
        f"the fans computed for the {other} layout {'(out, in, *kernel)' if other == 'torch' else '(*kernel, in, out)'}":
            lambda sh: _fans(sh, other),
    }
    if scheme == "xavier":
        out[first_two] = lambda sh: (sh[0], sh[1])
        # tinygrad's glorot_uniform: shape[0] + ∏shape[1:], i.e. the receptive field counted in fan_in only
        out["the kernel size is left out of fan_out only (fan_out = "
            f"{'shape[-1]' if layout == 'numpy' else 'shape[0]'}, fan_in with the receptive field)"] = \
            lambda sh: (_fans(sh, layout)[0], sh[-1] if layout == "numpy" else sh[0])
    return out


def _std_candidates(scheme: str, distribution: str, layout: str) -> dict[str, Callable[[tuple[int, ...]], float]]:
    """σ that common bugs produce, as functions of the weight's shape."""
    def at(fn: Callable[[int, int], float]) -> Callable[[tuple[int, ...]], float]:
        return lambda sh: fn(*_fans(sh, layout))

    right = lambda fi, fo: _derived_std(scheme, fi, fo)  # noqa: E731
    trunc = _truncated_scale()
    out: dict[str, Callable[[tuple[int, ...]], float]] = {}
    for name, fans in _fan_variants(scheme, layout).items():
        out[name] = lambda sh, fans=fans: _derived_std(scheme, *fans(sh))
    out.update({
        "LeCun's σ = 1/√fan_in": at(lambda fi, fo: _derived_std("lecun", fi, fo)),
        "He's σ = √(2/fan_in)": at(lambda fi, fo: _derived_std("he", fi, fo)),
        "Glorot/Xavier's σ = √(2/(fan_in + fan_out))": at(lambda fi, fo: _derived_std("xavier", fi, fo)),
        "Glorot's σ without the factor 2: √(1/(fan_in + fan_out))": at(lambda fi, fo: math.sqrt(1 / (fi + fo))),
        "the uniform limit √3·σ used as the normal's σ (for Glorot: √(6/(fan_in + fan_out)))":
            at(lambda fi, fo: math.sqrt(3) * right(fi, fo)),
        "the variance used as the standard deviation (σ² instead of σ)": at(lambda fi, fo: right(fi, fo) ** 2),
        "σ = 1/fan_in instead of 1/√fan_in": at(lambda fi, fo: right(fi, fo) ** 2 * (2 if scheme == "he" else 1)),
    })
    if scheme == "xavier":
        # √(2/fan_in + fan_out) for √(2/(fan_in + fan_out)); a uniform's limit √(6/fan_in + fan_out) is √3·σ
        out["operator precedence: 2/fan_in + fan_out (6/fan_in + fan_out for a uniform's limit) instead of "
            "2/(fan_in + fan_out)"] = at(lambda fi, fo: math.sqrt(2 / fi + fo / 3) if distribution == "uniform"
                                          else math.sqrt(2 / fi + fo))
    if scheme == "he":
        out["the ReLU gain √2 is missing"] = at(lambda fi, fo: right(fi, fo) / math.sqrt(2))
        out["the gain applied twice (σ = 2/√fan_in)"] = at(lambda fi, fo: right(fi, fo) * math.sqrt(2))
    if distribution == "uniform":
        out["uniform bound σ instead of √3 σ"] = at(lambda fi, fo: right(fi, fo) / math.sqrt(3))
    if distribution == "truncated":
        out["truncated normal without the 0.8796 correction"] = at(lambda fi, fo: right(fi, fo) * trunc)
        out["σ divided by 0.8796 for a normal that is not truncated"] = at(lambda fi, fo: right(fi, fo) / trunc)
    else:
        out["a normal truncated at ±2σ without the 0.8796 correction"] = at(lambda fi, fo: right(fi, fo) * trunc)
    return out


def _diagnose_std(scheme: str, distribution: str, layout: str,
                  measured: dict[tuple[int, ...], tuple[float, float]]) -> str | None:
    """Name the bug whose σ matches the measured σ at every shape (within 4 standard errors).

    If no catalogued bug fits, say what the numbers do show: a constant factor
    (the same ratio to the derived σ at every shape) or a ratio that changes
    with the shape (the fans are computed differently).
    """
    def fits(pred: Callable[[tuple[int, ...]], float]) -> bool:
        for shape, (sd, se) in measured.items():
            p = pred(shape)
            if not p > 0 or abs(sd - p) >= 4.0 * se:
                return False
        return True

    right = lambda sh: _expected_std(scheme, sh, layout)  # noqa: E731
    matches = [name for name, fn in _std_candidates(scheme, distribution, layout).items()
               if fits(fn) and not fits(right)]
    if matches:
        text = matches[0] if len(matches) == 1 else f"{matches[0]} (equivalently: {' or '.join(matches[1:])})"
        return f"the measured σ matches {text} at every shape tested"
    sds = [sd for sd, _ in measured.values()]
    common = float(np.mean(sds))
    if len(measured) > 1 and all(abs(sd - common) < 4.0 * se for sd, se in measured.values()):
        return (f"σ is {fmt(common, 3)} at every shape whatever the fans: a fixed scale "
                f"(such as {fmt(common, 2)}·randn), not one derived from fan_in")
    ratios = {shape: (sd / right(shape), se / right(shape)) for shape, (sd, se) in measured.items()}
    values = [r for r, _ in ratios.values()]
    mean_ratio = float(np.mean(values))
    if all(abs(r - mean_ratio) < 4.0 * e for r, e in ratios.values()):
        return (f"no catalogued bug fits; σ is {fmt(mean_ratio, 4)}× the derived value at every shape, a constant "
                "factor independent of the fans: look at the constant (gain, numerator) rather than the fans")
    listed = ", ".join(f"{fmt(r, 3)}× at {shape}" for shape, (r, _) in ratios.items())
    return (f"no catalogued bug fits; the ratio of the measured to the derived σ changes with the shape ({listed}): "
            f"the fans are not computed as fan_in = {_fan_rule(layout)}")


def _fan_rule(layout: str) -> str:
    return ("shape[-2]·∏shape[:-2], fan_out = shape[-1]·∏shape[:-2]" if layout == "numpy"
            else "shape[1]·∏shape[2:], fan_out = shape[0]·∏shape[2:]")


# --------------------------------------------------------------------- checks


def _std(scheme: str):
    def check(ctx: CheckContext) -> Outcome:
        from verify import stats

        layout, dist = _layout(ctx), _distribution(ctx)
        geometry = _geometry(ctx)
        shapes = geometry.shapes
        n_needed = _planned_n(ctx, len(shapes), dist)
        tests, measured = [], {}
        first_draws = []
        for shape in shapes:
            drawn = _draw(ctx, shape, n_needed, "std")
            first_draws.append(drawn[0])
            w = drawn.ravel()
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
            dependent = _dependence(ctx, first_draws)
            outcome.diagnosis = (_diagnose_std(scheme, dist, layout, measured) if dependent is None else
                                 f"the weights are not independent ({dependent}): σ estimates and their errors "
                                 "assume independent entries, so no σ pattern can be read from them; see the "
                                 "independence check")
        return geometry.annotate(outcome)

    return _independent_draws(check)


def _dependence(ctx: CheckContext, weights: list[np.ndarray]) -> str | None:
    """The first sign of dependence between rows or columns of these weights, if any."""
    from verify import stats

    for w in weights:
        # one row per output unit: (fan_out, fan_in·kernel)
        w = w.reshape(-1, w.shape[-1]).T if _layout(ctx) == "numpy" else w.reshape(w.shape[0], -1)
        for axis in ("rows", "cols"):
            t = stats.correlation_test(w, ctx.alpha, axis=axis)
            if not t.passed:
                return t.summary
    return None


def _statement(scheme: str) -> str:
    return {"lecun": "σ = 1/√fan_in", "he": "σ = √(2/fan_in)", "xavier": "σ = √(2/(fan_in + fan_out))"}[scheme]


def _own_scale(w: np.ndarray) -> np.ndarray:
    """``w`` divided by its own root mean square (the mean is known to be 0)."""
    rms = float(np.sqrt(np.mean(w * w)))
    return w / rms if rms > 0 else w


def _mean(scheme: str):
    def check(ctx: CheckContext) -> Outcome:
        from verify import stats

        geometry = _geometry(ctx)
        n = stats.planned_sample_size("mean", REL_EFFECT, alpha=ctx.alpha, power=POWER)
        # Each shape's weights in units of their own σ: a σ error is the std check's, not the mean's.
        z = np.concatenate([_own_scale(_draw(ctx, shape, n // len(geometry.shapes) + 1, "mean").ravel())
                            for shape in geometry.shapes])
        t = stats.mean_value_test(z, 0.0, ctx.alpha, power=POWER, name="mean (in units of the weights' own σ)")
        return geometry.annotate(_holm_outcome(ctx, [t], "the weights have mean 0",
                                               lambda t: f"the mean is not 0: {t.summary}"))

    return _independent_draws(check)


_SHAPE_TEXT = {"normal": "a normal", "uniform": "a uniform", "truncated_normal": "a normal truncated at ±2σ"}


def _shape(scheme: str):
    def check(ctx: CheckContext) -> Outcome:
        from verify import stats

        dist = _distribution(ctx)
        sd = _STATS_DISTRIBUTION[dist]
        geometry = _geometry(ctx)
        shape = geometry.shape_shape
        w = _draw(ctx, shape, SUPPORT_N, "shape").ravel()
        ad_sample = w[::w.size // SHAPE_N][:SHAPE_N]     # spread over every draw and position
        # Berger & Boos: each test's p-value carries the chance (miss) that the scale's interval,
        # from all the values, misses the weights' own scale; the test itself then has the rest.
        miss = ctx.alpha / 4
        interval = stats.scale_interval(w, sd, miss)
        tests = [stats.shape_test(ad_sample, sd, interval, ctx.alpha, method="anderson", power=POWER,
                                  interval_miss=miss, name=f"shape (Anderson-Darling vs {dist}, σ its own)")]
        if sd != "normal":
            tests.append(stats.support_test(w, sd, interval, ctx.alpha, interval_miss=miss, power=POWER,
                                            leak=_leak(ctx, sd), name=f"support of the {dist} law"))
        scale = tests[0].details["scale"]
        outcome = _holm_outcome(ctx, tests, f"the weights follow {_SHAPE_TEXT[sd]} distribution (its σ fitted: "
                                            f"a σ error is the std check's business)",
                                lambda t: f"the weights do not follow {_SHAPE_TEXT[sd]} distribution: {t.summary}",
                                figures=_distribution_figures(ad_sample / stats.distribution_std(sd, scale), dist),
                                metrics={"values": int(w.size), "anderson_darling_values": SHAPE_N,
                                         "shape": list(shape)})
        if outcome.status.value == "fail":
            outcome.diagnosis = _diagnose_shape(w, sd, ctx.alpha, [t for t in tests if not t.passed],
                                                getattr(ctx.subject, "support_leak", 0.0))
        return geometry.annotate(outcome)

    return _independent_draws(check)


def _leak(ctx: CheckContext, dist: str) -> float:
    """The fraction beyond a truncated normal's bounds the target's library lets through by design."""
    return getattr(ctx.subject, "support_leak", 0.0) if dist == "truncated_normal" else 0.0


def _diagnose_shape(w: np.ndarray, dist: str, alpha: float, failed_tests: list, leak: float = 0.0) -> str:
    """What the numbers say about the distribution: another family that fits, or what is off."""
    from verify import stats

    miss = alpha / 4
    fitting = []
    for other in ("normal", "uniform", "truncated_normal"):
        if other == dist:
            continue
        interval = stats.scale_interval(w, other, miss)
        t = stats.shape_test(w[::w.size // SHAPE_N][:SHAPE_N], other, interval, alpha, interval_miss=miss)
        if other != "normal" and t.passed:
            t = t if stats.support_test(w, other, interval, alpha, interval_miss=miss,
                                        leak=leak if other == "truncated_normal" else 0.0).passed else None
        if t is not None and t.passed:
            fitting.append((_SHAPE_TEXT[other], t.p_value))
    names = {t.name.split(" ")[0] for t in failed_tests}
    if fitting:
        names_p = " or ".join(f"{name} distribution" for name, _ in fitting)
        ps = ", ".join(fmt(p, 2) for _, p in fitting)
        return (f"the weights follow {names_p} instead of {_SHAPE_TEXT[dist]} (Anderson-Darling p = {ps} with "
                "the scale fitted)")
    if "support" in names:
        t = next(t for t in failed_tests if t.name.startswith("support"))
        d = t.details
        bound = "±2σ (σ the untruncated scale)" if dist == "truncated_normal" else "±√3σ"
        where = (f"{d['n_outside_support']} of {t.n} values ({fmt(d['n_outside_support'] / t.n, 2)}) lie beyond "
                 f"{bound}, up to {fmt(d['max_abs'] / d['scale_interval'][1], 4)}σ")
        return (f"{where}: the bounds let values through, while the rest fits {_SHAPE_TEXT[dist]} distribution"
                if "shape" not in names else f"{where}, and the shape of the rest does not fit either")
    from scipy import stats as sps

    mean, sd = float(np.mean(w)), float(np.std(w))
    if abs(mean) > 6.0 * sd / math.sqrt(w.size):
        return (f"the weights are not centred at 0 (mean {fmt(mean / sd, 3)}σ over {w.size} values, see the mean "
                f"check); the distributions tested are centred at 0")
    return (f"no catalogued distribution fits (normal, uniform, truncated at ±2σ): the sample has mean "
            f"{fmt(mean / sd, 3)}σ, skewness {fmt(float(sps.skew(w)), 3)} and excess kurtosis "
            f"{fmt(float(sps.kurtosis(w)), 3)} ({_SHAPE_TEXT[dist]}: 0, 0 and {fmt(stats.excess_kurtosis(dist), 3)})")


def _distribution_figures(z: np.ndarray, dist: str) -> list[Figure]:
    """Histogram and QQ plot of the weights in units of their own (fitted) σ."""
    from scipy import stats as sps

    if dist == "normal":
        law = sps.norm(0, 1)
    elif dist == "uniform":
        law = sps.uniform(-math.sqrt(3), 2 * math.sqrt(3))
    else:
        law = sps.truncnorm(-2, 2, scale=1.0 / sps.truncnorm(-2, 2).std())
    edges = np.linspace(-4, 4, 61)
    heights, _ = np.histogram(z, bins=edges, density=True)
    grid = np.linspace(-4, 4, 241)
    probs = (np.arange(1, 200) - 0.5) / 199
    sample_q = np.quantile(z, probs)
    return [
        Figure("Weights in units of their own σ against the expected density", "w / σ", "density",
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
    outcome = _holm_outcome(ctx, tests, "no correlation between rows, columns or neighbours",
                            lambda t: f"the weights are not independent: {t.summary}")
    if outcome.status == Status.FAIL:
        worst = min((t for t in tests if not t.passed), key=lambda t: t.p_value, default=None)
        outcome.diagnosis = f"the weights are not independent: {(worst or tests[0]).summary}"
    return outcome


def _propagation(scheme: str):
    """The notes' argument: with x_i = 1, z = Σ_i w_i over the fan-in has Var z = fan_in σ²."""

    def check(ctx: CheckContext) -> Outcome:
        from verify import stats

        layout = _layout(ctx)
        geometry = _geometry(ctx)
        shape = geometry.propagation
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
        return geometry.annotate(_holm_outcome(
            ctx, [t],
            f"z = Σ_i x_i w_i with x_i = 1 has std √fan_in·σ = {fmt(expected)}, i.e. Var z = fan_in·σ²",
            lambda t: f"the sum over the fan-in does not have variance fan_in·σ²: {t.summary}",
            metrics={"shape": list(shape), "layout": layout}))

    return _independent_draws(check)


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
    if identical(ctx.subject.sample(shape, ctx.int_seed("depth", 0, 0)),
                 ctx.subject.sample(shape, ctx.int_seed("depth", 0, 1))):
        raise _RepeatedDraws(shape)
    for s in range(stacks):
        h = rng.normal(size=(batch, width))
        q_prev = float(np.mean(h * h))
        curve = [q_prev]
        # a stack's weights in one call (through a target process, one round trip of 5 MB rather than ten)
        stack = call_each(ctx.subject, "sample", [(shape, ctx.int_seed("depth", s, layer)) for layer in range(depth)])
        for layer, w in enumerate(stack):
            w = w if layout == "numpy" else w.T      # torch stores (fan_out, fan_in)
            h = np.maximum(np.einsum("ij,jk->ik", h, w), 0.0)   # no BLAS threads: steady on a busy machine
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
    geometry = _geometry(ctx)
    return geometry.annotate(_protocol_at(ctx, geometry.shapes[0]))


def _protocol_at(ctx: CheckContext, shape: tuple[int, ...]) -> Outcome:
    a = ctx.subject.sample(shape, 1234)
    b = ctx.subject.sample(shape, 1234)
    c = ctx.subject.sample(shape, 4321)
    if not np.isfinite(a).all():
        return failed(f"init returned {int((~np.isfinite(a)).sum())} non-finite values at shape {shape}")
    if identical(a, c):
        why = ("init returns the same weights whatever the seed (it reseeds a generator of its own, or draws "
               "nothing): every layer of that shape would start identical")
        return failed(why, diagnosis=why)
    if not identical(a, b):
        return passed(f"init returns finite weights of the requested shape {shape}, different for different seeds",
                      notes=["the same seed gave different weights: init draws from neither the rng it is given "
                             "nor numpy's (or Python's, or torch's) global generator, which the verifier seeds; "
                             "the statistical checks do not need it, but such runs cannot be reproduced"])
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
        Check("mean", Kind.STATISTICAL, "the weights have mean 0 (in units of their own σ)", _mean(scheme)),
        Check("distribution-shape", Kind.STATISTICAL, "Anderson-Darling against the normal/uniform/truncated law "
              "with σ fitted, and no value beyond the bounds in 2·10⁶ draws", _shape(scheme)),
        Check("independence", Kind.STATISTICAL, "no correlation between rows, columns or neighbours", _independence),
        Check("variance-propagation", Kind.STATISTICAL, "x_i = 1 gives Var Σ x_i w_i = fan_in σ² (the notes' argument)", _propagation(scheme)),
    ]
    if scheme == "he":
        checks.append(Check("relu-depth", Kind.STATISTICAL, "ReLU activations keep their second moment through 10 layers",
                            _independent_draws(_relu_depth)))
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
                      f"(0.01 in CS231n, 0.1 in Goodfellow et al.)", metrics={"min": worst},
                      diagnosis=f"the bias is {fmt(worst)}, {why}")
    # max_value rounded to float32 (a float32 0.1 is 0.10000000149) is max_value
    if (b > top * (1 + np.finfo(np.float32).eps)).any():
        why = f"the bias is {fmt(b.max())}, larger than max_value = {fmt(top)}: not a small constant"
        return failed(why, metrics={"max": b.max()}, diagnosis=why)
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
