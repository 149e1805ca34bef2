"""Test problems for optimizers, in plain numpy: gradient streams, quadratics, Rosenbrock.

Everything here is deterministic given a ``numpy.random.Generator``; the
hypothesis strategies in :mod:`verify.strategies` draw the *recipe* (kind,
length, shape, scale, seed) and call these functions, so a shrunk
counterexample is a short recipe, not thousands of floats.

Open-loop streams (:data:`STREAM_KINDS`) are fixed sequences of gradients.
Problems (:class:`Quadratic`, :class:`Rosenbrock`) give gradients as a
function of the parameters; :mod:`verify.conformance` evaluates them along the
*reference* trajectory to build a stream that target and reference then both
receive.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

__all__ = [
    "STREAM_KINDS",
    "PROBLEM_KINDS",
    "random_orthogonal",
    "spd_matrix",
    "Quadratic",
    "Rosenbrock",
    "open_loop_stream",
    "minibatch_stream",
]

#: Fixed gradient sequences (the same for every optimizer).
STREAM_KINDS = (
    "gaussian",       # N(0, 1)·scale, independent entries and steps
    "constant",       # one gradient repeated (mixed signs across entries)
    "sign-flips",     # alternating sign, varying magnitude (Rprop's sign logic, momentum cancellation)
    "tiny",           # magnitudes near ε and √ε (where ε's placement matters)
    "large",          # magnitudes 1e3 .. 1e8
    "sparse",         # many exact zeros (sgn(0), Rprop's s = 0 branch, 0/ε)
    "minibatch",      # +0.1 ×9, −0.9 ×1 per entry (Hinton's Rprop example), scaled
    "mixed-scales",   # entries of very different magnitudes in one vector
)

#: Gradients of a problem evaluated along a trajectory.
PROBLEM_KINDS = ("quadratic", "noisy-quadratic", "rosenbrock")


def random_orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    """A Haar-distributed orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    return q * np.sign(np.diag(r))


def spd_matrix(rng: np.random.Generator, n: int, condition_number: float, *,
               largest: float = 1.0) -> np.ndarray:
    """A symmetric positive-definite ``n × n`` matrix with eigenvalues in ``[largest/κ, largest]``.

    Both extreme eigenvalues are present exactly (for ``n ≥ 2``); the others
    are log-uniform in between; the eigenvectors are a random rotation.
    """
    if condition_number < 1:
        raise ValueError(f"condition_number must be >= 1, got {condition_number}")
    lo = largest / condition_number
    if n == 1:
        eigs = np.array([largest])
    else:
        inner = np.exp(rng.uniform(np.log(lo), np.log(largest), size=n - 2))
        eigs = np.concatenate([[largest, lo], inner])
    q = random_orthogonal(rng, n)
    a = (q * eigs) @ q.T
    return (a + a.T) / 2


@dataclasses.dataclass(frozen=True)
class Quadratic:
    """``f(w) = ½ (w − w*)ᵀ A (w − w*)`` with ``A`` SPD, on vectors of shape ``(n,)``.

    ``shape`` lets the problem act on parameters of any shape (flattened).
    """

    A: np.ndarray
    w_star: np.ndarray
    shape: tuple[int, ...] = ()

    @property
    def eigenvalues(self) -> np.ndarray:
        return np.linalg.eigvalsh(self.A)

    @property
    def L(self) -> float:
        return float(self.eigenvalues[-1])

    @property
    def m(self) -> float:
        return float(self.eigenvalues[0])

    @property
    def condition_number(self) -> float:
        return self.L / self.m

    def value(self, w: np.ndarray) -> float:
        d = np.ravel(w) - self.w_star
        return 0.5 * float(d @ self.A @ d)

    def grad(self, w: np.ndarray) -> np.ndarray:
        d = np.ravel(w) - self.w_star
        g = self.A @ d
        return g.reshape(self.shape or np.shape(w))

    def hess(self, w: np.ndarray) -> np.ndarray:
        return self.A

    def distance(self, w: np.ndarray) -> float:
        return float(np.linalg.norm(np.ravel(w) - self.w_star))

    @classmethod
    def random(cls, rng: np.random.Generator, shape: Sequence[int], condition_number: float, *,
               largest: float = 1.0) -> "Quadratic":
        shape = tuple(int(s) for s in shape)
        n = int(np.prod(shape)) if shape else 1
        a = spd_matrix(rng, n, condition_number, largest=largest)
        return cls(a, rng.normal(size=n), shape)


@dataclasses.dataclass(frozen=True)
class ExpSeparable:
    """``E(w) = s Σ (eᵘ − u)``, ``u = Q(w − w*)`` with ``Q`` orthogonal: smooth, not quadratic, minimum at ``w*``.

    The Newton map with damping η is, in u-coordinates, ``u ↦ u − η(1 − e⁻ᵘ)``, so its Jacobian in w is exactly
    ``Qᵀ diag(1 − η e⁻ᵘ) Q`` — ``(1 − η)I`` at the minimum — and near the minimum damped Newton converges at
    rate ``|1 − η|``.
    """

    q: np.ndarray
    w_star: np.ndarray
    scale: float = 1.0

    @classmethod
    def random(cls, rng: np.random.Generator, n: int, scale: float = 1.0) -> "ExpSeparable":
        q = random_orthogonal(rng, n) if n > 1 else np.ones((1, 1))
        return cls(q, rng.normal(size=n), scale)

    def u(self, w: np.ndarray) -> np.ndarray:
        return self.q @ (np.asarray(w) - self.w_star)

    def grad(self, w: np.ndarray) -> np.ndarray:
        return self.scale * self.q.T @ (np.exp(self.u(w)) - 1.0)

    def hess(self, w: np.ndarray) -> np.ndarray:
        return self.scale * (self.q.T * np.exp(self.u(w))) @ self.q

    def map_jacobian(self, w: np.ndarray, lr: float) -> np.ndarray:
        return (self.q.T * (1.0 - lr * np.exp(-self.u(w)))) @ self.q


@dataclasses.dataclass(frozen=True)
class Rosenbrock:
    """``Σ_pairs a (1 − x)² + b (y − x²)²`` over consecutive pairs of the flattened parameters.

    An odd last entry gets ``a(1 − x)²`` alone. Minimum 0 at all ones.
    """

    a: float = 1.0
    b: float = 100.0
    scale: float = 1.0

    def value(self, w: np.ndarray) -> float:
        x = np.ravel(w)
        xs, ys = x[0:-1:2] if x.size % 2 else x[0::2], x[1::2]
        total = float(np.sum(self.a * (1 - xs) ** 2 + self.b * (ys - xs ** 2) ** 2))
        if x.size % 2:
            total += float(self.a * (1 - x[-1]) ** 2)
        return self.scale * total

    def grad(self, w: np.ndarray) -> np.ndarray:
        x = np.ravel(w)
        g = np.zeros_like(x)
        n_pairs = x.size // 2
        xs, ys = x[0:2 * n_pairs:2], x[1:2 * n_pairs:2]
        g[0:2 * n_pairs:2] = -2 * self.a * (1 - xs) - 4 * self.b * xs * (ys - xs ** 2)
        g[1:2 * n_pairs:2] = 2 * self.b * (ys - xs ** 2)
        if x.size % 2:
            g[-1] = -2 * self.a * (1 - x[-1])
        return (self.scale * g).reshape(np.shape(w))


def minibatch_stream(steps: int, shape: Sequence[int], *, small: float = 0.1, large: float = -0.9,
                     period: int = 10) -> np.ndarray:
    """Hinton's mini-batch example: ``small`` on ``period − 1`` batches, ``large`` on the last.

    With the defaults the mean gradient is 0: a method using the gradient's
    magnitude consistently should not move on average.
    """
    t = np.arange(steps)
    values = np.where(t % period == period - 1, large, small)
    return np.broadcast_to(values.reshape((steps,) + (1,) * len(shape)), (steps, *shape)).copy()


def open_loop_stream(kind: str, steps: int, shape: Sequence[int], rng: np.random.Generator, *,
                     scale: float = 1.0, eps: float | None = None) -> np.ndarray:
    """A gradient stream of shape ``(steps, *shape)`` of one of :data:`STREAM_KINDS`.

    ``scale`` multiplies the stream (except ``tiny``, whose magnitudes follow
    ``eps`` when given: from ``ε/10`` to ``10√ε``, the range where ε's
    placement changes the step).
    """
    shape = tuple(int(s) for s in shape)
    size = (steps, *shape)
    if kind == "gaussian":
        return scale * rng.normal(size=size)
    if kind == "constant":
        g = rng.normal(size=shape)
        return scale * np.broadcast_to(g, size).copy()
    if kind == "sign-flips":
        mags = np.exp(rng.normal(scale=0.5, size=size))
        signs = np.where(np.arange(steps) % 2 == 0, 1.0, -1.0).reshape((steps,) + (1,) * len(shape))
        start = rng.choice([-1.0, 1.0], size=shape)
        return scale * mags * signs * start
    if kind == "tiny":
        if eps:
            lo, hi = np.log10(eps) - 1.0, np.log10(np.sqrt(eps)) + 1.0
        else:
            lo, hi = -12.0, -6.0
        lo, hi = max(lo, -40.0), max(hi, -39.0)
        return rng.choice([-1.0, 1.0], size=size) * 10.0 ** rng.uniform(lo, hi, size=size)
    if kind == "large":
        return rng.choice([-1.0, 1.0], size=size) * 10.0 ** rng.uniform(3, 8, size=size)
    if kind == "sparse":
        g = scale * rng.normal(size=size)
        g[rng.random(size=size) < 0.5] = 0.0
        return g
    if kind == "minibatch":
        sign = rng.choice([-1.0, 1.0], size=shape)
        return scale * minibatch_stream(steps, shape) * sign
    if kind == "mixed-scales":
        exps = rng.uniform(-6, 6, size=shape)
        return scale * rng.normal(size=size) * 10.0 ** exps
    raise ValueError(f"unknown stream kind {kind!r}; the kinds are {', '.join(STREAM_KINDS)}")
