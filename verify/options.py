"""Option definitions shared by the command line and the pytest plugin.

Each option is defined once here; :func:`add_cli_options` and
:func:`add_pytest_options` register the same definitions (``--seed`` on the
command line is ``--verify-seed`` under pytest), so the two cannot drift.
This module imports nothing heavy: the pytest plugin loads it at start-up.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

__all__ = ["Option", "SHARED_OPTIONS", "add_cli_options", "add_pytest_options", "parse_params",
           "DEFAULT_SEED", "DEFAULT_TIMEOUT", "DEFAULT_MAX_EXAMPLES", "DEFAULT_ALPHA", "DEFAULT_GRADCHECK_MODE",
           "GRADCHECK_MODES"]

DEFAULT_SEED = 0
DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_EXAMPLES = 60
DEFAULT_ALPHA = 1e-6
DEFAULT_GRADCHECK_MODE = "auto"
#: The gradient checker's modes (verify.gradcheck.MODES, repeated here: this module imports nothing heavy).
GRADCHECK_MODES = ("auto", "full", "directional")


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(f"must be > 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"must be >= 1, got {text}")
    return value


def _seed(text: str) -> int:
    value = int(text)
    if not 0 <= value < 2**63:
        raise ValueError(f"must be in [0, 2**63), got {text}")
    return value


def _alpha(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise ValueError(f"must be in (0, 1), got {text}")
    return value


def memory_size(text: str) -> int:
    """Bytes from ``512M``, ``2G``, ``1.5G`` or a plain number of MiB."""
    units = {"K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30, "T": 2 ** 40}
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = units.get(t[-1:], None)
    value = float(t[:-1] if scale else t) * (scale or 2 ** 20)
    if not 2 ** 20 <= value < 2 ** 62:      # setrlimit takes no more (and no inf)
        raise ValueError(f"must be between 1M and 4E, got {text}")
    return int(value)


def _gradcheck_mode(text: str) -> str:
    if text not in GRADCHECK_MODES:
        raise ValueError(f"must be one of {', '.join(GRADCHECK_MODES)}, got {text}")
    return text


_gradcheck_mode.__name__ = "gradient-checker mode (" + ", ".join(GRADCHECK_MODES) + ")"
memory_size.__name__ = "memory size (512M, 2G)"
_positive_float.__name__ = "positive number"
_positive_int.__name__ = "positive integer"
_seed.__name__ = "seed (a non-negative integer)"
_alpha.__name__ = "probability in (0, 1)"


@dataclasses.dataclass(frozen=True)
class Option:
    """One option: ``--NAME`` on the command line, ``--verify-NAME`` under pytest."""

    name: str
    help: str
    type: Callable[[str], Any] | None = None
    default: Any = None
    metavar: str | None = None
    action: str | None = None

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    def kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"help": self.help, "default": self.default}
        if self.action:
            kw["action"] = self.action
        if self.type is not None:
            kw["type"] = self.type
        if self.metavar:
            kw["metavar"] = self.metavar
        return kw


SHARED_OPTIONS: tuple[Option, ...] = (
    Option("param", "hyperparameter NAME=VALUE for the spec (repeatable); see 'verify list'",
           metavar="NAME=VALUE", action="append", default=None),
    Option("seed", f"seed for every random choice; the same seed gives the same verdicts (default {DEFAULT_SEED})",
           type=_seed, default=DEFAULT_SEED, metavar="N"),
    Option("json", "write the JSON report to PATH", metavar="PATH"),
    Option("html", "write the self-contained HTML report to PATH", metavar="PATH"),
    Option("timeout", f"time limit per check in seconds (default {DEFAULT_TIMEOUT:g})",
           type=_positive_float, default=DEFAULT_TIMEOUT, metavar="SECONDS"),
    Option("max-examples", f"examples hypothesis draws per search (default {DEFAULT_MAX_EXAMPLES})",
           type=_positive_int, default=DEFAULT_MAX_EXAMPLES, metavar="N"),
    Option("alpha", f"family-wise false-alarm rate of the statistical checks in a run (default {DEFAULT_ALPHA:g})",
           type=_alpha, default=DEFAULT_ALPHA, metavar="P"),
    Option("memory-limit", "memory the target may allocate in each worker process, beyond what the verifier "
                           "itself uses (512M, 2G; default: no limit); an allocation past it fails",
           type=memory_size, default=None, metavar="SIZE"),
    Option("gradcheck-mode", "how the gradient checks compare: 'auto' (every entry up to 16 inputs, random "
                             "directions beyond), 'full' (every entry, one derivative per input: names the wrong "
                             "entries however large the input) or 'directional' (default auto)",
           type=_gradcheck_mode, default=DEFAULT_GRADCHECK_MODE, metavar="MODE"),
)


def add_cli_options(parser: Any) -> None:
    """Register the shared options on an ``argparse`` parser."""
    for opt in SHARED_OPTIONS:
        parser.add_argument(f"--{opt.name}", dest=opt.dest, **opt.kwargs())


def add_pytest_options(group: Any) -> None:
    """Register the shared options on a pytest option group, prefixed ``--verify-``."""
    for opt in SHARED_OPTIONS:
        group.addoption(f"--verify-{opt.name}", dest=f"verify_{opt.dest}", **opt.kwargs())


def parse_params(items: list[str] | None) -> dict[str, str]:
    """``["lr=0.1", "b1=0.8"]`` -> ``{"lr": "0.1", "b1": "0.8"}``; raises ``BadParameterError``."""
    from verify.errors import BadParameterError

    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name or not value.strip():
            raise BadParameterError(f"--param {item!r}: expected NAME=VALUE")
        out[name] = value.strip()
    return out
