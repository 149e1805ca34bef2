"""The real-world optimizer corpus (tests/realworld/optimizers) through the verifier, as a table.

Every entry is checked the way its user would check it (every check for correct implementations,
conformance for the others) and counted: correct implementations rejected (false alarms), bugs and variants
not caught (misses), diagnoses that name the cause, undeclared hard-coded values reported as inconclusive.

    python benchmarks/realworld.py                  # --max-examples 60, the command line's default
    python benchmarks/realworld.py --max-examples 8 # as the test suite runs it

Exits 1 if any correct implementation is rejected or any bug is missed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import verify  # noqa: E402
from tests.realworld.optimizers import CORPUS  # noqa: E402
from verify.results import Status  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=60)
    parser.add_argument("--only", nargs="*", metavar="MODULE",
                        help="only the entries of these corpus modules (e.g. lamb_torch clipping)")
    args = parser.parse_args()
    corpus = [e for e in CORPUS if not args.only or e.target.split(":")[0] in args.only]
    rows, counts = [], {"false alarm": 0, "missed": 0, "named": 0, "not named": 0, "inconclusive": 0}
    started = time.perf_counter()
    for e in corpus:
        if e.needs:
            try:
                importlib.import_module(e.needs)
            except ImportError:
                rows.append((e.name, e.kind, "skipped (no " + e.needs + ")", ""))
                continue
        module, attr = e.target.split(":")
        target = getattr(importlib.import_module(f"tests.realworld.optimizers.{module}"), attr)
        try:
            run = verify.check_conforms(target, e.spec, params=dict(e.params), max_examples=args.max_examples,
                                        timeout=None, checks=None if e.kind == "correct" else "conformance")
        except Exception as exc:    # a refusal or a crash of the verifier is a result of its own
            counts["false alarm" if e.kind in ("correct", "assumed") else "missed"] += 1
            rows.append((e.name, e.kind, "REFUSED/CRASHED", f"{type(exc).__name__}: {exc}"[:300]))
            continue
        conf = next(c for c in run.checks if c.name == "conformance")
        if e.kind == "correct":
            ok = not run.status.is_problem and conf.status is Status.PASS
            outcome = "pass" if ok else "FALSE ALARM: " + ", ".join(
                f"{c.name} {c.status.value}" for c in run.checks if c.status.is_problem)
            counts["false alarm"] += not ok
        elif e.kind == "assumed":
            ok = conf.status is Status.INCONCLUSIVE and e.cause in conf.message
            outcome = "inconclusive" if ok else f"WRONG: {conf.status.value}"
            counts["inconclusive"] += ok
            counts["false alarm"] += conf.status.is_problem
        else:
            caught = conf.status is Status.FAIL
            named = caught and (e.cause is None or e.cause in (conf.diagnosis or ""))
            outcome = "MISSED" if not caught else ("caught, named" if named else "caught, NOT named")
            counts["missed"] += not caught
            if e.cause is not None and caught:
                counts["named" if named else "not named"] += 1
        rows.append((e.name + "".join(f" {k}={v}" for k, v in e.params), e.kind, outcome,
                     (conf.diagnosis or "")[:90]))
    width = max(len(r[0]) for r in rows)
    for name, kind, outcome, diagnosis in rows:
        print(f"{name:<{width}}  {kind:<8}  {outcome:<18}  {diagnosis}")
    wrong = sum(1 for e in corpus if e.kind in ("bug", "variant"))
    correct = sum(1 for e in corpus if e.kind == "correct")
    print(f"\n{len(corpus)} entries in {time.perf_counter() - started:.0f} s: {correct} correct, {wrong} bugs/variants, "
          f"{sum(1 for e in corpus if e.kind == 'assumed')} undeclared hard-coded values")
    print(f"false alarms {counts['false alarm']}/{correct}; missed {counts['missed']}/{wrong}; cause named "
          f"{counts['named']}/{counts['named'] + counts['not named']} (of those with a single named cause); "
          f"inconclusive as expected {counts['inconclusive']}")
    return 1 if counts["false alarm"] or counts["missed"] else 0


if __name__ == "__main__":
    sys.exit(main())
