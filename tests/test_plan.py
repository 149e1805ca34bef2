"""The run plan: one record of a run's identity, from which reproduction commands and worker jobs are built.

A run through a worker process must honour every option exactly as a run in
this process does: the job carries every field of ``RunOptions`` (a field
added later travels without further edits, and this test asks for a sample
value of it), and the verdicts, numbers and messages of a run through the
worker equal those of the same run here.
"""

from __future__ import annotations

import dataclasses
import json
import shlex

import pytest

from verify.api import check_conforms
from verify.cli import build_parser
from verify.options import memory_size
from verify.plan import RunOptions, RunPlan

# A value other than the default for every field of RunOptions (as a user could set it).
NON_DEFAULT = {
    "seed": 12345678901,
    "max_examples": 7,
    "family_alpha": 0.00123,
    "timeout": 33.5,
    "load_timeout": 44.0,
    "checks": ("penalty-value", "gradient-vs-symbolic"),
    "isolate": False,
    "verbose": True,
    "jobs": 3,
    "memory_limit": 3 * 2 ** 30,
    "gradcheck_mode": "full",
}


def test_every_option_has_a_sample_value() -> None:
    names = {f.name for f in dataclasses.fields(RunOptions)}
    assert names == set(NON_DEFAULT), "give every new RunOptions field a non-default sample value here"
    defaults = RunOptions()
    for name, value in NON_DEFAULT.items():
        assert getattr(defaults, name) != value, name


def test_the_worker_job_carries_every_option_through_json() -> None:
    plan = RunPlan("my_opt.py:Adam", "adam", {"lr": "0.01", "b1": "0.8"}, RunOptions(**NON_DEFAULT))
    job = json.loads(json.dumps(plan.job()))
    back = RunPlan.from_job(job)
    assert back.options == plan.options
    assert (back.target, back.spec, dict(back.overrides)) == ("my_opt.py:Adam", "adam", {"lr": "0.01", "b1": "0.8"})
    # A unit's share of the checks replaces the selection, nothing else.
    share = RunPlan.from_job(json.loads(json.dumps(plan.job(["penalty-value"]))))
    assert share.options == dataclasses.replace(plan.options, checks=("penalty-value",))
    # An empty share is no selection (every check), as the worker always read it.
    assert RunPlan.from_job(json.loads(json.dumps(plan.job([])))).options.checks is None


def test_a_job_with_an_unknown_option_is_refused() -> None:
    job = RunPlan("reference", "l2").job()
    job["options"]["max_exampels"] = 3
    with pytest.raises(TypeError, match="max_exampels"):
        RunPlan.from_job(job)


def test_an_object_target_has_no_worker_job() -> None:
    def grad(w, lam):
        return 2 * lam * w

    plan = RunPlan(grad, "l2")
    assert plan.name == "test_an_object_target_has_no_worker_job.<locals>.grad"
    with pytest.raises(TypeError, match="by name"):
        plan.job()


def test_the_reproduction_command_reruns_the_run() -> None:
    options = RunOptions(seed=5, max_examples=7, family_alpha=0.00123, timeout=33.5, memory_limit=3 * 2 ** 30,
                         gradcheck_mode="directional")
    plan = RunPlan("dir with space/opt.py:Adam", "adam", {"lr": "0.01"}, options)
    command = plan.command("conformance")
    assert command == ("verify check 'dir with space/opt.py:Adam' --spec adam --param lr=0.01 --seed 5 "
                       "--max-examples 7 --alpha 0.00123 --timeout 33.5 --memory-limit 3072M --gradcheck-mode directional "
                       "--check conformance")
    # The command line parses it back to the same run.
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert (args.targets, args.spec, args.param, args.checks) == (
        ["dir with space/opt.py:Adam"], ["adam"], ["lr=0.01"], ["conformance"])
    assert (args.seed, args.max_examples, args.alpha, args.timeout, args.memory_limit, args.gradcheck_mode) == (
        5, 7, 0.00123, 33.5, memory_size("3G"), "directional")
    # Default options are left out.
    assert RunPlan("reference", "l2").command() == "verify check reference --spec l2 --seed 0"


def _comparable(run) -> dict:
    """The run without its timings and captured output, numbers to 12 significant digits (this process may
    use several BLAS threads, a worker uses one: a long reduction can differ in its last bit)."""

    def rounded(x):
        if isinstance(x, float):
            return float(f"{x:.12g}")
        if isinstance(x, dict):
            return {k: rounded(v) for k, v in x.items()}
        if isinstance(x, list):
            return [rounded(v) for v in x]
        return x

    d = run.to_dict()
    d.pop("duration", None)
    for c in d["checks"]:
        c.pop("duration", None)
        c.pop("output", None)
    return rounded(d)


@pytest.mark.parametrize("spec", ["l2", "init-he"])
def test_a_run_through_the_worker_equals_the_run_in_process(spec: str) -> None:
    options = dict(seed=12345678901, max_examples=7, alpha=0.00123, timeout=300.0, gradcheck_mode="full")
    here = check_conforms("reference", spec, isolate=False, **options)
    worker = check_conforms("reference", spec, isolate=True, **options)
    assert _comparable(worker) == _comparable(here)
    if spec == "l2":
        # The search drew exactly the examples asked for, in both processes.
        drawn = {c.name: c.metrics["examples"] for c in worker.checks if "examples" in c.metrics}
        assert drawn == {"gradient-vs-symbolic": 7, "penalty-value": 7, "sgd-step-identity": 7}
    else:
        # The family-wise α is split evenly over init-he's 6 statistical checks; "mean" makes one test.
        (test,) = next(c for c in worker.checks if c.name == "mean").stat_tests
        alpha = test["alpha"] if isinstance(test, dict) else test.alpha
        assert alpha == pytest.approx(0.00123 / 6, rel=1e-12)
    assert worker.command == ("verify check reference --spec " + spec +
                              " --seed 12345678901 --max-examples 7 --alpha 0.00123 --timeout 300 --gradcheck-mode full")
