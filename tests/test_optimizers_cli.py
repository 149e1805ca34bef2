"""End to end through the command line: every optimizer spec passes on the reference, `verify list`
shows checks and hyperparameters, and a buggy file target exits 1 with the diagnosis.

How long the checks take is measured by benchmarks/speed.py, never asserted here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALL = ("sgd", "momentum", "nesterov", "weight-decay", "sign-sgd", "rprop", "rmsprop", "adam", "adamw",
       "generic-optimizer", "newton")


def _verify(*args, timeout=900):
    return subprocess.run([sys.executable, "-m", "verify", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_every_optimizer_spec_passes_on_the_reference():
    out = _verify("check", "reference", *(a for spec in ALL for a in ("--spec", spec)))
    assert out.returncode == 0, out.stdout + out.stderr
    for spec in ALL:
        assert f"reference :: {spec} (seed 0)" in out.stdout


def test_list_shows_checks_and_hyperparameters():
    out = _verify("list", "adam")
    assert out.returncode == 0
    for text in ("lr=0.001", "b1=0.9", "b2=0.999", "eps=1e-08", "weight_decay=0.0", "conformance",
                 "constant-gradient", "coupled-decay", "no-input-mutation"):
        assert text in out.stdout, text


def test_bad_param_is_a_usage_error():
    out = _verify("check", "reference", "--spec", "momentum", "--param", "momentum=1.5")
    assert out.returncode == 2
    assert "momentum must be < 1.0" in out.stdout + out.stderr


def test_buggy_file_target_fails_with_diagnosis():
    out = _verify("check", "tests/buggy/optimizers/adam.py:EpsHat", "--spec", "adam", "--check", "conformance")
    assert out.returncode == 1
    assert "Diagnosis: matches adam with ε-hat — the paper's efficient form" in out.stdout
    assert "Reproduce: verify check tests/buggy/optimizers/adam.py:EpsHat --spec adam --seed 0 --check conformance" in out.stdout
