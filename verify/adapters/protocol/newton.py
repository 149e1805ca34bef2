"""The Newton protocol: ``step(w, grad, hess, lr) -> new_w``."""

from __future__ import annotations

from typing import Any

from verify.adapters.base import NewtonSubject, Request
from verify.adapters.protocol._common import name_of, signature_text, takes_positional
from verify.errors import TargetLoadError

__all__ = ["newton", "claim"]


def newton(obj: Any, target: str) -> NewtonSubject:
    if not callable(obj):
        raise TargetLoadError(f"target {target!r} is a {type(obj).__name__}, not a function step(w, grad, hess, lr)")
    if not takes_positional(obj, 4):
        raise TargetLoadError(f"target {target!r} does not fit the Newton protocol: {name_of(obj)}"
                              f"{signature_text(obj)} cannot be called as step(w, grad, hess, lr)")
    return NewtonSubject(f"numpy Newton step {name_of(obj)}(w, grad, hess, lr)", fn=obj)



def claim(request: Request) -> NewtonSubject:
    """The fallback (and only adapter) for Newton steps."""
    return newton(request.obj, request.target)
