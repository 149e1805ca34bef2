"""What a target does to its inputs is judged by the job, in memory it shares with the target process
(verify.shared), not by the target process's bookkeeping; and what the target sends back is bounded by what it
was asked (verify.remote.reply_limit), before the job allocates anything.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify import remote, wire
from verify.plan import RunOptions, RunPlan, select_checks
from verify.runner import execute_check, prepare, run

HOSTILE = Path(__file__).resolve().parent / "hostile"

# target, spec, the check judging what it does to its inputs, words of the failure. Every target computes the
# right values and silences (or misleads) the input bookkeeping of its own process: each passed before.
HIDING = [
    (f"{HOSTILE / 'more_targets.py'}:mutates_and_hides_it", "l2", "grad-hygiene",
     "grad(w, lam) modified its input w in place"),
    (f"{HOSTILE / 'hiding_targets.py'}:watches_a_copy", "l2", "grad-hygiene",
     "grad(w, lam) modified its input w in place"),
    (f"{HOSTILE / 'hiding_targets.py'}:restores_after_replying", "l2", "grad-hygiene",
     "grad(w, lam) modified its input w in place"),
    (f"{HOSTILE / 'hiding_targets.py'}:KeepsGradientAndHidesIt", "sgd", "no-input-mutation",
     "the grads given at step 1, which the target kept"),
    (f"{HOSTILE / 'hiding_targets.py'}:DoublesParamsAndHidesIt", "sgd", "no-input-mutation",
     "modified its argument params in place at step 1, to values other than the ones it returned"),
    (f"{HOSTILE / 'hiding_targets.py'}:OverwritesEarlierParamsAndHidesIt", "sgd", "no-input-mutation",
     "the params given at step 1, which the target kept, to values other than the ones it returned"),
    (f"{HOSTILE / 'hiding_targets.py'}:BatchNormMutatesAndHidesIt", "batchnorm", "protocol",
     "modified its input x in place"),
]

pytestmark = pytest.mark.xdist_group("hiding")


@pytest.fixture(scope="module")
def hiding_run():
    plans = [RunPlan(target, spec, options=RunOptions(max_examples=3, checks=(check,)))
             for target, spec, check, _ in HIDING]
    return run(plans)


@pytest.mark.parametrize("target,spec,check,words", HIDING, ids=[h[0].rsplit(":", 1)[1] for h in HIDING])
def test_a_change_in_place_hidden_in_the_target_process_fails(hiding_run, target, spec, check, words):
    (r,) = [r for r in hiding_run.runs if r.target == target]
    (c,) = r.checks
    assert c.name == check and c.status.value == "fail", c.message
    assert words in c.message, c.message


def test_an_honest_change_reads_the_same_from_both_sides_and_the_checker_keeps_its_arrays(target_process):
    """A target that changes w in place: the job and the target process both see it (the target's text first,
    the job's after); the checker's own array is untouched, and what a target scribbles later into the shared
    memory reaches nothing the checks computed."""
    prep = prepare(RunPlan(f"{HOSTILE / 'l2_targets.py'}:mutates_input", "l2"), target_process)
    w = np.array([1.0, -2.0, 0.5])
    prep.subject.grad(w, 0.1)
    np.testing.assert_array_equal(w, [1.0, -2.0, 0.5])
    assert prep.subject.inputs.failures == ["grad(w, lam) modified its input w in place"] * 2
    assert prep.subject.inputs.unobserved is None


def test_without_shared_memory_the_mutation_checks_are_skipped_never_passed(target_process):
    """Fail-closed: when the job cannot share memory with the target process, a check that would say 'leaves its
    inputs alone' on the target's word is skipped with the reason; a change the target reports still fails."""
    target_process.arena.unavailable = "no memfd here (test)"
    options = RunOptions(max_examples=3)
    statuses = {}
    for target, spec, check in ((f"{HOSTILE / 'l2_targets.py'}:mutates_input", "l2", "grad-hygiene"),
                                ("reference", "sgd", "no-input-mutation"),
                                (f"{HOSTILE / 'hiding_targets.py'}:watches_a_copy", "l2", "grad-hygiene")):
        prep = prepare(RunPlan(target, spec, options=options), target_process)
        (chosen,) = [c for c in select_checks(prep.spec, None) if c.name == check]
        outcome = execute_check(prep, chosen, options)
        statuses[target.rsplit(":", 1)[-1]] = (outcome.status.value, outcome.message)
    assert statuses["watches_a_copy"][0] == "skip" and "no memfd here" in statuses["watches_a_copy"][1]
    assert statuses["mutates_input"][0] == "fail"
    assert statuses["reference"][0] == "skip"


def test_a_reply_larger_than_what_was_asked_is_refused_before_it_is_read():
    """A 'target process' announcing a 900 MB reply to a request that carried 80 bytes: the job refuses it from
    the 12-byte prefix (were it to read on, the socket's 5 s timeout would end it as a dead target instead), kills
    the process, and the reply limit follows what was asked."""
    ours, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:                                   # the fake target process: read the request, announce a lot
        try:
            ours.close()
            wire.Inbox(theirs).receive()
            theirs.sendall(wire._PREFIX.pack(900_000_000, 10))
            theirs.recv(1)
        finally:
            os._exit(0)
    theirs.close()
    ours.settimeout(5.0)
    process = remote.TargetProcess(ours, pid)
    with pytest.raises(wire.WireError, match=r"announced as 900000000 bytes.*limit for what was asked is"):
        process.request(op="call", ref=None, name="grad", args=[np.zeros(10)], kwargs={})
    assert process.dead is not None
    with pytest.raises(remote.TargetDied):
        process.request(op="get", ref=None, name="x")
    process.close()
    slack = remote.REPLY_SLACK
    assert remote.reply_limit({"args": [np.zeros(10), 0.1]}) == slack + 4 * 80
    assert remote.reply_limit({"args": [(1000, 1000), 7]}) == slack + 16 * 10 ** 6      # sample(shape, seed)
    assert remote.reply_limit({"args": [wire.Placed(1, 0, "<f4", (5, 2))]}) == slack + 4 * 40
    assert remote.reply_limit({"args": [(1 << 20, 1 << 20)]}) == wire.MAX_FRAME


def test_an_optimizer_updating_the_params_it_is_given_in_place_passes_judged_by_the_job(target_process):
    """The job hands each step the caller's params in shared memory and allows a change only to the new parameters
    the step returns: an optimizer keyed on id(params) that updates them in place is given the same array at every
    step (its momentum otherwise restarts and conformance would fail), and its in-place updates pass."""
    options = RunOptions(max_examples=3)
    prep = prepare(RunPlan(f"{HOSTILE / 'keyed_on_id.py'}:MomentumKeyedOnId", "momentum",
                           {"lr": 0.01, "momentum": 0.9}, options=options), target_process)
    outcomes = {c.name: execute_check(prep, c, options) for c in select_checks(prep.spec, None)
                if c.name in ("conformance", "no-input-mutation")}
    assert outcomes["conformance"].status.value == "pass", outcomes["conformance"].message
    mutation = outcomes["no-input-mutation"]
    assert mutation.status.value == "pass", mutation.message
    assert "params are updated in place to the new parameters" in mutation.message
    assert prep.subject.make(lr=0.01, momentum=0.9).inputs.unobserved is None


_ENTRIES = [0.0, -0.0, 1.0, -1.5, float("nan"), -float("nan"), float("inf"), 1e-300, 5e-324]


@settings(max_examples=200)
@given(st.sampled_from(["<f8", "<f4", "<f2", "<c16", "<i8", "<u1", "|b1", ">f8", "|O"]),
       st.lists(st.sampled_from(_ENTRIES), min_size=0, max_size=6), st.data())
def test_an_input_left_bit_for_bit_alone_is_judged_as_its_values_are(dtype, entries, data):
    """left_alone, which both processes judge inputs with, takes identical bytes for "unchanged" at once: it says
    what same_state says of the values (NaN = NaN, -0 = 0; not for Python objects, NaN among them), whatever a call
    wrote, in whatever dtype and shape, and of the same bytes read as another dtype."""
    from verify.adapters.base import left_alone, same_state

    floating = dtype[1] in "fcO"
    with np.errstate(invalid="ignore"):
        before = np.array(entries, dtype=np.complex128 if "c" in dtype else np.float64)
        before = before.astype(dtype) if floating else np.nan_to_num(before).astype(dtype)
        now = before.copy()
        if entries and data.draw(st.booleans()):
            k = data.draw(st.integers(0, len(entries) - 1))
            now[k] = data.draw(st.sampled_from(_ENTRIES)) if floating else data.draw(st.integers(0, 1))
    if data.draw(st.booleans()):
        now = now.reshape(1, -1)
    if data.draw(st.booleans()):
        now = now.astype(data.draw(st.sampled_from(["<c8", ">c16"] if "c" in dtype else ["<f8", "<f4", ">f8"])))
    elif dtype != "|O" and data.draw(st.booleans()):       # the same bytes read as another dtype: other values
        now = now.view({1: "<i1", 2: "<i2", 4: "<i4", 8: "<i8", 16: "<f8"}[now.dtype.itemsize])
    assert left_alone(now, before) == same_state(now, before)
    assert left_alone(before.copy(), before) == same_state(before.copy(), before)
