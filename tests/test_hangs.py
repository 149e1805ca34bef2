"""Targets that hang where no timer of their own process can stop them (tests/hostile/hang_targets.py): SIGALRM
blocked or ignored, SIGTERM ignored, a C loop holding the GIL, a C sleep whose alarm another thread takes, a
spinning thread beside a main thread waiting on a lock, a child in a session of its own holding the pipes; in the
constructor, at the first step (so in the probes of the load too) or at a later one; an initialiser that hangs
when tried once at load; a module that hangs while imported.

Every limit is kept from outside the target's process, so each run must report what issue 16 asks for: the check
that hung times out within the per-check limit (the load's probes counted against it), the later ones share one
more limit, and a hang is a timeout of the target, never a load error. All of it is read from the reports: no
test here asserts how long anything took (benchmarks/hangs.py prints the times as multiples of the limit). The
runs share ONE call of the runner, all at once, for cost.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from tests.hostile.hang_targets import HANGS
from verify.errors import TargetLoadError, UsageError
from verify.plan import RunOptions, RunPlan
from verify.results import CheckResult, RunResult, Status
from verify.runner import loads, run

HOSTILE = Path(__file__).resolve().parent / "hostile"
TARGETS = HOSTILE / "hang_targets.py"
LIMIT = 2.0
CHECKS = ("conformance", "no-nan", "determinism", "zero-gradient-fixed-point")
INIT_CHECKS = ("std", "mean")

pytestmark = pytest.mark.xdist_group("hangs")


def _budget(message: str) -> float:
    return float(re.search(r"within (?:the )?([\d.]+) s", message).group(1))


@pytest.fixture(scope="module")
def runs():
    options = RunOptions(max_examples=5, timeout=LIMIT, load_timeout=LIMIT, jobs=len(HANGS) + 2)
    plans = [RunPlan(f"{TARGETS}:{name}", "sgd", options=dataclasses.replace(options, checks=CHECKS)) for name in HANGS]
    plans.append(RunPlan(f"{TARGETS}:init_hangs", "init-he", options=dataclasses.replace(options, checks=INIT_CHECKS)))
    plans.append(RunPlan(f"{HOSTILE / 'import_loops.py'}:grad", "l2", options=options))

    def load_error(plan: RunPlan, exc: UsageError) -> RunResult:
        return RunResult(plan.target, plan.spec, 0, {}, checks=[CheckResult("load", "protocol", Status.ERROR,
                                                                          str(exc))])

    report = run(plans, on_load_error=load_error)
    return {r.target.rsplit(":", 1)[-1] if "import_loops" not in r.target else "import": r for r in report.runs}


@pytest.mark.parametrize("name", HANGS + ["init_hangs"])
def test_a_hang_costs_the_run_at_most_twice_the_limit(runs, name):
    r = runs[name]
    checks = {c.name: c for c in r.checks}
    assert list(checks) == list(INIT_CHECKS if name == "init_hangs" else CHECKS)      # a run, not a load error
    first, *rest = r.checks
    # The check that hung got the whole limit, its load's probes included; nothing that hung passed.
    assert first.status is Status.TIMEOUT and _budget(first.message) == LIMIT, first.message
    for c in rest:
        if name == "HangsAtLaterStep" and c.status is Status.PASS:
            continue          # it hangs at its 40th step only: checks that take fewer steps pass
        assert c.status is Status.TIMEOUT, (c.name, c.message)
        # The later checks share one more limit, their loads included.
        assert ("shortened from 2 s" in c.message or "hung in an earlier check" in c.message), c.message
    budgets = [_budget(c.message) for c in r.checks if c.status is Status.TIMEOUT]
    assert sum(budgets) <= 2 * LIMIT * 1.001, budgets
    assert not r.passed


def test_a_hang_while_adapting_is_the_first_checks_timeout_not_a_load_error(runs):
    """Hung in the constructor or the probes of the load, with every timer of the target's process blocked or
    ignored: the parent stopped it within the first check's limit and says so."""
    for name in ("HangsInInit", "BlocksAlarmAtStep", "IgnoresAlarmAtStep", "LoopsInCAtStep", "SleepsInCAtStep",
                 "SpinsAndWaitsAtStep", "ForksHoldingPipesAtStep"):
        first = runs[name].checks[0]
        assert "adapting the target" in first.message or "went to loading the target" in first.message, \
            (name, first.message)
    init = runs["init_hangs"].checks[0]
    assert "adapting the target" in init.message, init.message


def test_a_hang_while_imported_is_a_load_error_within_the_load_limit(runs):
    (load,) = runs["import"].checks
    assert load.status is Status.ERROR and "did not finish within 2 s" in load.message, load.message


def test_a_front_end_checking_a_plan_stops_a_hang_from_outside():
    """`loads` (the pytest plugin's check of its pairs before the session) keeps both limits itself: a module that
    hangs while imported is a load error; a target that hangs while adapted with SIGALRM blocked is left to the
    run's checks (no usage error), instead of hanging the front end for ever."""
    options = RunOptions(timeout=1.0, load_timeout=1.0)
    with pytest.raises(TargetLoadError, match="did not finish within 1 s"):
        loads(RunPlan(f"{HOSTILE / 'import_loops.py'}:grad", "l2", options=options))
    assert loads(RunPlan(f"{TARGETS}:BlocksAlarmAtStep", "sgd", options=options)) is None

