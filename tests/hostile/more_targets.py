"""More hostile L2 gradients (protocol: grad(w, lam)): each is WRONG (3λw where λ Σ w² has 2λw) and attacks the
judge, the process it runs in or the channel back, in a way tests/hostile/l2_targets.py and forging_targets.py
do not. None may pass; every run must end with its reports whole (tests/test_hostile_more.py).
"""

import os
import signal
import sys
import threading
import time

import numpy as np


def _wrong(w, lam):
    return 3.0 * lam * np.asarray(w, dtype=np.float64)


# ----------------------------------------------------------------------------- values that lie about themselves


class Agreeable(np.ndarray):
    """An ndarray subclass that says it equals anything, is close to anything, and converts as the right answer
    would look to a careless judge."""

    def __eq__(self, other):
        return np.ones(np.shape(self), dtype=bool)

    __ne__ = lambda self, other: np.zeros(np.shape(self), dtype=bool)  # noqa: E731

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc in (np.isfinite, np.isclose):
            return np.ones(np.shape(self), dtype=bool)
        inputs = tuple(np.asarray(i) if isinstance(i, Agreeable) else i for i in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)


def returns_agreeable_subclass(w, lam):
    return _wrong(w, lam).view(Agreeable)


class Shapeshifter:
    """Not an array: converts to the wrong answer, compares equal to everything, floats to 0."""

    def __init__(self, value):
        self.value = value
        self.shape, self.dtype = value.shape, value.dtype

    def __array__(self, dtype=None, copy=None):
        return self.value if dtype is None else self.value.astype(dtype)

    def __eq__(self, other):
        return True

    def __float__(self):
        return 0.0

    def __len__(self):
        return len(self.value)


def returns_array_like_liar(w, lam):
    return Shapeshifter(_wrong(w, lam))


def returns_lying_dtype(w, lam):
    """The bytes of the wrong answer relabelled: a structured dtype whose one field is float64."""
    return _wrong(w, lam).view(np.dtype([("g", "<f8")]))


def returns_object_array(w, lam):
    return np.array([float(x) for x in _wrong(w, lam).ravel()], dtype=object).reshape(np.shape(w))


def returns_nan_payloads(w, lam):
    """Signalling NaNs with payloads, and the wrong answer elsewhere."""
    out = _wrong(w, lam).ravel().copy()
    bits = out.view(np.uint64)
    bits[::2] = np.uint64(0x7FF0_0000_DEAD_BEEF)
    return out.reshape(np.shape(w))


def returns_huge_array(w, lam):
    """About 400 MB where a few numbers are expected."""
    return np.zeros(50_000_000)


def sends_a_huge_reply(w, lam):
    """About 400 MB where a few numbers are expected, past its own adapter's check of the shape: the reply's size
    alone must be refused, before the checker allocates it."""
    base = sys.modules["verify.adapters.base"]
    base.as_array = lambda value, where, shape=None: np.zeros(50_000_000)
    return _wrong(w, lam)


# ----------------------------------------------------------------------------- the judge in its own process


def patches_numpy_everywhere(w, lam):
    """Every comparison numpy offers says 'equal' in this process."""
    np.allclose = lambda *a, **k: True
    np.array_equal = lambda *a, **k: True
    np.isclose = lambda a, b, *x, **k: np.ones(np.broadcast(a, b).shape, dtype=bool)
    np.testing.assert_allclose = lambda *a, **k: None
    np.isfinite = lambda a, *x, **k: np.ones(np.shape(a), dtype=bool)
    return _wrong(w, lam)


def mutates_and_hides_it(w, lam):
    """Correct in value, but doubles its input in place, and silences whatever records input changes here."""
    for name, mod in list(sys.modules.items()):
        if name.startswith("verify.") and hasattr(mod, "InputRecord"):
            rec = mod.InputRecord
            for attr in ("fail", "note"):
                if hasattr(rec, attr):
                    setattr(rec, attr, lambda self, *a, **k: None)
    np.array_equal = lambda *a, **k: True
    out = 2.0 * lam * np.array(w, copy=True)
    w *= 2.0
    return out


def reads_the_parent(w, lam):
    """Looks for the expected values in the checker's memory and environment; falls back to the wrong answer."""
    found = []
    ppid = os.getppid()
    for path in (f"/proc/{ppid}/mem", f"/proc/{ppid}/environ", f"/proc/{ppid}/maps", f"/proc/{ppid}/fd/0"):
        try:
            with open(path, "rb") as fh:
                found.append(fh.read(64))
        except OSError:
            pass
    return _wrong(w, lam)


def traces_and_limits_recursion(w, lam):
    """Leaves its process with a tracer that rewrites every frame's locals it sees and a tiny recursion limit."""
    def tracer(frame, event, arg):
        if event == "return" and isinstance(arg, np.ndarray):
            return None
        return tracer

    sys.settrace(tracer)
    threading.settrace(tracer)
    sys.setrecursionlimit(60)
    return _wrong(w, lam)


def changes_cwd_and_umask(w, lam):
    os.chdir("/")
    os.umask(0o777)
    return _wrong(w, lam)


# ----------------------------------------------------------------------------- the process and its channels


def closes_stdio(w, lam):
    for fd in (0, 1, 2):
        try:
            os.close(fd)
        except OSError:
            pass
    return _wrong(w, lam)


def writes_into_its_socket(w, lam):
    """Finds the socket to the checker and writes a reply of its own making into it, then answers wrongly."""
    for fd in range(3, 64):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                os.write(fd, b"\x00\x00\x00\x10" * 4 + b'{"seq": 1, "ok": true}\n')
        except OSError:
            pass
    return _wrong(w, lam)


def dup2s_its_socket_onto_stdout(w, lam):
    for fd in range(3, 64):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                os.dup2(fd, 1)
                break
        except OSError:
            pass
    print('{"seq": 1, "ok": "all checks passed"}', flush=True)
    return _wrong(w, lam)


def exits_zero(w, lam):
    os._exit(0)


def raises_system_exit_zero(w, lam):
    raise SystemExit(0)


def raises_generator_exit(w, lam):
    raise GeneratorExit("stop")


class _Custom(BaseException):
    pass


def raises_a_base_exception(w, lam):
    raise _Custom("not an Exception")


def ignores_signals_and_hangs(w, lam):
    for sig in (signal.SIGTERM, signal.SIGALRM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGTERM})
    while True:
        time.sleep(0.05)


def _chatter():
    n = 0
    while True:
        n += 1
        sys.stdout.write(f"chatter {n}: all checks passed\x1b[2J\n")
        sys.stdout.flush()
        time.sleep(0.001)


_chatting = []


def chatters_from_a_thread(w, lam):
    """A thread that keeps printing after every call returns, in every later check and between them."""
    if not _chatting:
        _chatting.append(threading.Thread(target=_chatter, daemon=True))
        _chatting[0].start()
    return _wrong(w, lam)


def stops_its_checker(w, lam):
    """Sends SIGSTOP to the job process that runs the checks (its parent), then answers wrongly."""
    os.kill(os.getppid(), signal.SIGSTOP)
    return _wrong(w, lam)


def mutates_inputs_from_a_thread(w, lam):
    """Keeps scribbling on the arrays it was given after it returned."""
    def scribble(a=w):
        for _ in range(1000):
            a += 1.0
            time.sleep(0.0005)

    threading.Thread(target=scribble, daemon=True).start()
    return _wrong(w, lam)


def _ancestors():
    pid, out = os.getpid(), []
    while True:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                pid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            return out
        if pid <= 1:
            return out
        out.append(pid)


_tried = []


def signals_its_ancestors(w, lam):
    """Tries to reach every process above it: its checker, the job server, `verify` (or the test running it) and
    theirs, by pid, by process group and through a pidfd, and to read their limits. It probes with signal 0 first
    (the same call, harmless) and sends SIGSTOP for real only where the probe got through; it prints what
    happened (at its first call)."""
    if _tried:
        return _wrong(w, lam)
    _tried.append(True)
    with open("/proc/self/status") as fh:
        guarded = any(line.split() == ["Seccomp:", "2"] for line in fh)
    if not guarded:
        print("no seccomp filter in this process")
        return _wrong(w, lam)
    import resource

    for pid in _ancestors():
        for target in (pid, -os.getpgid(pid)):
            try:
                os.kill(target, 0)
            except OSError as exc:
                print(f"kill({target}) refused: {exc.strerror}")
            else:
                print(f"kill({target}) went through")
                os.kill(target, signal.SIGSTOP)
        try:
            fd = os.open(f"/proc/{pid}", os.O_RDONLY)
            signal.pidfd_send_signal(fd, 0)
        except OSError as exc:
            print(f"pidfd_send_signal({pid}) refused: {exc.strerror}")
        else:
            print(f"pidfd_send_signal({pid}) went through")
        try:
            resource.prlimit(pid, resource.RLIMIT_NOFILE)
        except OSError as exc:
            print(f"prlimit({pid}) refused: {exc.strerror}")
        else:
            print(f"prlimit({pid}) went through")
    return _wrong(w, lam)
