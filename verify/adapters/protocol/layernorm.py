"""The layer-norm and RMS-norm protocol (specs ``layernorm`` and ``rmsnorm``), in the shapes people write it:

* a class ``LN(D, eps=...)`` (or ``LN(normalized_shape, ...)``, or ``LN(epsilon=...)`` creating its
  parameters at the first forward, as numpy-ml's ``LayerNorm1D``) with ``forward(x)`` (or ``__call__``) and
  optionally ``backward(dy)`` returning ``(dx, dgamma, dbeta)`` (``(dx, dgamma)`` for RMS norm) or ``dx``
  with the parameter gradients kept on the layer; γ and β under the names batch norm's protocol knows
  (``gamma``/``weight``/``scale``, ``beta``/``bias``/``shift``) or in a ``parameters`` dict (numpy-ml's
  ``scaler``/``intercept``);
* CS231n's functions ``layernorm_forward(x, gamma, beta, ln_param) -> (out, cache)`` and
  ``layernorm_backward(dout, cache) -> (dx, dgamma, dbeta)`` (the module holding them, or the forward
  function, is the target; ``rmsnorm_forward(x, gamma, param)`` alike);
* a plain function ``layer_norm(x, gamma, beta, eps=...)`` (``rms_norm(x, gamma, eps=...)``, or
  ``f(x, eps=...)`` without parameters) returning ``y`` or ``(y, cache)``, with its backward
  ``…_backward(dout, cache)`` beside it when its name says ``forward``.

Unlike batch norm, the statistics are per example: a function or a class that takes only the feature count
normalises the last axis of the rows it is given (``(N, D)``, or ``(B, T, D)`` / channels-first inputs where
the layer takes only those: :mod:`verify.adapters.norm_layout`; a numpy class whatever its argument's name); a
function taking a ``normalized_shape`` keyword also several trailing dimensions.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import numpy as np

from verify.adapters.base import (
    InputRecord,
    NormLayerInstance,
    NormLayerSubject,
    Request,
    accepted_keywords,
    as_array,
    call_target,
    describe_value,
    fail_on_changes,
    watched_call,
)
from verify.adapters.protocol._common import name_of, positional_parameters
from verify.adapters.protocol.batchnorm import _BETA, _GAMMA, _GRADS, _first_attr, layer_hyperparameters
from verify.errors import ProtocolError, TargetLoadError
from verify.shared import handed

__all__ = ["normlayer", "claim", "FUNCTION_NAMES"]

# Parameter names beyond batch norm's: numpy-ml's scaler/intercept, the Annotated Transformer's a_2/b_2.
_GAMMA_NAMES = _GAMMA + ("scaler", "g", "a_2", "alpha")
_BETA_NAMES = _BETA + ("intercept", "b", "b_2")
_PARAM_DICTS = ("parameters", "params")
_GRAD_DICTS = ("gradients", "grads")
_EPS_NAMES = ("eps", "epsilon")
_SIZE_NAMES = ("normalized_shape", "normalised_shape", "shape", "features", "num_features", "dim", "d_model",
               "hidden_size", "size", "n_in", "d", "n_features", "embed_dim", "ndim")

#: The function names of CS231n's protocol, per spec.
FUNCTION_NAMES = {"layernorm": ("layernorm_forward", "layer_norm_forward"),
                  "rmsnorm": ("rmsnorm_forward", "rms_norm_forward")}


def _role_of(name: str) -> str | None:
    n = name.lower()
    if n in _GAMMA_NAMES or n.startswith("gamma") or n in ("weight", "w_ln", "ln_weight"):
        return "gamma"
    if n in _BETA_NAMES or n.startswith("beta"):
        return "beta"
    return None


class _ClassLayer(NormLayerInstance):
    """A layer object: parameters as attributes or in a ``parameters`` dict, created at construction or at
    the first forward."""

    def __init__(self, layer: Any, shape: tuple[int, ...], passed: dict[str, Any], where: str, spec_name: str):
        self.layer, self.shape, self.where, self.spec_name = layer, shape, where, spec_name
        self.inputs = InputRecord("x and dy compared (NaN-aware) before and after every call")
        self.hyper, self.hyper_source = layer_hyperparameters(layer, passed, names=("eps",))
        fn = getattr(layer, "forward", None)
        if not callable(fn):
            if not callable(layer):
                raise ProtocolError(f"{where} returned {describe_value(layer)} without a forward(x) method")
            fn = layer
        self.fn = fn
        self._places: dict[str, tuple[str, str | None]] | None = None

    # -- where γ and β live
    def _find(self) -> dict[str, tuple[str, str | None]]:
        """{role: (attribute, dict key or None)} for the parameters the layer holds now."""
        found: dict[str, tuple[str, str | None]] = {}
        for role, names in (("gamma", _GAMMA_NAMES), ("beta", _BETA_NAMES)):
            attr = next((n for n in names if isinstance(getattr(self.layer, n, None), np.ndarray)), None)
            if attr is not None:
                found[role] = (attr, None)
                continue
            for d in _PARAM_DICTS:
                params = getattr(self.layer, d, None)
                if isinstance(params, dict):
                    key = next((k for k in names if isinstance(params.get(k), np.ndarray)), None)
                    if key is not None:
                        found[role] = (d, key)
                        break
        return found

    def _locate(self) -> dict[str, tuple[str, str | None]]:
        if self._places is None:
            places = self._find()
            if not places:       # parameters created at the first forward (numpy-ml): run one on a probe batch
                probe = np.random.default_rng(0).normal(size=(2, *self.shape))
                self._call_forward(probe, probing=True)
                places = self._find()
            self._places = places
        return self._places

    @property
    def affine(self) -> tuple[str, ...]:
        return tuple(r for r in ("gamma", "beta") if r in self._locate())

    def _get(self, role: str) -> Any:
        attr, key = self._locate()[role]
        value = getattr(self.layer, attr)
        return value if key is None else value[key]

    def set_affine(self, gamma, beta):
        for role, value in (("gamma", gamma), ("beta", beta)):
            if role not in self._locate() or value is None:
                continue
            old = self._get(role)
            dtype = old.dtype if np.issubdtype(old.dtype, np.floating) else np.float64
            new = np.array(value, dtype=dtype, copy=True)
            if old.size != new.size:
                raise ProtocolError(f"the layer's {role} has shape {old.shape}; cannot set it to shape {new.shape}")
            new = new.reshape(old.shape)
            attr, key = self._places[role]
            if key is None:
                setattr(self.layer, attr, new)
            else:
                getattr(self.layer, attr)[key] = new

    # -- calls
    def _call_forward(self, x, probing: bool = False):
        where = f"{self.where}.forward(x)" if self.fn is not self.layer else f"{self.where}(x)"
        given = handed(x)
        fn = self.fn
        if probing and "retain_derived" in accepted_keywords(fn)[0]:
            fn = functools.partial(fn, retain_derived=False)     # numpy-ml: keep no trace of the probe for backward
        out = watched_call(self.inputs, where, fn, given, watched={"x": given})
        fail_on_changes(self.inputs)
        if probing and callable(getattr(self.layer, "flush_gradients", None)):
            call_target(f"{self.where}.flush_gradients()", self.layer.flush_gradients)
        return where, out

    def forward(self, x):
        self._locate()
        where, out = self._call_forward(x)
        if isinstance(out, (tuple, list)) and len(out) == 2 and np.shape(out[0]) == np.shape(x):
            out = out[0]        # (y, cache)
        self._seen(out)
        return as_array(out, where, shape=np.shape(x))

    def backward(self, dy):
        where = "backward(dy)"
        given = handed(dy)
        back = getattr(self.layer, "backward", None)
        if not callable(back):
            raise ProtocolError(f"{self.where} has no backward(dy) method")
        out = watched_call(self.inputs, where, back, given, watched={"dy": given})
        fail_on_changes(self.inputs)
        roles = self.affine
        if isinstance(out, (tuple, list)) and len(out) == 1 + len(roles):
            dx, grads = out[0], dict(zip(roles, out[1:]))
        elif isinstance(out, (tuple, list)) and len(out) == 3 and roles == ("gamma",):
            dx, grads = out[0], {"gamma": out[1]}          # (dx, dgamma, dbeta) from a layer without β: β's ignored
        elif not isinstance(out, (tuple, list)) and out is not None and np.shape(out) == np.shape(dy):
            dx, grads = out, self._kept_gradients(where)
        else:
            expected = ", ".join(["dx"] + ["d" + r for r in roles])
            raise ProtocolError(f"{where} returned {describe_value(out)}; expected ({expected})")
        return _finish_backward(self, where, dx, grads, dy, self.shape)

    def _kept_gradients(self, where: str) -> dict[str, Any]:
        """backward(dy) -> dx, with the parameter gradients on the layer (dgamma, or a gradients dict)."""
        grads: dict[str, Any] = {}
        for role in self.affine:
            attr = _first_attr(self.layer, _GRADS["d" + role])
            if attr is not None:
                grads[role] = getattr(self.layer, attr)
                continue
            place_attr, key = self._places[role]
            name = key if key is not None else place_attr
            for d in _GRAD_DICTS:
                table = getattr(self.layer, d, None)
                if isinstance(table, dict) and table.get(name) is not None:
                    grads[role] = table[name]
                    break
            else:
                raise ProtocolError(f"{where} returned only dx and the layer keeps no gradient of its {role} "
                                    f"(looked for {', '.join(_GRADS['d' + role])} and a gradients dict); "
                                    f"expected a tuple (dx, {', '.join('d' + r for r in self.affine)})")
        return grads


def _finish_backward(layer: NormLayerInstance, where: str, dx, grads: dict[str, Any], dy, shape):
    layer._seen(dx)
    out = [as_array(dx, f"{where}[0] (dx)", shape=np.shape(dy))]
    for i, role in enumerate(("gamma", "beta"), 1):
        if role not in layer.affine:
            out.append(None)
            continue
        arr = as_array(grads[role], f"{where}[{i}] (d{role})")
        if arr.size != int(np.prod(shape)):
            raise ProtocolError(f"{where}[{i}] (d{role}) has shape {arr.shape}; expected the normalised shape "
                                f"{shape}")
        out.append(arr.reshape(shape))
    return out[0], out[1], out[2]


class _FunctionLayer(NormLayerInstance):
    """Functions: ``forward(x, [gamma, [beta,]] param_dict | eps=...)`` returning ``y`` or ``(y, cache)``, and
    ``backward(dout, cache)``."""

    def __init__(self, fwd: Callable, bwd: Callable | None, roles: tuple[str, ...], shape: tuple[int, ...],
                 eps: float, eps_as: str | None, takes_shape: bool = False):
        self.fwd, self.bwd, self.affine, self.shape = fwd, bwd, roles, shape
        self.takes_shape = takes_shape
        self.eps_as = eps_as          # "dict" (CS231n's ln_param), a keyword name, or None (not taken)
        self.eps = eps
        self.params = {"gamma": np.ones(shape), "beta": np.zeros(shape)}
        self.cache: Any = None
        self.inputs = InputRecord("x and dout compared (NaN-aware) before and after every call")
        self.hyper = {"eps": (eps, "passed") if eps_as else (None, "unknown")}
        self.hyper_source: dict[str, str] = {}

    def set_affine(self, gamma, beta):
        for role, value in (("gamma", gamma), ("beta", beta)):
            if value is not None:
                self.params[role] = np.array(value, dtype=np.float64).reshape(self.shape)

    def forward(self, x):
        args = [self.params[r].copy() for r in self.affine]
        kwargs: dict[str, Any] = {}
        if self.eps_as == "dict":
            args.append({"eps": self.eps})
            where = f"{name_of(self.fwd)}(x, {', '.join(self.affine)}{', ' if self.affine else ''}{{'eps': eps}})"
        else:
            if self.eps_as:
                kwargs[self.eps_as] = self.eps
            if self.takes_shape:
                kwargs["normalized_shape"] = self.shape
            where = f"{name_of(self.fwd)}(x{''.join(', ' + r for r in self.affine)}" \
                    f"{f', {self.eps_as}=eps' if self.eps_as else ''})"
        given = handed(x)
        fn = functools.partial(self.fwd, **kwargs) if kwargs else self.fwd
        out = watched_call(self.inputs, where, fn, given, *args, watched={"x": given})
        fail_on_changes(self.inputs)
        if isinstance(out, (tuple, list)) and len(out) == 2:
            out, self.cache = out
        elif self.bwd is not None:
            raise ProtocolError(f"{where} returned {describe_value(out)}; expected a pair (out, cache) for "
                                f"{name_of(self.bwd)}(dout, cache)")
        self._seen(out)
        return as_array(out, where, shape=np.shape(x))

    def backward(self, dy):
        where = f"{name_of(self.bwd)}(dout, cache)"
        if self.cache is None:
            raise ProtocolError(f"{where} needs a forward first")
        given = handed(dy)
        out = watched_call(self.inputs, where, self.bwd, given, self.cache, watched={"dout": given})
        fail_on_changes(self.inputs)
        n = 1 + len(self.affine)
        if isinstance(out, (tuple, list)) and len(out) == 3 and n == 2:
            out = out[:2]
        if not isinstance(out, (tuple, list)) or len(out) != n:
            expected = ", ".join(["dx"] + ["d" + r for r in self.affine])
            raise ProtocolError(f"{where} returned {describe_value(out)}; expected a tuple ({expected})")
        return _finish_backward(self, where, out[0], dict(zip(self.affine, out[1:])), dy, self.shape)


def _functions(obj: Any, spec_name: str) -> tuple[Callable, Callable | None] | None:
    """(forward, backward) when the target is a function or a module/object holding CS231n's named pair."""
    if inspect.isclass(obj):
        return None
    if not inspect.isfunction(obj) and not inspect.isbuiltin(obj):
        for name in FUNCTION_NAMES.get(spec_name, ()):
            fwd = getattr(obj, name, None)
            if callable(fwd):
                return fwd, getattr(obj, name.replace("forward", "backward"), None)
        return None
    back = None
    name = getattr(obj, "__name__", "")
    if "forward" in name:
        back = getattr(obj, "__globals__", {}).get(name.replace("forward", "backward"))
    return obj, back if callable(back) else None


def _function_subject(fwd: Callable, bwd: Callable | None, target: str, spec_name: str) -> NormLayerSubject:
    found = positional_parameters(fwd)
    if found is None:
        raise TargetLoadError(f"target {target!r}: cannot read the signature of {name_of(fwd)}")
    params, _ = found
    names = [p.name for p in params]
    keywords, var_kw = accepted_keywords(fwd)
    takes_shape = "normalized_shape" in keywords
    eps_as: str | None
    if len(names) >= 2 and "param" in names[-1].lower():
        eps_as, rest = "dict", names[1:-1]
    else:
        eps_as = next((n for n in _EPS_NAMES if n in keywords), "eps" if var_kw else None)
        rest = [p.name for p in params[1:] if p.name not in _EPS_NAMES and p.name != "normalized_shape"
                and (p.default is inspect.Parameter.empty or _role_of(p.name) is not None)]
    roles = tuple(("gamma", "beta")[: min(len(rest), 2)])
    if len(rest) > 2:
        raise TargetLoadError(f"target {target!r}: {name_of(fwd)}{tuple(names)} takes more than x, gamma and beta; "
                              "expected forward(x, gamma, beta, ln_param) or forward(x, gamma, beta, eps=...)")

    def factory(shape, eps):
        return _FunctionLayer(fwd, bwd, roles, shape, eps, eps_as, takes_shape)

    call = f"{name_of(fwd)}(x{''.join(', ' + r for r in roles)}" + (
        ", {'eps': eps}" if eps_as == "dict" else f", {eps_as}=eps" if eps_as else "") + ")"
    mapping = [f"forward: {call} on (N, D) batches, normalising each row"]
    mapping.append(f"backward: {name_of(bwd)}(dout, cache)" if bwd is not None else
                   "no backward beside the forward: the backward checks are skipped")
    if eps_as is None:
        mapping.append(f"{name_of(fwd)} takes no eps: the spec's value is only an assumption")
    return NormLayerSubject(f"numpy {spec_name} function {name_of(fwd)}", mapping=mapping, factory=factory,
                            has_backward=bwd is not None, takes_shape=takes_shape, initialises=False,
                            takes=frozenset({"eps"}) if eps_as else frozenset(), name=name_of(fwd))


def _size_argument(cls: Any) -> tuple[str | None, bool]:
    """(how the constructor takes the normalised size: 'positional' or a keyword or None, whether it is a
    normalized_shape)."""
    found = positional_parameters(cls)
    if found is None:
        return "positional", False
    params, _ = found
    params = [p for p in params if p.name != "self"]
    if params and params[0].default is inspect.Parameter.empty:
        return "positional", params[0].name in ("normalized_shape", "normalised_shape", "shape")
    for p in params:
        if p.name in _SIZE_NAMES:
            return p.name, p.name in ("normalized_shape", "normalised_shape", "shape")
    return None, False


def normlayer(obj: Any, target: str, spec_name: str) -> NormLayerSubject:
    """The subject for a layer-norm or RMS-norm class (or factory) or functions (see the module)."""
    pair = _functions(obj, spec_name)
    if pair is not None:
        return _function_subject(*pair, target, spec_name)
    if not callable(obj):
        raise TargetLoadError(f"target {target!r} is a {type(obj).__name__}, not a {spec_name} class or function")
    names, var_kw = accepted_keywords(obj)
    eps_kw = next((n for n in _EPS_NAMES if n in names), "eps" if var_kw else None)
    size, takes_shape = _size_argument(obj)

    def factory(shape, eps):
        size_value: Any = shape if (takes_shape and len(shape) > 1) else shape[-1] if len(shape) == 1 else shape
        args = (size_value,) if size == "positional" else ()
        kwargs = {size: size_value} if size not in (None, "positional") else {}
        if eps_kw is not None:
            kwargs[eps_kw] = eps
        shown = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
        where = f"{name_of(obj)}({shown})"
        layer = call_target(where, obj, *args, **kwargs)
        return _ClassLayer(layer, shape, {"eps": eps} if eps_kw else {}, where, spec_name)

    base = obj.func if isinstance(obj, functools.partial) else obj
    has_backward = not inspect.isclass(base) or callable(getattr(base, "backward", None))
    mapping = [f"{name_of(obj)}({'D' if size == 'positional' else f'{size}=D' if size else ''}"
               f"{', ' if size and eps_kw else ''}{f'{eps_kw}=eps' if eps_kw else ''}): forward(x) on "
               + "(N, D) batches",
               "γ, β: attributes gamma/weight/scale, beta/bias/shift (or a parameters dict: scaler, intercept), "
               "created at construction or at the first forward"]
    if eps_kw is None:
        mapping.append(f"{name_of(obj)} takes no eps: read back from its eps/epsilon attribute if it has one, "
                       "else the spec's value is only an assumption")
    # A numpy class is given the feature count only, whatever its argument is called: code written for rows
    # would be failed on normalised shapes it never claimed (its input shape is tried: norm_layout).
    return NormLayerSubject(f"numpy {spec_name} layer {name_of(obj)}", mapping=mapping, factory=factory,
                            has_backward=has_backward, takes_shape=False, names_shape=takes_shape,
                            takes=frozenset({"eps"}) if eps_kw else frozenset(), name=name_of(obj))


def claim(request: Request) -> NormLayerSubject:
    """The fallback for layer norm and RMS norm: every object is held to this protocol."""
    return normlayer(request.obj, request.target, request.spec.name)
