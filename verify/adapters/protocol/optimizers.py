"""The optimizer protocol (``docs/protocols.md``): a factory or class called with the spec's hyperparameters as
keywords (those it takes: see :func:`verify.adapters.mapping.keyword_plan`), an object built beforehand (run as
built, a fresh copy per run), a function ``f(w, dw, config) -> (next_w, config)`` (CS231n's ``optim.py``), or a class
owning its parameters, ``Opt(params, **hyperparameters)`` then ``step()``; driven by the runs of
:mod:`verify.adapters.protocol.optimizer_runs`. What the target takes, ignores or sets for itself is found on a short
probe stream."""

from __future__ import annotations

import copy
import functools
import inspect
import re
from typing import Any, Callable, Mapping

import numpy as np

from verify.adapters.base import (
    OptimizerRun,
    OptimizerSubject,
    Request,
    PROBE_W0,
    call_target,
    describe_value,
    probe,
    probe_grads,
    same_state,
)
from verify.adapters.mapping import KeywordPlan, aliases, keyword_plan, read_attributes
from verify.adapters.protocol._common import name_of
from verify.adapters.protocol.optimizer_runs import (
    OWNED_STYLES,
    ConfigRun,
    OwnedRun,
    StatefulRun,
    run_for,
)
from verify.errors import ProtocolError, TargetError, TargetLoadError, kind_of
from verify.specs.base import Held

__all__ = ["optimizer", "claim"]

def _owned_style(make_run: Callable[[str], OwnedRun], shown: str, slot: str) -> tuple[str, list[str]]:
    """How to hand an optimizer that owns its parameters their values (a key of :data:`OWNED_STYLES`) and the
    report's lines: the first style that goes through the probe stream and changes the parameters.

    None going through: a style the target does not read (an attribute error, no step method, parameters left
    unchanged — it updates something the verifier cannot see) is refused, exit status 2; a target that
    fails otherwise (a crash in its arithmetic) is left to the checks, which report it.
    """
    tried = []
    for style in OWNED_STYLES:
        def go(style=style):
            run = make_run(style)
            run.init(PROBE_W0.copy())
            with np.errstate(all="ignore"):
                for g in probe_grads():
                    run.step(g)
            return run

        try:
            run = probe(go)
        except ProtocolError as exc:
            tried.append((style, str(exc), "method" if "does not take" in str(exc) else "shape"))
            continue
        except TargetError as exc:
            why = exc.exc if exc.exc is not None else exc
            tried.append((style, f"{type(why).__name__}: {str(why)[:160]}",
                          "shape" if isinstance(why, (AttributeError, TypeError, KeyError)) else "crash"))
            continue
        if not run.changed:
            tried.append((style, f"{run.method}() left every parameter unchanged", "shape"))
            continue
        used = sorted(n for n in run.used if not n.startswith("in-place"))
        attrs = f" (it used {', '.join('.' + n for n in used)})" if used else ""
        if "in-place arithmetic on the parameter" in run.used:
            attrs += "; arithmetic on the parameter itself acts on its value"
        return style, [
            f"an optimizer that owns its parameters: {shown}({slot}, **hyperparameters) is built with {slot} a list "
            f"of {OWNED_STYLES[style]}{attrs}; after each {run.method}() the new values are read back from the "
            "parameters (updated in place or rebound); zero_grad is never called (fresh gradients are set each step)",
            *(f"not as {s}: {w}" for s, w, kind in tried if kind != "method")]
    if all(kind != "crash" for _, _, kind in tried):
        raise TargetLoadError(
            f"{shown} takes its parameters ({slot}) but runs on none of the shapes the verifier gives them: "
            + "; ".join(f"as {s}: {w}" for s, w, _ in tried)
            + ". Expected a list of parameters with .data and .grad (also .value/.gradient), stepped by step() "
              "(or step(grads) with plain arrays), updating .data in place or rebinding it; see docs/protocols.md")
    return "objects", [f"an optimizer that owns its parameters: {shown}({slot}, **hyperparameters), built with "
                       f"{slot} a list of {OWNED_STYLES['objects']}; it failed on the probe stream "
                       f"({tried[0][1]}): the checks report it"]


#: Names of a constructor's first parameter that receives the parameters it will own (``SGD(params, lr)``,
#: ``Adam(model_params, …)``, ``Optimizer(parameters)``, tinygrad's ``params: list[Tensor]``).
_OWNED_SLOT = re.compile(r"([a-z]+_)?(params?|parameters?)(_(list|group|groups))?|model|net|network|module")


def _owned_slot(plan: KeywordPlan) -> str | None:
    """The constructor's parameter that receives the parameters the optimizer will own, or ``None``: its first
    required parameter the protocol cannot give, when it is named like ``params`` (or ``model``, whose
    ``parameters()`` the optimizer then reads)."""
    first = plan.required[0] if plan.required else None
    return first if first is not None and _OWNED_SLOT.fullmatch(first) else None


def _drives(make_run: Callable[[], OptimizerRun]) -> tuple[OptimizerRun | None, Exception | None]:
    """A run made by ``make_run`` driven through the probe stream: ``(run, None)``, or ``(None, what stopped
    it)``."""
    def go():
        run = make_run()
        run.init(PROBE_W0.copy())
        with np.errstate(all="ignore"):
            for g in probe_grads():
                run.step(g)
        return run

    try:
        return probe(go), None
    except (TargetError, ProtocolError) as exc:
        return None, exc


def _shape_of_params(make_run: Callable[[str], OptimizerRun], shown: str) -> tuple[str, bool, list[str]]:
    """How to hand a stateful optimizer its parameters — ``"array"``, ``"dict"`` or ``"list"`` —, whether it
    updates them in place (seen on the probe stream), and the report's lines.

    Code written for a model's dictionary or list of parameter arrays (``for key in params.keys()``,
    ``for w, g in zip(params, grads)``) cannot run on one array. The array is tried first; a container is
    chosen only when the array fails on the probe stream and the container goes through it. Otherwise the
    array is kept and the checks report what the target does with it.
    """
    try:
        first = probe(lambda: make_run("array"))
    except (TargetError, ProtocolError):
        return "array", False, []
    if not isinstance(first, StatefulRun):
        return "array", False, []
    run, failed = _drives(lambda: make_run("array"))
    if failed is None or first.method == "apply_gradients":
        return "array", bool(run is not None and run.in_place), []
    for container, text in (("dict", "a dict {'W1': params} (and {'W1': grads})"),
                            ("list", "a list [params] (and [grads])")):
        run, _ = _drives(lambda c=container: make_run(c))
        if run is not None:
            why = failed.exc if isinstance(failed, TargetError) and failed.exc is not None else failed
            return container, run.in_place, [
                f"parameters given to {shown}'s {first.method} as {text}: with the array itself it failed "
                f"({type(why).__name__}: {str(why)[:120]}), as code written for a model's "
                f"{'dictionary' if container == 'dict' else 'list'} of parameters does"]
    return "array", False, []


def _unrecognised(make: Callable[[], Any]) -> None:
    """Refuse (exit status 2) an object none of the optimizer protocol's shapes fits, before any check runs:
    every check would otherwise fail on the shape, not on the formula."""
    try:
        probe(make)
    except ProtocolError as exc:
        raise TargetLoadError(str(exc)) from None
    except TargetError:
        pass                            # a constructor that raises is reported by the checks


_OPTIMIZER_METHODS = ("step", "update", "init", "update_params", "get_updates")
_CONFIG_NAMES = ("config", "cfg", "conf", "optim_config", "configs")


def _is_built(obj: Any) -> bool:
    """An optimizer object built beforehand (``opt = MyAdam(lr=0.01)``), not a class or factory to call."""
    if inspect.isclass(obj) or inspect.isroutine(obj) or isinstance(obj, functools.partial):
        return False
    return any(callable(getattr(obj, m, None)) for m in _OPTIMIZER_METHODS)


def _config_parameter(obj: Any, spec: Any) -> str | None:
    """The name of ``config`` when ``obj`` is a function ``f(w, dw, config)`` (CS231n's shape), else ``None``."""
    inner = obj.func if isinstance(obj, functools.partial) else obj
    if not inspect.isfunction(inner):
        return None
    try:
        params = [p for p in inspect.signature(obj).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return None
    if len(params) != 3:
        return None
    canonical = {n for p in getattr(spec, "params", ()) for n in (p.name, *aliases(p.name, spec.name))}
    if any(p.name in canonical for p in params):
        return None
    third = params[2]
    return third.name if third.name in _CONFIG_NAMES or third.default is None else None


class _RecordingConfig(dict):
    """A config dict that records every key the function reads, with the default it gives."""

    def __init__(self, *args: Any):
        super().__init__(*args)
        self.read: dict[str, Any] = {}

    def __getitem__(self, key):
        self.read.setdefault(key, None)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.setdefault(key, default)
        return super().get(key, default)

    def setdefault(self, key, default=None):
        self.read.setdefault(key, default)
        return super().setdefault(key, default)

    def __contains__(self, key):
        self.read.setdefault(key, None)
        return super().__contains__(key)

    def __bool__(self):     # ``config = config or {}`` must keep this dict
        return True


def _config_optimizer(fn: Any, target: str, spec: Any, config_name: str) -> OptimizerSubject:
    shown = name_of(fn)
    keys = {}   # config key -> canonical name
    for p in spec.params:
        if p.to_target:
            for key in (p.name, *aliases(p.name, spec.name)):
                keys.setdefault(key, p.name)
    defaults = {p.name: p.default for p in spec.params}
    rec = _RecordingConfig()
    w, g = PROBE_W0.copy(), probe_grads()[0]
    for _ in range(len(keys) + 1):
        try:
            probe(lambda: call_target(f"{shown}(w, dw, {config_name})", fn, w.copy(), g.copy(), rec))
            break
        except TargetError as exc:
            missing = exc.exc.args[0] if isinstance(exc.exc, KeyError) and exc.exc.args else None
            if missing in keys and missing not in rec:
                dict.__setitem__(rec, missing, defaults[keys[missing]])
                continue
            raise TargetLoadError(f"calling {shown}(w, dw, {config_name}) with an empty config, to see which "
                                  f"hyperparameters it reads, raised {kind_of(exc.exc)}: {exc.exc}") from None
    used = {keys[k]: k for k in rec.read if k in keys}
    own = {keys[k]: v for k, v in rec.read.items() if k in keys and isinstance(v, (int, float))}

    def factory(**hparams: Any) -> OptimizerRun:
        config = {key: hparams[n] for n, key in used.items() if n in hparams}
        return ConfigRun(fn, config, shown)

    lines = [f"a function {shown}(w, dw, {config_name}) -> (next_w, {config_name}) (CS231n's optim.py): the "
             f"hyperparameters it reads go in the {config_name} dict, which then carries its state from call to call"]
    if used:
        lines.append(f"{config_name} keys it reads: " + ", ".join(
            f"{key!r} ← {n}" + (f" (its own default {own[n]!r})" if n in own else "") for n, key in used.items()))
    return OptimizerSubject(f"numpy optimizer function {shown}(w, dw, {config_name})", mapping=lines,
                            factory=factory, takes=frozenset(used), name=shown)


def _perturbed(param: Any, hp: Mapping[str, Any]) -> Any:
    """Another valid value of ``param`` that a correct optimizer cannot ignore on :func:`~verify.adapters.base.probe_grads`."""
    value, name, lr = hp[param.name], param.name, float(hp.get("lr", 0.01))
    if name == "lr":
        return value * 2
    if name == "min_step_size":
        return lr if value != lr else lr / 2
    if name == "max_step_size":
        return 1.5 * lr if value != 1.5 * lr else 2 * lr
    if name == "eta_plus":
        return 2.0 if value != 2.0 else 1.5
    if param.choices:                   # a named convention: another of its forms
        return next(c for c in param.choices if c != value)
    if param.type is bool:
        return not value
    return 0.5 if value != 0.5 else 0.25


def _without_effect(build: Callable[..., OptimizerRun], names: list[str], spec: Any, hp: Mapping[str, Any],
                    extra: set[str]) -> list[str] | None:
    """Which of ``names`` leave the iterates on :func:`~verify.adapters.base.probe_grads` unchanged when given
    another valid value; ``None`` when the target cannot run on the probe at all (left to the checks)."""
    by_name = {p.name: p for p in spec.params}

    def trajectory(values: Mapping[str, Any]) -> np.ndarray:
        def go():
            run = build(dict(values), extra)
            run.init(PROBE_W0.copy())
            with np.errstate(all="ignore"):
                return np.array([run.step(g) for g in probe_grads()])

        return probe(go)

    if not names:
        return []
    try:
        base = trajectory(hp)
    except (TargetError, ProtocolError):
        return None
    out = []
    for n in names:
        try:
            other = by_name[n].parse(_perturbed(by_name[n], hp))
            changed = not same_state(base, trajectory({**hp, n: other}))
        except (TargetError, ProtocolError):
            changed = True          # it reacts to the value, if only by raising: not ignored
        except Exception:  # noqa: BLE001 - no other valid value to try
            changed = True
        if not changed:
            out.append(n)
    return out


def _construct(obj: Any, shown: str, kwargs: dict[str, Any], owned: tuple[str, list] | None = None) -> Any:
    """``obj(**kwargs)`` and the call's text; ``owned = (slot, parameters)``: the parameters an optimizer that owns
    them receives, passed as keyword ``slot``."""
    where = f"{shown}({', '.join([*([owned[0]] if owned else []), *(f'{k}={v!r}' for k, v in kwargs.items())])})"
    if owned is not None:
        kwargs = {owned[0]: owned[1], **kwargs}
    from verify.adapters import optax_adapter   # imports neither jax nor optax

    optax_adapter.enable_x64_if_loaded()
    try:
        return call_target(where, obj, **kwargs), where
    except TargetError as exc:
        if isinstance(exc.exc, TypeError) and "argument" in str(exc.exc):
            names = ", ".join(k for k in kwargs if owned is None or k != owned[0]) or "none"
            raise TargetError(f"{where} (the optimizer protocol passes the hyperparameters it takes as keywords: "
                              f"{names})", exc.exc) from exc.exc
        raise


def optimizer(obj: Any, target: str, spec: Any = None, params: Mapping[str, Any] | None = None, *,
              given: frozenset[str] = frozenset()) -> OptimizerSubject:
    """The subject for a user's numpy optimizer under ``spec`` (a class, factory, built object or config function).

    ``params`` are the run's hyperparameters (defaults and given values), used
    on a short probe stream to see which hyperparameters the target actually
    uses; ``given`` names those given explicitly (held whatever the probe says,
    so not probed).
    """
    if _is_built(obj):
        return _built_optimizer(obj, target, spec)
    if not callable(obj):
        raise TargetLoadError(
            f"target {target!r} is a {type(obj).__name__}; the optimizer protocol needs a factory or class "
            "called with the spec's hyperparameters, or an optimizer object with step() or init()/update()"
        )
    config_name = _config_parameter(obj, spec) if spec is not None and spec.params else None
    if config_name:
        return _config_optimizer(obj, target, spec, config_name)
    shown = name_of(obj.func if isinstance(obj, functools.partial) else obj)
    plan: KeywordPlan | None = keyword_plan(obj, spec) if spec is not None and spec.params else None
    if plan is None:
        def plain(**hparams):
            opt, where = _construct(obj, shown, dict(hparams))
            return run_for(opt, where)

        if spec is not None:
            _unrecognised(lambda: plain(**{p.name: p.default for p in spec.params if p.to_target}))
        return OptimizerSubject(f"numpy optimizer {shown}(**hyperparameters)", factory=plain, name=shown)
    slot = _owned_slot(plan)
    if slot is not None:
        plan.required.remove(slot)
    if plan.required:
        raise TargetLoadError(
            f"{shown}'s constructor requires {', '.join(plan.required)}, which the optimizer protocol cannot give "
            f"(it passes only the spec's hyperparameters: {', '.join(p.name for p in spec.params)}): give "
            f"{'it' if len(plan.required) == 1 else 'them'} a default, or bind "
            f"{'it' if len(plan.required) == 1 else 'them'} with functools.partial")

    given_as = {"container": "array", "in_place": False}     # how a stateful target takes its parameters
    owned_as = {"style": "objects"}                           # how an optimizer owning them is given them

    def build(hparams: Mapping[str, Any], extra: set[str] = frozenset()) -> OptimizerRun:
        if slot is not None:
            return OwnedRun(lambda given: _construct(obj, shown, plan.kwargs(hparams, extra), (slot, given)),
                             owned_as["style"])
        opt, where = _construct(obj, shown, plan.kwargs(hparams, extra))
        return run_for(opt, where, **given_as)

    found = {}
    for n, value in plan.bound.items():
        param = next(p for p in spec.params if p.name == n)
        try:
            found[n] = Held(param.parse(value), "bound", f"functools.partial({shown}, …)")
        except Exception:  # noqa: BLE001 - a bound value out of the spec's range is left to the checks
            continue
    lines = plan.lines(shown)
    hp = {p.name: (params or {}).get(p.name, p.default) for p in spec.params if p.to_target}
    hp.update({n: h.value for n, h in found.items()})
    if slot is not None:
        owned_as["style"], owned_lines = _owned_style(
            lambda style: OwnedRun(lambda given: _construct(obj, shown, plan.kwargs(hp), (slot, given)), style),
            shown, slot)
        lines += owned_lines
    else:
        _unrecognised(lambda: build(dict(hp)))

        def with_container(container: str) -> OptimizerRun:
            opt, where = _construct(obj, shown, plan.kwargs(hp))
            return run_for(opt, where, container)

        given_as["container"], given_as["in_place"], container_lines = _shape_of_params(with_container, shown)
        lines += container_lines
    # Offer what the signature does not name through **kwargs (when the target accepts it), then see which
    # hyperparameters, named or offered, actually change the iterates: the others are held.
    extra: set[str] = set()
    # A named convention (ε's placement, the momentum form) is the verifier's vocabulary, not a keyword real code
    # takes: never offered through **kwargs, it stays at the spec's form unless given with --param.
    untaken = [p.name for p in spec.params if p.to_target and p.name not in plan.takes() and p.name not in found
               and not p.choices and p.type is not bool]
    if plan.var_kw and untaken:
        extra = set(untaken) if _accepts(lambda: build(dict(hp), set(untaken))) else set()
        if not extra:
            lines.append(f"not passed through **kwargs: {', '.join(untaken)} (the target raised when given them)")
    # A named hyperparameter whose default switches its feature off (weight_decay = 0) and which changes
    # nothing is a feature the code does not have: held there. Others stay varied, so ignoring them fails.
    # A flag is not such a switch (False == 0, but decoupled_weight_decay changes nothing while the decay is 0, on
    # the probe as in every correct optimizer): a flag the signature names stays varied.
    off_by_default = {p.name for p in spec.params if p.default == 0 and p.type is not bool}
    named = [n for n in plan.takes() if n not in found and n not in given and n in off_by_default]
    # Given values are held whatever they do: passed (through **kwargs too) but not probed.
    ignored = _without_effect(build, named + sorted(extra - given), spec, hp, extra) or []
    effective = extra - set(ignored)
    if effective:
        lines.append(f"taken through **kwargs: {', '.join(sorted(effective))} (the iterates depend on them)")
    for n in ignored:   # offered through **kwargs and unused: not taken; named in the signature: ignored
        found[n] = Held(hp[n], "not-taken" if n in extra else "ignored", shown)
    if ignored:
        lines.append(f"held: {', '.join(ignored)} — its value does not change the iterates on a probe stream "
                     "(a hyperparameter the code does not use, or hard-codes)")
    takes = frozenset((set(plan.takes()) | effective) - set(ignored))
    # What the object sets for itself in its constructor (self.eps = 1e-8): read, rather than assumed.
    unread = [p.name for p in spec.params if p.to_target and p.name not in takes and p.name not in given
              and (p.name not in found or found[p.name].source == "not-taken")]
    if unread:
        for n, (value, where) in _constructed_values(build, hp, extra, spec).items():
            if n in unread:
                found[n] = Held(value, "read", f"{shown}(){where}")

    def factory(**hparams: Any) -> OptimizerRun:
        return build(hparams, extra)

    described = f"numpy optimizer {shown}({slot}, **hyperparameters it takes), owning its parameters" \
        if slot is not None else f"numpy optimizer {shown}(**hyperparameters it takes)"
    return OptimizerSubject(described, mapping=lines, factory=factory,
                            takes=takes, found=found, name=shown)


def _accepts(construct: Callable[[], Any]) -> bool:
    """Whether constructing succeeds (within the probe's time)."""
    try:
        probe(construct)
        return True
    except (TargetError, ProtocolError):
        return False


def _constructed_values(build: Callable[..., OptimizerRun], hp: Mapping[str, Any], extra: set[str],
                        spec: Any) -> dict[str, tuple[Any, str]]:
    """Canonical hyperparameters found on a freshly constructed object (``{}`` if it cannot be built)."""
    try:
        run = probe(lambda: build(dict(hp), extra))
    except (TargetError, ProtocolError):
        return {}
    if isinstance(run, OwnedRun):          # built with the parameters it owns, at init
        try:
            probe(lambda: run.init(PROBE_W0.copy()))
        except (TargetError, ProtocolError):
            return {}
    obj = getattr(run, "opt", None)         # the user's object (a config function has none)
    return read_attributes(obj, spec) if obj is not None else {}


# Attributes that count steps (a built object whose counter has moved has already stepped).
_COUNTERS = ("t", "step", "steps", "iteration", "iterations", "iter", "iters", "n_iter", "timestep", "time_step",
             "num_steps", "n_steps", "step_count", "cur_step", "k", "num_updates", "count")


def _state_differences(obj: Any, fresh: Any, skip: set[str]) -> list[str]:
    """Attributes where ``obj`` differs from a freshly built ``fresh`` (hyperparameter-like numbers excepted)."""
    try:
        a, b = vars(obj), vars(fresh)
    except TypeError:
        return []
    out = []
    for key in sorted(set(a) | set(b)):
        if key in skip or key.startswith("__"):
            continue
        x, y = a.get(key, "<absent>"), b.get(key, "<absent>")
        numbers = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in (x, y))
        if numbers and key not in _COUNTERS:
            continue
        if not same_state(x, y):
            out.append(f"{key} = {describe_value(x)} (a fresh {type(obj).__name__} has {describe_value(y)})")
    return out


def _holds_arrays(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "fc" and bool(np.any(value != 0))
    if isinstance(value, dict):
        return any(_holds_arrays(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_arrays(v) for v in value)
    return False


def _names_of(name: str, spec: Any) -> tuple[str, ...]:
    """``name`` and, if it is a canonical hyperparameter or one of its aliases, all that hyperparameter's names."""
    for p in getattr(spec, "params", ()):
        names = (p.name, *aliases(p.name, spec.name))
        if name in names:
            return (name, *[n for n in names if n != name])
    return (name,)


def _stepped(obj: Any, spec: Any, read: set[str]) -> list[str]:
    """Evidence that a built optimizer has already taken steps (empty when it looks fresh).

    Compared with a fresh object of its class built with its own hyperparameters
    (the constructor's parameters found as attributes); where none can be built,
    non-zero arrays and step counters past 1 in its attributes are the evidence.
    """
    cls = type(obj)
    fresh = None
    try:
        kwargs = {}
        for name in inspect.signature(cls).parameters:
            for attr in _names_of(name, spec):
                if hasattr(obj, attr):
                    kwargs[name] = getattr(obj, attr)
                    break
        with np.errstate(all="ignore"):
            fresh = probe(lambda: cls(**kwargs))
    except Exception:  # noqa: BLE001 - no fresh object to compare with: fall back on what the state holds
        fresh = None
    if fresh is not None:
        return _state_differences(obj, fresh, read)
    try:
        attrs = vars(obj)
    except TypeError:
        return []
    out = [f"{k} holds non-zero arrays" for k, v in attrs.items() if k not in read and _holds_arrays(v)]
    out += [f"{k} = {v}" for k, v in attrs.items() if k in _COUNTERS and isinstance(v, int) and not isinstance(v, bool)
            and v > 1]
    return out


def _built_optimizer(obj: Any, target: str, spec: Any) -> OptimizerSubject:
    """An optimizer object built beforehand: every run drives a fresh deep copy of it as loaded."""
    shown = target.rsplit(":", 1)[-1] if isinstance(target, str) else type(obj).__name__
    try:
        pristine = copy.deepcopy(obj)
    except Exception as exc:  # noqa: BLE001 - anything deepcopy cannot do
        raise TargetLoadError(
            f"{shown} is a built {type(obj).__name__}, which copy.deepcopy cannot copy ({type(exc).__name__}: {exc}); "
            "every run needs a fresh copy of it: give the class or a factory instead") from None
    found_raw = read_attributes(pristine, spec) if spec is not None else {}
    evidence = _stepped(pristine, spec, {w.lstrip(".").split("[")[0] for _, w in found_raw.values()})
    if evidence:
        raise TargetLoadError(
            f"{shown} has already taken steps: {'; '.join(evidence[:3])}. Every run would start from that state, "
            "not from a fresh optimizer; give the object before its first step, or its class")
    found = {n: Held(v, "read", f"{shown}{where}") for n, (v, where) in found_raw.items()}
    kind = "functional (init/update)" if callable(getattr(obj, "init", None)) else "stateful"
    _unrecognised(lambda: run_for(copy.deepcopy(pristine), shown))
    container, in_place, container_lines = _shape_of_params(
        lambda c: run_for(copy.deepcopy(pristine), f"{shown} (a copy)", c), shown)

    def factory(**hparams: Any) -> OptimizerRun:
        return run_for(copy.deepcopy(pristine), f"{shown} (a copy)", container, in_place)

    lines = [f"a built {type(obj).__name__} object ({kind}): every run drives a fresh copy.deepcopy of it as loaded; "
             "its hyperparameters are its own, held fixed (checks that need other values are skipped)",
             *container_lines]
    return OptimizerSubject(f"numpy optimizer {shown} (a built {type(obj).__name__}; a fresh copy per run)",
                            mapping=lines, factory=factory, takes=frozenset(), found=found, name=shown, built=True)


def claim(request: Request) -> OptimizerSubject:
    """The fallback for optimizers: every object no library adapter claimed is held to this protocol."""
    return optimizer(request.obj, request.target, request.spec, request.params, given=request.given)
