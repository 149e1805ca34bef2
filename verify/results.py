"""The result data model: what a verification run found, before any rendering.

A :class:`Report` holds one :class:`RunResult` per (target, spec) pair; a run
holds one :class:`CheckResult` per check. Everything here is plain data that
round-trips through JSON (``to_dict``/``from_dict``); the terminal summary, the
JSON file and the HTML report are all renderings of this model. A check's
evidence (statistical tests, counterexamples, figures) is typed in
:mod:`verify.evidence`; a :class:`CheckResult` wraps the check's
:class:`~verify.evidence.Outcome` rather than copying it.

Fields that depend on the clock (``duration``, ``created``) are listed in
:data:`TIMING_FIELDS`; everything else is a deterministic function of the
target, the spec, the parameters and the seed.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from verify.evidence import Figure, Outcome, Series, Status, jsonable
from verify.text import sanitised

if TYPE_CHECKING:
    from verify.specs.base import Kind

__all__ = [
    "Status",
    "Series",
    "Figure",
    "Outcome",
    "CheckResult",
    "RunResult",
    "Report",
    "TIMING_FIELDS",
    "SCHEMA",
    "jsonable",
]

#: The JSON layout's version. 2: kinds and families are enums (same values); evidence is typed
#: (statistical tests, counterexamples, figures) but serialised exactly as in 1, so 1 is still read.
#: 3: a check's ``diagnosis_detail`` holds its diagnosis' structure (kind, candidates, fit, findings;
#: ``null`` without a diagnosis) beside its text, ``diagnosis``; 1 and 2 are read (kind unknown).
SCHEMA = "dlverify.report/3"
READABLE_SCHEMAS = frozenset({"dlverify.report/1", "dlverify.report/2", SCHEMA})
TIMING_FIELDS = frozenset({"duration", "created"})


class _FromOutcome:
    """An attribute of a :class:`CheckResult` that belongs to its outcome: read and written there."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, result: "CheckResult | None", owner: type | None = None) -> Any:
        return self if result is None else getattr(result.outcome, self.name)

    def __set__(self, result: "CheckResult", value: Any) -> None:
        setattr(result.outcome, self.name, value)


#: A check's JSON object: its outcome's fields (:meth:`Outcome.to_dict`) with the runner's around them.
CHECK_LAYOUT = ("name", "kind", "status", "message", "metrics", "counterexample", "reproduction", "diagnosis",
                "diagnosis_detail", "notes", "stat_tests", "figures", "output", "duration")


@dataclasses.dataclass(init=False)
class CheckResult:
    """The verdict of one check on one target for one spec: the check's :class:`Outcome` (status, message,
    evidence), wrapped with what the runner knows (name, kind, reproduction command, output, duration).

    ``CheckResult(name, kind, outcome)`` wraps an outcome; ``CheckResult(name, kind, status, message,
    **evidence)`` builds one (the runner's own verdicts: errors, timeouts, skips). ``status``, ``message``,
    ``metrics``, ``counterexample``, ``diagnosis``, ``notes``, ``stat_tests`` and ``figures`` are the outcome's.
    """

    name: str
    kind: Kind | str
    outcome: Outcome
    reproduction: str | None = None
    output: str = ""  # what the target printed while the check ran (truncated)
    duration: float = 0.0

    status = _FromOutcome()
    message = _FromOutcome()
    metrics = _FromOutcome()
    counterexample = _FromOutcome()
    diagnosis = _FromOutcome()
    notes = _FromOutcome()
    stat_tests = _FromOutcome()
    figures = _FromOutcome()

    def __init__(self, name: str, kind: Kind | str, status: Status | Outcome, message: str = "", *,
                 reproduction: str | None = None, output: str = "", duration: float = 0.0, **evidence: Any):
        if isinstance(status, Outcome):
            if message or evidence:
                raise TypeError("CheckResult takes an Outcome or a status with its message and evidence, not both")
            self.outcome = status
        else:
            self.outcome = Outcome(status, message, **evidence)
        self.name, self.kind = name, kind
        self.reproduction, self.output, self.duration = reproduction, output, duration

    def to_dict(self) -> dict[str, Any]:
        fields = {"name": self.name, "kind": self.kind, **self.outcome.to_dict(), "reproduction": self.reproduction,
                  "output": self.output, "duration": round(self.duration, 6)}
        return {k: fields[k] for k in CHECK_LAYOUT}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "CheckResult":
        unknown = set(d) - set(CHECK_LAYOUT)
        if unknown:
            raise TypeError(f"unexpected field(s) {', '.join(sorted(map(str, unknown)))}")
        return cls(d["name"], d["kind"], Outcome.from_dict(d), reproduction=d.get("reproduction"),
                   output=d.get("output", ""), duration=d.get("duration", 0.0))


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
    #: The held hyperparameters: ``{name: {"value", "source", "why"}}`` (source: given, not-taken, read, bound, built, restricted).
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
