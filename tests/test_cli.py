"""The command line contract: list, check, exit statuses, reports."""

import json
import subprocess
import sys
import textwrap

import pytest

from cli_helpers import verify_check
from verify.cli import main
from verify.results import Report
from verify.specs import SPEC_NAMES

SPECS = ("l1 l2 weight-decay init-lecun init-xavier init-he relu-bias batchnorm layernorm rmsnorm newton sgd momentum "
         "nesterov sign-sgd rprop rmsprop adam adamw adagrad amsgrad adamax nadam radam adadelta lion lamb asgd generic-optimizer "
         "grad-clip-norm").split()


def test_the_specs_are_registered_in_order():
    assert list(SPEC_NAMES) == SPECS


def test_list_shows_checks_and_hyperparameters(capsys):
    assert main(["list", "l2", "l1"]) == 0
    out = capsys.readouterr().out
    assert "l2  [regulariser]" in out and "lam=0.01" in out
    assert "gradient-vs-symbolic" in out and "subgradient-at-zero" in out and "sign_at_zero=any" in out


def test_unknown_spec_exits_2_naming_the_valid_ones(capsys):
    assert main(["check", "reference", "--spec", "l3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("verify: error: unknown spec 'l3'") and "weight-decay" in err


def test_verify_jobs_sets_the_default_job_count(monkeypatch):
    from verify.isolation import default_jobs

    monkeypatch.setenv("VERIFY_JOBS", "3")
    assert default_jobs() == 3
    monkeypatch.delenv("VERIFY_JOBS")
    assert default_jobs() >= 1


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_verify_jobs_exits_2_in_one_line(value, monkeypatch, capsys):
    monkeypatch.setenv("VERIFY_JOBS", value)
    assert main(["check", "reference", "--spec", "l2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"verify: error: VERIFY_JOBS={value!r} is not a positive integer") and err.count("\n") == 1


@pytest.mark.parametrize("param,words", [
    ("lam=-1", "lam must be > 0.0"),
    ("lam=abc", "expected a float"),
    ("alpha=1", "has no parameter 'alpha'"),
    ("lam", "expected NAME=VALUE"),
])
def test_bad_params_exit_2(param, words, capsys):
    assert main(["check", "reference", "--spec", "l2", "--param", param]) == 2
    assert words in capsys.readouterr().err


def test_unknown_check_exits_2(capsys):
    assert main(["check", "reference", "--spec", "l2", "--check", "nope"]) == 2
    assert "has no check 'nope'" in capsys.readouterr().err


def test_bad_option_values_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check", "reference", "--spec", "l2", "--seed", "-3"])
    assert exc.value.code == 2


def test_reference_passes_and_json_round_trips(tmp_path, capsys):
    out = tmp_path / "sub" / "r.json"
    code = main(["check", "reference", "--spec", "l2", "--spec", "l1", "--json", str(out),
                 "--max-examples", "20", "--no-isolation"])
    assert code == 0
    report = Report.from_json(out.read_text())
    assert [r.spec for r in report.runs] == ["l2", "l1"]
    assert report.passed and all(c.status.value in ("pass", "skip") for r in report.runs for c in r.checks)
    text = capsys.readouterr().out
    assert "Summary" in text and "all passed" in text


def test_wrong_l2_gradient_in_a_user_file_exits_1_with_numbers(tmp_path):
    user = tmp_path / "my_l2.py"
    user.write_text(textwrap.dedent("""
        def grad(w, lam):
            return lam * w          # forgot the 2 of d/dw (λ Σ w²)
    """))
    proc = subprocess.run([sys.executable, "-m", "verify", "check", f"{user}:grad", "--spec", "l2",
                           "--json", str(tmp_path / "r.json")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "FAIL    gradient-vs-symbolic" in out
    assert "Mismatched elements" in out and "Max relative difference: 0.5" in out
    assert "λw is the gradient of (λ/2) Σ w²" in out
    assert "Reproduce: verify check" in out and "--seed 0" in out
    data = json.loads((tmp_path / "r.json").read_text())
    failing = [c for c in data["runs"][0]["checks"] if c["status"] == "fail"]
    assert {c["name"] for c in failing} >= {"gradient-vs-symbolic", "gradient-finite-difference"}
    assert all(c["counterexample"] for c in failing)


def test_python_dash_m_verify_works():
    proc = subprocess.run([sys.executable, "-m", "verify", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("dlverify ")


def test_one_unloadable_pair_does_not_stop_the_others(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["check", "reference", "no_such_module_xyz.fn", "--spec", "l2", "--json", str(out),
                 "--max-examples", "5", "--no-isolation"])
    assert code == 1
    runs = json.loads(out.read_text())["runs"]
    assert [r["status"] for r in runs] == ["pass", "error"]
    assert "no module named 'no_such_module_xyz'" in runs[1]["checks"][0]["message"]


def test_every_pair_unloadable_exits_2(capsys):
    assert main(["check", "no_such_module_xyz.a", "no_such_module_xyz.b", "--spec", "l2", "--no-isolation"]) == 2


def test_a_long_target_name_keeps_its_file_and_name_in_the_summary():
    from verify.console import summary_table
    from verify.results import RunResult

    target = "projects/coursework/deep-learning/assignment-two/solutions/optimizers.py:AdamWithWarmRestarts"
    table = summary_table(Report(runs=[RunResult(target=target, spec="adam", seed=0, params={})]))
    row = next(line for line in table.splitlines() if "adam" in line.split())
    assert "solutions/optimizers.py:AdamWithWarmRestarts" in row and "more characters" not in row, row
    assert row.strip().startswith("…")


def test_main_called_in_process_leaves_the_callers_signal_handling_as_it_was(tmp_path):
    """The command ignores interrupts while it writes its reports; called in-process it must restore them, or
    the caller, and every process it starts afterwards (they inherit an ignored signal), ignores Ctrl-C."""
    import signal

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    assert main(["check", "reference", "--spec", "l2", "--no-isolation", "--check", "penalty-value",
                 "--json", str(tmp_path / "r.json")]) == 0
    assert {s: signal.getsignal(s) for s in before} == before


def test_the_conventions_of_a_built_torch_optimizer_are_shown_whole(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "built.py").write_text("import torch\n"
                                       "w = torch.zeros(3, dtype=torch.float64)\n"
                                       "opt = torch.optim.Adam([w], lr=1e-3)\n")
    code, _, out = verify_check(tmp_path, [f"{tmp_path / 'built.py'}:opt"], ["adam"], "--check", "determinism")
    assert code == 0
    (line,) = [line for line in out.splitlines() if "a built torch.optim.Adam" in line]
    assert "more characters" not in line
    assert line.endswith("with the instance's own defaults, all held (checks that need other values are skipped)")
