"""A decoder for hot consumers: the records ``Codec.decode`` returns, at less CPU.

fastavro turns every ``timestamp-millis`` value into a datetime as
``epoch + timedelta(microseconds=ms * 1000)`` (two objects and big-int arithmetic: about a tenth
of the projector's CPU, py-spy). :func:`fast_decoder` reads the same bytes against the same
writer (and reader) schemas parsed once with that logical type left out, so fastavro returns the
milliseconds as ints, and builds the dataclasses with converters generated like
``schemas.convert``'s whose datetime fields go through :func:`millis_to_datetime`
(``datetime.fromtimestamp``, exact to the millisecond in the range it is used for).

Contract: for any bytes, the decoder returns a record equal to what ``codec.decode`` returns
(same class, same field values, datetimes in UTC), or raises ``SchemaDecodeError`` naming the
same topic/partition/offset when ``codec.decode`` raises it. The Confluent wire format, and
anything but a known single-object fingerprint, are handed to ``codec.decode`` unchanged.
``tests/property/projections/test_fast_decode.py`` checks the equality for every record class.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

from fastavro import parse_schema, schemaless_reader

from schemas import convert, loader
from schemas.codec import SINGLE_OBJECT_MAGIC, Codec, SchemaDecodeError, default_codec

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Below 2**33 s (year 2242) the double ms / 1000 is within 0.48 us of the exact instant, so
# fromtimestamp's rounding to the microsecond gives the exact millisecond; beyond, exact ints.
_FLOAT_EXACT_MS = (1 << 33) * 1000
_fromtimestamp = datetime.fromtimestamp

Decode = Callable[..., Any]


def millis_to_datetime(ms: int) -> datetime:
    """The UTC datetime ``ms`` milliseconds after the epoch (what fastavro gives for
    timestamp-millis). Raises OverflowError / ValueError outside datetime's range."""
    if -_FLOAT_EXACT_MS < ms < _FLOAT_EXACT_MS:
        return _fromtimestamp(ms / 1000, UTC)
    return _EPOCH + timedelta(milliseconds=ms)


def _without_millis(schema: Any) -> Any:
    """The JSON schema with every ``timestamp-millis`` logical type removed (plain longs)."""
    if isinstance(schema, dict):
        return {
            k: _without_millis(v)
            for k, v in schema.items()
            if not (k == "logicalType" and v == "timestamp-millis")
        }
    if isinstance(schema, list):
        return [_without_millis(v) for v in schema]
    return schema


class _MillisGenerator(convert._Generator):
    """``schemas.convert``'s converter generator, with datetimes arriving as epoch millis."""

    def from_avro(self, expr: str, tp: Any) -> str:
        if tp is datetime:
            return f"_ms({expr})"
        return super().from_avro(expr, tp)


def _millis_decoders() -> dict[type, convert.Decoder]:
    gen = _MillisGenerator()
    gen.names["_ms"] = millis_to_datetime
    classes = convert.record_classes()
    source = "".join(gen.source(cls) for cls in classes)
    namespace: dict[str, Any] = dict(gen.names)
    exec(compile(source, "<schemas.fastdecode generated>", "exec"), namespace)
    return {cls: namespace[f"_dec_{cls.__name__}"] for cls in classes}


_DECODERS: dict[type, convert.Decoder] | None = None


def fast_decoder(codec: Codec | None = None) -> Decode:
    """``decode(data, topic=None, partition=None, offset=None)`` for ``codec`` (default: the
    process-wide codec): the record in ``data``, as ``codec.decode`` returns it (see module doc).
    Raises SchemaDecodeError naming ``topic[partition]@offset``."""
    global _DECODERS
    codec = codec if codec is not None else default_codec()
    if _DECODERS is None:
        _DECODERS = _millis_decoders()
    decoders = _DECODERS
    released = {
        old.fingerprint: old.expanded
        for _version, directory in loader.released_versions(loader.RELEASED_DIR)
        for old in loader.load_records(directory).values()
    }
    readers: dict[bytes, tuple[Any, Any, convert.Decoder]] = {}
    for fp, reader in codec._readers.items():
        current = codec.schemas[reader.cls.__name__].expanded
        if reader.reader is None:  # this build's schema: writer == reader
            writer_json, reader_schema = current, None
        elif fp in released:  # a released version, read through schema resolution
            writer_json, reader_schema = released[fp], parse_schema(_without_millis(current))
        else:
            continue  # codec.decode reads it
        writer = parse_schema(_without_millis(writer_json))
        readers[fp] = (writer, reader_schema, decoders[reader.cls])
    slow = codec.decode

    def decode(
        data: bytes,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> Any:
        found = readers.get(data[2:10]) if data[:2] == SINGLE_OBJECT_MAGIC else None
        if found is None or type(data) is not bytes:
            return slow(data, topic=topic, partition=partition, offset=offset)
        writer, reader_schema, from_avro = found
        buf = BytesIO(data)
        buf.seek(10)
        try:
            datum = schemaless_reader(buf, writer, reader_schema)
            end = buf.tell()
            if end == len(data):
                return from_avro(datum)  # type: ignore[arg-type]  # a record is a dict
        except Exception:
            pass  # the generic path raises the codec's own SchemaDecodeError for these bytes
        return slow(data, topic=topic, partition=partition, offset=offset)

    return decode


__all__ = ["SchemaDecodeError", "fast_decoder", "millis_to_datetime"]
