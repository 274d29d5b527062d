"""Agent: ticket commands → ticket events, through the ticket table.

Tables ``tickets`` (ticket id → TicketState) and ``ticket_history`` (ticket id → list of event
summaries), co-partitioned with support.tickets.commands.v1 (key = ticket id). Events go to
support.tickets.events.v1 keyed by ticket id; commands for other tickets (follow-up, merge
source) back to the commands topic keyed by their ticket id.
"""

from __future__ import annotations

from typing import Any

from schemas.records import COMMAND_TYPES, MergeTickets, TicketOpened
from streams import metrics
from streams.app import app, ticket_commands_topic, ticket_events_topic
from streams.domain.tickets import TicketState, evolve, handle
from streams.history import summarize
from streams.runtime import decode_or_park, load, now, park, send, store, table

tickets = table("tickets", "ticket id → TicketState")
ticket_history = table("ticket_history", "ticket id → list of event summaries (newest last)")
HISTORY_LIMIT = 500
TICKET_COMMANDS = tuple(c for c in COMMAND_TYPES if "ticket_id" in c.__dataclass_fields__)


class MisroutedCommand(Exception):
    """A command on a partition other than its ticket's (produced with the wrong key)."""


@app.agent(ticket_commands_topic, concurrency=1)
async def handle_ticket_commands(stream: Any) -> None:
    async for event in stream.events():
        try:
            await _handle(event)
        except Exception as exc:  # a bug or bad data: park the record, keep the worker up
            await park(event, exc)


async def _handle(event: Any) -> None:
    command = await decode_or_park(event, TICKET_COMMANDS)
    if command is None:
        return
    key = event.message.key.decode() if event.message.key else None
    ticket_id = key if isinstance(command, MergeTickets) and key else command.ticket_id
    if key != ticket_id:
        await park(event, MisroutedCommand(f"keyed {key!r}, expected ticket id {ticket_id!r}"))
        return
    state = load(tickets, ticket_id, TicketState(ticket_id))
    outcome = handle(state, command, now())
    kind = type(command).__name__
    if outcome.duplicate:  # replayed: send its events again (same ids), change nothing
        metrics.COMMANDS_DUPLICATE.labels(kind).inc()
        for ev in outcome.replayed:
            await send(ticket_events_topic, ticket_id, ev)
        return
    history = load(ticket_history, ticket_id, [])
    for ev in outcome.events:
        state = evolve(state, ev)
        history.append(summarize(ev))
        if isinstance(ev, TicketOpened):
            metrics.TICKETS_OPENED.labels(ev.channel.value).inc()
    if outcome.rejection is not None:
        state = evolve(state, outcome.rejection)
        history.append(summarize(outcome.rejection))
        metrics.COMMANDS_REJECTED.labels(kind, outcome.rejection.reason_code).inc()
    else:
        metrics.COMMANDS_ACCEPTED.labels(kind).inc()
    store(tickets, ticket_id, state)
    if outcome.events or outcome.rejection is not None:
        store(ticket_history, ticket_id, history[-HISTORY_LIMIT:])
    for ev in (*outcome.events, *([outcome.rejection] if outcome.rejection else [])):
        await send(ticket_events_topic, ticket_id, ev)
    for other in outcome.commands:
        target = other.source_ticket_id if isinstance(other, MergeTickets) else other.ticket_id
        await send(ticket_commands_topic, target, other)
