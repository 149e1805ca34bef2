"""The Python API: assert_conforms / check_conforms on objects and TARGET strings."""

from __future__ import annotations

import os
import shlex
from types import SimpleNamespace

import pytest

from verify.api import ConformanceError, assert_conforms, check_conforms, failure_text, target_string
from verify.console import format_failure
from verify.errors import BadParameterError, TargetLoadError, UnknownSpecError, UsageError
from verify.results import Status

FAST = {"max_examples": 10}


def good_grad(w, lam):
    return 2 * lam * w


def half_grad(w, lam):
    return lam * w                  # a factor 2 missing


class Regulariser:
    """An L2 regulariser object providing every role."""

    @staticmethod
    def penalty(w, lam):
        return lam * float((w * w).sum())

    @staticmethod
    def grad(w, lam):
        return 2 * lam * w

    @staticmethod
    def step(w, g, lr, lam):
        return w - lr * (g + 2 * lam * w)


def _strip(d):
    if isinstance(d, dict):
        return {k: _strip(v) for k, v in d.items() if k not in ("duration", "created")}
    if isinstance(d, list):
        return [_strip(x) for x in d]
    return d


def _verdicts(run) -> list[tuple]:
    """What must not depend on the process a run happens in: statuses, counterexamples, diagnoses.

    (Search metrics such as the number of examples tried can differ between a fresh
    process and a long-lived one: hypothesis mixes constants found in the modules a
    process has loaded into its draws.)
    """
    return [(c.name, c.status, c.counterexample, c.diagnosis) for c in run.checks]


def test_a_correct_function_conforms() -> None:
    run = assert_conforms(good_grad, "l2", lam=0.5, **FAST)
    assert run.passed and run.spec == "l2" and run.params["lam"] == 0.5
    statuses = {c.name: c.status for c in run.checks}
    assert statuses["gradient-vs-symbolic"] is Status.PASS
    assert statuses["penalty-value"] is Status.SKIP          # a lone grad function has no penalty


def test_a_correct_object_conforms_on_every_check() -> None:
    run = assert_conforms(Regulariser, "l2", **FAST)
    assert [c.status for c in run.checks] == [Status.PASS] * len(run.checks)


def test_a_bug_raises_assertion_error_with_the_command_lines_report() -> None:
    with pytest.raises(AssertionError) as info:
        assert_conforms(half_grad, "l2", **FAST)
    err = info.value
    assert isinstance(err, ConformanceError)
    run = err.run
    problems = [c for c in run.checks if c.status.is_problem]
    assert {c.name for c in problems} == {"gradient-vs-symbolic", "gradient-finite-difference"}
    text = str(err)
    assert text.splitlines()[0] == (
        f"{target_string(half_grad)} does not conform to spec 'l2': 2 of 7 checks did not pass (2 fail)")
    for c in problems:
        assert format_failure(run, c) in text
    assert "Counterexample:\n  w = [1.0]\n  lam = 1.0" in text
    assert "Diagnosis: the gradient is off by a constant factor 0.5" in text


def test_check_conforms_returns_the_result_without_raising() -> None:
    run = check_conforms(half_grad, "l2", checks=["gradient-vs-symbolic"], **FAST)
    assert [(c.name, c.status) for c in run.checks] == [("gradient-vs-symbolic", Status.FAIL)]
    assert not run.passed
    assert failure_text(run).startswith(f"{run.target} does not conform")


def test_reproduction_names_the_object_by_file_and_reproduces(tmp_path, monkeypatch) -> None:
    run = check_conforms(half_grad, "l2", seed=4, checks="gradient-vs-symbolic", **FAST)
    target = os.path.relpath(__file__) + ":half_grad"
    assert run.target == target
    cmd = run.checks[0].reproduction
    assert cmd == f"verify check {target} --spec l2 --seed 4 --max-examples 10 --check gradient-vs-symbolic"
    # Running that command (in-process, as the command line would) finds the same counterexample.
    from verify.cli import main
    from verify.results import Report

    out = tmp_path / "r.json"
    assert main([*shlex.split(cmd)[1:], "--no-isolation", "--json", str(out)]) == 1
    again = Report.from_json(out.read_text()).runs[0]
    assert _verdicts(again) == _verdicts(run)


def test_string_targets() -> None:
    assert assert_conforms("reference", "l1", **FAST).passed
    run = assert_conforms(f"{__file__}:Regulariser", "l2", checks=["penalty-value", "sgd-step-identity"], **FAST)
    assert [c.status for c in run.checks] == [Status.PASS, Status.PASS]


def test_same_seed_same_result_and_seed_matters() -> None:
    a = check_conforms(half_grad, "l2", seed=11, **FAST)
    b = check_conforms(half_grad, "l2", seed=11, **FAST)
    assert _strip(a.to_dict()) == _strip(b.to_dict())
    assert a.seed == 11


def test_checks_run_in_the_specs_order() -> None:
    run = check_conforms(Regulariser, "l2", checks=["step-hygiene", "penalty-value"], **FAST)
    assert [c.name for c in run.checks] == ["penalty-value", "step-hygiene"]


def test_hyperparameters_as_keywords_or_mapping() -> None:
    assert check_conforms(good_grad, "l2", lam=0.25, checks="grad-hygiene", **FAST).params["lam"] == 0.25
    assert check_conforms(good_grad, "l2", params={"lam": "0.5"}, checks="grad-hygiene", **FAST).params["lam"] == 0.5


def test_nothing_checked_is_not_a_pass() -> None:
    only_prox = SimpleNamespace(prox_step=lambda w, g, lr, lam: w)   # l2 has no check for prox_step
    with pytest.raises(AssertionError, match="no check ran, all 7 were skipped"):
        assert_conforms(only_prox, "l2", **FAST)


@pytest.mark.parametrize("call, error, message", [
    (lambda: assert_conforms(good_grad, "l9"), UnknownSpecError, "unknown spec 'l9'"),
    (lambda: assert_conforms(good_grad, "l2", lr=0.1), BadParameterError, "has no parameter 'lr'"),
    (lambda: assert_conforms(good_grad, "l2", lam=-1.0), BadParameterError, "lam must be"),
    (lambda: assert_conforms(good_grad, "l2", checks="nope"), BadParameterError, "has no check 'nope'"),
    (lambda: assert_conforms("missing.py:f", "l2"), TargetLoadError, "no such file"),
    (lambda: assert_conforms(42, "l2"), TargetLoadError, "none of penalty, grad, step"),
    (lambda: assert_conforms(lambda w, lam: w, "l2", isolate=True), TargetLoadError, "worker process"),
])
def test_mistakes_in_the_call_are_usage_errors_not_assertions(call, error, message) -> None:
    with pytest.raises(error, match=message) as info:
        call()
    assert isinstance(info.value, UsageError) and not isinstance(info.value, AssertionError)


def test_isolated_run_of_a_module_level_object() -> None:
    run = check_conforms(half_grad, "l2", isolate=True, checks=["gradient-vs-symbolic", "grad-hygiene"], **FAST)
    inline = check_conforms(half_grad, "l2", isolate=False, checks=["gradient-vs-symbolic", "grad-hygiene"], **FAST)
    assert _verdicts(run) == _verdicts(inline)
    assert run.target == inline.target == os.path.relpath(__file__) + ":half_grad"
    assert [c.reproduction for c in run.checks] == [c.reproduction for c in inline.checks]


def test_timeout_is_reported_not_raised() -> None:
    import time

    def slow(w, lam):
        time.sleep(5)
        return 2 * lam * w

    run = check_conforms(slow, "l2", timeout=0.5, checks="grad-hygiene", **FAST)
    assert run.checks[0].status is Status.TIMEOUT
    assert "--max-examples 10 --timeout 0.5 --check" in run.checks[0].reproduction
    with pytest.raises(AssertionError, match=r"\(1 timeout\)"):
        assert_conforms(slow, "l2", timeout=0.5, checks="grad-hygiene", **FAST)


def test_target_string() -> None:
    assert target_string("pkg.mod:f") == "pkg.mod:f"
    assert target_string(good_grad) == os.path.relpath(__file__) + ":good_grad"
    assert target_string(Regulariser.grad) == os.path.relpath(__file__) + ":Regulariser.grad"
    assert target_string(os.path.join) == "posixpath:join" or target_string(os.path.join).endswith(":join")
    assert target_string(lambda: 0) is None
    assert target_string(Regulariser()) is None

    def local():
        pass
    assert target_string(local) is None
