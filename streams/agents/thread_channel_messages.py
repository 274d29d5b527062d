"""Agent: channel messages → ticket commands, through the conversation table.

Table ``conversations`` (key conversation_key, co-partitioned with support.channel.messages.v1).
Commands go to support.tickets.commands.v1 keyed by ticket id.
"""

from __future__ import annotations

from typing import Any

from schemas.records import ChannelMessageReceived
from streams import metrics
from streams.app import app, channel_messages_topic, ticket_commands_topic
from streams.domain.threading import ConversationState, thread
from streams.runtime import decode_or_park, load, park, send, store, table

conversations = table("conversations", "conversation key → ConversationState (current ticket)")


@app.agent(channel_messages_topic, concurrency=1)
async def thread_channel_messages(stream: Any) -> None:
    async for event in stream.events():
        try:
            await _handle(event)
        except Exception as exc:  # a bug or bad data: park the record, keep the worker up
            await park(event, exc)


async def _handle(event: Any) -> None:
    message = await decode_or_park(event, ChannelMessageReceived)
    if message is None:
        return
    key = message.conversation_key
    state = load(conversations, key, ConversationState(key))
    new_state, commands = thread(state, message)
    if new_state is not state:
        store(conversations, key, new_state)
        metrics.MESSAGES_THREADED.labels(message.channel.value).inc()
    for command in commands:  # also for a redelivery: same ids, the ticket drops duplicates
        await send(ticket_commands_topic, command.ticket_id, command)
