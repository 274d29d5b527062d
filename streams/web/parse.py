"""JSON body → command dataclass, with errors that name the field and what is allowed.

The caller sends the command's own fields plus ``type``; the server fills the ``command``
header (id unless given, issued_at, actor from the token, tenant)."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from enum import Enum
from typing import Any

from schemas.records import COMMAND_TYPES, CommandHeader

COMMANDS: dict[str, type] = {c.__name__: c for c in COMMAND_TYPES}
HEADER_KEYS = {
    "type",
    "command_id",
    "correlation_id",
    "expected_version",
    "brand_id",
    "issued_at",
    "on_behalf_of",
}


class CommandParseError(ValueError):
    """The body does not describe a valid command; the message says which field and why."""


def parse_command(body: dict[str, Any], header: CommandHeader) -> Any:
    """The command described by ``body`` with ``header``. Raises ``CommandParseError``."""
    name = body.get("type")
    cls = COMMANDS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise CommandParseError(
            f"unknown command type {name!r}; use one of: {', '.join(sorted(COMMANDS))}"
        )
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {"command": header}
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "command"}
    extra = set(body) - set(fields) - HEADER_KEYS
    if extra:
        raise CommandParseError(
            f"{name}: unknown field(s) {', '.join(sorted(extra))}; allowed: {', '.join(fields)}"
        )
    for fname, f in fields.items():
        if fname in body:
            kwargs[fname] = _coerce(hints[fname], body[fname], f"{name}.{fname}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise CommandParseError(f"{name}: missing required field {fname!r}")
    return cls(**kwargs)


def parse_issued_at(value: Any) -> datetime:
    """An integration's own event time for a command (``issued_at``: ISO-8601 with a zone),
    e.g. a replay, a backfill or a simulation on a simulated clock. Raises
    ``CommandParseError``."""
    dt: datetime = _coerce(datetime, value, "issued_at")
    return dt


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(args[0], value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise CommandParseError(f"{where}: expected a list, got {type(value).__name__}")
        inner = typing.get_args(tp)[0]
        return tuple(_coerce(inner, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        vt = typing.get_args(tp)[1]
        if not isinstance(value, dict):
            raise CommandParseError(f"{where}: expected an object")
        return {str(k): _coerce(vt, v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in tp)
            raise CommandParseError(f"{where}: {value!r} is not one of {allowed}") from None
    if tp is datetime:
        try:
            dt = datetime.fromisoformat(str(value))
        except ValueError:
            raise CommandParseError(f"{where}: {value!r} is not an ISO-8601 time") from None
        if dt.tzinfo is None:
            raise CommandParseError(f"{where}: give a time zone (e.g. 2026-11-23T09:00:00Z)")
        return dt
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise CommandParseError(f"{where}: expected an object")
        hints = typing.get_type_hints(tp)
        try:
            return tp(**{k: _coerce(hints[k], v, f"{where}.{k}") for k, v in value.items()})  # type: ignore[operator]
        except (KeyError, TypeError) as exc:
            raise CommandParseError(f"{where}: {exc}") from None
    if tp is bool:
        if not isinstance(value, bool):
            raise CommandParseError(f"{where}: expected true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise CommandParseError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise CommandParseError(f"{where}: expected a string, got {type(value).__name__}")
        if not value.strip():
            raise CommandParseError(f"{where}: must not be empty")
        return value
    return value
