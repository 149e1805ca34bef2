"""``python -m verify`` — and the ``verify`` script — is the ``verify`` command."""

import os
import sys


def _forget_working_directory() -> None:
    """``python -m`` puts the working directory first on the import path, where a target of an earlier run may
    have written ``numpy.py`` or ``msvcrt.py``: this process judges targets and imports nothing from there (the
    target process alone looks there, for the user's own modules; ``--no-isolation`` puts it back), unless the
    verifier itself is found only there (a source checkout run from its root)."""
    cwd = os.getcwd()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if here != cwd:
        sys.path[:] = [p for p in sys.path if p not in ("", ".", cwd)]


def entry() -> None:
    """The command, with Ctrl-C during start-up ending it quietly (exit 130) instead of a traceback."""
    _forget_working_directory()
    try:
        from verify.cli import main

        code = main()
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    entry()
