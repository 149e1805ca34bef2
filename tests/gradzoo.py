"""A zoo of (f, gradient) pairs of the kinds users check, each with wrong variants.

Losses and layers are written the way people write them in numpy (CS231n- and
d2l-style assignments, numpy-ml): softmax cross-entropy and multiclass hinge
over a weight matrix, logistic and ridge regression, lasso and elastic net
with ``np.abs``/``np.sign``/``np.linalg.norm``, batch- and layer-norm losses
through ``np.var``/``np.std``, scaled dot-product attention, MLPs, Huber,
smooth-L1, ``|x|^3``, relu² and squared hinge, float32 arithmetic inside a
float64 function, noisy functions, and values and inputs at 1e±30.

Every correct gradient is derived by hand below; ``test_gradzoo.py`` checks
each against ``jax.grad`` / ``jax.vjp`` of the same loss written with
``jax.numpy`` (an independent oracle). Wrong variants are the bugs people
make: a forgotten term (often exactly the one numpy drops for complex input),
a wrong factor, a transposed matrix, one wrong entry, and relative errors
``1e-6 ... 1e-2`` (``1e-8`` as well on smooth float64 functions).

``zoo()`` returns every :class:`Pair`; ``zoo(max_n=...)`` a cheaper subset.
Everything is deterministic (seeds from crc32 of the instance name).
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from typing import Any, Callable

import numpy as np

__all__ = ["Pair", "Wrong", "zoo", "KINDS"]

#: Classes of functions, as the issue names them.
KINDS = ("smooth", "non-analytic", "float32", "noisy", "piecewise", "extreme")


@dataclasses.dataclass(frozen=True)
class Wrong:
    """A wrong gradient (or vjp) and how wrong it is.

    ``rel`` is the size of the error relative to the gradient's natural
    scale: ``delta`` for scaled errors (``g (1 + delta)``) and one-entry
    errors (``g_i += delta max(|g_i|, ||g|| / sqrt(n))``), and
    ``||g_wrong - g|| / ||g||`` at the zoo point for structural bugs.
    """

    label: str
    grad: Callable[..., Any]
    rel: float


@dataclasses.dataclass(frozen=True)
class Pair:
    """One correct (f, gradient) pair of the zoo and its wrong variants.

    Attributes:
      name: family and instance (``"batchnorm-var B=3 C=1"``).
      family: the loss or layer.
      kind: one of :data:`KINDS`.
      f: ``x -> float`` (``vector``: ``x -> array``).
      grad: the correct gradient ``x -> array`` (``vector``: ``vjp(x, dy)``).
      x: the point.
      wrong: the wrong variants.
      loss: ``loss(x, xp)`` with ``xp`` numpy or jax.numpy: the same function
        for the oracle (the noise-free, float64 mathematics for noisy and
        float32 functions); ``None`` where jax cannot express it.
      vector: ``f`` is vector valued and ``grad`` is a vector-Jacobian product.
      smooth64: a smooth float64 function numpy can evaluate on complex input
        (the ``1e-8`` sensitivity target applies; elsewhere ``1e-6``).
    """

    name: str
    family: str
    kind: str
    f: Callable[..., Any]
    grad: Callable[..., Any]
    x: np.ndarray
    wrong: tuple[Wrong, ...]
    loss: Callable[..., Any] | None
    vector: bool = False
    smooth64: bool = False

    @property
    def n(self) -> int:
        return int(self.x.size)


def _rng(*key: Any) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _generic(grad: Callable[..., Any], x: np.ndarray, vector: bool, deltas: tuple[float, ...],
             index: int) -> list[Wrong]:
    """Scaled and one-entry errors of relative size delta."""
    out = []
    if not deltas:
        return out
    for delta in deltas:
        out.append(Wrong(f"scaled {delta:.0e}", _scaled(grad, delta), delta))
    out.append(Wrong(f"one entry {deltas[-1]:.0e}", _one_entry(grad, deltas[-1], index, vector), deltas[-1]))
    out.append(Wrong("one entry 1e-03", _one_entry(grad, 1e-3, index, vector), 1e-3))
    return out


def _scaled(grad: Callable[..., Any], delta: float) -> Callable[..., Any]:
    def g(*args):
        return np.asarray(grad(*args), dtype=np.float64) * (1.0 + delta)
    return g


def _one_entry(grad: Callable[..., Any], delta: float, index: int, vector: bool) -> Callable[..., Any]:
    def g(*args):
        true = np.array(grad(*args), dtype=np.float64)
        typical = np.linalg.norm(true) / math.sqrt(true.size)
        i = index % true.size
        true.flat[i] += delta * max(abs(true.flat[i]), typical)
        return true
    return g


def _structural(label: str, wrong: Callable[..., Any], grad: Callable[..., Any], x: np.ndarray,
                vector: bool, dy: np.ndarray | None) -> Wrong:
    args = (x, dy) if vector else (x,)
    g, w = np.asarray(grad(*args), dtype=np.float64), np.asarray(wrong(*args), dtype=np.float64)
    rel = float(np.linalg.norm(w - g) / (np.linalg.norm(g) or 1.0))
    return Wrong(label, wrong, rel)


class _Builder:
    def __init__(self, max_n: int | None):
        self.max_n = max_n
        self.pairs: list[Pair] = []

    def add(self, name: str, family: str, kind: str, f, grad, x, loss, structural=(), *, vector=False,
            smooth64=False, out_shape=None) -> None:
        x = np.asarray(x, dtype=np.float64)
        if self.max_n is not None and x.size > self.max_n:
            return
        deltas = (1e-2, 1e-4, 1e-6) + ((1e-8,) if smooth64 else ())
        # one wrong entry, away from exact zeros (a kink there takes any
        # subgradient: changing it is not a bug)
        free = np.flatnonzero(x.ravel() != 0.0) if kind in ("non-analytic", "piecewise") else np.arange(x.size)
        if free.size == 0:
            free = np.arange(x.size)
            deltas = ()
        index = int(free[zlib.crc32(name.encode()) % free.size])
        dy = None
        if vector:
            out = np.asarray(f(x))
            dy = _rng(name, "dy").standard_normal(out.shape)
        wrongs = [_structural(label, w, grad, x, vector, dy) for label, w in structural]
        wrongs += _generic(grad, x, vector, deltas, index)
        # a variant that equals the right gradient here (a zero gradient scaled,
        # a factor on a term that vanishes at this point) is not wrong
        args = (x, dy) if vector else (x,)
        right = np.asarray(grad(*args), dtype=np.float64)
        wrongs = [w for w in wrongs if not np.array_equal(np.asarray(w.grad(*args), dtype=np.float64), right)]
        self.pairs.append(Pair(name, family, kind, f, grad, x, tuple(wrongs), loss, vector, smooth64))


# ---------------------------------------------------------------------------
# losses over a weight matrix (CS231n style)


def _softmax_ce(b: _Builder, N: int, D: int, C: int, reg: float, kind: str = "smooth") -> None:
    name = f"softmax-ce N={N} D={D} C={C} reg={reg:g}" + (" float32" if kind == "float32" else "")
    rng = _rng(name)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, N)
    W0 = 0.1 * rng.standard_normal((D, C))
    f32 = kind == "float32"

    def loss(w, xp=np):
        W = w.reshape(D, C)
        s = X @ W
        s = s - s.max(axis=1, keepdims=True)
        p = xp.exp(s) / xp.sum(xp.exp(s), axis=1, keepdims=True)
        return -xp.mean(xp.log(p[xp.arange(N), y])) + 0.5 * reg * xp.sum(W * W)

    def f(w):
        if f32:  # the whole forward pass in float32, as on a GPU
            W = w.reshape(D, C).astype(np.float32)
            s = X.astype(np.float32) @ W
            s = s - s.max(axis=1, keepdims=True)
            p = np.exp(s) / np.sum(np.exp(s), axis=1, keepdims=True)
            return float(-np.mean(np.log(p[np.arange(N), y])) + np.float32(0.5 * reg) * np.sum(W * W))
        return loss(w)

    def probs(w):
        s = X @ w.reshape(D, C)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def grad(w, n_scale=N, regf=reg, transpose=False):
        P = probs(w)
        P[np.arange(N), y] -= 1
        dW = X.T @ P / n_scale
        if transpose:
            dW = dW.T
        return (dW + regf * w.reshape(D, C)).ravel()

    structural = [("forgot /N", lambda w: grad(w, n_scale=1))]
    if reg:
        structural.append(("forgot the regulariser", lambda w: grad(w, regf=0.0)))
    if D == C:
        structural.append(("transposed dW", lambda w: grad(w, transpose=True)))
    b.add(name, "softmax cross-entropy", kind, f, grad, W0.ravel(), loss, structural,
          smooth64=kind == "smooth")


def _svm(b: _Builder, N: int, D: int, C: int, reg: float) -> None:
    name = f"multiclass-hinge N={N} D={D} C={C}"
    rng = _rng(name)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, N)
    W0 = 0.5 * rng.standard_normal((D, C))

    def loss(w, xp=np):
        W = w.reshape(D, C)
        s = X @ W
        correct = s[xp.arange(N), y][:, None]
        margins = xp.maximum(0, s - correct + 1.0)
        margins = margins * (1 - (xp.arange(C)[None, :] == y[:, None]))
        return xp.sum(margins) / N + reg * xp.sum(W * W)

    def grad(w, forget_correct=False, n_scale=N):
        W = w.reshape(D, C)
        s = X @ W
        margins = s - s[np.arange(N), y][:, None] + 1.0
        margins[np.arange(N), y] = 0
        mask = (margins > 0).astype(float)
        if not forget_correct:
            mask[np.arange(N), y] = -mask.sum(axis=1)
        return (X.T @ mask / n_scale + 2 * reg * W).ravel()

    b.add(name, "multiclass hinge (SVM)", "piecewise", loss, grad, W0.ravel(), loss,
          [("forgot the correct-class column", lambda w: grad(w, forget_correct=True)),
           ("forgot /N", lambda w: grad(w, n_scale=1))])


# ---------------------------------------------------------------------------
# regression losses over a weight vector


def _logistic(b: _Builder, N: int, D: int, lam: float, style: str) -> None:
    name = f"logistic {style} N={N} D={D}"
    rng = _rng(name)
    X = rng.standard_normal((N, D)) / math.sqrt(D)
    t = rng.integers(0, 2, N).astype(float)
    w0 = rng.standard_normal(D)

    def loss(w, xp=np):
        z = X @ w
        if style == "logaddexp" and xp is np:
            nll = np.logaddexp(0, -z) * t + np.logaddexp(0, z) * (1 - t)
        else:
            nll = t * xp.log(1 + xp.exp(-z)) + (1 - t) * xp.log(1 + xp.exp(z))
        return xp.mean(nll) + 0.5 * lam * xp.dot(w, w)

    def grad(w, sign=1.0, n_scale=N, lamf=lam):
        z = X @ w
        sig = 1 / (1 + np.exp(-z))
        return sign * X.T @ (sig - t) / n_scale + lamf * w

    # np.logaddexp refuses complex input: without the complex step, central
    # differences resolve ~6e-8 of one entry at n = 1e5, so the 1e-6 target
    # applies (the 1e-8 one is for functions the complex step can serve)
    b.add(name, "logistic regression", "smooth", loss, grad, w0, loss,
          [("residual sign flipped", lambda w: grad(w, sign=-1.0)), ("forgot /N", lambda w: grad(w, n_scale=1)),
           ("forgot the L2 term", lambda w: grad(w, lamf=0.0))], smooth64=style != "logaddexp")


def _ridge(b: _Builder, N: int, D: int, lam: float) -> None:
    name = f"ridge N={N} D={D}"
    rng = _rng(name)
    X = rng.standard_normal((N, D))
    t = rng.standard_normal(N)
    w0 = rng.standard_normal(D)

    def loss(w, xp=np):
        r = X @ w - t
        return 0.5 * xp.mean(r**2) + lam * xp.sum(w**2)

    def grad(w, two=2.0):
        return X.T @ (X @ w - t) / N + two * lam * w

    b.add(name, "ridge regression", "smooth", loss, grad, w0, loss,
          [("lam w instead of 2 lam w", lambda w: grad(w, two=1.0))], smooth64=True)


def _lasso(b: _Builder, N: int, D: int, lam: float, zeros: bool) -> None:
    name = f"lasso N={N} D={D}" + (" with zeros" if zeros else "")
    rng = _rng(name)
    X = rng.standard_normal((N, D))
    t = rng.standard_normal(N)
    w0 = rng.standard_normal(D)
    if zeros:
        w0[:: 3] = 0.0

    def loss(w, xp=np):
        return 0.5 * xp.sum((X @ w - t) ** 2) + lam * xp.sum(xp.abs(w))

    def grad(w, l1=1.0):
        return X.T @ (X @ w - t) + l1 * lam * np.sign(w)

    b.add(name, "lasso (L1)", "non-analytic", loss, grad, w0, loss,
          [("forgot the L1 term", lambda w: grad(w, l1=0.0)), ("L1 sign flipped", lambda w: grad(w, l1=-1.0))])


def _elastic_net(b: _Builder, N: int, D: int, seed: int) -> None:
    name = f"elastic-net N={N} D={D} #{seed}"
    rng = _rng(name)
    X = rng.standard_normal((N, D))
    t = rng.standard_normal(N)
    w0 = rng.standard_normal(D)
    l1, l2 = 0.1, 0.05

    def loss(w, xp=np):
        return (0.5 * xp.sum((X @ w - t) ** 2) + l1 * xp.linalg.norm(w, 1)
                + l2 * xp.linalg.norm(w) ** 2)

    def grad(w, a=1.0, c=1.0):
        return X.T @ (X @ w - t) + a * l1 * np.sign(w) + c * 2 * l2 * w

    b.add(name, "elastic net (np.linalg.norm)", "non-analytic", loss, grad, w0, loss,
          [("forgot the L1 term", lambda w: grad(w, a=0.0)), ("forgot the L2 term", lambda w: grad(w, c=0.0))])


def _norm_losses(b: _Builder, D: int) -> None:
    rng = _rng("norms", D)
    A = rng.standard_normal((D + 2, D))
    t = rng.standard_normal(D + 2)
    a = rng.standard_normal(D)
    w0 = rng.standard_normal(D)

    def residual_norm(w, xp=np):
        return xp.linalg.norm(A @ w - t)

    def residual_grad(w, normalise=True):
        r = A @ w - t
        return A.T @ r / (np.linalg.norm(r) if normalise else 1.0)

    b.add(f"residual-norm D={D}", "||Aw - t|| (np.linalg.norm)", "non-analytic", residual_norm, residual_grad, w0,
          residual_norm, [("gradient of the squared norm / 2", lambda w: residual_grad(w, normalise=False))])

    def cosine(w, xp=np):
        return xp.dot(a, w) / xp.linalg.norm(w)

    def cosine_grad(w, full=True):
        nw = np.linalg.norm(w)
        g = a / nw
        return g - np.dot(a, w) * w / nw**3 if full else g

    b.add(f"cosine D={D}", "a.w / ||w|| (weight normalisation)", "non-analytic", cosine, cosine_grad, w0, cosine,
          [("forgot the norm's derivative", lambda w: cosine_grad(w, full=False))])


# ---------------------------------------------------------------------------
# normalisation losses


def _batchnorm_loss(b: _Builder, B: int, C: int, eps: float = 1e-5) -> None:
    name = f"batchnorm-var B={B} C={C}"
    rng = _rng(name)
    Cw = rng.standard_normal((B, C))
    X0 = rng.standard_normal((B, C)) * 2.0 + 1.0

    def loss(x, xp=np):
        X = x.reshape(B, C)
        return xp.sum(Cw * (X - X.mean(axis=0)) / xp.sqrt(xp.var(X, axis=0) + eps))

    def grad(x, var_path=True, mean_path=True):
        X = x.reshape(B, C)
        mu = X.mean(axis=0)
        inv = 1.0 / np.sqrt(X.var(axis=0) + eps)
        xhat = (X - mu) * inv
        dx = Cw.copy()
        if mean_path:
            dx = dx - Cw.mean(axis=0)
        if var_path:
            dx = dx - xhat * (Cw * xhat).mean(axis=0)
        return (dx * inv).ravel()

    b.add(name, "batch-norm loss (np.var)", "non-analytic", loss, grad, X0.ravel(), loss,
          [("forgot the variance path", lambda x: grad(x, var_path=False)),
           ("forgot the mean path", lambda x: grad(x, mean_path=False))])


def _layernorm_loss(b: _Builder, B: int, D: int, eps: float = 1e-5) -> None:
    name = f"layernorm-std B={B} D={D}"
    rng = _rng(name)
    Cw = rng.standard_normal((B, D))
    X0 = rng.standard_normal((B, D)) * 1.5 - 0.5

    def loss(x, xp=np):
        X = x.reshape(B, D)
        mu = X.mean(axis=1, keepdims=True)
        return xp.sum(Cw * (X - mu) / (xp.std(X, axis=1, keepdims=True) + eps))

    def grad(x, std_path=True):
        X = x.reshape(B, D)
        mu = X.mean(axis=1, keepdims=True)
        sd = X.std(axis=1, keepdims=True)
        s = sd + eps
        xc = X - mu
        dx = (Cw - Cw.mean(axis=1, keepdims=True)) / s
        if std_path:
            dx = dx - (Cw * xc).sum(axis=1, keepdims=True) * xc / (s**2 * D * sd)
        return dx.ravel()

    b.add(name, "layer-norm loss (np.std)", "non-analytic", loss, grad, X0.ravel(), loss,
          [("forgot the std path", lambda x: grad(x, std_path=False))])


# ---------------------------------------------------------------------------
# attention and MLPs


def _attention(b: _Builder, T: int, d: int) -> None:
    name = f"attention T={T} d={d}"
    rng = _rng(name)
    K = rng.standard_normal((T, d))
    V = rng.standard_normal((T, d))
    Cw = rng.standard_normal((T, d))
    Q0 = rng.standard_normal((T, d))

    def loss(q, xp=np):
        S = q.reshape(T, d) @ K.T / math.sqrt(d)
        S = S - S.max(axis=1, keepdims=True)
        A = xp.exp(S) / xp.exp(S).sum(axis=1, keepdims=True)
        return xp.sum(Cw * (A @ V))

    def grad(q, jacobian=True, scale=True, transpose=False):
        S = q.reshape(T, d) @ K.T / math.sqrt(d)
        A = np.exp(S - S.max(axis=1, keepdims=True))
        A /= A.sum(axis=1, keepdims=True)
        dA = Cw @ V.T
        dS = A * (dA - (dA * A).sum(axis=1, keepdims=True)) if jacobian else A * dA
        dQ = dS @ (K.T if transpose else K)
        return (dQ / (math.sqrt(d) if scale else 1.0)).ravel()

    structural = [("softmax Jacobian without its subtraction", lambda q: grad(q, jacobian=False)),
                  ("forgot 1/sqrt(d)", lambda q: grad(q, scale=False))]
    if T == d:
        structural.append(("K transposed", lambda q: grad(q, transpose=True)))
    b.add(name, "scaled dot-product attention (wrt Q)", "smooth", loss, grad, Q0.ravel(), loss, structural,
          smooth64=True)


def _mlp(b: _Builder, N: int, D: int, H: int, C: int, act: str, kind: str = "smooth") -> None:
    name = f"mlp-{act} N={N} D={D} H={H} C={C}" + (" float32" if kind == "float32" else "")
    rng = _rng(name)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, N)
    sizes = [(D, H), (H,), (H, C), (C,)]
    counts = [int(np.prod(s)) for s in sizes]
    theta0 = np.concatenate([rng.standard_normal(c) / math.sqrt(s[0]) for s, c in zip(sizes, counts)])
    f32 = kind == "float32"

    def unpack(th):
        out, k = [], 0
        for s, c in zip(sizes, counts):
            out.append(th[k:k + c].reshape(s))
            k += c
        return out

    def loss(th, xp=np):
        W1, b1, W2, b2 = unpack(th)
        Xc = X
        if f32 and xp is np:
            W1, b1, W2, b2, Xc = (v.astype(np.float32) for v in (W1, b1, W2, b2, X))
        z = Xc @ W1 + b1
        h = xp.tanh(z) if act == "tanh" else xp.maximum(z, 0)
        s = h @ W2 + b2
        s = s - s.max(axis=1, keepdims=True)
        logp = s - xp.log(xp.sum(xp.exp(s), axis=1, keepdims=True))
        value = -xp.mean(logp[xp.arange(N), y])
        return float(value) if (f32 and xp is np) else value

    def grad(th, mask=True, bias=True, n_scale=N):
        W1, b1, W2, b2 = unpack(th)
        z = X @ W1 + b1
        h = np.tanh(z) if act == "tanh" else np.maximum(z, 0)
        s = h @ W2 + b2
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(N), y] -= 1
        ds = p / n_scale
        dW2, db2 = h.T @ ds, ds.sum(axis=0)
        dh = ds @ W2.T
        if mask:
            dz = dh * (1 - h**2) if act == "tanh" else dh * (z > 0)
        else:
            dz = dh
        dW1, db1 = X.T @ dz, dz.sum(axis=0)
        if not bias:
            db1, db2 = np.zeros_like(db1), np.zeros_like(db2)
        return np.concatenate([dW1.ravel(), db1, dW2.ravel(), db2])

    b.add(name, f"two-layer {act} MLP, softmax loss", "float32" if f32 else ("piecewise" if act == "relu" else "smooth"),
          loss, grad, theta0, loss,
          [("forgot the activation's derivative", lambda th: grad(th, mask=False)),
           ("forgot the bias gradients", lambda th: grad(th, bias=False)),
           ("forgot /N", lambda th: grad(th, n_scale=1))],
          smooth64=(act == "tanh" and not f32))


# ---------------------------------------------------------------------------
# elementwise piecewise-smooth losses (any n)


def _elementwise(b: _Builder, family: str, n: int, scale: float = 1.0) -> None:
    name = f"{family} n={n}"
    rng = _rng(name)
    c = rng.uniform(0.5, 2.0, n)
    t = rng.standard_normal(n) * 0.3
    x0 = rng.standard_normal(n) * scale
    delta = 1.0

    if family == "huber":
        def loss(x, xp=np):
            r = x - t
            return xp.sum(c * xp.where(xp.abs(r) <= delta, 0.5 * r**2, delta * (xp.abs(r) - 0.5 * delta)))

        def grad(x, clip=True):
            r = x - t
            return c * (np.clip(r, -delta, delta) if clip else r)
        structural = [("forgot the clipping", lambda x: grad(x, clip=False))]
    elif family == "smooth-l1":
        def loss(x, xp=np):
            r = x - t
            a = xp.abs(r)
            return xp.sum(c * xp.where(a < 1.0, 0.5 * r * r, a - 0.5))

        def grad(x, half=False):
            r = x - t
            g = c * np.where(np.abs(r) < 1.0, r, np.sign(r))
            return 0.5 * g if half else g
        structural = [("factor 0.5", lambda x: grad(x, half=True))]
    elif family == "abs-cubed":
        def loss(x, xp=np):
            return xp.sum(c * xp.abs(x) ** 3)

        def grad(x, absolute=True):
            return 3 * c * x * (np.abs(x) if absolute else x)
        structural = [("x*x instead of x*|x|", lambda x: grad(x, absolute=False))]
    elif family == "relu-squared":
        def loss(x, xp=np):
            return xp.sum(c * xp.maximum(x - t, 0) ** 2)

        def grad(x, two=2.0):
            return two * c * np.maximum(x - t, 0)
        structural = [("factor 2 missing", lambda x: grad(x, two=1.0))]
    elif family == "squared-hinge":
        def loss(x, xp=np):
            m = xp.maximum(0, 1 - t * 3 * x)
            return xp.sum(c * m * m)

        def grad(x, sign=-1.0):
            m = np.maximum(0, 1 - t * 3 * x)
            return sign * 2 * c * m * t * 3
        structural = [("sign flipped", lambda x: grad(x, sign=1.0))]
    else:
        raise ValueError(family)
    b.add(name, family, "piecewise", loss, grad, x0, loss, structural)


# ---------------------------------------------------------------------------
# noisy functions, float32 inside, extreme scales


def _noisy(b: _Builder, n: int, level: float, how: str) -> None:
    name = f"noisy-{how} n={n} level={level:g}"
    rng = _rng(name)
    c = rng.standard_normal(n)
    x0 = rng.standard_normal(n)
    noise = np.random.default_rng(zlib.crc32(name.encode()) + 1)

    def loss(x, xp=np):
        return xp.sum(c * xp.sin(x)) + 0.5 * xp.sum(x * x)

    def f(x):
        terms = c * np.sin(x) + 0.5 * x * x
        if how == "shuffled":      # a reduction in a different order every call
            return np.sum(noise.permutation(terms))
        value = np.sum(terms)
        return value * (1.0 + level * noise.standard_normal())  # relative noise, as from a stochastic solver

    def grad(x, forgot=False):
        return c * np.cos(x) + (0.0 if forgot else x)

    b.add(name, "noisy sum of sin", "noisy", f, grad, x0, loss, [("forgot the quadratic term", lambda x: grad(x, forgot=True))])


def _float32_inside(b: _Builder, n: int) -> None:
    name = f"float32-inside logsumexp n={n}"
    rng = _rng(name)
    a = rng.standard_normal(n)
    x0 = rng.standard_normal(n)

    def loss(x, xp=np):
        z = a * x
        m = z.max()
        return m + xp.log(xp.sum(xp.exp(z - m))) + 0.05 * xp.sum(x * x)

    def f(x):
        z = (a.astype(np.float32) * x.astype(np.float32))
        m = z.max()
        return float(m + np.log(np.sum(np.exp(z - m))) + np.float32(0.05) * np.sum(x.astype(np.float32) ** 2))

    def grad(x, reg=True):
        z = a * x
        e = np.exp(z - z.max())
        return a * e / e.sum() + (0.1 * x if reg else 0.0)

    b.add(name, "logsumexp computed in float32", "float32", f, grad, x0, loss,
          [("forgot the L2 term", lambda x: grad(x, reg=False))])


def _extreme(b: _Builder, n: int, x_scale: float, f_scale: float) -> None:
    name = f"extreme n={n} x~{x_scale:g} f~{f_scale:g}"
    rng = _rng(name)
    c = rng.uniform(0.5, 2.0, n)
    u = rng.standard_normal(n)
    x0 = (rng.standard_normal(n) + 0.5) * x_scale

    def loss(x, xp=np):
        z = x / x_scale
        return f_scale * (xp.sum(c * xp.tanh(z) ** 2) + xp.log(xp.sum(xp.exp(u * z))))

    def grad(x, chain=True):
        z = x / x_scale
        th = np.tanh(z)
        e = np.exp(u * z - np.max(u * z))
        g = f_scale * (2 * c * th * (1 - th**2) + u * e / e.sum())
        return g / x_scale if chain else g

    b.add(name, "tanh² + logsumexp at extreme scales", "extreme", loss, grad, x0, loss,
          [("forgot the chain-rule factor 1/s", lambda x: grad(x, chain=False))], smooth64=True)


# ---------------------------------------------------------------------------
# layers: vector-valued f, vector-Jacobian products


def _layers(b: _Builder, n: int, seed: int) -> None:
    rng = _rng("layers", n, seed)
    W = rng.standard_normal((n, n)) / math.sqrt(n)
    x0 = rng.standard_normal(n)

    def linear(x, xp=np):
        return W @ x

    b.add(f"linear n={n} #{seed}", "linear layer", "smooth", linear, lambda x, dy: W.T @ dy, x0, linear,
          [("W instead of W.T", lambda x, dy: W @ dy)], vector=True, smooth64=True)

    def softmax(x, xp=np):
        e = xp.exp(x - x.max())
        return e / e.sum()

    def softmax_vjp(x, dy, full=True):
        s = softmax(x)
        return s * (dy - np.dot(s, dy)) if full else s * dy

    b.add(f"softmax n={n} #{seed}", "softmax", "smooth", softmax, softmax_vjp, x0, softmax,
          [("forgot the subtraction", lambda x, dy: softmax_vjp(x, dy, full=False))], vector=True, smooth64=True)

    def l2normalise(x, xp=np):
        return x / xp.linalg.norm(x)

    def l2normalise_vjp(x, dy, full=True):
        nx = np.linalg.norm(x)
        y = x / nx
        return (dy - np.dot(y, dy) * y) / nx if full else dy / nx

    b.add(f"l2-normalise n={n} #{seed}", "x / ||x|| (np.linalg.norm)", "non-analytic", l2normalise, l2normalise_vjp,
          x0, l2normalise, [("forgot the norm's derivative", lambda x, dy: l2normalise_vjp(x, dy, full=False))],
          vector=True)

    def tanh(x, xp=np):
        return xp.tanh(x)

    b.add(f"tanh n={n} #{seed}", "tanh activation", "smooth", tanh, lambda x, dy: dy * (1 - np.tanh(x) ** 2), x0, tanh,
          [("dy * tanh(x)", lambda x, dy: dy * np.tanh(x))], vector=True, smooth64=True)


def _bn_layer(b: _Builder, B: int, C: int, eps: float = 1e-5) -> None:
    name = f"batchnorm-layer B={B} C={C}"
    rng = _rng(name)
    X0 = rng.standard_normal((B, C)) * 3.0 + 1.0

    def forward(x, xp=np):
        X = x.reshape(B, C)
        return ((X - X.mean(axis=0)) / xp.sqrt(xp.var(X, axis=0) + eps)).ravel()

    def vjp(x, dy, var_path=True):
        X = x.reshape(B, C)
        dY = dy.reshape(B, C)
        inv = 1.0 / np.sqrt(X.var(axis=0) + eps)
        xhat = (X - X.mean(axis=0)) * inv
        dx = dY - dY.mean(axis=0)
        if var_path:
            dx = dx - xhat * (dY * xhat).mean(axis=0)
        return (dx * inv).ravel()

    b.add(name, "batch-norm layer (np.var)", "non-analytic", forward, vjp, X0.ravel(), forward,
          [("forgot the variance path", lambda x, dy: vjp(x, dy, var_path=False))], vector=True)


def _ln_layer(b: _Builder, B: int, D: int, eps: float = 1e-5) -> None:
    name = f"layernorm-layer B={B} D={D}"
    rng = _rng(name)
    X0 = rng.standard_normal((B, D))

    def forward(x, xp=np):
        X = x.reshape(B, D)
        mu = X.mean(axis=1, keepdims=True)
        return ((X - mu) / xp.sqrt(xp.var(X, axis=1, keepdims=True) + eps)).ravel()

    def vjp(x, dy, var_path=True):
        X = x.reshape(B, D)
        dY = dy.reshape(B, D)
        inv = 1.0 / np.sqrt(X.var(axis=1, keepdims=True) + eps)
        xhat = (X - X.mean(axis=1, keepdims=True)) * inv
        dx = dY - dY.mean(axis=1, keepdims=True)
        if var_path:
            dx = dx - xhat * (dY * xhat).mean(axis=1, keepdims=True)
        return (dx * inv).ravel()

    b.add(name, "layer-norm layer (np.var)", "non-analytic", forward, vjp, X0.ravel(), forward,
          [("forgot the variance path", lambda x, dy: vjp(x, dy, var_path=False))], vector=True)


def _relu_layer(b: _Builder, N: int, D: int, H: int) -> None:
    name = f"relu-linear N={N} D={D} H={H}"
    rng = _rng(name)
    X = rng.standard_normal((N, D))
    W0 = rng.standard_normal((D, H)) / math.sqrt(D)

    def forward(w, xp=np):
        return xp.maximum(X @ w.reshape(D, H), 0).ravel()

    def vjp(w, dy, mask=True):
        z = X @ w.reshape(D, H)
        dz = dy.reshape(N, H) * (z > 0) if mask else dy.reshape(N, H)
        return (X.T @ dz).ravel()

    b.add(name, "relu(X W) wrt W", "piecewise", forward, vjp, W0.ravel(), forward,
          [("forgot the relu mask", lambda w, dy: vjp(w, dy, mask=False))], vector=True)


# ---------------------------------------------------------------------------


def zoo(max_n: int | None = None) -> list[Pair]:
    """Every pair of the zoo (those with at most ``max_n`` inputs when given)."""
    b = _Builder(max_n)
    for N, D, C, reg in [(5, 3, 3, 0.0), (8, 3, 3, 0.1), (16, 10, 4, 1e-3), (32, 50, 10, 1e-2),
                         (16, 1000, 100, 1e-3)]:
        _softmax_ce(b, N, D, C, reg)
    for N, D, C, reg in [(8, 3, 3, 0.0), (16, 20, 5, 1e-3)]:
        _softmax_ce(b, N, D, C, reg, kind="float32")
    for N, D, C in [(6, 2, 3), (10, 5, 4), (20, 30, 10), (16, 400, 250)]:
        _svm(b, N, D, C, 1e-3)
    for N, D in [(4, 1), (10, 2), (20, 3), (50, 17), (100, 200), (64, 100_000)]:
        for style in ("logaddexp", "log1p-exp"):
            _logistic(b, N, D, 1e-3, style)
    for N, D in [(3, 1), (10, 5), (40, 30), (20, 1000)]:
        _ridge(b, N, D, 0.05)
    for N, D in [(5, 1), (5, 2), (8, 3), (20, 10), (50, 60), (30, 1000)]:
        for zeros in (False, True):
            _lasso(b, N, D, 0.1, zeros)
    for seed in range(6):
        _elastic_net(b, 6, 2, seed)
    for N, D in [(8, 3), (30, 20), (60, 500)]:
        _elastic_net(b, N, D, 0)
    for D in (2, 3, 10, 300):   # D = 1: a.w/|w| is constant
        _norm_losses(b, D)
    for B, C in [(3, 1), (2, 3), (3, 2), (3, 5), (4, 4), (8, 4), (16, 20), (32, 64), (64, 1563)]:
        _batchnorm_loss(b, B, C)
    for B, D in [(1, 3), (2, 3), (4, 8), (8, 64), (32, 3125)]:
        _layernorm_loss(b, B, D)
    for T, d in [(2, 2), (3, 3), (4, 8), (8, 8), (16, 32), (50, 64)]:
        _attention(b, T, d)
    for N, D, H, C in [(4, 2, 3, 2), (8, 4, 8, 3), (16, 10, 20, 5), (32, 100, 200, 10)]:
        _mlp(b, N, D, H, C, "tanh")
        _mlp(b, N, D, H, C, "relu")
    for N, D, H, C in [(8, 4, 8, 3), (16, 10, 20, 5)]:
        _mlp(b, N, D, H, C, "tanh", kind="float32")
    for family in ("huber", "smooth-l1", "abs-cubed", "relu-squared", "squared-hinge"):
        for n in (1, 3, 20, 1000, 100_000):
            _elementwise(b, family, n)
    for n in (1, 5, 40, 2000):
        _noisy(b, n, 1e-11, "relative")
        _noisy(b, n, 0.0, "shuffled")
    _noisy(b, 100_000, 1e-12, "relative")
    for n in (1, 4, 50, 1000, 100_000):
        _float32_inside(b, n)
    for n in (1, 3, 40, 100_000):
        for x_scale, f_scale in [(1e-30, 1.0), (1e30, 1.0), (1.0, 1e30), (1.0, 1e-30), (1e30, 1e-30)]:
            _extreme(b, n, x_scale, f_scale)
    for n, seed in [(1, 0), (3, 0), (3, 1), (10, 0), (40, 0), (200, 0)]:
        _layers(b, n, seed)
    for B, C in [(3, 1), (4, 3), (16, 5), (64, 32)]:
        _bn_layer(b, B, C)
    for B, D in [(2, 3), (5, 8), (16, 64)]:
        _ln_layer(b, B, D)
    for N, D, H in [(4, 3, 2), (16, 8, 10), (32, 40, 50)]:
        _relu_layer(b, N, D, H)
    return b.pairs
