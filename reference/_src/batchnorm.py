"""Batch normalisation: forward, backward, running statistics, inference.

Spec: ``shared/FORMULAS.md`` section 5 (spec ``batchnorm``). Source: Ioffe &
Szegedy, *Batch Normalization* (ICML 2015), Algorithm 1 and §3.1; the notes'
"normalizar para que z_j ~ N(0, 1)".

Inputs are ``(N, C)`` or ``(N, C, L)``; statistics are per feature ``C``,
over the batch (and length) axes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reference._src.base import as_float, check_in_range, check_positive

__all__ = [
    "BatchNormCache",
    "RunningStats",
    "batchnorm_forward",
    "batchnorm_backward",
    "batchnorm_inference",
    "init_running_stats",
    "update_running_stats",
    "BatchNorm1d",
]

CONVENTIONS = ("pytorch", "keras", "cumulative")
_DEFAULT_MOMENTUM = {"pytorch": 0.1, "keras": 0.99, "cumulative": None}


class BatchNormCache(NamedTuple):
    """What the backward pass needs from the forward pass."""

    xhat: np.ndarray       # normalised input ẑ, same shape as x
    inv_std: np.ndarray    # 1/√(σ² + ε) per feature, shape (C,)
    gamma: np.ndarray      # scale γ, shape (C,)


class RunningStats(NamedTuple):
    """Running estimates used at inference, and how many training batches they have seen."""

    mean: np.ndarray
    var: np.ndarray
    count: int = 0


def _axes(x: np.ndarray) -> tuple[int, ...]:
    if x.ndim not in (2, 3):
        raise ValueError(f"batch norm expects an input of shape (N, C) or (N, C, L), got {x.shape}")
    return (0,) if x.ndim == 2 else (0, 2)


def _per_feature(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Broadcast a (C,) vector against x of shape (N, C) or (N, C, L)."""
    return v if x.ndim == 2 else v[:, None]


def _check_features(name: str, v: np.ndarray, c: int) -> None:
    if v.shape != (c,):
        raise ValueError(f"{name} must have shape ({c},) to match the input's {c} features, got {v.shape}")


def batchnorm_forward(x, gamma, beta, eps: float = 1e-5) -> tuple[np.ndarray, BatchNormCache]:
    """Training-mode batch norm.

    Per feature ``j`` over the ``m`` values of the batch:
    ``μ_j = (1/m) Σ z_ij``, ``σ²_j = (1/m) Σ (z_ij − μ_j)²`` (biased),
    ``ẑ_ij = (z_ij − μ_j)/√(σ²_j + ε)``, ``y_ij = γ_j ẑ_ij + β_j``.

    ``ẑ_j`` has mean 0 and variance ``σ²_j/(σ²_j + ε)``.

    Returns:
      ``(y, cache)``; pass ``cache`` to :func:`batchnorm_backward`.

    >>> y, _ = batchnorm_forward([[1.0], [3.0]], [1.0], [0.0], eps=0.0)
    >>> y
    array([[-1.],
           [ 1.]])
    """
    x = as_float(x, "x")
    axes = _axes(x)
    c = x.shape[1]
    gamma, beta = as_float(gamma, "gamma"), as_float(beta, "beta")
    _check_features("gamma", gamma, c)
    _check_features("beta", beta, c)
    check_positive("eps", eps, allow_zero=True)
    m = x.size // c
    if m < 2:
        raise ValueError(f"batch norm in training mode needs more than 1 value per feature, got {m}")
    mean = x.mean(axis=axes)
    centred = x - _per_feature(mean, x)
    var = (centred * centred).mean(axis=axes)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = centred * _per_feature(inv_std, x)
    y = _per_feature(gamma, x) * xhat + _per_feature(beta, x)
    return y, BatchNormCache(xhat, inv_std, gamma)


def batchnorm_backward(dy, cache: BatchNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`batchnorm_forward`.

    With ``σ̃ = √(σ² + ε)`` and ``m`` values per feature:
    ``∂L/∂z = γ/(m σ̃) · (m dy − Σ_i dy − ẑ Σ_i (dy ẑ))``,
    ``∂L/∂γ = Σ_i dy ẑ``, ``∂L/∂β = Σ_i dy``.

    Reference: Ioffe & Szegedy (2015), §3, the chain-rule equations.

    Returns:
      ``(dx, dgamma, dbeta)``.
    """
    xhat, inv_std, gamma = cache
    dy = as_float(dy, "dy")
    if dy.shape != xhat.shape:
        raise ValueError(f"dy must have the forward output's shape {xhat.shape}, got {dy.shape}")
    axes = _axes(dy)
    m = dy.size // dy.shape[1]
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * xhat).sum(axis=axes)
    scale = _per_feature(gamma * inv_std / m, dy)
    dx = scale * (m * dy - _per_feature(dbeta, dy) - xhat * _per_feature(dgamma, dy))
    return dx, dgamma, dbeta


def batchnorm_inference(x, gamma, beta, running_mean, running_var, eps: float = 1e-5) -> np.ndarray:
    """Evaluation-mode batch norm: ``y = γ (z − r_mean)/√(r_var + ε) + β``."""
    x = as_float(x, "x")
    _axes(x)
    c = x.shape[1]
    arrays = {"gamma": gamma, "beta": beta, "running_mean": running_mean, "running_var": running_var}
    g, b, rm, rv = (as_float(v, k) for k, v in arrays.items())
    for name, v in zip(arrays, (g, b, rm, rv)):
        _check_features(name, v, c)
    inv_std = 1.0 / np.sqrt(rv + eps)
    return _per_feature(g * inv_std, x) * (x - _per_feature(rm, x)) + _per_feature(b, x)


def init_running_stats(num_features: int, mean: float = 0.0, var: float = 1.0) -> RunningStats:
    """Running mean 0 and running variance 1, as PyTorch, Keras, d2l and numpy-ml start.

    CS231n's ``batchnorm_forward`` creates both at 0 on the first training
    call (``var=0.0``): a different start, not a different formula.
    """
    return RunningStats(np.full(num_features, float(mean)), np.full(num_features, float(var)))


def update_running_stats(stats: RunningStats, x, momentum: float | None = None,
                         convention: str = "pytorch", variance: str | None = None) -> RunningStats:
    """Update the running mean and variance with one training batch ``x``.

    * ``"pytorch"`` (canonical): ``r ← (1 − m) r + m · batch_stat``, the
      variance fed the *unbiased* batch variance ``σ² n/(n − 1)``; default
      ``m = 0.1``.
    * ``"keras"``: ``r ← m r + (1 − m) · batch_stat`` with the *biased*
      variance; default ``m = 0.99``.
    * ``"cumulative"``: PyTorch's ``momentum=None``, the plain average of the
      batch statistics seen so far: ``r ← r + (stat − r)/t`` at the t-th
      batch (the start is forgotten at the first); unbiased variance.

    ``variance`` (``"unbiased"`` or ``"biased"``) overrides the convention's
    choice of the variance fed to the running variance.

    Warning: the two conventions use ``momentum`` in opposite senses;
    Keras' 0.99 is PyTorch's 0.01.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    if variance not in (None, "unbiased", "biased"):
        raise ValueError(f"variance must be 'unbiased' or 'biased', got {variance!r}")
    count = stats.count + 1
    if convention == "cumulative":
        m = 1.0 / count
    else:
        m = _DEFAULT_MOMENTUM[convention] if momentum is None else momentum
        check_in_range("momentum", m, 0.0, 1.0, hi_closed=True)
    x = as_float(x, "x")
    axes = _axes(x)
    n = x.size // x.shape[1]
    if n < 2:
        raise ValueError(f"running statistics need more than 1 value per feature, got {n}")
    mean = x.mean(axis=axes)
    biased = ((x - _per_feature(mean, x)) ** 2).mean(axis=axes)
    unbiased_fed = variance == "unbiased" or (variance is None and convention != "keras")
    fed = biased * n / (n - 1) if unbiased_fed else biased
    w = 1.0 - m if convention == "keras" else m     # the weight of the new statistic
    return RunningStats((1 - w) * stats.mean + w * mean, (1 - w) * stats.var + w * fed, count)


class BatchNorm1d:
    """A numpy batch-norm layer following the spec's batch-norm protocol.

    The protocol mirrors ``torch.nn.BatchNorm1d``: constructed with
    ``(num_features, eps=1e-5, momentum=0.1)``; attributes ``gamma``, ``beta``,
    ``running_mean``, ``running_var``; ``forward(x, training=True) -> y``;
    ``backward(dy) -> (dx, dgamma, dbeta)`` for the last training forward.

    >>> bn = BatchNorm1d(2)
    >>> y = bn.forward(np.array([[0.0, 1.0], [2.0, 5.0]]))
    >>> bn.running_mean
    array([0.1, 0.3])
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 convention: str = "pytorch"):
        if momentum is None and convention == "pytorch":
            convention = "cumulative"       # PyTorch's momentum=None
        if int(num_features) != num_features or num_features < 1:
            raise ValueError(f"num_features must be a positive integer, got {num_features!r}")
        self.num_features = int(num_features)
        self.eps = check_positive("eps", eps, allow_zero=True)
        self.momentum = momentum
        self.convention = convention
        self.gamma = np.ones(self.num_features)
        self.beta = np.zeros(self.num_features)
        stats = init_running_stats(self.num_features)
        self.running_mean, self.running_var = stats.mean, stats.var
        self.num_batches_tracked = 0
        self._cache: BatchNormCache | None = None

    def forward(self, x, training: bool = True) -> np.ndarray:
        if not training:
            return batchnorm_inference(x, self.gamma, self.beta, self.running_mean,
                                       self.running_var, self.eps)
        y, self._cache = batchnorm_forward(x, self.gamma, self.beta, self.eps)
        stats = update_running_stats(RunningStats(self.running_mean, self.running_var, self.num_batches_tracked),
                                     x, self.momentum, self.convention)
        self.running_mean, self.running_var, self.num_batches_tracked = stats

        return y

    def backward(self, dy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._cache is None:
            raise RuntimeError("backward() needs a training-mode forward() first")
        return batchnorm_backward(dy, self._cache)

    def __repr__(self) -> str:
        return (f"BatchNorm1d({self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"convention={self.convention!r})")

