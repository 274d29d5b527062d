"""Encode record dataclasses to Avro bytes and back.

Wire formats (``decode`` accepts both, whatever the codec writes):

- **Avro single-object encoding** (the default): ``C3 01`` + the 8-byte little-endian
  CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical Form + the Avro binary body.
  The fingerprint is resolved against this build's schemas and every released version in
  ``schemas/released/`` (older writers are read through Avro schema resolution).
- **Confluent wire format** when ``TICKETSTREAM_SCHEMA_REGISTRY_URL`` is set: ``00`` + the 4-byte
  big-endian schema id + the body. Subjects use the RecordNameStrategy
  (``support.v1.<Record>``) because one topic carries several record types.

Every failure to decode — garbage, truncated or trailing bytes, an unknown fingerprint or schema
id, a record of a type the caller did not expect — raises ``SchemaDecodeError``, whose message
names the topic, partition and offset when the caller passes them.
"""

from __future__ import annotations

import importlib
import json
from io import BytesIO
from typing import Any, TypeVar, overload

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form
from fastavro.validation import ValidationError, validate

from schemas import convert, loader
from schemas.registry_client import SchemaRegistryClient, SchemaRegistryError

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"

T = TypeVar("T")


class SchemaDecodeError(Exception):
    """Bytes that are not a record this build can read. Names topic/partition/offset if known."""

    def __init__(
        self,
        reason: str,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        self.reason = reason
        self.topic = topic
        self.partition = partition
        self.offset = offset
        super().__init__(f"cannot decode the record at {self.where}: {reason}")

    @property
    def where(self) -> str:
        """``topic[partition]@offset`` with what is known, e.g. ``support.tickets.events.v1[3]@42``."""
        if self.topic is None and self.partition is None and self.offset is None:
            return "an unknown position (no topic/partition/offset given)"
        topic = self.topic if self.topic is not None else "<unknown topic>"
        partition = f"[{self.partition}]" if self.partition is not None else "[?]"
        offset = f"@{self.offset}" if self.offset is not None else "@?"
        return f"{topic}{partition}{offset}"


class SchemaEncodeError(ValueError):
    """A value that cannot be encoded: not a record class, a naive datetime, a wrong field type."""


class _Writer:
    __slots__ = ("header", "parsed", "schema", "to_avro")

    def __init__(self, schema: loader.RecordSchema, to_avro: convert.Encoder) -> None:
        self.schema = schema
        self.parsed = schema.parsed
        self.header = SINGLE_OBJECT_MAGIC + schema.fingerprint
        self.to_avro = to_avro


class _Reader:
    __slots__ = ("cls", "from_avro", "label", "reader", "writer")

    def __init__(
        self, cls: type, writer: Any, reader: Any, from_avro: convert.Decoder, label: str
    ) -> None:
        self.cls = cls
        self.writer = writer  # fastavro-parsed writer schema
        self.reader = reader  # fastavro-parsed reader schema, None when equal to the writer's
        self.from_avro = from_avro
        self.label = label  # e.g. "TicketOpened (released v1)"


class Codec:
    """Encoder/decoder over one set of schemas; Confluent wire format when given a registry."""

    def __init__(
        self,
        registry_url: str | None = None,
        *,
        registry: SchemaRegistryClient | None = None,
        avsc_dir: Any = loader.AVSC_DIR,
        released_dir: Any = loader.RELEASED_DIR,
    ) -> None:
        if registry is None and registry_url:
            registry = SchemaRegistryClient(registry_url)
        self.registry = registry
        self.schemas = loader.load_records(avsc_dir)
        self._writers: dict[type, _Writer] = {}
        self._readers: dict[bytes, _Reader] = {}
        self._by_name: dict[str, tuple[type, loader.RecordSchema]] = {}
        self._by_schema_id: dict[int, _Reader] = {}
        self._confluent_headers: dict[type, bytes] = {}
        for cls in convert.record_classes():
            schema = self.schemas.get(cls.__name__)
            if schema is None:
                raise loader.SchemaLoadError(
                    f"records.{cls.__name__} has no {cls.__name__}.avsc in {avsc_dir}"
                )
            self._writers[cls] = _Writer(schema, convert.ENCODERS[cls])
            self._readers[schema.fingerprint] = _Reader(
                cls, schema.parsed, None, convert.DECODERS[cls], cls.__name__
            )
            self._by_name[schema.full_name] = (cls, schema)
        for version, directory in loader.released_versions(released_dir):
            for name, old in loader.load_records(directory).items():
                if old.fingerprint in self._readers or old.full_name not in self._by_name:
                    continue
                cls, current = self._by_name[old.full_name]
                self._readers[old.fingerprint] = _Reader(
                    cls, old.parsed, current.parsed, convert.DECODERS[cls], f"{name} ({version})"
                )

    # ------------------------------------------------------------------ encode
    def encode(self, record: Any) -> bytes:
        """Avro bytes for a record dataclass (single-object encoding, or Confluent with a
        registry). Raises SchemaEncodeError for a non-record or an invalid field value, and
        SchemaRegistryError when the registry cannot register the schema."""
        writer = self._writers.get(type(record))
        if writer is None:
            raise SchemaEncodeError(
                f"cannot encode {type(record).__name__}: not a record class from schemas.records"
            )
        header = writer.header if self.registry is None else self._confluent_header(record)
        buf = BytesIO()
        buf.write(header)
        try:
            schemaless_writer(buf, writer.parsed, writer.to_avro(record))
        except Exception as exc:
            raise SchemaEncodeError(
                f"cannot encode {type(record).__name__}: {_encode_failure(writer, record, exc)}"
            ) from exc
        return buf.getvalue()

    def _confluent_header(self, record: Any) -> bytes:
        header = self._confluent_headers.get(type(record))
        if header is None:
            assert self.registry is not None
            schema = self._writers[type(record)].schema
            schema_id = self.registry.register(schema.full_name, schema.json())
            header = CONFLUENT_MAGIC + schema_id.to_bytes(4, "big")
            self._confluent_headers[type(record)] = header
        return header

    # ------------------------------------------------------------------ decode
    @overload
    def decode(
        self,
        data: bytes,
        *,
        topic: str | None = ...,
        partition: int | None = ...,
        offset: int | None = ...,
        expected: type[T],
    ) -> T: ...

    @overload
    def decode(
        self,
        data: bytes,
        *,
        topic: str | None = ...,
        partition: int | None = ...,
        offset: int | None = ...,
        expected: tuple[type, ...] | None = ...,
    ) -> Any: ...

    def decode(
        self,
        data: bytes,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
        expected: type | tuple[type, ...] | None = None,
    ) -> Any:
        """The record encoded in ``data``; ``expected`` (a class or tuple of classes) rejects
        records of other types. Raises SchemaDecodeError naming topic/partition/offset."""
        if type(data) is not bytes and isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        try:
            if data[:2] == SINGLE_OBJECT_MAGIC:
                reader = self._readers.get(data[2:10])
                if reader is None:
                    raise SchemaDecodeError(self._unknown_fingerprint(data))
                start = 10
            elif data[:1] == CONFLUENT_MAGIC and len(data) >= 5:
                reader = self._confluent_reader(int.from_bytes(data[1:5], "big"))
                start = 5
            else:
                raise SchemaDecodeError(_not_avro(data))
            buf = BytesIO(data)
            buf.seek(start)
            datum = schemaless_reader(buf, reader.writer, reader.reader)
            if buf.tell() != len(data):
                raise SchemaDecodeError(
                    f"{len(data) - buf.tell()} unexpected bytes after a {reader.label} record "
                    f"of {buf.tell()} bytes (corrupt or concatenated records)"
                )
            record = reader.from_avro(datum)  # type: ignore[arg-type]  # a record is a dict
        except SchemaDecodeError as exc:
            raise SchemaDecodeError(
                exc.reason, topic=topic, partition=partition, offset=offset
            ) from exc.__cause__
        except Exception as exc:
            raise SchemaDecodeError(
                _describe_failure(data, exc), topic=topic, partition=partition, offset=offset
            ) from exc
        if expected is not None and not isinstance(record, expected):
            raise SchemaDecodeError(
                f"found a {type(record).__name__}, expected {_names(expected)}",
                topic=topic,
                partition=partition,
                offset=offset,
            )
        return record

    def _unknown_fingerprint(self, data: bytes) -> str:
        fp = data[2:10]
        if len(fp) < 8:
            return f"truncated: {len(data)} bytes, shorter than the 10-byte single-object header"
        return (
            f"unknown schema fingerprint {fp.hex()} (CRC-64-AVRO, little-endian): not one of the "
            f"{len(self._by_name)} schemas of this build or its released versions; "
            "the producer may run newer schemas — deploy them here first"
        )

    def _confluent_reader(self, schema_id: int) -> _Reader:
        reader = self._by_schema_id.get(schema_id)
        if reader is not None:
            return reader
        if self.registry is None:
            raise SchemaDecodeError(
                f"Confluent wire format (schema id {schema_id}) but no schema registry is "
                "configured; set TICKETSTREAM_SCHEMA_REGISTRY_URL"
            )
        try:
            text = self.registry.schema(schema_id)
        except SchemaRegistryError as exc:
            raise SchemaDecodeError(f"schema id {schema_id}: {exc}") from exc
        try:
            writer_json = json.loads(text)
            fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(writer_json), "CRC-64-AVRO"))
        except Exception as exc:
            raise SchemaDecodeError(f"schema id {schema_id} is not a valid Avro schema") from exc
        reader = self._readers.get(fp)
        if reader is None:
            name = (
                loader.full_name(
                    str(writer_json.get("name", "?")),
                    writer_json.get("namespace", loader.NAMESPACE),
                )
                if isinstance(writer_json, dict)
                else "?"
            )
            known = self._by_name.get(name)
            if known is None:
                raise SchemaDecodeError(
                    f"schema id {schema_id} is record {name}, which this build does not know"
                )
            cls, current = known
            reader = _Reader(
                cls,
                parse_schema(writer_json),
                current.parsed,
                convert.DECODERS[cls],
                f"{cls.__name__} (registry id {schema_id})",
            )
        self._by_schema_id[schema_id] = reader
        return reader


def _encode_failure(writer: _Writer, record: Any, exc: Exception) -> str:
    """Which field is wrong and how — without echoing values (they may be message bodies)."""
    if isinstance(exc, convert.NaiveDatetimeError):
        return str(exc)
    try:
        validate(writer.to_avro(record), writer.parsed, raise_errors=True)
    except ValidationError as invalid:
        described = [
            f"{e.field}: {_schema_name(e.schema)} out of range (64-bit signed)"
            if type(e.datum) is int and e.schema in ("int", "long")
            else f"{e.field}: expected {_schema_name(e.schema)}, got {type(e.datum).__name__}"
            for e in invalid.errors
        ]
        if described:
            return "; ".join(described)
    except Exception:  # fall back to fastavro's own message
        pass
    return f"{type(exc).__name__}: {exc}"


def _schema_name(schema: Any) -> str:
    if isinstance(schema, dict):
        return str(schema.get("name") or schema.get("logicalType") or schema.get("type"))
    if isinstance(schema, list):
        return " | ".join(_schema_name(b) for b in schema)
    return str(schema)


def _names(expected: type | tuple[type, ...]) -> str:
    if isinstance(expected, tuple):
        return " or ".join(t.__name__ for t in expected)
    return expected.__name__


def _not_avro(data: Any) -> str:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return f"expected bytes, got {type(data).__name__}"
    if len(data) == 0:
        return "empty value (0 bytes); a tombstone is not a record"
    return (
        f"first bytes {bytes(data[:2]).hex()} are neither the Avro single-object marker c301 "
        "nor the Confluent magic byte 00 (not written by this codec)"
    )


def _describe_failure(data: Any, exc: Exception) -> str:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return _not_avro(data)
    if isinstance(exc, EOFError | IndexError) or "EOF" in str(exc) or "truncated" in str(exc):
        return f"truncated or corrupt Avro body ({len(data)} bytes): {type(exc).__name__}: {exc}"
    return f"corrupt Avro body ({type(exc).__name__}: {exc})"


_default: Codec | None = None


def default_codec() -> Codec:
    """The process-wide codec, configured from settings on first use."""
    global _default
    if _default is None:
        # Imported by name: the settings shell is outside this package's strict type check.
        settings = importlib.import_module("ticketstream.settings").load_settings()
        _default = Codec(registry_url=settings.schema_registry_url)
    return _default


def configure(registry_url: str | None = None, *, codec: Codec | None = None) -> Codec:
    """Replace the process-wide codec (e.g. in tests, or after changing settings)."""
    global _default
    _default = codec if codec is not None else Codec(registry_url=registry_url)
    return _default


def encode(record: Any) -> bytes:
    """Avro bytes for a record dataclass with the process-wide codec (see ``Codec.encode``)."""
    return (_default or default_codec()).encode(record)


@overload
def decode(
    data: bytes,
    *,
    topic: str | None = ...,
    partition: int | None = ...,
    offset: int | None = ...,
    expected: type[T],
) -> T: ...


@overload
def decode(
    data: bytes,
    *,
    topic: str | None = ...,
    partition: int | None = ...,
    offset: int | None = ...,
    expected: tuple[type, ...] | None = ...,
) -> Any: ...


def decode(
    data: bytes,
    *,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    expected: type | tuple[type, ...] | None = None,
) -> Any:
    """The record in ``data`` with the process-wide codec (see ``Codec.decode``).

    Raises SchemaDecodeError naming ``topic[partition]@offset`` when they are given."""
    return (_default or default_codec()).decode(
        data, topic=topic, partition=partition, offset=offset, expected=expected
    )
