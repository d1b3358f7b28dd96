"""Non-finite floats and invalid Unicode cross the worker boundary (a loss of inf must be reported, not garbled)."""

import math

import numpy as np
import pytest

from grader.isolation.worker.wire import decode_bytes, encode_bytes


def decode(data):
    return decode_bytes(data)


def encode(value):
    return encode_bytes(value)


@pytest.mark.parametrize("value", [np.float64("inf"), np.float64("-inf"), float("inf")])
def test_infinite_float_round_trips(value):
    assert decode(encode(value)) == value


def test_nan_numpy_float_round_trips():
    assert math.isnan(decode(encode(np.float64("nan"))))


def test_a_small_message_is_written_whole_and_a_large_one_in_chunks_without_a_copy():
    """One write per small message (each write wakes the reader); a large one is not copied to be joined."""
    import io

    from grader.isolation.worker import wire

    small = {"args": [np.arange(6.0).reshape(2, 3), np.ones(4, dtype=np.int64)], "name": "f"}
    large = {"args": [np.zeros(wire.JOIN_BELOW // 8 + 1)], "name": "f"}
    assert len(wire.encode(small)) == 2 and wire.packets(small) == [b"".join(wire.encode(small))]
    head, body = wire.encode(large)
    assert [c is x for c, x in zip(wire.joined([head, body]), (head, body))] == [True, True]
    assert len(body) > wire.JOIN_BELOW
    for value in (small, large):
        stream = io.BytesIO()
        wire.write_blocking(stream, value)
        got = wire.read_blocking(io.BytesIO(stream.getvalue()))
        assert got["name"] == "f" and all(np.array_equal(a, b) for a, b in zip(got["args"], value["args"]))


def test_a_lone_surrogate_crosses_as_replacement_characters_never_as_an_error():
    """A student may print or return a str that is not valid Unicode (a lone surrogate): it is sent as it is and
    arrives as U+FFFD, a str that can be written anywhere (a feedback page, a JSON file)."""
    back = decode(encode({"stdout": "a\ud800b", "t": ("\udcff",)}))
    assert back["stdout"].startswith("a\ufffd") and back["stdout"].endswith("\ufffdb")
    assert set(back["t"][0]) == {"\ufffd"}
    back["stdout"].encode("utf-8")  # no surrogate is left
