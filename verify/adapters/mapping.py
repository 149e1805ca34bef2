"""Mapping a spec's canonical hyperparameters to a library's keywords, shared by the adapters.

Library-neutral: importing this module imports neither torch nor jax.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from verify.errors import BadParameterError

__all__ = ["Rule", "same", "pair", "as_python", "parameter_shapes", "split_flat", "spec_defaults",
           "resolve_values"]


@dataclasses.dataclass(frozen=True)
class Rule:
    """One keyword of the library's constructor/factory, computed from canonical hyperparameters.

    ``sources`` are canonical names (a spec's ``Param`` names); ``convert``
    maps their values to the library's value; ``text`` is the report's line
    (empty when the rule is a plain rename already shown in the call line).
    ``optional``: left out when the target's constructor does not accept the
    keyword (a flag such as ``nesterov=True`` that torch's class needs and a
    user's own class may not); ``if_unsupported`` is then the report's line.

    """

    sources: tuple[str, ...]
    target: str
    convert: Callable[..., Any]
    text: str = ""
    optional: bool = False
    shown: str = ""            # how the value appears in the call line ("(b1, b2)", "2λ", ...)
    if_unsupported: str = ""   # the report's line when an optional keyword is not accepted

    def value(self, values: Mapping[str, Any]) -> Any:
        return self.convert(*(values[s] for s in self.sources))

    def call_text(self) -> str:
        return f"{self.target}={self.shown or ', '.join(self.sources)}"


def as_python(x: Any) -> Any:
    """A Python float for numbers (torch and jax want plain floats), anything else unchanged."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, float, np.integer, np.floating)):
        return float(x)
    return x


def same(name: str, target: str | None = None, text: str = "") -> Rule:
    """Canonical ``name`` passed as ``target`` (a rename when they differ)."""
    return Rule((name,), target or name, as_python, text)


def pair(a: str, b: str, target: str, text: str = "") -> Rule:
    """Two canonical values passed as one tuple keyword (``betas=(b1, b2)``)."""
    return Rule((a, b), target, lambda x, y: (as_python(x), as_python(y)), text, shown=f"({a}, {b})")


def parameter_shapes(shape: Sequence[int]) -> list[tuple[int, ...]]:
    """Shapes of the tensors (pytree leaves) a flat parameter vector of ``shape`` is split into.

    Several tensors of different ranks and sizes, so that per-tensor state
    (a step counter shared across tensors, a buffer reused for the wrong
    tensor) shows: ``(2, 3), (4,), (1,), (rest,)`` when there are enough
    entries, fewer pieces for small vectors, the original shape for 0 or 1
    entry.

    >>> parameter_shapes((12,))
    [(2, 3), (4,), (1,), (1,)]
    >>> parameter_shapes((3,))
    [(2,), (1,)]
    """
    shape = tuple(int(s) for s in shape)
    n = math.prod(shape)
    if n < 2:
        return [shape]
    if n < 7:
        return [(n - 1,), (1,)]
    if n < 11:
        return [(2, 3), (n - 6,)]
    out = [(2, 3), (4,), (1,)]
    if n > 11:
        out.append((n - 11,))
    return out


def split_flat(flat: np.ndarray, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    out, start = [], 0
    for s in shapes:
        size = math.prod(s)
        out.append(flat[start:start + size].reshape(s))
        start += size
    return out


def spec_defaults(spec: Any) -> dict[str, Any]:
    return {p.name: p.default for p in getattr(spec, "params", ()) if getattr(p, "to_target", True)}


def resolve_values(hparams: Mapping[str, Any], known: set[str], defaults: Mapping[str, Any], spec_name: str,
                   library_call: str) -> dict[str, Any]:
    """The canonical values for one construction: ``hparams`` over the spec's defaults, all mapped names present.

    ``library_call`` names what the adapter calls (for the error message).
    """
    unknown = sorted(set(hparams) - known)
    if unknown:
        raise BadParameterError(
            f"hyperparameter {', '.join(unknown)} of spec {spec_name!r} has no equivalent in {library_call} "
            f"(the adapter maps {', '.join(sorted(known))})")
    values = {**defaults, **hparams}
    absent = sorted(known - set(values))
    if absent:
        raise BadParameterError(f"spec {spec_name!r} gave no value for {', '.join(absent)}")
    return values
