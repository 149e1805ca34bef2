"""The regulariser protocol (``l1``, ``l2``): a function ``grad(w, lam)``, or an object or module with any of
``penalty(w, lam)``, ``grad(w, lam)``, ``step(w, g, lr, lam)``, ``prox_step(w, g, lr, lam)``; or a class built
with its strength, ``R(lam)``, whose instances are the penalty and have ``grad(w)``."""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from verify.adapters.base import RegulariserSubject, Request
from verify.adapters.protocol._common import (
    name_of,
    positional_arity,
    positional_parameters,
    signature_text,
    takes_positional,
)
from verify.errors import TargetLoadError

__all__ = ["REGULARISER_ROLES", "regulariser", "claim"]

REGULARISER_ROLES = ("penalty", "grad", "step", "prox_step")


def name_of(obj: Any) -> str:
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
    return name.rsplit("<locals>.", 1)[-1]      # a function defined inside another: its own name


def regulariser(obj: Any, target: str) -> RegulariserSubject:
    if inspect.isfunction(obj) or inspect.isbuiltin(obj) or isinstance(obj, np.ufunc) or (
        callable(obj) and not inspect.isclass(obj) and not inspect.ismodule(obj)
        and not any(callable(getattr(obj, r, None)) for r in REGULARISER_ROLES)
    ):
        return RegulariserSubject(f"numpy regulariser: grad(w, lam) = {name_of(obj)}", fns={"grad": obj})
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
    misfits = {r: fn for r, fn in fns.items() if not takes_positional(fn, calls[r].count(",") + 1)}
    if len(misfits) == len(fns):
        role, fn = next(iter(misfits.items()))
        raise TargetLoadError(f"target {target!r} does not fit the regulariser protocol: {name_of(fn)}"
                              f"{signature_text(fn)} cannot be called as {calls[role]}")
    fns = {r: fn for r, fn in fns.items() if r not in misfits}
    mapping = [f"{name_of(fn)}{signature_text(fn)} is not the protocol's {calls[r]}: not used" for r, fn in misfits.items()]
    return RegulariserSubject(f"numpy regulariser providing {', '.join(fns)}", fns=fns, mapping=mapping)


_STRENGTH_NAMES = ("lam", "lambd", "lmbda", "lambda_", "alpha", "l1", "l2", "reg", "strength", "weight_decay")


def _built_with_strength(cls: Any) -> RegulariserSubject | None:
    """A regulariser class built with its strength, ``R(lam)``, whose instances are the penalty and have
    ``grad(w)`` (ML-From-Scratch's ``l2_regularization(alpha)``, Keras' ``L2(l2)``): ``None`` for any other."""
    if not inspect.isclass(cls):
        return None
    read = positional_parameters(cls)
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



def claim(request: Request) -> RegulariserSubject:
    """The fallback for regularisers: every object is held to this protocol (refused with the reason if it does not
    fit)."""
    return regulariser(request.obj, request.target)
