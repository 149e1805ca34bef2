"""The :class:`Algorithm` record: everything the verifier knows about one optimizer, in one place.

A record is checked when it is built (at import): a mapping rule, a no-decay setting, an alias or a
hyperparameter fact naming a hyperparameter the algorithm does not have, a hyperparameter nobody
draws, a library left neither mapped nor :class:`Unmapped` with a reason — each raises there, never
at check time.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

from verify.algorithms._mapping import LibraryMapping, Unmapped
from verify.errors import BadParameterError
from verify.params import Param

__all__ = ["Algorithm", "Variant", "has_positive", "unit_interval", "positive", "decay_strength", "constraint",
           "learning_rate", "LIBRARIES"]

#: The libraries every algorithm states a mapping for (or an explicit :class:`Unmapped`).
LIBRARIES = ("torch", "optax", "keras")


@dataclasses.dataclass(frozen=True)
class Variant:
    """A named variant or common bug of an optimizer, runnable on a gradient stream.

    ``specs``: the algorithms under which the diagnosis tries it (a bug can belong to two, as plain SGD
    under momentum and nesterov); ``build``: hyperparameters -> a reference-style optimizer
    (``init``/``update``); ``equivalent``: an equivalent parameterisation (the same iterates), not a bug;
    ``applies``: whether the variant differs from the algorithm at all at these hyperparameters.
    """

    name: str
    description: str
    specs: tuple[str, ...]
    build: Callable[[Mapping[str, Any]], Any]          # hparams -> Optimizer (init/update)
    equivalent: bool = False                           # an equivalent parameterisation, not a bug
    applies: Callable[[Mapping[str, Any]], bool] = lambda hp: True


def has_positive(name: str) -> Callable[[Mapping[str, Any]], bool]:
    """``applies`` for a variant that differs only while hyperparameter ``name`` is positive."""
    return lambda hp: hp.get(name, 0.0) > 0


def _no_constraint(hp: Mapping[str, Any]) -> None:
    return None


@dataclasses.dataclass(frozen=True, eq=False)
class Algorithm:
    """One optimizer: its hyperparameters, reference, diagnosis catalogue and library mappings.

    * ``params``: the canonical hyperparameters, each with its valid range and its hypothesis ``draw``
      (or ``draw`` here: one joint strategy ``pinned -> strategy`` when they constrain each other);
    * ``reference``: the reference factory (``reference.adam``), called with the canonical values;
    * ``validate``: constraints between hyperparameters beyond each one's range (raises
      :class:`~verify.errors.BadParameterError`);
    * ``no_decay``: the values that turn weight decay off (the zero-gradient fixed point holds there);
      empty when the algorithm has no decay (its steps do not depend on ``w``);
    * ``variants``: the named variants and common bugs the diagnosis tries, in the order it prefers
      them on a tie (equivalent parameterisations have ``equivalent=True``);
    * ``dropped_by_bugs``: hyperparameters a bug typically forgets (the diagnosis tries the reference
      with that one at 0);
    * ``aliases``: other keyword names real code gives a hyperparameter that are unambiguous under
      this algorithm only (Adam's ``alpha`` is the step size; RMSprop's is not);
    * ``torch``, ``optax``, ``keras``: a :class:`LibraryMapping`, or :class:`Unmapped` with the reason;
    * ``one_tensor``: the update couples the entries of a tensor (LAMB's trust ratio is a layer's norm), so the
      adapters hand the parameters over as one tensor — one layer — instead of splitting them into several.
    """

    name: str
    title: str
    formula: str
    params: tuple[Param, ...]
    reference: Callable[..., Any]
    variants: tuple[Variant, ...]
    torch: LibraryMapping | Unmapped
    optax: LibraryMapping | Unmapped
    keras: LibraryMapping | Unmapped
    validate: Callable[[Mapping[str, Any]], None] = _no_constraint
    no_decay: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    dropped_by_bugs: tuple[str, ...] = ()
    aliases: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    draw: Callable[[Mapping[str, Any]], Any] | None = None
    one_tensor: bool = False

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        where = f"algorithm {self.name!r}"
        if not self.name or not self.title or not self.formula:
            raise ValueError(f"{where}: name, title and formula are required")
        if not names or len(set(names)) != len(names):
            raise ValueError(f"{where}: needs hyperparameters with distinct names, got {names}")
        if not callable(self.reference):
            raise ValueError(f"{where}: reference must be the reference factory")
        known = set(names)

        def within(what: str, used: Any) -> None:
            unknown = sorted(set(used) - known)
            if unknown:
                raise ValueError(f"{where}: {what} names {', '.join(unknown)}, not a hyperparameter of it")

        for library in LIBRARIES:
            mapping = getattr(self, library)
            if not isinstance(mapping, (LibraryMapping, Unmapped)):
                raise ValueError(f"{where}: {library} must be a LibraryMapping or Unmapped(reason), "
                                 f"got {mapping!r}")
            if isinstance(mapping, LibraryMapping):
                fixed = [mapping.conventions, *mapping.name_conventions.values()]
                within(f"its {library} mapping", {s for r in mapping.rules for s in r.sources}.union(*fixed))
                for n, value in (item for f in fixed for item in f.items()):
                    next(p for p in self.params if p.name == n).parse(value)
        within("no_decay", self.no_decay)
        within("dropped_by_bugs", self.dropped_by_bugs)
        within("aliases", self.aliases)
        undrawn = [p.name for p in self.params if p.to_target and p.draw is None]
        if self.draw is None and undrawn:
            raise ValueError(f"{where}: no draw for {', '.join(undrawn)} (give each Param a draw, or the "
                             "algorithm a joint draw)")
        for v in self.variants:
            if self.name not in v.specs:
                raise ValueError(f"{where}: variant {v.name!r} is not declared for it (specs {v.specs})")

    # ------------------------------------------------------------------ use

    def defaults(self) -> dict[str, Any]:
        """The canonical hyperparameters at their defaults."""
        return {p.name: p.default for p in self.params}

    def build(self, hp: Mapping[str, Any]) -> Any:
        """The reference optimizer at ``hp``."""
        return self.reference(**hp)

    def check(self, hp: Mapping[str, Any]) -> None:
        """:class:`BadParameterError` when ``hp`` breaks a constraint between hyperparameters."""
        self.validate(hp)

    def mapping(self, library: str) -> LibraryMapping | Unmapped:
        """The mapping for ``library`` (one of :data:`LIBRARIES`)."""
        if library not in LIBRARIES:
            raise ValueError(f"unknown library {library!r}; the libraries are {', '.join(LIBRARIES)}")
        return getattr(self, library)

    def library_text(self, library: str) -> str:
        """One line for ``verify list`` and docs/specs.md: what of ``library`` runs under this algorithm."""
        mapping = self.mapping(library)
        if isinstance(mapping, Unmapped):
            return f"{library}: none ({mapping.reason})"
        prefix = _PREFIX[library]
        names = " or ".join(prefix + n for n in mapping.names)
        if not mapping.builtin:
            names = f"subclasses of {names} ({mapping.notes[0]})" if mapping.notes else f"subclasses of {names}"
        also = f" (also accepted: {', '.join(prefix + v for v in mapping.variants)})" if mapping.variants else ""
        return f"{library}: {names}{also}"


_PREFIX = {"torch": "torch.optim.", "optax": "optax.", "keras": "keras.optimizers."}


# ----------------------------------------------------------------- draws
#
# Draw factories for Param.draw: each returns a function giving a hypothesis strategy, so hypothesis
# is imported only when something is drawn.


def positive(low: float, high: float) -> Callable[[], Any]:
    """Positive floats in ``[low, high]``, uniform in log scale."""

    def draw() -> Any:
        from verify.draws import positive_floats

        return positive_floats(low, high)

    return draw


def unit_interval() -> Any:
    """Decay rates in ``[0, 1)``: 0, the bulk and ``1 − 10⁻ᵏ`` (:func:`verify.draws.unit_interval`)."""
    from verify.draws import unit_interval as draw

    return draw()


def decay_strength() -> Any:
    """A decay strength: 0 (decay off) or a positive value up to 10."""
    from hypothesis import strategies as st

    from verify.draws import positive_floats

    return st.one_of(st.just(0.0), positive_floats(1e-6, 10.0))


def constraint(check: Callable[[Mapping[str, Any]], str | None]) -> Callable[[Mapping[str, Any]], None]:
    """A ``validate`` from ``check(hp) -> message or None``."""

    def validate(hp: Mapping[str, Any]) -> None:
        message = check(hp)
        if message:
            raise BadParameterError(message)

    return validate


def learning_rate(default: float) -> Param:
    """The learning rate η (every algorithm's ``lr``), drawn from 1e-6 to 10."""
    return Param("lr", default, "learning rate η", low=0.0, low_open=True, draw=positive(1e-6, 10.0))
