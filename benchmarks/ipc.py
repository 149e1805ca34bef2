"""What the target process costs: the same checks on a subject here and on its proxy in a target process.

For each spec, the spec's checks run twice in this process on the bundled
reference (or ``--target``): once on the subject adapted here (what an
in-process run does) and once on the proxy of a subject loaded in a target
process (:mod:`verify.remote`, what every worker does since the checker
stopped importing the target). Everything else — the reference, the
comparisons, the statistics — is the same code on the same data, so the
difference is the cost of the boundary: encoding, the socket, decoding,
validation. Each figure is the fastest of ``--repeat`` runs. Printed, never
asserted: the boundary's share of the checks' time through the target process
(issue 16: the IPC cost under 20 % of a run's time) and the ratio of the sums
(the stricter reading, the cost under 20 % of the in-process time: under 1.20).

    python benchmarks/ipc.py                          # l2, newton, init-he, batchnorm, sgd, adam (about a minute)
    python benchmarks/ipc.py --specs adam,rmsprop --repeat 3 --max-examples 30
    python benchmarks/ipc.py --calls 2000             # also: one call of grad(w, lam), here and there
    python benchmarks/ipc.py --runs                   # also: whole `verify check` runs, isolated and not

With ``--calls N`` it also times N calls of the reference L2's ``grad(w, lam)``
for w of 12 and of 100 000 entries, on the subject here and on its proxy (w
travels in memory shared with the target process, which the job compares
after each call: :mod:`verify.shared`), and prints the median per call.
With ``--runs`` it also times ``python -m verify check reference`` on the same
specs at their default effort with ``--jobs 1``, in workers and with
``--no-isolation``: what isolation as a whole (zygote, jobs, target processes
and the boundary) adds to a run a user makes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from verify import remote  # noqa: E402
from verify.plan import RunOptions, RunPlan, select_checks  # noqa: E402
from verify.results import Status  # noqa: E402
from verify.runner import execute_check, load_subject, prepare  # noqa: E402

SPECS = ("l2", "newton", "init-he", "batchnorm", "sgd", "adam")
SHARE = 0.20          # issue 16: the IPC cost under 20 % of a run's time
TARGET = 1.20         # the stricter reading: under 20 % of the in-process time


def _time(plan: RunPlan, target_process: remote.TargetProcess | None) -> tuple[float, list[str]]:
    started = time.perf_counter()
    prep = prepare(plan, target_process)
    statuses = [execute_check(prep, check, plan.options).status for check in select_checks(prep.spec, None)]
    return time.perf_counter() - started, [s.value for s in statuses]


def _per_call(calls: int) -> None:
    import numpy as np

    print(f"{'grad(w, lam)':<22} {'in process':>11} {'two processes':>14}")
    target_process = remote.start(load_subject)
    try:
        there = prepare(RunPlan("reference", "l2"), target_process).subject
        here = prepare(RunPlan("reference", "l2")).subject
        for size in (12, 100_000):
            w = np.random.default_rng(0).normal(size=size)
            medians = []
            for subject in (here, there):
                times = []
                for _ in range(calls):
                    started = time.perf_counter()
                    subject.grad(w, 0.1)
                    times.append(time.perf_counter() - started)
                medians.append(sorted(times)[len(times) // 2])
            print(f"  w of {size:>7} entries {medians[0] * 1e6:>9.0f}µs {medians[1] * 1e6:>12.0f}µs")
    finally:
        target_process.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", default=",".join(SPECS))
    parser.add_argument("--target", default="reference")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--max-examples", type=int, default=20)
    parser.add_argument("--calls", type=int, default=0, help="also time this many single calls (see above)")
    parser.add_argument("--runs", action="store_true", help="also time whole verify check runs (see above)")
    args = parser.parse_args(argv)
    if args.calls:
        _per_call(args.calls)
    if args.runs:
        _runs(args.target, args.specs.split(","), args.repeat)
    options = RunOptions(max_examples=args.max_examples, timeout=None)
    total_here = total_there = 0.0
    wrong = 0
    print(f"{'spec':<12} {'in process':>11} {'two processes':>14} {'ratio':>7}")
    for spec in args.specs.split(","):
        plan = RunPlan(args.target, spec, {}, options)
        here = there = float("inf")
        for _ in range(args.repeat):
            t, local = _time(plan, None)
            here = min(here, t)
            target_process = remote.start(load_subject)
            try:
                t, proxied = _time(plan, target_process)
            finally:
                target_process.close()
            there = min(there, t)
            if local != proxied or any(s not in (Status.PASS.value, Status.SKIP.value) for s in local):
                wrong += 1
                print(f"  {spec}: verdicts differ or do not pass: {local} vs {proxied}")
        total_here += here
        total_there += there
        print(f"{spec:<12} {here:>10.2f}s {there:>13.2f}s {there / here:>7.3f}")
    ratio = total_there / total_here
    share = 1 - total_here / total_there
    print(f"{'all':<12} {total_here:>10.2f}s {total_there:>13.2f}s {ratio:>7.3f}")
    print(f"the boundary's share of the checks' time through the target process: {share:.1%} "
          f"(under {SHARE:.0%}: {'met' if share < SHARE else 'NOT met'}); ratio {ratio:.3f} "
          f"(under {TARGET:.2f}: {'met' if ratio < TARGET else 'NOT met'})")
    return 1 if wrong else 0


def _runs(target: str, specs: list[str], repeat: int) -> None:
    import subprocess

    command = [sys.executable, "-m", "verify", "check", target, *[a for s in specs for a in ("--spec", s)],
               "--jobs", "1"]
    best = {}
    for _ in range(repeat):
        for how, extra in (("in workers", []), ("--no-isolation", ["--no-isolation"])):
            started = time.perf_counter()
            done = subprocess.run(command + extra, capture_output=True, text=True)
            elapsed = time.perf_counter() - started
            if done.returncode != 0:
                print(f"  verify check {how} exited {done.returncode}: {done.stdout[-300:]}{done.stderr[-300:]}")
            best[how] = min(best.get(how, float("inf")), elapsed)
    isolated, plain = best["in workers"], best["--no-isolation"]
    print(f"whole runs (verify check {target} on {len(specs)} specs, --jobs 1): in workers {isolated:.2f}s, "
          f"--no-isolation {plain:.2f}s; isolation's share of the run: {1 - plain / isolated:.1%} "
          f"(under {SHARE:.0%}: {'met' if 1 - plain / isolated < SHARE else 'NOT met'})")


if __name__ == "__main__":
    sys.exit(main())
