"""The batch-norm protocol: a class ``BN(num_features, eps=..., momentum=...)`` with ``gamma``, ``beta``,
``running_mean``, ``running_var``, ``forward(x, training=True)`` and ``backward(dy) -> (dx, dgamma, dbeta)`` (and the
names real layers give these); or CS231n's functions ``batchnorm_forward(x, gamma, beta, bn_param)``."""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from verify.adapters.base import (
    BatchNormInstance,
    BatchNormSubject,
    InputRecord,
    Request,
    accepted_keywords,
    as_array,
    call_target,
    describe_value,
    fail_on_changes,
    watched_call,
)
from verify.adapters.protocol._common import name_of
from verify.errors import ProtocolError, TargetLoadError
from verify.shared import handed

__all__ = ["batchnorm", "layer_hyperparameters", "claim"]

# Names real layers give their parameters and buffers (PyTorch, CS231n, Keras, d2l, numpy-ml style).
_GAMMA = ("gamma", "weight", "scale")
_BETA = ("beta", "bias", "shift", "offset")
_RUNNING = {"running_mean": ("running_mean", "moving_mean", "avg_mean", "pop_mean", "population_mean"),
            "running_var": ("running_var", "moving_var", "moving_variance", "running_variance", "avg_var", "pop_var",
                            "population_var")}
_HYPER_NAMES = {"eps": ("eps", "epsilon"), "momentum": ("momentum",)}
_GRADS = {"dgamma": ("dgamma", "dweight", "dscale", "gamma_grad", "grad_gamma", "grad_weight"),
          "dbeta": ("dbeta", "dbias", "dshift", "beta_grad", "grad_beta", "grad_bias")}


def _first_attr(obj: Any, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if getattr(obj, n, None) is not None), None)


def _per_feature(value: Any, c: int, where: str) -> np.ndarray:
    """A per-feature array, accepting the (1, C) or (1, C, 1, 1) shapes some layers keep."""
    arr = as_array(value, where)
    if arr.size != c:
        raise ProtocolError(f"{where} has shape {arr.shape}; expected {c} values, one per feature")
    return arr.reshape(c)


def _training_call(layer: Any, where: str) -> Callable[[np.ndarray, bool], Any]:
    """How to run ``layer`` in training or evaluation mode.

    ``forward(x, training=...)`` (the protocol), or a ``train``/``is_training``
    keyword, or ``mode='train'|'test'``; else a ``training`` attribute (set
    before the call) or ``train()``/``eval()`` methods. The layer may be
    called directly (``__call__``) when it has no ``forward``.
    """
    fn = getattr(layer, "forward", None)
    if not callable(fn):
        if not callable(layer):
            raise ProtocolError(f"{where} returned {describe_value(layer)} without a forward(x, training) method")
        fn = layer
    names, var_kw = accepted_keywords(fn)
    for flag in ("training", "train", "is_training"):
        if flag in names:
            return lambda x, training: fn(x, **{flag: training})
    if "mode" in names:
        return lambda x, training: fn(x, mode="train" if training else "test")
    if var_kw and not names - {"self"}:
        return lambda x, training: fn(x, training=training)
    if hasattr(layer, "training"):
        def call(x, training):
            layer.training = training
            return fn(x)
        return call
    if callable(getattr(layer, "train", None)) and callable(getattr(layer, "eval", None)):
        def call(x, training):
            layer.train() if training else layer.eval()
            return fn(x)
        return call
    return lambda x, training: fn(x, training=training)


class _NumpyBatchNorm(BatchNormInstance):
    def __init__(self, layer: Any, num_features: int, passed: dict[str, Any], where: str):
        self.layer = layer
        self.c = num_features
        self.inputs = InputRecord("x and dy compared (NaN-aware) before and after every call")
        self.g_attr = _first_attr(layer, _GAMMA) or "gamma"
        self.b_attr = _first_attr(layer, _BETA) or "beta"
        self.call = _training_call(layer, where)
        self.hyper, self.hyper_source = layer_hyperparameters(layer, passed)

    def _watched(self, where: str, name: str, fn, value, *args):
        given = handed(value)
        out = watched_call(self.inputs, where, fn, given, *args, watched={name: given})
        fail_on_changes(self.inputs)
        return out

    def forward(self, x, training):
        where = f"forward(x, training={training})"
        out = self._watched(where, "x", self.call, x, training)
        self._seen(out)
        return as_array(out, where, shape=np.shape(x))

    def backward(self, dy):
        where = "backward(dy)"
        out = self._watched(where, "dy", self.layer.backward, dy)
        c = np.shape(dy)[1]
        if isinstance(out, (tuple, list)) and len(out) == 3:
            dx, dgamma, dbeta = out
        elif not isinstance(out, (tuple, list)) and out is not None and np.shape(out) == np.shape(dy):
            # backward(dy) -> dx, with the parameter gradients kept on the layer (dgamma/dbeta, ...)
            found = {k: _first_attr(self.layer, names) for k, names in _GRADS.items()}
            if None in found.values():
                raise ProtocolError(f"{where} returned only dx and the layer has no dgamma/dbeta attributes; "
                                    "expected a tuple (dx, dgamma, dbeta)")
            dx, dgamma, dbeta = out, getattr(self.layer, found["dgamma"]), getattr(self.layer, found["dbeta"])
        else:
            raise ProtocolError(f"{where} returned {describe_value(out)}; expected a tuple (dx, dgamma, dbeta)")
        return (as_array(dx, f"{where}[0] (dx)", shape=np.shape(dy)),
                _per_feature(dgamma, c, f"{where}[1] (dgamma)"),
                _per_feature(dbeta, c, f"{where}[2] (dbeta)"))

    def set_affine(self, gamma, beta):
        for attr, value in ((self.g_attr, gamma), (self.b_attr, beta)):
            old = getattr(self.layer, attr, None)
            if old is None and not hasattr(self.layer, attr):
                raise ProtocolError(f"the batch-norm layer has no attribute {attr!r} to set γ/β")
            # in the layer's own floating dtype: a float32 layer given float64 γ would compute in a mix of both
            own = old.dtype if isinstance(old, np.ndarray) else None
            dtype = own if own is not None and np.issubdtype(own, np.floating) else np.float64
            new = np.array(value, dtype=dtype, copy=True)
            if old is not None and np.size(old) == new.size and np.ndim(old) != 1:
                new = new.reshape(np.shape(old))     # keep the layer's own (1, C) shape
            setattr(self.layer, attr, new)

    def unrecognised_statistics(self):
        known = {self.g_attr, self.b_attr}
        return sorted(name for name, value in vars(self.layer).items()
                      if name not in known and not name.startswith("__") and np.size(value) == self.c
                      and isinstance(value, np.ndarray) and ("mean" in name.lower() or "var" in name.lower()
                                                              or "avg" in name.lower() or "std" in name.lower()))

    def running(self):
        found = {k: _first_attr(self.layer, names) for k, names in _RUNNING.items()}
        if found["running_mean"] is None and found["running_var"] is None:
            return None
        missing = [k for k, v in found.items() if v is None]
        if missing:
            raise ProtocolError(f"the batch-norm layer has no attribute {missing[0]!r} (looked for "
                                f"{', '.join(_RUNNING[missing[0]])})")
        out = []
        for key, attr in found.items():
            value = getattr(self.layer, attr)
            self._seen(value)
            out.append(_per_feature(value, self.c, attr))
        return out[0], out[1]


def layer_hyperparameters(layer: Any, passed: dict[str, Any], names: tuple[str, ...] = ("eps", "momentum")
                          ) -> tuple[dict[str, tuple[Any, str]], dict[str, str]]:
    """How the layer got each of ``names`` (eps, momentum): passed to its constructor, or read back, or unknown."""
    hyper, source = {}, {}
    for name in names:
        attrs = _HYPER_NAMES[name]
        if name in passed:
            hyper[name] = (passed[name], "passed")
            continue
        attr = next((a for a in attrs if isinstance(getattr(layer, a, None), (int, float, np.floating))
                     and not isinstance(getattr(layer, a), bool)), None)
        if attr is not None:
            hyper[name] = (float(getattr(layer, attr)), "read")
            source[name] = attr
        else:
            hyper[name] = (None, "unknown")
    return hyper, source


def batchnorm(obj: Any, target: str, convention: str = "auto") -> BatchNormSubject:
    """A batch-norm class (or factory) ``BN(num_features, eps=..., momentum=...)``, or CS231n's functions.

    The constructor is given only the keywords it accepts (``eps`` or
    ``epsilon``, ``momentum``); what it does not take is read back from the
    layer's attributes if it has them. ``convention="cumulative"`` passes
    ``momentum=None`` (PyTorch's cumulative average).
    """
    if _bn_param_functions(obj) is not None:
        return _bn_param_subject(obj, target, convention)
    if not callable(obj):
        raise TargetLoadError(f"target {target!r} is a {type(obj).__name__}, not a batch-norm class")
    names, var_kw = accepted_keywords(obj)
    keyword = {"eps": next((n for n in ("eps", "epsilon") if n in names), "eps" if var_kw else None),
               "momentum": "momentum" if "momentum" in names or var_kw else None}
    takes = frozenset(k for k, v in keyword.items() if v is not None)
    resolved = "pytorch" if convention == "auto" else convention

    def factory(num_features, eps, momentum):
        values = {"eps": eps, "momentum": None if resolved == "cumulative" else momentum}
        kwargs = {keyword[k]: v for k, v in values.items() if keyword[k] is not None}
        shown = ", ".join(f"{k}={v}" for k, v in kwargs.items())
        where = f"{name_of(obj)}({num_features}{', ' + shown if shown else ''})"
        layer = call_target(where, obj, num_features, **kwargs)
        return _NumpyBatchNorm(layer, num_features, {k: values[k] for k in takes}, where)

    has_backward = not inspect.isclass(obj) or callable(getattr(obj, "backward", None))
    mapping = []
    not_taken = [k for k in ("eps", "momentum") if k not in takes]
    if not_taken:
        mapping.append(f"{name_of(obj)} takes no {' or '.join(not_taken)}: read back from the layer's attribute of "
                       "that name if it has one, else the spec's value is only an assumption")
    subject = BatchNormSubject(f"numpy batch norm {name_of(obj)}", mapping=mapping, factory=factory,
                               has_backward=has_backward, convention=resolved, takes=takes,
                               name=name_of(obj))
    return subject


# ---------------------------------------------------------------- CS231n's functions


def _bn_param_functions(obj: Any) -> tuple[Callable, Callable | None] | None:
    """(forward, backward) of CS231n's protocol: ``batchnorm_forward(x, gamma, beta, bn_param)``.

    The target is the forward function itself (the backward is looked up
    beside it as ``batchnorm_backward``) or a module or object providing both
    (or only the spatial pair, ``spatial_batchnorm_forward``/``_backward``).
    """
    if inspect.isclass(obj):
        return None
    for prefix in ("", "spatial_"):
        fwd = getattr(obj, f"{prefix}batchnorm_forward", None)
        if callable(fwd) and not inspect.isfunction(obj):
            return fwd, getattr(obj, f"{prefix}batchnorm_backward", None)
    if inspect.isfunction(obj):
        try:
            params = list(inspect.signature(obj).parameters)
        except (TypeError, ValueError):
            return None
        if len(params) == 4 and "param" in params[3].lower():
            back = obj.__globals__.get(obj.__name__.replace("forward", "backward")) if "forward" in obj.__name__ else None
            return obj, back if callable(back) else None
    return None


class _BnParamBatchNorm(BatchNormInstance):
    """CS231n's layer: ``out, cache = batchnorm_forward(x, gamma, beta, bn_param)``; running statistics
    live in ``bn_param`` (created there at the first training call)."""

    def __init__(self, fwd: Callable, bwd: Callable | None, c: int, eps: float, momentum: float | None):
        self.fwd, self.bwd, self.c = fwd, bwd, c
        self.gamma, self.beta = np.ones(c), np.zeros(c)
        self.bn_param: dict[str, Any] = {"mode": "train", "eps": eps, "momentum": momentum}
        self.cache: Any = None
        self.inputs = InputRecord("x and dout compared (NaN-aware) before and after every call")
        self.hyper = {"eps": (eps, "passed"), "momentum": (momentum, "passed")}
        self.hyper_source: dict[str, str] = {}

    def forward(self, x, training):
        self.bn_param["mode"] = "train" if training else "test"
        where = f"{name_of(self.fwd)}(x, gamma, beta, bn_param) with mode {self.bn_param['mode']!r}"
        given = handed(x)
        out = watched_call(self.inputs, where, self.fwd, given, self.gamma.copy(), self.beta.copy(), self.bn_param,
                           watched={"x": given})
        fail_on_changes(self.inputs)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise ProtocolError(f"{where} returned {describe_value(out)}; expected a pair (out, cache)")
        if training:
            self.cache = out[1]
        self._seen(out[0])
        return as_array(out[0], where, shape=np.shape(x))

    def backward(self, dy):
        where = f"{name_of(self.bwd)}(dout, cache)"
        if self.cache is None:
            raise ProtocolError(f"{where} needs a training-mode forward first")
        given = handed(dy)
        out = watched_call(self.inputs, where, self.bwd, given, self.cache, watched={"dout": given})
        fail_on_changes(self.inputs)
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            raise ProtocolError(f"{where} returned {describe_value(out)}; expected a tuple (dx, dgamma, dbeta)")
        return (as_array(out[0], f"{where}[0] (dx)", shape=np.shape(dy)),
                _per_feature(out[1], self.c, f"{where}[1] (dgamma)"),
                _per_feature(out[2], self.c, f"{where}[2] (dbeta)"))

    def set_affine(self, gamma, beta):
        self.gamma, self.beta = np.array(gamma, dtype=np.float64), np.array(beta, dtype=np.float64)

    def running(self):
        mean, var = self.bn_param.get("running_mean"), self.bn_param.get("running_var")
        if mean is None and var is None:
            return None
        if mean is None or var is None:
            raise ProtocolError("bn_param holds only one of running_mean and running_var")
        self._seen(mean)
        self._seen(var)
        return _per_feature(mean, self.c, "bn_param['running_mean']"), _per_feature(var, self.c, "bn_param['running_var']")


def _bn_param_subject(obj: Any, target: str, convention: str) -> BatchNormSubject:
    fwd, bwd = _bn_param_functions(obj)
    resolved = "keras" if convention == "auto" else convention

    def factory(num_features, eps, momentum):
        return _BnParamBatchNorm(fwd, bwd, num_features, eps, None if resolved == "cumulative" else momentum)

    mapping = [
        f"CS231n's protocol: out, cache = {name_of(fwd)}(x, gamma, beta, bn_param) with bn_param = {{'mode': "
        "'train' | 'test', 'eps': eps, 'momentum': momentum}; running statistics read from bn_param",
        "momentum: CS231n's running = momentum·running + (1 − momentum)·batch (Keras' form) unless --param convention",
    ]
    mapping.append(f"backward: dx, dgamma, dbeta = {name_of(bwd)}(dout, cache)" if bwd is not None else
                   "no batchnorm_backward beside the forward: the backward checks are skipped")
    subject = BatchNormSubject(f"numpy batch norm functions {name_of(fwd)} (CS231n's bn_param protocol)",
                               mapping=mapping, factory=factory, has_backward=bwd is not None, convention=resolved,
                               takes=frozenset({"eps", "momentum"}), name=name_of(fwd))
    return subject



def claim(request: Request) -> BatchNormSubject:
    """The fallback for batch norm: every object is held to this protocol."""
    return batchnorm(request.obj, request.target, convention=request.params.get("convention", "auto"))
