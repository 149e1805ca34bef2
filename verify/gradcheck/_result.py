"""The result of a gradient check and its report.

The report is the project's comparison report (:func:`verify.compare.compare`,
numpy.testing's layout) with ACTUAL = analytic and DESIRED = numeric and the
per-entry tolerance = the finite-difference error bar, followed by the
diagnosis and the check's own facts (method, cost, Taylor test, kinks).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from verify.compare import Comparison, format_number
from verify.results import Status

from ._kinks import Kink
from ._taylor import TaylorResult

__all__ = ["EntryError", "GradCheckResult"]


@dataclasses.dataclass(frozen=True)
class EntryError:
    """One compared value: an entry of the gradient, or a probe.

    Attributes:
      label: ``"x[3]"``, ``"x[(1, 2)]"``, ``"J[0, 3]"`` or ``"probe 5"``.
      index: index into ``x`` (for ``check_vjp`` in full mode: output index
        followed by input index); ``None`` for a random probe.
      analytic: the value from ``grad``/``vjp`` (ACTUAL).
      numeric: the finite-difference value (DESIRED).
      abs_error: ``|analytic - numeric|``.
      rel_error: ``abs_error / |numeric|`` (inf when numeric is 0).
      error_bar: the tolerance that applied: safety x estimated
        finite-difference error, plus rounding.
    """

    label: str
    index: tuple[int, ...] | None
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float
    error_bar: float

    @property
    def ok(self) -> bool:
        return self.abs_error <= self.error_bar

    def __str__(self) -> str:
        return (f"{self.label}: analytic {format_number(self.analytic, 12)}, numeric "
                f"{format_number(self.numeric, 12)} ± {format_number(self.error_bar)} "
                f"(abs err {format_number(self.abs_error)}, rel err {format_number(self.rel_error)})")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["index"] = None if self.index is None else list(self.index)
        return d


@dataclasses.dataclass(frozen=True)
class GradCheckResult:
    """What :func:`check_grad` / :func:`check_vjp` found. Truthy when it passed.

    Attributes:
      passed: every comparison agrees within its error bar (a kink counts as
        agreeing when the analytic value lies between the one-sided
        derivatives) and every error bar is sharp. False when the check
        failed *or* was inconclusive; ``status`` tells which.
      n_evals: calls of ``f`` the check made, all included (probing calls
        with complex or float64 input, Taylor test, localisation).
      n_grad_evals: calls of ``grad`` (or ``vjp``).
      mode: ``"full"`` (every coordinate) or ``"directional"`` (random probes).
      method: ``"complex step"`` or ``"central differences"``.
      max_abs_error, max_rel_error: largest absolute / relative difference
        over the comparisons made (entries in full mode, probes or localised
        entries in directional mode).
      worst: the worst comparisons, largest absolute error first.
      diagnosis: what is wrong ("" when it passed and nothing is notable).
      wrong_indices: indices into ``x`` known to be wrong (full mode, or found
        by localisation).
      kinks: directions where ``f`` is not differentiable at ``x``.
      taylor: the Taylor-remainder second opinion (``None`` if not run).
      miss_probability: directional mode: upper bound on the chance that the
        probes miss an error larger than the error bar (``None`` in full mode).
      attainable: typical relative precision the comparisons had (median of
        error bar / magnitude).
      notes: other facts (precision, method fallbacks).
      comparison: the underlying :class:`verify.compare.Comparison`.
      status: ``Status.PASS``, ``Status.FAIL`` or ``Status.INCONCLUSIVE``
        (:class:`verify.results.Status`): inconclusive when no sharp
        estimator exists along some direction and nothing failed -- neither
        a pass nor a failure.
      reason: why it is inconclusive and what to try ("" otherwise).
    """

    passed: bool
    n_evals: int
    n_grad_evals: int
    mode: str
    method: str
    max_abs_error: float
    max_rel_error: float
    worst: tuple[EntryError, ...]
    diagnosis: str
    wrong_indices: tuple[tuple[int, ...], ...]
    kinks: tuple[Kink, ...]
    taylor: TaylorResult | None
    miss_probability: float | None
    attainable: float
    notes: tuple[str, ...]
    comparison: Comparison
    cost: str = ""
    status: Status | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.status is None:
            object.__setattr__(self, "status", Status.PASS if self.passed else Status.FAIL)
        if (self.status == Status.PASS) != self.passed:
            raise ValueError(f"status {self.status} contradicts passed={self.passed}")

    def __bool__(self) -> bool:
        return self.passed

    @property
    def failed(self) -> bool:
        """The gradient is wrong beyond the error bars (a confirmed failure)."""
        return self.status == Status.FAIL

    @property
    def inconclusive(self) -> bool:
        """The check could not decide (see ``reason``): neither a pass nor a failure."""
        return self.status == Status.INCONCLUSIVE

    def __str__(self) -> str:
        lines = [str(self.comparison)]
        if self.reason:
            lines.append(f"Inconclusive: {self.reason}")
        if self.diagnosis:
            lines.append(f"Diagnosis: {self.diagnosis}")
        for kink in self.kinks[:5]:
            lines.append(f"Non-differentiable point along {kink}")
        if len(self.kinks) > 5:
            lines.append(f"... and {len(self.kinks) - 5} more non-differentiable directions")
        if self.taylor is not None:
            lines.append(str(self.taylor))
        if self.cost:
            lines.append(self.cost)
        lines.extend(self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "status": str(self.status),
            "reason": self.reason,
            "n_evals": self.n_evals,
            "n_grad_evals": self.n_grad_evals,
            "mode": self.mode,
            "method": self.method,
            "max_abs_error": self.max_abs_error,
            "max_rel_error": self.max_rel_error,
            "worst": [w.to_dict() for w in self.worst],
            "diagnosis": self.diagnosis,
            "wrong_indices": [list(i) for i in self.wrong_indices],
            "kinks": [str(k) for k in self.kinks],
            "taylor": None if self.taylor is None else self.taylor.verdict,
            "miss_probability": self.miss_probability,
            "attainable": self.attainable,
            "notes": list(self.notes),
            "report": str(self),
        }
