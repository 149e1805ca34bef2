"""Memory the job shares with its target process, so that the job sees for itself what a call did to its inputs.

An argument of a subject's method annotated :class:`~verify.adapters.base.Given` (``w`` of a regulariser's
``grad``, the gradients of an optimizer's ``step``, a layer's ``x``) is not copied into the request frame: the
job writes it into a *chunk* (a sealed memfd, mapped by both processes, handed over with the request by
``SCM_RIGHTS``) and sends its place (:mod:`verify.wire`'s ``m`` tag). The target process hands that memory to
the target as an ordinary writable numpy array (:func:`handed`), and once the reply is in, the job compares it
with the private copy it kept (:mod:`verify.remote`): an in-place change is seen by the process that judges it,
whatever the target did to the bookkeeping in its own process.

Only the comparison ever reads a chunk: what the checks compute comes from the job's private copies and from
reply frames. Chunks are filled once, never reused: a target may keep an array it was given (a layer's cache)
and the memory stays with it; the kernel frees a chunk when neither process maps it any more. A chunk is
sealed against shrinking and growing, so a target cannot make the job's reads fault.
"""

from __future__ import annotations

import fcntl
import math
import mmap
import os
from typing import Any

import numpy as np

__all__ = ["Arena", "Mapping", "handed", "CHUNK", "SHARED_MAX"]

#: The size of a chunk.
CHUNK = 1 << 20
#: The largest array shared: fresh shared memory costs page faults on both sides, ~2 ms per MB under load, where
#: the socket copies a megabyte in a fraction of that. The checks that judge mutation send arrays of a few
#: entries; a larger array travels in the frame and only the target process's record watches it.
SHARED_MAX = 64 << 10
_ALIGN = 64
_SEALS = getattr(fcntl, "F_SEAL_SHRINK", 0) | getattr(fcntl, "F_SEAL_GROW", 0) | getattr(fcntl, "F_SEAL_SEAL", 0)
#: How many chunks the target process keeps addressable (a request only names the chunks it brings and the one
#: current before it).
_TABLE = 8


class _Chunk(mmap.mmap):
    """A mapping of a chunk (a subclass only to recognise arrays that live in one)."""


class Arena:
    """The job's side: chunks it creates and fills, and the descriptors of new ones, sent with the next request.

    ``unavailable`` says why nothing can be shared (no memfd, no seals): then arrays travel in the frame as
    before and the job has not seen what calls did to them.
    """

    def __init__(self) -> None:
        self.unavailable: str | None = None
        if not hasattr(os, "memfd_create") or not _SEALS or not hasattr(fcntl, "F_ADD_SEALS"):
            self.unavailable = "this system cannot share sealed memory with the target process (no memfd seals)"
        self.count = 0                   # chunks created; the target process numbers them alike, from 1
        self.current: tuple[int, _Chunk] | None = None
        self.used = 0
        self.fds: list[int] = []         # created, not sent yet

    def _new(self, size: int) -> tuple[int, _Chunk]:
        fd = os.memfd_create("verify-inputs", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.ftruncate(fd, size)
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
            chunk = _Chunk(fd, size)
        except BaseException:
            os.close(fd)
            raise
        self.fds.append(fd)
        self.count += 1
        return self.count, chunk

    def place(self, value: np.ndarray) -> tuple[tuple[int, int], np.ndarray] | None:
        """Copy ``value`` (C order, little-endian) into a chunk: its place ``(chunk, offset)`` and the job's view of
        it; ``None`` when it is not shared (larger than :data:`SHARED_MAX`, or the arena is unavailable, or creating
        a chunk failed: then ``unavailable`` says why)."""
        if self.unavailable is not None or value.nbytes > SHARED_MAX:
            return None
        a = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
        size = max(a.nbytes, 1)
        if self.current is None or self.used + size > len(self.current[1]):
            try:
                self.current = self._new(CHUNK)
            except OSError as exc:
                self.unavailable = f"sharing memory with the target process failed ({exc.strerror or exc})"
                return None
            self.used = 0
        number, chunk = self.current
        offset = self.used
        self.used += -(-size // _ALIGN) * _ALIGN
        view = np.frombuffer(chunk, dtype=a.dtype, count=a.size, offset=offset).reshape(a.shape)
        view[...] = a
        return (number, offset), view

    def take_fds(self) -> list[int]:
        """The descriptors of the chunks created since the last request (the caller sends then closes them)."""
        fds, self.fds = self.fds, []
        return fds


class Mapping:
    """The target process's side: the chunks it was sent, and the arrays a request places in them."""

    def __init__(self) -> None:
        self.count = 0
        self.chunks: dict[int, _Chunk] = {}

    def adopt(self, fds: list[int]) -> None:
        for fd in fds:
            try:
                self.count += 1
                self.chunks[self.count] = _Chunk(fd, os.fstat(fd).st_size)
            finally:
                os.close(fd)
            while len(self.chunks) > _TABLE:
                del self.chunks[next(iter(self.chunks))]     # arrays made from it keep it mapped

    def array(self, number: int, offset: int, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray | None:
        chunk = self.chunks.get(number)
        count = math.prod(shape)
        if chunk is None or offset < 0 or offset % _ALIGN or offset + count * dtype.itemsize > len(chunk):
            return None
        return np.frombuffer(chunk, dtype=dtype, count=count, offset=offset).reshape(shape)


def handed(value: Any) -> Any:
    """What an adapter hands to target code for an input: the array itself when it lives in a chunk (given for
    this call only; the job compares it there), else a private copy, so target code never changes the caller's
    data; anything not an array as it is."""
    if not isinstance(value, np.ndarray):
        return value
    base: Any = value
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    if isinstance(base, memoryview) and isinstance(base.obj, _Chunk):
        return value
    return np.array(value, copy=True)
