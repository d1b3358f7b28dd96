"""The wire format between the grader and the worker: one framer, used by both sides.

A message is plain data (None, bool, int, float, str, lists, tuples, dicts with str keys, numpy arrays and
scalars of numeric dtypes).  On the wire it is a header and a MessagePack body::

    b"DGW3" | u64 body bytes | MessagePack

The body is MessagePack as the ``msgpack`` library writes and reads it (in C: no walk of the message in
Python on the sending side), with three extension types for what MessagePack does not have: an array and a
numpy scalar (``u8 dtype length | dtype, e.g. b"<f8" | u8 dimensions | u64 × dimensions | the C-ordered
bytes``), and a tuple's marker: a tuple is a list whose first item is the marker (an extension of no data), so
its items are unpacked where they lie, never copied out of an extension and unpacked again.

Reading is *sans-IO*: a :class:`Reader` says how many bytes it needs next and where to put them, so the grader
can read under a deadline from a non-blocking pipe and the worker can read with plain blocking calls, both
through this one parser (a message that a pipe's :class:`Inbox` already holds whole, the usual case, is decoded
where it lies, its header checked as the Reader checks it). Everything a reader is given is untrusted: the
body's size is checked against a limit *before* anything is allocated; every array's dtype must be numeric and
its header must describe exactly the bytes that follow; nothing is ever unpickled; containers and their elements
are counted as they are built (at most :data:`MAX_ELEMENTS`), and what comes out is checked to be plain data no
more than :data:`MAX_DEPTH` levels deep (MessagePack's own extension, a timestamp, its bytes, and a tuple's
marker anywhere but first in a list are not plain data). Anything else is a :class:`ProtocolError`.

This file is self-contained (stdlib, numpy and msgpack, :data:`NEEDS`): the worker loads it by path inside the
sandbox.
"""

from __future__ import annotations

import functools
import math
import os
import re
import select
import struct
import time
from collections.abc import Callable
from typing import Any

import msgpack

MAGIC = b"DGW3"
_HEAD = struct.Struct("!4sQ")
#: Bytes of a message's header (before its MessagePack body).
HEADER_SIZE = _HEAD.size
#: Distributions this file needs besides numpy: a worker that may import only some packages is given these too.
NEEDS = ("msgpack",)
#: Hard ceilings, whatever a caller allows: a whole message, nesting, elements, an array's dimensions.
MAX_MESSAGE = 512 * 1024 * 1024
MAX_DEPTH = 64
MAX_ELEMENTS = 2_000_000
MAX_DIMS = 32
#: The dtypes an array may have, as kind and item size: bool, signed, unsigned, float, complex of the usual sizes;
#: never object, structured, str, void, datetime, nor ``np.longdouble`` (its size and layout are the machine's).
_NUMERIC = frozenset({"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"})
#: MessagePack extension codes.
_ARRAY, _SCALAR, _TUPLE = 1, 2, 3


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message (or one over a limit)."""


_NUMPY: Any = None


def _np() -> Any:
    """numpy, imported when first needed (this file is loaded before anything else in the worker)."""
    global _NUMPY
    if _NUMPY is None:
        import numpy

        _NUMPY = numpy
    return _NUMPY


# --------------------------------------------------------------------------- encoding
def encode(value: Any) -> list[bytes | memoryview]:
    """The chunks of one message holding ``value`` (raises ``TypeError`` for anything but plain data)."""
    return _framed(pack(value))


def _framed(body: bytes) -> list[bytes | memoryview]:
    """A message's chunks: its header, then its MessagePack ``body``."""
    return [_HEAD.pack(MAGIC, len(body)), body]


def encode_bytes(value: Any) -> bytes:
    return b"".join(encode(value))


def encode_with_list(head: dict[str, Any], key: str, items: list[bytes]) -> list[bytes | memoryview]:
    """What :func:`encode` gives for ``{**head, key: [item, ...]}``, byte for byte, where each item is given
    already packed (:func:`pack`): a sender that has packed each item to know its size packs none twice.

    >>> encode_with_list({"op": "x"}, "calls", [pack(1), pack((2, 3))]) == encode({"op": "x", "calls": [1, (2, 3)]})
    True
    """
    packer = msgpack.Packer(unicode_errors="surrogatepass")
    parts = [packer.pack_map_header(len(head) + 1)]
    for name, value in head.items():
        parts.append(pack(name) + pack(value))
    parts += [pack(key), packer.pack_array_header(len(items)), *items]
    return _framed(b"".join(parts))


#: A message up to this size is written with one system call (its chunks joined); a larger one chunk by chunk,
#: without a copy.  Each write to a pipe wakes the reader.
JOIN_BELOW = 1 << 20


def widen_pipe(fd: int) -> None:
    """Let the pipe ``fd`` hold a whole message of up to :data:`JOIN_BELOW` bytes (Linux's default holds 64 KiB):
    a message written in one system call wakes its reader once, where a 130 KiB gradient took three writes, each
    with a wait for the reader to drain the pipe and a wake-up.  Where the system refuses (a user over its pipe
    quota, a platform without ``F_SETPIPE_SZ``), the pipe stays as it was."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, JOIN_BELOW)
    except (ImportError, AttributeError, OSError):
        pass


def packets(value: Any) -> list[bytes | memoryview]:
    """What to write for one message holding ``value``: its :func:`encode` chunks, joined when small."""
    return joined(encode(value))


def joined(chunks: list[bytes | memoryview]) -> list[bytes | memoryview]:
    """The :func:`encode` chunks of one message as they are written: joined when small."""
    if sum(len(c) for c in chunks) <= JOIN_BELOW:
        return [b"".join(chunks)]
    return chunks


def pack(value: Any) -> bytes:
    """The MessagePack body of a message holding ``value`` (its :func:`encode` without the header; a packer each
    time: one may be packing in another thread)."""
    packer = msgpack.Packer(default=_extension, strict_types=True, unicode_errors="surrogatepass")
    try:
        return packer.pack(value)
    except (OverflowError, ValueError, RecursionError) as exc:  # an int over 64 bits, nesting over the packer's
        raise TypeError(f"cannot send this value ({exc})") from None  # limit


def _extension(value: Any) -> Any:
    """What MessagePack cannot pack by itself (anything that is not exactly None, bool, int, float, str, list or
    dict), as the first of these it is an instance of: a subclass of a plain type as that type (``np.float64``
    is a float), an array, a numpy scalar, a tuple; anything else cannot be sent."""
    np = _np()
    # the usual cases first: no class is both an array or a tuple and a str, int or float (their layouts conflict)
    if isinstance(value, np.ndarray):
        return _array_extension(_ARRAY, value if type(value) is np.ndarray else np.asarray(value))
    if isinstance(value, tuple):
        return [_TUPLE_MARK, *value]
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, np.generic):
        return _array_extension(_SCALAR, np.asarray(value))
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    raise TypeError(f"cannot send an object of type {type(value).__module__}.{type(value).__qualname__}")


#: What a tuple's items follow: ``(1, 2)`` is packed as ``[_TUPLE_MARK, 1, 2]``.
_TUPLE_MARK = msgpack.ExtType(_TUPLE, b"")


def _sendable(dtype: Any) -> bool:
    return dtype.fields is None and dtype.subdtype is None and f"{dtype.kind}{dtype.itemsize}" in _NUMERIC


def _array_extension(code: int, array: Any) -> msgpack.ExtType:
    # ExtType is a named tuple whose __new__ checks its two fields in Python: these are an int and bytes
    return tuple.__new__(msgpack.ExtType, (code, _array_prefix(array.dtype, array.shape) + array.tobytes()))


#: Array headers written and dtypes read, remembered (a grade sends the same few shapes thousands of times);
#: bounded, so that a worker sending ever new shapes costs the grader no memory.
_HEADERS_KEPT = 1024


@functools.lru_cache(maxsize=_HEADERS_KEPT)
def _array_prefix(dtype: Any, shape: tuple[int, ...]) -> bytes:
    """An array extension's header: its dtype (``dtype.str``) and shape."""
    if not _sendable(dtype):
        raise TypeError(f"an array of dtype {dtype} cannot be sent (numbers only)")
    if len(shape) > MAX_DIMS:
        raise TypeError(f"an array of more than {MAX_DIMS} dimensions cannot be sent")
    descr = dtype.str.encode("ascii")
    return struct.pack(f"<B{len(descr)}sB{len(shape)}Q", len(descr), descr, len(shape), *shape)


# --------------------------------------------------------------------------- decoding
class Reader:
    """Incremental parser of one message no larger than ``limit`` bytes.

    Loop: ``view = reader.buffer()`` (an empty view when done), put up to ``len(view)`` bytes there, then
    ``reader.advance(n)``; when :attr:`done`, :meth:`message` returns the decoded value.
    """

    def __init__(self, limit: int = MAX_MESSAGE) -> None:
        self.limit = min(int(limit), MAX_MESSAGE)
        self.total = 0
        self._buf = bytearray(_HEAD.size)
        self._filled = 0
        self._body = False
        self.done = False

    def buffer(self) -> memoryview:
        return memoryview(self._buf)[self._filled :]

    def advance(self, n: int) -> None:
        self._filled += n
        self.total += n
        if self._filled == len(self._buf):
            self._next()

    def _next(self) -> None:
        if self._body:
            self.done = True
            return
        magic, size = _HEAD.unpack(self._buf)
        if magic != MAGIC:
            raise ProtocolError("not a deepgrade message (bad magic bytes)")
        if _HEAD.size + size > self.limit:
            raise ProtocolError(f"a message of over {_HEAD.size + size} bytes (the limit here is {self.limit})")
        self._buf, self._filled, self._body = bytearray(size), 0, True
        self.done = size == 0

    def message(self) -> Any:
        if not self.done:
            raise ProtocolError("the message is incomplete")
        return decode(self._buf)


def decode_bytes(data: bytes, limit: int = MAX_MESSAGE) -> Any:
    """Decode one whole message held in ``data`` (which must hold exactly one)."""
    reader = Reader(limit)
    pos = 0
    while not reader.done:
        view = reader.buffer()
        n = min(len(view), len(data) - pos)
        if n == 0:
            raise ProtocolError("the message is truncated")
        view[:n] = data[pos : pos + n]
        pos += n
        reader.advance(n)
    if pos != len(data):
        raise ProtocolError("trailing bytes after the message")
    return reader.message()


def decode(body: bytes | bytearray | memoryview) -> Any:
    """The plain data in a message's MessagePack ``body``, or :class:`ProtocolError`."""
    try:
        value = _Decoder().unpack(body)
    except ProtocolError:
        raise
    except (ValueError, TypeError, ArithmeticError, RecursionError, MemoryError, msgpack.UnpackException) as exc:
        raise ProtocolError(f"malformed message: {type(exc).__name__}: {str(exc)[:200]}") from None
    return _plain(value)


class _Decoder:
    """One message's unpacking: its extensions and tuples, and its count of elements so far."""

    __slots__ = ("elements",)

    def __init__(self) -> None:
        self.elements = 0

    def unpack(self, body: bytes | bytearray | memoryview) -> Any:
        return msgpack.unpackb(
            body,
            ext_hook=self.extension,
            list_hook=self.list,
            object_hook=self.count,
            raw=False,
            strict_map_key=True,
            max_bin_len=0,
            max_array_len=MAX_ELEMENTS,  # no list or dict of more entries than this, refused at its header
            max_map_len=MAX_ELEMENTS,
            unicode_errors="replace",
        )

    def count(self, container: Any) -> Any:
        """A list or dict just built: counted (it and its elements) before the next is built."""
        self.elements += len(container) + 1
        if self.elements > MAX_ELEMENTS:
            raise ProtocolError(f"a message of more than {MAX_ELEMENTS} elements")
        return container

    def list(self, items: list[Any]) -> Any:
        """A list just built: counted, and a tuple if its first item is a tuple's marker."""
        self.count(items)
        if items and items[0] is _MARK:
            del items[0]  # not items[1:]: one copy of a long tuple's items, not two
            return tuple(items)
        return items

    def extension(self, code: int, data: bytes) -> Any:
        if code == _ARRAY or code == _SCALAR:
            array = _array(data)
            if code == _ARRAY:
                return array
            if array.shape != ():
                raise ProtocolError("a scalar that is not 0-dimensional")
            return array[()]
        if code == _TUPLE and not data:
            return _MARK
        raise ProtocolError(f"unknown message extension {code}")


class _Mark:
    """A tuple's marker as unpacked: first in a list, it makes the list a tuple; anywhere else it is no plain data."""


_MARK = _Mark()
_DESCR = re.compile(rb"[<>|=][biufc][0-9]{1,2}")


@functools.lru_cache(maxsize=_HEADERS_KEPT)
def _dtype(descr: bytes) -> Any:
    """The numeric dtype an array extension names, or :class:`ProtocolError`."""
    if not _DESCR.fullmatch(descr):
        raise ProtocolError(f"an array of dtype {descr[:20]!r} (numbers only)")
    try:
        dtype = _np().dtype(descr.decode("ascii"))
    except (TypeError, ValueError):
        raise ProtocolError(f"an array of dtype {descr!r} (numbers only)") from None
    if not _sendable(dtype):
        raise ProtocolError(f"an array of dtype {dtype} (numbers only)")
    return dtype


def _array(data: bytes) -> Any:
    """The array an extension holds: a copy of its bytes, checked to be exactly what its header says."""
    if len(data) < 2 or len(data) < data[0] + 2:
        raise ProtocolError("an array header longer than its extension")
    offset = data[0] + 2 + 8 * data[data[0] + 1]
    if len(data) < offset:
        raise ProtocolError("an array header longer than its extension")
    dtype, shape, size = _array_header(data[:offset])
    if size != len(data) - offset:
        count = size // dtype.itemsize
        raise ProtocolError(f"an array header claiming {count} elements of {dtype} for {len(data) - offset} bytes")
    if not dtype.isnative:
        return _np().ndarray(shape, dtype, data, offset).astype(dtype.newbyteorder("="))
    return _np().ndarray(shape, dtype, data, offset).copy()


@functools.lru_cache(maxsize=_HEADERS_KEPT)
def _array_header(header: bytes) -> tuple[Any, tuple[int, ...], int]:
    """(dtype, shape, bytes of data) of an array extension's header (remembered: a worker sends the same few)."""
    size = header[0]
    dtype = _dtype(header[1 : 1 + size])
    ndim = header[1 + size]
    if ndim > MAX_DIMS:
        raise ProtocolError("an array header with a bad shape")
    shape = struct.unpack_from(f"<{ndim}Q", header, size + 2)
    return dtype, shape, math.prod(shape) * dtype.itemsize


#: What a message's leaves may be, besides arrays and numpy scalars.
_LEAVES = frozenset((str, int, float, bool, type(None)))


def _plain(value: Any) -> Any:
    """``value``, checked to be plain data (dicts with str keys, lists, tuples; no bytes, no timestamp) nested no
    more than :data:`MAX_DEPTH` levels deep."""
    np = _np()
    todo = [(value, 0)]
    while todo:
        node, depth = todo.pop()
        kind = type(node)
        if kind is dict:
            for key in node:
                if type(key) is not str:
                    raise ProtocolError(f"a dict key of type {type(key).__name__} (str only)")
            children: Any = node.values()
        elif kind is list or kind is tuple:
            children = node
        elif kind in _LEAVES or kind is np.ndarray or issubclass(kind, np.generic):
            continue
        else:
            raise ProtocolError(f"a value of type {kind.__name__} (plain data only)")
        if depth >= MAX_DEPTH:
            raise ProtocolError(f"a message nested more than {MAX_DEPTH} levels deep")
        for child in children:
            kind = type(child)
            if kind is dict or kind is list or kind is tuple:
                todo.append((child, depth + 1))
            elif kind not in _LEAVES and kind is not np.ndarray and not issubclass(kind, np.generic):
                raise ProtocolError(f"a value of type {kind.__name__} (plain data only)")
    return value


def arrays_in(value: Any, out: list[Any] | None = None) -> list[Any]:
    """The numpy arrays inside ``value`` (lists, tuples, dict values), in a fixed order: both sides of a given
    class's state (``child._class_stub``, ``reference.Given``) find the same arrays in the same order."""
    out = [] if out is None else out
    if isinstance(value, _np().ndarray):
        out.append(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            arrays_in(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            arrays_in(v, out)
    return out


# --------------------------------------------------------------------------- reading a pipe
#: How long a reader that finds the pipe empty keeps looking before it sleeps.  Grader and worker take turns; a
#: process that sleeps in ``select`` or ``read`` and is woken on another core costs both sides about 20 µs of CPU
#: and the exchange about 45 µs of wall time (a virtual machine wakes an idle core through the hypervisor), against
#: 2–3 µs for a reader still looking.  A turn of the grader's between two requests (drawing, comparing, the next
#: example) takes a few hundred microseconds, and so may the student's code before its reply: a worker awaiting its
#: next request, and the grader awaiting the start of a reply it asked for, look this long.  Only while a core is
#: spare (:func:`spare_core`): looking must never take a core from other work (a torch import under way, another
#: job).
SPIN_SECONDS = 500e-6
#: How long every other read looks: a worker awaiting the grader's answer to a call to a given function (charged to
#: the student's budget; the answer takes tens of microseconds), the rest of a message that came in parts, and the
#: grader awaiting the worker's next message after answering a call.  The worker paces those, so a look as long as
#: :data:`SPIN_SECONDS` would let it keep the grader looking for a fraction of the time it is charged (a byte, or a
#: call, every 450 µs); the grader's long looks are one per reply it asked for.
ANSWER_SPIN_SECONDS = 50e-6


def spin_seconds() -> float:
    """:data:`SPIN_SECONDS` where this process may use two cores or more, else 0: a pinned batch job, or a
    container whose CPU quota is under two cores (where looking would spend the quota the other side needs)."""
    try:
        cores = float(len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        cores = float(os.cpu_count() or 1)
    return SPIN_SECONDS if min(cores, _quota()) >= 2 else 0.0


def _quota(root: str = "/sys/fs/cgroup") -> float:
    """The cores a cgroup's CPU quota allows (cgroup v2 ``cpu.max``, else v1's CFS quota); infinity where none."""
    for quota, period in (("cpu.max", None), ("cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us")):
        try:
            with open(os.path.join(root, quota)) as fh:
                text = fh.read().split()
            if period is not None:
                with open(os.path.join(root, period)) as fh:
                    text += fh.read().split()
            if text[0] in ("max", "-1"):
                return float("inf")
            return int(text[0]) / int(text[1])
        except (OSError, ValueError, IndexError, ZeroDivisionError):
            continue
    return float("inf")


#: How often :func:`spare_core` reads the count of runnable tasks again.
SPARE_EVERY = 0.01
_spare = [-1.0, False]  # when last read (monotonic seconds), and what it said


def spare_core() -> bool:
    """Whether no task waits for a core: the kernel's count of runnable tasks (this one among them, and the other
    side of the pipe, which is working) is no more than the machine's cores.  Read from ``/proc/loadavg`` at most
    every :data:`SPARE_EVERY` seconds; False where it cannot be read."""
    now = time.monotonic()
    if now - _spare[0] < SPARE_EVERY:
        return bool(_spare[1])
    try:
        fd = os.open("/proc/loadavg", os.O_RDONLY | os.O_CLOEXEC)
        try:
            running = int(os.read(fd, 256).split()[3].split(b"/")[0])
        finally:
            os.close(fd)
        spare = running <= (os.cpu_count() or 1)
    except (OSError, ValueError, IndexError):
        spare = False
    _spare[0], _spare[1] = now, spare
    return spare


class Inbox:
    """A pipe read through a buffer, as a raw stream (``readinto``) for :class:`Reader`: one system call takes
    whatever the other side has written (a small message in one call, not one per part), and a read that finds
    nothing looks again for ``spin`` seconds before it gives up, while a core is spare (:func:`spare_core`).

    ``fd`` is made non-blocking.  With ``block`` (the worker), ``readinto`` then waits in ``select`` for as long
    as it takes; without (the grader), it returns None and the caller waits under its own deadline.  ``0``
    means the other side closed the pipe.
    """

    SIZE = 1 << 16

    def __init__(self, fd: int, *, spin: float = 0.0, block: bool = False) -> None:
        os.set_blocking(fd, False)
        self.fd, self.spin, self.block = fd, spin, block
        self._view = memoryview(bytearray(self.SIZE))
        self._start = self._end = 0

    def whole(self, limit: int = MAX_MESSAGE) -> tuple[bool, Any]:
        """``(True, message)`` where the buffer already holds a whole message, taken from it and decoded; else
        ``(False, None)``, nothing taken: less than a message is here, or a header that a :class:`Reader` must
        refuse (it says why).  Most messages are small and come in one read: this skips the Reader's copies."""
        start, end = self._start, self._end
        if end - start < _HEAD.size:
            return False, None
        magic, size = _HEAD.unpack_from(self._view, start)
        body = start + _HEAD.size
        if magic != MAGIC or _HEAD.size + size > min(int(limit), MAX_MESSAGE) or end - body < size:
            return False, None
        self._start = body + size
        return True, decode(self._view[body : body + size])

    def pending(self) -> bool:
        """Whether the buffer holds bytes not yet taken."""
        return self._start != self._end

    def message(
        self,
        limit: int = MAX_MESSAGE,
        *,
        spin: float | None = None,
        rest: float | None = None,
        idle: Callable[[], None] | None = None,
        progress: Callable[[], None] | None = None,
    ) -> Any:
        """The next message: decoded where it lies when the buffer holds it whole (:meth:`whole`), else read on
        through a :class:`Reader`.  Its start is looked for ``spin`` seconds and the rest of a message that comes in
        parts ``rest`` seconds (each at most :attr:`spin`, the default).  Without ``block``, ``idle()`` is called
        whenever nothing is there yet (the caller waits there, under its own deadline), and ``progress()`` after
        each read of a message that comes in parts.  ``EOFError`` when the other side has closed the pipe."""
        wait = idle if idle is not None else self._sleep
        while not self.pending():
            n = self.fill(spin)
            if n == 0:
                raise EOFError("the other side closed the connection")
            if n is None:
                wait()
        whole, message = self.whole(limit)
        if whole:
            return message
        reader = Reader(limit)  # the rest of a larger message, or a header to refuse
        while not reader.done:
            n = self.readinto(reader.buffer(), rest)
            if n == 0:
                raise EOFError("the other side closed the connection")
            if n is None:
                wait()
                continue
            reader.advance(n)
            if progress is not None:
                progress()
        return reader.message()

    def fill(self, spin: float | None = None) -> int | None:
        """Read what the pipe holds into the buffer, which must be empty: as :meth:`readinto`, how many bytes,
        None (nothing yet, without ``block``) or 0 (closed).  ``spin``: how long to look this time, at most
        :attr:`spin` (default: that)."""
        assert self._start == self._end
        n = self._read(self._view, spin)
        if n:
            self._start, self._end = 0, n
        return n

    def readinto(self, view: memoryview, spin: float | None = None) -> int | None:
        """Up to ``len(view)`` bytes into ``view``; ``spin`` as for :meth:`fill`."""
        if self._start == self._end:
            if len(view) >= self.SIZE:  # a large frame: straight into its own buffer
                return self._read(view, spin)
            n = self._read(self._view, spin)
            if not n:
                return n
            self._start, self._end = 0, n
        n = min(len(view), self._end - self._start)
        view[:n] = self._view[self._start : self._start + n]
        self._start += n
        return n

    def _sleep(self) -> None:
        """Wait until the pipe is readable (or closed)."""
        select.select([self.fd], [], [])

    def _read(self, into: memoryview, spin: float | None) -> int | None:
        spin = self.spin if spin is None else min(spin, self.spin)
        deadline = 0.0
        while True:
            try:
                return os.readv(self.fd, [into])
            except BlockingIOError:
                pass
            if spin:
                now = time.perf_counter()
                if not deadline:
                    deadline = now + spin if spare_core() else now
                if now < deadline:
                    continue
            if not self.block:
                return None
            self._sleep()


# --------------------------------------------------------------------------- blocking IO (the worker's side)
def read_blocking(stream: Any, limit: int = MAX_MESSAGE, *, spin: float | None = None) -> Any:
    """Read one message from a blocking binary stream; ``EOFError`` when the other side has closed.  ``spin``: how
    long an :class:`Inbox` looks for the message before it sleeps, at most its own ``spin``."""
    if isinstance(stream, Inbox):
        return stream.message(limit, spin=spin, rest=spin)
    reader = Reader(limit)
    while not reader.done:
        n = stream.readinto(reader.buffer())
        if not n:
            raise EOFError("the other side closed the connection")
        reader.advance(n)
    return reader.message()


def write_blocking(stream: Any, value: Any) -> None:
    """Write one message to a blocking unbuffered binary stream (a partial write is continued)."""
    for chunk in packets(value):
        view = memoryview(chunk)
        while view:
            view = view[stream.write(view) :]
