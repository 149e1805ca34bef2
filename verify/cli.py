"""The ``verify`` command line.

::

    verify list
    verify check TARGET [TARGET ...] --spec SPEC [--spec SPEC ...] [--param NAME=VALUE ...]
                 [--seed N] [--json PATH] [--html PATH] [--timeout S] [--check NAME ...]

Exit status: 0 every check passed (skips allowed); 1 at least one check failed,
errored or timed out; 2 nothing could be checked (unknown spec, target not
loadable, bad argument); 130 interrupted (the partial report is written).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import traceback
from typing import Iterator, Sequence

from verify import __version__
from verify.errors import UsageError
from verify.options import add_cli_options, parse_params
from verify.results import CheckResult, Report, RunResult, Status

__all__ = ["main", "build_parser", "Terminated"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a CI cancel, ``timeout``, a closed terminal): handled like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _terminate(signum: int, _frame: object) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def _termination_interrupts() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP interrupt it as Ctrl-C does; afterwards the three signals are
    handled as before (``main`` called in-process must not leave its caller ignoring Ctrl-C, nor the processes
    its caller starts later, which inherit an ignored signal)."""
    old = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _terminate)
    except ValueError:             # not the main thread: leave the process's handling alone
        yield
        return
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _ignore_interrupts() -> None:
    """From here on the command only finishes (summary, reports): further interrupts are ignored."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, signal.SIG_IGN)
        except ValueError:
            pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="verify",
        description="Prove an implementation of a training formula right, or show exactly how it is wrong.",
    )
    parser.add_argument("--version", action="version", version=f"dlverify {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    lst = sub.add_parser("list", help="list every spec with its checks and canonical hyperparameters")
    lst.add_argument("spec", nargs="*", help="only these specs")
    lst.add_argument("--markdown", action="store_true", help="print as Markdown (docs/specs.md is this output)")

    chk = sub.add_parser("check", help="check TARGET against SPEC",
                         description="TARGET is a dotted name (torch.optim.Adam), module:attr, "
                                     "path/to/file.py:attr, or 'reference' (the bundled reference).")
    chk.add_argument("targets", nargs="+", metavar="TARGET")
    chk.add_argument("--spec", action="append", required=True, metavar="SPEC",
                     help="spec to check against (repeatable; 'all' for every spec)")
    add_cli_options(chk)
    chk.add_argument("--check", action="append", dest="checks", metavar="NAME",
                     help="run only this check (repeatable)")
    chk.add_argument("--load-timeout", type=float, default=120.0, metavar="SECONDS",
                     help="time limit for importing the target (default 120); building it and trying it on a "
                          "probe count against the first check's --timeout")
    chk.add_argument("--verbose", "-v", action="store_true", help="show tracebacks, and the details of skipped checks (their one-line reasons are always shown)")
    chk.add_argument("--no-isolation", dest="isolate", action="store_false",
                     help="run checks in this process, beside the target (a crashing target ends the run, and the "
                          "target's code is trusted: it could change the verdict)")
    chk.add_argument("--jobs", "-j", type=_jobs, default=None, metavar="N",
                     help="run up to N worker processes at once (default: $VERIFY_JOBS, else one per core)")
    return parser


def _jobs(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


_jobs.__name__ = "positive integer"


def _expand_specs(names: Sequence[str]) -> list[str]:
    from verify.specs import SPEC_NAMES, get_spec

    out: list[str] = []
    for name in names:
        for n in (SPEC_NAMES if name == "all" else [name]):
            get_spec(n)  # raises UnknownSpecError naming the valid specs
            if n not in out:
                out.append(n)
    return out


def _cmd_list(args: argparse.Namespace) -> int:
    from verify.specs import SPEC_NAMES, get_spec

    specs = [get_spec(name) for name in (args.spec or SPEC_NAMES)]
    print(render_spec_list_markdown(specs) if args.markdown else render_spec_list(specs), end="")
    return EXIT_OK


def render_spec_list(specs) -> str:
    lines = []
    for spec in specs:
        lines.append(f"{spec.name}  [{spec.family}]  {spec.title}")
        lines.append(f"    {spec.formula}")
        if spec.params:
            lines.append("    hyperparameters:")
            lines.extend(f"      {p.describe()}" for p in spec.params)
        elif spec.accepts_extra_params:
            lines.append("    hyperparameters: any --param NAME=VALUE is passed to the target's constructor")
        lines.append("    checks:")
        lines.extend(f"      {c.name:<34} {c.kind:<12} {c.summary}" for c in spec.checks)
        lines.extend(f"    {line}" for line in _algorithm_lines(spec))
        lines.append("")
    return "\n".join(lines) + "\n"


def _algorithm_lines(spec) -> list[str]:
    """What an optimizer spec's algorithm record adds: the library objects it runs and its diagnosis catalogue."""
    from verify import algorithms, diagnosis

    algorithm = algorithms.find(spec.name)
    if algorithm is None:
        return []
    return [f"libraries: {'; '.join(algorithm.library_text(lib) for lib in algorithms.LIBRARIES)}",
            f"diagnosis: {len(diagnosis.variants_for(algorithm))} named variants and bugs"]


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|")


def render_spec_list_markdown(specs) -> str:
    lines = ["# Specs", "",
             "Generated by `verify list --markdown` (tests/test_docs.py keeps it current). Protocols for your own",
             "code are in [protocols.md](protocols.md).", ""]
    for spec in specs:
        lines += [f"## `{spec.name}` — {spec.title}", "", f"Family: {spec.family}. {spec.formula}", ""]
        if spec.params:
            lines += ["| hyperparameter | default | meaning |", "|---|---|---|"]
            lines += [f"| `{p.name}` | `{p.default}` | {_cell(p.doc)} |" for p in spec.params]
            lines.append("")
        elif spec.accepts_extra_params:
            lines += ["Any `--param NAME=VALUE` is passed to the target's constructor.", ""]
        lines += ["| check | kind | what it establishes |", "|---|---|---|"]
        lines += [f"| `{c.name}` | {c.kind} | {_cell(c.summary)} |" for c in spec.checks]
        lines.append("")
        extra = _algorithm_lines(spec)
        if extra:
            lines += [f"{line[0].upper()}{line[1:]}." for line in extra] + [""]
    return "\n".join(lines)


def _cmd_check(args: argparse.Namespace) -> int:
    from verify import _process
    from verify.console import ConsoleReporter
    from verify.plan import Interrupted, RunOptions, RunPlan
    from verify.report.files import check_output_paths
    from verify.runner import run

    specs = _expand_specs(args.spec)
    overrides = parse_params(args.param)
    options = RunOptions(seed=args.seed, max_examples=args.max_examples, family_alpha=args.alpha,
                         timeout=args.timeout, load_timeout=args.load_timeout, checks=tuple(args.checks or ()) or None,
                         isolate=args.isolate, verbose=args.verbose, jobs=args.jobs,
                         memory_limit=args.memory_limit, gradcheck_mode=args.gradcheck_mode)
    if options.memory_limit and not options.isolate:
        raise UsageError("--memory-limit applies to worker processes; it cannot be used with --no-isolation")
    if not options.isolate and not {"", ".", os.getcwd()} & set(sys.path):
        # Targets then load here, and are trusted: the user's own modules are found in the working directory, as
        # a target process finds them (python -m verify dropped it from this process's path).
        sys.path.insert(0, os.getcwd())
    if options.checks and len(specs) > 1:
        raise UsageError("--check selects checks of one spec; give a single --spec with it")
    if options.checks:
        from verify.specs import get_spec
        for name in options.checks:
            get_spec(specs[0]).check(name)
    # A report that cannot be written is found out now, not after the run.
    check_output_paths([("--json", args.json), ("--html", args.html)])
    # Targets run as this user: they may not open this process's descriptors through /proc.
    _process.make_non_dumpable()
    console = ConsoleReporter(verbose=args.verbose)
    plans = [RunPlan(t, s, overrides, options) for t in args.targets for s in specs]
    unloadable = 0

    def load_error(plan: RunPlan, exc: UsageError) -> RunResult:
        nonlocal unloadable
        if len(plans) == 1:
            raise exc
        # One pair that cannot be checked does not stop the others; it is an error run.
        unloadable += 1
        run = RunResult(plan.target, plan.spec, options.seed, dict(overrides),
                        checks=[CheckResult("load", "protocol", Status.ERROR, str(exc))])
        console.check_done(run.checks[0])
        return run

    def on_event(kind, payload):
        if kind == "run_start":
            console.run_header(payload.name, payload.spec, options.seed)
        elif kind == "result":
            console.check_done(payload)
        elif kind == "run_done":
            console.run_done(payload)

    try:
        report = run(plans, on_event=on_event, on_load_error=load_error)
    except (Interrupted, KeyboardInterrupt) as exc:
        _ignore_interrupts()
        for cut in getattr(exc, "runs", []):
            console.run_done(cut)
        report = getattr(exc, "report", None) or Report(tool_version=__version__, runs=[], incomplete=True)
        report.incomplete = True
        code = 128 + getattr(exc, "signum", signal.SIGINT)
        return _finish(report, args, console, code, "Interrupted: partial report written.")
    _ignore_interrupts()
    if unloadable == len(plans):
        code = EXIT_USAGE
    else:
        code = EXIT_OK if report.passed else EXIT_FAIL
    return _finish(report, args, console, code)


def _finish(report: Report, args: argparse.Namespace, console, code: int, closing: str = "") -> int:
    """The summary and the reports; if a report cannot be written, say why and exit 2."""
    from verify.console import safe
    from verify.report import files

    console.report_done(report)
    try:
        files.write_reports(report, args.json, args.html)
    except (OSError, UsageError) as exc:
        print(f"verify: error: could not write the report: {safe(exc, 500)}", file=sys.stderr)
        return EXIT_USAGE
    if closing:
        console.write(closing)
    else:
        for path in (args.json, args.html):
            if path:
                console.write(f"wrote {path}")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        if args.command == "list":
            return _cmd_list(args)
        with _termination_interrupts():
            return _cmd_check(args)
    except KeyboardInterrupt as exc:       # before the run started, or while its reports were written
        print("verify: interrupted before the run started: no report written", file=sys.stderr)
        return 128 + getattr(exc, "signum", signal.SIGINT)
    except BrokenPipeError:
        # The reader went away (``verify ... | head``): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAIL
    except UsageError as exc:
        from verify.console import safe

        if getattr(args, "verbose", False):
            traceback.print_exc()
        print(f"verify: error: {safe(exc, 1000)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
