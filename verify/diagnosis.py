"""Diagnosis of a conformance failure: which named variant or common bug the target matches.

When a target's iterates part from the reference's, the diagnosis runs every
entry of the :data:`CATALOGUE` that applies to the spec on the same examples
(the counterexample and two probe streams) and compares the target's
iterates with each, within the same floating-point error model as
conformance (:mod:`verify.tolerance`, scaled to the variant's magnitudes).
It reports, in order of preference:

1. the variants that match: ``matches adam with ε inside the square root
   (max difference 3e-15)``;
2. a hyperparameter that explains the difference: ``behaves like the
   reference with b2 = 0.99 instead of 0.999`` (a 1-D search per
   hyperparameter; relations such as μ², 1 − μ, 2λ, λ/2, a hard-coded
   default are named);
3. structural findings: a one-step lag (the target's ``w_t`` is the
   reference's ``w_(t−1)``), the gradient used one step late, every step
   scaled by a constant (η: the learning rate applied twice; −1: ascent), a
   difference confined to the first step or to entries with a zero gradient,
   NaN where the reference is finite;
4. otherwise "No catalogued bug fits", with the closest variant (and the
   closest one-hyperparameter change) and its distance in units of the
   tolerance — never presented as the cause.

Nothing is named as the cause unless it matches within the tolerance on every
case. The result is a :class:`verify.evidence.Diagnosis`: its text, its kind
(a variant or bug, an equivalent parameterisation, a hyperparameter, a
structural finding, no match) and its evidence — every variant compared
(:class:`~verify.evidence.Candidate`, closest first: the named one and the
runner-up with their distances), the hyperparameter fit
(:class:`~verify.evidence.HyperparameterFit`) and the findings.

The catalogue lives with the algorithms (:mod:`verify.algorithms`, each
record's ``variants``): a published convention is the reference with its own
flags (``eps_placement``, ``form``, ``variant``, ``amsgrad``, ``centered``,
``dampening``, ``decoupled``), a bug the reference does not offer is a small
builder in the algorithm's file. Every algorithm also gets the one-step lag
of its own reference (:func:`variants_for`).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from verify import algorithms
from verify import tolerance as tolmod
from verify.algorithms import Algorithm, Variant
from verify.compare import format_number
from verify.evidence import Candidate, Diagnosis, DiagnosisKind
from verify.evidence import HyperparameterFit as Fit

__all__ = ["Variant", "Match", "Fit", "Diagnosis", "CATALOGUE", "variants_for", "run_variant", "diagnose",
           "fit_hyperparameter", "describe_catalogue"]

fmt = format_number


@dataclasses.dataclass(frozen=True)
class Match:
    """A variant run on the cases: how far it is from the target."""

    variant: Variant
    max_diff: float
    ratio: float          # max |difference| / tolerance over the examples (≤ 1: a match)

    @property
    def matched(self) -> bool:
        return self.ratio <= 1.0

    @property
    def candidate(self) -> Candidate:
        """The evidence a report keeps of it (the variant's name and description, not its builder)."""
        v = self.variant
        return Candidate(v.name, v.description, self.max_diff, self.ratio, v.equivalent)


# ----------------------------------------------------------------- catalogue


def _lagged(build: Callable[[Mapping[str, Any]], Any]) -> Callable[[Mapping[str, Any]], Any]:
    """The optimizer applies, at each call, the update it computed at the previous call (0 at the first)."""

    def make(hp):
        inner = build(hp)

        def init(params):
            return (inner.init(params), np.zeros_like(np.asarray(params, dtype=np.float64)))

        def update(g, state, params):
            st, pending = state
            new, st = inner.update(g, st, params)
            return np.asarray(params, dtype=np.float64) + pending, (st, np.asarray(new) - np.asarray(params, dtype=np.float64))

        return type(inner)(init, update)

    return make


def _hp(hp, **changes):
    out = dict(hp)
    out.update(changes)
    return out


def _lag_variant(algorithm: Algorithm) -> Variant:
    """The one-step lag of ``algorithm``'s own reference (every algorithm has it)."""
    name = algorithm.name
    return Variant(f"{name}/one-step-lag", f"a one-step lag: {name} applying each call's update one call late (the "
                   "parameters returned at step t include only the updates of steps 1 … t − 1; nothing moves at "
                   "step 1)", (name,), _lagged(algorithm.build))


def _unique(variants: Sequence[Variant]) -> tuple[Variant, ...]:
    seen: dict[int, Variant] = {}
    for v in variants:
        seen.setdefault(id(v), v)
    return tuple(seen.values())


#: Every named variant and bug of every algorithm (a variant shared by two algorithms once).
CATALOGUE: tuple[Variant, ...] = _unique([v for a in algorithms.ALGORITHMS for v in a.variants])

_LAG: tuple[Variant, ...] = tuple(_lag_variant(a) for a in algorithms.ALGORITHMS)
_LAG_OF = {id(a): v for a, v in zip(algorithms.ALGORITHMS, _LAG)}


def _algorithm(spec: Algorithm | str) -> Algorithm | None:
    return algorithms.resolve(spec)


def variants_for(spec: Algorithm | str) -> list[Variant]:
    """The variants the diagnosis tries under ``spec`` (a record or its name), in the order it prefers them."""
    algorithm = _algorithm(spec)
    if algorithm is None:
        return []
    lag = _LAG_OF.get(id(algorithm)) or _lag_variant(algorithm)
    return [*algorithm.variants, lag]


def describe_catalogue() -> str:
    """The catalogue as text, algorithm by algorithm: each variant's name and description ([equivalent]: same
    iterates)."""
    return "\n".join(
        f"{a.name}\n" + "\n".join(f"  {v.name}: {v.description}" + (" [equivalent]" if v.equivalent else "")
                                   for v in variants_for(a))
        for a in algorithms.ALGORITHMS)


# ------------------------------------------------------------------ running


def run_variant(opt: Any, w0: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """``w_0 … w_T`` of a reference-style optimizer (init/update) on a stream."""
    w = np.array(w0, dtype=np.float64)
    state = opt.init(w)
    out = [w]
    with np.errstate(all="ignore"):
        for g in grads:
            w, state = opt.update(np.array(g, dtype=np.float64), state, w)
            out.append(np.asarray(w, dtype=np.float64))
    return np.array(out)


def _magnitude(traj: np.ndarray) -> np.ndarray:
    """``Σ_(s≤t) |w_s| + |Δw_s|`` per entry: the size the error model scales with."""
    with np.errstate(invalid="ignore", over="ignore"):
        steps = np.abs(np.diff(traj, axis=0, prepend=traj[:1]))
        return np.cumsum(np.abs(traj) + steps, axis=0)


def _tolerance_for(traj: np.ndarray, ref: np.ndarray, ref_tol: np.ndarray) -> np.ndarray:
    """The reference's tolerance rescaled to another trajectory's magnitudes (same error model)."""
    mt, mr = _magnitude(traj), _magnitude(ref)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(mr > 0, mt / mr, 1.0)
    ratio = np.nan_to_num(np.maximum(ratio, 1.0), nan=1.0, posinf=1.0)
    floor = tolmod.SAFETY * 4 * tolmod.U * mt
    return np.maximum(ref_tol * ratio, np.nan_to_num(floor, posinf=np.inf))


def _distance(target: np.ndarray, other: np.ndarray, tol: np.ndarray) -> tuple[float, float]:
    """(max |difference|, max |difference|/tol) with NaN/inf positions compared."""
    if target.shape != other.shape:
        return math.inf, math.inf
    tn, on = ~np.isfinite(target), ~np.isfinite(other)
    both = tn & on & ((np.isnan(target) & np.isnan(other)) | (target == other))
    if np.any((tn | on) & ~both):
        return math.inf, math.inf
    with np.errstate(invalid="ignore"):
        d = np.where(both, 0.0, np.abs(target - other))
        r = np.where(d > 0, d / np.where(tol > 0, tol, 1e-300), 0.0)
    return float(d.max(initial=0.0)), float(r.max(initial=0.0))


@dataclasses.dataclass
class Case:
    """One example the diagnosis compares on: the stream, the target's and reference's trajectories, the tolerance."""

    hparams: dict[str, Any]
    w0: np.ndarray
    grads: np.ndarray
    target: np.ndarray
    reference: np.ndarray
    tol: np.ndarray


def _match(cases: Sequence[Case], build: Callable[[Mapping[str, Any]], Any]) -> tuple[float, float]:
    worst_d, worst_r = 0.0, 0.0
    for c in cases:
        try:
            traj = run_variant(build(c.hparams), c.w0, c.grads)
        except Exception:  # noqa: BLE001 - a variant undefined for these hyperparameters does not match
            return math.inf, math.inf
        d, r = _distance(c.target, traj, _tolerance_for(traj, c.reference, c.tol))
        worst_d, worst_r = max(worst_d, d), max(worst_r, r)
        if worst_r > 1e30:
            break
    return worst_d, worst_r


# --------------------------------------------------------------- structural


def _structural(spec: Algorithm | str, cases: Sequence[Case]) -> list[str]:
    algorithm = _algorithm(spec)
    out: list[str] = []
    c0 = cases[0]
    # the update returned instead of the new parameters (optax's convention)
    if all(c.target.shape[0] > 1 for c in cases):
        returns_update = True
        for c in cases:
            step = c.reference[1:] - c.reference[:-1]
            tol = c.tol[1:] + c.tol[:-1] + 4 * tolmod.U * (np.abs(c.reference[1:]) + np.abs(c.reference[:-1]))
            if _distance(c.target[1:], step, tol)[1] > 1:
                returns_update = False
                break
        if returns_update:
            return ["the target returns the update w_t − w_(t−1), not the new parameters (optax's convention: "
                    "return params + update, or use optax.apply_updates)"]
    # single precision: every iterate is a float32 value, the differences are float32 rounding
    single = True
    for c in cases:
        t = c.target[1:]
        finite = np.isfinite(t)
        with np.errstate(over="ignore"):
            as32 = t[finite].astype(np.float32).astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            rel = np.abs(c.target - c.reference) / np.maximum(np.abs(c.reference), 1e-300)
        rel = rel[1:][np.isfinite(rel[1:])]
        if not (finite.all() and np.array_equal(as32, t[finite]) and rel.size and rel.max() < 1e-5):
            single = False
            break
    if single:
        return ["every iterate the target returns is a float32 value and the differences are at float32 rounding "
                "(~1e-7 relative): it computes or stores the parameters in single precision"]
    # NaN where the reference is finite
    for c in cases:
        bad = ~np.isfinite(c.target) & np.isfinite(c.reference)
        if bad.any():
            t = int(np.argmax(bad.reshape(bad.shape[0], -1).any(axis=1)))
            out.append(f"the target produces {'NaN' if np.isnan(c.target[t]).any() else 'inf'} at step {t} where the "
                       "reference is finite (a division by zero: ε missing, or a state initialised so that 0/0 occurs)")
            return out
    # one-step lag: target_t == reference_(t−1)
    if all(c.target.shape[0] > 2 for c in cases):
        lagged = True
        for c in cases:
            d, r = _distance(c.target[1:], c.reference[:-1], _tolerance_for(c.reference[:-1], c.reference[1:], c.tol[1:]))
            if r > 1:
                lagged = False
                break
        if lagged:
            out.append("one-step lag: the target's iterate w_t equals the reference's w_(t−1) "
                       "(it returns the parameters before applying the step, or applies each step one call late)")
    # the gradient used one step late
    late = all(c.target.shape[0] > 2 for c in cases)
    if late:
        for c in cases:
            shifted = np.concatenate([np.zeros_like(c.grads[:1]), c.grads[:-1]])
            try:
                traj = run_variant(algorithm.build(c.hparams), c.w0, shifted)
            except Exception:  # noqa: BLE001
                late = False
                break
            if _distance(c.target, traj, _tolerance_for(traj, c.reference, c.tol))[1] > 1:
                late = False
                break
        if late:
            out.append("the gradient is used one step late: the target's step t uses g_(t−1) (a stale gradient buffer)")
    # an extra term proportional to the weights: a weight decay the spec does not have
    if algorithm is not None and not algorithm.no_decay and c0.target.shape[0] > 2:
        r = np.diff(c0.target, axis=0) - np.diff(c0.reference, axis=0)
        w_prev = c0.target[:-1]
        # steps of the reference do not depend on w for these specs: fit r_t = −c·w_(t−1) on the first step,
        # where both start from the same point
        with np.errstate(all="ignore"):
            den = float(np.sum(w_prev[0] * w_prev[0]))
            c = -float(np.sum(r[0] * w_prev[0]) / den) if den > 0 else 0.0
        if c != 0.0 and np.isfinite(c):
            pred = -c * w_prev[0]
            if np.allclose(r[0], pred, rtol=1e-6, atol=1e-12 * float(np.abs(w_prev[0]).max())):
                lr = c0.hparams.get("lr")
                lam = f"; as L2, λ = c/(2η) = {fmt(c / (2 * lr), 6)}" if lr else ""
                out.append(f"each step also subtracts c·w with c = {fmt(c, 6)}: a weight decay the spec does not have "
                           f"(a default weight_decay left on?{lam})")
    # constant step factor
    ratios = []
    for c in cases:
        dt, dr = np.diff(c.target, axis=0), np.diff(c.reference, axis=0)
        mask = np.abs(dr) > 1e-200
        if mask.any():
            with np.errstate(all="ignore"):
                ratios.append((dt[mask] / dr[mask]))
    if ratios:
        rr = np.concatenate(ratios)
        if np.all(np.isfinite(rr)) and rr.size:
            c = float(np.median(rr))
            if not _same_value(c, 1.0) and np.allclose(rr, c, rtol=1e-9, atol=0):   # 1 + 1e-13 is rounding
                out.append(_factor_text(c, c0.hparams))
    # difference confined to the first step
    if c0.target.shape[0] > 2:
        dt, dr = np.diff(c0.target, axis=0), np.diff(c0.reference, axis=0)
        tol_steps = c0.tol[1:] + c0.tol[:-1]
        step_bad = np.abs(dt - dr) > tol_steps
        rows = step_bad.reshape(step_bad.shape[0], -1).any(axis=1)
        if rows[0] and not rows[1:].any():
            out.append("only the first step differs: the state's initialisation (e.g. the first moment/buffer at step 1) is wrong")
    # difference confined to entries with a zero gradient: each differing entry first parts at a step where its g is 0
    confined, any_diff = True, False
    for c in cases:
        d = np.abs(c.target[1:] - c.reference[1:]) > c.tol[1:]
        if not d.any():
            continue
        any_diff = True
        flat_d = d.reshape(d.shape[0], -1)
        flat_g = c.grads.reshape(c.grads.shape[0], -1)
        for j in np.flatnonzero(flat_d.any(axis=0)):
            t = int(np.argmax(flat_d[:, j]))
            if flat_g[t, j] != 0:
                confined = False
                break
        if not confined:
            break
    if any_diff and confined:
        out.append("the difference starts where an entry's gradient is exactly 0 "
                   "(the sgn(0) convention, or the handling of a zero gradient)")
    return out


def _factor_text(c: float, hp: Mapping[str, Any]) -> str:
    names = {-1.0: "the sign is flipped: the target steps uphill (ascent)", 2.0: "every step is doubled",
             0.5: "every step is halved"}
    lr = hp.get("lr")
    for value, text in names.items():
        if np.isclose(c, value, rtol=1e-9):
            return f"every step is {fmt(c)} × the reference's: {text}"
    if lr and np.isclose(c, lr, rtol=1e-9):
        return f"every step is η = {fmt(lr)} × the reference's: the learning rate is applied twice"
    if lr and np.isclose(c, 1 / lr, rtol=1e-9):
        return "every step is 1/η × the reference's: the learning rate is not applied"
    if lr and np.isclose(c, -lr, rtol=1e-9):
        return "every step is −η × the reference's: the learning rate is applied twice and the sign is flipped"
    return f"every step is {fmt(c, 9)} × the reference's (a constant factor: an effective learning rate {fmt(c * (lr or 1), 9)})"


# ----------------------------------------------------------- hyperparameters


def _param(algorithm: Algorithm | None, name: str) -> Any:
    return next((p for p in algorithm.params if p.name == name), None) if algorithm is not None else None


def _scale(param: Any) -> str:
    """How a hyperparameter is searched, from its valid range: ``unit`` (a decay rate in [0, 1], searched
    near 1 as 1 − 10⁻ᵏ), ``above-one`` (a growth factor > 1, as 1 + 10ᵉ) or ``log`` (10ᵉ)."""
    if param is not None and param.low == 0.0 and param.high == 1.0:
        return "unit"
    if param is not None and param.low == 1.0 and param.high is None:
        return "above-one"
    return "log"


def _candidates(param: Any, value: float) -> list[float]:
    scale = _scale(param)
    if scale == "unit":
        ks = np.linspace(0.0, 8.0, 33)
        return [0.0] + [float(1 - 10.0 ** -k) for k in ks if 1 - 10.0 ** -k < 1]
    if scale == "above-one":
        return [float(1 + 10.0 ** e) for e in np.linspace(-4, 1, 26)]
    grid = [float(10.0 ** e) for e in np.linspace(-12, 4, 49)]
    zero_valid = param is not None and param.low == 0.0 and not param.low_open and param.high is None
    return ([0.0] if zero_valid else []) + grid


def _relation(name: str, x: float, original: float, hp: Mapping[str, Any], defaults: Mapping[str, Any]) -> str:
    close = lambda a, b: b != 0 and abs(a - b) <= 1e-6 * abs(b)  # noqa: E731
    if x == 0.0:
        return f"{name} = 0: the target ignores {name}"
    rel = {
        f"{name}²": original ** 2, f"√{name}": math.sqrt(original) if original >= 0 else math.nan,
        f"1 − {name}": 1 - original, f"2·{name}": 2 * original, f"{name}/2": original / 2,
    }
    for text, value in rel.items():
        if close(x, value):
            why = " (the learning rate is applied twice)" if name == "lr" and text == "lr²" else ""
            return f"{name} = {fmt(x, 9)} = {text} instead of {fmt(original, 9)}{why}"
    for other, v in hp.items():
        if other != name and isinstance(v, float) and close(x, v):
            return f"{name} = {fmt(x, 9)}, the value of {other}: the target uses {other} where {name} belongs"
    if name in defaults and close(x, float(defaults[name])):
        return f"{name} = {fmt(x, 9)}, the default: the target ignores the {name} it is given"
    return f"{name} = {fmt(x, 9)} instead of {fmt(original, 9)}"


def _relations(name: str, value: float, hp: Mapping[str, Any], defaults: Mapping[str, Any],
               dropped: Sequence[str] = ()) -> list[float]:
    """Values a bug typically substitutes for a hyperparameter, computed as a bug would compute them."""
    out = [value * value, value / 2, value * 2, 1 - value, value * 4]
    if value >= 0:
        out.append(float(np.sqrt(value)))
    out += [float(v) for k, v in hp.items() if k != name and isinstance(v, float)]
    if name in defaults:
        out.append(float(defaults[name]))
    if name in dropped:      # a hyperparameter bugs forget: the reference without it
        out.append(0.0)
    return out


def _golden(f: Callable[[float], float], a: float, b: float, iters: int = 90) -> float:
    """Golden-section minimum of ``f`` on ``[a, b]`` down to the float spacing (no relative tolerance)."""
    g = (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iters):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
        if b - a <= 2 * np.spacing(max(abs(a), abs(b))):
            break
    return c if fc < fd else d


def _screen(cases: Sequence[Case], steps: int = 15) -> list[Case]:
    """The first ``steps`` steps of the failing example (``cases[0]``): where a candidate value is tried before it
    is confirmed on every case."""
    c0 = cases[0]
    k = min(c0.grads.shape[0], steps)
    return [Case(c0.hparams, c0.w0, c0.grads[:k], c0.target[:k + 1], c0.reference[:k + 1], c0.tol[:k + 1])]


def _fit(spec: Algorithm | str, cases: Sequence[Case], defaults: Mapping[str, Any],
         names: Sequence[str] | None = None) -> Fit | None:
    """A single hyperparameter value under which the reference matches the target, if any.

    Exact relations first (μ², λ/2, 1 − β, another hyperparameter's value, the
    default, 0), computed as a bug would; then a grid and a 1-D refinement in
    a transformed coordinate. A value that brings the difference within the
    tolerance on every case is a match (``exact``); otherwise the best value
    that reduces the difference a millionfold to within 1e4 tolerances is
    returned as the closest, not a match. ``names`` limits the search.
    """
    from scipy.optimize import minimize_scalar

    algorithm = _algorithm(spec)
    if algorithm is None:
        return None
    build = algorithm.build
    hp0 = cases[0].hparams
    _, base_ratio = _match(cases, build)
    # Screen on a short prefix of the failing example; confirm a candidate on every case.
    screen = _screen(cases)

    def score(name: str, x: float, on: Sequence[Case] | None = None) -> tuple[float, float]:
        return _match(screen if on is None else on, lambda hp: build(_hp(hp, **{name: x})))

    def confirmed(name: str, x: float, d: float, r: float) -> tuple[float, float]:
        return score(name, x, cases) if r <= 1e4 else (d, r)

    def fit(name: str, x: float, d: float, r: float) -> Fit:
        original = float(hp0[name])
        return Fit(name, float(x), original, d, r, _relation(name, x, original, hp0, defaults))

    approximate: Fit | None = None
    names = [k for k, v in hp0.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
             and (names is None or k in names)]
    for name in names:
        original = float(hp0[name])
        for x in _relations(name, original, hp0, defaults, algorithm.dropped_by_bugs):
            if _same_value(x, original):
                continue
            d, r = score(name, x)
            if r <= 1.0:
                d, r = score(name, x, cases)
            if r <= 1.0:
                return fit(name, x, d, r)
    for name in names:
        original = float(hp0[name])
        best = (math.inf, math.inf, None)
        param = _param(algorithm, name)
        for x in _candidates(param, original):
            d, r = score(name, x)
            if r < best[1]:
                best = (d, r, x)
        if best[2] is None or not math.isfinite(best[1]):
            continue
        if best[1] > 1.0 and best[2] != 0.0:
            x0 = best[2]
            if _scale(param) == "unit":
                to, back = (lambda x: -math.log10(max(1 - x, 1e-16))), (lambda k: 1 - 10.0 ** -k)
            elif _scale(param) == "above-one":
                to, back = (lambda x: math.log10(max(x - 1, 1e-16))), (lambda e: 1 + 10.0 ** e)
            else:
                to, back = (lambda x: math.log10(max(x, 1e-300))), (lambda e: 10.0 ** e)
            c = to(x0)
            res = minimize_scalar(lambda z: math.log10(max(score(name, back(z))[1], 1e-300)),
                                  bounds=(c - 0.6, c + 0.6), method="bounded", options={"xatol": 1e-15, "maxiter": 120})
            z = _golden(lambda z: math.log10(max(score(name, back(z))[1], 1e-300)),
                        float(res.x) - 1e-6 * max(1.0, abs(float(res.x))), float(res.x) + 1e-6 * max(1.0, abs(float(res.x))))
            for cand in (float(res.x), z):
                d, r = score(name, back(cand))
                if r < best[1]:
                    best = (d, r, back(cand))
            if best[1] > 1.0:  # the last few ulps: walk along neighbouring floats
                x = best[2]
                for step in range(64):
                    moved = False
                    for cand in (np.nextafter(x, np.inf), np.nextafter(x, -np.inf)):
                        d, r = score(name, float(cand))
                        if r < best[1]:
                            best, x, moved = (d, r, float(cand)), float(cand), True
                            break
                    if not moved or best[1] <= 1.0:
                        break
        if _same_value(best[2], original):
            continue     # the reference at (nearly) its own value: rounding, not another hyperparameter
        best = (*confirmed(name, best[2], best[0], best[1]), best[2])
        if best[1] <= 1.0:
            return fit(name, best[2], best[0], best[1])
        if best[1] <= 1e4 and best[1] < 1e-3 * base_ratio and (approximate is None or best[1] < approximate.ratio):
            approximate = fit(name, best[2], best[0], best[1])
    return approximate


def _same_value(x: float, original: float) -> bool:
    """Within a relative 1e-10 of each other: a fit that close is the reference itself at a few ulps (rounding),
    not a bug's value (a step 1e-7 too large is a bug, and is named)."""
    return abs(x - original) <= 1e-10 * abs(original)


def fit_hyperparameter(spec: Algorithm | str, cases: Sequence[Case], defaults: Mapping[str, Any],
                       names: Sequence[str]) -> Fit | None:
    """The one value of one of ``names`` under which the reference matches the target on every case, if any."""
    cases = [c for c in cases if c.target.shape == c.reference.shape and c.target.shape[0] > 1]
    if not cases:
        return None
    found = _fit(spec, cases, defaults, names=names)
    return found if found is not None and found.exact else None


#: Values people write for a hyperparameter by hand, by how it is searched (:func:`_scale`): a hard-coded β2 of
#: 0.98 and ε of 1e-9 (the Transformer paper's Adam) are two of them.
_LITERALS = {
    "unit": (0.0, 0.5, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9999, 0.99999),
    "log": (1e-16, 1e-12, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 3e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 0.01,
            0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
    "above-one": (1.1, 1.2, 1.5, 2.0),
}
#: At most this many combinations are tried at once (each costs a short reference run, about 0.3 ms).
_MAX_COMBINATIONS = 6000


def _admits(param: Any, value: Any) -> bool:
    from verify.errors import BadParameterError

    try:
        param.parse(value)
    except BadParameterError:
        return False
    return True


def fit_written_values(spec: Algorithm | str, cases: Sequence[Case], held: Mapping[str, Any],
                       names: Sequence[str]) -> dict[str, Any] | None:
    """Values of several of ``names``, each one people write by hand, under which the reference matches the
    target on every case; ``None`` if no such combination is found.

    :func:`fit_hyperparameter` changes one value; an implementation that hard-codes two or more other than
    assumed (β2 = 0.98 and ε = 1e-9) is matched only by changing them together. Numbers only; coordinate sweeps
    over the written values first, then every combination when there are few enough.
    """
    algorithm = _algorithm(spec)
    cases = [c for c in cases if c.target.shape == c.reference.shape and c.target.shape[0] > 1]
    if algorithm is None or not cases:
        return None
    screen = _screen(cases)
    options: dict[str, list[Any]] = {}
    for name in names:
        param = _param(algorithm, name)
        now = held.get(name)
        # numbers only: a convention (ε's placement, a form) differing is named by the catalogue, not excused
        if param is None or param.choices or param.type is not float or isinstance(now, bool) \
                or not isinstance(now, (int, float)):
            continue
        options[name] = [now] + [v for v in _LITERALS[_scale(param)] if v != now and _admits(param, v)]
    if len(options) < 2:
        return None

    def ratio(values: Mapping[str, Any], on: Sequence[Case]) -> float:
        return _match(on, lambda hp: algorithm.build(_hp(hp, **values)))[1]

    def settled(values: dict[str, Any]) -> dict[str, Any] | None:
        changed = {n: v for n, v in values.items() if v != held.get(n)}
        return changed if changed and ratio(values, screen) <= 1.0 and ratio(values, cases) <= 1.0 else None

    current = {n: vs[0] for n, vs in options.items()}
    for _ in range(3):
        for name, values in options.items():
            best = min(values, key=lambda v: ratio({**current, name: v}, screen))
            current[name] = best
        found = settled(current)
        if found is not None:
            return found
    if math.prod(len(v) for v in options.values()) > _MAX_COMBINATIONS:
        return None
    for combination in itertools.product(*options.values()):
        values = dict(zip(options, combination))
        if ratio(values, screen) <= 1.0:
            found = settled(values)
            if found is not None:
                return found
    return None


# ------------------------------------------------------------------ diagnose


def diagnose(spec: Algorithm | str, cases: Sequence[Case], *, defaults: Mapping[str, Any] | None = None,
             fit: bool = True) -> Diagnosis:
    """Name what the target's iterates match on ``cases`` (the failing example first).

    A variant or a hyperparameter value is named as the cause only when it
    matches within the tolerance on every case; otherwise the text says that no
    catalogued bug fits and how far the closest one is.
    """
    cases = [c for c in cases if c.target.shape == c.reference.shape and c.target.shape[0] > 1]
    if not cases:
        return Diagnosis("", DiagnosisKind.NO_MATCH)       # nothing to compare on: nothing said
    results: list[Match] = []
    for v in variants_for(spec):
        if not all(v.applies(c.hparams) for c in cases):
            continue
        d, r = _match(cases, v.build)
        results.append(Match(v, d, r))
    results.sort(key=lambda m: m.ratio)
    matches = [m for m in results if m.matched]
    closest = results[0] if results else None
    parts: list[str] = []
    found: Fit | None = None
    if matches:
        first = matches[0]
        kind = DiagnosisKind.EQUIVALENT if first.variant.equivalent else DiagnosisKind.VARIANT
        what = "an equivalent parameterisation" if first.variant.equivalent else "a known variant or bug"
        parts.append(f"matches {first.variant.description} ({what}; max difference {fmt(first.max_diff)})")
        for m in matches[1:3]:
            parts.append(f"also consistent with {m.variant.description} (max difference {fmt(m.max_diff)})")
    elif fit:
        found = _fit(spec, cases, defaults or {})
        if found is not None and found.exact:
            kind = DiagnosisKind.HYPERPARAMETER
            parts.append(f"the target behaves like the reference with {found.relation} "
                         f"(max difference {fmt(found.max_diff)})")
    findings = _structural(spec, cases)
    if not parts and findings:
        kind = DiagnosisKind.FINDING
        parts.extend(findings)
    if not parts:
        kind = DiagnosisKind.NO_MATCH
        near = []
        if closest is not None and math.isfinite(closest.ratio):
            near.append(f"the closest is {closest.variant.description} at {fmt(closest.ratio)} × the tolerance")
        if found is not None:
            near.append(f"the closest single-hyperparameter change is {found.relation.replace(' = ', ' ≈ ', 1)} "
                        f"at {fmt(found.ratio)} × the tolerance")
        parts.append("No catalogued bug fits" + (f"; {'; '.join(near)} (not a match)" if near else ""))
    return Diagnosis("; ".join(parts), kind, candidates=[m.candidate for m in results], fit=found,
                     findings=findings)
