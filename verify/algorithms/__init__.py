"""The optimizers the verifier knows, one :class:`Algorithm` record each, one file per family.

A record holds everything about its optimizer: hyperparameters and how they are drawn, the
reference, constraints, no-decay settings, the named variants and bugs the diagnosis tries, the
title and formula, and the torch and optax mappings. Specs, strategies, conformance, diagnosis, the
library adapters and ``verify list`` read the records; adding an optimizer is a new file here and
its line in :data:`ALGORITHMS`.

A low package: it imports numpy, ``reference``, :mod:`verify.params` and :mod:`verify.errors`
(hypothesis and :mod:`verify.draws` only when something is drawn), never ``verify.specs`` or
``verify.adapters``.
"""

from __future__ import annotations

from verify.algorithms._mapping import LibraryMapping, Rule, Unmapped, as_python, const, pair, same
from verify.algorithms._record import LIBRARIES, Algorithm, Variant
from verify.algorithms.adadelta import ADADELTA
from verify.algorithms.adagrad import ADAGRAD
from verify.algorithms.adam_variants import ADAMAX, AMSGRAD, NADAM, RADAM
from verify.algorithms.adaptive import ADAM, ADAMW, RMSPROP
from verify.algorithms.asgd import ASGD
from verify.algorithms.lamb import LAMB
from verify.algorithms.lion import LION
from verify.algorithms.sgd import MOMENTUM, NESTEROV, SGD, WEIGHT_DECAY
from verify.algorithms.sign import RPROP, SIGN_SGD

__all__ = ["Algorithm", "Variant", "LibraryMapping", "Unmapped", "Rule", "same", "pair", "const", "as_python",
           "LIBRARIES", "ALGORITHMS", "NAMES", "get", "find", "resolve"]

#: Every algorithm, in the order specs list them.
ALGORITHMS: tuple[Algorithm, ...] = (SGD, MOMENTUM, NESTEROV, WEIGHT_DECAY, SIGN_SGD, RPROP, RMSPROP, ADAM, ADAMW,
                                     ADAGRAD,
                                     AMSGRAD, ADAMAX, NADAM, RADAM,
                                     ADADELTA, LION, LAMB,
                                     ASGD)

_BY_NAME = {a.name: a for a in ALGORITHMS}
if len(_BY_NAME) != len(ALGORITHMS):
    raise ValueError("two algorithms share a name")

#: Their names, in the same order.
NAMES: tuple[str, ...] = tuple(_BY_NAME)


def get(name: str) -> Algorithm:
    """The algorithm called ``name`` (``KeyError`` naming the known ones)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no algorithm {name!r}; the algorithms are {', '.join(NAMES)}") from None


def find(name: str) -> Algorithm | None:
    """The algorithm called ``name``, or ``None`` (``generic-optimizer`` and the other specs have none)."""
    return _BY_NAME.get(name)


def resolve(algorithm: "Algorithm | str | object") -> Algorithm | None:
    """An algorithm given as itself, by name, or as a spec (its ``name``); ``None`` when there is none."""
    if isinstance(algorithm, Algorithm):
        return algorithm
    return find(algorithm if isinstance(algorithm, str) else getattr(algorithm, "name", ""))
