"""Writing reports to disk: paths checked before a run, both files replaced together, nothing else touched.

* :func:`check_output_paths` — before any check runs, each path must be able to
  take a report: an existing path must be (or be a symlink to) a regular file;
  the nearest existing directory above it must be writable. Anything else is a
  :class:`~verify.errors.UsageError` (``verify check`` exits 2 with one line)
  — never a surprise after a long run.
* :func:`write_reports` — the JSON and HTML are rendered and written to
  temporary files beside their final paths first; only then are the old
  reports removed and the new ones renamed into place, with interrupts held
  off, so the pair is never one new file beside an old one (a ``SIGKILL``
  in that instant leaves a new report beside a missing one). A symlink is
  followed: the file it points to is replaced, the link kept. Temporary files
  of earlier runs that died are removed.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import tempfile
from typing import TYPE_CHECKING, Iterator, Sequence

from verify.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from verify.results import Report

__all__ = ["check_output_paths", "write_reports", "write_text_files"]

_TMP = ".{name}.verify-tmp-{pid}-"
_STALE = re.compile(r"^\.(?P<name>.+)\.verify-tmp-(?P<pid>\d+)-")


class OutputPathError(UsageError):
    """A report path that cannot take a report."""


def _describe_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _final_path(path: str) -> str:
    """Where the report goes: ``path`` with symlinks resolved (the link itself is kept)."""
    return os.path.realpath(path)


def _check(label: str, path: str) -> str:
    """The final path of ``path`` if it can take a report, else :class:`OutputPathError` (``label: why``)."""
    try:
        final = _final_path(path)
        # What the path itself names (a magic link such as /dev/stdout resolves to no path): only a regular file
        # or nothing may be there.
        mode = os.stat(path).st_mode
    except ValueError:
        raise OutputPathError(f"{label}: cannot be used (a NUL character in the path)") from None
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputPathError(f"{label}: cannot be used ({exc.strerror})") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputPathError(f"{label}: is {_describe_kind(mode)}; give the path of a file "
                              "(only regular files are replaced)")
    if mode is not None and not os.access(final, os.W_OK):
        raise OutputPathError(f"{label}: the file is not writable")
    parent = os.path.dirname(final)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise OutputPathError(f"{label}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"{label}: the directory {parent} is not writable")
    return final


def check_output_paths(paths: Sequence[tuple[str, str | None]]) -> None:
    """Raise :class:`OutputPathError` naming the option unless every ``(option, path)`` can take a report."""
    seen: dict[str, str] = {}
    for option, path in paths:
        if not path:
            continue
        final = _check(f"{option} {path}", path)
        if final in seen:
            raise OutputPathError(f"{option} {path}: the same file as {seen[final]}; give each report its own path")
        seen[final] = option


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP wait until the block is done (only SIGKILL can cut it)."""
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, ValueError, OSError):   # not the main thread's business, or not POSIX
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_temporaries(directory: str, name: str) -> None:
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in entries:
        m = _STALE.match(entry)
        if m and m["name"] == name and int(m["pid"]) != os.getpid() and not _alive(int(m["pid"])):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, entry))


def _temporary(final: str, text: str) -> str:
    directory, name = os.path.split(final)
    os.makedirs(directory, exist_ok=True)
    _remove_stale_temporaries(directory, name)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=_TMP.format(name=name, pid=os.getpid()))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates the file 0600; give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def write_text_files(files: Sequence[tuple[str, str]]) -> None:
    """Write every ``(path, text)`` so that all of them are new, or none is (see the module docstring)."""
    finals = [_check(path, path) for path, _ in files]
    temporaries: list[str] = []
    try:
        for final, (_, text) in zip(finals, files):
            temporaries.append(_temporary(final, text))
        with _interrupts_held():
            for final in finals:
                if os.path.lexists(final):
                    if not stat.S_ISREG(os.lstat(final).st_mode):
                        raise OutputPathError(f"{final}: is no longer a regular file; not replaced")
            for final in finals:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(final)
            for tmp, final in zip(temporaries, finals):
                os.replace(tmp, final)
            temporaries.clear()
    finally:
        for tmp in temporaries:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_reports(report: "Report", json_path: str | None, html_path: str | None) -> None:
    """Render ``report`` as JSON and/or HTML and write both together (:func:`write_text_files`)."""
    files = []
    if json_path:
        files.append((json_path, report.to_json()))
    if html_path:
        from verify.report import render_html

        files.append((html_path, render_html(report)))
    if files:
        write_text_files(files)
