"""Differential testing of an optimizer against the reference, step by step.

The target and the reference receive the same gradient stream from the same
starting point; every iterate ``w_1 … w_T`` is compared, entry by entry,
within the floating-point error model of :mod:`verify.tolerance`.

Examples are *recipes* (:class:`Recipe`: kind, length, shape, scale, seed, and
for problems the condition number and curvature) drawn by hypothesis together
with the hyperparameters, so failures shrink to a short recipe. Streams are
either open-loop (:data:`verify.problems.STREAM_KINDS`) or the gradients of a
problem (random quadratic with controlled κ, noisy mini-batch quadratic,
Rosenbrock) evaluated along the **reference** trajectory; both optimizers are
then fed that same stream, so rounding in the target is never amplified
through the problem and sign decisions (Rprop) see identical inputs. The
target's own closed-loop behaviour is what the convergence checks test.

On a failure the counterexample is cut to the first step where the
trajectories part and, for elementwise optimizers, to the one entry that
parts first; the diagnosis (:mod:`verify.diagnosis`) names the variant or
bug the target matches, if any.

The iterates are compared as returned: under every protocol here the caller
evaluates the next gradient at the parameters the optimizer returned, so a
re-parameterisation that returns other points (Nesterov in Sutskever's form,
returning ``w_t`` rather than the look-ahead point, is heavy-ball momentum
under that contract) is a different algorithm, not an equivalent one.
Momentum in Polyak's form differs from the canonical one only by rounding,
inside the error model.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np
from hypothesis import strategies as st

import reference as reference_package
from verify import algorithms
from verify import tolerance as tolmod
from verify.compare import Comparison, compare, format_number
from verify.problems import PROBLEM_KINDS, STREAM_KINDS, Quadratic, Rosenbrock, open_loop_stream
from verify.results import Figure, Series, jsonable

__all__ = [
    "Recipe",
    "Example",
    "Verdict",
    "MAX_ABS",
    "recipes",
    "build_example",
    "trajectory",
    "judge",
    "precision_factor",
    "minimise",
    "describe_example",
    "trajectory_figures",
    "replay_snippet",
    "counterexample_dict",
    "failure_headline",
]

fmt = format_number

#: A reference trajectory whose entries exceed this (or become non-finite) is cut there:
#: beyond it, overflow timing is rounding noise, not behaviour.
MAX_ABS = 1e100


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How to build one example's stream (hypothesis draws and shrinks these)."""

    kind: str
    steps: int
    shape: tuple[int, ...]
    seed: int
    scale_exp: float = 0.0        # gradients (open loop) or w0 − w* (problems) ~ 10**scale_exp
    condition: float = 10.0       # κ of quadratic problems
    curvature: float = 0.5        # lr·L of quadratic problems (stable for GD below 2)
    zero_start: bool = False      # open loop from w0 = 0 (a bias as models initialise it)

    def describe(self) -> str:
        base = f"{self.kind} {'stream' if self.kind in STREAM_KINDS else 'problem'}, {self.steps} step(s), shape {self.shape}"
        if self.zero_start:
            base += ", from w0 = 0"
        if self.kind in ("quadratic", "noisy-quadratic"):
            base += f", κ = {fmt(self.condition)}, η·L = {fmt(self.curvature)}"
        return base + f", seed {self.seed}"


@dataclasses.dataclass
class Example:
    """One conformance example: hyperparameters, starting point and gradient stream."""

    hparams: dict[str, Any]
    w0: np.ndarray
    grads: np.ndarray                  # (T, *w0.shape)
    recipe: Recipe | None = None
    origin: str = "drawn"              # "drawn", "explicit", "minimised"
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def steps(self) -> int:
        return int(self.grads.shape[0])

    def restrict(self, steps: int | None = None, entry: tuple[int, ...] | None = None) -> "Example":
        """The first ``steps`` steps, and only ``entry`` (as a one-entry vector)."""
        w0, grads = self.w0, self.grads
        if steps is not None:
            grads = grads[:steps]
        if entry is not None:
            w0 = np.array([w0[entry]])
            grads = grads[(slice(None),) + tuple(entry)].reshape(-1, 1)
        return Example(dict(self.hparams), np.array(w0), np.array(grads), self.recipe, "minimised", list(self.notes))


@dataclasses.dataclass
class Verdict:
    """Target vs reference on one example."""

    ok: bool
    example: Example
    target: np.ndarray                  # (T + 1, *shape): w_0 … w_T
    reference: np.ndarray
    tol: np.ndarray
    comparison: Comparison
    first_step: int | None = None       # first t where the trajectories part
    first_entry: tuple[int, ...] | None = None

    @property
    def ratio(self) -> float:
        """Largest |difference| / tolerance (≤ 1 when ok)."""
        d = np.abs(self.target - self.reference)
        finite = np.isfinite(d)
        if not finite.any():
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(d[finite] > 0, d[finite] / self.tol[finite], 0.0)
        return float(np.max(r)) if r.size else 0.0


# ------------------------------------------------------------------ recipes


def recipes(*, max_steps: int = 40, problems: bool = True) -> st.SearchStrategy[Recipe]:
    """Recipes over every stream and problem kind, lengths ``1..max_steps``, shapes up to (2, 3)."""
    kinds = STREAM_KINDS + (PROBLEM_KINDS if problems else ())
    shape = st.one_of(st.integers(1, 4).map(lambda n: (n,)), st.just((2, 3)))
    return st.builds(
        Recipe,
        kind=st.sampled_from(kinds),
        steps=st.integers(1, max_steps),
        shape=shape,
        seed=st.integers(0, 2 ** 16),
        scale_exp=st.floats(-3.0, 3.0, allow_nan=False),
        condition=st.floats(0.0, 6.0).map(lambda e: float(10.0 ** e)),
        curvature=st.floats(0.02, 1.9),
    )


def _cut(traj: np.ndarray) -> int:
    """Number of leading steps whose iterates are finite and below :data:`MAX_ABS`."""
    bad = ~np.isfinite(traj) | (np.abs(np.nan_to_num(traj, nan=np.inf)) > MAX_ABS)
    rows = bad.reshape(bad.shape[0], -1).any(axis=1)
    return int(np.argmax(rows)) if rows.any() else traj.shape[0]


def build_example(reference: Any, hparams: Mapping[str, Any], recipe: Recipe, *,
                  eps: float | None = None) -> Example:
    """Materialise ``recipe``: open-loop streams directly, problems along the reference trajectory.

    The stream is cut where the reference's iterates overflow (beyond :data:`MAX_ABS`).
    """
    rng = np.random.default_rng(recipe.seed)
    shape = tuple(recipe.shape)
    scale = 10.0 ** recipe.scale_exp
    hp = dict(hparams)
    notes: list[str] = []
    if recipe.kind in STREAM_KINDS:
        w0 = rng.normal(size=shape) * 10.0 ** rng.uniform(-2, 2) * (not recipe.zero_start)
        grads = open_loop_stream(recipe.kind, recipe.steps, shape, rng, scale=scale, eps=eps)
    else:
        lr = float(hp.get("lr", 1.0))
        if recipe.kind == "rosenbrock":
            problem: Any = Rosenbrock(scale=recipe.curvature / (lr * 1000.0))
            w0 = np.clip(1.0 + rng.normal(size=shape) * 0.5, -2.0, 3.0)
        else:
            problem = Quadratic.random(rng, shape, recipe.condition, largest=recipe.curvature / lr)
            w0 = (problem.w_star + rng.normal(size=problem.w_star.shape) * scale).reshape(shape)
        noise = recipe.kind == "noisy-quadratic"
        run = reference.make(**hp)
        run.init(np.array(w0))
        w, gs = np.array(w0), []
        for _ in range(recipe.steps):
            g = np.asarray(problem.grad(w), dtype=np.float64)
            if noise:
                g = g + rng.normal(size=shape) * (np.abs(g).mean() + scale)
            if not np.all(np.isfinite(g)) or np.abs(g).max(initial=0.0) > MAX_ABS:
                notes.append(f"stream cut at step {len(gs) + 1}: the reference diverged on this problem")
                break
            gs.append(g)
            w = run.step(g)
            if not np.all(np.isfinite(w)) or np.abs(w).max(initial=0.0) > MAX_ABS:
                break
        grads = np.array(gs) if gs else np.empty((0, *shape))
    return Example(hp, np.array(w0, dtype=np.float64), np.asarray(grads, dtype=np.float64), recipe, "drawn", notes)


# --------------------------------------------------------------- comparison


def trajectory(subject: Any, ex: Example) -> np.ndarray:
    """``w_0 … w_T`` of ``subject`` on ``ex`` (``(T + 1, *shape)``)."""
    steps = subject.run(dict(ex.hparams), np.array(ex.w0), [np.array(g) for g in ex.grads])
    return np.concatenate([ex.w0[None], np.asarray(steps, dtype=np.float64).reshape((-1, *ex.w0.shape))])


def precision_factor(subject: Any) -> float:
    """How much coarser than float64 the target computes (1 in float64; 2²⁹ in float32)."""
    precision = getattr(subject, "precision", None)
    return precision()[0] / tolmod.U if callable(precision) else 1.0


def _name(algorithm: "algorithms.Algorithm | str") -> str:
    """The algorithm's name (conformance takes the record or its name)."""
    return algorithm if isinstance(algorithm, str) else algorithm.name


def _record(spec: "algorithms.Algorithm | str") -> "algorithms.Algorithm | str":
    """The algorithm record of ``spec`` (given as the record or its name); the name of a spec without one."""
    return algorithms.resolve(spec) or spec


def _reference_and_tol(spec: "algorithms.Algorithm | str", reference: Any, ex: Example, factor: float = 1.0
                       ) -> tuple[np.ndarray, np.ndarray, Example]:
    ref = trajectory(reference, ex)
    keep = _cut(ref)
    if keep < ref.shape[0]:
        ex = Example(ex.hparams, ex.w0, ex.grads[:max(keep - 1, 0)], ex.recipe, ex.origin,
                     ex.notes + [f"stream cut at step {max(keep - 1, 0)}: the reference's iterates exceed {fmt(MAX_ABS)}"])
        ref = ref[:max(keep, 1)]
    _, bound = tolmod.error_bound(_record(spec), ex.hparams, ex.w0, ex.grads, unit=tolmod.U * factor)
    tol = np.concatenate([np.zeros((1, *ex.w0.shape)), tolmod.SAFETY * bound])
    return ref, tol, ex


def _first_divergence(target: np.ndarray, ref: np.ndarray, tol: np.ndarray) -> tuple[int | None, tuple[int, ...] | None]:
    with np.errstate(invalid="ignore"):
        diff = np.abs(target - ref)
        # where nothing is bounded (an undecided step) a NaN or infinity may be another correct rounding's
        bad = (diff > tol) | (((np.isnan(target) != np.isnan(ref)) | (np.isinf(target) != np.isinf(ref)))
                              & ~np.isinf(tol))
    bad &= ~(np.isnan(target) & np.isnan(ref))
    if not bad.any():
        return None, None
    t = int(np.argmax(bad.reshape(bad.shape[0], -1).any(axis=1)))
    row_bad, row_diff = bad[t], np.where(bad[t], np.nan_to_num(diff[t], nan=np.inf), -1.0)
    entry = tuple(int(i) for i in np.unravel_index(int(np.argmax(row_diff)), row_bad.shape)) if row_bad.ndim else ()
    return t, entry


def judge(spec: "algorithms.Algorithm | str", subject: Any, reference: Any, ex: Example, *,
          what: str | None = None) -> Verdict:
    """Run target and reference on ``ex`` and compare every iterate within the error model (at the target's
    precision: a target that computes in float32 is compared within the float32 model)."""
    ref, tol, ex = _reference_and_tol(spec, reference, ex, precision_factor(subject))
    target = trajectory(subject, ex)
    header = (f"ACTUAL = target's iterates, DESIRED = reference {what or _name(spec)}; "
              f"index = (step t, entry), t = 0 is the common starting point")
    compared = target
    if np.shape(target) == np.shape(tol):
        # where nothing is bounded (an undecided step) a NaN or infinity may be another correct rounding's
        with np.errstate(invalid="ignore"):
            compared = np.where(np.isinf(tol) & ~np.isfinite(target), ref, target)
    c = compare(compared, ref, rtol=0.0, tol=tol, header=header)
    if c.ok:
        return Verdict(True, ex, target, ref, tol, c)
    t, entry = _first_divergence(target, ref, tol)
    return Verdict(False, ex, target, ref, tol, c, first_step=t, first_entry=entry)


def minimise(spec: "algorithms.Algorithm | str", subject: Any, reference: Any, verdict: Verdict) -> Verdict:
    """Cut a failing example to the first parting step and, if it still fails, to the one entry."""
    if verdict.ok or verdict.first_step is None:
        return verdict
    best = verdict
    t = max(verdict.first_step, 1)
    cut = verdict.example.restrict(steps=t)
    try:
        v = judge(spec, subject, reference, cut)
    except Exception:  # noqa: BLE001 - a target that fails differently on the cut keeps the full example
        v = None
    if v is not None and not v.ok:
        best = v
    if best.example.w0.size > 1 and best.first_entry is not None:
        single = best.example.restrict(entry=best.first_entry)
        try:
            v = judge(spec, subject, reference, single)
        except Exception:  # noqa: BLE001
            v = None
        if v is not None and not v.ok:
            best = v
    return best


# ------------------------------------------------------------------ reporting


def _array_text(a: np.ndarray, limit: int = 12) -> str:
    flat = np.asarray(a, dtype=np.float64).ravel()
    items = [repr(float(x)) for x in flat[:limit]]
    more = f", … ({flat.size - limit} more)" if flat.size > limit else ""
    return "[" + ", ".join(items) + more + "]"


def describe_example(ex: Example, *, max_steps: int = 8) -> str:
    """Hyperparameters, starting point and stream of ``ex``, with full-precision numbers."""
    hp = ", ".join(f"{k}={v!r}" for k, v in ex.hparams.items())
    lines = [f"hyperparameters: {hp}"]
    if ex.recipe is not None:
        lines.append(f"stream: {ex.recipe.describe()}" + (" (cut to the parting step)" if ex.origin == "minimised" else ""))
    lines.append(f"w0 = {_array_text(ex.w0)}  (shape {ex.w0.shape})")
    shown = ex.grads[:max_steps]
    for t, g in enumerate(shown, start=1):
        lines.append(f"g_{t} = {_array_text(g)}")
    if ex.steps > max_steps:
        lines.append(f"… {ex.steps - max_steps} more step(s)")
    lines.extend(ex.notes)
    return "\n".join(lines)


def replay_snippet(ex: Example, spec: "algorithms.Algorithm | str", *, max_steps: int = 12) -> str:
    """Python that replays the counterexample against the reference (copy, swap in your optimizer)."""
    algorithm = algorithms.resolve(spec)
    ref_name = algorithm.reference.__name__ if algorithm is not None else _name(spec)
    grads = ",\n    ".join(_array_text(g, 64) for g in ex.grads[:max_steps])
    hp = ", ".join(f"{k}={v!r}" for k, v in ex.hparams.items())
    more = f"  # first {max_steps} of {ex.steps} steps" if ex.steps > max_steps else ""
    # a reference composed in its algorithm's file is imported from there
    outside = algorithm is not None and getattr(reference_package, ref_name, None) is not algorithm.reference
    return (
        (f"import numpy as np\nfrom {algorithm.reference.__module__} import {ref_name}\n" if outside else
         "import numpy as np, reference\n")
        + f"opt = {'' if outside else 'reference.'}{ref_name}({hp})\n"
        f"w = np.array({_array_text(ex.w0, 64)}).reshape({ex.w0.shape})\n"
        "state = opt.init(w)\n"
        f"for g in [\n    {grads}]:{more}\n"
        f"    w, state = opt.update(np.array(g).reshape({ex.w0.shape}), state, w)\n"
        "    print(w)"
    )


def trajectory_figures(v: Verdict, *, title: str) -> list[Figure]:
    """Target vs reference along the worst entry, and |difference| against the tolerance (log scale).

    A failing example is shown up to twice the step where the two part (at
    least 5 steps past it), so the parting is visible however long the
    stream; the titles say which steps of how many are drawn.
    """
    steps = v.target.shape[0]
    if v.first_step is not None:
        shown = min(steps, max(2 * v.first_step, v.first_step + 5) + 1)
        window = (f"steps 0–{shown - 1} of {steps - 1}" if shown < steps else f"{steps - 1} steps")
        title = f"{title}, {window}; they part at step {v.first_step}"
    else:
        shown = steps
    t = np.arange(shown, dtype=float)
    flat_t = v.target[:shown].reshape(shown, -1)
    flat_r = v.reference[:shown].reshape(shown, -1)
    flat_tol = v.tol[:shown].reshape(shown, -1)
    with np.errstate(invalid="ignore"):
        diff = np.abs(flat_t - flat_r)
    if v.first_entry is not None and v.target.ndim > 1:
        j = int(np.ravel_multi_index(v.first_entry, v.target.shape[1:])) if v.first_entry else 0
    else:
        j = int(np.argmax(np.nan_to_num(diff, nan=np.inf).max(axis=0))) if diff.size else 0
    entry = f"entry {j}" if flat_t.shape[1] > 1 else "the parameter"
    figs = [
        Figure(f"{title}: {entry} of the iterates", "step t", "w_t", [
            Series("target", t.tolist(), flat_t[:, j].tolist()),
            Series("reference", t.tolist(), flat_r[:, j].tolist(), style="dashed"),
        ]),
    ]
    d = np.nan_to_num(diff.max(axis=1), nan=np.inf)
    tl = flat_tol.max(axis=1)
    # Steps where the two agree exactly have no place on a log axis; the note under the plot counts them.
    keep = (t >= 1) & (d > 0)
    if keep.any():
        figs.append(Figure(f"{title}: |target − reference| and the tolerance", "step t",
                           "max over entries", [
                               Series("|target − reference|", t[keep].tolist(), d[keep].tolist(), style="points"),
                               Series("tolerance (error model)", t[t >= 1].tolist(), np.maximum(tl[t >= 1], 1e-300).tolist()),
                           ], yscale="log"))
    return figs


def counterexample_dict(v: Verdict, spec: "algorithms.Algorithm | str") -> dict[str, Any]:
    ex = v.example
    out: dict[str, Any] = {
        "hyperparameters": dict(ex.hparams),
        "w0": ex.w0,
        "grads": ex.grads[:50],
        "steps": ex.steps,
        "parting_step": v.first_step,
        "parting_entry": list(v.first_entry) if v.first_entry is not None else None,
        "replay": replay_snippet(ex, spec),
    }
    if ex.recipe is not None:
        out["recipe"] = dataclasses.asdict(ex.recipe)
    return jsonable(out)


def failure_headline(v: Verdict, spec: "algorithms.Algorithm | str") -> str:
    spec = _name(spec)
    t = v.first_step
    entry = v.first_entry
    where = f" (entry {entry if len(entry or ()) != 1 else entry[0]})" if entry else ""
    if t is None:
        return f"{spec}: the target's iterates do not match the reference"
    a, d = v.target[t][entry] if entry else v.target[t], v.reference[t][entry] if entry else v.reference[t]
    return (f"{spec}: the target's iterates part from the reference's at step {t} of {v.example.steps}{where}: "
            f"target {fmt(a, 12)}, reference {fmt(d, 12)}, tolerance {fmt(v.tol[t][entry] if entry else np.max(v.tol[t]))}")

