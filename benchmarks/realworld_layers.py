"""The real-world corpus of initialisers, batch norms, layer/RMS norms, regularisers and Newton steps, as a table.

Every case of tests/realworld/{initialisers,batchnorm,layernorm,regularisers,newton} is run through the verifier with
every check, under several seeds, and counted: correct implementations rejected (a check failed or errored:
false alarms), checks left inconclusive on correct code, bugs not caught by the checks they must fail
(misses), and bugs whose diagnosis names the cause (the words the case expects).

    python benchmarks/realworld_layers.py              # seeds 0-4
    python benchmarks/realworld_layers.py --seeds 1    # one seed, as the test suite runs it

Exits 1 if any correct implementation is rejected or any bug is missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.realworld.corpus import all_cases  # noqa: E402
from verify.runner import RunOptions, RunPlan, run_inline  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max-examples", type=int, default=60)
    args = parser.parse_args()
    cases = all_cases()
    totals = {"runs": 0, "false alarm": 0, "inconclusive": 0, "missed": 0, "named": 0, "bug runs": 0}
    started = time.perf_counter()
    print(f"{'case':<44} {'spec':<12} {'kind':<8} {'verdicts over seeds'}")
    for case in cases:
        verdicts = []
        for seed in range(args.seeds):
            run = run_inline(RunPlan(case.target, case.spec, case.params,
                             RunOptions(seed=seed, timeout=None, max_examples=args.max_examples), target_name=case.name))
            status = {c.name: c.status.value for c in run.checks}
            diagnoses = " | ".join(c.diagnosis for c in run.checks if c.diagnosis)
            totals["runs"] += 1
            if case.correct:
                if any(v in ("fail", "error", "timeout") for v in status.values()):
                    totals["false alarm"] += 1
                    verdicts.append("REJECTED")
                elif any(v == "inconclusive" for v in status.values()):
                    totals["inconclusive"] += 1
                    verdicts.append("inconclusive")
                else:
                    verdicts.append("pass")
            else:
                totals["bug runs"] += 1
                caught = case.must_fail <= {k for k, v in status.items() if v == "fail"}
                named = bool(case.diagnosis) and all(w in diagnoses for w in case.diagnosis)
                totals["missed"] += not caught
                totals["named"] += caught and named
                verdicts.append(("caught" if caught else "MISSED") + (", named" if named else ""))
        shown = ", ".join(sorted(set(verdicts)))
        print(f"{case.name:<44} {case.spec:<12} {'correct' if case.correct else 'bug':<8} {shown}")
    correct_runs = totals["runs"] - totals["bug runs"]
    print(f"\n{len(cases)} cases ({sum(c.correct for c in cases)} correct, {sum(not c.correct for c in cases)} bugs), "
          f"{args.seeds} seed(s) each, {time.perf_counter() - started:.0f} s")
    print(f"correct implementations rejected: {totals['false alarm']} of {correct_runs} runs; "
          f"inconclusive: {totals['inconclusive']}")
    print(f"bugs missed: {totals['missed']} of {totals['bug runs']} runs; diagnosis naming the cause: "
          f"{totals['named']} of {totals['bug runs']} ({totals['named'] / max(totals['bug runs'], 1):.0%})")
    return 0 if totals["false alarm"] == 0 and totals["missed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
