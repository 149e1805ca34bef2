"""The real-world corpus (tests/realworld/): correct implementations pass, planted bugs are caught and named.

Each case is an implementation paraphrased from a public source or written
the way course code is, with the thinnest wrapper docs/protocols.md asks
for. The verdicts asserted are the issue's acceptance: no correct
implementation rejected (no check fails or errors; ``inconclusive`` only where
the case says why), every bug caught by the checks named, and the diagnosis
naming the cause.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.realworld.corpus import HERE, all_cases
from verify.runner import RunOptions, RunPlan, run_inline

CASES = all_cases()
OPTS = RunOptions(seed=0, timeout=None, max_examples=30)
ROOT = HERE.parent.parent


def _statuses(run) -> dict[str, str]:
    return {c.name: c.status.value for c in run.checks}


def _diagnoses(run) -> str:
    return " | ".join(c.diagnosis for c in run.checks if c.diagnosis)


@pytest.mark.parametrize("case", [c for c in CASES if c.correct], ids=lambda c: c.name)
def test_correct_implementation_is_not_rejected(case):
    run = run_inline(RunPlan(case.target, case.spec, case.params, OPTS, target_name=case.name))
    statuses = _statuses(run)
    rejected = {k: v for k, v in statuses.items() if v in ("fail", "error", "timeout")}
    assert not rejected, (case.source, [(c.name, c.message[:400], c.diagnosis) for c in run.checks
                                        if c.name in rejected])
    undecided = {k for k, v in statuses.items() if v == "inconclusive"}
    assert undecided == set(case.inconclusive), [(c.name, c.message[:300]) for c in run.checks
                                                 if c.name in undecided ^ set(case.inconclusive)]


@pytest.mark.parametrize("case", [c for c in CASES if not c.correct], ids=lambda c: c.name)
def test_bug_is_caught_and_named(case):
    run = run_inline(RunPlan(case.target, case.spec, case.params, OPTS, target_name=case.name))
    failed = {k for k, v in _statuses(run).items() if v == "fail"}
    assert case.must_fail <= failed, (case.bug, [(c.name, c.status.value, c.message[:300]) for c in run.checks])
    text = _diagnoses(run)
    for words in case.diagnosis:
        assert words in text, (case.bug, text)


def test_corpus_size_and_diagnosis_rate():
    # The acceptance figures: every buggy case names its cause in a diagnosis (the cases without expected words
    # are counted as unnamed), at least 4 in 5 overall.
    bugs = [c for c in CASES if not c.correct]
    named = [c for c in bugs if c.diagnosis]
    assert len(CASES) >= 60 and len(bugs) >= 25
    assert len(named) / len(bugs) >= 0.8, f"{len(named)} of {len(bugs)} bugs have a diagnosis asserted"
    families = {c.spec for c in CASES}
    assert {"batchnorm", "init-he", "init-xavier", "init-lecun", "l1", "l2", "newton"} <= families


@pytest.mark.parametrize("case", [c for c in CASES if c.cli], ids=lambda c: c.name)
def test_cli_gives_the_same_verdict(case, tmp_path):
    # The same cases through `verify check TARGET --spec SPEC`, as a user runs them.
    report = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "verify", "check", case.cli, "--spec", case.spec, "--seed", "0",
           "--max-examples", "30", "--json", str(report), "--no-isolation"]
    for k, v in case.params.items():
        cmd += ["--param", f"{k}={v}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    data = json.loads(report.read_text())
    statuses = {c["name"]: c["status"] for r in data["runs"] for c in r["checks"]}
    if case.correct:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert not {k for k, v in statuses.items() if v in ("fail", "error")}, statuses
    else:
        assert proc.returncode == 1 and case.must_fail <= {k for k, v in statuses.items() if v == "fail"}
