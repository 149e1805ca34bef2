"""Gradient clipping by the global norm: spec ``grad-clip-norm`` (reference: ``reference.clip_by_global_norm``).

Protocol (clipping): ``clip(grads, max_norm)`` with ``grads`` a list of arrays of any shapes (see
:mod:`verify.adapters.protocol.clipping`; ``torch.nn.utils.clip_grad_norm_`` and ``optax.clip_by_global_norm``
plug in directly). ``n = √(Σ_i ‖g_i‖²)`` over every tensor together; two published conventions:

* ``pytorch``: ``g_i ← g_i·min(max_norm/(n + 1e-6), 1)`` (``clip_grad_norm_``; returns ``n``);
* ``optax``: ``g_i`` unchanged if ``n < max_norm``, else ``g_i·max_norm/n`` (the paper, optax, Keras'
  ``global_clipnorm``).

``convention=any`` (the default for code that states none) passes a target that follows either, all along, and
says which; ``--param convention=pytorch|optax`` checks one. Checks: conformance against the reference on
drawn gradients and thresholds (below, at and above the norm) within the running error bound of
:mod:`verify.tolerance`, with a diagnosis naming per-tensor clipping and the other usual slips; the norm after
clipping, the direction, the returned total norm; zero gradients and a threshold equal to the norm.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Sequence

import numpy as np

import reference
from reference._src.clipping import TORCH_CLIP_EPS
from verify import tolerance as tolmod
from verify.compare import compare, format_number
from verify.params import Param
from verify.specs.base import Check, CheckContext, Family, Kind, Outcome, Spec, failed, inconclusive, passed, skipped

__all__ = ["SPECS", "VARIANTS", "CONVENTIONS"]

fmt = format_number
CONVENTIONS = ("any", "pytorch", "optax")

#: What the checks import inside functions (see verify.specs.modules_needed).
PRELOAD = ()


# ------------------------------------------------------------------ reference and model


def _reference(grads: Sequence[np.ndarray], max_norm: float, convention: str) -> tuple[list[np.ndarray], float]:
    return reference.clip_by_global_norm(grads, max_norm, convention=convention)


def _bounded(grads: Sequence[np.ndarray], max_norm: float, convention: str) -> tuple[list[np.ndarray], list[np.ndarray],
                                                                                      float, float]:
    """The reference's clipped gradients and norm with their running error bounds (:class:`verify.tolerance.Tracked`)."""
    T = tolmod.Tracked
    previous = dict(tolmod._RUN)
    tolmod._RUN.update(undecided=False)
    try:
        clipped, _ = reference.clip_by_global_norm([T(g) for g in grads], T(max_norm), convention=convention)
        n = reference.global_norm([T(g) for g in grads])
        undecided = tolmod._RUN["undecided"]
    finally:
        tolmod._RUN.update(previous)
    clipped = [c if isinstance(c, T) else T(c) for c in clipped]
    bounds = [np.full(np.shape(c.v), np.inf) if undecided else c.e for c in clipped]
    return [c.v for c in clipped], bounds, float(n.v), float(n.e)


# ------------------------------------------------------------------ the catalogue


def _norm(g: np.ndarray) -> float:
    return float(np.sqrt(np.sum(g * g)))


def _global(grads: Sequence[np.ndarray]) -> float:
    return float(np.sqrt(sum(np.sum(g * g) for g in grads)))


def _scaled(grads: Sequence[np.ndarray], c: float) -> list[np.ndarray]:
    return [g * c for g in grads]


def _per_tensor(grads, max_norm, eps):
    return [g * min(max_norm / (_norm(g) + eps), 1.0) if eps or _norm(g) >= max_norm else g for g in grads]


def _by_norm(norm_of: Callable[[Sequence[np.ndarray]], float]):
    def clip(grads, max_norm):
        n = norm_of(grads)
        return list(grads) if n < max_norm or n == 0 else _scaled(grads, max_norm / n)

    return clip


@dataclasses.dataclass(frozen=True)
class ClipVariant:
    """A named convention or bug of gradient clipping: ``fn(grads, max_norm) -> clipped``."""

    name: str
    description: str
    fn: Callable[[Sequence[np.ndarray], float], list[np.ndarray]]
    convention: str | None = None          # a published convention (not a bug) of this name


VARIANTS: tuple[ClipVariant, ...] = (
    ClipVariant("pytorch", "PyTorch's convention, c = min(max_norm/(n + 1e-6), 1) (torch.nn.utils.clip_grad_norm_: "
                "check it with --param convention=pytorch)", lambda g, m: _reference(g, m, "pytorch")[0], "pytorch"),
    ClipVariant("optax", "optax's convention, unchanged below max_norm and g·max_norm/n above, without PyTorch's "
                "+1e-6 (the paper, optax.clip_by_global_norm, Keras' global_clipnorm: check it with "
                "--param convention=optax)", lambda g, m: _reference(g, m, "optax")[0], "optax"),
    ClipVariant("per-tensor", "clipping per tensor instead of by the global norm: each g_i·min(1, max_norm/‖g_i‖) "
                "(the global norm can reach max_norm·√k; transformers before PR #614, Keras' clipnorm by design)",
                lambda g, m: _per_tensor(g, m, 0.0)),
    ClipVariant("per-tensor-eps", "clipping per tensor with PyTorch's ε: each g_i·min(1, max_norm/(‖g_i‖ + 1e-6)) "
                "(facebookresearch/dino's clip_gradients)", lambda g, m: _per_tensor(g, m, TORCH_CLIP_EPS)),
    ClipVariant("by-value", "each entry clipped to [−max_norm, max_norm] (clipping by value, not by norm)",
                lambda g, m: [np.clip(x, -m, m) for x in g]),
    ClipVariant("max-entry-norm", "the norm taken as the largest |entry| (the ∞-norm) instead of the 2-norm",
                _by_norm(lambda gs: float(max(np.max(np.abs(g)) if g.size else 0.0 for g in gs)))),
    ClipVariant("squared-norm", "the squared norm Σ‖g_i‖² (no square root) in place of the norm",
                _by_norm(lambda gs: _global(gs) ** 2)),
    ClipVariant("inverted", "the ratio inverted: above max_norm the gradients multiplied by n/max_norm (made "
                "larger) instead of max_norm/n", lambda gs, m: (lambda n: list(gs) if n <= m else _scaled(gs, n / m))(
                    _global(gs))),
    ClipVariant("sum-of-norms", "the sum of the tensors' norms Σ‖g_i‖ instead of √(Σ‖g_i‖²)",
                _by_norm(lambda gs: sum(_norm(g) for g in gs))),
    ClipVariant("rms", "the root mean square of the entries instead of their norm", _by_norm(
        lambda gs: float(np.sqrt(sum(np.sum(g * g) for g in gs) / max(sum(g.size for g in gs), 1))))),
    ClipVariant("always-rescaled", "the gradients always rescaled to max_norm (g·max_norm/n), also below the "
                "threshold", lambda g, m: _scaled(g, m / _global(g)) if _global(g) > 0 else list(g)),
)


# ------------------------------------------------------------------ cases


@dataclasses.dataclass
class _Case:
    grads: list[np.ndarray]
    max_norm: float
    what: str


def _shapes(rng: np.random.Generator) -> list[tuple[int, ...]]:
    pool = [(3,), (2, 3), (1,), (4,), (2, 2, 2), (5,), (1, 3)]
    k = int(rng.integers(1, 5))
    return [pool[i] for i in rng.choice(len(pool), size=k, replace=False)]


def _grads(rng: np.random.Generator, kind: str) -> list[np.ndarray]:
    shapes = _shapes(rng) if kind != "two" else [(2,), (1, 2)]
    out = []
    for i, s in enumerate(shapes):
        g = rng.normal(size=s)
        if kind == "mixed-scales":
            g = g * 10.0 ** rng.uniform(-6, 6)
        elif kind == "sparse":
            g = np.where(rng.random(size=s) < 0.5, 0.0, g)
        elif kind == "one-dominates" and i == 0:
            g = g * 1e4
        out.append(g)
    return out


#: How far the threshold sits from the norm: clipped hard, mildly, at a hair's breadth, exactly, not at all.
_RATIOS = (0.01, 0.5, 0.999, 1 - 1e-9, 1.0, 1 + 1e-9, 1.001, 2.0, 100.0)


def _cases(ctx: CheckContext, count: int) -> list[_Case]:
    """Gradients and thresholds: max_norm = ratio·n, or, when max_norm is held, the gradients scaled to n = max_norm/ratio."""
    rng = ctx.rng("cases")
    held = "max_norm" in ctx.held
    cases = []
    kinds = ("gaussian", "mixed-scales", "sparse", "one-dominates", "two")
    for i in range(count):
        kind = kinds[i % len(kinds)]
        scale = float(10.0 ** rng.uniform(-3, 3))
        grads = [g * scale for g in _grads(rng, kind)]
        ratio = _RATIOS[i % len(_RATIOS)]
        n = _global(grads)
        if n == 0:
            continue
        if held:
            m = float(ctx.params["max_norm"])
            grads = [g * (m / ratio / n) for g in grads]
        else:
            m = n if ratio == 1.0 else float(ratio * n)
        cases.append(_Case(grads, m, f"{kind} gradients ({len(grads)} tensors), max_norm = {fmt(ratio)}·n"))
    return cases


def _conventions(ctx: CheckContext) -> tuple[str, ...]:
    c = ctx.params.get("convention", "any")
    return ("pytorch", "optax") if c == "any" else (c,)


def _tol(bounds: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [tolmod.SAFETY * b for b in bounds]


def _differs(got: Sequence[np.ndarray], want: Sequence[np.ndarray], tol: Sequence[np.ndarray]) -> float:
    """The largest |difference|/tolerance (inf where NaN or inf differ); ≤ 1 agrees."""
    worst = 0.0
    for a, b, t in zip(got, want, tol):
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            return np.inf
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        with np.errstate(invalid="ignore"):
            d = np.where(same, 0.0, np.abs(a - b))
            r = np.where(d > 0, d / np.where(t > 0, t, 1e-300), 0.0)
        worst = max(worst, float(np.max(r, initial=0.0)) if np.all(np.isfinite(d) | same) else np.inf)
    return worst


def _diagnose(runs: list[tuple[_Case, list[np.ndarray], list[np.ndarray]]], held: str) -> str:
    """The catalogue entry the target matches on every case (within the reference's tolerance, widened by the
    variant's own rounding), or why none fits."""
    scored = []
    for v in VARIANTS:
        if v.convention is not None and v.convention == held:
            continue
        worst = 0.0
        for case, got, tol in runs:
            try:
                want = v.fn([g.copy() for g in case.grads], case.max_norm)
            except Exception:  # noqa: BLE001 - a variant undefined here does not match
                worst = np.inf
                break
            own = [t + 8 * tolmod.U * np.abs(w) * (len(case.grads) + 4) for t, w in zip(tol, want)]
            worst = max(worst, _differs(got, want, own))
        scored.append((worst, v))
    scored.sort(key=lambda x: x[0])
    matches = [v for w, v in scored if w <= 1.0]
    if matches:
        kind = "a published convention" if matches[0].convention else "a known bug"
        return f"matches {matches[0].description} ({kind})" + "".join(
            f"; also consistent with {m.description}" for m in matches[1:2])
    w, v = scored[0]
    return ("No catalogued bug fits" + (f"; the closest is {v.description} at {fmt(w)} × the tolerance (not a match)"
                                        if np.isfinite(w) else ""))


# ------------------------------------------------------------------ checks


def _unless_assumed(check: Callable[[CheckContext], Outcome]) -> Callable[[CheckContext], Outcome]:
    """A failure of a target whose max_norm was assumed (built, unreadable) is inconclusive: the threshold it
    clips at may simply be another one."""

    @functools.wraps(check)
    def run(ctx: CheckContext) -> Outcome:
        out = check(ctx)
        held = ctx.held.get("max_norm")
        if out.status.value == "fail" and held is not None and held.source == "built":
            return inconclusive(f"the target differs, but its max_norm could not be read and was assumed to be "
                                f"{fmt(held.value)}: give the value it was built with (--param max_norm=…) to decide "
                                f"({out.message.splitlines()[0]})")
        return out

    return run



def _conformance(ctx: CheckContext) -> Outcome:
    cases = _cases(ctx, max(20, min(ctx.max_examples, 90)))
    conventions = _conventions(ctx)
    outputs = []
    for case in cases:
        out = ctx.subject.clip(case.grads, case.max_norm)
        outputs.append(out)
    verdicts = {}
    for conv in conventions:
        worst, first = 0.0, None
        for case, out in zip(cases, outputs):
            want, bounds, n, ne = _bounded(case.grads, case.max_norm, conv)
            r = _differs(out.grads, want, _tol(bounds))
            if out.norm is not None:
                r = max(r, _differs([np.array(out.norm)], [np.array(n)],
                                    [np.array(tolmod.SAFETY * ne + 8 * tolmod.U * n)]))
            if r > 1 and first is None:
                first = (case, out, want, bounds, n)
            worst = max(worst, r)
        verdicts[conv] = (worst, first)
    ok = [c for c in conventions if verdicts[c][0] <= 1.0]
    if ok:
        which = ok[0] if len(ok) == 1 else " and ".join(ok)
        told = "" if len(conventions) == 1 else f" (convention any: it follows {which}'s)"
        return passed(f"the clipped gradients{' and the returned norm' if outputs[0].norm is not None else ''} equal "
                      f"the reference's ({', '.join(ok)} convention) on {len(cases)} cases{told}, thresholds from "
                      "0.01 to 100 times the norm, exactly at it and a hair either side",
                      metrics={"cases": len(cases), "max_ratio": min(verdicts[c][0] for c in ok)})
    conv = min(conventions, key=lambda c: verdicts[c][0])
    case, out, want, bounds, n = verdicts[conv][1]
    runs = []
    for c, o in zip(cases, outputs):
        w, b, _, _ = _bounded(c.grads, c.max_norm, conv)
        runs.append((c, o.grads, _tol(b)))
    held = ctx.params.get("convention", "any")
    diagnosis = _diagnose(runs, held)
    flat_got = np.concatenate([g.reshape(-1) for g in out.grads])
    flat_want = np.concatenate([g.reshape(-1) for g in want])
    flat_tol = np.concatenate([b.reshape(-1) for b in _tol(bounds)])
    c = compare(flat_got, flat_want, rtol=0.0, tol=flat_tol,
                header=f"ACTUAL = the target's clipped gradients (flattened, tensor after tensor), DESIRED = the "
                       f"reference's ({conv} convention)")
    norm_line = "" if out.norm is None else f"\nreturned total norm {fmt(out.norm, 12)}, global norm {fmt(n, 12)}"
    what = "either published convention" if len(conventions) > 1 else f"the {conv} convention"
    return failed(f"the clipped gradients differ from {what} ({case.what}){norm_line}\n{c}",
                  counterexample={"grads": [g.tolist() for g in case.grads], "max_norm": case.max_norm,
                                  "global norm": n},
                  diagnosis=diagnosis)


def _clipped_norm_case(ctx: CheckContext) -> tuple[list[np.ndarray], float]:
    rng = ctx.rng("norm")
    grads = [rng.normal(size=(3,)), rng.normal(size=(2, 2)) * 10, rng.normal(size=(1,)) * 0.1]
    n = _global(grads)
    if "max_norm" in ctx.held:
        m = float(ctx.params["max_norm"])
        return [g * (4 * m / n) for g in grads], m
    return grads, n / 4


def _norm_after(ctx: CheckContext) -> Outcome:
    grads, m = _clipped_norm_case(ctx)
    n = _global(grads)
    got = _global(ctx.subject.clip(grads, m).grads)
    want = {"pytorch": n * m / (n + TORCH_CLIP_EPS), "optax": m}
    rel = {c: abs(got - want[c]) / want[c] for c in _conventions(ctx)}
    best = min(rel, key=rel.get)
    tol = 64 * tolmod.U * (len(grads) + 8)
    if rel[best] > tol:
        wants = ", ".join(f"{fmt(want[c], 15)} ({c})" for c in rel)
        return failed(f"after clipping (n = {fmt(n, 12)} > max_norm = {fmt(m, 12)}) the global norm must be "
                      f"min(n, max_norm) (optax) or n·max_norm/(n + 1e-6) (PyTorch): it is {fmt(got, 15)}, not "
                      f"{wants} (relative difference {fmt(rel[best])})",
                      counterexample={"grads": [g.tolist() for g in grads], "max_norm": m, "global norm": n})
    below = [g * (0.5 * m / n) for g in grads]
    out = ctx.subject.clip(below, m)
    r = _differs(out.grads, below, [8 * tolmod.U * np.abs(g) for g in below])
    if r > 1:
        return failed(f"below the threshold (n = {fmt(0.5 * m, 12)} < max_norm = {fmt(m, 12)}) the gradients must be "
                      f"left unchanged; they moved by {fmt(r)} × 8 units of rounding",
                      counterexample={"grads": [g.tolist() for g in below], "max_norm": m})
    return passed(f"the global norm after clipping is {fmt(got, 15)} = {'max_norm' if best == 'optax' else 'n·max_norm/(n + 1e-6)'} "
                  f"(n = 4·max_norm), and gradients at half the threshold are left unchanged")


def _direction(ctx: CheckContext) -> Outcome:
    rng = ctx.rng("direction")
    grads = [rng.normal(size=(4,)) * 100, rng.normal(size=(2, 3)), rng.normal(size=(1,)) * 0.01]
    n = _global(grads)
    m = float(ctx.params["max_norm"]) if "max_norm" in ctx.held else n / 3
    grads = [g * (3 * m / n) for g in grads]
    out = ctx.subject.clip(grads, m).grads
    scales = [float(np.sum(c * g) / np.sum(g * g)) for c, g in zip(out, grads)]
    c0 = scales[0]
    resid = max(_differs([c], [s * g], [64 * tolmod.U * (np.abs(s * g) + abs(s) * np.abs(g))])
                for c, g, s in zip(out, grads, scales))
    spread = max(abs(s - c0) for s in scales) / abs(c0) if c0 else np.inf
    if resid > 1 or spread > 1e-12:
        per = ", ".join(f"{fmt(s, 9)}" for s in scales)
        why = (" — each tensor was scaled by its own factor: clipping per tensor, not by the global norm"
               if resid <= 1 else " — a clipped tensor is not a multiple of the one given: the direction changed")
        return failed(f"clipping must scale every tensor by one common factor c = max_norm/n; the factors per tensor "
                      f"are {per} (n = 3·max_norm, tensors of norms {', '.join(fmt(_norm(g), 6) for g in grads)}){why}",
                      counterexample={"grads": [g.tolist() for g in grads], "max_norm": m},
                      diagnosis=("clipping per tensor instead of by the global norm" if resid <= 1 else None))
    return passed(f"every tensor is scaled by one factor c = {fmt(c0, 12)} (tensors of norms differing 10⁴-fold): the "
                  "direction of the whole gradient is kept")


def _returned_norm(ctx: CheckContext) -> Outcome:
    rng = ctx.rng("returned")
    grads = [rng.normal(size=(3,)) * 5, rng.normal(size=(2, 2)), np.zeros((2,))]
    n = _global(grads)
    m = float(ctx.params["max_norm"]) if "max_norm" in ctx.held else n / 2
    out = ctx.subject.clip(grads, m)
    if out.norm is None:
        return skipped("the target returns no total norm (only the clipped gradients)")
    _, _, want, e = _bounded(grads, m, "optax")
    if abs(out.norm - want) > tolmod.SAFETY * e + 8 * tolmod.U * want:
        clipped = _global(out.grads)
        hint = (" — it is the norm after clipping" if abs(out.norm - clipped) <= 1e-12 * clipped else "")
        return failed(f"the returned total norm must be the global norm of the gradients before clipping, "
                      f"√(Σ‖g_i‖²) = {fmt(want, 15)}; it returned {fmt(out.norm, 15)}{hint}",
                      counterexample={"grads": [g.tolist() for g in grads], "max_norm": m})
    return passed(f"the returned total norm is the global norm before clipping, {fmt(want, 12)}")


def _edges(ctx: CheckContext) -> Outcome:
    m = float(ctx.params["max_norm"])
    zeros = [np.zeros((3,)), np.zeros((2, 2))]
    out = ctx.subject.clip(zeros, m)
    if any(not np.all(g == 0) for g in out.grads):
        bad = "NaN" if any(np.isnan(g).any() for g in out.grads) else "non-zero values"
        return failed(f"all-zero gradients (n = 0) must stay zero; the target gave {bad} (a 0/0: the norm divided "
                      "without a guard)", counterexample={"grads": "two all-zero tensors", "max_norm": m})
    lines = [f"all-zero gradients stay zero (max_norm = {fmt(m)})"]
    if "max_norm" not in ctx.held:
        grads = [np.array([3.0, 4.0]), np.array([[0.0, 12.0]])]         # n = 13 exactly
        out = ctx.subject.clip(grads, 13.0).grads
        want = {"optax": grads, "pytorch": _reference(grads, 13.0, "pytorch")[0]}
        ok = [c for c in _conventions(ctx)
              if _differs(out, want[c], [4 * tolmod.U * np.abs(w) for w in want[c]]) <= 1]
        if not ok:
            return failed("with max_norm equal to the norm (13, exactly) the gradients must be left unchanged (optax: "
                          "n < max_norm is false, g·13/13) or scaled by 13/(13 + 1e-6) (PyTorch); the target gave "
                          + ", ".join(str(np.round(g, 15).tolist()) for g in out),
                          counterexample={"grads": [[3.0, 4.0], [[0.0, 12.0]]], "max_norm": 13.0})
        lines.append(f"max_norm equal to the norm (13): {'unchanged' if ok[0] == 'optax' else 'scaled by 13/(13 + 1e-6)'} "
                     f"({ok[0]}'s convention)")
        mixed = [np.zeros((2,)), np.array([30.0, 40.0])]
        out = ctx.subject.clip(mixed, 5.0).grads
        if not np.all(out[0] == 0):
            return failed("a tensor whose gradient is zero must stay zero when the others are clipped",
                          counterexample={"grads": [[0.0, 0.0], [30.0, 40.0]], "max_norm": 5.0})
        lines.append("a zero tensor among clipped ones stays zero")
    return passed("; ".join(lines))


def _determinism(ctx: CheckContext) -> Outcome:
    rng = ctx.rng("determinism")
    grads = [rng.normal(size=(3,)), rng.normal(size=(2, 2))]
    m = float(ctx.params["max_norm"]) if "max_norm" in ctx.held else _global(grads) / 2
    a, b = ctx.subject.clip(grads, m), ctx.subject.clip(grads, m)
    same = all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a.grads, b.grads)) and \
        (a.norm == b.norm or (a.norm is not None and b.norm is not None and np.isnan(a.norm) and np.isnan(b.norm)))
    if not same:
        return failed("two calls with the same gradients and max_norm gave different results",
                      counterexample={"grads": [g.tolist() for g in grads], "max_norm": m})
    return passed("two calls with the same inputs give bit-identical results")


def _reference_target(params: dict[str, Any]) -> Any:
    convention = params.get("convention", "any")
    return functools.partial(reference.clip_by_global_norm, convention="pytorch" if convention == "any" else convention)


SPECS: dict[str, Spec] = {
    "grad-clip-norm": Spec(
        name="grad-clip-norm",
        family=Family.CLIPPING,
        title="Gradient clipping by the global norm (Pascanu et al. 2013; clip_grad_norm_, optax)",
        formula="n = √(Σ_i ‖g_i‖²) over every tensor; g_i ← g_i·min(max_norm/(n + 1e-6), 1) (PyTorch) or "
                "g_i·max_norm/n when n ≥ max_norm (optax, the paper)",
        params=(
            Param("max_norm", 1.0, "the threshold of the global norm (> 0)", low=0.0, low_open=True),
            Param("convention", "any", "pytorch: c = min(max_norm/(n + 1e-6), 1); optax: unchanged below max_norm, "
                  "g·max_norm/n above (the paper); any: either, the one the target follows", type=str,
                  choices=CONVENTIONS),
        ),
        checks=(
            Check("conformance", Kind.CONFORMANCE, "the clipped gradients (and a returned norm) equal the reference's "
                  "within the running error bound; diagnosis on failure", _unless_assumed(_conformance)),
            Check("norm-after-clipping", Kind.PROPERTY, "above the threshold the global norm becomes max_norm (optax) "
                  "or n·max_norm/(n + 1e-6) (PyTorch); below it nothing changes", _unless_assumed(_norm_after)),
            Check("direction-preserved", Kind.PROPERTY, "every tensor is scaled by the same factor (not per tensor)",
                  _direction),
            Check("returned-norm", Kind.PROPERTY, "a returned total norm is the global norm before clipping",
                  _returned_norm),
            Check("edge-cases", Kind.PROPERTY, "zero gradients stay zero; max_norm equal to the norm", _edges),
            Check("determinism", Kind.PROTOCOL, "the same inputs give bit-identical results", _determinism),
        ),
        reference=_reference_target,
    ),
}
