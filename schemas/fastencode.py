"""A compiled encoder per record class: the same bytes as ``Codec.encode``, at a fraction of the CPU.

``Codec.encode`` converts a record dataclass to a dict (``convert.to_avro``) and hands it to
fastavro's generic writer, which walks the schema for every datum (union branches, logical
types). For a hot path that encodes one record type over and over (the gateway writes one
``ChannelMessageReceived`` per webhook) :func:`compiled_encoder` generates, once, straight-line
Python from the record's Avro schema that writes the binary encoding from the dataclass's
attributes directly.

Contract: for every value it accepts, the compiled function returns exactly the bytes
``codec.encode(record)`` returns (single-object header included). It accepts only values of the
exact expected Python types (``str``, ``int`` within 64 bits, ``bool``, ``bytes``, ``float``,
tz-aware ``datetime``, the record's own enums and nested records, ``tuple``/``list`` and ``dict``);
anything else — a naive datetime, an out-of-range int, a str subclass, a lone surrogate — is
handed to ``codec.encode`` unchanged, which encodes it or raises its usual ``SchemaEncodeError``.
A codec with a schema registry (Confluent wire format), or a schema using a construct this
compiler does not handle (a union of two non-null types, ``fixed``, another logical type), gets
``codec.encode`` itself. ``tests/property/connectors/test_fast_encode.py`` checks the byte
equality on generated records.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import loader
from schemas.codec import Codec, default_codec

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_MIN_LONG, _MAX_LONG = -(1 << 63), (1 << 63) - 1
_MIN_INT, _MAX_INT = -(1 << 31), (1 << 31) - 1
# Zig-zag varints of 0…63 are one byte: lengths of short strings and small counts hit this table.
_SMALL = [bytes([n << 1]) for n in range(64)]


class _Fallback(Exception):
    """A value outside what the compiled path handles: encode with the generic codec."""


class _Unsupported(Exception):
    """A schema construct the compiler does not handle: use the generic codec for the class."""


def _long(n: int) -> bytes:
    """Avro ``long``: zig-zag, then base-128 varint, low group first (unrolled: a loop costs
    several times more for the 6-byte millisecond timestamps every event carries)."""
    if 0 <= n < 64:
        return _SMALL[n]
    if not _MIN_LONG <= n <= _MAX_LONG:
        raise _Fallback
    z = (n << 1) ^ (n >> 63)
    if z < 0x4000:
        return bytes((z & 0x7F | 0x80, z >> 7)) if z > 0x7F else bytes((z,))
    if z < 1 << 28:
        if z < 1 << 21:
            return bytes((z & 0x7F | 0x80, z >> 7 & 0x7F | 0x80, z >> 14))
        return bytes((z & 0x7F | 0x80, z >> 7 & 0x7F | 0x80, z >> 14 & 0x7F | 0x80, z >> 21))
    if z < 1 << 42:
        if z < 1 << 35:
            return bytes(
                (
                    z & 0x7F | 0x80,
                    z >> 7 & 0x7F | 0x80,
                    z >> 14 & 0x7F | 0x80,
                    z >> 21 & 0x7F | 0x80,
                    z >> 28,
                )
            )
        return bytes(
            (
                z & 0x7F | 0x80,
                z >> 7 & 0x7F | 0x80,
                z >> 14 & 0x7F | 0x80,
                z >> 21 & 0x7F | 0x80,
                z >> 28 & 0x7F | 0x80,
                z >> 35,
            )
        )
    return varint(z)


def varint(z: int) -> bytes:
    """The base-128 varint of ``z`` ≥ 0 (7-bit groups, low first): Avro's ``long`` after zig-zag."""
    out = bytearray()
    while z > 0x7F:
        out.append(z & 0x7F | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


avro_long = _long  # for hand-written writers (connectors/channels/line_fast.py)


def _int(n: int) -> bytes:
    if not _MIN_INT <= n <= _MAX_INT:
        raise _Fallback
    return _long(n)


def _millis(value: datetime) -> int:
    """fastavro's timestamp-millis of a tz-aware datetime: ``(days * 86400 + seconds) * 1000 +
    microseconds // 1000`` of its distance from the epoch, which is this floor division."""
    if value.tzinfo is None:
        raise _Fallback  # the codec says why a naive datetime is refused
    return (value - _EPOCH) // _MILLISECOND


class _Compiler:
    def __init__(self) -> None:
        self.names: dict[str, Any] = {
            "_long": _long,
            "_int": _int,
            "_millis": _millis,
            "_SMALL": _SMALL,
            "_Fallback": _Fallback,
            "_str": str,
            "_int_t": int,
            "_bool": bool,
            "_bytes": bytes,
            "_float": float,
            "_datetime": datetime,
            "_tuple": tuple,
            "_list": list,
            "_dict": dict,
            "_type": type,
            "_len": len,
            "_pack_f": struct.Struct("<f").pack,
            "_pack_d": struct.Struct("<d").pack,
        }
        self.functions: list[str] = []
        self.named: dict[str, Any] = {}  # full name → JSON schema (from its first definition)
        self.done: set[str] = set()  # records whose writer function exists
        self._n = 0

    def var(self) -> str:
        self._n += 1
        return f"v{self._n}"

    def resolve(self, schema: Any, namespace: str) -> Any:
        """The JSON schema of ``schema``, following a reference to a named type."""
        if isinstance(schema, str) and schema not in loader.PRIMITIVES:
            found = self.named.get(loader.full_name(schema, namespace))
            if found is None:
                raise _Unsupported(f"unknown named type {schema}")
            return found
        if isinstance(schema, dict) and schema.get("type") in ("record", "enum", "fixed"):
            name = loader.full_name(schema["name"], schema.get("namespace", namespace))
            self.named.setdefault(name, schema)
        return schema

    def lines(self, expr: str, schema: Any, namespace: str, indent: str) -> list[str]:
        """Statements appending the encoding of ``expr`` (already bound to a name) to ``b``."""
        schema = self.resolve(schema, namespace)
        if isinstance(schema, list):
            return self.union(expr, schema, namespace, indent)
        kind = schema if isinstance(schema, str) else schema.get("type")
        logical = schema.get("logicalType") if isinstance(schema, dict) else None
        if isinstance(kind, (dict, list)):  # {"type": {...}} wrapping
            return self.lines(expr, kind, namespace, indent)
        if logical is not None and kind != "record":
            if logical == "timestamp-millis" and kind == "long":
                return [
                    f"{indent}if _type({expr}) is not _datetime: raise _Fallback",
                    f"{indent}b += _long(_millis({expr}))",
                ]
            raise _Unsupported(f"logical type {logical}")
        if kind == "null":
            return [f"{indent}if {expr} is not None: raise _Fallback"]
        if kind == "boolean":
            return [
                f"{indent}if _type({expr}) is not _bool: raise _Fallback",
                f"{indent}b += b'\\x01' if {expr} else b'\\x00'",
            ]
        if kind in ("int", "long"):
            fn = "_int" if kind == "int" else "_long"
            return [
                f"{indent}if _type({expr}) is not _int_t: raise _Fallback",
                f"{indent}b += {fn}({expr})",
            ]
        if kind in ("float", "double"):
            fn = "_pack_f" if kind == "float" else "_pack_d"
            return [
                f"{indent}if _type({expr}) is not _float: raise _Fallback",
                f"{indent}b += {fn}({expr})",
            ]
        if kind == "string":
            e, n = self.var(), self.var()
            return [
                f"{indent}if _type({expr}) is not _str: raise _Fallback",
                f"{indent}{e} = {expr}.encode()",
                f"{indent}{n} = _len({e})",
                f"{indent}b += _SMALL[{n}] if {n} < 64 else _long({n})",
                f"{indent}b += {e}",
            ]
        if kind == "bytes":
            return [
                f"{indent}if _type({expr}) is not _bytes: raise _Fallback",
                f"{indent}b += _long(_len({expr}))",
                f"{indent}b += {expr}",
            ]
        if kind == "enum":
            table = f"_enum_{self.var()}"
            self.names[table] = {s: _long(i) for i, s in enumerate(schema["symbols"])}
            # A StrEnum member hashes and compares as its symbol; anything else: KeyError.
            return [
                f"{indent}if not isinstance({expr}, _str): raise _Fallback",
                f"{indent}b += {table}[{expr}]",
            ]
        if kind == "array":
            item = self.var()
            body = self.lines(item, schema["items"], namespace, indent + "    ")
            return [
                f"{indent}if _type({expr}) is not _tuple and _type({expr}) is not _list: "
                "raise _Fallback",
                f"{indent}if {expr}:",
                f"{indent}    b += _long(_len({expr}))",
                f"{indent}    for {item} in {expr}:",
                *["    " + line for line in body],
                f"{indent}b += b'\\x00'",
            ]
        if kind == "map":
            k, v, e = self.var(), self.var(), self.var()
            body = self.lines(v, schema["values"], namespace, indent + "        ")
            return [
                f"{indent}if _type({expr}) is not _dict: raise _Fallback",
                f"{indent}if {expr}:",
                f"{indent}    b += _long(_len({expr}))",
                f"{indent}    for {k}, {v} in {expr}.items():",
                f"{indent}        if _type({k}) is not _str: raise _Fallback",
                f"{indent}        {e} = {k}.encode()",
                f"{indent}        b += _long(_len({e}))",
                f"{indent}        b += {e}",
                *body,
                f"{indent}b += b'\\x00'",
            ]
        if kind == "record":
            ns = schema.get("namespace", namespace)
            fn = self.record(schema, ns)
            return [f"{indent}{fn}({expr}, b)"]
        raise _Unsupported(f"type {kind}")

    def union(self, expr: str, branches: list[Any], namespace: str, indent: str) -> list[str]:
        non_null = [i for i, s in enumerate(branches) if s != "null"]
        nulls = [i for i, s in enumerate(branches) if s == "null"]
        if len(non_null) != 1 or len(nulls) > 1:
            raise _Unsupported("a union of other than null and one type")
        i = non_null[0]
        body = self.lines(expr, branches[i], namespace, indent + "    ")
        if not nulls:
            return [f"{indent}b += {_long(i)!r}", *body]
        return [
            f"{indent}if {expr} is None:",
            f"{indent}    b += {_long(nulls[0])!r}",
            f"{indent}else:",
            f"{indent}    b += {_long(i)!r}",
            *body,
        ]

    def record(self, schema: dict[str, Any], namespace: str) -> str:
        """The name of the function ``_w_<Record>(r, b)`` writing ``r``'s fields to ``b``."""
        name = loader.full_name(schema["name"], namespace)
        fn = "_w_" + name.replace(".", "_")
        if name in self.done:
            return fn
        self.done.add(name)
        body = [f"def {fn}(r, b):"]
        for field in schema["fields"]:
            v = self.var()
            body.append(f"    {v} = r.{field['name']}")
            body.extend(self.lines(v, field["type"], namespace, "    "))
        self.functions.append("\n".join(body) + "\n")
        return fn


def compile_record(schema: loader.RecordSchema) -> Callable[[Any, bytearray], None] | None:
    """The generated writer of one record (appends its Avro body to a bytearray), or None when
    its schema uses something the compiler does not handle."""
    compiler = _Compiler()
    try:
        fn = compiler.record(schema.expanded, loader.NAMESPACE)
    except (_Unsupported, KeyError, TypeError):
        return None
    namespace = dict(compiler.names)
    source = "\n".join(compiler.functions)
    exec(compile(source, f"<schemas.fastencode {schema.name}>", "exec"), namespace)
    writer: Callable[[Any, bytearray], None] = namespace[fn]
    return writer


def compiled_encoder(cls: type, codec: Codec | None = None) -> Callable[[Any], bytes]:
    """A function ``record -> bytes`` equal to ``codec.encode`` (the process-wide codec by
    default) for ``cls`` records, compiled from ``cls``'s schema. Other values, and codecs with
    a schema registry, go through ``codec.encode`` (which raises ``SchemaEncodeError``)."""
    codec = codec if codec is not None else default_codec()
    writer_info = codec._writers.get(cls)
    if writer_info is None or codec.registry is not None:
        return codec.encode
    write = compile_record(writer_info.schema)
    if write is None:
        return codec.encode
    header = writer_info.header
    generic = codec.encode

    def encode(record: Any) -> bytes:
        if type(record) is not cls:
            return generic(record)
        b = bytearray(header)
        try:
            write(record, b)
        except (_Fallback, KeyError, AttributeError, UnicodeEncodeError):
            return generic(record)
        return bytes(b)

    return encode
