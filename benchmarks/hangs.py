"""How long a run on a hanging target takes, as a multiple of the per-check limit (issue 16: at most about 2).

Each target of tests/hostile/hang_targets.py (SGD optimizers that hang in their constructor, at the first or a
later step, with SIGALRM blocked or ignored, SIGTERM ignored, in a C loop that holds the GIL, asleep in C with
the alarm taken by another thread, a spinning thread beside a main thread waiting on a lock, a child in a
session of its own holding the pipes), an initialiser that hangs when called once at load, and a module that
hangs while imported, is run alone through the command line, one run after another:

    verify check TARGET --spec sgd --timeout T --load-timeout L --jobs 1 --json ...

For each the wall time of the whole command over T is printed, and the run's own duration over T (the report's,
from its first job's start: the wall time less the interpreter's and the job server's start, about 1-3 s, the
fixed allowance), with what the report says: the status of each check, the sum of the time limits the checks
got (read from their messages) over T, and the exit status. Nothing is asserted (tests/test_hangs.py asserts on what the reports say).

    python benchmarks/hangs.py                       # T = 3 s, L = 15 s
    python benchmarks/hangs.py --timeout 2 --load-timeout 30 --only BlocksAlarmAtStep
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOSTILE = os.path.join(ROOT, "tests", "hostile")
sys.path.insert(0, ROOT)

from tests.hostile.hang_targets import HANGS  # noqa: E402

CHECKS = ["conformance", "no-nan", "determinism", "zero-gradient-fixed-point"]


def cases() -> list[tuple[str, str, list[str]]]:
    hangs = os.path.join(HOSTILE, "hang_targets.py")
    out = [(name, f"{hangs}:{name}", ["--spec", "sgd", *sum((["--check", c] for c in CHECKS), [])])
           for name in HANGS]
    out.append(("init_hangs (init-he)", f"{hangs}:init_hangs", ["--spec", "init-he"]))
    out.append(("import_loops (l2, import)", os.path.join(HOSTILE, "import_loops.py") + ":grad", ["--spec", "l2"]))
    return out


def run_one(target: str, extra: list[str], limit: float, load_limit: float) -> tuple[float, int, dict | None]:
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "r.json")
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "verify", "check", target, *extra, "--timeout", f"{limit:g}",
                               "--load-timeout", f"{load_limit:g}", "--jobs", "1", "--max-examples", "10",
                               "--json", report], capture_output=True, text=True, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": ROOT})
        wall = time.perf_counter() - started
        data = json.load(open(report)) if os.path.exists(report) else None
    return wall, proc.returncode, data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--load-timeout", type=float, default=15.0)
    ap.add_argument("--only", action="append", default=[])
    args = ap.parse_args()
    print(f"per-check limit T = {args.timeout:g} s, load limit {args.load_timeout:g} s; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'target':34} {'wall/T':>7} {'run/T':>6} {'limits/T':>9} exit  statuses")
    for name, target, extra in cases():
        if args.only and not any(o in name for o in args.only):
            continue
        wall, code, data = run_one(target, extra, args.timeout, args.load_timeout)
        if data and data.get("runs") and "checks" in data["runs"][0]:
            checks = data["runs"][0]["checks"]
            budgets = [float(m.group(1)) for c in checks
                       if (m := re.search(r"within (?:the )?([\d.]+) s", c["message"]))]
            statuses = " ".join(c["status"] for c in checks)
            given = f"{sum(budgets) / args.timeout:9.2f}"
            run = f"{data['runs'][0]['duration'] / args.timeout:6.2f}"
        else:
            statuses, given, run = "(no run: load error)", f"{'-':>9}", f"{'-':>6}"
        print(f"{name:34} {wall / args.timeout:7.2f} {run} {given} {code:4}  {statuses}", flush=True)


if __name__ == "__main__":
    main()
