"""Hypothesis strategies for training formulas, reusable in users' own tests.

>>> from hypothesis import given
>>> from verify import strategies as vst
>>> @given(vst.vectors())
... def test_l2_grad_is_linear(w):
...     ...

Values span several orders of magnitude on purpose: bugs such as a misplaced
ε or a lost factor show at scales a unit-interval draw never reaches.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from verify.draws import positive_floats, unit_interval

__all__ = [
    "scaled_floats",
    "arrays",
    "vectors",
    "positive_floats",
    "unit_interval",
    "hyperparameters",
    "spd_matrices",
    "gradient_streams",
    "quadratic_problems",
]


def scaled_floats(min_exponent: int = -3, max_exponent: int = 3, *, allow_zero: bool = True,
                  positive: bool = False) -> st.SearchStrategy[float]:
    """Floats ``± m · 10^e`` with ``m ∈ [1, 10)`` and ``e`` in the given range (and 0 if allowed).

    Shrinks towards small exponents and simple mantissas.
    """
    if min_exponent > max_exponent:
        raise ValueError(f"min_exponent {min_exponent} > max_exponent {max_exponent}")
    mags = st.builds(
        lambda m, e: m * 10.0 ** e,
        st.floats(1.0, 9.999, allow_nan=False, allow_infinity=False),
        st.integers(min_exponent, max_exponent),
    )
    signed = mags if positive else st.builds(lambda s, x: s * x, st.sampled_from([1.0, -1.0]), mags)
    return (st.just(0.0) | signed) if allow_zero and not positive else signed


def arrays(shape: Any = None, *, min_dims: int = 1, max_dims: int = 2, max_side: int = 5,
           elements: st.SearchStrategy[float] | None = None) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays whose entries come from ``elements`` (default :func:`scaled_floats`)."""
    from hypothesis.extra import numpy as hnp

    elements = elements if elements is not None else scaled_floats()
    shapes = st.just(tuple(shape)) if isinstance(shape, tuple) else (
        shape if shape is not None else hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, max_side=max_side))
    return hnp.arrays(np.float64, shapes, elements=elements)


def vectors(min_size: int = 1, max_size: int = 8, *,
            elements: st.SearchStrategy[float] | None = None) -> st.SearchStrategy[np.ndarray]:
    """1-D float64 arrays of ``min_size`` to ``max_size`` entries."""
    return arrays(st.integers(min_size, max_size).map(lambda n: (n,)), elements=elements)


# ------------------------------------------------------------------ optimizers


def hyperparameters(spec: Any, **pinned: Any) -> st.SearchStrategy[dict[str, Any]]:
    """An algorithm's canonical hyperparameters, drawn over their whole valid range.

    ``spec`` is an algorithm record (:mod:`verify.algorithms`), a spec or a
    name. Each hyperparameter is drawn as its ``Param.draw`` says (held at
    its default without one), or all together by the algorithm's own joint
    draw where they constrain each other (Rprop's bounds). ``pinned`` values
    are held fixed. ``generic-optimizer`` has no canonical hyperparameters:
    it draws ``pinned`` only.

    >>> from verify import strategies as vst
    >>> vst.hyperparameters("adam", weight_decay=0.0)   # doctest: +SKIP
    """
    from verify import algorithms

    algorithm = algorithms.resolve(spec)
    if algorithm is not None and algorithm.draw is not None:
        return algorithm.draw(dict(pinned))
    if algorithm is not None:
        params = algorithm.params
    else:
        from verify.specs import get_spec

        params = (spec if not isinstance(spec, str) else get_spec(spec)).params
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for p in params:
        if not p.to_target:
            continue
        if p.name in pinned:
            fields[p.name] = st.just(pinned[p.name])
        elif p.draw is not None:
            fields[p.name] = p.draw()
        else:
            fields[p.name] = st.just(p.default)
    for k, v in pinned.items():
        fields.setdefault(k, st.just(v))
    return st.fixed_dictionaries(fields)


def _as_strategy(x: Any) -> st.SearchStrategy[Any]:
    return x if isinstance(x, st.SearchStrategy) else st.just(x)


def spd_matrices(n: Any = 3, condition_number: Any = 10.0, *, largest: Any = 1.0) -> st.SearchStrategy[np.ndarray]:
    """Symmetric positive-definite ``n × n`` matrices with eigenvalues in ``[largest/κ, largest]``.

    ``n``, ``condition_number`` and ``largest`` are values or strategies. Both
    extreme eigenvalues are present (``n ≥ 2``), so ``cond(A) = κ`` exactly up
    to rounding.
    """
    from verify.problems import spd_matrix

    return st.builds(lambda n_, k, top, seed: spd_matrix(np.random.default_rng(seed), int(n_), float(k), largest=float(top)),
                     _as_strategy(n), _as_strategy(condition_number), _as_strategy(largest),
                     st.integers(0, 2 ** 32 - 1))


def gradient_streams(steps: Any = None, shape: Any = None, *, kinds: Any = None, scale: Any = None,
                     eps: float | None = None) -> st.SearchStrategy[np.ndarray]:
    """Open-loop gradient streams, arrays of shape ``(steps, *shape)``.

    Kinds (:data:`verify.problems.STREAM_KINDS`): gaussian, constant,
    sign-flips, tiny (near ``eps`` and ``√eps``), large, sparse (exact zeros),
    minibatch (+0.1 ×9, −0.9 ×1), mixed-scales. The stream is generated by
    numpy from a drawn seed, so examples shrink to a short recipe.
    """
    from verify.problems import STREAM_KINDS, open_loop_stream

    steps = st.integers(1, 40) if steps is None else _as_strategy(steps)
    shape = st.one_of(st.integers(1, 5).map(lambda n: (n,)), st.just((2, 3))) if shape is None else _as_strategy(shape)
    kinds = st.sampled_from(STREAM_KINDS) if kinds is None else (
        st.sampled_from(kinds) if isinstance(kinds, (list, tuple)) else kinds)
    scale = st.floats(-3.0, 3.0).map(lambda e: 10.0 ** e) if scale is None else _as_strategy(scale)
    return st.builds(
        lambda k, t, sh, sc, seed: open_loop_stream(k, int(t), tuple(sh), np.random.default_rng(seed), scale=sc, eps=eps),
        kinds, steps, shape, scale, st.integers(0, 2 ** 32 - 1))


def quadratic_problems(n: Any = None, condition_number: Any = None, *, largest: Any = 1.0) -> st.SearchStrategy[Any]:
    """Quadratics ``½ (w − w*)ᵀ A (w − w*)`` (:class:`verify.problems.Quadratic`) with controlled κ."""
    from verify.problems import Quadratic

    n = st.integers(1, 6) if n is None else _as_strategy(n)
    condition_number = positive_floats(1.0, 1e4) if condition_number is None else _as_strategy(condition_number)
    return st.builds(
        lambda n_, k, top, seed: Quadratic.random(np.random.default_rng(seed), (int(n_),), float(k), largest=float(top)),
        n, condition_number, _as_strategy(largest), st.integers(0, 2 ** 32 - 1))
