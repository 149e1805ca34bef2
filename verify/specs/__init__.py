"""The registry of specs. Spec modules are imported only when a spec is used."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from verify import algorithms
from verify.errors import UnknownSpecError
from verify.specs.base import Check, CheckContext, Family, Kind, Outcome, Param, Spec, failed, passed, skipped

__all__ = [
    "SPEC_NAMES",
    "get_spec",
    "modules_needed",
    "all_specs",
    "Spec",
    "Check",
    "CheckContext",
    "Param",
    "Kind",
    "Family",
    "Outcome",
    "passed",
    "failed",
    "skipped",
]

# spec name -> module defining it (in a ``SPECS`` dict)
_MODULES = {
    "l1": "regularisers",
    "l2": "regularisers",
    "weight-decay": "optimizers",
    "init-lecun": "initialisers",
    "init-xavier": "initialisers",
    "init-he": "initialisers",
    "relu-bias": "initialisers",
    "batchnorm": "batchnorm",
    "layernorm": "layernorm",
    "rmsnorm": "layernorm",
    "newton": "newton",
    # every optimizer algorithm is a spec of its own (weight-decay keeps its place above)
    **{a.name: "optimizers" for a in algorithms.ALGORITHMS},
    "generic-optimizer": "optimizers",
    "grad-clip-norm": "clipping",
}

SPEC_NAMES: tuple[str, ...] = tuple(_MODULES)


def get_spec(name: str) -> Spec:
    """The spec called ``name``; raises :class:`UnknownSpecError` naming the valid ones."""
    module = _MODULES.get(name)
    if module is None:
        raise UnknownSpecError(f"unknown spec {name!r}; the specs are: {', '.join(SPEC_NAMES)}")
    return importlib.import_module(f"verify.specs.{module}").SPECS[name]


def modules_needed(names: "Iterable[str]") -> list[str]:
    """What running the specs ``names`` imports: their modules and what their checks import lazily (each spec
    module's ``PRELOAD``), so that a job server can import them once before any check's time limit starts."""
    found: list[str] = []
    for module in dict.fromkeys(_MODULES[n] for n in names if n in _MODULES):
        found.append(f"verify.specs.{module}")
        found += getattr(importlib.import_module(f"verify.specs.{module}"), "PRELOAD", ())
    return list(dict.fromkeys(found))


def all_specs() -> list[Spec]:
    return [get_spec(n) for n in SPEC_NAMES]
