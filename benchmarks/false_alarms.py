"""Measured false alarms of the statistical specs on correct implementations.

Runs every check of ``init-he``, ``init-xavier``, ``init-lecun``, ``relu-bias``
and ``batchnorm`` on correct implementations (the reference; real-world code
from tests/realworld: ``np.random.randn`` He, CS231n's batch-norm functions
with their running variance started at 0, a layer creating its statistics
lazily, a float32 layer; and, when installed, ``torch.nn.init.kaiming_normal_``,
``torch.nn.init.xavier_normal_``, ``torch.nn.BatchNorm1d`` and its cumulative
average) under many different seeds, and prints how many runs had any check
fail, error or end inconclusive. With the family-wise level 1e-6 per run, the
expected number of false alarms in 200 runs is 2e-4.

Then the optimizer specs' conformance check (100 examples per run) on the
reference and on PyTorch's optimizers under ``--optimizer-seeds`` seeds: its
tolerance is a running floating-point error bound, and a false alarm there is
a bound that does not hold (the suite runs a few of these seeds; this is the
long sweep).

    python benchmarks/false_alarms.py            # 200 seeds per pair, 20 per optimizer
    python benchmarks/false_alarms.py --seeds 20 --optimizer-seeds 3   # a quick look
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from verify.runner import RunOptions, RunPlan, run_inline  # noqa: E402

PAIRS = [
    ("reference", "init-he", {}),
    ("reference", "init-he", {"distribution": "uniform"}),
    ("reference", "init-he", {"distribution": "truncated"}),
    ("reference", "init-xavier", {}),
    ("reference", "init-lecun", {}),
    ("reference", "relu-bias", {}),
    ("reference", "batchnorm", {}),
    ("tests.realworld.initialisers.students:he_randn", "init-he", {}),
    ("tests.realworld.initialisers.keras_style:he_normal", "init-he", {"distribution": "truncated"}),
    ("tests.realworld.batchnorm.cs231n:batchnorm_forward", "batchnorm", {}),
    ("tests.realworld.batchnorm.students:BatchNormLazy", "batchnorm", {"convention": "keras", "momentum": 0.9}),
    ("tests.realworld.batchnorm.students:BatchNormFloat32", "batchnorm", {}),
    ("torch.nn.init.kaiming_normal_", "init-he", {}),
    ("torch.nn.init.xavier_normal_", "init-xavier", {}),
    ("torch.nn.BatchNorm1d", "batchnorm", {}),
    ("torch.nn.BatchNorm1d", "batchnorm", {"convention": "cumulative"}),
]


OPTIMIZER_PAIRS = [("reference", spec, {}) for spec in (
    "sgd", "momentum", "nesterov", "weight-decay", "sign-sgd", "rprop", "rmsprop", "adam", "adamw")] + [
    ("torch.optim.SGD", "sgd", {}), ("torch.optim.SGD", "momentum", {}), ("torch.optim.SGD", "nesterov", {}),
    ("torch.optim.SGD", "weight-decay", {}), ("torch.optim.Rprop", "rprop", {}),
    ("torch.optim.RMSprop", "rmsprop", {}), ("torch.optim.Adam", "adam", {}), ("torch.optim.AdamW", "adamw", {}),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--optimizer-seeds", type=int, default=20)
    args = parser.parse_args()
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    print(f"{'target':<52} {'spec':<12} {'params':<24} {'runs':>5} {'false alarms':>13} {'s/run':>7}")
    total_alarms = 0
    rows = [(t, s, p, args.seeds, RunOptions(timeout=None, max_examples=20)) for t, s, p in PAIRS]
    rows += [(t, s, p, args.optimizer_seeds, RunOptions(timeout=None, max_examples=100, checks=("conformance",)))
             for t, s, p in OPTIMIZER_PAIRS]
    for target, spec, params, seeds, options in rows:
        if target.startswith("torch") and not have_torch:
            print(f"{target:<52} {spec:<12} {'':<24} {'(torch not installed)':>27}")
            continue
        alarms = []
        started = time.perf_counter()
        for seed in range(args.first_seed, args.first_seed + seeds):
            run = run_inline(RunPlan(target, spec, params, dataclasses.replace(options, seed=seed)))
            bad = [f"{c.name} ({c.status.value})" for c in run.checks if c.status.value not in ("pass", "skip")]
            if bad:
                alarms.append((seed, bad))
        per_run = (time.perf_counter() - started) / seeds
        shown = ",".join(f"{k}={v}" for k, v in params.items()) or "-"
        print(f"{target:<52} {spec:<12} {shown:<24} {seeds:>5} {len(alarms):>13} {per_run:>7.2f}")
        for seed, bad in alarms:
            print(f"    seed {seed}: {', '.join(bad)}")
        total_alarms += len(alarms)
    print(f"total false alarms: {total_alarms}")
    return 0 if total_alarms == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
