"""Helpers the numpy protocols share: names and signatures of users' functions."""

from __future__ import annotations

import inspect
from typing import Any, Callable


def name_of(obj: Any) -> str:
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
    return name.rsplit("<locals>.", 1)[-1]      # a function defined inside another: its own name


def takes_positional(fn: Callable, n: int) -> bool:
    """Whether ``fn`` can be called with ``n`` positional arguments (``True`` where its signature is unreadable)."""
    try:
        inspect.signature(fn).bind(*range(n))
    except TypeError:
        return False
    except ValueError:
        return True
    return True


def signature_text(fn: Callable) -> str:
    try:
        return str(inspect.signature(fn))
    except (TypeError, ValueError):
        return "(…)"


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


def positional_parameters(fn: Callable) -> tuple[list[inspect.Parameter], bool] | None:
    """``fn``'s positional parameters and whether it takes ``*args``; ``None`` if the signature is unreadable."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    params = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return params, any(p.kind == p.VAR_POSITIONAL for p in sig.parameters.values())

