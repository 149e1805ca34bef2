"""Typed evidence: records that serialise themselves, a check result wrapping its outcome, one number formatter."""

import json

import numpy as np
import pytest

from verify import stats
from verify.evidence import (Candidate, Counterexample, Diagnosis, DiagnosisKind, Figure, HyperparameterFit, Outcome,
                             Series, StatTest, failed, passed)
from verify.numbers import format_number, format_p, format_percent, format_short
from verify.report.model import build_view, counterexample_view, diagnosis_view, stat_test_view
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
    assert d["schema"] == SCHEMA == "dlverify.report/3"
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


# ------------------------------------------------------------------- diagnoses


def _diagnosis() -> Diagnosis:
    named = Candidate("adam/eps-inside", "adam with ε inside the square root", 0.0, 0.0)
    runner_up = Candidate("adam/eps-hat", "adam with ε-hat", 4.5e-3, float("inf"))
    fit = HyperparameterFit("eps", 1e-6, 1e-8, 2e-4, 7.5, "eps = 1e-06 instead of 1e-08")
    return Diagnosis("matches adam with ε inside the square root (a known variant or bug; max difference 0)",
                     DiagnosisKind.VARIANT, candidates=[named, runner_up], fit=fit, findings=["only the first step"])


def test_a_diagnosis_reads_as_its_text_and_holds_its_evidence():
    d = _diagnosis()
    assert isinstance(d, str) and d.startswith("matches adam") and d.text == str(d)
    assert d.match.name == "adam/eps-inside" and d.runner_up.name == "adam/eps-hat"
    assert d.matched_names == ["adam/eps-inside"] and d.closest is d.match
    assert d.dropped is None and not d.fit.exact
    with pytest.raises(AttributeError):
        d.kind = DiagnosisKind.NO_MATCH
    assert Diagnosis("", DiagnosisKind.NO_MATCH).text is None


def test_a_diagnosis_round_trips_through_a_report_and_a_pickle():
    import pickle

    outcome = failed("iterates differ", diagnosis=_diagnosis())
    run = RunResult("t", "adam", 0, {}, checks=[CheckResult("conformance", "conformance", outcome)])
    d = json.loads(Report(runs=[run]).to_json())["runs"][0]["checks"][0]
    assert d["diagnosis"] == str(_diagnosis())                 # the text, where it always was
    assert d["diagnosis_detail"]["kind"] == "variant"
    assert d["diagnosis_detail"]["candidates"][1]["ratio"] == "inf"      # strict JSON
    back = CheckResult.from_dict(d).diagnosis
    for copy in (back, pickle.loads(pickle.dumps(_diagnosis()))):
        assert isinstance(copy, Diagnosis) and copy == _diagnosis()
        assert (copy.kind, copy.candidates, copy.fit, copy.findings) == \
            (DiagnosisKind.VARIANT, _diagnosis().candidates, _diagnosis().fit, ("only the first step",))


def test_a_check_s_text_is_a_finding_and_no_diagnosis_has_no_detail():
    d = failed("x", diagnosis="the weights are not independent").to_dict()
    assert d["diagnosis"] == "the weights are not independent" and d["diagnosis_detail"]["kind"] == "finding"
    for none in (None, ""):
        d = failed("x", diagnosis=none).to_dict()
        assert d["diagnosis"] == none and d["diagnosis_detail"] is None
    c = CheckResult("c", "reference", Status.FAIL, "x")
    c.diagnosis = "set as text afterwards"                    # the runner and the tests may
    assert c.to_dict()["diagnosis_detail"]["kind"] == "finding"


def test_a_diagnosis_of_an_older_report_or_a_malformed_one_is_its_text():
    run = RunResult("t", "adam", 0, {}, checks=[CheckResult("c", "conformance", Status.FAIL, "x", diagnosis="why")])
    d = Report(runs=[run]).to_dict()
    d["schema"] = "dlverify.report/2"
    check = d["runs"][0]["checks"][0]
    del check["diagnosis_detail"]
    read = Report.from_dict(d).runs[0].checks[0].diagnosis
    assert read == "why" and isinstance(read, Diagnosis) and read.kind is None and read.candidates == ()
    check["diagnosis_detail"] = {"kind": "cosmic", "candidates": [{"name": 3, "ratio": "x"}, "junk"], "fit": [1],
                                 "findings": ["f", 2]}
    read = Report.from_dict(d).runs[0].checks[0].diagnosis
    assert read.kind is None and read.fit is None and read.findings == ("f",)
    assert read.candidates[0].name == "" and not read.candidates[0].matched       # NaN ratio: no match
    assert diagnosis_view(read).text == "why" and diagnosis_view(None) is None
    assert diagnosis_view({"not": "text"}).text == "{'not': 'text'}"


def test_the_views_show_a_diagnosis_as_the_text_they_showed_before():
    from verify.console import format_failure

    text = str(_diagnosis())
    run = RunResult("t", "adam", 0, {}, checks=[CheckResult("c", "conformance", failed("x", diagnosis=_diagnosis()))])
    assert f"\nDiagnosis: {text}\n" in format_failure(run, run.checks[0]) + "\n"
    view = build_view(Report(runs=[run])).runs[0].checks[0].diagnosis
    assert (view.text, view.kind) == (text, "variant")


# ------------------------------------------------------- statistical tests' details


def _one_test_of_each_kind() -> list[StatTest]:
    rng = np.random.default_rng(4)
    x = rng.normal(0.0, 0.5, size=(40, 50))
    u = rng.uniform(-0.5 * 3 ** 0.5, 0.5 * 3 ** 0.5, size=2000)
    tests = [
        stats.mean_test(x.ravel(), 0.0, 0.5),
        stats.mean_value_test(rng.chisquare(3, 500) / 3, 1.0),
        stats.two_hypotheses_test(rng.chisquare(3, 500) / 3, 1.0, 0.75, labels=("unbiased", "biased")),
        stats.std_test(x.ravel(), 0.5),
        stats.shape_test(x.ravel(), "truncated_normal", (0.45, 0.55)),
        stats.support_test(u, "uniform", (0.49, 0.51)),
        stats.correlation_test(x),
        stats.correlation_test(np.vstack([x[:3], np.ones((1, 50))])),           # a constant row
        stats.serial_correlation_test(x.ravel()),
        stats.serial_correlation_test(np.zeros(30)),                          # a constant sample: no details
    ]
    return tests + stats.apply_holm(tests[:2])


def test_every_kind_of_test_reports_its_details_as_a_record():
    from verify import evidence

    kinds = [type(t.details) for t in _one_test_of_each_kind()]
    assert set(kinds) == set(evidence.DETAIL_TYPES)          # every record type is made by a test
    # a report names no type: each type's fields must tell it apart
    fields = [frozenset(f.name for f in evidence.dataclasses.fields(cls)) for cls in evidence.DETAIL_TYPES]
    assert len(set(fields)) == len(fields)


def test_a_test_s_details_round_trip_through_json_as_the_same_record():
    for t in _one_test_of_each_kind():
        d = json.loads(json.dumps(t.to_dict()))
        back = StatTest.from_dict(d)
        assert type(back.details) is type(t.details) and back.to_dict() == t.to_dict(), t.name
        assert list(d["details"]) == list(t.details)      # the keys in the order of the dicts before
    holm = stats.apply_holm(_one_test_of_each_kind()[:3])[1]
    assert holm.details["holm"]["family_size"] == 3 and holm.details.holm.family_size == 3
    assert list(holm.details)[-1] == "holm"
    assert holm.details.holm.adjusted_p_value == stats.holm_adjusted_pvalues(_one_test_of_each_kind()[:3])[1]


def test_details_a_report_holds_in_another_shape_are_kept_as_they_were():
    t = _one_test_of_each_kind()[0]
    for odd in ({"expected_std": 1.0}, {"expected_std": 1.0, "standard_error": 0.1, "holm": 3}, {"x": [1]}):
        read = StatTest.from_dict(dict(t.to_dict(), details=odd))
        assert read.details == odd and read.to_dict()["details"] == odd
    assert stat_test_view(StatTest.from_dict(dict(t.to_dict(), details={"x": "nan"}))).name == t.name
