"""Spec ``newton``: the (damped) Newton step ``w ← w − η H⁻¹∇E`` in one and n dimensions.

Protocol: a function ``step(w, grad, hess, lr) -> new_w``; scalars in 1-D
(``w``, ``grad``, ``hess`` floats), ``w, grad`` of shape ``(n,)`` and
``hess`` of shape ``(n, n)`` in n-D.

Checks: the step against sympy's derivation at drawn points (1-D and n-D,
damped and not, positive and negative curvature); exactness in one step on
1-D and n-D quadratics; quadratic convergence near a minimum (order ≈ 2 and
the constant ``E'''/(2E'')`` of sympy's series); the linear rate ``|1 − η|``
of damped steps; the Jacobian of the Newton map ``w ↦ step(w, ∇E, ∇²E, η)``
checked by finite differences against its closed form (``(1 − η)I`` at the
minimum); the singular Hessian; protocol hygiene.

Singular Hessian (documented in ``docs/optimizers.md``): the Newton step is
undefined where ``E'' = 0`` (``H`` singular). The spec demands that the
target does not return a finite step there: raising an exception (the
reference raises ``ValueError``) or returning non-finite values passes;
returning finite numbers (e.g. after silently regularising ``H``) fails.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st

from verify import convergence as cv
from verify import strategies as vst
from verify.compare import compare, format_number, identical
from verify.errors import ProtocolError, TargetError, kind_of
from verify.problems import ExpSeparable, random_orthogonal, spd_matrix
from verify.remote import call_each
from verify.results import Figure, Series
from verify.search import falsify
from verify.specs._common import found_to_outcome, unless_unseen
from verify.specs.base import Check, CheckContext, Family, Kind, Outcome, Param, Spec, failed, inconclusive, passed

__all__ = ["SPECS", "diagnose_1d", "diagnose_nd"]

fmt = format_number
U = float(np.finfo(np.float64).eps) / 2
LRS = st.one_of(st.just(1.0), st.floats(0.05, 2.0, allow_nan=False))

#: What the checks import inside functions (see verify.specs.modules_needed).
PRELOAD = ("verify.gradcheck", "verify.symbolic")


# ------------------------------------------------------------------ diagnosis


def _candidates_1d(w0: float, d1: float, d2: float, lr: float) -> dict[str, float]:
    with np.errstate(all="ignore"):
        return {
            "the step multiplies by E'' instead of dividing: w − η E'·E''": w0 - lr * d1 * d2,
            "the step has the wrong sign: w + η E'/E'' (towards a maximum of the model)": w0 + lr * d1 / d2,
            "the damping η is ignored: w − E'/E''": w0 - d1 / d2,
            "E'' is ignored: gradient descent w − η E'": w0 - lr * d1,
            "η divides instead of multiplying: w − E'/(η E'')": w0 - d1 / (lr * d2),
            "the ratio is inverted: w − η E''/E'": w0 - lr * d2 / d1 if d1 else np.nan,
            "the step uses |E''|: w − η E'/|E''| (a modified Newton step, not Newton's)": w0 - lr * d1 / abs(d2),
        }


def diagnose_1d(got: float, w0: float, d1: float, d2: float, lr: float,
                probes: list[tuple[float, float, float, float, float]] = ()) -> str | None:
    """Name a wrong 1-D step by the formula it matches at the failing point and at every probe
    ``(got, w0, d1, d2, lr)`` (probes with both signs of E'' and η ≠ 1 separate look-alikes)."""
    points = [(got, w0, d1, d2, lr), *probes]
    names = None
    for g_, *args in points:
        cand = _candidates_1d(*args)
        ok = {t for t, v in cand.items() if np.isfinite(v) and abs(g_ - v) <= 1e-9 * (abs(args[0]) + abs(v) + 1e-300)}
        names = ok if names is None else names & ok
    if not names:
        return None
    order = list(_candidates_1d(1.0, 1.0, 1.0, 1.0))
    return "; or ".join(sorted(names, key=order.index))


def _candidates_nd(w0, g, h, lr):
    with np.errstate(all="ignore"):
        return {
            "only the diagonal of H is used: w − η g/diag(H) (a diagonal approximation, not Newton)": w0 - lr * g / np.diag(h),
            "H multiplies instead of solving: w − η H g": w0 - lr * h @ g,
            "the step has the wrong sign: w + η H⁻¹g": w0 + lr * np.linalg.solve(h, g),
            "the damping η is ignored: w − H⁻¹g": w0 - np.linalg.solve(h, g),
            "H is ignored: gradient descent w − η g": w0 - lr * g,
            "η divides instead of multiplying: w − H⁻¹g/η": w0 - np.linalg.solve(h, g) / lr,
        }


def diagnose_nd(got: np.ndarray, w0: np.ndarray, g: np.ndarray, h: np.ndarray, lr: float,
                probes: list[tuple] = ()) -> str | None:
    """Name a wrong n-D step by the formula it matches at the failing point and at every probe."""
    names = None
    for got_, w_, g_, h_, lr_ in [(got, w0, g, h, lr), *probes]:
        scale = np.abs(w_) + np.abs(lr_ * np.linalg.solve(h_, g_)) + 1e-300
        ok = {t for t, v in _candidates_nd(w_, g_, h_, lr_).items()
              if np.all(np.isfinite(v)) and np.all(np.abs(got_ - v) <= 1e-8 * scale * np.linalg.cond(h_))}
        names = ok if names is None else names & ok
    if not names:
        cs = [_ridge(got_, w_, g_, h_, lr_) for got_, w_, g_, h_, lr_ in [(got, w0, g, h, lr), *probes]]
        if cs and all(c is not None for c in cs) and max(cs) - min(cs) <= 1e-3 * max(abs(c) for c in cs):
            return (f"the step solves (H + c·I) d = ∇E with c = {fmt(float(np.mean(cs)), 3)} at every point tried: a "
                    "ridge (Levenberg–Marquardt) term added to the Hessian, not Newton's step")
        return None
    order = list(_candidates_nd(np.ones(2), np.ones(2), np.eye(2), 1.0))
    return "; or ".join(sorted(names, key=order.index))


def _probes_1d(ctx: CheckContext) -> list[tuple[float, float, float, float, float]]:
    out = []
    for w0, d1, d2, lr in ((0.7, 1.3, 2.9, 0.6), (-0.4, 2.2, -1.7, 0.35), (1.9, -0.8, 0.45, 1.0)):
        try:
            out.append((float(ctx.subject.step(w0, d1, d2, lr)), w0, d1, d2, lr))
        except (TargetError, ProtocolError):
            pass
    return out


def _probes_nd(ctx: CheckContext, n: int) -> list[tuple]:
    rng = np.random.default_rng(12345)
    out = []
    for spd, lr in ((True, 0.6), (False, 0.3)):
        h = spd_matrix(rng, n, 20.0) if spd else _sym_indefinite(rng, n, 20.0)
        w0, g = rng.normal(size=n), rng.normal(size=n)
        try:
            out.append((ctx.subject.step(w0, g, h, lr), w0, g, h, lr))
        except (TargetError, ProtocolError):
            pass
    return out


class _Refusals:
    """Steps the target refused (raised on) for a Hessian that is not positive definite.

    Code that solves with a Cholesky factorisation (``scipy.linalg.cho_solve``)
    is defined for positive-definite H only and raises on the others: that is
    a stated scope, not a wrong step. Such examples are set aside (the check
    says so); a refusal on a positive-definite H is still the target's error.
    """

    def __init__(self) -> None:
        self.refused: list[TargetError] = []
        self.positive_definite = 0

    def step(self, ctx: CheckContext, w: Any, g: Any, h: Any, lr: float) -> Any:
        definite = bool(np.all(np.linalg.eigvalsh(np.atleast_2d(h)) > 0))
        try:
            out = ctx.subject.step(w, g, h, lr)
        except TargetError as exc:
            if definite:
                raise
            self.refused.append(exc)
            return None
        self.positive_definite += definite
        return out

    def annotate(self, outcome: Outcome) -> Outcome:
        if self.refused:
            exc = self.refused[0].exc
            outcome.notes.append(
                f"the step raised {kind_of(exc)} ({exc}) on {len(self.refused)} Hessian(s) that are not positive "
                "definite (a Cholesky-style solve is defined for positive-definite H only): those were set aside, "
                f"and the step was checked on {self.positive_definite} positive-definite one(s)")
            if self.positive_definite == 0:
                return inconclusive("the step raised on every Hessian that is not positive definite and no "
                                    "positive-definite one was drawn: " + outcome.message, notes=outcome.notes)
        return outcome


def _ridge(got: np.ndarray, w0: np.ndarray, g: np.ndarray, h: np.ndarray, lr: float) -> float | None:
    """The c for which ``got`` = w − η (H + cI)⁻¹g, if one fits (a ridge / Levenberg–Marquardt term)."""
    d = (np.asarray(w0, float) - np.asarray(got, float)) / lr
    dd = float(d @ d)
    if not dd > 0 or not np.all(np.isfinite(d)):
        return None
    c = float(d @ (g - h @ d)) / dd
    resid = (h + c * np.eye(len(d))) @ d - g
    if c != 0 and np.linalg.norm(resid) <= 1e-6 * (np.linalg.norm(g) + abs(c) * np.sqrt(dd)):
        return c
    return None


# ------------------------------------------------------------------ problems


def _sym_indefinite(rng: np.random.Generator, n: int, kappa: float) -> np.ndarray:
    """A symmetric non-singular matrix with eigenvalues of both signs, |λ| in [1/κ, 1]."""
    mags = np.exp(rng.uniform(np.log(1 / kappa), 0.0, size=n))
    mags[0], mags[-1] = 1.0, 1 / kappa
    signs = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    q = random_orthogonal(rng, n)
    a = (q * (mags * signs)) @ q.T
    return (a + a.T) / 2


def _matrices(n: int) -> Any:
    """(H, κ) pairs: SPD or indefinite, κ up to 1e4."""
    def build(kappa, seed, spd, scale):
        rng = np.random.default_rng(seed)
        h = spd_matrix(rng, n, kappa) if spd else _sym_indefinite(rng, n, kappa)
        return h * scale, kappa

    return st.builds(build, vst.positive_floats(1.0, 1e4), st.integers(0, 2 ** 16), st.booleans(),
                     st.floats(-3, 3).map(lambda e: 10.0 ** e))


# ------------------------------------------------------------------ checks


def _step_1d_symbolic(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d = symbolic.newton_step_1d()
    nz = vst.scaled_floats(-4, 4, allow_zero=False)
    strategy = st.fixed_dictionaries({"w": vst.scaled_floats(-3, 3), "E'": vst.scaled_floats(-4, 4), "E''": nz, "lr": LRS})
    last: dict = {}
    refusals = _Refusals()

    def test(e):
        w, d1, d2, lr = e["w"], e["E'"], e["E''"], e["lr"]
        got = refusals.step(ctx, w, d1, d2, lr)
        if got is None:
            return None
        want = float(d.func(w, d1, d2, lr))
        tol = 8 * U * (abs(w) + 2 * abs(lr * d1 / d2))
        c = compare(got, want, rtol=0.0, tol=tol,
                    header=f"ACTUAL = step(w, E', E'', η), DESIRED = sympy {d.statement.split('; ')[-1]}")
        if c.ok:
            return None
        last.update(e, got=float(got))
        return f"the 1-D Newton step is wrong at w = {fmt(w)}, E' = {fmt(d1)}, E'' = {fmt(d2)}, η = {fmt(lr)}\n{c}"

    found = falsify(strategy, test, seed=ctx.int_seed("1d"), max_examples=ctx.max_examples)
    if found:
        diag = (diagnose_1d(last["got"], last["w"], last["E'"], last["E''"], last["lr"], _probes_1d(ctx))
                if found.error is None and last else None)
        return found_to_outcome(found, found.message + (f"\nDiagnosis: {diag}" if diag else ""), diagnosis=diag)
    return refusals.annotate(passed(f"step(w, E', E'', η) = {d.statement.split('; ')[-1]} (sympy) at drawn points, "
                                    "both signs of E'', damped and undamped"))


def _step_nd_symbolic(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    derived = {n: symbolic.newton_step_nd(n) for n in (2, 3)}
    strategy = st.integers(2, 3).flatmap(lambda n: st.tuples(
        st.just(n), _matrices(n), st.integers(0, 2 ** 16), LRS))
    last: dict = {}
    refusals = _Refusals()

    def test(ex):
        n, (h, kappa), seed, lr = ex
        rng = np.random.default_rng(seed)
        w0, g = rng.normal(size=n) * 10 ** rng.uniform(-2, 2), rng.normal(size=n) * 10 ** rng.uniform(-2, 2)
        got = refusals.step(ctx, w0, g, h, lr)
        if got is None:
            return None
        want = derived[n].func(w0, g, h, lr)
        delta = np.abs(lr * np.linalg.solve(h, g))
        tol = 32 * n * U * (np.abs(w0) + kappa * np.max(delta))
        c = compare(got, want, rtol=0.0, tol=tol,
                    header=f"ACTUAL = step(w, ∇E, H, η), DESIRED = sympy w − η H⁻¹∇E (n = {n}, κ(H) = {fmt(kappa)})")
        if c.ok:
            return None
        last.update(got=got, w0=w0, g=g, h=h, lr=lr)
        return (f"the n-D Newton step is wrong (n = {n}, η = {fmt(lr)}, κ(H) = {fmt(kappa)}, "
                f"H {'positive definite' if np.all(np.linalg.eigvalsh(h) > 0) else 'indefinite'})\n"
                f"w = {w0.tolist()}\n∇E = {g.tolist()}\nH = {h.tolist()}\n{c}")

    found = falsify(strategy, test, seed=ctx.int_seed("nd"), max_examples=ctx.max_examples)
    if found:
        diag = (diagnose_nd(last["got"], last["w0"], last["g"], last["h"], last["lr"], _probes_nd(ctx, last["w0"].size))
                if found.error is None and last else None)
        shown = ({"n": last["w0"].size, "w": last["w0"], "∇E(w)": last["g"], "H": last["h"], "lr": last["lr"]}
                 if last else None)
        return found_to_outcome(found, found.message + (f"\nDiagnosis: {diag}" if diag else ""), diagnosis=diag,
                                counterexample=shown)
    return refusals.annotate(passed("step(w, ∇E, H, η) = w − η H⁻¹∇E (sympy, n = 2, 3) at drawn points, H positive "
                                    "definite and indefinite with κ up to 1e4"))


def _exact_on_quadratic(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d1, d2, d3 = (symbolic.newton_exact_on_quadratic(n) for n in (1, 2, 3))
    rng = ctx.rng("quadratic")
    lines = []
    refusals = _Refusals()
    for k in range(6):
        a = float(rng.choice([-1, 1]) * 10 ** rng.uniform(-3, 3))
        b, w0 = float(rng.normal() * 10 ** rng.uniform(-2, 2)), float(rng.normal() * 10 ** rng.uniform(-2, 2))
        want = float(d1.func(a, b))
        got = refusals.step(ctx, w0, a * w0 + b, a, 1.0)
        if got is None:
            continue
        tol = 16 * U * (abs(w0) + abs(want))
        c = compare(got, want, rtol=0.0, tol=tol, header="ACTUAL = one Newton step, DESIRED = sympy minimiser −b/a")
        if not c.ok:
            diag = diagnose_1d(float(got), w0, a * w0 + b, a, 1.0, _probes_1d(ctx))
            return failed(f"one Newton step on E = ½·{fmt(a)}·w² + {fmt(b)}·w from w0 = {fmt(w0)} must land on the "
                          f"stationary point −b/a = {fmt(want, 12)} ({d1.statement})\n{c}" + (f"\nDiagnosis: {diag}" if diag else ""),
                          diagnosis=diag, counterexample={"a": a, "b": b, "w0": w0})
    lines.append("1-D: 6 quadratics (a of both signs, |a| from 1e-3 to 1e3)")
    for n, d in ((2, d2), (3, d3)):
        for k in range(4):
            kappa = 10 ** rng.uniform(0, 3)
            h = spd_matrix(rng, n, kappa) if k % 2 == 0 else _sym_indefinite(rng, n, kappa)
            b, w0 = rng.normal(size=n), rng.normal(size=n) * 3
            want = d.func(h, b)
            got = refusals.step(ctx, w0, h @ w0 + b, h, 1.0)
            if got is None:
                continue
            tol = 32 * n * U * kappa * (np.max(np.abs(w0)) + np.max(np.abs(want)))
            c = compare(got, want, rtol=0.0, tol=tol, header=f"ACTUAL = one Newton step, DESIRED = sympy minimiser −A⁻¹b (n = {n})")
            if not c.ok:
                diag = diagnose_nd(got, w0, h @ w0 + b, h, 1.0, _probes_nd(ctx, n))
                return failed(f"one Newton step on E = ½wᵀAw + bᵀw (n = {n}, κ(A) = {fmt(kappa)}) must land on −A⁻¹b "
                              f"({d.statement})\n{c}" + (f"\nDiagnosis: {diag}" if diag else ""), diagnosis=diag,
                              counterexample={"A": h, "b": b, "w0": w0})
        lines.append(f"{n}-D: 4 quadratics (A positive definite and indefinite, κ up to 1e3)")
    return refusals.annotate(passed("one undamped step lands exactly on the stationary point of every quadratic "
                                    "tried (sympy)", notes=lines))


def _functions() -> list[tuple[str, Callable, Callable, Callable, float, float, float]]:
    """(name, E', E'', E''', w*) for 1-D functions with E''' ≠ 0 at the minimum."""
    return [
        ("E = eʷ − 2w", lambda w: np.exp(w) - 2, lambda w: np.exp(w), lambda w: np.exp(w), float(np.log(2.0))),
        ("E = (w − 1)²/2 + (w − 1)³/3 + (w − 1)⁴", lambda w: (w - 1) + (w - 1) ** 2 + 4 * (w - 1) ** 3,
         lambda w: 1 + 2 * (w - 1) + 12 * (w - 1) ** 2, lambda w: 2 + 24 * (w - 1), 1.0),
    ]


def _quadratic_convergence(ctx: CheckContext) -> Outcome:
    from verify import symbolic

    d = symbolic.newton_quadratic_convergence()
    lines, figs = [], []
    for name, g, h, h3, w_star in _functions():
        c_theory = float(d.func(h(w_star), h3(w_star)))
        w = w_star + 0.1
        errs = [abs(w - w_star)]
        for _ in range(8):
            w = float(ctx.subject.step(w, g(w), h(w), 1.0))
            errs.append(abs(w - w_star))
            if errs[-1] < 1e-9 or not np.isfinite(errs[-1]):
                break
        e = np.array(errs)
        figs.append(Figure(f"Newton on {name}", "step k", "|w_k − w*|", [Series("measured", list(range(e.size)), np.maximum(e, 1e-300).tolist())], yscale="log"))
        usable = [k for k in range(1, e.size - 1) if e[k + 1] > 1e-13 and e[k] < 0.05]
        if e.size < 4 or not np.all(np.isfinite(e)) or len(usable) < 1 or e[2] > 0.05 * e[1]:
            return failed(f"Newton from w* + 0.1 on {name} does not converge quadratically: errors "
                          f"{[fmt(x) for x in e]} (each should be about the square of the previous times {fmt(c_theory)})",
                          figures=figs, counterexample={"function": name, "w0": w_star + 0.1})
        k = usable[-1]
        order = float(np.log(e[k + 1] / e[k]) / np.log(e[k] / e[k - 1]))
        const = float(e[k + 1] / e[k] ** 2)
        lines.append(f"{name}: errors {[fmt(x) for x in e]}; order {fmt(order, 4)}; e_(k+1)/e_k² = {fmt(const, 6)}, "
                     f"sympy E'''/(2E'') = {fmt(c_theory, 6)}")
        if not (1.8 <= order <= 2.2) or abs(const - abs(c_theory)) > 0.05 * abs(c_theory):
            return failed(f"Newton's convergence near the minimum of {name} is not quadratic with the predicted constant "
                          f"({d.statement}):\n" + "\n".join(lines), figures=figs,
                          metrics={"order": order, "constant": const, "theory": c_theory})
    return passed(f"error squares at each step with the constant of sympy's series ({d.statement})", notes=lines, figures=figs)


def _damped_rate(ctx: CheckContext) -> Outcome:
    lines = []
    curves = {}
    rng = ctx.rng("damped")
    given = float(ctx.params["lr"])
    lrs = (0.5, 0.25, 1.5) + ((given,) if 0.0 < given < 2.0 and given not in (0.5, 0.25, 1.5, 1.0) else ())
    for lr in lrs:
        # n-D quadratic: exactly (1 − η)ᵏ
        h = spd_matrix(rng, 3, 100.0)
        w_star = rng.normal(size=3)
        w = w_star + rng.normal(size=3)
        e0 = np.linalg.norm(w - w_star)
        e = cv.errors(_closed_loop(ctx, w, lr, 20, w_star, a=h), w_star)
        want = e0 * abs(1 - lr) ** np.arange(21)
        c = compare(e, want, rtol=1e-9, atol=1e-12 * e0,
                    header=f"ACTUAL = ‖w_k − w*‖, DESIRED = |1 − η|ᵏ‖w_0 − w*‖ (η = {fmt(lr)}, quadratic)")
        curves[f"η = {fmt(lr)}"] = e
        if not c.ok:
            return failed(f"damped Newton (η = {fmt(lr)}) on a quadratic must contract the error by exactly |1 − η| = "
                          f"{fmt(abs(1 - lr))} per step\n{c}",
                          figures=[cv.rate_figure("damped Newton on a quadratic", {f"η = {fmt(lr)}": e}, abs(1 - lr), e0)])
        # 1-D non-quadratic near the minimum: rate → |1 − η|. E = eʷ − 2w is 2(eᵘ − u) + const, u = w − ln 2.
        name, w_star1 = "E = eʷ − 2w", np.log(2.0)
        errs1 = np.abs(_closed_loop(ctx, w_star1 + 1e-3, lr, 25, np.array([w_star1]), q=np.ones((1, 1)), scale=2.0)
                       - w_star1)
        meas = cv.measure_rate(errs1, abs(1 - lr), start=10, end=20, jordan=False, slack=1e-3)
        lines.append(f"η = {fmt(lr)}: quadratic error ratio exactly {fmt(abs(1 - lr))}; on {name} measured rate "
                     f"{fmt(meas.measured, 9)} (theory |1 − η| = {fmt(abs(1 - lr))})")
        if not meas.ok:
            return failed(f"damped Newton (η = {fmt(lr)}) near the minimum of {name} must converge linearly at rate "
                          f"|1 − η| = {fmt(abs(1 - lr))}; measured {fmt(meas.measured, 9)}\n" + "\n".join(lines))
    return passed("damped steps converge linearly at rate |1 − η| (exactly on quadratics, asymptotically near a minimum)",
                  notes=lines, figures=[cv.rate_figure("damped Newton on a quadratic (κ = 100)", curves)])


def _closed_loop(ctx: CheckContext, w0: Any, lr: float, steps: int, w_star: np.ndarray, **problem: Any) -> np.ndarray:
    """Damped Newton from ``w0`` fed the gradient and Hessian of its own iterates (a quadratic, ``a``, or
    :class:`~verify.problems.ExpSeparable`, ``q`` and ``scale``), run where the subject is
    (:meth:`NewtonSubject.closed_loop`): the iterates, their shape checked here."""
    traj = ctx.subject.closed_loop(w0, lr, steps, w_star, **problem)
    if traj.shape != (steps + 1, *np.shape(w0)):
        raise ProtocolError(f"a closed loop of {steps} Newton steps from a w of shape {np.shape(w0)} gave iterates of "
                            f"shape {traj.shape}")
    return traj


def _map_jacobian(ctx: CheckContext) -> Outcome:
    from verify.gradcheck import check_vjp

    rng = ctx.rng("jacobian")
    lines, undecided, evals = [], [], 0
    for n in (1, 3):
        prob = ExpSeparable.random(rng, n, scale=float(10 ** rng.uniform(-1, 1)))
        given = float(ctx.params["lr"])
        for lr in (1.0, 0.5) + ((given,) if given not in (1.0, 0.5) else ()):
            for offset in (0.0, 0.05, 0.8):
                x = prob.w_star + offset * rng.normal(size=n)

                def newton_map_many(ws, lr=lr, prob=prob):      # a stencil's points in one call
                    calls = []
                    for w in ws:
                        w = np.asarray(w, dtype=np.float64)
                        if n == 1:
                            w0 = float(np.ravel(w)[0])
                            calls.append((w0, float(prob.grad(np.array([w0]))[0]),
                                          float(prob.hess(np.array([w0]))[0, 0]), lr))
                        else:
                            calls.append((w, prob.grad(w), prob.hess(w), lr))
                    return [np.atleast_1d(new) for new in call_each(ctx.subject, "step", calls)]

                def newton_map(w, many=newton_map_many):
                    return many([w])[0]

                def vjp(w, dy, lr=lr, prob=prob):
                    return prob.map_jacobian(np.asarray(w, dtype=np.float64), lr).T @ np.asarray(dy)

                r = check_vjp(newton_map, vjp, x, f_many=newton_map_many, seed=ctx.int_seed("vjp", n, lr, offset),
                              complex_step=False, **ctx.gradcheck)
                evals += r.n_evals
                where = "the minimum" if offset == 0 else f"w* + {fmt(offset)}·N(0, 1)"
                if r.inconclusive:     # another point may still show a failure: decide after all of them
                    undecided.append(f"n = {n}, η = {fmt(lr)}, at {where}: {r.reason}")
                    continue
                if not r.passed:
                    j = prob.map_jacobian(x, lr)
                    return failed(
                        f"the Jacobian of the Newton map w ↦ step(w, ∇E(w), ∇²E(w), η) (n = {n}, η = {fmt(lr)}, at {where}) "
                        f"does not match its closed form Qᵀdiag(1 − η e⁻ᵘ)Q"
                        f"{' = (1 − η)I' if offset == 0 else ''} for E = Σ eᵘ − u, u = Q(w − w*):\n{r}",
                        diagnosis=r.diagnosis or None,
                        counterexample={"n": n, "lr": lr, "x": x, "expected_jacobian": j},
                        metrics={"max_rel_error": r.max_rel_error, "function_evals": evals})
                lines.append(f"n = {n}, η = {fmt(lr)}, at {where}: max relative error {fmt(r.max_rel_error)}")
    if undecided:
        return inconclusive("finite differences of the Newton map cannot decide its Jacobian at "
                            f"{len(undecided)} of {len(undecided) + len(lines)} points (the others agree): "
                            + "; ".join(undecided), notes=lines, metrics={"function_evals": evals})
    return passed("the Newton map's Jacobian (finite differences of the target's step) equals its closed form; at the "
                  "minimum it is (1 − η)I: 0 for the full step (quadratic convergence), 1 − η when damped",
                  notes=lines, metrics={"function_evals": evals})


def _singular(ctx: CheckContext) -> Outcome:
    cases = [("1-D, E'' = 0", 1.5, 2.0, 0.0), ("2-D, singular H", np.array([1.0, 2.0]), np.array([1.0, 1.0]),
                                               np.array([[1.0, 2.0], [2.0, 4.0]]))]
    outcomes = []
    for name, w, g, h in cases:
        try:
            out = ctx.subject.step(w, g, h, 1.0)
        except TargetError as exc:
            outcomes.append(f"{name}: raised {kind_of(exc.exc)} ({exc.exc})")
            continue
        except ProtocolError as exc:
            return failed(f"{name}: {exc}")
        arr = np.asarray(out, dtype=np.float64)
        pinv_step = np.asarray(w - (np.linalg.pinv(np.atleast_2d(h)) @ np.atleast_1d(g)).reshape(np.shape(w)))
        if np.all(np.isfinite(arr)) and arr.shape == pinv_step.shape and np.allclose(arr, pinv_step, rtol=1e-10,
                                                                                        atol=1e-12):
            outcomes.append(f"{name}: returned the pseudo-inverse step w − H⁺∇E = {arr.tolist()} (np.linalg.pinv's "
                            "or lstsq's minimum-norm solution: a stated convention where the Newton step is undefined)")
            continue
        if np.all(np.isfinite(arr)):
            return failed(f"{name}: the Newton step is undefined (E'' = 0 / H singular) but the target returned the finite "
                          f"value {arr.tolist()}; raise an error (the reference raises ValueError) or return a "
                          "non-finite value rather than a silent step", counterexample={"w": w, "grad": g, "hess": h})
        outcomes.append(f"{name}: returned non-finite {arr.tolist()}")
    return passed("a singular Hessian gives no silent arbitrary step: " + "; ".join(outcomes))


def _hygiene(ctx: CheckContext) -> Outcome:
    subject = ctx.subject
    rng = ctx.rng("hygiene")
    w, g = rng.normal(size=3), rng.normal(size=3)
    h = spd_matrix(rng, 3, 10.0)
    seen = len(subject.inputs.failures)
    try:
        subject.step(w, g, h, 0.5)      # what it does to its inputs and returns: the subject's record says
    except ProtocolError:
        pass                            # a misfit return is reported below, by the same call again
    if subject.inputs.failures[seen:]:
        why = subject.inputs.failures[seen]
        return failed(why, diagnosis=f"{why}: the caller's array changes")
    out = subject.returned
    if np.asarray(out).dtype != np.float64:
        return failed(f"step(w, grad, hess, lr) returned dtype {np.asarray(out).dtype} for float64 input")
    try:
        subject.step(1.5, 2.0, 4.0, 1.0)
    except ProtocolError:
        pass                            # judged by its shape, as returned
    if np.shape(subject.returned) != ():
        return failed(f"the 1-D step(w, grad, hess, lr) with float arguments returned shape "
                      f"{np.shape(subject.returned)}; expected a scalar")
    a = ctx.subject.step(w, g, h, 0.5)
    b = ctx.subject.step(w, g, h, 0.5)
    if not identical(a, b):
        return failed("step(w, grad, hess, lr) returned different values for the same input")
    for shape_w in ((2,), (4,)):
        n = shape_w[0]
        ctx.subject.step(rng.normal(size=n), rng.normal(size=n), spd_matrix(rng, n, 5.0), 1.0)
    ctx.subject.step(0.3, 1.0, 2.0, 1.0)
    return unless_unseen(subject.inputs, passed("step leaves its inputs unchanged, is deterministic, returns float64 "
                                                "of w's shape (a scalar in 1-D; (2,), (3,), (4,) in n-D)"))


def _newton_reference(params: Any) -> Any:
    import reference

    return reference.newton_step


SPECS = {
    "newton": Spec(
        name="newton",
        family=Family.NEWTON,
        title="Newton's method (damped)",
        formula="w ← w − η E'(w)/E''(w);  n-D: w ← w − η H⁻¹∇E(w) (solve, do not invert)",
        params=(Param("lr", 1.0, "damping η (1 for the pure Newton step)", low=0.0, low_open=True),),
        checks=(
            Check("step-vs-symbolic-1d", Kind.SYMBOLIC, "step = w − ηE'/E'' (sympy) at drawn points", _step_1d_symbolic),
            Check("step-vs-symbolic-nd", Kind.SYMBOLIC, "step = w − ηH⁻¹∇E (sympy, n = 2, 3), H SPD and indefinite", _step_nd_symbolic),
            Check("exact-on-quadratic", Kind.SYMBOLIC, "one step lands on the stationary point of a quadratic (1-D, n-D; sympy)", _exact_on_quadratic),
            Check("quadratic-convergence", Kind.SYMBOLIC, "order 2 near a minimum with constant E'''/(2E'') (sympy series)", _quadratic_convergence),
            Check("damped-rate", Kind.PROPERTY, "damped steps converge linearly at rate |1 − η|", _damped_rate),
            Check("newton-map-jacobian", Kind.GRADIENT, "finite-difference Jacobian of the Newton map = closed form ((1 − η)I at the minimum)", _map_jacobian),
            Check("singular-hessian", Kind.PROTOCOL, "E'' = 0 / singular H: raise or return non-finite, never a silent finite step", _singular),
            Check("hygiene", Kind.PROTOCOL, "no input mutation, deterministic, shape and dtype kept", _hygiene),
        ),
        reference=_newton_reference,
    )
}
