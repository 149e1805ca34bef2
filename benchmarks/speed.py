"""How long `verify check` takes, beside the time to import what it needs, measured in the same run.

For each kind of target (the bundled reference, numpy user code, PyTorch,
optax) and spec, the wall time of ``python -m verify check TARGET --spec
SPEC`` is printed next to the wall time of a bare interpreter importing what
that run needs (the verifier, plus torch or jax/optax), and the difference —
the verification work the tool adds — with its ratio to the imports. Then
the main job (every spec on the reference) with all cores and with one, and
``pytest --verify`` with ``-n 0`` and ``-n 2``. ``--suite`` also times the
whole test suite (minutes).

Every figure is the fastest of ``--repeat`` runs, so a busy moment of the
machine does not count; all figures come from the same run, so they can be
compared with each other. The benchmark exits 0 unless a run gives a wrong
verdict: the targets below are correct, and a check that does not pass them
is a bug. Targets from the issue "Fast and green" are printed beside the
figures, never asserted.

    python benchmarks/speed.py                     # everything but the suite (about 3 minutes)
    python benchmarks/speed.py --kinds numpy,torch --repeat 3
    python benchmarks/speed.py --suite
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER = "benchmarks/targets/numpy_user.py"

# The verifier's imports as a job process makes them (verify/worker.py preloads the same).
VERIFIER = "import verify.worker as w; w._preload(w._PRELOAD)"
LIBRARIES = {"reference": "", "numpy": "", "torch": "import torch", "optax": "import jax, optax"}

CASES: dict[str, list[tuple[str, str]]] = {
    "reference": [("reference", s) for s in (
        "l1", "l2", "weight-decay", "init-lecun", "init-xavier", "init-he", "relu-bias", "batchnorm", "newton",
        "sgd", "momentum", "nesterov", "sign-sgd", "rprop", "rmsprop", "adam", "adamw", "generic-optimizer")],
    "numpy": [(f"{USER}:{name}", spec) for name, spec in (
        ("l2_grad", "l2"), ("l1_grad", "l1"), ("he_normal", "init-he"), ("BatchNorm", "batchnorm"),
        ("newton_step", "newton"), ("SGD", "sgd"), ("Momentum", "momentum"), ("RMSprop", "rmsprop"),
        ("Adam", "adam"))],
    "torch": [("torch.optim.SGD", "sgd"), ("torch.optim.SGD", "momentum"), ("torch.optim.RMSprop", "rmsprop"),
              ("torch.optim.Rprop", "rprop"), ("torch.optim.Adam", "adam"), ("torch.optim.AdamW", "adamw"),
              ("torch.nn.init.kaiming_normal_", "init-he"), ("torch.nn.init.xavier_normal_", "init-xavier"),
              ("torch.nn.BatchNorm1d", "batchnorm")],
    "optax": [("optax.sgd", "sgd"), ("optax.sgd", "momentum"), ("optax.rmsprop", "rmsprop"),
              ("optax.adam", "adam"), ("optax.adamw", "adamw")],
}

# Per spec, beyond the imports (issue "Fast and green"); printed, not asserted.
WORK_TARGET = {"reference": 1.5, "numpy": 1.5, "torch": 1.5, "optax": 3.0}
MAIN_JOB_TARGET = 20.0


def timed(cmd: list[str], repeat: int, cwd: str = ROOT, ok: tuple[int, ...] = (0,)) -> tuple[float, bool, str]:
    """(fastest wall time of ``repeat`` runs, whether every run exited with a status in ``ok``, output)."""
    best, good, out = float("inf"), True, ""
    for _ in range(repeat):
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        best = min(best, time.perf_counter() - started)
        if proc.returncode not in ok:
            good, out = False, (proc.stdout + proc.stderr)[-3000:]
    return best, good, out


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def verify(*args: str) -> list[str]:
    return [sys.executable, "-m", "verify", *args]


def available(kind: str) -> bool:
    lib = {"torch": "torch", "optax": "optax"}.get(kind)
    if lib is None:
        return True
    return subprocess.run(python(f"import {lib}"), capture_output=True).returncode == 0


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default="reference,numpy,torch,optax")
    ap.add_argument("--repeat", type=int, default=1, help="runs per figure; the fastest counts")
    ap.add_argument("--suite", action="store_true", help="also time the whole test suite with -n 2")
    args = ap.parse_args()
    wrong: list[str] = []
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{cores} cores; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())} at the start; "
          f"fastest of {args.repeat} run(s) per figure\n")

    print("## verify check, per spec: wall time beside the imports it needs\n")
    rows = []
    for kind in args.kinds.split(","):
        if not available(kind):
            print(f"({kind}: not installed, skipped)\n")
            continue
        imports, ok, out = timed(python(f"{VERIFIER}; {LIBRARIES[kind]}"), args.repeat)
        if not ok:
            wrong.append(f"importing for {kind}: {out}")
        for target, spec in CASES[kind]:
            wall, ok, out = timed(verify("check", target, "--spec", spec), args.repeat)
            if not ok:
                wrong.append(f"{target} --spec {spec} did not pass:\n{out}")
            work = wall - imports
            rows.append((kind, f"`{target.replace(USER + ':', 'user:')}`", spec, f"{wall:.2f}", f"{imports:.2f}",
                         f"{work:.2f}", f"{wall / imports:.2f}", f"≤ {WORK_TARGET[kind]:g}",
                         "pass" if ok else "WRONG VERDICT"))
    table(("kind", "target", "spec", "wall s", "imports s", "work s", "wall / imports", "work target",
           "verdict"), rows)

    print("## The main job (every spec on the reference, reports written)\n")
    tmp = tempfile.mkdtemp(prefix="verify-speed-")
    main_rows = []
    for jobs in (str(cores), "1"):
        wall, ok, out = timed(verify("check", "reference", "--spec", "all", "--jobs", jobs,
                                     "--json", os.path.join(tmp, "r.json"), "--html", os.path.join(tmp, "r.html")),
                              args.repeat)
        if not ok:
            wrong.append(f"main job with --jobs {jobs}:\n{out}")
        main_rows.append((f"--jobs {jobs}", f"{wall:.2f}", f"≤ {MAIN_JOB_TARGET:g}" if jobs != "1" else "-"))
    table(("main job", "wall s", "target"), main_rows)
    print(f"speed-up from {cores} cores: {float(main_rows[1][1]) / float(main_rows[0][1]):.2f}×\n")

    print("## pytest --verify, with and without pytest-xdist\n")
    work = os.path.join(tmp, "project")
    os.makedirs(work)
    shutil.copy(os.path.join(ROOT, USER), os.path.join(work, "user.py"))
    plugin_rows = []
    for label, pairs in (("one (target, spec)", ["user.py:Adam=adam"]),
                         ("four (target, spec)", ["user.py:Adam=adam", "user.py:Momentum=momentum",
                                                  "user.py:RMSprop=rmsprop", "user.py:l2_grad=l2"])):
        figures = []
        for n in ("0", "2"):
            cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", n]
            for pair in pairs:
                cmd += ["--verify", pair]
            wall, ok, out = timed(cmd, args.repeat, cwd=work)
            if not ok:
                wrong.append(f"pytest {' '.join(cmd[3:])}:\n{out}")
            figures.append(wall)
        plugin_rows.append((label, f"{figures[0]:.2f}", f"{figures[1]:.2f}", f"{figures[1] / figures[0]:.2f}",
                            "≤ 1"))
    table(("pytest --verify", "-n 0 s", "-n 2 s", "-n 2 / -n 0", "target"), plugin_rows)
    shutil.rmtree(tmp, ignore_errors=True)

    if args.suite:
        print("## The test suite (python -m pytest -n 2)\n")
        wall, ok, out = timed([sys.executable, "-m", "pytest", "-q", "-n", "2"], 1)
        if not ok:
            wrong.append(f"the test suite failed:\n{out}")
        table(("suite", "wall s", "target"), [("pytest -n 2", f"{wall:.1f}", "≤ 360")])

    for w in wrong:
        print("WRONG:", w)
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
