"""What a spec is: named checks, canonical hyperparameters, a reference.

A :class:`Spec` groups the :class:`Check` s that together say "this code
implements formula X". A check is a function of a :class:`CheckContext`
returning an :class:`Outcome` (:mod:`verify.evidence`, re-exported here with
``passed``/``failed``/``skipped``/``inconclusive``); it never prints and never
decides exit codes.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import zlib
from typing import Any, Callable, Mapping

import numpy as np

from verify.errors import BadParameterError, HeldParameterError
from verify.evidence import Outcome, failed, inconclusive, passed, skipped  # re-exported: the checks' API
from verify.numbers import format_number
from verify.params import Param

__all__ = [
    "Kind",
    "Family",
    "Param",
    "Held",
    "held_summary",
    "require_held",
    "same_value",
    "Check",
    "Spec",
    "Outcome",
    "CheckContext",
    "passed",
    "failed",
    "skipped",
    "inconclusive",
]


class Kind(enum.StrEnum):
    """Kinds of check, shown in reports (a ``str``: the JSON holds the value)."""

    SYMBOLIC = "symbolic"          # compared with a sympy derivation
    REFERENCE = "reference"        # compared with the reference implementation
    GRADIENT = "gradient"          # finite-difference gradient check
    STATISTICAL = "statistical"    # hypothesis test with a stated α and power
    CONFORMANCE = "conformance"    # step-by-step differential test against the reference
    PROPERTY = "property"          # a property the theory promises (convergence, invariance, ...)
    PROTOCOL = "protocol"          # hygiene: shapes, dtypes, mutation, determinism


class Family(enum.StrEnum):
    """What protocol a spec's targets follow (a ``str``: compares equal to its value)."""

    REGULARISER = "regulariser"
    INITIALISER = "initialiser"
    BIAS = "bias"
    BATCHNORM = "batchnorm"
    LAYERNORM = "layernorm"        # per-example normalisation layers: specs layernorm and rmsnorm
    NEWTON = "newton"
    OPTIMIZER = "optimizer"
    CLIPPING = "clipping"


@dataclasses.dataclass(frozen=True)
class Held:
    """A hyperparameter held fixed for a whole run, and why.

    ``source`` is one of :data:`HELD_SOURCES`; ``detail`` names where the value
    comes from (the target that does not take it, the attribute it was read from).
    """

    value: Any
    source: str
    detail: str = ""
    #: ``source == "restricted"``: the values the target accepts (drawn within them; ``value`` is the run's own)
    accepts: Callable[[Any], bool] | None = dataclasses.field(default=None, compare=False)

    @property
    def why(self) -> str:
        return {
            "given": "given explicitly (--param, or a keyword in Python)",
            "not-taken": f"{self.detail} does not take it",
            "ignored": f"{self.detail} takes it, but its value does not change the iterates",
            "read": f"read from {self.detail}",
            "bound": f"bound in {self.detail}",
            "built": f"{self.detail} is built: its value is assumed to be the spec's default",
            "restricted": f"restricted: {self.detail} (varied within that range only)",
        }[self.source]

    def admits(self, value: Any) -> bool:
        """Whether a check may give the hyperparameter ``value``."""
        if self.accepts is not None:
            return bool(self.accepts(value))
        return same_value(value, self.value)


HELD_SOURCES = ("given", "not-taken", "ignored", "read", "bound", "built", "restricted")


def _value_text(v: Any) -> str:
    """A hyperparameter's value in full (nine significant digits: ``1e-08``, ``0.999``)."""
    if isinstance(v, float):
        return format_number(v, 9, general=True)
    return str(v)


def held_summary(held: Mapping[str, Held]) -> list[str]:
    """One line per reason: ``b1, b2, eps held at 0.9, 0.999, 1e-08: MyAdam does not take them``."""
    groups: dict[tuple[str, str], list[str]] = {}
    for name, h in held.items():
        key = (h.source, h.detail if h.source != "read" else "")
        groups.setdefault(key, []).append(name)
    lines = []
    for (source, _), names in groups.items():
        h = held[names[0]]
        values = ", ".join(_value_text(held[n].value) for n in names)
        why = h.why if source != "read" else f"read from {', '.join(held[n].detail for n in names)}"
        if len(names) > 1:
            why = why.replace("does not take it", "does not take them").replace("its value is", "their values are")
            why = why.replace("takes it, but its value does not", "takes them, but their values do not")
            why = why.replace("the spec's default", "the spec's defaults")
        lines.append(f"{', '.join(names)} held at {values}: {why}")
    return lines


def same_value(a: Any, b: Any) -> bool:
    """Exact equality of two hyperparameter values (numbers, tuples, strings)."""
    try:
        return bool(np.all(np.asarray(a) == np.asarray(b))) and np.shape(a) == np.shape(b)
    except Exception:  # noqa: BLE001 - incomparable values differ
        return False


def require_held(held: Mapping[str, Held], values: Mapping[str, Any]) -> None:
    """Raise :class:`HeldParameterError` if ``values`` give a held hyperparameter another value."""
    for k, v in values.items():
        h = held.get(k)
        if h is not None and not h.admits(v):
            raise HeldParameterError(
                f"this check needs {k} = {_value_text(v)}, but {k} is held at {_value_text(h.value)} ({h.why})")


@dataclasses.dataclass(frozen=True)
class Check:
    """One independent verification of a spec.

    ``requires`` names protocol roles the target must provide (e.g. ``"step"``
    for a regulariser); a target without them gets status ``skip``.
    """

    name: str
    kind: Kind
    summary: str
    func: Callable[["CheckContext"], Outcome]
    requires: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Spec:
    """A formula, its canonical hyperparameters, its checks and its reference."""

    name: str
    family: Family
    title: str
    formula: str
    params: tuple[Param, ...]
    checks: tuple[Check, ...]
    reference: Callable[[Mapping[str, Any]], Any]
    accepts_extra_params: bool = False   # generic-optimizer passes any --param through

    def check(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise BadParameterError(
            f"spec {self.name!r} has no check {name!r}; its checks are: {', '.join(c.name for c in self.checks)}"
        )

    def resolve_params(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults merged with ``overrides`` (strings are parsed), all validated."""
        known = {p.name: p for p in self.params}
        values = {p.name: p.default for p in self.params}
        for key, raw in (overrides or {}).items():
            if key in known:
                values[key] = known[key].parse(raw)
            elif self.accepts_extra_params:
                values[key] = _literal(raw)
            else:
                names = ", ".join(known) or "none"
                raise BadParameterError(
                    f"spec {self.name!r} has no parameter {key!r}; its parameters are: {names}"
                )
        return values

    def target_params(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The subset of ``values`` that is passed to the target."""
        known = {p.name: p for p in self.params}
        return {k: v for k, v in values.items() if k not in known or known[k].to_target}


def _literal(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


@dataclasses.dataclass
class CheckContext:
    """Everything a check function may use.

    ``subject`` is the target adapted to the spec family's protocol;
    ``reference`` is the bundled reference adapted the same way.
    """

    spec: Spec
    check: Check
    params: dict[str, Any]
    subject: Any
    reference: Any
    seed: int
    target_name: str
    max_examples: int = 60
    family_alpha: float = 1e-6
    held: Mapping[str, Held] = dataclasses.field(default_factory=dict)
    gradcheck_mode: str = "auto"

    @property
    def gradcheck(self) -> dict[str, Any]:
        """Keyword options for ``check_grad``/``check_vjp``: the run's mode, and advice that names the option."""
        return {"mode": self.gradcheck_mode, "full_mode_hint": "--gradcheck-mode full"}

    @property
    def is_reference(self) -> bool:
        return self.target_name == "reference"

    def _entropy(self, *salt: Any) -> list[int]:
        words = [self.seed & 0xFFFFFFFF, self.seed >> 32]
        for s in (self.spec.name, self.check.name, *salt):
            words.append(zlib.crc32(str(s).encode()))
        return words

    def rng(self, *salt: Any) -> np.random.Generator:
        """A generator determined by the seed, the spec, the check and ``salt``."""
        return np.random.default_rng(np.random.SeedSequence(self._entropy(*salt)))

    def int_seed(self, *salt: Any) -> int:
        """A 32-bit integer seed (for hypothesis, torch) determined like :meth:`rng`."""
        return int(np.random.SeedSequence(self._entropy(*salt)).generate_state(1)[0])

    @property
    def pinned(self) -> dict[str, Any]:
        """The held hyperparameters' values (what draws over the valid range must keep)."""
        return {k: h.value for k, h in self.held.items() if h.accepts is None}

    def admits(self, hparams: Mapping[str, Any]) -> bool:
        """Whether drawn ``hparams`` keep every held hyperparameter within what the target accepts."""
        return all(k not in hparams or h.admits(hparams[k]) for k, h in self.held.items())

    def free(self, *names: str) -> bool:
        """Whether every one of ``names`` may be given another value than the run's."""
        return not any(n in self.held for n in names)

    def allows(self, **changes: Any) -> bool:
        """Whether the target can run with ``changes`` (held hyperparameters keep their values)."""
        return all(k not in self.held or self.held[k].admits(v) for k, v in changes.items())

    def hparams(self, **changes: Any) -> dict[str, Any]:
        """The hyperparameters passed to the target, with ``changes``.

        A change to a held hyperparameter raises :class:`HeldParameterError`,
        which the runner reports as a skipped check with the reason.
        """
        require_held(self.held, changes)
        out = self.spec.target_params(self.params)
        out.update(changes)
        return out

    @property
    def alpha(self) -> float:
        """This check's share of the run's family-wise false-alarm budget (Bonferroni across checks)."""
        n = sum(1 for c in self.spec.checks if c.kind == Kind.STATISTICAL) or 1
        return self.family_alpha / n
