"""Spec ``batchnorm``: training-mode normalisation, its backward pass, running statistics, inference.

Protocol: a class ``BN(num_features, eps=..., momentum=...)`` with ``gamma``
and ``beta`` (or ``weight``/``bias``), ``running_mean``, ``running_var``,
``forward(x, training=True)`` and ``backward(dy) -> (dx, dgamma, dbeta)``; or
any module compatible with ``torch.nn.BatchNorm1d`` (backward by autograd).

Expected values: the forward pass from its definition (Ioffe & Szegedy 2015,
Algorithm 1) through the reference; the output variance ``σ²/(σ²+ε)``, the
backward pass (N = 3, 2 features) and ``E[σ̂²] = σ²(N−1)/N`` from sympy; the
backward at larger sizes from finite differences.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

import reference
from verify.compare import compare
from verify.compare import format_number as fmt
from verify.results import Figure, Series
from verify.specs._common import differential
from verify.specs.base import Check, CheckContext, Family, Kind, Outcome, Param, Spec, failed, inconclusive, passed

__all__ = ["SPECS"]

# Normalisation is a handful of operations per entry, but x − μ cancels when
# |μ| ≫ σ; tolerances scale with |x − μ| + |μ| in units of σ̃ (see _tol).
ULPS = 256 * np.finfo(np.float64).eps


def _tol(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """Rounding bound for y = γ (x − μ)/√(σ² + ε) + β, entry by entry."""
    mu = x.mean(axis=0)
    sd = np.sqrt(x.var(axis=0) + eps)
    return ULPS * (np.abs(gamma) * (np.abs(x) + np.abs(mu)) / sd + np.abs(beta) + np.abs(gamma))


def _layer(ctx: CheckContext, c: int, gamma: np.ndarray | None = None, beta: np.ndarray | None = None):
    layer = ctx.subject.new(c, ctx.params["eps"], ctx.params["momentum"])
    if gamma is not None:
        layer.set_affine(gamma, beta)
    return layer


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
        "the statistics are taken over the features instead of the batch":
            gamma * (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + eps) + beta,
    }


def _diagnose_forward(got: np.ndarray, ex: dict, eps: float) -> str | None:
    for text, value in _forward_candidates(ex["x"], ex["gamma"], ex["beta"], eps).items():
        if value.shape == got.shape and compare(got, value, rtol=1e-8, atol=1e-12).ok:
            return f"the output matches a batch norm where {text}"
    return None


def _forward(ctx: CheckContext) -> Outcome:
    eps = ctx.params["eps"]

    def actual(ex):
        return _layer(ctx, ex["x"].shape[1], ex["gamma"], ex["beta"]).forward(ex["x"], True)

    def desired(ex):
        return reference.batchnorm_forward(ex["x"], ex["gamma"], ex["beta"], eps)[0]

    return differential(ctx, _batches(), actual, desired, what="forward(x, training=True)",
                        source="y = γ (x − μ)/√(σ² + ε) + β with the biased batch variance", rtol=0.0,
                        tol=lambda ex, want: _tol(ex["x"], ex["gamma"], ex["beta"], eps),
                        diagnose=lambda got, want, ex: _diagnose_forward(got, ex, eps))


def _moments(ctx: CheckContext) -> Outcome:
    """Per feature, the output has mean β and variance γ²σ²/(σ² + ε) (sympy), exactly to rounding."""
    from verify import symbolic

    d = symbolic.batchnorm_output_variance()
    eps = ctx.params["eps"]
    rng = ctx.rng("moments")
    worst = 0.0
    # Feature variances from far above ε down to ε/4, where ε's place in the formula matters.
    for scale in (10.0, 1.0, math.sqrt(eps), 0.5 * math.sqrt(eps)):
        n, c = 64, 3
        x = 5.0 + scale * rng.normal(size=(n, c))
        gamma, beta = rng.normal(size=c), rng.normal(size=c)
        y = _layer(ctx, c, gamma, beta).forward(x, True)
        var = x.var(axis=0)
        want_var = gamma ** 2 * np.asarray(d.func(var, eps), dtype=np.float64)
        got_mean, got_var = y.mean(axis=0), y.var(axis=0)
        tol = 1e-9 * (np.abs(gamma) + np.abs(beta))
        mean_ok = compare(got_mean, beta, rtol=0.0, tol=tol, header="per-feature output mean vs β")
        var_ok = compare(got_var, want_var, rtol=1e-8, atol=1e-300,
                         header=f"per-feature output variance vs γ²·({d.statement.split('=')[-1].strip()})")
        for c_ok in (mean_ok, var_ok):
            if not c_ok.ok:
                return failed(f"the training-mode output does not have the moments of a batch norm "
                              f"(feature std {fmt(scale)}, ε = {fmt(eps)}):\n{c_ok}",
                              counterexample={"x": x, "gamma": gamma, "beta": beta},
                              diagnosis=_diagnose_forward(y, {"x": x, "gamma": gamma, "beta": beta}, eps))
        worst = max(worst, var_ok.max_rel)
    return passed(f"per feature, the output has mean β and variance γ²σ²/(σ² + ε) (derived by sympy), "
                  f"down to feature variances below ε (max relative difference {fmt(worst)})")


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


def _diagnose_backward(got: np.ndarray, x: np.ndarray, dy: np.ndarray, gamma: np.ndarray, eps: float) -> str | None:
    for text, value in _backward_candidates(dy, x, gamma, eps).items():
        if compare(got, value, rtol=1e-7, atol=1e-12).ok:
            return f"dx matches a backward pass where {text}"
    return None


def _backward_symbolic(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d = symbolic.batchnorm_backward()
    eps = ctx.params["eps"]

    @st.composite
    def examples(draw):
        seed = draw(st.integers(0, 2**32 - 1))
        log_scale = draw(st.floats(-2, 2))
        rng = np.random.default_rng(seed)
        return {"x": 10.0 ** log_scale * rng.normal(size=(3, 2)), "gamma": rng.normal(size=2),
                "beta": rng.normal(size=2), "dy": rng.normal(size=(3, 2))}

    def run(ex):
        layer = _layer(ctx, 2, ex["gamma"], ex["beta"])
        layer.forward(ex["x"], True)
        return layer.backward(ex["dy"])

    def want(ex):
        return d.func(ex["x"], ex["gamma"], ex["beta"], eps, ex["dy"])

    def scale(ex):
        sd = np.sqrt(ex["x"].var(axis=0) + eps)
        return ULPS * 16 * (np.abs(ex["gamma"]) / sd * np.abs(ex["dy"]).sum(axis=0) + np.abs(ex["dy"]).sum(axis=0))

    outcome = differential(ctx, examples(), lambda ex: run(ex)[0], lambda ex: want(ex)[0],
                           what="backward(dy)[0] (dx) for N = 3, C = 2", source=f"sympy: {d.statement}", rtol=1e-9,
                           tol=lambda ex, w: scale(ex),
                           diagnose=lambda got, w, ex: _diagnose_backward(got, ex["x"], ex["dy"], ex["gamma"], eps))
    if outcome.status.value != "pass":
        return outcome
    parts = differential(ctx, examples(), lambda ex: np.concatenate(run(ex)[1:]),
                         lambda ex: np.concatenate(want(ex)[1:]),
                         what="backward(dy)[1:] (dgamma, dbeta) for N = 3, C = 2",
                         source="sympy: ∂L/∂γ = Σ dy·ẑ, ∂L/∂β = Σ dy", rtol=1e-9,
                         tol=lambda ex, w: np.tile(scale(ex), 2))
    if parts.status.value != "pass":
        return parts
    return passed(f"backward(dy) equals the backward pass derived by sympy for N = 3, C = 2 "
                  f"({outcome.metrics.get('examples', 0)} drawn batches)", metrics=outcome.metrics)


def _backward_gradcheck(ctx: CheckContext) -> Outcome:
    from verify.gradcheck import check_vjp, error_vs_step

    rng = ctx.rng("gradcheck")
    n, c = 16, 5
    x = 3.0 + 2.0 * rng.normal(size=(n, c))
    gamma, beta = rng.normal(size=c), rng.normal(size=c)

    def forward_x(v):
        return _layer(ctx, c, gamma, beta).forward(v.reshape(n, c), True)

    def vjp_x(v, dy):
        layer = _layer(ctx, c, gamma, beta)
        layer.forward(v.reshape(n, c), True)
        return layer.backward(dy)[0].reshape(v.shape)

    def forward_affine(p):
        return _layer(ctx, c, p[:c], p[c:]).forward(x, True)

    def vjp_affine(p, dy):
        layer = _layer(ctx, c, p[:c], p[c:])
        layer.forward(x, True)
        _, dg, db = layer.backward(dy)
        return np.concatenate([dg, db])

    seed = ctx.int_seed("probes")
    dy = ctx.rng("v-curve").normal(size=(n, c))
    figure = error_vs_step(lambda v: float(np.sum(dy * forward_x(v))), lambda v: vjp_x(v, dy),
                           x.ravel(), seed=seed).figure("Finite-difference error of ⟨dy, forward(x)⟩ against step size")
    results = [("dx", check_vjp(forward_x, vjp_x, x.ravel(), seed=seed)),
               ("(dgamma, dbeta)", check_vjp(forward_affine, vjp_affine, np.concatenate([gamma, beta]), seed=seed))]
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
    return passed(f"backward(dy) is the vector-Jacobian product of forward for x, γ and β by finite differences "
                  f"(N = {n}, C = {c}; max relative error {fmt(worst)}, {evals} evaluations)",
                  metrics={"max_rel_error": worst, "function_evals": evals}, figures=[figure])


def _backward_invariants(ctx: CheckContext) -> Outcome:
    """Σ_i ∂L/∂z = 0 and Σ_i ∂L/∂z·ẑ = (γ/σ̃)·Σ(dy·ẑ)·ε/(σ²+ε) ≈ 0."""
    eps = ctx.params["eps"]
    rng = ctx.rng("invariants")
    n, c = 32, 4
    x = 1.0 + 3.0 * rng.normal(size=(n, c))
    gamma, beta, dy = rng.normal(size=c), rng.normal(size=c), rng.normal(size=(n, c))
    layer = _layer(ctx, c, gamma, beta)
    layer.forward(x, True)
    dx, _, _ = layer.backward(dy)
    var = x.var(axis=0)
    sd = np.sqrt(var + eps)
    xhat = (x - x.mean(axis=0)) / sd
    scale = np.abs(gamma) / sd * np.abs(dy).sum(axis=0) * 1e-10 + 1e-300
    s1 = compare(dx.sum(axis=0), np.zeros(c), rtol=0.0, tol=scale, header="Σ_i ∂L/∂z per feature vs 0")
    predicted = gamma / sd * (dy * xhat).sum(axis=0) * eps / (var + eps)
    s2 = compare((dx * xhat).sum(axis=0), predicted, rtol=0.0, tol=scale,
                 header="Σ_i ∂L/∂z·ẑ per feature vs (γ/σ̃)·Σ(dy·ẑ)·ε/(σ²+ε)")
    for s in (s1, s2):
        if not s.ok:
            return failed(f"dx breaks an invariant of the batch-norm backward pass:\n{s}",
                          diagnosis=_diagnose_backward(dx, x, dy, gamma, eps))
    return passed("Σ_i ∂L/∂z = 0 and Σ_i ∂L/∂z·ẑ = (γ/σ̃)·Σ(dy·ẑ)·ε/(σ²+ε) ≈ 0, per feature")


def _convention(ctx: CheckContext) -> str:
    return ctx.params["convention"]


def _running_diagnosis(got_mean, got_var, x, m) -> str | None:
    """Name the running-statistics convention the target follows after one batch from (0, 1)."""
    n = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    forms = {"PyTorch's momentum form r ← (1 − m)·r + m·stat": (m, 1 - m),
             "Keras' momentum form r ← m·r + (1 − m)·stat": (1 - m, m)}
    variances = {"the unbiased batch variance σ²·N/(N − 1)": var * n / (n - 1), "the biased batch variance σ²": var}
    candidates = {f"{f} with {v}": (w * mu, keep + w * value)
                  for f, (w, keep) in forms.items() for v, value in variances.items()}
    candidates["the batch statistics replacing the running ones (momentum ignored)"] = (mu, var * n / (n - 1))
    candidates["running statistics that are never updated"] = (np.zeros_like(mu), np.ones_like(var))
    for text, (cm, cv) in candidates.items():
        if compare(got_mean, cm, rtol=1e-9, atol=1e-12).ok and compare(got_var, cv, rtol=1e-9, atol=1e-12).ok:
            return f"the running statistics match {text}"
    return None


def _running_reference(ctx: CheckContext) -> Outcome:
    m, conv = ctx.params["momentum"], _convention(ctx)
    rng = ctx.rng("running")
    c, n, steps = 3, 8, 40
    true_mean, true_sd = np.array([2.0, -1.0, 0.5]), np.array([3.0, 0.5, 1.0])
    layer = _layer(ctx, c)
    stats = reference.init_running_stats(c)
    got_curve, want_curve = [], []
    for t in range(steps):
        x = true_mean + true_sd * rng.normal(size=(n, c))
        layer.forward(x, True)
        stats = reference.update_running_stats(stats, x, m, conv)
        got_mean, got_var = layer.running()
        got_curve.append(got_var)
        want_curve.append(stats.var)
        for name, got, want in (("running mean", got_mean, stats.mean), ("running variance", got_var, stats.var)):
            cmp = compare(got, want, rtol=1e-10, atol=1e-14,
                          header=f"{name} after batch {t + 1}: ACTUAL (target) vs DESIRED ({conv} convention, m = {fmt(m)})")
            if not cmp.ok:
                return failed(f"the {name} does not follow the {conv} convention after batch {t + 1}:\n{cmp}",
                              counterexample={"batch": t + 1, "x": x, "momentum": m},
                              diagnosis=_running_diagnosis(got_mean, got_var, x, m) if t == 0 else None,
                              figures=[_running_figure(got_curve, want_curve, true_sd ** 2)])
    return passed(f"the running mean and variance follow the {conv} convention for {steps} batches (m = {fmt(m)})",
                  figures=[_running_figure(got_curve, want_curve, true_sd ** 2)])


def _running_figure(got: list, want: list, true_var: np.ndarray) -> Figure:
    steps = list(range(1, len(got) + 1))
    return Figure("Running variance of feature 0 converging", "training batch", "running variance",
                  [Series("target", steps, [float(v[0]) for v in got], "line"),
                   Series("reference", steps, [float(v[0]) for v in want], "dashed")],
                  markers=[{"y": float(true_var[0]), "label": "true variance"}])


def _running_unbiased(ctx: CheckContext) -> Outcome:
    """Over many independent features at N = 4, the running variance is the unbiased estimate."""
    from verify import stats, symbolic

    m, conv = ctx.params["momentum"], _convention(ctx)
    if not 0 < m < 1:
        from verify.specs.base import skipped
        return skipped(f"momentum {m} leaves no trace of the batch variance in the running variance")
    n, c, sigma2 = 4, 4000, 4.0
    x = math.sqrt(sigma2) * ctx.rng("unbiased").normal(size=(n, c))
    layer = _layer(ctx, c)
    layer.forward(x, True)
    _, running_var = layer.running()
    # One update from r = 1: pytorch r = (1 − m) + m·v, keras r = m + (1 − m)·v. Recover v/σ².
    weight, start = (m, 1 - m) if conv == "pytorch" else (1 - m, m)
    ratios = (running_var - start) / (weight * sigma2)
    # E[biased σ̂²] = σ²(N−1)/N (sympy); the unbiased estimate σ̂²·N/(N−1) averages σ².
    biased = float(symbolic.biased_variance_expectation().func(1.0, n))
    expected, alternative = (1.0, biased) if conv == "pytorch" else (biased, 1.0)
    labels = ("unbiased σ²·N/(N − 1)", "biased σ²") if conv == "pytorch" else ("biased σ²", "unbiased σ²·N/(N − 1)")
    t = stats.two_hypotheses_test(ratios, expected, alternative, ctx.alpha, labels=labels,
                                  name=f"running variance / σ² after one batch of N = {n} ({c} features)")
    d = t.to_dict()
    if not t.passed:
        mean = fmt(float(np.mean(ratios)))
        diagnosis = (f"the running variance averages {mean}·σ², as the {labels[1]} estimate does "
                     f"(expected {fmt(expected)}·σ²)" if t.details.get("verdict") == labels[1] else
                     f"the running variance averages {mean}·σ², which fits neither the unbiased (1·σ²) nor the "
                     f"biased ({fmt(biased)}·σ²) estimate: look at the momentum convention")
        return failed(f"the running variance is not the {labels[0]} estimate: {t.message}", stat_tests=[d],
                      diagnosis=diagnosis)
    return passed(f"the running variance uses the {labels[0]} batch variance: {t.message}", stat_tests=[d])


def _eval_mode(ctx: CheckContext) -> Outcome:
    eps = ctx.params["eps"]
    rng = ctx.rng("eval")
    c = 3
    gamma, beta = rng.normal(size=c), rng.normal(size=c)
    layer = _layer(ctx, c, gamma, beta)
    for _ in range(5):
        layer.forward(4.0 + 2.0 * rng.normal(size=(16, c)), True)
    r_mean, r_var = layer.running()
    x = -3.0 + 0.5 * rng.normal(size=(6, c))      # far from the running statistics
    got = layer.forward(x, False)
    want = gamma * (x - r_mean) / np.sqrt(r_var + eps) + beta
    cmp = compare(got, want, rtol=1e-10, atol=1e-12,
                  header="forward(x, training=False): ACTUAL vs DESIRED γ (x − r_mean)/√(r_var + ε) + β")
    if cmp.ok:
        again = layer.running()
        if not (np.array_equal(again[0], r_mean) and np.array_equal(again[1], r_var)):
            return failed("an evaluation-mode forward changed the running statistics")
        return passed("evaluation mode normalises with the running statistics and leaves them unchanged")
    batch = reference.batchnorm_forward(x, gamma, beta, eps)[0]
    diagnosis = ("evaluation mode normalises with the batch statistics instead of the running ones"
                 if compare(got, batch, rtol=1e-8, atol=1e-12).ok else None)
    if diagnosis is None and compare(got, gamma * (x - r_mean) / (np.sqrt(r_var) + eps) + beta, rtol=1e-8).ok:
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
    if not np.array_equal(y1, y2):
        return failed("two fresh layers gave different outputs for the same batch")
    if "backward" in ctx.subject.roles:
        layer.backward(rng.normal(size=(5, 3)))
    mutated = getattr(layer, "mutations", [])
    if mutated:
        return failed(f"{mutated[0]}: a layer must not change the arrays it is given")
    return passed("forward leaves its input alone and is deterministic; outputs keep the input's shape")


def _reference(params):
    conv = params["convention"]
    return lambda num_features, eps=1e-5, momentum=0.1: reference.BatchNorm1d(num_features, eps, momentum, conv)


SPECS = {
    "batchnorm": Spec(
        name="batchnorm",
        family=Family.BATCHNORM,
        title="Batch normalisation",
        formula="ẑ = (z − μ)/√(σ² + ε) (biased σ²), y = γ ẑ + β; r ← (1 − m) r + m·stat, unbiased running variance",
        params=(
            Param("eps", 1e-5, "ε added to the variance inside the square root", low=0.0, low_open=True),
            Param("momentum", 0.1, "running-statistics momentum m (PyTorch sense; Keras' 0.99 is 0.01 here "
                  "unless convention=keras)", low=0.0, high=1.0, high_closed=True),
            Param("convention", "pytorch", "running statistics: pytorch (r ← (1−m) r + m·stat, unbiased variance) "
                  "or keras (r ← m r + (1−m)·stat, biased)", type=str, choices=("pytorch", "keras"), to_target=False),
        ),
        checks=(
            Check("forward-vs-reference", Kind.REFERENCE, "training-mode output equals γ (x − μ)/√(σ² + ε) + β", _forward),
            Check("output-moments", Kind.SYMBOLIC, "per feature: mean β, variance γ²σ²/(σ² + ε) (sympy)", _moments),
            Check("backward-vs-symbolic", Kind.SYMBOLIC, "backward equals sympy's derivation for N = 3, C = 2", _backward_symbolic, ("backward",)),
            Check("backward-finite-difference", Kind.GRADIENT, "backward is the VJP of forward (check_vjp)", _backward_gradcheck, ("backward",)),
            Check("backward-invariants", Kind.PROPERTY, "Σ ∂L/∂z = 0 and Σ ∂L/∂z·ẑ ≈ 0", _backward_invariants, ("backward",)),
            Check("running-statistics", Kind.REFERENCE, "running mean/variance follow the momentum convention", _running_reference),
            Check("running-variance-unbiased", Kind.STATISTICAL, "the running variance is the unbiased estimate (N = 4)", _running_unbiased),
            Check("eval-uses-running-stats", Kind.REFERENCE, "evaluation mode normalises with the running statistics", _eval_mode),
            Check("protocol", Kind.PROTOCOL, "no input mutation, determinism", _protocol),
        ),
        reference=_reference,
    ),
}
