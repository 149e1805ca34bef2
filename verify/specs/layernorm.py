"""Specs ``layernorm`` and ``rmsnorm``: per-example normalisation, its backward pass, ε's place, the affine
parameters and the normalised axes.

Protocol (:mod:`verify.adapters.protocol.layernorm`): a class ``LN(D, eps=...)`` with ``forward(x)`` and
optionally ``backward(dy)``; CS231n's ``layernorm_forward(x, gamma, beta, ln_param)`` /
``layernorm_backward(dout, cache)``; a function ``layer_norm(x, gamma, beta, eps=...)``; or a module
compatible with ``torch.nn.LayerNorm`` / ``torch.nn.RMSNorm`` (and ``torch.nn.functional.layer_norm`` /
``rms_norm``), backward by autograd.

Conventions: ε inside the square root (PyTorch, Keras, the RMSNorm authors' TensorFlow code); the ε-outside
forms (``√σ² + ε``, the RMSNorm authors' PyTorch code) and the published ``(σ² + ε)²`` are bugs the
diagnosis names. The affine parameters are those the layer has (γ and β; γ only: ``bias=False`` and RMS
norm; none: ``elementwise_affine=False``), or those ``--param affine`` requires. ``torch.nn.RMSNorm``'s
``eps=None`` (the dtype's machine ε) is never what is checked: the run passes ε (default 1e-6, Keras'
``RMSNormalization`` default, large enough to tell ε's place apart).

Expected values: the forward pass from the reference (``reference.layernorm_forward``,
``reference.rmsnorm_forward``); the output's variance ``σ²/(σ² + ε)`` (mean square ``ms/(ms + ε)``), the
change under per-example rescaling, and the backward pass (2 × 3) from sympy; the backward at larger sizes
from finite differences.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

import reference
from verify.compare import compare, identical
from verify.compare import format_number as fmt
from verify.errors import ProtocolError, TargetError
from verify.remote import call_each
from verify.results import Status
from verify.specs._common import (EPS_ESTIMATE, LayerPass, differential, effective_hyper, eps_from_outputs,
                                  float_tolerance, judged_layer, unless_unseen, with_estimated_eps,
                                  withheld_at_float16)
from verify.specs.base import (Check, CheckContext, Family, Kind, Outcome, Param, Spec, failed, inconclusive,
                               passed, skipped)

__all__ = ["SPECS"]

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
AFFINE = {"gamma,beta": ("gamma", "beta"), "gamma": ("gamma",), "none": ()}
ONE_PLUS = "one-plus-gamma"

#: What the checks import inside functions (see verify.specs.modules_needed).
PRELOAD = ("verify.gradcheck", "verify.symbolic")


def _rms(ctx: CheckContext) -> bool:
    return ctx.spec.name == "rmsnorm"


#: Who uses the zero-centred scale 1 + w (the weight w starting at 0), per spec.
_ZERO_CENTRED = {"rmsnorm": ("Gemma's RMSNorm (gemma_pytorch's add_unit_offset=True, Hugging Face's GemmaRMSNorm)",
                             "Gemma's", "a plain RMS norm (torch.nn.RMSNorm's γ)"),
                 "layernorm": ("Megatron's LayerNorm1P (Megatron-LM's zero_centered_gamma=True, NeMo's LayerNorm1P)",
                               "LayerNorm1P's", "a plain layer norm (torch.nn.LayerNorm's γ)")}


def _one_plus(ctx: CheckContext) -> bool:
    """Whether the run checks the zero-centred scale ``1 + γ`` (Gemma's RMSNorm, Megatron's LayerNorm1P): the
    layer's weight is then set to γ − 1 wherever the checks set γ, so every check's γ stays the effective
    scale."""
    return ctx.params.get("scale") == ONE_PLUS


def _a(rms: bool) -> str:
    return "an RMS norm" if rms else "a layer norm"


# ----------------------------------------------------- the layer, its parameters and its ε


def _layer(ctx: CheckContext, shape: tuple[int, ...], gamma: np.ndarray | None = None,
           beta: np.ndarray | None = None):
    layer = ctx.subject.new(shape, ctx.params["eps"])
    judged_layer(layer)
    if gamma is not None or beta is not None:
        _set_affine(ctx, layer, gamma, beta)
    return layer


def _set_affine(ctx: CheckContext, layer, gamma, beta) -> None:
    """Give the layer the effective scale γ: its weight is γ itself, or γ − 1 under ``scale=one-plus-gamma``
    (d/dweight = d/dγ, so the backward checks need no change)."""
    if gamma is not None and _one_plus(ctx):
        gamma = np.asarray(gamma, dtype=np.float64) - 1.0
    layer.set_affine(gamma if "gamma" in layer.affine else None, beta if "beta" in layer.affine else None)


def _fresh_passes(ctx: CheckContext, runs: list[tuple[np.ndarray, Any, Any, np.ndarray | None]]) -> list[LayerPass]:
    """For each ``(x, γ, β, dy)`` of ``runs``: a new layer for x's rows given γ and β (as :func:`_layer`), a forward
    of x and, with dy, the backward, all in one call into the subject (:meth:`NormLayerSubject.fresh_pass`); each
    layer counts as judged (:func:`withheld_at_float16`)."""
    one_plus = _one_plus(ctx)
    calls = [((int(np.shape(x)[-1]),), ctx.params["eps"],
              np.asarray(gamma, dtype=np.float64) - 1.0 if one_plus and gamma is not None else gamma, beta, x, dy)
             for x, gamma, beta, dy in runs]
    passes = [LayerPass(*out) for out in call_each(ctx.subject, "fresh_pass", calls)]
    for layer in passes:
        judged_layer(layer)
    return passes


def _affine_of(ctx: CheckContext) -> tuple[str, ...]:
    return tuple(_layer(ctx, (3,)).affine)


def _identity(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    return np.ones(shape), np.zeros(shape)


def _eps(ctx: CheckContext) -> float:
    if EPS_ESTIMATE in ctx.params:
        return ctx.params[EPS_ESTIMATE]
    return effective_hyper(ctx, _layer(ctx, (3,)), "eps")[0]


def _estimate_eps(ctx: CheckContext) -> float | None:
    """The ε a layer uses, from examples whose statistic (variance 1e-8, mean square 1e-10) is far below any
    usual ε: with γ = 1, β = 0, y = c/√(s + ε) (c the centred input, s the statistic); see
    :func:`eps_from_outputs`."""
    h = 16
    rng = ctx.rng("estimate-eps")
    x = (1e-5 if _rms(ctx) else 1e-4) * rng.normal(size=(8, h)) + (0.0 if _rms(ctx) else 3.0)
    y = _layer(ctx, (h,), *_identity((h,))).forward(x)
    centred = x if _rms(ctx) else x - x.mean(axis=1, keepdims=True)
    stat = (x * x).mean(axis=1) if _rms(ctx) else x.var(axis=1)
    return eps_from_outputs(centred, y, stat, axis=1)


def _own_eps(check_fn):
    return with_estimated_eps(check_fn, lambda ctx: effective_hyper(ctx, _layer(ctx, (3,)), "eps"), _estimate_eps,
                              "examples whose statistic is far below any usual ε")


def _precision(ctx: CheckContext) -> float:
    """Machine ε of the arithmetic the layer does: its dtype's, or float32's for a layer that returns float64
    but computes in float32 inside (Hugging Face's T5/LLaMA RMSNorm cast to float32 and back).

    Measured on examples whose statistic is far above ε (scale 1e3), where no slip of ε's place shows and any
    other formula slip is far above float32's rounding: an error at float32's level there, from the reference
    or from the other scale convention (so that a Gemma layer in float32 is diagnosed at float32), is rounding.
    """
    rms, eps = _rms(ctx), _eps(ctx)
    h = 16
    x = 1e3 * ctx.rng("precision").normal(size=(4, h))
    layer = _layer(ctx, (h,), *_identity((h,)))
    y = layer.forward(x)
    if layer.precision > EPS64:
        return layer.precision
    forms = [_expected(x, None, None, eps, rms), *_scale_candidates(ctx, x, None, None, eps).values()]
    err = min(float(np.max(np.abs(y - v))) for v in forms)
    return EPS32 if 1e3 * EPS64 < err <= 64 * EPS32 else EPS64


# ------------------------------------------------------------------ formulas


def _stats(x: np.ndarray, rms: bool, axes=(-1,)) -> tuple[np.ndarray, np.ndarray]:
    """(centred input, statistic) per example: (x − μ, σ²) for layer norm, (x, mean(x²)) for RMS norm."""
    if rms:
        return x, (x * x).mean(axis=axes, keepdims=True)
    c = x - x.mean(axis=axes, keepdims=True)
    return c, (c * c).mean(axis=axes, keepdims=True)


def _scale_size(gamma, h: int, one_plus: bool) -> np.ndarray:
    """|γ| for a rounding bound: |γ| + |γ − 1| + 1 under ``scale=one-plus-gamma``, where the layer forms γ as
    1 + w at its precision (a small γ from float32's 1 + w is rounded to |w| + 1, not to |γ|)."""
    if gamma is None:
        return np.ones(h)
    return np.abs(gamma) + (np.abs(gamma - 1) + 1 if one_plus else 0)


def _affine(xhat: np.ndarray, gamma, beta) -> np.ndarray:
    y = xhat if gamma is None else xhat * gamma
    return y if beta is None else y + beta


def _expected(x: np.ndarray, gamma, beta, eps: float, rms: bool, shape: tuple[int, ...] | None = None):
    """The reference's output (β added by hand for an RMS norm that has one)."""
    if rms:
        return _affine(reference.rmsnorm_forward(x, gamma, eps=eps, normalized_shape=shape)[0], None, beta)
    return reference.layernorm_forward(x, gamma, beta, eps=eps, normalized_shape=shape)[0]


def _tol(x: np.ndarray, gamma, beta, eps: float, rms: bool, precision: float, one_plus: bool = False) -> np.ndarray:
    """Rounding bound for y = γ c/√(s + ε) + β entry by entry at the layer's precision (c = x − μ cancels when
    |μ| ≫ σ, so the bound scales with |x| + |μ| in units of √(s + ε))."""
    g = _scale_size(gamma, x.shape[-1], one_plus)
    b = 0.0 if beta is None else np.abs(beta)
    mu = 0.0 if rms else np.abs(x.mean(axis=-1, keepdims=True))
    sd = np.sqrt(_stats(x, rms)[1] + eps)
    return 256 * precision * (g * (np.abs(x) + mu) / sd + b + g)


def _examples(rms: bool, roles: tuple[str, ...]) -> Any:
    """(x, γ, β): N examples of H features, each example with its own offset and scale, the scales over
    8 orders of magnitude (down to statistics far below ε, where ε's place decides the output)."""
    @st.composite
    def example(draw):
        n = draw(st.integers(1, 6))
        h = draw(st.integers(2, 8))
        seed = draw(st.integers(0, 2**32 - 1))
        log_scale = draw(st.floats(-3.5, 3))
        offset = draw(st.floats(-100, 100)) * (0.0 if rms and draw(st.booleans()) else 1.0)
        rng = np.random.default_rng(seed)
        rows = 10.0 ** (log_scale + rng.uniform(-0.5, 0.5, size=(n, 1)))
        x = offset * rng.uniform(0.5, 1.5, size=(n, 1)) + rows * rng.normal(size=(n, h))
        return {"x": x, "gamma": rng.normal(size=h) if "gamma" in roles else None,
                "beta": rng.normal(size=h) if "beta" in roles else None}
    return example()


# ------------------------------------------------------------------ diagnosis


def _forward_candidates(x: np.ndarray, gamma, beta, eps: float, rms: bool) -> dict[str, np.ndarray]:
    """Outputs of the published and common forward-pass bugs, for (N, H) inputs."""
    h = x.shape[-1]
    g = np.ones(h) if gamma is None else gamma
    b = np.zeros(h) if beta is None else beta
    out: dict[str, np.ndarray] = {}
    if rms:
        ms = (x * x).mean(axis=-1, keepdims=True)
        out.update({
            "ε is outside the square root: x/(√mean(x²) + ε) (the RMSNorm authors' PyTorch code)":
                g * x / (np.sqrt(ms) + eps) + b,
            "ε is ignored: x/√mean(x²)": g * x / np.sqrt(ms) + b,
            "the sum of squares replaces the mean: x/√(Σx² + ε)": g * x / np.sqrt(h * ms + eps) + b,
            "x is divided by the mean square, not its root: x/(mean(x²) + ε)": g * x / (ms + eps) + b,
            "x is divided by its standard deviation, not its root mean square: x/√(σ² + ε) (Keras' "
            "LayerNormalization(rms_scaling=True), keras-team/keras#21234)":
                g * x / np.sqrt(x.var(axis=-1, keepdims=True) + eps) + b,
            "the input is centred first (a layer norm, not an RMS norm)":
                g * (x - x.mean(axis=-1, keepdims=True)) / np.sqrt(x.var(axis=-1, keepdims=True) + eps) + b,
            "the mean square is taken over the batch axis instead of over each example's features":
                g * x / np.sqrt((x * x).mean(axis=0, keepdims=True) + eps) + b,
            "γ is not applied": x / np.sqrt(ms + eps) + b,
        })
        return out
    mu = x.mean(axis=-1, keepdims=True)
    c = x - mu
    var = (c * c).mean(axis=-1, keepdims=True)
    unbiased = var * h / (h - 1)
    out.update({
        "ε is outside the square root: (x − μ)/(√σ² + ε)": g * c / (np.sqrt(var) + eps) + b,
        "(σ² + ε)² replaces √(σ² + ε) (TPlinker's LayerNorm)": g * c / (var + eps) ** 2 + b,
        "x − μ is divided by the variance instead of the standard deviation: (x − μ)/(σ² + ε)":
            g * c / (var + eps) + b,
        "the unbiased variance σ²·H/(H − 1) normalises (np.std(ddof=1), torch.std's default), not the biased one":
            g * c / np.sqrt(unbiased + eps) + b,
        "the unbiased standard deviation with ε outside the root: (x − μ)/(std(ddof=1) + ε) (the Annotated "
        "Transformer's LayerNorm)": g * c / (np.sqrt(unbiased) + eps) + b,
        "ε is ignored: (x − μ)/σ": g * c / np.sqrt(var) + b,
        "the input is not centred: x/√(mean(x²) + ε) (an RMS norm, not a layer norm)":
            g * x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps) + b,
        "the statistics are taken over the batch axis instead of over each example's features (a batch norm)":
            g * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + b,
    })
    xhat = c / np.sqrt(var + eps)
    if gamma is not None and beta is not None:
        out["γ and β are swapped"] = beta * xhat + gamma
        out["γ and β are not applied"] = xhat
    if beta is not None:
        out["β is not added"] = g * xhat
    if gamma is not None:
        out["γ is not applied"] = xhat + b
    return out


def _other_scale(ctx: CheckContext, gamma, h: int) -> tuple[str, np.ndarray] | None:
    """The other scale convention, from the reference's own flag: the layer was given the weight γ (γ − 1 under
    ``one-plus-gamma``); read the other way it scales by 1 + weight (by the weight itself). Its text and the
    scale it then has; ``None`` for a layer without γ."""
    if "gamma" not in _affine_of(ctx):
        return None
    who, whose, plain = _ZERO_CENTRED[ctx.spec.name]
    g = np.ones(h) if gamma is None else np.asarray(gamma, dtype=np.float64)
    if _one_plus(ctx):
        return (f"the scale is the weight itself, not 1 + weight: {plain}, not {whose} zero-centred scale; check it "
                "with --param scale=gamma (the default)", g - 1.0)
    return f"the scale is 1 + γ, not γ: the zero-centred scale of {who}", g + 1.0


def _scale_candidates(ctx: CheckContext, x: np.ndarray, gamma, beta, eps: float) -> dict[str, np.ndarray]:
    other = _other_scale(ctx, gamma, x.shape[-1])
    if other is None:
        return {}
    return {other[0]: _expected(x, other[1], beta, eps, _rms(ctx))}


def _fresh_output(ctx: CheckContext, h: int) -> float | None:
    """What a new layer, its weight as the layer initialises it, does to x̂: 1 (x̂ itself) or 2 (2·x̂), measured;
    ``None`` for anything else, or for a function (its γ is the adapter's, not its own)."""
    if not ctx.subject.initialises:
        return None
    x = ctx.rng("fresh-scale").normal(size=(3, h))
    y = _layer(ctx, (h,)).forward(x)
    xhat = _expected(x, None, None, _eps(ctx), _rms(ctx))
    rtol = float_tolerance(_precision(ctx), 1e-8, 1e4)
    return next((c for c in (1.0, 2.0) if compare(y, c * xhat, rtol=rtol, atol=1e-12).ok), None)


_DOUBLES = ("a fresh layer outputs 2·x̂: its weight starts at 1, as the plain γ's does, so 1 + weight doubles the "
            "output (a slip; a zero-centred weight starts at 0)")


def _fresh_scale(ctx: CheckContext, h: int) -> str:
    """The (1 + γ) diagnosis' last words: a fresh layer tells the zero-centred convention (weight 0: x̂ itself)
    from a slip (weight 1: 2·x̂)."""
    fresh = _fresh_output(ctx, h)
    if fresh == 1.0:
        return (f"; a fresh layer outputs x̂ itself (its weight starts at 0), as {_ZERO_CENTRED[ctx.spec.name][1]} "
                "does: if that convention is meant, check it with --param scale=one-plus-gamma")
    return f"; {_DOUBLES}" if fresh == 2.0 else _OPTION_HINT


_OPTION_HINT = "; if the zero-centred scale is meant, check it with --param scale=one-plus-gamma"


def _diagnose_forward(ctx: CheckContext, got: np.ndarray, ex: dict, eps: float, precision: float) -> str | None:
    rms = _rms(ctx)
    if got.ndim != 2 or got.shape != ex["x"].shape:
        return None
    rtol = float_tolerance(precision, 1e-8, 1e4)
    x, gamma, beta = ex["x"], ex["gamma"], ex["beta"]
    scale = _scale_candidates(ctx, x, gamma, beta, eps)
    # the closest of those within tolerance: at float32's, two slips may both fit (the Annotated Transformer's
    # unbiased σ with ε outside the root also fits the unbiased σ with ε inside)
    fits = [(float(np.max(np.abs(got - value))), text)
            for text, value in {**_forward_candidates(x, gamma, beta, eps, rms), **scale}.items()
            if value.shape == got.shape and compare(got, value, rtol=rtol, atol=1e-12).ok]
    if not fits:
        return None
    text = min(fits)[1]
    more = _fresh_scale(ctx, x.shape[-1]) if text in scale and not _one_plus(ctx) else ""
    return f"the output matches {_a(rms)} where {text}{more}"


# ------------------------------------------------------------------ forward


def _forward(ctx: CheckContext) -> Outcome:
    rms, eps = _rms(ctx), _eps(ctx)
    roles = _affine_of(ctx)
    seen = {"precision": _precision(ctx)}

    def actual(ex):
        [run] = _fresh_passes(ctx, [(ex["x"], ex["gamma"], ex["beta"], None)])
        seen["precision"] = max(seen["precision"], run.precision)
        return run.y

    scale = ("(1 + w)·" if _one_plus(ctx) else "γ·") if "gamma" in roles else ""
    formula = (f"y = {scale}{'x/√(mean(x²) + ε)' if rms else '(x − μ)/√(σ² + ε)'}{' + β' if 'beta' in roles else ''}"
               f"{' (the weight w set to γ − 1)' if _one_plus(ctx) and 'gamma' in roles else ''}")
    return differential(ctx, _examples(rms, roles), actual,
                        lambda ex: _expected(ex["x"], ex["gamma"], ex["beta"], eps, rms),
                        what="forward(x)", source=f"{formula} per example, ε = {fmt(eps)}", rtol=0.0,
                        tol=lambda ex, want: _tol(ex["x"], ex["gamma"], ex["beta"], eps, rms, seen["precision"],
                                                  _one_plus(ctx)),
                        diagnose=lambda got, want, ex: _diagnose_forward(ctx, got, ex, eps, seen["precision"]))


def _moments(ctx: CheckContext) -> Outcome:
    """Without affine (γ = 1, β = 0): per example, mean 0 and variance σ²/(σ² + ε) (layer norm) or mean
    square ms/(ms + ε) (RMS norm), both from sympy, down to statistics below ε."""
    from verify import symbolic

    rms, eps = _rms(ctx), _eps(ctx)
    d = symbolic.rmsnorm_output_mean_square() if rms else symbolic.batchnorm_output_variance()
    rng = ctx.rng("moments")
    h, worst, precision = 32, 0.0, _precision(ctx)
    for scale in (10.0, 1.0, math.sqrt(eps), 0.5 * math.sqrt(eps)):
        x = scale * rng.normal(size=(6, h)) + (0.0 if rms else 5.0 * rng.normal(size=(6, 1)))
        layer = _layer(ctx, (h,), *_identity((h,)))
        y = layer.forward(x)
        rounding = _tol(x, None, None, eps, rms, max(precision, layer.precision)).max(axis=1)
        stat = _stats(x, rms)[1][:, 0]
        want = np.asarray(d.func(stat, eps), dtype=np.float64)
        got = (y * y).mean(axis=1) if rms else y.var(axis=1)
        rel = np.maximum(1e-9, 2 * rounding)
        checks = [compare(got, want, rtol=0.0, tol=rel * want + 1e-300,
                          header=f"per-example output {'mean square' if rms else 'variance'} vs "
                                 f"{d.statement.split('=')[-1].strip()} (sympy)")]
        if not rms:
            checks.insert(0, compare(y.mean(axis=1), np.zeros(6), rtol=0.0, tol=np.maximum(1e-12, rounding),
                                     header="per-example output mean vs 0"))
        for c in checks:
            if not c.ok:
                return failed(f"without γ and β, the output does not have the moments of {_a(rms)} "
                              f"(example scale {fmt(scale)}, ε = {fmt(eps)}):\n{c}",
                              counterexample={"x": x},
                              diagnosis=_diagnose_forward(ctx, y, {"x": x, "gamma": None, "beta": None}, eps,
                                                          max(precision, layer.precision)))
        worst = max(worst, checks[-1].max_rel)
    what = "mean square ms/(ms + ε)" if rms else "mean 0 and variance σ²/(σ² + ε)"
    return passed(f"without γ and β, each example's output has {what} (derived by sympy), down to statistics "
                  f"below ε = {fmt(eps)} (max relative difference {fmt(worst)})")


def _rescaling(ctx: CheckContext) -> Outcome:
    """Each example scaled by c > 0 (and, for layer norm, shifted by s): the output is the old one times
    c√(v + ε)/√(c²v + ε) (sympy), i.e. unchanged up to ε's effect -- the layer's own outputs, no reference.
    Per-example c and s catch statistics taken over the wrong axis."""
    from verify import symbolic

    rms, eps = _rms(ctx), _eps(ctx)
    d = symbolic.normalisation_rescaling(rms)
    rng = ctx.rng("rescaling")
    h, n, precision = 8, 6, _precision(ctx)
    for scale in (1.0, math.sqrt(eps)):
        x = scale * rng.normal(size=(n, h)) + (0.0 if rms else rng.normal(size=(n, 1)))
        c = 10.0 ** rng.uniform(-1, 1, size=(n, 1))
        s = 0.0 if rms else 3.0 * rng.normal(size=(n, 1))
        moved = c * x + s
        layer = _layer(ctx, (h,), *_identity((h,)))
        y, y_moved = layer.forward(x), layer.forward(moved)
        factor = np.asarray(d.func(_stats(x, rms)[1], eps, c), dtype=np.float64)
        want = y * factor
        p = max(precision, layer.precision)
        tol = _tol(moved, None, None, eps, rms, p) + factor * _tol(x, None, None, eps, rms, p)
        cmp = compare(y_moved, want, rtol=0.0, tol=tol,
                      header=f"ACTUAL = forward(c·x{'' if rms else ' + s'}) per example, DESIRED = forward(x)·"
                             f"{d.statement.split('·', 1)[-1].split('(c > 0')[0].strip()} (sympy)")
        if not cmp.ok:
            return failed(f"scaling each example by c > 0{'' if rms else ' and shifting it by s'} does not change "
                          f"the output as {_a(rms)}'s (example scale {fmt(scale)}, "
                          f"ε = {fmt(eps)}):\n{cmp}", counterexample={"x": x, "c": c, "s": s},
                          diagnosis=_diagnose_forward(ctx, y, {"x": x, "gamma": None, "beta": None}, eps, p))
    return passed(f"forward(c·x{'' if rms else ' + s'}) = forward(x)·c√(v + ε)/√(c²v + ε) per example (sympy): "
                  f"invariant to re{'' if rms else '-centring and re'}scaling up to ε's effect, for per-example "
                  f"c ∈ [0.1, 10]")


# ------------------------------------------------------------------ backward


def _backward_candidates(dy, x, gamma, eps, rms) -> dict[str, np.ndarray]:
    h = x.shape[-1]
    g = dy * (np.ones(h) if gamma is None else gamma)
    c, stat = _stats(x, rms)
    r = 1.0 / np.sqrt(stat + eps)
    xhat = c * r
    sum_gx = (g * xhat).sum(axis=-1, keepdims=True)
    if rms:
        return {
            "the term x̂·mean(g·x̂) is missing (the root mean square's dependence on x ignored)": r * g,
            "γ is missing from dx": r * (dy - xhat * (dy * xhat).mean(axis=-1, keepdims=True)),
            "the sum Σ(g·x̂) replaces the mean (a factor H too large)": r * (g - xhat * sum_gx),
        }
    sum_g = g.sum(axis=-1, keepdims=True)
    dyx = (dy * xhat).sum(axis=-1, keepdims=True)
    bn = {}
    if x.shape[0] > 1:
        mu0, var0 = x.mean(axis=0), x.var(axis=0)
        sd0 = np.sqrt(var0 + eps)
        xh0 = (x - mu0) / sd0
        n = x.shape[0]
        bn["its sums run over the batch axis (a batch-norm backward)"] = \
            1.0 / (n * sd0) * (n * g - g.sum(axis=0) - xh0 * (g * xh0).sum(axis=0))
    return {
        "the term x̂·Σ(g·x̂) is missing (the variance's dependence on x ignored)": r / h * (h * g - sum_g),
        "the term Σ g is missing (the mean's dependence on x ignored)": r / h * (h * g - xhat * sum_gx),
        "μ and σ are treated as constants: dx = γ·dy/√(σ² + ε)": r * g,
        "γ is missing from dx": r / h * (h * dy - dy.sum(axis=-1, keepdims=True) - xhat * dyx),
        "the sums are divided by H − 1 instead of H": r / (h - 1) * ((h - 1) * g - sum_g - xhat * sum_gx),
        **bn,
    }


def _diagnose_backward(got, x, dy, gamma, eps, rms, precision, ctx: CheckContext | None = None) -> str | None:
    rtol = float_tolerance(precision, 1e-7, 1e5)
    candidates = _backward_candidates(dy, x, gamma, eps, rms)
    other = None if ctx is None else _other_scale(ctx, gamma, x.shape[-1])
    if other is not None:
        if rms:
            candidates[other[0]] = reference.rmsnorm_backward(dy, reference.rmsnorm_forward(x, other[1], eps=eps)[1])[0]
        else:
            candidates[other[0]] = reference.layernorm_backward(
                dy, reference.layernorm_forward(x, other[1], None, eps=eps)[1])[0]
    for text, value in candidates.items():
        if value.shape == got.shape and compare(got, value, rtol=rtol, atol=1e-12).ok:
            more = _OPTION_HINT if other is not None and text == other[0] and not _one_plus(ctx) else ""
            return f"dx matches a backward pass where {text}{more}"
    return None


def _diagnose_params(got: np.ndarray, ex: dict, eps: float, rms: bool, roles: tuple[str, ...]) -> str | None:
    x, dy = ex["x"], ex["dy"]
    c, stat = _stats(x, rms)
    xhat = c / np.sqrt(stat + eps)
    right = {"gamma": (dy * xhat).sum(axis=0), "beta": dy.sum(axis=0)}
    n = x.shape[0]
    candidates = {
        "dgamma = Σ dy: the x̂ factor is missing from dgamma": {**right, "gamma": right["beta"]},
        "dgamma uses the raw input instead of x̂ (the division by the root is missing)":
            {**right, "gamma": (dy * c).sum(axis=0)},
        "the parameter gradients are averaged over the batch instead of summed":
            {k: v / n for k, v in right.items()},
        "dgamma and dbeta are swapped": {"gamma": right["beta"], "beta": right["gamma"]},
        "the parameter gradients are summed over the features (per example) instead of over the batch":
            {"gamma": (dy * xhat).sum(axis=1), "beta": dy.sum(axis=1)},
    }
    for text, value in candidates.items():
        want = np.concatenate([np.ravel(value[r]) for r in roles])
        if want.shape == got.shape and compare(got, want, rtol=1e-8, atol=1e-12).ok:
            return f"the parameter gradients match a backward pass where {text}"
    return None


def _backward_symbolic(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    rms, eps = _rms(ctx), _eps(ctx)
    d = symbolic.rmsnorm_backward() if rms else symbolic.layernorm_backward()
    roles = _affine_of(ctx)
    seen = {"precision": _precision(ctx)}

    @st.composite
    def examples(draw):
        seed = draw(st.integers(0, 2**32 - 1))
        log_scale = draw(st.floats(-2, 2))
        rng = np.random.default_rng(seed)
        return {"x": 10.0 ** log_scale * rng.normal(size=(2, 3)) + (0.0 if rms else rng.normal(size=(2, 1))),
                "gamma": rng.normal(size=3) if "gamma" in roles else None,
                "beta": rng.normal(size=3) if "beta" in roles else None, "dy": rng.normal(size=(2, 3))}

    def run(ex):
        [run] = _fresh_passes(ctx, [(ex["x"], ex["gamma"], ex["beta"], ex["dy"])])
        seen["precision"] = max(seen["precision"], run.precision)
        return run.grads

    def want(ex):
        g = np.ones(3) if ex["gamma"] is None else ex["gamma"]
        if rms:
            dx, dg = d.func(ex["x"], g, eps, ex["dy"])
            return dx, dg, ex["dy"].sum(axis=0)          # an RMS norm with a shift: ∂L/∂β = Σ dy
        return d.func(ex["x"], g, np.zeros(3) if ex["beta"] is None else ex["beta"], eps, ex["dy"])

    def scale(ex):
        sd = np.sqrt(_stats(ex["x"], rms)[1] + eps)
        g = _scale_size(ex["gamma"], 3, _one_plus(ctx))
        return 4096 * seen["precision"] * (g / sd * np.abs(ex["dy"]).sum(axis=1, keepdims=True)
                                           + np.abs(ex["dy"]).sum(axis=0))

    extra = lambda: float_tolerance(seen["precision"], 1e-9, 1e4) - 1e-9  # noqa: E731
    outcome = differential(ctx, examples(), lambda ex: run(ex)[0], lambda ex: want(ex)[0],
                           what="backward(dy)[0] (dx) for a 2×3 input", source=f"sympy: {d.statement}", rtol=1e-9,
                           tol=lambda ex, w: scale(ex) + extra() * np.abs(w),
                           diagnose=lambda got, w, ex: _diagnose_backward(got, ex["x"], ex["dy"], ex["gamma"], eps,
                                                                          rms, seen["precision"], ctx))
    if outcome.status != Status.PASS or not roles:
        return outcome
    index = {"gamma": 1, "beta": 2}
    names = ", ".join("d" + r for r in roles)
    parts = differential(ctx, examples(), lambda ex: np.concatenate([run(ex)[index[r]] for r in roles]),
                         lambda ex: np.concatenate([want(ex)[index[r]] for r in roles]),
                         what=f"backward(dy) ({names}) for a 2×3 input",
                         source="sympy: ∂L/∂γ = Σ_batch dy·x̂, ∂L/∂β = Σ_batch dy", rtol=1e-9,
                         tol=lambda ex, w: 4096 * seen["precision"] * np.abs(w) + 1e-12 + extra() * np.abs(w),
                         diagnose=lambda got, w, ex: _diagnose_params(got, ex, eps, rms, roles))
    if parts.status != Status.PASS:
        return parts
    return passed(f"backward(dy) equals the backward pass derived by sympy for a 2×3 input "
                  f"({outcome.metrics.get('examples', 0)} drawn inputs)", metrics=outcome.metrics)


def _coarse(ctx: CheckContext) -> bool:
    return _precision(ctx) > EPS64


def _backward_gradcheck(ctx: CheckContext) -> Outcome:
    from verify.gradcheck import check_vjp, error_vs_step

    rms = _rms(ctx)
    rng = ctx.rng("gradcheck")
    n, h = 6, 7
    x = 2.0 * rng.normal(size=(n, h)) + (0.0 if rms else 3.0 * rng.normal(size=(n, 1)))
    roles = _affine_of(ctx)
    gamma, beta = rng.normal(size=h), rng.normal(size=h)
    dtype = np.float32 if _coarse(ctx) else np.float64
    resolution = 1e-6 if dtype == np.float64 else 0.25      # as batchnorm's: float32 finite differences are coarse

    def split(p):
        parts = dict(zip(roles, np.split(p, len(roles))))
        return parts.get("gamma"), parts.get("beta")

    # Each function has its many-points form: the points of a stencil (the cotangents of a Jacobian) in one call.
    def forward_x_many(vs):
        return [r.y.astype(dtype) for r in _fresh_passes(ctx, [(v.reshape(n, h), gamma, beta, None) for v in vs])]

    def vjp_x_many(v, dys):
        return [r.grads[0].reshape(v.shape) for r in _fresh_passes(ctx, [(v.reshape(n, h), gamma, beta, dy)
                                                                         for dy in dys])]

    def forward_affine_many(ps):
        return [r.y.astype(dtype) for r in _fresh_passes(ctx, [(x, *split(p), None) for p in ps])]

    def vjp_affine_many(p, dys):
        return [np.concatenate([run.grads[{"gamma": 1, "beta": 2}[r]] for r in roles])
                for run in _fresh_passes(ctx, [(x, *split(p), dy) for dy in dys])]

    def forward_x(v):
        return forward_x_many([v])[0]

    def vjp_x(v, dy):
        return vjp_x_many(v, [dy])[0]

    seed = ctx.int_seed("probes")
    dy = ctx.rng("v-curve").normal(size=(n, h))
    figure = error_vs_step(lambda v: float(np.sum(dy * forward_x(v))), lambda v: vjp_x(v, dy), x.ravel(), seed=seed,
                           f_many=lambda vs: [float(np.sum(dy * y)) for y in forward_x_many(vs)]).figure(
        "Finite-difference error of ⟨dy, forward(x)⟩ against step size")
    results = [("dx", check_vjp(forward_x, vjp_x, x.ravel(), f_many=forward_x_many, vjp_many=vjp_x_many, seed=seed,
                                resolution=resolution, **ctx.gradcheck))]
    if roles:
        start = np.concatenate([{"gamma": gamma, "beta": beta}[r] for r in roles])
        results.append((f"({', '.join('d' + r for r in roles)})",
                        check_vjp(lambda p: forward_affine_many([p])[0], lambda p, dy: vjp_affine_many(p, [dy])[0],
                                  start, f_many=forward_affine_many, vjp_many=vjp_affine_many, seed=seed,
                                  resolution=resolution, **ctx.gradcheck)))
    evals = sum(r.n_evals for _, r in results)
    for name, r in results:
        if r.failed:
            return failed(f"backward(dy) gives the wrong {name}: it is not the vector-Jacobian product of forward "
                          f"(N = {n}, H = {h}):\n{r}", diagnosis=r.diagnosis,
                          metrics={"max_rel_error": r.max_rel_error, "function_evals": evals}, figures=[figure])
    for name, r in results:
        if r.inconclusive:
            return inconclusive(f"finite differences of forward cannot decide backward's {name}: {r.reason}",
                                metrics={"function_evals": evals}, figures=[figure])
    worst = max(r.max_rel_error for _, r in results)
    at = "" if dtype == np.float64 else ", to 25 % of an entry: the layer computes in float32"
    wrt = ", ".join(["x"] + [{"gamma": "γ", "beta": "β"}[r] for r in roles])
    return passed(f"backward(dy) is the vector-Jacobian product of forward for {wrt} by finite differences{at} "
                  f"(N = {n}, H = {h}; max relative error {fmt(worst)}, {evals} evaluations)",
                  metrics={"max_rel_error": worst, "function_evals": evals}, figures=[figure])


def _backward_invariants(ctx: CheckContext) -> Outcome:
    """Layer norm: per example Σ_j ∂L/∂x = 0 and Σ_j ∂L/∂x·x̂ = r·Σ(g·x̂)·ε/(σ² + ε); RMS norm:
    Σ_j ∂L/∂x·x = Σ(g·x̂)·ε/(ms + ε) (g = γ·dy, r = 1/√(σ² + ε)): the gradient is orthogonal to 1 and to x̂
    (to x) up to ε's effect."""
    rms, eps = _rms(ctx), _eps(ctx)
    rng = ctx.rng("invariants")
    n, h = 8, 6
    x = 3.0 * rng.normal(size=(n, h)) + (0.0 if rms else rng.normal(size=(n, 1)))
    gamma, beta, dy = rng.normal(size=h), rng.normal(size=h), rng.normal(size=(n, h))
    layer = _layer(ctx, (h,), gamma, beta)
    layer.forward(x)
    dx = layer.backward(dy)[0]
    g = dy * (gamma if "gamma" in layer.affine else 1.0)
    g_mag = np.abs(dy) * _scale_size(gamma if "gamma" in layer.affine else None, h, _one_plus(ctx))
    c, stat = _stats(x, rms)
    r = 1.0 / np.sqrt(stat[:, 0] + eps)
    xhat = c * r[:, None]
    sum_gx = (g * xhat).sum(axis=1)
    precision = max(layer.precision, _precision(ctx))
    scale = g_mag.sum(axis=1) * r * float_tolerance(precision, 1e-10, 1e3) + 1e-300
    if rms:
        tests = [(compare((dx * x).sum(axis=1), sum_gx * eps / (stat[:, 0] + eps), rtol=0.0,
                          tol=scale * np.abs(x).max(axis=1),
                          header="Σ_j ∂L/∂x·x per example vs Σ(g·x̂)·ε/(ms + ε)"), "x")]
    else:
        tests = [(compare(dx.sum(axis=1), np.zeros(n), rtol=0.0, tol=scale, header="Σ_j ∂L/∂x per example vs 0"),
                  "1"),
                 (compare((dx * xhat).sum(axis=1), r * sum_gx * eps / (stat[:, 0] + eps), rtol=0.0,
                          tol=scale * np.abs(xhat).max(axis=1),
                          header="Σ_j ∂L/∂x·x̂ per example vs r·Σ(g·x̂)·ε/(σ² + ε)"), "x̂")]
    for cmp, what in tests:
        if not cmp.ok:
            return failed(f"dx is not orthogonal to {what} (up to ε's effect), as the "
                          f"{'RMS' if rms else 'layer'}-norm backward pass is:\n{cmp}",
                          diagnosis=_diagnose_backward(dx, x, dy, gamma if "gamma" in layer.affine else None, eps,
                                                       rms, precision, ctx))
    return passed("per example, ∂L/∂x ⟂ x up to ε's effect: Σ ∂L/∂x·x = Σ(g·x̂)·ε/(ms + ε)" if rms else
                  "per example, ∂L/∂x ⟂ 1 and ⟂ x̂ up to ε's effect: Σ ∂L/∂x = 0, Σ ∂L/∂x·x̂ = r·Σ(g·x̂)·ε/(σ² + ε)")


# ------------------------------------------------------------------ axes, affine, hygiene


def _axes(ctx: CheckContext) -> Outcome:
    """Inputs of the layer's own shape: a normalized_shape of several trailing dimensions and several leading
    (batch) dimensions for a layer taking one; (B, T, D) and (N, D, H, W) inputs for a layer taking those;
    leading batch dimensions for a row layer, fail-closed (a layer written for rows may take them otherwise)."""
    layout = ctx.subject.layout
    if layout == "ND" and (ctx.subject.takes_shape or ctx.subject.names_shape):
        return _normalized_shapes(ctx, strict=ctx.subject.takes_shape)
    rms, eps, precision = _rms(ctx), _eps(ctx), _precision(ctx)
    rng = ctx.rng("axes")
    h = 5
    shapes = {"ND": ((2, 3, h), (2, 2, 2, h)), "BTD": ((2, 3, h), (1, 4, h)), "NCHW": ((2, h, 3, 2), (1, h, 1, 4))}
    if layout == "ND" and ctx.params.get("batch_shape") == "ND":
        return skipped("--param batch_shape=ND: the layer takes (N, D) rows only")
    axis = 1 if layout == "NCHW" else -1
    ran, refused = [], []
    for x_shape in shapes[layout]:
        x = 2.0 * rng.normal(size=x_shape) + (0.0 if rms else rng.normal(size=x_shape[:-1] + (1,)) if axis == -1
                                              else rng.normal(size=(x_shape[0], 1) + x_shape[2:]))
        layer = _layer(ctx, (h,))
        gamma = rng.normal(size=h) if "gamma" in layer.affine else None
        beta = rng.normal(size=h) if "beta" in layer.affine else None
        _set_affine(ctx, layer, gamma, beta)
        if layout == "ND":          # rows only claimed: a shape it refuses is not held against it
            try:
                got = layer.forward(x)
            except (TargetError, ProtocolError) as exc:
                refused.append(f"a {x_shape} input: {str(exc).splitlines()[0]}")
                continue
        else:
            got = layer.forward(x)
        want = np.moveaxis(_expected(np.moveaxis(x, axis, -1), gamma, beta, eps, rms), -1, axis)
        cmp = compare(got, want, rtol=float_tolerance(max(precision, layer.precision), 1e-10, 1e4), atol=1e-12,
                      header=f"ACTUAL = forward(x) for x of shape {x_shape}; DESIRED = the statistics over axis "
                             f"{axis % len(x_shape)} ({'channels' if axis == 1 else 'the last'}) at each position")
        if cmp.ok:
            ran.append(str(x_shape))
            continue
        if layout == "ND":
            return skipped(f"on a {x_shape} input the output is not each row's normalisation over the last axis "
                           f"(max difference {fmt(cmp.max_abs)}): the layer is checked on (N, D) rows, as written; "
                           "if it is meant for (B, T, D) sequences, check it with --param batch_shape=BTD")
        return failed(f"a {x_shape} input is not normalised over axis {axis % len(x_shape)} at each position, as "
                      f"{_a(rms)} taking {ctx.subject.layout} inputs does:\n{cmp}", counterexample={"x": x},
                      diagnosis=_axes_hint(got, x, gamma, beta, eps, rms, axis))
    if not ran:
        return skipped(f"the layer takes (N, D) rows only ({'; '.join(refused)})")
    more = f"; not taken: {'; '.join(refused)}" if refused else ""
    where = "over the channel axis at each position" if axis == 1 else "over the last axis"
    return passed(f"inputs of shape {' and '.join(ran)} are normalised {where}, the other dimensions batch "
                  f"dimensions{more}")


def _axes_hint(got, x, gamma, beta, eps: float, rms: bool, axis: int) -> str | None:
    """Which other axis the statistics were taken over, when one matches."""
    nd = x.ndim
    for other in range(1, nd):
        if other == axis % nd:
            continue
        xs = np.moveaxis(x, other, -1)
        shape = [1] * nd
        shape[axis % nd] = -1
        g = None if gamma is None else np.reshape(gamma, shape)
        b = None if beta is None else np.reshape(beta, shape)
        bare = np.moveaxis(_expected(xs, None, None, eps, rms), -1, other)
        if compare(got, _affine(bare, g, b), rtol=1e-6, atol=1e-12).ok:
            return f"the statistics are taken over axis {other} of the {x.shape} input, not over axis {axis % nd}"
    return None


def _normalized_shapes(ctx: CheckContext, strict: bool = True) -> Outcome:
    """A layer taking a normalized_shape: several trailing dimensions normalised together, and inputs with
    several leading (batch) dimensions. Not ``strict`` (numpy code whose argument is merely named so): a shape
    it does not normalise so is skipped with what it does, not failed."""
    rms, eps, precision = _rms(ctx), _eps(ctx), _precision(ctx)
    rng = ctx.rng("axes")
    refused = []
    for x_shape, shape in (((4, 3, 5), (3, 5)), ((2, 3, 4), (4,)), ((2, 2, 2, 3), (2, 3))):
        x = 2.0 * rng.normal(size=x_shape) + rng.normal(size=x_shape[:len(x_shape) - len(shape)] + (1,) * len(shape))
        try:
            layer = _layer(ctx, shape)
            gamma = rng.normal(size=shape) if "gamma" in layer.affine else None
            beta = rng.normal(size=shape) if "beta" in layer.affine else None
            _set_affine(ctx, layer, gamma, beta)
            got = layer.forward(x)
        except (TargetError, ProtocolError) as exc:
            if not strict:
                return skipped(f"the layer's size argument is named normalized_shape, but a {x_shape} input with "
                               f"normalized_shape {shape} is not taken ({str(exc).splitlines()[0]}); it is checked "
                               "with the feature count only")
            if len(shape) == 1:
                raise
            # a module whose size argument is named normalized_shape but is an int (ConvNeXt's LayerNorm)
            refused.append(f"normalized_shape {shape}: {str(exc).splitlines()[0]}")
            continue
        want = _expected(x, gamma, beta, eps, rms, shape)
        cmp = compare(got, want, rtol=float_tolerance(max(precision, layer.precision), 1e-10, 1e4), atol=1e-12,
                      header=f"ACTUAL = forward(x) for x of shape {x_shape}, normalized_shape {shape}; DESIRED = the "
                             f"statistics over the last {len(shape)} dimension{'s' if len(shape) > 1 else ''}")
        if not cmp.ok:
            axes = tuple(range(len(x_shape) - len(shape), len(x_shape)))
            hint = None
            last = _expected(x.reshape(-1, x_shape[-1]), None, None, eps, rms).reshape(x_shape)
            if len(shape) > 1 and compare(got, _affine(last, gamma, beta), rtol=1e-6, atol=1e-12).ok:
                hint = f"the statistics are taken over the last dimension only, not over the normalised axes {axes}"
            if not strict:
                return skipped(f"the layer's size argument is named normalized_shape, but normalized_shape {shape} "
                               f"on a {x_shape} input is not normalised per example"
                               f"{': ' + hint if hint else ''}; it is checked with the feature count only (code "
                               f"written for an int may name it so)")
            return failed(f"normalized_shape {shape} is not normalised per example:\n{cmp}",
                          counterexample={"x": x}, diagnosis=hint)
    if refused:
        return passed(f"leading dimensions are batch dimensions (normalized_shape (4,)); a normalized_shape of several "
                      f"dimensions is not taken, so not checked: {'; '.join(refused)}")
    return passed("several trailing dimensions are normalised together (normalized_shape (3, 5), (2, 3)) and "
                  "leading dimensions are batch dimensions")


def _protocol(ctx: CheckContext) -> Outcome:
    rng = ctx.rng("protocol")
    x = rng.normal(size=(5, 4))
    gamma, beta = rng.normal(size=4), rng.normal(size=4)     # set: a layer may draw its initial γ at random
    layer = _layer(ctx, (4,), gamma, beta)
    roles = layer.affine
    required = ctx.params["affine"]
    if required != "auto" and roles != AFFINE[required]:
        have = ", ".join(roles) or "none"
        return failed(f"the layer has the affine parameters ({have}), the run requires ({required})",
                      diagnosis=f"affine parameters: the layer has {have}, not {required}")
    y1 = layer.forward(x)
    y2 = _layer(ctx, (4,), gamma, beta).forward(x)
    if not identical(y1, y2):
        return failed("two fresh layers gave different outputs for the same input")
    if "backward" in ctx.subject.roles:
        layer.backward(rng.normal(size=(5, 4)))
    mutated = layer.inputs.failures
    if mutated:
        return failed(f"{mutated[0]}: a layer must not change the arrays it is given")
    if _one_plus(ctx) and "gamma" in roles and _fresh_output(ctx, 4) == 2.0:
        return failed("a fresh layer doubles x̂ under scale=one-plus-gamma: its weight starts at 1, not 0",
                      diagnosis=_DOUBLES)
    found = " and ".join({"gamma": "γ", "beta": "β"}[r] for r in roles) or "no affine parameters"
    return unless_unseen(layer.inputs, passed(f"forward leaves its input alone and is deterministic; the layer has "
                                              f"{found}"))


# The references under ``scale=one-plus-gamma`` (``unit_offset=True``) in the numpy protocol's shape: a forward
# function, its backward beside it (∂/∂w of (1 + w)·x̂ is ∂/∂γ of γ·x̂, so the backward is the plain one).

def rmsnorm_one_plus_forward(x, gamma=None, eps=None, normalized_shape=None):
    return reference.rmsnorm_forward(x, gamma, eps=eps, normalized_shape=normalized_shape, unit_offset=True)


def layernorm_one_plus_forward(x, gamma=None, beta=None, eps=1e-5, normalized_shape=None):
    return reference.layernorm_forward(x, gamma, beta, eps=eps, normalized_shape=normalized_shape, unit_offset=True)


rmsnorm_one_plus_backward = reference.rmsnorm_backward
layernorm_one_plus_backward = reference.layernorm_backward


def _scale_param(rms: bool) -> Param:
    plain = "torch.nn.RMSNorm, Keras" if rms else "torch.nn.LayerNorm, Keras"
    return Param("scale", "gamma", f"the scale convention: gamma (y = γ·x̂{'' if rms else ' + β'}, {plain}) or "
                 f"one-plus-gamma (y = (1 + w)·x̂{'' if rms else ' + β'} with the weight w starting at 0: "
                 f"{_ZERO_CENTRED['rmsnorm' if rms else 'layernorm'][0]}; the run sets w = γ − 1)", type=str,
                 choices=("gamma", ONE_PLUS), to_target=False)


def _spec(name: str, title: str, formula: str, eps: float, eps_text: str, rms: bool) -> Spec:
    return Spec(
        name=name,
        family=Family.LAYERNORM,
        title=title,
        formula=formula,
        params=(
            Param("eps", eps, eps_text, low=0.0, low_open=True),
            Param("affine", "auto", "the affine parameters required: auto (those the layer has), gamma,beta, "
                  "gamma (PyTorch's bias=False; RMSNorm) or none (elementwise_affine=False)", type=str,
                  choices=("auto", "gamma,beta", "gamma", "none"), to_target=False),
            Param("batch_shape", "auto", "the inputs the layer takes: auto (tried: (N, D) rows, else (B, T, D) "
                  "sequences or channels-first (N, D, H, W), used where each row's statistics are confirmed), ND, "
                  "BTD (the last axis of sequences) or NCHW (axis 1 at each position); the checks' rows are given "
                  "in that shape", type=str, choices=("auto", "ND", "BTD", "NCHW"), to_target=False),
            _scale_param(rms),
        ),
        checks=(
            Check("forward-vs-reference", Kind.REFERENCE,
                  "output equals " + ("γ x/√(mean(x²) + ε)" if rms else "γ (x − μ)/√(σ² + ε) + β") + " per example",
                  withheld_at_float16(_own_eps(_forward))),
            Check("output-moments", Kind.SYMBOLIC,
                  "without affine, per example: " + ("mean square ms/(ms + ε)" if rms else
                                                     "mean 0, variance σ²/(σ² + ε)") + " (sympy)",
                  withheld_at_float16(_own_eps(_moments))),
            Check("rescaling", Kind.PROPERTY, "per-example c·x" + ("" if rms else " + s") + " changes the output by "
                  "c√(v + ε)/√(c²v + ε) (sympy): invariance up to ε", withheld_at_float16(_own_eps(_rescaling))),
            Check("backward-vs-symbolic", Kind.SYMBOLIC, "backward equals sympy's derivation for a 2×3 input",
                  withheld_at_float16(_own_eps(_backward_symbolic)), ("backward",)),
            Check("backward-finite-difference", Kind.GRADIENT, "backward is the VJP of forward (check_vjp)",
                  withheld_at_float16(_backward_gradcheck), ("backward",)),
            Check("backward-invariants", Kind.PROPERTY,
                  "per example ∂L/∂x ⟂ x up to ε" if rms else "per example ∂L/∂x ⟂ 1 and ⟂ x̂ up to ε",
                  withheld_at_float16(_own_eps(_backward_invariants)), ("backward",)),
            Check("normalized-axes", Kind.REFERENCE, "inputs of the layer's own shape: normalized_shape of several "
                  "trailing dimensions, leading batch dimensions, (B, T, D) sequences, channels-first (N, D, H, W)",
                  withheld_at_float16(_own_eps(_axes))),
            Check("protocol", Kind.PROTOCOL, "no input mutation, determinism, the affine parameters required",
                  _protocol),
        ),
        reference=lambda params: (
            (rmsnorm_one_plus_forward if rms else layernorm_one_plus_forward) if params.get("scale") == ONE_PLUS else
            reference.rmsnorm_forward if rms else reference.layernorm_forward),
    )


SPECS = {
    "layernorm": _spec(
        "layernorm", "Layer normalisation",
        "y = γ (x − μ)/√(σ² + ε) + β per example, μ and the biased σ² over the normalised (trailing) dimensions "
        "(Ba et al. 2016; torch.nn.LayerNorm); γ, β optional",
        1e-5, "ε added to the variance inside the square root (PyTorch's default; Keras' is 1e-3)", rms=False),
    "rmsnorm": _spec(
        "rmsnorm", "RMS normalisation",
        "y = γ x/√(mean(x²) + ε) per example over the normalised (trailing) dimensions (Zhang & Sennrich 2019; "
        "torch.nn.RMSNorm); γ optional, no centring, no β",
        1e-6, "ε added to the mean square inside the square root (Keras' RMSNormalization default; torch's "
        "eps=None is the dtype's machine ε, passed explicitly here)", rms=True),
}
