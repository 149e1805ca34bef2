"""``python -m verify`` — and the ``verify`` script — is the ``verify`` command."""

import sys


def entry() -> None:
    """The command, with Ctrl-C during start-up ending it quietly (exit 130) instead of a traceback."""
    try:
        from verify.cli import main

        code = main()
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    entry()
