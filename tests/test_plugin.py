"""The pytest plugin, run through ``pytester``: collection, verdicts, failure text, options, reports.

Each ``runpytest`` costs a second or two (the checks run in a worker
process), so the tests share runs where they can and use the cheap specs
``l2`` and ``l1`` with few examples.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

# pytester's in-process runs drop the modules a run imported when it ends. numpy cannot be
# imported twice in one process, and sympy imported twice mixes two generations of its
# classes, so everything the plugin imports is imported here first, and the runs that run
# checks inside the pytest process (--verify-no-isolation, the fixture) use a subprocess.
import verify.api  # noqa: F401,E402
import verify.cli  # noqa: F401,E402
import verify.console  # noqa: F401,E402
import verify.isolation  # noqa: F401,E402
import verify.report.files  # noqa: F401,E402
import verify.runner  # noqa: F401,E402
import verify.symbolic  # noqa: F401,E402
from verify.specs import get_spec  # noqa: E402

get_spec("l1"), get_spec("l2")

pytest_plugins = ("pytester",)

BASE = ("-p", "no:cacheprovider", "-p", "no:benchmark")
FAST = ("--verify-max-examples", "10", *BASE)
L2_CHECKS = ("gradient-vs-symbolic", "gradient-finite-difference", "penalty-value",
             "penalty-gradient-consistency", "sgd-step-identity", "grad-hygiene", "step-hygiene")

BUGGY_L2 = """
def grad(w, lam):
    return lam * w          # the gradient of (lam/2)*sum(w**2): a factor 2 is missing
"""

# Counts how often a (target, spec) group is executed and where reports are written.
COUNTING_CONFTEST = """
import json, os
import verify.report.files, verify.isolation

_run_isolated = verify.isolation.run_isolated
_write_reports = verify.report.files.write_reports

def _log(entry):
    with open(os.path.join(os.environ["VERIFY_TEST_LOG_DIR"], "calls.log"), "a") as fh:
        fh.write(json.dumps(entry) + "\\n")

def counting_run_isolated(plans, on_event=None):
    for plan in plans:
        _log({"run": [plan.target, plan.spec], "checks": list(plan.options.checks or []), "pid": os.getpid()})
    return _run_isolated(plans, on_event)

def counting_write_reports(report, json_path, html_path):
    _log({"write": json_path, "pid": os.getpid()})
    return _write_reports(report, json_path, html_path)

verify.isolation.run_isolated = counting_run_isolated
verify.report.files.write_reports = counting_write_reports

def pytest_unconfigure(config):
    verify.isolation.run_isolated = _run_isolated
    verify.report.files.write_reports = _write_reports
"""


def _calls(pytester: pytest.Pytester) -> list[dict]:
    path = pytester.path / "calls.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _outcomes(result: pytest.RunResult) -> dict[str, str]:
    """nodeid -> PASSED/FAILED/SKIPPED from ``-rA``-style verbose lines."""
    out: dict[str, str] = {}
    for line in result.outlines:
        for word in ("PASSED", "FAILED", "SKIPPED", "ERROR"):
            if line.startswith("verify[") and f" {word}" in line:
                out[line.split(" ", 1)[0]] = word
    return out


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makepyfile(my_l2=BUGGY_L2)
    pytester.makeconftest(COUNTING_CONFTEST)
    monkeypatch.setenv("VERIFY_TEST_LOG_DIR", str(pytester.path))
    return pytester


# --------------------------------------------------------------------------- pass and fail


def test_pass_and_fail_items(project: pytest.Pytester) -> None:
    result = project.runpytest("--verify", "reference=l2", "--verify", "my_l2.py:grad=l2", *FAST, "-v", "-rs",
                               "--verify-json", "report.json", "--junitxml", "junit.xml")

    # One item per check, named verify[TARGET-SPEC]::CHECK, with the verdicts of each check.
    outcomes = _outcomes(result)
    assert outcomes == {
        **{f"verify[reference-l2]::{c}": "PASSED" for c in L2_CHECKS},
        "verify[my_l2.py:grad-l2]::gradient-vs-symbolic": "FAILED",
        "verify[my_l2.py:grad-l2]::gradient-finite-difference": "FAILED",
        "verify[my_l2.py:grad-l2]::penalty-value": "SKIPPED",
        "verify[my_l2.py:grad-l2]::penalty-gradient-consistency": "SKIPPED",
        "verify[my_l2.py:grad-l2]::sgd-step-identity": "SKIPPED",
        "verify[my_l2.py:grad-l2]::grad-hygiene": "PASSED",
        "verify[my_l2.py:grad-l2]::step-hygiene": "SKIPPED",
    }
    result.assert_outcomes(passed=8, failed=2, skipped=4)
    assert result.ret == pytest.ExitCode.TESTS_FAILED

    # The failure shows the command line's report: numbers, diagnosis, counterexample, reproduction.
    text = result.stdout.str()
    assert "grad(w, lam) does not match sympy" in text
    assert "Max relative difference: 0.5" in text
    assert "Diagnosis: the gradient is off by a constant factor 0.5" in text
    assert "Counterexample:\n  w = [1.0]\n  lam = 1.0" in text
    assert ("Reproduce: verify check my_l2.py:grad --spec l2 --seed 0 --max-examples 10 "
            "--check gradient-vs-symbolic") in text
    # Skips give the reason, located at the check rather than at the plugin's code.
    assert "SKIPPED [1] verify[my_l2.py:grad-l2]::penalty-value: the target provides no penalty" in text
    # A summary table of the runs after the tests.
    assert "dlverify summary" in text
    assert any(line.split()[:2] == ["my_l2.py:grad", "l2"] and line.split()[-1] == "FAIL"
               for line in result.outlines)

    # Each group ran once, with the collected checks in the spec's order; the report was written once.
    calls = _calls(project)
    runs = [c for c in calls if "run" in c]
    assert [c["run"] for c in runs] == [["reference", "l2"], ["my_l2.py:grad", "l2"]]
    assert all(c["checks"] == list(L2_CHECKS) for c in runs)
    assert len([c for c in calls if "write" in c]) == 1

    # The JSON report: both runs, every check, the same verdicts.
    report = json.loads((project.path / "report.json").read_text())
    assert report["schema"] == "dlverify.report/3"
    assert [(r["target"], r["spec"], r["status"]) for r in report["runs"]] == [
        ("reference", "l2", "pass"), ("my_l2.py:grad", "l2", "fail")]
    assert [c["name"] for c in report["runs"][1]["checks"]] == list(L2_CHECKS)
    assert report["runs"][1]["counts"] == {"pass": 1, "fail": 2, "error": 0, "skip": 4, "timeout": 0,
                                           "inconclusive": 0}
    failing = report["runs"][1]["checks"][0]
    assert failing["counterexample"] == {"w": [1.0], "lam": 1.0}
    assert failing["reproduction"].endswith("--max-examples 10 --check gradient-vs-symbolic")
    assert report["runs"][0]["adapter"].startswith("numpy regulariser")
    assert "wrote" in text and "report.json" in text

    # JUnit XML has one testcase per check, failures with the report text and the status as a property.
    # pytest < 9.2 writes classname "" and name "verify[T-S]::CHECK"; later versions split the two.
    cases = {"::".join(filter(None, (c.get("classname"), c.get("name")))): c
             for c in ET.parse(project.path / "junit.xml").getroot().iter("testcase")}
    assert len(cases) == 14
    bad = cases["verify[my_l2.py:grad-l2]::gradient-vs-symbolic"]
    failure = bad.find("failure")
    assert failure is not None and "Counterexample:" in failure.text
    props = {p.get("name"): p.get("value") for p in bad.iter("property")}
    assert props["verify_status"] == "fail"
    assert props["verify_reproduce"].startswith("verify check my_l2.py:grad --spec l2")
    assert cases["verify[my_l2.py:grad-l2]::penalty-value"].find("skipped") is not None


def test_failure_text_is_the_command_lines(project: pytest.Pytester) -> None:
    """Byte for byte what ``verify check`` prints for the failing check, but for pytest's own separator."""
    result = project.runpytest("--verify", "my_l2.py:grad=l2", "-k", "gradient-vs-symbolic", *BASE)
    result.assert_outcomes(failed=1, deselected=6)
    cli = subprocess.run([sys.executable, "-m", "verify", "check", "my_l2.py:grad", "--spec", "l2",
                          "--check", "gradient-vs-symbolic"], cwd=project.path, capture_output=True, text=True)
    assert cli.returncode == 1, cli.stderr
    lines = cli.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("________ my_l2.py:grad :: l2 ::"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("Reproduce:"))
    block = "\n".join(lines[start + 1:end + 1])
    assert block in result.stdout.str()


def test_selected_checks_only_run(project: pytest.Pytester) -> None:
    result = project.runpytest("--verify", "reference=l1", *FAST, "-k", "grad-hygiene or penalty-value or sgd-step",
                               "--verify-json", "r.json")
    result.assert_outcomes(passed=3, deselected=5)
    runs = [c for c in _calls(project) if "run" in c]
    assert [c["checks"] for c in runs] == [["penalty-value", "sgd-step", "grad-hygiene"]]
    report = json.loads((project.path / "r.json").read_text())
    assert [c["name"] for c in report["runs"][0]["checks"]] == ["penalty-value", "sgd-step", "grad-hygiene"]


def test_marker_selects_verify_items(project: pytest.Pytester) -> None:
    project.makepyfile(test_mine="def test_mine():\n    pass\n")
    result = project.runpytest("--verify", "reference=l2", "--co", "-q", *BASE)
    ids = [line for line in result.outlines if "::" in line]
    assert ids == ["test_mine.py::test_mine", *[f"verify[reference-l2]::{c}" for c in L2_CHECKS]]
    result = project.runpytest("--verify", "reference=l2", "--co", "-q", "-m", "not verify", *BASE)
    assert [line for line in result.outlines if "::" in line] == ["test_mine.py::test_mine"]


# --------------------------------------------------------------------------- options


def test_seed_and_params(project: pytest.Pytester) -> None:
    result = project.runpytest("--verify", "my_l2.py:grad=l2", "--verify-seed", "5", "--verify-param", "lam=0.5",
                               *FAST, "-k", "gradient-finite-difference", "--verify-json", "r.json")
    result.assert_outcomes(failed=1, deselected=6)
    assert "seed 5, max examples 10" in result.stdout.str()
    assert "dlverify params: lam=0.5" in result.stdout.str()
    run = json.loads((project.path / "r.json").read_text())["runs"][0]
    assert run["seed"] == 5 and run["params"]["lam"] == 0.5
    check = run["checks"][0]
    assert check["counterexample"]["lam"] == 0.5
    assert check["reproduction"] == ("verify check my_l2.py:grad --spec l2 --param lam=0.5 --seed 5 "
                                     "--max-examples 10 --check gradient-finite-difference")


def test_no_isolation_gives_the_same_report(project: pytest.Pytester) -> None:
    args = ("--verify", "my_l2.py:grad=l2", "--verify", "reference=l1", *FAST)
    project.runpytest(*args, "--verify-json", "isolated.json").assert_outcomes(passed=9, failed=2, skipped=4)
    project.runpytest_subprocess(*args, "--verify-no-isolation", "--verify-json", "inline.json").assert_outcomes(
        passed=9, failed=2, skipped=4)
    # Verdicts, counterexamples and diagnoses agree (search metrics may not: hypothesis mixes
    # constants from the modules loaded in the process into its draws).
    def verdicts(path):
        return [[(c["name"], c["status"], c["counterexample"], c["diagnosis"]) for c in r["checks"]]
                for r in _strip(path)["runs"]]
    assert verdicts(project.path / "isolated.json") == verdicts(project.path / "inline.json")


def test_spec_all_expands_to_every_spec(pytester: pytest.Pytester) -> None:
    from verify.specs import SPEC_NAMES, get_spec

    checks = {name: [c.name for c in get_spec(name).checks] for name in SPEC_NAMES}
    result = pytester.runpytest_subprocess("--verify", "reference=all", "--co", "-q", *BASE)
    ids = [line for line in result.outlines if line.startswith("verify[")]
    assert ids == [f"verify[reference-{s}]::{c}" for s in SPEC_NAMES for c in checks[s]]


def test_target_split_on_the_last_equals_sign(pytester: pytest.Pytester) -> None:
    pytester.mkdir("a=b")
    (pytester.path / "a=b" / "reg.py").write_text("def grad(w, lam):\n    return 2 * lam * w\n")
    result = pytester.runpytest("--verify", "a=b/reg.py:grad=l2", "--co", "-q", *BASE)
    assert "verify[a=b/reg.py:grad-l2]::gradient-vs-symbolic" in result.outlines


# --------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize("args, message", [
    (("--verify", "reference=l9"), "ERROR: --verify reference=l9: unknown spec 'l9'; the specs are: l1, l2"),
    (("--verify", "missing.py:grad=l2"), "ERROR: --verify missing.py:grad=l2: no such file 'missing.py'"),
    (("--verify", "broken.py:grad=l2"), "ERROR: --verify broken.py:grad=l2: running broken.py raised ZeroDivisionError"),
    (("--verify", "broken.py:nothing=l2"), "ERROR: --verify broken.py:nothing=l2: running broken.py raised"),
    (("--verify", "reference"), "ERROR: --verify 'reference': expected TARGET=SPEC"),
    (("--verify", "reference=l2", "--verify-param", "lr=0.1"),
     "ERROR: --verify reference=l2: spec 'l2' has no parameter 'lr'; its parameters are: lam"),
    (("--verify", "reference=l2", "--verify-param", "lam"), "ERROR: --verify-param 'lam': expected NAME=VALUE"),
    (("--verify", "reference=l2", "--verify-param", "lam=-1"), "ERROR: --verify reference=l2: lam must be"),
])
def test_usage_errors(pytester: pytest.Pytester, args: tuple[str, ...], message: str) -> None:
    pytester.makepyfile(broken="1 / 0\n")
    result = pytester.runpytest(*args, *BASE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1 and errors[0].startswith(message), result.errlines


def test_target_that_loads_on_the_controller_but_not_in_the_worker(pytester: pytest.Pytester) -> None:
    """Like a file missing on a remote xdist host: each check errors, saying why."""
    pytester.makepyfile(flaky="""
        import os
        if os.path.exists("not-here.flag"):
            raise RuntimeError("not on this host")

        def grad(w, lam):
            return 2 * lam * w
    """)
    pytester.makeconftest("""
        def pytest_collection_finish(session):
            open("not-here.flag", "w").close()      # after the plugin loaded the target once
    """)
    result = pytester.runpytest("--verify", "flaky.py:grad=l2", *FAST, "--verify-json", "r.json")
    result.assert_outcomes(failed=7)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert ("[error] the checks could not run: running flaky.py raised RuntimeError: not on this host"
            in result.stdout.str())
    run = json.loads((pytester.path / "r.json").read_text())["runs"][0]
    assert run["counts"]["error"] == 7


def test_bad_option_values_are_usage_errors(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--verify", "reference=l2", "--verify-seed", "-3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--verify-seed" in result.stderr.str()


# --------------------------------------------------------------------------- the fixture


def test_fixture_runs_join_the_report(project: pytest.Pytester) -> None:
    project.makepyfile(test_users="""
        import numpy as np

        def good_grad(w, lam):
            return 2 * lam * w

        def bad_grad(w, lam):
            return lam * w

        def test_good(verify_conforms):
            run = verify_conforms(good_grad, "l2", lam=0.5, checks=["gradient-vs-symbolic", "grad-hygiene"])
            assert run.passed and run.seed == 3

        def test_bad(verify_conforms):
            verify_conforms(bad_grad, "l2", checks="gradient-vs-symbolic")
    """)
    result = project.runpytest_subprocess("--verify-seed", "3", *FAST, "--verify-json", "r.json")
    result.assert_outcomes(passed=1, failed=1)
    text = result.stdout.str()
    assert "test_users.py:bad_grad does not conform to spec 'l2': 1 of 1 checks did not pass (1 fail)" in text
    assert "Diagnosis: the gradient is off by a constant factor 0.5" in text
    assert ("Reproduce: verify check test_users.py:bad_grad --spec l2 --seed 3 --max-examples 10 "
            "--check gradient-vs-symbolic") in text
    report = json.loads((project.path / "r.json").read_text())
    # Runs from tests are ordered by test id (test_bad before test_good), whatever the execution order.
    assert [(r["target"], r["status"], r["seed"]) for r in report["runs"]] == [
        ("test_users.py:bad_grad", "fail", 3), ("test_users.py:good_grad", "pass", 3)]
    # The reproduction command given by the fixture really reproduces the failure.
    cmd = report["runs"][0]["checks"][0]["reproduction"]
    cli = subprocess.run([sys.executable, "-m", "verify", *shlex.split(cmd)[1:]], cwd=project.path,
                         capture_output=True, text=True)
    assert cli.returncode == 1 and "Counterexample:\n  w = [1.0]" in cli.stdout


def test_json_report_written_even_without_runs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    pytester.runpytest("--verify-json", "r.json", *BASE).assert_outcomes(passed=1)
    report = json.loads((pytester.path / "r.json").read_text())
    assert report["runs"] == [] and report["passed"] is True


def test_html_report(project: pytest.Pytester) -> None:
    result = project.runpytest("--verify", "my_l2.py:grad=l2", *FAST, "-k", "gradient-vs-symbolic",
                               "--verify-html", "out/r.html")
    result.assert_outcomes(failed=1, deselected=6)
    html = (project.path / "out" / "r.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and "gradient-vs-symbolic" in html


def _strip(path) -> dict:
    def strip(d):
        if isinstance(d, dict):
            return {k: strip(v) for k, v in d.items() if k not in ("duration", "created")}
        if isinstance(d, list):
            return [strip(x) for x in d]
        return d
    return strip(json.loads(path.read_text()))
