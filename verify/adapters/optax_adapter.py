"""Adapter for optax: ``GradientTransformation`` factories and instances.

Recognising an optax object (:func:`is_optax_object`,
:func:`is_gradient_transformation`) looks only at module and type names, so
checking numpy code never imports jax. Running one imports jax and optax,
turns on jax's 64-bit mode (``jax_enable_x64``) before any array is made, and
drives the transformation the optax way::

    state = tx.init(params)
    updates, state = tx.update(grads, state, params)
    params = optax.apply_updates(params, updates)

with ``params`` a pytree of several float64 arrays of different shapes (the
verifier's flat parameter vector split by
:func:`verify.adapters.mapping.parameter_shapes`, and joined back).

Three kinds of target:

* an optax factory (``optax.adam``, ``optax.sgd``, ...): called with the
  spec's canonical hyperparameters mapped to optax's names by the
  algorithm's record (:mod:`verify.algorithms`, its ``optax`` mapping, where
  the report's mapping lines come from too);
* a ``GradientTransformation`` instance (``optax.chain(...)`` built by the
  user): run as it is; its hyperparameters are fixed;
* a user's factory returning a ``GradientTransformation``, called with the
  canonical names like any numpy-protocol factory: the numpy protocol hands
  what it returns to :func:`run_for`.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Mapping

import numpy as np

from verify.adapters.base import (
    OptimizerRun,
    InputRecord,
    OptimizerSubject,
    Request,
    accepted_keywords,
    as_array,
    call_target,
    describe_value,
)
from verify import algorithms
from verify.adapters.mapping import (
    Rule,
    as_python,
    bound_arguments,
    held_at_library_default,
    held_conventions,
    parameter_shapes,
    refuse_other_settings,
    resolve_values,
    same,
    spec_defaults,
    split_flat,
)
from verify.algorithms import LibraryMapping, Unmapped
from verify.errors import MissingDependencyError, ProtocolError, TargetLoadError
from verify.specs.base import Held

__all__ = [
    "claim",
    "OPTAX_OPTIMIZERS",
    "is_optax_object",
    "is_gradient_transformation",
    "require_optax",
    "enable_x64_if_loaded",
    "optimizer",
    "run_for",
]

_LIBS = ("optax", "jax")


def _from_lib(module: str) -> bool:
    return any(module == lib or module.startswith(lib + ".") for lib in _LIBS)


def _unwrap(obj: Any) -> Any:
    while isinstance(obj, functools.partial):
        obj = obj.func
    return obj


def is_gradient_transformation(obj: Any) -> bool:
    """Whether ``obj`` is an ``optax.GradientTransformation`` (by type name; never imports optax)."""
    for c in inspect.getmro(type(obj)):
        if c.__name__ in ("GradientTransformation", "GradientTransformationExtraArgs") and \
                (c.__module__ or "").startswith("optax"):
            return True
    return False


def is_optax_object(obj: Any) -> bool:
    """Whether ``obj`` comes from optax or jax (a factory, a transformation); never imports them."""
    if is_gradient_transformation(obj):
        return True
    inner = _unwrap(obj)
    return _from_lib(getattr(inner, "__module__", "") or "")


def claim(request: Request) -> OptimizerSubject | None:
    """The subject for an optax factory or ``GradientTransformation`` (an object of optax or jax); ``None`` for any
    other object (decided without importing either)."""
    return optimizer(request.obj, request.spec, request.target) if is_optax_object(request.obj) else None


def require_optax() -> tuple[Any, Any, Any]:
    """``(jax, jax.numpy, optax)`` with 64-bit mode on, or :class:`MissingDependencyError`."""
    try:
        import jax
    except ImportError:
        raise MissingDependencyError("this target needs jax, which is not installed: install dlverify[optax]") from None
    jax.config.update("jax_enable_x64", True)
    try:
        import jax.numpy as jnp
        import optax
    except ImportError:
        raise MissingDependencyError("this target needs optax, which is not installed: install dlverify[optax]") from None
    return jax, jnp, optax


def enable_x64_if_loaded() -> None:
    """Turn on jax's 64-bit mode if (and only if) jax is already imported.

    For the numpy protocol to call before a user's factory runs: a factory
    returning an optax chain may make jax arrays of its hyperparameters, which
    must be float64.
    """
    import sys

    jax = sys.modules.get("jax")
    if jax is not None and hasattr(jax, "config"):
        jax.config.update("jax_enable_x64", True)


def _public_optax_name(obj: Any) -> str | None:
    """``name`` when ``optax.name is obj`` (``optax.nadam`` is a ``functools.partial`` of ``optax.adam``)."""
    import optax

    for name, value in vars(optax).items():
        if value is obj and not name.startswith("_"):
            return name
    return None


def _optax_name(fn: Any) -> tuple[str, str | None]:
    """How to show ``fn`` (``optax.adam``, ``partial(optax.adam)``, ``module.name``), and its optax short name."""
    inner = _unwrap(fn)
    module = getattr(inner, "__module__", "") or ""
    if module.startswith("optax"):
        public = _public_optax_name(fn)
        if public:
            return f"optax.{public}", public
        inner_public = _public_optax_name(inner) if inner is not fn else None
        if inner_public:
            return f"partial(optax.{inner_public})", inner_public
    name = getattr(inner, "__qualname__", None) or getattr(inner, "__name__", None) or type(inner).__name__
    shown = f"{module}.{name}" if module and not module.startswith("_verify_target_") else name
    return (f"partial({shown})" if inner is not fn else shown), None


# --------------------------------------------------------------------------
# The hyperparameter mapping: spec (canonical names) -> optax keywords
# --------------------------------------------------------------------------


#: Each algorithm's optax mapping (its record's ``optax``), by name: the mapping lines of reports come from it.
OPTAX_OPTIMIZERS: dict[str, LibraryMapping] = {
    a.name: a.optax for a in algorithms.ALGORITHMS if isinstance(a.optax, LibraryMapping)}

_COUPLED_TEXT = ("weight_decay (PyTorch's coupled L2, g ← g + weight_decay·w) → "
                 "optax.chain(optax.add_decayed_weights(weight_decay), {factory}(...)) when weight_decay ≠ 0 "
                 "({factory} has no weight decay of its own)")

_RUN_NOTE = ("jax 64-bit mode; params are a pytree (nested dict) of float64 arrays of shapes "
             "(2, 3), (4,), (1,), (rest,) (one array when there are fewer than 2 entries); "
             "updates, state = tx.update(grads, state, params); params = optax.apply_updates(params, updates)")

_PATHS = (("dense", "kernel"), ("dense", "bias"), ("scale",), ("rest",))


class _OptaxRun(OptimizerRun):
    """One ``GradientTransformation`` driven over a pytree of float64 arrays."""

    def inspected(self) -> dict[str, Any]:
        return {"its state": self.state}

    def __init__(self, tx: Any, where: str, compiled: "_CompiledStep | None" = None):
        self.tx = tx
        self.where = where
        self.compiled = compiled
        self.inputs = InputRecord("jax arrays are immutable: a transformation cannot modify the arrays it is given")

    def _tree(self, flat: np.ndarray) -> Any:
        _, jnp, _ = require_optax()
        pieces = [jnp.asarray(p, dtype=jnp.float64) for p in split_flat(flat.reshape(-1), self.shapes)]
        if len(pieces) == 1:
            return pieces[0]
        tree: dict[str, Any] = {}
        for path, leaf in zip(_PATHS, pieces):
            node = tree
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = leaf
        return tree

    def _leaves(self, tree: Any, what: str) -> list[np.ndarray]:
        jax, _, _ = require_optax()
        leaves, structure = jax.tree_util.tree_flatten(tree)
        if structure != self.structure:
            raise ProtocolError(f"{what} has pytree structure {structure}; expected the params' {self.structure}")
        return [as_array(leaf, f"{what} leaf {i}", shape=shape)
                for i, (leaf, shape) in enumerate(zip(leaves, self.leaf_shapes))]

    def init(self, params: np.ndarray) -> None:
        jax, _, _ = require_optax()
        p = np.array(params, dtype=np.float64, copy=True)
        self.shape = p.shape
        self.shapes = parameter_shapes(p.shape, one=self.one_tensor)
        self.params = self._tree(p)
        leaves, self.structure = jax.tree_util.tree_flatten(self.params)
        self.leaf_shapes = [tuple(leaf.shape) for leaf in leaves]
        # jax orders dict leaves by sorted key; self.order[k] is the leaf holding piece k of the flat vector.
        firsts = [np.ravel(leaf)[:1] for leaf in jax.tree_util.tree_leaves(self._tree(np.arange(p.size, dtype=np.float64)))]
        self.order = [int(i) for i in np.argsort([float(f[0]) if f.size else -1.0 for f in firsts], kind="stable")]
        self.state = call_target(f"{self.where}.init(params)", self.tx.init, self.params)

    def step(self, grads: np.ndarray, params: np.ndarray | None = None) -> np.ndarray:
        _, _, optax = require_optax()
        g = self._tree(np.asarray(grads, dtype=np.float64))
        where = f"{self.where}.update(grads, state, params)"
        stepped = self.compiled(g, self.state, self.params) if self.compiled is not None else None
        if stepped is not None:
            self.params, self.state, updates = stepped
            self._leaves(updates, f"the updates {where} returned")
        else:
            out = call_target(where, self.tx.update, g, self.state, self.params)
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise ProtocolError(f"{where} returned {describe_value(out)}; expected a pair (updates, new_state)")
            updates, state = out
            self._leaves(updates, f"the updates {where} returned")
            self.params = call_target("optax.apply_updates(params, updates)", optax.apply_updates, self.params, updates)
            self.state = state
        leaves = self._leaves(self.params, "the new params")
        return np.concatenate([leaves[i].reshape(-1) for i in self.order]).reshape(self.shape)


class _CompiledStep:
    """One jit-compiled ``update`` + ``apply_updates`` shared by every run of an optax factory.

    optax's own factories are pure and traceable. Built through
    ``optax.inject_hyperparams``, their numeric hyperparameters live in the
    state, so the step compiled for the first run serves every later run with
    the same static arguments and parameter shapes, whatever the drawn values
    (hypothesis draws new ones for every example; without this, every step of
    every example would be dispatched op by op). A step that cannot be traced
    is not an error of the target: the runs fall back to the eager update,
    which then reports whatever the target does.
    """

    def __init__(self, template: Any):
        jax, _, optax = require_optax()

        def step(grads: Any, state: Any, params: Any) -> Any:
            updates, new_state = template.update(grads, state, params)
            return optax.apply_updates(params, updates), new_state, updates

        self._step = jax.jit(step)
        self.usable = True

    def __call__(self, grads: Any, state: Any, params: Any) -> Any:
        if not self.usable:
            return None
        try:
            return self._step(grads, state, params)
        except Exception:  # noqa: BLE001 - not traceable: the eager path runs it and reports errors
            self.usable = False
            return None


_COMPILED: dict[Any, _CompiledStep] = {}


def _with_coupled_decay(factory: Any) -> Any:
    """``factory`` preceded by ``add_decayed_weights(weight_decay)``, with a signature inject_hyperparams reads."""
    _, _, optax = require_optax()

    def make(weight_decay: float, **kwargs: Any) -> Any:
        return optax.chain(optax.add_decayed_weights(weight_decay), factory(**kwargs))

    sig = inspect.signature(factory)
    params = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
    make.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=[*params, inspect.Parameter("weight_decay", inspect.Parameter.KEYWORD_ONLY)])
    return make


def _compiled_run(factory: Any, kwargs: Mapping[str, Any], decay: float | None, where: str) -> OptimizerRun | None:
    """A run of optax's own ``factory(**kwargs)`` (after a coupled ``decay``) on a shared compiled step, or
    ``None`` where optax cannot inject these hyperparameters."""
    _, _, optax = require_optax()
    numeric = {k: v for k, v in kwargs.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    static = {k: v for k, v in kwargs.items() if k not in numeric}
    if decay is not None:
        numeric["weight_decay"] = decay
    key = (factory, decay is not None, tuple(sorted(static.items(), key=repr)), tuple(sorted(numeric)))
    try:
        inner = factory if decay is None else _with_coupled_decay(factory)
        tx = optax.inject_hyperparams(inner, static_args=tuple(static))(**static, **numeric)
    except Exception:  # noqa: BLE001 - the eager path builds it and reports what goes wrong
        return None
    if key not in _COMPILED:
        _COMPILED[key] = _CompiledStep(tx)
    return _OptaxRun(tx, where, _COMPILED[key])


def run_for(tx: Any, where: str) -> OptimizerRun:
    """An :class:`OptimizerRun` for a ``GradientTransformation`` (the numpy protocol's hook).

    ``where`` names the call that produced ``tx`` (for error messages).
    """
    require_optax()
    return _OptaxRun(tx, where)


def _defaults(fn: Any) -> dict[str, Any]:
    try:
        return {n: p.default for n, p in inspect.signature(fn).parameters.items() if p.default is not p.empty}
    except (TypeError, ValueError):
        return {}


def _injected_hyperparams(tx: Any) -> dict[str, Any] | None:
    """The ``hyperparams`` dict of an ``optax.inject_hyperparams`` state inside ``tx.init(params)``, if exactly one."""
    jax, jnp, _ = require_optax()
    try:
        state = tx.init(jnp.zeros(3, dtype=jnp.float64))
    except Exception:  # noqa: BLE001 - a transformation that cannot init a vector is reported by the checks
        return None
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        hp = getattr(node, "hyperparams", None)
        if isinstance(hp, Mapping):
            found.append(dict(hp))
        if isinstance(node, (tuple, list)):
            for child in node:
                walk(child)
        inner = getattr(node, "inner_state", None)
        if inner is not None:
            walk(inner)

    walk(state)
    if len(found) != 1:
        return None
    out = {}
    for k, v in found[0].items():
        try:
            out[k] = float(np.asarray(v))
        except Exception:  # noqa: BLE001 - a schedule or an array: not a fixed value
            continue
    return out


def _instance_subject(tx: Any, spec: Any, target: str) -> OptimizerSubject:
    shown = target.rsplit(":", 1)[-1] if isinstance(target, str) else type(tx).__name__
    found: dict[str, Held] = {}
    injected = _injected_hyperparams(tx)
    algorithm = OPTAX_OPTIMIZERS.get(spec.name)
    params = {p.name: p for p in getattr(spec, "params", ())}
    if injected and algorithm is not None:
        for rule in algorithm.rules:
            if rule.target in injected and rule.canonical(injected[rule.target]) is not None:
                for n, v in rule.canonical(injected[rule.target]).items():
                    try:
                        found[n] = Held(params[n].parse(v), "read",
                                        f"{shown}'s inject_hyperparams state [{rule.target!r}]")
                    except Exception:  # noqa: BLE001
                        continue

    def factory(**hparams: Any) -> OptimizerRun:
        return _OptaxRun(tx, shown)

    mapping = [
        "a GradientTransformation built beforehand: run as built (it is stateless: each run starts from "
        "tx.init(params)); its hyperparameters are its own, held fixed" +
        (" (read from its inject_hyperparams state where optax exposes them)" if found else
         " — give them with --param when they differ from the spec's defaults") +
        "; checks that need other values are skipped",
        _RUN_NOTE,
    ]
    return OptimizerSubject(f"optax GradientTransformation {shown} (an instance built beforehand; jax float64 pytree)",
                            mapping=mapping, library="optax", factory=factory, takes=frozenset(), found=found,
                            name=shown, built=True)


def optimizer(obj: Any, spec: Any, target: str) -> OptimizerSubject:
    """The subject for an optax factory or ``GradientTransformation`` under an optimizer ``spec``.

    A ``GradientTransformation`` built beforehand takes no hyperparameter: all
    are held (at the values optax's ``inject_hyperparams`` state shows, else
    the given or default ones).
    """
    require_optax()
    if is_gradient_transformation(obj):
        return _instance_subject(obj, spec, target)
    if not callable(obj):
        raise TargetLoadError(f"target {target!r} is a {type(obj).__name__}, not an optax factory or "
                              "GradientTransformation")
    shown, short = _optax_name(obj)
    spec_name = spec.name
    accepted, var_kw = accepted_keywords(obj)
    inner = _unwrap(obj)
    from_optax = (getattr(inner, "__module__", "") or "").startswith("optax")

    def build(kwargs: dict[str, Any], where: str) -> Any:
        tx = call_target(where, obj, **kwargs)
        if not is_gradient_transformation(tx):
            raise ProtocolError(f"{where} returned {describe_value(tx)}, not an optax GradientTransformation")
        return tx

    def call_text(kwargs: Mapping[str, Any]) -> str:
        return f"{shown}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"

    if spec_name not in OPTAX_OPTIMIZERS and getattr(spec, "accepts_extra_params", False):
        def generic_factory(**hparams: Any) -> OptimizerRun:
            kwargs = {k: as_python(v) for k, v in hparams.items()}
            where = call_text(kwargs)
            return _OptaxRun(build(kwargs, where), where)

        return OptimizerSubject(
            f"optax factory {shown} (jax float64 pytree)",
            mapping=["generic-optimizer: the --param values are passed to the factory unchanged "
                     "(use optax's keyword names, e.g. learning_rate)", _RUN_NOTE],
            library="optax", factory=generic_factory)

    record = algorithms.find(spec_name)
    algorithm = record.optax if record is not None else None
    if not isinstance(algorithm, LibraryMapping):
        hint = f" {algorithm.reason}" if isinstance(algorithm, Unmapped) else ""
        raise TargetLoadError(f"the optax adapter has no mapping for spec {spec_name!r} (target {target!r}).{hint}")
    lines: list[str] = []
    if from_optax and (short is None or (short not in algorithm.names and short not in algorithm.variants)):
        specs = [n for n, a in OPTAX_OPTIMIZERS.items() if short in a.names]
        where_else = f"check it under --spec {' or '.join(specs)}" if specs else "check it under --spec generic-optimizer"
        expected = " or ".join(f"optax.{f}" for f in algorithm.names)
        raise TargetLoadError(f"{shown} does not implement spec {spec_name!r} (which maps to {expected}); {where_else}")
    if short in algorithm.variants:
        lines.append(algorithm.variants[short])

    rules: list[Rule] = []
    missing: list[str] = []
    coupled = False
    for rule in algorithm.rules:
        if var_kw or rule.target in accepted:
            rules.append(rule)
        elif rule.optional:
            if rule.if_unsupported:
                lines.append(rule.if_unsupported)
        else:
            missing.append(rule.target)
    if algorithm.coupled_decay and not (var_kw or "weight_decay" in accepted):
        coupled = True
    elif algorithm.coupled_decay:
        rules.append(same("weight_decay"))
    signature_defaults = _defaults(obj)
    found, unknown = held_at_library_default(
        [r for r in algorithm.rules if r.target in missing], spec, shown,
        lambda kw: signature_defaults.get(kw, inspect.Parameter.empty), shown)
    if unknown:
        raise TargetLoadError(
            f"{shown} takes no {', '.join(unknown)}: under spec {spec_name!r} the optax adapter calls "
            f"optax.{algorithm.primary}({', '.join(r.call_text() for r in algorithm.rules)})")
    for kw in missing:
        lines.append(f"{shown} takes no {kw!r} keyword: held at its default {signature_defaults[kw]!r}")
    bound = bound_arguments(obj)
    if from_optax:
        refuse_other_settings(bound, algorithm, shown, spec_name, f"optax.{algorithm.primary}")
    spec_params = {p.name: p for p in spec.params}
    for rule in algorithm.rules:
        if rule.target in bound and rule.canonical(bound[rule.target]) is not None:
            for n, v in rule.canonical(bound[rule.target]).items():
                try:
                    found[n] = Held(spec_params[n].parse(v), "bound", shown)
                except Exception:  # noqa: BLE001
                    continue

    found.update(held_conventions(algorithm, spec, shown, short))
    defaults = spec_defaults(spec)
    known = ({s for r in algorithm.rules for s in r.sources} | ({"weight_decay"} if algorithm.coupled_decay else set())
             | set(algorithm.conventions_for(short)))

    def factory(**hparams: Any) -> OptimizerRun:
        _, _, optax = require_optax()
        values = resolve_values(hparams, known, defaults, spec_name, shown)
        kwargs = {r.target: r.value(values) for r in rules}
        where = call_text(kwargs)
        decay = (as_python(values["weight_decay"])
                 if coupled and float(values.get("weight_decay", 0.0)) != 0.0 else None)
        if decay is not None:
            where = f"optax.chain(optax.add_decayed_weights({decay!r}), {where})"
        if from_optax:
            run = _compiled_run(obj, kwargs, decay, where)
            if run is not None:
                return run
        tx = build(kwargs, call_text(kwargs))
        if decay is not None:
            tx = call_target(where, lambda: optax.chain(optax.add_decayed_weights(decay), tx))
        return _OptaxRun(tx, where)

    call = ", ".join(r.call_text() for r in rules)
    mapping = [f"factory: {shown}({call})"]
    mapping += [r.text for r in rules if r.text]
    if coupled:
        mapping.append(_COUPLED_TEXT.format(factory=shown))
    mapping += list(algorithm.notes) + lines + [_RUN_NOTE]
    if not from_optax:
        mapping.insert(0, f"{shown} is not optax's own factory; it is called with optax's keyword names")
    takes = frozenset(s for r in rules for s in r.sources) | ({"weight_decay"} if algorithm.coupled_decay else set())
    return OptimizerSubject(f"optax factory {shown} under spec {spec_name} (jax float64 pytree)",
                            mapping=mapping, library="optax", factory=factory, takes=takes, found=found, name=shown)
