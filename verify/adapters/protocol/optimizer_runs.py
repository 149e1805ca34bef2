"""How the optimizer protocol drives a user's numpy optimizer step by step: one :class:`OptimizerRun` per shape
of optimizer (functional ``init``/``update``, stateful ``step(params, grads)`` and its variants, CS231n's config
functions, optimizers owning their parameters), and :func:`run_for`, which picks the run for an object."""

from __future__ import annotations

import copy
import inspect
from typing import Any, Callable, Mapping

import numpy as np

from verify.adapters.base import (
    InputRecord,
    OptimizerRun,
    as_array,
    call_target,
    describe_value,
    same_state,
    watched_call,
)
from verify.adapters.mapping import parameter_shapes, split_flat
from verify.adapters.protocol._common import positional_arity
from verify.errors import ProtocolError
from verify.shared import handed

# ------------------------------------------------------------------ optimizers


class _NumpyRun(OptimizerRun):
    """A run driving a user's numpy object: it watches the arrays it passes for in-place changes.

    The caller's ``params`` may be updated in place (``params -= …``, returning
    them or ``None``): that is how much real code works, and the caller's array
    then holds the new parameters. Anything else changed in place is a
    failure on the run's :class:`~verify.adapters.base.InputRecord`
    (gradients given at earlier steps and kept by the optimizer, ``params``
    left holding values other than the new parameters, a functional state)
    or, for the gradients of the current call, a note.
    """

    watched = "grads and params compared (NaN-aware) before and after every call"

    def __init__(self, where: str):
        self.where = where
        self.inputs = InputRecord(self.watched)
        self.in_place = False
        self.t = 0

    def _call(self, call: str, fn: Callable, *args: Any, grads: np.ndarray, **also: Any) -> Any:
        """``fn(*args)`` with ``grads`` and ``also`` (``params``, ``state``: passed among ``args``, or inside them)
        watched; the gradients given stay watched at later steps (one changed then is held in the optimizer's
        state)."""
        return watched_call(self.inputs, call, fn, *args, watched={"grads": grads, **also}, kept=("grads",))

    def _judge(self, p_in: Any, out_params: Any) -> None:
        """The protocol's verdict on what the last call changed: the gradients of this step modified in place are
        a note; a gradient of an earlier step modified is aliasing (a caller reusing its array is corrupted);
        params may be updated in place to the new parameters, to nothing else."""
        for change in self.inputs.last:
            call = change.call
            if change.input == "grads" and change.earlier:
                self.inputs.fail(f"{call} modified, at step {self.t}, a gradient given at an earlier step, which the "
                                 "optimizer kept: its state aliases the caller's array (copy it)")
            elif change.input == "grads":
                self.inputs.note(f"{call} modified its argument grads in place at step {self.t}")
            elif change.input == "params":
                if out_params is None or out_params is p_in or _same_values(out_params, p_in):
                    self.in_place = True
                else:
                    self.inputs.fail(
                        f"{call} modified its argument params in place at step {self.t}, to values other than the new "
                        "parameters it returned: a caller keeping the array holds neither the old nor the new "
                        "parameters")
            elif change.input == "state":
                self.inputs.fail(
                    f"{call} modified the state it was given in place at step {self.t}: a functional optimizer must "
                    "return a new state (reusing an old state, e.g. to retry a step, would silently use the modified "
                    "one)")

    def _params_in(self, params: Any) -> np.ndarray:
        """The params to hand the target: the caller's ``params`` (in a worker, the job's shared array itself) where
        they hold the run's current parameters, else a copy of those."""
        if isinstance(params, np.ndarray) and params.shape == self.params.shape and _same_values(params, self.params):
            return handed(params)
        return np.array(self.params, copy=True)

    def _new_params(self, value: Any, call: str, shape: tuple[int, ...]) -> np.ndarray:
        self.returned_dtype = getattr(value, "dtype", None) if isinstance(value, np.ndarray) else None
        return as_array(value, call, shape=shape)


def _same_values(a: Any, b: np.ndarray) -> bool:
    try:
        return same_state(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    except Exception:  # noqa: BLE001
        return False


class _FunctionalRun(_NumpyRun):
    """``init(params) -> state``; ``update(grads, state, params) -> (new_params, state)``."""

    watched = _NumpyRun.watched + "; the state given to update compared with a copy"

    def __init__(self, opt: Any, where: str):
        super().__init__(where)
        self.opt = opt

    def inspected(self):
        return {"its state": self.state, "the optimizer": self.opt}

    def init(self, params):
        self.params = np.array(params, copy=True)
        given = handed(params)
        self.state = watched_call(self.inputs, "init(params)", self.opt.init, given, watched={"params": given})
        if self.inputs.last:
            self.inputs.fail("init(params) modified the params it was given in place")

    def step(self, grads, params=None):
        self.t += 1
        call = "update(grads, state, params)"
        p_in, g_in = self._params_in(params), handed(grads)
        out = self._call(call, self.opt.update, g_in, self.state, p_in, params=p_in, grads=g_in, state=self.state)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise ProtocolError(f"{call} returned {describe_value(out)}; expected a pair (new_params, new_state)")
        self._judge(p_in, out[0])
        self.params = self._new_params(out[0], f"{call}[0] (new params)", self.params.shape)
        self.state = out[1]
        return np.array(self.params, copy=True)


class StatefulRun(_NumpyRun):
    """``step(params, grads) -> new_params`` (also named ``update`` or ``__call__``; or Keras'
    ``apply_gradients([(grads, params)])``, or Keras 2's ``get_updates([params], [grads])``) with the state kept
    inside the object.

    ``container`` is how the parameters are handed over: the array itself, a dict ``{'W1': array}`` (the
    *Deep Learning from Scratch* classes iterate ``params.keys()``) or a list ``[array]`` (frameworks that
    loop over ``zip(params, grads)``); the gradient goes in the same container. A target that updated the
    parameters in place is given the same array (and container) again at the next step, as a training loop
    does (state keyed by ``id(param)`` then works); otherwise each step gets a fresh copy.
    """

    def __init__(self, opt: Any, method: str, where: str, container: str = "array", in_place: bool = False):
        super().__init__(where)
        self.opt = opt
        self.method = method
        self.container = container
        self.in_place = in_place         # seen updating params in place on the probe stream: a step that
        #                                  leaves them unchanged (an update below their resolution) is no error
        self._live: Any = None           # the array the target updated in place, given again next step
        self._box: Any = None            # the container the target was given (dict or list), kept likewise

    def inspected(self):
        return {"the optimizer": self.opt}

    def init(self, params):
        self.params = np.array(params, copy=True)
        self._live = self._box = None

    def _call_text(self) -> str:
        if self.method == "apply_gradients":
            return "apply_gradients([(grads, params)])"
        shown = {"dict": "({'W1': params}, {'W1': grads})", "list": "([params], [grads])"}.get(
            self.container, "(params, grads)")
        return f"{'' if self.method == '__call__' else self.method}{shown}"

    def step(self, grads, params=None):
        self.t += 1
        call = self._call_text()
        p_in = self._live if self._live is not None else self._params_in(params)
        g_in = handed(grads)             # the job's shared array itself in a worker: the target may change it
        moved = bool(np.any(np.asarray(grads) != 0))
        fn = getattr(self.opt, self.method)
        if self.method == "apply_gradients":
            out = self._call(call, fn, [(g_in, p_in)], grads=g_in, params=p_in)
            out = None                  # Keras returns an operation or the iteration count, not parameters
            held = p_in
        elif self.container == "array":
            out = self._call(call, fn, p_in, g_in, grads=g_in, params=p_in)
            held = p_in
        else:
            box = self._box if self._box is not None else ({} if self.container == "dict" else [None])
            box[_KEY if self.container == "dict" else 0] = p_in
            grads_box = {_KEY: g_in} if self.container == "dict" else [g_in]
            out = self._call(call, fn, box, grads_box, grads=g_in, params=p_in)
            if isinstance(out, Mapping) and self.container == "dict":
                out = out.get(_KEY)
            elif isinstance(out, (list, tuple)) and self.container == "list" and len(out) == 1:
                out = out[0]
            held = box[_KEY if self.container == "dict" else 0]    # rebinding the entry counts
            self._box = box
            if out is None and held is not p_in:
                out = held
        params_changed = any(c.input == "params" for c in self.inputs.last)
        if out is None and not self.in_place and not params_changed and moved:
            raise ProtocolError(f"{call} returned None and left the params it was given unchanged; the stateful "
                                "protocol returns the new parameters (or updates params in place)")
        self._judge(p_in, out)
        new = p_in if out is None else out
        self.params = self._new_params(new, call, self.params.shape)
        kept = held if self.container != "array" else p_in
        self._live = kept if (out is None or out is kept) and isinstance(kept, np.ndarray) else None
        return np.array(self.params, copy=True)


#: The key a dict of parameters is given under (and its gradient: the same key, as the classes iterate
#: ``params.keys()`` and read ``grads[key]``).
_KEY = "W1"


class _NamedRun(StatefulRun):
    """numpy-ml's ``update(param, param_grad, param_name)``: state kept per parameter name (one name here)."""

    def step(self, grads, params=None):
        self.t += 1
        call = f"{self.method}(param, param_grad, 'w')"
        p_in, g_in = self._params_in(params), handed(grads)
        out = self._call(call, getattr(self.opt, self.method), p_in, g_in, "w", grads=g_in, params=p_in)
        self._judge(p_in, out)
        self.params = self._new_params(p_in if out is None else out, call, self.params.shape)
        return np.array(self.params, copy=True)


class _LayerRun(_NumpyRun):
    """'Neural Networks from Scratch' optimizers: ``pre_update_params()``, ``update_params(layer)``,
    ``post_update_params()``, updating ``layer.weights`` in place from ``layer.dweights`` (and the biases,
    given here as a zero-gradient parameter of their own)."""

    watched = "layer.dweights compared (NaN-aware) before and after every update; weights are updated in place"

    def __init__(self, opt: Any, where: str):
        super().__init__(where)
        self.opt = opt

    def inspected(self):
        return {"the optimizer": self.opt, "the layer": getattr(self, "layer", None)}

    def init(self, params):
        from types import SimpleNamespace

        self.shape = np.shape(params)
        self.layer = SimpleNamespace(weights=np.array(params, dtype=np.float64, copy=True),
                                     biases=np.zeros((1, 1)), dbiases=np.zeros((1, 1)))

    def step(self, grads, params=None):       # the layer holds its weights: params are not handed over
        self.t += 1
        g_in = handed(grads)
        self.layer.dweights = g_in
        for name in ("pre_update_params", "update_params", "post_update_params"):
            method = getattr(self.opt, name, None)
            if not callable(method):
                continue
            if name == "update_params":     # the weights change by design: only the gradient is watched
                self._call("update_params(layer)", method, self.layer, grads=g_in)
                self._judge(None, None)
            else:
                call_target(f"{name}()", method)
        new = getattr(self.layer, "weights", None)
        self.in_place = True
        self.layer.weights = self._new_params(new, "layer.weights after update_params(layer)", self.shape)
        return np.array(self.layer.weights, copy=True)


class ConfigRun(_NumpyRun):
    """``f(w, dw, config) -> (next_w, config)`` (CS231n's ``optim.py``): the config dict carries the state."""

    watched = _NumpyRun.watched + " (the config dict is the state: it may be updated in place)"

    def __init__(self, fn: Callable, config: Mapping[str, Any], where: str):
        super().__init__(where)
        self.fn = fn
        self.config0 = dict(config)

    def inspected(self):
        return {"its config": self.config}

    def init(self, params):
        self.params = np.array(params, copy=True)
        self.config = copy.deepcopy(self.config0)

    def step(self, grads, params=None):
        self.t += 1
        call = f"{self.where}(w, dw, config)"
        p_in, g_in = self._params_in(params), handed(grads)
        out = self._call(call, self.fn, p_in, g_in, self.config, grads=g_in, params=p_in)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise ProtocolError(f"{call} returned {describe_value(out)}; expected a pair (next_w, config)")
        self._judge(p_in, out[0])
        self.params = self._new_params(out[0], f"{call}[0] (next_w)", self.params.shape)
        if out[1] is not None:
            self.config = out[1]
        return np.array(self.params, copy=True)


# ---------------------------------------------- optimizers that own their parameters


class _ParameterList(list):
    """The list of parameters an optimizer owning them receives; code written for a model
    (``Opt(model, lr)`` reading ``model.parameters()``) gets the same list from ``parameters()``."""

    def parameters(self) -> "_ParameterList":
        return self


def _alias(name: str, slot: str) -> property:
    def get(self):
        self._verify_used.add(name)
        return getattr(self, slot)

    def put(self, value):
        self._verify_used.add(name)
        setattr(self, slot, value)

    return property(get, put)


def _in_place(op: Callable[[Any, Any], Any]) -> Callable:
    def apply(self, other):
        new = op(self._verify_value, np.asarray(other) if isinstance(other, _OwnedParameter) else other)
        if isinstance(self._verify_value, np.ndarray) and np.shape(new) == self._verify_value.shape:
            self._verify_value[...] = new          # the array the optimizer may hold stays the parameter's
        else:
            self._verify_value = new
        self._verify_used.add("in-place arithmetic on the parameter")
        return self
    return apply


def _arithmetic(op: Callable[[Any, Any], Any], reflected: bool = False) -> Callable:
    def apply(self, other):
        other = np.asarray(other) if isinstance(other, _OwnedParameter) else other
        return op(other, self._verify_value) if reflected else op(self._verify_value, other)
    return apply


class _OwnedParameter:
    """A parameter as mini-frameworks keep it (micrograd's ``Value``, a course ``Tensor``, a ``Parameter``): its
    value under ``.data`` and its gradient under ``.grad``, with the other names real code gives them
    (``.value``/``._data``, ``.gradient``/``._grad``) reading and writing the same storage. The names the optimizer
    used are recorded for the report. The value may be updated in place or rebound; arithmetic on the parameter
    itself (``p -= lr * p.grad``) acts on its value."""

    requires_grad = True

    def __init__(self, value: Any, grad: Any):
        self._verify_value, self._verify_grad, self._verify_used = value, grad, set()

    data = _alias("data", "_verify_value")
    value = _alias("value", "_verify_value")
    _data = _alias("_data", "_verify_value")
    grad = _alias("grad", "_verify_grad")
    gradient = _alias("gradient", "_verify_grad")
    _grad = _alias("_grad", "_verify_grad")

    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(self._verify_value)

    @property
    def size(self) -> int:
        return int(np.size(self._verify_value))

    @property
    def ndim(self) -> int:
        return int(np.ndim(self._verify_value))

    @property
    def dtype(self) -> Any:
        return np.asarray(self._verify_value).dtype

    def zero_grad(self) -> None:
        self._verify_grad = np.zeros_like(self._verify_grad) if isinstance(self._verify_grad, np.ndarray) else 0.0

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self._verify_value, dtype=dtype)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape})"

    __isub__, __iadd__ = _in_place(lambda a, b: a - b), _in_place(lambda a, b: a + b)
    __imul__, __itruediv__ = _in_place(lambda a, b: a * b), _in_place(lambda a, b: a / b)
    __sub__, __add__ = _arithmetic(lambda a, b: a - b), _arithmetic(lambda a, b: a + b)
    __mul__, __truediv__ = _arithmetic(lambda a, b: a * b), _arithmetic(lambda a, b: a / b)
    __pow__ = _arithmetic(lambda a, b: a ** b)
    __rsub__, __radd__ = _arithmetic(lambda a, b: a - b, True), _arithmetic(lambda a, b: a + b, True)
    __rmul__, __rtruediv__ = _arithmetic(lambda a, b: a * b, True), _arithmetic(lambda a, b: a / b, True)

    def __neg__(self):
        return -np.asarray(self._verify_value)


#: How the parameters are handed to an optimizer that owns them, tried in this order: objects holding float64
#: arrays (one per tensor), micrograd's scalar values (one object per entry, floats), plain arrays with the
#: gradients given to ``step(grads)``.
OWNED_STYLES = {
    "objects": "objects holding float64 arrays, one per tensor, with the gradient set as p.grad before each "
               "step()",
    "scalars": "micrograd-style scalar objects, one per entry, their .data and .grad Python floats, the gradient "
               "set as p.grad before each step()",
    "arrays": "plain float64 arrays, one per tensor, the gradients given as a list to step(grads)",
}


class OwnedRun(OptimizerRun):
    """An optimizer built with the parameters it owns (``opt = SGD(params, lr=…)``), then stepped as a training loop
    does: set every ``p.grad`` (or pass the gradients to ``step(grads)``), call ``step()``, read the parameters
    back. The verifier's flat parameter vector is split into several tensors of different shapes
    (:func:`~verify.adapters.mapping.parameter_shapes`), one parameter each, so state shared between parameters
    shows. ``zero_grad`` is never called: each step sets fresh gradients, which is what it and backward leave."""

    watched = ("every gradient array given (p.grad, or step's grads) compared before and after the step, "
               "NaN-aware, zeroing it (as zero_grad does) left unreported; the parameters are the optimizer's "
               "to update")

    def __init__(self, construct: Callable[[list], tuple[Any, str]], style: str):
        self.construct, self.style = construct, style
        self.inputs = InputRecord(self.watched)
        self.changed = False                 # whether any step changed a parameter (the probe requires it)
        self.used: set[str] = set()

    def inspected(self):
        return {"the optimizer": self.opt, "the parameters": [self._value(i) for i in range(len(self.shapes))]}

    def init(self, params):
        p = np.array(params, dtype=np.float64, copy=True)
        self.shape = p.shape
        self.shapes = [()] * p.size if self.style == "scalars" else parameter_shapes(p.shape, one=self.one_tensor)
        chunks = split_flat(p.reshape(-1), self.shapes)
        if self.style == "objects":
            self.given = [_OwnedParameter(c.copy(), np.zeros_like(c)) for c in chunks]
        elif self.style == "scalars":
            self.given = [_OwnedParameter(float(c), 0.0) for c in chunks]
        else:
            self.given = [c.copy() for c in chunks]
        self.given = _ParameterList(self.given)
        self.opt, self.where = self.construct(self.given)
        takes = 1 if self.style == "arrays" else 0
        self.method = next((m for m in ("step", "update") if callable(getattr(self.opt, m, None))
                            and _required_positional(getattr(self.opt, m)) == takes), None)
        if self.method is None:
            raise ProtocolError(f"{self.where} returned {describe_value(self.opt)}, whose step (or update) does not "
                                f"take {'one argument, grads' if takes else 'zero arguments'}")

    def _value(self, i: int) -> Any:
        return self.given[i]._verify_value if self.style != "arrays" else self.given[i]

    def step(self, grads, params=None):      # the optimizer owns its parameters: params are not handed over
        chunks = split_flat(np.asarray(grads, dtype=np.float64).reshape(-1), self.shapes)
        before = [np.array(self._value(i), dtype=np.float64, copy=True) for i in range(len(self.shapes))]
        fn = getattr(self.opt, self.method)
        given = [c.copy() for c in chunks]
        names = [f"p.grad of parameter {i}" if self.style == "objects" else f"grads[{i}]" for i in range(len(given))]
        watched = {} if self.style == "scalars" else dict(zip(names, given))     # Python floats cannot change
        if self.style == "arrays":
            watched_call(self.inputs, f"{self.method}(grads)", fn, given, watched=watched)
        else:
            for p, g in zip(self.given, given):
                p._verify_grad = g if self.style == "objects" else float(g)
            watched_call(self.inputs, f"{self.method}()", fn, watched=watched)
            for p in self.given:
                self.used |= p._verify_used
        for change in self.inputs.last:
            if np.any(watched[change.input] != 0):       # zeroed, as zero_grad does: not reported
                self.inputs.note(f"{self.method}() modified {change.input} in place")
        pieces, narrow = [], None
        for i, shape in enumerate(self.shapes):
            value = self._value(i)
            dtype = getattr(value, "dtype", None)
            if dtype is not None and np.dtype(dtype).kind == "f" and np.dtype(dtype).itemsize < 8:
                narrow = dtype
            where = f"parameter {i}'s value after {self.method}()" if self.style != "arrays" else \
                f"parameter {i} after {self.method}(grads)"
            arr = as_array(value, where, shape=shape)
            self.changed |= not same_state(arr, before[i])
            pieces.append(arr.reshape(-1))
        self.returned_dtype = narrow
        return (np.concatenate(pieces) if pieces else np.empty(0)).reshape(self.shape)


def _required_positional(method: Callable) -> int | None:
    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return None
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty)


def run_for(opt: Any, where: str, container: str = "array", in_place: bool = False) -> OptimizerRun:
    """The run for what a factory returned (or a built object): optax, functional or stateful
    (``container``: how a stateful ``step``/``update``/``__call__`` is given the parameters; ``in_place``:
    it was seen updating them in place)."""
    from verify.adapters import optax_adapter   # imports neither jax nor optax

    if optax_adapter.is_gradient_transformation(opt):
        return optax_adapter.run_for(opt, where)
    if callable(getattr(opt, "init", None)) and callable(getattr(opt, "update", None)) and \
            positional_arity(opt.update) != 2:
        return _FunctionalRun(opt, where)
    if callable(getattr(opt, "step", None)) and positional_arity(opt.step) != 0:
        return StatefulRun(opt, "step", where, container, in_place)
    update = getattr(opt, "update", None)
    if callable(update) and positional_arity(update) == 2:
        return StatefulRun(opt, "update", where, container, in_place)
    if callable(update) and _names_a_parameter(update):
        return _NamedRun(opt, "update", where)
    if callable(getattr(opt, "update_params", None)) and positional_arity(opt.update_params) == 1:
        return _LayerRun(opt, where)
    if callable(getattr(opt, "apply_gradients", None)) and positional_arity(opt.apply_gradients) == 1:
        return StatefulRun(opt, "apply_gradients", where, in_place=in_place)
    if callable(getattr(opt, "get_updates", None)) and positional_arity(opt.get_updates) == 2:
        # Keras 2's get_updates(params, grads) over lists of variables, returning their new values
        return StatefulRun(opt, "get_updates", where, "list" if container == "array" else container, in_place)
    if not inspect.isroutine(opt) and not inspect.isclass(opt) and callable(opt) and \
            positional_arity(type(opt).__call__) == 3:          # self, params, grads
        return StatefulRun(opt, "__call__", where, container, in_place)
    if callable(getattr(opt, "step", None)) and _required_positional(opt.step) == 0:
        raise ProtocolError(
            f"{where} is an optimizer that owns its parameters (step() takes no arguments): give its class or "
            "factory, whose first parameter receives the parameters (named params or parameters), so the verifier "
            "builds it with parameters of its own; see docs/protocols.md")
    raise ProtocolError(
        f"{where} returned {describe_value(opt)}, which has none of the shapes the optimizer protocol drives: "
        "init/update (functional), step(params, grads), update(params, grads) or __call__(params, grads) "
        "(stateful), update(param, grad, name) (numpy-ml), update_params(layer) (Neural Networks from Scratch), "
        "apply_gradients(grads_and_vars) (Keras), get_updates(params, grads) (Keras 2); see docs/protocols.md"
    )


def _names_a_parameter(method: Callable) -> bool:
    """``update(param, param_grad, param_name, …)``: a third required positional parameter naming the parameter."""
    try:
        params = [p for p in inspect.signature(method).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    required = [p for p in params if p.default is p.empty]
    return len(required) == 3 and "name" in required[2].name


