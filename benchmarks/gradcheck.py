"""Benchmark: how small a gradient error each checker catches, and at what cost.

Run ``python benchmarks/gradcheck.py`` (a few minutes) or ``--quick`` (n <= 1000,
well under a minute). All tools are measured in the same process, on the same
functions, points and wrong gradients.

Test functions (smooth, float64, hand-derived gradients): logsumexp, mean
logistic loss, quadratic form ``0.5 x^T (D + U U^T) x + b^T x``, Rosenbrock, a
one-hidden-layer tanh network (parameters as x), a batch-norm loss
``sum(W * bn(X))``; n from 3 to 10^5.

Wrong gradients, relative size delta:

* scaled -- ``g (1 + delta)``;
* one entry -- ``g_i += delta * max(|g_i|, ||g|| / sqrt(n))`` at a random i:
  relative to the entry's own size, floored at the typical entry size (an
  entry that is ~0 has no scale of its own);
* dense -- ``g + delta * (||g|| / sqrt(n)) * xi``, ``xi ~ N(0, I)``: every
  entry off by ~delta of a typical entry, ``||error|| ~ delta ||g||``.

Sensitivity of a tool = the smallest delta on the grid 1e-2, 1e-3, ..., 1e-13
such that every instance is caught at that delta and at every larger one.
False alarms = correct gradients reported wrong (at x scales 0.01, 1, 100).

Tools:

* ``verify.check_grad`` with its defaults, and with ``complex_step=False``;
* ``scipy.optimize.check_grad`` (forward differences, ``epsilon=sqrt(eps)``),
  ``direction='all'`` (n+1 evaluations) and ``direction='random'``;
* ``torch.autograd.gradcheck`` with its defaults (eps=1e-6, atol=1e-5,
  rtol=1e-3), slow mode (2n evaluations) and fast mode;
* ``numdifftools.Gradient`` (central differences with Richardson extrapolation).

scipy and numdifftools return a number, not a verdict. They are given the most
favourable threshold possible: the largest relative error
``||g_analytic - g_numeric|| / ||g||`` they report on a *correct* gradient in
this run (so they have no false alarms by construction). The expensive tools
are not run where they would take minutes per check: torch slow mode and
numdifftools up to n = 1000, scipy ``direction='all'`` up to n = 10^4 (torch
fast mode's sensitivity is also measured up to n = 1000, because each of its
failures re-runs slow mode; its cost at n = 10^5 is measured); their
evaluation count at n = 10^5 is exact (it does not depend on the function) and
their time there is extrapolated as evaluations x the measured time of one
call of f, and marked so.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import warnings
import zlib
from pathlib import Path
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verify.gradcheck import check_grad  # noqa: E402

DELTAS = [10.0**-k for k in range(2, 14)]
KINDS = ("scaled", "one", "dense")
FUNCTIONS = ("logsumexp", "logistic", "quadratic", "rosenbrock", "tanh MLP", "batch-norm loss")


# ---------------------------------------------------------------------------
# test functions


def _softplus(z):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(z.real > 0, z + np.log1p(np.exp(-z)), np.log1p(np.exp(z)))


def build(name: str, n: int, rng: np.random.Generator):
    """``(f, grad, size)``; f accepts complex input (analytic) like most numpy code."""
    if name == "logsumexp":
        def f(x):
            m = np.max(x.real)
            return m + np.log(np.sum(np.exp(x - m)))

        def g(x):
            e = np.exp(x - np.max(x))
            return e / e.sum()
        return f, g, n
    if name == "logistic":
        samples = 16
        A = rng.standard_normal((samples, n)) / np.sqrt(n)
        y = rng.choice([-1.0, 1.0], samples)

        def f(w):
            return np.mean(_softplus(-y * (A @ w)))

        def g(w):
            m = y * (A @ w)
            return -(A.T @ (y * 0.5 * (1.0 - np.tanh(m / 2.0)))) / samples
        return f, g, n
    if name == "quadratic":
        D = rng.uniform(0.5, 2.0, n)
        U = rng.standard_normal((n, 3)) / np.sqrt(n)
        b = rng.standard_normal(n)

        def f(x):
            return 0.5 * np.sum(D * x * x) + 0.5 * np.sum((U.T @ x) ** 2) + b @ x

        def g(x):
            return D * x + U @ (U.T @ x) + b
        return f, g, n
    if name == "rosenbrock":
        def f(x):
            return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

        def g(x):
            out = np.zeros_like(x)
            t = x[1:] - x[:-1] ** 2
            out[:-1] += -400.0 * x[:-1] * t - 2.0 * (1.0 - x[:-1])
            out[1:] += 200.0 * t
            return out
        return f, g, max(n, 2)
    if name == "tanh MLP":
        hidden, batch = max(1, n // 3), 8
        xs, ts = rng.standard_normal(batch), rng.standard_normal(batch)

        def f(th):
            h = np.tanh(np.outer(xs, th[:hidden]) + th[hidden:2 * hidden])
            return 0.5 * np.mean((h @ th[2 * hidden:] - ts) ** 2)

        def g(th):
            w2 = th[2 * hidden:]
            h = np.tanh(np.outer(xs, th[:hidden]) + th[hidden:2 * hidden])
            r = (h @ w2 - ts) / batch
            dz = np.outer(r, w2) * (1.0 - h**2)
            return np.concatenate([xs @ dz, dz.sum(axis=0), h.T @ r])
        return f, g, 3 * hidden
    if name == "batch-norm loss":
        batch = 8
        channels = max(1, n // batch)
        W = rng.standard_normal((batch, channels))

        def bn(x):
            mu = x.mean(axis=0)
            return (x - mu) / np.sqrt(((x - mu) ** 2).mean(axis=0) + 1e-5)

        def f(xf):
            return np.sum(W * bn(xf.reshape(batch, channels)))

        def g(xf):
            x = xf.reshape(batch, channels)
            mu = x.mean(axis=0)
            inv = 1.0 / np.sqrt(((x - mu) ** 2).mean(axis=0) + 1e-5)
            yh = (x - mu) * inv
            return (inv / batch * (batch * W - W.sum(axis=0) - yh * (W * yh).sum(axis=0))).ravel()
        return f, g, batch * channels
    raise ValueError(name)


def make_wrong(g_true: np.ndarray, kind: str, delta: float, rng: np.random.Generator, index: int) -> np.ndarray:
    n = g_true.size
    typical = np.linalg.norm(g_true) / math.sqrt(n)
    if kind == "scaled":
        return g_true * (1.0 + delta)
    if kind == "one":
        out = g_true.copy()
        out[index] += delta * max(abs(g_true[index]), typical)
        return out
    return g_true + delta * typical * rng.standard_normal(n)


class Counter:
    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, x):
        self.calls += 1
        return self.f(x)


# ---------------------------------------------------------------------------
# tools: verdict tools return (failed, evals); score tools return a score per
# gradient from one numerical gradient


def ours(**options):
    def run(f, g_vec, x):
        counted = Counter(f)
        result = check_grad(counted, lambda _x: g_vec, x, **options)
        return (not result.passed), counted.calls, result
    return run


def torch_gradcheck(fast: bool):
    import torch

    def run(f, g_vec, x):
        counted = Counter(f)
        g_t = torch.from_numpy(g_vec)

        class Fn(torch.autograd.Function):
            @staticmethod
            def forward(ctx, t):
                return torch.tensor(counted(t.detach().numpy()), dtype=torch.float64)

            @staticmethod
            def backward(ctx, grad_out):
                return grad_out * g_t

        t = torch.from_numpy(x.copy()).requires_grad_(True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ok = torch.autograd.gradcheck(Fn.apply, (t,), fast_mode=fast, raise_exception=False)
        return (not ok), counted.calls, None
    return run


def scipy_numeric(direction: str):
    from scipy.optimize import approx_fprime

    def numeric(f, x, rng):
        counted = Counter(f)
        eps = math.sqrt(np.finfo(float).eps)
        if direction == "all":
            # exactly what scipy.optimize.check_grad(direction='all') computes
            approx = approx_fprime(x, counted, eps)
            return (lambda g: np.linalg.norm(g - approx)), counted.calls
        # direction='random': check_grad compares grad . v with a forward
        # difference of f along a random v
        v = rng.random(x.size)
        f0 = counted(x)
        fd = (counted(x + eps * v) - f0) / eps
        return (lambda g: abs(float(g @ v) - fd)), counted.calls
    return numeric


def numdifftools_numeric():
    import numdifftools as nd

    def numeric(f, x, rng):
        counted = Counter(f)
        approx = np.asarray(nd.Gradient(counted)(x), dtype=np.float64).reshape(x.shape)
        return (lambda g: np.linalg.norm(g - approx)), counted.calls
    return numeric


# ---------------------------------------------------------------------------
# measurement


def instances(sizes, scales, seed=0):
    """(function, n, scale, f, g, x, rng) for every function, size and scale."""
    for name in FUNCTIONS:
        for n in sizes:
            for scale in scales:
                # crc32, not hash(): str hashes change between processes
                rng = np.random.default_rng(zlib.crc32(repr((name, n, scale, seed)).encode()))
                f, g, size = build(name, n, rng)
                x = rng.standard_normal(size) * scale + (1.0 if name == "rosenbrock" else 0.0)
                yield name, n, scale, f, g, x, rng


def measure_verdict_tool(run, sizes, log, max_evals):
    false_alarms, total = 0, 0
    for name, n, scale, f, g, x, rng in instances(sizes, (0.01, 1.0, 100.0)):
        failed, evals, _ = run(f, g(x), x)
        max_evals[n] = max(max_evals.get(n, 0), evals)
        false_alarms += failed
        total += 1
    sensitivity = {}
    localised = [0, 0]
    for kind in KINDS:
        worst = 0.0
        for name, n, scale, f, g, x, rng in instances(sizes, (1.0,)):
            g0 = g(x)
            index = int(rng.integers(g0.size))
            caught_down_to = None
            for delta in DELTAS:
                gw = make_wrong(g0, kind, delta, np.random.default_rng(1), index)
                failed, evals, result = run(f, gw, x)
                max_evals[n] = max(max_evals.get(n, 0), evals)
                if not failed:
                    break
                caught_down_to = delta
                if kind == "one" and delta == 1e-8 and result is not None and g0.size > 16:
                    localised[1] += 1
                    localised[0] += result.wrong_indices == ((index,),)
            worst = max(worst, math.inf if caught_down_to is None else caught_down_to)
            log(f"    {kind:6s} {name:16s} n={n:<6d} caught down to {caught_down_to}")
        sensitivity[kind] = worst
    return sensitivity, (false_alarms, total), localised


def measure_score_tool(numeric, sizes, log):
    """Scores of correct and wrong gradients; threshold = max correct score."""
    correct_scores = []
    wrong_scores = {kind: [] for kind in KINDS}
    for name, n, scale, f, g, x, rng in instances(sizes, (0.01, 1.0, 100.0)):
        g0 = g(x)
        score, _ = numeric(f, x, np.random.default_rng(2))
        norm = np.linalg.norm(g0) or 1.0
        correct_scores.append(score(g0) / norm)
        if scale != 1.0:
            continue
        index = int(rng.integers(g0.size))
        for kind in KINDS:
            wrong_scores[kind].append([score(make_wrong(g0, kind, d, np.random.default_rng(1), index)) / norm
                                       for d in DELTAS])
    threshold = max(correct_scores)
    sensitivity = {}
    for kind in KINDS:
        worst = 0.0
        for row in wrong_scores[kind]:
            caught_down_to = None
            for delta, s in zip(DELTAS, row):
                if not s > threshold:
                    break
                caught_down_to = delta
            worst = max(worst, math.inf if caught_down_to is None else caught_down_to)
        sensitivity[kind] = worst
    log(f"    calibrated threshold (relative) = {threshold:.3g}")
    return sensitivity, (0, len(correct_scores)), threshold


def cost_at(n_big, run_or_numeric, kind, skip_above):
    """Median evaluations and wall time of one check of a correct gradient at n_big."""
    evals, times, extrapolated = [], [], False
    for name, n, scale, f, g, x, rng in instances((n_big,), (1.0,)):
        g0 = g(x)
        if skip_above is not None and n_big > skip_above:
            t0 = time.perf_counter()
            f(x)
            one = time.perf_counter() - t0
            count = {"scipy-all": x.size + 1, "torch-slow": 2 * x.size + 2, "numdifftools": None}[kind]
            if count is None:
                count = 30 * x.size + 1  # measured: ~30 calls per coordinate (see table note)
            evals.append(count)
            times.append(count * one)
            extrapolated = True
            continue
        t0 = time.perf_counter()
        if kind in ("scipy-all", "scipy-random", "numdifftools"):
            score, count = run_or_numeric(f, x, np.random.default_rng(2))
        else:
            _, count, _ = run_or_numeric(f, g0, x)
        times.append(time.perf_counter() - t0)
        evals.append(count)
    return statistics.median(evals), statistics.median(times), extrapolated


def fmt_delta(d: float) -> str:
    if d == 0.0:
        return "< 1e-13"
    if math.isinf(d):
        return "> 1e-2"
    return f"{d:.0e}"


def fmt_time(t: float) -> str:
    return f"{t * 1e3:.0f} ms" if t < 1 else f"{t:.1f} s"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="n <= 1000 only (under a minute)")
    parser.add_argument("--verbose", action="store_true", help="print every instance")
    args = parser.parse_args(argv)
    log = print if args.verbose else (lambda *a, **k: None)
    started = time.perf_counter()
    all_sizes = (3, 30, 1000) if args.quick else (3, 30, 1000, 10_000, 100_000)
    n_big = 1000 if args.quick else 100_000
    mid = (3, 30, 1000)

    tools = [("verify.check_grad (default)", "verdict", ours(), all_sizes, None, "ours")]
    tools.append(("verify.check_grad (complex_step=False)", "verdict", ours(complex_step=False), all_sizes,
                  None, "ours-cd"))
    tools.append(("scipy check_grad, direction='all'", "score", scipy_numeric("all"),
                  tuple(n for n in all_sizes if n <= 10_000), 10_000, "scipy-all"))
    tools.append(("scipy check_grad, direction='random'", "score", scipy_numeric("random"), all_sizes, None,
                  "scipy-random"))
    notes = []
    try:
        import torch  # noqa: F401
        tools.append(("torch gradcheck, slow mode", "verdict", torch_gradcheck(False), mid, 1000, "torch-slow"))
        # on failure, fast mode re-runs slow mode (2n evaluations) to build its
        # message, so its scan is limited like slow mode's; its cost at n_big
        # (a passing check) is measured
        tools.append(("torch gradcheck, fast mode", "verdict", torch_gradcheck(True), mid, None,
                      "torch-fast"))
    except ImportError:
        notes.append("torch is not installed: its columns are skipped")
    try:
        import numdifftools  # noqa: F401
        tools.append(("numdifftools Gradient", "score", numdifftools_numeric(), mid, 1000, "numdifftools"))
    except ImportError:
        notes.append("numdifftools is not installed: its row is skipped")

    rows = []
    loc_text = ""
    for label, kind, tool, sizes, skip_above, key in tools:
        t0 = time.perf_counter()
        print(f"running {label} on n in {sizes} ...", flush=True)
        if kind == "verdict":
            max_evals: dict[int, int] = {}
            sens, (fa, total), localised = measure_verdict_tool(tool, sizes, log, max_evals)
            if key == "ours" and localised[1]:
                loc_text = (f"Localisation (default checker, one wrong entry at delta = 1e-8, n > 16): "
                            f"named the wrong index in {localised[0]} of {localised[1]} cases. Most "
                            f"evaluations of f in any single check (pass or fail, localisation included) at "
                            f"n = {max(sizes):,}: {max_evals[max(sizes)]}.")
        else:
            sens, (fa, total), _ = measure_score_tool(tool, sizes, log)
        evals, seconds, extrapolated = cost_at(n_big, tool, key, skip_above)
        rows.append((label, sens, fa, total, evals, seconds, extrapolated, max(sizes)))
        print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)

    print()
    print(f"| checker | scaled | one entry | dense noise | false alarms | f evals at n={n_big:,} "
          f"| time at n={n_big:,} |")
    print("|---|---|---|---|---|---|---|")
    for label, sens, fa, total, evals, seconds, extrapolated, nmax in rows:
        cells = [fmt_delta(sens[k]) for k in KINDS]
        ev = f"{int(evals):,}" + (" (not run)" if extrapolated else "")
        tm = ("~" + fmt_time(seconds) + " (extrapolated)") if extrapolated else fmt_time(seconds)
        tested = "" if nmax == max(all_sizes) else f" (n <= {nmax:,})"
        print(f"| {label}{tested} | {' | '.join(cells)} | {fa} / {total} | {ev} | {tm} |")
    print()
    print("Sensitivity: smallest relative delta caught at every instance (and every larger delta); "
          "lower is better. Target: <= 1e-8 with zero false alarms.")
    print("scipy and numdifftools rows use the most favourable threshold (their largest error on a correct "
          "gradient in this run), so their false alarms are zero by construction.")
    print("torch fast mode costs 2n more evaluations whenever it fails: it re-runs slow mode to build its "
          "message.")
    if loc_text:
        print(loc_text)
    for note in notes:
        print(f"Note: {note}")
    print(f"Total time: {time.perf_counter() - started:.0f} s (one process).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
