"""Running `verify check` in a subprocess from tests, and reading its JSON report."""

import json
import os
import signal
import subprocess
import sys
from html.parser import HTMLParser


def verify_check(tmp_path, targets, specs, *extra, max_examples=8, timeout=900):
    """Run `verify check`; returns (exit status, {(target, spec): run}, output)."""
    report = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "verify", "check", *targets]
    for spec in specs:
        cmd += ["--spec", spec]
    cmd += ["--max-examples", str(max_examples), "--json", str(report), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    runs = {}
    if report.exists():
        for run in json.loads(report.read_text(encoding="utf-8"))["runs"]:
            runs[(run["target"], run["spec"])] = run
    return proc.returncode, runs, proc.stdout + proc.stderr


def html_tags(text: str) -> list[str]:
    """The start tags of an HTML document, in order (html.parser raises nothing, so tests count what matters)."""
    tags: list[str] = []
    parser = HTMLParser()
    parser.handle_starttag = lambda tag, attrs: tags.append(tag)
    parser.feed(text)
    parser.close()
    return tags


def not_passing(run):
    """(name, status, headline) of every check that neither passed nor was skipped."""
    return [(c["name"], c["status"], c["message"].splitlines()[0] if c["message"] else "")
            for c in run["checks"] if c["status"] not in ("pass", "skip")]


def interruptible() -> None:
    """``preexec_fn`` of a command a test interrupts: Ctrl-C acts on it even when the suite itself was started
    with SIGINT ignored (``cmd &`` in a script, ``nohup``), which a child inherits and Python then keeps."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
