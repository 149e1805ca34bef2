"""Under load, does every print land in the check that made it? Several `verify check` runs at once.

The target is a correct L2 gradient that prints a numbered tag at every call
and warns at every call (a warning Python shows once per registry, which the
verifier resets at each check). Each run writes a JSON report; for each one
this counts the checks that called the target and
  * lost: whose output has no warning, or misses tags;
  * misplaced: whose tags are not one contiguous block following the previous
    check's (with --jobs 1 the checks run in order in one job);
  * the tags missing from all outputs together (the target logs every call).
Nothing is asserted: the figures are printed (tests/test_output_frames.py
holds the deterministic test).

    python benchmarks/output_attribution.py                  # 4 runs at once, 3 rounds
    python benchmarks/output_attribution.py --parallel 8 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TARGET = '''
import os, warnings

_LOG = os.environ["OUTPUT_ATTRIBUTION_LOG"]


def grad(w, lam):
    with open(_LOG, "a") as fh:
        fh.write("x")
    print(f"<call {os.path.getsize(_LOG)}>")
    warnings.warn("computed in a hurry", UserWarning)
    return 2 * lam * w
'''


def _judge(report: str, log: str) -> tuple[int, int, int, int]:
    checks = json.load(open(report))["runs"][0]["checks"]
    calls = os.path.getsize(log)
    tags = [[int(t) for t in re.findall(r"<call (\d+)>", c["output"])] for c in checks]
    ran = [(c, t) for c, t in zip(checks, tags) if c["status"] == "pass"]
    lost = sum(1 for c, t in ran if "UserWarning: computed" not in c["output"] or not t)
    flat = [t for ts in tags for t in ts]
    misplaced = sum(1 for (_, a), (_, b) in zip(ran, ran[1:]) if a and b and b[0] != a[-1] + 1)
    return len(ran), lost, misplaced, calls - len(set(flat) & set(range(1, calls + 1)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    totals = [0, 0, 0, 0]
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, "tagger.py")
        with open(target, "w") as fh:
            fh.write(TARGET)
        for r in range(args.rounds):
            procs = []
            for i in range(args.parallel):
                log, report = os.path.join(tmp, f"{r}-{i}.log"), os.path.join(tmp, f"{r}-{i}.json")
                open(log, "w").close()
                procs.append((subprocess.Popen(
                    [sys.executable, "-m", "verify", "check", f"{target}:grad", "--spec", "l2", "--jobs", "1",
                     "--json", report], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    env={**env, "OUTPUT_ATTRIBUTION_LOG": log}), report, log))
            for i, (proc, report, log) in enumerate(procs):
                proc.wait()
                figures = _judge(report, log)
                totals = [a + b for a, b in zip(totals, figures)]
                print(f"round {r} run {i}: checks calling the target {figures[0]}, lost {figures[1]}, "
                      f"misplaced {figures[2]}, calls missing {figures[3]}")
    print(f"total over {args.rounds * args.parallel} runs: checks {totals[0]}, lost {totals[1]}, "
          f"misplaced {totals[2]}, calls missing {totals[3]}")


if __name__ == "__main__":
    main()
