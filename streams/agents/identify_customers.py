"""Agent: channel messages → identity sightings for the customers' partitions.

The first time a conversation shows a sender identity, its message is forwarded (unchanged
bytes) to support.customers.commands.v1 keyed by the identity's home customer, where
``handle_customer_commands`` records ``CustomerIdentified`` once per identity. Table
``customer_sightings`` (conversation key → identities seen there, co-partitioned with
support.channel.messages.v1) keeps later messages of a known sender to a lookup: no send, no
table write.
"""

from __future__ import annotations

from typing import Any

from schemas import codec
from schemas.codec import SchemaDecodeError
from schemas.records import ChannelMessageReceived
from streams.app import channel_messages_topic, customer_commands_topic
from streams.domain.identity import home_customer_id, identity_of, label
from streams.fanout import each_record, on_batches
from streams.runtime import load, store, table

sightings = table("customer_sightings", "conversation key → sender identities seen in it")
MAX_SENDERS = 32  # identities remembered per conversation (a group chat's regulars)


async def _handle(event: Any) -> None:
    try:
        message = codec.decode(event.message.value, expected=ChannelMessageReceived)
    except SchemaDecodeError:
        return  # thread_channel_messages dead-letters it (once)
    identity = identity_of(message)
    seen: tuple[str, ...] = load(sightings, message.conversation_key, ())
    if label(identity) in seen:
        return
    home = home_customer_id(identity)
    # forwarded before it is remembered: a crash in between forwards it again (CustomerIdentified
    # is decided once per identity by the customer)
    await customer_commands_topic.send(key=home.encode(), value=event.message.value)
    store(sightings, message.conversation_key, (*seen, label(identity))[-MAX_SENDERS:])


# one agent per topic (streams.fanout): thread_channel_messages runs on the same batches
on_batches(channel_messages_topic, "identify_customers", each_record(_handle))
