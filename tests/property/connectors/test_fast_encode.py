"""The compiled encoder the gateway uses writes exactly the codec's bytes (schemas/fastencode.py)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.codec import Codec, SchemaEncodeError
from schemas.fastencode import compile_record, compiled_encoder
from schemas.records import ChannelMessageReceived
from tests.property.schemas.strategies import for_record, record_classes

PER_RECORD = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODEC = Codec()


def compiled_path(cls: type) -> tuple[object, bytes]:
    writer = CODEC._writers[cls]
    write = compile_record(writer.schema)
    assert write is not None, f"{cls.__name__} no longer compiles: the gateway lost its fast path"
    return write, writer.header


def test_the_gateway_record_compiles():
    compiled_path(ChannelMessageReceived)
    assert compiled_encoder(ChannelMessageReceived, CODEC) != CODEC.encode


@pytest.mark.parametrize("cls", record_classes(), ids=lambda c: c.__name__)
@PER_RECORD
@given(data=st.data())
def test_compiled_bytes_equal_the_codecs_for_every_record(cls, data):
    record = data.draw(for_record(cls))
    write = compile_record(CODEC._writers[cls].schema)
    if write is None:  # not compilable: the encoder is the codec itself
        assert compiled_encoder(cls, CODEC) == CODEC.encode
        return
    out = bytearray(CODEC._writers[cls].header)
    write(record, out)  # the compiled path itself, no fallback
    assert bytes(out) == CODEC.encode(record)
    assert compiled_encoder(cls, CODEC)(record) == CODEC.encode(record)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=for_record(ChannelMessageReceived))
def test_values_outside_the_compiled_path_get_the_codecs_answer(record):
    encode = compiled_encoder(ChannelMessageReceived, CODEC)
    naive = dataclasses.replace(record, sent_at=datetime(2026, 1, 1, 9, 30))
    with pytest.raises(SchemaEncodeError, match="naive datetime"):
        encode(naive)
    env = dataclasses.replace(record.envelope, aggregate_version=2**63)
    with pytest.raises(SchemaEncodeError):
        encode(dataclasses.replace(record, envelope=env))
    with pytest.raises(SchemaEncodeError):
        encode(dataclasses.replace(record, text="\ud800 lone surrogate"))

    class Text(str):
        pass

    subclassed = dataclasses.replace(record, text=Text(record.text))
    assert encode(subclassed) == CODEC.encode(subclassed)
    as_list = dataclasses.replace(record, attachments=list(record.attachments))
    assert encode(as_list) == CODEC.encode(as_list)
    bangkok = timezone(timedelta(hours=7))
    other_tz = dataclasses.replace(record, sent_at=record.sent_at.astimezone(bangkok))
    assert encode(other_tz) == CODEC.encode(other_tz)
    for instant in (  # microseconds are truncated toward the past, before the epoch too
        datetime(2026, 11, 23, 16, 0, 0, 999_999, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
    ):
        moved = dataclasses.replace(record, sent_at=instant)
        assert encode(moved) == CODEC.encode(moved)
