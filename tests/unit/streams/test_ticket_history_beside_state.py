"""A ticket's history lines are kept in its ``tickets`` value, beside its state (one record per
ticket and batch); tickets written before that (a bare state, the lines in ``ticket_history``)
still read, and move their lines over on their next write."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import pytest

import streams.app  # noqa: F401  (first: it imports the agents, which import streams.runtime)
from streams import runtime
from streams.agents import handle_ticket_commands as htc
from streams.agents import thread_channel_messages as tcm
from streams.domain.tickets import TicketState
from streams.history import summaries
from streams.statecodec import dumps
from streams.testing import TableStub, channel_messages, encoded, handle_batch


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TableStub, TableStub]]:
    tickets, history = TableStub("tickets"), TableStub("ticket_history")
    monkeypatch.setattr(tcm, "conversations", TableStub("conversations"))
    monkeypatch.setattr(htc, "tickets", tickets)
    monkeypatch.setattr(htc, "ticket_history", history)
    runtime._STATE_CACHE.clear()
    yield tickets, history
    runtime._STATE_CACHE.clear()


def run(messages: list[Any], start: int = 0) -> None:
    """The messages through the threading agent's handler, one batch, stored as it commits."""
    handle_batch(tcm._handle, encoded(messages), start)


def test_a_ticket_value_holds_its_state_and_history_lines(
    tables: tuple[TableStub, TableStub],
) -> None:
    tickets, history = tables
    messages = channel_messages(1, 3)
    run(messages)
    (key,) = tickets.data
    state, lines = pickle.loads(tickets.data[key])
    assert isinstance(state, TicketState) and state.message_count == 3
    assert [s["type"] for s in summaries(lines)] == [
        "TicketOpened",
        *["CustomerMessageAppended"] * 3,
    ]
    assert [line[1] for line in lines] == [1, 2, 3, 4] == list(range(1, state.version + 1))
    assert history.data == {}  # nothing written to the old table
    assert htc.ticket_value(tickets.data[key], lambda: pytest.fail("read the old table")) == (
        state,
        list(lines),
    )


def test_a_ticket_written_before_the_move_reads_and_moves_its_lines(
    tables: tuple[TableStub, TableStub],
) -> None:
    tickets, history = tables
    messages = channel_messages(1, 3)
    run(messages[:2])
    (key,) = tickets.data
    state, lines = pickle.loads(tickets.data[key])
    # as an earlier version stored it: a bare state, its lines in ticket_history
    tickets.data[key], history.data[key] = dumps(state), dumps(list(lines))
    runtime._STATE_CACHE.clear()
    assert htc.ticket_value(tickets.data[key], lambda: history.data[key]) == (state, list(lines))
    assert htc.ticket_value(tickets.data[key], lambda: None) == (state, [])

    run(messages[2:], start=2)
    moved_state, moved = pickle.loads(tickets.data[key])
    assert moved_state.message_count == 3
    assert moved[:3] == list(lines) and len(moved) == 4
    # the same value a ticket never stored the old way has after the same messages
    runtime._STATE_CACHE.clear()
    tickets.data.clear()
    tcm.conversations.data.clear()  # type: ignore[attr-defined]
    run(messages)
    fresh_state, fresh = pickle.loads(tickets.data[key])
    assert [x[:2] for x in fresh] == [x[:2] for x in moved]
    assert summaries(fresh) == summaries(moved)
    assert fresh_state.message_count == moved_state.message_count
