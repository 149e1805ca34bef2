"""The options of the gradient checker, validated once."""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

from ._probes import PROBE_KINDS

__all__ = ["Options", "MODES", "FULL_MODE_MAX_N"]

MODES = ("auto", "full", "directional")

#: ``mode="auto"`` compares every coordinate up to this many inputs: there a
#: full check costs no more evaluations than the probes would.
FULL_MODE_MAX_N = 16

#: ``check_vjp`` in auto mode also needs the Jacobian (one ``vjp`` call per
#: output) to stay small.
FULL_MODE_MAX_JACOBIAN = 4096


@dataclasses.dataclass(frozen=True)
class Options:
    """Keyword options of :func:`check_grad` and :func:`check_vjp`.

    Attributes:
      mode: ``"auto"`` (full for at most 16 inputs, else directional),
        ``"full"`` (every coordinate: ``n`` derivatives) or ``"directional"``
        (``n_probes`` random directions, cost independent of ``n``).
      n_probes: directional probes; default 16 with the complex step, 8 with
        central differences (each costs six evaluations there).
      probes: ``"rademacher"`` (entries ±1; default) or ``"gaussian"``.
      n_cotangents: ``check_vjp`` only: random cotangents ``dy`` (one ``vjp``
        call each); default ``n_probes``.
      seed: seed of the probes (same seed, same probes, same verdict); ``None``
        draws fresh randomness.
      step: fix the step instead of choosing it: for central differences the
        largest step ``h`` of the window ``h, h/4, h/16``; for the complex step
        the imaginary step. In units of ``x``.
      complex_step: ``"auto"`` (use it where it is proven: ``f`` accepts
        complex input and the complex step along a Gaussian combination of
        every direction used agrees with a sharp central difference; its
        failures are confirmed by central differences; otherwise central
        differences, with a note), ``True`` (always, unverified, failures
        reported unconfirmed; raises if ``f`` rejects complex input) or
        ``False`` (never).
      safety: factor applied to the estimated finite-difference error to make
        the error bar.
      max_worst: how many worst comparisons to keep and print.
      kink_tol: the jump between one-sided derivatives, relative to their
        size, below which a failing direction is *not* called a kink.
      max_wrong: the most wrong entries that localisation looks for (and the
        most that the diagnosis calls "a few").
      taylor: run the Taylor-remainder test (8 more evaluations).
      resolution: the relative error in one entry (relative to the entry,
        floored at the typical entry ``||g|| / sqrt(n)``; for a gradient
        that is ~0, at 1e-3 of ``|f| / (n s)``) a check must be able to see
        to pass: a comparison whose numerical error bar exceeds
        half of it cannot tell a right gradient from one wrong by that much,
        and makes the result inconclusive unless something fails. Float64
        functions reach 1e-7 or better at n = 1e5; a function computing in
        float32 resolves ~1e-4 sqrt(n) and needs a coarser ``resolution``
        (the inconclusive reason names it).
      full_mode_hint: how the advice to compare every entry names the full
        mode (a front end that sets the mode from its own option names it).
    """

    mode: str = "auto"
    n_probes: int | None = None
    probes: str = "rademacher"
    n_cotangents: int | None = None
    seed: int | None = 0
    step: float | None = None
    complex_step: Any = "auto"
    safety: float = 4.0
    max_worst: int = 5
    kink_tol: float = 1e-8
    max_wrong: int = 4
    taylor: bool = True
    resolution: float = 1e-6
    full_mode_hint: str = "mode='full'"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}; got {self.mode!r}")
        if self.probes not in PROBE_KINDS:
            raise ValueError(f"probes must be one of {PROBE_KINDS}; got {self.probes!r}")
        for name in ("n_probes", "n_cotangents"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 1):
                raise ValueError(f"{name} must be a positive integer or None; got {value!r}")
        for name in ("max_worst", "max_wrong"):
            value = getattr(self, name)
            if not _is_int(value) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer; got {value!r}")
        if self.seed is not None and not _is_int(self.seed):
            raise ValueError(f"seed must be an integer or None; got {self.seed!r}")
        if self.step is not None and not (_is_real(self.step) and 0 < self.step < float("inf")):
            raise ValueError(f"step must be a positive finite number or None; got {self.step!r}")
        if self.complex_step not in ("auto", True, False) or isinstance(self.complex_step, int) and not isinstance(self.complex_step, bool):
            raise ValueError(f"complex_step must be 'auto', True or False; got {self.complex_step!r}")
        if not (_is_real(self.safety) and 0 < self.safety < float("inf")):
            raise ValueError(f"safety must be a positive finite number; got {self.safety!r}")
        if not (_is_real(self.kink_tol) and 0 <= self.kink_tol < float("inf")):
            raise ValueError(f"kink_tol must be a non-negative number; got {self.kink_tol!r}")
        if not (_is_real(self.resolution) and 0 < self.resolution <= 1):
            raise ValueError(f"resolution must be a number in (0, 1]; got {self.resolution!r}")
        if not isinstance(self.taylor, bool):
            raise ValueError(f"taylor must be True or False; got {self.taylor!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
