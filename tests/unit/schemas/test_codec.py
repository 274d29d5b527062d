"""The codec: both wire formats' framing, and one error type that says where and what."""

from __future__ import annotations

import json
import shutil
import struct
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from schemas import records as r
from schemas.codec import Codec, SchemaDecodeError, SchemaEncodeError, decode, encode

AVSC = Path(__file__).resolve().parents[3] / "schemas" / "avsc"
T0 = datetime(2026, 11, 23, 7, 30, 0, 123000, tzinfo=UTC)
ENVELOPE = r.Envelope(
    event_id="evt-1",
    occurred_at=T0,
    recorded_at=T0 + timedelta(milliseconds=5),
    aggregate_id="T-42",
    aggregate_version=3,
    causation_id="cmd-1",
    correlation_id="msg-1",
    actor=r.Actor(r.ActorKind.AGENT, "agent-7"),
    tenant_id="tesco",
)
OPENED = r.TicketOpened(
    envelope=ENVELOPE,
    ticket_id="T-42",
    customer_id="C-1",
    channel=r.Channel.LINE,
    conversation_key="line:acc:conv",
    priority=r.Priority.HIGH,
    by_customer=True,
    subject="ของยังไม่มาส่ง 快递 📦",
    tags=("vip", "th"),
)


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


def test_single_object_encoding_has_marker_and_fingerprint(codec: Codec) -> None:
    data = codec.encode(OPENED)
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == codec.schemas["TicketOpened"].fingerprint
    assert codec.decode(data) == OPENED


def test_fingerprint_is_crc64_avro_little_endian(codec: Codec) -> None:
    # The Avro spec's reference value for the schema "null": 0x63DD24E7CC258F8A.
    from fastavro.schema import fingerprint

    assert bytes.fromhex(fingerprint('"null"', "CRC-64-AVRO")) == struct.pack(
        "<Q", 0x63DD24E7CC258F8A
    )


def test_module_level_encode_decode_round_trip() -> None:
    assert decode(encode(OPENED)) == OPENED


def test_datetimes_come_back_as_utc_at_the_same_instant(codec: Codec) -> None:
    bangkok = T0.astimezone(timezone(timedelta(hours=7)))
    tick = r.SlaTick(partition=3, now=bangkok)
    back = codec.decode(codec.encode(tick))
    assert back.now == T0
    assert back.now.utcoffset() == timedelta(0)


def test_naive_datetime_is_refused_on_encode(codec: Codec) -> None:
    with pytest.raises(SchemaEncodeError, match="naive datetime"):
        codec.encode(r.SlaTick(partition=0, now=datetime(2026, 1, 1)))


def test_non_record_is_refused_on_encode(codec: Codec) -> None:
    with pytest.raises(SchemaEncodeError, match="not a record class"):
        codec.encode({"ticket_id": "T-1"})


def test_unknown_fingerprint_names_topic_partition_offset(codec: Codec) -> None:
    data = b"\xc3\x01" + b"\x00" * 8 + codec.encode(OPENED)[10:]
    with pytest.raises(SchemaDecodeError) as info:
        codec.decode(data, topic="support.tickets.events.v1", partition=3, offset=42)
    assert "support.tickets.events.v1[3]@42" in str(info.value)
    assert "unknown schema fingerprint 0000000000000000" in str(info.value)
    assert (info.value.topic, info.value.partition, info.value.offset) == (
        "support.tickets.events.v1",
        3,
        42,
    )


def test_truncated_bytes_raise_decode_error(codec: Codec) -> None:
    data = codec.encode(OPENED)
    for cut in (1, 5, 10, 11, len(data) - 1):
        with pytest.raises(SchemaDecodeError, match=r"t\[0\]@7"):
            codec.decode(data[:cut], topic="t", partition=0, offset=7)


def test_trailing_bytes_raise_decode_error(codec: Codec) -> None:
    with pytest.raises(SchemaDecodeError, match="1 unexpected bytes after a TicketOpened"):
        codec.decode(codec.encode(OPENED) + b"\x00")


def test_wrong_record_type_raises_decode_error(codec: Codec) -> None:
    with pytest.raises(SchemaDecodeError, match="found a TicketOpened, expected SlaTick"):
        codec.decode(codec.encode(OPENED), expected=r.SlaTick)
    assert codec.decode(codec.encode(OPENED), expected=(r.SlaTick, r.TicketOpened)) == OPENED


@pytest.mark.parametrize(
    "garbage",
    [b"", b"{}", b'{"ticket_id": "T-1"}', b"\xc3", b"\xc3\x01", b"\x00\x00\x00\x00\x01"],
)
def test_garbage_raises_decode_error(codec: Codec, garbage: bytes) -> None:
    with pytest.raises(SchemaDecodeError, match="an unknown position"):
        codec.decode(garbage)


def test_none_is_not_a_record(codec: Codec) -> None:
    with pytest.raises(SchemaDecodeError, match="expected bytes, got NoneType"):
        codec.decode(None)  # type: ignore[arg-type]


def test_data_written_with_a_released_schema_is_read_through_resolution(
    codec: Codec, tmp_path: Path
) -> None:
    # Today's schemas become release v1; the current TicketOpened gains an optional field.
    current, released = tmp_path / "avsc", tmp_path / "released"
    shutil.copytree(AVSC, current)
    shutil.copytree(AVSC, released / "v1")
    path = current / "TicketOpened.avsc"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["fields"].append({"name": "sentiment", "type": ["null", "string"], "default": None})
    path.write_text(json.dumps(schema), encoding="utf-8")

    evolved = Codec(avsc_dir=current, released_dir=released)
    old_bytes = codec.encode(OPENED)
    assert evolved.schemas["TicketOpened"].fingerprint != old_bytes[2:10]
    assert evolved.decode(old_bytes) == OPENED  # found among the released fingerprints


def test_unknown_fingerprint_without_the_release_says_deploy_first(
    codec: Codec, tmp_path: Path
) -> None:
    current = tmp_path / "avsc"
    shutil.copytree(AVSC, current)
    path = current / "SlaTick.avsc"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["fields"].append({"name": "worker", "type": ["null", "string"], "default": None})
    path.write_text(json.dumps(schema), encoding="utf-8")
    newer = Codec(avsc_dir=current, released_dir=tmp_path / "none")
    data = newer.encode(r.SlaTick(partition=1, now=T0))
    with pytest.raises(SchemaDecodeError, match="deploy them here first"):
        codec.decode(data)


def test_dead_letter_keeps_the_bytes_and_the_location(codec: Codec) -> None:
    from schemas.deadletter import dead_letter

    junk = b"\xc3\x01garbage"
    try:
        codec.decode(junk, topic="support.tickets.events.v1", partition=4, offset=17)
    except SchemaDecodeError as exc:
        letter = dead_letter(
            topic="support.tickets.events.v1",
            partition=4,
            offset=17,
            error=exc,
            consumer="ticketstream-worker",
            now=T0,
            key=b"T-42",
            value=junk,
            timestamp_ms=1_763_883_000_123,
        )
    assert letter.error_type == "SchemaDecodeError"
    assert "support.tickets.events.v1[4]@17" in letter.error
    assert letter.source_timestamp == datetime(2025, 11, 23, 7, 30, 0, 123000, tzinfo=UTC)
    assert codec.decode(codec.encode(letter), expected=r.DeadLetter) == letter


def test_wrong_field_type_names_the_field_not_the_value(codec: Codec) -> None:
    bad = r.SlaTick(partition="secret text", now=T0)  # type: ignore[arg-type]
    with pytest.raises(SchemaEncodeError) as info:
        codec.encode(bad)
    assert "support.v1.SlaTick.partition: expected long, got str" in str(info.value)
    assert "secret" not in str(info.value)


def test_bytearray_and_memoryview_decode_like_bytes(codec: Codec) -> None:
    data = codec.encode(OPENED)
    assert codec.decode(bytearray(data)) == OPENED
    assert codec.decode(memoryview(data)) == OPENED  # type: ignore[arg-type]
