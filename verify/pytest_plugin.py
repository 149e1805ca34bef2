"""pytest plugin for dlverify (registered through the ``pytest11`` entry point).

::

    pytest --verify TARGET=SPEC [--verify TARGET=SPEC ...] [--verify-param NAME=VALUE ...]
           [--verify-seed N] [--verify-json PATH] [--verify-html PATH]
           [--verify-timeout S] [--verify-max-examples N] [--verify-alpha P]
           [--verify-no-isolation]

collects one test item per check of each SPEC, named
``verify[TARGET-SPEC]::CHECK``, next to the project's own tests. A failing
item shows the command line's report of the check (counterexample, numbers,
diagnosis, reproduction command). The ``verify_conforms`` fixture gives
users' own test functions the same verification (see :mod:`verify.api`).

How items run: the first item of a (TARGET, SPEC) group to run executes the
checks of that group that were collected (after ``-k``/``-m`` selection), in
the spec's order, in one worker process (:func:`verify.runner.run`);
the group's other items read the cached result. Under pytest-xdist the
plugin switches xdist's default distribution (``load``) to ``loadgroup``, so
that a group's items run on one worker; with another ``--dist`` given
explicitly, a group whose items land on several workers is executed on each
of them, with the same checks, order and seed, so the verdicts agree.

Reports: every item's report carries its check's result as JSON
(``report.verify_runs``), which pytest-xdist ships to the controller with
the report; the controller (or the only process, without xdist) merges them
into one :class:`~verify.results.Report` and writes ``--verify-json`` /
``--verify-html`` once, at the end of the session.

This module imports only the standard library, pytest and
:mod:`verify.options` at load time, so a pytest run that does not use
``--verify`` pays nothing for the plugin; the rest of the verifier is
imported inside the hooks when it is needed.
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Any, Iterator

import pytest

from verify.options import add_pytest_options

__all__ = ["VerifyRun", "VerifyCheck", "verify_conforms"]

_PLUGIN_NAME = "verify-session"
_FIXTURE_RUNS = pytest.StashKey[list]()   # per item: run payloads recorded by verify_conforms
_GROUP_SAFE = str.maketrans({"@": "_", "[": "(", "]": ")"})


# --------------------------------------------------------------------------- options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("verify", "dlverify: verify implementations of training formulas")
    group.addoption(
        "--verify", action="append", dest="verify_pairs", default=None, metavar="TARGET=SPEC",
        help="check TARGET against SPEC, one test item per check (repeatable). TARGET as for "
             "'verify check': path/to/file.py:name, module:name, a dotted name or 'reference'; "
             "SPEC a spec name or 'all'. The text after the last '=' is the spec.",
    )
    add_pytest_options(group)
    group.addoption(
        "--verify-no-isolation", action="store_false", dest="verify_isolate", default=True,
        help="run --verify checks inside the pytest process instead of a worker process "
             "(faster; a target that crashes or hangs takes the test run with it)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "verify: a dlverify check collected by --verify TARGET=SPEC")
    config.addinivalue_line(
        "markers", "xdist_group(name): pytest-xdist --dist loadgroup runs tests of one group on one worker")
    plugin = _Session(config)
    config.pluginmanager.register(plugin, _PLUGIN_NAME)
    plugin.setup()


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.pluginmanager.get_plugin(_PLUGIN_NAME)
    if plugin is not None:
        config.pluginmanager.unregister(plugin, _PLUGIN_NAME)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    plugin = config.pluginmanager.get_plugin(_PLUGIN_NAME)
    if plugin is None or not plugin.pairs:
        return None
    from verify import __version__

    o = config.option
    where = "in a worker process per (target, spec)" if o.verify_isolate else "in the pytest process"
    lines = [f"dlverify {__version__}: seed {o.verify_seed}, max examples {o.verify_max_examples}, "
             f"alpha {o.verify_alpha:g}, timeout {o.verify_timeout:g} s per check, {where}"]
    if plugin.overrides:
        lines.append("dlverify params: " + ", ".join(f"{k}={v}" for k, v in plugin.overrides.items()))
    return lines


# --------------------------------------------------------------------------- the fixture


@pytest.fixture
def verify_conforms(request: pytest.FixtureRequest) -> Any:
    """``verify_conforms(target, spec, **hyperparameters)``: :func:`verify.api.assert_conforms` for tests.

    The seed, search effort, α and time limit default to ``--verify-seed``,
    ``--verify-max-examples``, ``--verify-alpha`` and ``--verify-timeout``
    (keywords override them), and every run is added to the session's
    ``--verify-json`` / ``--verify-html`` report. Returns the
    :class:`~verify.results.RunResult`; raises ``AssertionError`` with the
    command line's failure report when the target does not conform.
    """
    from verify.api import ConformanceError, assert_conforms

    opt = request.config.option
    node = request.node
    counter = [0]

    def record(run: Any) -> None:
        counter[0] += 1
        node.stash.setdefault(_FIXTURE_RUNS, []).append(
            {"order": [1, node.nodeid, counter[0]], "run": run.to_dict()})

    def conforms(target: Any, spec: str, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        kwargs.setdefault("seed", opt.verify_seed)
        kwargs.setdefault("max_examples", opt.verify_max_examples)
        kwargs.setdefault("alpha", opt.verify_alpha)
        kwargs.setdefault("timeout", opt.verify_timeout)
        kwargs.setdefault("gradcheck_mode", opt.verify_gradcheck_mode)
        try:
            run = assert_conforms(target, spec, **kwargs)
        except ConformanceError as exc:
            record(exc.run)
            raise
        record(run)
        return run

    return conforms


# --------------------------------------------------------------------------- collection


class _CheckFailed(Exception):
    """Raised by a :class:`VerifyCheck` whose check failed, errored or timed out."""

    def __init__(self, run: Any, result: Any):
        super().__init__(result.message)
        self.run = run
        self.result = result


class VerifyRun(pytest.Collector):
    """The checks of one spec on one target: ``verify[TARGET-SPEC]``.

    Executes the group's collected checks once per process, when its first
    item runs, and hands each item its result.
    """

    def __init__(self, *, target: str, spec_name: str, order: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.target = target
        self.spec_name = spec_name
        self.order = order
        self._run: Any = None
        self._meta: dict[str, Any] | None = None
        self._exc: BaseException | None = None

    def collect(self) -> Iterator[pytest.Item]:
        from verify.specs import get_spec

        # xdist's loadgroup takes the text after the last '@' as the group unless a ']' follows it:
        # the group's name must contain neither.
        group = pytest.mark.xdist_group("verify:" + f"{self.target}={self.spec_name}".translate(_GROUP_SAFE))
        for check in get_spec(self.spec_name).checks:
            item = VerifyCheck.from_parent(self, name=check.name, kind=check.kind, summary=check.summary)
            item.add_marker(pytest.mark.verify)
            item.add_marker(group)
            yield item

    def result_for(self, name: str) -> tuple[Any, Any, dict[str, Any]]:
        """``(run, check_result, run_metadata)`` for check ``name``, running the group if needed."""
        if self._run is None and self._exc is None:
            try:
                self._execute()
            except Exception as exc:  # an internal error: every item of the group reports it
                self._exc = exc
        if self._exc is not None:
            raise self._exc
        for c in self._run.checks:
            if c.name == name:
                return self._run, c, self._meta
        from verify.results import CheckResult, Status

        kind = next((i.kind for i in self.session.items if i.parent is self and i.name == name), "")
        missing = CheckResult(name, kind, Status.ERROR, "the check produced no result (the run stopped early)")
        self._run.checks.append(missing)
        return self._run, missing, self._meta

    def _execute(self) -> None:
        from verify.errors import UsageError
        from verify.plan import Interrupted, RunOptions, RunPlan
        from verify.results import CheckResult, RunResult, Status
        from verify.runner import run as run_plans
        from verify.specs import get_spec

        opt = self.config.option
        plugin = self.config.pluginmanager.get_plugin(_PLUGIN_NAME)
        spec = get_spec(self.spec_name)
        selected = {i.name for i in self.session.items if isinstance(i, VerifyCheck) and i.parent is self}
        names = tuple(c.name for c in spec.checks if c.name in selected) or None
        options = RunOptions(seed=opt.verify_seed, max_examples=opt.verify_max_examples,
                             family_alpha=opt.verify_alpha, timeout=opt.verify_timeout, checks=names,
                             isolate=opt.verify_isolate, jobs=plugin.jobs_per_group(),
                             memory_limit=opt.verify_memory_limit, gradcheck_mode=opt.verify_gradcheck_mode)
        plan = RunPlan(self.target, spec.name, plugin.overrides, options)

        try:
            (run,) = run_plans([plan]).runs
        except Interrupted:
            raise KeyboardInterrupt from None
        except UsageError as exc:
            # Validated on the controller, yet this process cannot load it (e.g. a file
            # missing on a remote xdist host): every check of the group errors with why.
            try:
                params = spec.resolve_params(plan.overrides)
            except UsageError:
                params = dict(plan.overrides)
            run = RunResult(self.target, spec.name, plan.seed, params, command=plan.command())
            for check in spec.checks:
                if names is None or check.name in names:
                    run.checks.append(CheckResult(check.name, check.kind, Status.ERROR,
                                                  f"the checks could not run: {exc}",
                                                  reproduction=plan.command(check.name)))
        meta = run.to_dict()
        meta["checks"] = []
        self._run, self._meta = run, meta


class VerifyCheck(pytest.Item):
    """One check: passes, fails (with the command line's report) or is skipped with the reason."""

    def __init__(self, *, kind: str = "", summary: str = "", **kwargs: Any):
        super().__init__(**kwargs)
        self.kind = kind
        self.summary = summary
        self.verify_payload: dict[str, Any] | None = None

    def runtest(self) -> None:
        from verify.results import Status

        parent = self.parent
        assert isinstance(parent, VerifyRun)
        run, result, meta = parent.result_for(self.name)
        self.verify_payload = {"order": [0, parent.order], "run": {**meta, "checks": [result.to_dict()]}}
        self.user_properties.append(("verify_status", result.status.value))
        if result.reproduction:
            self.user_properties.append(("verify_reproduce", result.reproduction))
        if result.status in (Status.SKIP, Status.INCONCLUSIVE):
            from verify.console import safe

            # An inconclusive check found no problem but proved nothing either: pytest shows it as a
            # skip with the reason, never as a pass.
            prefix = "inconclusive: " if result.status is Status.INCONCLUSIVE else ""
            pytest.skip(prefix + (safe(result.message, 500).strip().split("\n", 1)[0] or "skipped"))
        if result.status.is_problem:
            raise _CheckFailed(run, result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, _CheckFailed):
            return failure_repr(excinfo.value.run, excinfo.value.result)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, self.nodeid


def failure_repr(run: Any, result: Any) -> str:
    """The command line's failure report of one check, without its separator line.

    pytest draws its own separator naming the item, so the text starts with
    the check's headline (which pytest's short summary shows); for ``error``
    and ``timeout`` the headline says which.
    """
    from verify.console import format_failure
    from verify.results import Status

    lines = format_failure(run, result).split("\n")[1:]
    if lines and result.status is not Status.FAIL:
        lines[0] = f"[{result.status.value}] {lines[0]}"
    return "\n".join(lines)


# --------------------------------------------------------------------------- session


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _parse_pair(text: str) -> tuple[str, str]:
    target, sep, spec = text.rpartition("=")
    target, spec = target.strip(), spec.strip()
    if not sep or not target or not spec:
        raise pytest.UsageError(
            f"--verify {text!r}: expected TARGET=SPEC (e.g. --verify my_optim.py:MyAdam=adam)")
    return target, spec


class _Session:
    """Per-config state and hooks: collection, result shipping, report merging and writing."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.is_worker = hasattr(config, "workerinput")
        self.pairs: list[tuple[str, str]] = []
        self.overrides: dict[str, str] = {}
        opt = config.option
        self.json_path = os.path.abspath(opt.verify_json) if opt.verify_json else None
        self.html_path = os.path.abspath(opt.verify_html) if opt.verify_html else None
        self.received: list[dict[str, Any]] = []
        self.created = _now()
        self.report: Any = None
        self.written: list[str] = []
        self.write_error: str | None = None
        self.switched_to_loadgroup = False

    def setup(self) -> None:
        """Parse ``--verify`` and ``--verify-param``; on the controller, load every target once.

        Raises ``pytest.UsageError`` (exit status 4) naming the bad argument.
        """
        if not self.is_worker and (self.json_path or self.html_path):
            from verify.errors import UsageError
            from verify.report.files import check_output_paths

            try:   # a report that cannot be written is found out now, not after the session
                check_output_paths([("--verify-json", self.json_path), ("--verify-html", self.html_path)])
            except UsageError as exc:
                raise pytest.UsageError(str(exc)) from None
        texts = self.config.option.verify_pairs or []
        if not texts:
            return
        if self.is_worker and self.config.workerinput.get("verify_loadgroup"):
            self.config.option.loadgroup = True
        from verify.errors import UsageError
        from verify.options import parse_params
        from verify.specs import SPEC_NAMES

        try:
            self.overrides = parse_params(self.config.option.verify_param)
        except UsageError as exc:
            raise pytest.UsageError(str(exc).replace("--param", "--verify-param")) from None
        pairs: list[tuple[str, str]] = []
        for text in texts:
            target, spec = _parse_pair(text)
            for name in (SPEC_NAMES if spec == "all" else (spec,)):
                if (target, name) not in pairs:
                    pairs.append((target, name))
        if not self.is_worker:
            from verify.plan import RunPlan
            from verify.runner import loads

            for target, spec in pairs:
                try:
                    loads(RunPlan(target, spec, self.overrides))
                except UsageError as exc:
                    msg = str(exc).replace("--param", "--verify-param")
                    raise pytest.UsageError(f"--verify {target}={spec}: {msg}") from None
            self._group_under_xdist()
        self.pairs = pairs

    def jobs_per_group(self) -> int | None:
        """Worker processes per group: all cores without xdist; under xdist, the cores left to each
        worker that can have a group (pytest's workers share the cores already)."""
        workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
        if not workers:
            return None
        from verify.isolation import default_jobs

        return max(1, default_jobs() // max(1, min(workers, len(self.pairs))))

    def _group_under_xdist(self) -> None:
        """Under ``-n`` with xdist's default ``load`` distribution, distribute by ``xdist_group``.

        A (TARGET, SPEC) group executes all its checks at once; spread over
        several workers, each would execute the whole group again. An
        explicit ``--dist`` is the user's choice and is kept.
        """
        explicit = any(a == "--dist" or a.startswith("--dist=") for a in self.config.invocation_params.args)
        if getattr(self.config.option, "dist", "no") == "load" and not explicit:
            self.config.option.dist = "loadgroup"
            self.switched_to_loadgroup = True

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        # Workers parse the command line again, where no --dist was given: tell them to suffix the
        # ids with their group, as xdist does for an explicit --dist loadgroup.
        node.workerinput["verify_loadgroup"] = self.switched_to_loadgroup

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # Without xdist, let the job server import the verifier while pytest collects. Under xdist the
        # server starts with a worker's first group: a worker that gets none must not spend a core on it.
        if self.pairs and self.config.option.verify_isolate and not self.is_worker and not self._distributed():
            from verify.isolation import prestart

            prestart()

    def _distributed(self) -> bool:
        return getattr(self.config.option, "dist", "no") != "no" and bool(getattr(self.config.option, "tx", None))

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        # tryfirst: our items exist before -k/-m selection and xdist's loadgroup renaming see the list.
        for order, (target, spec) in enumerate(self.pairs):
            name = f"verify[{target}-{spec}]"
            group = VerifyRun.from_parent(session, name=name, nodeid=name, target=target, spec_name=spec,
                                          order=order)
            items.extend(session.genitems(group))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        payloads: list[dict[str, Any]] = []
        if isinstance(item, VerifyCheck) and call.when == "call":
            if item.verify_payload is not None:
                payloads.append(item.verify_payload)
            if report.skipped and isinstance(report.longrepr, tuple):
                # Point the skip at the check, not at the line of this plugin that skipped it.
                report.longrepr = (item.nodeid, None, report.longrepr[2])
        recorded = item.stash.get(_FIXTURE_RUNS, None)
        if recorded:
            payloads.extend(recorded)
            recorded.clear()
        if payloads:
            report.verify_runs = json.dumps(payloads, allow_nan=False)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Called on the controller for reports from every xdist worker (and locally without xdist).
        payload = getattr(report, "verify_runs", None)
        if payload and not self.is_worker:
            self.received.extend(json.loads(payload))

    def build_report(self, incomplete: bool = False) -> Any:
        """One :class:`Report` from every result received, in a deterministic order."""
        from verify import __version__
        from verify.errors import UsageError
        from verify.results import CheckResult, Report, RunResult
        from verify.specs import get_spec

        merged: dict[tuple, list[Any]] = {}
        for payload in self.received:
            d = payload["run"]
            key = (d["target"], d["spec"], d["seed"], json.dumps(d["params"], sort_keys=True))
            order = tuple(payload["order"])
            entry = merged.get(key)
            if entry is None:
                entry = merged[key] = [order, RunResult.from_dict({**d, "checks": []}), {}]
            entry[0] = min(entry[0], order)
            run = entry[1]
            run.duration = max(run.duration, d.get("duration", 0.0))
            run.incomplete = run.incomplete or bool(d.get("incomplete"))
            for c in d["checks"]:
                entry[2][c["name"]] = CheckResult.from_dict(c)
        runs = []
        for _, run, checks in sorted(merged.values(), key=lambda e: e[0]):
            try:
                order = [c.name for c in get_spec(run.spec).checks]
            except UsageError:
                order = []
            rank = {n: i for i, n in enumerate(order)}
            run.checks = sorted(checks.values(), key=lambda c: (rank.get(c.name, len(rank)), c.name))
            runs.append(run)
        return Report(runs=runs, tool_version=__version__, created=self.created, incomplete=incomplete)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker:
            return
        if not (self.received or self.json_path or self.html_path):
            return
        self.report = self.build_report(incomplete=exitstatus == pytest.ExitCode.INTERRUPTED)
        from verify.report import files

        try:
            files.write_reports(self.report, self.json_path, self.html_path)
            self.written = [p for p in (self.json_path, self.html_path) if p]
        except Exception as exc:  # noqa: BLE001 - say what went wrong instead of an INTERNALERROR
            self.write_error = f"could not write the dlverify report: {type(exc).__name__}: {exc}"
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        if self.is_worker or self.report is None:
            return
        if self.report.runs:
            from verify.console import summary_table

            terminalreporter.section("dlverify summary")
            lines = summary_table(self.report).strip("\n").split("\n")
            if lines and lines[0] == "Summary":
                lines = lines[1:]
            for line in lines:
                terminalreporter.line(line)
        for path in self.written:
            terminalreporter.line(f"dlverify: wrote {path}")
        if self.write_error:
            terminalreporter.line(f"dlverify: {self.write_error}", red=True)
