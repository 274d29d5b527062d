"""A reply carries what outbound needs to answer on the identity the ticket's conversation came
from: that identity's latest reply context (reply token, chat id, sender address…) with its
expiry, and the time of the customer's last message (24-hour messaging windows)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from schemas.records import AgentReplied, AppendCustomerMessage, ReplyPublicly
from streams.domain.tickets import decide

from .builders import NOW, T0, given, header, message, open_cmd


def line_message(message_id: str, sender: str, token: str, minutes: int) -> AppendCustomerMessage:
    at = T0 + timedelta(minutes=minutes)
    m = message(message_id)
    return replace(
        m,
        command=replace(m.command, issued_at=at),
        sent_at=at,
        reply_context={"external_user_id": sender, "reply_token": token},
        reply_context_expires_at=at + timedelta(minutes=1),
    )


def reply(command_id: str = "c-reply") -> ReplyPublicly:
    return ReplyPublicly(header(command_id), "T-1", "on its way")


def test_reply_carries_the_latest_reply_token_and_last_message_time() -> None:
    state = given(
        open_cmd(), line_message("m1", "U1", "tok-1", 0), line_message("m2", "U1", "tok-2", 5)
    )
    [event] = decide(state, reply(), NOW)
    assert isinstance(event, AgentReplied)
    assert event.external_user_id == "U1"
    assert event.reply_context == {"external_user_id": "U1", "reply_token": "tok-2"}
    assert event.reply_context_expires_at == T0 + timedelta(minutes=6)
    assert event.last_customer_message_at == T0 + timedelta(minutes=5)


def test_another_sender_in_the_conversation_does_not_take_over_the_reply_context() -> None:
    # a colleague writes in the same group chat: replies still go to the ticket's identity,
    # with that identity's own (older) token
    state = given(
        open_cmd(), line_message("m1", "U1", "tok-1", 0), line_message("m2", "U2", "tok-2", 5)
    )
    [event] = decide(state, reply(), NOW)
    assert event.external_user_id == "U1"
    assert event.reply_context == {"external_user_id": "U1", "reply_token": "tok-1"}
    assert event.reply_context_expires_at == T0 + timedelta(minutes=1)


def test_message_without_reply_context_keeps_the_last_one() -> None:
    state = given(open_cmd(), line_message("m1", "U1", "tok-1", 0), message("m2"))
    [event] = decide(state, reply(), NOW)
    assert event.reply_context == {"external_user_id": "U1", "reply_token": "tok-1"}


def test_customer_message_event_records_its_reply_context() -> None:
    state = given(open_cmd())
    [event] = decide(state, line_message("m1", "U1", "tok-1", 0), NOW)
    assert event.reply_context == {"external_user_id": "U1", "reply_token": "tok-1"}
    assert event.reply_context_expires_at == T0 + timedelta(minutes=1)
