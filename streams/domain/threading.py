"""Threading: which ticket a channel message belongs to (the conversation aggregate).

A conversation (``conversation_key``) points at its current ticket. The first message opens a
ticket whose id derives from the message's dedup key; later messages are appended to the
current ticket (the ticket itself reopens when solved, and forwards to a linked follow-up when
closed — see ``streams.domain.tickets.handle``). A redelivered message (same dedup key) changes
nothing: the conversation state stays as it is and the same commands (same ids) go out
again, which the ticket drops as duplicates (and which repairs a crash between saving the
conversation and sending its commands). Commands are keyed by ticket id; their ids derive from
the dedup key.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from schemas.records import (
    Actor,
    ActorKind,
    AppendCustomerMessage,
    ChannelMessageReceived,
    CommandHeader,
    OpenTicket,
)
from streams.domain.ids import derive_id, short_id

RECENT_MESSAGES = 256  # dedup keys remembered per conversation
SYSTEM = Actor(ActorKind.SYSTEM, "threading")


@dataclass(frozen=True, slots=True)
class ConversationState:
    conversation_key: str
    ticket_id: str | None = None
    customer_id: str | None = None
    message_count: int = 0
    recent_messages: tuple[str, ...] = ()


def customer_id_of(message: ChannelMessageReceived) -> str:
    """The customer a channel identity belongs to before any link (deterministic)."""
    return short_id("C", message.channel, message.account_id, message.external_user_id)


def ticket_id_for(message: ChannelMessageReceived) -> str:
    """The id of the ticket a conversation's first message opens."""
    return short_id("T", message.dedup_key)


def thread(
    state: ConversationState, message: ChannelMessageReceived, customer_id: str | None = None
) -> tuple[ConversationState, list[Any]]:
    """The conversation after ``message`` and the ticket commands to send (keyed by ticket id).

    ``customer_id`` is the customer the sender's identity resolves to (default: the
    identity's own customer id)."""
    replay = message.dedup_key in state.recent_messages
    customer = customer_id or state.customer_id or customer_id_of(message)
    header = _header(message)
    commands: list[Any] = []
    ticket_id = state.ticket_id
    opens = ticket_id is None or (replay and ticket_id == ticket_id_for(message))
    if ticket_id is None or opens:
        ticket_id = ticket_id_for(message)
        commands.append(
            OpenTicket(
                replace(
                    header,
                    command_id=derive_id(message.dedup_key, "open"),
                    aggregate_id=ticket_id,
                ),
                ticket_id,
                customer,
                message.channel,
                message.conversation_key,
                subject=message.subject,
                language=message.language,
            )
        )
    reply_context = dict(message.reply_context)
    reply_context.setdefault("external_user_id", message.external_user_id)
    commands.append(
        AppendCustomerMessage(
            replace(header, aggregate_id=ticket_id),
            ticket_id,
            message.dedup_key,
            message.channel,
            message.text,
            message.sent_at,
            attachments=message.attachments,
            reply_context=reply_context,
            reply_context_expires_at=message.reply_context_expires_at,
        )
    )
    if replay:
        # A redelivery (or a replay after a crash, when our state was saved but the commands
        # maybe not): send the same commands again; the ticket drops them by command id.
        return state, commands
    new_state = replace(
        state,
        ticket_id=ticket_id,
        customer_id=customer,
        message_count=state.message_count + 1,
        recent_messages=(*state.recent_messages, message.dedup_key)[-RECENT_MESSAGES:],
    )
    return new_state, commands


def _header(message: ChannelMessageReceived) -> CommandHeader:
    env = message.envelope
    sent: datetime = message.sent_at
    return CommandHeader(
        command_id=derive_id(message.dedup_key, "append"),
        issued_at=sent,
        aggregate_id=message.conversation_key,
        correlation_id=env.correlation_id,
        actor=SYSTEM,
        tenant_id=env.tenant_id,
        brand_id=env.brand_id,
    )
