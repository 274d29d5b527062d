"""Dataclass ↔ Avro datum conversion — the ONE place it happens.

For every record class we generate (once, at import) a pair of straight-line functions, e.g.::

    def to_avro(r):   return {"envelope": _enc_Envelope(r.envelope), "channel": r.channel, ...}
    def from_avro(d): return _new_ChannelMessageReceived(_dec_Envelope(d["envelope"]),
                                                         _E_Channel[d["channel"]], ...)

instead of walking ``dataclasses.fields`` per record: the codec must stay within 25% of raw
fastavro (bench/bench_schemas.py). Conventions (mirrored by the ``.avsc`` files, checked by
``tests/unit/schemas/test_records_mirror_avsc.py``):

- ``datetime`` ↔ ``timestamp-millis``: fastavro converts the value; we only insist on tz-aware
  datetimes (naive ones are ambiguous) and get UTC datetimes back. Precision is milliseconds:
  microseconds are truncated on the way in.
- ``StrEnum`` ↔ Avro enum: a ``StrEnum`` *is* its symbol string, so it goes in unchanged and is
  looked up in a symbol → member dict on the way out.
- ``tuple[X, ...]`` ↔ array, ``dict[str, X]`` ↔ map, ``X | None`` ↔ ``["null", X]``, ``bytes`` ↔ bytes.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any

from schemas import records

Encoder = Callable[[Any], dict[str, Any]]
Decoder = Callable[[dict[str, Any]], Any]


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone was given for a timestamp-millis field."""


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise NaiveDatetimeError(
            f"naive datetime {value.isoformat()} given for a timestamp-millis field; "
            "pass a tz-aware UTC datetime (datetime.now(UTC), or .replace(tzinfo=UTC))"
        )
    return value


def record_classes() -> tuple[type, ...]:
    """Every dataclass in ``schemas.records`` (shared types, commands, events, ticks)."""
    found = [
        obj
        for obj in vars(records).values()
        if isinstance(obj, type)
        and dataclasses.is_dataclass(obj)
        and obj.__module__ == records.__name__
    ]
    return tuple(found)


def enum_classes() -> tuple[type[enum.Enum], ...]:
    return tuple(
        obj
        for obj in vars(records).values()
        if isinstance(obj, type)
        and issubclass(obj, enum.Enum)
        and obj.__module__ == records.__name__
    )


def _optional_inner(tp: Any) -> Any | None:
    """``X`` when ``tp`` is ``X | None``, else None."""
    if typing.get_origin(tp) in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0]
        raise TypeError(f"only `X | None` unions are supported, not {tp}")
    return None


class _Generator:
    """Writes the source of the converter functions; ``names`` holds what they refer to."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {"_aware": _aware}
        self._counter = 0

    def _var(self) -> str:
        self._counter += 1
        return f"_v{self._counter}"

    def to_avro(self, expr: str, tp: Any) -> str:
        inner = _optional_inner(tp)
        if inner is not None:
            code = self.to_avro("{v}", inner)
            if code == "{v}":
                return expr
            v = self._var()
            return f"(None if ({v} := {expr}) is None else {code.format(v=v)})"
        origin = typing.get_origin(tp)
        if origin is tuple:
            v = self._var()
            code = self.to_avro(v, typing.get_args(tp)[0])
            return expr if code == v else f"[{code} for {v} in {expr}]"
        if origin is dict or tp in (str, int, bool, bytes):
            return expr
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return expr  # a StrEnum member is its symbol
        if tp is datetime:
            return f"_aware({expr})"
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return f"_enc_{tp.__name__}({expr})"
        raise TypeError(f"no Avro mapping for {tp!r}")

    def from_avro(self, expr: str, tp: Any) -> str:
        inner = _optional_inner(tp)
        if inner is not None:
            code = self.from_avro("{v}", inner)
            if code == "{v}":
                return expr
            v = self._var()
            return f"(None if ({v} := {expr}) is None else {code.format(v=v)})"
        origin = typing.get_origin(tp)
        if origin is tuple:
            v = self._var()
            code = self.from_avro(v, typing.get_args(tp)[0])
            return f"tuple({expr})" if code == v else f"tuple([{code} for {v} in {expr}])"
        if origin is dict or tp in (str, int, bool, bytes, datetime):
            return expr  # fastavro already gives UTC datetimes for timestamp-millis
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            table = f"_E_{tp.__name__}"
            self.names[table] = {member.value: member for member in tp}
            return f"{table}[{expr}]"
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return f"_dec_{tp.__name__}({expr})"
        raise TypeError(f"no Avro mapping for {tp!r}")

    def source(self, cls: type) -> str:
        name = cls.__name__
        hints = typing.get_type_hints(cls)
        fields = dataclasses.fields(cls)
        self.names[f"_new_{name}"] = cls
        enc = ", ".join(f"{f.name!r}: {self.to_avro(f'r.{f.name}', hints[f.name])}" for f in fields)
        values = [self.from_avro(f"d[{f.name!r}]", hints[f.name]) for f in fields]
        if hasattr(cls, "__post_init__") or not all(
            isinstance(cls.__dict__.get(f.name), types.MemberDescriptorType) for f in fields
        ):
            dec = f"    return _new_{name}({', '.join(values)})\n"
        else:
            # A frozen dataclass's __init__ sets each field through object.__setattr__; writing
            # the slots directly is the same result at half the cost (the decode hot path).
            self.names["_object_new"] = object.__new__
            lines = [f"    o = _object_new(_new_{name})\n"]
            for i, (f, value) in enumerate(zip(fields, values, strict=True)):
                setter = f"_set_{name}_{i}"
                self.names[setter] = cls.__dict__[f.name].__set__
                lines.append(f"    {setter}(o, {value})\n")
            dec = "".join(lines) + "    return o\n"
        return f"def _enc_{name}(r):\n    return {{{enc}}}\n\ndef _dec_{name}(d):\n{dec}\n"


def _generate() -> tuple[dict[type, Encoder], dict[type, Decoder]]:
    gen = _Generator()
    classes = record_classes()
    source = "".join(gen.source(cls) for cls in classes)
    namespace: dict[str, Any] = dict(gen.names)
    exec(compile(source, "<schemas.convert generated>", "exec"), namespace)
    encoders = {cls: namespace[f"_enc_{cls.__name__}"] for cls in classes}
    decoders = {cls: namespace[f"_dec_{cls.__name__}"] for cls in classes}
    return encoders, decoders


ENCODERS, DECODERS = _generate()


def to_avro(record: Any) -> dict[str, Any]:
    """The Avro datum (a dict fastavro can write) for a record dataclass instance."""
    return ENCODERS[type(record)](record)


def from_avro(cls: type[Any], datum: dict[str, Any]) -> Any:
    """The ``cls`` instance for a datum fastavro read with ``cls``'s schema as reader schema."""
    return DECODERS[cls](datum)
