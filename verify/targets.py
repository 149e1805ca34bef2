"""Resolve a TARGET string to a Python object.

Accepted forms:

* ``reference`` — the bundled reference implementation of the spec;
* ``path/to/file.py:attr`` — an attribute of a Python file (``attr`` may be dotted);
* ``path/to/file.py`` — the file itself, as a module (e.g. a regulariser module);
* ``package.module:attr`` — an attribute of an importable module;
* ``package.module.attr`` — a dotted name (``torch.optim.Adam``): the longest
  importable module prefix, then attributes.

Every failure raises :class:`~verify.errors.TargetLoadError` with one line
naming the target and the problem; a missing optional library raises
:class:`~verify.errors.MissingDependencyError` with the extra to install.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import zlib
from typing import Any

from verify.adapters.keras._backend import prepare_environment as prepare_keras_environment
from verify.errors import MissingDependencyError, TargetLoadError

__all__ = ["REFERENCE", "load_target", "target_library"]

REFERENCE = "reference"

# Optional libraries and the extra that installs them.
_EXTRAS = {"torch": "torch", "jax": "optax", "jaxlib": "optax", "optax": "optax", "flax": "optax", "keras": "keras"}


def load_target(target: str) -> Any:
    """The object named by ``target`` (see the module docstring for the forms)."""
    if not isinstance(target, str) or not target.strip():
        raise TargetLoadError(f"target must be a non-empty string, got {target!r}")
    target = target.strip()
    # Keras reads its backend when first imported, by the target or by a module the target imports.
    prepare_keras_environment()
    if target == REFERENCE:
        raise TargetLoadError("'reference' is resolved by the spec, not loaded")
    if target.endswith(".py") and ":" not in target:
        return _from_file(target, target, "")
    path, sep, attr = target.rpartition(":")
    if sep and (path.endswith(".py") or os.sep in path or "/" in path):
        return _from_file(target, path, attr)
    if sep:
        if not attr:
            raise TargetLoadError(f"target {target!r} names no attribute after ':'")
        return _get_attr(_import(target, path), attr, target)
    return _from_dotted(target)


def target_library(obj: Any) -> str | None:
    """Top-level package the object comes from (``torch`` for ``torch.optim.Adam``), if any."""
    module = getattr(obj, "__module__", None) or getattr(type(obj), "__module__", "")
    top = (module or "").split(".")[0]
    return top or None


def _missing(target: str, exc: ModuleNotFoundError) -> TargetLoadError:
    root = (exc.name or "").split(".")[0]
    if root in _EXTRAS:
        return MissingDependencyError(
            f"target {target!r} needs {root}, which is not installed: install dlverify[{_EXTRAS[root]}]"
        )
    from verify.adapters.keras.initialisers import IDENTIFIERS as KERAS_INITIALIZERS

    if target in KERAS_INITIALIZERS:        # Keras's name of an initializer, given bare on the command line
        return TargetLoadError(f"cannot import target {target!r}: it is Keras's name of an initializer; give "
                               f"keras.initializers.{target} (or a module attribute holding the string)")
    return TargetLoadError(f"cannot import target {target!r}: no module named {exc.name!r}")


def _import(target: str, module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise _missing(target, exc) from None
    except SyntaxError as exc:
        raise TargetLoadError(f"syntax error in {exc.filename} line {exc.lineno} while importing target {target!r}: {exc.msg}") from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a module that fails at import
        raise TargetLoadError(f"importing module {module!r} for target {target!r} raised {type(exc).__name__}: {exc}") from None


def _get_attr(obj: Any, dotted: str, target: str, owner_name: str | None = None) -> Any:
    for part in dotted.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            owner = owner_name or getattr(obj, "__name__", type(obj).__name__)
            raise TargetLoadError(f"{owner!r} has no attribute {part!r} (target {target!r})") from None
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a property that raises
            raise TargetLoadError(f"getting {part!r} for target {target!r} raised {type(exc).__name__}: {exc}") from None
    return obj


def _from_file(target: str, path: str, attr: str) -> Any:
    if not attr and target != path:
        raise TargetLoadError(f"target {target!r} names no attribute after ':' (expected path/to/file.py:name)")
    if not os.path.isfile(path):
        raise TargetLoadError(f"no such file {path!r} (target {target!r})")
    full = os.path.abspath(path)
    # A stable, unique module name per file, so two files called my_opt.py do not collide.
    name = f"_verify_target_{os.path.splitext(os.path.basename(full))[0]}_{zlib.crc32(full.encode()):08x}"
    if name in sys.modules:
        return _get_attr(sys.modules[name], attr, target, path) if attr else sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, full)
    if spec is None or spec.loader is None:
        raise TargetLoadError(f"cannot load {path!r} as a Python file (target {target!r})")
    module = importlib.util.module_from_spec(spec)
    directory = os.path.dirname(full)
    sys.path.insert(0, directory)   # so the file can import its siblings
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ModuleNotFoundError as exc:
        sys.modules.pop(name, None)
        raise _missing(target, exc) from None
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise TargetLoadError(f"syntax error in {path} line {exc.lineno}: {exc.msg} (target {target!r})") from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the file fails when run
        sys.modules.pop(name, None)
        raise TargetLoadError(f"running {path} raised {type(exc).__name__}: {exc} (target {target!r})") from None
    finally:
        if sys.path and sys.path[0] == directory:
            sys.path.pop(0)
    return _get_attr(module, attr, target, path) if attr else module


def _from_dotted(target: str) -> Any:
    parts = target.split(".")
    if not all(p.isidentifier() for p in parts):
        raise TargetLoadError(
            f"target {target!r} is not a dotted name, module:attr, path/to/file.py:attr, or 'reference'"
        )
    last_error: ModuleNotFoundError | None = None
    for i in range(len(parts), 0, -1):
        module_name = ".".join(parts[:i])
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # Only keep looking at shorter prefixes if *this* module is the one missing.
            if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
                last_error = exc
                continue
            raise _missing(target, exc) from None
        except SyntaxError as exc:
            raise TargetLoadError(f"syntax error in {exc.filename} line {exc.lineno} while importing target {target!r}: {exc.msg}") from None
        except (Exception, SystemExit) as exc:  # noqa: BLE001
            raise TargetLoadError(f"importing module {module_name!r} for target {target!r} raised {type(exc).__name__}: {exc}") from None
        if i == len(parts):
            return module
        return _get_attr(module, ".".join(parts[i:]), target)
    assert last_error is not None
    raise _missing(target, last_error)
