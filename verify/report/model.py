"""The presentation model: a :class:`~verify.results.Report` arranged for the page.

:func:`build_view` turns the result model into plain dataclasses holding only
cleaned text, formatted numbers and plot geometry, in the order the page shows
them; the templates do no computing beyond loops and conditions. Building the
view is a pure function of the report, so the same report always renders to
the same bytes.

Page structure: a header with the overall verdict; when there is more than
one run, a matrix (rows targets, columns specs) of verdict cells linking to
the runs' sections and a list of every problem; then one section per
(target, spec) run: its header (adapter, conventions, hyperparameters,
versions, seed, reproduction command) and its checks, problems first and
expanded, passing and skipped checks collapsed.
"""

from __future__ import annotations

import dataclasses
import numbers
import re
from typing import Any

from verify.evidence import Diagnosis, DiagnosisKind, StatTest, counterexample_rows, jsonable
from verify.report.plot import PlotView, build_plot
from verify.report.text import clean, fmt_num, fmt_value, headline
from verify.results import CheckResult, Report, RunResult, Status

__all__ = [
    "ReportView",
    "RunView",
    "CheckView",
    "MatrixRow",
    "MatrixCell",
    "ProblemLink",
    "StatTestView",
    "DiagnosisView",
    "build_view",
    "stat_test_view",
    "counterexample_view",
    "diagnosis_view",
    "LIMITS",
]

# How much of each target-controlled text the page keeps (characters).
LIMITS = {
    "name": 300,        # target names
    "headline": 300,
    "message": 20000,
    "diagnosis": 5000,
    "note": 8000,
    "output": 8000,
    "value": 1000,      # one counterexample value
    "command": 2000,
    "short": 200,       # check names, kinds, parameter values, versions
}
MAX_KEY_METRICS = 4
MAX_PROBLEM_LINKS = 30

# order of checks within a run: problems first, then passes, then skips
_RANK = {Status.FAIL: 0, Status.ERROR: 1, Status.TIMEOUT: 2, Status.INCONCLUSIVE: 3, Status.PASS: 4, Status.SKIP: 5}
_LABEL = {s: s.value.upper() for s in Status}
# metrics that say "by how much": shown first in a check's row
_KEY_HINTS = ("rel", "abs", "diff", "err", "ratio", "rate", "p_value", "effect", "worst", "max")
# how a metric is named on the page; any other name is shown with its underscores as spaces
METRIC_LABELS = {
    "max_abs_diff": "max |difference|",
    "max_rel_diff": "max relative difference",
    "max_rel_err": "max relative error",
    "max_rel_error": "max relative error",
    "worst_ratio": "largest difference / tolerance",
    "explicit_examples": "examples at the given hyperparameters",
    "drawn_examples": "examples drawn",
    "parting_step": "first step that differs",
    "matches": "matching variants",
    "closest": "closest variant",
    "function_evals": "evaluations of f",
    "final_over_initial": "final / initial",
    "measured_rate": "measured rate",
    "theory": "theoretical rate",
    "p_value": "p-value",
}


@dataclasses.dataclass
class Pair:
    key: str
    value: str


@dataclasses.dataclass
class StatTestView:
    name: str
    passed: bool | None
    n: str
    alpha: str
    p_value: str
    mde: str
    estimate: str
    expected: str
    effect: str
    method: str
    message: str


@dataclasses.dataclass
class DiagnosisView:
    text: str         # what the page shows: the diagnosis' text
    kind: str         # its DiagnosisKind's value ("" when unknown: a report older than schema 3)


@dataclasses.dataclass
class CheckView:
    anchor: str
    name: str
    kind: str
    status: str       # css class and badge: pass | fail | error | skip | timeout | inconclusive
    label: str        # PASS, FAIL, ...
    problem: bool
    open: bool
    headline: str
    key_metrics: list[Pair]
    metrics: list[Pair]
    message: str
    multiline: bool   # the message has more than its headline
    diagnosis: DiagnosisView | None
    counterexample: list[Pair]
    stat_tests: list[StatTestView]
    notes: list[str]
    output: str
    reproduction: str
    figures: list[PlotView]
    duration: str

    @property
    def has_details(self) -> bool:
        return bool(self.multiline or self.diagnosis or self.counterexample or self.stat_tests or self.notes
                    or self.output or self.reproduction or self.figures or self.metrics)


@dataclasses.dataclass
class RunView:
    anchor: str
    target: str
    spec: str
    status: str
    label: str
    incomplete: bool
    adapter: str
    mapping: list[str]
    params: list[Pair]
    hyperparameters: list[str]   # what was varied, what was held and why
    versions: list[Pair]
    seed: str
    command: str
    duration: str
    counts: list[Pair]   # non-zero status counts, as ("fail", "1")
    checks: list[CheckView]


@dataclasses.dataclass
class MatrixCell:
    runs: list[tuple[str, str, str]]  # (anchor, status, label) of each run of this (target, spec)


@dataclasses.dataclass
class MatrixRow:
    label: list[str]          # the row's name in pieces; a line may break between them
    cells: list[MatrixCell]


@dataclasses.dataclass
class ProblemLink:
    anchor: str
    status: str
    label: str
    target: str
    spec: str
    check: str
    headline: str
    key_metrics: list[Pair]


@dataclasses.dataclass
class ReportView:
    title: str
    verdict: str        # pass | fail | error | timeout | inconclusive | skip | incomplete | empty
    verdict_text: str
    incomplete: bool
    tool_version: str
    created: str
    seeds: str
    totals: list[Pair]
    n_runs: int
    n_checks: int
    specs: list[str]
    n_targets: int
    matrix_corner: str             # "target \ spec" or "spec \ target": what rows and columns are
    matrix_columns: list[list[str]]
    matrix: list[MatrixRow]
    show_matrix: bool
    problems: list[ProblemLink]
    more_problems: int
    runs: list[RunView]
    versions: list[Pair]   # versions common to every run (tool, python, target libraries)


def _list(v: Any) -> list[Any]:
    """A list field as a list (a lone string or mapping counts as one item)."""
    if v is None:
        return []
    if isinstance(v, (str, bytes, dict)):
        return [v]
    try:
        return list(v)
    except TypeError:
        return [v]


def _dict(v: Any) -> dict[Any, Any]:
    return v if isinstance(v, dict) else ({} if v is None else {"value": v})


def _num(v: Any) -> str:
    return fmt_num(v, 4)


def counterexample_view(cx: Any) -> list[Pair]:
    """A counterexample's rows: each input by name, its value as the JSON holds it (so a report shows the same
    before and after a round trip through a file or a worker), abbreviated (:func:`fmt_value`)."""
    return [Pair(clean(k, LIMITS["short"], oneline=True), fmt_value(jsonable(v), LIMITS["value"]))
            for k, v in counterexample_rows(cx)]


def _is_number(v: Any) -> bool:
    return (isinstance(v, numbers.Real) and not isinstance(v, bool)) or (isinstance(v, str) and v in ("nan", "inf", "-inf"))


def metric_label(name: str) -> str:
    """A metric's name as a person reads it."""
    return METRIC_LABELS.get(name, name.replace("_", " "))


def _metric_pairs(metrics: Any) -> list[tuple[str, Pair, bool]]:
    """Every metric as (name, (label, formatted value), whether it is a number)."""
    if not isinstance(metrics, dict):
        return []
    out = []
    for k, v in metrics.items():
        name = clean(k, LIMITS["short"], oneline=True)
        value = _num(v) if (isinstance(v, numbers.Real) and not isinstance(v, bool)) or v is None else fmt_value(v, 300)
        out.append((name, Pair(metric_label(name), value), _is_number(v)))
    return out


def _key_metrics(metrics: list[tuple[str, Pair, bool]]) -> list[Pair]:
    """The numbers shown in a check's row: those that say by how much first, at most four."""
    numbers = [(name, p) for name, p, is_number in metrics if is_number]
    hinted = [p for name, p in numbers if any(h in name.lower() for h in _KEY_HINTS)]
    rest = [p for _, p in numbers if p not in hinted]
    return (hinted + rest)[:MAX_KEY_METRICS]


def stat_test_view(t: Any) -> StatTestView:
    """A statistical test's row. Every field is checked and cleaned: a report read back from JSON holds what a
    worker wrote, which a hostile target may have shaped (a field missing is ``None``)."""
    if not isinstance(t, StatTest):
        return StatTestView(clean(t, 200), None, "", "", "", "", "", "", "", "", "")
    mde = _num(t.mde)
    if t.mde_unit:
        mde += " " + clean(t.mde_unit, 80, oneline=True)
    effect = _num(t.effect) if t.effect is not None else ""
    if effect and t.effect_unit:
        effect += " " + clean(t.effect_unit, 80, oneline=True)
    return StatTestView(
        name=clean(t.name, LIMITS["short"], oneline=True),
        passed=t.passed if isinstance(t.passed, bool) else None,
        n=_num(t.n),
        alpha=_num(t.alpha),
        p_value=_num(t.p_value),
        mde=mde,
        estimate=_num(t.estimate),
        expected=_num(t.expected),
        effect=effect,
        method=clean(t.method, 300, oneline=True),
        message=clean(t.message, 1000),
    )


def diagnosis_view(d: Any) -> DiagnosisView | None:
    """A check's diagnosis for the page (``None`` without one); any value a malformed report holds is shown
    as cleaned text."""
    if not d:
        return None
    kind = d.kind if isinstance(d, Diagnosis) and isinstance(d.kind, DiagnosisKind) else None
    return DiagnosisView(clean(d, LIMITS["diagnosis"]), kind.value if kind is not None else "")


def _as_stat_test(t: Any) -> Any:
    """``t`` as a :class:`StatTest` when it is one or the JSON of one (a report built by hand may hold dicts)."""
    return StatTest.from_dict(t) if isinstance(t, dict) else t


def _check_view(c: CheckResult, anchor: str) -> CheckView:
    status = c.status if isinstance(c.status, Status) else Status(c.status)
    message = clean(c.message, LIMITS["message"])
    head = headline(c.message, LIMITS["headline"])
    metrics = _metric_pairs(c.metrics)
    problem = status.is_problem
    return CheckView(
        anchor=anchor,
        name=clean(c.name, LIMITS["short"], oneline=True),
        kind=clean(c.kind, LIMITS["short"], oneline=True),
        status=status.value,
        label=_LABEL[status],
        problem=problem,
        open=problem or status is Status.INCONCLUSIVE,
        headline=head,
        key_metrics=_key_metrics(metrics),
        metrics=[p for _, p, _ in metrics],
        message=message,
        multiline=message.strip() != head,
        diagnosis=diagnosis_view(c.diagnosis),
        counterexample=counterexample_view(c.counterexample),
        stat_tests=[stat_test_view(_as_stat_test(t)) for t in _list(c.stat_tests)],
        notes=[clean(n, LIMITS["note"]) for n in _list(c.notes) if str(n).strip()],
        output=clean(c.output, LIMITS["output"]) if c.output else "",
        reproduction=clean(c.reproduction, LIMITS["command"]) if c.reproduction else "",
        figures=[build_plot(f) for f in _list(c.figures)],
        duration=_duration(c.duration),
    )


def _duration(seconds: Any) -> str:
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return ""
    if s != s or s < 0:
        return ""
    return f"{s:.2f} s" if s < 100 else f"{s:.0f} s"


def _run_status(run: RunResult) -> tuple[str, str]:
    if run.incomplete:
        return "incomplete", "INCOMPLETE"
    return run.status.value, _LABEL[run.status]


def _run_view(run: RunResult, i: int) -> RunView:
    anchor = f"run-{i}"
    order = sorted(range(len(run.checks)), key=lambda j: (_RANK.get(run.checks[j].status, 9), j))
    checks = [_check_view(run.checks[j], f"{anchor}-check-{j}") for j in order]
    status, label = _run_status(run)
    counts = [Pair(k, str(v)) for k, v in run.counts().items() if v]
    return RunView(
        anchor=anchor,
        target=clean(run.target, LIMITS["name"], oneline=True),
        spec=clean(run.spec, LIMITS["short"], oneline=True),
        status=status,
        label=label,
        incomplete=bool(run.incomplete),
        adapter=clean(run.adapter, 500, oneline=True),
        mapping=[clean(m, 500) for m in _list(run.mapping)],
        params=[Pair(clean(k, LIMITS["short"], oneline=True), fmt_value(v, LIMITS["short"]))
                for k, v in _dict(run.params).items()],
        hyperparameters=[clean(m, 500) for m in _list(getattr(run, "hyperparameters", []))],
        versions=[Pair(clean(k, LIMITS["short"], oneline=True), clean(v, LIMITS["short"], oneline=True))
                  for k, v in _dict(run.versions).items()],
        seed=str(run.seed),
        command=clean(run.command, LIMITS["command"]),
        duration=_duration(run.duration),
        counts=counts,
        checks=checks,
    )


def _breakable(name: str) -> list[str]:
    """``name`` cleaned and cut after each ``/ : . _ -``: a long path wraps there, never inside a word."""
    return [piece for piece in re.split(r"(?<=[/:._\-])", clean(name, LIMITS["name"], oneline=True)) if piece]


def _verdict(report: Report) -> tuple[str, str]:
    n_bad = sum(1 for r in report.runs for c in r.checks if c.status.is_problem)
    if report.incomplete or any(r.incomplete for r in report.runs):
        extra = f"; {n_bad} problem(s) so far" if n_bad else ""
        return "incomplete", f"Incomplete: the run was interrupted{extra}"
    if not report.runs:
        return "empty", "Nothing was checked"
    statuses = {r.status for r in report.runs}
    for s in (Status.FAIL, Status.ERROR, Status.TIMEOUT):
        if s in statuses:
            n_checks = sum(len(r.checks) for r in report.runs)
            return s.value, f"{n_bad} of {n_checks} checks found a problem"
    if statuses == {Status.SKIP}:
        return "skip", "Every check was skipped"
    if Status.INCONCLUSIVE in statuses:
        n = sum(1 for r in report.runs for c in r.checks if c.status is Status.INCONCLUSIVE)
        return "inconclusive", f"No problem found, but {n} check(s) could not decide"
    return "pass", "Every check passed"


def build_view(report: Report) -> ReportView:
    """The presentation model of ``report`` (pure; the same report gives the same view)."""
    runs = [_run_view(r, i) for i, r in enumerate(report.runs)]
    targets = list(dict.fromkeys(r.target for r in report.runs))
    specs = list(dict.fromkeys(r.spec for r in report.runs))
    by_pair: dict[tuple[str, str], list[RunView]] = {}
    for raw, view in zip(report.runs, runs):
        by_pair.setdefault((raw.target, raw.spec), []).append(view)
    # The longer list runs down the page, so that many specs (or targets) never widen it.
    rows_are_specs = len(specs) > len(targets)
    row_names, column_names = (specs, targets) if rows_are_specs else (targets, specs)

    def cell(row: str, column: str) -> MatrixCell:
        pair = (column, row) if rows_are_specs else (row, column)
        return MatrixCell([(v.anchor, v.status, v.label) for v in by_pair.get(pair, [])])

    matrix = [MatrixRow(_breakable(r), [cell(r, c) for c in column_names]) for r in row_names]
    problems = [
        ProblemLink(c.anchor, c.status, c.label, r.target, r.spec, c.name, c.headline, c.key_metrics)
        for r in runs for c in r.checks if c.problem
    ]
    totals: dict[str, int] = {s.value: 0 for s in Status}
    for r in report.runs:
        for k, v in r.counts().items():
            totals[k] += v
    verdict, verdict_text = _verdict(report)
    seeds = sorted({r.seed for r in report.runs}, key=lambda s: (str(type(s)), s))
    # versions shown once in the header when every run agrees on them
    common: list[Pair] = []
    if runs:
        first = runs[0].versions
        common = [p for p in first if all(p in r.versions for r in runs[1:])]
    if report.tool_version and not any(p.key == "dlverify" for p in common):
        common.insert(0, Pair("dlverify", clean(report.tool_version, LIMITS["short"], oneline=True)))
    if len(runs) == 1:
        title_subject = f"{runs[0].target} :: {runs[0].spec}"
    else:
        title_subject = f"{len(targets)} target(s) \u00d7 {len(specs)} spec(s)"
    return ReportView(
        title=f"{verdict.upper()} \u2014 {title_subject} \u2014 dlverify report",
        verdict=verdict,
        verdict_text=verdict_text,
        incomplete=bool(report.incomplete),
        tool_version=clean(report.tool_version, LIMITS["short"], oneline=True),
        created=clean(report.created, 100, oneline=True),
        seeds=", ".join(str(s) for s in seeds),
        totals=[Pair(k, str(v)) for k, v in totals.items() if v],
        n_runs=len(runs),
        n_checks=sum(len(r.checks) for r in runs),
        specs=[clean(s, LIMITS["short"], oneline=True) for s in specs],
        n_targets=len(targets),
        matrix_corner="spec \\ target" if rows_are_specs else "target \\ spec",
        matrix_columns=[_breakable(c) for c in column_names],
        matrix=matrix,
        show_matrix=len(runs) > 1,
        problems=problems[:MAX_PROBLEM_LINKS],
        more_problems=max(0, len(problems) - MAX_PROBLEM_LINKS),
        runs=runs,
        versions=common,
    )
