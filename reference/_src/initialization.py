"""Weight initialisation (LeCun, Glorot/Xavier, He) and the ReLU bias.

Spec: ``shared/FORMULAS.md`` sections 3 and 4 (specs ``init-lecun``,
``init-xavier``, ``init-he``, ``relu-bias``). Source: the course notes,
"Inicialización de pesos": with ``x_i = 1`` and independent ``w_i ~ N(0, σ)``,
``z = Σ_{i≤N} w_i ~ N(0, √N σ)``, so ``σ = 1/√N`` gives ``z ~ N(0, 1)``.

``N(0, σ)`` means mean 0 and *standard deviation* σ throughout.

Every initialiser has the protocol signature ``init(shape, rng) -> ndarray``
(``rng`` a ``numpy.random.Generator``); variants are keyword arguments.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from reference._src.base import check_positive

__all__ = [
    "TRUNCATED_NORMAL_STD",
    "DISTRIBUTIONS",
    "LAYOUTS",
    "compute_fans",
    "lecun_std",
    "xavier_std",
    "he_std",
    "init_std",
    "sample_scaled",
    "lecun",
    "xavier",
    "he",
    "relu_bias",
]

#: Standard deviation of a standard normal truncated to [−2, 2]. Truncated
#: initialisers divide σ by it so the samples keep variance σ².
TRUNCATED_NORMAL_STD = 0.87962566103423978

DISTRIBUTIONS = ("normal", "uniform", "truncated")
LAYOUTS = ("numpy", "torch")


def compute_fans(shape: Sequence[int], layout: str = "numpy") -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of the given shape.

    Layouts:
      * ``"numpy"`` (numpy, JAX, Keras): ``(fan_in, fan_out)`` or
        ``(*kernel, fan_in, fan_out)`` for convolutions;
      * ``"torch"``: ``(fan_out, fan_in, *kernel)``.

    Both fans are multiplied by the receptive-field size (the product of the
    kernel dimensions).

    >>> compute_fans((3, 5))
    (3, 5)
    >>> compute_fans((8, 4, 3, 3), layout="torch")
    (36, 72)
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise ValueError(f"a weight needs at least 2 dimensions to have fans, got shape {shape}")
    if any(s <= 0 for s in shape):
        raise ValueError(f"every dimension must be positive, got shape {shape}")
    if layout == "numpy":
        receptive = math.prod(shape[:-2])
        return shape[-2] * receptive, shape[-1] * receptive
    if layout == "torch":
        receptive = math.prod(shape[2:])
        return shape[1] * receptive, shape[0] * receptive
    raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


def lecun_std(fan_in: int) -> float:
    """LeCun (the notes): ``σ = 1/√fan_in`` so that ``Var(Σ x_i w_i) = 1`` for ``x_i = 1``.

    Reference: LeCun, Bottou, Orr & Müller, *Efficient BackProp* (1998).

    >>> lecun_std(4)
    0.5
    """
    return 1.0 / math.sqrt(fan_in)


def xavier_std(fan_in: int, fan_out: int) -> float:
    """Glorot/Xavier: ``σ = √(2/(fan_in + fan_out))``.

    Reference: Glorot & Bengio, *Understanding the difficulty of training deep
    feedforward neural networks* (AISTATS 2010), eq. 12 (normal form).

    >>> xavier_std(3, 5)
    0.5
    """
    return math.sqrt(2.0 / (fan_in + fan_out))


def he_std(fan_in: int) -> float:
    """He/Kaiming for ReLU: ``σ = √(2/fan_in)``.

    The factor 2 undoes ReLU halving the second moment: ``E[relu(z)²] = σ²/2``.
    Reference: He, Zhang, Ren & Sun, *Delving Deep into Rectifiers* (ICCV 2015), eq. 10.

    >>> he_std(8)
    0.5
    """
    return math.sqrt(2.0 / fan_in)


def init_std(scheme: str, shape: Sequence[int], layout: str = "numpy") -> float:
    """The standard deviation scheme ``"lecun" | "xavier" | "he"`` asks for at ``shape``."""
    fan_in, fan_out = compute_fans(shape, layout)
    if scheme == "lecun":
        return lecun_std(fan_in)
    if scheme == "xavier":
        return xavier_std(fan_in, fan_out)
    if scheme == "he":
        return he_std(fan_in)
    raise ValueError(f"scheme must be 'lecun', 'xavier' or 'he', got {scheme!r}")


def sample_scaled(shape: Sequence[int], std: float, rng: np.random.Generator,
                  distribution: str = "normal") -> np.ndarray:
    """Samples with mean 0 and standard deviation ``std``.

    * ``"normal"``: ``N(0, std)``;
    * ``"uniform"``: ``U(−√3 std, √3 std)`` (variance ``std²``);
    * ``"truncated"``: ``N(0, s)`` truncated to ``[−2s, 2s]`` with
      ``s = std / 0.87962566103423978``, so the variance is still ``std²``
      (the convention of Keras' and TF's ``variance_scaling``).
    """
    check_positive("std", std, allow_zero=True)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    shape = tuple(int(s) for s in shape)
    if distribution == "normal":
        return rng.normal(0.0, std, size=shape)
    if distribution == "uniform":
        bound = math.sqrt(3.0) * std
        return rng.uniform(-bound, bound, size=shape)
    if distribution == "truncated":
        return _truncated_standard_normal(shape, rng) * (std / TRUNCATED_NORMAL_STD)
    raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")


def _truncated_standard_normal(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    # Rejection sampling: 95.4 % of standard normal draws fall in [−2, 2].
    n = math.prod(shape)
    out = np.empty(n)
    filled = 0
    while filled < n:
        draw = rng.standard_normal(int((n - filled) * 1.1) + 16)
        keep = draw[np.abs(draw) <= 2.0][: n - filled]
        out[filled:filled + keep.size] = keep
        filled += keep.size
    return out.reshape(shape)


def lecun(shape: Sequence[int], rng: np.random.Generator, *, distribution: str = "normal",
          layout: str = "numpy") -> np.ndarray:
    """LeCun initialisation, ``σ = 1/√fan_in`` (the notes' ``σ = 1/√N``).

    >>> w = lecun((400, 300), np.random.default_rng(0))
    >>> round(float(w.std() * 20), 1)  # σ = 1/20
    1.0
    """
    return sample_scaled(shape, init_std("lecun", shape, layout), rng, distribution)


def xavier(shape: Sequence[int], rng: np.random.Generator, *, distribution: str = "normal",
           layout: str = "numpy") -> np.ndarray:
    """Glorot/Xavier initialisation, ``σ = √(2/(fan_in + fan_out))``.

    Warning: ``torch.nn.init.xavier_normal_`` expects PyTorch's
    ``(fan_out, fan_in, *kernel)`` layout; pass ``layout="torch"`` for that.
    """
    return sample_scaled(shape, init_std("xavier", shape, layout), rng, distribution)


def he(shape: Sequence[int], rng: np.random.Generator, *, distribution: str = "normal",
       layout: str = "numpy") -> np.ndarray:
    """He/Kaiming initialisation for ReLU layers, ``σ = √(2/fan_in)``.

    Matches ``torch.nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")``
    with ``layout="torch"``.
    """
    return sample_scaled(shape, init_std("he", shape, layout), rng, distribution)


def relu_bias(shape: Sequence[int], rng: np.random.Generator | None = None, *,
              value: float = 0.01) -> np.ndarray:
    """Bias for ReLU units: a small positive constant (0.01, as in CS231n).

    A positive bias makes ``P(z + b > 0) > 1/2`` for a symmetric pre-activation
    ``z``, so units start active and none is dead at initialisation.
    Goodfellow, Bengio & Courville, *Deep Learning* §6.3.1, suggest 0.1.

    ``rng`` is accepted for the initialiser protocol and unused.

    >>> relu_bias((3,))
    array([0.01, 0.01, 0.01])
    """
    check_positive("value", value)
    return np.full(tuple(int(s) for s in shape), float(value))
