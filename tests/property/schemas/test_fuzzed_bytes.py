"""Fuzzed bytes never crash the decoder: it returns a record or raises SchemaDecodeError."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.codec import Codec, SchemaDecodeError

from .strategies import any_record

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


def _decode_or_error(codec: Codec, data: bytes) -> None:
    try:
        codec.decode(data, topic="support.tickets.events.v1", partition=5, offset=123)
    except SchemaDecodeError as exc:
        assert "support.tickets.events.v1[5]@123" in str(exc)


@FUZZ
@given(data=st.binary(max_size=200))
def test_random_bytes(codec: Codec, data: bytes) -> None:
    _decode_or_error(codec, data)


@FUZZ
@given(record=any_record, body=st.binary(max_size=200))
def test_a_known_header_with_a_random_body(codec: Codec, record: Any, body: bytes) -> None:
    header = codec.encode(record)[:10]
    _decode_or_error(codec, header + body)


@FUZZ
@given(record=any_record, data=st.data())
def test_mutated_encodings(codec: Codec, record: Any, data: st.DataObject) -> None:
    encoded = bytearray(codec.encode(record))
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = data.draw(st.integers(0, max(len(encoded) - 1, 0)))
        if action == "flip" and encoded:
            encoded[at] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del encoded[at:]
        elif action == "insert":
            encoded[at:at] = data.draw(st.binary(min_size=1, max_size=9))
        elif encoded:
            del encoded[at]
    _decode_or_error(codec, bytes(encoded))


@FUZZ
@given(record=any_record, cut=st.integers(0, 10_000))
def test_every_truncation_is_an_error(codec: Codec, record: Any, cut: int) -> None:
    encoded = codec.encode(record)
    truncated = encoded[: cut % len(encoded)]
    with pytest.raises(SchemaDecodeError):
        codec.decode(truncated)
