"""Benchmark: how small a gradient error each checker catches, and at what cost.

Run ``python benchmarks/gradcheck.py`` (tens of minutes on a loaded machine) or ``--quick`` (n <= 1000,
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
import collections
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
#: One wrong entry of this relative size is localised (and the index checked).
LOCALISE_DELTA = 1e-5
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
        return str(result.status), counted.calls, result
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
        return ("pass" if ok else "fail"), counted.calls, None
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
    """False alarms (FAIL on a correct gradient) and sensitivity: the smallest delta
    FAILed at every instance, and the smallest not passed (FAIL or inconclusive)."""
    false_alarms, inconclusive, total = 0, 0, 0
    for name, n, scale, f, g, x, rng in instances(sizes, (0.01, 1.0, 100.0)):
        verdict, evals, _ = run(f, g(x), x)
        max_evals[n] = max(max_evals.get(n, 0), evals)
        false_alarms += verdict == "fail"
        inconclusive += verdict == "inconclusive"
        total += 1
    sensitivity = {}
    localised = [0, 0]
    for kind in KINDS:
        worst_fail, worst_seen = 0.0, 0.0
        for name, n, scale, f, g, x, rng in instances(sizes, (1.0,)):
            g0 = g(x)
            index = int(rng.integers(g0.size))
            failed_down_to = seen_down_to = None
            failing = True
            for delta in DELTAS:
                gw = make_wrong(g0, kind, delta, np.random.default_rng(1), index)
                verdict, evals, result = run(f, gw, x)
                max_evals[n] = max(max_evals.get(n, 0), evals)
                if verdict == "pass":
                    break
                seen_down_to = delta
                failing = failing and verdict == "fail"
                if failing:
                    failed_down_to = delta
                if kind == "one" and delta == LOCALISE_DELTA and result is not None and g0.size > 16:
                    localised[1] += 1
                    localised[0] += result.wrong_indices == ((index,),)
            worst_fail = max(worst_fail, math.inf if failed_down_to is None else failed_down_to)
            worst_seen = max(worst_seen, math.inf if seen_down_to is None else seen_down_to)
            log(f"    {kind:6s} {name:16s} n={n:<6d} failed down to {failed_down_to}, not passed down to "
                f"{seen_down_to}")
        sensitivity[kind] = (worst_fail, worst_seen)
    return sensitivity, (false_alarms, total, inconclusive), localised


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
        sensitivity[kind] = (worst, worst)
    log(f"    calibrated threshold (relative) = {threshold:.3g}")
    return sensitivity, (0, len(correct_scores), 0), threshold


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



# ---------------------------------------------------------------------------
# the zoo: correct and wrong gradients of the kinds users check (tests/gradzoo.py)


ZOO_TOOLS = ("verify", "scipy", "torch", "jax", "numdifftools")
ZOO_LIMITS = {"scipy": 10_000, "torch": 1000, "jax": 100_000, "numdifftools": 1000}


def zoo_verify(pair, grad):
    from verify.gradcheck import check_grad, check_vjp

    counted = Counter(pair.f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = (check_vjp if pair.vector else check_grad)(counted, grad, pair.x)
    return str(result.status), counted.calls, result.method


def zoo_torch(pair, grad):
    import torch

    counted = Counter(pair.f)
    x = pair.x
    out_shape = np.shape(pair.f(x))

    class Fn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return torch.as_tensor(np.asarray(counted(t.detach().numpy()), dtype=np.float64))

        @staticmethod
        def backward(ctx, grad_out):
            (t,) = ctx.saved_tensors
            if pair.vector:
                return torch.as_tensor(np.asarray(grad(t.detach().numpy(), grad_out.detach().numpy().reshape(out_shape)),
                                                  dtype=np.float64))
            return grad_out * torch.as_tensor(np.asarray(grad(t.detach().numpy()), dtype=np.float64))

    t = torch.from_numpy(x.copy()).requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ok = torch.autograd.gradcheck(Fn.apply, (t,), raise_exception=False)
    return "pass" if ok else "fail", counted.calls, ""


class ZooJax:
    """jax.test_util.check_grads on a numpy f whose backward is the user's gradient.

    check_grads differentiates jax functions; the numpy f and gradient enter
    as a ``jax.custom_vjp`` over ``jax.pure_callback``, so jax compares the
    given gradient with its own finite differences of f (default tolerances).
    One function per pair; the gradient under test is swapped in.
    """

    def __init__(self, pair):
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        self.pair, self.grad, self.calls = pair, pair.grad, 0
        out = jax.ShapeDtypeStruct(np.shape(pair.f(pair.x)), jnp.float64)
        arg = jax.ShapeDtypeStruct(pair.x.shape, jnp.float64)

        def forward(v):
            self.calls += 1
            return np.asarray(pair.f(np.asarray(v)), dtype=np.float64)

        def backward(v, ct):
            if pair.vector:
                return np.asarray(self.grad(np.asarray(v), np.asarray(ct)), dtype=np.float64)
            return np.asarray(self.grad(np.asarray(v)), dtype=np.float64) * float(ct)

        @jax.custom_vjp
        def fn(v):
            return jax.pure_callback(forward, out, v)

        fn.defvjp(lambda v: (fn(v), v), lambda v, ct: (jax.pure_callback(backward, arg, v, ct),))
        self.fn, self.jnp = fn, jnp

    def __call__(self, pair, grad):
        from jax.test_util import check_grads

        self.grad, self.calls = grad, 0
        try:
            check_grads(self.fn, (self.jnp.asarray(pair.x),), order=1, modes=("rev",))
            return "pass", self.calls, ""
        except AssertionError:
            return "fail", self.calls, ""


def zoo_score(kind):
    """scipy's check_grad (direction='all') or numdifftools: the relative error of the gradient, no verdict."""
    def numeric(pair):
        counted = Counter(pair.f)
        x = pair.x
        if kind == "scipy":
            from scipy.optimize import approx_fprime
            approx = approx_fprime(x, counted, math.sqrt(np.finfo(float).eps))
        else:
            import numdifftools as nd
            approx = np.asarray(nd.Gradient(counted)(x), dtype=np.float64).reshape(x.shape)
        norm = np.linalg.norm(pair.grad(x)) or 1.0
        return (lambda g: float(np.linalg.norm(np.asarray(g(x)) - approx) / norm)), counted.calls
    return numeric


def run_zoo(max_n, log):
    """Every tool on every pair of the zoo; returns per-kind tallies and verify's costs."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.gradzoo import KINDS, zoo

    pairs = zoo(max_n)
    available = {"verify": True}
    for tool, module in (("scipy", "scipy"), ("torch", "torch"), ("jax", "jax"), ("numdifftools", "numdifftools")):
        try:
            __import__(module)
            available[tool] = True
        except ImportError:
            available[tool] = False
    tally = {(tool, kind): collections.Counter() for tool in ZOO_TOOLS for kind in KINDS}
    scores = {tool: collections.defaultdict(list) for tool in ("scipy", "numdifftools")}
    costs = collections.defaultdict(int)
    for pair in pairs:
        target = 1e-8 if pair.smooth64 else 1e-6
        wrongs = [w for w in pair.wrong if w.rel >= target]
        for tool in ("verify", "torch", "jax"):
            if not available[tool] or pair.n > ZOO_LIMITS.get(tool, math.inf):
                continue
            run = {"verify": zoo_verify, "torch": zoo_torch}.get(tool) or ZooJax(pair)
            status, calls, method = run(pair, pair.grad)
            c = tally[(tool, pair.kind)]
            c["correct"] += 1
            c["false alarm"] += status == "fail"
            c["inconclusive correct"] += status == "inconclusive"
            if tool == "verify" and pair.n >= 100_000 and status == "pass":
                costs[(method, "correct")] = max(costs[(method, "correct")], calls)
                correct_calls = calls
            for w in wrongs:
                status, calls, method = run(pair, w.grad)
                c["wrong"] += 1
                c["miss"] += status == "pass"
                c["inconclusive wrong"] += status == "inconclusive"
                if tool == "verify" and pair.n >= 100_000 and status == "fail" and w.label.startswith("one entry") \
                        and costs.get((method, "correct")):
                    costs[(method, "localising")] = max(costs[(method, "localising")], calls - correct_calls)
            if tool == "verify" and (c["false alarm"] or c["miss"]):
                log(f"    verify: {pair.name}: false alarms {c['false alarm']}, misses {c['miss']} so far")
        for tool in ("scipy", "numdifftools"):
            if available[tool] and not pair.vector and pair.n <= ZOO_LIMITS[tool]:
                score, _ = zoo_score(tool)(pair)
                scores[tool][pair.kind].append((score(pair.grad), [score(w.grad) for w in wrongs]))
    for tool, by_kind in scores.items():
        for kind, rows in by_kind.items():
            # the most favourable threshold: the largest error on a correct gradient of this kind
            threshold = max(r[0] for r in rows)
            c = tally[(tool, kind)]
            for right, wrong_scores in rows:
                c["correct"] += 1
                c["wrong"] += len(wrong_scores)
                c["miss"] += sum(not s > threshold for s in wrong_scores)
    return pairs, tally, available, costs


def print_zoo(pairs, tally, available, costs):
    from tests.gradzoo import KINDS

    print()
    print(f"Zoo: {len(pairs)} correct (f, gradient) pairs of the kinds users check, "
          f"{sum(len(p.wrong) for p in pairs)} wrong variants (tests/gradzoo.py); n from "
          f"{min(p.n for p in pairs)} to {max(p.n for p in pairs):,}.")
    print("Each cell: false alarms on correct gradients / misses of wrong ones at or above the target "
          "(relative error 1e-6, 1e-8 on smooth float64 functions); inconclusive results, neither, in brackets.")
    print()
    tools = [t for t in ZOO_TOOLS if available.get(t)]
    names = {"verify": "verify.check_grad / check_vjp", "scipy": "scipy check_grad (all, n <= 10,000)",
             "torch": "torch gradcheck (n <= 1,000)", "jax": "jax check_grads", "numdifftools": "numdifftools"}
    print("| class | " + " | ".join(names[t] for t in tools) + " |")
    print("|---|" + "---|" * len(tools))
    totals = {t: collections.Counter() for t in tools}
    for kind in KINDS:
        cells = []
        for t in tools:
            c = tally[(t, kind)]
            totals[t].update(c)
            cells.append(_zoo_cell(c))
        print(f"| {kind} | " + " | ".join(cells) + " |")
    print("| all | " + " | ".join(_zoo_cell(totals[t]) for t in tools) + " |")
    for tool in ZOO_TOOLS:
        if not available.get(tool):
            print(f"Note: {tool} is not installed: its column is skipped")
    print()
    for method in ("complex step", "central differences"):
        if costs.get((method, "correct")):
            extra = costs.get((method, "localising"))
            more = f", localising one wrong entry +{extra}" if extra else ""
            print(f"verify at n = 100,000, {method}: at most {costs[(method, 'correct')]} evaluations of f for a "
                  f"correct gradient{more}.")
    fa = totals["verify"]["false alarm"]
    miss = totals["verify"]["miss"]
    return fa, miss


def _zoo_cell(c):
    if not c["correct"]:
        return "n/a"
    text = f"{c['false alarm']} / {c['miss']}"
    inc = c["inconclusive correct"] + c["inconclusive wrong"]
    if inc:
        text += f" ({c['inconclusive correct']} + {c['inconclusive wrong']} inconclusive)"
    return text + f" of {c['correct']} + {c['wrong']}"


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
    parser.add_argument("--zoo-only", action="store_true", help="only the zoo (tests/gradzoo.py)")
    parser.add_argument("--no-zoo", action="store_true", help="only the smooth-function table")
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

    if args.zoo_only:
        tools = []
    rows = []
    loc_text = ""
    for label, kind, tool, sizes, skip_above, key in tools:
        t0 = time.perf_counter()
        print(f"running {label} on n in {sizes} ...", flush=True)
        if kind == "verdict":
            max_evals: dict[int, int] = {}
            sens, (fa, total, inc), localised = measure_verdict_tool(tool, sizes, log, max_evals)
            if key == "ours" and localised[1]:
                loc_text = (f"Localisation (default checker, one wrong entry at delta = {LOCALISE_DELTA:g}, n > 16): "
                            f"named the wrong index in {localised[0]} of {localised[1]} cases. Most "
                            f"evaluations of f in any single check (pass or fail, localisation included) at "
                            f"n = {max(sizes):,}: {max_evals[max(sizes)]}.")
        else:
            sens, (fa, total, inc), _ = measure_score_tool(tool, sizes, log)
        evals, seconds, extrapolated = cost_at(n_big, tool, key, skip_above)
        rows.append((label, sens, fa, total, evals, seconds, extrapolated, max(sizes), inc))
        print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)

    wrong_result = False
    if not args.no_zoo:
        print("running the zoo on every tool ...", flush=True)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")   # other tools step far outside f's domain at x ~ 1e-30
            pairs, tally, available, costs = run_zoo(1000 if args.quick else None, log)
        fa, miss = print_zoo(pairs, tally, available, costs)
        wrong_result = bool(fa or miss)
    if args.zoo_only:
        print(f"Total time: {time.perf_counter() - started:.0f} s (one process).")
        return 1 if wrong_result else 0
    print()
    print(f"| checker | scaled | one entry | dense noise | false alarms | f evals at n={n_big:,} "
          f"| time at n={n_big:,} |")
    print("|---|---|---|---|---|---|---|")
    for label, sens, fa, total, evals, seconds, extrapolated, nmax, inc in rows:
        cells = [fmt_delta(sens[k][0]) + (f" ({fmt_delta(sens[k][1])})" if sens[k][1] != sens[k][0] else "")
                 for k in KINDS]
        ev = f"{int(evals):,}" + (" (not run)" if extrapolated else "")
        tm = ("~" + fmt_time(seconds) + " (extrapolated)") if extrapolated else fmt_time(seconds)
        tested = "" if nmax == max(all_sizes) else f" (n <= {nmax:,})"
        alarms = f"{fa} / {total}" + (f" ({inc} inconclusive)" if inc else "")
        print(f"| {label}{tested} | {' | '.join(cells)} | {alarms} | {ev} | {tm} |")
    print()
    print("Sensitivity: smallest relative delta reported wrong (FAIL) at every instance (and every larger delta); "
          "in brackets, where smaller, the smallest delta not passed (FAIL or inconclusive: the complex step sees "
          "it, central differences cannot confirm it). Lower is better. False alarms: correct gradients FAILed.")
    print("scipy and numdifftools rows use the most favourable threshold (their largest error on a correct "
          "gradient in this run), so their false alarms are zero by construction.")
    print("torch fast mode costs 2n more evaluations whenever it fails: it re-runs slow mode to build its "
          "message.")
    if loc_text:
        print(loc_text)
    for note in notes:
        print(f"Note: {note}")
    print(f"Total time: {time.perf_counter() - started:.0f} s (one process).")
    # a wrong result: verify's own false alarm or miss (in the zoo, or on the
    # smooth functions: a wrong gradient passed at or above the target, 1e-8
    # with the complex step, 1e-6 with central differences only)
    for label, sens, fa, *_ in rows:
        if not label.startswith("verify"):
            continue
        target = 1e-6 if "complex_step=False" in label else 1e-8
        missed = [kind for kind in KINDS if sens[kind][1] > target]
        if fa or missed:
            print(f"WRONG RESULT: {label}: {fa} false alarms; wrong gradients passed at or above {target:g}: "
                  f"{', '.join(missed) or 'none'}")
            wrong_result = True
    return 1 if wrong_result else 0


if __name__ == "__main__":
    raise SystemExit(main())
