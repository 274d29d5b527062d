"""Agent: channel messages → tickets, through the conversation table.

Table ``conversations`` (key conversation_key, co-partitioned with support.channel.messages.v1).
A conversation's tickets are placed in the conversation's own partition (their ids are chosen
so, see ``streams.domain.threading.placed_id``), so the threading commands are applied to the
ticket right here (``apply_commands``) instead of taking a trip through
support.tickets.commands.v1; a ticket in another partition (one opened before placement, or by
a command) still gets its commands through that topic.

Records are handled in batches (``UnitOfWork``): events are sent in one producer batch per
partition and acked before the batch's states are written, each table key once per batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import faust

from schemas.records import ChannelMessageReceived
from streams import metrics
from streams.agents import handle_ticket_commands
from streams.agents.handle_ticket_commands import apply_commands, load_ticket, local_to
from streams.agents.identity_owners import linked_customer  # routing engineer (identity)
from streams.app import channel_messages_topic, ticket_events_topic
from streams.domain.threading import ConversationState, Lands, thread
from streams.fanout import on_batches
from streams.fused import thread_fused
from streams.runtime import BatchStats, UnitOfWork, count, decode_record, run_batch, table

conversations = table("conversations", "conversation key → ConversationState (current ticket)")
# records per batch, seconds to wait for a full one (see runtime): a saturated worker's batch
# costs its fixed share (waits on the broker, the hand-over between batches) half as often at
# 4,000 as at 2,000 (+3 to +20 % msg/s, 8 of 8 pairs higher); below saturation the wait
# ends batches
BATCH, WITHIN = 4000, 0.2
STATS = BatchStats("thread_channel_messages", every=5.0)  # the benchmark runs ~5 s


async def thread_channel_messages(
    events: Sequence[faust.EventT[Any]],
) -> asyncio.Future[None] | None:
    # the batch's states go to their changelog while the next batch is decided: the topic
    # agent acks these records once the changelog is acknowledged (streams.fanout)
    return await run_batch(events, _handle, STATS, settle=False)


# the topic's one agent (streams.fanout) also runs identify_customers on these batches
on_batches(
    channel_messages_topic, "thread_channel_messages", thread_channel_messages,
    size=BATCH, within=WITHIN,
)  # fmt: skip


def _handle(uow: UnitOfWork, event: faust.EventT[Any]) -> None:
    # the common cases (a message for the open ticket, a conversation's first message) from
    # the record's bytes to the events and states (streams.fused); the rest, the general way
    htc = handle_ticket_commands
    if not thread_fused(uow, event, conversations, htc.tickets, ticket_events_topic):
        _general(uow, event)


def _general(uow: UnitOfWork, event: faust.EventT[Any]) -> None:
    message = decode_record(event, ChannelMessageReceived)
    key = message.conversation_key
    state = uow.load(conversations, key, None, event)
    if state is None:
        state = ConversationState(key)
    # a new ticket belongs to the customer the sender's identity is linked to (else its home)
    lands = local_to(event)
    new_state, commands = thread(state, message, linked_customer(message), lands=lands)
    if new_state is not state:  # the conversation's first message
        uow.store(conversations, key, new_state, event)
    if not _redelivered(uow, event, state, message, commands[-1].ticket_id, lands):
        count(metrics.MESSAGES_THREADED, message.channel.value)
    # also for a redelivery: same ids, the ticket drops duplicates and re-sends their events
    apply_commands(uow, event, [(c.ticket_id, c) for c in commands])


def _redelivered(
    uow: UnitOfWork,
    event: faust.EventT[Any],
    conversation: ConversationState,
    message: ChannelMessageReceived,
    ticket_id: str,
    lands: Lands,
) -> bool:
    """Whether ``message`` was threaded before, as far as this partition can tell: the
    conversation remembers its first message, the ticket (when stored here) its messages; a
    ticket in another partition decides there (and counts the duplicate command)."""
    if message.dedup_key in conversation.recent_messages:
        return True
    if not lands(ticket_id):
        return False
    ticket, _ = load_ticket(uow, ticket_id, event)
    return ticket is not None and ticket.seen_message(message.dedup_key)
