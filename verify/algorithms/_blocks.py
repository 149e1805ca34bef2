"""Small building blocks for the bug variants of the diagnosis catalogue (reference-style optimizers).

Variants that are a published convention are built from the reference's own flags
(``form``, ``eps_placement``, ``amsgrad``, ``variant``, ``centered``, ``decoupled``, ``dampening``);
a bug the reference does not offer is a small stateful transform written with these.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from reference._src.base import Transform, as_optimizer, chain

__all__ = ["opt", "stateful", "zeros"]


def opt(*transforms: Transform) -> Any:
    """An optimizer (``init``/``update`` on parameters) chaining ``transforms``."""
    return as_optimizer(chain(*transforms))


def stateful(init_state: Callable[[np.ndarray], dict], fn: Callable[[np.ndarray, dict, np.ndarray], np.ndarray]) -> Transform:
    """A transform from ``fn(g, state_dict, params) -> update`` with a copied dict state."""

    def init(params):
        return init_state(params)

    def update(g, state, params):
        s = dict(state)
        u = fn(g, s, params)
        return u, s

    return Transform(init, update)


def zeros(*names: str, count: bool = False) -> Callable[[np.ndarray], dict]:
    """A state of zero arrays ``names`` shaped like the parameters (``first``: no step taken yet)."""

    def init(params):
        d = {n: np.zeros_like(params) for n in names}
        if count:
            d["t"] = 0
        d["first"] = True
        return d

    return init
