"""The numpy gradient-clipping protocol: ``clip(grads, max_norm)`` as people write it.

``grads`` is a list of arrays (a dict of them, ``{'W1': …, 'b1': …}``, for a function that takes its gradients
as CS231n-style dicts: tried when a list is refused). The function may return

* the clipped gradients (a list, tuple or dict),
* ``(clipped, total_norm)``,
* nothing, or the total norm alone, having scaled the arrays it was given in place (as ``clip_grad_norm_`` does).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from verify.adapters.base import (
    Clipped,
    ClipSubject,
    InputRecord,
    Request,
    as_array,
    as_scalar,
    describe_value,
    watched_call,
)
from verify.errors import ProtocolError, TargetError, TargetLoadError
from verify.specs.base import Family

__all__ = ["claim", "clipping"]

_WHERE = "clip(grads, max_norm)"


def claim(request: Request) -> ClipSubject | None:
    if request.family is not Family.CLIPPING:
        return None
    return clipping(request.obj, request.target)


def _is_number(x: Any) -> bool:
    if isinstance(x, (numbers.Real, np.floating, np.integer)) and not isinstance(x, bool):
        return True
    return np.ndim(x) == 0 and hasattr(x, "dtype") if not isinstance(x, (list, tuple, dict)) else False


def _read(out: Any, given: Any, keys: list[str] | None) -> Clipped:
    """The clipped gradients and the norm from what the function returned (or left in the arrays it was given)."""
    norm = None
    if out is None:
        raw = given
    elif _is_number(out):
        raw, norm = given, as_scalar(out, f"{_WHERE}'s total norm")
    elif isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], (list, tuple, dict)) and _is_number(out[1]):
        raw, norm = out[0], as_scalar(out[1], f"{_WHERE}'s total norm")
    elif isinstance(out, (list, tuple, dict)):
        raw = out
    else:
        raise ProtocolError(f"{_WHERE} returned {describe_value(out)}; expected the clipped gradients, "
                            "(clipped, total_norm), the total norm or None (clipped in place)")
    if isinstance(raw, dict):
        if keys is None or set(raw) != set(keys):
            raise ProtocolError(f"{_WHERE} returned a dict with keys {sorted(map(str, raw))}; it was given "
                                f"{'a list' if keys is None else sorted(keys)}")
        raw = [raw[k] for k in keys]
    return Clipped([as_array(g, f"{_WHERE}'s gradient {i}") for i, g in enumerate(raw)], norm)


def clipping(fn: Any, target: str) -> ClipSubject:
    """The subject for a numpy function ``fn(grads, max_norm)``."""
    if not callable(fn):
        raise TargetLoadError(f"target {target!r} ({describe_value(fn)}) is not callable: the grad-clip-norm protocol "
                              "is a function clip(grads, max_norm)")
    name = getattr(fn, "__name__", None) or type(fn).__name__
    record = InputRecord("the gradients given compared before and after every call (scaling them in place is the "
                         "protocol of a function that returns nothing or the norm)")
    shape = {"container": "list"}

    def call(grads: list[np.ndarray], max_norm: float) -> Clipped:
        keys = None
        if shape["container"] == "dict":
            keys = [f"W{i + 1}" for i in range(len(grads))]
            given: Any = dict(zip(keys, grads))
        else:
            given = list(grads)
        try:
            out = watched_call(record, _WHERE, fn, given, max_norm, watched={"grads": given})
        except TargetError as exc:
            if shape["container"] == "list" and isinstance(exc.exc, (AttributeError, TypeError)) and \
                    any(w in str(exc.exc) for w in ("items", "values", "keys", "indices must be", "str")):
                shape["container"] = "dict"          # a function of a dict of gradients: asked again
                return call(grads, max_norm)
            raise
        if isinstance(given, dict):
            clipped = _read(out, given, keys)
        else:
            clipped = _read(out, given, None)
        if record.last and out is not None and not _is_number(out):
            record.note(f"{_WHERE} scaled the gradients it was given in place and also returned them")
        return clipped

    return ClipSubject(f"numpy gradient clipping {name}(grads, max_norm)",
                       mapping=["grads: a list of float64 arrays of several shapes (a dict {'W1': …} for a function "
                                "of a dict); what it returns, or the arrays scaled in place"],
                       call=call, takes=frozenset({"max_norm"}), name=name, inputs=record)
