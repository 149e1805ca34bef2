"""Process hygiene for running suspect code: Linux ``prctl`` and ``capset`` through ctypes.

Every function here is best effort: on another system, or without the
privilege, it does nothing and says so by returning ``False``; the checks
still run, with less protection.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time

__all__ = ["describe_exit", "die_with_parent", "make_non_dumpable", "drop_ptrace", "become_subreaper", "children_of",
           "kill_descendants", "ancestors", "forbid_signalling"]

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_CAPBSET_DROP = 24
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_NO_NEW_PRIVS = 38
_CAP_SYS_PTRACE = 19
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _prctl(option: int, arg: int) -> bool:
    libc = _libc()
    if libc is None or not hasattr(libc, "prctl"):
        return False
    return libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0) == 0


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent dies (no orphan keeps running)."""
    return _prctl(_PR_SET_PDEATHSIG, sig)


def make_non_dumpable() -> bool:
    """Other processes of the same user (a target) may no longer open this one's ``/proc/PID/fd``,
    ``mem`` or ``environ``: only a process with ``CAP_SYS_PTRACE`` can."""
    return _prctl(_PR_SET_DUMPABLE, 0)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_ptrace() -> bool:
    """Give up ``CAP_SYS_PTRACE`` for good (a process running as root keeps every other power), so this
    process cannot reach into non-dumpable ones; no later ``exec`` regains a privilege."""
    libc = _libc()
    if libc is None or not hasattr(libc, "capget"):
        return False
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        return False
    word, bit = divmod(_CAP_SYS_PTRACE, 32)
    mask = ~(1 << bit) & 0xFFFFFFFF
    data[word].effective &= mask
    data[word].permitted &= mask
    data[word].inheritable &= mask
    ok = libc.capset(ctypes.byref(header), data) == 0
    _prctl(_PR_CAPBSET_DROP, _CAP_SYS_PTRACE)
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    return ok


# seccomp: a classic BPF program over struct seccomp_data (nr at 0, arch at 4, args from 16; little-endian).
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_RET_ALLOW = 0x7FFF0000
_RET_EPERM = 0x00050000 | 1
_LD_ABS, _JEQ, _JSET, _RET = 0x20, 0x15, 0x45, 0x06
_X32_BIT = 0x40000000
#: Per architecture (audit number): the system calls that take a pid first (kill, tkill, tgkill,
#: rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_open, prlimit64), and those refused outright (pidfd_send_signal,
#: which takes a descriptor of /proc/PID, which anyone may open).
_SYSCALLS = {
    0xC000003E: ((62, 200, 234, 129, 297, 434, 302), (424,)),            # x86_64
    0xC00000B7: ((129, 130, 131, 138, 240, 434, 261), (424,)),           # aarch64
}
_MACHINES = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def ancestors(pid: int | None = None) -> list[int]:
    """The processes above ``pid`` (this one by default), its parent first, up to but not including pid 1."""
    out, pid = [], os.getpid() if pid is None else pid
    while True:
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                stat = fh.read()
            pid = int(stat[stat.rfind(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            return out
        if pid <= 1 or pid in out:
            return out
        out.append(pid)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def forbid_signalling(pids: list[int]) -> bool:
    """From now on this process and its descendants may not signal ``pids`` or their process groups, nor every
    process at once (``kill(-1)``), nor change their resource limits: those calls fail with ``EPERM`` (a seccomp
    filter; ``no_new_privs`` is set for it). The verifier's processes above a target then cannot be stopped,
    killed or starved by it: a run always ends, with its report."""
    machine = _MACHINES.get(os.uname().machine)
    libc = _libc()
    if machine is None or libc is None or not hasattr(libc, "prctl"):
        return False
    guarded, refused = _SYSCALLS[machine]
    values = {-1}
    for pid in pids:
        values.update((pid, -pid))
        group = _pgid(pid)
        if group is not None and group > 1:
            values.add(-group)
    words = sorted({v & 0xFFFFFFFF for v in values})
    prog: list[tuple[int, int, int, int]] = [(_LD_ABS, 0, 0, 4)]
    # a foreign architecture (an i386 call from a 64-bit process) or x32 calls: refused
    prog.append((_JEQ, 1, 0, machine))
    prog.append((_RET, 0, 0, _RET_EPERM))
    prog.append((_LD_ABS, 0, 0, 0))
    if machine == 0xC000003E:
        prog.append((_JSET, 0, 1, _X32_BIT))
        prog.append((_RET, 0, 0, _RET_EPERM))
    for nr in refused:
        prog.append((_JEQ, 0, 1, nr))
        prog.append((_RET, 0, 0, _RET_EPERM))
    # a guarded call goes on to the test of its pid; any other is allowed
    n = len(guarded)
    for i, nr in enumerate(guarded):
        prog.append((_JEQ, n - i, 0, nr))
    prog.append((_RET, 0, 0, _RET_ALLOW))
    prog.append((_LD_ABS, 0, 0, 16))                     # the low 32 bits of the first argument: a pid_t
    for i, word in enumerate(words):
        prog.append((_JEQ, len(words) - i, 0, word))
    prog.append((_RET, 0, 0, _RET_ALLOW))
    prog.append((_RET, 0, 0, _RET_EPERM))
    filters = (_SockFilter * len(prog))(*[_SockFilter(code, jt, jf, k) for code, jt, jf, k in prog])
    fprog = _SockFprog(len(prog), filters)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), 0, 0, 0) != 0:
        return False
    return libc.prctl(_PR_SET_SECCOMP, ctypes.c_ulong(_SECCOMP_MODE_FILTER), ctypes.byref(fprog), 0, 0) == 0


def become_subreaper() -> bool:
    """Orphaned descendants (a target's daemonised grandchild) become this process's children, so that
    :func:`kill_descendants` can find them."""
    return _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def describe_exit(status: int | None) -> tuple[str, bool]:
    """``(how a process ended, whether it was killed from outside)`` from a ``waitpid`` status."""
    if status is None:
        return "stopped responding", False
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        # SIGKILL/SIGTERM/SIGHUP/SIGINT are what the out-of-memory killer, a CI cancel or `kill`
        # send; a target crashing on its own dies of SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL.
        return f"was killed by {name}", sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    return f"exited with status {os.WEXITSTATUS(status) if os.WIFEXITED(status) else status}", False


def children_of(pid: int, *, zombies: bool = True) -> list[int]:
    """The processes whose parent is ``pid`` (from ``/proc``); without ``zombies``, only those still running."""
    out = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may contain spaces and parentheses; it ends at the last ')'.
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid and (zombies or fields[0] not in (b"Z", b"X")):
            out.append(int(entry))
    return out


def kill_descendants(keep: frozenset[int] = frozenset(), rounds: int = 50, *,
                     spare: frozenset[int] = frozenset()) -> int:
    """SIGKILL every descendant of this process except ``keep`` (and theirs) and ``spare`` (whose own
    descendants are killed: a worker's target process between checks); returns how many died.

    In a subreaper, a killed child's own children are re-parented here and
    killed in the next round, until none is left.
    """
    me = os.getpid()
    killed = 0
    for _ in range(rounds):
        victims = [pid for pid in children_of(me) if pid not in keep and pid not in spare]
        victims += [pid for parent in spare for pid in children_of(parent, zombies=False)]
        if not victims:
            break
        for pid in victims:
            for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    kill()
                except OSError:
                    pass
        for pid in victims:
            try:
                os.waitpid(pid, 0)
                killed += 1
            except ChildProcessError:
                pass
        time.sleep(0.001)
    return killed
