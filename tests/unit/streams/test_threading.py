"""Threading: a channel message joins its conversation's ticket or opens one; redelivery is a no-op."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.records import Actor, ActorKind, Channel, ChannelMessageReceived, Envelope
from streams.domain.ids import derive_id, short_id
from streams.domain.threading import (
    ConversationState,
    customer_id_of,
    placed_id,
    thread,
    ticket_id_for,
)
from streams.domain.tickets import TicketState, decide, evolve_all

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
KEY = "whatsapp:acct9:conv-7"


def msg(dedup: str, text: str = "hi") -> ChannelMessageReceived:
    env = Envelope(
        dedup, AT, AT, KEY, 1, dedup, dedup, Actor(ActorKind.CUSTOMER, "u-7"), "tenant-a"
    )
    return ChannelMessageReceived(
        env, Channel.WHATSAPP, "acct9", "conv-7", "u-7", f"ext-{dedup}", dedup, KEY, text, AT
    )


def test_first_message_opens_a_ticket_with_derived_ids() -> None:
    state, commands = thread(ConversationState(KEY), msg("d1"))
    ticket = short_id("T", "d1")
    assert [type(c).__name__ for c in commands] == ["OpenTicket", "AppendCustomerMessage"]
    open_cmd, append = commands
    assert (open_cmd.ticket_id, append.ticket_id) == (ticket, ticket)
    assert (
        open_cmd.customer_id
        == short_id("C", "whatsapp", "acct9", "u-7")
        == customer_id_of(msg("d1"))
    )
    assert open_cmd.command.command_id == derive_id("d1", "open")
    assert append.command.command_id == derive_id("d1", "append")
    assert append.message_id == "d1" and append.reply_context == {
        "external_user_id": "u-7",
        "external_message_id": "ext-d1",
    }
    assert (state.ticket_id, state.message_count, state.recent_messages) == (ticket, 1, ("d1",))
    assert ticket_id_for(msg("d1")) == ticket


def test_next_message_joins_the_open_ticket_and_leaves_the_conversation_as_it_is() -> None:
    state, _ = thread(ConversationState(KEY), msg("d1"))
    state2, commands = thread(state, msg("d2"))
    assert [type(c).__name__ for c in commands] == ["AppendCustomerMessage"]
    assert commands[0].ticket_id == state.ticket_id
    assert commands[0].command.command_id == derive_id("d2", "append")
    # the same object: the agent writes no conversation state for an appended message
    assert state2 is state
    # nor when the sender's identity is linked to another customer since: only the opening
    # message reads the conversation's customer
    assert thread(state, msg("d3"), customer_id="C-other")[0] is state


def test_opening_messages_redelivery_opens_the_same_ticket_again() -> None:
    state, first = thread(ConversationState(KEY), msg("d1"))
    again, commands = thread(state, msg("d1"))
    assert again is state and commands == first
    assert [type(c).__name__ for c in commands] == ["OpenTicket", "AppendCustomerMessage"]


def test_redelivered_message_changes_nothing_and_resends_the_same_commands() -> None:
    state, first = thread(ConversationState(KEY), msg("d1"))
    state2, second = thread(state, msg("d2"))
    assert thread(state2, msg("d1")) == (state2, first)  # the opening message: open + append
    assert thread(state2, msg("d2")) == (state2, second)


def test_threaded_commands_build_the_ticket_once_even_if_replayed() -> None:
    _, commands = thread(ConversationState(KEY), msg("d1", "where is my order"))
    ticket = TicketState(commands[0].ticket_id)
    for c in commands:
        ticket = evolve_all(ticket, decide(ticket, c, AT))
    assert (ticket.status, ticket.message_count, ticket.customer_id) == (
        "new", 1, customer_id_of(msg("d1")),
    )  # fmt: skip
    for c in commands[1:]:  # the append replayed (the open is rejected as ticket_exists)
        assert decide(ticket, c, AT) == []


def test_ticket_id_is_placed_by_the_smallest_suffix_that_lands() -> None:
    base = short_id("T", "d1")
    assert placed_id(base, lambda key: key.endswith(".3")) == f"{base}.3"
    assert placed_id(base, lambda key: True) == base  # lands already: no suffix
    state, commands = thread(ConversationState(KEY), msg("d1"), lands=lambda k: k.endswith(".2"))
    assert {c.ticket_id for c in commands} == {f"{base}.2"} and state.ticket_id == f"{base}.2"
    # a redelivery of the opening message finds the same placed ticket
    assert thread(state, msg("d1"), lands=lambda k: k.endswith(".2")) == (state, commands)


def test_placement_that_can_never_land_is_an_error() -> None:
    with pytest.raises(ValueError, match="lands where asked"):
        placed_id("T-x", lambda key: False)
