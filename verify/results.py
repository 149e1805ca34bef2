"""The result data model: what a verification run found, before any rendering.

A :class:`Report` holds one :class:`RunResult` per (target, spec) pair; a run
holds one :class:`CheckResult` per check. Everything here is plain data that
round-trips through JSON (``to_dict``/``from_dict``); the terminal summary, the
JSON file and the HTML report are all renderings of this model.

Fields that depend on the clock (``duration``, ``created``) are listed in
:data:`TIMING_FIELDS`; everything else is a deterministic function of the
target, the spec, the parameters and the seed.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from typing import Any, Iterable, Mapping

import numpy as np

from verify.text import sanitised

__all__ = [
    "Status",
    "Series",
    "Figure",
    "CheckResult",
    "RunResult",
    "Report",
    "TIMING_FIELDS",
    "SCHEMA",
    "jsonable",
]

#: The JSON layout's version. 2: kinds and families are enums (same values); evidence is typed
#: (statistical tests, counterexamples, figures) but serialised exactly as in 1, so 1 is still read.
SCHEMA = "dlverify.report/2"
READABLE_SCHEMAS = frozenset({"dlverify.report/1", SCHEMA})
TIMING_FIELDS = frozenset({"duration", "created"})


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


@dataclasses.dataclass
class CheckResult:
    """The verdict of one check on one target for one spec."""

    name: str
    kind: str
    status: Status
    message: str = ""
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    counterexample: dict[str, Any] | None = None
    reproduction: str | None = None
    diagnosis: str | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    stat_tests: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    figures: list[Figure] = dataclasses.field(default_factory=list)
    output: str = ""  # what the target printed while the check ran (truncated)
    duration: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status.value,
            "message": self.message,
            "metrics": jsonable(self.metrics),
            "counterexample": jsonable(self.counterexample),
            "reproduction": self.reproduction,
            "diagnosis": self.diagnosis,
            "notes": list(self.notes),
            "stat_tests": jsonable(self.stat_tests),
            "figures": [f.to_dict() for f in self.figures],
            "output": self.output,
            "duration": round(self.duration, 6),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CheckResult":
        d = dict(d)
        d["status"] = Status(d["status"])
        d["figures"] = [Figure.from_dict(f) for f in d.get("figures", [])]
        return cls(**d)


@dataclasses.dataclass
class RunResult:
    """Every check of one spec on one target."""

    target: str
    spec: str
    seed: int
    params: dict[str, Any]
    checks: list[CheckResult] = dataclasses.field(default_factory=list)
    adapter: str = ""
    mapping: list[str] = dataclasses.field(default_factory=list)
    #: What the run did with the hyperparameters: the varied ones, then each group held and why.
    hyperparameters: list[str] = dataclasses.field(default_factory=list)
    #: The held hyperparameters: ``{name: {"value", "source", "why"}}`` (source: given, not-taken, read, bound, built).
    held: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    versions: dict[str, str] = dataclasses.field(default_factory=dict)
    command: str = ""
    incomplete: bool = False
    duration: float = 0.0

    @property
    def status(self) -> Status:
        """``fail``, ``error`` or ``timeout`` if any check has it (in that order); ``skip`` if every
        check was skipped; ``inconclusive`` if a check could not decide; else ``pass``."""
        statuses = {c.status for c in self.checks}
        for s in (Status.FAIL, Status.ERROR, Status.TIMEOUT):
            if s in statuses:
                return s
        if self.checks and statuses == {Status.SKIP}:
            return Status.SKIP
        if Status.INCONCLUSIVE in statuses:
            return Status.INCONCLUSIVE
        return Status.PASS

    @property
    def passed(self) -> bool:
        return not self.status.is_problem and not self.incomplete

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Status}
        for c in self.checks:
            out[c.status.value] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "spec": self.spec,
            "seed": self.seed,
            "params": jsonable(self.params),
            "status": self.status.value,
            "counts": self.counts(),
            "adapter": self.adapter,
            "mapping": list(self.mapping),
            "hyperparameters": list(self.hyperparameters),
            "held": jsonable(self.held),
            "versions": dict(self.versions),
            "command": self.command,
            "incomplete": self.incomplete,
            "duration": round(self.duration, 6),
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunResult":
        d = {k: v for k, v in d.items() if k not in ("status", "counts")}
        d["checks"] = [CheckResult.from_dict(c) for c in d.get("checks", [])]
        return cls(**d)


@dataclasses.dataclass
class Report:
    """All runs of one invocation (command line, pytest session or API call)."""

    runs: list[RunResult] = dataclasses.field(default_factory=list)
    tool_version: str = ""
    created: str = ""
    incomplete: bool = False

    @property
    def passed(self) -> bool:
        return not self.incomplete and all(r.passed for r in self.runs)

    def targets(self) -> list[str]:
        return _unique(r.target for r in self.runs)

    def specs(self) -> list[str]:
        return _unique(r.spec for r in self.runs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "tool_version": self.tool_version,
            "created": self.created,
            "incomplete": self.incomplete,
            "passed": self.passed,
            "runs": [r.to_dict() for r in self.runs],
        }

    def to_json(self) -> str:
        # Sanitised as a whole: a string a target made (an exception message, a repr) may hold lone
        # surrogates or control characters that no UTF-8 file should get.
        return _dump(sanitised(self.to_dict())) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Report":
        if d.get("schema") not in READABLE_SCHEMAS:
            raise ValueError(f"not a dlverify report (schema {d.get('schema')!r}, expected {SCHEMA!r})")
        return cls(
            runs=[RunResult.from_dict(r) for r in d["runs"]],
            tool_version=d.get("tool_version", ""),
            created=d.get("created", ""),
            incomplete=d.get("incomplete", False),
        )

    @classmethod
    def from_json(cls, text: str) -> "Report":
        return cls.from_dict(json.loads(text))


def _dump(value: Any, indent: str = "") -> str:
    """Strict JSON indented by two spaces, but a list of plain values (a plot's series, an array) on one
    line: a report stays readable and a tenth of the size it has with one number per line."""
    if isinstance(value, dict) and value:
        inner = indent + "  "
        items = (f"{inner}{json.dumps(k, ensure_ascii=False)}: {_dump(v, inner)}" for k, v in value.items())
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        inner = indent + "  "
        return "[\n" + ",\n".join(inner + _dump(v, inner) for v in value) + f"\n{indent}]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
