"""Optimizer specs: ``sgd``, ``momentum``, ``nesterov``, ``weight-decay``, ``sign-sgd``, ``rprop``,
``rmsprop``, ``adam``, ``adamw``, the algorithms added as records (``adagrad``, ``amsgrad``, ``adamax``,
``nadam``, ``radam``, …) and ``generic-optimizer``.

Protocol (optimizer): a factory or class called with the spec's canonical
hyperparameters as keywords, returning either ``init(params)`` /
``update(grads, state, params) -> (new_params, state)`` or
``step(params, grads) -> new_params`` (see ``docs/optimizers.md``).

Every spec with a reference has

* ``conformance`` — differential testing against the reference, every
  iterate, within the floating-point error model of :mod:`verify.tolerance`,
  with the diagnosis of :mod:`verify.diagnosis` on failure
  (:mod:`verify.conformance`);
* its symbolic cross-checks and properties with known answers
  (:mod:`verify.convergence`, :mod:`verify.symbolic`);
* ``zero-gradient-fixed-point``, ``no-nan`` and the protocol hygiene checks
  ``determinism``, ``instances-independent``, ``no-input-mutation``,
  ``shape-dtype``.

``generic-optimizer`` has the properties that hold for any optimizer.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import itertools
import math
from typing import Any, Callable, Mapping

import numpy as np
from hypothesis import strategies as st

import reference
from verify import algorithms
from verify.algorithms.adam_variants import ADAMAX, AMSGRAD, NADAM, RADAM
from verify.algorithms.adaptive import ADAM, ADAMW, RMSPROP
from verify.algorithms.lion import LION
from verify.algorithms.sgd import MOMENTUM, NESTEROV, SGD, WEIGHT_DECAY
from verify.algorithms.sign import RPROP, SIGN_SGD
from verify import conformance as conf
from verify import convergence as cv
from verify import diagnosis as dg
from verify import strategies as vst
from verify import tolerance as tolmod
from verify.compare import compare, format_number
from verify.problems import open_loop_stream
from verify.errors import BadParameterError, HeldParameterError, ProtocolError, TargetError
from verify.evidence import Diagnosis, DiagnosisKind
from verify.results import Figure, Series
from verify.search import falsify
from verify.specs._common import found_to_outcome, unless_unseen
from verify.specs.base import (
    Check,
    CheckContext,
    Family,
    Kind,
    Outcome,
    Spec,
    failed,
    held_summary,
    inconclusive,
    passed,
    skipped,
)

__all__ = ["SPECS", "EXPLICIT_RECIPES"]

fmt = format_number
U = tolmod.U

#: What the checks import inside functions (see verify.specs.modules_needed).
PRELOAD = ("verify.symbolic", "verify.gradcheck", "verify.adapters.protocol.optimizers")


# ------------------------------------------------------------------ algorithms


def _algorithm(ctx: CheckContext) -> Any:
    """The run's algorithm record (``None`` for generic-optimizer)."""
    return algorithms.find(ctx.spec.name)


def _check_params(ctx: CheckContext) -> None:
    algorithm = _algorithm(ctx)
    if algorithm is not None:
        algorithm.check(ctx.params)


def _hp(ctx: CheckContext, **changes: Any) -> dict[str, Any]:
    """The run's hyperparameters with ``changes``; a change to a held one skips the check (HeldParameterError)."""
    return ctx.hparams(**changes)


def _sutskever_to_lookahead(traj: np.ndarray, hp: Mapping[str, Any]) -> np.ndarray:
    """Sutskever's w_t → the look-ahead points w_t + μv_t = (1 + μ)w_t − μw_(t−1)."""
    mu = hp["momentum"]
    out = traj.copy()
    out[1:] = (1 + mu) * traj[1:] - mu * traj[:-1]
    return out

#: The examples run first at the user's hyperparameters (one per stream/problem kind).
EXPLICIT_RECIPES: tuple[conf.Recipe, ...] = (
    conf.Recipe("gaussian", 100, (3,), 11),
    conf.Recipe("quadratic", 100, (4,), 12, condition=100.0, curvature=0.5),
    conf.Recipe("noisy-quadratic", 60, (3,), 13, condition=10.0, curvature=0.3),
    conf.Recipe("rosenbrock", 60, (2,), 14, curvature=0.5),
    conf.Recipe("tiny", 30, (3,), 15),
    conf.Recipe("sparse", 30, (2, 3), 16),
    conf.Recipe("minibatch", 40, (2,), 17),
    conf.Recipe("sign-flips", 30, (3,), 18),
    conf.Recipe("constant", 30, (2,), 19),
    conf.Recipe("large", 20, (2,), 20),
    conf.Recipe("mixed-scales", 30, (4,), 21),
    conf.Recipe("gaussian", 10, (3,), 22, zero_start=True),    # parameters that start at 0, as biases do
)

#: The stream of the explicit corner examples (:func:`_corners`): 40 steps reach RAdam's rectification
#: (ρ_t crosses 4 and 5 near t = 6 at β2 = 0.999) and let a decay or a momentum build up.
CORNER_RECIPE = conf.Recipe("gaussian", 40, (3,), 23)
#: The value a switched-off hyperparameter (weight decay, momentum, an initial accumulator at 0) is switched on at.
SWITCHED_ON = 0.5


def _pairwise(options: Mapping[str, tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Combinations of the ``options`` in which every two values of two names appear together (greedy, all of
    every single name's values when there is one name): a branch taken only under two non-default choices
    (AMSGrad's maximum of v̂ with ε̂) is reached without the whole product."""
    names = list(options)
    product = [dict(zip(names, values)) for values in itertools.product(*options.values())]
    if len(names) < 2:
        return product

    def pairs(combo):
        return {(a, combo[a], b, combo[b]) for a, b in itertools.combinations(names, 2)}

    todo = set().union(*(pairs(c) for c in product))
    chosen = []
    while todo:
        best = max(product, key=lambda c: len(pairs(c) & todo))
        chosen.append(best)
        todo -= pairs(best)
    return chosen


def _corners(ctx: CheckContext, hp0: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Hyperparameters for explicit examples beyond the run's: every free switch turned on, every other choice.

    The run's hyperparameters are the defaults, where weight decay and momentum are often off and every
    convention is the canonical one: a mistake in the decay, in a flag or in another convention's branch
    shows there only if a draw happens to turn it on. These examples make it shown whatever the draw
    count: the free float hyperparameters at 0 switched on (at :data:`SWITCHED_ON`, where valid), then
    the free choices (``decoupled_weight_decay``, the conventions) combined pairwise (:func:`_pairwise`) with
    them on. Held
    hyperparameters keep their values; a combination the target or the algorithm does not admit is left out.
    """
    algorithm = _algorithm(ctx)
    if algorithm is None:
        return []
    free = [p for p in algorithm.params if p.to_target and p.draw is not None and ctx.free(p.name)]
    on: dict[str, Any] = {}
    for p in free:
        if p.type is float and p.choices is None and hp0.get(p.name) == 0:
            try:
                on[p.name] = p.parse(SWITCHED_ON)
            except BadParameterError:
                continue
    options = {p.name: tuple(p.choices if p.choices is not None else (False, True))
               for p in free if p.choices is not None or p.type is bool}
    candidates = [{**hp0, **on}] if on else []
    candidates += [{**hp0, **on, **combo} for combo in _pairwise(options)]
    corners: list[dict[str, Any]] = []
    for hp in candidates:
        try:
            algorithm.validate(hp)
        except BadParameterError:
            continue
        if ctx.admits(hp) and hp not in corners and hp != dict(hp0):
            corners.append(hp)
    return corners



# ------------------------------------------------------------------ helpers


def _rng(ctx: CheckContext, *salt: Any) -> np.random.Generator:
    return ctx.rng(*salt)


def _traj(subject: Any, hp: Mapping[str, Any], w0: np.ndarray, grads: np.ndarray) -> np.ndarray:
    steps = subject.run(dict(hp), np.array(w0), [np.array(g) for g in grads])
    return np.concatenate([np.asarray(w0, dtype=np.float64)[None],
                           np.asarray(steps, dtype=np.float64).reshape((-1, *np.shape(w0)))])


#: float32's unit roundoff: the coarsest arithmetic under which a pass of conformance is conclusive.
U32 = float(np.finfo(np.float32).eps) / 2.0


def _u(ctx: CheckContext) -> float:
    """The unit roundoff of the target's arithmetic (float64's, unless it was seen computing in float32)."""
    return U * conf.precision_factor(ctx.subject)


def _model_tol(ctx: CheckContext, algorithm: algorithms.Algorithm, hp: Mapping[str, Any], w0: np.ndarray,
               grads: np.ndarray) -> np.ndarray:
    """``algorithm``'s tolerance model on a stream, at the target's arithmetic (row 0, the start, exact)."""
    _, bound = tolmod.error_bound(algorithm, hp, w0, grads, unit=_u(ctx))
    return np.concatenate([np.zeros((1, *np.shape(w0))), tolmod.SAFETY * bound])


def _hp_text(hp: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={fmt(v, 9) if isinstance(v, float) else v}" for k, v in hp.items())


# -------------------------------------------------------------- conformance


def _probe_cases(ctx: CheckContext, hp: Mapping[str, Any], first: conf.Verdict | None = None) -> list[dg.Case]:
    """The failing example ``first`` (if any) and three short probe streams at ``hp``, as diagnosis cases."""
    spec = ctx.spec.name
    cases = [] if first is None else [dg.Case(dict(first.example.hparams), first.example.w0, first.example.grads,
                                              first.target, first.reference, first.tol)]
    probes = [conf.Recipe("gaussian", 25, (3,), 101), conf.Recipe("sign-flips", 25, (3,), 102),
              conf.Recipe("tiny" if "eps" in hp else "sparse", 25, (3,), 103)]
    for r in probes:
        try:
            ex = conf.build_example(ctx.reference, hp, r, eps=hp.get("eps"))
            v = conf.judge(spec, ctx.subject, ctx.reference, ex)
        except (TargetError, ProtocolError):
            continue
        cases.append(dg.Case(dict(v.example.hparams), v.example.w0, v.example.grads, v.target, v.reference, v.tol))
    return cases


#: Held values the run assumed rather than knew (the target does not take them; read heuristically).
_ASSUMED = ("not-taken", "built", "read")


def _unexplained_assumption(ctx: CheckContext, cases: list[dg.Case], hp: Mapping[str, Any]) -> Outcome | None:
    """``inconclusive`` when a held value the run only assumed explains the failure exactly.

    A target that does not take ``b2`` (or a built one) may hard-code another
    value than the one assumed: if the reference with that one value changed
    matches on every probe stream, the formula is not shown wrong — the
    assumption is. The user then states the value with ``--param``. ``cases``
    were run at ``hp``; probes with every varied hyperparameter moved are
    added, so that a bug scaling with a varied one (a decay not multiplied
    by η) cannot pass for a different assumed value.
    """
    assumed = [k for k, h in ctx.held.items() if h.source in _ASSUMED]
    if not assumed:
        return None
    moved = {k: v * 0.7 if k not in ctx.held and isinstance(v, float) else v for k, v in hp.items()}
    cases = cases + _probe_cases(ctx, moved)
    defaults = {p.name: p.default for p in ctx.spec.params}
    fit = dg.fit_hyperparameter(ctx.spec.name, cases, defaults, names=assumed)
    if fit is None:
        return _unexplained_assumptions(ctx, cases, assumed)
    h = ctx.held[fit.name]
    value, held = _shortest(fit.value), _shortest(h.value)
    return inconclusive(
        f"{fit.name} is held at {held} ({h.why}), and there the target's iterates part from the reference's; with "
        f"{fit.name} = {value} instead they match the reference on all {len(cases)} probe streams (max difference "
        f"{fmt(fit.max_diff)}): the target most likely uses {fit.name} = {value}. Nothing shows the formula wrong; "
        f"check it at that value: --param {fit.name}={value}",
        diagnosis=Diagnosis(f"consistent with the reference at {fit.name} = {value} (the value held, {held}, was "
                            f"assumed: {h.why})", DiagnosisKind.HYPERPARAMETER, fit=fit),
        metrics={"assumed": fit.name, "fitted_value": fit.value, "held_value": h.value})


def _unexplained_assumptions(ctx: CheckContext, cases: list[dg.Case], assumed: list[str]) -> Outcome | None:
    """``inconclusive`` when several held values the run only assumed, changed together to values people write,
    explain the failure exactly (a hard-coded β2 = 0.98 and ε = 1e-9: the Transformer paper's Adam)."""
    found = dg.fit_written_values(ctx.spec.name, cases, {k: ctx.held[k].value for k in assumed}, assumed)
    if found is None:
        return None
    was = ", ".join(f"{k} = {_shortest(ctx.held[k].value)}" for k in found)
    now = ", ".join(f"{k} = {_shortest(v)}" for k, v in found.items())
    why = "; ".join(f"{k}: {ctx.held[k].why}" for k in found)
    return inconclusive(
        f"{was} are held ({why}), and there the target's iterates part from the reference's; with {now} instead "
        f"they match the reference on all {len(cases)} probe streams: the target most likely uses those values. "
        f"Nothing shows the formula wrong; check it at them: "
        + " ".join(f"--param {k}={_shortest(v)}" for k, v in found.items()),
        diagnosis=Diagnosis(f"consistent with the reference at {now} (the values held, {was}, were assumed)",
                            DiagnosisKind.HYPERPARAMETER),
        metrics={"assumed": list(found), "fitted_values": found,
                 "held_values": {k: ctx.held[k].value for k in found}})


def _built_unread(ctx: CheckContext) -> list[str]:
    """The hyperparameters of a built object (an optax transformation, say) that could not be read: assumed."""
    return [k for k, h in ctx.held.items() if h.source == "built"]


def _assumptions_unsettled(ctx: CheckContext, failure: str) -> Outcome:
    """``inconclusive`` for a built object that fails at assumed values no single changed value explains.

    Its hyperparameters cannot be read, and one built with several non-default values (``optax.adam(0.01,
    b1=0.8)``) fails at the defaults exactly like a wrong formula: without a catalogued bug to name, the
    failure shows only that the assumed values are not its own.
    """
    names = _built_unread(ctx)
    values = ", ".join(f"{k}={_shortest(ctx.held[k].value)}" for k in names)
    return inconclusive(
        f"{ctx.target_name} is built, so its hyperparameters could not be read and were assumed to be the spec's "
        f"defaults ({values}); at those values the target's iterates part from the reference's, and neither a "
        "catalogued bug nor any single changed value explains it. A correct object built with several values "
        "other than the defaults fails exactly so: nothing shows the formula wrong. Give its values with --param "
        "to decide.", notes=[f"what this check saw at the assumed values: {failure.splitlines()[0]}"],
        metrics={"assumed": names})


def _unless_an_assumption_explains_it(func: Callable[[CheckContext], Outcome]) -> Callable[[CheckContext], Outcome]:
    """A spec-specific check whose failure an assumed hyperparameter explains is inconclusive, not failed.

    These checks run at the held values; where a value was only assumed (the
    target does not take it), a target hard-coding another one fails them
    with a correct formula. Conformance's rule applies: if the reference with
    that one value changed matches the target on every probe stream, the
    assumption is what is wrong, and the user is told which value to state.
    """

    @functools.wraps(func)
    def check(ctx: CheckContext) -> Outcome:
        outcome = func(ctx)
        if outcome.status.value != "fail" or not any(h.source in _ASSUMED for h in ctx.held.values()):
            return outcome
        unsure = _unexplained_assumption(ctx, _probe_cases(ctx, ctx.params), ctx.params)
        if unsure is None:
            return _assumptions_unsettled(ctx, outcome.message) if _built_unread(ctx) else outcome
        unsure.notes = [f"what this check saw at the assumed value: {outcome.message.splitlines()[0]}",
                        *unsure.notes]
        return unsure

    return check


def _shortest(x: Any) -> str:
    """A number as the shortest text that reads back as the same float (``1e-06``, ``0.999``)."""
    return repr(float(x)) if isinstance(x, (int, float, np.floating)) else str(x)


def _conformance_failure(ctx: CheckContext, v: conf.Verdict, origin: str, stats: dict) -> Outcome:
    spec = ctx.spec.name
    small = conf.minimise(spec, ctx.subject, ctx.reference, v)
    defaults = {p.name: p.default for p in ctx.spec.params}
    cases = _probe_cases(ctx, v.example.hparams, v)
    unsure = _unexplained_assumption(ctx, cases, v.example.hparams)
    if unsure is not None:
        return unsure
    diag = dg.diagnose(spec, cases, defaults=defaults)
    if _built_unread(ctx) and not diag.matched_names:
        return _assumptions_unsettled(ctx, conf.failure_headline(small, spec))
    where = {"explicit": "at the given hyperparameters",
             "corner": "at the given hyperparameters with the switches turned on or another choice taken"}.get(
        origin, "at hyperparameters drawn over their valid range (shrunk by hypothesis)")
    lines = [
        conf.failure_headline(small, spec),
        f"Counterexample ({where}; {small.example.steps} step(s)):",
        "  " + conf.describe_example(small.example).replace("\n", "\n  "),
        str(small.comparison),
        f"Tolerance model: {fmt(tolmod.SAFETY)} × running floating-point error bound (see docs/optimizers.md)",
    ]
    lines += [f"Held: {line}" for line in held_summary(ctx.held)]
    if diag.text:
        lines.append(f"Diagnosis: {diag.text}")
    metrics = {"examples": stats["n"], "steps": stats["steps"], "parting_step": small.first_step,
               "matches": diag.matched_names,
               "closest": diag.closest.name if diag.closest else None}
    figs = conf.trajectory_figures(v, title=f"{spec} conformance (failing example)")
    return failed("\n".join(lines), counterexample=conf.counterexample_dict(small, spec), diagnosis=diag or None,
                  metrics=metrics, figures=figs)


def _conformance(ctx: CheckContext) -> Outcome:
    _check_params(ctx)
    spec = ctx.spec.name
    hp0 = _hp(ctx)
    stats = {"n": 0, "steps": 0, "worst": None}

    def judge(ex: conf.Example) -> conf.Verdict:
        v = conf.judge(spec, ctx.subject, ctx.reference, ex)
        stats["n"] += 1
        stats["steps"] += v.example.steps
        if v.ok and (stats["worst"] is None or v.ratio > stats["worst"].ratio):
            stats["worst"] = v
        return v

    n_explicit = 0
    for recipe in EXPLICIT_RECIPES:
        ex = conf.build_example(ctx.reference, hp0, recipe, eps=hp0.get("eps"))
        ex.origin = "explicit"
        v = judge(ex)
        n_explicit += 1
        if not v.ok:
            return _conformance_failure(ctx, v, "explicit", stats)

    for hp in _corners(ctx, hp0):
        ex = conf.build_example(ctx.reference, hp, CORNER_RECIPE, eps=hp.get("eps"))
        ex.origin = "explicit"
        v = judge(ex)
        n_explicit += 1
        if not v.ok:
            return _conformance_failure(ctx, v, "corner", stats)

    last: dict[str, conf.Verdict] = {}
    strategy = st.tuples(vst.hyperparameters(spec, **ctx.pinned).filter(ctx.admits), conf.recipes())

    def test(pair):
        hp, recipe = pair
        ex = conf.build_example(ctx.reference, hp, recipe, eps=hp.get("eps"))
        v = judge(ex)
        if v.ok:
            return None
        last["v"] = v
        return conf.failure_headline(v, spec)

    found = falsify(strategy, test, seed=ctx.int_seed("conformance"), max_examples=ctx.max_examples)
    if found is not None:
        if found.error is not None or "v" not in last:
            hp, recipe = found.example if isinstance(found.example, tuple) else ({}, None)
            return found_to_outcome(found, f"{found.message}\nhyperparameters: {_hp_text(hp)}; "
                                    f"stream: {recipe.describe() if recipe else '?'}")
        return _conformance_failure(ctx, last["v"], "drawn", stats)
    worst = stats["worst"]
    ratio = worst.ratio if worst else 0.0
    figs = conf.trajectory_figures(worst, title=f"{spec} conformance (closest example)")[1:] if worst else []
    drawn = stats["n"] - n_explicit
    varied = [p.name for p in ctx.spec.params if p.to_target and ctx.free(p.name)]
    over = (f"drawn with {', '.join(varied)} over their valid range" if varied
            else "drawn over streams and problems, every hyperparameter held")
    precision = [ctx.subject.precision()[1]] if _u(ctx) > U else []
    if _u(ctx) > U32:
        # float16's error model admits differences of a few per cent: an optimizer wrong by 1 % that merely
        # holds a float16 array would pass. Only a failure is conclusive at that resolution.
        return inconclusive(
            f"every iterate is within float16's error model of the reference on {stats['n']} examples (the largest "
            f"difference {fmt(ratio)} of its tolerance), but that model cannot tell a difference of a few per cent "
            "from rounding, so a pass would say nothing: check a float32 or float64 version of the optimizer",
            metrics={"examples": stats["n"], "steps": stats["steps"], "worst_ratio": ratio,
                     "unit_roundoff": _u(ctx)},
            notes=precision + held_summary(ctx.held), figures=figs)
    ignored = [k for k, h in ctx.held.items() if h.source == "ignored"]
    if ignored:
        # A keyword the code names but whose value changes nothing is a feature it does not have (momentum computed
        # and never applied) or applies where the probe cannot see it: a pass would claim the feature unchecked.
        names, values = ", ".join(ignored), ", ".join(_shortest(ctx.held[k].value) for k in ignored)
        return inconclusive(
            f"every iterate matches the reference on {stats['n']} examples with {names} held at {values}, but "
            f"{ctx.held[ignored[0]].detail} takes {names} and changing it changed nothing on a probe stream: the code does not "
            f"implement it (or applies it only where a 3-element parameter vector does not show it), so nothing was "
            f"checked of it. To check the code without it: " + " ".join(f"--param {k}={_shortest(ctx.held[k].value)}"
                                                                      for k in ignored),
            metrics={"examples": stats["n"], "steps": stats["steps"], "worst_ratio": ratio, "ignored": ignored},
            notes=precision + held_summary(ctx.held), figures=figs)
    return passed(
        f"every iterate matches the reference on {stats['n']} examples ({stats['steps']} steps: {n_explicit} at the run's "
        f"hyperparameters or explicit variations of them, {drawn} {over}); the largest difference is {fmt(ratio)} of the tolerance"
        + (" (within the reduced-precision error model: the target computes in float32 or narrower)" if precision else ""),
        metrics={"examples": stats["n"], "steps": stats["steps"], "explicit_examples": n_explicit,
                 "drawn_examples": drawn, "worst_ratio": ratio, "unit_roundoff": _u(ctx)},
        notes=precision + held_summary(ctx.held), figures=figs)


# ----------------------------------------------------------- common checks


def _zero_gradient(ctx: CheckContext) -> Outcome:
    spec = ctx.spec.name
    no_decay = dict(_algorithm(ctx).no_decay) if _algorithm(ctx) is not None else {}
    hp = _hp(ctx, **no_decay)
    rng = _rng(ctx, "zero")
    for shape in ((4,), (2, 3)):
        w0 = rng.normal(size=shape) * 3.0
        traj = _traj(ctx.subject, hp, w0, np.zeros((20, *shape)))
        c = compare(traj, np.broadcast_to(w0, traj.shape), rtol=2 * _u(ctx), atol=0.0,
                    header="ACTUAL = target's iterates with g = 0 at every step, DESIRED = the starting point")
        if not c.ok:
            moved = np.abs(traj - w0).reshape(traj.shape[0], -1).max(axis=1)
            t = int(np.argmax(moved > 2 * _u(ctx) * np.abs(w0).max()))
            hint = ("" if spec != "generic-optimizer" else
                    "\n(an optimizer with weight decay does not have this property: pass --param weight_decay=0 "
                    "or your decay's name = 0)")
            return failed(f"a zero gradient is not a fixed point: the target moved the weights at step {t} "
                          f"(hyperparameters {_hp_text(hp)})\n{c}{hint}",
                          counterexample={"hyperparameters": hp, "w0": w0, "grads": "20 zero gradients"},
                          figures=[Figure("zero gradient: |w_t − w_0|", "step t", "max |w_t − w_0|",
                                          [Series("target", list(range(moved.size)), moved.tolist())])])
    extra = f" (with {_hp_text(no_decay)})" if no_decay else ""
    return passed(f"with g = 0 for 20 steps the weights stay exactly where they are{extra}")


def _no_nan(ctx: CheckContext) -> Outcome:
    spec = ctx.spec.name
    hp = _hp(ctx)
    rng = _rng(ctx, "nan")
    shape = (6,)
    # Exponents within what the target's precision represents, squares included (float32 overflows at 3e38).
    tiny, huge, lo, hi = ((-150, -30), (30, 100), -200.0, 50.0) if _u(ctx) <= U else ((-30, -8), (4, 15), -40.0, 12.0)
    cases = {
        "zero gradients": np.zeros((10, *shape)),
        f"tiny gradients (1e{tiny[0]} … 1e{tiny[1]})":
            rng.choice([-1, 1], size=(10, *shape)) * 10.0 ** rng.uniform(*tiny, size=(10, *shape)),
        f"huge gradients (1e{huge[0]} … 1e{huge[1]})":
            rng.choice([-1, 1], size=(10, *shape)) * 10.0 ** rng.uniform(*huge, size=(10, *shape)),
        "zeros then a gradient": np.concatenate([np.zeros((5, *shape)), rng.normal(size=(5, *shape))]),
        "mixed: zeros, tiny and large entries": rng.normal(size=(10, *shape)) * 10.0 ** rng.choice(
            [lo, 0.0, hi], size=(10, *shape)) * (rng.random((10, *shape)) > 0.3),
    }
    has_ref = ctx.reference is not None and _algorithm(ctx) is not None
    for name, grads in cases.items():
        w0 = rng.normal(size=shape)
        with np.errstate(all="ignore"):
            traj = _traj(ctx.subject, hp, w0, grads)
            ref = _traj(ctx.reference, hp, w0, grads) if has_ref else np.zeros_like(traj)
        bad = ~np.isfinite(traj) & np.isfinite(ref)
        if bad.any() and has_ref:
            # not where the reference's own rounding leaves the step undecided (centred RMSprop's s − ḡ² within
            # its rounding of 0: another correct order of operations takes the root of a negative number)
            _, bound = tolmod.error_bound(_algorithm(ctx), hp, w0, grads, unit=_u(ctx))
            bad &= np.concatenate([np.ones((1, *shape), dtype=bool), np.isfinite(bound)])
        if bad.any():
            t, i = (int(x) for x in np.argwhere(bad.reshape(bad.shape[0], -1))[0])
            return failed(
                f"the target produced {'NaN' if np.isnan(traj.reshape(traj.shape[0], -1)[t, i]) else 'inf'} at step {t}, "
                f"entry {i}, on {name}{' where the reference stays finite' if has_ref else ''} "
                f"(hyperparameters {_hp_text(hp)}; g at that entry: "
                f"{[fmt(x) for x in grads.reshape(grads.shape[0], -1)[:t, i]]})",
                counterexample={"case": name, "hyperparameters": hp, "w0": w0, "grads": grads})
    return passed(f"iterates stay finite on zero, tiny (down to 1e{tiny[0]}) and huge (up to 1e{huge[1]}) gradients "
                  f"({len(cases)} streams){' wherever the reference does' if has_ref else ''}")


def _first_difference(a: np.ndarray, b: np.ndarray) -> int:
    """The first step (row) where two trajectories differ, NaN equal to NaN."""
    differ = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    return int(np.argmax(differ.reshape(differ.shape[0], -1).any(axis=1)))


def _determinism(ctx: CheckContext) -> Outcome:
    rng = _rng(ctx, "det")
    hp = _hp(ctx)
    w0, grads = rng.normal(size=(3, 2)), rng.normal(size=(15, 3, 2))
    a = _traj(ctx.subject, hp, w0, grads)
    b = _traj(ctx.subject, hp, w0, grads)
    if not np.array_equal(a, b, equal_nan=True):
        t = _first_difference(a, b)
        c = compare(b, a, rtol=0.0, header="ACTUAL = second run, DESIRED = first run (same stream, fresh instances)")
        return failed(f"two fresh instances given the same stream gave different iterates from step {t} on: the target "
                      f"is not deterministic (randomness, or state carried between instances)\n{c}",
                      counterexample={"hyperparameters": hp, "w0": w0, "grads": grads})
    return passed("two fresh instances given the same 15-step stream return bit-identical iterates")


def _independence(ctx: CheckContext) -> Outcome:
    rng = _rng(ctx, "indep")
    hp = _hp(ctx)
    wa, wb = rng.normal(size=4), rng.normal(size=4) * 10
    ga, gb = rng.normal(size=(12, 4)), rng.normal(size=(12, 4)) * 5
    alone_a = _traj(ctx.subject, hp, wa, ga)
    alone_b = _traj(ctx.subject, hp, wb, gb)
    ra, rb = ctx.subject.make(**hp), ctx.subject.make(**hp)
    ra.init(np.array(wa))
    rb.init(np.array(wb))
    inter_a, inter_b = [wa], [wb]
    for x, y in zip(ga, gb):
        inter_a.append(ra.step(np.array(x)))
        inter_b.append(rb.step(np.array(y)))
    ia, ib = np.array(inter_a), np.array(inter_b)
    for name, got, want in (("first", ia, alone_a), ("second", ib, alone_b)):
        if not np.array_equal(got, want, equal_nan=True):
            t = _first_difference(got, want)
            c = compare(got, want, rtol=0.0, header=f"ACTUAL = {name} instance stepped alternately with another, "
                                                     "DESIRED = the same instance run alone")
            return failed(f"two instances interfere: stepping two optimizers alternately changes the {name} one's "
                          f"iterates from step {t} on (state shared between instances: a class attribute, a module "
                          f"global or a default argument)\n{c}", counterexample={"hyperparameters": hp})
    return passed("two instances stepped alternately give the same iterates as each run alone (no shared state)")


def _takes_params(run: Any) -> bool:
    """Whether ``run.step`` takes the caller's ``params`` (every run of this package does, and a proxy of one takes
    anything; a run written elsewhere may not)."""
    try:
        accepted = inspect.signature(run.step).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "params" or p.kind is p.VAR_KEYWORD for p in accepted)


def _no_mutation(ctx: CheckContext) -> Outcome:
    """The run watches every array it passes (NaN-aware); updating ``params`` in place to the new values is allowed."""
    run = ctx.subject.make(**_hp(ctx))
    if run.inputs is None:
        return skipped("the adapter cannot observe the arrays this target receives")
    rng = _rng(ctx, "mutation")
    params = rng.normal(size=(3, 2))
    run.init(params)
    hands = _takes_params(run)       # the caller's params, which the job shares with a target in another process
    for _ in range(3):
        grads = rng.normal(size=(3, 2))
        params = run.step(grads, params=params) if hands else run.step(grads)
    record = run.inputs
    if record.failures:
        return failed(record.failures[0])
    notes = []
    if record.notes:
        notes.append(f"{record.notes[0]}: not part of the formula, and harmless where gradients are recomputed "
                     "for every step (a training loop); a caller that reuses them would see the changed values")
    unchanged = "the params and state given are left unchanged" if record.notes else "the inputs are left unchanged"
    return unless_unseen(record, passed(f"{unchanged} over 3 steps ({record.watched})" + (
        "; params are updated in place to the new parameters (the caller's array holds them), which is allowed"
        if run.in_place else "") + ("; the gradients are modified in place (see the note)" if record.notes else ""),
        notes=notes))


def _shape_dtype(ctx: CheckContext) -> Outcome:
    hp = _hp(ctx)
    rng = _rng(ctx, "shape")
    checked = []
    for shape in ((5,), (2, 3), (1, 4, 2)):
        w0 = rng.normal(size=shape)
        run = ctx.subject.make(**hp)
        run.init(np.array(w0))
        for g in rng.normal(size=(3, *shape)):
            run.step(g)                      # the adapter validates the shape
        checked.append(shape)
        dtype = run.returned_dtype
        if dtype is not None and np.dtype(dtype).kind == "f" and np.dtype(dtype).itemsize < 8:
            return failed(f"given float64 params and grads of shape {shape}, the target returned dtype {dtype}: "
                          f"precision is lost (float32 keeps ~7 digits; every later step rounds to it)")
    return passed(f"new parameters keep the shape ({', '.join(map(str, checked))}) and the float64 dtype of the input")


# --------------------------------------------------------------- SGD: rates


def _at_step(ctx: CheckContext, lr: float, eigenvalues: Any) -> tuple[float, np.ndarray]:
    """``(lr, eigenvalues)`` for a property that needs step ``lr`` on a quadratic with ``eigenvalues``.

    On a quadratic everything depends on the products ``η·λ``: when ``lr`` is
    held, the held step is used and the eigenvalues are scaled by
    ``lr / lr_held`` instead, which is the same experiment.
    """
    eigs = np.asarray(eigenvalues, dtype=np.float64)
    if ctx.free("lr"):
        return lr, eigs
    held = float(ctx.params["lr"])
    return held, eigs * (lr / held)


def _rate_window(ctx: CheckContext, rate: float, steps: int = 400) -> tuple[int, int]:
    """Steps ``(start, end)`` over which to measure a linear rate: the second half of the run, shortened for a
    fast rate so that the error (about rateᵗ) stays where it is still represented exactly — above 1e-140 in
    float64 (its norm squares it), above 1e-25 for a target computing in float32 (normal down to 1e-38)."""
    floor = 1e-140 if _u(ctx) <= U else 1e-25
    end = steps if rate <= 0 or rate ** steps > floor else max(20, int(math.log(floor) / math.log(rate)))
    return end // 2, min(end, steps)


def _kappas_for(ctx: CheckContext, kappas: tuple[float, ...], mu_of_kappa: Callable[[float], float],
                kappa_of_mu: Callable[[float], float]) -> tuple[float, ...]:
    """The condition numbers a rate check runs at: its own, or the one whose optimal μ is the held momentum.

    Raises :class:`HeldParameterError` when the held μ gives no measurable rate (κ outside [2, 1e4]).
    """
    if ctx.free("momentum"):
        return kappas
    mu = float(ctx.params["momentum"])
    kappa = kappa_of_mu(mu) if 0.0 < mu < 1.0 else math.inf
    if not 2.0 <= kappa <= 1e4:
        raise HeldParameterError(f"this check needs momentum between {fmt(mu_of_kappa(2.0), 3)} and "
                                 f"{fmt(mu_of_kappa(1e4), 3)} (the optimal μ of a quadratic with κ from 2 to 1e4), "
                                 f"but momentum is held at {fmt(mu)} ({ctx.held['momentum'].why})")
    return (kappa,)


def _gd_stability(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d = symbolic.gd_stability_bound()
    curves, lines = {}, []
    for k, (base, seed) in enumerate((([1.0, 0.1, 0.3, 0.55], 1), ([40.0], 2))):
        max_lr = float(d.parts["max_lr"](max(base)))
        w0 = np.random.default_rng(seed).normal(size=len(base))
        for factor, want in ((0.95, "converge"), (1.05, "diverge")):
            lr, eigs = _at_step(ctx, factor * max_lr, base)
            q = cv.diag_quadratic(eigs, seed)
            traj = cv.closed_loop(ctx.subject, _hp(ctx, lr=lr), q, w0, 600)
            e = cv.errors(traj)
            curves[f"L = {fmt(q.L)}, η = {factor}·2/L"] = e
            ok = (e[-1] < 1e-8 * e[0]) if want == "converge" else (not np.isfinite(e[-1]) or e[-1] > 1e8 * e[0])
            lines.append(f"L = {fmt(q.L)}, η = {factor}·(2/L) = {fmt(lr)}: ‖e‖ {fmt(e[0])} → {fmt(e[-1])} in 600 steps")
            if not ok:
                return failed(f"GD with η = {factor}·2/L should {want} ({d.statement}, sympy) but did not:\n"
                              + "\n".join(lines), figures=[cv.rate_figure("gradient descent near η = 2/L", curves)],
                              counterexample={"eigenvalues": eigs, "lr": lr, "w0": w0})
    return passed(f"stable below and divergent above η = 2/L ({d.statement})", notes=lines,
                  figures=[cv.rate_figure("gradient descent near η = 2/L", curves)])


def _gd_rate(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d = symbolic.gd_optimal_rate()
    curves, lines, worst = {}, [], 0.0
    for kappa, seed in ((100.0, 3), (10.0, 4)):
        m, L = 1.0 / kappa, 1.0
        lr, rate = (float(x) for x in d.func(m, L))
        lr, eigs = _at_step(ctx, lr, [L, m, L, m])
        q = cv.diag_quadratic(eigs, seed)
        w0 = np.random.default_rng(seed).normal(size=4)
        traj = cv.closed_loop(ctx.subject, _hp(ctx, lr=lr), q, w0, 200)
        e = cv.errors(traj)
        meas = cv.measure_rate(e, rate, start=100, end=200, jordan=False, slack=max(1e-9, 1e3 * _u(ctx)))
        curves[f"κ = {fmt(kappa)}"] = e
        lines.append(f"κ = {fmt(kappa)}, η* = 2/(m + L) = {fmt(lr, 9)}: measured rate {fmt(meas.measured, 12)}, "
                     f"theory (κ − 1)/(κ + 1) = {fmt(rate, 12)}")
        worst = max(worst, abs(meas.measured - rate) / rate)
        if not meas.ok:
            return failed(f"GD at its optimal step converges at the wrong rate: measured {fmt(meas.measured, 12)}, "
                          f"theory {fmt(rate, 12)} ({d.statement}, sympy), allowed [{fmt(meas.low, 12)}, {fmt(meas.high, 12)}]\n"
                          + "\n".join(lines),
                          figures=[cv.rate_figure("GD at η* = 2/(m + L)", {f"κ = {fmt(kappa)}": e}, rate, e[0])],
                          metrics={"measured_rate": meas.measured, "theory": rate})
    return passed("linear rate at η* = 2/(m + L) equals (κ − 1)/(κ + 1) (relative difference "
                  f"{fmt(worst)})", notes=lines, metrics={"max_rel_diff": worst},
                  figures=[cv.rate_figure("GD at η* = 2/(m + L) (κ = 100)", {"measured": curves["κ = 100"]},
                                          float(d.func(0.01, 1.0)[1]), curves["κ = 100"][0])])


# ---------------------------------------------------------- momentum family


_HEAVY_BALL = ("the iterates are sympy's Sutskever w_t (v ← μv − ηg, w ← w + v), which is heavy-ball momentum: the "
               "caller takes the next gradient at the parameters returned, never at a look-ahead point w_t + μv_t. "
               "Return the look-ahead point (PyTorch's form b ← μb + g, w ← w − η(g + μb))")


def _symbolic_iterates(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    spec = ctx.spec.name
    steps = 6
    d = symbolic.momentum_iterates(steps) if spec == "momentum" else symbolic.nesterov_iterates(steps)
    main = d.parts["pytorch"]
    sutskever = d.parts.get("sutskever")
    seen = {"n": 0, "heavy_ball": False, "moved": False, "hp": {}}
    kinds = ("gaussian", "constant", "sign-flips", "tiny", "large", "mixed-scales")
    strategy = st.tuples(vst.hyperparameters(spec, **ctx.pinned).filter(ctx.admits),
                         st.builds(conf.Recipe, kind=st.sampled_from(kinds), steps=st.just(steps),
                                   shape=st.just((3,)), seed=st.integers(0, 2 ** 16)))

    def test(pair):
        hp, recipe = pair
        ex = conf.build_example(ctx.reference, hp, recipe)
        got = _traj(ctx.subject, hp, ex.w0, ex.grads)
        args = [ex.w0, hp["lr"], hp["momentum"], *ex.grads]
        want = main(*args)
        mag = np.abs(main(np.abs(ex.w0), hp["lr"], hp["momentum"], *(-np.abs(ex.grads))))
        tol = 64 * _u(ctx) * mag + _model_tol(ctx, algorithms.get(spec), hp, ex.w0, ex.grads)
        seen["n"] += 1
        seen["hp"] = hp
        seen["moved"] = seen["moved"] or not _unmoved(ex.w0, want, tol)
        c = compare(got, want, rtol=0.0, tol=tol,
                    header=f"ACTUAL = target's iterates, DESIRED = sympy's {d.name} (lambdified); index = (step, entry)")
        if c.ok:
            return None
        seen["heavy_ball"] = sutskever is not None and compare(got, sutskever(*args), rtol=0.0, tol=tol).ok
        return (f"the target's iterates differ from sympy's {d.statement} "
                f"(hyperparameters {_hp_text(hp)}, {recipe.kind} stream)\n{c}")

    found = falsify(strategy, test, seed=ctx.int_seed("symbolic"), max_examples=max(10, ctx.max_examples // 3))
    if found:
        diagnosis = (_HEAVY_BALL if seen["heavy_ball"] else None)
        return found_to_outcome(found, found.message + (f"\nDiagnosis: {diagnosis}" if diagnosis else ""),
                                diagnosis=diagnosis)
    if not seen["moved"]:
        return _no_evidence(seen["hp"], "on every drawn example")
    return passed(f"iterates equal sympy's {steps}-step symbolic iterates ({d.statement}) on {seen['n']} drawn examples",
                  metrics={"examples": seen["n"]})


def _heavy_ball_rate(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d = symbolic.heavy_ball_optimal()
    curves, lines = {}, []
    kappas = _kappas_for(ctx, (100.0, 16.0), lambda k: ((math.sqrt(k) - 1) / (math.sqrt(k) + 1)) ** 2,
                         lambda mu: ((1 + math.sqrt(mu)) / (1 - math.sqrt(mu))) ** 2)
    for kappa, seed in zip(kappas, (5, 6)):
        m, L = 1.0 / kappa, 1.0
        lr, mu, rate = (float(x) for x in d.func(m, L))
        if not ctx.free("momentum"):
            mu = float(ctx.params["momentum"])   # equal to the optimal μ up to rounding
        lr, eigs = _at_step(ctx, lr, [L, m, (L + m) / 2])
        q = cv.diag_quadratic(eigs, seed)
        w0 = np.random.default_rng(seed).normal(size=3)
        e = cv.errors(cv.closed_loop(ctx.subject, _hp(ctx, lr=lr, momentum=mu), q, w0, 400))
        start, end = _rate_window(ctx, rate)
        meas = cv.measure_rate(e, rate, start=start, end=end, jordan=True, slack=2e-3)
        curves[f"κ = {fmt(kappa)}"] = (e, rate)
        lines.append(f"κ = {fmt(kappa)}: η = {fmt(lr, 9)}, μ = {fmt(mu, 9)}; measured rate {fmt(meas.measured, 9)}, "
                     f"theory (√κ − 1)/(√κ + 1) = {fmt(rate, 9)} (allowed [{fmt(meas.low, 9)}, {fmt(meas.high, 9)}] "
                     "for the double eigenvalue)")
        if not meas.ok:
            return failed(f"heavy ball at its optimal parameters converges at the wrong rate ({d.statement}, sympy):\n"
                          + "\n".join(lines), metrics={"measured_rate": meas.measured, "theory": rate},
                          figures=[cv.rate_figure(f"heavy ball, κ = {fmt(kappa)}", {"measured": e}, rate, e[0])])
    (shown, (e, rate)), = list(curves.items())[:1]
    return passed("linear rate at the optimal η, μ equals (√κ − 1)/(√κ + 1)", notes=lines,
                  figures=[cv.rate_figure(f"heavy ball at the optimal η, μ ({shown})", {"measured": e}, rate, e[0])])


def _heavy_ball_stability(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d = symbolic.heavy_ball_stability()
    curves, lines = {}, []
    w0 = np.random.default_rng(7).normal(size=3)
    for mu in ((0.5, 0.9) if ctx.free("momentum") else (float(ctx.params["momentum"]),)):
        # Below the limit the error contracts by about √μ per step (complex roots): long enough for a 1e-8 decrease.
        steps = 800 if mu <= 0.9 else int(1.5 * 2 * math.log(1e-10) / math.log(mu))
        if steps > 20000:
            raise HeldParameterError(f"this check needs momentum ≤ 0.998 (above, convergence below the stability "
                                     f"limit takes more than 20000 steps to show), but momentum is held at {fmt(mu)} "
                                     f"({ctx.held['momentum'].why})")
        max_lr = d.parts["max_lr"](1.0, mu)
        for factor, want in ((0.9, "converge"), (1.1, "diverge")):
            lr, eigs = _at_step(ctx, factor * max_lr, [1.0, 0.1, 0.4])
            q = cv.diag_quadratic(eigs, 7)
            e = cv.errors(cv.closed_loop(ctx.subject, _hp(ctx, lr=lr, momentum=mu), q, w0, steps))
            curves[f"μ = {mu}, η = {factor}·2(1 + μ)/L"] = e
            ok = (e[-1] < 1e-8 * e[0]) if want == "converge" else (not np.isfinite(e[-1]) or e[-1] > 1e8 * e[0])
            lines.append(f"μ = {mu}, η = {factor}·2(1 + μ)/L = {fmt(lr)}: ‖e‖ {fmt(e[0])} → {fmt(e[-1])} in {steps} "
                         "steps")
            if not ok:
                return failed(f"heavy ball should {want} at η = {factor}·2(1 + μ)/L ({d.statement}, sympy) but did not:\n"
                              + "\n".join(lines), figures=[cv.rate_figure("heavy ball near its stability limit", curves)])
    return passed(f"stable below and divergent above η = 2(1 + μ)/L ({d.statement})", notes=lines,
                  figures=[cv.rate_figure("heavy ball near its stability limit", curves)])


def _is_heavy_ball(ctx: CheckContext, hp: Mapping[str, Any]) -> bool:
    """Whether the target's iterates are heavy ball's (= Sutskever's w_t) on a fixed gradient stream."""
    ex = conf.build_example(ctx.reference, hp, conf.Recipe("gaussian", 8, (3,), 77))
    v = conf.judge("nesterov", ctx.subject, ctx.reference, ex)
    if v.ok:
        return False
    case = dg.Case(dict(v.example.hparams), v.example.w0, v.example.grads, v.target, v.reference, v.tol)
    return "nesterov/heavy-ball" in dg.diagnose("nesterov", [case], fit=False).matched_names


def _nesterov_rate(ctx: CheckContext) -> Outcome:
    """Closed loop under the protocol's contract: each gradient is taken at the parameters the target returned.

    A target in Sutskever's form (returning w_t, not the look-ahead point) is then
    heavy ball — the two are the same code; only where the caller evaluates the
    gradient differs — and converges at heavy ball's rate, not Nesterov's. The
    failure says so and shows the rate it would reach with look-ahead gradients.
    """
    from verify import symbolic

    d = symbolic.nesterov_optimal()
    curves, lines = {}, []
    kappas = _kappas_for(ctx, (100.0, 25.0), lambda k: (math.sqrt(k) - 1) / (math.sqrt(k) + 1),
                         lambda mu: ((1 + mu) / (1 - mu)) ** 2)
    for kappa, seed in zip(kappas, (8, 9)):
        m, L = 1.0 / kappa, 1.0
        lr, mu, rate = d.parts["params"](m, L)
        if not ctx.free("momentum"):
            mu = float(ctx.params["momentum"])   # equal to the optimal μ up to rounding
        lr, eigs = _at_step(ctx, lr, [L, m, 0.3 if m <= 0.3 else (L + m) / 2])
        hp = _hp(ctx, lr=lr, momentum=mu)
        q = cv.diag_quadratic(eigs, seed)
        w0 = np.random.default_rng(seed).normal(size=3)
        e = cv.errors(cv.closed_loop(ctx.subject, hp, q, w0, 400))
        start, end = _rate_window(ctx, rate)
        meas = cv.measure_rate(e, rate, start=start, end=end, jordan=True, slack=2e-3)
        curves[f"κ = {fmt(kappa)}"] = (e, rate)
        lines.append(f"κ = {fmt(kappa)}: η = 1/L, μ = {fmt(mu, 9)}; measured rate {fmt(meas.measured, 9)}, "
                     f"theory 1 − 1/√κ = {fmt(rate, 9)} (allowed [{fmt(meas.low, 9)}, {fmt(meas.high, 9)}])")
        if not meas.ok:
            diagnosis = None
            if _is_heavy_ball(ctx, hp):
                look = cv.errors(_sutskever_to_lookahead(
                    cv.closed_loop(ctx.subject, hp, q, w0, 400, lookahead=mu), hp))
                with_look = cv.window_rate(look, start, end)
                diagnosis = (f"the target is heavy-ball momentum — or, the same code, Sutskever's form returning w_t "
                             f"rather than the look-ahead point w_t + μv_t: with gradients taken at the parameters it "
                             f"returns, as every protocol here does, it converges at heavy ball's rate. Only a caller that "
                             f"evaluates gradients at w_t + μv_t gets Nesterov's rate (measured {fmt(with_look, 9)} that "
                             f"way); return the look-ahead point instead (PyTorch's form b ← μb + g, w ← w − η(g + μb))")
            return failed(f"Nesterov at η = 1/L, μ = (√κ − 1)/(√κ + 1) converges at the wrong rate (sympy: {d.statement}):\n"
                          + "\n".join(lines) + (f"\nDiagnosis: {diagnosis}" if diagnosis else ""),
                          diagnosis=diagnosis, metrics={"measured_rate": meas.measured, "theory": rate},
                          figures=[cv.rate_figure(f"Nesterov, κ = {fmt(kappa)}", {"measured": e}, rate, e[0])])
    (shown, (e, rate)), = list(curves.items())[:1]
    return passed("linear rate at η = 1/L, μ = (√κ − 1)/(√κ + 1) equals 1 − 1/√κ (gradients at the returned parameters)",
                  notes=lines, figures=[cv.rate_figure(f"Nesterov ({shown})", {"measured": e}, rate, e[0])])


# ------------------------------------------------------------- weight decay


def _decay_strength(ctx: CheckContext, name: str, fallback: float) -> float:
    """The run's decay strength ``name`` when positive, else ``fallback``; a decay held at 0 skips the check."""
    value = float(ctx.params[name])
    if value > 0:
        return value
    if ctx.free(name):
        return fallback
    raise HeldParameterError(f"this check needs {name} > 0 (at {name} = 0 there is no decay to check), but {name} "
                             f"is held at 0 ({ctx.held[name].why})")


def _positive_momentum(ctx: CheckContext, fallback: float) -> float:
    mu = float(ctx.params["momentum"])
    if mu > 0:
        return mu
    if ctx.free("momentum"):
        return fallback
    raise HeldParameterError(f"this check needs momentum > 0 (it is about the decay entering the momentum buffer), "
                             f"but momentum is held at 0 ({ctx.held['momentum'].why})")


def _decay_factor(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    fac, bound = symbolic.weight_decay_factor(), symbolic.weight_decay_bound()
    rows, rng = [], _rng(ctx, "factor")
    lr0, lam0 = float(ctx.params["lr"]), float(ctx.params["lam"])
    if not ctx.free("lam") and lam0 == 0:
        _decay_strength(ctx, "lam", 0.0)      # held at 0: no decay to check (skips)
    # ηλ across the bound 1/2; with η and λ both held, only their own product.
    grid = (lr0 * lam0,) if not ctx.free("lr", "lam") and not (ctx.free("lr") or ctx.free("lam")) else \
        (0.01, 0.25, 0.49, 0.5, 0.51, 0.75, 1.5)
    mus = sorted({ctx.params["momentum"], 0.9}) if ctx.free("momentum") else [ctx.params["momentum"]]
    for mu in mus:
        for p in grid:
            lr, lam = (lr0, p / lr0) if ctx.free("lam") else (p / lam0, lam0)
            w0 = rng.normal(size=5) * 10.0 ** rng.uniform(-2, 2, size=5)
            w1 = _traj(ctx.subject, _hp(ctx, lr=lr, lam=lam, momentum=mu), w0, np.zeros((1, 5)))[1]
            want = float(fac.func(lr, lam))
            tol = 8 * _u(ctx) * (1 + 2 * lr * lam) * np.abs(w0)
            c = compare(w1, w0 * want, rtol=0.0, tol=tol,
                        header=f"ACTUAL = w_1 with g = 0, DESIRED = (1 − 2ηλ)·w_0 = {fmt(want, 12)}·w_0 (sympy)")
            measured = float(np.median(w1 / w0))
            inside = bool(bound.func(lr, lam))
            rows.append(f"μ = {fmt(mu)}, ηλ = {fmt(p)}: factor {fmt(measured, 12)} (sympy {fac.statement.split('= ')[-1]} = "
                        f"{fmt(want, 12)}), in (0, 1): {0 < measured < 1} (sympy bound: {inside})")
            if not c.ok:
                hint = _factor_hint(measured, lr, lam)
                return failed(f"the weight-decay factor at ηλ = {fmt(p)} (η = {fmt(lr)}, λ = {fmt(lam)}, μ = {fmt(mu)}) "
                              f"is {fmt(measured, 12)}, not 1 − 2ηλ = {fmt(want, 12)}{hint}\n{c}",
                              diagnosis=f"the factor is {hint[2:]}" if hint else None,
                              counterexample={"lr": lr, "lam": lam, "momentum": mu, "w0": w0},
                              metrics={"measured_factor": measured, "expected_factor": want})
            if (0 < measured < 1) != inside:
                return failed(f"the factor {fmt(measured)} at ηλ = {fmt(p)} contradicts sympy's bound {bound.statement}")
    return passed(f"the first step with g = 0 multiplies w by 1 − 2ηλ ({fac.statement}); it lies in (0, 1) exactly when "
                  f"{bound.statement.split('⇔ ')[-1]}", notes=rows)


def _decay_gradient(ctx: CheckContext) -> Outcome:
    """The decay the target applies is the gradient of λΣw², by the finite-difference checker.

    From a fresh state with g = 0 the first step is w − η·(decay term) for any
    momentum (the buffer starts empty), so (w − w₁)/η is the target's gradient
    of the penalty, compared with finite differences of λΣw².
    """
    from verify.gradcheck import check_grad, error_vs_step

    lr = ctx.params["lr"]
    lam = _decay_strength(ctx, "lam", 0.01)   # with λ = 0 there is no decay to check
    hp = _hp(ctx, lam=lam)
    rng = _rng(ctx, "decay-gradient")

    def implied(w: np.ndarray) -> np.ndarray:
        w1 = _traj(ctx.subject, hp, w, np.zeros((1,) + w.shape))[1]
        return (w - w1) / lr

    def penalty(w: np.ndarray) -> float:
        return lam * float(np.sum(w * w))

    points = [rng.normal(size=n) * 10.0 ** rng.uniform(-2, 2) for n in (3, 17, 40)]
    figure = error_vs_step(penalty, implied, points[0], seed=ctx.int_seed("v-curve")).figure(
        "Finite-difference error of the implied penalty gradient (w − w₁)/η against step size")
    evals = 0
    for i, w in enumerate(points):
        r = check_grad(penalty, implied, w, seed=ctx.int_seed("gradcheck", i), **ctx.gradcheck)
        evals += r.n_evals
        if r.inconclusive:
            return inconclusive(f"finite differences of λΣw² cannot decide the decay the target applies "
                                f"(n = {w.size}): {r.reason}", metrics={"function_evals": evals}, figures=[figure])
        if not r.passed:
            return failed(f"the decay the target applies, (w − w₁)/η with g = 0, is not the gradient of λΣw² "
                          f"(η = {fmt(lr)}, λ = {fmt(lam)}, n = {w.size}):\n{r}", diagnosis=r.diagnosis,
                          counterexample={"lr": lr, "lam": lam, "w0": w}, figures=[figure],
                          metrics={"max_rel_error": r.max_rel_error, "function_evals": evals})
    return passed(f"the decay the target applies is the gradient of λΣw² (2λw) by finite differences at "
                  f"{len(points)} points ({evals} evaluations of the penalty)", figures=[figure],
                  metrics={"function_evals": evals})


def _factor_hint(measured: float, lr: float, lam: float) -> str:
    hints = {1 - lr * lam: ": 1 − ηλ, a factor 2 in λ (the gradient of (λ/2)Σw²)",
             1 - 4 * lr * lam: ": 1 − 4ηλ, the factor 2 applied twice",
             1 - 2 * lam: ": 1 − 2λ, the decay is not multiplied by η",
             1 + 2 * lr * lam: ": 1 + 2ηλ, the decay has the wrong sign", 1.0: ": no decay at all"}
    for value, text in hints.items():
        if abs(measured - value) <= 1e-9 * max(1.0, abs(value)):
            return text
    return ""


def _l2_equals_decoupled(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d = symbolic.l2_sgd_step()
    lam = _decay_strength(ctx, "lam", 0.05)
    hp = _hp(ctx, lam=lam, momentum=0.0)
    rng = _rng(ctx, "l2dec")
    for k in range(3):
        w0, grads = rng.normal(size=4), rng.normal(size=(20, 4)) * 10.0 ** rng.uniform(-2, 2)
        got = _traj(ctx.subject, hp, w0, grads)
        want = [w0]
        for g in grads:
            want.append(d.func(want[-1], g, hp["lr"], lam))
        want = np.array(want)
        dec = conf.trajectory(_ref_subject("weight-decay", decoupled=True), conf.Example(hp, w0, grads))
        tol = _model_tol(ctx, WEIGHT_DECAY, hp, w0, grads)
        c = compare(got, want, rtol=0.0, tol=tol, header=f"ACTUAL = target (μ = 0), DESIRED = iterated sympy step {d.statement}")
        if not c.ok:
            return failed(f"without momentum the L2 step must be w(1 − 2ηλ) − ηg, the decoupled step, but the target's "
                          f"iterates differ (η = {fmt(hp['lr'])}, λ = {fmt(lam)})\n{c}",
                          counterexample={"hyperparameters": hp, "w0": w0, "grads": grads})
        if not compare(dec, want, rtol=0.0, tol=tol).ok:  # pragma: no cover - the reference's own consistency
            raise AssertionError("reference decoupled step disagrees with sympy")
    return passed(f"with μ = 0 the target's iterates are the decoupled step {d.statement} (sympy), 3 streams of 20 steps")


def _ref_subject(spec: str, **fixed: Any) -> Any:
    from verify.adapters.protocol import optimizers as numpy_protocol

    factory = algorithms.get(spec).reference
    return numpy_protocol.optimizer(lambda **hp: factory(**hp, **fixed), "reference")


def _coupled_with_momentum(ctx: CheckContext) -> Outcome:
    import sympy as sp

    w0s, lr_s, lam_s, mu_s = sp.symbols("w0 eta lambda mu", real=True)
    w, b = w0s, sp.Integer(0)
    coupled = []
    for _ in range(3):
        b = mu_s * b + 2 * lam_s * w
        w = sp.expand(w - lr_s * b)
        coupled.append(w)
    decoupled = [w0s * (1 - 2 * lr_s * lam_s) ** t for t in (1, 2, 3)]
    gap = sp.factor(coupled[1] - sp.expand(decoupled[1]))
    f_c = sp.lambdify((w0s, lr_s, lam_s, mu_s), coupled, "numpy")
    f_d = sp.lambdify((w0s, lr_s, lam_s, mu_s), decoupled, "numpy")
    lr = ctx.params["lr"]
    lam = _decay_strength(ctx, "lam", 0.05)
    mu = _positive_momentum(ctx, 0.9)
    hp = _hp(ctx, lam=lam, momentum=mu)
    w0 = _rng(ctx, "coupled").normal(size=4) * 3
    got = _traj(ctx.subject, hp, w0, np.zeros((3, 4)))[1:]
    want = np.array(f_c(w0, lr, lam, mu))
    dec = np.array(f_d(w0, lr, lam, mu))
    tol = 16 * _u(ctx) * np.abs(w0) * (1 + 2 * lr * lam) ** 3 * (1 + mu) ** 2
    c = compare(got, want, rtol=0.0, tol=tol, header="ACTUAL = target with g = 0, DESIRED = coupled L2 with momentum (sympy)")
    if not c.ok:
        also = " — they are the decoupled iterates w_0(1 − 2ηλ)ᵗ: the decay bypasses the momentum buffer" if compare(
            got, dec, rtol=0.0, tol=tol).ok else ""
        return failed(f"with momentum μ = {fmt(mu)} the decay must enter the buffer (coupled L2): step 2 differs from the "
                      f"decoupled form by {gap} (sympy), but the target's iterates with g = 0 are not the coupled ones{also}\n{c}",
                      diagnosis=also[3:] if also else None,
                      counterexample={"hyperparameters": hp, "w0": w0, "grads": "3 zero gradients"})
    return passed(f"with μ = {fmt(mu)} and g = 0 the target follows coupled L2 (w_2 − w_2(decoupled) = {gap}, sympy)")


# ------------------------------------------------------------- sign methods


def _scale_invariance(ctx: CheckContext) -> Outcome:
    spec = ctx.spec.name
    hp = _hp(ctx)
    rng = _rng(ctx, "scale")
    for kind in ("gaussian", "sparse", "sign-flips"):
        g = open_loop_stream(kind, 25, (4,), rng)
        w0 = rng.normal(size=4)
        base = _traj(ctx.subject, hp, w0, g)
        tol = _model_tol(ctx, algorithms.get(spec), hp, w0, g) * 2
        for c_ in (1e-8, 0.37, 3.0, 1e8):
            got = _traj(ctx.subject, hp, w0, c_ * g)
            c = compare(got, base, rtol=0.0, tol=tol,
                        header=f"ACTUAL = iterates on c·g with c = {fmt(c_)}, DESIRED = iterates on g")
            if not c.ok:
                return failed(f"{spec} must ignore the gradient's magnitude, but scaling the gradients by c = {fmt(c_)} "
                              f"changed the iterates ({kind} stream)\n{c}",
                              counterexample={"hyperparameters": hp, "w0": w0, "grads": g, "c": c_})
    return passed("scaling every gradient by c ∈ {1e-8, 0.37, 3, 1e8} leaves the iterates unchanged (3 streams)")


def _sign_step(ctx: CheckContext) -> Outcome:
    hp = _hp(ctx)
    rng = _rng(ctx, "signstep")
    g = rng.normal(size=(20, 5)) * 10.0 ** rng.uniform(-6, 6, size=(20, 5))
    w0 = rng.normal(size=5)
    traj = _traj(ctx.subject, hp, w0, g)
    steps = np.diff(traj, axis=0)
    want = -hp["lr"] * np.sign(g)
    tol = 4 * _u(ctx) * (np.abs(traj[1:]) + np.abs(traj[:-1]))
    c = compare(steps, want, rtol=0.0, tol=tol, header="ACTUAL = w_t − w_(t−1), DESIRED = −η sgn(g_t) = −η g/√(g²)")
    if not c.ok:
        return failed(f"each step must be −η sgn(g) (magnitude η = {fmt(hp['lr'])} whatever |g|)\n{c}",
                      counterexample={"hyperparameters": hp, "w0": w0, "grads": g})
    if _unmoved(0.0, want, tol):
        return _no_evidence(hp, "with gradients from 1e-6 to 1e6")
    return passed("every step is −η sgn(g): magnitude exactly η for gradients from 1e-6 to 1e6")


def _rprop_bounds(ctx: CheckContext) -> Outcome:
    # Bounds close to the initial step so both are reached quickly, unless the run holds them.
    wanted = {"lr": 0.01, "min_step_size": 1e-4, "max_step_size": 0.05}
    hp = _hp(ctx, **{k: v for k, v in wanted.items() if ctx.free(k)})
    ep, em = hp["eta_plus"], hp["eta_minus"]
    lr, lo, hi = hp["lr"], hp["min_step_size"], hp["max_step_size"]
    # Long enough to grow from η to Δmax and (two steps per halving on an alternating stream) shrink to Δmin.
    grow = math.log(hi / lr) / math.log(ep) if hi > lr else 0.0
    shrink = 2 * math.log(max(lr, hi) / lo) / math.log(1 / em) if lo > 0 else 0.0
    n = int(min(2000, max(60, grow + 10, shrink + 10)))
    same = np.ones((n, 2)) * np.array([1.0, -3.0])
    alt = np.where(np.arange(n)[:, None] % 2 == 0, 1.0, -1.0) * np.array([2.0, -0.5])
    w0 = np.zeros(2)
    traj = _traj(ctx.subject, hp, w0, same)
    s_same = np.abs(np.diff(traj, axis=0))
    expected = np.clip(lr * ep ** np.arange(n), lo, hi)[:, None] * np.ones(2)
    # A step measured as w_t − w_(t−1) carries the rounding of w itself.
    c = compare(s_same, expected, rtol=0.0,
                tol=8 * n * _u(ctx) * expected + 8 * _u(ctx) * (np.abs(traj[1:]) + np.abs(traj[:-1])),
                header="ACTUAL = |w_t − w_(t−1)| on a same-sign stream, DESIRED = clip(η·η⁺^(t−1), Δmin, Δmax)")
    fig = Figure("Rprop step sizes", "step t", "|Δw_t|", [Series("same-sign stream", list(range(1, n + 1)), s_same[:, 0].tolist())],
                 yscale="log")
    if not c.ok:
        return failed(f"on a same-sign stream the step sizes must grow by η⁺ = {fmt(ep)} per step up to Δmax = "
                      f"{fmt(hp['max_step_size'])} and stay there\n{c}", figures=[fig],
                      counterexample={"hyperparameters": hp, "grads": f"constant sign, {n} steps"})
    traj_alt = _traj(ctx.subject, hp, w0, alt)
    s_alt = np.abs(np.diff(traj_alt, axis=0))
    slack = 8 * _u(ctx) * float(np.abs(traj_alt).max(initial=0.0))
    fig.series.append(Series("alternating stream", list(range(1, n + 1)), np.maximum(s_alt[:, 0], 1e-300).tolist(), style="points"))
    nz = s_alt[s_alt > 0]
    if nz.size and (nz.min() < lo * (1 - 1e-12) - slack or nz.max() > hi * (1 + 1e-12) + slack):
        return failed(f"on an alternating-sign stream a step of size {fmt(nz.min() if nz.min() < lo else nz.max())} "
                      f"left the bounds [Δmin, Δmax] = [{fmt(lo)}, {fmt(hi)}]", figures=[fig],
                      counterexample={"hyperparameters": hp, "grads": f"alternating signs, {n} steps"})
    # With Δmin = 0 the step sizes shrink without end: they must at least have shrunk by η⁻ five times.
    reached = nz.size and ((abs(nz[-1] - lo) <= 1e-12 * lo + slack) if lo > 0 else (nz[-1] <= nz[0] * em ** 5))
    if not reached:
        return failed(f"on an alternating-sign stream the step size must shrink by η⁻ = {fmt(em)} per sign change "
                      f"down to Δmin = {fmt(lo)}; the last non-zero step was {fmt(nz[-1]) if nz.size else 'none'}",
                      figures=[fig], counterexample={"hyperparameters": hp})
    return passed(f"step sizes grow to Δmax = {fmt(hi)} on a same-sign stream and shrink to Δmin = {fmt(lo)} on an "
                  "alternating one, never leaving the bounds", figures=[fig])


def _minibatch(ctx: CheckContext) -> Outcome:
    """Hinton's mini-batch stream: Rprop drifts, RMSprop stays put."""
    from verify.problems import minibatch_stream

    spec = ctx.spec.name
    changes = {} if spec == "rprop" or not ctx.free("rho") else {"rho": 0.9}
    if spec == "rmsprop":     # Hinton's property is of RMSprop without momentum (a buffer carries the steps on)
        changes["momentum"] = 0.0
    hp = _hp(ctx, **changes)
    grads = minibatch_stream(200, (1,))
    rms_hp = {"lr": hp["lr"], "rho": hp.get("rho", 0.9), "eps": hp.get("eps", 1e-8)}
    if spec == "rmsprop":     # the reference in the run's own centring, momentum and ε convention
        rms_hp = {**rms_hp, **{k: hp[k] for k in ("momentum", "centered", "eps_in_sqrt", "form") if k in hp}}
    ref_rms = _traj(_ref_subject("rmsprop"), rms_hp, np.zeros(1), grads)
    if spec == "rmsprop" and cv.drift_ratio(ref_rms) > 0.3:
        held = ", ".join(f"{k} is held at {fmt(hp[k]) if isinstance(hp[k], float) else hp[k]} ({ctx.held[k].why})"
                         for k in ("rho", "centered", "eps_in_sqrt", "eps", "lr") if k in ctx.held)
        raise HeldParameterError(f"this check needs hyperparameters at which RMSprop stays put on the stream "
                                 f"+0.1 ×9, −0.9 ×1 (ρ = 0.9 does), but {held or 'they are held'}, where "
                                 f"the reference itself drifts (drift ratio {fmt(cv.drift_ratio(ref_rms))})")
    traj = _traj(ctx.subject, hp, np.zeros(1), grads)
    ratio = cv.drift_ratio(traj)
    ref_rprop = _traj(_ref_subject("rprop"), {"lr": hp["lr"], "eta_minus": 0.5, "eta_plus": 1.2,
                                              "min_step_size": 1e-6, "max_step_size": 50.0}, np.zeros(1), grads)
    fig = Figure("the mini-batch stream +0.1 ×9, −0.9 ×1", "step t", "w_t", [
        Series("target", list(range(201)), traj[:, 0].tolist()),
        Series(f"reference RMSprop (ρ = {fmt(rms_hp['rho'])})", list(range(201)), ref_rms[:, 0].tolist(), style="dashed"),
        Series("reference Rprop", list(range(201)), ref_rprop[:, 0].tolist(), style="dashed")])
    text = (f"net displacement {fmt(traj[-1, 0] - traj[0, 0])} over a path of length "
            f"{fmt(np.abs(np.diff(traj[:, 0])).sum())} (drift ratio {fmt(ratio)}) in 20 periods of "
            "+0.1 ×9, −0.9 ×1 (mean gradient 0)")
    if spec == "rprop":
        if ratio < 0.5:
            return failed(f"Rprop must drift on this stream (it takes the sign of each mini-batch's gradient: nine steps one "
                          f"way, at most one back), but the target's {text}", figures=[fig], metrics={"drift_ratio": ratio})
        return passed(f"Rprop drifts as the lecture says: {text}", figures=[fig], metrics={"drift_ratio": ratio})
    rho = fmt(hp["rho"])
    if ratio > 0.3:
        return failed(f"RMSprop (ρ = {rho}) must stay put on this stream (it divides by a running RMS, the same on every "
                      f"mini-batch), but the target's {text}", figures=[fig], metrics={"drift_ratio": ratio})
    return passed(f"RMSprop (ρ = {rho}) stays put: {text}", figures=[fig], metrics={"drift_ratio": ratio})


# -------------------------------------------------------------- adaptive


def _constant_gradient_grads() -> np.ndarray:
    return np.array([1.0, -3e-8, 1e-10, 5e5, -2.5, 7e-5])


def _unmoved(w0: np.ndarray, want: np.ndarray, tol: Any) -> bool:
    """Whether iterates that never leave ``w0`` would agree with ``want`` within ``tol`` (every step lost in the
    tolerance, as with a held lr of 1e-300): agreement then shows nothing, the check is inconclusive."""
    return compare(np.broadcast_to(w0, np.shape(want)), want, rtol=0.0, tol=tol).ok


def _no_evidence(hp: dict, what: str) -> Outcome:
    return inconclusive(f"{what} at these hyperparameters ({_hp_text(hp)}) every step is within the tolerance: a "
                        "target that never moves agrees as well, so agreement shows nothing; check it with a larger "
                        "lr (--param lr=...)")


def _compare_constant(ctx: CheckContext, spec: str, hp: dict, want_steps: np.ndarray, what: str,
                      source: str, want_err: np.ndarray | float = 0.0) -> Outcome | None:
    """Target vs ``w0 + cumsum(want_steps)``; ``want_err`` bounds the closed form's own evaluation error per step."""
    g = _constant_gradient_grads()
    T = want_steps.shape[0]
    grads = np.broadcast_to(g, (T, g.size)).copy()
    w0 = np.linspace(-1.0, 1.0, g.size)
    got = _traj(ctx.subject, hp, w0, grads)
    want = np.concatenate([w0[None], w0 + np.cumsum(want_steps, axis=0)])
    own = np.broadcast_to(np.asarray(want_err, dtype=np.float64), want_steps.shape)
    tol = (_model_tol(ctx, algorithms.get(spec), hp, w0, grads)
           + 8 * _u(ctx) * np.cumsum(np.abs(np.concatenate([w0[None], want_steps])), axis=0) * 2
           + tolmod.SAFETY * np.cumsum(np.concatenate([np.zeros_like(w0)[None], own]), axis=0))
    c = compare(got, want, rtol=0.0, tol=tol, header=f"ACTUAL = target's iterates, DESIRED = {source}")
    if c.ok and _unmoved(w0, want, tol):
        return _no_evidence(hp, "with a constant gradient")
    if c.ok:
        return None
    return failed(f"with a constant gradient {what} (hyperparameters {_hp_text(hp)})\n{c}",
                  counterexample={"hyperparameters": hp, "w0": w0, "g (every step)": g, "steps": T})


def _adam_constant(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d = symbolic.adam_constant_gradient()
    spec = ctx.spec.name
    # adam's closed form is without its (coupled) decay; adamw's carries the decoupled decay.
    base = {"weight_decay": 0.0} if spec == "adam" else {}
    _hp(ctx, **base)   # a held non-zero decay skips the check
    configs = [c for c in ({}, {"eps": 1.0}, {"b1": 0.0, "b2": 0.99999}, {"b1": 0.99, "b2": 0.5},
                           {"eps": 1e-12, "b2": 0.9}) if ctx.allows(**c)]
    t = np.arange(1, 31, dtype=float)[:, None]
    g = _constant_gradient_grads()
    placement = ctx.params.get("eps_placement", "outside")
    part, form = {"outside": ("step", "−η g/(|g| + ε)"), "inside": ("step_inside", "−η g/√(g² + ε)"),
                  "hat": ("step_hat", "−η √(1 − β2ᵗ) g/(√(1 − β2ᵗ)|g| + ε)")}[placement]
    for extra in configs:
        hp = _hp(ctx, **extra, **base)
        steps = d.parts[part](g, hp["lr"], hp["b1"], hp["b2"], hp["eps"], t)
        own = 0.0
        if placement == "hat":   # 1 − β2ᵗ evaluated in floating point loses ~u·β2ᵗ/(1 − β2ᵗ) (β2 near 1)
            b2_t = hp["b2"] ** t
            own = np.abs(steps) * 4 * U * (1 + t * b2_t / np.maximum(1 - b2_t, 1e-300))
        if spec == "adamw" and hp["weight_decay"] and placement == "hat":
            # ε̂'s step varies with t: w_(t+1) = (1 − ηλ)w_t + d_t unrolled (rsolve's closed form is for constant d)
            w = [np.linspace(-1.0, 1.0, g.size)]
            for d_t in steps:
                w.append((1 - hp["lr"] * hp["weight_decay"]) * w[-1] + d_t)
            steps = np.diff(np.array(w), axis=0)
        elif spec == "adamw" and hp["weight_decay"]:
            steps = _decayed_steps(hp, steps, np.linspace(-1.0, 1.0, g.size))
        what = (f"every step must be {form}" if spec == "adam" or not hp["weight_decay"]
                else f"w_(t+1) = (1 − ηλ)w_t + ({form})")
        bad = _compare_constant(ctx, spec, hp, steps, what, f"sympy: {d.steps[-1]} (eps_placement = {placement})" + (
            " with decoupled decay (sympy rsolve)" if spec == "adamw" and hp["weight_decay"] else ""), own)
        if bad is not None:
            return bad
    return passed(f"with a constant gradient every step is {form} ({d.statement}; bias correction exact; "
                  f"eps_placement = {placement}) for {len(configs)} settings, |g| from 1e-10 to 5e5"
                  + (" (with decoupled decay)" if spec == "adamw" else ""))


def _constant_family(ctx: CheckContext, configs: tuple[dict, ...], steps_of: Callable[..., tuple[np.ndarray, Any]],
                     what: str, summary: str) -> Outcome:
    """Adam's relatives on a constant gradient: sympy's moments (``m_t = (1 − β1ᵗ)g``, ``v̂ = g²``) put into the
    algorithm's own step; ``steps_of(d, g, hp, t) -> (steps, own error)``. Decay held at 0 (a held non-zero decay
    skips the check)."""
    from verify import symbolic

    d = symbolic.adam_constant_gradient()
    spec = ctx.spec.name
    _hp(ctx, weight_decay=0.0)
    allowed = [c for c in configs if ctx.allows(**c)]
    t = np.arange(1, 31, dtype=float)[:, None]
    g = _constant_gradient_grads()
    for extra in allowed:
        hp = _hp(ctx, **extra, weight_decay=0.0)
        steps, own = steps_of(d, g, hp, t)
        bad = _compare_constant(ctx, spec, hp, steps, what, f"{d.statement} (sympy) in {spec}'s step", own)
        if bad is not None:
            return bad
    return passed(f"with a constant gradient {summary} ({d.statement}, sympy) for {len(allowed)} settings, |g| from "
                  "1e-10 to 5e5")


def _adam_like_steps(d: Any, g: np.ndarray, hp: Mapping[str, Any], t: np.ndarray) -> tuple[np.ndarray, Any]:
    """Adamax (u_t = |g| + ε: the maximum of a constant; ε outside the maximum divides by the same |g| + ε) and
    AMSGrad (v_t grows: its maximum is v_t; v̂_t = g² for both maxima): Adam's step in AMSGrad's ε placement."""
    placement = hp.get("eps_placement", "outside")
    part = {"inside": "step_inside", "hat": "step_hat"}.get(placement, "step")
    steps = d.parts[part](g, hp["lr"], hp["b1"], hp["b2"], hp["eps"], t) * np.ones_like(t)
    if placement != "hat":
        return steps, 0.0
    b2_t = hp["b2"] ** t        # as _adam_constant: 1 − β2ᵗ in floating point loses ~u·β2ᵗ/(1 − β2ᵗ)
    return steps, np.abs(steps) * 4 * U * (1 + t * b2_t / np.maximum(1 - b2_t, 1e-300))


def _adam_like_constant(ctx: CheckContext) -> Outcome:
    form = {"inside": "−η g/√(g² + ε)", "hat": "−η √(1 − β2ᵗ) g/(√(1 − β2ᵗ)|g| + ε)"}.get(
        ctx.params.get("eps_placement", "outside"), "−η g/(|g| + ε)")
    return _constant_family(ctx, ({}, {"eps": 1.0}, {"b1": 0.0, "b2": 0.99999}, {"b1": 0.99, "b2": 0.5},
                                  {"eps": 1e-12, "b2": 0.9}), _adam_like_steps,
                            f"every step must be {form}", f"every step is {form}")


def _nadam_steps(d: Any, g: np.ndarray, hp: Mapping[str, Any], t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    b1, psi = hp["b1"], hp["momentum_decay"]
    k = np.arange(1, t.size + 2, dtype=float)
    mu = np.full_like(k, b1) if hp["schedule"] == "constant" else b1 * (1.0 - 0.5 * 0.96 ** (k * psi))
    prod = np.cumprod(mu[:-1])[:, None]                 # Π_t
    mu_t, mu_next = mu[:-1, None], mu[1:, None]
    m = d.func(g, b1, t)                                 # m_t = (1 − β1ᵗ)g; v̂ = g²
    steps = -hp["lr"] * ((1 - mu_t) / (1 - prod) * g + mu_next / (1 - prod * mu_next) * m) / (np.abs(g) + hp["eps"])
    own = np.abs(steps) * 8 * U * (t + 1 / np.maximum(1 - prod * mu_next, 1e-300))
    return steps, own


def _nadam_constant(ctx: CheckContext) -> Outcome:
    return _constant_family(ctx, ({}, {"eps": 1.0}, {"momentum_decay": 1.0}, {"b1": 0.5, "b2": 0.9},
                                  {"schedule": "constant"}), _nadam_steps,
                            "step t must be −η[(1 − μ_t)/(1 − Π_t) + μ_(t+1)(1 − β1ᵗ)/(1 − Π_t μ_(t+1))]·g/(|g| + ε)",
                            "step t is −η[(1 − μ_t)/(1 − Π_t) + μ_(t+1)(1 − β1ᵗ)/(1 − Π_t μ_(t+1))]·g/(|g| + ε)")


def _radam_steps(d: Any, g: np.ndarray, hp: Mapping[str, Any], t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lr, b2, eps = hp["lr"], hp["b2"], hp["eps"]
    b2t = b2 ** t
    c2 = 1 - b2t
    rho_inf = 2 / (1 - b2) - 1
    rho = rho_inf - 2 * t * b2t / c2
    limit = 4.0 if hp["threshold"] == "paper" else 5.0
    on = rho >= limit if hp["threshold"] == "official" else rho > limit
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
        m_hat = d.parts["m_hat"](g, hp["b1"], t) * np.ones_like(t)             # m̂ = g; v = (1 − β2ᵗ)g²
        rectified = {"hat": r * m_hat * np.sqrt(c2) / (np.sqrt(c2) * np.abs(g) + eps),
                     "outside": r * m_hat / (np.abs(g) + eps),
                     "inside": r * m_hat / np.sqrt(g * g + eps)}[hp["eps_placement"]]
        before = m_hat if hp["degenerated_to_sgd"] else np.zeros_like(m_hat)
        steps = -lr * np.where(on, rectified, before)
        # 1 − β2ᵗ loses u·tβ2ᵗ/(1 − β2ᵗ) relative, and ρ_t − 4 another u·ρ_∞/|ρ_t − 4| (ρ_t is a difference)
        own = np.abs(steps) * 16 * U * (1 + t * b2t / c2) * (1 + rho_inf / np.abs(rho - 4))
    return steps, np.where(np.isfinite(own), own, 0.0)


def _radam_constant(ctx: CheckContext) -> Outcome:
    return _constant_family(ctx, ({}, {"b2": 0.99}, {"eps": 1.0}, {"b1": 0.0, "b2": 0.9}, {"b2": 0.5}), _radam_steps,
                            "the steps must be −η g until ρ_t passes the threshold (SGD with bias-corrected momentum, "
                            "m̂ = g), then the rectified −η r_t g√(1 − β2ᵗ)/(√(1 − β2ᵗ)|g| + ε)",
                            "the steps are −η g until ρ_t passes the threshold (5 steps for β2 = 0.999; never for "
                            "β2 = 0.5, ρ_∞ = 3), then the rectified step")


def _decayed_steps(hp: Mapping[str, Any], adam_steps: np.ndarray, w0: np.ndarray) -> np.ndarray:
    from verify import symbolic

    d = symbolic.decoupled_decay_iterates()
    T = adam_steps.shape[0]
    t = np.arange(0, T + 1, dtype=float)[:, None]
    w = d.parts["w_affine"](w0, hp["lr"], hp["weight_decay"], adam_steps[0], t)
    return np.diff(w, axis=0)


def _rmsprop_constant(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d = symbolic.rmsprop_constant_gradient()
    t = np.arange(1, 31, dtype=float)[:, None]
    g = _constant_gradient_grads()
    # centring is held off (s − ḡ² = ρᵗ(1 − ρᵗ)g² is a difference of rounding errors at ρ = 0 or large t);
    # momentum sums sympy's steps: b_t = Σ μ^(t−k) u_k (either form: the same iterates at a constant η)
    _hp(ctx, centered=False)
    configs = [c for c in ({}, {"eps": 1.0}, {"rho": 0.99999}, {"rho": 0.0}, {"eps": 1e-12, "rho": 0.5})
               if ctx.allows(**c)]
    for extra in configs:
        hp = _hp(ctx, **extra, centered=False)
        steps = d.parts["step_inside" if hp.get("eps_in_sqrt") else "step"](g, hp["lr"], hp["rho"], hp["eps"], t)
        # Evaluating 1 − ρᵗ in floating point loses ~u·ρᵗ/(1 − ρᵗ) relative (ρ near 1); the step inherits half.
        rho_t = hp["rho"] ** t
        own = np.abs(steps) * 4 * U * (1 + t * rho_t / np.maximum(1 - rho_t, 1e-300))
        mu = float(hp.get("momentum", 0.0))
        if mu > 0:
            steps, own = np.array(steps, dtype=np.float64), np.array(own, dtype=np.float64)
            for k in range(1, steps.shape[0]):
                steps[k] = mu * steps[k - 1] + steps[k]
                own[k] = mu * own[k - 1] + own[k] + 2 * U * np.abs(steps[k])
        form = "−η g/√((1 − ρᵗ)g² + ε)" if hp.get("eps_in_sqrt") else "−η g/(√(1 − ρᵗ)|g| + ε)"
        if mu > 0:
            form = f"Σ_k μ^(t−k)·({form.replace('ᵗ', 'ᵏ')}) with μ = {fmt(mu)}"
        bad = _compare_constant(ctx, "rmsprop", hp, steps, f"step t must be {form}",
                                f"sympy: {d.statement}" + (" with ε inside the root" if hp.get("eps_in_sqrt") else "")
                                + (", summed by the momentum buffer" if mu > 0 else ""), own)
        if bad is not None:
            return bad
    return passed(f"with a constant gradient step t is {form} ({d.statement}, sympy) for "
                  f"{len(configs)} settings, |g| from 1e-10 to 5e5")


def _coupled_decay(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d = symbolic.adam_constant_gradient()
    wd = _decay_strength(ctx, "weight_decay", 0.1)
    hp = _hp(ctx, weight_decay=wd)
    w0 = np.array([1.0, -2.0, 1e-7 / wd, -3e-9 / wd, 50.0])
    got = _traj(ctx.subject, hp, w0, np.zeros((1, w0.size)))[1]
    g_eff = wd * w0
    want = w0 + d.parts["step"](g_eff, hp["lr"], hp["b1"], hp["b2"], hp["eps"], 1.0)
    decoupled = w0 - hp["lr"] * wd * w0
    tol = 16 * _u(ctx) * (np.abs(w0) + hp["lr"])
    c = compare(got, want, rtol=0.0, tol=tol,
                header="ACTUAL = w_1 with g = 0, DESIRED = Adam's first step on g = λ_wd·w: w − η g/(|g| + ε) (sympy)")
    if not c.ok:
        why = (": it is the decoupled step w(1 − ηλ) (AdamW) — adam's weight_decay is L2, added to the gradient"
               if compare(got, decoupled, rtol=0.0, tol=tol).ok else "")
        return failed(f"adam's weight_decay must act as a gradient term g + λ_wd·w that Adam normalises{why}\n{c}",
                      diagnosis=why[2:] if why else None, counterexample={"hyperparameters": hp, "w0": w0, "grads": "one zero gradient"})
    return passed(f"with g = 0 the first step is −η·sgn(w)·|λw|/(|λw| + ε) (coupled L2, normalised by Adam; "
                  f"decoupled decay would give −ηλw), λ_wd = {fmt(wd)}")


def _decoupled_decay(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d = symbolic.decoupled_decay_iterates()
    wd = _decay_strength(ctx, "weight_decay", 0.1)
    hp = _hp(ctx, weight_decay=wd)
    w0 = np.array([1.0, -2.0, 1e-6, 300.0])
    T = 50
    got = _traj(ctx.subject, hp, w0, np.zeros((T, w0.size)))
    t = np.arange(T + 1, dtype=float)[:, None]
    want = d.parts["w"](w0, hp["lr"], wd, t)
    tol = 8 * _u(ctx) * (t + 1) * np.abs(want)
    c = compare(got, want, rtol=0.0, tol=tol, header=f"ACTUAL = target with g = 0, DESIRED = {d.statement} (sympy rsolve)")
    if not c.ok:
        return failed(f"with g = 0 AdamW's moments stay 0 and only the decoupled decay acts: w_t must be w_0(1 − ηλ)ᵗ "
                      f"(η = {fmt(hp['lr'])}, λ = {fmt(wd)})\n{c}",
                      counterexample={"hyperparameters": hp, "w0": w0, "grads": f"{T} zero gradients"})
    if _unmoved(w0, want, tol):
        return _no_evidence(hp, "with g = 0")
    return passed(f"with g = 0 the weights decay geometrically, {d.statement} (sympy), for {T} steps: the decay never "
                  "enters the moments")


# --------------------------------------------------------------- generic


def _generic_convergence(ctx: CheckContext) -> Outcome:
    hp = _hp(ctx)
    lr = hp.get("lr")
    scales = ([0.5 / lr] if isinstance(lr, (int, float)) and lr > 0 else []) + [1.0, 10.0, 0.1, 100.0, 0.01]
    lines, curves = [], {}
    for dist in (1.0, 1e-2):
        for c in scales:
            q = cv.diag_quadratic(np.array([1.0, 0.1, 0.3, 0.5]) * c, 10)
            w0 = np.random.default_rng(10).normal(size=4)
            w0 = dist * w0 / np.linalg.norm(w0)
            traj = cv.closed_loop(ctx.subject, hp, q, w0, 500)
            f = np.array([q.value(w) if np.all(np.isfinite(w)) else np.inf for w in traj])
            if np.isnan(traj).any():
                return failed(f"NaN in the iterates on the convex quadratic (curvature ×{fmt(c)}, distance {fmt(dist)})",
                              counterexample={"hyperparameters": hp, "w0": w0, "eigenvalues": (np.array([1, 0.1, 0.3, 0.5]) * c).tolist()})
            lines.append(f"curvature ×{fmt(c)}, start at distance {fmt(dist)}: loss {fmt(f[0])} → {fmt(f[-1])} in 500 steps")
            curves[f"×{fmt(c)}, d = {fmt(dist)}"] = cv.errors(traj)
            if np.isfinite(f[-1]) and f[-1] <= 1e-2 * f[0]:
                return passed(f"the target minimises a convex quadratic (κ = 10): {lines[-1]}",
                              notes=lines, figures=[cv.rate_figure("convex quadratic", {lines[-1].split(':')[0]: curves[list(curves)[-1]]})])
    return failed("the target did not reduce the loss of a convex quadratic (κ = 10) a hundredfold in 500 steps at any of "
                  "the curvature scales and starting distances tried:\n" + "\n".join(lines),
                  figures=[cv.rate_figure("convex quadratic", curves)], counterexample={"hyperparameters": hp})


# ------------------------------------------------------------------ specs


def _common_checks() -> tuple[Check, ...]:
    return (
        Check("zero-gradient-fixed-point", Kind.PROPERTY, "a zero gradient leaves the weights unchanged (no decay)", _zero_gradient),
        Check("no-nan", Kind.PROPERTY, "iterates stay finite on zero, tiny and huge gradients", _no_nan),
        Check("determinism", Kind.PROTOCOL, "the same stream gives bit-identical iterates", _determinism),
        Check("instances-independent", Kind.PROTOCOL, "two instances do not share state", _independence),
        Check("no-input-mutation", Kind.PROTOCOL, "params and state given are left unchanged (gradients changed: reported)", _no_mutation),
        Check("shape-dtype", Kind.PROTOCOL, "new parameters keep the input's shape and float64 dtype", _shape_dtype),
    )


_CONFORMANCE = Check("conformance", Kind.CONFORMANCE,
                     "every iterate equals the reference's (hypothesis-drawn hyperparameters, streams, problems); "
                     "diagnosis on failure", _conformance)

#: Checks of one algorithm beyond conformance and the common ones (an algorithm without any has none).
_SPECIFIC: dict[algorithms.Algorithm, tuple[Check, ...]] = {
    SGD: (
        Check("gd-stability", Kind.SYMBOLIC, "stable for η < 2/L, divergent above (sympy bound)", _gd_stability),
        Check("gd-optimal-rate", Kind.SYMBOLIC, "rate (κ − 1)/(κ + 1) at η = 2/(m + L) (sympy)", _gd_rate),
    ),
    MOMENTUM: (
        Check("symbolic-iterates", Kind.SYMBOLIC, "iterates equal sympy's (Polyak and PyTorch forms proved equal)", _symbolic_iterates),
        Check("heavy-ball-rate", Kind.SYMBOLIC, "rate (√κ − 1)/(√κ + 1) at the optimal η, μ (sympy)", _heavy_ball_rate),
        Check("heavy-ball-stability", Kind.SYMBOLIC, "stable for ηL < 2(1 + μ), divergent above (sympy)", _heavy_ball_stability),
    ),
    NESTEROV: (
        Check("symbolic-iterates", Kind.SYMBOLIC, "iterates equal sympy's look-ahead points (Sutskever's w_t is heavy ball)", _symbolic_iterates),
        Check("nesterov-rate", Kind.SYMBOLIC, "rate 1 − 1/√κ at η = 1/L, μ = (√κ − 1)/(√κ + 1) (sympy)", _nesterov_rate),
    ),
    WEIGHT_DECAY: (
        Check("decay-factor", Kind.SYMBOLIC, "factor 1 − 2ηλ, in (0, 1) exactly when 0 < ηλ < 1/2 (sympy)", _decay_factor),
        Check("decay-gradient-finite-difference", Kind.GRADIENT, "the decay applied is the gradient of λΣw² (finite differences)", _decay_gradient),
        Check("l2-equals-decoupled-without-momentum", Kind.SYMBOLIC, "with μ = 0, L2 = decoupled: w(1 − 2ηλ) − ηg (sympy)", _l2_equals_decoupled),
        Check("coupled-with-momentum", Kind.SYMBOLIC, "with μ > 0 the decay enters the buffer (differs from decoupled; sympy)", _coupled_with_momentum),
    ),
    SIGN_SGD: (
        Check("scale-invariance", Kind.PROPERTY, "iterates unchanged when gradients are scaled by c > 0", _scale_invariance),
        Check("step-is-lr", Kind.PROPERTY, "every step is −η sgn(g), of magnitude η", _sign_step),
    ),
    RPROP: (
        Check("scale-invariance", Kind.PROPERTY, "iterates unchanged when gradients are scaled by c > 0", _scale_invariance),
        Check("step-size-bounds", Kind.PROPERTY, "step sizes grow to Δmax, shrink to Δmin, never leave [Δmin, Δmax]", _rprop_bounds),
        Check("minibatch-drift", Kind.PROPERTY, "drifts on the stream +0.1 ×9, −0.9 ×1 (Hinton)", _minibatch),
    ),
    RMSPROP: (
        Check("constant-gradient", Kind.SYMBOLIC, "constant g: step t = −η g/(√(1 − ρᵗ)|g| + ε), summed by the momentum "
              "buffer (sympy; not centred)", _rmsprop_constant),
        Check("minibatch-stays-put", Kind.PROPERTY, "stays put on the stream +0.1 ×9, −0.9 ×1 (Hinton; without momentum)",
              _minibatch),
    ),
    ADAM: (
        Check("constant-gradient", Kind.SYMBOLIC, "constant g: every step is −η g/(|g| + ε) (sympy)", _adam_constant),
        Check("coupled-decay", Kind.PROPERTY, "weight_decay is L2: Adam normalises g + λw (not decoupled)", _coupled_decay),
    ),
    LION: (
        Check("scale-invariance", Kind.PROPERTY, "iterates unchanged when gradients are scaled by c > 0 (the step is a "
              "sign)", _scale_invariance),
    ),
    ADAMW: (
        Check("constant-gradient", Kind.SYMBOLIC, "constant g with decoupled decay: closed form (sympy)", _adam_constant),
        Check("decoupled-decay", Kind.SYMBOLIC, "g = 0: w_t = w_0(1 − ηλ)ᵗ, the decay bypasses the moments (sympy)", _decoupled_decay),
    ),
    AMSGRAD: (
        Check("constant-gradient", Kind.SYMBOLIC, "constant g: v_t grows, so every step is Adam's, in its ε placement (sympy)",
              _adam_like_constant),
    ),
    ADAMAX: (
        Check("constant-gradient", Kind.SYMBOLIC, "constant g: u_t = |g| + ε, every step is −η g/(|g| + ε) (sympy)",
              _adam_like_constant),
    ),
    NADAM: (
        Check("constant-gradient", Kind.SYMBOLIC, "constant g: the schedule's closed form with m_t = (1 − β1ᵗ)g (sympy)",
              _nadam_constant),
    ),
    RADAM: (
        Check("constant-gradient", Kind.SYMBOLIC, "constant g: −η g until ρ_t passes the threshold, then rectified (sympy)",
              _radam_constant),
    ),
}



def _spec(algorithm: algorithms.Algorithm) -> Spec:
    return Spec(
        name=algorithm.name,
        family=Family.OPTIMIZER,
        title=algorithm.title,
        formula=algorithm.formula,
        params=algorithm.params,
        checks=(_CONFORMANCE, *(dataclasses.replace(c, func=_unless_an_assumption_explains_it(c.func))
                                 for c in _SPECIFIC.get(algorithm, ())), *_common_checks()),
        reference=lambda params: algorithm.reference,
    )


SPECS: dict[str, Spec] = {a.name: _spec(a) for a in algorithms.ALGORITHMS}

SPECS["generic-optimizer"] = Spec(
    name="generic-optimizer",
    family=Family.OPTIMIZER,
    title="Any optimizer (no reference): properties every optimizer must have",
    formula="w_(t+1) = step(w_t, g_t); convergent on convex quadratics at a small step",
    params=(),
    checks=(
        Check("convergence-quadratic", Kind.PROPERTY, "minimises a convex quadratic at some curvature scale", _generic_convergence),
        *_common_checks(),
    ),
    # No reference: 'verify check reference --spec generic-optimizer' checks plain SGD.
    reference=lambda params: reference.sgd,
    accepts_extra_params=True,
)
