"""The data-only encoding of what crosses between the checker and the target process (:mod:`verify.remote`).

Nothing here ever unpickles, evaluates or imports what the other side sent.
A message is one frame on a stream socket::

    <total length: 8 bytes> <header length: 4 bytes> <header: JSON> <array buffers>

The header is ``[value, [the buffers' lengths]]``, the value as a JSON tree:
a dict whose keys are all strings is a JSON object; everything else that
JSON cannot say is a list whose first item is a tag:

==========  ============================================================
``l t d``   list, tuple, other dict (``["d", key, value, key, value, ...]``)
``F S``     frozenset, set
``a``       numpy array: ``["a", dtype, shape, buffer index]`` (raw bytes)
``s``       numpy scalar: ``["s", dtype, buffer index]``
``y``       numpy dtype: ``["y", dtype]``
``c``       complex: ``["c", real, imaginary]``
``k``       a frozen dataclass of the verifier's (``Held``, ``Change``, ...):
            ``["k", module, name, {field: value}]``, rebuilt only from a
            class this process has already imported from a ``verify`` module
``x``       an exception, as text: ``["x", {"type", "text", ...}]``
``r``       a *handle*: an object that stays in the process that holds it
            (``["r", id, [its classes' module:name], callable]``)
``m``       an array the job placed in memory it shares with the target
            process (:mod:`verify.shared`): ``["m", dtype, shape, chunk,
            offset]``; only the target process decodes it (the job refuses
            it), as a writable array over that memory
==========  ============================================================

The descriptors of new chunks travel with a request frame (``SCM_RIGHTS``
on its first bytes). The job bounds the frame it accepts in reply by what it
asked for (``limit``), before allocating anything.

Decoding validates everything (dtypes from a fixed list, shapes that match
their buffer, tags, nesting, sizes) and sanitises every string
(:func:`verify.text.sanitise`); anything else is a :class:`WireError`, which
is a :class:`~verify.errors.ProtocolError`: what the target side sent is the
target's fault. The target process decodes what the job sends it ``trusted``:
validated alike, but its strings, the job's own, are not sanitised.
"""

from __future__ import annotations

import array
import dataclasses
import functools
import json
import math
import os
import socket
import struct
import sys
from itertools import islice
from typing import Any, Callable

import numpy as np

from verify.errors import ProtocolError
from verify.text import sanitise

__all__ = ["WireError", "RemoteException", "Handle", "Placed", "encode", "decode", "send", "Inbox", "MAX_FRAME",
           "ALLOWED_DTYPES", "describe_exception"]

#: The largest frame either side accepts (a target cannot make the checker allocate without bound).
MAX_FRAME = 1 << 30
_MAX_DEPTH = 64
_MAX_NDIM = 32
#: The dtypes an array may have on the wire.
ALLOWED_DTYPES = frozenset(np.dtype(t).str for t in (
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64, np.complex64, np.complex128))
_PREFIX = struct.Struct("<QI")
_PLAIN = frozenset({type(None), bool, str, int, float})
_NUMBERS = frozenset({type(None), bool, int, float})
_DTYPES = {text: np.dtype(text) for text in ALLOWED_DTYPES}
_JSON = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), check_circular=False)   # trees enc built: acyclic
_SMALL = 1 << 20                  # a frame under this size is written with one system call
_ALIGN = 64                       # where a frame's arrays start (a cache line; numpy wants the itemsize at least)
_ZEROS = bytes(_ALIGN)
_FIRST = 1 << 12                  # a frame under this size (and its prefix) is read with one system call
_BLOCK = 1 << 16                  # the aligned memory small frames are copied into, a block at a time
_ANCILLARY = socket.CMSG_SPACE(8 * 4)     # room for the descriptors of 8 new chunks with a request


class WireError(ProtocolError):
    """What came over the wire is not a well-formed message."""


@dataclasses.dataclass
class RemoteException(Exception):
    """An exception raised on the other side, as text: its type's name, its message, its traceback (target
    frames), and for a wrapped one (``TargetError``) where it happened and the exception it wraps."""

    type: str
    text: str
    traceback: str = ""
    where: str = ""
    inner: "RemoteException | None" = None

    def __str__(self) -> str:
        return self.text

    @property
    def remote_type(self) -> str:
        return self.type


@dataclasses.dataclass(frozen=True)
class Handle:
    """An object left on the side that holds it: its id there, its classes (``module:qualname``, most derived
    first) and whether it can be called."""

    id: int
    classes: tuple[str, ...]
    callable: bool


@dataclasses.dataclass(frozen=True)
class Placed:
    """An array the job wrote into a shared chunk (:mod:`verify.shared`): where, and as what."""

    chunk: int
    offset: int
    dtype: str
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return (_DTYPES.get(self.dtype) or np.dtype(self.dtype)).itemsize * math.prod(self.shape)


def describe_exception(exc: BaseException, traceback_text: str = "") -> RemoteException:
    """``exc`` as text; a ``TargetError`` keeps where it happened and the target's own exception."""
    inner = getattr(exc, "exc", None)
    where = getattr(exc, "where", "")
    return RemoteException(
        type(exc).__name__, _text(exc), traceback_text, where if isinstance(where, str) else "",
        describe_exception(inner, traceback_text) if isinstance(inner, BaseException) and where else None)


def _text(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - a __str__ that raises is the target's problem
        return f"<{type(exc).__name__} whose message cannot be read>"


# ----------------------------------------------------------------------------- encoding


@functools.lru_cache(maxsize=256)
def _classes(cls: type) -> tuple[str, ...]:
    return tuple(f"{c.__module__}:{c.__qualname__}" for c in cls.__mro__ if c is not object)


def encode(value: Any, handle: Callable[[Any], int | None] | None = None) -> tuple[bytes, list[memoryview]]:
    """``value`` as a JSON header (with the buffers' lengths) and array buffers. An object that is not data becomes
    a handle with the id ``handle(obj)`` gives it (``None``, or no ``handle``: it cannot be sent, ``TypeError``)."""
    buffers: list[memoryview] = []

    def enc(x: Any, depth: int) -> Any:
        t = type(x)
        if t in _PLAIN:
            return x
        if depth > _MAX_DEPTH:
            raise TypeError("a value nested too deeply to send")
        depth += 1
        if t is dict:           # plain items inline: most are, and a call each is most of the cost
            if all(type(k) is str for k in x):
                return {k: v if type(v) in _PLAIN else enc(v, depth) for k, v in x.items()}
            out: list[Any] = ["d"]
            for k, v in x.items():
                out.append(k if type(k) in _PLAIN else enc(k, depth))
                out.append(v if type(v) in _PLAIN else enc(v, depth))
            return out
        if t is list or t is tuple:
            return ["l" if t is list else "t", *[v if type(v) in _PLAIN else enc(v, depth) for v in x]]
        if isinstance(x, str):
            return x
        if t is np.ndarray and x.dtype.str in ALLOWED_DTYPES:        # little-endian already: no conversion
            buffers.append(memoryview(np.ascontiguousarray(x).reshape(-1)).cast("B"))
            return ["a", x.dtype.str, list(x.shape), len(buffers) - 1]
        if isinstance(x, (np.ndarray, np.generic)) and x.dtype.newbyteorder("<").str in ALLOWED_DTYPES:
            a = np.asarray(x, dtype=x.dtype.newbyteorder("<"), order="C")
            buffers.append(memoryview(a.reshape(-1)).cast("B"))
            if isinstance(x, np.generic):
                return ["s", a.dtype.str, len(buffers) - 1]
            return ["a", a.dtype.str, list(a.shape), len(buffers) - 1]
        if isinstance(x, Placed):
            return ["m", x.dtype, list(x.shape), x.chunk, x.offset]
        if isinstance(x, Handle):
            return ["r", x.id, list(x.classes), x.callable]
        if isinstance(x, np.dtype) and x.str in ALLOWED_DTYPES:
            return ["y", x.str]
        if t is complex:
            return ["c", x.real, x.imag]
        if t is frozenset or t is set:
            return ["F" if t is frozenset else "S", *[enc(v, depth) for v in x]]
        if isinstance(x, RemoteException):
            return ["x", enc({"type": x.type, "text": x.text, "traceback": x.traceback, "where": x.where,
                              "inner": x.inner}, depth)]
        if dataclasses.is_dataclass(x) and not isinstance(x, type) and t.__module__.startswith("verify.") \
                and t.__dataclass_params__.frozen:
            fields = {f.name: getattr(x, f.name) for f in dataclasses.fields(x)}
            return ["k", t.__module__, t.__qualname__, enc(fields, depth)]
        ref = handle(x) if handle is not None else None
        if ref is None:
            raise TypeError(f"a {t.__qualname__} cannot be sent to the other process (data only)")
        return ["r", ref, list(_classes(t)), callable(x)]

    tree = enc(value, 0)
    header = _JSON.encode([tree, [b.nbytes for b in buffers]]).encode("ascii")
    return header + b" " * _pad(len(header)), buffers


def framed(value: Any, handle: Callable[[Any], int | None] | None = None) -> tuple[bytes, int]:
    """The frame :func:`send` writes for ``value`` after its prefix, and its header's length (what :func:`decode`
    takes)."""
    header, buffers = encode(value, handle)
    return b"".join(_parts(header, buffers)), len(header)


def _parts(head: bytes, buffers: list[memoryview]) -> list[Any]:
    parts: list[Any] = [head]
    for b in buffers:
        parts += [b, _ZEROS[:_pad(b.nbytes)]]
    return parts


def _pad(n: int) -> int:
    """Bytes after ``n`` to the next multiple of :data:`_ALIGN`: the header and each buffer are padded so that every
    array starts aligned in the frame (numpy computes on a misaligned float64 array at half speed or less)."""
    return -n % _ALIGN


def send(sock: socket.socket, value: Any, handle: Callable[[Any], int | None] | None = None,
         fds: list[int] | None = None) -> None:
    """Encode ``value`` and write it as one frame; ``fds`` (descriptors) go with its first bytes."""
    header, buffers = encode(value, handle)
    total = len(header) + sum(b.nbytes + _pad(b.nbytes) for b in buffers)
    if total > MAX_FRAME:
        raise TypeError(f"a message of {total} bytes is more than the {MAX_FRAME} allowed")
    head = _PREFIX.pack(total, len(header)) + header
    if fds:
        sent = socket.send_fds(sock, [head], fds)
        head = head[sent:]
    parts = _parts(head, buffers)
    if total < _SMALL:
        sock.sendall(b"".join(parts))
        return
    for part in parts:
        sock.sendall(part)


# ----------------------------------------------------------------------------- decoding


class Inbox:
    """The frames arriving on one socket, read by :meth:`receive`.

    A frame's prefix and, for a small frame, the whole frame come in one system call (a buffer of
    :data:`_FIRST` bytes); a larger frame is allocated (aligned to :data:`_ALIGN`) once its prefix has been checked,
    and its rest read into it.
    Bytes that arrive past a frame (the next one's) are kept for the next call. ``shared``: the target process's
    :class:`verify.shared.Mapping`, which adopts the descriptors that come with the bytes (chunks of memory the
    job shares); without it no descriptor is accepted, and an array placed in shared memory is refused.
    """

    def __init__(self, sock: socket.socket, shared: Any = None):
        self.sock = sock
        self.shared = shared
        self.first = bytearray(_FIRST)
        self.kept = b""
        self.block, self.used = memoryview(b""), 0

    def _small(self, n: int) -> memoryview:
        """Aligned memory for a small frame: the next piece of a block shared by small frames (the arrays of a
        frame keep its block; aligning each frame alone costs more than the rest of its reading)."""
        if self.used + n > len(self.block):
            self.block, self.used = _aligned(_BLOCK), 0
        at = self.used
        self.used += n + _pad(n)
        return self.block[at:at + n]

    def _read(self, view: memoryview) -> int:
        """Read what has arrived into ``view`` (``EOFError`` when the other side has closed)."""
        if self.shared is None:
            n = self.sock.recv_into(view)
        else:
            n, ancillary, _, _ = self.sock.recvmsg_into([view], _ANCILLARY)
            fds = array.array("i")
            for level, kind, data in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
            if not n:
                for fd in fds:
                    os.close(fd)
            else:
                self.shared.adopt(list(fds))
        if not n:
            raise EOFError("the other process closed the connection")
        return n

    def receive(self, handle: Callable[[Handle], Any] | None = None, *, limit: int = MAX_FRAME,
                trusted: bool = False) -> Any:
        """Read one frame and decode it (:func:`decode`); ``EOFError`` when the other side has closed. A frame
        announced as more than ``limit`` bytes is refused before anything is allocated for it. ``trusted``: the
        sender is the job (see :func:`decode`)."""
        first, got = memoryview(self.first), len(self.kept)
        first[:got] = self.kept
        while got < _PREFIX.size:
            got += self._read(first[got:])
        total, header_len = _PREFIX.unpack_from(first)
        if total > min(limit, MAX_FRAME) or header_len > total:
            raise WireError(f"a message announced as {total} bytes (header {header_len}); the limit "
                            f"{'for what was asked ' if limit < MAX_FRAME else ''}is {min(limit, MAX_FRAME)}")
        end = _PREFIX.size + total
        if end <= got:
            frame = self._small(total)
            frame[:] = first[_PREFIX.size:end]
            self.kept = bytes(first[end:got])
        else:
            frame, at = _aligned(total), got - _PREFIX.size
            frame[:at] = first[_PREFIX.size:got]
            self.kept = b""
            while at < total:
                at += self._read(frame[at:])
        return decode(frame, header_len, handle, self.shared, trusted)


def _aligned(n: int) -> memoryview:
    """``n`` bytes of writable memory starting at a multiple of :data:`_ALIGN`."""
    memory = np.empty(n + _ALIGN, dtype=np.uint8)
    start = -memory.ctypes.data % _ALIGN
    return memoryview(memory[start:start + n])


def decode(frame: bytearray | memoryview, header_len: int, handle: Callable[[Handle], Any] | None = None,
           shared: Any = None, trusted: bool = False) -> Any:
    """The value of a frame (without its prefix). Arrays share the frame's memory (writable, no copy).
    ``trusted``: the frame is the job's (decoded in the target process): its strings are not sanitised."""
    try:
        header = json.loads(str(memoryview(frame)[:header_len], "ascii"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise WireError(f"a message that is not valid JSON ({type(exc).__name__})") from None
    if type(header) is not list or len(header) != 2:
        raise WireError("a message that is not a value and its buffers' lengths")
    tree, lengths = header
    if type(lengths) is not list or not all(type(n) is int and n >= 0 for n in lengths):
        raise WireError("a message with malformed buffer lengths")
    if header_len % _ALIGN:
        raise WireError("a message whose buffers are not aligned")
    offsets, at = [], header_len
    for n in lengths:
        offsets.append((at, n))
        at += n + _pad(n)
    if at != len(frame):
        raise WireError("a message whose buffers do not add up to its length")
    return _Decoder(frame, offsets, handle, shared, trusted).dec(tree, 0)


def _shape(shape: Any) -> bool:
    return type(shape) is list and len(shape) <= _MAX_NDIM and all(type(n) is int and n >= 0 for n in shape)


class _Decoder:
    def __init__(self, frame: bytearray | memoryview, offsets: list[tuple[int, int]],
                 handle: Callable[[Handle], Any] | None, shared: Any = None, trusted: bool = False):
        self.frame = frame
        self.offsets = offsets
        self.handle = handle
        self.shared = shared
        self.trusted = trusted

    def _buffer(self, index: Any) -> tuple[int, int]:
        if type(index) is not int or not 0 <= index < len(self.offsets):
            raise WireError(f"a reference to a buffer that was not sent ({index!r})")
        return self.offsets[index]

    @staticmethod
    def _dtype(text: Any) -> np.dtype:
        dt = _DTYPES.get(text) if type(text) is str else None
        if dt is None:
            raise WireError(f"an array of a dtype that is not allowed ({str(text)[:40]!r})")
        return dt

    def _array(self, dtype: Any, shape: Any, index: Any) -> np.ndarray:
        dt = self._dtype(dtype)
        if not _shape(shape):
            raise WireError(f"an array of malformed shape {str(shape)[:60]}")
        offset, nbytes = self._buffer(index)
        count = math.prod(shape)
        if count * dt.itemsize != nbytes:
            raise WireError(f"an array of shape {tuple(shape)} and dtype {dt} in a buffer of {nbytes} bytes")
        arr = np.frombuffer(self.frame, dtype=dt, count=count, offset=offset).reshape(shape)
        return arr if dt.isnative or dt.byteorder == "|" else arr.astype(dt.newbyteorder("="))

    def _placed(self, dtype: Any, shape: Any, chunk: Any, offset: Any) -> np.ndarray:
        dt = self._dtype(dtype)
        if not _shape(shape) or type(chunk) is not int or type(offset) is not int:
            raise WireError("a malformed placed array")
        arr = self.shared.array(chunk, offset, dt, tuple(shape))
        if arr is None:
            raise WireError(f"an array placed outside the shared memory (chunk {chunk}, offset {offset})")
        return arr if dt.isnative or dt.byteorder == "|" else arr.astype(dt.newbyteorder("="))

    def dec(self, x: Any, depth: int) -> Any:
        t = type(x)
        if t is str:
            return x if self.trusted else sanitise(x)
        if t is not list and t is not dict:
            return x                             # what else JSON gives: a number, true, false, null
        if depth > _MAX_DEPTH:
            raise WireError("a value nested too deeply")
        dec, depth = self.dec, depth + 1
        numbers = _NUMBERS if not self.trusted else _PLAIN      # what needs no call: JSON's numbers (and strings)
        if t is dict:
            if self.trusted:
                return {k: v if type(v) in numbers else dec(v, depth) for k, v in x.items()}
            return {sanitise(k): v if type(v) in numbers else dec(v, depth) for k, v in x.items()}
        if not x or type(x[0]) is not str:
            raise WireError("an untagged value (a list)")
        tag, n = x[0], len(x)
        try:
            if tag == "d":
                if not n % 2:
                    raise WireError("a dict with a key and no value")
                return {(k if type(k) in numbers else dec(k, depth)): (v if type(v) in numbers else dec(v, depth))
                        for k, v in zip(islice(x, 1, None, 2), islice(x, 2, None, 2))}
            if tag == "l":
                return [v if type(v) in numbers else dec(v, depth) for v in islice(x, 1, None)]
            if tag == "a" and n == 4:
                return self._array(x[1], x[2], x[3])
            if tag == "m" and n == 5 and self.shared is not None:
                return self._placed(x[1], x[2], x[3], x[4])
            if tag == "r" and n == 4:
                ref, classes, is_callable = x[1], x[2], x[3]
                if type(ref) is not int or type(classes) is not list or \
                        not all(type(c) is str for c in classes) or type(is_callable) is not bool:
                    raise WireError("a malformed handle")
                h = Handle(ref, tuple(c if self.trusted else sanitise(c) for c in classes[:64]), is_callable)
                return self.handle(h) if self.handle is not None else h
            if tag == "t":
                return tuple([v if type(v) in numbers else dec(v, depth) for v in islice(x, 1, None)])
            if tag == "s" and n == 3:
                return self._array(x[1], [], x[2])[()]
            if tag == "x" and n == 2:
                return self._exception(dec(x[1], depth))
            if tag == "k" and n == 4:
                return self._dataclass(x[1], x[2], dec(x[3], depth))
            if tag in ("F", "S"):
                items = [dec(x[i], depth) for i in range(1, n)]
                return frozenset(items) if tag == "F" else set(items)
            if tag == "y" and n == 2:
                return self._dtype(x[1])
            if tag == "c" and n == 3 and type(x[1]) in (int, float) and type(x[2]) in (int, float):
                return complex(x[1], x[2])
        except TypeError as exc:          # an unhashable key, a dataclass given wrong fields
            raise WireError(f"a malformed value ({exc})") from None
        raise WireError(f"an unknown or malformed tag {tag[:10]!r}")

    def _exception(self, data: Any) -> RemoteException:
        if not isinstance(data, dict) or not isinstance(data.get("type"), str) or \
                not isinstance(data.get("text"), str):
            raise WireError("a malformed exception")
        inner = data.get("inner")
        if inner is not None and not isinstance(inner, RemoteException):
            raise WireError("a malformed wrapped exception")
        return RemoteException(data["type"], data["text"], str(data.get("traceback", "")),
                               str(data.get("where", "")), inner)

    @staticmethod
    def _dataclass(module: Any, name: Any, fields: Any) -> Any:
        # Only a class this process has imported itself, from the verifier, frozen: no import is triggered,
        # and building it runs the verifier's own code on data.
        cls = None
        if isinstance(module, str) and isinstance(name, str) and module.startswith("verify.") \
                and isinstance(fields, dict):
            cls = sys.modules.get(module)
            for part in name.split("."):
                cls = getattr(cls, part, None)
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen):
            raise WireError(f"a record of an unknown kind ({str(module)[:60]}:{str(name)[:60]})")
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        if not set(fields) <= known:
            raise WireError(f"a {name} record with unknown fields")
        return cls(**fields)
