"""History lines are stored as the events' Avro bytes and summarised when read: the summaries
are the ones the worker used to store, and lines stored the old way still read."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas import codec
from streams.domain.threading import ConversationState, thread
from streams.domain.tickets import TicketState, evolve, handle
from streams.history import line, line_id, line_version, summaries, summarize
from streams.testing import channel_messages


def ticket_events() -> list[object]:
    conv = ConversationState("line:acct-line:conv-0")
    ticket: TicketState | None = None
    events: list[object] = []
    for message in channel_messages(1, 2):
        conv, commands = thread(conv, message)
        for command in commands:
            ticket = ticket or TicketState(command.ticket_id)
            for event in handle(ticket, command, datetime(2026, 11, 23, tzinfo=UTC)).events:
                ticket = evolve(ticket, event)
                events.append(event)
    return events


def test_lines_read_back_as_the_summaries_of_their_events() -> None:
    events = ticket_events()
    lines = [line(ev, codec.encode(ev)) for ev in events]
    assert summaries(lines) == [summarize(ev) for ev in events]
    assert [s["type"] for s in summaries(lines)] == [
        "TicketOpened",
        "CustomerMessageAppended",
        "CustomerMessageAppended",
    ]
    assert [line_version(x) for x in lines] == [1, 2, 3]


def test_summary_lines_of_earlier_versions_still_read() -> None:
    events = ticket_events()
    old = [summarize(ev) for ev in events[:2]]
    new = [line(events[2], codec.encode(events[2]))]
    mixed = [*old, *new]
    assert summaries(mixed) == [summarize(ev) for ev in events]
    assert [line_id(x) for x in mixed] == [ev.envelope.event_id for ev in events]  # type: ignore[attr-defined]
    assert [line_version(x) for x in mixed] == [1, 2, 3]
