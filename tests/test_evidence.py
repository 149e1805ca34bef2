"""Typed evidence: records that serialise themselves, a check result wrapping its outcome, one number formatter."""

import json

import numpy as np
import pytest

from verify import stats
from verify.evidence import Counterexample, Figure, Outcome, Series, StatTest, failed, passed
from verify.numbers import format_number, format_p, format_percent, format_short
from verify.report.model import build_view, counterexample_view, stat_test_view
from verify.report.plot import PLOT_KINDS, PlotKind, build_plot
from verify.report.text import fmt_num
from verify.results import CHECK_LAYOUT, SCHEMA, CheckResult, Report, RunResult, Status
from verify.specs.base import Family, Kind


def _std_test() -> StatTest:
    x = np.random.default_rng(1).normal(0.0, 0.0625, size=4000)
    return stats.std_test(x, 0.0625, alpha=1e-6)


def test_a_check_result_wraps_its_outcome_instead_of_copying_it():
    outcome = failed("iterates differ", metrics={"max_rel_err": 0.2}, counterexample={"w0": [1.0, 2.0]},
                     diagnosis="ε inside the root", notes=["n"], stat_tests=[_std_test()])
    result = CheckResult("update-rule", Kind.REFERENCE, outcome, reproduction="verify check x", duration=0.5)
    assert result.outcome is outcome
    assert result.status is Status.FAIL and result.message == "iterates differ"
    assert result.counterexample["w0"] == [1.0, 2.0] and result.diagnosis == "ε inside the root"
    result.message = "out of memory\n" + result.message      # what the runner does: written through to the outcome
    assert outcome.message.startswith("out of memory")
    with pytest.raises(TypeError, match="not both"):
        CheckResult("c", Kind.REFERENCE, outcome, "a message too")


def test_the_json_of_a_wrapped_outcome_is_the_flat_layout():
    t = _std_test()
    wrapped = CheckResult("std", Kind.STATISTICAL, passed("σ matches", stat_tests=[t], counterexample={"n": 3}))
    flat = CheckResult("std", "statistical", Status.PASS, "σ matches", stat_tests=[t.to_dict()],
                       counterexample={"n": 3})
    assert list(wrapped.to_dict()) == list(CHECK_LAYOUT)
    assert json.dumps(wrapped.to_dict()) == json.dumps(flat.to_dict())
    assert json.dumps(Kind.STATISTICAL) == '"statistical"' and Family.OPTIMIZER == "optimizer"


def test_a_stat_test_round_trips_and_shows_the_same_from_its_json():
    t = _std_test()
    again = StatTest.from_dict(json.loads(json.dumps(t.to_dict())))
    assert again.to_dict() == t.to_dict()
    assert again.p_value == t.p_value and again.passed is t.passed and again.mde_unit == t.mde_unit
    view = stat_test_view(t)
    assert view == stat_test_view(again)
    assert view.passed is True and view.n == "4000" and view.mde.endswith(t.mde_unit)
    # it reads as its JSON too, as the dicts results carried before schema 2
    assert t["p_value"] == t.p_value and set(t) == set(t.to_dict()) and "mde_fn" not in t


def test_a_partial_stat_test_is_written_back_as_it_was_read():
    d = {"name": "std", "p_value": 0.5}
    t = StatTest.from_dict(d)
    assert t.to_dict() == d and t.statistic is None
    view = stat_test_view(t)
    assert (view.name, view.p_value, view.n, view.effect, view.passed) == ("std", "0.5", "\u2014", "", None)
    assert stat_test_view("not a test").name == "not a test"


def test_a_counterexample_is_a_mapping_serialised_like_the_dict_it_came_from():
    given = {"w": np.array([1.0, np.nan]), "lam": 0.5}
    cx = Outcome(Status.FAIL, "m", counterexample=given).counterexample
    assert isinstance(cx, Counterexample) and cx["lam"] == 0.5 and "w" in cx and list(cx) == ["w", "lam"]
    assert cx.to_dict() == {"w": [1.0, "nan"], "lam": 0.5}
    assert [(p.key, p.value) for p in counterexample_view(cx)] == [("w", "[1, nan]"), ("lam", "0.5")]
    assert [(p.key, p.value) for p in counterexample_view("w=1")] == [("value", "w=1")]


def test_a_report_of_schema_1_is_still_read():
    run = RunResult("t", "l2", 0, {}, checks=[CheckResult("c", "symbolic", Status.PASS, "ok")])
    d = Report(runs=[run]).to_dict()
    assert d["schema"] == SCHEMA == "dlverify.report/2"
    d["schema"] = "dlverify.report/1"
    assert Report.from_dict(d).runs[0].checks[0].message == "ok"


def test_a_new_plot_kind_is_one_registry_entry(monkeypatch):
    fig = Figure("rates", "step", "error", [Series("measured", [1, 2, 3], [3.0, 2.0, 1.0]),
                                           Series("bound", [1, 3], [3.0, 1.0], style="dashed")], kind="scatter")
    assert build_plot(fig).notes == ["unknown figure kind 'scatter'; drawn as lines."]
    monkeypatch.setitem(PLOT_KINDS, "scatter", PlotKind("scatter", points=True))
    view = build_plot(fig)
    assert view.notes == [] and view.kind == "scatter"
    assert [layer.draw for layer in view.layers] == ["points", "line"]   # dashed series stay lines


def test_every_plot_kind_is_documented_for_users():
    from pathlib import Path
    doc = (Path(__file__).parent.parent / "docs" / "reports.md").read_text()
    assert all(f'`kind="{k}"`' in doc for k in PLOT_KINDS)


def test_the_one_number_formatter_and_its_settings():
    # messages (numpy.testing-like): plain in [1e-3, 1e5), else scientific with three decimals
    assert [format_number(v) for v in (0.5, 1e-9, 123456.0, 3, True, float("-inf"))] == [
        "0.5", "1.000e-09", "1.235e+05", "3", "True", "-inf"]
    # statistical messages, p-values, percentages
    assert (format_short(5e-4, 3), format_short(0.0123456), format_p(1.7e-07), format_p(0.41)) == (
        "5.0e-04", "0.01235", "1.7e-07", "0.41")
    assert (format_percent(-0.047), format_percent(0.047, signed=False)) == ("-4.70 %", "4.70 %")
    # table cells (%g): the page's rule
    assert [fmt_num(v) for v in (1e-8, 1234567.0, 123456.0, np.int64(7))] == ["1e-08", "1.235e+06", "123456", "7"]


def test_the_page_shows_typed_evidence_from_a_report_read_back_from_json():
    t = _std_test()
    run = RunResult("t", "init-he", 0, {}, checks=[CheckResult("std", Kind.STATISTICAL, failed(
        "σ off", stat_tests=[t], counterexample={"shape": [512, 256]}))])
    again = Report.from_json(Report(runs=[run]).to_json())
    check = again.runs[0].checks[0]
    assert isinstance(check.stat_tests[0], StatTest) and isinstance(check.counterexample, Counterexample)
    assert build_view(again).runs[0].checks[0].stat_tests == build_view(Report(runs=[run])).runs[0].checks[0].stat_tests
