"""A conversation is written by its first message only: appended messages leave it as it is
(the ticket counts and deduplicates them), on the fused path and on the general one; a
redelivered message is not counted as threaded again on either."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import streams.app  # noqa: F401  (first: it imports the agents, which import streams.runtime)
from streams import fused, metrics, runtime
from streams.agents import handle_ticket_commands as htc
from streams.agents import thread_channel_messages as tcm
from streams.domain.threading import ConversationState
from streams.testing import TableStub, channel_messages, encoded, handle_batch

Handler = Callable[[runtime.UnitOfWork, Any], None]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, ...]]]:
    """Fresh tables; the counts the agents make, as (metric name, labels...)."""
    monkeypatch.setattr(tcm, "conversations", TableStub("conversations"))
    monkeypatch.setattr(htc, "tickets", TableStub("tickets"))
    monkeypatch.setattr(htc, "ticket_history", TableStub("ticket_history"))
    counts: list[tuple[str, ...]] = []

    def record(metric: Any, *labels: str) -> None:
        counts.append((metric._name, *labels))

    for module in (tcm, htc, fused):
        monkeypatch.setattr(module, "count", record)
    runtime._STATE_CACHE.clear()
    yield counts
    runtime._STATE_CACHE.clear()


def threaded(counts: list[tuple[str, ...]]) -> int:
    return sum(1 for c in counts if c[0] == metrics.MESSAGES_THREADED._name)


@pytest.mark.parametrize("handler", [tcm._handle, tcm._general], ids=["fused", "general"])
def test_only_the_first_message_writes_the_conversation(
    counted: list[tuple[str, ...]], handler: Handler
) -> None:
    first, *rest = encoded(channel_messages(1, 4))  # one conversation, four messages
    written = handle_batch(handler, [first])
    (key,) = tcm.conversations.data
    assert written == {("conversations", key), ("tickets", next(iter(htc.tickets.data)))}
    for record in rest:  # each in a batch of its own: a write would show
        assert {name for name, _ in handle_batch(handler, [record])} == {"tickets"}
    state = pickle.loads(tcm.conversations.data[key])
    assert isinstance(state, ConversationState)
    assert (state.message_count, len(state.recent_messages)) == (1, 1)
    ticket, _ = pickle.loads(htc.tickets.data[next(iter(htc.tickets.data))])
    assert (ticket.ticket_id, ticket.message_count) == (state.ticket_id, 4)
    assert threaded(counted) == 4


@pytest.mark.parametrize("handler", [tcm._handle, tcm._general], ids=["fused", "general"])
def test_a_redelivered_message_is_not_counted_again(
    counted: list[tuple[str, ...]], handler: Handler
) -> None:
    records = encoded(channel_messages(1, 3))
    handle_batch(handler, records)
    assert threaded(counted) == 3
    counted.clear()
    written = handle_batch(handler, records)  # all three again: the opening one and two appends
    assert threaded(counted) == 0
    duplicates = [c for c in counted if c[0] == metrics.COMMANDS_DUPLICATE._name]
    assert len(duplicates) == 4  # the open and three appends, dropped by the ticket
    assert not any(name == "conversations" for name, _ in written)
