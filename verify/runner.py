"""Run plans: the one entry point (:func:`run`), and a spec's checks on a target in this process.

:func:`run` takes :class:`~verify.plan.RunPlan` records from a front end (the
command line, the pytest plugin, :mod:`verify.api`) and runs them in worker
processes (:mod:`verify.isolation`) or, with ``isolate=False``, here. The
in-process part loads and adapts the target, builds one :class:`CheckContext`
per check and turns what each check returns (or raises) into a
:class:`CheckResult`; a worker process (:mod:`verify.worker`) runs the same
code on the plan it was sent.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import platform
import signal
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from verify.adapters import adapt
from verify.adapters.base import Subject, probing
from verify.errors import (BadParameterError, HeldParameterError, ProtocolError, TargetError, TargetLoadError,
                           UsageError, target_traceback)
from verify.plan import Interrupted, RunOptions, RunPlan, select_checks
from verify.results import CheckResult, Report, RunResult, Status
from verify.specs import get_spec
from verify.specs.base import Check, CheckContext, Family, Held, Outcome, Param, Spec, held_summary
from verify.targets import REFERENCE, load_target, target_library
from verify.text import clip

if TYPE_CHECKING:  # pragma: no cover
    from verify.remote import TargetProcess

__all__ = [
    "run",
    "RunOptions",
    "RunPlan",
    "Prepared",
    "prepare",
    "load_subject",
    "loads",
    "hold",
    "held_record",
    "select_checks",
    "execute_check",
    "run_inline",
    "clip_text",
    "versions",
]

MAX_TEXT = 4000  # longest message kept from target-controlled text


@dataclasses.dataclass
class Prepared:
    """A target loaded and adapted for a spec."""

    spec: Spec
    params: dict[str, Any]
    overrides: dict[str, Any]
    subject: Subject
    reference: Subject
    target_name: str
    held: dict[str, Held] = dataclasses.field(default_factory=dict)
    versions: dict[str, str] = dataclasses.field(default_factory=dict)

    def plan(self, options: RunOptions) -> RunPlan:
        """The plan of a run of these checks with ``options`` (its reproduction commands)."""
        return RunPlan(self.target_name, self.spec.name, self.overrides, options)

    @property
    def varied(self) -> list[str]:
        """The hyperparameters checks may give other values (the spec's, minus the held ones)."""
        return [p.name for p in self.spec.params if p.to_target and p.name not in self.held]

    def hyperparameter_lines(self) -> list[str]:
        """What the report says about the run's hyperparameters: what is varied, what is held and why."""
        lines = []
        if self.varied:
            lines.append(f"varied over their valid range: {', '.join(self.varied)}")
        return lines + held_summary(self.held)


def clip_text(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` sanitised and cut to ``limit`` characters, saying how much was cut."""
    return clip(text, limit)


#: Libraries whose version a report gives (a subject's ``library`` names one of them, or none).
_LIBRARIES = ("torch", "jax", "optax", "flax", "keras")


def versions(subject: Subject | None = None) -> dict[str, str]:
    """Versions of the tool, Python, numpy and the target's library (one of the known ones: a name is never
    imported because a target said so)."""
    import numpy

    import verify

    out = {"dlverify": verify.__version__, "python": platform.python_version(), "numpy": numpy.__version__}
    lib = getattr(subject, "library", None)
    if lib in _LIBRARIES:
        import importlib

        try:
            out[lib] = getattr(importlib.import_module(lib), "__version__", "unknown")
        except ImportError:
            pass
    return out


def load_subject(target: str | Any, spec: Spec, name: str, params: dict[str, Any],
                 overrides: Mapping[str, Any], imported: tuple[Any, ...] = ()) -> tuple[Subject, dict[str, str]]:
    """Load ``target`` (a TARGET string or the object) and adapt it to ``spec``'s subject; with the versions of
    what it runs on. The target's code is imported here (in-process runs) or in a worker's target process, whose
    ``import`` request imports it first and passes ``imported`` = ``(obj,)`` (:mod:`verify.remote`)."""
    if imported:
        (obj,) = imported
    elif isinstance(target, str):
        obj = spec.reference(params) if target == REFERENCE else load_target(target)
    else:
        obj = target
    with probing():
        subject = adapt(obj, spec, name, params, given=frozenset(overrides))
    if subject.library is None:
        lib = target_library(obj)
        if lib in _LIBRARIES:
            subject.library = lib
    return subject, versions(subject)


def prepare(plan: RunPlan, target_process: "TargetProcess | None" = None) -> Prepared:
    """Resolve the plan's spec and parameters, load the target and adapt it (raises ``UsageError``).

    With ``target_process`` the target is loaded there, and the subject is its proxy
    (:class:`verify.remote.Remote`): nothing of the target runs in this process.
    """
    spec = get_spec(plan.spec)
    overrides = dict(plan.overrides)
    params = spec.resolve_params(overrides)
    name = plan.name
    reference = adapt(spec.reference(params), spec, REFERENCE, params)
    if target_process is None:
        subject, found_versions = load_subject(plan.target, spec, name, params, overrides)
    else:
        subject, found_versions = target_process.load(plan.target, spec.name, name, overrides,
                                                      [c for c in type(reference).__mro__ if issubclass(c, Subject)])
    held = hold(spec, params, overrides, subject)
    subject.held = held
    try:
        subject.check_fit(params)
    except ProtocolError as exc:
        raise TargetLoadError(f"target {name!r} does not fit the {spec.family} protocol of spec {spec.name!r}: "
                              f"{exc}") from None
    except TargetError as exc:
        raise TargetLoadError(f"target {name!r} could not be tried on the {spec.family} protocol of spec "
                              f"{spec.name!r}: {exc}") from None
    if spec.family == Family.OPTIMIZER and plan.target != REFERENCE:
        subject.probe_hparams = spec.target_params(params)
    return Prepared(spec, params, overrides, subject, reference, name, held, found_versions)


def loads(plan: RunPlan) -> None:
    """Raise the :class:`UsageError` that would keep ``plan`` from running (unknown spec or hyperparameter, a
    target that cannot be loaded or does not fit), loading the target in a target process of its own that
    ends at once: a front end checks its plans before a run without importing any target."""
    if not hasattr(os, "fork"):
        prepare(plan)
        return
    from verify import remote
    from verify.report import load_writers

    load_writers()      # the target's code runs from here on (see run())

    options = plan.options
    target_process = remote.start(load_subject)
    importing = True
    try:
        # Both limits are kept by this process (it kills the target process), whatever the target blocks.
        with target_process.watchdog(options.load_timeout or None):
            target_process.import_target(plan.target, plan.name)
        importing = False
        with target_process.watchdog(options.timeout or None):
            prepare(plan, target_process)
    except remote.TargetDied as exc:
        if target_process.stopped_after is None:
            raise TargetLoadError(f"loading target {plan.name!r} failed: {exc.message}") from None
        if importing:
            raise TargetLoadError(f"loading target {plan.name!r} did not finish within "
                                  f"{options.load_timeout:g} s") from None
        # Adapting it hung: not a usage error; the run's checks report it, each under its time limit.
    finally:
        target_process.close()


def hold(spec: Spec, params: dict[str, Any], overrides: Mapping[str, Any], subject: Subject) -> dict[str, Held]:
    """The hyperparameters a run holds fixed, each with its value and why; updates ``params`` to those values.

    Held: every hyperparameter given explicitly (``--param``, the API's
    keywords, ``--verify-param``), whatever its value; every one the target
    does not take (its constructor has no such keyword, it is an object built
    beforehand), at the value given, else the value read from the object, else
    the spec's default. Checks never give a held hyperparameter another value:
    those that need one are skipped with the reason.
    """
    held: dict[str, Held] = {}
    who = subject.name or "the target"
    for p in spec.params:
        if not p.to_target:
            continue
        n = p.name
        if n in overrides:
            held[n] = Held(params[n], "given")
        elif n in subject.found:
            held[n] = _read(p, subject.found[n], who)
            params[n] = held[n].value
        elif subject.built:
            held[n] = Held(params[n], "built", who)
        elif subject.takes is not None and n not in subject.takes:
            held[n] = Held(params[n], "not-taken", who)
    for k in overrides:
        if k not in held and spec.accepts_extra_params:
            held[k] = Held(params[k], "given")
    return held


def _read(param: Param, found: Held, who: str) -> Held:
    """A value the adapter read from the target, validated here: the target process reports what it read, and a
    value no --param could give (lr = NaN, momentum = 1) would have the checks judge against nonsense."""
    try:
        return dataclasses.replace(found, value=param.parse(found.value))
    except BadParameterError as exc:
        raise TargetLoadError(f"{who}'s {param.name} was read as {clip(repr(found.value), 60)}, which the spec "
                              f"does not take: {exc}") from None


def held_record(held: Mapping[str, Held]) -> dict[str, dict[str, Any]]:
    """The held hyperparameters as the result model stores them: ``{name: {"value", "source", "why"}}``."""
    return {k: {"value": h.value, "source": h.source, "why": h.why} for k, h in held.items()}


def _outcome_to_result(check: Check, outcome: Outcome) -> CheckResult:
    # The target's text in the message and notes is bounded; the evidence is the check's, unchanged.
    clipped = dataclasses.replace(outcome, message=clip_text(outcome.message),
                                  notes=[clip_text(n) for n in outcome.notes])
    return CheckResult(check.name, check.kind, clipped)


def execute_check(prep: Prepared, check: Check, options: RunOptions) -> CheckResult:
    """Run one check; any exception becomes a status, never propagates (Ctrl-C aside)."""
    missing = [r for r in check.requires if r not in prep.subject.roles]
    started = time.perf_counter()
    if missing:
        result = CheckResult(check.name, check.kind, Status.SKIP,
                             f"the target provides no {', '.join(missing)} (optional in the protocol)")
    else:
        ctx = CheckContext(spec=prep.spec, check=check, params=dict(prep.params), subject=prep.subject,
                           reference=prep.reference, seed=options.seed, target_name=prep.target_name,
                           max_examples=options.max_examples, family_alpha=options.family_alpha, held=prep.held,
                           gradcheck_mode=options.gradcheck_mode)
        try:
            outcome = check.func(ctx)
            if not isinstance(outcome, Outcome):
                raise TypeError(f"check returned {type(outcome).__name__}, not an Outcome")
            result = _outcome_to_result(check, outcome)
        except TargetError as exc:
            result = CheckResult(check.name, check.kind, Status.ERROR, clip_text(f"the target's {exc}"),
                                 notes=[clip_text(target_traceback(exc.exc))])
        except ProtocolError as exc:
            result = CheckResult(check.name, check.kind, Status.FAIL, clip_text(f"protocol violation: {exc}"))
        except HeldParameterError as exc:
            result = CheckResult(check.name, check.kind, Status.SKIP, clip_text(str(exc)))
        except (BadParameterError, TargetLoadError) as exc:
            result = CheckResult(check.name, check.kind, Status.ERROR, clip_text(str(exc)))
        except RecursionError as exc:
            result = CheckResult(check.name, check.kind, Status.ERROR, clip_text(f"recursion limit hit while checking: {exc}"))
        except Exception as exc:  # noqa: BLE001 - a check must never bring the run down
            result = CheckResult(
                check.name, check.kind, Status.ERROR,
                clip_text(f"internal error in check {check.name!r}: {type(exc).__name__}: {exc}"),
                notes=[clip_text(traceback.format_exc(limit=8))],
            )
    result.duration = time.perf_counter() - started
    if options.memory_limit and result.status is Status.ERROR and " raised MemoryError" in result.message:
        result.message = (f"out of memory: the target needed more than the --memory-limit of "
                          f"{options.memory_limit / 2 ** 20:g} MiB\n{result.message}")
    if result.status in (Status.FAIL, Status.ERROR, Status.TIMEOUT):
        result.reproduction = prep.plan(options).command(check.name)
    return result


def _with_time_limit(fn: Callable[[], CheckResult], limit: float | None, check: Check) -> CheckResult:
    """Run ``fn`` in a daemon thread; after ``limit`` seconds give up on it.

    Used when there is no worker process to kill: a hung target keeps its
    thread, but the run goes on and reports ``timeout``.
    """
    if not limit:
        return fn()
    box: list[CheckResult] = []
    thread = threading.Thread(target=lambda: box.append(fn()), daemon=True, name=f"verify-{check.name}")
    thread.start()
    thread.join(limit)
    if box:
        return box[0]
    return CheckResult(check.name, check.kind, Status.TIMEOUT,
                       f"the check did not finish within {limit:g} s (the target may loop forever)",
                       duration=limit)


def run_inline(plan: RunPlan, on_result: Callable[[CheckResult], None] | None = None) -> RunResult:
    """Run the plan's checks in this process: no protection from a crash, and the target's code runs beside
    the checks, so it is trusted (it could change what they conclude)."""
    started = time.perf_counter()
    options = plan.options
    prep = prepare(plan)
    named = prep.plan(options)
    run = RunResult(target=prep.target_name, spec=prep.spec.name, seed=options.seed, params=prep.params,
                    adapter=prep.subject.description, mapping=list(prep.subject.mapping),
                    hyperparameters=prep.hyperparameter_lines(), held=held_record(prep.held),
                    versions=prep.versions, command=named.command())
    for check in select_checks(prep.spec, options.checks):
        result = _with_time_limit(lambda: execute_check(prep, check, options), options.timeout, check)
        if result.status is Status.TIMEOUT:
            result.reproduction = named.command(check.name)
        run.checks.append(result)
        if on_result:
            on_result(result)
    run.duration = time.perf_counter() - started
    return run


def _raise(plan: RunPlan, exc: UsageError) -> RunResult:
    raise exc


def run(plans: Sequence[RunPlan], *, on_event: Callable[[str, Any], None] | None = None,
        on_load_error: Callable[[RunPlan, UsageError], RunResult] = _raise) -> Report:
    """Run every plan and return the report: in worker processes when the plans' options say ``isolate``
    (the first plan's options decide, and how many jobs run at once), else in this process.

    ``on_event(kind, payload)`` is called in the plans' order and each run's
    check order: ``("run_start", plan)``, ``("result", CheckResult)``,
    ``("run_done", RunResult)``. A plan whose target cannot be loaded (a
    :class:`UsageError`) is reported as the run ``on_load_error(plan, error)``
    returns; by default the error is raised. Ctrl-C (SIGTERM, SIGHUP) raises
    :class:`~verify.plan.Interrupted` whose ``report`` holds the runs finished
    and those cut short, marked incomplete.
    """
    from verify import __version__

    emit = on_event or (lambda kind, payload: None)
    report = Report(tool_version=__version__,
                    created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    isolate = bool(plans) and plans[0].options.isolate

    def done(plan: RunPlan, outcome: RunResult | UsageError) -> None:
        result = on_load_error(plan, outcome) if isinstance(outcome, UsageError) else outcome
        report.runs.append(result)
        emit("run_done", result)

    try:
        if isolate:
            from verify import isolation
            from verify.report import load_writers

            load_writers()      # this process judges: it imports nothing once targets have run

            for plan in plans:
                if not isinstance(plan.target, str):
                    raise TargetLoadError(f"a worker process loads its target by name; {plan.name!r} is an "
                                          "object: run it in this process (isolate=False)")
            started: list[RunPlan] = []

            def relay(kind: str, payload: Any) -> None:
                if kind == "run_start":
                    started.append(payload)
                    emit(kind, payload)
                elif kind == "run_done":
                    done(started[-1], payload)
                else:
                    emit(kind, payload)

            isolation.run_isolated(plans, on_event=relay)
        else:
            for plan in plans:
                emit("run_start", plan)
                try:
                    outcome: RunResult | UsageError = run_inline(plan, lambda r: emit("result", r))
                except UsageError as exc:
                    outcome = exc
                done(plan, outcome)
    except (Interrupted, KeyboardInterrupt) as exc:
        finished = {id(r) for r in report.runs}
        cut = [r for r in getattr(exc, "runs", []) if id(r) not in finished]
        report.runs.extend(cut)
        report.incomplete = True
        raise Interrupted(cut, getattr(exc, "signum", signal.SIGINT), report) from None
    return report
