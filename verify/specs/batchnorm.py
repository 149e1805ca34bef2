"""Spec ``batchnorm``: training-mode normalisation, its backward pass, running statistics, inference.

Protocol: a class ``BN(num_features, eps=..., momentum=...)`` with ``gamma``
and ``beta`` (or ``weight``/``bias``), ``running_mean``, ``running_var``,
``forward(x, training=True)`` and ``backward(dy) -> (dx, dgamma, dbeta)``;
CS231n's ``batchnorm_forward(x, gamma, beta, bn_param)``; or any module
compatible with ``torch.nn.BatchNorm1d`` (backward by autograd). See
``docs/protocols.md``.

State and hyperparameters are taken from the target, not assumed: the
running statistics' start is read from the layer after construction (or, when
the layer creates them at its first training call, inferred from the first
update and reported); ``eps`` and ``momentum`` the constructor does not take
are read back from the layer, and where they cannot be known a check that
depends on them says so (``inconclusive``) rather than fail. The momentum
form (PyTorch: m weights the new statistic; Keras and CS231n: the old value;
PyTorch's ``momentum=None``: a cumulative average) and the estimator fed to
the running variance (unbiased or biased) are named conventions.

Expected values: the forward pass from its definition (Ioffe & Szegedy 2015,
Algorithm 1) through the reference; the output variance ``σ²/(σ²+ε)``, the
backward pass (N = 3, 2 features) and ``E[σ̂²] = σ²(N−1)/N`` from sympy; the
backward at larger sizes from finite differences.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st

import reference
from verify.adapters.base import one_pass_conditioning
from verify.compare import compare, identical
from verify.compare import format_number as fmt
from verify.errors import ProtocolError
from verify.remote import call_each
from verify.results import Figure, Series, Status
from verify.specs._common import (EPS16, EPS_ESTIMATE, declared as _declared, differential, effective_hyper,
                                  eps_from_outputs, float_tolerance as _tolerance, judged_layer, LayerPass,
                                  unless_unseen, with_estimated_eps, withheld_at_float16)
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
    skipped,
)

__all__ = ["SPECS"]

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
STEPS = 40                                         # training batches the running statistics are followed for
TRUE_MEAN, TRUE_SD = np.array([2.0, -1.0, 0.5]), np.array([3.0, 0.5, 1.0])

#: What the checks import inside functions (see verify.specs.modules_needed).
PRELOAD = ("verify.stats", "verify.gradcheck", "verify.symbolic")


# ----------------------------------------------------- hyperparameters as the layer has them


def _layer(ctx: CheckContext, c: int, gamma: np.ndarray | None = None, beta: np.ndarray | None = None,
           momentum: float | None = None):
    layer = _Claimed(ctx.subject.new(c, ctx.params["eps"], ctx.params["momentum"] if momentum is None else momentum),
                     ctx.params["eps"])
    judged_layer(layer)
    if gamma is not None:
        layer.set_affine(gamma, beta)
    return layer


class _Claimed:
    """A layer as the checks see it: every call passed on, its precision taken as far as this process can
    account for it.

    The precision a layer reports is its process's account (the dtypes it returned, or an adapter's reading of
    arithmetic narrower than the float64 arrays it returns: Keras computes batch norm in float32, on the torch
    backend with one-pass moments that lose (μ² + σ²)/(σ² + ε) ulps), so it is data from the target. Between
    float32's and float16's it is accepted up to float32's rounding so conditioned on the batches this process
    sent; float16's is accepted as it is (and the check's pass withheld, :func:`withheld_at_float16`).
    """

    def __init__(self, layer: Any, eps: float):
        self._layer = layer
        self._eps = float(eps)
        self._conditioning = 1.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._layer, name)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        if training:
            self._condition(x)
        return self._layer.forward(x, training)

    def trained(self, xs: list[np.ndarray]) -> list[Any]:
        for x in xs:
            self._condition(x)
        states = self._layer.trained(xs)
        if len(states) != len(xs):
            raise ProtocolError(f"trained() on {len(xs)} batches sent back {len(states)} states")
        return states

    def _condition(self, x: np.ndarray) -> None:
        worst = one_pass_conditioning(x, self._eps)
        if math.isfinite(worst):
            self._conditioning = max(self._conditioning, worst)

    @property
    def precision(self) -> float:
        return _accepted_precision(self._layer.precision, self._conditioning)


def _accepted_precision(claimed: float, conditioning: float) -> float:
    """The precision a layer claims, as far as the batches it was given account for it (see :class:`_Claimed`)."""
    claimed = float(claimed)
    if claimed <= EPS32 or claimed >= EPS16:
        return claimed
    return min(claimed, 2.0 ** math.ceil(math.log2(EPS32 * conditioning)))


def _fresh_pass(ctx: CheckContext, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                dy: np.ndarray | None = None, resolve_eps: float | None = None) -> LayerPass:
    """A new layer given γ and β, a training forward of ``x`` (and the backward of ``dy``), in one call into the
    subject (:meth:`BatchNormSubject.fresh_pass`); the layer counts as judged (:func:`withheld_at_float16`)."""
    return _fresh_passes(ctx, [(x, gamma, beta, dy)], resolve_eps)[0]


def _fresh_passes(ctx: CheckContext, runs: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]],
                  resolve_eps: float | None = None) -> list[LayerPass]:
    """:func:`_fresh_pass` for each ``(x, γ, β, dy)`` of ``runs``, all in one call (the points of finite
    differences, the cotangents of a Jacobian)."""
    eps, momentum = ctx.params["eps"], ctx.params["momentum"]
    outs = call_each(ctx.subject, "fresh_pass", [(eps, momentum, gamma, beta, x, dy, resolve_eps)
                                                 for x, gamma, beta, dy in runs])
    passes = []
    for (x, *_), (y, grads, claimed) in zip(runs, outs):
        worst = one_pass_conditioning(x, eps) if y is not None else 1.0
        passes.append(LayerPass(y, grads, _accepted_precision(claimed, max(1.0, worst) if math.isfinite(worst) else 1.0)))
        judged_layer(passes[-1])
    return passes


def _effective(ctx: CheckContext, layer: Any, name: str) -> tuple[float, str]:
    return effective_hyper(ctx, layer, name)


def _eps(ctx: CheckContext) -> float:
    if EPS_ESTIMATE in ctx.params:
        return ctx.params[EPS_ESTIMATE]
    return _effective(ctx, _layer(ctx, 2), "eps")[0]


def _estimate_eps(ctx: CheckContext) -> float | None:
    """The ε a layer uses, from one batch whose variance (1e-8) is far below any usual ε.

    With γ = 1, β = 0: y = (x − μ)/√(σ² + ε), so the least-squares √(σ² + ε)
    of (x − μ) on y, squared, minus σ² is ε; one value for every feature or
    ``None``.
    """
    c = 4
    x = 3.0 + 1e-4 * ctx.rng("estimate-eps").normal(size=(64, c))
    y = _layer(ctx, c, np.ones(c), np.zeros(c)).forward(x, True)
    return eps_from_outputs(x - x.mean(axis=0), y, x.var(axis=0), axis=0)


def _eps_of_its_own(check_fn):
    """A check whose expected values need ε: when the layer takes no ε and shows none (so the spec's
    was only assumed), a failure that disappears at the layer's own, estimated ε is no failure."""
    return with_estimated_eps(check_fn, lambda ctx: _effective(ctx, _layer(ctx, 2), "eps"), _estimate_eps,
                              "a batch of variance 1e-8")


# ------------------------------------------------------------------ forward pass


def _tol(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, precision: float = EPS64) -> np.ndarray:
    """Rounding bound for y = γ (x − μ)/√(σ² + ε) + β, entry by entry, at the layer's precision.

    x − μ cancels when |μ| ≫ σ, so the bound scales with |x − μ| + |μ| in units of σ̃.
    """
    mu = x.mean(axis=0)
    sd = np.sqrt(x.var(axis=0) + eps)
    return 256 * precision * (np.abs(gamma) * (np.abs(x) + np.abs(mu)) / sd + np.abs(beta) + np.abs(gamma))


def _batches() -> Any:
    """(x, γ, β): a batch with per-feature offsets and scales over 8 orders of magnitude."""
    @st.composite
    def batch(draw):
        n = draw(st.integers(2, 12))
        c = draw(st.integers(1, 4))
        seed = draw(st.integers(0, 2**32 - 1))
        log_scale = draw(st.floats(-3, 3))
        offset = draw(st.floats(-100, 100))
        rng = np.random.default_rng(seed)
        x = offset + 10.0 ** log_scale * rng.normal(size=(n, c))
        return {"x": x, "gamma": rng.normal(size=c), "beta": rng.normal(size=c)}
    return batch()


def _forward_candidates(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> dict[str, np.ndarray]:
    """Outputs of common forward-pass bugs."""
    n = x.shape[0]
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    c = x - mu
    return {
        "the unbiased variance σ²·N/(N − 1) normalises (the running variance's estimate, not the batch's)":
            gamma * c / np.sqrt(var * n / (n - 1) + eps) + beta,
        "ε outside the square root: (x − μ)/(σ + ε)": gamma * c / (np.sqrt(var) + eps) + beta,
        "ε is ignored: (x − μ)/σ": gamma * c / np.sqrt(var) + beta,
        "γ and β swapped": beta * c / np.sqrt(var + eps) + gamma,
        "γ and β are not applied": c / np.sqrt(var + eps),
        "x − μ is divided by the variance instead of the standard deviation": gamma * c / (var + eps) + beta,
        "the variance is not centred: mean(x²) instead of mean((x − μ)²)":
            gamma * c / np.sqrt((x * x).mean(axis=0) + eps) + beta,
        "the statistics are taken over the features instead of the batch":
            gamma * (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + eps) + beta,
    }


def _per_channel(v: np.ndarray) -> np.ndarray:
    """A (C,) vector broadcast against (N, C, H, W)."""
    return np.reshape(v, (1, -1, 1, 1))


def _spatial_forward_candidates(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float,
                                layout: Any) -> dict[str, np.ndarray]:
    """Outputs of the bugs of a layer for (N, C, H, W) batches, on the 4-D batch the layer was given, read
    back as (N, C)."""
    x4, c = layout.to4(x), x.shape[1]
    g, b = _per_channel(gamma), _per_channel(beta)

    def over(axes):
        return g * (x4 - x4.mean(axis=axes, keepdims=True)) / np.sqrt(x4.var(axis=axes, keepdims=True) + eps) + b

    def rows(flat):                      # the (N·H·W, C) batch norm a reshaping layer delegates to
        return gamma * (flat - flat.mean(axis=0)) / np.sqrt(flat.var(axis=0) + eps) + beta

    n, _, h, w = x4.shape
    channels_last = rows(x4.transpose(0, 2, 3, 1).reshape(-1, c))
    out = {
        "the statistics are taken over the batch axis N only, not over N, H and W (one mean and variance per "
        "channel and position, not per channel)": over((0,)),
        "the statistics are taken over H and W only, per sample (instance norm), not over N, H and W": over((2, 3)),
        "the statistics are taken over C, H and W, per sample (layer norm), not per channel over N, H and W":
            over((1, 2, 3)),
        "x is reshaped to (N·H·W, C) without moving the channel axis last first: x.reshape(-1, C) mixes "
        "channels and positions": rows(x4.reshape(-1, c)).reshape(x4.shape),
        "the output is reshaped back to (N, C, H, W) without moving the channel axis back first":
            channels_last.reshape(x4.shape),
    }
    return {k: layout.to2(v) for k, v in out.items()}


def _diagnose_forward(got: np.ndarray, ex: dict, eps: float, precision: float = EPS64,
                      layout: Any = None) -> str | None:
    rtol = _tolerance(precision, 1e-8, 1e4)
    candidates = _forward_candidates(ex["x"], ex["gamma"], ex["beta"], eps)
    if layout is not None:      # the 4-D layer's own slips first: on small batches some coincide with 2-D ones
        candidates = _spatial_forward_candidates(ex["x"], ex["gamma"], ex["beta"], eps, layout) | candidates
    for text, value in candidates.items():
        if value.shape == got.shape and compare(got, value, rtol=rtol, atol=1e-12).ok:
            return f"the output matches a batch norm where {text}"
    return None


def _forward(ctx: CheckContext) -> Outcome:
    eps = _eps(ctx)
    seen = {"precision": EPS64, "layout": ctx.subject.layout}

    def actual(ex):
        from hypothesis import reject

        run = _fresh_pass(ctx, ex["x"], ex["gamma"], ex["beta"], resolve_eps=eps)
        if run.y is None:
            reject()            # beyond the layer's attained precision: not judged, another batch is drawn
        seen["precision"] = max(seen["precision"], run.precision)
        return run.y

    def desired(ex):
        return reference.batchnorm_forward(ex["x"], ex["gamma"], ex["beta"], eps)[0]

    return differential(ctx, _batches(), actual, desired, what="forward(x, training=True)",
                        source=f"y = γ (x − μ)/√(σ² + ε) + β with the biased batch variance, ε = {fmt(eps)}", rtol=0.0,
                        tol=lambda ex, want: _tol(ex["x"], ex["gamma"], ex["beta"], eps, seen["precision"]),
                        diagnose=lambda got, want, ex: _diagnose_forward(got, ex, eps, seen["precision"],
                                                                         seen["layout"]))


def _moments(ctx: CheckContext) -> Outcome:
    """Per feature, the output has mean β and variance γ²σ²/(σ² + ε) (sympy), exactly to rounding."""
    from verify import symbolic

    d = symbolic.batchnorm_output_variance()
    eps = _eps(ctx)
    rng = ctx.rng("moments")
    worst = 0.0
    unresolved = []
    # Feature variances from far above ε down to ε/4, where ε's place in the formula matters.
    for scale in (10.0, 1.0, math.sqrt(eps), 0.5 * math.sqrt(eps)):
        n, c = 64, 3
        x = 5.0 + scale * rng.normal(size=(n, c))
        gamma, beta = rng.normal(size=c), rng.normal(size=c)
        layer = _fresh_pass(ctx, x, gamma, beta, resolve_eps=eps)
        if layer.y is None:
            unresolved.append(fmt(scale))
            continue
        y = layer.y
        var = x.var(axis=0)
        want_var = gamma ** 2 * np.asarray(d.func(var, eps), dtype=np.float64)
        got_mean, got_var = y.mean(axis=0), y.var(axis=0)
        # float64: fixed slack; a coarser layer: its rounding of x − μ, relative to σ̃ (as in _tol)
        rounding = _tol(x, gamma, beta, eps, layer.precision).max(axis=0)
        tol = np.maximum(1e-9 * (np.abs(gamma) + np.abs(beta)), rounding)
        rel = np.maximum(1e-8, 2 * rounding / np.maximum(np.abs(gamma), 1e-300))
        mean_ok = compare(got_mean, beta, rtol=0.0, tol=tol, header="per-feature output mean vs β")
        var_ok = compare(got_var, want_var, rtol=0.0, tol=rel * want_var + 1e-300,
                         header=f"per-feature output variance vs γ²·({d.statement.split('=')[-1].strip()})")
        for c_ok in (mean_ok, var_ok):
            if not c_ok.ok:
                return failed(f"the training-mode output does not have the moments of a batch norm "
                              f"(feature std {fmt(scale)}, ε = {fmt(eps)}):\n{c_ok}",
                              counterexample={"x": x, "gamma": gamma, "beta": beta},
                              diagnosis=_diagnose_forward(y, {"x": x, "gamma": gamma, "beta": beta}, eps,
                                                          layer.precision, ctx.subject.layout))
        worst = max(worst, var_ok.max_rel)
    notes = [f"not judged at feature std {', '.join(unresolved)} (mean 5): the layer's arithmetic cannot resolve "
             "that variance (one-pass moments in float32)"] if unresolved else []
    if len(unresolved) == 4:
        return inconclusive("the layer's arithmetic resolves none of the batches of this check", notes=notes)
    return passed(f"per feature, the output has mean β and variance γ²σ²/(σ² + ε) (derived by sympy), "
                  f"down to feature variances below ε = {fmt(eps)} (max relative difference {fmt(worst)})",
                  notes=notes)


# ------------------------------------------------------------------ backward pass


def _backward_candidates(dy: np.ndarray, x: np.ndarray, gamma: np.ndarray, eps: float) -> dict[str, np.ndarray]:
    n = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    sd = np.sqrt(var + eps)
    xhat = (x - mu) / sd
    sum_dy, sum_dy_xhat = dy.sum(axis=0), (dy * xhat).sum(axis=0)
    return {
        "the term ẑ·Σ(dy·ẑ) is missing (the variance's dependence on x ignored)":
            gamma / (n * sd) * (n * dy - sum_dy),
        "the term Σ dy is missing (the mean's dependence on x ignored)":
            gamma / (n * sd) * (n * dy - xhat * sum_dy_xhat),
        "μ and σ are treated as constants: dx = γ·dy/σ̃": gamma * dy / sd,
        "γ is missing from dx": 1.0 / (n * sd) * (n * dy - sum_dy - xhat * sum_dy_xhat),
        "the sum terms use N − 1 instead of N":
            gamma / ((n - 1) * sd) * ((n - 1) * dy - sum_dy - xhat * sum_dy_xhat),
    }


def _spatial_backward_candidates(dy: np.ndarray, x: np.ndarray, gamma: np.ndarray, eps: float,
                                 layout: Any) -> dict[str, np.ndarray]:
    """dx of the backward-pass bugs of a layer for (N, C, H, W) batches, read back as (N, C)."""
    x4, dy4 = layout.to4(x), layout.to4(dy)
    axes = (0, 2, 3)
    sd = np.sqrt(x4.var(axis=axes, keepdims=True) + eps)
    xhat = (x4 - x4.mean(axis=axes, keepdims=True)) / sd
    g, n = _per_channel(gamma), x4.shape[0]

    def dx(count, sum_axes):
        return g / (count * sd) * (count * dy4 - dy4.sum(axis=sum_axes, keepdims=True)
                                   - xhat * (dy4 * xhat).sum(axis=sum_axes, keepdims=True))

    out = {
        "its sums run over the batch axis N only, not over N, H and W (dx = γ/(N·σ̃)·(N·dy − Σ_N dy − "
        "ẑ·Σ_N dy·ẑ))": dx(n, (0,)),
        "it counts the batch size N, not the N·H·W values per channel": dx(n, axes),
    }
    return {k: layout.to2(v) for k, v in out.items()}


def _diagnose_backward(got: np.ndarray, x: np.ndarray, dy: np.ndarray, gamma: np.ndarray, eps: float,
                       precision: float = EPS64, layout: Any = None) -> str | None:
    rtol = _tolerance(precision, 1e-7, 1e5)
    candidates = _backward_candidates(dy, x, gamma, eps)
    if layout is not None:
        candidates = _spatial_backward_candidates(dy, x, gamma, eps, layout) | candidates
    for text, value in candidates.items():
        if compare(got, value, rtol=rtol, atol=1e-12).ok:
            return f"dx matches a backward pass where {text}"
    return None


def _diagnose_affine(got: np.ndarray, ex: dict, eps: float) -> str | None:
    """Name a wrong (dgamma, dbeta) pair."""
    x, dy = ex["x"], ex["dy"]
    xhat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    dgamma, dbeta = (dy * xhat).sum(axis=0), dy.sum(axis=0)
    c = dgamma.size
    candidates = {
        "dgamma = Σ dy: the ẑ factor is missing from dgamma": (dbeta, dbeta),
        "dgamma and dbeta are swapped": (dbeta, dgamma),
        "dgamma uses x − μ instead of ẑ (the division by √(σ² + ε) is missing)": ((dy * (x - x.mean(axis=0))).sum(axis=0), dbeta),
        "dbeta = Σ dy·ẑ: dbeta takes dgamma's formula": (dgamma, dgamma),
        "the parameter gradients are averaged over the batch instead of summed": (dgamma / x.shape[0], dbeta / x.shape[0]),
    }
    for text, (g, b) in candidates.items():
        if compare(got, np.concatenate([g, b]), rtol=1e-8, atol=1e-12).ok and got.size == 2 * c:
            return f"(dgamma, dbeta) match a backward pass where {text}"
    return None


def _backward_symbolic(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d = symbolic.batchnorm_backward()
    eps = _eps(ctx)
    seen = {"precision": EPS64, "layout": ctx.subject.layout}

    @st.composite
    def examples(draw):
        seed = draw(st.integers(0, 2**32 - 1))
        log_scale = draw(st.floats(-2, 2))
        rng = np.random.default_rng(seed)
        return {"x": 10.0 ** log_scale * rng.normal(size=(3, 2)), "gamma": rng.normal(size=2),
                "beta": rng.normal(size=2), "dy": rng.normal(size=(3, 2))}

    def run(ex):
        out = _fresh_pass(ctx, ex["x"], ex["gamma"], ex["beta"], ex["dy"])
        seen["precision"] = max(seen["precision"], out.precision)
        return out.grads

    def want(ex):
        return d.func(ex["x"], ex["gamma"], ex["beta"], eps, ex["dy"])

    def scale(ex):
        sd = np.sqrt(ex["x"].var(axis=0) + eps)
        return 4096 * seen["precision"] * (np.abs(ex["gamma"]) / sd * np.abs(ex["dy"]).sum(axis=0)
                                          + np.abs(ex["dy"]).sum(axis=0))

    # a float32 layer's relative rounding, on top of the float64 tolerance rtol = 1e-9
    extra = lambda: _tolerance(seen["precision"], 1e-9, 1e4) - 1e-9  # noqa: E731
    outcome = differential(ctx, examples(), lambda ex: run(ex)[0], lambda ex: want(ex)[0],
                           what="backward(dy)[0] (dx) for N = 3, C = 2", source=f"sympy: {d.statement}", rtol=1e-9,
                           tol=lambda ex, w: scale(ex) + extra() * np.abs(w),
                           diagnose=lambda got, w, ex: _diagnose_backward(got, ex["x"], ex["dy"], ex["gamma"], eps,
                                                                          seen["precision"], seen["layout"]))
    if outcome.status != Status.PASS:
        return outcome
    parts = differential(ctx, examples(), lambda ex: np.concatenate(run(ex)[1:]),
                         lambda ex: np.concatenate(want(ex)[1:]),
                         what="backward(dy)[1:] (dgamma, dbeta) for N = 3, C = 2",
                         source="sympy: ∂L/∂γ = Σ dy·ẑ, ∂L/∂β = Σ dy", rtol=1e-9,
                         tol=lambda ex, w: np.tile(scale(ex), 2) + extra() * np.abs(w),
                         diagnose=lambda got, w, ex: _diagnose_affine(got, ex, eps))
    if parts.status != Status.PASS:
        return parts
    return passed(f"backward(dy) equals the backward pass derived by sympy for N = 3, C = 2 "
                  f"({outcome.metrics.get('examples', 0)} drawn batches)", metrics=outcome.metrics)


def _backward_gradcheck(ctx: CheckContext) -> Outcome:
    from verify.gradcheck import check_vjp, error_vs_step

    rng = ctx.rng("gradcheck")
    n, c = 16, 5
    x = 3.0 + 2.0 * rng.normal(size=(n, c))
    gamma, beta = rng.normal(size=c), rng.normal(size=c)

    # The finite differences see the layer's own precision: a float32 layer's outputs are given back in
    # float32, so the checker sizes its error bars for float32 rounding.
    dtype = np.float32 if _coarse(ctx) else np.float64
    # Finite differences of a float32 function resolve only a few percent of an entry here (up to 7 % seen),
    # not float64's 1e-6: a float32 layer is checked at 25 % per entry -- a backward bug is off by O(1), and
    # backward-vs-symbolic checks it at float32's rounding -- and the message says so.
    resolution = 1e-6 if dtype == np.float64 else 0.25

    # Each function has its many-points form: the points of a stencil (the cotangents of a Jacobian) in one call.
    def forward_x_many(vs):
        return [p.y.astype(dtype) for p in _fresh_passes(ctx, [(v.reshape(n, c), gamma, beta, None) for v in vs])]

    def vjp_x_many(v, dys):
        return [p.grads[0].reshape(v.shape) for p in _fresh_passes(ctx, [(v.reshape(n, c), gamma, beta, dy)
                                                                          for dy in dys])]

    def forward_affine_many(ps):
        return [r.y.astype(dtype) for r in _fresh_passes(ctx, [(x, p[:c], p[c:], None) for p in ps])]

    def vjp_affine_many(p, dys):
        return [np.concatenate(r.grads[1:]) for r in _fresh_passes(ctx, [(x, p[:c], p[c:], dy) for dy in dys])]

    def forward_x(v):
        return forward_x_many([v])[0]

    def vjp_x(v, dy):
        return vjp_x_many(v, [dy])[0]

    def forward_affine(p):
        return forward_affine_many([p])[0]

    def vjp_affine(p, dy):
        return vjp_affine_many(p, [dy])[0]

    seed = ctx.int_seed("probes")
    dy = ctx.rng("v-curve").normal(size=(n, c))
    figure = error_vs_step(lambda v: float(np.sum(dy * forward_x(v))), lambda v: vjp_x(v, dy), x.ravel(), seed=seed,
                           f_many=lambda vs: [float(np.sum(dy * y)) for y in forward_x_many(vs)]).figure(
        "Finite-difference error of ⟨dy, forward(x)⟩ against step size")
    results = [("dx", check_vjp(forward_x, vjp_x, x.ravel(), f_many=forward_x_many, vjp_many=vjp_x_many, seed=seed,
                                resolution=resolution, **ctx.gradcheck)),
               ("(dgamma, dbeta)", check_vjp(forward_affine, vjp_affine, np.concatenate([gamma, beta]),
                                             f_many=forward_affine_many, vjp_many=vjp_affine_many, seed=seed,
                                             resolution=resolution, **ctx.gradcheck))]
    evals = sum(r.n_evals for _, r in results)
    for name, r in results:
        if r.failed:
            return failed(f"backward(dy) gives the wrong {name}: it is not the vector-Jacobian product of forward "
                          f"(N = {n}, C = {c}):\n{r}", diagnosis=r.diagnosis,
                          metrics={"max_rel_error": r.max_rel_error, "function_evals": evals}, figures=[figure])
    for name, r in results:
        if r.inconclusive:
            return inconclusive(f"finite differences of forward cannot decide backward's {name}: {r.reason}",
                                metrics={"function_evals": evals}, figures=[figure])
    worst = max(r.max_rel_error for _, r in results)
    at = "" if dtype == np.float64 else ", to 25 % of an entry: the layer computes in float32"
    return passed(f"backward(dy) is the vector-Jacobian product of forward for x, γ and β by finite differences{at} "
                  f"(N = {n}, C = {c}; max relative error {fmt(worst)}, {evals} evaluations)",
                  metrics={"max_rel_error": worst, "function_evals": evals}, figures=[figure])


def _coarse(ctx: CheckContext) -> bool:
    """Whether the layer computes below float64 (its precision shows only after a forward)."""
    layer = _layer(ctx, 2)
    layer.forward(np.array([[0.0, 1.0], [1.0, 3.0], [2.0, 2.0]]), True)
    return layer.precision > EPS64


def _backward_invariants(ctx: CheckContext) -> Outcome:
    """Σ_i ∂L/∂z = 0 and Σ_i ∂L/∂z·ẑ = (γ/σ̃)·Σ(dy·ẑ)·ε/(σ²+ε) ≈ 0."""
    eps = _eps(ctx)
    rng = ctx.rng("invariants")
    n, c = 32, 4
    x = 1.0 + 3.0 * rng.normal(size=(n, c))
    gamma, beta, dy = rng.normal(size=c), rng.normal(size=c), rng.normal(size=(n, c))
    layer = _fresh_pass(ctx, x, gamma, beta, dy)
    dx, _, _ = layer.grads
    var = x.var(axis=0)
    sd = np.sqrt(var + eps)
    xhat = (x - x.mean(axis=0)) / sd
    scale = np.abs(gamma) / sd * np.abs(dy).sum(axis=0) * _tolerance(layer.precision, 1e-10, 1e3) + 1e-300
    s1 = compare(dx.sum(axis=0), np.zeros(c), rtol=0.0, tol=scale, header="Σ_i ∂L/∂z per feature vs 0")
    predicted = gamma / sd * (dy * xhat).sum(axis=0) * eps / (var + eps)
    s2 = compare((dx * xhat).sum(axis=0), predicted, rtol=0.0, tol=scale,
                 header="Σ_i ∂L/∂z·ẑ per feature vs (γ/σ̃)·Σ(dy·ẑ)·ε/(σ²+ε)")
    for s in (s1, s2):
        if not s.ok:
            return failed(f"dx breaks an invariant of the batch-norm backward pass:\n{s}",
                          diagnosis=_diagnose_backward(dx, x, dy, gamma, eps, layer.precision, ctx.subject.layout))
    return passed("Σ_i ∂L/∂z = 0 and Σ_i ∂L/∂z·ẑ = (γ/σ̃)·Σ(dy·ẑ)·ε/(σ²+ε) ≈ 0, per feature")


# ------------------------------------------------------------------ running statistics

_FORM_TEXT = {
    "pytorch": "PyTorch's form r ← (1 − m)·r + m·stat (m weights the new statistic)",
    "keras": "Keras' form r ← m·r + (1 − m)·stat (m weights the old value)",
    "cumulative": "a cumulative average r ← r + (stat − r)/t (PyTorch's momentum=None)",
}
_VARIANCE_TEXT = {
    "unbiased": "the unbiased batch variance σ²·N/(N − 1) (PyTorch's choice)",
    "biased": "the biased batch variance σ² (Keras', TensorFlow's, CS231n's, d2l's and numpy-ml's choice)",
}
_STATS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "the batch mean": lambda x: x.mean(axis=0),
    "unbiased": lambda x: x.var(axis=0, ddof=1),
    "biased": lambda x: x.var(axis=0),
}
# What a buggy layer may feed its running variance instead (only ever named by the diagnosis).
_WRONG_VAR_STATS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "the batch standard deviation instead of the variance": lambda x: x.std(axis=0),
    "the unbiased batch standard deviation instead of the variance": lambda x: x.std(axis=0, ddof=1),
    "the batch mean instead of the variance": lambda x: x.mean(axis=0),
    "the mean of x² (not centred)": lambda x: (x * x).mean(axis=0),
}


def _weight(form: str, m: float, t: int) -> float:
    """Weight of the new statistic at the t-th training batch (t = 1, 2, …)."""
    if form == "cumulative":
        return 1.0 / t
    return m if form == "pytorch" else 1.0 - m


class _NoRunningStatistics(Exception):
    """The layer holds no running statistics after a training forward."""


_NO_RUNNING = ("after a training forward the layer holds no running statistics (no running_mean/running_var "
               "attribute, nor in bn_param): they are computed but never stored, so evaluation mode has nothing "
               "to normalise with")


def _running_after_training(layer: Any) -> tuple[np.ndarray, np.ndarray]:
    state = layer.running()
    if state is None:
        raise _NoRunningStatistics(layer.unrecognised_statistics())
    return state


def _running_after_each(layer: Any, xs: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The running statistics after a training forward of each batch in turn (one call: ``trained``)."""
    states = layer.trained(xs)
    if any(state is None for state in states):
        raise _NoRunningStatistics(layer.unrecognised_statistics())
    return states


def _needs_running(check_fn):
    """A check reading the running statistics fails, with the cause, when the layer keeps none."""

    def check(ctx: CheckContext) -> Outcome:
        try:
            return check_fn(ctx)
        except _NoRunningStatistics as exc:
            names = exc.args[0] if exc.args else []
            if names:
                return inconclusive(f"the layer keeps per-feature state named {', '.join(names)}, which may be its "
                                    "running statistics under names the protocol does not know (running_mean/"
                                    "running_var, moving_mean/moving_var or moving_variance, avg_mean/avg_var, "
                                    "pop_mean/pop_var): expose them under one of those names to have them checked")
            return failed("the layer has no running statistics after a training forward",
                          diagnosis=f"no running statistics: {_NO_RUNNING}")

    check.__name__ = check_fn.__name__
    return check


@dataclasses.dataclass
class _Trace:
    """Running statistics of one layer over training batches, read after every forward."""

    start: tuple[np.ndarray, np.ndarray] | None   # after construction; None: created at the first forward
    xs: list[np.ndarray]
    states: list[tuple[np.ndarray, np.ndarray]]
    precision: float
    layout: Any = None                           # how the batches reached a layer that takes only 4-D ones

    def tol(self, q: int, t: int, prev: np.ndarray, w: float, stat: np.ndarray) -> np.ndarray:
        """Rounding bound of the t-th update of quantity q (0 mean, 1 variance) at the layer's precision."""
        x_scale = np.abs(self.xs[t - 1]).max(axis=0) ** (q + 1)
        return 64 * self.precision * (np.abs((1 - w) * prev) + np.abs(w * stat) + w * x_scale) + 1e-300


def _trace(ctx: CheckContext, salt: str = "running", momentum: float | None = None, steps: int = STEPS,
           n: int = 8) -> tuple[_Trace, Any]:
    c = TRUE_MEAN.size
    rng = ctx.rng(salt)
    layer = _layer(ctx, c, momentum=momentum)
    start = layer.running()
    xs = [TRUE_MEAN + TRUE_SD * rng.normal(size=(n, c)) for _ in range(steps)]
    states = _running_after_each(layer, xs)
    return _Trace(start, xs, states, layer.precision, ctx.subject.layout), layer


def _update_fits(tr: _Trace, q: int, stat: Callable, w_at: Callable[[int], float], start: np.ndarray | None,
                 first: int = 1) -> tuple[bool, Any]:
    """Whether every update from batch ``first`` on is r_t = (1 − w_t)·r_{t−1} + w_t·stat(x_t), each from the
    layer's own previous state (``start`` before the first); the failing comparison if not."""
    for t in range(first, len(tr.xs) + 1):
        prev = start if t == 1 else tr.states[t - 2][q]
        if prev is None:
            continue
        w, value = w_at(t), stat(tr.xs[t - 1])
        want = (1 - w) * prev + w * value
        got = tr.states[t - 1][q]
        cmp = compare(got, want, rtol=0.0, tol=tr.tol(q, t, prev, w, value),
                      header=f"running {'mean' if q == 0 else 'variance'} after batch {t}: ACTUAL (target) vs "
                             f"DESIRED")
        if not cmp.ok:
            return False, (t, cmp)
    return True, None


def _inferred_start(tr: _Trace, q: int, stat: Callable, w1: float) -> np.ndarray | None:
    """The start r₀ that makes the first update r₁ = (1 − w)·r₀ + w·stat (None if the update forgets it)."""
    if w1 >= 1.0:
        return None
    return (tr.states[0][q] - w1 * stat(tr.xs[0])) / (1.0 - w1)


def _describe(values: np.ndarray | None) -> str:
    if values is None:
        return "(forgotten at the first update)"
    for const in (0.0, 1.0):
        if np.allclose(values, const, rtol=0, atol=1e-9):
            return fmt(const)
    return "[" + ", ".join(fmt(v, 4) for v in values) + "]"


def _start_values(ctx: CheckContext, tr: _Trace) -> tuple[tuple | None, str]:
    """The start the updates must begin from, and where it comes from (read, declared, or unknown: lazy)."""
    declared = ctx.params["running_start"]
    if declared != "auto":
        mean, var = (float(v) for v in declared.split(","))
        c = TRUE_MEAN.size
        return (np.full(c, mean), np.full(c, var)), f"the declared start ({declared})"
    if tr.start is not None:
        return tr.start, "read from the layer after construction"
    return None, "created by the layer at its first training call"


def _estimators(ctx: CheckContext) -> list[str]:
    v = ctx.params["running_variance"]
    return ["unbiased", "biased"] if v == "either" else [v]


def _expected_fit(ctx: CheckContext, tr: _Trace, form: str, m: float) -> tuple[bool, dict[str, Any]]:
    """Does the layer follow the expected form with momentum m (any allowed estimator, the start known or
    inferred)? Returns (ok, facts) — facts name the estimator and the start, or the first mismatch."""
    w_at = lambda t: _weight(form, m, t)  # noqa: E731
    start, start_how = _start_values(ctx, tr)
    facts: dict[str, Any] = {"start_how": start_how}
    if start is not None and tr.start is not None and ctx.params["running_start"] != "auto":
        for q, name in ((0, "mean"), (1, "variance")):
            if not np.allclose(tr.start[q], start[q], rtol=0, atol=1e-12):
                facts["mismatch"] = (f"the layer's running {name} starts at {_describe(tr.start[q])} (read after "
                                     f"construction), not at the declared {_describe(start[q])}")
                return False, facts
    quantities = [(0, "the batch mean")] + [(1, e) for e in _estimators(ctx)]
    found: dict[int, tuple[str, np.ndarray | None]] = {}
    first_bad = None
    for q, stat_name in quantities:
        if q in found:
            continue
        stat = _STATS[stat_name]
        r0 = start[q] if start is not None else _inferred_start(tr, q, stat, w_at(1))
        ok, bad = _update_fits(tr, q, stat, w_at, r0, first=1)
        if ok:
            found[q] = (stat_name, r0)
        elif first_bad is None or bad[0] < first_bad[0]:
            first_bad = bad
    if len(found) == 2:
        facts.update(estimator=found[1][0], start=(found[0][1], found[1][1]))
        return True, facts
    facts["first_bad"] = first_bad
    return False, facts


def _fitted_weight(tr: _Trace, q: int, stat: Callable) -> float | None:
    """Least-squares constant weight w of r_t = (1 − w)·r_{t−1} + w·stat over batches 2…T."""
    num = den = 0.0
    for t in range(2, len(tr.xs) + 1):
        prev = tr.states[t - 2][q]
        d_stat = stat(tr.xs[t - 1]) - prev
        num += float(np.sum((tr.states[t - 1][q] - prev) * d_stat))
        den += float(np.sum(d_stat * d_stat))
    return num / den if den > 0 else None


def _identify(tr: _Trace, m: float) -> dict[int, tuple[str, str, float | None]]:
    """For the mean and the variance separately: the update rule and statistic that fit every update from
    batch 2 on, as (rule text, statistic name, constant weight or None). Absent if nothing catalogued fits."""
    rules: list[tuple[str, Callable[[int], float], float | None]] = [
        (_FORM_TEXT["pytorch"].replace(" (m weights the new statistic)", "") + f" with m = {fmt(m)}",
         lambda t: m, m),
        (_FORM_TEXT["keras"].replace(" (m weights the old value)", "") + f" with m = {fmt(m)}",
         lambda t: 1.0 - m, 1.0 - m),
        (_FORM_TEXT["cumulative"], lambda t: 1.0 / t, None),
        ("the batch statistics replacing the running ones (momentum ignored)", lambda t: 1.0, 1.0),
        ("no update at all", lambda t: 0.0, 0.0),
    ]
    out: dict[int, tuple[str, str, float | None]] = {}
    schedules: dict[int, Callable[[int], float]] = {}
    for q, stats in ((0, {"the batch mean": _STATS["the batch mean"]}),
                     (1, {k: _STATS[k] for k in ("unbiased", "biased")} | _WRONG_VAR_STATS)):
        for stat_name, stat in stats.items():
            candidates = list(rules)
            w_hat = _fitted_weight(tr, q, stat)
            if w_hat is not None and 0.0 < w_hat < 1.0:
                candidates.append((f"an exponential average r ← (1 − w)·r + w·stat with its own weight "
                                   f"w = {fmt(w_hat, 6)} on the new statistic", lambda t, w=w_hat: w, w_hat))
            for text, w_at, w_const in candidates:
                if _update_fits(tr, q, stat, w_at, None, first=2)[0]:
                    out[q], schedules[q] = (text, stat_name, w_const), w_at
                    break
            if q in out:
                break
    if 1 not in out and 0 in out and out[0][2] != 0.0:
        scaled = _scaled_variance(tr, schedules[0])
        if scaled is not None:
            out[1] = (out[0][0], scaled, out[0][2])
    return out


def _scaled_variance(tr: _Trace, w_at: Callable[[int], float]) -> str | None:
    """The running variance fed c·σ² (biased σ²) with some other constant c, under the mean's update rule."""
    num = den = 0.0
    for t in range(2, len(tr.xs) + 1):
        w, v = w_at(t), tr.xs[t - 1].var(axis=0)
        fed = tr.states[t - 1][1] - (1 - w) * tr.states[t - 2][1]
        num += float(np.sum(fed * w * v))
        den += float(np.sum((w * v) ** 2))
    if not den > 0:
        return None
    c = num / den
    if not _update_fits(tr, 1, lambda x: c * x.var(axis=0), w_at, None, first=2)[0]:
        return None
    n = tr.xs[0].shape[0]
    frac = Fraction(c).limit_denominator(200)
    shown = f"{frac.numerator}/{frac.denominator} ≈ {fmt(c, 6)}" if abs(float(frac) - c) < 1e-9 * c else fmt(c, 6)
    if tr.layout is not None:
        n1, _, h, w = tr.layout.shape(n, tr.xs[0].shape[1])
        if n1 > 1 and h * w > 1 and abs(c - n1 / (n1 - 1)) <= 1e-9 * c:
            return (f"c·σ² with c = {shown} = N/(N − 1) for the batch axis alone (N = {n1} samples of {h * w} "
                    f"positions): the unbiased correction counts N, not the N·H·W = {n} values per channel, "
                    f"whose N·H·W/(N·H·W − 1) = {n}/{n - 1}")
    return (f"c·σ² with c = {shown}, a factor that is neither 1 (the biased variance) nor N/(N − 1) = "
            f"{n}/{n - 1} (the unbiased one, N = {n} values per feature)")


def _stat_text(name: str) -> str:
    return _VARIANCE_TEXT.get(name, name)


def _running_reference(ctx: CheckContext) -> Outcome:
    form = ctx.subject.convention
    tr, layer = _trace(ctx)
    m, m_how = _effective(ctx, layer, "momentum")
    figure = _running_figure(tr)
    ok, facts = _expected_fit(ctx, tr, form, m)
    rule = _FORM_TEXT[form] + ("" if form == "cumulative" else f" with m = {fmt(m)}"
                                                                  f"{'' if m_how == 'passed' else f' ({m_how})'}")
    if ok:
        start_mean, start_var = facts["start"]
        inferred = tr.start is None and ctx.params["running_start"] == "auto"
        first = [_STATS["the batch mean"](tr.xs[0]), _STATS[facts["estimator"]](tr.xs[0])]
        if inferred and all(r is not None and np.allclose(r, f, rtol=1e-9, atol=1e-12)
                            for r, f in zip((start_mean, start_var), first)):
            start_text = "they start at the first batch's own statistics"
        else:
            start_text = f"they start at mean {_describe(start_mean)}, variance {_describe(start_var)}"
        return passed(
            f"the running mean and variance follow {rule} for {STEPS} batches, the variance fed "
            f"{_stat_text(facts['estimator'])}; {start_text} ({facts['start_how']}"
            f"{'; inferred from the first update' if inferred else ''})",
            figures=[figure],
            notes=_convention_notes(facts["estimator"], start_var, start_text))
    if "mismatch" in facts:
        return failed(facts["mismatch"], diagnosis=facts["mismatch"], figures=[figure])
    found = _identify(tr, m)
    headline, diagnosis, verdict = _explain(ctx, tr, found, form, m, m_how, facts)
    t, cmp = facts["first_bad"] or (None, None)
    detail = f"\n{cmp}" if cmp is not None else ""
    if verdict == "inconclusive":
        return inconclusive(f"{headline}{detail}", figures=[figure], diagnosis=diagnosis)
    counterexample = {"batch": t, "x": tr.xs[t - 1], "momentum": m} if t else None
    return failed(f"{headline}{detail}", counterexample=counterexample, diagnosis=diagnosis, figures=[figure])


def _convention_notes(estimator: str, start_var: np.ndarray | None, start_text: str) -> list[str]:
    notes = []
    if estimator == "biased":
        notes.append("the running variance is fed the biased batch variance σ²: a convention (Keras, TensorFlow, "
                     "CS231n, d2l, numpy-ml), where PyTorch feeds σ²·N/(N − 1); --param running_variance=unbiased "
                     "requires PyTorch's")
    if start_var is not None and not np.allclose(start_var, 1.0, rtol=0, atol=1e-9):
        where = ("at the first batch's own statistics" if "first batch" in start_text
                 else f"at {_describe(start_var)}")
        notes.append(f"the running variance starts {where}, where PyTorch and Keras start at 1: a convention "
                     "(CS231n starts at 0); it only matters for the first batches' inference (--param "
                     "running_start=0,1 requires PyTorch's)")
    return notes


def _explain(ctx: CheckContext, tr: _Trace, found: dict, form: str, m: float, m_how: str,
             facts: dict) -> tuple[str, str | None, str]:
    """Headline, diagnosis and verdict ("fail" or "inconclusive") for running statistics off the expected rule."""
    expected = _FORM_TEXT[form] + ("" if form == "cumulative" else f" with m = {fmt(m)}")
    headline = f"the running statistics do not follow {expected}"
    if 0 not in found or 1 not in found:
        parts = [f"the running {'mean' if q == 0 else 'variance'} follows {found[q][0]} of "
                 f"{_stat_text(found[q][1])}" for q in found]
        known = ("; " + "; ".join(parts)) if parts else ""
        return (headline, f"no catalogued update rule fits the running "
                          f"{' or '.join(n for q, n in ((0, 'mean'), (1, 'variance')) if q not in found)}{known}",
                "fail")
    (mean_rule, _, w_mean), (var_rule, var_stat, w_var) = found[0], found[1]
    stat = _stat_text(var_stat)

    def follows(rule: str, w: float | None, what: str, fed: str | None) -> str:
        if w == 0.0:
            return f"the running {what} is never updated"
        return f"the running {what} follows {rule}" + (f", fed {fed}" if fed else "")

    if mean_rule == var_rule and w_mean != 0.0:
        diagnosis = f"the running statistics follow {mean_rule}, the variance fed {stat}"
    elif mean_rule == var_rule:
        diagnosis = "the running statistics are never updated"
    else:
        diagnosis = f"{follows(mean_rule, w_mean, 'mean', None)}; {follows(var_rule, w_var, 'variance', stat)}"
    same_weight = w_mean is not None and w_var is not None and abs(w_mean - w_var) <= 1e-9
    sound = same_weight and var_stat in ("unbiased", "biased") and 0.0 < w_mean < 1.0
    if sound and var_stat not in _estimators(ctx):
        return (headline, diagnosis + f"; the run requires {_stat_text(ctx.params['running_variance'])}", "fail")
    own = (f"the running statistics are an exponential average with the layer's own weight {fmt(w_mean, 6)} on the "
           f"new statistic (PyTorch's form with m = {fmt(w_mean, 6)}, Keras' with m = {fmt(1 - w_mean, 6)}), the "
           f"variance fed {stat}")
    if sound and m_how in ("assumed",) and form != "cumulative":
        return (f"the layer takes no momentum and has no momentum attribute, so m = {fmt(m)} was only assumed; "
                f"its running statistics are an exact exponential average with weight {fmt(w_mean, 6)} on the new "
                f"statistic. Declare the layer's momentum to check it (--param momentum="
                f"{_as_momentum(form, w_mean)})", own, "inconclusive")
    if sound and m_how == "passed" and form != "cumulative" and not _declared(ctx, "momentum"):
        other = 0.3 if abs(m - 0.3) > 1e-9 else 0.2
        probe, _ = _trace(ctx, "running-momentum-probe", momentum=other, steps=4)
        w_probe = _fitted_weight(probe, 0, _STATS["the batch mean"])
        if w_probe is not None and abs(w_probe - w_mean) <= 1e-9:
            return (f"the layer ignores the momentum it is given: m = {fmt(m)} and m = {fmt(other)} give the same "
                    f"running statistics, an exact exponential average with weight {fmt(w_mean, 6)} on the new "
                    f"statistic. Declare the layer's own momentum to check it (--param momentum="
                    f"{_as_momentum(form, w_mean)})", own, "inconclusive")
    if sound and abs(w_mean - (1.0 - m)) <= 1e-9 and form == "pytorch":
        diagnosis += "; if the layer means Keras' momentum, check it with --param convention=keras"
    elif sound and abs(w_mean - m) <= 1e-9 and form == "keras":
        diagnosis += "; if the layer means PyTorch's momentum, check it with --param convention=pytorch"
    start_note = _first_update_note(tr, found, facts)
    if start_note:
        diagnosis += f"; {start_note}"
    return headline, diagnosis, "fail"


def _as_momentum(form: str, w: float) -> str:
    """The momentum value that gives weight w on the new statistic under the run's form."""
    return f"{(w if form != 'keras' else 1.0 - w):.6g}"


def _first_update_note(tr: _Trace, found: dict, facts: dict) -> str | None:
    """When every later update fits, say what the first update started from (if the layer showed a start)."""
    if tr.start is None:
        return None
    notes = []
    for q, name in ((0, "mean"), (1, "variance")):
        _, stat_name, w = found[q]
        if w is None:
            continue
        stat = {**_STATS, **_WRONG_VAR_STATS}.get(stat_name)
        if stat is None:
            continue
        ok, _ = _update_fits(tr, q, stat, lambda t, w=w: w, tr.start[q], first=1)
        if not ok:
            r0 = _inferred_start(tr, q, stat, w)
            notes.append(f"the first update of the running {name} does not start from the {_describe(tr.start[q])} "
                         f"the layer held after construction but from {_describe(r0)}")
    return "; ".join(notes) or None


def _running_figure(tr: _Trace) -> Figure:
    steps = list(range(1, len(tr.states) + 1))
    return Figure("Running variance of feature 0 converging", "training batch", "running variance",
                  [Series("target", steps, [float(v[1][0]) for v in tr.states], "line")],
                  markers=[{"y": float(TRUE_SD[0] ** 2), "label": "true variance"}])


def _running_estimate(ctx: CheckContext) -> Outcome:
    """Over many independent features at N = 4, which estimate of σ² the running variance is fed.

    The statistic fed at the second batch is recovered from two successive
    states, whatever the start: r₂ = (1 − w)·r₁ + w·s₂, with w read off the
    running mean's update (least squares over 4000 features, exact for any
    running average). Its mean over features, divided by the true σ², is 1
    for the unbiased estimate and (N − 1)/N for the biased one (sympy).
    """
    from verify import stats, symbolic

    n, c, sigma2 = 4, 4000, 4.0
    rng = ctx.rng("unbiased")
    layer = _layer(ctx, c)
    batches = [math.sqrt(sigma2) * rng.normal(size=(n, c)) for _ in range(2)]
    (m1, r1), (m2, r2) = _running_after_each(layer, batches)
    # The weight of the new statistic, from the running mean (whose statistic, the batch mean, is known):
    # least squares of m₂ − m₁ = w·(μ₂ − m₁) over the features, exact for any running average.
    d = batches[1].mean(axis=0) - m1
    w = float(np.sum((m2 - m1) * d) / np.sum(d * d))
    if not w > 1e-12:
        return skipped(f"the running statistics keep no trace of the second batch (weight {fmt(w)}): no estimate "
                       "of σ² to test")
    fed = (r2 - (1.0 - w) * r1) / w
    ratios = fed / sigma2
    biased = float(symbolic.biased_variance_expectation().func(1.0, n))
    allowed = _estimators(ctx)
    means = {"unbiased": 1.0, "biased": biased}
    labels = {"unbiased": "unbiased (σ²·N/(N − 1))", "biased": "biased (σ²)"}
    name = f"running variance fed at batch 2 / σ² (N = {n}, {c} features)"
    first = allowed[0]
    other = "biased" if first == "unbiased" else "unbiased"
    t = stats.two_hypotheses_test(ratios, means[first], means[other], ctx.alpha,
                                  labels=(labels[first], labels[other]), name=name)
    if len(allowed) == 2 and not t.passed:
        t = stats.two_hypotheses_test(ratios, means[other], means[first], ctx.alpha,
                                      labels=(labels[other], labels[first]), name=name)
    verdict = t.details.get("verdict")
    if t.passed:
        which = verdict if verdict in labels.values() else " or ".join(labels[a] for a in allowed)
        return passed(f"the running variance is fed the {which} estimate of the variance: {t.message}",
                      stat_tests=[t])
    mean = fmt(float(np.mean(ratios)))
    if verdict in labels.values():
        diagnosis = (f"the running variance averages {mean}·σ², as the {verdict} estimate does; the run requires "
                     f"the {labels[allowed[0]]} one (--param running_variance)")
    else:
        diagnosis = (f"the running variance averages {mean}·σ², which fits neither the unbiased (1·σ²) nor the "
                     f"biased ({fmt(biased)}·σ²) estimate")
    return failed(f"the running variance is not fed the {' or the '.join(labels[a] for a in allowed)} estimate of "
                  "the variance: "
                  f"{t.message}", stat_tests=[t], diagnosis=diagnosis)


def _eval_mode(ctx: CheckContext) -> Outcome:
    eps = _eps(ctx)
    rng = ctx.rng("eval")
    c = 3
    gamma, beta = rng.normal(size=c), rng.normal(size=c)
    layer = _layer(ctx, c, gamma, beta)
    for _ in range(5):
        layer.forward(4.0 + 2.0 * rng.normal(size=(16, c)), True)
    r_mean, r_var = _running_after_training(layer)
    x = -3.0 + 0.5 * rng.normal(size=(6, c))      # far from the running statistics
    got = layer.forward(x, False)
    want = gamma * (x - r_mean) / np.sqrt(r_var + eps) + beta
    rtol = _tolerance(layer.precision, 1e-10, 1e3)
    cmp = compare(got, want, rtol=rtol, atol=1e-12,
                  header=f"forward(x, training=False): ACTUAL vs DESIRED γ (x − r_mean)/√(r_var + ε) + β, ε = {fmt(eps)}")
    if cmp.ok:
        again = layer.running()
        if again is None or not (identical(again[0], r_mean) and identical(again[1], r_var)):
            return failed("an evaluation-mode forward changed the running statistics",
                          diagnosis="evaluation mode updates the running statistics: they may only change in "
                                    "training mode")
        return passed("evaluation mode normalises with the running statistics and leaves them unchanged")
    batch = reference.batchnorm_forward(x, gamma, beta, eps)[0]
    diagnosis = ("evaluation mode normalises with the batch statistics instead of the running ones"
                 if compare(got, batch, rtol=max(rtol, 1e-8), atol=1e-12).ok else None)
    if diagnosis is None and compare(got, gamma * (x - r_mean) / (np.sqrt(r_var) + eps) + beta,
                                     rtol=max(rtol, 1e-8)).ok:
        diagnosis = "ε outside the square root in evaluation mode"
    return failed(f"evaluation mode does not use the running statistics:\n{cmp}", diagnosis=diagnosis)


def _protocol(ctx: CheckContext) -> Outcome:
    rng = ctx.rng("protocol")
    x = rng.normal(size=(5, 3))
    layer = _layer(ctx, 3)
    y1 = layer.forward(x, True)
    if y1.shape != x.shape:
        return failed(f"forward returned shape {y1.shape} for an input of shape {x.shape}")
    y2 = _layer(ctx, 3).forward(x, True)
    if not identical(y1, y2):
        return failed("two fresh layers gave different outputs for the same batch")
    if "backward" in ctx.subject.roles:
        layer.backward(rng.normal(size=(5, 3)))
    mutated = layer.inputs.failures
    if mutated:
        return failed(f"{mutated[0]}: a layer must not change the arrays it is given")
    return unless_unseen(layer.inputs, passed("forward leaves its input alone and is deterministic; outputs keep "
                                              "the input's shape"))


def _reference(params):
    conv = {"auto": "pytorch"}.get(params["convention"], params["convention"])
    return lambda num_features, eps=1e-5, momentum=0.1: reference.BatchNorm1d(num_features, eps, momentum, conv)


SPECS = {
    "batchnorm": Spec(
        name="batchnorm",
        family=Family.BATCHNORM,
        title="Batch normalisation",
        formula="ẑ = (z − μ)/√(σ² + ε) (biased σ²), y = γ ẑ + β; running statistics r ← (1 − m) r + m·stat "
                "(PyTorch; Keras' and CS231n's r ← m r + (1 − m)·stat, or a cumulative average), the running "
                "variance fed the unbiased or the biased batch variance, started where the layer starts them",
        params=(
            Param("eps", 1e-5, "ε added to the variance inside the square root", low=0.0, low_open=True),
            Param("momentum", 0.1, "running-statistics momentum m, as the layer's constructor takes it (its meaning "
                  "is the convention's)", low=0.0, high=1.0, high_closed=True),
            Param("convention", "auto", "how momentum is meant: pytorch (r ← (1−m) r + m·stat), keras "
                  "(r ← m r + (1−m)·stat), cumulative (PyTorch's momentum=None: the layer is given momentum=None) "
                  "or auto (the protocol's: keras for CS231n's batchnorm_forward, pytorch otherwise)", type=str,
                  choices=("auto", "pytorch", "keras", "cumulative"), to_target=False),
            Param("running_variance", "either", "the estimate fed to the running variance: either (reported), "
                  "unbiased (PyTorch) or biased (Keras, TensorFlow, CS231n, d2l)", type=str,
                  choices=("either", "unbiased", "biased"), to_target=False),
            Param("batch_shape", "auto", "the batches the layer takes: auto (tried: (N, C), else 4-D (N, C, H, W), "
                  "for layers written for convolutions), NC, or NCHW (each (N, C) batch of the checks given as "
                  "(N₁, C, N₂, 1) with N₁·N₂ = N, or as (N, C, 1, 1) where that does not run)", type=str,
                  choices=("auto", "NC", "NCHW"), to_target=False),
            Param("running_start", "auto", "the running statistics' start: auto (read from the layer after "
                  "construction, or inferred from the first update if it creates them lazily), or required: "
                  "0,1 (PyTorch, Keras) or 0,0 (CS231n)", type=str, choices=("auto", "0,1", "0,0"),
                  to_target=False),
        ),
        checks=(
            Check("forward-vs-reference", Kind.REFERENCE, "training-mode output equals γ (x − μ)/√(σ² + ε) + β",
                  withheld_at_float16(_eps_of_its_own(_forward))),
            Check("output-moments", Kind.SYMBOLIC, "per feature: mean β, variance γ²σ²/(σ² + ε) (sympy)",
                  withheld_at_float16(_eps_of_its_own(_moments))),
            Check("backward-vs-symbolic", Kind.SYMBOLIC, "backward equals sympy's derivation for N = 3, C = 2",
                  withheld_at_float16(_eps_of_its_own(_backward_symbolic)), ("backward",)),
            Check("backward-finite-difference", Kind.GRADIENT, "backward is the VJP of forward (check_vjp)",
                  withheld_at_float16(_backward_gradcheck), ("backward",)),
            Check("backward-invariants", Kind.PROPERTY, "Σ ∂L/∂z = 0 and Σ ∂L/∂z·ẑ ≈ 0",
                  withheld_at_float16(_eps_of_its_own(_backward_invariants)), ("backward",)),
            Check("running-statistics", Kind.REFERENCE, "running mean/variance follow the momentum convention from "
                  "the layer's own start; the estimator and the start are reported", withheld_at_float16(_needs_running(_running_reference))),
            Check("running-variance-estimate", Kind.STATISTICAL, "the running variance is fed an unbiased (or the "
                  "biased) estimate of σ² (N = 4, 4000 features)", withheld_at_float16(_needs_running(_running_estimate))),
            Check("eval-uses-running-stats", Kind.REFERENCE, "evaluation mode normalises with the running statistics",
                  withheld_at_float16(_needs_running(_eps_of_its_own(_eval_mode)))),
            Check("protocol", Kind.PROTOCOL, "no input mutation, determinism", _protocol),
        ),
        reference=_reference,
    ),
}
