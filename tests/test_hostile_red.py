"""The fourth red-team round (tests/hostile/red_targets.py): attacks the earlier hostile tests do not make.

* Modules planted where Python looks for them: a target writes ``jinja2.py``, ``numpy.py``, ... into the working
  directory. The judging process imported jinja2 only when it wrote the HTML report, after the targets ran, so
  a planted one ran in it and could rewrite the verdict; a job server started later imported ``numpy`` and
  ``sympy`` from there, and so did ``python -m verify`` run again in the same directory. Two real command-line
  runs in one directory: the first plants, the second is a correct target.
* Targets that patch their own adapter to hand over arrays of every dtype the wire carries, replace the modules
  their reply is encoded with, patch builtins, re-execute their process, fork children and leave them, exhaust
  their descriptors, or carry a type name made of escape sequences and markup: one isolated run of them all,
  each wrong, none may pass; the reports and the terminal stay clean.
* An optimizer that never moves, built with lr = 1e-300 (every correct step is lost in rounding): the checks
  comparing iterates with a closed form must be inconclusive, not passed.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from verify.console import ConsoleReporter
from tests.cli_helpers import html_tags
from verify.plan import RunOptions, RunPlan
from verify.report.files import write_reports
from verify.runner import run

HERE = Path(__file__).resolve().parent
RED = HERE / "hostile" / "red_targets.py"
GUARD = 600
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"

pytestmark = pytest.mark.xdist_group("hostile-red")


def _verify(*args, cwd):
    return subprocess.run([sys.executable, "-m", "verify", *args], capture_output=True, text=True, timeout=GUARD,
                          cwd=cwd, env={**os.environ, "PYTHONIOENCODING": "utf-8"})


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Run 1 plants modules in its working directory; run 2, a correct target, starts there afterwards."""
    here = tmp_path_factory.mktemp("planted")
    (here / "right_l2.py").write_text("def grad(w, lam):\n    return 2 * lam * w\n")
    first = _verify("check", f"{RED}:plants_modules", "--spec", "l2", "--check", "gradient-vs-symbolic",
                    "--max-examples", "3", "--json", "r.json", "--html", "r.html", cwd=here)
    second = _verify("check", "right_l2.py:grad", "--spec", "l2", "--check", "gradient-vs-symbolic",
                     "--max-examples", "3", cwd=here)
    return here, first, second


def test_modules_a_target_plants_are_not_imported_by_the_verifier(planted):
    here, first, second = planted
    assert (here / "jinja2.py").exists() and (here / "numpy.py").exists()        # the attack took place
    imported = (here / "IMPORTED").read_text() if (here / "IMPORTED").exists() else ""
    assert imported == "", imported
    assert first.returncode == 1, first.stderr
    data = json.loads((here / "r.json").read_text(encoding="utf-8"))
    assert [c["status"] for c in data["runs"][0]["checks"]] == ["fail"] and data["passed"] is False
    assert "<html" in (here / "r.html").read_text(encoding="utf-8")
    # The next run in the same directory is not theirs either: its job server and its checks work.
    assert second.returncode == 0, second.stdout + second.stderr
    assert "PASS    gradient-vs-symbolic" in second.stdout


# target, the status of its check, words of its message
ATTACKS = [
    ("returns_complex_past_its_adapter", "fail", ["does not match sympy"]),
    ("returns_bool_past_its_adapter", "fail", ["does not match sympy"]),
    ("returns_bit_patterns_past_its_adapter", "fail", ["does not match sympy"]),
    ("returns_big_endian_past_its_adapter", "fail", ["does not match sympy"]),
    ("returns_a_scalar_past_its_adapter", "fail", ["expected ndarray"]),
    ("replaces_the_encoders", "fail", ["does not match sympy"]),
    ("patches_builtins", "error", ["exited"]),
    ("reexecs_itself", "error", ["exited with status 0"]),
    ("forks_children_and_leaves_them", "fail", ["does not match sympy"]),
    ("exhausts_descriptors", "fail", ["does not match sympy"]),
]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    options = RunOptions(max_examples=3, timeout=60, checks=("gradient-vs-symbolic",))
    plans = [RunPlan(f"{RED}:{name}", "l2", options=options) for name, _, _ in ATTACKS]
    plans.append(RunPlan(f"{RED}:hostile_type_name", "sgd", options=RunOptions(
        max_examples=3, timeout=60, checks=("conformance",))))
    started = _ticks()
    result = run(plans)
    ended = _ticks()
    out = tmp_path_factory.mktemp("red")
    write_reports(result, str(out / "r.json"), str(out / "r.html"))
    return result, out, (started, ended)


def _ticks() -> int:
    """Now, in the clock ticks since boot that /proc/PID/stat gives a process's start time in."""
    with open("/proc/uptime") as fh:
        return int(float(fh.read().split()[0]) * os.sysconf("SC_CLK_TCK")) + 1


@pytest.mark.parametrize("name,status,words", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_a_hostile_target_never_passes(hostile, name, status, words):
    result, _, _ = hostile
    (r,) = [r for r in result.runs if r.target.endswith(f":{name}")]
    (check,) = r.checks
    assert check.status.value == status, check.message
    for w in words:
        assert w in check.message, check.message


def test_children_a_target_left_are_gone(hostile):
    """The sleeping children of forks_children_and_leaves_them end with their run (pids the machine gave out again
    since are other processes: those started outside the run do not count)."""
    result, _, (started, ended) = hostile
    (r,) = [r for r in result.runs if r.target.endswith(":forks_children_and_leaves_them")]
    pids = [int(line.split()[1]) for line in r.checks[0].output.splitlines() if line.startswith("child ")]
    assert len(pids) >= 20
    alive = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        if fields[0] not in ("Z", "X") and started <= int(fields[19]) <= ended:
            alive.append(pid)
    assert alive == []


def test_markup_and_escapes_in_a_type_name_reach_no_report_raw(hostile):
    result, out, _ = hostile
    (r,) = [r for r in result.runs if r.spec == "sgd"]
    assert r.checks[0].status.value != "pass"
    data = (out / "r.json").read_text(encoding="utf-8")
    tags = html_tags((out / "r.html").read_text(encoding="utf-8"))
    assert tags[:1] == ["html"] and "script" not in tags
    console = io.StringIO()
    reporter = ConsoleReporter(console, colour=False)
    reporter.run_header(r.target, r.spec, r.seed)
    for check in r.checks:
        reporter.check_done(check)
    reporter.run_done(r)
    for text in (json.loads(data)["runs"][-1]["adapter"], (out / "r.html").read_text(encoding="utf-8"),
                 console.getvalue()):
        assert "<script>" in text or "&lt;script&gt;" in text or "script" in text     # the name is there...
        assert "\x1b" not in text and "\x07" not in text and "\x00" not in text and "\x9b" not in text
        assert not any(c in text for c in BIDI)                                      # ...its controls are not
    assert max(map(len, console.getvalue().splitlines())) < 2000
    assert len(json.loads(data)["runs"][-1]["adapter"]) < 1100          # bounded where the target process sent it


# spec, check, its status (each was passed before; conformance fails it: its example from w0 = 0 shows even 1e-300)
STILL = [("momentum", "symbolic-iterates", "inconclusive"),
         ("nesterov", "symbolic-iterates", "inconclusive"), ("sign-sgd", "step-is-lr", "inconclusive"),
         ("adam", "constant-gradient", "inconclusive"), ("rmsprop", "constant-gradient", "inconclusive"),
         ("adamw", "decoupled-decay", "inconclusive")]


@pytest.mark.parametrize("spec,check,status", STILL, ids=[f"{s}-{c}" for s, c, _ in STILL])
def test_an_optimizer_that_never_moves_passes_no_comparison_of_iterates(spec, check, status):
    """Built with lr = 1e-300, read and held: a correct optimizer's steps vanish in rounding as well, so a
    comparison of iterates shows nothing (in this process: the check's logic is under test, not the isolation)."""
    (r,) = run([RunPlan(f"{RED}:stands_still", spec, options=RunOptions(
        max_examples=5, isolate=False, checks=(check,)))]).runs
    (result,) = r.checks
    assert result.status.value == status, result.message
    if status == "inconclusive":
        assert "a target that never moves agrees as well" in result.message


# ----------------------------------------------------------------------------- the command line's own input


def test_report_paths_naming_a_pipe_through_a_link_or_holding_nul_are_refused_before_the_run():
    """``--json /dev/stdout`` on a pipe resolved to /proc/PID/fd/pipe:[N], no path at all: it was accepted and the
    run's report lost at its end; a NUL in the path raised ValueError past the one-line error."""
    from verify.report.files import OutputPathError, check_output_paths

    read, write = os.pipe()
    try:
        with pytest.raises(OutputPathError, match="a FIFO"):
            check_output_paths([("--json", f"/proc/self/fd/{write}")])
    finally:
        os.close(read)
        os.close(write)
    with pytest.raises(OutputPathError, match="NUL"):
        check_output_paths([("--json", "r\0.json")])


@pytest.mark.parametrize("text", ["infG", "1e30T", "99999999999999T"])
def test_memory_sizes_setrlimit_cannot_take_are_refused(text):
    """They passed the option's check and crashed the target process at setrlimit (infG: OverflowError)."""
    from verify.options import memory_size

    with pytest.raises(ValueError, match="between 1M"):
        memory_size(text)


def test_a_subnormal_hyperparameter_is_refused_given_and_not_read_from_a_built_object():
    from verify.errors import BadParameterError
    from verify.specs import get_spec

    with pytest.raises(BadParameterError, match="subnormal"):
        get_spec("sgd").resolve_params({"lr": "5e-324"})
    (r,) = run([RunPlan(f"{RED}:subnormal_lr", "sgd", options=RunOptions(
        max_examples=5, isolate=False, checks=("conformance", "gd-stability")))]).runs
    assert [c.status.value for c in r.checks] == ["inconclusive", "inconclusive"], [c.message for c in r.checks]


@pytest.mark.parametrize("target,spec,words", [
    ("ClaimsNaNLearningRate", "sgd", "lr was read as nan, which the spec does not take"),
])
def test_values_the_target_process_claims_to_have_read_are_validated_by_the_checker(target, spec, words):
    from verify.errors import TargetLoadError

    with pytest.raises(TargetLoadError, match=words):
        run([RunPlan(f"{HERE / 'hostile' / 'red_claims.py'}:{target}", spec, options=RunOptions(
            max_examples=3, checks=("conformance",)))])


def test_a_target_planting_a_module_at_import_does_not_reach_the_front_end(tmp_path):
    """pytest --verify loads each pair at start-up to refuse one it cannot load (runner.loads): the target's
    import-time code runs there first, so the report writers are imported before it, as before a run."""
    code = ("import sys; sys.path.insert(0, ''); from verify.plan import RunPlan; from verify.runner import loads; "
            f"loads(RunPlan({str(HERE / 'hostile' / 'plants_at_import.py') + ':grad'!r}, 'l2')); "
            "from verify.report import render_html; print(sys.modules['jinja2'].__file__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=GUARD, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "jinja2.py").exists()                                  # the attack took place
    assert not (tmp_path / "IMPORTED").exists() and str(tmp_path) not in proc.stdout, proc.stdout
