"""Agent: the router. Reads the routing feed (one partition: the one global view of agents and
waiting tickets) and sends ``AssignTicket`` commands.

Table ``routing`` (one partition) holds one row per agent (``agent/<id>``), one per ticket
routing knows (``ticket/<id>``) and the round-robin cursor (``cursor``): a batch writes only
the rows it changed, and no value grows with the number of open tickets. Decisions run on an
in-memory ``RoutingState`` rebuilt from the table whenever its partition is (re)assigned here
(``on_recover``) — or lazily before the first batch, whichever comes first.

Assignment command ids derive from (ticket, agent, reason, waiting-since), so a replay after a
crash sends the same commands (the ticket drops the duplicate); assignments the ticket has not
recorded yet are re-sent with the same ids when the state is rebuilt.
"""

from __future__ import annotations

import logging
import pickle
import time
import weakref
from datetime import datetime
from typing import Any

from faust.streams import _current_event
from faust.types import TP

from schemas import codec
from schemas.codec import SchemaDecodeError
from schemas.records import Actor, ActorKind, AssignTicket, CommandHeader
from streams import metrics
from streams.app import app, routing_feed_topic, settings, streams_settings, ticket_commands_topic
from streams.domain.ids import derive_id
from streams.domain.router import on_events
from streams.domain.routing import Assignment, ReassignPolicy, RoutingState, Strategy
from streams.runtime import BatchStats, now, table

log = logging.getLogger(__name__)
routing = table(
    "routing",
    "the router's rows: agent/<id>, ticket/<id>, cursor (one partition)",
    partitions=1,
)
ROUTING_KEY = "cursor"  # any key: the table has one partition (table_route finds its owner)
LEGACY_KEY = b"routing"  # the old single-value state (before rows); ignored
ROUTER = Actor(ActorKind.SYSTEM, "router")
POLICY = ReassignPolicy(
    on_offline=streams_settings.streams_reassign_on_offline,
    on_away=streams_settings.streams_reassign_on_away,
)
STRATEGY = Strategy(streams_settings.streams_routing_strategy)
BATCH = 500  # feed records per dispatch pass
STATS = BatchStats("route_tickets")  # batch sizes and where a batch's time goes, every 15 s
_queue_labels: set[tuple[str, str]] = set()
_view: RoutingState | None = None


def router_state() -> RoutingState:
    """The in-memory routing state (rebuilt from the table if it is not built yet)."""
    global _view
    if _view is None:
        _view = rebuild()
    return _view


def rebuild() -> RoutingState:
    """The routing state read back from this worker's rows of table ``routing``."""
    rows = []
    for key, raw in routing.items():
        if key == LEGACY_KEY:
            log.warning("routing: ignoring the legacy single-value row %r", key)
            continue
        rows.append((key.decode(), pickle.loads(raw)))
    state = RoutingState.from_rows(rows)
    log.info(
        "routing state rebuilt: %d agents, %d tickets (%d waiting)",
        len(state.agents),
        len(state.tickets),
        state.waiting_count,
    )
    return state


def _owns_router() -> bool:
    return TP(routing.changelog_topic.get_topic_name(), 0) in app.assignor.assigned_actives()


@routing.on_recover
async def _on_recovered() -> None:
    """After every rebalance: rebuild the view if the router's partition is ours (it may have
    changed while another worker had it), and re-send what the ticket has not recorded."""
    global _view
    try:
        if not _owns_router():
            _view = None
            return
        _view = rebuild()
        for a in _view.unconfirmed():  # re-sent at the time its ticket began waiting: no clock
            await _send([a], a.since or now(), observe=False)
    except Exception:  # Faust drops a callback's exception silently: say it, rebuild lazily
        log.exception("routing: rebuilding the state after recovery failed")
        _view = None


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
    started, started_cpu = time.monotonic(), time.process_time()
    state = router_state()
    # decide and save the changed rows with no await in between: a rebuild cannot interleave
    assignments = on_events(state, records, POLICY, STRATEGY)
    decided = time.monotonic()
    for key, row in state.take_changes():
        if row is None:
            routing.pop(key.encode(), None)
        else:
            routing[key.encode()] = pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL)
    saved = time.monotonic()
    # event time, not the wall clock: a simulated or replayed feed assigns at the time of the
    # events that caused it (the latest in the batch), so the ticket's history stays in its timeline
    times = [r.envelope.occurred_at for r in records if hasattr(r, "envelope")]
    await _send(assignments, max(times) if times else now(), observe=True)
    _set_queue_gauges(state)
    sent = time.monotonic()
    STATS.add(len(values), started, started_cpu, decided - started, sent - saved, saved - decided)


async def _send(assignments: list[Assignment], at: datetime, *, observe: bool) -> None:
    for a in assignments:
        # derived from what was assigned, not from batch boundaries: a replay sends the same id
        cid = derive_id(a.ticket_id, "route", a.agent_id, a.reason, a.since)
        header = CommandHeader(cid, at, a.ticket_id, cid, ROUTER, settings.tenant_id)
        command = AssignTicket(header, a.ticket_id, a.agent_id, a.reason)
        await ticket_commands_topic.send(key=a.ticket_id.encode(), value=codec.encode(command))
        if observe and a.since is not None:
            metrics.ASSIGNMENT_LATENCY.observe(max(0.0, (at - a.since).total_seconds()))


def _set_queue_gauges(state: RoutingState) -> None:
    counts: dict[tuple[str, str], int] = {}
    for (group, priority), n in state.waiting_counts().items():  # kept by the state: no scan
        label = (group or "none", priority.value)
        counts[label] = counts.get(label, 0) + n
    for label in _queue_labels - counts.keys():
        metrics.QUEUE_LENGTH.labels(*label).set(0)
    for label, n in counts.items():
        metrics.QUEUE_LENGTH.labels(*label).set(n)
    _queue_labels.update(counts)
