"""L2 gradients (all correct) that try to get out of their worker: daemons, forks, the parent's terminal.

Each records the pids it creates in the directory $VERIFY_HOSTILE_DIR, so the
tests can check that none of them outlives the run.
"""

import json
import os
import signal
import sys
import time


def _note(name, pid):
    directory = os.environ.get("VERIFY_HOSTILE_DIR")
    if directory:
        with open(os.path.join(directory, f"{name}-{pid}"), "w") as fh:
            fh.write(str(pid))


def _daemon(body):
    """Double fork and a new session: the classic way to escape a process group."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            _note("daemon", os.getpid())
            try:
                body()
            finally:
                os._exit(0)
        os._exit(0)
    os.wait()


_started = False


def rewrites_the_report(w, lam):
    """A correct gradient that leaves a daemon behind to overwrite the JSON report with a pass."""
    global _started
    if not _started:
        _started = True
        report = os.environ["VERIFY_HOSTILE_REPORT"]

        def forge():
            time.sleep(4)
            with open(report, "w") as fh:
                json.dump({"schema": "dlverify.report/2", "passed": True, "runs": []}, fh)

        _daemon(forge)
    return 2 * lam * w


def lingers(w, lam):
    """A correct gradient that starts a daemon looping forever on every call."""
    _daemon(lambda: time.sleep(3600))
    return 2 * lam * w


def forks_and_answers_twice(w, lam):
    """The fork goes on running the checks too: every event is sent twice."""
    global _started
    if not _started:
        _started = True
        os.fork()
    return 2 * lam * w


def writes_to_the_terminal(w, lam):
    """Opens the terminal of `verify` itself through /proc and prints a verdict there."""
    pid = os.getpid()
    for _ in range(3):                       # the job, the zygote, then `verify`
        try:
            with open(f"/proc/{pid}/stat") as fh:
                pid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/fd/1", "w") as out:
                out.write("\nFORGED: all checks passed\n")
        except OSError:
            pass
    return 2 * lam * w


def slow_then_loops(w, lam):
    """Hangs at every call: a run on it must end within about twice the per-check limit."""
    while True:
        time.sleep(0.05)


def prints_forever(w, lam):
    """Prints without end: the output kept is bounded, its beginning and its end."""
    sys.stdout.write("first line\n")
    n = 0
    while True:
        n += 1
        sys.stdout.write(f"line {n} " + "y" * 100 + "\n")


def needs_300_megabytes(w, lam):
    """A correct gradient that allocates 300 MiB on its way."""
    block = bytearray(300 * 2 ** 20)
    return 2 * lam * w + 0 * block[0]


class BatchNormThatHangs:
    """A batch-norm layer whose training forward never returns."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        import numpy as np

        self.gamma, self.beta = np.ones(num_features), np.zeros(num_features)
        self.running_mean, self.running_var = np.zeros(num_features), np.ones(num_features)

    def forward(self, x, training=True):
        while True:
            pass
