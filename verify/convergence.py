"""Properties with known answers: closed-loop runs of a target, measured rates, and their theory.

The conformance check feeds the target a fixed gradient stream; here the
target runs *closed loop* on a problem (its own iterates produce its next
gradients), and what is measured — a linear rate, stability, drift on the
mini-batch stream — is compared with what theory predicts. The expected
values come from sympy, in :mod:`verify.symbolic.optimizers` (GD bound and
optimal rate, heavy ball at its optimum and its stability region, Nesterov's
rate at ``η = 1/L``, Adam and RMSprop with a constant gradient, decoupled
decay) and :mod:`verify.symbolic.regularisers` (the weight-decay factor).

Quadratics here have their minimum at 0, so errors are the iterates
themselves: relative precision holds down to the underflow threshold and a
rate can be measured over hundreds of steps.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from verify.errors import ProtocolError
from verify.problems import Quadratic, random_orthogonal
from verify.results import Figure, Series

__all__ = [
    "diag_quadratic",
    "closed_loop",
    "errors",
    "window_rate",
    "rate_bracket",
    "RateMeasurement",
    "measure_rate",
    "drift_ratio",
    "rate_figure",
]

BLOWUP = 1e100


def diag_quadratic(eigenvalues: Sequence[float], seed: int = 0, *, rotate: bool = True) -> Quadratic:
    """``½ wᵀAw`` with the given eigenvalues (exactly; a random rotation unless ``rotate=False``), minimum at 0."""
    eigs = np.asarray(eigenvalues, dtype=np.float64)
    n = eigs.size
    if rotate and n > 1:
        q = random_orthogonal(np.random.default_rng(seed), n)
        a = (q * eigs) @ q.T
        a = (a + a.T) / 2
    else:
        a = np.diag(eigs)
    return Quadratic(a, np.zeros(n), (n,))


def closed_loop(subject: Any, hparams: Mapping[str, Any], problem: Quadratic, w0: np.ndarray, steps: int, *,
                lookahead: float | None = None) -> np.ndarray:
    """The target's iterates ``w_0 … w_T`` when each gradient is ``problem``'s at its own iterate.

    ``lookahead = μ`` evaluates the gradient at Sutskever's look-ahead point
    ``w_t + μ(w_t − w_(t−1))`` (for a Nesterov target in Sutskever's form).
    Stops early (the rest is ``inf``) once an iterate exceeds 1e100 or is not finite.
    The loop runs where the optimizer run is (:meth:`OptimizerRun.closed_loop`): through a target process, one
    round trip instead of one per step; what comes back must have the trajectory's shape.
    """
    w0 = np.array(w0, dtype=np.float64)
    run = subject.make(**dict(hparams))
    traj = run.closed_loop(w0, problem.A, problem.w_star, list(problem.shape), int(steps), lookahead)
    if np.shape(traj) != (int(steps) + 1, *w0.shape):
        raise ProtocolError(f"closed_loop() returned iterates of shape {np.shape(traj)}, not the "
                            f"{(int(steps) + 1, *w0.shape)} of {int(steps)} steps from w0 of shape {w0.shape}")
    return np.asarray(traj, dtype=np.float64)


def iterate_closed_loop(run: Any, w0: np.ndarray, grad: Callable[[np.ndarray], np.ndarray], steps: int,
                        lookahead: float | None = None) -> np.ndarray:
    """:func:`closed_loop`'s loop on an optimizer run, where the run is."""
    run.init(np.array(w0, dtype=np.float64))
    w_prev = w = np.array(w0, dtype=np.float64)
    out = [w]
    for _ in range(int(steps)):
        at = w if lookahead is None else w + lookahead * (w - w_prev)
        g = grad(at)
        w_prev, w = w, run.step(np.asarray(g, dtype=np.float64))
        out.append(w)
        if blew_up(out, int(steps)):
            break
    return np.array(out)


def blew_up(out: list, steps: int) -> bool:
    """Whether the last iterate in ``out`` is not finite or beyond :data:`BLOWUP`; then the rest of the ``steps + 1``
    iterates are filled with ``inf`` (a closed loop stops there)."""
    w = out[-1]
    if np.all(np.isfinite(w)) and np.abs(w).max(initial=0.0) <= BLOWUP:
        return False
    out.extend([np.full(np.shape(w), np.inf)] * (steps + 1 - len(out)))
    return True


def errors(traj: np.ndarray, w_star: np.ndarray | float = 0.0) -> np.ndarray:
    """``‖w_t − w*‖`` for each step."""
    d = traj.reshape(traj.shape[0], -1) - np.ravel(w_star)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.linalg.norm(d, axis=1)


def window_rate(err: np.ndarray, start: int, end: int) -> float:
    """Average contraction per step between ``start`` and ``end``: ``(e_end/e_start)^(1/(end − start))``."""
    a, b = float(err[start]), float(err[end])
    if not (np.isfinite(a) and np.isfinite(b)) or a <= 0:
        return float("inf") if not np.isfinite(b) else float("nan")
    if b == 0:
        return 0.0
    return float((b / a) ** (1.0 / (end - start)))


def rate_bracket(rate: float, start: int, end: int, *, jordan: bool, slack: float) -> tuple[float, float]:
    """Where a measured window rate may lie when the spectral radius is ``rate``.

    With a double eigenvalue (``jordan``) the error behaves like ``(a + bt)·rateᵗ``,
    so the window estimate exceeds ``rate`` by up to ``((1 + end)/(1 + start))^(1/(end − start))``.
    ``slack`` is a relative allowance for the finite window.
    """
    upper = rate * (((1.0 + end) / (1.0 + start)) ** (1.0 / (end - start)) if jordan else 1.0)
    return rate * (1 - slack), upper * (1 + slack)


@dataclasses.dataclass
class RateMeasurement:
    """A measured linear rate against its theoretical bracket."""

    measured: float
    theory: float
    low: float
    high: float
    err: np.ndarray
    window: tuple[int, int]

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.measured) and self.low <= self.measured <= self.high)


def measure_rate(err: np.ndarray, theory: float, *, start: int, end: int, jordan: bool,
                 slack: float = 1e-3) -> RateMeasurement:
    lo, hi = rate_bracket(theory, start, end, jordan=jordan, slack=slack)
    return RateMeasurement(window_rate(err, start, end), theory, lo, hi, err, (start, end))


def rate_figure(title: str, curves: Mapping[str, np.ndarray], theory: float | None = None,
                err0: float = 1.0, label: str = "theory: rateᵗ") -> Figure:
    """‖w_t − w*‖ against t (log scale), with the theoretical ``rateᵗ`` line."""
    series = []
    for name, e in curves.items():
        t = np.arange(e.size, dtype=float)
        keep = np.isfinite(e) & (e > 0)
        series.append(Series(name, t[keep].tolist(), e[keep].tolist()))
    if theory is not None:
        n = max(e.size for e in curves.values())
        t = np.arange(n, dtype=float)
        with np.errstate(under="ignore"):
            line = err0 * theory ** t
        keep = line > 1e-300
        series.append(Series(label, t[keep].tolist(), line[keep].tolist(), style="dashed"))
    return Figure(title, "step t", "‖w_t − w*‖", series, yscale="log")


def drift_ratio(traj: np.ndarray) -> float:
    """``|w_T − w_0| / Σ|Δw_t|`` (per entry, the largest): 0 = stays put, 1 = moves one way."""
    steps = np.abs(np.diff(traj, axis=0)).sum(axis=0)
    net = np.abs(traj[-1] - traj[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(steps > 0, net / steps, 0.0)
    return float(np.max(r))
