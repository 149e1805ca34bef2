"""The initialiser protocol (``init-*``, ``relu-bias``): ``init(shape, rng) -> ndarray``, and the shapes real
initialisers take instead (``init(shape)``, ``init(*shape)``, JAX's ``init(key, shape)``)."""

from __future__ import annotations

import contextlib
import random
import sys
from typing import Any, Callable

import numpy as np

from verify.adapters.base import InitialiserSubject, Request
from verify.adapters.protocol._common import name_of, positional_parameters
from verify.errors import TargetLoadError

__all__ = ["initialiser", "initialiser_calling", "ProtocolRNG", "seeded_global_generators", "claim"]

class ProtocolRNG(np.random.Generator):
    """The ``rng`` given to ``init(shape, rng)``: a numpy Generator that also answers the legacy
    ``numpy.random.RandomState`` methods course code calls (``randn``, ``rand``, ``random_sample``,
    ``randint``), so code written for either API draws from the seeded stream."""

    def randn(self, *dims: int) -> Any:
        return self.standard_normal(dims) if dims else float(self.standard_normal())

    def rand(self, *dims: int) -> Any:
        return self.random(dims) if dims else float(self.random())

    def random_sample(self, size: Any = None) -> Any:
        return self.random(size)

    def randint(self, low: int, high: int | None = None, size: Any = None, dtype: Any = int) -> Any:
        return self.integers(low, high, size, dtype=dtype)


@contextlib.contextmanager
def seeded_global_generators(seed: int):
    """Seed numpy's, Python's and (if loaded) torch's global generators from ``seed``; restore them after.

    Real initialisers often ignore the ``rng`` they are given and call
    ``np.random.randn``: seeding the global generators makes them reproducible
    from the seed too, and the caller's random state is left as it was.
    """
    np_state, py_state = np.random.get_state(), random.getstate()
    torch = sys.modules.get("torch")
    fork = torch.random.fork_rng(devices=[]) if torch is not None else contextlib.nullcontext()
    try:
        with fork:
            np.random.seed(seed % 2**32)
            random.seed(seed)
            if torch is not None:
                torch.manual_seed(seed % 2**63)
            yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


_SHAPE_NAMES = ("shape", "size", "dims", "dim")
_RNG_NAMES = ("rng", "random_state", "generator", "gen", "prng", "rs", "np_rng", "numpy_rng", "random")
_KEY_NAMES = ("key", "rng_key", "prng_key")


def _shape_like(name: str) -> bool:
    return name in _SHAPE_NAMES or name.endswith("shape")


def initialiser_calling(fn: Callable) -> str:
    """How an initialiser is called, from its signature.

    ``"tensor"`` — ``fn(tensor)`` filling in place (torch.nn.init's protocol):
    one positional parameter not named like a shape; ``"shape, rng"`` — the
    protocol's ``init(shape, rng)`` (a second parameter named like a generator,
    or required); ``"shape"`` — ``init(shape)`` alone (numpy-ml's
    ``he_uniform(weight_shape)``, Keras' ``__call__(shape, dtype=None)``,
    ``glorot_uniform(weight_shape, gain=1.0)``: the other parameters keep their
    defaults and the global generators are seeded); ``"*shape"`` —
    ``init(*shape)`` (``np.random.randn``'s own form, tinygrad's
    ``Tensor.kaiming_uniform(*shape)``); ``"key, shape"`` — JAX's
    ``init(key, shape, dtype)``.
    """
    read = positional_parameters(fn)
    if read is None:
        return "shape, rng"
    params, var_positional = read
    if not params:
        return "*shape" if var_positional else "shape, rng"
    first = params[0].name.lower()
    if first in _KEY_NAMES and len(params) >= 2 and _shape_like(params[1].name.lower()):
        return "key, shape"
    if _shape_like(first):
        if len(params) >= 2 and (params[1].name.lower() in _RNG_NAMES or params[1].default is params[1].empty):
            return "shape, rng"
        return "shape"
    return "tensor" if len(params) == 1 else "shape, rng"


def initialiser(obj: Any, target: str, layout: str = "numpy") -> InitialiserSubject:
    if not callable(obj):
        raise TargetLoadError(f"target {target!r} is a {type(obj).__name__}, not a function init(shape, rng)")
    calling = initialiser_calling(obj)
    mapping = []
    if calling == "key, shape":
        try:
            import jax
        except ImportError as exc:
            raise TargetLoadError(f"target {target!r} takes (key, shape) like a JAX initialiser, and jax is not "
                                  "installed") from exc

        def sampler(shape, seed):
            return np.asarray(obj(jax.random.PRNGKey(seed % 2**32), shape))

        mapping.append("called as init(key, shape) with key = jax.random.PRNGKey(seed) (JAX's initialiser "
                       "protocol; its default dtype, float32 unless x64 is enabled, is read as float64)")
    else:
        def sampler(shape, seed):
            with seeded_global_generators(seed):
                if calling == "*shape":
                    return obj(*shape)
                if calling == "shape":
                    return obj(shape)
                return obj(shape, ProtocolRNG(np.random.PCG64(seed)))

        if calling == "shape, rng":
            mapping.append("rng: a numpy Generator seeded per call, which also answers RandomState's "
                           "randn/rand/randint; numpy's, Python's and torch's global generators are seeded from the "
                           "same seed during the call (and restored after), so code calling np.random.randn is "
                           "reproducible too")
        else:
            mapping.append(f"called as init({calling}) (its signature takes no generator): numpy's, Python's and "
                           "torch's global generators are seeded per call (and restored after)")
    return InitialiserSubject(
        f"numpy initialiser {name_of(obj)}({calling}), {layout} layout", sampler=sampler, layout=layout,
        mapping=mapping)



def claim(request: Request) -> InitialiserSubject:
    """The fallback for initialisers: every object is held to this protocol."""
    return initialiser(request.obj, request.target, layout=request.params.get("layout", "numpy"))
