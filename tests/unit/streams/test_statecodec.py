"""Table values pickled with the fast reducers come back equal, and old pickles still load."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

from schemas.records import Channel, TicketStatus
from streams.domain.threading import ConversationState, thread
from streams.domain.tickets import TicketState, evolve, handle
from streams.statecodec import dumps
from streams.testing import channel_messages


def built_ticket() -> tuple[ConversationState, TicketState]:
    conv = ConversationState("line:acct-line:conv-0")
    ticket: TicketState | None = None
    for message in channel_messages(1, 3):
        conv, commands = thread(conv, message)
        for command in commands:
            ticket = ticket or TicketState(command.ticket_id)
            for event in handle(ticket, command, datetime(2026, 11, 23, tzinfo=UTC)).events:
                ticket = evolve(ticket, event)
    assert ticket is not None and ticket.recent_outcomes  # nested records inside
    return conv, ticket


def test_states_and_records_round_trip() -> None:
    conv, ticket = built_ticket()
    value = (conv, ticket, [{"type": "x"}], Channel.LINE, TicketStatus.NEW)
    assert pickle.loads(dumps(value)) == value


def test_states_pickled_the_default_way_still_load() -> None:
    _, ticket = built_ticket()
    assert pickle.loads(pickle.dumps(ticket, protocol=5)) == ticket
    assert pickle.loads(dumps(ticket)) == pickle.loads(pickle.dumps(ticket, protocol=5))
