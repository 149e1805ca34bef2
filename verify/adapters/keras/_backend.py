"""Which Keras backend runs a Keras target, and Keras configured for float64 before anything is computed.

Keras 3 reads its backend once, when ``keras`` is first imported (``KERAS_BACKEND``; its own default is
tensorflow), and a process can hold only one backend. The verifier drives Keras on **jax** by default
and on **torch** when asked, or when jax is not installed. The choice, in order:

1. ``VERIFY_KERAS_BACKEND`` (``jax`` or ``torch``): the user's option, wins over ``KERAS_BACKEND``;
2. ``KERAS_BACKEND`` if it is ``jax`` or ``torch``;
3. ``jax`` if jax is installed, else ``torch``.

:func:`prepare_environment` puts the choice into ``KERAS_BACKEND`` (and ``JAX_ENABLE_X64=1``) *before*
``keras`` is imported, imports nothing itself, and is called before any target is loaded
(:func:`verify.targets.load_target`), so a user's module that imports keras at its top gets the backend
too. :func:`require_keras` imports keras, turns on jax's 64-bit mode, sets ``floatx`` to float64 (the
optimizers keep their learning rate in a ``floatx`` variable: in float32 η = 0.1 becomes
0.10000000149011612) and refuses, in one line, a keras that is missing or was imported with another
backend.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any

from verify.errors import MissingDependencyError, TargetLoadError

__all__ = ["OPTION", "BACKENDS", "chosen_backend", "prepare_environment", "require_keras", "backend_name",
           "is_keras_object"]

#: The environment variable naming the backend the verifier drives Keras on.
OPTION = "VERIFY_KERAS_BACKEND"
#: The backends the verifier drives Keras on (tensorflow, numpy and openvino are not supported).
BACKENDS = ("jax", "torch")
_INSTALL = "install dlverify[keras]"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def chosen_backend() -> tuple[str, bool]:
    """``(backend, asked)``: the backend to import keras with and whether the user asked for it (by
    ``VERIFY_KERAS_BACKEND`` or ``KERAS_BACKEND``) rather than it being the default."""
    option = os.environ.get(OPTION, "").strip().lower()
    if option:
        if option not in BACKENDS:
            raise TargetLoadError(f"{OPTION}={option!r} is not a backend the verifier drives Keras on "
                                  f"(one of {', '.join(BACKENDS)})")
        return option, True
    keras_env = os.environ.get("KERAS_BACKEND", "").strip().lower()
    if keras_env in BACKENDS:
        return keras_env, True
    return ("jax" if _installed("jax") or not _installed("torch") else "torch"), False


def prepare_environment() -> None:
    """Set ``KERAS_BACKEND`` (and ``JAX_ENABLE_X64``) for the chosen backend if keras is not imported yet;
    imports nothing. An invalid ``VERIFY_KERAS_BACKEND`` is left for :func:`require_keras` to report."""
    if "keras" in sys.modules:
        return
    try:
        backend, _ = chosen_backend()
    except TargetLoadError:
        return
    os.environ["KERAS_BACKEND"] = backend
    if backend == "jax":
        os.environ.setdefault("JAX_ENABLE_X64", "1")


def backend_name() -> str | None:
    """The backend keras was imported with, or ``None`` if keras is not imported."""
    keras = sys.modules.get("keras")
    if keras is None:
        return None
    try:
        return str(keras.backend.backend())
    except Exception:  # noqa: BLE001 - a partly imported keras
        return None


def require_keras() -> Any:
    """The ``keras`` module on a supported backend, in float64, or a one-line :class:`TargetLoadError`."""
    backend, asked = chosen_backend()
    already = backend_name()
    if already is not None:
        if already not in BACKENDS:
            raise TargetLoadError(f"keras was imported with the {already} backend; the verifier drives Keras on "
                                  f"{' or '.join(BACKENDS)}: set {OPTION} or KERAS_BACKEND before keras is imported")
        if asked and already != backend:
            raise TargetLoadError(f"keras was already imported with the {already} backend, not {backend} "
                                  f"({OPTION}/KERAS_BACKEND); one process holds one Keras backend")
        backend = already
    else:
        if not _installed("keras"):
            raise MissingDependencyError(f"this target needs keras, which is not installed: {_INSTALL}")
        if not _installed(backend):
            extra = "keras" if backend == "jax" else "torch"
            raise MissingDependencyError(f"Keras's {backend} backend needs {backend}, which is not installed: "
                                         f"install dlverify[{extra}]")
        prepare_environment()
    if backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
    try:
        import keras
    except ImportError as exc:
        raise MissingDependencyError(f"importing keras failed ({exc}): {_INSTALL}") from None
    keras.config.set_floatx("float64")
    return keras


def is_keras_object(obj: Any) -> bool:
    """Whether ``obj`` (a class, an instance, or a function) is Keras's or derives from a Keras class; looks
    at module names only, never imports keras."""
    cls = obj if isinstance(obj, type) else type(obj)
    for c in getattr(cls, "__mro__", (cls,)):
        module = getattr(c, "__module__", "") or ""
        if module == "keras" or module.startswith("keras."):
            return True
    module = getattr(obj, "__module__", "") or ""
    return module == "keras" or module.startswith("keras.")
