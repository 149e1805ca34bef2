"""Adapter for Keras 3 optimizers: the built-in classes, users' subclasses (``update_step`` overridden) and
optimizers built beforehand.

A run splits the verifier's flat parameter vector into several float64 ``keras.Variable`` of different
shapes (:func:`verify.adapters.mapping.parameter_shapes`) and drives the optimizer the Keras way::

    opt = keras.optimizers.Adam(learning_rate=lr, beta_1=b1, beta_2=b2, epsilon=eps)
    opt.apply_gradients(zip(grads, variables))        # every step; builds the slots at the first

then reads the variables back. The optimizer's own variables (the slots ``momentum``, ``velocity``, …, the
learning rate, the iteration count) are read back too, so a slot kept in float32 is reported as reduced
precision. The canonical hyperparameters reach the constructor through the algorithm's record (its ``keras``
mapping), which also holds the conventions Keras fixes — Adam's ε̂, ε inside RMSprop's and Adagrad's root,
momentum in Polyak's form — so Keras is checked against the algorithm in its own published form and the
report says which. Keras applies ``weight_decay`` (every optimizer has it) decoupled and before the step,
``w ← w − w·λ·η``; where the spec's decay is coupled the mapping holds it at 0.

On the torch backend Keras swaps its built-in classes for ``torch._foreach_*`` implementations; a subclass
runs the generic per-variable ``update_step``: two code paths, both driven here the same way.
"""

from __future__ import annotations

import inspect
from typing import Any, Mapping

import numpy as np

from verify import algorithms
from verify.adapters.base import OptimizerRun, OptimizerSubject, Request, accepted_keywords, call_target, \
    describe_value
from verify.adapters.keras._backend import backend_name, is_keras_object, require_keras
from verify.adapters.mapping import (
    Rule,
    class_lines,
    held_at_library_default,
    held_conventions,
    parameter_shapes,
    refuse_other_settings,
    resolve_values,
    spec_defaults,
    split_flat,
)
from verify.algorithms import LibraryMapping, Unmapped
from verify.errors import ProtocolError, TargetLoadError
from verify.specs.base import Family, Held

__all__ = ["claim", "optimizer", "KERAS_OPTIMIZERS"]

#: Each algorithm's keras mapping (its record's ``keras``), by name.
KERAS_OPTIMIZERS: dict[str, LibraryMapping] = {
    a.name: a.keras for a in algorithms.ALGORITHMS if isinstance(a.keras, LibraryMapping)}

_RUN_NOTE = ("Keras on the {backend} backend, floatx float64: the parameter vector is split into float64 "
             "keras.Variable of shapes {shapes}; every step is optimizer.apply_gradients(zip(grads, variables)); "
             "the variables and the optimizer's slots are read back")


def claim(request: Request) -> OptimizerSubject | None:
    """The subject for a Keras optimizer class (built-in or subclass) or instance; ``None`` for any other object
    (decided by module names, without importing keras)."""
    obj = request.obj
    if request.family != Family.OPTIMIZER or not is_keras_object(obj):
        return None
    keras = require_keras()
    base = keras.optimizers.Optimizer
    scaler = keras.optimizers.LossScaleOptimizer
    if inspect.isclass(obj) and issubclass(obj, scaler) or isinstance(obj, scaler):
        name = request.target.rsplit(":", 1)[-1] if isinstance(request.target, str) else "the optimizer"
        inner = f"{request.target}.inner_optimizer" if isinstance(obj, scaler) and isinstance(request.target, str) \
            else "its inner_optimizer"
        raise TargetLoadError(f"{name} is a keras LossScaleOptimizer: it divides the gradients by its dynamic loss "
                              "scale (they are meant to be gradients of the scaled loss) and skips the steps whose "
                              f"gradients are not finite; spec {request.spec.name!r} has neither, so check the "
                              f"optimizer it wraps: {inner}")
    if inspect.isclass(obj) and issubclass(obj, base):
        return optimizer(obj, request.spec, request.target, given=request.params, asked=request.given)
    if isinstance(obj, base):
        cls = type(obj)
        if (cls.__module__ or "").startswith("keras.src.backend."):
            # the torch backend's _foreach class Keras swapped in for a built-in: the built-in is what was built
            cls = next(c for c in inspect.getmro(cls) if getattr(keras.optimizers, c.__name__, None) is c)
        return optimizer(cls, request.spec, request.target, instance=obj, given=request.params,
                         asked=request.given)
    return None


def _shown(cls: type) -> str:
    keras = require_keras()
    name = cls.__name__
    if getattr(keras.optimizers, name, None) is cls:
        return f"keras.optimizers.{name}"
    module = cls.__module__ or ""
    return name if module.startswith("_verify_target_") or not module else f"{module}.{cls.__qualname__}"


def _keras_base(cls: type) -> str | None:
    """The nearest built-in ``keras.optimizers`` class in ``cls``'s MRO (its name), ``None`` for a direct
    ``Optimizer`` subclass."""
    keras = require_keras()
    for c in inspect.getmro(cls):
        if c is keras.optimizers.Optimizer:
            return None
        if (c.__module__ or "").startswith("keras.") and getattr(keras.optimizers, c.__name__, None) is c:
            return c.__name__
    return None


#: The methods through which an optimizer's formula runs (torch backend: ``_parallel_update_step``).
_UPDATE_METHODS = ("update_step", "_backend_update_step", "_parallel_update_step", "_update_step_xla",
                   "apply", "apply_gradients", "_apply_weight_decay")


def _own_update(cls: type, base: str | None) -> list[str]:
    """The update methods ``cls`` defines itself instead of inheriting them from Keras (all of a direct
    ``Optimizer`` subclass's formula is its own)."""
    if base is None:
        return ["update_step"]
    keras = require_keras()
    builtin = getattr(keras.optimizers, base)
    return [m for m in _UPDATE_METHODS if getattr(cls, m, None) is not getattr(builtin, m, None)]


def _taken_keywords(cls: type) -> tuple[set[str], bool]:
    """(the keywords ``cls``'s constructor takes, whether it takes any): its ``__init__``'s named parameters and,
    while each forwards ``**kwargs``, its bases' down to Keras's first own class, whose ``**kwargs`` reach the
    base optimizer that refuses every keyword but its own (Keras's custom-optimizer example takes only
    ``**kwargs`` and hard-codes its momentum)."""
    keras = require_keras()
    names: set[str] = set()
    for c in inspect.getmro(cls):
        init = c.__dict__.get("__init__")
        if init is None:
            continue
        own, var_kw = accepted_keywords(init)
        names |= own - {"self"}
        if (c.__module__ or "").startswith("keras."):
            if var_kw:
                names |= accepted_keywords(keras.optimizers.Optimizer)[0]
            return names, False
        if not var_kw:
            return names, False
    return names, True


def _conventions_text(mapping: LibraryMapping) -> str:
    return ", ".join(f"{k} = {v}" for k, v in mapping.conventions.items())


def _keras_default(cls_name: str, keyword: str) -> Any:
    keras = require_keras()
    try:
        param = inspect.signature(getattr(keras.optimizers, cls_name)).parameters.get(keyword)
    except (TypeError, ValueError, AttributeError):
        return inspect.Parameter.empty
    return inspect.Parameter.empty if param is None else param.default


def _refuse_other_settings(config: Mapping[str, Any], mapping: LibraryMapping, who: str, spec_name: str) -> None:
    refuse_other_settings(config, mapping, who, spec_name, f"keras.optimizers.{mapping.primary}")


def _set_by_constructor(cls: type, mapping: LibraryMapping, rules: list[Rule], accepted: set[str]) -> dict[Rule, Any]:
    """The keywords a subclass's constructor fixes without naming them (``super().__init__(momentum=0.9,
    **kwargs)``: passing ``momentum`` again would raise): built once without arguments, its config shows a value other
    than the built-in's default for a keyword its signature does not name."""
    try:
        config = cls().get_config()
    except Exception:  # noqa: BLE001 - a constructor that needs arguments: nothing read, the runs report it
        return {}
    out = {}
    for rule in rules:
        default = _keras_default(mapping.primary, rule.target)
        if rule.target in accepted or rule.target not in config or default is inspect.Parameter.empty:
            continue
        value = config[rule.target]
        numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (value, default))
        # a learning rate read back from a float32 variable is not a value the constructor set
        if (abs(value - default) > 1e-6 * max(abs(value), abs(default))) if numbers else value != default:
            out[rule] = value
    return out


def _code_names(code: Any) -> set[str]:
    """The global and attribute names a function's code (and the functions defined in it) uses."""
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _code_names(const)
    return names


def _unread_by_own_update(cls: type, base: str | None, own: list[str], rules: list[Rule]) -> list[Rule]:
    """Rules whose keyword Keras's own ``update_step`` reads as an attribute (``self.momentum``) and the subclass's
    overriding methods never read, nor hand on to Keras through ``super()`` (read from their code's names)."""
    if base is None or not own:
        return []
    builtin = getattr(getattr(require_keras().optimizers, base).update_step, "__code__", None)
    if builtin is None:
        return []
    names: set[str] = set()
    for method in own:
        code = getattr(getattr(cls, method, None), "__code__", None)
        if code is None or "super" in _code_names(code):
            return []
        names |= _code_names(code)
    return [r for r in rules if r.target in _code_names(builtin) and r.target not in names]


def _parse(spec: Any, name: str, value: Any) -> Any:
    params = {p.name: p for p in spec.params}
    return params[name].parse(value) if name in params else value


def _refuse_schedule(opt: Any, who: str, spec_name: str) -> None:
    """Refuse, in one line, a Keras optimizer whose learning rate is a schedule or a callable (read before its
    config, which serialises a callable with a warning)."""
    schedules = require_keras().optimizers.schedules
    lr = getattr(opt, "_learning_rate", None)
    if isinstance(lr, schedules.LearningRateSchedule) or callable(lr) and not hasattr(lr, "assign"):
        kind = f"a {type(lr).__name__} schedule" if isinstance(lr, schedules.LearningRateSchedule) else "a callable"
        raise TargetLoadError(f"{who}'s learning_rate is {kind}: spec {spec_name!r} has a constant learning rate, "
                              "so it is not checked; give the optimizer a float learning_rate")


def _refuse_base_settings(opt: Any, config: Mapping[str, Any], mapping: LibraryMapping, who: str,
                          spec_name: str) -> None:
    """Refuse, in one line, a Keras optimizer whose base settings change the step itself (every Keras optimizer
    takes them; no spec has a parameter for any): a learning-rate schedule or callable, gradient clipping,
    gradient accumulation, a loss scale, EMA weights written over the variables, a decoupled ``weight_decay``
    the mapping does not pass. Checking such an optimizer against the bare formula would fail a correct one."""
    _refuse_schedule(opt, who, spec_name)
    why = {"clipnorm": "Keras clips each gradient tensor to that norm before the step",
           "global_clipnorm": "Keras clips the gradients to that global norm before the step",
           "clipvalue": "Keras clips every gradient entry to that value before the step",
           "gradient_accumulation_steps": "Keras steps only every that many calls, with the mean gradient",
           "loss_scale_factor": "Keras divides the gradients by it before the step (gradients of a scaled loss)"}
    for key, text in why.items():
        value = config.get(key)
        if value is not None and not (key == "loss_scale_factor" and value == 1):
            raise TargetLoadError(f"{who} is set {key}={value!r}: {text}, and spec {spec_name!r} has no parameter for "
                                  f"it, so it is not checked; give the optimizer without {key}")
    if config.get("use_ema") and config.get("ema_overwrite_frequency"):
        raise TargetLoadError(f"{who} is set use_ema=True, ema_overwrite_frequency={config['ema_overwrite_frequency']!r}:"
                              " Keras writes the moving average over the variables every that many steps, and spec "
                              f"{spec_name!r} has no parameter for it, so it is not checked; give it without "
                              "ema_overwrite_frequency")
    decay = config.get("weight_decay")
    if decay and "weight_decay" not in {r.target for r in mapping.rules}:
        cls = mapping.primary
        takers = [n for n, m in KERAS_OPTIMIZERS.items()
                  if "weight_decay" in {r.target for r in m.rules} and (m.primary == cls or cls in m.variants)
                  and all(config.get(k, v) == v for k, v in m.settings.items())]
        hint = (f"check it under --spec {' or '.join(takers)}" if takers else
                "no spec has that decay with this optimizer's formula")
        raise TargetLoadError(f"{who} is set weight_decay={decay!r}: Keras applies it decoupled, w ← w − w·"
                              f"weight_decay·lr before the step, and spec {spec_name!r} has no such decay (it checks "
                              f"keras.optimizers.{cls} without one), so it is not checked; {hint}")


def _numpy(value: Any) -> np.ndarray:
    keras = require_keras()
    return np.asarray(keras.ops.convert_to_numpy(value))


class _KerasOptimizerRun(OptimizerRun):
    """One Keras optimizer over float64 variables split from the flat parameter vector."""

    def __init__(self, make: Any, where: str):
        self.make = make
        self.where = where

    def init(self, params: np.ndarray) -> None:
        keras = require_keras()
        p = np.array(params, dtype=np.float64, copy=True)
        self.shape = p.shape
        self.shapes = parameter_shapes(p.shape, one=self.one_tensor)
        self.variables = [keras.Variable(chunk, dtype="float64", name=f"w{i}")
                          for i, chunk in enumerate(split_flat(p.reshape(-1), self.shapes))]
        self.opt = call_target(self.where, self.make)
        if not isinstance(self.opt, keras.optimizers.Optimizer):
            raise ProtocolError(f"{self.where} returned {describe_value(self.opt)}, not a keras Optimizer")

    def inspected(self) -> dict[str, Any]:
        out = {}
        for i, v in enumerate(getattr(self.opt, "variables", ())):
            try:
                out[f"optimizer.variables[{i}] ({getattr(v, 'path', getattr(v, 'name', '?'))})"] = _numpy(v.value)
            except Exception:  # noqa: BLE001 - a variable that cannot be read is not a precision finding
                continue
        return out

    def step(self, grads: np.ndarray, params: np.ndarray | None = None) -> np.ndarray:
        keras = require_keras()
        g = np.array(grads, dtype=np.float64, copy=True).reshape(-1)     # a backend tensor may share its memory
        tensors = [keras.ops.convert_to_tensor(chunk, dtype="float64") for chunk in split_flat(g, self.shapes)]
        call_target(f"{self.where}.apply_gradients", self.opt.apply_gradients, list(zip(tensors, self.variables)))
        pieces, narrowest = [], None
        for i, v in enumerate(self.variables):
            value = _numpy(v.value)
            if value.shape != self.shapes[i]:
                raise ProtocolError(f"apply_gradients changed variable {i}'s shape from {self.shapes[i]} to "
                                    f"{value.shape}")
            if narrowest is None or value.dtype.itemsize < narrowest.itemsize:
                narrowest = value.dtype
            pieces.append(value.astype(np.float64).reshape(-1))
        self.returned_dtype = narrowest
        flat = np.concatenate(pieces) if pieces else np.empty(0)
        return flat.reshape(self.shape)


def _run_note() -> str:
    return _RUN_NOTE.format(backend=backend_name() or "?", shapes="(2, 3), (4,), (1,), (rest,)")


def optimizer(cls: Any, spec: Any, target: str, instance: Any = None, given: Mapping[str, Any] | None = None,
              asked: frozenset[str] = frozenset()) -> OptimizerSubject:
    """The subject for a Keras optimizer class (or the class of ``instance``, an optimizer built beforehand,
    rebuilt for every run from its ``get_config()``) under an optimizer ``spec``."""
    shown = _shown(cls)
    spec_name = spec.name
    backend = backend_name()
    record = algorithms.find(spec_name)
    mapping = record.keras if record is not None else None
    if not isinstance(mapping, LibraryMapping):
        why = f": {mapping.reason}" if isinstance(mapping, Unmapped) else ""
        raise TargetLoadError(f"the Keras adapter has no mapping for spec {spec_name!r} (target {target!r}){why}; "
                              f"Keras optimizers can be checked under: {', '.join(KERAS_OPTIMIZERS)}")
    base = _keras_base(cls)
    builtin = base is not None and getattr(require_keras().optimizers, base, None) is cls
    lines = class_lines(KERAS_OPTIMIZERS, mapping, base, builtin, shown, spec_name, "keras.optimizers")
    if not lines and base is not None and not builtin and backend == "torch":
        lines.append(f"a subclass runs Keras's generic per-variable update_step on the torch backend (the built-in "
                     f"keras.optimizers.{base} runs its torch._foreach implementation)")
    own = _own_update(cls, base)
    if own:
        # The subclass's own formula: Keras's conventions (ε̂, ε inside the root, Polyak's momentum) are not
        # assumed; the spec's defaults hold unless given with --param, and a Keras form is diagnosed by name.
        found: dict[str, Held] = {}
        notes = [n for n in mapping.notes if "checked as" not in n]
        lines.append(f"{shown} overrides {', '.join(own)}: its own formula is checked in the spec's conventions "
                     f"(Keras's own, {_conventions_text(mapping)}, are not assumed; give them with --param)"
                     if mapping.conventions else f"{shown} overrides {', '.join(own)}: its own formula is checked")
    else:
        found = held_conventions(mapping, spec, shown)
        notes = list(mapping.notes)
        # a value given for what Keras fixes (--param eps_placement=outside, weight_decay=0.01 under adam) cannot
        # reach Keras's object: checking it would fail a correct optimizer for the user's claim, not its code
        clash = [f"{k}={(given or {})[k]!r}" for k, h in found.items() if k in asked and (given or {})[k] != h.value]
        if clash:
            raise TargetLoadError(f"{shown} cannot be given {', '.join(clash)}: under spec {spec_name!r} Keras fixes "
                                  f"{_conventions_text(mapping)} (no keyword changes it), so it is not checked at "
                                  "that value; leave it out, or check a subclass of your own")
    if instance is not None:
        return _instance_subject(instance, cls, shown, spec, target, mapping, notes + lines, found)

    accepted, var_kw = _taken_keywords(cls)
    rules: list[Rule] = []
    untaken: list[Rule] = []
    for rule in mapping.rules:
        if var_kw or rule.target in accepted:
            rules.append(rule)
        elif rule.optional:
            lines.append(rule.if_unsupported or f"{shown} takes no {rule.target!r} keyword; it is not passed")
        else:
            untaken.append(rule)
    # the keywords the subclass's own signature names (not Keras's, which its **kwargs may reach only in part)
    if not own and not builtin and base is not None:
        for rule, value in _set_by_constructor(cls, mapping, rules, accepted_keywords(cls)[0]).items():
            rules.remove(rule)
            for n, v in (rule.canonical(value) or {}).items():
                found[n] = Held(_parse(spec, n, v), "read", f"{shown}().get_config()[{rule.target!r}], set by its "
                                "constructor")
            lines.append(f"{shown}'s constructor sets {rule.target}={value!r} (it passes its own value to "
                         f"keras.optimizers.{mapping.primary}): {', '.join(rule.sources)} held at it, not passed")
    defaults = spec_defaults(spec)
    built, config = None, {}
    if not builtin:
        # a subclass may set what the built-in leaves at its default (momentum, clipnorm, a schedule in its
        # __init__, a hyperparameter it hard-codes): built once to see
        at_defaults = {**defaults, **{k: h.value for k, h in found.items()}}
        try:
            built = cls(**{r.target: r.value(at_defaults) for r in rules})
            config = built.get_config()
        except Exception:  # noqa: BLE001 - a constructor that fails here fails in the runs, reported there
            built, config = None, {}
    params = {p.name: p for p in spec.params}
    for rule in list(untaken):
        # a hyperparameter the constructor does not take but the object keeps under the keyword's name
        # (``self.momentum = 0.9`` in __init__, as in Keras's own custom-optimizer example): read and held
        values = rule.canonical(getattr(built, rule.target, None)) if built is not None else None
        try:
            read = {n: Held(params[n].parse(v), "read", f"{shown}().{rule.target}, set by its constructor")
                    for n, v in (values or {}).items()}
        except Exception:  # noqa: BLE001 - not a value of the spec's range: the library default is assumed
            read = {}
        if read:
            found.update(read)
            untaken.remove(rule)
            lines.append(f"{shown} takes no {rule.target!r} keyword: {', '.join(rule.sources)} read from its "
                         f"{rule.target} attribute ({getattr(built, rule.target)!r}) and held")
    default_of = (lambda kw: _keras_default(mapping.primary, kw))
    unread = _unread_by_own_update(cls, base, own, rules)
    if unread:
        # a setting Keras's update reads (self.momentum) that the subclass's own formula never reads: it implements
        # the formula without it (a plain RMSprop subclass), so it is held at Keras's default, not varied (a value
        # given with --param is still passed)
        off, _ = held_at_library_default(unread, spec, f"{shown}'s own {', '.join(own)} never reads it", default_of,
                                         f"keras.optimizers.{mapping.primary}")
        found.update(off)
        lines.append(f"{shown}'s own {', '.join(own)} never reads self.{', self.'.join(r.target for r in unread)}: "
                     f"{', '.join(s for r in unread for s in r.sources)} held at keras.optimizers.{mapping.primary}'s "
                     f"default {', '.join(repr(default_of(r.target)) for r in unread)}")
    held, unknown = held_at_library_default(untaken, spec, shown, default_of, f"keras.optimizers.{mapping.primary}")
    if unknown:
        raise TargetLoadError(
            f"{shown}'s constructor takes no {', '.join(unknown)}: under spec {spec_name!r} the Keras adapter "
            f"calls it as keras.optimizers.{mapping.primary}({', '.join(r.call_text() for r in mapping.rules)})")
    for rule in untaken:
        lines.append(f"{shown} takes no {rule.target!r} keyword: {', '.join(rule.sources)} held at keras.optimizers."
                     f"{mapping.primary}'s default {default_of(rule.target)!r}")
    found.update(held)
    for name, (accepts, why) in mapping.restricted.items():
        if name not in found:
            found[name] = Held(spec_defaults(spec)[name], "restricted", why, accepts=accepts)
    known = {s for r in mapping.rules for s in r.sources} | set(mapping.conventions)
    if built is not None:
        _refuse_base_settings(built, config, mapping, shown, spec_name)
    if not builtin and not own:
        _refuse_other_settings(config, mapping, shown, spec_name)

    def factory(**hparams: Any) -> OptimizerRun:
        values = resolve_values(hparams, known, defaults, spec_name, f"keras.optimizers.{mapping.primary}")
        kwargs = {r.target: r.value(values) for r in rules}
        where = f"{shown}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
        return _KerasOptimizerRun(lambda: cls(**kwargs), where)

    call = ", ".join(r.call_text() for r in rules)
    report = [f"constructor: {shown}({call})"] + [r.text for r in rules if r.text] + notes + lines
    report.append(_run_note())
    return OptimizerSubject(f"keras optimizer {shown} under spec {spec_name} ({backend} backend, float64, several "
                            "variables)", mapping=report, library="keras", factory=factory,
                            takes=frozenset(s for r in rules for s in r.sources), found=found, name=shown)


def _instance_subject(instance: Any, cls: type, shown: str, spec: Any, target: str, mapping: LibraryMapping,
                      lines: list[str], found: dict[str, Held]) -> OptimizerSubject:
    """A Keras optimizer built beforehand: every run builds a fresh one from its ``get_config()``, all held."""
    name = target.rsplit(":", 1)[-1] if isinstance(target, str) else shown
    try:
        steps = int(_numpy(instance.iterations))
    except Exception:  # noqa: BLE001 - no readable iteration count: treated as fresh
        steps = 0
    if steps:
        raise TargetLoadError(f"{name} has already taken {steps} step(s): every run would start from that state; "
                              "give the optimizer before its first step, or its class")
    _refuse_schedule(instance, name, spec.name)
    try:
        config = instance.get_config()
    except Exception as exc:  # noqa: BLE001 - a subclass whose config cannot be read
        raise TargetLoadError(f"{name}.get_config() raised {type(exc).__name__}: {exc}; give its class instead") \
            from None
    _refuse_base_settings(instance, config, mapping, name, spec.name)
    try:
        cls.from_config(dict(config))
    except Exception as exc:  # noqa: BLE001 - a subclass whose config does not rebuild it
        raise TargetLoadError(f"{name} cannot be rebuilt from its get_config() ({type(exc).__name__}: {exc}); give "
                              "its class instead") from None
    if not _own_update(cls, _keras_base(cls)):
        _refuse_other_settings(config, mapping, name, spec.name)
    params = {p.name: p for p in spec.params}
    for rule in mapping.rules:
        if rule.target in config:
            for n, v in (rule.canonical(config[rule.target]) or {}).items():
                try:
                    found[n] = Held(params[n].parse(v), "read", f"{name}.get_config()[{rule.target!r}]")
                except Exception:  # noqa: BLE001 - a value outside the spec's range is left to the checks
                    continue

    def factory(**hparams: Any) -> OptimizerRun:
        return _KerasOptimizerRun(lambda: cls.from_config(dict(config)), f"{shown}.from_config({name}.get_config())")

    shown_config = {k: config[k] for k in sorted(config) if k in {r.target for r in mapping.rules}}
    report = [f"a built {shown} ({name}): every run builds {shown}.from_config(its get_config()) — "
              f"{', '.join(f'{k}={v!r}' for k, v in shown_config.items())} — all held (checks that need other "
              "values are skipped)"] + lines
    report.append(_run_note())
    return OptimizerSubject(f"keras optimizer {name} (a built {shown}) under spec {spec.name} (float64, several "
                            "variables)", mapping=report, library="keras", factory=factory, takes=frozenset(),
                            found=found, name=name, built=True)
