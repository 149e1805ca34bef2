"""More hostile targets (tests/hostile/more_targets.py), all in ONE isolated run for cost: values that lie about
themselves, a judge patched in the target's process, the channel back written into or cut, the process exited,
BaseExceptions, signals ignored, the checker stopped, the processes above it signalled, output that never stops. Every one is wrong (3λw), so the
check comparing the gradient must fail, error or time out, never pass; the run must end and its reports be whole.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import html_tags
from verify.plan import RunOptions, RunPlan
from verify.report.files import write_reports
from verify.runner import run

MORE = Path(__file__).resolve().parent / "hostile" / "more_targets.py"

# target, the status of gradient-vs-symbolic, words its message (or output) must hold
ATTACKS = [
    ("returns_agreeable_subclass", "fail", []),
    ("returns_array_like_liar", "fail", []),
    ("returns_lying_dtype", "fail", []),
    ("returns_object_array", "fail", []),
    ("returns_nan_payloads", "fail", ["NaN"]),
    ("returns_huge_array", "fail", ["shape"]),
    ("sends_a_huge_reply", "fail", ["limit for what was asked"]),
    ("patches_numpy_everywhere", "fail", []),
    ("reads_the_parent", "fail", []),
    ("traces_and_limits_recursion", "fail", []),
    ("changes_cwd_and_umask", "fail", []),
    ("closes_stdio", "fail", []),
    ("writes_into_its_socket", "fail", []),
    ("dup2s_its_socket_onto_stdout", "fail", []),
    ("chatters_from_a_thread", "fail", []),
    ("mutates_inputs_from_a_thread", "fail", []),
    ("exits_zero", "error", ["exited with status 0"]),
    ("raises_system_exit_zero", "error", ["SystemExit"]),
    ("raises_generator_exit", "error", ["GeneratorExit"]),
    ("raises_a_base_exception", "error", ["_Custom", "not an Exception"]),
    ("ignores_signals_and_hangs", "timeout", ["did not finish within 2 s"]),
    ("stops_its_checker", "error", ["PermissionError"]),      # SIGSTOP to its parent: refused
    ("signals_its_ancestors", "fail", []),
]
HANGS = {"ignores_signals_and_hangs"}


# One run of every attack: its tests stay on one xdist worker (--dist loadgroup), which would otherwise each run it.
pytestmark = pytest.mark.xdist_group("hostile-more")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    plans = [RunPlan(f"{MORE}:{name}", "l2", options=RunOptions(
        max_examples=3, timeout=2 if name in HANGS else 120,
        checks=("gradient-vs-symbolic",))) for name, _, _ in ATTACKS]
    result = run(plans)
    out = tmp_path_factory.mktemp("more")
    write_reports(result, str(out / "r.json"), str(out / "r.html"))
    return result, out


@pytest.mark.parametrize("name,status,words", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_a_hostile_target_never_passes(report, name, status, words):
    result, _ = report
    (r,) = [r for r in result.runs if r.target.endswith(f":{name}")]
    checks = {c.name: c for c in r.checks}
    assert set(checks) == {"gradient-vs-symbolic"}                    # each got a status; the run went on
    gradient = checks["gradient-vs-symbolic"]
    assert gradient.status.value == status, gradient.message
    for w in words:
        assert w in gradient.message, gradient.message
    assert not r.passed


def test_the_reports_of_a_hostile_run_are_whole(report):
    result, out = report
    assert not result.passed and not result.incomplete
    data = json.loads((out / "r.json").read_text(encoding="utf-8"))
    assert len(data["runs"]) == len(ATTACKS) and data["passed"] is False
    tags = html_tags((out / "r.html").read_text(encoding="utf-8"))
    assert tags[:1] == ["html"] and "script" not in tags
    # What the chattering thread printed is kept, bounded and without its escape sequences.
    (chatty,) = [r for r in data["runs"] if r["target"].endswith(":chatters_from_a_thread")]
    printed = "".join(c["output"] for c in chatty["checks"])
    assert "chatter" in printed and "\x1b" not in printed and len(printed) < 2 * 7000


def test_a_target_cannot_signal_the_processes_above_it(report):
    """Not its checker, the job server, this process or their process groups, by pid or pidfd, nor their limits:
    a SIGSTOP would leave the run hanging for ever (a seccomp filter; without one the target does not attack)."""
    result, _ = report
    (r,) = [r for r in result.runs if r.target.endswith(":signals_its_ancestors")]
    printed = r.checks[0].output
    if "no seccomp filter" in printed:
        pytest.skip("this system has no seccomp filter for the target process")
    tried = [line for line in printed.splitlines() if line.startswith(("kill(", "pidfd", "prlimit"))]
    assert len(tried) >= 3 * 4, printed              # at least the job, the job server and this process
    assert all(line.endswith("refused: Operation not permitted") for line in tried), printed
