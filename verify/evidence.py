"""Typed evidence: what a check found, as records that serialise themselves.

A check returns an :class:`Outcome` (its status, message and evidence); the
runner wraps it, unchanged, in a :class:`verify.results.CheckResult`. The
kinds of evidence:

* :class:`Comparison` (with its :class:`Mismatch` es): the result of the one
  comparison engine, :func:`verify.compare.compare`; ``str()`` is the
  numpy.testing-like report a message embeds;
* :class:`StatTest`: one hypothesis test (statistic, p-value, level, power,
  minimum detectable effect, measured and expected value);
* :class:`Counterexample`: the inputs on which a check failed, by name;
* :class:`Figure` (of :class:`Series`): plot data the HTML report draws;
* the diagnosis: the text naming the likely cause (``Outcome.diagnosis``; the
  catalogue that finds it is :mod:`verify.diagnosis`).

Each record has ``to_dict()`` (its part of the JSON report, layout
``dlverify.report/2``) and ``from_dict()`` (tolerant: a report is read back
from a worker process or a file). How each is shown is decided in one place
per front end: :mod:`verify.report.model` (HTML) and :mod:`verify.console`
(terminal); checks never format evidence for a renderer.

This module is low in the import graph (numpy, :mod:`verify.numbers`,
nothing of the verifier above them).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from verify.numbers import format_number, format_p, format_percent, format_short

__all__ = [
    "Status",
    "jsonable",
    "Mismatch",
    "Comparison",
    "StatTest",
    "Counterexample",
    "Series",
    "Figure",
    "Outcome",
    "passed",
    "failed",
    "skipped",
    "inconclusive",
    "DEFAULT_POWER",
    "check_level",
    "stat_message",
]

#: Power at which statistical tests plan their sample sizes and state their MDEs.
DEFAULT_POWER = 0.99


class Status(str, enum.Enum):
    """Status of one check."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"
    TIMEOUT = "timeout"
    #: The check ran but its evidence cannot decide (no sharp estimator, a value the target
    #: cannot take): neither a pass nor a failure; the message says why and what to try.
    INCONCLUSIVE = "inconclusive"

    @property
    def is_problem(self) -> bool:
        """Whether this status makes the run (and the command) fail."""
        return self in (Status.FAIL, Status.ERROR, Status.TIMEOUT)

    def __str__(self) -> str:
        return self.value


def jsonable(value: Any) -> Any:
    """``value`` converted to JSON-safe Python types (numpy scalars and arrays included).

    Non-finite floats become the strings ``"nan"``, ``"inf"``, ``"-inf"`` so the
    output is strict JSON.
    """
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isfinite(f):
            return f
        return "nan" if math.isnan(f) else ("inf" if f > 0 else "-inf")
    if isinstance(value, (complex, np.complexfloating)):
        return {"real": jsonable(value.real), "imag": jsonable(value.imag)}
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        to_dict = getattr(value, "to_dict", None)
        return jsonable(to_dict() if to_dict else dataclasses.asdict(value))
    return str(value)


# --------------------------------------------------------------------------
# comparisons
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Mismatch:
    """One entry where ACTUAL and DESIRED disagree."""

    index: tuple[int, ...]
    actual: float
    desired: float
    abs_err: float
    rel_err: float
    tolerance: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"index": list(self.index)}


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare`; ``str()`` gives the failure report."""

    ok: bool
    header: str
    structural: tuple[str, ...]
    n_mismatch: int
    n_total: int
    worst: tuple[Mismatch, ...]
    max_abs: float
    max_rel: float
    tolerance_text: str

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        lines = [self.header] if self.header else []
        if self.tolerance_text:
            lines.append(f"Tolerance: {self.tolerance_text}")
        lines.extend(self.structural)
        if self.n_total:
            pct = 100.0 * self.n_mismatch / self.n_total
            lines.append(
                f"Mismatched elements: {self.n_mismatch} / {self.n_total} ({pct:.3g}%)"
            )
        if self.worst:
            lines.append(_worst_table(self.worst))
        if self.n_total:
            lines.append(f"Max absolute difference: {format_number(self.max_abs)}")
            lines.append(f"Max relative difference: {format_number(self.max_rel)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "structural": list(self.structural),
            "n_mismatch": self.n_mismatch,
            "n_total": self.n_total,
            "worst": [m.to_dict() for m in self.worst],
            "max_abs": self.max_abs,
            "max_rel": self.max_rel,
            "tolerance": self.tolerance_text,
        }


def _worst_table(worst: Sequence[Mismatch]) -> str:
    rows = [("index", "ACTUAL", "DESIRED", "abs err", "rel err", "tolerance")]
    for m in worst:
        rows.append(
            (
                str(m.index if len(m.index) != 1 else m.index[0]),
                format_number(m.actual, 12),
                format_number(m.desired, 12),
                format_number(m.abs_err),
                format_number(m.rel_err),
                format_number(m.tolerance),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        out.append("  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)))
    return "Worst mismatches:\n" + "\n".join(out)


# --------------------------------------------------------------------------
# statistical tests
# --------------------------------------------------------------------------


def check_level(alpha: Any, what: str = "alpha") -> float:
    """``alpha`` as a float in (0, 1), else a ValueError naming ``what``."""
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number in (0, 1), got {alpha!r}") from None
    if not (0.0 < a < 1.0):
        raise ValueError(f"{what} must be in (0, 1), got {alpha!r}")
    return a


def _mde_text(mde: float, unit: str) -> str:
    if unit.startswith("relative"):
        return f"{format_percent(mde, signed=False)} {unit}"
    return f"{format_short(mde, 3)} {unit}"


@dataclasses.dataclass(frozen=True)
class StatTest(Mapping[str, Any]):
    """The outcome of one hypothesis test.

    It also reads as the mapping its JSON holds (``t["p_value"]``, ``set(t)``): checks' results carried
    plain dicts before report schema 2, and code that reads them so keeps working.

    The null hypothesis is always "the implementation is right" (the sample
    has the expected mean / std / distribution / no dependence). It is
    rejected, and the check fails, when ``p_value <= alpha``.

    Attributes:
      name: the property tested, e.g. ``"std"``, ``"mean"``,
        ``"shape (Anderson-Darling vs normal)"``, ``"row correlation"``.
      statistic: the test statistic (chi-square, z, A^2, D, max |r|, t ...).
      p_value: probability, under the null, of a statistic at least as extreme.
      n: sample size the test used.
      alpha: the level the decision used (after any multiple-testing correction).
      mde: minimum detectable effect -- the smallest effect, in ``mde_unit``,
        that this test detects with probability ``power`` at this ``alpha``
        and ``n``.
      mde_unit: what ``mde`` measures, e.g. ``"relative sigma error"``.
      passed: ``p_value > alpha``.
      estimate: the measured value (e.g. the sample std).
      expected: the value the null hypothesis predicts (e.g. the derived std).
      effect: how far off the estimate is, in ``effect_unit`` (e.g. ``-0.047``
        for a std 4.7 % too small).
      message: one line: property, measured vs expected, by how much,
        p-value, alpha, decision, n and MDE.
      method: the test used and its null distribution.
      effect_unit: what ``effect`` measures.
      power: power at which ``mde`` is stated.
      summary: the first part of ``message`` (no decision), reused when the
        level changes (see :meth:`with_alpha`).
      details: extra JSON-friendly facts (degrees of freedom, worst pair, ...).
    """

    name: str
    statistic: float
    p_value: float
    n: int
    alpha: float
    mde: float
    mde_unit: str
    passed: bool
    estimate: float
    expected: float
    effect: float
    message: str
    method: str = ""
    effect_unit: str = ""
    power: float = DEFAULT_POWER
    summary: str = ""
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict, hash=False)
    # MDE as a function of (alpha, power); a functools.partial of a module-level
    # function so results stay picklable. Not part of the JSON form.
    mde_fn: Callable[[float, float], float] | None = dataclasses.field(
        default=None, repr=False, compare=False
    )

    @property
    def failed(self) -> bool:
        """``not passed``: the null hypothesis was rejected."""
        return not self.passed

    def with_alpha(self, alpha: float) -> "StatTest":
        """A copy decided at level ``alpha`` (passed, MDE and message updated)."""
        a = check_level(alpha)
        mde = self.mde_fn(a, self.power) if self.mde_fn is not None else self.mde
        return dataclasses.replace(
            self,
            alpha=a,
            mde=mde,
            passed=bool(self.p_value > a),
            message=stat_message(self.summary, self.p_value, a, self.n, mde, self.mde_unit, self.power),
        )

    def _keys(self) -> list[str]:
        """The fields the JSON holds: all but ``mde_fn``, and but those a report read from JSON lacked
        (``None``), so such a test is written back as it was read."""
        return [f.name for f in dataclasses.fields(self) if f.name != "mde_fn" and getattr(self, f.name) is not None]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys():
            raise KeyError(key)
        return getattr(self, key)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (non-finite floats become ``"nan"``/``"inf"``)."""
        return jsonable(dict(self))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "StatTest":
        """The test a report's JSON holds. Whatever the JSON lacks is ``None``; values are kept as they are
        (a report may come from a hostile target's process: the views clean and check every one)."""
        fields = {f.name for f in dataclasses.fields(cls) if f.name != "mde_fn"}
        return cls(**{name: d.get(name) for name in fields})

    def __str__(self) -> str:
        return self.message


def stat_message(summary: str, p: float, alpha: float, n: int, mde: float, mde_unit: str, power: float) -> str:
    """A test's one line: the summary, the decision at ``alpha``, the sample size and the MDE at ``power``."""
    rejected = not (p > alpha)
    decision = f"p = {format_p(p)} {'<=' if rejected else '>'} α = {format_p(alpha)}: {'FAIL' if rejected else 'pass'}"
    return f"{summary}; {decision} (n = {n}, MDE {_mde_text(mde, mde_unit)} at power {power:g})"


# --------------------------------------------------------------------------
# counterexamples
# --------------------------------------------------------------------------


class Counterexample(Mapping[str, Any]):
    """The inputs on which a check failed, by name (``w``, ``lam``, ``grads`` ...), in the order given.

    A read-only mapping: ``cx["w"]``, ``"w" in cx`` and ``dict(cx)`` work as on the dict a check passes.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any] | None = None, **named: Any):
        self._values = {str(k): v for k, v in {**(values or {}), **named}.items()}

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Counterexample({self._values!r})"

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self._values)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Counterexample":
        return cls(d)


def counterexample_rows(cx: Any) -> list[tuple[str, Any]]:
    """A counterexample as (name, value) rows for a view; a value that is not a mapping (a malformed
    report) is one row named ``value``."""
    if cx is None:
        return []
    if isinstance(cx, Mapping):
        return list(cx.items())
    return [("value", cx)]


# --------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------


@dataclasses.dataclass
class Series:
    """One line (or set of points) of a figure."""

    label: str
    x: list[float]
    y: list[float]
    style: str = "line"  # "line" | "points" | "step" | "dashed"

    def to_dict(self) -> dict[str, Any]:
        return jsonable(dataclasses.asdict(self))


@dataclasses.dataclass
class Figure:
    """Plot data a check attaches to its result; the HTML report draws it."""

    title: str
    xlabel: str
    ylabel: str
    series: list[Series]
    xscale: str = "linear"  # "linear" | "log"
    yscale: str = "linear"
    kind: str = "lines"     # "lines" | "histogram" | "qq"
    markers: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # {"x": .., "label": ..}

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["series"] = [s.to_dict() for s in self.series]
        return jsonable(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Figure":
        d = dict(d)
        d["series"] = [Series(**s) for s in d.get("series", [])]
        return cls(**d)


# --------------------------------------------------------------------------
# what a check returns
# --------------------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    """What a check function returns: its status, message and evidence. The runner wraps it in a
    :class:`~verify.results.CheckResult` (adding name, kind, timing and the reproduction command).

    ``counterexample`` may be given as a plain mapping: it becomes a :class:`Counterexample`.
    """

    status: Status
    message: str
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    counterexample: Counterexample | None = None
    diagnosis: str | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    stat_tests: list[StatTest] = dataclasses.field(default_factory=list)
    figures: list[Figure] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if isinstance(self.counterexample, Mapping) and not isinstance(self.counterexample, Counterexample):
            self.counterexample = Counterexample(self.counterexample)

    def to_dict(self) -> dict[str, Any]:
        """The outcome's part of a check's JSON (``CheckResult.to_dict`` places it in the layout)."""
        return {
            "status": self.status.value,
            "message": self.message,
            "metrics": jsonable(self.metrics),
            "counterexample": jsonable(self.counterexample),
            "diagnosis": self.diagnosis,
            "notes": list(self.notes),
            "stat_tests": jsonable(self.stat_tests),
            "figures": [f.to_dict() for f in self.figures],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Outcome":
        """The outcome in a check's JSON. Evidence of the expected shape becomes its record; anything else
        (a report written by hand, or by a hostile target's process) is kept as it is for the views."""
        cx, tests = d.get("counterexample"), d.get("stat_tests", [])
        if isinstance(tests, list):
            tests = [StatTest.from_dict(t) if isinstance(t, Mapping) else t for t in tests]
        return cls(
            status=Status(d["status"]),
            message=d.get("message", ""),
            metrics=d.get("metrics", {}),
            counterexample=Counterexample.from_dict(cx) if isinstance(cx, Mapping) else cx,
            diagnosis=d.get("diagnosis"),
            notes=d.get("notes", []),
            stat_tests=tests,
            figures=[Figure.from_dict(f) for f in d.get("figures", [])],
        )


def passed(message: str, **fields: Any) -> Outcome:
    return Outcome(Status.PASS, message, **fields)


def failed(message: str, **fields: Any) -> Outcome:
    return Outcome(Status.FAIL, message, **fields)


def skipped(reason: str, **fields: Any) -> Outcome:
    return Outcome(Status.SKIP, reason, **fields)


def inconclusive(reason: str, **fields: Any) -> Outcome:
    """The check ran but cannot decide: ``reason`` says why and what to try."""
    return Outcome(Status.INCONCLUSIVE, reason, **fields)
