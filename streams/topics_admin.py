"""Create the worker's topics before it starts (idempotent): Faust declares only its internal
topics (changelogs), and a topic auto-created by a producer would get the broker's default
partition count instead of ``TICKETSTREAM_STREAMS_TOPIC_PARTITIONS``."""

from __future__ import annotations

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from schemas import topics as names
from streams.settings import StreamsSettings
from ticketstream.settings import Settings

ROUTING_FEED = "support.routing.feed.v1"  # one partition: the router's global view
TOPICS = (
    names.CHANNEL_MESSAGES, names.CHANNEL_DELIVERIES, names.TICKET_COMMANDS, names.TICKET_EVENTS,
    names.CUSTOMER_COMMANDS, names.CUSTOMER_EVENTS, names.AGENT_COMMANDS, names.AGENT_EVENTS,
    names.SLA_COMMANDS, names.SLA_EVENTS, names.SLA_TICKS, names.DEAD_LETTER,
)  # fmt: skip


def ensure_topics(settings: Settings, streams: StreamsSettings) -> list[str]:
    """Create missing topics (partitions from the settings; the routing feed and the compacted
    identity-owners topic have one).
    Returns the names created. Existing topics are left as they are."""
    wanted = {streams.topic(t): streams.streams_topic_partitions for t in TOPICS}
    wanted[streams.topic(ROUTING_FEED)] = 1
    wanted[streams.topic(names.IDENTITY_OWNERS)] = 1
    configs = {streams.topic(names.IDENTITY_OWNERS): {"cleanup.policy": "compact"}}
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="streams-admin")
    try:
        existing = set(admin.list_topics())
        new = [
            NewTopic(
                name,
                partitions,
                streams.streams_replication_factor,
                topic_configs=configs.get(name, {}),
            )
            for name, partitions in wanted.items()
            if name not in existing
        ]
        created = []
        for topic in new:
            try:
                admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin.close()
