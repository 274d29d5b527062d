"""Agent: the router. Reads the routing feed (one partition: the one global view of agents and
waiting tickets), keeps table ``routing`` (one key), sends ``AssignTicket`` commands.

Assignment command ids derive from the triggering event and the ticket, so a replay after a
crash sends the same commands (the ticket drops the duplicate)."""

from __future__ import annotations

import logging
import weakref
from typing import Any

from faust.streams import _current_event

from schemas import codec
from schemas.codec import SchemaDecodeError
from schemas.records import Actor, ActorKind, AssignTicket, CommandHeader
from streams import metrics
from streams.app import app, routing_feed_topic, settings, streams_settings, ticket_commands_topic
from streams.domain.ids import derive_id
from streams.domain.router import on_events
from streams.domain.routing import ReassignPolicy, RoutingState, Strategy
from streams.runtime import load, now, send, store, table

log = logging.getLogger(__name__)
routing = table(
    "routing",
    "the router's state (key 'routing')",
    partitions=1,
)
ROUTING_KEY = "routing"
ROUTER = Actor(ActorKind.SYSTEM, "router")
POLICY = ReassignPolicy(
    on_offline=streams_settings.streams_reassign_on_offline,
    on_away=streams_settings.streams_reassign_on_away,
)
STRATEGY = Strategy(streams_settings.streams_routing_strategy)
_queue_labels: set[tuple[str, str]] = set()


BATCH = 500  # feed records per state load/store: the state is one value (changelog writes)


@app.agent(routing_feed_topic, concurrency=1)
async def route_tickets(stream: Any) -> None:
    async for events in stream.take_events(BATCH, within=0.2):
        # take_events runs outside the per-event context Faust's table writes need: make the
        # batch's last event current (one partition, so every event has the same one).
        _current_event.set(weakref.ref(events[-1]))
        try:
            await _handle([e.value for e in events])
        except Exception:  # a bug: count it and keep routing (the feed was decoded upstream)
            log.exception("router failed on a batch of %d feed records", len(events))
            metrics.DEAD_LETTERS.labels(routing_feed_topic.get_topic_name()).inc(len(events))


async def _handle(values: list[bytes]) -> None:
    records = []
    for value in values:
        try:
            records.append(codec.decode(value))
        except SchemaDecodeError:
            log.warning("routing feed: skipped an undecodable record")
            metrics.DEAD_LETTERS.labels(routing_feed_topic.get_topic_name()).inc()
    state = load(routing, ROUTING_KEY, RoutingState())
    waiting = {w.ticket_id: w for w in state.waiting}
    state, assignments = on_events(state, records, POLICY, STRATEGY)
    store(routing, ROUTING_KEY, state)
    at = now()
    for a in assignments:
        since = waiting[a.ticket_id].since if a.ticket_id in waiting else None
        # derived from what was assigned, not from batch boundaries: a replay sends the same id
        cid = derive_id(a.ticket_id, "route", a.agent_id, a.reason, since)
        header = CommandHeader(cid, at, a.ticket_id, cid, ROUTER, settings.tenant_id)
        await send(
            ticket_commands_topic,
            a.ticket_id,
            AssignTicket(header, a.ticket_id, a.agent_id, a.reason),
        )
        if since is not None:
            metrics.ASSIGNMENT_LATENCY.observe(max(0.0, (at - since).total_seconds()))
    _set_queue_gauges(state)


def _set_queue_gauges(state: RoutingState) -> None:
    counts: dict[tuple[str, str], int] = {}
    for w in state.waiting:
        label = (w.group or "none", w.priority.value)
        counts[label] = counts.get(label, 0) + 1
    for label in _queue_labels - counts.keys():
        metrics.QUEUE_LENGTH.labels(*label).set(0)
    for label, n in counts.items():
        metrics.QUEUE_LENGTH.labels(*label).set(n)
    _queue_labels.update(counts)
