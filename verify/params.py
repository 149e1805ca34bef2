"""A canonical hyperparameter: its name, default, documentation, valid range and how it is drawn.

A low module (numpy and :mod:`verify.errors` only): specs and algorithm records both declare their
hyperparameters with :class:`Param`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from verify.errors import BadParameterError

__all__ = ["Param"]


@dataclasses.dataclass(frozen=True)
class Param:
    """A canonical hyperparameter of a spec."""

    name: str
    default: Any
    doc: str
    type: type = float
    choices: tuple[Any, ...] | None = None
    low: float | None = None        # inclusive unless low_open
    high: float | None = None       # exclusive unless high_closed
    low_open: bool = False
    high_closed: bool = False
    to_target: bool = True          # passed to the target (constructor or call)
    #: How hypothesis draws this hyperparameter over its valid range: a function returning a strategy
    #: (called only when drawing, so that importing a spec never imports hypothesis); None: held at its default.
    draw: Callable[[], Any] | None = dataclasses.field(default=None, compare=False, repr=False)

    def parse(self, raw: Any) -> Any:
        """Convert a command-line string (or a Python value) and validate it."""
        value = raw
        if isinstance(raw, str):
            try:
                if self.type is bool:
                    if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError
                    value = raw.lower() in ("true", "1", "yes")
                elif self.type is str:
                    value = raw
                else:
                    value = self.type(raw)
            except ValueError:
                raise BadParameterError(
                    f"--param {self.name}={raw}: expected a {self.type.__name__}"
                ) from None
        elif self.type is float and isinstance(raw, (int, np.integer)) and not isinstance(raw, bool):
            value = float(raw)
        if self.type in (float, int) and isinstance(value, bool):
            raise BadParameterError(f"{self.name} must be a {self.type.__name__}, got {raw!r}")
        if not isinstance(value, self.type) and not (self.type is float and isinstance(value, np.floating)):
            raise BadParameterError(f"{self.name} must be a {self.type.__name__}, got {raw!r}")
        if self.choices is not None and value not in self.choices:
            raise BadParameterError(f"{self.name} must be one of {', '.join(map(str, self.choices))}; got {raw!r}")
        if self.type in (float, int):
            v = float(value)
            if not np.isfinite(v):
                raise BadParameterError(f"{self.name} must be finite, got {raw!r}")
            if v != 0 and abs(v) < np.finfo(np.float64).tiny:
                # No hyperparameter is subnormal; the checks' problems built from one (2/η) overflow.
                raise BadParameterError(f"{self.name} must be 0 or at least {np.finfo(np.float64).tiny:.4g} in "
                                        f"magnitude, got {raw!r} (a subnormal number)")
            if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
                raise BadParameterError(f"{self.name} must be {'>' if self.low_open else '>='} {self.low}, got {raw!r}")
            if self.high is not None and (v > self.high or (not self.high_closed and v == self.high)):
                raise BadParameterError(f"{self.name} must be {'<=' if self.high_closed else '<'} {self.high}, got {raw!r}")
        return value

    def describe(self) -> str:
        rng = ""
        if self.choices:
            rng = " (" + "|".join(map(str, self.choices)) + ")"
        elif self.low is not None or self.high is not None:
            lo = "" if self.low is None else f"{'(' if self.low_open else '['}{self.low}"
            hi = "" if self.high is None else f"{self.high}{']' if self.high_closed else ')'}"
            rng = f" in {lo or '(-inf'}, {hi or 'inf)'}"
        return f"{self.name}={self.default}{rng}: {self.doc}"
