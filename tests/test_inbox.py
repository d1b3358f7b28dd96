"""The pipe reader both sides of the worker boundary use (``wire.Inbox``): messages arrive whole and in order
however the writes fall, a reader looks briefly and then sleeps (never a busy loop), and never looks on one core."""

import os
import threading
import time

import numpy as np
import pytest

from grader import reference
from grader.isolation.worker import proctree, wire
from grader.isolation.worker.client import Worker


@pytest.fixture
def pipe():
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass


def test_messages_arrive_whole_and_in_order_however_the_writes_fall(pipe):
    r, w = pipe
    inbox = wire.Inbox(r, spin=wire.SPIN_SECONDS, block=True)
    small = [{"n": i, "x": np.arange(i + 1.0)} for i in range(3)]
    large = {"n": 3, "x": np.arange(3 * wire.Inbox.SIZE, dtype=np.float64)}  # straight into its own buffer
    two_in_one = wire.encode_bytes(small[0]) + wire.encode_bytes(small[1])
    dripped = wire.encode_bytes(small[2])

    def writer():
        os.write(w, two_in_one)
        for i in range(len(dripped)):  # a byte at a time
            os.write(w, dripped[i : i + 1])
        time.sleep(0.05)  # the reader has given up looking and sleeps
        wire.write_blocking(os.fdopen(os.dup(w), "wb", buffering=0), large)

    thread = threading.Thread(target=writer)
    thread.start()
    got = [wire.read_blocking(inbox) for _ in range(4)]
    thread.join()
    assert [m["n"] for m in got] == [0, 1, 2, 3]
    for sent, read in zip([*small, large], got):
        assert np.array_equal(sent["x"], read["x"])


def test_a_message_that_came_whole_is_decoded_where_it_lies_and_its_limit_still_holds(pipe, monkeypatch):
    r, w = pipe
    inbox = wire.Inbox(r, block=True)
    os.write(w, wire.encode_bytes({"x": np.arange(3.0)}) + wire.encode_bytes({"big": np.zeros(1000)}))
    monkeypatch.setattr(wire, "Reader", None)  # no Reader for a message the buffer holds whole
    got = wire.read_blocking(inbox, 4096)
    assert np.array_equal(got["x"], np.arange(3.0)) and got["x"].flags.writeable and got["x"].flags.owndata
    monkeypatch.undo()
    with pytest.raises(wire.ProtocolError, match="the limit here is 1000"):  # 8 kB: the Reader refuses it
        wire.read_blocking(inbox, 1000)


def test_without_blocking_an_empty_pipe_reads_none_and_a_closed_one_zero(pipe):
    r, w = pipe
    inbox = wire.Inbox(r, spin=1e-3)
    view = memoryview(bytearray(16))
    assert inbox.readinto(view) is None  # looked for a millisecond, then gave up
    os.write(w, b"abc")
    assert inbox.readinto(view) == 3 and bytes(view[:3]) == b"abc"
    os.close(w)
    assert inbox.readinto(view) == 0


def test_no_looking_on_a_single_core_or_under_a_quota_of_less_than_two(monkeypatch):
    monkeypatch.setattr(wire, "_quota", lambda: float("inf"))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
    assert wire.spin_seconds() == 0.0
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert wire.spin_seconds() == wire.SPIN_SECONDS > 0
    monkeypatch.setattr(wire, "_quota", lambda: 1.5)  # a container given one and a half cores of a big machine
    assert wire.spin_seconds() == 0.0


def test_a_cgroup_quota_is_read_as_cores(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # cgroup v2
    assert wire._quota(str(tmp_path)) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert wire._quota(str(tmp_path)) == float("inf")
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()  # cgroup v1
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert wire._quota(str(tmp_path)) == 0.5
    assert wire._quota(str(tmp_path / "none")) == float("inf")


def test_looking_only_while_a_core_is_spare(monkeypatch):
    """The kernel's count of runnable tasks decides: above the cores, a reader sleeps at once."""
    loadavg = [b"0.50 0.40 0.30 5/120 4242\n"]
    real_read = os.read
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(os, "read", lambda fd, n: loadavg[0] if n == 256 else real_read(fd, n))
    for line, spare in ((b"0.50 0.40 0.30 5/120 4242\n", False), (b"3.10 2.00 1.00 4/120 4242\n", True)):
        loadavg[0] = line
        monkeypatch.setattr(wire, "_spare", [-1.0, None])
        assert wire.spare_core() is spare


@pytest.fixture
def reads(monkeypatch):
    """The count of ``os.readv`` calls."""
    count = [0]
    real_readv = os.readv

    def counted(fd, buffers):
        count[0] += 1
        return real_readv(fd, buffers)

    monkeypatch.setattr(os, "readv", counted)
    return count


@pytest.mark.parametrize("spare", [False, True])
def test_a_reader_looks_again_only_while_a_core_is_spare(pipe, monkeypatch, reads, spare):
    r, _ = pipe
    inbox = wire.Inbox(r, spin=2e-3)
    monkeypatch.setattr(wire, "spare_core", lambda: spare)
    assert inbox.readinto(memoryview(bytearray(8))) is None
    assert (reads[0] > 1) is spare  # one read and no more when no core is spare; looked again for 2 ms otherwise


def sleeps(student, seconds):
    import time

    time.sleep(seconds)
    return seconds


def test_a_waiting_worker_and_grader_sleep_instead_of_looking():
    """Both sides look for a few microseconds, then sleep: neither burns CPU while the other is slow."""
    with Worker(reference.SOLUTIONS) as worker:
        worker.setup(["neuron"])
        worker.ping()
        assert worker.proc is not None
        theirs, mine = proctree.cpu_seconds(worker.proc.pid), time.process_time()
        assert worker.drive(sleeps, 0.5) == 0.5  # the grader waits on the worker
        time.sleep(0.5)  # the worker waits on the grader
        assert proctree.cpu_seconds(worker.proc.pid) - theirs < 0.1
        assert time.process_time() - mine < 0.1


def test_a_look_can_be_shortened_for_one_read_never_lengthened(pipe, monkeypatch, reads):
    r, _ = pipe
    inbox = wire.Inbox(r, spin=2e-3)
    monkeypatch.setattr(wire, "spare_core", lambda: True)
    assert inbox.fill(0.0) is None and reads[0] == 1  # no look at all
    started = time.perf_counter()
    assert inbox.fill(10.0) is None and time.perf_counter() - started < 1.0  # at most the inbox's own 2 ms


def slowly_given(student, n):
    f = student("neuron").relu_forward
    for _ in range(n):
        f(1.0)
    return n


def test_a_worker_awaiting_a_given_answer_looks_only_briefly():
    """The worker's look for the grader's answer is charged to the student: it stops after
    ``ANSWER_SPIN_SECONDS``, not the longer look of a worker between requests.  Measured against the same calls
    answered at once, so that what the calls themselves cost (more on a loaded machine) cancels out."""
    delay = [0.0]

    def serve(call):
        time.sleep(delay[0])
        return call["args"][0]

    def worker_cpu(worker, seconds, calls=300):
        delay[0] = seconds
        before = proctree.cpu_seconds(worker.proc.pid)
        assert worker.drive(slowly_given, calls, timeout=60) == calls
        return proctree.cpu_seconds(worker.proc.pid) - before

    with Worker(reference.SOLUTIONS) as worker:
        worker.setup(["neuron"], part="neuron", given={"neuron": {"functions": ["relu_forward"]}}, serve=serve)
        worker.drive(slowly_given, 10)
        assert worker.proc is not None
        at_once = worker_cpu(worker, 0.0)
        slow = worker_cpu(worker, 0.002)  # a reference far slower than either look
    # 300 looks of SPIN_SECONDS would add 0.15 s; of ANSWER_SPIN_SECONDS, 0.015 s (CPU is read in 10 ms ticks)
    assert slow - at_once < 300 * wire.SPIN_SECONDS / 2, (slow, at_once)


def test_the_rest_of_a_message_is_looked_for_no_longer_than_its_start(pipe, monkeypatch, reads):
    """``read_blocking(..., spin=)`` holds for every read of the message, not only the first (a given call's
    answer that comes in parts is still looked for only briefly, on the student's budget)."""
    r, w = pipe
    inbox = wire.Inbox(r, spin=0.2, block=True)  # a look far longer than the writer's pause
    monkeypatch.setattr(wire, "spare_core", lambda: True)
    message = wire.encode_bytes({"ok": np.zeros(100)})
    os.write(w, message[:20])
    writer = threading.Timer(0.05, lambda: os.write(w, message[20:]))
    writer.start()
    got = wire.read_blocking(inbox, spin=0.0)
    writer.join()
    assert np.array_equal(got["ok"], np.zeros(100))
    assert reads[0] < 20, reads[0]  # a look of 0.2 s would have read thousands of times in the 50 ms pause
