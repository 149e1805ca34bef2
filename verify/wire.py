"""The data-only encoding of what crosses between the checker and the target process (:mod:`verify.remote`).

Nothing here ever unpickles, evaluates or imports what the other side sent.
A message is one frame on a stream socket::

    <total length: 8 bytes> <header length: 4 bytes> <header: JSON> <array buffers>

The header is the value as a JSON tree; everything that JSON cannot say is a
list whose first item is a tag:

==========  ============================================================
``l t d``   list, tuple, dict (``["d", key, value, key, value, ...]``)
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
target's fault.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
import struct
import sys
from typing import Any, Callable

import numpy as np

from verify.errors import ProtocolError
from verify.text import sanitise

__all__ = ["WireError", "RemoteException", "Handle", "Placed", "encode", "decode", "send", "receive", "MAX_FRAME",
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
_SMALL = 1 << 20                  # a frame under this size is written with one system call


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


def _classes(obj: Any) -> list[str]:
    return [f"{c.__module__}:{c.__qualname__}" for c in type(obj).__mro__ if c is not object]


def encode(value: Any, handle: Callable[[Any], int | None] | None = None) -> tuple[bytes, list[memoryview]]:
    """``value`` as a JSON header and array buffers. An object that is not data becomes a handle with the id
    ``handle(obj)`` gives it (``None``, or no ``handle``: it cannot be sent, ``TypeError``)."""
    buffers: list[memoryview] = []

    def enc(x: Any, depth: int) -> Any:
        if type(x) in _PLAIN:
            return x
        if depth > _MAX_DEPTH:
            raise TypeError("a value nested too deeply to send")
        if isinstance(x, (bool, str)):
            return x
        if isinstance(x, (int, float)) and type(x) in (int, float):
            return x
        if isinstance(x, (np.ndarray, np.generic)) and x.dtype.newbyteorder("<").str in ALLOWED_DTYPES:
            a = np.asarray(x, dtype=x.dtype.newbyteorder("<"), order="C")
            buffers.append(memoryview(a.reshape(-1)).cast("B"))
            if isinstance(x, np.generic):
                return ["s", a.dtype.str, len(buffers) - 1]
            return ["a", a.dtype.str, list(a.shape), len(buffers) - 1]
        if isinstance(x, np.dtype) and x.str in ALLOWED_DTYPES:
            return ["y", x.str]
        if type(x) is complex:
            return ["c", x.real, x.imag]
        if type(x) in (list, tuple):
            return ["l" if type(x) is list else "t", *(enc(v, depth + 1) for v in x)]
        if type(x) is dict:
            out: list[Any] = ["d"]
            for k, v in x.items():
                out += [enc(k, depth + 1), enc(v, depth + 1)]
            return out
        if type(x) in (frozenset, set):
            return ["F" if type(x) is frozenset else "S", *(enc(v, depth + 1) for v in x)]
        if isinstance(x, RemoteException):
            return ["x", enc({"type": x.type, "text": x.text, "traceback": x.traceback, "where": x.where,
                              "inner": x.inner}, depth + 1)]
        if isinstance(x, Handle):
            return ["r", x.id, list(x.classes), x.callable]
        if isinstance(x, Placed):
            return ["m", x.dtype, list(x.shape), x.chunk, x.offset]
        if dataclasses.is_dataclass(x) and not isinstance(x, type) and type(x).__module__.startswith("verify.") \
                and type(x).__dataclass_params__.frozen:
            fields = {f.name: getattr(x, f.name) for f in dataclasses.fields(x)}
            return ["k", type(x).__module__, type(x).__qualname__, enc(fields, depth + 1)]
        ref = handle(x) if handle is not None else None
        if ref is None:
            raise TypeError(f"a {type(x).__qualname__} cannot be sent to the other process (data only)")
        return ["r", ref, _classes(x), callable(x)]

    header = json.dumps(enc(value, 0), ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return header, buffers


def send(sock: socket.socket, value: Any, handle: Callable[[Any], int | None] | None = None,
         fds: list[int] | None = None) -> None:
    """Encode ``value`` and write it as one frame; ``fds`` (descriptors) go with its first bytes."""
    header, buffers = encode(value, handle)
    total = len(header) + sum(b.nbytes for b in buffers)
    if total > MAX_FRAME:
        raise TypeError(f"a message of {total} bytes is more than the {MAX_FRAME} allowed")
    lengths = json.dumps([b.nbytes for b in buffers]).encode("ascii")
    head = _PREFIX.pack(total + len(lengths) + 4, len(header)) + header + struct.pack("<I", len(lengths)) + lengths
    if fds:
        sent = socket.send_fds(sock, [head], fds)
        head = head[sent:]
    if total < _SMALL:
        sock.sendall(b"".join([head, *buffers]))
        return
    sock.sendall(head)
    for b in buffers:
        sock.sendall(b)


# ----------------------------------------------------------------------------- decoding


def _read_exactly(sock: socket.socket, n: int) -> bytearray:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise EOFError("the other process closed the connection")
        got += k
    return buf


def _read_prefix(sock: socket.socket, shared: Any) -> bytes:
    """The frame's prefix; with ``shared`` (the target process's :class:`verify.shared.Mapping`), read with the
    descriptors that came with it, which it adopts."""
    if shared is None:
        return bytes(_read_exactly(sock, _PREFIX.size))
    got, fds = b"", []
    while len(got) < _PREFIX.size:
        data, more, _, _ = socket.recv_fds(sock, _PREFIX.size - len(got), 8)
        fds += more
        if not data:
            for fd in fds:
                os.close(fd)
            raise EOFError("the other process closed the connection")
        got += data
    shared.adopt(fds)
    return got


def receive(sock: socket.socket, handle: Callable[[Handle], Any] | None = None, *, limit: int = MAX_FRAME,
            shared: Any = None) -> Any:
    """Read one frame and decode it (:func:`decode`); ``EOFError`` when the other side has closed. A frame
    announced as more than ``limit`` bytes is refused before anything is allocated for it. ``shared``: the
    target process's :class:`verify.shared.Mapping` (arrays the job placed in shared memory); without it such
    an array is refused."""
    total, header_len = _PREFIX.unpack(_read_prefix(sock, shared))
    if total > min(limit, MAX_FRAME) or header_len > total:
        raise WireError(f"a message announced as {total} bytes (header {header_len}); the limit "
                        f"{'for what was asked ' if limit < MAX_FRAME else ''}is {min(limit, MAX_FRAME)}")
    frame = _read_exactly(sock, total)
    return decode(frame, header_len, handle, shared)


def decode(frame: bytearray, header_len: int, handle: Callable[[Handle], Any] | None = None,
           shared: Any = None) -> Any:
    """The value of a frame (without its prefix). Arrays share the frame's memory (writable, no copy)."""
    try:
        header = json.loads(bytes(frame[:header_len]).decode("ascii"))
        (lengths_len,) = struct.unpack_from("<I", frame, header_len)
        lengths = json.loads(bytes(frame[header_len + 4:header_len + 4 + lengths_len]).decode("ascii"))
    except (ValueError, UnicodeDecodeError, struct.error, RecursionError) as exc:
        raise WireError(f"a message that is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(lengths, list) or not all(type(n) is int and n >= 0 for n in lengths):
        raise WireError("a message with malformed buffer lengths")
    offsets, at = [], header_len + 4 + lengths_len
    for n in lengths:
        offsets.append((at, n))
        at += n
    if at != len(frame):
        raise WireError("a message whose buffers do not add up to its length")
    return _Decoder(frame, offsets, handle, shared).dec(header, 0)


class _Decoder:
    def __init__(self, frame: bytearray, offsets: list[tuple[int, int]], handle: Callable[[Handle], Any] | None,
                 shared: Any = None):
        self.frame = frame
        self.offsets = offsets
        self.handle = handle
        self.shared = shared

    def _buffer(self, index: Any) -> tuple[int, int]:
        if type(index) is not int or not 0 <= index < len(self.offsets):
            raise WireError(f"a reference to a buffer that was not sent ({index!r})")
        return self.offsets[index]

    @staticmethod
    def _dtype(text: Any) -> np.dtype:
        if not isinstance(text, str) or text not in ALLOWED_DTYPES:
            raise WireError(f"an array of a dtype that is not allowed ({str(text)[:40]!r})")
        return np.dtype(text)

    def _array(self, dtype: Any, shape: Any, index: Any) -> np.ndarray:
        dt = self._dtype(dtype)
        if not isinstance(shape, list) or len(shape) > _MAX_NDIM or \
                not all(type(n) is int and n >= 0 for n in shape):
            raise WireError(f"an array of malformed shape {str(shape)[:60]}")
        offset, nbytes = self._buffer(index)
        count = math.prod(shape)
        if count * dt.itemsize != nbytes:
            raise WireError(f"an array of shape {tuple(shape)} and dtype {dt} in a buffer of {nbytes} bytes")
        arr = np.frombuffer(self.frame, dtype=dt, count=count, offset=offset).reshape(shape)
        return arr if dt.byteorder in "=|" or dt.isnative else arr.astype(dt.newbyteorder("="))

    def _placed(self, dtype: Any, shape: Any, chunk: Any, offset: Any) -> np.ndarray:
        dt = self._dtype(dtype)
        if not isinstance(shape, list) or len(shape) > _MAX_NDIM or \
                not all(type(n) is int and n >= 0 for n in shape) or type(chunk) is not int or type(offset) is not int:
            raise WireError("a malformed placed array")
        arr = self.shared.array(chunk, offset, dt, tuple(shape))
        if arr is None:
            raise WireError(f"an array placed outside the shared memory (chunk {chunk}, offset {offset})")
        return arr if dt.byteorder in "=|" or dt.isnative else arr.astype(dt.newbyteorder("="))

    def dec(self, x: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise WireError("a value nested too deeply")
        if x is None or isinstance(x, (bool, int, float)):
            return x
        if isinstance(x, str):
            return sanitise(x)
        if not isinstance(x, list) or not x or not isinstance(x[0], str):
            raise WireError(f"an untagged value ({type(x).__name__})")
        tag, rest = x[0], x[1:]
        d = depth + 1
        try:
            if tag == "l":
                return [self.dec(v, d) for v in rest]
            if tag == "t":
                return tuple(self.dec(v, d) for v in rest)
            if tag == "d":
                if len(rest) % 2:
                    raise WireError("a dict with a key and no value")
                return {self.dec(rest[i], d): self.dec(rest[i + 1], d) for i in range(0, len(rest), 2)}
            if tag in ("F", "S"):
                items = [self.dec(v, d) for v in rest]
                return frozenset(items) if tag == "F" else set(items)
            if tag == "a" and len(rest) == 3:
                return self._array(*rest)
            if tag == "m" and len(rest) == 4 and self.shared is not None:
                return self._placed(*rest)
            if tag == "s" and len(rest) == 2:
                return self._array(rest[0], [], rest[1])[()]
            if tag == "y" and len(rest) == 1:
                return self._dtype(rest[0])
            if tag == "c" and len(rest) == 2 and all(type(v) in (int, float) for v in rest):
                return complex(rest[0], rest[1])
            if tag == "x" and len(rest) == 1:
                return self._exception(self.dec(rest[0], d))
            if tag == "k" and len(rest) == 3:
                return self._dataclass(rest[0], rest[1], self.dec(rest[2], d))
            if tag == "r" and len(rest) == 3:
                ref, classes, is_callable = rest
                if type(ref) is not int or not isinstance(classes, list) or \
                        not all(isinstance(c, str) for c in classes) or type(is_callable) is not bool:
                    raise WireError("a malformed handle")
                h = Handle(ref, tuple(sanitise(c) for c in classes[:64]), is_callable)
                return self.handle(h) if self.handle is not None else h
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
