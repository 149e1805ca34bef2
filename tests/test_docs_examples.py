"""Every code block of README.md and docs/ runs in the suite, and output shown there is compared, so the docs
cannot drift from the tool.

What a block is follows from its language, or from a directive: an HTML
comment on the line just above its fence, invisible on the rendered page::

    <!-- docs: file my_opt.py; run verify check my_opt.py:MyAdam --spec adam -->

Clauses, separated by ``;``:

``file NAME``
    the block is the file ``NAME`` (written into the page's scratch
    directory; also implied by a first line ``# NAME.py``);
``run COMMAND``
    run ``COMMAND`` after writing the block (``verify``, ``pytest`` and
    ``python`` are this interpreter's);
``exit N``
    the block's commands exit with status ``N`` (default 0);
``output`` / ``output of COMMAND``
    the block is what the last command run on the page (or ``COMMAND``)
    printed; ``...`` stands for any text within a line, and a line ``...``
    for any number of lines; durations (``0.46s``) and runs of spaces match
    any;
``pytest``
    the python block is a test module: run by pytest, every test must pass;
``skip: REASON``
    (alone) not run, for the reason given (a sketch of signatures, a command that
    needs other machines).

Without a directive, ``sh``/``console`` blocks are commands (``$ `` prompts,
``#`` comments and ``\\`` continuations as a shell reads them) and ``python``
blocks are executed. Python blocks and commands run in a scratch directory
holding ``tests/docs_fixtures`` (the user files the pages refer to without
showing them: ``my_l2.py``, ``my_opt.py``, …) and every file block above them
on the page; python blocks see the names of ``docs_names.py`` there (``f``,
``grad_f``, ``x``, ``MyMomentum``, …) unless they define their own.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "docs_fixtures"
# docs/specs.md is generated (tests/test_docs.py compares it with `verify list --markdown`).
PAGES = ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md") if p.name != "specs.md")]
COMMAND_LANGUAGES = {"sh", "console", "bash", "shell"}
TIMEOUT = 900       # seconds per command: a hang must end the test, not the suite

pytestmark = pytest.mark.slow


@dataclasses.dataclass
class Block:
    page: str
    line: int                          # of the opening fence, 1-based
    lang: str
    body: str
    clauses: dict[str, str]            # the directive's clauses, by keyword

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def file_name(self) -> str | None:
        if "file" in self.clauses:
            return self.clauses["file"]
        first = self.body.split("\n", 1)[0]
        m = re.fullmatch(r"#\s*([\w./-]+\.(?:py|toml|cfg|ini))", first.strip())
        return m.group(1) if m and self.lang in ("python", "toml") else None


_DIRECTIVE = re.compile(r"<!--\s*docs:\s*(.*?)\s*-->")
_KEYWORDS = ("file", "run", "exit", "output of", "output", "pytest", "skip:")


def _clauses(text: str) -> dict[str, str]:
    if text.startswith("skip:"):                   # a reason may hold any text
        return {"skip": text[len("skip:"):].strip()}
    clauses: dict[str, str] = {}
    for part in (p.strip() for p in text.split(";")):
        key = next((k for k in _KEYWORDS if part == k or part.startswith(k + " ") or
                    (k.endswith(":") and part.startswith(k))), None)
        if key is None:
            raise ValueError(f"unknown docs directive clause {part!r}")
        clauses[key.rstrip(":")] = part[len(key):].strip()
    return clauses


def blocks(page: str) -> list[Block]:
    lines = (ROOT / page).read_text(encoding="utf-8").split("\n")
    found, i = [], 0
    while i < len(lines):
        if lines[i].startswith("```"):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            m = _DIRECTIVE.fullmatch(lines[i - 1].strip()) if i else None
            found.append(Block(page, i + 1, lines[i][3:].strip(), "\n".join(lines[i + 1:end]),
                               _clauses(m.group(1)) if m else {}))
            i = end
        i += 1
    return found


def commands(body: str, lang: str = "sh") -> list[tuple[str, str | None]]:
    """The commands of a shell block, each with the output shown after it (console blocks: lines after a
    ``$ `` prompt line; ``None`` where none is shown). Continuations joined, comments removed."""
    joined = re.sub(r"\\\n\s*", " ", body)
    out: list[tuple[str, list[str] | None]] = []
    for line in joined.split("\n"):
        if lang == "console" and not line.startswith("$ "):
            if out:
                out[-1] = (out[-1][0], (out[-1][1] or []) + [line])
            continue
        words = shlex.split(line.removeprefix("$ "), comments=True)
        if words:
            out.append((shlex.join(words), None))
    return [(c, "\n".join(shown).strip("\n") or None if shown else None) for c, shown in out]


def _argv(command: str) -> list[str]:
    words = shlex.split(command)
    prefix = {"verify": [sys.executable, "-m", "verify"], "python": [sys.executable],
              "python3": [sys.executable], "pytest": [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]}
    if words[0] not in prefix:
        raise ValueError(f"a docs command must start with verify, pytest or python: {command!r}")
    return prefix[words[0]] + words[1:]


@dataclasses.dataclass
class Ran:
    command: str
    status: int
    output: str


# Runs a page's `verify` commands one after another in one interpreter, each as `python -m verify` runs it
# (its __main__, by runpy), so that the verifier's job server, and the libraries it imported for earlier
# targets (torch, jax), serve every command of the page: a command costs its checks, not seconds of start-up.
# Protocol: one JSON argv per line in; one line out, after a marker, with the exit status and the output.
_VERIFY_SERVER = """
import contextlib, io, json, runpy, sys
real = sys.stdout
for line in sys.stdin:
    sys.argv = ["verify", *json.loads(line)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            runpy.run_module("verify", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    real.write(MARKER + json.dumps({"status": code, "output": out.getvalue()}) + "\\n")
    real.flush()
"""
_MARKER = "\x00docs-verify-server\x00"


class _VerifyServer:
    def __init__(self, cwd: Path, env: dict[str, str]):
        self.proc = subprocess.Popen([sys.executable, "-c", f"MARKER = {_MARKER!r}\n" + _VERIFY_SERVER],
                                     cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, encoding="utf-8")

    def run(self, args: list[str]) -> tuple[int, str]:
        self.proc.stdin.write(json.dumps(args) + "\n")
        self.proc.stdin.flush()
        stray = []
        hang = threading.Timer(TIMEOUT, self.proc.kill)     # a hang ends the test, not the suite
        hang.start()
        try:
            for line in self.proc.stdout:       # what bypassed sys.stdout (a library writing to fd 1) is kept
                if line.startswith(_MARKER):
                    reply = json.loads(line[len(_MARKER):])
                    return reply["status"], "".join(stray) + reply["output"]
                stray.append(line)
        finally:
            hang.cancel()
        raise subprocess.TimeoutExpired(["verify", *args], TIMEOUT) if self.proc.wait() == -9 else \
            RuntimeError(f"the docs' verify server stopped (exit {self.proc.wait()}): {''.join(stray)[-3000:]}")

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


class Page:
    """The scratch directory of one page, and what ran in it."""

    def __init__(self, directory: Path):
        self.dir = directory
        shutil.copytree(FIXTURES, directory, dirs_exist_ok=True)
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(directory)]),
                        COLUMNS="120", NO_COLOR="1", PYTHONHASHSEED="0")
        self.env.pop("PYTEST_XDIST_WORKER", None)
        self.runs: dict[tuple[str, bool], Ran] = {}
        self.last: Ran | None = None
        self.server: _VerifyServer | None = None

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    def run(self, command: str, quick: bool = False) -> Ran:
        """Run ``command`` here (once: the same command on the same files is not rerun). ``quick``: a ``verify
        check`` whose output the page does not show and which must pass runs with ``--max-examples 8`` (unless
        it sets its own): the page claims only that it passes, and the suite's acceptance tests run the same
        targets at full effort."""
        argv = _argv(command)
        quick = quick and argv[1:4] == ["-m", "verify", "check"] and "--max-examples" not in argv
        key = (command, quick)
        if key not in self.runs:
            argv += ["--max-examples", "8"] if quick else []
            if argv[1:3] == ["-m", "verify"]:
                if self.server is None:
                    self.server = _VerifyServer(self.dir, self.env)
                self.runs[key] = Ran(command, *self.server.run(argv[3:]))
            else:
                p = subprocess.run(argv, cwd=self.dir, env=self.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
                self.runs[key] = Ran(command, p.returncode, p.stdout)
        self.last = self.runs[key]
        return self.last

    def write(self, name: str, text: str) -> None:
        (self.dir / name).parent.mkdir(parents=True, exist_ok=True)
        (self.dir / name).write_text(text + "\n", encoding="utf-8")
        self.runs.clear()

    def run_module(self, name: str, code: str, command: str) -> Ran:
        """Run a python block written as ``name`` (with the fixtures' names), then remove it so that later
        commands (``pytest`` collecting the directory) do not see it."""
        self.write(name, "from docs_names import *  # noqa: F401,F403\n" + code)
        try:
            return self.run(command)
        finally:
            (self.dir / name).unlink()
            self.runs.clear()


def _pattern(expected: str) -> re.Pattern:
    """A regex for shown output: ``...`` is a wildcard, durations and space runs match any."""
    parts = []
    for line in _normalise(expected).split("\n"):
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
            continue
        pieces = [re.sub(r"(?:\\ | )+", " +", re.escape(p)).replace("<T>", r"\S+") for p in line.split("...")]
        parts.append(".*?".join(pieces) + r"\n")
    return re.compile("".join(parts), re.DOTALL)


def _normalise(text: str) -> str:
    text = re.sub(r"(?<![\w.])\d+(?:\.\d+)?(?:ms|s)\b", "<T>", text)
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n"))


def matches(expected: str, actual: str) -> bool:
    return _pattern(expected).fullmatch(_normalise(actual) + "\n") is not None


def _expected_status(block: Block) -> int:
    return int(block.clauses.get("exit", "0"))


def check_page(page: str, scratch: Path) -> list[str]:
    """Run every block of ``page``; the problems found, one entry per block."""
    problems = []
    state = Page(scratch)
    found = blocks(page)
    try:
        for i, block in enumerate(found):
            # commands whose output the next block shows (``output``, of the last command) run at full effort
            shown_next = i + 1 < len(found) and "output" in found[i + 1].clauses
            try:
                problems.extend(f"{block.where}: {p}" for p in _run_block(block, state, shown_next))
            except subprocess.TimeoutExpired as e:
                problems.append(f"{block.where}: {e.cmd} did not end within {TIMEOUT} s")
    finally:
        state.close()
    return problems


def _run_block(block: Block, state: Page, shown_next: bool = False) -> list[str]:
    if "skip" in block.clauses:
        return [] if block.clauses["skip"] else ["a skipped block must say why (skip: REASON)"]
    wanted = _expected_status(block)
    problems = []

    def expect(ran: Ran) -> None:
        if ran.status != wanted:
            problems.append(f"`{ran.command}` exited {ran.status}, the page expects {wanted}:\n"
                            f"{ran.output[-3000:]}")

    if "output" in block.clauses or "output of" in block.clauses:
        ran = state.run(block.clauses["output of"]) if "output of" in block.clauses else state.last
        if ran is None:
            return ["an output block with no command run before it on the page"]
        if "output of" in block.clauses:
            expect(ran)
        if not matches(block.body, ran.output):
            problems.append(f"the output shown is not what `{ran.command}` prints now; it prints:\n{ran.output}")
        return problems
    name = block.file_name
    if name is not None:
        state.write(name, block.body)
    elif "pytest" in block.clauses:
        expect(state.run_module("test_docs_block.py", block.body, "pytest -q test_docs_block.py"))
    elif block.lang in COMMAND_LANGUAGES:
        for command, shown in commands(block.body, block.lang):
            ran = state.run(command, quick=shown is None and wanted == 0 and not shown_next)
            expect(ran)
            if shown is not None and not matches(shown, ran.output):
                problems.append(f"the output shown is not what `{command}` prints now; it prints:\n{ran.output}")
    elif block.lang == "python":
        expect(state.run_module("docs_block.py", block.body, "python docs_block.py"))
    elif not block.clauses:
        return [f"a block in {block.lang or 'plain text'} with no directive: say what it is "
                "(<!-- docs: output of COMMAND -->, <!-- docs: file NAME -->, <!-- docs: skip: REASON -->)"]
    if "run" in block.clauses:
        expect(state.run(block.clauses["run"]))
    return problems


@pytest.mark.parametrize("page", PAGES)
def test_every_example_on_the_page_runs_as_shown(page, tmp_path):
    problems = check_page(page, tmp_path)
    assert not problems, "\n\n".join(problems)


# ---------------------------------------------------------------- the harness itself


def test_wildcards_and_durations_match_but_other_text_must_be_equal():
    shown = "  FAIL    check   0.46s  grad(w) does not ...\n...\nMax relative difference: 0.5"
    assert matches(shown, "  FAIL    check  12.03s  grad(w) does not match\nmore\nlines\nMax relative difference: 0.5")
    assert matches(shown, "  FAIL check 1s grad(w) does not match\nMax relative difference: 0.5")
    assert not matches(shown, "  FAIL    check   0.46s  grad(w) does not match\nMax relative difference: 0.25")
    assert not matches(shown, "  PASS    check   0.46s  grad(w) does not match\nMax relative difference: 0.5")
    assert not matches("a\nb", "a\nb\nc")     # no silent extra lines without a `...`


def test_shell_blocks_are_read_as_a_shell_reads_them():
    body = "$ verify check a.py:b --spec adam   # a comment\n$ pytest --verify x=adam \\\n    --verify-json r.json\n"
    assert commands(body, "console") == [("verify check a.py:b --spec adam", None),
                                         ("pytest --verify x=adam --verify-json r.json", None)]
    assert commands("$ verify list\nl1  ...\n...\n$ verify list l2\n", "console") == [
        ("verify list", "l1  ...\n..."), ("verify list l2", None)]
    assert commands("verify list   # every spec\nverify check reference --spec l2\n") == [
        ("verify list", None), ("verify check reference --spec l2", None)]


def test_every_block_is_accounted_for():
    # A directive naming an unknown clause fails here rather than being ignored.
    for page in PAGES:
        for block in blocks(page):
            assert block.lang in COMMAND_LANGUAGES | {"python"} or block.clauses or block.file_name, block.where
