"""dlverify: prove an implementation of a training formula right, or show exactly how it is wrong.

The public API, imported lazily so ``import verify`` (and the pytest plugin)
stays light:

* gradient checking: :func:`check_grad`, :func:`check_vjp`, :func:`assert_grad`,
  :func:`assert_vjp`, :class:`GradCheckResult`;
* conformance of a target to a spec: :func:`assert_conforms`, :func:`check_conforms`;
* comparison: :func:`assert_close`, :func:`compare`;
* the result model: :class:`Report`, :class:`RunResult`, :class:`CheckResult`, :class:`Status`;
* exceptions: :class:`VerifyError` and subclasses (:mod:`verify.errors`);
* modules: :mod:`verify.strategies` (hypothesis strategies), :mod:`verify.symbolic`,
  :mod:`verify.stats`, :mod:`verify.specs`.
"""

from __future__ import annotations

# Nothing here that the interpreter has not imported already: `python -m verify` runs this with the working
# directory first on the import path (verify.__main__ removes it after), where a target may have written typing.py.
import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "check_grad": "verify.gradcheck",
    "check_vjp": "verify.gradcheck",
    "assert_grad": "verify.gradcheck",
    "assert_vjp": "verify.gradcheck",
    "check_torch_grad": "verify.gradcheck",
    "GradCheckResult": "verify.gradcheck",
    "EntryError": "verify.gradcheck",
    "assert_conforms": "verify.api",
    "check_conforms": "verify.api",
    "ConformanceError": "verify.api",
    "compare": "verify.compare",
    "assert_close": "verify.compare",
    "Report": "verify.results",
    "RunResult": "verify.results",
    "CheckResult": "verify.results",
    "Status": "verify.results",
    "VerifyError": "verify.errors",
    "UsageError": "verify.errors",
    "TargetLoadError": "verify.errors",
    "TargetError": "verify.errors",
    "ProtocolError": "verify.errors",
}
_MODULES = ("strategies", "symbolic", "stats", "specs", "gradcheck", "errors", "results")

__all__ = ["__version__", *_EXPORTS, *_MODULES]


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _MODULES:
        value = importlib.import_module(f"verify.{name}")
    else:
        raise AttributeError(f"module 'verify' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
