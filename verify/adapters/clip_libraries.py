"""Gradient clipping of PyTorch and optax: ``torch.nn.utils.clip_grad_norm_`` and ``optax.clip_by_global_norm``.

* torch: the gradients are set as ``p.grad`` of float64 parameters (one per array), the function is called as
  ``clip_grad_norm_(params, max_norm)`` (a ``functools.partial`` may bind ``foreach=`` or ``norm_type=``), the
  clipped gradients read back from ``p.grad`` and the returned total norm kept. ``clip_grad_norm`` (deprecated) and
  ``clip_grads_with_norm_`` are not this protocol.
* optax: a factory ``clip_by_global_norm(max_norm)`` (or a transformation built with one), driven as
  ``tx.update(grads, tx.init(grads))`` with ``grads`` a list of float64 jax arrays (a pytree).

Neither library is imported unless the object is its own (:func:`verify.adapters.torch_adapter.is_torch_object`,
:func:`verify.adapters.optax_adapter.is_optax_object`).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from verify.adapters.base import Clipped, ClipSubject, InputRecord, Request, as_array, as_scalar, call_target, \
    describe_value, reads, watched_call
from verify.errors import TargetLoadError
from verify.specs.base import Family, Held

__all__ = ["claim_torch", "claim_optax"]


def _inner(obj: Any) -> Any:
    return obj.func if isinstance(obj, functools.partial) else obj


def claim_torch(request: Request) -> ClipSubject | None:
    from verify.adapters.torch_adapter import is_torch_object, require_torch

    if request.family is not Family.CLIPPING or not is_torch_object(_inner(request.obj)):
        return None
    torch = require_torch()
    fn = request.obj
    name = getattr(_inner(fn), "__name__", "function")
    if _inner(fn) is not torch.nn.utils.clip_grad_norm_:
        raise TargetLoadError(f"{request.target!r} is torch's {name}, not torch.nn.utils.clip_grad_norm_: the only "
                              "torch function checked under grad-clip-norm")
    bound = dict(fn.keywords) if isinstance(fn, functools.partial) else {}
    record = InputRecord("p.grad of every parameter compared before and after the call (clip_grad_norm_ scales it "
                         "in place: its protocol)")

    def call(grads: list[np.ndarray], max_norm: float) -> Clipped:
        params = []
        for g in grads:
            p = torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64))
            p.grad = torch.tensor(g, dtype=torch.float64)
            params.append(p)
        watched = {f"p.grad of parameter {i}": reads(lambda p=p: p.grad) for i, p in enumerate(params)}
        norm = watched_call(record, "clip_grad_norm_(params, max_norm)", fn, params, max_norm, watched=watched)
        return Clipped([as_array(p.grad, f"p.grad of parameter {i} after clip_grad_norm_")
                        for i, p in enumerate(params)], as_scalar(norm, "clip_grad_norm_'s total norm"))

    call_text = ", ".join(["params", "max_norm"] + [f"{k}={v!r}" for k, v in bound.items()])
    return ClipSubject(f"torch.nn.utils.clip_grad_norm_ (float64 parameters, p.grad clipped in place)",
                       mapping=[f"clip_grad_norm_({call_text}): each array of grads is p.grad of a float64 parameter; "
                                "the clipped gradients are read back from p.grad, the total norm is what it returns",
                                "torch's convention: c = min(max_norm/(n + 1e-6), 1)"],
                       library="torch", call=call, returns_norm=True, takes=frozenset({"max_norm"}),
                       found={"convention": Held("pytorch", "read", "torch's only convention: the library has no "
                                                                      "keyword for it")},
                       name="clip_grad_norm_", inputs=record)


def _closure_max_norm(tx: Any) -> float | None:
    """The ``max_norm`` a built ``clip_by_global_norm`` transformation closes over (optax 0.2's ``update_fn``)."""
    update = getattr(tx, "update", None)
    names, cells = getattr(getattr(update, "__code__", None), "co_freevars", ()), getattr(update, "__closure__", None)
    for name, cell in zip(names, cells or ()):
        if name == "max_norm":
            try:
                value = float(cell.cell_contents)
            except (TypeError, ValueError):
                return None
            return value if value > 0 else None
    return None


def claim_optax(request: Request) -> ClipSubject | None:
    from verify.adapters.optax_adapter import is_optax_object, require_optax

    if request.family is not Family.CLIPPING or not is_optax_object(_inner(request.obj)):
        return None
    _, jnp, optax = require_optax()
    obj = request.obj
    built = hasattr(obj, "init") and hasattr(obj, "update")
    if not built and _inner(obj) is not optax.clip_by_global_norm:
        raise TargetLoadError(f"{request.target!r} ({describe_value(obj)}) is not optax.clip_by_global_norm or a "
                              "transformation built with it")
    record = InputRecord("jax arrays are immutable: a transformation cannot modify its inputs")

    def call(grads: list[np.ndarray], max_norm: float) -> Clipped:
        tx = obj if built else call_target(f"clip_by_global_norm({max_norm!r})", obj, max_norm)
        tree = [jnp.asarray(g, dtype=jnp.float64) for g in grads]
        state = call_target("tx.init(grads)", tx.init, tree)
        out, _ = call_target("tx.update(grads, state)", tx.update, tree, state)
        if not isinstance(out, (list, tuple)) or len(out) != len(grads):
            raise TargetLoadError(f"tx.update returned {describe_value(out)} for a list of {len(grads)} arrays")
        return Clipped([as_array(u, f"tx.update's update {i}") for i, u in enumerate(out)], None)

    found = {"convention": Held("optax", "read", "optax's only convention: the library has no keyword for it")}
    read = _closure_max_norm(obj) if built else None
    if read is not None:
        found["max_norm"] = Held(read, "read", "the transformation's update closure (max_norm)")
    lines = ["grads: a list (pytree) of float64 jax arrays (64-bit mode); updates, _ = tx.update(grads, tx.init(grads))",
             "optax's convention: unchanged if n < max_norm, else g·max_norm/n (no ε)"]
    assumed = built and read is None          # a built one whose max_norm is unknown: assumed to be the spec's
    if assumed:
        lines.insert(0, "a built transformation whose max_norm cannot be read back: the run assumes the spec's value")
    return ClipSubject(f"optax gradient clipping {'(a built transformation)' if built else 'clip_by_global_norm'}",
                       mapping=[("clip_by_global_norm(max_norm)" if not built else "tx (built)")] + lines,
                       library="optax", call=call,
                       takes=frozenset() if (built or read is not None) else frozenset({"max_norm"}),
                       found=found, built=assumed, name="clip_by_global_norm", inputs=record)
