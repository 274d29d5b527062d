"""Agent: ticket events → SLA clocks (table ``sla``, ticket id → SlaState) → Sla* events on
support.sla.events.v1, and the ticket's next deadline in the due-time index (same table).
Co-partitioned with support.tickets.events.v1 (key = ticket id).

Write order makes a crash lose nothing: events are acknowledged by the broker, then the index
entry, then the state (one changelog partition keeps those two in order). A crash before the
state is saved re-processes the ticket event and re-emits the same event ids."""

from __future__ import annotations

import asyncio
from typing import Any

from schemas import codec
from streams.agents.sla_update_policies import sla_policies
from streams.app import app, sla_events_topic, ticket_commands_topic, ticket_events_topic
from streams.domain.sla.clock import next_due, on_event
from streams.runtime import decode_or_park, load, store, table
from streams.sla import metrics, policies
from streams.sla.index import DueIndex

# One table for states and the due-time index: one changelog partition keeps their writes in
# order, which is what makes a kill -9 lose no timer (see streams/sla/index.py).
sla = table("sla", "ticket id → SlaState; NUL-prefixed keys: the due-time index")


async def send_all(ticket_id: str, events: Any, commands: Any) -> list[Any]:
    """Queue SLA events and ticket commands keyed by ticket id; returns the delivery futures
    (await them before writing anything that assumes the records are on the broker)."""
    key = ticket_id.encode()
    futures = [await sla_events_topic.send(key=key, value=codec.encode(e)) for e in events]
    futures += [await ticket_commands_topic.send(key=key, value=codec.encode(c)) for c in commands]
    return futures


async def emit(ticket_id: str, events: Any, commands: Any) -> None:
    """Send SLA events and ticket commands keyed by ticket id; wait for the broker's acks."""
    futures = await send_all(ticket_id, events, commands)
    if futures:
        await asyncio.gather(*futures)


@app.agent(ticket_events_topic, concurrency=1)
async def track_sla_clocks(stream: Any) -> None:
    index = DueIndex(sla)
    async for event in stream.events():
        record = await decode_or_park(event)
        ticket_id = getattr(record, "ticket_id", None)
        if record is None or ticket_id is None:
            continue
        before = load(sla, ticket_id, None)
        outcome = on_event(before, record, policies.current(sla_policies))
        if outcome.state is None or (outcome.state is before and not outcome.events):
            continue
        await emit(ticket_id, outcome.events, outcome.commands)
        due = next_due(outcome.state)
        if due is not None and due != next_due(before):
            index.add(event.message.partition, ticket_id, due)
        store(sla, ticket_id, outcome.state)
        metrics.count_transition(before, outcome.state, outcome.events)
