"""What one run is: a target, a spec, its hyperparameters and the options (:class:`RunPlan`).

A run's identity is built once, by the front end (``verify check``, the
pytest plugin, :mod:`verify.api`), and everything that needs it derives from
the plan instead of being handed the pieces: the command that reproduces the
run or one of its checks (:meth:`RunPlan.command`, shown in reports, the
terminal and pytest's failure text) and the job a worker process runs
(:meth:`RunPlan.job` / :meth:`RunPlan.from_job`, JSON). Every field of
:class:`RunOptions` travels in the job, so an option added here reaches the
worker without further edits.

:func:`verify.runner.run` runs plans, in worker processes or in this one.
This module imports nothing heavy (the pytest plugin's hooks use it).
"""

from __future__ import annotations

import dataclasses
import shlex
import signal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from verify.options import DEFAULT_ALPHA, DEFAULT_GRADCHECK_MODE, DEFAULT_MAX_EXAMPLES, DEFAULT_SEED, DEFAULT_TIMEOUT

if TYPE_CHECKING:  # pragma: no cover
    from verify.results import Report, RunResult
    from verify.specs.base import Check, Spec

__all__ = ["RunOptions", "RunPlan", "select_checks", "Interrupted"]


class Interrupted(Exception):
    """Ctrl-C (or SIGTERM, SIGHUP: ``signum``) during a run.

    ``runs`` holds the runs cut short (``run`` the first), marked incomplete;
    ``report``, when :func:`verify.runner.run` raised it, every run finished
    or cut short, marked incomplete.
    """

    def __init__(self, runs: "list[RunResult]", signum: int = signal.SIGINT, report: "Report | None" = None):
        super().__init__("interrupted")
        self.runs = runs
        self.run = runs[0] if runs else None
        self.signum = signum
        self.report = report


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How to run: seed, search effort, false-alarm budget, time limits, which checks, how many at once.

    The defaults are the command line's (:mod:`verify.options`).
    """

    seed: int = DEFAULT_SEED
    max_examples: int = DEFAULT_MAX_EXAMPLES
    family_alpha: float = DEFAULT_ALPHA
    timeout: float | None = DEFAULT_TIMEOUT
    load_timeout: float = 120.0
    checks: tuple[str, ...] | None = None
    isolate: bool = True
    verbose: bool = False
    jobs: int | None = None       # job processes at once (isolated runs); None: one per core
    memory_limit: int | None = None   # bytes the target may allocate per job process (isolated runs)
    gradcheck_mode: str = DEFAULT_GRADCHECK_MODE   # verify.gradcheck's mode for the gradient checks

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready (``checks`` a list)."""
        out = dataclasses.asdict(self)
        out["checks"] = list(self.checks) if self.checks is not None else None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RunOptions":
        """The inverse of :meth:`to_dict`; an unknown field is an error, not silently dropped."""
        data = dict(data)
        if data.get("checks") is not None:
            data["checks"] = tuple(data["checks"]) or None
        return cls(**data)


def select_checks(spec: "Spec", names: Sequence[str] | None) -> "list[Check]":
    """The checks of ``spec`` called ``names`` (all of them when ``names`` is empty)."""
    if not names:
        return list(spec.checks)
    return [spec.check(n) for n in names]


def _object_name(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or type(obj).__name__


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """One run: ``spec``'s checks on ``target`` with ``overrides`` (the hyperparameters given) and ``options``.

    ``target`` is a TARGET string (``path/to/file.py:name``, ``module:name``,
    a dotted name, ``reference``) or, for runs in this process only, the
    object itself, shown as ``target_name`` (default: its qualified name).
    """

    target: Any
    spec: str
    overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    options: RunOptions = RunOptions()
    target_name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides or {})))

    @property
    def seed(self) -> int:
        return self.options.seed

    @property
    def name(self) -> str:
        """How the target is named in reports and reproduction commands."""
        if isinstance(self.target, str):
            return self.target
        return self.target_name or _object_name(self.target)

    def replace(self, **changes: Any) -> "RunPlan":
        return dataclasses.replace(self, **changes)

    def command(self, check: str | None = None) -> str:
        """The command that reruns exactly this run (or its check ``check``), non-default options included."""
        o = self.options
        parts = ["verify", "check", self.name, "--spec", self.spec]
        for k, v in self.overrides.items():
            parts += ["--param", f"{k}={v}"]
        parts += ["--seed", str(o.seed)]
        if o.max_examples != DEFAULT_MAX_EXAMPLES:
            parts += ["--max-examples", str(o.max_examples)]
        if o.family_alpha != DEFAULT_ALPHA:
            parts += ["--alpha", repr(o.family_alpha)]
        if o.timeout is not None and o.timeout != DEFAULT_TIMEOUT:
            parts += ["--timeout", f"{o.timeout:g}"]
        if o.memory_limit:
            parts += ["--memory-limit", f"{o.memory_limit / 2 ** 20:g}M"]
        if o.gradcheck_mode != DEFAULT_GRADCHECK_MODE:
            parts += ["--gradcheck-mode", o.gradcheck_mode]
        if check:
            parts += ["--check", check]
        return " ".join(shlex.quote(p) for p in parts)

    def job(self, checks: Sequence[str] | None = None) -> dict[str, Any]:
        """What a worker process runs (JSON-ready): this plan, limited to ``checks`` when given."""
        if not isinstance(self.target, str):
            raise TypeError(f"a worker process loads its target by name; {self.name!r} is an object")
        options = self.options if checks is None else dataclasses.replace(self.options, checks=tuple(checks))
        return {"target": self.target, "spec": self.spec, "params": dict(self.overrides),
                "options": options.to_dict()}

    @classmethod
    def from_job(cls, job: Mapping[str, Any]) -> "RunPlan":
        """The plan a worker process was sent (the inverse of :meth:`job`)."""
        return cls(job["target"], job["spec"], job["params"], RunOptions.from_dict(job["options"]))
