"""A replayed property sends its examples' first calls to the worker in one request (``drive_many``) and reads one
reply per call.  What a student's code can do with that stream: stall one call, answer out of turn, flood, or
die half-way.  Each call keeps its own budget and its own byte limit, and whatever breaks the stream ends it at
that call, with the worker stopped."""

from __future__ import annotations

import pytest

from grader import reference
from grader.isolation.worker import client
from grader.isolation.worker.client import StudentError, Worker


def _stall_on(student, value, bad):
    if value == bad:
        while True:
            pass
    return value


def _speak_out_of_turn(student, value):
    """Writes a message of its own on the protocol's pipe before its reply: the grader reads it as this call's."""
    import gc

    session = next(o for o in gc.get_objects() if type(o).__name__ == "_Session")
    wire = __import__("sys").modules["_deepgrade_wire"]
    wire.write_blocking(session.proto_out, [value, "not a reply"])
    return value


def _flood(student, value):
    import numpy as np

    return np.zeros(value) if value > 10 else value


def _die(student, value):
    import os

    if value == 2:
        os._exit(3)
    return value


def _calls(fn, values, budget=5.0):
    return [(fn, [v, *extra], budget) for v, *extra in values]


@pytest.fixture
def worker():
    with Worker(reference.SOLUTIONS) as w:
        w.setup(["neuron"])
        yield w


def test_a_stalled_call_times_out_on_its_own_budget_and_ends_the_stream(worker):
    out = worker.drive_many([(_stall_on, [1, 2], 5.0), (_stall_on, [2, 2], 0.5), (_stall_on, [3, 2], 5.0)])
    assert worker.result(out[0]) == 1
    assert isinstance(out[1], StudentError) and out[1].kind == "timeout"
    assert len(out) == 2  # the third call was never answered: it goes to the worker again if it is wanted
    # charged: the first call and the stalled one's half second, not the five seconds of the first or the sum
    assert worker.used_seconds < 4.0 and worker.restarts == 1
    assert worker.ping() == "pong"


def test_a_message_out_of_turn_breaks_the_stream_at_that_call(worker):
    out = worker.drive_many(_calls(_speak_out_of_turn, [(1,), (2,)]))
    assert len(out) == 1 and isinstance(out[0], StudentError) and out[0].fatal
    assert "not an object" in out[0].message and worker.restarts == 1
    assert worker.ping() == "pong"


def test_each_reply_has_its_own_byte_limit(worker, monkeypatch):
    monkeypatch.setattr(client, "REPLY_FLOOR", 64 * 1024)
    out = worker.drive_many(_calls(_flood, [(1,), (2,), (1_000_000,), (3,)]))  # 8 MB where 64 kB are allowed
    assert [worker.result(r) for r in out[:2]] == [1, 2]
    assert len(out) == 3 and isinstance(out[2], StudentError) and "malformed message" in out[2].message
    assert worker.ping() == "pong"


def test_a_worker_that_dies_half_way_ends_the_stream_there(worker):
    out = worker.drive_many(_calls(_die, [(1,), (2,), (3,)]))
    assert worker.result(out[0]) == 1
    assert len(out) == 2 and out[1].fatal and "exited with code 3" in out[1].message
    assert worker.ping() == "pong"


def test_each_reply_keeps_what_its_own_call_printed(worker):
    out = worker.drive_many(_calls(_prints, [(1,), (2,)]))
    assert [worker.result(r) for r in out] == [1, 2]  # result() of each: its own output is the last
    assert worker.last_stdout == "call 2\n" and "call 1\ncall 2\n" in worker.printed


def _prints(student, value):
    print("call", value)
    return value


def _grow(student, x):
    import numpy as np

    return np.concatenate([x] * 6)


def test_each_reply_may_be_as_large_as_its_own_call_allows(worker, monkeypatch):
    """A batch is never stricter than the calls on their own: a big example's reply gets the room its own request
    gives it, not a share of the batch's."""
    import numpy as np

    monkeypatch.setattr(client, "REPLY_FLOOR", 64 * 1024)
    big = np.zeros(90_000)  # 720 kB: its reply may be 5.8 MB; it is 4.3 MB
    out = worker.drive_many([(_grow, [np.zeros(2)], 5.0)] * 7 + [(_grow, [big], 5.0)])
    assert len(out) == 8 and not any(isinstance(r, StudentError) for r in out)
    assert worker.result(out[-1]).size == 540_000


def test_a_batch_holds_no_more_replies_than_one_call_may(worker, monkeypatch):
    """The grader holds a batch's replies until their examples run: only as many calls go ahead as their limits
    allow together within the ceiling of one reply; the others are left to go to the worker one by one."""
    monkeypatch.setattr(client, "REPLY_FLOOR", 300 * 1024)
    monkeypatch.setattr(client, "REPLY_CEILING", 1024 * 1024)
    out = worker.drive_many(_calls(_flood, [(1,), (2,), (3,), (4,), (5,)]))
    assert [worker.result(r) for r in out] == [1, 2, 3]


def _sly_reply(student, how):
    """What a student's function may return for a driver to pass on: subclasses of the plain types that lie."""

    class Sly(float):
        def __repr__(self):
            raise RuntimeError("no")

        def __float__(self):
            return 0.5  # what the student would like the grader to see

    class Endless(list):
        def __iter__(self):
            raise RuntimeError("no")

    return Sly(2.0) if how == "float" else Endless([1])


def test_subclasses_of_plain_types_cross_as_their_base_or_not_at_all(worker):
    """The encoder sends a subclass as its base type, through that type's own conversion; one that raises while
    being sent ends the worker (the student's error), never the grader."""
    out = worker.drive_many(_calls(_sly_reply, [("float",), ("list",), ("float",)]))
    assert type(worker.result(out[0])) is float
    assert len(out) == 2 and isinstance(out[1], StudentError) and out[1].fatal
    assert worker.ping() == "pong"
