"""A wrong target cannot make a run say PASS: each attack in tests/hostile/forging_targets.py ends in FAIL or
ERROR, through the command line, verify.api and the pytest plugin.

Every target there returns 3λw where the gradient of λ Σ w² is 2λw, and
attacks the judge: patching the result model, json, the comparison engine
and the runner; writing fake result lines into every pipe or socket it can
open; reading the expected answer out of the checker's frames or heap.
With the target in a process of its own (verify.remote), the check that
compares the gradient must fail. The codec and the proxy's validation are
tested on their own in tests/test_remote.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import verify.api  # noqa: F401 - imported before pytester's runs (see tests/test_plugin.py)
import verify.isolation  # noqa: F401

HERE = Path(__file__).resolve().parent
FORGERS = HERE / "hostile" / "forging_targets.py"
ATTACKS = ["patches_the_judge", "patches_numpy_for_the_comparison", "writes_fake_results",
           "reads_the_expected_answer"]
CHECKS = ("gradient-vs-symbolic", "gradient-finite-difference")
GUARD = 600

pytest_plugins = ("pytester",)


def _not_passed(check: dict) -> bool:
    return check["status"] in ("fail", "error")


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_command_line_is_not_fooled(attack, tmp_path):
    report = tmp_path / "r.json"
    args = [sys.executable, "-m", "verify", "check", f"{FORGERS}:{attack}", "--spec", "l2", "--max-examples", "5",
            "--json", str(report)]
    for check in CHECKS:
        args += ["--check", check]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=GUARD,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["passed"] is False
    (run,) = data["runs"]
    assert [c["name"] for c in run["checks"]] == list(CHECKS)
    assert all(_not_passed(c) for c in run["checks"]), run["checks"]
    gradient = run["checks"][0]
    assert gradient["status"] == "fail" and "forged" not in gradient["message"], gradient
    assert "all checks passed" not in proc.stdout


def test_a_skip_claimed_for_a_value_the_run_does_not_hold_is_a_failure(tmp_path):
    # The target process answers every make() with HeldParameterError; the checker, which knows what the
    # run holds (nothing here), does not take it for a skip.
    run = verify.api.check_conforms(f"{FORGERS}:ClaimsEveryValueIsHeld", "sgd", max_examples=5,
                                    checks=("conformance", "determinism"))
    assert [c.status.value for c in run.checks] == ["fail", "fail"], [c.message for c in run.checks]
    assert "asks for none the run holds" in run.checks[0].message


def test_a_precision_claimed_to_loosen_the_tolerances_is_a_failure():
    run = verify.api.check_conforms(f"{HERE / 'hostile' / 'forging_precision.py'}:SlightlyWrongSGD", "sgd",
                                    max_examples=5, checks="conformance")
    (check,) = run.checks
    assert check.status.value == "fail", check.message
    assert "precision() sent back" in check.message


def test_a_float16_array_held_to_loosen_the_tolerances_leaves_the_check_undecided():
    # float16's error model admits a 1 % bug; the pass it would give is withheld (inconclusive), for a wrong
    # target as for a right one: neither is failed for what rounding could explain, neither is passed.
    where = HERE / "hostile" / "forging_float16.py"
    for name in ("SlightlyWrongSGD", "RightSGD"):
        run = verify.api.check_conforms(f"{where}:{name}", "sgd", max_examples=5, checks="conformance")
        (check,) = run.checks
        assert check.status.value == "inconclusive", (name, check.status, check.message)
        assert "float16's error model" in check.message and run.status.value == "inconclusive"
    # a layer norm that returns float16: its forward passes within float16's rounding, the pass is withheld
    run = verify.api.check_conforms(f"{where}:SlightlyWrongLayerNorm", "layernorm", max_examples=5,
                                    checks="forward-vs-reference")
    assert run.checks[0].status.value == "inconclusive" and "computes in float16" in run.checks[0].message


def test_a_batch_norm_claiming_a_coarse_precision_is_not_passed():
    where = HERE / "hostile" / "forging_bn_precision.py"
    statuses = {}
    for name in ("ClaimsAlmostFloat16", "ClaimsFloat16"):
        run = verify.api.check_conforms(f"{where}:{name}", "batchnorm", max_examples=5, checks="forward-vs-reference")
        statuses[name] = run.checks[0].status.value
    # 2⁻¹¹ is held to float32's rounding on the batches sent (1 % fails); float16's pass is withheld.
    assert statuses == {"ClaimsAlmostFloat16": "fail", "ClaimsFloat16": "inconclusive"}, statuses
    # A layer norm's precision is its dtype's: a claim in between is a protocol violation (it passed before).
    run = verify.api.check_conforms(f"{where}:LayerNormClaimsAlmostFloat16", "layernorm", max_examples=5,
                                    checks="forward-vs-reference")
    assert run.checks[0].status.value == "fail" and "precision sent back a float (0.000488281)" in run.checks[0].message


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_api_is_not_fooled(attack):
    # A TARGET string runs in worker processes by default (an object runs in this process, trusted).
    run = verify.api.check_conforms(f"{FORGERS}:{attack}", "l2", max_examples=5, checks=CHECKS)
    assert [c.name for c in run.checks] == list(CHECKS)
    assert all(c.status.value in ("fail", "error") for c in run.checks), [(c.name, c.status) for c in run.checks]
    with pytest.raises(verify.api.ConformanceError):
        verify.api.assert_conforms(f"{FORGERS}:{attack}", "l2", max_examples=5, checks="gradient-vs-symbolic")


def test_the_pytest_plugin_is_not_fooled(pytester: pytest.Pytester):
    args = []
    for attack in ATTACKS:
        args += ["--verify", f"{FORGERS}:{attack}=l2"]
    result = pytester.runpytest_subprocess(*args, "--verify-max-examples", "5", "-k", "gradient-vs-symbolic",
                                           "-p", "no:cacheprovider", "--verify-json", "r.json")
    result.assert_outcomes(failed=len(ATTACKS))
    runs = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["runs"]
    assert len(runs) == len(ATTACKS)
    assert all(c["status"] == "fail" for r in runs for c in r["checks"]), runs
