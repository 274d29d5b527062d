"""The ``payload`` column: an event's own fields (not the envelope) as compact JSON.

Free text (personal data) is left out unless bodies may be stored; reply tokens never go in.
One encoder function per record type is generated on first use from the dataclass's field
types (strings and enums through the C string escaper, ints, bools, datetimes as ISO 8601 UTC,
anything else through :mod:`json`): the projector's hot path, about 5x faster than building a
dict and calling ``json.dumps`` with a ``default`` hook for every event. The output is the same
string ``json.dumps(..., separators=(",", ":"), ensure_ascii=False)`` gives (tested).
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring  # the C escaper when available
from typing import Any

from schemas.fastdecode import MAX_MS, MIN_MS, millis_to_datetime

# Free text (personal data) kept out of `payload` unless bodies may be stored; secrets never.
PII_FIELDS = frozenset({"text", "comment", "subject", "customer_display_name", "display_name"})
SECRET_FIELDS = frozenset({"reply_context", "envelope"})


def _default(value: Any) -> Any:
    """JSON for what json does not know: datetimes, bytes, nested records (enums are str)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    raise TypeError(f"cannot put {type(value).__name__} in an event payload")


_generic = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_default).encode


def reference_payload_json(record: Any, *, store_bodies: bool) -> str:
    """The payload built the plain way (a dict through ``json``): the specification the
    generated encoders are tested against."""
    out = {
        f.name: getattr(record, f.name)
        for f in fields(record)
        if f.name not in SECRET_FIELDS and (store_bodies or f.name not in PII_FIELDS)
    }
    return _generic(out)


def _iso(value: datetime) -> str:
    return '"' + value.astimezone(UTC).isoformat() + '"'


def _value_code(expr: str, tp: Any) -> str:
    """Python source that turns ``expr`` (a value of type ``tp``) into its JSON text."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return f'("null" if {expr} is None else {_value_code(expr, args[0])})'
        return f"_generic({expr})"
    if tp is bool:
        return f'("true" if {expr} else "false")'
    if isinstance(tp, type) and issubclass(tp, str):  # str and the StrEnums
        return f"_s({expr})"
    if tp is int:
        return f"_int({expr})"
    if tp is datetime:
        return f"_iso({expr})"
    return f"_generic({expr})"


def _compile(cls: type, store_bodies: bool) -> Callable[[Any], str]:
    hints = typing.get_type_hints(cls)
    parts: list[str] = []
    for f in fields(cls):
        if f.name in SECRET_FIELDS or (not store_bodies and f.name in PII_FIELDS):
            continue
        key = json.dumps(f.name) + ":"
        sep = "," if parts else ""
        parts.append(f"{sep}{key}' + {_value_code('rec.' + f.name, hints[f.name])} + '")
    body = "'{" + "".join(parts) + "}'"
    source = f"def encode(rec):\n    return {body}\n"
    namespace: dict[str, Any] = {
        "_s": encode_basestring, "_int": int.__repr__, "_iso": _iso, "_generic": _generic,
    }  # fmt: skip
    exec(compile(source, f"<payload encoder {cls.__name__}>", "exec"), namespace)
    fn: Callable[[Any], str] = namespace["encode"]
    return fn


_ENCODERS: dict[tuple[type, bool], Callable[[Any], str]] = {}
_DATUM_ENCODERS: dict[tuple[type, bool], Callable[[dict[str, Any]], str]] = {}


_DAY_MS = 86_400_000
_DAYS: dict[int, str] = {}  # day number since the epoch → '"YYYY-MM-DDT'
_HM = tuple(f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60))  # minute of the day
_SS = tuple(f"{s:02d}" for s in range(60))
# millisecond → the rest: isoformat writes microseconds only when they are not 0
_FRAC = ('+00:00"', *(f'.{f:03d}000+00:00"' for f in range(1, 1000)))


def _day(day: int) -> str:
    if len(_DAYS) >= 4096:
        _DAYS.clear()
    head = _DAYS[day] = '"' + millis_to_datetime(day * _DAY_MS).date().isoformat() + "T"
    return head


def _iso_ms(ms: int) -> str:
    """``'"' + millis_to_datetime(ms).isoformat() + '"'`` from tables and a cache of days: the
    datetime and its isoformat cost ~2.3 us an instant, this ~0.5. Outside [MIN_MS, MAX_MS]
    it is the datetime's (which raises)."""
    if MIN_MS <= ms <= MAX_MS:
        day, rest = divmod(ms, _DAY_MS)
        s, f = divmod(rest, 1000)
        m, s = divmod(s, 60)
        return (_DAYS.get(day) or _day(day)) + _HM[m] + _SS[s] + _FRAC[f]
    return '"' + millis_to_datetime(ms).isoformat() + '"'


def _datum_code(expr: str, tp: Any, gen: Any) -> str:
    """Python source that turns ``expr`` (the Avro datum of a field of type ``tp``, instants in
    epoch ms) into the JSON text the record's field gives (see ``_value_code``)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            v = gen._var()
            return f'("null" if ({v} := {expr}) is None else {_datum_code(v, args[0], gen)})'
    elif tp is bool:
        return f'("true" if {expr} else "false")'
    elif isinstance(tp, type) and issubclass(tp, str):  # str, and enums as their symbols
        return f"_s({expr})"
    elif tp is int:
        return f"_int({expr})"
    elif tp is datetime:
        return f"_iso_ms({expr})"
    elif origin is tuple and typing.get_args(tp)[0] is str:
        v = gen._var()
        return f"('[' + ','.join([_s({v}) for {v} in {expr}]) + ']')"
    elif origin is tuple:  # of records: most often empty (a reply without attachments)
        v = gen._var()
        return f"('[]' if not ({v} := {expr}) else _generic({gen.from_avro(v, tp)}))"
    # anything else: the record's value (schemas.fastdecode's converter code), through json
    return f"_generic({gen.from_avro(expr, tp)})"


def datum_payload_code(
    cls: type, store_bodies: bool, value_of: Callable[[str], str]
) -> tuple[str, str, dict[str, Any]]:
    """The payload of a datum of ``cls`` as Python source: ``(definitions, expression,
    names)``, where ``value_of(field name)`` is the source of the field's datum value (``d[...]``
    here; a local in ``projections.fused``), ``definitions`` the nested records' converters the
    expression calls and ``names`` the namespace both need."""
    from schemas.fastdecode import _MillisGenerator

    gen = _MillisGenerator()
    gen.names["_ms"] = millis_to_datetime
    hints = typing.get_type_hints(cls)
    # One str.join over the literal keys and the values' JSON: a single allocation for the
    # result (a chain of `+` built a new string per field).
    parts: list[str] = []
    text = "{"
    for f in fields(cls):
        if f.name in SECRET_FIELDS or (not store_bodies and f.name in PII_FIELDS):
            continue
        text += ("," if parts else "") + json.dumps(f.name) + ":"
        parts += [repr(text), _datum_code(value_of(f.name), hints[f.name], gen)]
        text = ""
    parts.append(repr(text + "}"))
    body = f"''.join(({', '.join(parts)}))"
    nested = "".join(gen.source(c) for c in _nested_records(cls))
    namespace: dict[str, Any] = {
        **gen.names, "_s": encode_basestring, "_int": int.__repr__, "_iso_ms": _iso_ms,
        "_generic": _generic,
    }  # fmt: skip
    return nested, body, namespace


def _compile_datum(cls: type, store_bodies: bool) -> Callable[[dict[str, Any]], str]:
    nested, body, namespace = datum_payload_code(cls, store_bodies, lambda name: f"d[{name!r}]")
    source = f"{nested}def encode(d):\n    return {body}\n"
    exec(compile(source, f"<payload datum encoder {cls.__name__}>", "exec"), namespace)
    fn: Callable[[dict[str, Any]], str] = namespace["encode"]
    return fn


def _nested_records(cls: type) -> list[type]:
    """The record classes inside ``cls``'s fields (any depth), whose converters the generated
    code may call."""
    found: list[type] = []

    def walk(tp: Any) -> None:
        for arg in typing.get_args(tp):
            walk(arg)
        if isinstance(tp, type) and is_dataclass(tp) and tp not in found:
            found.append(tp)
            for hint in typing.get_type_hints(tp).values():
                walk(hint)

    for hint in typing.get_type_hints(cls).values():
        walk(hint)
    return found


def datum_encoder_for(cls: type, *, store_bodies: bool) -> Callable[[dict[str, Any]], str]:
    """The payload encoder of a datum of record class ``cls`` (``schemas.fastdecode``'s
    DatumDecoder output): the same JSON :func:`payload_json` gives for the record."""
    key = (cls, store_bodies)
    fn = _DATUM_ENCODERS.get(key)
    if fn is None:
        fn = _DATUM_ENCODERS[key] = _compile_datum(cls, store_bodies)
    return fn


def encoder_for(cls: type, *, store_bodies: bool) -> Callable[[Any], str]:
    """The payload encoder of record class ``cls`` (generated once, then cached)."""
    key = (cls, store_bodies)
    fn = _ENCODERS.get(key)
    if fn is None:
        fn = _ENCODERS[key] = _compile(cls, store_bodies)
    return fn


def payload_json(record: Any, *, store_bodies: bool) -> str:
    """The record's own fields (not the envelope) as JSON; free text only with ``store_bodies``."""
    return encoder_for(type(record), store_bodies=store_bodies)(record)
