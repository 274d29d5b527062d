"""Agent: the router. Reads the routing feed (one partition: the one global view of agents and
waiting tickets), keeps table ``routing`` (one key), sends ``AssignTicket`` commands.

Assignment command ids derive from the triggering event and the ticket, so a replay after a
crash sends the same commands (the ticket drops the duplicate)."""

from __future__ import annotations

from typing import Any

from schemas.records import Actor, ActorKind, AssignTicket, CommandHeader
from streams import metrics
from streams.app import app, routing_feed_topic, streams_settings, ticket_commands_topic
from streams.domain.ids import derive_id
from streams.domain.router import on_event
from streams.domain.routing import ReassignPolicy, RoutingState, Strategy
from streams.runtime import decode_or_park, load, now, park, send, store, table

routing = table("routing", "the router's state (key 'routing')", partitions=1)
ROUTING_KEY = "routing"
ROUTER = Actor(ActorKind.SYSTEM, "router")
POLICY = ReassignPolicy(
    on_offline=streams_settings.streams_reassign_on_offline,
    on_away=streams_settings.streams_reassign_on_away,
)
STRATEGY = Strategy(streams_settings.streams_routing_strategy)
_queue_labels: set[tuple[str, str]] = set()


@app.agent(routing_feed_topic, concurrency=1)
async def route_tickets(stream: Any) -> None:
    async for event in stream.events():
        try:
            await _handle(event)
        except Exception as exc:  # a bug or bad data: park the record, keep the worker up
            await park(event, exc)


async def _handle(event: Any) -> None:
    record = await decode_or_park(event)
    if record is None:
        return
    state = load(routing, ROUTING_KEY, RoutingState())
    waiting = {w.ticket_id: w for w in state.waiting}
    state, assignments = on_event(state, record, POLICY, STRATEGY)
    store(routing, ROUTING_KEY, state)
    at = now()
    for a in assignments:
        cid = derive_id(record.envelope.event_id, a.ticket_id, "route", a.agent_id)
        header = CommandHeader(
            cid, at, a.ticket_id, record.envelope.correlation_id, ROUTER,
            record.envelope.tenant_id,
        )  # fmt: skip
        await send(
            ticket_commands_topic,
            a.ticket_id,
            AssignTicket(header, a.ticket_id, a.agent_id, a.reason),
        )
        since = waiting[a.ticket_id].since if a.ticket_id in waiting else None
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
