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


def test_each_call_of_a_batch_gets_the_limit_its_own_request_would(worker, monkeypatch):
    """Each call is packed once, as the request it would be on its own: its reply's limit is that request's, and
    the batch's bytes are what packing the whole request gives."""
    import numpy as np

    from grader.isolation.worker import wire

    sizes: list[int] = []
    monkeypatch.setattr(client, "reply_limit", lambda size: sizes.append(size) or 1 << 20)
    calls = [(_grow, [np.zeros(n)], 5.0) for n in (2, 3000, 17)]
    worker.drive(_grow, np.zeros(1))  # the driver's definition goes first, once
    sizes.clear()
    for fn, args, budget in calls:
        worker.drive(fn, *args, timeout=budget)
    alone, sizes[:] = list(sizes), []
    out = worker.drive_many(calls)
    assert [worker.result(r).size for r in out] == [12, 18000, 102] and sizes == alone
    packed = [wire.pack({"op": "drive", "name": "m.f", "args": a}) for _f, a, _b in calls * 6]  # 18: an array16
    whole = wire.encode(
        {"op": "drive_many", "calls": [{"op": "drive", "name": "m.f", "args": a} for _f, a, _b in calls * 6]}
    )
    assert b"".join(wire.encode_with_list({"op": "drive_many"}, "calls", packed)) == b"".join(whole)


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
    """The encoder sends a subclass as its base type, through that type's own conversion (never the student's
    ``__float__``); one that raises while being sent is the student's error for that call, never the grader's."""
    out = worker.drive_many(_calls(_sly_reply, [("float",), ("list",), ("float",)]))
    assert [type(worker.result(r)) for r in (out[0], out[2])] == [float, float] and worker.result(out[0]) == 2.0
    assert isinstance(out[1], dict) and "not plain data" in out[1]["message"]
    with pytest.raises(StudentError) as err:
        worker.result(out[1])
    assert not err.value.fatal
    assert worker.ping() == "pong"


#: Two relu_backwards that never compute the gradient.  Each tries to learn the directions the gradient check will
#: test along before it returns; if it learns them, it returns the smallest vector with the right derivative along
#: each (wrong everywhere else), else zeros.  One looks in the worker's memory for the replay's batch, in case the
#: check's forwards on its own input moved along the directions are in it; the other finds the example's seed in
#: the driver's frame (``forward_backward_seeded`` gets it, to draw ``dout``) and draws the directions from it as
#: the check would from the seed alone.
_PROJECT = """
    if len(moved) < 2:
        return np.zeros_like(x)
    rows, derivatives = [], []
    for plus, minus in zip(moved[::2], moved[1::2]):
        rows.append(((plus - minus) / 2).ravel())
        derivatives.append(float(np.sum(dout * (np.maximum(plus, 0) - np.maximum(minus, 0)))) / 2)
    v = np.array(rows)
    return (v.T @ np.linalg.lstsq(v @ v.T, np.array(derivatives), rcond=None)[0]).reshape(x.shape)
"""
PEEKING = {
    "peeks at the batch": """
def relu_backward(dout, cache):
    import gc

    x = cache
    moved = []
    for o in gc.get_objects():
        if isinstance(o, dict) and o.get("op") == "drive_many" and isinstance(o.get("calls"), list):
            for call in o["calls"]:
                args = call.get("args") if isinstance(call, dict) else None
                if not (isinstance(args, list) and len(args) == 4 and isinstance(args[2], list)):
                    continue
                lists = [a[0] for a in args[2] if isinstance(a, list) and a and isinstance(a[0], np.ndarray)]
                if len(lists) == len(args[2]) and all(m.shape == x.shape for m in lists):
                    if np.allclose(lists[0], x, atol=1e-3) and not np.array_equal(lists[0], x):
                        moved = lists
"""
    + _PROJECT,
    "draws them from the seed": """
def relu_backward(dout, cache):
    import sys

    x, moved = cache, []
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "forward_backward_seeded":
            rng = np.random.default_rng(frame.f_locals["seed"])
            for v in [rng.standard_normal(x.shape) for _ in range(2)]:
                v = v / (np.linalg.norm(v) or 1.0)
                moved += [x + 1e-6 * v, x - 1e-6 * v]
        frame = frame.f_back
"""
    + _PROJECT,
}


@pytest.mark.parametrize("how", list(PEEKING))
def test_a_backward_cannot_learn_the_gradient_checks_directions_before_it_returns(tmp_path, monkeypatch, how):
    """A gradient check along a few random directions is sound only if the gradient is fixed before the directions
    are known.  The batch lies whole in the worker's memory before its first call runs (6a6e2fa put the check's
    forwards on moved inputs in it; reverted), and the example's seed reaches the worker with its first call: the
    directions are drawn from the returned gradients too (``grader.checks.gradcheck``).  Graded after the reference
    recorded the plan (so the replay's batch is used), a backward that aims at the directions fails the check."""
    from grader import registry
    from grader.runner import grade
    from tests.corpus import Variant

    monkeypatch.setenv("DEEPGRADE_CACHE", str(tmp_path / "cache"))
    ex = registry.get("neuron.relu")
    only = lambda c: c.name == "relu_backward passes the gradient check"  # noqa: E731
    honest = grade(reference.SOLUTIONS, [ex], examples=10, only=only)
    assert [c.status for c in honest.exercises[0].checks] == ["passed"]  # the plan is recorded
    peeking = Variant("neuron.relu", how, PEEKING[how]).write(tmp_path / "peeking")
    result = grade(peeking, [ex], examples=10, only=only)
    assert [c.status for c in result.exercises[0].checks] == ["failed"], result.exercises[0].checks[0].message


@pytest.mark.parametrize("layout", ["C", "Fortran", "big-endian", "strided view"])
def test_a_reply_is_known_when_sent_back_whatever_layout_or_byte_order_the_student_chose(layout):
    """A first call that sends back what the worker returned is never recorded (a plan's calls go ahead to other
    students' workers): the check keys every array that came back, and a student cannot pick a form of its reply
    that the grader holds differently from the array a later call sends back."""
    import numpy as np

    from grader.checks.context import _array_keys
    from grader.isolation.worker import wire

    x = np.arange(6.0).reshape(2, 3)
    sent = {
        "C": x,
        "Fortran": np.asfortranarray(x),
        "big-endian": x.astype(">f8"),
        "strided view": np.arange(12.0).reshape(2, 6)[:, ::2],
    }[layout]
    held = wire.decode_bytes(wire.encode_bytes({"ok": sent}))["ok"]  # as the grader receives the reply
    assert held.flags.c_contiguous and held.dtype.isnative and np.array_equal(held, sent)
    # sent back as it came, as a copy, or as a view in another layout: the same key
    for back in (held, held.copy(), np.asfortranarray(held), held.T.T):
        assert _array_keys([back, np.zeros(3)]) & _array_keys([held])
