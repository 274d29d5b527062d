"""Identity owners: which customer each linked identity belongs to now, on every worker, so
threading gives a new ticket from a linked identity the customer it was linked to.

A link is decided in a customer's partition (``handle_customer_commands``), but a conversation
— where threading decides a new ticket's customer — lives in another partition, usually on
another worker. So the decided owner changes (``streams.domain.identity.owner_changes``) go to
a compacted one-partition topic, key the identity's label, value the owner customer id (empty
once it is back home), and every worker follows that topic from its start into memory
(``OWNERS``, only identities linked away). Faust's GlobalTable is the library's
way, but with several workers its active replica does not read the other workers' writes
(robinhood/faust#541, #716), so the worker reads the topic itself.

Until a (re)started worker has read the topic to its end — milliseconds for thousands of
links — a new ticket from a linked identity gets the home customer id.
"""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import topics as names
from schemas.records import ChannelMessageReceived
from streams.app import app, settings, streams_settings
from streams.domain.identity import identity_of, label, owner_changes

log = logging.getLogger(__name__)
TOPIC = names.IDENTITY_OWNERS  # persistent API: label → owner customer id
owners_topic = app.topic(
    streams_settings.topic(TOPIC),
    partitions=1,
    compacting=True,
    deleting=False,
    key_type=bytes,
    value_type=bytes,
    key_serializer="raw",
    value_serializer="raw",
)
OWNERS: dict[str, str] = {}  # identity label → owner customer id (identities linked away only)


def linked_customer(message: ChannelMessageReceived) -> str | None:
    """The customer the sender's identity is linked to, or None (threading then gives a new
    ticket the identity's home customer). A lookup only once some identity is linked away."""
    return OWNERS.get(label(identity_of(message))) if OWNERS else None


async def publish(events: tuple[object, ...]) -> None:
    """Send the owner changes the decided customer ``events`` make (links and unlinks)."""
    for event in events:
        for identity, owner in owner_changes(event):
            value = owner.encode() if owner is not None else b""  # empty: back home
            await owners_topic.send(key=label(identity).encode(), value=value)


def apply(key: bytes, value: bytes | None) -> None:
    """One record of the topic into ``OWNERS`` (empty or a tombstone: back home)."""
    if value:
        OWNERS[key.decode()] = value.decode()
    else:
        OWNERS.pop(key.decode(), None)


@app.task  # type: ignore[untyped-decorator]
async def follow_identity_owners() -> None:
    """Read the owners topic from its start, then follow it, on every worker."""
    await owners_topic.maybe_declare()
    name = owners_topic.get_topic_name()
    tp = TopicPartition(name, 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]  # logged once read (start-up window)
        while True:
            batch = await consumer.getmany(tp, timeout_ms=500)
            for record in batch.get(tp, []):
                if isinstance(record.key, bytes):
                    apply(record.key, record.value)
                if record.offset + 1 == end:
                    log.info("identity owners read: %d identities linked away", len(OWNERS))
    finally:
        await consumer.stop()
