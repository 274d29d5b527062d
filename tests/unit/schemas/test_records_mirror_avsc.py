"""schemas/records.py mirrors schemas/avsc/*.avsc exactly: names, field order, types, defaults."""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from schemas import records

AVSC = Path(__file__).resolve().parents[3] / "schemas" / "avsc"


def _avsc(name: str) -> dict[str, Any]:
    return json.loads((AVSC / f"{name}.avsc").read_text(encoding="utf-8"))


def _classes() -> list[type]:
    return [
        c for c in vars(records).values()
        if isinstance(c, type) and dataclasses.is_dataclass(c) and c.__module__ == records.__name__
    ]  # fmt: skip


def _enums() -> list[type[enum.Enum]]:
    return [
        c for c in vars(records).values()
        if isinstance(c, type) and issubclass(c, enum.Enum) and c.__module__ == records.__name__
    ]  # fmt: skip


def _expected_type(tp: Any) -> Any:
    """The Avro type a Python annotation must have, written out by hand for each case."""
    if typing.get_origin(tp) is types.UnionType:
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return ["null", _expected_type(inner)]
    if typing.get_origin(tp) is tuple:
        return {"type": "array", "items": _expected_type(typing.get_args(tp)[0])}
    if typing.get_origin(tp) is dict:
        assert typing.get_args(tp)[0] is str
        return {"type": "map", "values": _expected_type(typing.get_args(tp)[1])}
    simple = {str: "string", int: "long", bool: "boolean", bytes: "bytes"}
    if tp in simple:
        return simple[tp]
    if tp is datetime:
        return {"type": "long", "logicalType": "timestamp-millis"}
    return tp.__name__  # a named enum or record, referenced by name


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        value = field.default
        if isinstance(value, enum.Enum):
            return value.value
        return list(value) if isinstance(value, tuple) else value
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def test_every_avsc_file_has_a_python_mirror_and_back() -> None:
    files = {p.stem for p in AVSC.glob("*.avsc")}
    python = {c.__name__ for c in _classes()} | {e.__name__ for e in _enums()}
    assert files == python


@pytest.mark.parametrize("cls", _classes(), ids=lambda c: c.__name__)
def test_record_fields_mirror_the_avsc(cls: type) -> None:
    schema = _avsc(cls.__name__)
    assert schema["type"] == "record"
    assert schema["name"] == cls.__name__
    assert schema["namespace"] == "support.v1"
    assert schema["doc"].strip()
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    assert [f["name"] for f in schema["fields"]] == [f.name for f in fields]
    for avro_field, field in zip(schema["fields"], fields, strict=True):
        assert avro_field["doc"].strip(), f"{cls.__name__}.{field.name} has no doc"
        assert avro_field["type"] == _expected_type(hints[field.name]), field.name
        default = _default(field)
        if default is dataclasses.MISSING:
            assert "default" not in avro_field, f"{cls.__name__}.{field.name}"
        else:
            assert avro_field.get("default", dataclasses.MISSING) == default, field.name


def test_every_optional_field_has_a_default() -> None:
    for cls in _classes():
        for f in _avsc(cls.__name__)["fields"]:
            if isinstance(f["type"], list) and "null" in f["type"]:
                assert f.get("default", "missing") is None, f"{cls.__name__}.{f['name']}"


@pytest.mark.parametrize("enum_cls", _enums(), ids=lambda c: c.__name__)
def test_enum_symbols_mirror_the_avsc(enum_cls: type[enum.Enum]) -> None:
    schema = _avsc(enum_cls.__name__)
    assert schema["type"] == "enum"
    assert schema["namespace"] == "support.v1"
    assert schema["doc"].strip()
    assert schema["symbols"] == [m.value for m in enum_cls]
