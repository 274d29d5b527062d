"""Agent: ticket commands → ticket events, through the ticket table.

Table ``tickets`` (ticket id → ``(TicketState, history lines)``, ``streams.history``, newest
last), co-partitioned with support.tickets.commands.v1 (key = ticket id). The history is kept
beside the state, in the same record: one changelog record, store write and pickle per ticket
and batch instead of two, and a kill -9 can no longer save one without the other. Values
written by earlier versions (until 2026-12-07) are a bare TicketState, their history in the
``ticket_history`` table (read only since: ``load_ticket``); the next write of such a ticket
moves its history into its ``tickets`` value. Events go to
support.tickets.events.v1 keyed by ticket id; commands for other tickets (follow-up, merge
source) back to the commands topic keyed by their ticket id — or, when the other ticket lives in
this partition (a follow-up is placed next to its closed ticket), applied here directly.

``apply_command`` is also what ``thread_channel_messages`` calls for the tickets of a
conversation (they live in the conversation's partition). Records are handled in batches
(``UnitOfWork``): each table key is written once per batch, after the batch's events are acked.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import faust

from schemas.records import COMMAND_TYPES, MergeTickets, TicketOpened
from streams import metrics
from streams.app import app, ticket_commands_topic, ticket_events_topic
from streams.domain.threading import Lands
from streams.domain.tickets import TicketState, evolve, handle
from streams.history import Line, line, line_id, line_version
from streams.runtime import (
    BatchStats,
    UnitOfWork,
    count,
    decode_record,
    encode,
    in_batches,
    now_ms,
    partition_of,
    table,
)
from streams.statecodec import remember_encoding

tickets = table("tickets", "ticket id → (TicketState, history lines: streams.history, newest last)")
# read only: the history of tickets last written before it moved into ``tickets`` (see above)
ticket_history = table("ticket_history", "ticket id → history lines (before 2026-12-07)")
HISTORY_LIMIT = 500
TICKET_COMMANDS = tuple(
    c for c in COMMAND_TYPES if any(f.name == "ticket_id" for f in dataclasses.fields(c))
)
BATCH, WITHIN = 2000, 0.2  # records per batch, seconds to wait for a full one (see runtime)
STATS = BatchStats("handle_ticket_commands")


class MisroutedCommand(Exception):
    """A command on a partition other than its ticket's (produced with the wrong key)."""


@app.agent(ticket_commands_topic, concurrency=1)
async def handle_ticket_commands(stream: Any) -> None:
    await in_batches(stream, _handle, STATS, size=BATCH, within=WITHIN)


def _handle(uow: UnitOfWork, event: faust.EventT[Any]) -> None:
    command = decode_record(event, TICKET_COMMANDS)
    key = event.message.key.decode() if event.message.key else None
    ticket_id = key if isinstance(command, MergeTickets) and key else command.ticket_id
    if key != ticket_id:
        raise MisroutedCommand(f"keyed {key!r}, expected ticket id {ticket_id!r}")
    apply_commands(uow, event, [(ticket_id, command)])


def local_to(event: faust.EventT[Any]) -> Lands:
    """Whether a ticket id is stored in ``event``'s partition (tables are co-partitioned)."""
    here = event.message.partition
    return lambda ticket_id: partition_of(ticket_id) == here


def apply_commands(
    uow: UnitOfWork, event: faust.EventT[Any], commands: list[tuple[str, Any]]
) -> None:
    """Apply ``(ticket id, command)`` pairs to tickets of ``event``'s partition, and the commands
    they produce for other tickets: in this partition directly, elsewhere via the commands topic
    (keyed by the target ticket). Merges always go through the topic (checked on the source)."""
    lands = local_to(event)
    queue = deque(commands)
    while queue:
        ticket_id, command = queue.popleft()
        if not lands(ticket_id):
            uow.send(ticket_commands_topic, ticket_id, command)
            continue
        for other in _apply(uow, event, ticket_id, command, lands):
            if isinstance(other, MergeTickets):
                uow.send(ticket_commands_topic, other.source_ticket_id, other)
            else:
                queue.append((other.ticket_id, other))


def load_ticket(
    uow: UnitOfWork, ticket_id: str, event: faust.EventT[Any]
) -> tuple[TicketState | None, Sequence[Line]]:
    """The ticket's state (None: never written) and history lines (oldest first; not to be
    mutated), from its ``tickets`` value — or, for a value written before the history moved
    there (a bare TicketState), from ``ticket_history``."""
    entry = uow.load(tickets, ticket_id, None, event)
    if entry is None:
        return None, ()
    if type(entry) is tuple:
        return entry[0], entry[1]
    return entry, uow.load(ticket_history, ticket_id, [], event)


def ticket_value(
    raw_ticket: bytes, raw_history: Callable[[], bytes | None]
) -> tuple[TicketState, list[Line]]:
    """The state and history lines of a ticket from its stored ``tickets`` value (read API);
    ``raw_history`` gives its ``ticket_history`` value (None: none), read only for a value
    written before the history moved (a bare TicketState)."""
    entry = pickle.loads(raw_ticket)
    if type(entry) is tuple:
        return entry[0], list(entry[1])
    legacy = raw_history()
    return entry, pickle.loads(legacy) if legacy is not None else []


def _apply(
    uow: UnitOfWork, event: faust.EventT[Any], ticket_id: str, command: Any, lands: Lands
) -> tuple[Any, ...]:
    state, history = load_ticket(uow, ticket_id, event)
    if state is None:  # built only when missing: a 33-field frozen state costs ~8 µs to make
        state = TicketState(ticket_id)
    outcome = handle(state, command, now_ms(), lands)
    kind = type(command).__name__
    if outcome.duplicate:  # replayed: send its events again (same ids), change nothing
        count(metrics.COMMANDS_DUPLICATE, kind)
        replayed = [(ev, encode(ev)) for ev in outcome.replayed]
        for _, raw in replayed:
            uow.send_encoded(ticket_events_topic, ticket_id, raw)
        _repair_history(uow, event, ticket_id, state, history, replayed)
        return ()
    events = (*outcome.events, *([outcome.rejection] if outcome.rejection else []))
    if events:
        # copied: a dropped record must not leave its lines in a list this batch already holds
        lines = list(history)
        # a kill -9 may have saved the history but not the ticket (when they were two values):
        # skip lines already listed (only an event not newer than the last line can be one)
        last = line_version(lines[-1]) if lines else 0
        known = {line_id(h) for h in lines} if events[0].envelope.aggregate_version <= last else ()
        for ev in events:
            state = evolve(state, ev)
            raw = encode(ev)
            remember_encoding(ev, raw)  # the state keeps ``ev``: pickled as these bytes
            uow.send_encoded(ticket_events_topic, ticket_id, raw)
            if ev.envelope.event_id not in known:
                lines.append(line(ev, raw))
            if type(ev) is TicketOpened:
                count(metrics.TICKETS_OPENED, ev.channel.value)
        if len(lines) > HISTORY_LIMIT:
            del lines[:-HISTORY_LIMIT]
        history = lines
    if outcome.rejection is not None:
        count(metrics.COMMANDS_REJECTED, kind, outcome.rejection.reason_code)
    else:
        count(metrics.COMMANDS_ACCEPTED, kind)
    uow.store(tickets, ticket_id, (state, history), event)
    return outcome.commands


def _repair_history(
    uow: UnitOfWork,
    event: faust.EventT[Any],
    ticket_id: str,
    state: TicketState,
    history: Sequence[Line],
    replayed: list[tuple[Any, bytes]],
) -> None:
    """A ticket saved without some of its history lines (a kill -9 between the two values'
    writes when they were kept apart): a replayed command puts the lines it lacks back, in
    version order (same event ids, so nothing is listed twice)."""
    known = {line_id(h) for h in history}
    missing = [line(ev, raw) for ev, raw in replayed if ev.envelope.event_id not in known]
    if missing:
        merged = sorted([*history, *missing], key=line_version)
        uow.store(tickets, ticket_id, (state, merged[-HISTORY_LIMIT:]), event)
