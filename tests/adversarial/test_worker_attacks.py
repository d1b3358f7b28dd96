"""Attacks on the worker boundary itself (issue 8, guarantees 1, 5, 10, 11): a student's code that takes over
the worker's side of the wire, asks the grader for functions it was not given, loops or sleeps at import,
forks, or leaves daemons behind.  Each must end as that student's error, quickly, with the grader intact.

The worker runs under the plain launcher here (the wire is the same at every isolation level) with a short
wall-clock slack, so that an attack that only sleeps ends in seconds.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import select
import signal
import struct
import textwrap
import time
from pathlib import Path

import msgpack
import numpy as np
import pytest

from grader import reference, registry
from grader.checks import drivers
from grader.isolation import sandbox
from grader.isolation.worker import cpugroup, forkserver, wire
from grader.isolation.worker.client import GivenCallError, StudentError, Worker, plain_launcher
from grader.runner import grade
from tests.corpus import solution_lines

SLACK = 3.0  # seconds of wall clock beyond 4x a call's CPU budget
#: The slack of a worker whose test waits for a call's wall-clock ceiling (the call can only time out): each such
#: test keeps an xdist worker idle for 4 × 0.5 + this seconds.
HASTY_SLACK = 0.5


def submission(tmp_path: Path, source: str, part: str = "neuron") -> Path:
    folder = tmp_path / "sub"
    folder.mkdir(exist_ok=True)
    (folder / f"{part}.py").write_text(textwrap.dedent(source))
    return folder


def call(worker: Worker, name: str, *args, timeout: float = 2.0, part: str = "neuron"):
    return worker.drive(drivers.call_function, part, name, list(args), {}, None, timeout=timeout)["result"]


TAKE_OVER = """
import os, struct, sys, time
import numpy as np

WIRE = sys.modules["_deepgrade_wire"]  # the worker's own framer, loaded by path: the student can patch it


def ok(x):
    return 1.0


def stop_reading(x):
    WIRE.read_blocking = lambda *a, **k: time.sleep(3600)  # the next request is never read
    return 1.0


def send(raw):
    raw = raw.encode("latin-1")

    def write(stream, value):
        stream.write(raw)
        stream.flush() if hasattr(stream, "flush") else None
    WIRE.write_blocking = write
    return 1.0


def marked_list(x):  # a list led by the wire's tuple marker
    return [WIRE._TUPLE_MARK, 1.0]


def bare_marker(x):  # the marker where no list leads with it
    return {"k": WIRE._TUPLE_MARK}


def send_once(raw):  # the reply to this call is raw; the next ones are the worker's own
    raw, real = raw.encode("latin-1"), WIRE.write_blocking

    def write(stream, value):
        WIRE.write_blocking = real
        stream.write(raw)
    WIRE.write_blocking = write
    return 1.0


def flood(x):
    def write(stream, value):  # announces a 15 MiB body (over a 4 MiB reply's limit), then streams it for ever
        stream.write(struct.pack("!4sQ", b"DGW3", 15 * 1024 * 1024))
        while True:
            stream.write(b"[" * 65536)
    WIRE.write_blocking = write
    return 1.0


def drip(x):
    def write(stream, value):  # a byte every 20 ms: never idle for a poll interval, never done
        stream.write(struct.pack("!4sQ", b"DGW3", 1 << 20))
        while True:
            stream.write(b" ")
            time.sleep(0.02)
    WIRE.write_blocking = write
    return 1.0


def stream(x):
    def write(stream, value):  # a byte every ~20 µs without a pause: the grader's look always finds the next one
        stream.write(struct.pack("!4sQ", b"DGW3", 1 << 20))
        while True:
            stream.write(b" ")
            end = time.perf_counter() + 2e-5
            while time.perf_counter() < end:
                pass
    WIRE.write_blocking = write
    return 1.0


def slow_ok(x):
    real = WIRE.write_blocking
    def write(stream, value):  # the real reply, a byte every 0.4 ms: just slower than the grader's longest look
        WIRE.write_blocking = real
        raw = b"".join(bytes(c) for c in WIRE.packets(value))
        for i in range(len(raw)):
            stream.write(raw[i : i + 1])
            time.sleep(0.0004)
    WIRE.write_blocking = write
    return "x" * 1500


def paced_given(x):
    f = sys.modules["neuron"].relu_forward  # the given stub
    for _ in range(1500):  # a given call every 0.4 ms, asleep in between
        f(1.0)
        time.sleep(0.0004)
    return 1.0


def two(x):
    return 2.0


def ahead(x):
    real = WIRE.write_blocking

    def write(stream, value):  # this reply, then 800 kB of copies of it: answers written before any request
        WIRE.write_blocking = real
        burst = b"".join(WIRE.packets(value))
        stream.write(burst * (800_000 // len(burst)))
    WIRE.write_blocking = write
    return 1.0


def big_valid(x):
    real = WIRE.write_blocking
    WIRE.write_blocking = lambda stream, value: real(stream, {"result": np.zeros(1_000_000), "args": None})
    return 1.0
"""


def _frame(body: bytes) -> bytes:
    return struct.pack("!4sQ", b"DGW3", len(body)) + body


def _array(descr: str, shape: tuple[int, ...], data: bytes, code: int = 1) -> bytes:
    """A message of one array (or numpy scalar, code 2) extension, as a worker could forge it."""
    header = bytes([len(descr)]) + descr.encode() + bytes([len(shape)]) + struct.pack(f"<{len(shape)}Q", *shape)
    return _frame(msgpack.packb(msgpack.ExtType(code, header + data)))


TUPLE = msgpack.ExtType(3, b"")  # first in a list, the list is a tuple


def _tuples(depth: int, inner: object = None) -> bytes:
    """Tuples nested ``depth`` deep around ``inner``: ``((((inner,),),),)``."""
    nested: object = [TUPLE, inner]
    for _ in range(depth - 1):
        nested = [TUPLE, nested]
    return msgpack.packb(nested)


MALFORMED = {
    "bad magic": b"XXXX" + bytes(8),
    "a body over the limit": struct.pack("!4sQ", b"DGW3", 1 << 40),
    "an empty body": _frame(b""),
    "not MessagePack": _frame(b"\xc1"),
    "trailing bytes": _frame(msgpack.packb(1) + msgpack.packb(2)),
    "a truncated body": _frame(msgpack.packb([1, 2, 3])[:-1]),
    "lists nested 100 000 deep": _frame(b"\x91" * 100_000 + b"\xc0"),
    "lists nested 100 deep": _frame(b"\x91" * 100 + b"\xc0"),
    "tuples nested 100 deep": _frame(_tuples(100)),
    "a tuple marker that holds data": _frame(msgpack.packb([msgpack.ExtType(3, msgpack.packb([1]))])),
    "a tuple marker that is not first": _frame(msgpack.packb([1, TUPLE])),
    "a tuple marker as a value": _frame(msgpack.packb({"ok": TUPLE})),
    "a tuple of a tuple marker": _frame(msgpack.packb([TUPLE, TUPLE])),
    "lists and tuples nested 40 + 40 deep": _frame(b"\x91" * 40 + _tuples(40)),
    "a list of 2 million and one elements": _frame(b"\xdd" + struct.pack("!I", 2_000_001) + b"\xc0" * 2_000_001),
    "a list announcing 2**32 - 1 elements": _frame(b"\xdd\xff\xff\xff\xff" + b"\xc0" * 1000),
    "a list of 3 million nils": _frame(b"\xdd" + struct.pack("!I", 3_000_000) + b"\xc0" * 3_000_000),
    "a million empty dicts": _frame(b"\xdd" + struct.pack("!I", 1_000_000) + b"\x80" * 1_000_000),
    "bytes": _frame(msgpack.packb({"ok": b"\x00" * 8})),
    "empty bytes": _frame(msgpack.packb([b""])),
    "a bytes key": _frame(msgpack.packb({b"": 1})),
    "an int key": _frame(msgpack.packb({1: 1})),
    "a timestamp": _frame(msgpack.packb({"ok": msgpack.Timestamp(1, 2)})),
    "an unknown extension": _frame(msgpack.packb(msgpack.ExtType(9, b""))),
    "an array header claiming 2**40 floats": _array("<f8", (1 << 40,), bytes(8)),
    "an array header claiming 2**64 - 1 by 2**64 - 1 floats": _array("<f8", ((1 << 64) - 1,) * 2, bytes(8)),
    "an empty array of 2**63 by 0 floats": _array("<f8", (1 << 63, 0), b""),
    "an array of 33 dimensions": _array("<f8", (1,) * 33, bytes(8)),
    "an object array": _array("|O8", (1,), bytes(8)),
    "a str array": _array("<U1", (1,), bytes(4)),
    "a long double array": _array("<f16", (1,), bytes(16)),
    "a long double complex scalar": _array("<c32", (), bytes(32), code=2),
    "an array header longer than its extension": _frame(msgpack.packb(msgpack.ExtType(1, b"\x03<f8\x02" + bytes(9)))),
    "an array extension of nothing": _frame(msgpack.packb(msgpack.ExtType(1, b""))),
    "a scalar that is not 0-dimensional": _array("<f8", (2,), bytes(16), code=2),
}


@pytest.fixture
def taken(tmp_path):
    with Worker(submission(tmp_path, TAKE_OVER), wall_slack=SLACK) as worker:
        worker.setup(["neuron"])
        yield worker


@pytest.fixture
def hasty(tmp_path):
    """``taken`` with a short wall-clock slack, for the tests that wait for a call's ceiling."""
    with Worker(submission(tmp_path, TAKE_OVER), wall_slack=HASTY_SLACK) as worker:
        worker.setup(["neuron"])
        yield worker


@pytest.mark.parametrize("size", [4_000_000, 100_000], ids=["32 MB in chunks", "800 kB in one write"])
def test_a_worker_that_stops_reading_cannot_block_the_grader(hasty, size):
    """Neither a message written chunk by chunk (far over the pipe's 1 MiB) nor one joined into a single write
    (wire.packets, under JOIN_BELOW: it fits the widened pipe, and the grader waits for a reply that never comes)
    can hang the grader on a worker that stopped reading."""
    from grader.isolation.worker import wire

    assert (len(wire.packets([np.zeros(size)])) == 1) == (size * 8 < wire.JOIN_BELOW)
    call(hasty, "stop_reading", 0.0)
    started = time.perf_counter()
    with pytest.raises(StudentError) as err:  # neither fits in a pipe that nobody reads
        call(hasty, "ok", np.zeros(size), timeout=0.5)
    assert err.value.kind == "timeout" and time.perf_counter() - started < 4 * 0.5 + HASTY_SLACK + 10
    assert call(hasty, "ok", 0.0) == 1.0  # a fresh worker answers again


def test_replies_written_ahead_into_the_wide_pipe_are_only_the_students_answers(taken):
    """The protocol's pipes hold 1 MiB (``wire.widen_pipe``), so a worker can queue hundreds of replies before
    the grader asks anything.  Each is read as the reply to the next request, one each, like any reply the
    student's code sends: it cannot know the request's inputs, and a check compares what it says."""
    assert call(taken, "ahead", 0.0) == 1.0
    for _ in range(3):
        assert call(taken, "two", 0.0) == 1.0  # the copy queued ahead, not two()'s 2.0
    assert taken.restarts == 0  # nothing broke the protocol: the student's own answers, wrong ones


def test_a_flood_of_bytes_is_cut_at_the_reply_limit(taken):
    with pytest.raises(StudentError) as err:
        call(taken, "flood", 0.0)
    assert err.value.fatal and "limit" in err.value.message or "over the limits" in err.value.message
    assert call(taken, "ok", 0.0) == 1.0


def test_a_reply_that_drips_forever_ends_at_the_wall_clock_ceiling(hasty):
    """...and the grader sleeps between the drops: a reader that finds the pipe empty looks again for at most
    ``wire.SPIN_SECONDS`` (``wire.Inbox``), so a worker cannot keep the grader's core busy by writing a byte now
    and then."""
    started, cpu = time.perf_counter(), time.thread_time()
    with pytest.raises(StudentError) as err:
        call(hasty, "drip", 0.0, timeout=0.5)
    wall, cpu = time.perf_counter() - started, time.thread_time() - cpu
    assert err.value.kind == "timeout" and "wall-clock" in err.value.message
    assert wall < 4 * 0.5 + HASTY_SLACK + 10
    assert cpu < 0.25 * wall, f"the grader used {cpu:.2f} s of CPU in {wall:.2f} s of a drip every 20 ms"
    assert call(hasty, "ok", 0.0) == 1.0


@pytest.mark.parametrize("pace", ["slow_ok", "paced_given"])
def test_a_worker_that_paces_its_messages_cannot_keep_the_grader_looking(tmp_path, monkeypatch, pace):
    """A reply dripped a byte at a time, or calls to a given function, every 0.4 ms (just slower than the 500 µs
    look for a reply asked for): the grader looks only briefly for what the worker paces (the rest of a message,
    the message after an answer), so its CPU stays near what the student is charged, not near the wall time."""
    monkeypatch.setattr(wire, "spare_core", lambda: True)  # an otherwise idle grading machine: every look happens
    given = {"neuron": {"functions": ["relu_forward"]}}
    with Worker(submission(tmp_path, TAKE_OVER), wall_slack=SLACK) as worker:
        worker.setup(["neuron"], part="neuron", given=given, serve=lambda c: c["args"][0])
        started, cpu = time.perf_counter(), time.thread_time()
        assert call(worker, pace, 0.0, timeout=5.0) in ("x" * 1500, 1.0)
        wall, cpu = time.perf_counter() - started, time.thread_time() - cpu
    assert wall > 0.5  # it did pace
    assert cpu < 0.4 * wall, f"the grader used {cpu:.2f} s of CPU in {wall:.2f} s"


def test_a_reply_streamed_without_a_pause_still_ends_within_its_budget(taken, monkeypatch):
    """The grader never waits idle for it (each look finds the next byte): every part read is counted against the
    call's budget, so a reply that keeps coming, just slower than it could, still ends the call in time."""
    monkeypatch.setattr(wire, "spare_core", lambda: True)  # every look happens
    started = time.perf_counter()
    with pytest.raises(StudentError) as err:
        call(taken, "stream", 0.0, timeout=1.0)
    assert err.value.kind == "timeout"
    assert time.perf_counter() - started < 4 * 1.0 + SLACK + 10
    assert call(taken, "ok", 0.0) == 1.0


def test_a_valid_but_enormous_reply_is_refused_by_size(taken):
    with pytest.raises(StudentError) as err:  # 8 MB of array for a scalar request: over 4 MiB
        call(taken, "big_valid", 0.0)
    assert err.value.fatal and "limit" in err.value.message
    assert call(taken, "ok", 0.0) == 1.0


@pytest.mark.parametrize("what", sorted(MALFORMED))
def test_a_malformed_reply_is_the_students_error_never_the_graders(taken, what):
    raw = MALFORMED[what]
    with pytest.raises(StudentError) as err:  # the reply to this call is the forged frame
        taken.drive(drivers.call_function, "neuron", "send", [raw.decode("latin-1")], {}, None, timeout=2.0)
    assert err.value.fatal, what
    assert call(taken, "ok", 0.0) == 1.0


def test_the_tuple_marker_sent_by_a_student_makes_a_tuple_or_a_fatal_error(taken):
    """The student can reach the wire's tuple marker: leading a list, it makes the tuple a student could return
    anyway; anywhere else it is no plain data, the student's fatal error."""
    assert call(taken, "marked_list", 0.0) == (1.0,)
    with pytest.raises(StudentError) as err:
        call(taken, "bare_marker", 0.0)
    assert err.value.fatal and "plain data" in err.value.message
    assert call(taken, "ok", 0.0) == 1.0


#: Well-formed replies whose fields are not what the protocol says: each is the student's error (or, for the fields
#: the grader only notes, ignored), never an exception of the grader's.
ODD_REPLIES = {
    "an error kind that is an array of 2": {"error": np.zeros(2)},
    "an error kind that is an empty array": {"error": np.zeros(0)},
    "an error kind that is a list": {"error": ["error"]},
    "an error kind that is a dict": {"error": {"error": 1}},
    "an error kind that is None": {"error": None},
    "an error kind that is a tuple": {"error": ("error",)},
    "a message that is an array": {"error": "error", "message": np.zeros(3)},
    "a message that is a long list": {"error": "error", "message": ["x"] * 100_000},
    "stdout that is an array": {"ok": 1.0, "stdout": np.zeros(2)},
    "imports that are an array": {"ok": 1.0, "imports": np.zeros(2)},
    "an import record of arrays": {"ok": 1.0, "imports": [[np.zeros(2), "a", "b"]]},
    "neither ok nor error": {"stdout": "x"},
    "a result of odd types": {"ok": {"result": (np.zeros(2), [None], {"": ()}), "args": np.bool_(True)}},
}


@pytest.mark.parametrize("what", sorted(ODD_REPLIES))
def test_a_well_formed_reply_of_odd_fields_is_never_the_graders_error(taken, what):
    raw = wire.encode_bytes(ODD_REPLIES[what]).decode("latin-1")
    try:
        taken.drive(drivers.call_function, "neuron", "send_once", [raw], {}, None, timeout=2.0)
    except StudentError:
        pass
    assert call(taken, "ok", 0.0) == 1.0


def test_nested_tuples_cost_no_copy_of_what_they_hold():
    """A tuple's items are unpacked where they lie: 64 tuples around 4 MB cost about 4 MB to decode, not 64 × 4."""
    import tracemalloc

    message = _frame(_tuples(63, "x" * (4 << 20)))
    tracemalloc.start()
    try:
        value = wire.decode_bytes(message, limit=8 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    for _ in range(63):
        (value,) = value
    assert value == "x" * (4 << 20)
    assert peak < 3 * len(message), f"{peak / len(message):.1f}x the message to decode it"


@pytest.mark.parametrize("what", sorted(MALFORMED))
def test_the_framer_refuses_each_malformed_message_before_allocating(what):
    with pytest.raises(wire.ProtocolError):
        wire.decode_bytes(MALFORMED[what], limit=4 << 20)


def test_a_remembered_dtype_is_held_to_its_bytes_and_the_memory_of_dtypes_is_bounded():
    # the reader remembers the dtypes it parsed: one seen with a good array is no pass for a short one
    assert wire.decode_bytes(_array("<f8", (2,), bytes(16))).shape == (2,)
    with pytest.raises(wire.ProtocolError, match="claiming 2 elements"):
        wire.decode_bytes(_array("<f8", (2,), bytes(8)))
    wire._dtype.cache_clear()
    for order in "<>|=":  # a worker sending every dtype name the reader would look at
        for kind in "biufc":
            for size in range(100):
                with contextlib.suppress(wire.ProtocolError):
                    wire.decode_bytes(_array(f"{order}{kind}{size}", (0,), b""))
    assert 0 < wire._dtype.cache_info().currsize <= wire._HEADERS_KEPT


# --------------------------------------------------------------------------- given functions (guarantee 1)
def test_the_grader_answers_only_the_names_it_gives():
    given = reference.Given(registry.get("backprop.mlp"))
    assert "affine_forward" in given.spec["backprop"]["functions"]
    assert "two_layer_loss" not in given.spec["backprop"]["functions"]
    x = np.ones((2, 3))
    w, b = np.ones((3, 4)), np.zeros(4)
    for forged in (
        {"kind": "function", "part": "backprop", "name": "two_layer_loss", "args": []},
        {"kind": "function", "part": "grader", "name": "__import__", "args": ["os"]},
        {"kind": "new", "part": "backprop", "name": "affine_forward", "args": []},
        {"kind": "method", "handle": 0, "name": "__init__", "args": []},
        {"kind": "function", "part": "backprop", "name": "affine_forward", "args": "x"},
        {"kind": "eval", "args": []},
    ):
        with pytest.raises(GivenCallError):
            given(forged)
    out = given({"kind": "function", "part": "backprop", "name": "affine_forward", "args": [x, w, b], "kwargs": {}})
    assert np.allclose(out[0], x @ w + b)
    assert dict(given.calls) == {"backprop.affine_forward": 1}


def _scan_memory(student, digests: list) -> list:
    """The lines of every string the worker's memory holds (module dicts, lists, code constants, linecache)
    whose SHA-1 is one of ``digests``: what a student could find there.  Digests, so the request itself
    carries no reference line."""
    import gc
    import hashlib
    import types

    wanted, found = set(digests), set()
    for obj in gc.get_objects():
        if isinstance(obj, dict):
            values = list(obj.values())
        elif isinstance(obj, (list, tuple)):
            values = list(obj)
        elif isinstance(obj, types.FunctionType):
            values = list(obj.__code__.co_consts)
        else:
            continue
        for value in values:
            if isinstance(value, (str, bytes)) and len(value) >= 20:
                text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                for line in text.splitlines():
                    digest = hashlib.sha1(line.strip().encode()).hexdigest()
                    if digest in wanted:
                        found.add(digest)
    return sorted(found)


CANARY = "a line of the student's own, which the scan must find"


def test_no_reference_source_is_in_the_worker_of_an_exercise_with_given_functions(tmp_path):
    """backprop.mlp is graded with the reference backprop.linear and neuron.relu: the worker gets stubs that
    call the grader, never their source; the whole memory of the worker holds no line of the reference."""
    ex = registry.get("backprop.mlp")
    given = reference.Given(ex)
    needles = solution_lines("backprop", "neuron", "losses")
    assert len(needles) > 30
    digests = {hashlib.sha1(ln.encode()).hexdigest(): ln for ln in needles}
    stub = reference.ASSIGNMENTS / "backprop.py"
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "backprop.py").write_text(stub.read_text() + f"\n_CANARY = {CANARY!r}\n")
    for part in ("neuron", "losses"):
        (sub / f"{part}.py").write_text((reference.ASSIGNMENTS / f"{part}.py").read_text())
    with Worker(sub, serve=given) as worker:
        worker.setup(["backprop"], part="backprop", given=given.spec, serve=given)
        x, w, b = np.ones((2, 3)), np.ones((3, 4)), np.zeros(4)
        out = worker.drive(drivers.call_function, "backprop", "affine_forward", [x, w, b], {}, 0)["result"]
        assert np.allclose(out, x @ w + b)  # the given stub works: the grader computed it
        assert given.calls["backprop.affine_forward"] == 1
        found = worker.drive(_scan_memory, [*digests, hashlib.sha1(CANARY.encode()).hexdigest()], timeout=60)
    assert [digests.get(d, "the canary") for d in found] == ["the canary"]  # the scan sees what is there


# --------------------------------------------------------------------------- every submission ends (11)
def test_a_module_that_loops_for_ever_costs_its_budget_once(tmp_path):
    sub = submission(tmp_path, "while True:\n    pass\n")
    exercises = [registry.get(i) for i in ("neuron.sigmoid", "neuron.relu", "neuron.tanh")]
    started = time.perf_counter()
    result = grade(sub, exercises, examples=3, submission_timeout=3.0)
    checks = [c for e in result.exercises for c in e.checks]
    assert checks and all(c.status in ("timeout", "error", "not_implemented") for c in checks)
    assert all("could not be imported" in c.message or "time budget" in c.message for c in checks)
    assert time.perf_counter() - started < 60


def test_a_failed_import_is_not_retried(tmp_path):
    with Worker(submission(tmp_path, "while True:\n    pass\n"), wall_slack=SLACK) as worker:
        with pytest.raises(StudentError) as first:
            worker.setup(["neuron"], timeout=1.0)
        assert first.value.kind == "timeout" and "CPU time" in first.value.message
        started = time.perf_counter()
        for _ in range(3):
            with pytest.raises(StudentError):
                call(worker, "sigmoid", 0.0)
        assert time.perf_counter() - started < 1.0 and worker.restarts == 1


def test_sleeping_is_not_charged_as_cpu_so_a_busy_machine_does_not_time_out_correct_work(tmp_path):
    """A loaded machine stretches wall-clock time, not CPU time: a 2.5 s pause at import fits a 1 s budget."""
    sub = submission(tmp_path, "import time\ntime.sleep(2.5)\n\ndef f(x):\n    return x + 1\n")
    with Worker(sub, wall_slack=SLACK) as worker:
        worker.setup(["neuron"], timeout=1.0)
        assert call(worker, "f", 1.0) == 2.0


def test_cpu_burnt_by_the_workers_children_counts(tmp_path):
    sub = submission(
        tmp_path,
        """
        import subprocess, sys

        def f(x):
            subprocess.run([sys.executable, "-c", "while True: pass"])
            return x
    """,
    )
    with Worker(sub, wall_slack=30.0) as worker:
        worker.setup(["neuron"])
        started = time.perf_counter()
        with pytest.raises(StudentError) as err:
            call(worker, "f", 1.0, timeout=1.0)
        assert err.value.kind == "timeout" and "CPU time" in err.value.message
        assert time.perf_counter() - started < 20  # well before the 34 s wall-clock ceiling


#: Tries to move the worker out of its cgroup, into the root of every hierarchy it can see, before it forks.
LEAVE_THE_CGROUP = """
    import glob
    for procs in glob.glob("/sys/fs/cgroup/cgroup.procs") + glob.glob("/sys/fs/cgroup/*/cgroup.procs"):
        try:
            with open(procs, "w") as fh:
                fh.write(str(os.getpid()))
        except OSError:
            pass
"""


@pytest.mark.parametrize(
    "isolation, leave", [("process", False), ("sandbox", False), ("sandbox", True), ("limits", True)]
)
def test_cpu_burnt_by_children_the_kernel_reaps_unseen_counts(tmp_path, isolation, leave):
    """A parent that ignores SIGCHLD has its children reaped by the kernel, and their CPU time never reaches its
    own: 6 s of work spread over 60 children of 0.1 s each was charged 0.3-0.5 s of a 1 s budget.  In a cgroup of
    its own (cpugroup.py, where the grader can make one) every process of the worker counts, and a worker that is
    not root (the sandbox, ``limits``) cannot move out of it first (at ``process`` it runs as the grader, and can)."""
    probe = cpugroup.make("probe-" + os.urandom(4).hex())
    if probe is None:
        pytest.skip("no cgroup can be made here: the worker's CPU is read from /proc, where reaped children are lost")
    probe.remove()
    if isolation == "sandbox" and not sandbox.bwrap_works():
        pytest.skip("no bubblewrap")
    body = textwrap.indent(textwrap.dedent(LEAVE_THE_CGROUP), " " * 12) if leave else ""
    sub = submission(
        tmp_path,
        f"""
        import os, signal, time

        def f(x):
{body}
            signal.signal(signal.SIGCHLD, signal.SIG_IGN)
            for _ in range(60):
                if os.fork() == 0:
                    start = time.process_time()
                    while time.process_time() - start < 0.1:
                        pass
                    os._exit(0)
                time.sleep(0.05)
            return x
    """,
    )
    with Worker(sub, wall_slack=30.0, launcher=sandbox.launcher_for(isolation)) as worker:
        worker.setup(["neuron"])
        with pytest.raises(StudentError) as err:
            call(worker, "f", 1.0, timeout=1.0)
        assert err.value.kind == "timeout" and "CPU time" in err.value.message


# --------------------------------------------------------------------------- no process left behind (10)
def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("forked", [False, True], ids=["started", "forked from a template"])
def test_a_process_whose_pid_keeps_moving_dies_with_the_worker(tmp_path, monkeypatch, forked):
    """A new session whose process forks and exits in a loop: a scan of /proc finds its pid gone, or misses the
    new one; its process group is killed whole.  It holds a FIFO open, so the FIFO's end of file says, without a
    scan, that no process of the loop is left."""
    fifo = tmp_path / "alive"
    os.mkfifo(fifo)
    sub = submission(
        tmp_path,
        f"""
        import os

        def f(x):
            if os.fork() == 0:
                os.setsid()
                fd = os.open({str(fifo)!r}, os.O_WRONLY)
                os.write(fd, str(os.getpgrp()).encode() + b"\\n")
                while True:  # the parent exits at once, the child goes on: the pid keeps moving
                    if os.fork() != 0:
                        os._exit(0)
            return x
    """,
    )
    monkeypatch.setenv("DEEPGRADE_FORKSERVER", "1" if forked else "0")
    launcher = sandbox.process_launcher if forked else plain_launcher
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with Worker(sub, wall_slack=SLACK, launcher=launcher) as worker:
            assert isinstance(worker.proc, forkserver.Adopted) == forked
            worker.setup(["neuron"])
            assert call(worker, "f", 1.0) == 1.0
            assert select.select([reader], [], [], 10)[0], "the loop never started"
            group = int(os.read(reader, 64).split()[0])  # the loop runs, and holds the FIFO open
        ended = select.select([reader], [], [], 10)[0] and os.read(reader, 64) == b""  # every writer gone
        for _ in range(20):  # end it if it did survive, before failing
            with contextlib.suppress(OSError):
                os.killpg(group, signal.SIGKILL)
        assert ended, "a process of the loop outlived its worker"
    finally:
        os.close(reader)


@pytest.mark.parametrize("forked", [False, True], ids=["started", "forked from a template"])
def test_setsid_daemons_and_double_forks_die_with_the_worker(tmp_path, monkeypatch, forked):
    pids = tmp_path / "pids"
    sub = submission(
        tmp_path,
        f"""
        import os, subprocess, sys
        with open({str(pids)!r}, "a") as fh:
            for _ in range(3):  # new sessions, new process groups: outside the worker's group
                p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
                fh.write(f"{{p.pid}}\\n")
            if os.fork() == 0:  # a double fork: the daemon is reparented away from the worker
                os.setsid()
                if os.fork() == 0:
                    with open({str(pids)!r}, "a") as out:
                        out.write(f"{{os.getpid()}}\\n")
                    import time
                    time.sleep(300)
                os._exit(0)

        def f(x):
            return x
    """,
    )
    # forked (grader/isolation/worker/forkserver.py): a fork without exec inherits the marker from memory
    monkeypatch.setenv("DEEPGRADE_FORKSERVER", "1" if forked else "0")
    launcher = sandbox.process_launcher if forked else plain_launcher
    with Worker(sub, wall_slack=SLACK, launcher=launcher) as worker:
        assert isinstance(worker.proc, forkserver.Adopted) == forked
        worker.setup(["neuron"])
        assert call(worker, "f", 1.0) == 1.0
        deadline = time.time() + 10
        while len(pids.read_text().split()) < 4 and time.time() < deadline:
            time.sleep(0.05)
        daemons = [int(p) for p in pids.read_text().split()]
        assert len(daemons) == 4 and all(_alive(p) for p in daemons)
    deadline = time.time() + 5
    while any(_alive(p) for p in daemons) and time.time() < deadline:
        time.sleep(0.05)
    left = [p for p in daemons if _alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert left == []
    gc.collect()


def test_the_arrays_held_by_given_objects_are_bounded():
    """Objects of given classes (an optimizer) live in the grader for the whole exercise, built from arrays the
    student's code chooses: past MAX_HELD_BYTES of them, a new one is refused (the student's error)."""
    given = reference.Given(registry.get("cnn.model"))
    assert "SGD" in given.spec["optim"]["classes"] and given.MAX_HELD_BYTES == 256 << 20
    given.MAX_HELD_BYTES = 8 << 20  # the same rule at a smaller scale: the test holds 16 MB, not 512
    made = 0
    with pytest.raises(GivenCallError, match="MB of arrays"):
        for _ in range(100):  # 3 MB of parameters each
            given({"kind": "new", "part": "optim", "name": "SGD", "args": [[np.zeros(3 << 17)], 0.1], "kwargs": {}})
            made += 1
    assert made == given.MAX_HELD_BYTES // (3 << 20)
    small = given({"kind": "new", "part": "optim", "name": "SGD", "args": [[np.zeros(10)], 0.1], "kwargs": {}})
    assert small == made  # what still fits is served


def test_a_huge_call_to_a_given_function_is_refused_by_size(tmp_path):
    """The worker's calls to given functions are replies too: capped like them, the grader never parses 8 MB
    it did not ask for, and a fresh worker answers afterwards."""
    ex = registry.get("backprop.mlp")
    given = reference.Given(ex)
    sub = tmp_path / "sub"
    sub.mkdir()
    for part in ("neuron", "losses"):
        (sub / f"{part}.py").write_text((reference.ASSIGNMENTS / f"{part}.py").read_text())
    (sub / "backprop.py").write_text(
        (reference.ASSIGNMENTS / "backprop.py").read_text()
        + textwrap.dedent("""

        def huge(x):
            return affine_forward(np.zeros((1000, 1000)), np.zeros((1000, 1)), np.zeros(1))[0].shape
    """)
    )
    with Worker(sub, serve=given, wall_slack=SLACK) as worker:
        worker.setup(["backprop"], part="backprop", given=given.spec, serve=given)
        with pytest.raises(StudentError) as err:
            worker.drive(drivers.call_function, "backprop", "huge", [0.0], {}, None, timeout=5.0)
        assert err.value.fatal and "limit" in err.value.message
        assert given.calls["backprop.affine_forward"] == 0  # refused before the reference ran
        x, w, b = np.ones((2, 3)), np.ones((3, 4)), np.zeros(4)
        out = worker.drive(drivers.call_function, "backprop", "affine_forward", [x, w, b], {}, 0)["result"]
        assert np.allclose(out, x @ w + b)
