"""Counterexample search with hypothesis, for checks run outside pytest.

:func:`falsify` draws examples from a strategy, calls ``test(example)``, and
when a test fails lets hypothesis shrink the example to a minimal one. The
search is deterministic for a given seed (no example database, fixed seed),
so a reproduction command with ``--seed`` finds the same counterexample.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from typing import Any, Callable, Iterator

from verify.errors import ProtocolError, TargetError

__all__ = ["Falsified", "falsify"]


@dataclasses.dataclass
class Falsified:
    """The minimal failing example and why it fails."""

    example: Any
    message: str
    error: Exception | None = None       # the target's exception, if it raised
    flaky: bool = False                  # the failure did not reproduce on replay
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


class _Found(Exception):
    pass


_constants_lock = threading.Lock()
_constants_depth = 0


@contextlib.contextmanager
def _without_local_constants() -> Iterator[None]:
    """Stop hypothesis from mixing constants of whatever modules happen to be loaded into its draws.

    Hypothesis seeds some draws with literals found in the process's local modules,
    so the same seed would draw differently depending on what was imported before
    (a test suite, a notebook). Verdicts must depend on the seed alone.
    """
    global _constants_depth
    try:
        from hypothesis.internal.conjecture import providers
        original = providers._get_local_constants
        empty = providers.Constants
    except (ImportError, AttributeError):  # internals moved: nothing to neutralise
        yield
        return
    with _constants_lock:
        if _constants_depth == 0:
            providers._get_local_constants = lambda: empty()
        _constants_depth += 1
    try:
        yield
    finally:
        with _constants_lock:
            _constants_depth -= 1
            if _constants_depth == 0:
                providers._get_local_constants = original


def falsify(strategy: Any, test: Callable[[Any], str | tuple[str, dict] | None], *, seed: int,
            max_examples: int = 60) -> Falsified | None:
    """Search for an example where ``test`` reports a failure.

    Args:
      strategy: a hypothesis strategy drawing one example.
      test: returns ``None`` when the example passes, or a failure message
        (optionally with a dict of extra data). A :class:`TargetError` or
        :class:`ProtocolError` raised inside counts as a failure.
      seed: makes the search deterministic.
      max_examples: how many examples to try before declaring success.

    Returns:
      ``None`` if no failure was found, else the shrunk :class:`Falsified`.
    """
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hyp_seed
    from hypothesis.errors import Flaky

    failures: list[Falsified] = []

    @settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        derandomize=False,
        print_blob=False,
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
    )
    @hyp_seed(seed)
    @given(strategy)
    def run(example):
        try:
            outcome = test(example)
        except (TargetError, ProtocolError) as exc:
            failures.append(Falsified(example, str(exc), exc))
            raise _Found() from None
        if outcome:
            message, extra = outcome if isinstance(outcome, tuple) else (outcome, {})
            failures.append(Falsified(example, message, extra=extra))
            raise _Found()

    try:
        with _without_local_constants():
            run()
    except _Found:
        return failures[-1]
    except Flaky:
        found = failures[-1] if failures else Falsified(None, "the failure did not reproduce")
        found.flaky = True
        return found
    except BaseException as exc:
        # Hypothesis may wrap the failure in an ExceptionGroup-like error.
        if failures and not isinstance(exc, KeyboardInterrupt):
            found = failures[-1]
            found.flaky = "Flaky" in type(exc).__name__
            return found
        raise
    return None
