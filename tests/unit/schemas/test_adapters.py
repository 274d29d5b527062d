"""The Faust codec and the kafka-python (de)serializers wrap the same codec."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from faust.serializers import codecs

from schemas import records as r
from schemas.codec import SchemaDecodeError, encode
from schemas.faust_codec import AvroCodec
from schemas.kafka import (
    decode_consumer_record,
    key_deserializer,
    key_serializer,
    value_deserializer,
    value_serializer,
)

TICK = r.SlaTick(partition=2, now=datetime(2026, 11, 23, 8, 0, tzinfo=UTC))


def test_faust_codec_is_registered_as_avro_and_round_trips() -> None:
    codec = codecs.get_codec("avro")
    assert isinstance(codec, AvroCodec)
    data = codecs.dumps("avro", TICK)
    assert data == encode(TICK)
    assert codecs.loads("avro", data) == TICK


def test_kafka_value_serializers_round_trip_and_keep_tombstones() -> None:
    data = value_serializer.serialize("support.sla.ticks.v1", [], TICK)
    assert value_deserializer.deserialize("support.sla.ticks.v1", [], data) == TICK
    assert value_deserializer(value_serializer(TICK)) == TICK
    assert value_serializer.serialize("t", [], None) is None
    assert value_deserializer.deserialize("t", [], None) is None


def test_kafka_value_deserializer_names_the_topic() -> None:
    with pytest.raises(SchemaDecodeError, match=r"support\.sla\.ticks\.v1\[\?\]@\?"):
        value_deserializer.deserialize("support.sla.ticks.v1", [], b"junk")


def test_decode_consumer_record_names_partition_and_offset() -> None:
    message = SimpleNamespace(topic="support.sla.ticks.v1", partition=1, offset=99, value=b"junk")
    with pytest.raises(SchemaDecodeError, match=r"support\.sla\.ticks\.v1\[1\]@99"):
        decode_consumer_record(message)


def test_str_keys_are_utf8() -> None:
    assert key_serializer.serialize("t", [], "line:บัญชี:1") == "line:บัญชี:1".encode()
    assert key_deserializer.deserialize("t", [], "line:บัญชี:1".encode()) == "line:บัญชี:1"
    assert key_serializer("k") == b"k"
    assert key_deserializer(b"k") == "k"
