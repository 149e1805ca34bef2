"""How an algorithm's canonical hyperparameters reach a library's constructor or factory.

One record type for every library (:class:`LibraryMapping`: torch's classes and optax's factories
alike), or :class:`Unmapped` with the reason the library cannot run the algorithm. Library-neutral:
importing this module imports neither torch nor jax.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["Rule", "same", "pair", "const", "as_python", "LibraryMapping", "Unmapped", "OPTAX_LR", "KERAS_LR"]


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
    inverse: Callable[[Any], tuple[Any, ...]] | None = None   # the library's value -> the sources' values

    def value(self, values: Mapping[str, Any]) -> Any:
        return self.convert(*(values[s] for s in self.sources))

    def canonical(self, library_value: Any) -> dict[str, Any] | None:
        """The canonical values that give ``library_value`` (``None`` when the rule cannot be inverted)."""
        if self.inverse is None:
            return None
        try:
            values = tuple(self.inverse(library_value))
        except Exception:  # noqa: BLE001 - a value of another shape cannot be inverted
            return None
        if len(values) != len(self.sources):
            return None
        return {s: as_python(v) for s, v in zip(self.sources, values)}

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
    return Rule((name,), target or name, as_python, text, inverse=lambda v: (v,))


#: optax calls every step size ``learning_rate``.
OPTAX_LR = same("lr", "learning_rate")
#: Keras too (a Python float: Keras refuses an int).
KERAS_LR = OPTAX_LR


def pair(a: str, b: str, target: str, text: str = "") -> Rule:
    """Two canonical values passed as one tuple keyword (``betas=(b1, b2)``)."""
    return Rule((a, b), target, lambda x, y: (as_python(x), as_python(y)), text, shown=f"({a}, {b})",
                inverse=lambda v: tuple(v))


def const(target: str, value: Any, text: str, if_unsupported: str = "") -> Rule:
    """A keyword fixed at ``value`` whatever the hyperparameters (``eps_root=0``), left out when not accepted."""
    return Rule((), target, lambda: value, text, optional=True, shown=repr(value), if_unsupported=if_unsupported)


@dataclasses.dataclass(frozen=True)
class LibraryMapping:
    """How an algorithm runs on one library: the library's objects that implement it and the keyword rules.

    ``names``: the ``torch.optim`` class (torch: one) or the ``optax`` factories whose constructor
    targets follow; ``variants``: other built-in objects of the library accepted under the algorithm,
    each with the line saying what the checks will see. ``builtin``: whether the library's own
    ``names[0]`` implements the algorithm (``False`` for torch's ``SGD`` under ``sign-sgd``: only
    subclasses overriding ``step`` are candidates, and ``notes[0]`` says why). ``coupled_decay``:
    the algorithm's ``weight_decay`` is PyTorch's coupled L2 term, which a factory without it
    (``optax.adam``) gets as ``optax.chain(optax.add_decayed_weights(weight_decay), factory(...))``.
    ``conventions``: canonical hyperparameters the library fixes, having no keyword for them (optax's
    Adagrad puts ε only inside the root): the run holds them at these values, so the library is checked
    against the algorithm in its own convention, never failed for it. ``name_conventions``: those of one of
    ``names`` or ``variants`` only, on top of ``conventions`` (``optax.adamaxw`` decouples its decay,
    ``optax.adamax`` has none: the run adds PyTorch's coupled one). ``settings``: the library object's own
    settings (constructor keywords, as its config reports them) the mapping assumes and the spec has no
    parameter for (Keras's ``RMSprop(momentum=0.0, centered=False)``): an object set otherwise is refused,
    never checked against the wrong formula. ``restricted``: canonical hyperparameters the library accepts
    only in part of the spec's range, ``{name: (accepts, why)}`` (Keras's ``Lion`` raises for ``beta_1 ≤ 0``):
    the checks vary them within that part only, and the report says so.
    """

    names: tuple[str, ...]
    rules: tuple[Rule, ...]
    notes: tuple[str, ...] = ()
    variants: Mapping[str, str] = dataclasses.field(default_factory=dict)
    builtin: bool = True
    coupled_decay: bool = False
    conventions: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    name_conventions: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    restricted: Mapping[str, tuple[Callable[[Any], bool], str]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.names:
            raise ValueError("a LibraryMapping names at least one class or factory of the library")
        stray = sorted(set(self.name_conventions) - set(self.names) - set(self.variants))
        if stray:
            raise ValueError(f"name_conventions of {', '.join(stray)}: neither a name nor a variant of the mapping")

    def conventions_for(self, name: str | None) -> dict[str, Any]:
        """The conventions the library object ``name`` (``adamaxw``; ``None``: any other) fixes."""
        return {**self.conventions, **self.name_conventions.get(name or "", {})}

    @property
    def primary(self) -> str:
        """The library object the mapping's constructor keywords follow (``Adam``, ``adam``)."""
        return self.names[0]


@dataclasses.dataclass(frozen=True)
class Unmapped:
    """The library has no object for the algorithm; ``reason`` says why and what to do instead."""

    reason: str

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("Unmapped needs a reason")
