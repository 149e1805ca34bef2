"""The plugin under pytest-xdist: the same verdicts as a serial run and one merged report."""

from __future__ import annotations

import json
import re

import pytest

import verify.api  # noqa: F401 - see tests/test_plugin.py: imported before pytester's in-process runs
import verify.cli  # noqa: F401
import verify.isolation  # noqa: F401
import verify.report.files  # noqa: F401
from verify.specs import get_spec

get_spec("l1"), get_spec("l2")
pytest.importorskip("xdist")

pytest_plugins = ("pytester",)

BUGGY = """
def grad(w, lam):
    return lam * w

def penalty(w, lam):
    return lam * float((w * w).sum())
"""

# Logs every report written, with the process that wrote it (workers must write none).
CONFTEST = """
import os
import verify.report.files

_write_reports = verify.report.files.write_reports

def counting_write_reports(report, json_path, html_path):
    with open(os.environ["VERIFY_TEST_WRITES"], "a") as fh:
        fh.write(f"{os.getpid()} {json_path}\\n")
    return _write_reports(report, json_path, html_path)

verify.report.files.write_reports = counting_write_reports

def pytest_unconfigure(config):
    verify.report.files.write_reports = _write_reports
"""

ARGS = ("--verify", "my_reg.py=l2", "--verify", "my_reg.py:grad=l1",
        "--verify-max-examples", "10", "--verify-seed", "7", "-p", "no:cacheprovider", "-p", "no:benchmark", "-v")


def _outcomes(result: pytest.RunResult) -> dict[str, str]:
    out = {}
    for line in result.outlines:
        m = re.search(r"(PASSED|FAILED|SKIPPED|ERROR) (verify\[\S+)", line) or \
            re.match(r"(verify\[\S+) (PASSED|FAILED|SKIPPED|ERROR)", line)
        if m:
            word, node = (m.group(1), m.group(2)) if m.group(1).isupper() else (m.group(2), m.group(1))
            out[node.split("@", 1)[0]] = word     # --dist loadgroup appends @GROUP to the id
    return out


def _differences(a, b, path=""):
    """Where two JSON values differ, as ``path: a != b`` lines (a failure shows these, not two whole reports)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {str(a)[:200]!s} != {str(b)[:200]!s}"]


def _strip(data):
    if isinstance(data, dict):
        # What a target printed is compared too: each check's output is framed by its job (verify.capture).
        return {k: _strip(v) for k, v in data.items() if k not in ("duration", "created")}
    if isinstance(data, list):
        return [_strip(x) for x in data]
    return data


@pytest.mark.slow
def test_two_workers_same_verdicts_one_report(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(my_reg=BUGGY)
    pytester.makeconftest(CONFTEST)
    writes = pytester.path / "writes.log"
    monkeypatch.setenv("VERIFY_TEST_WRITES", str(writes))

    serial = pytester.runpytest(*ARGS, "--verify-json", "serial.json")
    expected = _outcomes(serial)
    assert len(expected) == 7 + 8
    assert set(expected.values()) == {"PASSED", "FAILED", "SKIPPED"}
    counts = serial.parseoutcomes()

    reports = {"serial": json.loads((pytester.path / "serial.json").read_text())}
    for dist in ("load", "loadgroup"):
        writes.write_text("")
        result = pytester.runpytest(*ARGS, "-n", "2", "--dist", dist, "--verify-json", f"{dist}.json")
        assert "2 workers [15 items]" in result.stdout.str()
        assert _outcomes(result) == expected, dist
        for key in ("passed", "failed", "skipped"):
            assert result.parseoutcomes().get(key) == counts.get(key), (dist, key)
        # Written once, by the controller (this process: pytester runs pytest in-process).
        lines = writes.read_text().splitlines()
        assert len(lines) == 1 and lines[0].split()[1].endswith(f"{dist}.json"), lines
        reports[dist] = json.loads((pytester.path / f"{dist}.json").read_text())
        # The summary table is printed once, on the controller.
        assert result.stdout.str().count("dlverify summary") == 1

    # One merged report with every item, identical to the serial run's but for timings.
    for dist in ("load", "loadgroup"):
        assert _differences(_strip(reports[dist]), _strip(reports["serial"])) == [], dist
    runs = reports["load"]["runs"]
    assert [(r["target"], r["spec"]) for r in runs] == [("my_reg.py", "l2"), ("my_reg.py:grad", "l1")]
    assert sum(len(r["checks"]) for r in runs) == 15
    assert all(r["seed"] == 7 for r in runs)
