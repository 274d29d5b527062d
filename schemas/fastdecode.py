"""A decoder for hot consumers: the records ``Codec.decode`` returns, at less CPU.

fastavro turns every ``timestamp-millis`` value into a datetime as
``epoch + timedelta(microseconds=ms * 1000)`` (two objects and big-int arithmetic: about a tenth
of the projector's CPU, py-spy). :func:`fast_decoder` reads the same bytes against the same
writer (and reader) schemas parsed once with that logical type left out, so fastavro returns the
milliseconds as ints, and builds the dataclasses with converters generated like
``schemas.convert``'s whose datetime fields go through :func:`millis_to_datetime`
(``datetime.fromtimestamp``, exact to the millisecond in the range it is used for).

:class:`DatumDecoder` reads this build's schemas with :func:`compiled_reader`: straight-line
Python generated per schema that reads the binary encoding by index arithmetic on the bytes
(~5 us for an event where fastavro's generic reader takes ~8 us), refusing anything but a
canonical encoding, so whatever it returns is what fastavro reads. :func:`compiled_flat_reader`
is the same reader returning the fields of chosen records as one flat tuple, without their
dicts (``projections.fused``).

Contract: for any bytes, the decoder returns a record equal to what ``codec.decode`` returns
(same class, same field values, datetimes in UTC), or raises ``SchemaDecodeError`` naming the
same topic/partition/offset when ``codec.decode`` raises it. The Confluent wire format, and
anything but a known single-object fingerprint, are handed to ``codec.decode`` unchanged.
``tests/property/projections/test_fast_decode.py`` checks the equality for every record class.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer

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


Decoded = tuple[type, dict[str, Any]]
DecodeDatum = Callable[..., Decoded]
# The instants a datetime can hold (0001-01-01 … 9999-12-31, UTC) in epoch milliseconds:
# fastavro's timestamp-millis conversion (and so ``codec.decode``) fails outside them.
MIN_MS = -62135596800000
MAX_MS = 253402300799999


class _RangeChecks:
    """Source of ``_chk_<Class>(d)``: True when every timestamp-millis value in the datum
    (nested records, arrays and optionals included) is within [MIN_MS, MAX_MS]."""

    def __init__(self) -> None:
        self._n = 0

    def cond(self, expr: str, tp: Any) -> str:
        inner = convert._optional_inner(tp)
        if inner is not None:
            self._n += 1
            v = f"_c{self._n}"
            code = self.cond(v, inner)
            return f"(({v} := {expr}) is None or {code})" if code else ""
        if tp is datetime:
            return f"(_lo <= {expr} <= _hi)"
        if typing.get_origin(tp) is tuple:
            self._n += 1
            v = f"_c{self._n}"
            code = self.cond(v, typing.get_args(tp)[0])
            return f"all([{code} for {v} in {expr}])" if code else ""
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            hints = typing.get_type_hints(tp)
            parts = [
                self.cond(f"{expr}[{f.name!r}]", hints[f.name]) for f in dataclasses.fields(tp)
            ]
            return " and ".join(p for p in parts if p)
        return ""

    def source(self, cls: type) -> str:
        return f"def _chk_{cls.__name__}(d):\n    return {self.cond('d', cls) or 'True'}\n"


def _range_checks() -> dict[type, Callable[[dict[str, Any]], bool]]:
    gen = _RangeChecks()
    classes = convert.record_classes()
    namespace: dict[str, Any] = {"_lo": MIN_MS, "_hi": MAX_MS}
    source = "".join(gen.source(cls) for cls in classes)
    exec(compile(source, "<schemas.fastdecode range checks>", "exec"), namespace)
    return {cls: namespace[f"_chk_{cls.__name__}"] for cls in classes}


class _Fallback(Exception):
    """A compiled reader met bytes it does not vouch for: the generic path decides."""


def _varint(b: bytes, p: int, x: int) -> tuple[int, int]:
    """The rest of a varint at ``b[p]`` whose first byte ``x`` (>= 0x80) was read: its raw
    (zig-zag encoded) value and the position after it. Beyond 64 bits: _Fallback."""
    x &= 0x7F
    shift = 7
    while True:
        c = b[p]
        p += 1
        x |= (c & 0x7F) << shift
        if c < 0x80:
            if x >> 64:
                raise _Fallback
            return x, p
        shift += 7
        if shift > 63:
            raise _Fallback


def _length(b: bytes, p: int) -> tuple[int, int]:
    """A length or count at ``b[p]`` and the position after it (negative: _Fallback)."""
    x = b[p]
    p += 1
    if x >= 0x80:
        x, p = _varint(b, p, x)
    if x & 1:
        raise _Fallback
    return x >> 1, p


# A length's first byte → the length when it is the whole varint (0…63), else -1.
_LEN = tuple(-1 if (x >= 0x80 or x & 1) else x >> 1 for x in range(256))


class _High6(dict[bytes, int | None]):
    """The high 3 bytes of a 6-byte varint (continued, continued, last) → their part of the
    zig-zag decoded value of a non-negative long (bits 20-40), or None for any other 3 bytes.
    Filled on first use; cleared past 4,096 entries (instants move to new high bytes every
    2**20 ms, ~17.5 min)."""

    def __missing__(self, key: bytes) -> int | None:
        if len(key) != 3 or key[0] < 0x80 or key[1] < 0x80 or key[2] >= 0x80:
            return None
        if len(self) >= 4096:
            self.clear()
        value = ((key[0] & 0x7F) | (key[1] & 0x7F) << 7 | key[2] << 14) << 20
        self[key] = value
        return value


_HI6 = _High6()


class _ReaderSource:
    """Straight-line Python that reads one schema's binary encoding from ``b`` at ``p``.

    What fastavro's generic reader does per value (look the schema up, call a reader per
    field through its buffer object) costs ~8 us for an event of ~20 fields; this does it with
    index arithmetic on the bytes (~5 us). It is stricter, never looser: anything but the
    canonical encoding of a value (a negative length or block count, a multi-byte union
    index, a boolean byte other than 0 or 1, a varint beyond 64 bits, an instant outside
    [MIN_MS, MAX_MS], bytes left over or missing) raises, and the caller takes the generic
    path, so a datum it returns is the one fastavro reads and every error is the codec's."""

    def __init__(
        self,
        utf8_bytes: frozenset[tuple[str, ...]] = frozenset(),
        flatten: frozenset[tuple[str, ...]] = frozenset(),
    ) -> None:
        self.n = 0
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}
        self.named: dict[str, Any] = {}
        self.utf8_bytes = utf8_bytes  # field paths whose strings stay UTF-8 bytes
        self.path: tuple[str, ...] = ()
        # paths of records read into one local per field (no dict): their fields' expressions
        self.flatten = flatten
        self.leaves: dict[tuple[str, ...], str] = {}
        self.nested = 0  # inside a union branch or an array: no flattening there

    def var(self, stem: str = "v") -> str:
        self.n += 1
        return f"{stem}{self.n}"

    def emit(self, ind: int, line: str) -> None:
        self.lines.append("    " * ind + line)

    def const(self, value: Any) -> str:
        name = f"_k{len(self.consts)}"
        self.consts[name] = value
        return name

    def read(self, schema: Any, ind: int) -> str:
        """Emit the code reading a value of ``schema``; return the expression holding it."""
        if isinstance(schema, str) and schema in self.named:
            schema = self.named[schema]
        if isinstance(schema, list):
            return self.union(schema, ind)
        t = schema if isinstance(schema, str) else schema["type"]
        logical = schema.get("logicalType") if isinstance(schema, dict) else None
        if isinstance(schema, dict) and "name" in schema:
            self.named[schema["name"]] = schema
            if schema.get("namespace"):
                self.named[f"{schema['namespace']}.{schema['name']}"] = schema
        if t == "null":
            return "None"
        v = self.var()
        if t == "long" and logical in (None, "timestamp-millis"):
            # inline: instants are 6-byte varints, a call per value cost more than the loop
            c, sh = self.var("c"), self.var("s")
            if logical:
                # An instant of 1970-07 … 2039 is a 6-byte varint: its low 3 bytes read as
                # small ints, its high 3 (they change every 2**20 ms) through a cache of their
                # value (_HI6): ~0.25 us where the loop below takes ~0.65 (multi-digit ints).
                h = self.var("h")
                self.emit(ind, f"{v} = b[p]")
                self.emit(ind, f"{c} = b[p + 1]")
                self.emit(ind, f"{sh} = b[p + 2]")
                self.emit(
                    ind,
                    f"if {v} & {c} & {sh} & 0x80 and not {v} & 1 and "
                    f"({h} := _HI6[b[p + 3:p + 6]]) is not None:",
                )
                self.emit(
                    ind + 1,
                    f"{v} = {h} + ((({v} & 0x7E) >> 1) | (({c} & 0x7F) << 6) "
                    f"| (({sh} & 0x7F) << 13))",
                )
                self.emit(ind + 1, "p += 6")
                self.emit(ind, "else:")
                ind += 1
            self.emit(ind, f"{v} = b[p]")
            self.emit(ind, "p += 1")
            self.emit(ind, f"if {v} >= 0x80:")
            self.emit(ind + 1, f"{v} &= 0x7F")
            self.emit(ind + 1, f"{sh} = 7")
            self.emit(ind + 1, "while True:")
            self.emit(ind + 2, f"{c} = b[p]")
            self.emit(ind + 2, "p += 1")
            self.emit(ind + 2, f"{v} |= ({c} & 0x7F) << {sh}")
            self.emit(ind + 2, f"if {c} < 0x80:")
            self.emit(ind + 3, "break")
            self.emit(ind + 2, f"{sh} += 7")
            self.emit(ind + 2, f"if {sh} > 63:")
            self.emit(ind + 3, "raise _Fallback")
            self.emit(ind + 1, f"if {v} >> 64:")
            self.emit(ind + 2, "raise _Fallback")
            self.emit(ind, f"{v} = ({v} >> 1) ^ -({v} & 1)")
            if logical:  # kept as epoch ms; outside what a datetime holds, the codec fails
                self.emit(ind, f"if not _lo <= {v} <= _hi:")
                self.emit(ind + 1, "raise _Fallback")
        elif t in ("string", "bytes") and logical is None:
            n = self.var("n")
            self.emit(ind, f"{n} = _LEN[b[p]]")
            self.emit(ind, f"if {n} < 0:")
            self.emit(ind + 1, f"{n}, p = _length(b, p)")
            self.emit(ind, "else:")
            self.emit(ind + 1, "p += 1")
            if t == "string" and self.path in self.utf8_bytes:
                # kept as the UTF-8 bytes a ClickHouse String column takes as they are (a str
                # is encoded again by clickhouse-driver); still refused unless valid UTF-8
                self.emit(ind, f"{v} = b[p:p + {n}]")
                self.emit(ind, f"if not {v}.isascii():")
                self.emit(ind + 1, f"{v}.decode()")
            else:
                self.emit(ind, f"{v} = b[p:p + {n}]{'.decode()' if t == 'string' else ''}")
            self.emit(ind, f"p += {n}")
        elif t == "boolean":
            self.emit(ind, f"{v} = _BOOL[b[p]]")
            self.emit(ind, "p += 1")
        elif t == "enum" and len(schema["symbols"]) < 64:
            # one-byte index → symbol (its UTF-8 bytes at a utf8_bytes path: free here)
            as_bytes = self.path in self.utf8_bytes
            table: list[str | bytes | None] = [None] * 256
            for i, sym in enumerate(schema["symbols"]):
                table[i << 1] = sym.encode() if as_bytes else sym
            self.emit(ind, f"{v} = {self.const(tuple(table))}[b[p]]")
            self.emit(ind, "p += 1")
            self.emit(ind, f"if {v} is None:")
            self.emit(ind + 1, "raise _Fallback")
        elif t == "record" and self.path in self.flatten:
            if self.nested:
                raise NotImplementedError(
                    f"a record to flatten inside a union or array: {self.path}"
                )
            outer = self.path
            for f in schema["fields"]:
                self.path = (*outer, f["name"])
                expr = self.read(f["type"], ind)
                if self.path not in self.flatten:
                    self.leaves[self.path] = expr
            self.path = outer
            return "None"  # no value of its own: its fields are in self.leaves
        elif t == "record":
            parts = []
            outer = self.path
            for f in schema["fields"]:
                self.path = (*outer, f["name"])
                parts.append(f"{f['name']!r}: {self.read(f['type'], ind)}")
            self.path = outer
            self.emit(ind, f"{v} = {{{', '.join(parts)}}}")
        elif t in ("array", "map"):
            outer = self.path
            self.path = (*outer, "[]")  # items are not the field itself
            self.nested += 1
            c = self.var("c")
            self.emit(ind, f"{v} = {'[]' if t == 'array' else '{}'}")
            self.emit(ind, "while True:")
            self.emit(ind + 1, f"{c}, p = _length(b, p)")
            self.emit(ind + 1, f"if not {c}:")
            self.emit(ind + 2, "break")
            self.emit(ind + 1, f"for _ in range({c}):")
            if t == "map":
                key = self.read("string", ind + 2)
                self.emit(ind + 2, f"{v}[{key}] = {self.read(schema['values'], ind + 2)}")
            else:
                self.emit(ind + 2, f"{v}.append({self.read(schema['items'], ind + 2)})")
            self.nested -= 1
            self.path = outer
        else:  # int, float, double, fixed, other logical types: not in our schemas yet
            raise NotImplementedError(f"no compiled reader for {schema!r}")
        return v

    def union(self, branches: list[Any], ind: int) -> str:
        if len(branches) >= 64:
            raise NotImplementedError("a union of 64 branches or more")
        v, x = self.var(), self.var("u")
        self.emit(ind, f"{x} = b[p]")  # the branch index: zig-zag 2 * index, one byte
        self.emit(ind, "p += 1")
        self.nested += 1
        for i, branch in enumerate(branches):
            self.emit(ind, f"{'if' if i == 0 else 'elif'} {x} == {2 * i}:")
            self.emit(ind + 1, f"{v} = {self.read(branch, ind + 1)}")
        self.nested -= 1
        self.emit(ind, "else:")
        self.emit(ind + 1, "raise _Fallback")
        return v


def compiled_reader(
    schema: Any, start: int = 10, *, utf8_bytes: frozenset[tuple[str, ...]] = frozenset()
) -> Callable[[bytes], Any] | None:
    """``read(data)``: the datum fastavro reads from ``data[start:]`` with ``schema`` (an
    expanded JSON schema, instants left as epoch ms) as writer and reader schema, or raises
    (any exception: take the generic path, see :class:`_ReaderSource`). None when the schema
    uses a type this compiler does not handle.

    ``utf8_bytes``: paths of string or enum fields (field names from the top record, e.g.
    ``("envelope", "event_id")``; a union's string branch included, an array's items not)
    whose values are returned as their UTF-8 bytes instead of str — still refused unless they
    are valid UTF-8, so the datum is fastavro's with those values ``.encode()``d."""
    src = _ReaderSource(utf8_bytes)
    try:
        src.emit(1, f"p = {start}")
        out = src.read(schema, 1)
    except NotImplementedError:
        return None
    return _compile(src, out, schema, "reader")


def _compile(src: _ReaderSource, out: str, schema: Any, kind: str) -> Callable[[bytes], Any]:
    """The function ``read(b)`` of ``src``'s lines: refused unless all of ``b`` was read, it
    returns the expression ``out``."""
    src.emit(1, "if p != len(b):")
    src.emit(2, "raise _Fallback")
    src.emit(1, f"return {out}")
    name = str(schema.get("name", "datum")) if isinstance(schema, dict) else "datum"
    source = "def read(b):\n" + "\n".join(src.lines) + "\n"
    namespace: dict[str, Any] = {
        "_varint": _varint, "_length": _length, "_LEN": _LEN, "_BOOL": (False, True), "_HI6": _HI6,
        "_Fallback": _Fallback, "_lo": MIN_MS, "_hi": MAX_MS, **src.consts,
    }  # fmt: skip
    exec(compile(source, f"<schemas.fastdecode {kind} {name}>", "exec"), namespace)
    fn: Callable[[bytes], Any] = namespace["read"]
    return fn


def compiled_flat_reader(
    schema: Any,
    flatten: frozenset[tuple[str, ...]],
    first: tuple[tuple[str, ...], ...] = (),
    start: int = 10,
    *,
    utf8_bytes: frozenset[tuple[str, ...]] = frozenset(),
) -> tuple[Callable[[bytes], tuple[Any, ...]], tuple[tuple[str, ...], ...]] | None:
    """:func:`compiled_reader` without the dicts of the records at ``flatten`` (paths of field
    names from the top record, ``()`` for the top record itself; not inside a union or an
    array): ``(read, paths)``, where ``read(data)`` returns the values of those records' fields
    as one tuple, in the order of ``paths`` (the fields' paths: ``first``'s that exist, then the
    others in schema order; a nested record not flattened is one value, its dict). The values
    are those of fastavro's datum at the same paths, refused as :func:`compiled_reader` refuses.
    None when the schema uses a type this compiler does not handle, or a path to flatten is in
    a union or an array."""
    src = _ReaderSource(utf8_bytes, flatten)
    try:
        src.emit(1, f"p = {start}")
        src.read(schema, 1)
    except NotImplementedError:
        return None
    leaves = src.leaves
    paths = tuple(f for f in first if f in leaves) + tuple(f for f in leaves if f not in first)
    out = f"({''.join(leaves[f] + ', ' for f in paths)})"
    return _compile(src, out, schema, "flat reader"), paths


def _encode_paths(datum: dict[str, Any], paths: frozenset[tuple[str, ...]]) -> dict[str, Any]:
    """``datum`` with the strings at ``paths`` (where it has them) as UTF-8 bytes, in place."""
    for path in paths:
        d: Any = datum
        for name in path[:-1]:
            d = d.get(name) if isinstance(d, dict) else None
        if isinstance(d, dict) and isinstance(d.get(path[-1]), str):
            d[path[-1]] = d[path[-1]].encode()
    return datum


class DatumDecoder:
    """Records as Avro data, for consumers that read fields rather than records.

    ``decode(data, topic=None, partition=None, offset=None) -> (cls, datum)``: the record class
    and its datum as fastavro reads it with this build's schema as reader schema, with every
    ``timestamp-millis`` value left as epoch milliseconds (an int), enums as their symbol
    strings and arrays as lists — no dataclasses, enums or datetimes are built. Bytes of this
    build's schemas are read by :func:`compiled_reader`'s functions (the same datum; what they
    refuse goes to the codec), a released schema's by fastavro with schema resolution. ``record_of``
    (this module's converter for ``cls``) turns the datum into exactly ``codec.decode``'s record.
    Raises SchemaDecodeError naming ``topic[partition]@offset`` when ``codec.decode`` does.

    ``datum(record)``: the same ``(cls, datum)`` for a record (written and read back with
    fastavro; for tests and tools, not for hot paths).

    ``utf8_bytes``: paths of string or enum fields (see :func:`compiled_reader`) that come as
    their UTF-8 bytes on every path, for consumers that hand them to ClickHouse as they are."""

    def __init__(
        self, codec: Codec | None = None, *, utf8_bytes: frozenset[tuple[str, ...]] = frozenset()
    ) -> None:
        codec = codec if codec is not None else default_codec()
        released = {
            old.fingerprint: old.expanded
            for _version, directory in loader.released_versions(loader.RELEASED_DIR)
            for old in loader.load_records(directory).values()
        }
        checks = _range_checks()
        readers: dict[bytes, tuple[Any, Any, type, Callable[[dict[str, Any]], bool]]] = {}
        compiled: dict[bytes, tuple[type, Callable[[bytes], Any]]] = {}
        current_of: dict[type, Any] = {}  # record class → this build's schema without millis
        for fp, reader in codec._readers.items():
            current = codec.schemas[reader.cls.__name__].expanded
            if reader.reader is None:  # this build's schema: writer == reader
                writer_json, reader_schema = current, None
                read = compiled_reader(current, utf8_bytes=utf8_bytes)
                if read is not None:
                    compiled[fp] = (reader.cls, read)
            elif fp in released:  # a released version, read through schema resolution
                writer_json, reader_schema = released[fp], parse_schema(_without_millis(current))
            else:
                continue  # codec.decode reads it
            writer = parse_schema(_without_millis(writer_json))
            readers[fp] = (writer, reader_schema, reader.cls, checks[reader.cls])
            if reader.reader is None:
                current_of[reader.cls] = writer
        slow = codec.decode
        writers = codec._writers

        def datum(record: Any) -> Decoded:
            cls = type(record)
            w = writers[cls]
            buf = BytesIO()
            schemaless_writer(buf, w.parsed, w.to_avro(record))
            buf.seek(0)
            back: Any = schemaless_reader(buf, current_of[cls], None)
            return cls, _encode_paths(back, utf8_bytes) if utf8_bytes else back

        def decode(
            data: bytes,
            topic: str | None = None,
            partition: int | None = None,
            offset: int | None = None,
        ) -> Decoded:
            if data[:2] == SINGLE_OBJECT_MAGIC and type(data) is bytes:
                fast = compiled.get(data[2:10])
                if fast is not None:
                    try:
                        return fast[0], fast[1](data)
                    except Exception:
                        pass  # not canonical, or damaged: the codec decides (below)
                    return datum(slow(data, topic=topic, partition=partition, offset=offset))
            found = readers.get(data[2:10]) if data[:2] == SINGLE_OBJECT_MAGIC else None
            if found is not None and type(data) is bytes:
                writer, reader_schema, cls, in_range = found
                buf = BytesIO(data)
                buf.seek(10)
                try:
                    got: Any = schemaless_reader(buf, writer, reader_schema)  # a record: a dict
                    if buf.tell() == len(data) and in_range(got):
                        return cls, _encode_paths(got, utf8_bytes) if utf8_bytes else got
                except Exception:
                    pass  # the generic path raises the codec's SchemaDecodeError for these bytes
            # Anything else (the Confluent wire format, an unknown fingerprint, damaged bytes):
            # the codec decides; its record is written and read back in this build's schema.
            return datum(slow(data, topic=topic, partition=partition, offset=offset))

        self.decode: DecodeDatum = decode
        self.datum: Callable[[Any], Decoded] = datum


def _decoders() -> dict[type, convert.Decoder]:
    global _DECODERS
    if _DECODERS is None:
        _DECODERS = _millis_decoders()
    return _DECODERS


def fast_decoder(codec: Codec | None = None) -> Decode:
    """``decode(data, topic=None, partition=None, offset=None)`` for ``codec`` (default: the
    process-wide codec): the record in ``data``, as ``codec.decode`` returns it (see module doc).
    Raises SchemaDecodeError naming ``topic[partition]@offset``."""
    datum_of = DatumDecoder(codec).decode
    decoders = _decoders()

    def decode(
        data: bytes,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> Any:
        cls, datum = datum_of(data, topic, partition, offset)
        return decoders[cls](datum)  # in range: DatumDecoder checked

    return decode


_DATUMS: DatumDecoder | None = None


def datum_of(record: Any) -> Decoded:
    """``(type(record), datum)`` as :class:`DatumDecoder` reads the record's bytes (with the
    process-wide codec; not for hot paths)."""
    global _DATUMS
    if _DATUMS is None:
        _DATUMS = DatumDecoder()
    return _DATUMS.datum(record)


def record_of(cls: type, datum: dict[str, Any]) -> Any:
    """The record ``codec.decode`` gives for a datum :class:`DatumDecoder` read for ``cls``."""
    return _decoders()[cls](datum)


__all__ = [
    "DatumDecoder",
    "Decoded",
    "SchemaDecodeError",
    "compiled_flat_reader",
    "compiled_reader",
    "datum_of",
    "fast_decoder",
    "millis_to_datetime",
    "record_of",
]
