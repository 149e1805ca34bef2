"""Adapters for PyTorch: optimizers, initialisers and batch norm.

Imported only when the target is a torch object (see
:func:`verify.adapters.adapt`); torch itself is imported lazily by the
functions here, and a missing torch raises
:class:`~verify.errors.MissingDependencyError` ("install dlverify[torch]").

* **Optimizers**: a ``torch.optim.Optimizer`` subclass whose constructor
  follows the torch class of the spec's algorithm (``SGD`` for ``sgd``,
  ``momentum``, ``nesterov``, ``weight-decay`` and — for subclasses — ``sign-sgd``;
  ``Rprop``; ``RMSprop``; ``Adam``; ``AdamW``). The spec's canonical
  hyperparameters are mapped to torch's keywords by the algorithm's record
  (:mod:`verify.algorithms`, its ``torch`` mapping), the single place both the
  adapter and the report's mapping lines come from.
  Every run is in float64 (tensors, and torch's default dtype while the
  target's code runs), with the verifier's flat parameter vector split into
  several tensors of different shapes (:func:`parameter_shapes`) in one
  parameter group, ``p.grad`` set from the gradient stream, then ``opt.step()``.
* **Initialisers**: ``torch.nn.init``-style ``fn(tensor)`` filling a float64
  tensor in place, in torch's ``(fan_out, fan_in, *kernel)`` layout.
* **Batch norm**: modules compatible with ``torch.nn.BatchNorm1d``; the module
  is made float64 (``.double()``) and its backward pass is torch's autograd.
* **Layer norm, RMS norm**: module classes compatible with ``torch.nn.LayerNorm``
  / ``torch.nn.RMSNorm`` (float64, autograd backward), and the functions
  ``torch.nn.functional.layer_norm`` / ``rms_norm``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import sys
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from verify.adapters.base import (
    BatchNormInstance,
    BatchNormSubject,
    InitialiserSubject,
    NormLayerInstance,
    NormLayerSubject,
    OptimizerRun,
    InputRecord,
    OptimizerSubject,
    Request,
    Subject,
    accepted_keywords,
    as_array,
    call_target,
    describe_value,
    reads,
    watched_call,
)
from verify import algorithms
from verify.adapters.mapping import (
    Rule,
    as_python,
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
from verify.errors import BadParameterError, MissingDependencyError, ProtocolError, TargetLoadError
from verify.specs.base import Family, Held

__all__ = [
    "claim",
    "is_torch_object",
    "mapping_lines",
    "TORCH_OPTIMIZERS",
    "optimizer",
    "initialiser",
    "TorchInitialiserSubject",
    "batchnorm",
    "normlayer",
    "require_torch",
]


def is_torch_object(obj: Any) -> bool:
    """Whether ``obj`` is (or derives from) something defined in torch; never imports torch (an object of torch's
    exists only once torch is imported)."""
    if "torch" not in sys.modules:
        return False
    classes = inspect.getmro(obj) if inspect.isclass(obj) else (type(obj),)
    modules = [getattr(c, "__module__", "") or "" for c in classes]
    modules.append(getattr(obj, "__module__", "") or "")
    return any(m == "torch" or m.startswith("torch.") for m in modules)


def claim(request: Request) -> Subject | None:
    """The subject for a torch optimizer (class or instance), initialiser or batch-norm module class; ``None`` for
    any other object. An initialiser ``fn(tensor)`` filling its argument in place (torch.nn.init's protocol) is
    claimed by its signature, torch's or not."""
    obj, family, target = request.obj, request.family, request.target
    if family == Family.OPTIMIZER:
        if not is_torch_object(obj.func if isinstance(obj, functools.partial) else obj):
            return None
        if inspect.isclass(obj):
            return optimizer(obj, request.spec, target)
        torch = require_torch()
        if isinstance(obj, functools.partial) and inspect.isclass(obj.func) and \
                issubclass(obj.func, torch.optim.Optimizer):
            return optimizer(obj.func, request.spec, target, bound=obj)
        return optimizer(type(obj), request.spec, target, instance=obj) \
            if isinstance(obj, torch.optim.Optimizer) else None
    if family in (Family.INITIALISER, Family.BIAS):
        from verify.adapters.protocol.initialisers import initialiser_calling

        if is_torch_object(obj) or (callable(obj) and initialiser_calling(obj) == "tensor"):
            return initialiser(obj, target)
        return None
    if family == Family.BATCHNORM and is_torch_object(obj):
        return batchnorm(obj, target, convention=request.params.get("convention", "auto"))
    if family == Family.LAYERNORM and is_torch_object(obj.func if isinstance(obj, functools.partial) else obj):
        return normlayer(obj, target, request.spec.name)
    return None


def require_torch() -> Any:
    """``import torch``, or :class:`MissingDependencyError` naming the extra to install."""
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("this target needs PyTorch, which is not installed: install dlverify[torch]") from None
    return torch


def _qualname(obj: Any) -> str:
    """``torch.optim.Adam`` for torch's own classes, ``module.Name`` otherwise."""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
    module = getattr(obj, "__module__", "") or ""
    if module.startswith("torch.optim."):
        import torch.optim

        if getattr(torch.optim, name, None) is obj:
            return f"torch.optim.{name}"
    if module.startswith("torch.nn.modules."):
        import torch.nn

        if getattr(torch.nn, name, None) is obj:
            return f"torch.nn.{name}"
    if module.startswith("_verify_target_") or not module:
        return name
    return f"{module}.{name}"


@contextlib.contextmanager
def _float64_default(torch: Any) -> Iterator[None]:
    """torch's default dtype is float64 while target code runs (state made with ``torch.zeros(shape)``)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


# --------------------------------------------------------------------------
# The hyperparameter mapping: spec (canonical names) -> torch keywords
# --------------------------------------------------------------------------


#: Each algorithm's torch mapping (its record's ``torch``), by name: the mapping lines of reports come from it.
TORCH_OPTIMIZERS: dict[str, LibraryMapping] = {
    a.name: a.torch for a in algorithms.ALGORITHMS if isinstance(a.torch, LibraryMapping)}

_RUN_NOTE = ("float64 tensors (torch's default dtype is float64 while the optimizer runs); the parameter "
             "vector is split into tensors of shapes {shapes} (one tensor when it has fewer than 2 entries) "
             "in one parameter group; p.grad is set from the gradient stream, then opt.step()")


def _torch_base(cls: type, torch: Any) -> str | None:
    """Name of the nearest built-in ``torch.optim`` algorithm class in ``cls``'s MRO."""
    for c in inspect.getmro(cls):
        if c is torch.optim.Optimizer:
            return None
        name = c.__name__
        if (c.__module__ or "").startswith("torch.optim.") and getattr(torch.optim, name, None) is c:
            return name
    return None


def _torch_default(torch: Any, cls_name: str, keyword: str) -> Any:
    """The default of ``keyword`` in torch's own ``cls_name`` constructor (``inspect._empty`` if none)."""
    try:
        param = inspect.signature(getattr(torch.optim, cls_name)).parameters.get(keyword)
    except (TypeError, ValueError):
        return inspect.Parameter.empty
    return inspect.Parameter.empty if param is None else param.default


def mapping_lines(algorithm: LibraryMapping, shown_name: str, rules: Sequence[Rule]) -> list[str]:
    """The report's mapping lines for ``algorithm`` run through ``shown_name``."""
    call = ", ".join(r.call_text() for r in rules)
    lines = [f"constructor: {shown_name}(params, {call})"]
    lines += [r.text for r in rules if r.text]
    lines += list(algorithm.notes)
    return lines


class _TorchOptimizerRun(OptimizerRun):
    """One torch optimizer over float64 tensors split from the flat parameter vector."""

    def __init__(self, cls: type, kwargs: dict[str, Any], shown: str):
        self.cls = cls
        self.kwargs = kwargs
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        self.where = f"{shown}(params, {args})"
        self.inputs = InputRecord("p.grad of every parameter tensor compared before and after optimizer.step()")

    def init(self, params: np.ndarray) -> None:
        torch = require_torch()
        p = np.array(params, dtype=np.float64, copy=True)
        self.shape = p.shape
        self.shapes = parameter_shapes(p.shape, one=self.one_tensor)
        with _float64_default(torch):
            self.tensors = [torch.nn.Parameter(torch.tensor(chunk, dtype=torch.float64))
                            for chunk in split_flat(p.reshape(-1), self.shapes)]
            self.opt = call_target(self.where, self.cls, self.tensors, **self.kwargs)
        if not callable(getattr(self.opt, "step", None)):
            raise ProtocolError(f"{self.where} returned {describe_value(self.opt)} without a step() method")

    def inspected(self) -> dict[str, Any]:
        state = getattr(self.opt, "state", {})
        return {f"optimizer.state[parameter {i}]": state[t] for i, t in enumerate(self.tensors) if t in state}

    def step(self, grads: np.ndarray, params: np.ndarray | None = None) -> np.ndarray:
        torch = require_torch()
        g = np.asarray(grads, dtype=np.float64).reshape(-1)
        chunks = split_flat(g, self.shapes)
        for t, chunk in zip(self.tensors, chunks):
            t.grad = torch.tensor(chunk, dtype=torch.float64)
        # p.grad as the step leaves it (rebound, or None: as given)
        watched = {f"p.grad of parameter tensor {i}": reads(lambda t=t, c=c: c if t.grad is None else
                                                            t.grad.detach().cpu().numpy().reshape(c.shape))
                   for i, (t, c) in enumerate(zip(self.tensors, chunks))}
        with _float64_default(torch):
            watched_call(self.inputs, "optimizer.step()", self.opt.step, watched=watched)
        for change in self.inputs.last:
            self.inputs.note(f"optimizer.step() modified {change.input} in place")
        pieces = []
        for i, t in enumerate(self.tensors):
            if tuple(t.shape) != self.shapes[i]:
                raise ProtocolError(f"optimizer.step() changed parameter tensor {i}'s shape from "
                                    f"{self.shapes[i]} to {tuple(t.shape)}")
            pieces.append(as_array(t, f"parameter tensor {i} after optimizer.step()").reshape(-1))
        flat = np.concatenate(pieces) if pieces else np.empty(0)
        return flat.reshape(self.shape)


def optimizer(cls: Any, spec: Any, target: str, instance: Any = None,
              bound: functools.partial | None = None) -> OptimizerSubject:
    """The subject for a ``torch.optim.Optimizer`` subclass under an optimizer ``spec``.

    ``instance``: an optimizer built beforehand (``cls`` is its class): every
    run builds a new one with the instance's own ``defaults`` (hyperparameters
    and flags), all held. ``bound``: ``functools.partial(cls, flag=value, …)`` binding keywords the spec has no
    parameter for (timm's ``Lamb(max_grad_norm=None)``); every run is built through it.
    """
    torch = require_torch()
    shown = _qualname(cls)
    make = cls if bound is None else functools.partial(cls, *bound.args, **bound.keywords)
    if not inspect.isclass(cls) or not issubclass(cls, torch.optim.Optimizer):
        raise TargetLoadError(f"target {target!r} ({shown}) is not a torch.optim.Optimizer subclass")
    base = _torch_base(cls, torch)
    accepted, var_kw = accepted_keywords(cls)
    spec_name = spec.name

    if spec_name == "generic-optimizer" or (getattr(spec, "accepts_extra_params", False)
                                            and spec_name not in TORCH_OPTIMIZERS):
        def generic_factory(**hparams: Any) -> OptimizerRun:
            kwargs = dict(_instance_keywords(instance, accepted, var_kw)) if instance is not None else {}
            kwargs.update({k: as_python(v) for k, v in hparams.items()})
            return _TorchOptimizerRun(make, kwargs, shown)

        return OptimizerSubject(
            f"torch optimizer {shown} (float64, several parameter tensors)",
            mapping=["generic-optimizer: the --param values are passed to the constructor unchanged "
                     "(use torch's keyword names)", _RUN_NOTE.format(shapes="(2, 3), (4,), (1,), (rest,)")],
            library="torch", factory=generic_factory, name=shown)

    record = algorithms.find(spec_name)
    algorithm = record.torch if record is not None else None
    if not isinstance(algorithm, LibraryMapping):
        why = f": {algorithm.reason}" if isinstance(algorithm, Unmapped) else ""
        raise TargetLoadError(f"the torch adapter has no mapping for spec {spec_name!r} (target {target!r}){why}; "
                              f"torch optimizers can be checked under: {', '.join(TORCH_OPTIMIZERS)}, generic-optimizer")
    is_builtin = base is not None and getattr(torch.optim, base, None) is cls
    lines = class_lines(TORCH_OPTIMIZERS, algorithm, base, is_builtin, shown, spec_name, "torch.optim",
                        fallback=["generic-optimizer"])
    if instance is not None:
        return _instance_subject(instance, cls, shown, spec, target, algorithm, lines, accepted, var_kw)

    # Which keywords the constructor takes; the hyperparameters of the others are held at torch's defaults.
    rules: list[Rule] = []
    untaken: list[Rule] = []
    fixed = algorithm.conventions_for(base)
    for rule in algorithm.rules:
        if rule.sources and set(rule.sources) <= set(fixed) and not (var_kw or rule.target in accepted):
            continue        # a convention of this class (AdamW's decoupled decay), not a keyword it lacks
        if var_kw or rule.target in accepted:
            rules.append(rule)
        elif rule.optional:
            lines.append(rule.if_unsupported or f"{shown} takes no {rule.target!r} keyword; it is not passed")
        else:
            untaken.append(rule)
    found, unknown = held_at_library_default(untaken, spec, shown,
                                              lambda kw: _torch_default(torch, algorithm.primary, kw),
                                              f"torch.optim.{algorithm.primary}")
    if unknown:
        raise TargetLoadError(
            f"{shown}'s constructor takes no {', '.join(unknown)}: under spec {spec_name!r} the torch adapter "
            f"calls it as torch.optim.{algorithm.primary}(params, "
            f"{', '.join(r.call_text() for r in algorithm.rules)})")
    for rule in untaken:
        lines.append(f"{shown} takes no {rule.target!r} keyword: {', '.join(rule.sources)} held at torch.optim."
                     f"{algorithm.primary}'s default {_torch_default(torch, algorithm.primary, rule.target)!r}")
    found.update(held_conventions(algorithm, spec, shown, base))
    defaults = spec_defaults(spec)
    known = {s for r in algorithm.rules for s in r.sources} | set(fixed)

    def factory(**hparams: Any) -> OptimizerRun:
        values = resolve_values(hparams, known, defaults, spec_name, f"torch.optim.{algorithm.primary}")
        return _TorchOptimizerRun(make, {r.target: r.value(values) for r in rules}, shown)

    if bound is not None and {r.target for r in algorithm.rules} & set(bound.keywords):
        raise TargetLoadError(f"functools.partial({shown}, …) binds "
                              f"{', '.join(sorted({r.target for r in algorithm.rules} & set(bound.keywords)))}: a "
                              f"hyperparameter of spec {spec_name!r}; give it with --param instead")
    if algorithm.settings:
        refuse_other_settings(_built_defaults(make, rules, {**defaults, **{k: h.value for k, h in found.items()}}),
                              algorithm, shown, spec_name, shown, partial=True)
    mapping = mapping_lines(algorithm, shown, rules) + lines
    if bound is not None:
        mapping.append(f"bound by functools.partial: {', '.join(f'{k}={v!r}' for k, v in bound.keywords.items())}")
    mapping.append(_RUN_NOTE.format(shapes="(2, 3), (4,), (1,), (rest,)"))
    takes = frozenset(s for r in rules for s in r.sources)
    return OptimizerSubject(f"torch optimizer {shown} under spec {spec_name} (float64, several parameter tensors)",
                            mapping=mapping, library="torch", factory=factory, takes=takes, found=found, name=shown)


def _built_defaults(make: Any, rules: Sequence[Rule], values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``defaults`` of one optimizer built with these values ({} if it cannot be built: the runs report it)."""
    torch = require_torch()
    try:
        with _float64_default(torch):
            built = make([torch.zeros(1, requires_grad=True)], **{r.target: r.value(values) for r in rules})
        return dict(getattr(built, "defaults", {}) or {})
    except Exception:  # noqa: BLE001 - a constructor that fails here fails in the runs, reported there
        return {}


def _instance_keywords(instance: Any, accepted: set[str], var_kw: bool) -> dict[str, Any]:
    """The instance's ``defaults`` its class's constructor accepts (hyperparameters and flags)."""
    defaults = getattr(instance, "defaults", None)
    if not isinstance(defaults, dict):
        return {}
    return {k: v for k, v in defaults.items() if var_kw or k in accepted}


def _state_as_built(instance: Any, cls: type, kwargs: dict[str, Any]) -> bool:
    """Whether the instance's state is what its constructor makes (torch.optim.Adagrad fills its ``sum`` and
    ``step`` at construction): a fresh ``cls`` on copies of the same parameters must hold equal state, entry for
    entry. Anything else — or a constructor that cannot be repeated — counts as steps taken."""
    torch = require_torch()
    try:
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [p.detach().clone().requires_grad_(p.requires_grad) for p in g["params"]]}
                  for g in instance.param_groups]
        fresh = cls(groups, **kwargs)
        built = [instance.state.get(p) for g in instance.param_groups for p in g["params"]]
        made = [fresh.state.get(p) for g in fresh.param_groups for p in g["params"]]
    except Exception:  # noqa: BLE001 - cannot tell: treated as stepped (fail-closed)
        return False

    def same(a: Any, b: Any) -> bool:
        if torch.is_tensor(a) or torch.is_tensor(b):
            return torch.is_tensor(a) and torch.is_tensor(b) and a.shape == b.shape and a.dtype == b.dtype \
                and bool(torch.equal(a, b))
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        try:
            return type(a) is type(b) and bool(a == b)
        except Exception:  # noqa: BLE001
            return False

    return len(built) == len(made) and all(same(a or {}, b or {}) for a, b in zip(built, made))


def _instance_subject(instance: Any, cls: type, shown: str, spec: Any, target: str, algorithm: LibraryMapping,
                      lines: list[str], accepted: set[str], var_kw: bool) -> OptimizerSubject:
    """A torch optimizer built beforehand: rebuilt per run from its class and its own ``defaults``, all held."""
    name = target.rsplit(":", 1)[-1] if isinstance(target, str) else shown
    kwargs = _instance_keywords(instance, accepted, var_kw)
    if getattr(instance, "state", None) and not _state_as_built(instance, cls, kwargs):
        raise TargetLoadError(f"{name} has already taken steps (its state holds buffers for "
                              f"{len(instance.state)} parameter(s) that a fresh {shown} does not start with): every "
                              "run would start from that state; give the optimizer before its first step, or its class")
    refuse_other_settings(dict(getattr(instance, "defaults", {}) or {}), algorithm, name, spec.name, name,
                          partial=True)
    params = {p.name: p for p in spec.params}
    found: dict[str, Held] = held_conventions(algorithm, spec, shown, _torch_base(cls, require_torch()))
    for rule in algorithm.rules:
        if rule.target in kwargs and rule.canonical(kwargs[rule.target]) is not None:
            for n, v in rule.canonical(kwargs[rule.target]).items():
                try:
                    found[n] = Held(params[n].parse(v), "read", f"{name}.defaults[{rule.target!r}]")
                except Exception:  # noqa: BLE001 - left to the checks
                    continue

    def factory(**hparams: Any) -> OptimizerRun:
        return _TorchOptimizerRun(cls, dict(kwargs), shown)

    call = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    mapping = [f"a built {shown} ({name}): every run builds {shown}(params, {call}) with the instance's own "
               "defaults, all held (checks that need other values are skipped)"] + lines
    mapping.append(_RUN_NOTE.format(shapes="(2, 3), (4,), (1,), (rest,)"))
    return OptimizerSubject(f"torch optimizer {name} (a built {shown}) under spec {spec.name} (float64, several "
                            "parameter tensors)", mapping=mapping, library="torch", factory=factory,
                            takes=frozenset(), found=found, name=name, built=True)


# --------------------------------------------------------------------------
# Initialisers
# --------------------------------------------------------------------------


@dataclasses.dataclass
class TorchInitialiserSubject(InitialiserSubject):
    """An initialiser subject whose ``sample`` checks the in-place protocol of ``torch.nn.init``.

    The target's exceptions become :class:`~verify.errors.TargetError`; the
    protocol's violations (entries left unfilled, a different tensor
    returned) are :class:`~verify.errors.ProtocolError` (a failed check).
    """

    fn: Callable[..., Any] | None = None
    shown: str = ""

    def sample(self, shape: Sequence[int], seed: int) -> np.ndarray:
        torch = require_torch()
        shape = tuple(int(s) for s in shape)
        where = f"{self.shown}(tensor of shape {shape})"
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed) % (2 ** 63))
            tensor = torch.full(shape, float("nan"), dtype=torch.float64)
            with torch.no_grad():
                out = call_target(where, self.fn, tensor)
        filled = as_array(tensor, f"the tensor filled by {where}", shape=shape)
        returned = None
        if out is not None and out is not tensor:
            returned = as_array(out, where)
        unfilled = int(np.isnan(filled).sum())
        if unfilled:
            if (returned is not None and unfilled == filled.size and returned.shape == shape
                    and not np.isnan(returned).any()):
                raise ProtocolError(f"{where} returned a new tensor and left the tensor it was given unfilled; "
                                    "torch.nn.init functions fill their argument in place")
            raise ProtocolError(f"{where} left {unfilled} of {filled.size} entries of the tensor unfilled "
                                "(they were NaN before the call)")
        if returned is not None and (returned.shape != shape or not np.array_equal(returned, filled)):
            raise ProtocolError(f"{where} returned {describe_value(out)} that differs from the tensor it "
                                "filled; torch.nn.init functions return their (filled) argument")
        return filled


def initialiser(fn: Any, target: str) -> InitialiserSubject:
    """The subject for a ``torch.nn.init``-style function ``fn(tensor)`` (fills in place).

    Each call fills a fresh float64 tensor (set to NaN first, so entries the
    function leaves unfilled show), seeded by ``torch.manual_seed(seed)``
    inside ``torch.random.fork_rng`` (the process's RNG state is left as it
    was). The tensor is read back after the call; a function that returns a
    different tensor, or leaves entries unfilled, violates the protocol.
    float64 rather than float32: the statistical checks then measure the
    distribution, not float32 rounding (torch samples in the tensor's dtype).
    """
    require_torch()
    if not callable(fn):
        raise TargetLoadError(f"target {target!r} is a {type(fn).__name__}, not a function fn(tensor)")
    shown = _qualname(fn)
    mapping = [
        "layout (fan_out, fan_in, *kernel): fan_in = shape[1]·∏kernel, fan_out = shape[0]·∏kernel "
        "(torch.nn.init's convention)",
        "fn(tensor) fills a float64 tensor in place; seeded by torch.manual_seed(seed) in a forked RNG; "
        "the tensor is read back after the call",
    ]
    return TorchInitialiserSubject(f"torch initialiser {shown}(tensor), torch layout", mapping=mapping,
                                   library="torch", layout="torch", fn=fn, shown=shown)


# --------------------------------------------------------------------------
# Batch norm
# --------------------------------------------------------------------------


class _TorchBatchNorm(BatchNormInstance):
    """An ``nn.BatchNorm1d``-compatible module in float64, backward by autograd.

    Parameters and buffers are found under PyTorch's names or the ones
    textbook layers use (``gamma``/``beta``, ``moving_mean``/``moving_var``),
    in shape ``(C,)`` or ``(1, C)``.
    """

    def __init__(self, module: Any, shown: str, passed: dict[str, Any]):
        self.module = module
        self.shown = shown
        self.inputs = InputRecord("the layer is given a float64 tensor copied from x")
        self._graph: tuple[Any, Any] | None = None
        from verify.adapters.protocol.batchnorm import layer_hyperparameters

        self.hyper, self.hyper_source = layer_hyperparameters(module, passed)

    def _param(self, role: str) -> Any:
        names = {"weight": ("weight", "gamma"), "bias": ("bias", "beta")}[role]
        for name in names:
            value = getattr(self.module, name, None)
            if value is not None:
                return value
        raise ProtocolError(f"{self.shown} has no {' or '.join(repr(n) for n in names)} parameter (affine=False?); "
                            "the batch-norm protocol needs γ and β")

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        torch = require_torch()
        where = f"{self.shown}.forward(x) in {'train' if training else 'eval'} mode"
        call_target(f"{self.shown}.train({training})", self.module.train, bool(training))
        xt = torch.tensor(np.asarray(x, dtype=np.float64), dtype=torch.float64, requires_grad=bool(training))
        with _float64_default(torch):
            if training:
                y = call_target(where, self.module, xt)
            else:
                with torch.no_grad():
                    y = call_target(where, self.module, xt)
        self._seen(y)
        out = as_array(y, where, shape=np.shape(x))
        if training:
            self._graph = (xt, y)
        return out

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        torch = require_torch()
        if self._graph is None:
            raise ProtocolError("backward(dy) needs a training-mode forward first")
        xt, y = self._graph
        if not getattr(y, "requires_grad", False):
            raise ProtocolError(f"{self.shown}'s output does not depend on its input through autograd "
                                "(detached?); no backward pass to check")
        weight, bias = self._param("weight"), self._param("bias")
        dyt = torch.tensor(np.asarray(dy, dtype=np.float64), dtype=y.dtype)
        where = "torch.autograd.grad(y, (x, weight, bias), dy)"
        grads = call_target(where, torch.autograd.grad, y, (xt, weight, bias), dyt,
                            retain_graph=True, allow_unused=True)
        c = np.shape(dy)[1]
        names = ("dx", "dgamma", "dbeta")
        shapes = (np.shape(dy), (c,), (c,))
        out = []
        for g, name, shape in zip(grads, names, shapes):
            if g is None:   # the output does not depend on it: a zero gradient
                out.append(np.zeros(shape))
                continue
            arr = as_array(g, f"{where} ({name})")
            if arr.size != int(np.prod(shape)):
                raise ProtocolError(f"{where} ({name}) has shape {arr.shape}; expected {shape}")
            out.append(arr.reshape(shape))
        return out[0], out[1], out[2]

    def set_affine(self, gamma: np.ndarray, beta: np.ndarray) -> None:
        torch = require_torch()
        with torch.no_grad():
            for role, value in (("weight", gamma), ("bias", beta)):
                p = self._param(role)
                v = torch.as_tensor(np.asarray(value, dtype=np.float64), dtype=p.dtype)
                if p.numel() != v.numel():
                    raise ProtocolError(f"{self.shown}'s {role} has shape {tuple(p.shape)}; cannot set it to "
                                        f"shape {tuple(v.shape)}")
                p.copy_(v.reshape(p.shape))
        self._graph = None

    def running(self) -> tuple[np.ndarray, np.ndarray]:
        out = []
        for names in (("running_mean", "moving_mean"), ("running_var", "moving_var", "moving_variance")):
            value = next((getattr(self.module, n) for n in names if getattr(self.module, n, None) is not None), None)
            if value is None:
                raise ProtocolError(f"{self.shown} has no {names[0]!r} buffer (track_running_stats=False?)")
            self._seen(value)
            arr = as_array(value, f"{self.shown}.{names[0]}")
            out.append(arr.reshape(-1))
        return out[0], out[1]


def batchnorm(cls: Any, target: str, convention: str = "auto") -> BatchNormSubject:
    """The subject for a module class compatible with ``torch.nn.BatchNorm1d``.

    The constructor is given the keywords it accepts (``eps``, ``momentum``);
    ``convention="cumulative"`` passes ``momentum=None`` (PyTorch's cumulative
    moving average).
    """
    torch = require_torch()
    shown = _qualname(cls)
    if not inspect.isclass(cls):
        if isinstance(cls, torch.nn.Module):
            raise TargetLoadError(
                f"target {target!r} is a {type(cls).__name__} instance; give the class "
                f"(constructed as {type(cls).__name__}(num_features, eps=..., momentum=...))")
        raise TargetLoadError(f"target {target!r} is a {type(cls).__name__}, not a torch.nn.Module class")
    if not issubclass(cls, torch.nn.Module):
        raise TargetLoadError(f"target {target!r} ({shown}) is not a torch.nn.Module subclass")
    names, var_kw = accepted_keywords(cls)
    takes = frozenset(k for k in ("eps", "momentum") if k in names or var_kw)
    resolved = "pytorch" if convention == "auto" else convention

    def factory(num_features: int, eps: float, momentum: float | None) -> BatchNormInstance:
        values = {"eps": float(eps), "momentum": None if resolved == "cumulative" else float(momentum)}
        kwargs = {k: values[k] for k in takes}
        where = f"{shown}({int(num_features)}{''.join(f', {k}={v!r}' for k, v in kwargs.items())})"
        with _float64_default(torch):
            module = call_target(where, cls, int(num_features), **kwargs)
        if not isinstance(module, torch.nn.Module):
            raise ProtocolError(f"{where} returned {describe_value(module)}, not a torch.nn.Module")
        module = call_target(f"{where}.double()", module.double)
        return _TorchBatchNorm(module, shown, kwargs)

    mapping = [
        f"{shown}(num_features{', eps=eps' if 'eps' in takes else ''}"
        f"{', momentum=momentum' if 'momentum' in takes else ''}), made float64 with .double()",
        "momentum m: torch's r ← (1 − m)·r + m·stat, the spec's canonical convention; --param convention=cumulative "
        "passes momentum=None (torch's cumulative average)",
        "training=True/False → module.train()/module.eval(), evaluation under torch.no_grad()",
        "backward by autograd: (dx, dγ, dβ) = torch.autograd.grad(y, (x, weight, bias), dy)",
        "γ, β: the module's weight and bias (or gamma and beta); running statistics: running_mean and running_var "
        "(or moving_mean and moving_var)",
    ]
    not_taken = [k for k in ("eps", "momentum") if k not in takes]
    if not_taken:
        mapping.append(f"{shown} takes no {' or '.join(not_taken)}: read back from the module's attribute of that "
                       "name if it has one, else the spec's value is only an assumption")
    subject = BatchNormSubject(f"torch batch norm {shown} (float64, autograd backward)", mapping=mapping,
                               library="torch", factory=factory, has_backward=True, convention=resolved,
                               name=shown)
    subject.takes = takes
    return subject


# --------------------------------------------------------------------------
# Layer norm and RMS norm
# --------------------------------------------------------------------------


class _TorchNormLayer(NormLayerInstance):
    """A per-example normalisation in float64, backward by autograd: a module (``nn.LayerNorm``,
    ``nn.RMSNorm`` or a user's ``nn.Module``) or a function (``F.layer_norm``, ``F.rms_norm``)."""

    def __init__(self, shown: str, shape: tuple[int, ...], passed: dict[str, Any], module: Any = None,
                 fn: Callable | None = None, fn_roles: tuple[str, ...] = (), eps: float | None = None):
        self.shown, self.shape, self.module, self.fn, self.eps = shown, shape, module, fn, eps
        self.inputs = InputRecord("the layer is given a float64 tensor copied from x")
        self._graph: tuple[Any, Any] | None = None
        if module is not None:
            from verify.adapters.protocol.batchnorm import layer_hyperparameters

            self.hyper, self.hyper_source = layer_hyperparameters(module, passed, names=("eps",))
            self.params = self._module_params()
        else:
            self.hyper, self.hyper_source = {"eps": (eps, "passed")}, {}
            torch = require_torch()
            init = {"gamma": np.ones(shape), "beta": np.zeros(shape)}
            self.params = {r: torch.tensor(init[r], dtype=torch.float64, requires_grad=True) for r in fn_roles}
        self.affine = tuple(r for r in ("gamma", "beta") if r in self.params)

    def _module_params(self) -> dict[str, Any]:
        """γ and β among the module's own parameters: by name (weight/gamma/scale, bias/beta/shift, a_2/b_2),
        else, for two unnamed ones of the normalised shape, by their initial values (ones: γ, zeros: β)."""
        from verify.adapters.protocol.layernorm import _role_of

        own = [(n, p) for n, p in self.module.named_parameters(recurse=False)]
        found: dict[str, Any] = {}
        unnamed = []
        for name, p in own:
            role = _role_of(name)
            if role is not None and role not in found:
                found[role] = p
            else:
                unnamed.append(p)
        size = int(np.prod(self.shape))
        for p in unnamed:
            if p.numel() != size:
                continue
            values = p.detach().cpu().numpy()
            if "gamma" not in found and np.all(values == 1):
                found["gamma"] = p
            elif "beta" not in found and np.all(values == 0):
                found["beta"] = p
        return found

    def forward(self, x: np.ndarray) -> np.ndarray:
        torch = require_torch()
        xt = torch.tensor(np.asarray(x, dtype=np.float64), dtype=torch.float64, requires_grad=True)
        with _float64_default(torch):
            if self.module is not None:
                where = f"{self.shown}.forward(x)"
                y = call_target(where, self.module, xt)
            else:
                kwargs = {"weight": self.params.get("gamma")}
                if "beta" in self.params:
                    kwargs["bias"] = self.params["beta"]
                where = f"{self.shown}(x, {self.shape}, {', '.join(f'{k}=...' for k in kwargs)}, eps={self.eps!r})"
                y = call_target(where, self.fn, xt, self.shape, eps=self.eps, **kwargs)
        self._seen(y)
        out = as_array(y, where, shape=np.shape(x))
        self._graph = (xt, y)
        return out

    def backward(self, dy: np.ndarray):
        torch = require_torch()
        if self._graph is None:
            raise ProtocolError("backward(dy) needs a forward first")
        xt, y = self._graph
        if not getattr(y, "requires_grad", False):
            raise ProtocolError(f"{self.shown}'s output does not depend on its input through autograd "
                                "(detached?); no backward pass to check")
        wrt = [xt] + [self.params[r] for r in self.affine]
        dyt = torch.tensor(np.asarray(dy, dtype=np.float64), dtype=y.dtype)
        where = f"torch.autograd.grad(y, (x{''.join(', ' + r for r in self.affine)}), dy)"
        grads = call_target(where, torch.autograd.grad, y, tuple(wrt), dyt, retain_graph=True, allow_unused=True)
        shapes = {"dx": np.shape(dy), **{f"d{r}": self.shape for r in self.affine}}
        out = {}
        for g, (name, shape) in zip(grads, shapes.items()):
            if g is None:     # the output does not depend on it: a zero gradient
                out[name] = np.zeros(shape)
                continue
            arr = as_array(g, f"{where} ({name})")
            if arr.size != int(np.prod(shape)):
                raise ProtocolError(f"{where} ({name}) has shape {arr.shape}; expected {shape}")
            out[name] = arr.reshape(shape)
        return out["dx"], out.get("dgamma"), out.get("dbeta")

    def set_affine(self, gamma, beta) -> None:
        torch = require_torch()
        with torch.no_grad():
            for role, value in (("gamma", gamma), ("beta", beta)):
                if role not in self.params or value is None:
                    continue
                p = self.params[role]
                v = torch.as_tensor(np.asarray(value, dtype=np.float64), dtype=p.dtype)
                if p.numel() != v.numel():
                    raise ProtocolError(f"{self.shown}'s {role} has shape {tuple(p.shape)}; cannot set it to "
                                        f"shape {tuple(v.shape)}")
                p.copy_(v.reshape(p.shape))
        self._graph = None


def _functional_subject(fn: Any, shown: str, spec_name: str) -> NormLayerSubject:
    names, _ = accepted_keywords(fn)
    roles = tuple(r for r, kw in (("gamma", "weight"), ("beta", "bias")) if kw in names)

    def factory(shape: tuple[int, ...], eps: float) -> NormLayerInstance:
        return _TorchNormLayer(shown, shape, {}, fn=fn, fn_roles=roles, eps=float(eps))

    kws = ", ".join(["weight=γ"] * ("gamma" in roles) + ["bias=β"] * ("beta" in roles) + ["eps=eps"])
    mapping = [f"{shown}(x, normalized_shape, {kws}) on float64 tensors",
               f"backward by autograd: torch.autograd.grad(y, (x, {', '.join(roles)}), dy)"]
    return NormLayerSubject(f"torch function {shown} (float64, autograd backward)", mapping=mapping,
                            library="torch", factory=factory, has_backward=True, takes_shape=True,
                            initialises=False, takes=frozenset({"eps"}), name=shown)


def normlayer(obj: Any, target: str, spec_name: str) -> NormLayerSubject:
    """The subject for a module class compatible with ``torch.nn.LayerNorm`` / ``torch.nn.RMSNorm``
    (``cls(normalized_shape, eps=eps)``, or a user's module taking the feature count), or for
    ``torch.nn.functional.layer_norm`` / ``rms_norm``.

    ``torch.nn.RMSNorm``'s default ``eps=None`` is the machine epsilon of the computation's dtype; the
    adapter always passes the run's ε (``--param eps``), so the default is never what is checked.
    """
    torch = require_torch()
    cls = obj.func if isinstance(obj, functools.partial) else obj     # functools.partial(LayerNorm, bias=False)
    shown = _qualname(cls)
    if isinstance(obj, functools.partial):
        shown += "(" + ", ".join(f"{k}={v!r}" for k, v in obj.keywords.items()) + ")"
    if not inspect.isclass(cls):
        if isinstance(obj, torch.nn.Module):
            raise TargetLoadError(
                f"target {target!r} is a {type(obj).__name__} instance; give the class "
                f"(constructed as {type(obj).__name__}(normalized_shape, eps=...))")
        if callable(obj) and "normalized_shape" in accepted_keywords(obj)[0]:
            module = getattr(obj, "__module__", "") or ""
            name = getattr(obj, "__name__", "")
            return _functional_subject(obj, f"{module}.{name}" if module.startswith("torch") else shown, spec_name)
        raise TargetLoadError(f"target {target!r} is a {type(obj).__name__}, not a torch.nn.Module class or a "
                              "function f(x, normalized_shape, weight, bias, eps)")
    if not issubclass(cls, torch.nn.Module):
        raise TargetLoadError(f"target {target!r} ({shown}) is not a torch.nn.Module subclass")
    from verify.adapters.protocol.layernorm import _size_argument

    names, var_kw = accepted_keywords(obj)
    eps_kw = "eps" if "eps" in names or var_kw else "epsilon" if "epsilon" in names else None
    size, takes_shape = _size_argument(obj)

    def factory(shape: tuple[int, ...], eps: float) -> NormLayerInstance:
        size_value: Any = shape if (takes_shape and len(shape) > 1) else shape[-1]
        args = (size_value,) if size == "positional" else ()
        kwargs: dict[str, Any] = {size: size_value} if size not in (None, "positional") else {}
        if eps_kw is not None:
            kwargs[eps_kw] = float(eps)
        where = f"{shown}({', '.join([repr(a) for a in args] + [f'{k}={v!r}' for k, v in kwargs.items()])})"
        with _float64_default(torch):
            module = call_target(where, obj, *args, **kwargs)
        if not isinstance(module, torch.nn.Module):
            raise ProtocolError(f"{where} returned {describe_value(module)}, not a torch.nn.Module")
        module = call_target(f"{where}.double()", module.double)
        return _TorchNormLayer(shown, shape, {"eps": float(eps)} if eps_kw else {}, module=module)

    mapping = [f"{shown}({'normalized_shape' if takes_shape else 'D'}{f', {eps_kw}=eps' if eps_kw else ''}), made "
               "float64 with .double()",
               "backward by autograd: torch.autograd.grad(y, (x, weight, bias), dy) over the parameters the module "
               "has (weight/gamma, bias/beta, or two unnamed ones: ones at construction → γ, zeros → β)"]
    if spec_name == "rmsnorm":
        mapping.append("torch.nn.RMSNorm's default eps=None means the machine ε of the dtype "
                       "(2.2e-16 in float64, 1.19e-7 in float32); the run passes eps explicitly")
    if eps_kw is None:
        mapping.append(f"{shown} takes no eps: read back from the module's eps attribute if it has one, else the "
                       "spec's value is only an assumption")
    return NormLayerSubject(f"torch {spec_name} {shown} (float64, autograd backward)", mapping=mapping,
                            library="torch", factory=factory, has_backward=True, takes_shape=takes_shape,
                            takes=frozenset({"eps"}) if eps_kw else frozenset(), name=shown)
