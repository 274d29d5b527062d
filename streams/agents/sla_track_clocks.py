"""Agent: ticket events → SLA clocks (table ``sla``, ticket id → SlaState) → Sla* events on
support.sla.events.v1, and the ticket's next deadline in the due-time index (table ``sla_due``).
Both tables are co-partitioned with support.tickets.events.v1 (key = ticket id)."""

from __future__ import annotations

from typing import Any

from streams.agents.sla_update_policies import sla_policies
from streams.app import app, sla_events_topic, ticket_commands_topic, ticket_events_topic
from streams.domain.sla.clock import next_due, on_event
from streams.runtime import decode_or_park, load, send, store, table
from streams.sla import metrics, policies
from streams.sla.index import DueIndex

sla = table("sla", "ticket id → SlaState (SLA clocks and their deadlines)")
sla_due = table("sla_due", "due-time index: b:<partition>:<second> → ticket ids; c:<partition>")


@app.agent(ticket_events_topic, concurrency=1)
async def track_sla_clocks(stream: Any) -> None:
    index = DueIndex(sla_due)
    async for event in stream.events():
        record = await decode_or_park(event)
        ticket_id = getattr(record, "ticket_id", None)
        if record is None or ticket_id is None:
            continue
        before = load(sla, ticket_id, None)
        outcome = on_event(before, record, policies.current(sla_policies))
        if outcome.state is None or (outcome.state is before and not outcome.events):
            continue
        store(sla, ticket_id, outcome.state)
        due = next_due(outcome.state)
        if due is not None and due != next_due(before):
            index.add(event.message.partition, ticket_id, due)
        metrics.count_transition(before, outcome.state, outcome.events)
        for e in outcome.events:
            await send(sla_events_topic, ticket_id, e)
        for c in outcome.commands:
            await send(ticket_commands_topic, ticket_id, c)
