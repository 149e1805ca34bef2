"""What a target prints in a job, bounded and attributed to the check that printed it.

A job process and its target process print into one pipe that the parent
reads (:mod:`verify.isolation`), while the job's events (``start``,
``result``) travel on another. The two channels are read separately, so the
time at which the parent handles an event says nothing about where in the
output stream the check began or ended. The job therefore *frames* the
stream: before a check it writes a begin marker, after it (before its
``result`` event) an end marker, each one atomic write (shorter than
``PIPE_BUF``). The parent cuts the stream at the markers
(:class:`Frames`), so a check's output is what was written between its two
markers, however late the events are handled.

A marker carries a nonce the job draws after forking its target process
(:func:`new_marker`) and announces on the events pipe, which the target
process does not hold: the target cannot forge a marker, so it cannot move
its prints into another check or hide them.

What is written outside every frame (while the target is loaded, between
two checks, after the last one) is not dropped: it is kept, bounded, and
given to the next check that begins, after a note saying so (:data:`BEFORE`);
what is left when the job ends goes to the job's last check, the parent adds
it after a note (:data:`AFTER`). The pipe knows nothing of threads: what a
thread of the target prints lands where the stream is when it is written,
the check in progress or outside any. Output is evidence only; it never
changes a verdict.
"""

from __future__ import annotations

import os
import secrets
import sys

__all__ = ["Bounded", "Frames", "new_marker", "write_frame", "BEFORE", "DURING", "AFTER"]

#: The longest a frame header may be (a nonce and a check's name): far below PIPE_BUF, so one write is atomic.
_HEADER_LIMIT = 512

#: The notes before output written outside every frame, given to the next check, or to the job's last check.
BEFORE = "[printed before this check began (while the target was loaded, or between checks)]"
DURING = "[printed during this check]"
AFTER = "[printed after this check ended, before its worker process did (a thread of the target, say)]"


class Bounded:
    """Bytes printed: the first and last ``keep`` kept, and how many in all (a target that prints without end
    never fills the parent's memory or a disk; the middle is dropped)."""

    def __init__(self, keep: int = 2000):
        self.keep = keep
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.keep - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            del self.tail[:-self.keep]

    def text(self) -> str:
        if not self.total:
            return ""
        dropped = self.total - len(self.head) - len(self.tail)
        middle = (f"\n... [{dropped} more bytes printed, {self.total} in total; the first and last {self.keep} "
                  "are kept] ...\n" if dropped else "")
        return (bytes(self.head).decode("utf-8", "replace") + middle
                + bytes(self.tail).decode("utf-8", "replace"))


def new_marker() -> str:
    """A fresh nonce for a job's frames (draw it after the target process is forked: never in its memory)."""
    return secrets.token_hex(16)


def _header(marker: str) -> bytes:
    return b"\x00dlverify " + marker.encode("ascii") + b" "


def write_frame(marker: str, edge: str, check: str) -> None:
    """Write a ``begin`` or ``end`` marker of ``check`` into this process's output, after what it printed."""
    sys.stdout.flush()
    sys.stderr.flush()
    frame = _header(marker) + f"{edge} {check}".encode("utf-8") + b"\x00"
    assert len(frame) < _HEADER_LIMIT
    os.write(1, frame)


class Frames:
    """The parent's reading of a job's output stream: cut at the job's markers into per-check output.

    Before the marker is known (:meth:`set_marker`) and between frames, what
    arrives is *outside* any check: kept (bounded, a quarter of a frame's
    share) and given to the next frame that begins, after the note
    :data:`BEFORE`; :meth:`take_open` hands out what is outside when the job
    stopped there.
    """

    def __init__(self, keep: int = 2000):
        self.keep = keep
        self.header: bytes | None = None
        self.pending = b""                     # a possible marker split by a read, not yet decided
        self.current: str | None = None        # the check whose frame is open
        self.open = Bounded(keep)              # the open frame's output
        self.outside = Bounded(keep // 4)      # output outside frames since the last one ended
        self.before = ""                       # what was outside when the open frame began
        self.closed: dict[str, str] = {}       # checks whose frame ended, not yet taken

    def _add(self, data: bytes) -> None:
        (self.open if self.current is not None else self.outside).add(data)

    @property
    def marker_known(self) -> bool:
        return self.header is not None

    def set_marker(self, marker: str) -> bool:
        """Take the job's nonce (once; a well-formed one only)."""
        if self.header is not None or not (isinstance(marker, str) and len(marker) == 32 and
                                           all(c in "0123456789abcdef" for c in marker)):
            return False
        self.header = _header(marker)
        return True

    def feed(self, data: bytes) -> None:
        if self.header is None:
            self._add(data)
            return
        buf = self.pending + data
        self.pending = b""
        while buf:
            i = buf.find(self.header)
            if i < 0:
                keep = _partial(buf, self.header)
                self._add(buf[:len(buf) - keep])
                self.pending = buf[len(buf) - keep:]
                return
            self._add(buf[:i])
            end = buf.find(b"\x00", i + len(self.header))
            if end < 0:
                if len(buf) - i < _HEADER_LIMIT:
                    self.pending = buf[i:]     # the rest of the marker is still in the pipe
                    return
                end = len(buf)                 # cannot be one of ours: written atomically and short
            edge, _, name = buf[i + len(self.header):end].decode("utf-8", "replace").partition(" ")
            self._edge(edge, name)
            buf = buf[end + 1:]

    def _edge(self, edge: str, name: str) -> None:
        if edge == "begin":
            if self.current is not None:       # cannot happen with the job's frames; never lose output
                self.outside.add(self.open.text().encode())
            self.current, self.open = name, Bounded(self.keep)
            self.before, self.outside = self.outside.text(), Bounded(self.keep // 4)
        elif edge == "end" and self.current == name:
            self.closed[name] = self._frame_text()
            self.current, self.open = None, Bounded(self.keep)

    def _frame_text(self) -> str:
        own, before = self.open.text(), self.before.rstrip("\n")
        self.before = ""
        if not before:
            return own
        return f"{BEFORE}\n{before}\n" + (f"{DURING}\n{own}" if own else "")

    def take(self, check: str) -> str:
        """What ``check`` printed, once its frame ended (``""`` if it has none), after what was printed outside
        every frame just before it began, if anything was."""
        return self.closed.pop(check, "")

    def take_open(self) -> str:
        """The job stopped: what the open frame holds (as :meth:`take` would give it), or, with no frame open,
        what arrived outside frames since the last one ended."""
        if self.pending:
            self._add(self.pending)
            self.pending = b""
        if self.current is not None:
            out = self._frame_text()
            self.current, self.open = None, Bounded(self.keep)
        else:
            out, self.outside = self.outside.text(), Bounded(self.keep // 4)
        return out


def _partial(buf: bytes, header: bytes) -> int:
    """The length of the longest end of ``buf`` that begins ``header`` (a marker a read cut in two)."""
    for k in range(min(len(header) - 1, len(buf)), 0, -1):
        if buf.endswith(header[:k]):
            return k
    return 0
