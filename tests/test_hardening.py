"""A run always ends clean: no process outlives it, reports are whole, interrupts and kills are handled.

Each test runs the real command line in a subprocess on a target from
tests/hostile/escape_targets.py (correct L2 gradients that misbehave as
processes) and checks what is left afterwards: processes (by the pids the
target recorded), report files, the terminal. The subprocess time limits
only keep a broken verifier from hanging the suite; no test asserts a time.
"""

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_helpers import interruptible

HERE = Path(__file__).resolve().parent
ESCAPE = HERE / "hostile" / "escape_targets.py"
GUARD = 600


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")           # a zombie has ended; only its exit status is left


def _recorded(directory: Path) -> list[int]:
    return [int(p.read_text()) for p in directory.iterdir() if p.read_text().strip().isdigit()]


def _wait_until_gone(pids, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def _env(tmp_path, **extra):
    marks = tmp_path / "pids"
    marks.mkdir(exist_ok=True)
    return {**os.environ, "PYTHONIOENCODING": "utf-8", "VERIFY_HOSTILE_DIR": str(marks), **extra}, marks


def _verify(args, env, **kw):
    return subprocess.run([sys.executable, "-m", "verify", *args], capture_output=True, text=True, env=env,
                          timeout=GUARD, **kw)


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == parent:
                    out.append(int(entry))
                    todo.append(int(entry))
    return out


# ------------------------------------------------------------------------ processes


def test_a_daemon_cannot_rewrite_the_report_after_the_run(tmp_path):
    report = tmp_path / "report.json"
    env, marks = _env(tmp_path, VERIFY_HOSTILE_REPORT=str(report))
    proc = _verify(["check", f"{ESCAPE}:rewrites_the_report", "--spec", "l2", "--max-examples", "5",
                    "--json", str(report)], env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    daemons = _recorded(marks)
    assert daemons, "the target did not start its daemon"
    assert _wait_until_gone(daemons) == []
    time.sleep(5)                          # past the moment the daemon would have written
    data = json.loads(report.read_text())
    assert data["runs"] and data["runs"][0]["target"].endswith("rewrites_the_report")


def test_daemons_left_by_every_check_are_killed(tmp_path):
    env, marks = _env(tmp_path)
    proc = _verify(["check", f"{ESCAPE}:lingers", "--spec", "l2", "--max-examples", "5"], env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    daemons = _recorded(marks)
    assert len(daemons) > 5
    assert _wait_until_gone(daemons) == []


def test_a_target_that_forks_does_not_break_the_run(tmp_path):
    env, _ = _env(tmp_path)
    report = tmp_path / "r.json"
    proc = _verify(["check", f"{ESCAPE}:forks_and_answers_twice", "--spec", "l2", "--max-examples", "5",
                    "--json", str(report)], env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = json.loads(report.read_text())["runs"][0]
    names = [c["name"] for c in run["checks"]]
    assert len(names) == len(set(names)) == 7


def test_a_target_cannot_write_to_the_terminal_of_verify(tmp_path):
    env, _ = _env(tmp_path)
    proc = _verify(["check", f"{ESCAPE}:writes_to_the_terminal", "--spec", "l2", "--max-examples", "5"], env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FORGED" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killing_verify_leaves_no_process_behind(sig, tmp_path):
    env, marks = _env(tmp_path)
    report = tmp_path / "partial.json"
    proc = subprocess.Popen([sys.executable, "-m", "verify", "check", f"{ESCAPE}:lingers", f"{ESCAPE}:slow_then_loops",
                             "--spec", "l2", "--timeout", "300", "--json", str(report)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible, env=env)
    header = proc.stdout.readline()
    assert ":: l2" in header, header + proc.stderr.read()
    deadline = time.monotonic() + GUARD     # wait until the looping target is running
    while not any(p.name.startswith("daemon") for p in marks.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)
    family = _descendants(proc.pid)
    assert len(family) >= 2, family          # the zygote and at least one job
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=GUARD)
    assert _wait_until_gone(family + _recorded(marks)) == []
    if sig == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM, err
        assert "Traceback" not in err
        data = json.loads(report.read_text())
        assert data["incomplete"] is True


def test_ctrl_c_twice_still_writes_the_report(tmp_path):
    env, _ = _env(tmp_path)
    report = tmp_path / "partial.json"
    proc = subprocess.Popen([sys.executable, "-m", "verify", "check", f"{ESCAPE}:slow_then_loops", "--spec", "l2",
                             "--timeout", "300", "--json", str(report)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible, env=env)
    header = proc.stdout.readline()
    assert ":: l2" in header
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert json.loads(report.read_text())["incomplete"] is True


def test_ctrl_c_at_start_up_ends_quietly_with_a_report(tmp_path):
    """Interrupted while the job server is still importing the verifier: nothing ran, the report says so."""
    report = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "verify", "check", "reference", "--spec", "l2",
                             "--json", str(report)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)
    deadline = time.monotonic() + GUARD
    while not _descendants(proc.pid) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    assert json.loads(report.read_text())["incomplete"] is True


def test_a_hanging_target_ends_within_about_twice_the_limit(tmp_path):
    """After one check times out, the later checks get a shortened budget (read from the report)."""
    env, _ = _env(tmp_path)
    report = tmp_path / "r.json"
    limit = 8
    proc = _verify(["check", f"{ESCAPE}:slow_then_loops", "--spec", "l2", "--timeout", str(limit), "--jobs", "1",
                    "--json", str(report)], env)
    assert proc.returncode == 1
    checks = json.loads(report.read_text())["runs"][0]["checks"]
    timed_out = [c for c in checks if c["status"] == "timeout"]
    assert len(timed_out) >= 3
    full = [c for c in timed_out if f"within {limit} s" in c["message"]]
    assert len(full) == 1, [c["message"] for c in timed_out]
    budgets = sum(float(c["message"].split("within ", 1)[1].split(" s", 1)[0]) for c in timed_out)
    assert budgets <= 2 * limit * 1.001, budgets
    assert all(f"shortened from {limit} s" in c["message"] for c in timed_out if c not in full)


def test_endless_output_is_bounded_and_kept_with_the_timeout(tmp_path):
    env, _ = _env(tmp_path)
    report = tmp_path / "r.json"
    proc = _verify(["check", f"{ESCAPE}:prints_forever", "--spec", "l2", "--check", "gradient-vs-symbolic",
                    "--timeout", "3", "--json", str(report)], env)
    assert proc.returncode == 1
    (check,) = json.loads(report.read_text())["runs"][0]["checks"]
    assert check["status"] == "timeout"
    output = check["output"]
    assert output.startswith("first line") and "bytes printed" in output and len(output) < 7000
    assert output.rstrip().splitlines()[-1].startswith("line ")          # the end is kept too
    assert len(proc.stdout) < 20_000                     # the terminal shows the same bounded excerpt


def test_memory_limit_is_its_own_clear_error(tmp_path):
    env, _ = _env(tmp_path)
    args = ["check", f"{ESCAPE}:needs_300_megabytes", "--spec", "l2", "--check", "gradient-vs-symbolic",
            "--max-examples", "3"]
    assert _verify(args, env).returncode == 0
    report = tmp_path / "r.json"
    proc = _verify([*args, "--memory-limit", "100M", "--json", str(report)], env)
    assert proc.returncode == 1
    (check,) = json.loads(report.read_text())["runs"][0]["checks"]
    assert check["status"] == "error"
    assert check["message"].startswith("out of memory: the target needed more than the --memory-limit of 100 MiB")
    assert "--memory-limit 100M" in check["reproduction"]


# ------------------------------------------------------------------------ report files


def _reference(args, **kw):
    return subprocess.run([sys.executable, "-m", "verify", "check", "reference", "--spec", "l2",
                           "--max-examples", "5", *args], capture_output=True, text=True, timeout=GUARD, **kw)


@pytest.mark.parametrize("kind", ["directory", "fifo", "device", "missing-parent-file"])
def test_unusable_report_paths_are_refused_before_the_run(kind, tmp_path):
    if kind == "directory":
        path = tmp_path / "adir"
        path.mkdir()
    elif kind == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/null")
    else:
        blocker = tmp_path / "file"
        blocker.write_text("x")
        path = blocker / "r.json"
    proc = _reference(["--json", str(path)])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("verify: error: --json ") and "Traceback" not in proc.stderr
    assert "reference :: l2" not in proc.stdout            # nothing ran
    if kind == "device":
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    if kind == "fifo":
        assert stat.S_ISFIFO(os.stat(path).st_mode)


def test_a_symlink_is_followed_and_kept(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    proc = _reference(["--json", str(link)])
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and json.loads(real.read_text())["runs"][0]["spec"] == "l2"


def test_stale_temporaries_of_dead_runs_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = tmp_path / f".r.json.verify-tmp-{dead}-abc123"
    stale.write_text("left by a killed run")
    proc = _reference(["--json", str(tmp_path / "r.json")])
    assert proc.returncode == 0
    assert not stale.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_json_and_html_are_replaced_together(tmp_path, monkeypatch):
    from verify.report import files
    from verify.results import Report

    json_path, html_path = tmp_path / "r.json", tmp_path / "r.html"
    json_path.write_text("old json")
    html_path.write_text("old html")

    def broken(report):
        raise RuntimeError("rendering failed")

    monkeypatch.setattr("verify.report.render_html", broken)
    with pytest.raises(RuntimeError):
        files.write_reports(Report(), str(json_path), str(html_path))
    assert json_path.read_text() == "old json" and html_path.read_text() == "old html"
    monkeypatch.undo()
    files.write_reports(Report(), str(json_path), str(html_path))
    assert json.loads(json_path.read_text())["runs"] == [] and html_path.read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.json"]
