"""Agent: ticket events → SLA clocks (table ``sla``, ticket id → SlaState) → Sla* events on
support.sla.events.v1, and the ticket's next deadline in the due-time index (same table).
Co-partitioned with support.tickets.events.v1 (key = ticket id).

Write order makes a crash lose nothing: events are acknowledged by the broker, then the index
entry, then the state (one changelog partition keeps those two in order). A crash before the
state is saved re-processes the ticket event and re-emits the same event ids.

Ticket events are handled in batches: one wait for the acks of a whole batch instead of one per
ticket event (that wait capped the agent at ~30–150 events/s, and with it the pipeline), then the
index entries and states in the batch's order. ``SLA_STATE_LOCK`` keeps the tick agent
(``sla_fire_timers``) from reading a state this batch has decided but not yet saved."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from typing import Any

from faust.streams import _current_event

from schemas import codec
from streams.agents.sla_update_policies import sla_policies
from streams.app import sla_events_topic, ticket_commands_topic, ticket_events_topic
from streams.domain.sla.clock import next_due, on_event
from streams.fanout import on_batches
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


BATCH, WITHIN = 500, 0.05  # ticket events per batch, seconds to wait for a full one
SLA_STATE_LOCK = asyncio.Lock()  # one writer of the sla table at a time (this agent, the ticks)


async def track_sla_clocks(events: Sequence[Any]) -> None:
    async with SLA_STATE_LOCK:
        await _handle(_INDEX, events)


_INDEX = DueIndex(sla)
# the topic's one agent (streams.fanout) also runs forward_routing_feed on these batches
on_batches(ticket_events_topic, "track_sla_clocks", track_sla_clocks, size=BATCH, within=WITHIN)


async def _handle(index: DueIndex, events: Sequence[Any]) -> None:
    decided: dict[str, Any] = {}  # ticket id → state decided in this batch, not yet saved
    saves = []
    futures: list[Any] = []
    for event in events:
        # batches run outside Faust's per-event context: table reads/writes and dead letters
        # must name the record they are for (its partition)
        _current_event.set(weakref.ref(event))
        record = await decode_or_park(event)
        ticket_id = getattr(record, "ticket_id", None)
        if record is None or ticket_id is None:
            continue
        before = decided[ticket_id] if ticket_id in decided else load(sla, ticket_id, None)
        outcome = on_event(before, record, policies.current(sla_policies))
        if outcome.state is None or (outcome.state is before and not outcome.events):
            continue
        futures += await send_all(ticket_id, outcome.events, outcome.commands)
        decided[ticket_id] = outcome.state
        saves.append((event, ticket_id, before, outcome))
    if futures:
        await asyncio.gather(*futures)
    for event, ticket_id, before, outcome in saves:
        _current_event.set(weakref.ref(event))
        due = next_due(outcome.state)
        if due is not None and due != next_due(before):
            index.add(event.message.partition, ticket_id, due)
        store(sla, ticket_id, outcome.state)
        metrics.count_transition(before, outcome.state, outcome.events)
