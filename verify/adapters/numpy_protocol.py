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
  keywords, returning an object with ``init(params)`` and
  ``update(grads, state, params) -> (new_params, state)``, or with
  ``step(params, grads) -> new_params``.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from verify.adapters.base import (
    BatchNormInstance,
    BatchNormSubject,
    InitialiserSubject,
    NewtonSubject,
    OptimizerRun,
    OptimizerSubject,
    RegulariserSubject,
    as_array,
    call_target,
    describe_value,
)
from verify.errors import ProtocolError, TargetError, TargetLoadError

__all__ = [
    "REGULARISER_ROLES",
    "regulariser",
    "initialiser",
    "batchnorm",
    "newton",
    "optimizer",
    "positional_arity",
]

REGULARISER_ROLES = ("penalty", "grad", "step", "prox_step")


def _name(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__


def regulariser(obj: Any, target: str) -> RegulariserSubject:
    if inspect.isfunction(obj) or inspect.isbuiltin(obj) or isinstance(obj, np.ufunc) or (
        callable(obj) and not inspect.isclass(obj) and not inspect.ismodule(obj)
        and not any(callable(getattr(obj, r, None)) for r in REGULARISER_ROLES)
    ):
        return RegulariserSubject(f"numpy regulariser: grad(w, lam) = {_name(obj)}", fns={"grad": obj})
    fns = {r: getattr(obj, r) for r in REGULARISER_ROLES if callable(getattr(obj, r, None))}
    if not fns:
        raise TargetLoadError(
            f"target {target!r} is a {type(obj).__name__} providing none of "
            f"{', '.join(REGULARISER_ROLES)} (the regulariser protocol)"
        )
    return RegulariserSubject(f"numpy regulariser providing {', '.join(fns)}", fns=fns)


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


def initialiser(obj: Any, target: str, layout: str = "numpy") -> InitialiserSubject:
    if not callable(obj):
        raise TargetLoadError(f"target {target!r} is a {type(obj).__name__}, not a function init(shape, rng)")

    def sampler(shape, seed):
        return obj(shape, np.random.default_rng(seed))

    return InitialiserSubject(f"numpy initialiser {_name(obj)}(shape, rng), {layout} layout",
                              sampler=sampler, layout=layout)


class _NumpyBatchNorm(BatchNormInstance):
    def __init__(self, layer: Any):
        self.layer = layer
        self.mutations: list[str] = []
        self.g_attr = "gamma" if hasattr(layer, "gamma") else "weight"
        self.b_attr = "beta" if hasattr(layer, "beta") else "bias"

    def _watched(self, where: str, name: str, fn, value, **kwargs):
        given = np.array(value, copy=True)
        out = call_target(where, fn, given, **kwargs)
        if not np.array_equal(given, value, equal_nan=True):
            self.mutations.append(f"{where} modified its input {name} in place")
        return out

    def forward(self, x, training):
        where = f"forward(x, training={training})"
        out = self._watched(where, "x", self.layer.forward, x, training=training)
        return as_array(out, where, shape=np.shape(x))

    def backward(self, dy):
        where = "backward(dy)"
        out = self._watched(where, "dy", self.layer.backward, dy)
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            raise ProtocolError(f"{where} returned {describe_value(out)}; expected a tuple (dx, dgamma, dbeta)")
        c = np.shape(dy)[1]
        return (as_array(out[0], f"{where}[0] (dx)", shape=np.shape(dy)),
                as_array(out[1], f"{where}[1] (dgamma)", shape=(c,)),
                as_array(out[2], f"{where}[2] (dbeta)", shape=(c,)))

    def set_affine(self, gamma, beta):
        for attr, value in ((self.g_attr, gamma), (self.b_attr, beta)):
            if not hasattr(self.layer, attr):
                raise ProtocolError(f"the batch-norm layer has no attribute {attr!r} to set γ/β")
            setattr(self.layer, attr, np.array(value, dtype=np.float64, copy=True))

    def running(self):
        c = len(np.atleast_1d(getattr(self.layer, self.g_attr, [])))
        out = []
        for attr in ("running_mean", "running_var"):
            if not hasattr(self.layer, attr):
                raise ProtocolError(f"the batch-norm layer has no attribute {attr!r}")
            out.append(as_array(getattr(self.layer, attr), attr, shape=(c,) if c else None))
        return out[0], out[1]


def batchnorm(obj: Any, target: str) -> BatchNormSubject:
    if not callable(obj):
        raise TargetLoadError(f"target {target!r} is a {type(obj).__name__}, not a batch-norm class")

    def factory(num_features, eps, momentum):
        where = f"{_name(obj)}({num_features}, eps={eps}, momentum={momentum})"
        layer = call_target(where, obj, num_features, eps=eps, momentum=momentum)
        if not callable(getattr(layer, "forward", None)):
            raise ProtocolError(f"{where} returned {describe_value(layer)} without a forward(x, training) method")
        return _NumpyBatchNorm(layer)

    has_backward = not inspect.isclass(obj) or callable(getattr(obj, "backward", None))
    return BatchNormSubject(f"numpy batch norm {_name(obj)}", factory=factory, has_backward=has_backward)


def newton(obj: Any, target: str) -> NewtonSubject:
    if not callable(obj):
        raise TargetLoadError(f"target {target!r} is a {type(obj).__name__}, not a function step(w, grad, hess, lr)")
    return NewtonSubject(f"numpy Newton step {_name(obj)}(w, grad, hess, lr)", fn=obj)


class _FunctionalRun(OptimizerRun):
    """``init(params) -> state``; ``update(grads, state, params) -> (new_params, state)``."""

    def __init__(self, opt: Any):
        self.opt = opt

    def user_object(self):
        return "functional", self.opt

    def init(self, params):
        self.params = np.array(params, copy=True)
        self.state = call_target("init(params)", self.opt.init, np.array(params, copy=True))

    def step(self, grads):
        where = "update(grads, state, params)"
        out = call_target(where, self.opt.update, np.array(grads, copy=True), self.state,
                          np.array(self.params, copy=True))
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise ProtocolError(f"{where} returned {describe_value(out)}; expected a pair (new_params, new_state)")
        self.params = as_array(out[0], f"{where}[0] (new params)", shape=self.params.shape)
        self.state = out[1]
        return np.array(self.params, copy=True)


class _StatefulRun(OptimizerRun):
    """``step(params, grads) -> new_params`` with the state kept inside the object."""

    def __init__(self, opt: Any):
        self.opt = opt

    def user_object(self):
        return "stateful", self.opt

    def init(self, params):
        self.params = np.array(params, copy=True)

    def step(self, grads):
        where = "step(params, grads)"
        out = call_target(where, self.opt.step, np.array(self.params, copy=True), np.array(grads, copy=True))
        if out is None:
            raise ProtocolError(f"{where} returned None; the stateful protocol returns the new parameters")
        self.params = as_array(out, where, shape=self.params.shape)
        return np.array(self.params, copy=True)


def optimizer(obj: Any, target: str) -> OptimizerSubject:
    if not callable(obj):
        raise TargetLoadError(
            f"target {target!r} is a {type(obj).__name__}; the optimizer protocol needs a factory or class "
            "called with the spec's hyperparameters"
        )

    def factory(**hparams):
        shown = ", ".join(f"{k}={v!r}" for k, v in hparams.items())
        where = f"{_name(obj)}({shown})"
        from verify.adapters import optax_adapter   # imports neither jax nor optax

        optax_adapter.enable_x64_if_loaded()
        try:
            opt = call_target(where, obj, **hparams)
        except TargetError as exc:
            if isinstance(exc.exc, TypeError) and "argument" in str(exc.exc):
                names = ", ".join(hparams) or "none"
                raise TargetError(f"{where} (the optimizer protocol passes the spec's hyperparameters as keywords: "
                                  f"{names})", exc.exc) from exc.exc
            raise
        if optax_adapter.is_gradient_transformation(opt):
            return optax_adapter.run_for(opt, where)
        if callable(getattr(opt, "init", None)) and callable(getattr(opt, "update", None)):
            return _FunctionalRun(opt)
        if callable(getattr(opt, "step", None)):
            return _StatefulRun(opt)
        raise ProtocolError(
            f"{where} returned {describe_value(opt)}, which has neither init/update (functional protocol) "
            "nor step(params, grads) (stateful protocol)"
        )

    return OptimizerSubject(f"numpy optimizer {_name(obj)}(**hyperparameters)", factory=factory)
