"""Non-finite numpy scalars cross the worker boundary (a loss of inf must be reported, not garbled)."""
import math

import numpy as np
import pytest

from grader._worker.wire import decode_bytes, encode_bytes


def decode(data):
    return decode_bytes(data)


def encode(value):
    return encode_bytes(value)


@pytest.mark.parametrize("value", [np.float64("inf"), np.float64("-inf"), float("inf")])
def test_infinite_float_round_trips(value):
    assert decode(encode(value)) == value


def test_nan_numpy_float_round_trips():
    assert math.isnan(decode(encode(np.float64("nan"))))
