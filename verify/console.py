"""Terminal rendering: a progress line per check, failure details, a summary table.

All text that may come from a target (names, messages, printed output) goes
through :func:`safe`, which removes terminal control sequences and bounds the
length, so a hostile target cannot garble the terminal.
"""

from __future__ import annotations

import sys
from typing import TextIO

from verify.evidence import counterexample_rows
from verify.results import CheckResult, Report, RunResult, Status
from verify.text import clip

__all__ = ["safe", "ConsoleReporter", "format_failure", "diagnosis_line", "summary_table"]

_LABEL = {
    Status.PASS: "PASS",
    Status.FAIL: "FAIL",
    Status.ERROR: "ERROR",
    Status.SKIP: "SKIP",
    Status.TIMEOUT: "TIMEOUT",
    Status.INCONCLUSIVE: "INCONCLUSIVE",
}
_COLOUR = {Status.PASS: "32", Status.FAIL: "31", Status.ERROR: "31", Status.SKIP: "33", Status.TIMEOUT: "35",
           Status.INCONCLUSIVE: "36"}


def safe(text: object, limit: int = 2000) -> str:
    """Text safe for the terminal (:func:`verify.text.sanitise`), at most ``limit`` characters."""
    return clip(text, limit)


def _first_line(text: str, width: int = 100) -> str:
    line = safe(text, 4000).strip().split("\n", 1)[0]
    return line if len(line) <= width else line[: width - 3] + "..."


class ConsoleReporter:
    """Prints one line per check as it finishes, like pytest's verbose mode."""

    def __init__(self, stream: TextIO | None = None, colour: bool | None = None, verbose: bool = False):
        self.stream = stream or sys.stdout
        self.colour = self.stream.isatty() if colour is None else colour
        self.verbose = verbose

    def _paint(self, text: str, status: Status) -> str:
        return f"\x1b[{_COLOUR[status]}m{text}\x1b[0m" if self.colour else text

    def write(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def run_header(self, target: str, spec: str, seed: int) -> None:
        self.write(f"{safe(target, 200)} :: {spec} (seed {seed})")

    def check_done(self, result: CheckResult) -> None:
        label = self._paint(f"{_LABEL[result.status]:<7}", result.status)
        self.write(f"  {label} {result.name:<34} {result.duration:6.2f}s  {_first_line(result.message)}")

    def run_done(self, run: RunResult) -> None:
        # These lines say what a pass is conditional on: shown whole (the cap only bounds what a target
        # could inject through the values read from it; a torch constructor call runs to ~400 characters).
        if run.held:
            lines = [safe(line, 1000) for line in run.hyperparameters]
            self.write("  hyperparameters: " + "\n                   ".join(lines))
        if run.mapping:      # how the target was called: the conventions a pass is conditional on
            lines = [safe(line, 1000) for line in run.mapping]
            self.write("  conventions:     " + "\n                   ".join(lines))
        for c in run.checks:
            if c.status.is_problem or c.status is Status.INCONCLUSIVE or (self.verbose and c.status is Status.SKIP):
                self.write(format_failure(run, c))
        if run.incomplete:
            self.write("  (interrupted: the run is incomplete)")

    def report_done(self, report: Report) -> None:
        self.write(summary_table(report))


def format_failure(run: RunResult, c: CheckResult) -> str:
    """The full story of one failing check: message, numbers, diagnosis, reproduction."""
    bar = "_" * 8
    lines = [f"{bar} {safe(run.target, 200)} :: {run.spec} :: {c.name} [{c.status.value}] {bar}"]
    lines.append(safe(c.message, 6000))
    diagnosis = diagnosis_line(c)
    if diagnosis:
        lines.append(diagnosis)
    if c.counterexample:
        lines.append("Counterexample:")
        for k, v in counterexample_rows(c.counterexample):
            lines.append(f"  {k} = {safe(v, 500)}")
    for note in c.notes:
        lines.append(safe(note, 2000))
    if c.output:
        lines.append("The target printed:")
        lines.append(_indent(safe(c.output, 2000)))
    if c.reproduction:
        lines.append(f"Reproduce: {safe(c.reproduction, 1000)}")
    return "\n".join(lines)


def diagnosis_line(c: CheckResult) -> str | None:
    """The terminal's line for a check's diagnosis; ``None`` without one, or when the message already holds
    it (some checks' reports include it)."""
    if not c.diagnosis or str(c.diagnosis) in str(c.message):
        return None
    return f"Diagnosis: {safe(c.diagnosis)}"


def _indent(text: str) -> str:
    return "\n".join("  | " + line for line in text.splitlines())


def summary_table(report: Report) -> str:
    """One row per run: target, spec, counts per status, verdict."""
    statuses = [Status.PASS, Status.FAIL, Status.ERROR, Status.TIMEOUT, Status.SKIP]
    if any(c.status is Status.INCONCLUSIVE for r in report.runs for c in r.checks):
        statuses.append(Status.INCONCLUSIVE)
    head = ("target", "spec", *(s.value for s in statuses), "verdict")
    rows = [head]
    for r in report.runs:
        c = r.counts()
        verdict = "INCOMPLETE" if r.incomplete else r.status.value.upper()
        rows.append((_tail(safe(r.target, 1000), 60), r.spec, *(str(c[s.value]) for s in statuses), verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    out = ["", "Summary"]
    for i, row in enumerate(rows):
        out.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
        if i == 0:
            out.append("  " + "  ".join("-" * w for w in widths))
    total = sum(len(r.checks) for r in report.runs)
    bad = sum(1 for r in report.runs for c in r.checks if c.status.is_problem)
    unsure = sum(1 for r in report.runs for c in r.checks if c.status is Status.INCONCLUSIVE)
    verdict = "incomplete" if report.incomplete else ("all passed" if bad == 0 else f"{bad} problem(s)")
    if unsure and not report.incomplete:
        verdict = ("no problem found" if bad == 0 else verdict) + f", {unsure} inconclusive"
    out.append(f"{len(report.runs)} run(s), {total} check(s): {verdict}")
    return "\n".join(out)


def _tail(text: str, width: int) -> str:
    """``text`` in ``width`` characters, its start elided: a target's file and name are at its end."""
    return text if len(text) <= width else "…" + text[-(width - 1):]
