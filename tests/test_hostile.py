"""Hostile and broken targets: every failure reported, nothing crashes, nothing hangs.

Each case runs the real command line in a subprocess and asserts: the exit
status, the status of the check that calls the target, that the JSON report
exists and parses, and that the terminal output stays clean. Targets that
hang get a short per-check time limit (the message names it); every other
target gets a generous one, so a busy machine never turns a verdict into a
timeout. No test asserts how long anything took: the subprocess time limit
only keeps a broken verifier from hanging the suite.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_helpers import html_tags, interruptible

HERE = Path(__file__).resolve().parent
ZOO = HERE / "hostile"
HANG_LIMIT = 3       # seconds per check, for targets that never return
CHECK_LIMIT = 120    # seconds per check, for every other target (far above any check's cost)
GUARD = 900          # a verifier bug that hangs a run fails the test instead of the suite
HANGING = ("loops_forever", "sleeps", "LoopsAtStep")


def verify_cli(*args, cwd=None):
    cmd = [sys.executable, "-m", "verify", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=GUARD, cwd=cwd,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})


def _limit(target):
    return str(HANG_LIMIT if target in HANGING else CHECK_LIMIT)


def run_l2(target, tmp_path, *extra):
    report, html = tmp_path / "report.json", tmp_path / "report.html"
    proc = verify_cli("check", f"{ZOO / 'l2_targets.py'}:{target}", "--spec", "l2",
                      "--timeout", _limit(target), "--max-examples", "15", "--json", str(report),
                      "--html", str(html), *extra)
    assert report.exists() and html.exists(), proc.stderr
    tags = html_tags(html.read_text(encoding="utf-8"))
    assert tags[:1] == ["html"] and "script" not in tags
    data = json.loads(report.read_text(encoding="utf-8"))
    checks = {c["name"]: c for c in data["runs"][0]["checks"]}
    return proc, checks, data


BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def assert_clean_terminal(text):
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert not any(c in text for c in BIDI) and not any("\ud800" <= c <= "\udfff" for c in text)
    assert len(text) < 200_000


CASES = [
    # target,                 status of gradient-vs-symbolic, words in its message
    ("raises", "error", ["RuntimeError", "boom from the target"]),
    ("returns_nan", "fail", ["NaN"]),
    ("returns_inf", "fail", ["Inf positions differ"]),
    ("wrong_shape", "fail", ["returned shape"]),
    ("returns_none", "fail", ["returned None"]),
    ("returns_string", "fail", ["numeric"]),
    ("returns_complex", "fail", ["complex"]),
    ("returns_unconvertible", "fail", ["not an array"]),
    ("nondeterministic", "fail", ["does not match"]),
    ("calls_sys_exit", "error", ["SystemExit", "the target decided to stop"]),
    ("unprintable_message", "error", ["ValueError", "bad \ufffd value"]),
    ("keyboard_interrupt", "error", ["KeyboardInterrupt"]),
    ("recursion", "error", ["RecursionError"]),
    ("huge_allocation", "error", ["MemoryError"]),
    ("segfaults", "error", ["crashed the worker", "SIGSEGV"]),
    ("exits_process", "error", ["crashed the worker", "status 3"]),
    ("loops_forever", "timeout", ["did not finish within 3 s"]),
    ("sleeps", "timeout", ["did not finish within 3 s"]),
]


@pytest.mark.parametrize("target,status,words", CASES, ids=[c[0] for c in CASES])
def test_broken_target_gets_a_status_and_the_run_goes_on(target, status, words, tmp_path):
    proc, checks, data = run_l2(target, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    check = checks["gradient-vs-symbolic"]
    assert check["status"] == status, check["message"]
    for w in words:
        assert w in check["message"], check["message"]
    assert check["reproduction"].startswith("verify check ")
    # The other checks still ran and have a status of their own.
    assert set(checks) >= {"gradient-vs-symbolic", "gradient-finite-difference", "grad-hygiene"}
    assert checks["penalty-value"]["status"] == "skip"
    assert_clean_terminal(proc.stdout + proc.stderr)


OPTIMIZER_CASES = [
    # target, status of the conformance check, words in its message
    ("RaisesAtConstruction", "error", ["ValueError", "refusing to be built"]),
    ("RaisesAtStep", "error", ["ZeroDivisionError", "step failed"]),
    ("LoopsAtStep", "timeout", ["did not finish within 3 s"]),
    ("ReturnsNone", "fail", ["returned None"]),
    ("ReturnsNaN", "fail", ["nan"]),
    ("WrongShape", "fail", ["returned shape"]),
    ("ReturnsComplex", "fail", ["complex"]),
]


@pytest.mark.parametrize("target,status,words", OPTIMIZER_CASES, ids=[c[0] for c in OPTIMIZER_CASES])
def test_broken_optimizer_gets_a_status(target, status, words, tmp_path):
    report = tmp_path / "report.json"
    # A hanging target costs a time limit and a fresh job per check: four checks make the point.
    some = ["--check", "conformance", "--check", "no-nan", "--check", "determinism", "--check", "shape-dtype"]
    proc = verify_cli("check", f"{ZOO / 'optimizer_targets.py'}:{target}", "--spec", "sgd",
                      "--timeout", _limit(target), "--max-examples", "10", "--json", str(report),
                      *(some + ["--jobs", "1"] if target in HANGING else []))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    run = json.loads(report.read_text())["runs"][0]
    checks = {c["name"]: c for c in run["checks"]}
    if target in HANGING:
        # It hangs in the probes of its first load too: the parent times the adaptation against the first check's
        # limit, so the limits the checks got, the load's probes included, add up to at most twice the limit (in
        # units of the limit, the run's duration: 3.8 before the probe counted, 2.1 after, at 3 s on a busy
        # machine; tests/test_hangs.py has the hangs no timer of the target's process can stop).
        budgets = [float(re.search(r"within (?:the )?([\d.]+) s", c["message"]).group(1)) for c in run["checks"]]
        assert sum(budgets) <= 2 * HANG_LIMIT * 1.001, budgets
        first = checks["conformance"]["message"]
        assert "adapting the target" in first or "went to loading the target" in first, first
        assert run["duration"] / HANG_LIMIT < 3, run["duration"]
    assert checks["conformance"]["status"] == status, checks["conformance"]["message"]
    for w in words:
        assert w in checks["conformance"]["message"], checks["conformance"]["message"]
    if status in ("error", "timeout"):
        # Every check that calls the optimizer gets its own status; none passes by accident.
        assert len(checks) >= 4 and not any(c["status"] == "pass" for c in checks.values()), checks
    assert_clean_terminal(proc.stdout + proc.stderr)


def test_nondeterministic_optimizer_fails_determinism(tmp_path):
    report = tmp_path / "report.json"
    verify_cli("check", f"{ZOO / 'optimizer_targets.py'}:Nondeterministic", "--spec", "sgd",
               "--check", "determinism", "--json", str(report))
    (check,) = json.loads(report.read_text())["runs"][0]["checks"]
    assert check["status"] == "fail"


def test_mutating_target_is_caught_by_the_hygiene_check(tmp_path):
    proc, checks, _ = run_l2("mutates_input", tmp_path)
    assert proc.returncode == 1
    # It returns the right value, computed from the array it corrupted.
    assert checks["gradient-vs-symbolic"]["status"] == "pass"
    assert checks["grad-hygiene"]["status"] == "fail"
    assert "modified its input w in place" in checks["grad-hygiene"]["message"]


def test_nondeterministic_target_is_named(tmp_path):
    _, checks, _ = run_l2("nondeterministic", tmp_path)
    assert checks["grad-hygiene"]["status"] == "fail"
    assert "different values for the same input" in checks["grad-hygiene"]["message"]


def test_megabytes_of_output_do_not_reach_the_terminal_or_bloat_the_report(tmp_path):
    proc, checks, data = run_l2("prints_megabytes", tmp_path)
    check = checks["gradient-vs-symbolic"]
    assert check["status"] == "pass"
    assert "bytes printed" in check["output"] and len(check["output"]) < 5000
    assert check["output"].rstrip().endswith("red alert")     # the end of the output is kept too
    assert_clean_terminal(proc.stdout + proc.stderr)
    assert len(json.dumps(data)) < 200_000


def test_hostile_message_is_cut_and_the_terminal_stays_clean(tmp_path):
    proc, checks, _ = run_l2("hostile_message", tmp_path)
    message = checks["gradient-vs-symbolic"]["message"]
    assert checks["gradient-vs-symbolic"]["status"] == "error"
    assert len(message) < 5000 and "more characters" in message
    assert_clean_terminal(proc.stdout + proc.stderr)


LOAD_ERRORS = [
    # target, words of the one-line error
    ("nope_missing_file.py:grad", ["no such file"]),
    (f"{ZOO / 'l2_targets.py'}:no_such_function", ["has no attribute 'no_such_function'"]),
    (f"{ZOO / 'l2_targets.py'}:NOT_CALLABLE", ["providing none of penalty, grad, step, prox_step"]),
    (f"{ZOO / 'syntax_error.py'}:grad", ["syntax error", "line 1"]),
    (f"{ZOO / 'import_raises.py'}:grad", ["ImportError", "refuses to load"]),
    (f"{ZOO / 'needs_missing_module.py'}:grad", ["this_module_does_not_exist_anywhere"]),
    (f"{ZOO / 'import_crashes.py'}:grad", ["exited with status 7"]),
    (f"{ZOO / 'import_loops.py'}:grad", ["did not finish within 3 s"]),
    ("no_such_package_xyz.module.fn", ["no module named 'no_such_package_xyz'"]),
    ("not a target!", ["is not a dotted name"]),
]


@pytest.mark.parametrize("target,words", LOAD_ERRORS, ids=[t[0].rsplit("/", 1)[-1] for t in LOAD_ERRORS])
def test_load_errors_exit_2_with_one_line(target, words):
    # The load limit starts after the verifier's own imports, so 3 s is plenty for these small modules
    # even on a busy machine (import_loops never finishes).
    proc = verify_cli("check", target, "--spec", "l2", "--load-timeout", "3")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    errors = [l for l in proc.stderr.splitlines() if l.startswith("verify: error:")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in errors[0], errors[0]


def test_an_optimizer_of_no_known_shape_is_refused_with_one_line():
    # Every check would fail on the shape, not on the formula: nothing can be checked (exit status 2).
    proc = verify_cli("check", f"{ZOO / 'optimizer_targets.py'}:NoProtocol", "--spec", "sgd")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    errors = [l for l in proc.stderr.splitlines() if l.startswith("verify: error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for w in ("a NoProtocol instance", "none of the shapes the optimizer protocol drives", "docs/protocols.md"):
        assert w in errors[0], errors[0]


def test_verbose_shows_the_traceback_of_a_load_error():
    proc = verify_cli("check", f"{ZOO / 'import_raises.py'}:grad", "--spec", "l2", "--verbose")
    assert proc.returncode == 2 and "Traceback" in proc.stderr


def test_missing_optional_dependency_names_the_extra(tmp_path):
    # Shadow torch with a package that fails to import, as on a machine without it.
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run([sys.executable, "-m", "verify", "check", "torch.optim.Adam", "--spec", "l2"],
                          capture_output=True, text=True, env=env, timeout=GUARD)
    assert proc.returncode == 2, proc.stderr
    assert "needs torch, which is not installed: install dlverify[torch]" in proc.stderr


def test_noise_at_import_does_not_reach_the_terminal():
    proc = verify_cli("check", f"{ZOO / 'import_prints.py'}:grad", "--spec", "l2",
                         "--check", "gradient-vs-symbolic", "--max-examples", "5")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "noise" not in proc.stdout
    assert_clean_terminal(proc.stdout + proc.stderr)


def test_ctrl_c_writes_a_partial_report_marked_incomplete(tmp_path):
    report = tmp_path / "partial.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "verify", "check", f"{ZOO / 'l2_targets.py'}:loops_forever", "--spec", "l2",
         "--timeout", "60", "--json", str(report)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)
    header = proc.stdout.readline()     # the run has started once its header is printed
    assert "loops_forever :: l2" in header, header
    time.sleep(1)                       # inside the first check's endless loop
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=GUARD)
    out = header + rest
    assert proc.returncode == 130, out + err
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["incomplete"] is True and data["runs"][0]["incomplete"] is True
    assert "partial report" in out


def _scrub(obj):
    if isinstance(obj, dict):
        return {k: _scrub(v) for k, v in obj.items() if k not in ("duration", "created")}
    if isinstance(obj, list):
        return [_scrub(v) for v in obj]
    return obj


def test_same_seed_gives_identical_json_apart_from_timing(tmp_path):
    """Whatever the jobs' scheduling: one job runs the checks in order, three finish them in any order."""
    target = f"{HERE / 'hostile' / 'l2_targets.py'}:nondeterministic"
    texts = []
    for i, jobs in enumerate(("1", "3")):
        out = tmp_path / f"run{i}.json"
        proc = verify_cli("check", "reference", target, "--spec", "l2", "--seed", "1234",
                             "--max-examples", "20", "--json", str(out), "--jobs", jobs)
        assert proc.returncode == 1
        texts.append(json.dumps(_scrub(json.loads(out.read_text())), sort_keys=True))
    assert texts[0] == texts[1]
    assert '"seed": 1234' in texts[0]
    assert "--seed 1234" in texts[0]


def test_unprintable_text_is_sanitised_in_every_report(tmp_path):
    proc, checks, data = run_l2("unprintable_message", tmp_path)
    for path in (tmp_path / "report.json", tmp_path / "report.html"):
        text = path.read_text(encoding="utf-8")      # strict UTF-8: no lone surrogate was written
        assert not any(c in text for c in BIDI) and "\r" not in text, path
    assert "SSAP" in checks["gradient-vs-symbolic"]["message"]     # the text is kept, its controls are not
    assert_clean_terminal(proc.stdout + proc.stderr)
