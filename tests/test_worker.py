"""The worker boundary: plain data only, time limits, crashes, and what the worker imports."""

from __future__ import annotations

import dataclasses
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from grader import registry
from grader.isolation.worker import wire
from grader.isolation.worker.client import StudentError, Worker
from grader.runner import grade


def _modules(student):
    import sys

    return sorted(sys.modules)


def _spin(student):
    while True:
        pass


def test_arrays_and_tuples_cross_and_round_trip():
    value = {
        "a": np.arange(6.0).reshape(2, 3),
        "t": (1, 2.5, "s", None, True, ((),)),
        "n": float("nan"),
        "s": np.float64(3.0),
        "l": [np.int64(2)],
    }
    back = wire.decode_bytes(wire.encode_bytes(value))
    assert np.array_equal(back["a"], value["a"]) and back["a"].dtype == np.float64
    assert back["t"] == (1, 2.5, "s", None, True, ((),)) and type(back["t"][5][0]) is tuple
    assert np.isnan(back["n"]) and type(back["s"]) is float and back["s"] == 3.0
    assert back["l"] == [2] and type(back["l"][0]) is np.int64


def _extension(code: int, data: bytes) -> bytes:
    """A whole message whose body is one MessagePack extension (as a worker could forge it)."""
    import msgpack

    body = msgpack.packb(msgpack.ExtType(code, data))
    return wire.MAGIC + len(body).to_bytes(8, "big") + body


def _array_data(descr: str, shape: tuple[int, ...], data: bytes) -> bytes:
    """An array extension's data as the wire's docstring lays it out."""
    dims = b"".join(d.to_bytes(8, "little") for d in shape)
    return bytes([len(descr)]) + descr.encode() + bytes([len(shape)]) + dims + data


def test_decode_never_unpickles():
    with pytest.raises(wire.ProtocolError):  # an object array is refused by its dtype before its bytes are read
        wire.decode_bytes(_extension(1, _array_data("|O8", (1,), pickle.dumps(object()))))
    with pytest.raises(wire.ProtocolError):  # a pickle where the body was
        wire.decode_bytes(wire.MAGIC + (8).to_bytes(8, "big") + pickle.dumps(1)[:8])
    message = bytearray(wire.encode_bytes(np.zeros(1)))
    message[-8:] = pickle.dumps(1)[-8:]  # garbage where the array was: the sizes no longer agree
    with pytest.raises(wire.ProtocolError):
        wire.decode_bytes(bytes(message)[:-1])


def test_encode_refuses_objects():
    with pytest.raises(TypeError):
        wire.encode(object())
    with pytest.raises(TypeError):
        wire.encode(np.array([None], dtype=object))


def test_numpy_exercise_worker_does_not_import_torch():
    from grader import reference

    with Worker(reference.SOLUTIONS) as w:
        w.setup(["neuron"])
        assert "numpy" in w.drive(_modules)
        assert "torch" not in w.drive(_modules)


def test_timeout_restarts_the_worker_and_the_next_call_works():
    from grader import reference

    with Worker(reference.SOLUTIONS) as w:
        with pytest.raises(StudentError) as info:
            w.drive(_spin, timeout=0.5)
        assert info.value.kind == "timeout"
        assert w.restarts == 1
        assert w.ping() == "pong"


def _returns_the_students_object(student):
    class Sneaky:  # what a student's function may return, passed on by a driver as it is
        def __array__(self, dtype=None, copy=None):
            raise RuntimeError("never asked")

    return {"value": Sneaky()}


def _returns_a_list_that_raises(student, which):
    class Trap(list):  # a list whose items cannot be read: packing it raises the student's own exception
        def __iter__(self):
            raise RuntimeError("a trap")

    class Loud(Exception):
        def __str__(self):
            raise ValueError("cannot even say why")

    class Louder(list):
        def __iter__(self):
            raise Loud()

    return {"trap": Trap([1])} if which == "trap" else {"loud": Louder([1])}


def _returns_what_the_decoder_refuses(student, which):
    return {"bytes": b"\x00"} if which == "bytes" else {1: "an int key"}


def test_a_result_that_is_not_plain_data_is_the_students_error_and_the_worker_goes_on():
    from grader import reference

    with Worker(reference.SOLUTIONS) as w:
        with pytest.raises(StudentError, match="returned a value that is not plain data") as info:
            w.drive(_returns_the_students_object)
        assert info.value.kind == "error" and w.restarts == 0
        for which in ("trap", "loud"):  # an exception of the student's own while its value is packed
            with pytest.raises(StudentError, match="returned a value that is not plain data") as info:
                w.drive(_returns_a_list_that_raises, which)
            assert info.value.kind == "error" and w.restarts == 0, which
        assert w.ping() == "pong"
        for which in ("bytes", "int key"):  # packed, but not plain data: refused by the grader, a fatal error
            with pytest.raises(StudentError, match="malformed") as info:
                w.drive(_returns_what_the_decoder_refuses, which)
            assert info.value.fatal, which
        assert w.ping() == "pong"


def test_timeout_and_crash_are_recorded_and_grading_goes_on(make_submission):
    sub = make_submission(
        "neuron.sigmoid",
        """
        def sigmoid_forward(x):
            while True:
                pass
        def relu_forward(x):
            import os
            os._exit(3)
    """,
    )
    quick = [  # 2-second budgets: the loop is caught as surely, and burns 2 s of CPU instead of 10
        dataclasses.replace(e, checks=[dataclasses.replace(c, timeout=2.0) for c in e.checks])
        for e in registry.select(["neuron.sigmoid", "neuron.relu", "neuron.tanh"])
    ]
    result = grade(sub, quick, examples=5)
    by_id = {e.id: e for e in result.exercises}
    assert by_id["neuron.sigmoid"].status == "timeout"
    assert "of CPU time" in by_id["neuron.sigmoid"].first_failure().message
    assert by_id["neuron.relu"].status == "error"
    assert "exited with code 3" in by_id["neuron.relu"].first_failure().message
    assert by_id["neuron.tanh"].status == "passed"


def test_syntax_error_is_that_parts_error_with_the_line(tmp_path):
    import shutil

    from grader import reference

    shutil.copytree(reference.SOLUTIONS, tmp_path / "s")
    path = tmp_path / "s" / "neuron.py"
    path.write_text(path.read_text() + "\ndef broken(:\n")
    result = grade(tmp_path / "s", registry.select(["neuron.relu"]), examples=3)
    check = result.exercises[0].checks[0]
    assert check.status == "error"
    assert "SyntaxError in neuron.py line" in check.message


def test_missing_function_and_missing_file_are_clear(tmp_path):
    (tmp_path / "neuron.py").write_text("import numpy as np\n")
    result = grade(tmp_path, registry.select(["neuron.relu"]), examples=3)
    assert result.exercises[0].status == "error"
    assert "relu_forward" in result.exercises[0].first_failure().message
    empty = tmp_path / "empty"
    empty.mkdir()
    result = grade(empty, registry.select(["neuron.relu"]), examples=3)
    assert "neuron.py is missing" in result.exercises[0].first_failure().message


def test_student_prints_do_not_break_the_protocol(make_submission):
    sub = make_submission(
        "neuron.relu",
        """
        def relu_forward(x):
            print("debug", x.shape)
            import sys
            sys.stdout.write("x" * 100000)
            return np.maximum(x, 0.0), x
    """,
    )
    result = grade(sub, registry.select(["neuron.relu"]), examples=5)
    assert result.exercises[0].status == "passed"


def test_monkeypatching_numpy_in_the_worker_cannot_pass_a_wrong_answer(make_submission):
    sub = make_submission(
        "neuron.tanh",
        """
        np.allclose = lambda *a, **k: True
        np.testing.assert_allclose = lambda *a, **k: None
        def tanh_forward(x):
            return np.zeros_like(x), x
    """,
    )
    result = grade(sub, registry.select(["neuron.tanh"]), examples=5)
    assert result.exercises[0].score == 0 or result.exercises[0].status == "failed"
    assert any(c.status == "failed" for c in result.exercises[0].checks)


def test_drivers_with_the_same_name_in_two_modules_do_not_collide():
    from grader import reference

    def run(student):
        return "first"

    first = run

    def run(student):  # the same name again: the point of the test
        return "second"

    second = run
    second.__qualname__ = "other.run"
    with Worker(reference.SOLUTIONS) as w:
        assert w.drive(first) == "first"
        assert w.drive(second) == "second"


@pytest.mark.parametrize(
    "array",
    [
        np.zeros(()),
        np.arange(3.0),
        np.ones((3, 4), np.float32),
        np.array([True]),
        np.zeros((2, 0, 3), np.int64),
        np.array(1 + 2j),
        np.zeros(5, ">f8"),
        np.arange(12.0).reshape(3, 4)[:, ::2],
        np.asfortranarray(np.ones((3, 2))),
        np.arange(4, dtype=np.uint8),
    ],
)
def test_arrays_read_back_exactly_as_writable_native_copies(array):
    message = wire.encode_bytes(array)
    back = wire.decode_bytes(message)
    assert back.shape == array.shape and back.dtype == array.dtype.newbyteorder("=") and np.array_equal(back, array)
    assert back.flags.writeable and back.flags.owndata and back.flags.c_contiguous
    forged = _array_data(array.dtype.str, array.shape, np.ascontiguousarray(array).tobytes())  # by the docstring
    assert np.array_equal(wire._array(forged), array) and wire._array(forged).shape == array.shape


@pytest.mark.parametrize(
    "descr", ["|O8", "<U4", "|S3", "|V8", "<m8", "<M8[s]", "<f0", "<f3", "f8", "<f8 ", "<f16", "<c32"]
)
def test_an_array_of_a_non_numeric_dtype_is_refused(descr):
    with pytest.raises(wire.ProtocolError):
        wire.decode_bytes(_extension(1, _array_data(descr, (1,), bytes(8))))
    with pytest.raises(wire.ProtocolError):
        wire.decode_bytes(_extension(2, _array_data(descr, (), bytes(8))))


def _where_is(student, name):
    import sys

    return getattr(sys.modules.get(name), "__file__", None)


def test_a_preload_runs_no_file_of_the_submission(tmp_path):
    # a student's module named like the library: the preload imports the real one, and runs nothing of theirs
    sub = tmp_path / "sub"
    sub.mkdir()
    marker = tmp_path / "ran"
    (sub / "colorsys.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (sub / "part.py").write_text("import colorsys\n")
    with Worker(sub) as w:
        w.preload(["colorsys", "no_such_module_at_all"])  # one fails: the worker goes on
        w.setup(["part"])
        assert not marker.exists()
        assert not str(w.drive(_where_is, "colorsys")).startswith(str(sub))
        assert w.restarts == 0


def test_a_preloads_seconds_are_charged_to_no_call(tmp_path):
    # what the worker spends importing torch before any student file is not the submission's time
    (tmp_path / "part.py").write_text("x = 1\n")
    with Worker(tmp_path) as w:
        w.preload(["torch"])
        w.setup(["part"])
        assert "torch" in w.drive(_modules)
        preloaded = w.used_seconds
    with Worker(tmp_path) as w:  # the control: the same import, asked for by a call, is charged
        w.setup(["part"])
        w.drive(_imports_torch)
        asked = w.used_seconds
    assert preloaded * 4 < asked, (preloaded, asked)


def _imports_torch(student):
    import torch  # noqa: F401


def test_grade_preloads_torch_only_where_a_torch_part_follows_numpy_parts():
    from grader.runner import preloads

    numpy_parts = [registry.get("neuron.relu"), registry.get("cnn.conv")]
    assert preloads(numpy_parts) == []
    assert preloads([*numpy_parts, registry.get("pytorch.net")]) == ["torch", "torch._dynamo"]
    assert preloads([*numpy_parts, registry.get("keras_model.fit")]) == ["torch", "torch._dynamo", "keras"]


def test_grade_starts_the_torch_worker_while_the_numpy_parts_are_graded(monkeypatch):
    from grader import reference
    from grader.isolation.worker import client

    asked = []
    preload = client.Worker.preload
    monkeypatch.setattr(client.Worker, "preload", lambda w, modules: (asked.append(list(modules)), preload(w, modules)))
    exercises = [registry.get("neuron.relu"), registry.get("pytorch.net")]
    result = grade(reference.SOLUTIONS, exercises, examples=3)
    assert asked == [["torch", "torch._dynamo"]]
    assert result.score == result.max_score, [(c.name, c.message) for e in result.exercises for c in e.checks]
    asked.clear()
    grade(reference.SOLUTIONS, exercises[1:], examples=3)  # nothing to overlap with: no preload
    assert asked == []


def _echo_size(student, x):
    return x


def test_a_message_up_to_a_mebibyte_is_one_write_into_a_pipe_that_holds_it():
    """The protocol's pipes hold a whole joined message (``wire.widen_pipe``): a 130 KiB gradient was three writes
    into Linux's 64 KiB pipe, each waiting for the reader to drain it and waking it again."""
    import fcntl

    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("no F_GETPIPE_SZ here")
    if os.geteuid() != 0 and int(Path("/proc/sys/fs/pipe-max-size").read_text()) < wire.JOIN_BELOW:
        pytest.skip("this system caps pipes below JOIN_BELOW")
    from grader import reference

    with Worker(reference.SOLUTIONS) as w:
        assert w.ping() == "pong"
        for stream in (w.proc.stdin, w.proc.stdout):
            assert fcntl.fcntl(stream.fileno(), fcntl.F_GETPIPE_SZ) >= wire.JOIN_BELOW
        big = np.arange(100_000, dtype=np.float64)  # 800 KB each way: one write each
        writes = []
        real = os.write
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(os, "write", lambda fd, data: writes.append(len(data)) or real(fd, data))
            assert np.array_equal(w.drive(_echo_size, big), big)
        assert [n for n in writes if n > 1000] == [max(writes)] and max(writes) > big.nbytes  # and a small set-up


def test_a_worker_stopped_before_its_start_time_is_read_is_killed_with_its_tree():
    """A stop can come (a signal, in the main thread) between a worker's launch and the reading of its start time:
    the start time of the worker before it must not make this one, its tree and its group look like another's."""
    import signal
    import subprocess

    from grader import reference
    from grader.isolation.worker import proctree
    from tests.prockit import shell_with_a_child

    w = Worker(reference.SOLUTIONS)
    w.start()
    w.stop()  # the first worker: its start time was read
    with shell_with_a_child(stdin=subprocess.PIPE, stdout=subprocess.PIPE) as (shell, tree):
        w.proc = shell  # launched, and stopped before start() read its start time
        w.stop()
        assert shell.wait(timeout=5) == -signal.SIGKILL and proctree.wait_ended(tree, 5.0)
