"""The real-world corpus (tests/realworld/optimizers): implementations written the way third-party code is —
course solutions, textbooks, numpy libraries, optimizer packages, library objects built in a user's module —
each checked as a user would check it. No correct one is rejected, every bug is caught, and the diagnosis names
the cause (real code with several bugs at once may get "No catalogued bug fits": still caught, never a wrong name).

Correct implementations run every check; the others run conformance, where the verdict and the diagnosis are
made. Runs in process with few examples per search (a shape or convention problem shows on the first ones).
"""

from __future__ import annotations

import importlib

import pytest

import verify
from tests.realworld.optimizers import BENCHMARK_ONLY, CORPUS, Entry
from verify.results import Status

MAX_EXAMPLES = 8

pytestmark = pytest.mark.slow     # about 200 runs: some four minutes on 2 cores


def _load(entry: Entry):
    if entry.needs:
        pytest.importorskip(entry.needs)
    module, attr = entry.target.split(":")
    return getattr(importlib.import_module(f"tests.realworld.optimizers.{module}"), attr)


def _run(entry: Entry, checks=None):
    return verify.check_conforms(_load(entry), entry.spec, params=dict(entry.params), max_examples=MAX_EXAMPLES,
                                 timeout=None, checks=checks)


def _why(run) -> str:
    return "\n".join(f"{c.name} [{c.status.value}]: {c.message[:700]}\n  diagnosis: {c.diagnosis}"
                     for c in run.checks if c.status is not Status.PASS)


def _ids(entries):
    return [e.name + (f"[{','.join(f'{k}={v}' for k, v in e.params)}]" if e.params else "") for e in entries]


SUITE = [e for e in CORPUS if e.name not in BENCHMARK_ONLY]       # benchmarks/realworld.py runs them all
CORRECT = [e for e in SUITE if e.kind == "correct"]
WRONG = [e for e in SUITE if e.kind in ("bug", "variant")]
ASSUMED = [e for e in SUITE if e.kind == "assumed"]


def test_the_corpus_is_broad():
    specs = {e.spec for e in CORPUS}
    assert specs >= {"sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw", "rprop", "sign-sgd", "weight-decay",
                     "adagrad", "adadelta", "adamax", "nadam", "radam", "amsgrad", "lion", "lamb", "asgd",
                     "grad-clip-norm"}
    assert len({e.target.split(":")[0] for e in CORPUS}) >= 10          # sources
    assert len(CORRECT) >= 30 and len(WRONG) >= 30
    assert BENCHMARK_ONLY <= {e.name for e in CORPUS}                  # no stale name hides nothing


@pytest.mark.parametrize("entry", CORRECT, ids=_ids(CORRECT))
def test_correct_implementations_pass_every_check(entry):
    run = _run(entry)
    assert not run.status.is_problem, f"false alarm on {entry.name}:\n{_why(run)}"
    conformance = next(c for c in run.checks if c.name == "conformance")
    assert conformance.status is Status.PASS, f"{entry.name}: conformance {conformance.status}\n{_why(run)}"


@pytest.mark.parametrize("entry", WRONG, ids=_ids(WRONG))
def test_bugs_and_variants_are_caught_and_named(entry):
    (c,) = _run(entry, checks="conformance").checks
    assert c.status is Status.FAIL, f"missed {entry.name}: {c.status}\n{c.message[:1500]}"
    if entry.cause is not None:
        assert entry.cause in (c.diagnosis or ""), f"{entry.name}: diagnosis does not name {entry.cause!r}:\n" \
                                                    f"{c.diagnosis}"
        assert not c.diagnosis.startswith("No catalogued bug fits")
    else:   # several bugs at once: caught, and nothing named that does not match
        assert c.diagnosis is None or c.diagnosis.startswith("No catalogued bug fits") or \
            c.diagnosis.startswith("matches") or "behaves like" in c.diagnosis, c.diagnosis


@pytest.mark.parametrize("entry", ASSUMED, ids=_ids(ASSUMED))
def test_an_undeclared_hard_coded_value_is_inconclusive_not_a_failure(entry):
    (c,) = _run(entry, checks="conformance").checks
    assert c.status is Status.INCONCLUSIVE, f"{entry.name}: {c.status}\n{c.message[:1500]}"
    assert entry.cause in c.message, c.message
