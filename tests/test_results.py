"""The result model: statuses, aggregation, strict JSON round trip."""

import json

import numpy as np

from verify.results import CheckResult, Figure, Report, RunResult, Series, Status, jsonable


def _run(*statuses):
    return RunResult("t", "l2", 0, {"lam": 0.01},
                     checks=[CheckResult(f"c{i}", "symbolic", s) for i, s in enumerate(statuses)])


def test_run_status_is_the_worst_problem():
    assert _run(Status.PASS, Status.SKIP).status is Status.PASS
    assert _run(Status.PASS, Status.TIMEOUT).status is Status.TIMEOUT
    assert _run(Status.ERROR, Status.FAIL).status is Status.FAIL
    assert _run(Status.SKIP, Status.SKIP).status is Status.SKIP
    assert _run(Status.PASS, Status.SKIP).passed and not _run(Status.ERROR).passed


def test_inconclusive_is_neither_a_pass_nor_a_problem():
    run = _run(Status.PASS, Status.INCONCLUSIVE, Status.SKIP)
    assert run.status is Status.INCONCLUSIVE and not Status.INCONCLUSIVE.is_problem
    assert run.passed                               # exit status 0: no problem was found
    assert _run(Status.INCONCLUSIVE, Status.FAIL).status is Status.FAIL
    assert run.counts()["inconclusive"] == 1
    again = RunResult.from_dict(json.loads(json.dumps(run.to_dict())))
    assert [c.status for c in again.checks] == [Status.PASS, Status.INCONCLUSIVE, Status.SKIP]


def test_inconclusive_is_shown_with_its_reason_in_terminal_and_html():
    from verify.console import ConsoleReporter
    from verify.report import render_html
    import io

    run = _run(Status.PASS)
    run.checks.append(CheckResult("gradient", "gradient", Status.INCONCLUSIVE,
                                  "no sharp estimator along 2 directions: f is not smooth there; try mode='full'"))
    out = io.StringIO()
    reporter = ConsoleReporter(out, colour=False)
    reporter.run_done(run)
    reporter.report_done(Report(runs=[run]))
    text = out.getvalue()
    assert "[inconclusive]" in text and "try mode='full'" in text
    assert "inconclusive" in text.splitlines()[-4] and "no problem found, 1 inconclusive" in text
    page = render_html(Report(runs=[run]))
    assert "could not decide" in page and "s-inconclusive" in page


def test_incomplete_run_does_not_pass():
    run = _run(Status.PASS)
    run.incomplete = True
    assert not run.passed and not Report(runs=[run]).passed


def test_jsonable_makes_strict_json_from_numpy_and_non_finite_values():
    value = {"a": np.float32(1.5), "b": np.array([1.0, np.nan, -np.inf]), "c": (np.int64(3),), "d": 1 + 2j}
    out = jsonable(value)
    assert out == {"a": 1.5, "b": [1.0, "nan", "-inf"], "c": [3], "d": {"real": 1.0, "imag": 2.0}}
    json.dumps(out, allow_nan=False)


def test_report_round_trips_through_json():
    check = CheckResult("conformance", "conformance", Status.FAIL, "iterates differ", metrics={"max": np.float64(2.0)},
                        counterexample={"g": np.array([1.0, 2.0])}, reproduction="verify check x --spec adam --seed 3",
                        diagnosis="matches adam with ε inside", notes=["n"], stat_tests=[{"name": "std", "p_value": 0.5}],
                        figures=[Figure("trajectory", "step", "|w − w*|", [Series("target", [0, 1], [1.0, 0.5])],
                                        yscale="log", markers=[{"x": 1, "label": "parts"}])],
                        output="printed", duration=0.25)
    report = Report(runs=[RunResult("my.py:Adam", "adam", 3, {"lr": 0.001}, checks=[check], adapter="numpy",
                                    mapping=["m"], versions={"numpy": "2"}, command="verify ...")],
                    tool_version="0.1.0", created="2026-01-01T00:00:00+00:00")
    text = report.to_json()
    again = Report.from_json(text)
    assert again.to_json() == text
    assert again.runs[0].checks[0].figures[0].series[0].y == [1.0, 0.5]
    assert json.loads(text)["runs"][0]["status"] == "fail"


def test_from_json_refuses_other_documents():
    import pytest
    with pytest.raises(ValueError, match="not a dlverify report"):
        Report.from_json('{"schema": "other"}')
