"""The corpus' case record and registry."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FAMILIES = ("batchnorm", "initialisers", "regularisers", "newton", "layernorm")


@dataclasses.dataclass(frozen=True)
class Case:
    """One implementation checked against one spec, and what the verdict must be.

    ``bug`` is ``None`` for a correct implementation (no check may fail or
    error; ``inconclusive`` only where listed) or a short description of the
    planted or documented mistake (every check in ``must_fail`` fails, and
    some diagnosis contains every string of ``diagnosis``).
    """

    name: str
    target: Any                      # the object (run through the API) ...
    spec: str
    source: str                      # where the shape comes from
    params: dict = dataclasses.field(default_factory=dict)
    bug: str | None = None
    must_fail: frozenset = frozenset()
    diagnosis: tuple[str, ...] = ()
    inconclusive: frozenset = frozenset()   # checks allowed (and expected) to be inconclusive
    cli: str | None = None           # ... or a target string, also run through `verify check`

    @property
    def correct(self) -> bool:
        return self.bug is None


def correct(name, target, spec, source, params=None, inconclusive=(), cli=None) -> Case:
    return Case(name, target, spec, source, dict(params or {}), inconclusive=frozenset(inconclusive), cli=cli)


def buggy(name, target, spec, source, bug, must_fail, diagnosis=(), params=None, cli=None) -> Case:
    diagnosis = (diagnosis,) if isinstance(diagnosis, str) else tuple(diagnosis)
    return Case(name, target, spec, source, dict(params or {}), bug, frozenset(must_fail), diagnosis, cli=cli)


def all_cases() -> list[Case]:
    cases = []
    for family in FAMILIES:
        package = importlib.import_module(f"tests.realworld.{family}")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            module = importlib.import_module(f"tests.realworld.{family}.{info.name}")
            cases.extend(getattr(module, "CASES", []))
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases
