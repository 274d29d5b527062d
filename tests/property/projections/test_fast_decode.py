"""The projector's decoders (schemas/fastdecode.py) return exactly the codec's records (the
record decoder; the datum decoder's data convert to them), and raise exactly the codec's
errors, for every record class and for damaged bytes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from schemas import convert, loader
from schemas.codec import SINGLE_OBJECT_MAGIC, Codec, SchemaDecodeError
from schemas.fastdecode import (
    MAX_MS,
    MIN_MS,
    DatumDecoder,
    _without_millis,
    compiled_flat_reader,
    compiled_reader,
    fast_decoder,
    millis_to_datetime,
    record_of,
)
from tests.property.schemas.strategies import for_record, record_classes

_MIN_MS = -62135596800000  # 0001-01-01T00:00:00Z
_MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999Z
PER_RECORD = settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class CountingCodec(Codec):
    """The real codec, counting the records the fast decoder hands back to it."""

    slow_calls = 0

    def decode(self, data: bytes, **kwargs: Any) -> Any:  # type: ignore[override]
        self.slow_calls += 1
        return super().decode(data, **kwargs)


CODEC = CountingCodec()
FAST = fast_decoder(CODEC)
DATUM = DatumDecoder(CODEC)


def via_datum(data: bytes, **where: Any) -> Any:
    """The record the datum decoder's (class, datum) stands for."""
    cls, datum = DATUM.decode(data, where.get("topic"), where.get("partition"), where.get("offset"))
    assert isinstance(datum, dict)
    return record_of(cls, datum)


def outcome(decode: Any, data: bytes) -> tuple[str, Any]:
    try:
        return "record", decode(data, topic="t", partition=3, offset=42)
    except SchemaDecodeError as exc:
        return "error", str(exc)


@pytest.mark.parametrize("cls", record_classes(), ids=lambda c: c.__name__)
@PER_RECORD
@given(data=st.data())
def test_every_record_decodes_to_the_codecs_record_without_the_codec(cls: type, data: Any) -> None:
    record = data.draw(for_record(cls))
    encoded = CODEC.encode(record)
    before = CODEC.slow_calls
    fast = FAST(encoded, "t", 3, 42)
    assert CODEC.slow_calls == before, "the record went through the generic codec"
    assert type(fast) is cls
    assert fast == Codec.decode(CODEC, encoded) == record


# a record's bytes with one byte flipped, up to 4 cut off the end and up to 3 appended
DAMAGED = given(
    cls=st.sampled_from(record_classes()),
    data=st.data(),
    cut=st.integers(0, 200),
    flip=st.integers(0, 255),
    extra=st.binary(max_size=3),
)


def damage(encoded: bytes, cut: int, flip: int, extra: bytes) -> bytes:
    out = bytearray(encoded)
    if cut < len(out):
        out[cut] ^= flip
    return bytes(out[: max(0, len(out) - cut // 50)]) + extra


@settings(max_examples=150, deadline=None)
@DAMAGED
def test_damaged_bytes_give_the_codecs_answer(
    cls: type, data: Any, cut: int, flip: int, extra: bytes
) -> None:
    damaged = damage(CODEC.encode(data.draw(for_record(cls))), cut, flip, extra)
    expected = outcome(lambda d, **k: Codec.decode(CODEC, d, **k), damaged)
    assert outcome(FAST, damaged) == expected
    assert outcome(via_datum, damaged) == expected


@pytest.mark.parametrize("cls", record_classes(), ids=lambda c: c.__name__)
@PER_RECORD
@given(data=st.data())
def test_every_record_decodes_to_a_datum_of_the_codecs_record_without_the_codec(
    cls: type, data: Any
) -> None:
    record = data.draw(for_record(cls))
    encoded = CODEC.encode(record)
    before = CODEC.slow_calls
    got_cls, datum = DATUM.decode(encoded, "t", 3, 42)
    assert CODEC.slow_calls == before, "the record went through the generic codec"
    assert got_cls is cls and record_of(cls, datum) == record
    assert DATUM.datum(record) == (cls, datum)


@pytest.mark.parametrize("field", ["occurred_at", "recorded_at"])
@pytest.mark.parametrize("ms", [_MIN_MS - 1, _MAX_MS + 1])
def test_an_instant_no_datetime_can_hold_is_the_codecs_error_for_the_datum_decoder(
    field: str, ms: int
) -> None:
    from schemas import records as r

    env = r.Envelope("e", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC),
                     "T-1", 1, "c", "k", r.Actor(r.ActorKind.AGENT, "A1"), "t")  # fmt: skip
    datum = convert.to_avro(r.TicketUnassigned(env, "T-1", "A1"))
    datum["envelope"]["occurred_at"] = datum["envelope"]["recorded_at"] = 1767225600000
    datum["envelope"][field] = ms
    buf = BytesIO()
    buf.write(SINGLE_OBJECT_MAGIC + CODEC.schemas["TicketUnassigned"].fingerprint)
    as_longs = parse_schema(_without_millis(CODEC.schemas["TicketUnassigned"].expanded))
    schemaless_writer(buf, as_longs, datum)
    kind, found = outcome(via_datum, buf.getvalue())
    assert kind == "error" and "t[3]@42" in found


def released_writers() -> list[tuple[bytes, Any, type]]:
    out = []
    for _version, directory in loader.released_versions(loader.RELEASED_DIR):
        for old in loader.load_records(directory).values():
            reader = CODEC._readers.get(old.fingerprint)
            if reader is not None and reader.reader is not None:
                out.append((old.fingerprint, old.parsed, reader.cls))
    return out


@pytest.mark.skipif(not released_writers(), reason="no released schema differs from this build")
@PER_RECORD
@given(data=st.data())
def test_records_written_with_a_released_schema_decode_as_the_codec_reads_them(data: Any) -> None:
    fp, parsed, cls = data.draw(st.sampled_from(released_writers()))
    buf = BytesIO()
    buf.write(SINGLE_OBJECT_MAGIC + fp)
    try:
        schemaless_writer(buf, parsed, convert.to_avro(data.draw(for_record(cls))))
    except Exception:
        assume(False)  # the old schema cannot hold this value (a newer symbol, say)
    encoded = buf.getvalue()
    assert outcome(FAST, encoded) == outcome(lambda d, **k: Codec.decode(CODEC, d, **k), encoded)


@settings(max_examples=500, deadline=None)
@given(
    ms=st.one_of(
        st.integers(_MIN_MS, _MAX_MS),
        st.integers(-(10**13), 10**13),
        st.integers(8589934591000 - 5000, 8589934592000 + 5000),  # where the float path ends
    )
)
def test_millis_to_datetime_is_exact_to_the_millisecond(ms: int) -> None:
    expected = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    got = millis_to_datetime(ms)
    assert got == expected and got.tzinfo is not None and got.utcoffset() == timedelta(0)


def fastavro_datum(cls: type, data: bytes) -> tuple[str, Any]:
    """What fastavro reads from single-object bytes of this build's ``cls`` schema (instants as
    epoch ms), or that it fails (an error, or bytes left over)."""
    schema = parse_schema(_without_millis(CODEC.schemas[cls.__name__].expanded))
    buf = BytesIO(data)
    buf.seek(10)
    try:
        got = schemaless_reader(buf, schema, None)
    except Exception:
        return "fails", None
    if buf.tell() != len(data):
        return "fails", None
    return "datum", got


COMPILED = {cls: compiled_reader(CODEC.schemas[cls.__name__].expanded) for cls in record_classes()}


@pytest.mark.parametrize("cls", record_classes(), ids=lambda c: c.__name__)
@PER_RECORD
@given(data=st.data())
def test_the_compiled_reader_reads_fastavros_datum(cls: type, data: Any) -> None:
    read = COMPILED[cls]
    assert read is not None, f"no compiled reader for {cls.__name__}"
    encoded = CODEC.encode(data.draw(for_record(cls)))
    assert ("datum", read(encoded)) == fastavro_datum(cls, encoded)


@settings(max_examples=400, deadline=None)
@DAMAGED
def test_the_compiled_reader_never_accepts_what_fastavro_reads_otherwise(
    cls: type, data: Any, cut: int, flip: int, extra: bytes
) -> None:
    """On damaged bytes it may refuse what fastavro reads (the generic path then decides), but
    what it returns is fastavro's datum."""
    read = COMPILED[cls]
    assert read is not None
    damaged = damage(CODEC.encode(data.draw(for_record(cls))), cut, flip, extra)
    try:
        got = read(damaged)
    except Exception:
        return
    kind, expected = fastavro_datum(cls, damaged)
    assert kind == "datum" and got == expected
    for ms in _instants(CODEC.schemas[cls.__name__].expanded, got):
        assert MIN_MS <= ms <= MAX_MS


def _instants(schema: Any, value: Any) -> list[int]:
    """The timestamp-millis values in ``value`` (a datum of ``schema``)."""
    if isinstance(schema, list):
        return (
            [x for branch in schema for x in _instants(branch, value)] if value is not None else []
        )
    if isinstance(schema, dict):
        if schema.get("logicalType") == "timestamp-millis":
            return [value] if isinstance(value, int) and not isinstance(value, bool) else []
        if schema.get("type") == "record" and isinstance(value, dict):
            return [x for f in schema["fields"] for x in _instants(f["type"], value[f["name"]])]
        if schema.get("type") == "array" and isinstance(value, list):
            return [x for v in value for x in _instants(schema["items"], v)]
    return []


# String and enum fields read as UTF-8 bytes (compiled_reader / DatumDecoder ``utf8_bytes``):
# the envelope's ids, as the projector asks, a union's string branch, and the actor's kind (an
# enum: projections.fused's flat reader asks for it).
UTF8 = frozenset(
    {("envelope", n) for n in ("event_id", "aggregate_id", "tenant_id", "brand_id")}
    | {("envelope", "actor", "id"), ("envelope", "actor", "kind")}
)
COMPILED_UTF8 = {
    cls: compiled_reader(CODEC.schemas[cls.__name__].expanded, utf8_bytes=UTF8)
    for cls in record_classes()
}
DATUM_UTF8 = DatumDecoder(CODEC, utf8_bytes=UTF8)


def with_bytes(kind_datum: tuple[str, Any]) -> tuple[str, Any]:
    """fastavro's answer with the strings at UTF8's paths as UTF-8 bytes."""
    kind, datum = kind_datum
    if kind != "datum" or not isinstance(datum, dict) or "envelope" not in datum:
        return kind, datum
    env = {**datum["envelope"], "actor": dict(datum["envelope"]["actor"])}
    for name in ("event_id", "aggregate_id", "tenant_id", "brand_id"):
        if isinstance(env[name], str):
            env[name] = env[name].encode()
    env["actor"]["id"] = env["actor"]["id"].encode()
    env["actor"]["kind"] = env["actor"]["kind"].encode()
    return kind, {**datum, "envelope": env}


@pytest.mark.parametrize("cls", record_classes(), ids=lambda c: c.__name__)
@PER_RECORD
@given(data=st.data())
def test_a_compiled_reader_gives_the_strings_asked_for_as_their_utf8_bytes(
    cls: type, data: Any
) -> None:
    read = COMPILED_UTF8[cls]
    assert read is not None
    encoded = CODEC.encode(data.draw(for_record(cls)))
    assert ("datum", read(encoded)) == with_bytes(fastavro_datum(cls, encoded))


@settings(max_examples=300, deadline=None)
@DAMAGED
def test_a_compiled_reader_with_utf8_bytes_never_accepts_what_fastavro_reads_otherwise(
    cls: type, data: Any, cut: int, flip: int, extra: bytes
) -> None:
    """Bytes kept as bytes are still refused unless valid UTF-8 (fastavro fails on them)."""
    read = COMPILED_UTF8[cls]
    assert read is not None
    damaged = damage(CODEC.encode(data.draw(for_record(cls))), cut, flip, extra)
    try:
        got = read(damaged)
    except Exception:
        return
    assert with_bytes(fastavro_datum(cls, damaged)) == ("datum", got)


# compiled_flat_reader: the top record, the envelope and its actor read into one tuple
FLATTEN = frozenset({(), ("envelope",), ("envelope", "actor")})
FLAT = {
    cls: compiled_flat_reader(
        CODEC.schemas[cls.__name__].expanded, FLATTEN, (("ticket_id",),), utf8_bytes=UTF8
    )
    for cls in record_classes()
}


def at_paths(datum: Any, paths: tuple[tuple[str, ...], ...]) -> tuple[Any, ...]:
    out = []
    for path in paths:
        value = datum
        for name in path:
            value = value[name]
        out.append(value)
    return tuple(out)


@pytest.mark.parametrize("cls", record_classes(), ids=lambda c: c.__name__)
@PER_RECORD
@given(data=st.data())
def test_a_flat_reader_gives_the_values_of_the_compiled_readers_datum(cls: type, data: Any) -> None:
    found, read = FLAT[cls], COMPILED_UTF8[cls]
    assert found is not None and read is not None
    flat_read, paths = found
    assert len(set(paths)) == len(paths) and ("ticket_id",) not in paths[1:]
    encoded = CODEC.encode(data.draw(for_record(cls)))
    got, want = flat_read(encoded), at_paths(read(encoded), paths)
    assert got == want and [type(v) for v in got] == [type(v) for v in want]


@settings(max_examples=300, deadline=None)
@DAMAGED
def test_a_flat_reader_refuses_what_the_compiled_reader_refuses(
    cls: type, data: Any, cut: int, flip: int, extra: bytes
) -> None:
    found, read = FLAT[cls], COMPILED_UTF8[cls]
    assert found is not None and read is not None
    damaged = damage(CODEC.encode(data.draw(for_record(cls))), cut, flip, extra)
    try:
        want = at_paths(read(damaged), found[1])
    except Exception:
        with pytest.raises(Exception):  # noqa: B017 (any exception: the generic path decides)
            found[0](damaged)
        return
    assert found[0](damaged) == want


def test_a_record_to_flatten_inside_a_union_or_an_array_is_not_compiled() -> None:
    inner = {"type": "record", "name": "In", "fields": [{"name": "x", "type": "long"}]}
    union = {"type": "record", "name": "U", "fields": [{"name": "a", "type": ["null", inner]}]}
    array = {"type": "record", "name": "A",
             "fields": [{"name": "a", "type": {"type": "array", "items": inner}}]}  # fmt: skip
    assert compiled_flat_reader(union, frozenset({(), ("a",)})) is None
    assert compiled_flat_reader(array, frozenset({(), ("a",)})) is not None  # items: not ("a",)
    got = compiled_flat_reader(union, frozenset({()}))
    assert got is not None and got[1] == (("a",),)


def _as_str(datum: dict[str, Any]) -> dict[str, Any]:
    env = datum["envelope"]
    env = {k: v.decode() if isinstance(v, bytes) else v for k, v in env.items()}
    env["actor"] = {k: v.decode() if isinstance(v, bytes) else v for k, v in env["actor"].items()}
    return {**datum, "envelope": env}


@settings(max_examples=150, deadline=None)
@DAMAGED
def test_the_datum_decoder_with_utf8_bytes_gives_the_codecs_answer_on_damaged_bytes(
    cls: type, data: Any, cut: int, flip: int, extra: bytes
) -> None:
    """Whatever path decides (compiled reader, fastavro, the codec), the strings asked for are
    bytes and the datum stands for the codec's record; errors are the codec's."""
    damaged = damage(CODEC.encode(data.draw(for_record(cls))), cut, flip, extra)

    def via(d: bytes, **where: Any) -> Any:
        got_cls, datum = DATUM_UTF8.decode(d, where["topic"], where["partition"], where["offset"])
        if "envelope" in datum:
            assert isinstance(datum["envelope"]["event_id"], bytes)
            assert isinstance(datum["envelope"]["actor"]["id"], bytes)
            datum = _as_str(datum)
        return record_of(got_cls, datum)

    assert outcome(via, damaged) == outcome(lambda d, **k: Codec.decode(CODEC, d, **k), damaged)


def test_invalid_utf8_in_a_string_kept_as_bytes_is_the_codecs_error() -> None:
    from schemas import records as r

    at = datetime(2026, 1, 1, tzinfo=UTC)
    env = r.Envelope("X", at, at, "T-1", 1, "c", "k", r.Actor(r.ActorKind.AGENT, "A1"), "t")
    encoded = bytearray(CODEC.encode(r.TicketUnassigned(env, "T-1", "A1")))
    assert encoded[10:12] == b"\x02X"  # event_id, the first field: length 1, "X"
    encoded[11] = 0xFF
    kind, found = outcome(lambda d, **k: DATUM_UTF8.decode(d, "t", 3, 42), bytes(encoded))
    assert kind == "error" and "t[3]@42" in found
    assert COMPILED_UTF8[r.TicketUnassigned] is not None
    with pytest.raises(UnicodeDecodeError):
        COMPILED_UTF8[r.TicketUnassigned](bytes(encoded))


def test_the_datum_decoder_gives_the_strings_asked_for_as_bytes_for_a_record() -> None:
    from schemas import records as r

    at = datetime(2026, 1, 1, tzinfo=UTC)
    env = r.Envelope("é1", at, at, "T-1", 1, "c", "k", r.Actor(r.ActorKind.AGENT, "A1"), "t",
                     "b")  # fmt: skip
    record = r.TicketUnassigned(env, "T-1", "A1")
    cls, datum = DATUM_UTF8.decode(CODEC.encode(record))
    assert (cls, datum) == DATUM_UTF8.datum(record)
    got = datum["envelope"]
    assert (got["event_id"], got["aggregate_id"], got["tenant_id"], got["brand_id"]) == (
        "é1".encode(), b"T-1", b"t", b"b",
    )  # fmt: skip
    assert got["actor"] == {"kind": r.ActorKind.AGENT.value.encode(), "id": b"A1"}
    assert (got["causation_id"], datum["ticket_id"]) == ("c", "T-1")  # not asked for: str


_INSTANT_THEN_STRING = {
    "type": "record",
    "name": "At",
    "fields": [
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "s", "type": "string"},
    ],
}
READ_AT = compiled_reader(_INSTANT_THEN_STRING, start=0)
AT_WRITER = parse_schema(_without_millis(_INSTANT_THEN_STRING))


def _varint(z: int, pad: int) -> bytes:
    """``z``'s base-128 varint, with ``pad`` extra zero groups (a non-canonical encoding that
    fastavro reads as the same value)."""
    out = bytearray()
    while True:
        out.append(z & 0x7F)
        z >>= 7
        if not z and not pad:
            break
        if not z:
            pad -= 1
        out[-1] |= 0x80
    if out[-1] & 0x80:
        out.append(0)
    return bytes(out)


@settings(max_examples=600, deadline=None)
@given(
    ms=st.one_of(
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.integers(min_value=2**33, max_value=2**42),  # 6-byte varints, and their edges
        st.integers(min_value=-(2**42), max_value=-(2**33)),
    ),
    pad=st.integers(min_value=0, max_value=3),
    tail=st.binary(max_size=3),
)
def test_an_instant_in_any_varint_is_read_as_fastavro_reads_it(
    ms: int, pad: int, tail: bytes
) -> None:
    """The 6-byte fast path (and the loop) give fastavro's value, or refuse."""
    assert READ_AT is not None
    z = (ms << 1) ^ (ms >> 63)
    data = _varint(z, pad) + tail
    try:
        got = READ_AT(data)
    except Exception:
        got = None
    buf = BytesIO(data)
    try:
        expected = schemaless_reader(buf, AT_WRITER, None)
        ok = buf.tell() == len(data) and MIN_MS <= expected["at"] <= MAX_MS
    except Exception:
        ok = False
    if got is not None:
        assert ok and got == expected
    elif ok and pad == 0 and 2**34 <= ms < 2**41:
        pytest.fail(f"the reader refused a canonical 6-byte instant {ms} with {tail!r}")
