"""Exceptions raised by the verifier.

One root, :class:`VerifyError`, with specific subclasses, so callers can catch
everything the tool raises on purpose without catching their own bugs.

Two families matter to the command line:

* *usage errors* (:class:`UsageError` and its subclasses) mean nothing could be
  checked: an unknown spec, a target that cannot be loaded, a bad ``--param``.
  The command line prints one line and exits with status 2.
* :class:`TargetError` wraps an exception raised *by the code under test*
  while a check runs; the check is reported with status ``error`` and the
  other checks still run.
"""

from __future__ import annotations

import traceback

__all__ = [
    "target_traceback",
    "VerifyError",
    "UsageError",
    "UnknownSpecError",
    "TargetLoadError",
    "MissingDependencyError",
    "BadParameterError",
    "ProtocolError",
    "TargetError",
    "CheckTimeout",
    "HeldParameterError",
]


class VerifyError(Exception):
    """Root of every exception the verifier raises on purpose."""


class UsageError(VerifyError):
    """Nothing could be checked: the message names what was wrong."""


class UnknownSpecError(UsageError):
    """The spec name is not one of the registered specs."""


class TargetLoadError(UsageError):
    """The target could not be imported, found, or used for the spec."""


class MissingDependencyError(TargetLoadError):
    """The target needs an optional dependency that is not installed."""


class BadParameterError(UsageError):
    """A ``--param`` (or keyword hyperparameter) is unknown or out of range."""


class ProtocolError(VerifyError):
    """The target returned something its protocol does not allow.

    Raised while a check runs (wrong shape, ``None`` instead of an array,
    a tuple of the wrong length, ...). Reported as a check failure with this
    message, because returning the wrong thing *is* a defect of the target.
    """


class TargetError(VerifyError):
    """The code under test raised an exception while a check ran."""

    def __init__(self, where: str, exc: BaseException):
        self.where = where
        self.exc = exc
        super().__init__(f"{where} raised {kind_of(exc)}: {exc}")


def kind_of(exc: BaseException) -> str:
    """The name of ``exc``'s type; for an exception from the target process, which arrives as text
    (:class:`verify.wire.RemoteException`), the name of its own type there."""
    return getattr(exc, "remote_type", None) or type(exc).__name__


class CheckTimeout(VerifyError):
    """A check exceeded its time limit."""


class HeldParameterError(VerifyError):
    """A check asked for a hyperparameter value the run holds fixed (declared, or not taken by the target).

    The runner reports the check as ``skip`` with this message: the check cannot
    run at this target's hyperparameters, which is not a defect of the target.
    """


def target_traceback(exc: BaseException) -> str:
    """The frames of ``exc``'s traceback in the target's code (one from the target process: as it sent it)."""
    if hasattr(exc, "remote_type"):
        return str(getattr(exc, "traceback", "")) or "Traceback: none sent by the target process"
    frames = traceback.extract_tb(exc.__traceback__)
    # Keep the frames in the target's code, not the verifier's.
    own = [f for f in frames if "/verify/" not in f.filename.replace("\\", "/")]
    lines = traceback.format_list(own[-6:]) + traceback.format_exception_only(type(exc), exc)
    return "Traceback (target frames):\n" + "".join(lines)
