"""One line of a ticket's history (read API) from an event: small, JSON-ready."""

from __future__ import annotations

from typing import Any

SKIP = {"envelope", "ticket_id", "attachments", "reply_context"}


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
