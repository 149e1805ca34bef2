"""Time to check each optimizer spec, and how many examples and steps conformance ran.

For every optimizer spec (and ``newton``) this runs ``verify check reference
--spec S`` twice: in-process (the checks' own cost, per check) and through
the command line (what a user waits for, worker process included), and
prints the conformance search's examples and steps.

    python benchmarks/conformance.py                  # every spec, seed 0
    python benchmarks/conformance.py --specs adam,rprop --max-examples 200
    python benchmarks/conformance.py --no-cli         # in-process only
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from verify.runner import RunOptions, RunPlan, run_inline  # noqa: E402

SPECS = ("sgd", "momentum", "nesterov", "weight-decay", "sign-sgd", "rprop", "rmsprop", "adam", "adamw",
         "generic-optimizer", "newton")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--specs", default=",".join(SPECS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-examples", type=int, default=60)
    ap.add_argument("--no-cli", action="store_true", help="skip the command-line timing")
    ap.add_argument("--per-check", action="store_true", help="print every check's duration")
    args = ap.parse_args()

    rows = []
    for spec in args.specs.split(","):
        started = time.perf_counter()
        run = run_inline(RunPlan("reference", spec, options=RunOptions(seed=args.seed, max_examples=args.max_examples,
                                                                timeout=None)))
        inline = time.perf_counter() - started
        conf = next((c for c in run.checks if c.name == "conformance"), None)
        examples = conf.metrics.get("examples", "-") if conf else "-"
        steps = conf.metrics.get("steps", "-") if conf else "-"
        worst = conf.metrics.get("worst_ratio") if conf else None
        conf_time = conf.duration if conf else 0.0
        cli = None
        if not args.no_cli:
            started = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "verify", "check", "reference", "--spec", spec,
                                  "--seed", str(args.seed), "--max-examples", str(args.max_examples)],
                                 cwd=ROOT, capture_output=True, text=True)
            cli = time.perf_counter() - started
            if out.returncode != 0:
                print(out.stdout[-3000:], out.stderr[-3000:])
        status = run.status.value
        rows.append((spec, status, len(run.checks), inline, cli, conf_time, examples, steps, worst))
        if args.per_check:
            for c in run.checks:
                print(f"  {spec:18s} {c.name:38s} {c.status.value:5s} {c.duration:6.2f} s")

    header = ("spec", "verdict", "checks", "in-process s", "CLI s", "conformance s", "examples", "steps", "worst/tol")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for spec, status, n, inline, cli, ct, ex, st, worst in rows:
        print(" | ".join([spec, status, str(n), f"{inline:.2f}", "-" if cli is None else f"{cli:.2f}", f"{ct:.2f}",
                          str(ex), str(st), "-" if worst is None else f"{worst:.3f}"]))
    # Times are figures to read, not a verdict: only a spec that does not pass is an error.
    return 0 if all(r[1] == "pass" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
