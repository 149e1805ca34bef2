"""The gradient checker's mode as an option of the command line, the API and the pytest plugin.

The target's decay term is off by a relative 1e-3 in every entry of a vector longer than 16 (and
right below), so the truth is known: at n = 17 every one of the 17 entries is wrong. In auto mode
the checker compares random directions there and cannot name them all; its advice must name the
option that compares every entry, and that option must reach the check (also in a worker process)
and its reproduction command.
"""

import pathlib

import pytest

pytest_plugins = ("pytester",)

from cli_helpers import verify_check
from verify.api import check_conforms
from verify.cli import main
from verify.gradcheck._options import MODES
from verify.options import GRADCHECK_MODES

TARGET = str(pathlib.Path(__file__).parent / "buggy" / "dense_decay.py") + ":NoisyDecay"
CHECK = "decay-gradient-finite-difference"


def _check(run):
    (check,) = [c for c in run["checks"] if c["name"] == CHECK]
    return check


def test_the_option_offers_the_checkers_own_modes():
    assert GRADCHECK_MODES == MODES


def test_auto_mode_advises_the_option_and_full_mode_names_every_wrong_entry(tmp_path):
    code, runs, _ = verify_check(tmp_path, [TARGET], ["weight-decay"], "--check", CHECK)
    auto = _check(runs[(TARGET, "weight-decay")])
    assert code == 1 and auto["status"] == "fail"
    assert "directional mode" in auto["message"]
    assert "use --gradcheck-mode full to compare every entry" in auto["message"]
    assert "mode='full'" not in auto["message"]

    code, runs, _ = verify_check(tmp_path, [TARGET], ["weight-decay"], "--check", CHECK, "--gradcheck-mode", "full")
    full = _check(runs[(TARGET, "weight-decay")])
    assert code == 1 and full["status"] == "fail"
    assert "full mode" in full["message"]
    assert "Mismatched elements: 17 / 17 (100%)" in full["message"]
    assert "--gradcheck-mode full" in full["reproduction"]


def test_the_api_takes_the_mode_and_refuses_an_unknown_one():
    run = check_conforms(TARGET, "weight-decay", checks=CHECK, gradcheck_mode="full")
    (check,) = run.checks
    assert "Mismatched elements: 17 / 17 (100%)" in check.message
    with pytest.raises(Exception, match="gradcheck_mode must be one of auto, full, directional"):
        check_conforms(TARGET, "weight-decay", checks=CHECK, gradcheck_mode="every")


def test_an_unknown_mode_exits_2_naming_the_valid_ones(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check", "reference", "--spec", "l2", "--gradcheck-mode", "every"])
    assert exc.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--gradcheck-mode" in last and "(auto, full, directional)" in last and "'every'" in last


def test_the_pytest_option_reaches_the_check(pytester):
    pytester.makepyfile(test_decay=f"""
def test_decay(verify_conforms):
    verify_conforms({TARGET!r}, "weight-decay", checks={CHECK!r})
""")
    # A subprocess: the fixture runs checks in the pytest process, which must import numpy afresh.
    result = pytester.runpytest_subprocess("--verify-gradcheck-mode", "full", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Mismatched elements: 17 / 17 (100%)*"])
