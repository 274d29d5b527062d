"""A ticket's history (read API): the lines kept beside its state in the ``tickets`` table
(``ticket_history`` for values written before 2026-12-07; see
``streams.agents.handle_ticket_commands``) and their summaries (small, JSON-ready dicts).

A line is stored as ``(event id, version, the event's Avro bytes)`` — the bytes the worker
sends anyway — and summarised only when read: summarising every event on the write path
(isoformat, a dict per event, pickling the dicts) was about a tenth of the worker's CPU per
channel message. Lines stored as summary dicts by earlier versions are read as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from schemas import codec

SKIP = {"envelope", "ticket_id", "attachments", "reply_context"}

Line = tuple[str, int, bytes] | dict[str, Any]


def line(event: Any, encoded: bytes) -> tuple[str, int, bytes]:
    """The history line of ``event`` whose Avro encoding is ``encoded``."""
    env = event.envelope
    return (env.event_id, env.aggregate_version, encoded)


def line_id(entry: Line) -> str:
    """The event id of a history line (either form)."""
    return entry[0] if isinstance(entry, tuple) else str(entry["event_id"])


def line_version(entry: Line) -> int:
    """The aggregate version of a history line (either form)."""
    return entry[1] if isinstance(entry, tuple) else int(entry["version"])


def summaries(lines: Iterable[Line]) -> list[dict[str, Any]]:
    """The summaries of ``lines`` (read API), oldest first. Raises SchemaDecodeError if a stored
    event no longer decodes (it was written by this build's schemas or a released one)."""
    return [summarize(codec.decode(e[2])) if isinstance(e, tuple) else e for e in lines]


def summarize(event: Any) -> dict[str, Any]:
    env = event.envelope
    fields = {
        k: (v.value if hasattr(v, "value") else v)
        for k in event.__dataclass_fields__
        if k not in SKIP and (v := getattr(event, k)) is not None and v != ()
    }
    for k, v in list(fields.items()):
        if hasattr(v, "isoformat"):
            fields[k] = v.isoformat()
        elif isinstance(v, tuple):
            fields[k] = list(v)
    return {
        "type": type(event).__name__,
        "event_id": env.event_id,
        "version": env.aggregate_version,
        "occurred_at": env.occurred_at.isoformat(),
        "actor": f"{env.actor.kind.value}:{env.actor.id}",
        "causation_id": env.causation_id,
        **fields,
    }
