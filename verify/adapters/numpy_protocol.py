"""Adapters for users' own numpy code, following the documented protocols.

The protocols (see ``docs/protocols.md``):

* regulariser (``l1``, ``l2``): a function ``grad(w, lam)``, or an object or
  module with any of ``penalty(w, lam)``, ``grad(w, lam)``,
  ``step(w, g, lr, lam)``, ``prox_step(w, g, lr, lam)``;
* initialiser (``init-*``) and ReLU bias: ``init(shape, rng) -> ndarray``;
* batch norm: a class ``BN(num_features, eps=..., momentum=...)`` with
  ``gamma``, ``beta``, ``running_mean``, ``running_var``,
  ``forward(x, training=True)`` and ``backward(dy) -> (dx, dgamma, dbeta)``;
* Newton: ``step(w, grad, hess, lr) -> new_w``;
* optimizer: a factory or class called with the spec's hyperparameters as
  keywords (those it takes: see :func:`verify.adapters.mapping.keyword_plan`),
  returning an object with ``init(params)`` and
  ``update(grads, state, params) -> (new_params, state)``, or with
  ``step(params, grads) -> new_params`` (also named ``update``; updating
  ``params`` in place is accepted); an object built beforehand (run as built,
  a fresh copy per run); a function ``f(w, dw, config) -> (next_w, config)``
  with the hyperparameters in ``config`` (CS231n's ``optim.py``); or a class
  or factory owning its parameters, ``Opt(params, **hyperparameters)`` then
  ``step()`` reading ``p.grad`` (micrograd-style), driven with parameter
  objects of the verifier's.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import random
import re
import sys
from typing import Any, Callable, Mapping

import numpy as np

from verify.adapters.base import (
    BatchNormInstance,
    BatchNormSubject,
    InitialiserSubject,
    NewtonSubject,
    OptimizerRun,
    OptimizerSubject,
    RegulariserSubject,
    accepted_keywords,
    as_array,
    call_target,
    describe_value,
    PROBE_W0,
    probe,
    probe_grads,
    same_state,
    snapshot,
)
from verify.adapters.mapping import KeywordPlan, aliases, keyword_plan, parameter_shapes, read_attributes, split_flat
from verify.compare import identical
from verify.errors import ProtocolError, TargetError, TargetLoadError
from verify.specs.base import Held

__all__ = [
    "REGULARISER_ROLES",
    "regulariser",
    "initialiser",
    "batchnorm",
    "newton",
    "optimizer",
    "positional_arity",
    "initialiser_calling",
    "layer_hyperparameters",
    "ProtocolRNG",
    "seeded_global_generators",
]

REGULARISER_ROLES = ("penalty", "grad", "step", "prox_step")


def _name(obj: Any) -> str:
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
    return name.rsplit("<locals>.", 1)[-1]      # a function defined inside another: its own name


def regulariser(obj: Any, target: str) -> RegulariserSubject:
    if inspect.isfunction(obj) or inspect.isbuiltin(obj) or isinstance(obj, np.ufunc) or (
        callable(obj) and not inspect.isclass(obj) and not inspect.ismodule(obj)
        and not any(callable(getattr(obj, r, None)) for r in REGULARISER_ROLES)
    ):
        return RegulariserSubject(f"numpy regulariser: grad(w, lam) = {_name(obj)}", fns={"grad": obj})
    built = _built_with_strength(obj)
    if built is not None:
        return built
    fns = {r: getattr(obj, r) for r in REGULARISER_ROLES if callable(getattr(obj, r, None))}
    if not fns:
        raise TargetLoadError(
            f"target {target!r} is a {type(obj).__name__} providing none of "
            f"{', '.join(REGULARISER_ROLES)} (the regulariser protocol)"
        )
    calls = {"penalty": "penalty(w, lam)", "grad": "grad(w, lam)", "step": "step(w, g, lr, lam)",
             "prox_step": "prox_step(w, g, lr, lam)"}
    misfits = {r: fn for r, fn in fns.items() if not _takes_positional(fn, calls[r].count(",") + 1)}
    if len(misfits) == len(fns):
        role, fn = next(iter(misfits.items()))
        raise TargetLoadError(f"target {target!r} does not fit the regulariser protocol: {_name(fn)}"
                              f"{_signature_text(fn)} cannot be called as {calls[role]}")
    fns = {r: fn for r, fn in fns.items() if r not in misfits}
    mapping = [f"{_name(fn)}{_signature_text(fn)} is not the protocol's {calls[r]}: not used" for r, fn in misfits.items()]
    return RegulariserSubject(f"numpy regulariser providing {', '.join(fns)}", fns=fns, mapping=mapping)


def _takes_positional(fn: Callable, n: int) -> bool:
    """Whether ``fn`` can be called with ``n`` positional arguments (``True`` where its signature is unreadable)."""
    try:
        inspect.signature(fn).bind(*range(n))
    except TypeError:
        return False
    except ValueError:
        return True
    return True


def _signature_text(fn: Callable) -> str:
    try:
        return str(inspect.signature(fn))
    except (TypeError, ValueError):
        return "(…)"


_STRENGTH_NAMES = ("lam", "lambd", "lmbda", "lambda_", "alpha", "l1", "l2", "reg", "strength", "weight_decay")


def _built_with_strength(cls: Any) -> RegulariserSubject | None:
    """A regulariser class built with its strength, ``R(lam)``, whose instances are the penalty and have
    ``grad(w)`` (ML-From-Scratch's ``l2_regularization(alpha)``, Keras' ``L2(l2)``): ``None`` for any other."""
    if not inspect.isclass(cls):
        return None
    read = _positional_parameters(cls)
    if read is None or not read[0] or (read[0][0].default is not read[0][0].empty
                                       and read[0][0].name.lower() not in _STRENGTH_NAMES):
        return None                                          # the constructor takes no strength
    strength = read[0][0].name

    def instance_method(name: str) -> Callable | None:
        fn = inspect.getattr_static(cls, name, None)
        return fn if inspect.isfunction(fn) and positional_arity(fn) == 2 else None    # (self, w)

    roles = {}
    if cls.__call__ is not object.__call__ and instance_method("__call__"):
        roles["penalty"] = lambda w, lam: cls(lam)(w)
    for name in ("grad", "gradient"):
        if instance_method(name):
            roles["grad"] = lambda w, lam, name=name: getattr(cls(lam), name)(w)
            break
    if not roles or any(callable(inspect.getattr_static(cls, r, None)) and r not in ("grad",)
                        for r in ("penalty", "step", "prox_step")):
        return None
    shown = {"penalty": f"{cls.__name__}(lam)(w)", "grad": f"{cls.__name__}(lam).grad(w)"}
    return RegulariserSubject(f"numpy regulariser {cls.__name__}({strength}) built with λ: "
                              + ", ".join(shown[r] for r in roles), fns=roles)


def positional_arity(fn: Callable) -> int | None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    n = 0
    for p in sig.parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            n += 1
    return n


class ProtocolRNG(np.random.Generator):
    """The ``rng`` given to ``init(shape, rng)``: a numpy Generator that also answers the legacy
    ``numpy.random.RandomState`` methods course code calls (``randn``, ``rand``, ``random_sample``,
    ``randint``), so code written for either API draws from the seeded stream."""

    def randn(self, *dims: int) -> Any:
        return self.standard_normal(dims) if dims else float(self.standard_normal())

    def rand(self, *dims: int) -> Any:
        return self.random(dims) if dims else float(self.random())

    def random_sample(self, size: Any = None) -> Any:
        return self.random(size)

    def randint(self, low: int, high: int | None = None, size: Any = None, dtype: Any = int) -> Any:
        return self.integers(low, high, size, dtype=dtype)


@contextlib.contextmanager
def seeded_global_generators(seed: int):
    """Seed numpy's, Python's and (if loaded) torch's global generators from ``seed``; restore them after.

    Real initialisers often ignore the ``rng`` they are given and call
    ``np.random.randn``: seeding the global generators makes them reproducible
    from the seed too, and the caller's random state is left as it was.
    """
    np_state, py_state = np.random.get_state(), random.getstate()
    torch = sys.modules.get("torch")
    fork = torch.random.fork_rng(devices=[]) if torch is not None else contextlib.nullcontext()
    try:
        with fork:
            np.random.seed(seed % 2**32)
            random.seed(seed)
            if torch is not None:
                torch.manual_seed(seed % 2**63)
            yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


_SHAPE_NAMES = ("shape", "size", "dims", "dim")
_RNG_NAMES = ("rng", "random_state", "generator", "gen", "prng", "rs", "np_rng", "numpy_rng", "random")
_KEY_NAMES = ("key", "rng_key", "prng_key")


def _positional_parameters(fn: Callable) -> tuple[list[inspect.Parameter], bool] | None:
    """``fn``'s positional parameters and whether it takes ``*args``; ``None`` if the signature is unreadable."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    params = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return params, any(p.kind == p.VAR_POSITIONAL for p in sig.parameters.values())


def _shape_like(name: str) -> bool:
    return name in _SHAPE_NAMES or name.endswith("shape")


def initialiser_calling(fn: Callable) -> str:
    """How an initialiser is called, from its signature.

    ``"tensor"`` — ``fn(tensor)`` filling in place (torch.nn.init's protocol):
    one positional parameter not named like a shape; ``"shape, rng"`` — the
    protocol's ``init(shape, rng)`` (a second parameter named like a generator,
    or required); ``"shape"`` — ``init(shape)`` alone (numpy-ml's
    ``he_uniform(weight_shape)``, Keras' ``__call__(shape, dtype=None)``,
    ``glorot_uniform(weight_shape, gain=1.0)``: the other parameters keep their
    defaults and the global generators are seeded); ``"*shape"`` —
    ``init(*shape)`` (``np.random.randn``'s own form, tinygrad's
    ``Tensor.kaiming_uniform(*shape)``); ``"key, shape"`` — JAX's
    ``init(key, shape, dtype)``.
    """
    read = _positional_parameters(fn)
    if read is None:
        return "shape, rng"
    params, var_positional = read
    if not params:
        return "*shape" if var_positional else "shape, rng"
    first = params[0].name.lower()
    if first in _KEY_NAMES and len(params) >= 2 and _shape_like(params[1].name.lower()):
        return "key, shape"
    if _shape_like(first):
        if len(params) >= 2 and (params[1].name.lower() in _RNG_NAMES or params[1].default is params[1].empty):
            return "shape, rng"
        return "shape"
    return "tensor" if len(params) == 1 else "shape, rng"


def initialiser(obj: Any, target: str, layout: str = "numpy") -> InitialiserSubject:
    if not callable(obj):
        raise TargetLoadError(f"target {target!r} is a {type(obj).__name__}, not a function init(shape, rng)")
    calling = initialiser_calling(obj)
    mapping = []
    if calling == "key, shape":
        try:
            import jax
        except ImportError as exc:
            raise TargetLoadError(f"target {target!r} takes (key, shape) like a JAX initialiser, and jax is not "
                                  "installed") from exc

        def sampler(shape, seed):
            return np.asarray(obj(jax.random.PRNGKey(seed % 2**32), shape))

        mapping.append("called as init(key, shape) with key = jax.random.PRNGKey(seed) (JAX's initialiser "
                       "protocol; its default dtype, float32 unless x64 is enabled, is read as float64)")
    else:
        def sampler(shape, seed):
            with seeded_global_generators(seed):
                if calling == "*shape":
                    return obj(*shape)
                if calling == "shape":
                    return obj(shape)
                return obj(shape, ProtocolRNG(np.random.PCG64(seed)))

        if calling == "shape, rng":
            mapping.append("rng: a numpy Generator seeded per call, which also answers RandomState's "
                           "randn/rand/randint; numpy's, Python's and torch's global generators are seeded from the "
                           "same seed during the call (and restored after), so code calling np.random.randn is "
                           "reproducible too")
        else:
            mapping.append(f"called as init({calling}) (its signature takes no generator): numpy's, Python's and "
                           "torch's global generators are seeded per call (and restored after)")
    return InitialiserSubject(
        f"numpy initialiser {_name(obj)}({calling}), {layout} layout", sampler=sampler, layout=layout,
        mapping=mapping)


# Names real layers give their parameters and buffers (PyTorch, CS231n, Keras, d2l, numpy-ml style).
_GAMMA = ("gamma", "weight", "scale")
_BETA = ("beta", "bias", "shift", "offset")
_RUNNING = {"running_mean": ("running_mean", "moving_mean", "avg_mean", "pop_mean", "population_mean"),
            "running_var": ("running_var", "moving_var", "moving_variance", "running_variance", "avg_var", "pop_var",
                            "population_var")}
_HYPER_NAMES = {"eps": ("eps", "epsilon"), "momentum": ("momentum",)}
_GRADS = {"dgamma": ("dgamma", "dweight", "dscale", "gamma_grad"), "dbeta": ("dbeta", "dbias", "dshift", "beta_grad")}


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
        self.mutations: list[str] = []
        self.g_attr = _first_attr(layer, _GAMMA) or "gamma"
        self.b_attr = _first_attr(layer, _BETA) or "beta"
        self.call = _training_call(layer, where)
        self.hyper, self.hyper_source = layer_hyperparameters(layer, passed)

    def _watched(self, where: str, name: str, fn, value, *args):
        given = np.array(value, copy=True)
        out = call_target(where, fn, given, *args)
        if not identical(given, value):
            self.mutations.append(f"{where} modified its input {name} in place")
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


def layer_hyperparameters(layer: Any, passed: dict[str, Any]) -> tuple[dict[str, tuple[Any, str]], dict[str, str]]:
    """How the layer got eps and momentum: passed to its constructor, or read back, or unknown."""
    hyper, source = {}, {}
    for name, attrs in _HYPER_NAMES.items():
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
        where = f"{_name(obj)}({num_features}{', ' + shown if shown else ''})"
        layer = call_target(where, obj, num_features, **kwargs)
        return _NumpyBatchNorm(layer, num_features, {k: values[k] for k in takes}, where)

    has_backward = not inspect.isclass(obj) or callable(getattr(obj, "backward", None))
    mapping = []
    not_taken = [k for k in ("eps", "momentum") if k not in takes]
    if not_taken:
        mapping.append(f"{_name(obj)} takes no {' or '.join(not_taken)}: read back from the layer's attribute of "
                       "that name if it has one, else the spec's value is only an assumption")
    subject = BatchNormSubject(f"numpy batch norm {_name(obj)}", mapping=mapping, factory=factory,
                               has_backward=has_backward, convention=resolved, takes=takes,
                               name=_name(obj))
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
        self.mutations: list[str] = []
        self.hyper = {"eps": (eps, "passed"), "momentum": (momentum, "passed")}
        self.hyper_source: dict[str, str] = {}

    def forward(self, x, training):
        self.bn_param["mode"] = "train" if training else "test"
        where = f"{_name(self.fwd)}(x, gamma, beta, bn_param) with mode {self.bn_param['mode']!r}"
        given = np.array(x, copy=True)
        out = call_target(where, self.fwd, given, self.gamma.copy(), self.beta.copy(), self.bn_param)
        if not identical(given, x):
            self.mutations.append(f"{where} modified its input x in place")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise ProtocolError(f"{where} returned {describe_value(out)}; expected a pair (out, cache)")
        if training:
            self.cache = out[1]
        self._seen(out[0])
        return as_array(out[0], where, shape=np.shape(x))

    def backward(self, dy):
        where = f"{_name(self.bwd)}(dout, cache)"
        if self.cache is None:
            raise ProtocolError(f"{where} needs a training-mode forward first")
        given = np.array(dy, copy=True)
        out = call_target(where, self.bwd, given, self.cache)
        if not identical(given, dy):
            self.mutations.append(f"{where} modified its input dout in place")
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
        f"CS231n's protocol: out, cache = {_name(fwd)}(x, gamma, beta, bn_param) with bn_param = {{'mode': "
        "'train' | 'test', 'eps': eps, 'momentum': momentum}; running statistics read from bn_param",
        "momentum: CS231n's running = momentum·running + (1 − momentum)·batch (Keras' form) unless --param convention",
    ]
    mapping.append(f"backward: dx, dgamma, dbeta = {_name(bwd)}(dout, cache)" if bwd is not None else
                   "no batchnorm_backward beside the forward: the backward checks are skipped")
    subject = BatchNormSubject(f"numpy batch norm functions {_name(fwd)} (CS231n's bn_param protocol)",
                               mapping=mapping, factory=factory, has_backward=bwd is not None, convention=resolved,
                               takes=frozenset({"eps", "momentum"}), name=_name(fwd))
    return subject


def newton(obj: Any, target: str) -> NewtonSubject:
    if not callable(obj):
        raise TargetLoadError(f"target {target!r} is a {type(obj).__name__}, not a function step(w, grad, hess, lr)")
    if not _takes_positional(obj, 4):
        raise TargetLoadError(f"target {target!r} does not fit the Newton protocol: {_name(obj)}"
                              f"{_signature_text(obj)} cannot be called as step(w, grad, hess, lr)")
    return NewtonSubject(f"numpy Newton step {_name(obj)}(w, grad, hess, lr)", fn=obj)


# ------------------------------------------------------------------ optimizers


class _NumpyRun(OptimizerRun):
    """A run driving a user's numpy object: it watches the arrays it passes for in-place changes.

    The caller's ``params`` may be updated in place (``params -= …``, returning
    them or ``None``): that is how much real code works, and the caller's array
    then holds the new parameters. Anything else changed in place is recorded
    in ``mutations`` (gradients given at earlier steps and kept by the
    optimizer, ``params`` left holding values other than the new parameters,
    a functional state) or, for the gradients of the current call, in
    ``grad_writes``.
    """

    mutation_note = "grads and params compared (NaN-aware) before and after every call"

    def __init__(self, where: str):
        self.where = where
        self.mutations: list[str] = []
        self.in_place = False
        self.t = 0
        self._grads: list[tuple[np.ndarray, np.ndarray]] = []

    def _watch(self, call: str, p_in: np.ndarray, p_before: np.ndarray, g_in: np.ndarray, g_before: np.ndarray,
               out_params: Any) -> None:
        self._grads = (self._grads + [(g_in, g_before)])[-16:]
        for k, (g, before) in enumerate(self._grads):
            if before is not None and not same_state(g, before):
                if g is g_in:
                    self.grad_writes = (*self.grad_writes, f"{call} modified its argument grads in place at step "
                                                           f"{self.t}")
                else:       # the optimizer's state aliases the caller's memory: a caller reusing it is corrupted
                    self.mutations.append(f"{call} modified, at step {self.t}, a gradient given at an earlier step, "
                                          "which the optimizer kept: its state aliases the caller's array (copy it)")
                self._grads[k] = (g, None)
        if not same_state(p_in, p_before):
            if out_params is None or out_params is p_in or _same_values(out_params, p_in):
                self.in_place = True
            else:
                self.mutations.append(
                    f"{call} modified its argument params in place at step {self.t}, to values other than the new "
                    "parameters it returned: a caller keeping the array holds neither the old nor the new parameters")

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

    mutation_note = _NumpyRun.mutation_note + "; the state given to update compared with a copy"

    def __init__(self, opt: Any, where: str):
        super().__init__(where)
        self.opt = opt

    def inspected(self):
        return {"its state": self.state, "the optimizer": self.opt}

    def init(self, params):
        self.params = np.array(params, copy=True)
        given = np.array(params, copy=True)
        self.state = call_target("init(params)", self.opt.init, given)
        if not same_state(given, self.params):
            self.mutations.append("init(params) modified the params it was given in place")

    def step(self, grads):
        self.t += 1
        call = "update(grads, state, params)"
        p_in, g_in = np.array(self.params, copy=True), np.array(grads, copy=True)
        p_before, g_before, s_before = p_in.copy(), g_in.copy(), snapshot(self.state)
        out = call_target(call, self.opt.update, g_in, self.state, p_in)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise ProtocolError(f"{call} returned {describe_value(out)}; expected a pair (new_params, new_state)")
        self._watch(call, p_in, p_before, g_in, g_before, out[0])
        if not same_state(self.state, s_before):
            self.mutations.append(
                f"{call} modified the state it was given in place at step {self.t}: a functional optimizer must "
                "return a new state (reusing an old state, e.g. to retry a step, would silently use the modified one)")
        self.params = self._new_params(out[0], f"{call}[0] (new params)", self.params.shape)
        self.state = out[1]
        return np.array(self.params, copy=True)


class _StatefulRun(_NumpyRun):
    """``step(params, grads) -> new_params`` (also named ``update`` or ``__call__``; or Keras'
    ``apply_gradients([(grads, params)])``) with the state kept inside the object.

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

    def step(self, grads):
        self.t += 1
        call = self._call_text()
        p_in = self._live if self._live is not None else np.array(self.params, copy=True)
        g_in = np.array(grads, copy=True)
        p_before, g_before = p_in.copy(), g_in.copy()
        fn = getattr(self.opt, self.method)
        if self.method == "apply_gradients":
            out = call_target(call, fn, [(g_in, p_in)])
            out = None                  # Keras returns an operation or the iteration count, not parameters
            held = p_in
        elif self.container == "array":
            out = call_target(call, fn, p_in, g_in)
            held = p_in
        else:
            box = self._box if self._box is not None else ({} if self.container == "dict" else [None])
            box[_KEY if self.container == "dict" else 0] = p_in
            grads_box = {_KEY: g_in} if self.container == "dict" else [g_in]
            out = call_target(call, fn, box, grads_box)
            if isinstance(out, Mapping) and self.container == "dict":
                out = out.get(_KEY)
            elif isinstance(out, (list, tuple)) and self.container == "list" and len(out) == 1:
                out = out[0]
            held = box[_KEY if self.container == "dict" else 0]    # rebinding the entry counts
            self._box = box
            if out is None and held is not p_in:
                out = held
        if out is None and not self.in_place and same_state(p_in, p_before) and np.any(g_before != 0):
            raise ProtocolError(f"{call} returned None and left the params it was given unchanged; the stateful "
                                "protocol returns the new parameters (or updates params in place)")
        self._watch(call, p_in, p_before, g_in, g_before, out)
        new = p_in if out is None else out
        self.params = self._new_params(new, call, self.params.shape)
        kept = held if self.container != "array" else p_in
        self._live = kept if (out is None or out is kept) and isinstance(kept, np.ndarray) else None
        return np.array(self.params, copy=True)


#: The key a dict of parameters is given under (and its gradient: the same key, as the classes iterate
#: ``params.keys()`` and read ``grads[key]``).
_KEY = "W1"


class _NamedRun(_StatefulRun):
    """numpy-ml's ``update(param, param_grad, param_name)``: state kept per parameter name (one name here)."""

    def step(self, grads):
        self.t += 1
        call = f"{self.method}(param, param_grad, 'w')"
        p_in, g_in = np.array(self.params, copy=True), np.array(grads, copy=True)
        p_before, g_before = p_in.copy(), g_in.copy()
        out = call_target(call, getattr(self.opt, self.method), p_in, g_in, "w")
        self._watch(call, p_in, p_before, g_in, g_before, out)
        self.params = self._new_params(p_in if out is None else out, call, self.params.shape)
        return np.array(self.params, copy=True)


class _LayerRun(_NumpyRun):
    """'Neural Networks from Scratch' optimizers: ``pre_update_params()``, ``update_params(layer)``,
    ``post_update_params()``, updating ``layer.weights`` in place from ``layer.dweights`` (and the biases,
    given here as a zero-gradient parameter of their own)."""

    mutation_note = "layer.dweights compared (NaN-aware) before and after every update; weights are updated in place"

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

    def step(self, grads):
        self.t += 1
        g_in = np.array(grads, copy=True)
        g_before = g_in.copy()
        self.layer.dweights = g_in
        for name in ("pre_update_params", "update_params", "post_update_params"):
            method = getattr(self.opt, name, None)
            if callable(method):
                call_target(f"{name}({'layer' if name == 'update_params' else ''})", method,
                            *((self.layer,) if name == "update_params" else ()))
        new = getattr(self.layer, "weights", None)
        self._watch("update_params(layer)", new, new, g_in, g_before, None)   # the weights change by design
        self.in_place = True
        self.layer.weights = self._new_params(new, "layer.weights after update_params(layer)", self.shape)
        return np.array(self.layer.weights, copy=True)


class _ConfigRun(_NumpyRun):
    """``f(w, dw, config) -> (next_w, config)`` (CS231n's ``optim.py``): the config dict carries the state."""

    mutation_note = _NumpyRun.mutation_note + " (the config dict is the state: it may be updated in place)"

    def __init__(self, fn: Callable, config: Mapping[str, Any], where: str):
        super().__init__(where)
        self.fn = fn
        self.config0 = dict(config)

    def inspected(self):
        return {"its config": self.config}

    def init(self, params):
        self.params = np.array(params, copy=True)
        self.config = copy.deepcopy(self.config0)

    def step(self, grads):
        self.t += 1
        call = f"{self.where}(w, dw, config)"
        p_in, g_in = np.array(self.params, copy=True), np.array(grads, copy=True)
        p_before, g_before = p_in.copy(), g_in.copy()
        out = call_target(call, self.fn, p_in, g_in, self.config)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise ProtocolError(f"{call} returned {describe_value(out)}; expected a pair (next_w, config)")
        self._watch(call, p_in, p_before, g_in, g_before, out[0])
        self.params = self._new_params(out[0], f"{call}[0] (next_w)", self.params.shape)
        if out[1] is not None:
            self.config = out[1]
        return np.array(self.params, copy=True)


# ---------------------------------------------- optimizers that own their parameters


#: Names of a constructor's first parameter that receives the parameters it will own (``SGD(params, lr)``,
#: ``Adam(model_params, …)``, ``Optimizer(parameters)``, tinygrad's ``params: list[Tensor]``).
_OWNED_SLOT = re.compile(r"([a-z]+_)?(params?|parameters?)(_(list|group|groups))?|model|net|network|module")


class _ParameterList(list):
    """The list of parameters an optimizer owning them receives; code written for a model
    (``Opt(model, lr)`` reading ``model.parameters()``) gets the same list from ``parameters()``."""

    def parameters(self) -> "_ParameterList":
        return self


def _owned_slot(plan: KeywordPlan) -> str | None:
    """The constructor's parameter that receives the parameters the optimizer will own, or ``None``: its first
    required parameter the protocol cannot give, when it is named like ``params`` (or ``model``, whose
    ``parameters()`` the optimizer then reads)."""
    first = plan.required[0] if plan.required else None
    return first if first is not None and _OWNED_SLOT.fullmatch(first) else None


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
_OWNED_STYLES = {
    "objects": "objects holding float64 arrays, one per tensor, with the gradient set as p.grad before each "
               "step()",
    "scalars": "micrograd-style scalar objects, one per entry, their .data and .grad Python floats, the gradient "
               "set as p.grad before each step()",
    "arrays": "plain float64 arrays, one per tensor, the gradients given as a list to step(grads)",
}


class _OwnedRun(OptimizerRun):
    """An optimizer built with the parameters it owns (``opt = SGD(params, lr=…)``), then stepped as a training loop
    does: set every ``p.grad`` (or pass the gradients to ``step(grads)``), call ``step()``, read the parameters
    back. The verifier's flat parameter vector is split into several tensors of different shapes
    (:func:`~verify.adapters.mapping.parameter_shapes`), one parameter each, so state shared between parameters
    shows. ``zero_grad`` is never called: each step sets fresh gradients, which is what it and backward leave."""

    mutation_note = ("every gradient array given (p.grad, or step's grads) compared before and after the step, "
                     "NaN-aware, zeroing it (as zero_grad does) left unreported; the parameters are the optimizer's "
                     "to update")

    def __init__(self, construct: Callable[[list], tuple[Any, str]], style: str):
        self.construct, self.style = construct, style
        self.mutations: list[str] = []
        self.changed = False                 # whether any step changed a parameter (the probe requires it)
        self.used: set[str] = set()

    def inspected(self):
        return {"the optimizer": self.opt, "the parameters": [self._value(i) for i in range(len(self.shapes))]}

    def init(self, params):
        p = np.array(params, dtype=np.float64, copy=True)
        self.shape = p.shape
        self.shapes = [()] * p.size if self.style == "scalars" else parameter_shapes(p.shape)
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

    def step(self, grads):
        chunks = split_flat(np.asarray(grads, dtype=np.float64).reshape(-1), self.shapes)
        before = [np.array(self._value(i), dtype=np.float64, copy=True) for i in range(len(self.shapes))]
        fn = getattr(self.opt, self.method)
        given = [c.copy() for c in chunks]
        if self.style == "arrays":
            call_target(f"{self.method}(grads)", fn, given)
        else:
            for p, g in zip(self.given, given):
                p._verify_grad = g if self.style == "objects" else float(g)
            call_target(f"{self.method}()", fn)
            for p in self.given:
                self.used |= p._verify_used
        for i, (g, c) in enumerate(zip(given, chunks)):
            if self.style != "scalars" and not same_state(g, c) and np.any(g != 0):
                where = f"p.grad of parameter {i}" if self.style == "objects" else f"grads[{i}]"
                self.grad_writes = (*self.grad_writes, f"{self.method}() modified {where} in place")
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


def _owned_style(make_run: Callable[[str], _OwnedRun], shown: str, slot: str) -> tuple[str, list[str]]:
    """How to hand an optimizer that owns its parameters their values (a key of :data:`_OWNED_STYLES`) and the
    report's lines: the first style that goes through the probe stream and changes the parameters.

    None going through: a style the target does not read (an attribute error, no step method, parameters left
    unchanged — it updates something the verifier cannot see) is refused, exit status 2; a target that
    fails otherwise (a crash in its arithmetic) is left to the checks, which report it.
    """
    tried = []
    for style in _OWNED_STYLES:
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
            f"of {_OWNED_STYLES[style]}{attrs}; after each {run.method}() the new values are read back from the "
            "parameters (updated in place or rebound); zero_grad is never called (fresh gradients are set each step)",
            *(f"not as {s}: {w}" for s, w, kind in tried if kind != "method")]
    if all(kind != "crash" for _, _, kind in tried):
        raise TargetLoadError(
            f"{shown} takes its parameters ({slot}) but runs on none of the shapes the verifier gives them: "
            + "; ".join(f"as {s}: {w}" for s, w, _ in tried)
            + ". Expected a list of parameters with .data and .grad (also .value/.gradient), stepped by step() "
              "(or step(grads) with plain arrays), updating .data in place or rebinding it; see docs/protocols.md")
    return "objects", [f"an optimizer that owns its parameters: {shown}({slot}, **hyperparameters), built with "
                       f"{slot} a list of {_OWNED_STYLES['objects']}; it failed on the probe stream "
                       f"({tried[0][1]}): the checks report it"]


def _run_for(opt: Any, where: str, container: str = "array", in_place: bool = False) -> OptimizerRun:
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
        return _StatefulRun(opt, "step", where, container, in_place)
    update = getattr(opt, "update", None)
    if callable(update) and positional_arity(update) == 2:
        return _StatefulRun(opt, "update", where, container, in_place)
    if callable(update) and _names_a_parameter(update):
        return _NamedRun(opt, "update", where)
    if callable(getattr(opt, "update_params", None)) and positional_arity(opt.update_params) == 1:
        return _LayerRun(opt, where)
    if callable(getattr(opt, "apply_gradients", None)) and positional_arity(opt.apply_gradients) == 1:
        return _StatefulRun(opt, "apply_gradients", where, in_place=in_place)
    if not inspect.isroutine(opt) and not inspect.isclass(opt) and callable(opt) and \
            positional_arity(type(opt).__call__) == 3:          # self, params, grads
        return _StatefulRun(opt, "__call__", where, container, in_place)
    if callable(getattr(opt, "step", None)) and _required_positional(opt.step) == 0:
        raise ProtocolError(
            f"{where} is an optimizer that owns its parameters (step() takes no arguments): give its class or "
            "factory, whose first parameter receives the parameters (named params or parameters), so the verifier "
            "builds it with parameters of its own; see docs/protocols.md")
    raise ProtocolError(
        f"{where} returned {describe_value(opt)}, which has none of the shapes the optimizer protocol drives: "
        "init/update (functional), step(params, grads), update(params, grads) or __call__(params, grads) "
        "(stateful), update(param, grad, name) (numpy-ml), update_params(layer) (Neural Networks from Scratch), "
        "apply_gradients(grads_and_vars) (Keras); see docs/protocols.md"
    )


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
    if not isinstance(first, _StatefulRun):
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


def _names_a_parameter(method: Callable) -> bool:
    """``update(param, param_grad, param_name, …)``: a third required positional parameter naming the parameter."""
    try:
        params = [p for p in inspect.signature(method).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    required = [p for p in params if p.default is p.empty]
    return len(required) == 3 and "name" in required[2].name


# What an optimizer built beforehand looks like; what a config-dict function's third parameter is called.
_OPTIMIZER_METHODS = ("step", "update", "init", "update_params")
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
    shown = _name(fn)
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
                                  f"hyperparameters it reads, raised {type(exc.exc).__name__}: {exc.exc}") from None
    used = {keys[k]: k for k in rec.read if k in keys}
    own = {keys[k]: v for k, v in rec.read.items() if k in keys and isinstance(v, (int, float))}

    def factory(**hparams: Any) -> OptimizerRun:
        config = {key: hparams[n] for n, key in used.items() if n in hparams}
        return _ConfigRun(fn, config, shown)

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
    shown = _name(obj.func if isinstance(obj, functools.partial) else obj)
    plan: KeywordPlan | None = keyword_plan(obj, spec) if spec is not None and spec.params else None
    if plan is None:
        def plain(**hparams):
            opt, where = _construct(obj, shown, dict(hparams))
            return _run_for(opt, where)

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
            return _OwnedRun(lambda given: _construct(obj, shown, plan.kwargs(hparams, extra), (slot, given)),
                             owned_as["style"])
        opt, where = _construct(obj, shown, plan.kwargs(hparams, extra))
        return _run_for(opt, where, **given_as)

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
            lambda style: _OwnedRun(lambda given: _construct(obj, shown, plan.kwargs(hp), (slot, given)), style),
            shown, slot)
        lines += owned_lines
    else:
        _unrecognised(lambda: build(dict(hp)))

        def with_container(container: str) -> OptimizerRun:
            opt, where = _construct(obj, shown, plan.kwargs(hp))
            return _run_for(opt, where, container)

        given_as["container"], given_as["in_place"], container_lines = _shape_of_params(with_container, shown)
        lines += container_lines
    # Offer what the signature does not name through **kwargs (when the target accepts it), then see which
    # hyperparameters, named or offered, actually change the iterates: the others are held.
    extra: set[str] = set()
    untaken = [p.name for p in spec.params if p.to_target and p.name not in plan.takes() and p.name not in found]
    if plan.var_kw and untaken:
        extra = set(untaken) if _accepts(lambda: build(dict(hp), set(untaken))) else set()
        if not extra:
            lines.append(f"not passed through **kwargs: {', '.join(untaken)} (the target raised when given them)")
    # A named hyperparameter whose default switches its feature off (weight_decay = 0) and which changes
    # nothing is a feature the code does not have: held there. Others stay varied, so ignoring them fails.
    off_by_default = {p.name for p in spec.params if p.default == 0}
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
    if isinstance(run, _OwnedRun):          # built with the parameters it owns, at init
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
    _unrecognised(lambda: _run_for(copy.deepcopy(pristine), shown))
    container, in_place, container_lines = _shape_of_params(
        lambda c: _run_for(copy.deepcopy(pristine), f"{shown} (a copy)", c), shown)

    def factory(**hparams: Any) -> OptimizerRun:
        return _run_for(copy.deepcopy(pristine), f"{shown} (a copy)", container, in_place)

    lines = [f"a built {type(obj).__name__} object ({kind}): every run drives a fresh copy.deepcopy of it as loaded; "
             "its hyperparameters are its own, held fixed (checks that need other values are skipped)",
             *container_lines]
    return OptimizerSubject(f"numpy optimizer {shown} (a built {type(obj).__name__}; a fresh copy per run)",
                            mapping=lines, factory=factory, takes=frozenset(), found=found, name=shown, built=True)
