"""The Faust app ``app``, its topics, and the discovery of every agent in ``streams/agents/``.

No business logic lives here: agents (``streams/agents/``) decode, call the pure domain
(``streams/domain/``) and send what it returns. The app id and the topic/table names are
persistent API (changelog topics are named ``<app id>-<table>-changelog``).

Every topic carries raw bytes: agents decode with ``schemas.codec.decode`` and the record's
position, so an undecodable record can be dead-lettered with its topic/partition/offset.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import Any

import faust

from schemas import topics as names
from streams import faust_fetch, faust_flow, faust_offsets
from streams.settings import StreamsSettings
from streams.topics_admin import ROUTING_FEED
from ticketstream.observability.faust_sensor import setup_faust_metrics
from ticketstream.settings import Settings

# aiokafka and faust log a debug record per produced message when the root logger lets them
# (3 s of CPU per 10,000 messages measured): keep their own loggers at INFO.
for _name in ("aiokafka", "faust", "mode"):
    logging.getLogger(_name).setLevel(max(logging.INFO, logging.getLogger(_name).level))

settings = Settings()
streams_settings = StreamsSettings()

# faust-streaming 0.15 registers its RocksDB store as "rocksdb://" and backs it with rocksdict when
# installed (no python-rocksdb needed); a literal "rocksdict://" URL is not a registered store.
STORE_URLS = {"memory": "memory://", "rocksdict": "rocksdb://"}
PRODUCER_MAX_BATCH_BYTES = 1_000_000

faust_offsets.install()  # never-committed partitions are re-read, not skipped (see the module)
faust_fetch.install()  # records handed to the agents inline (see the module)
faust_flow.install()  # a resume while the flow runs keeps the agents' queues (see the module)
app = faust.App(
    streams_settings.streams_app_id,
    broker=[f"kafka://{b.strip()}" for b in settings.kafka_bootstrap.split(",")],
    store=STORE_URLS[streams_settings.streams_store],
    datadir=str(streams_settings.datadir(settings.worker_web_port)),
    web_port=settings.worker_web_port,
    web_host="127.0.0.1",
    canonical_url=f"http://127.0.0.1:{settings.worker_web_port}",  # table_route forwards here
    broker_session_timeout=streams_settings.streams_session_timeout_seconds,
    broker_heartbeat_interval=max(1.0, streams_settings.streams_session_timeout_seconds / 5),
    topic_partitions=streams_settings.streams_topic_partitions,
    topic_replication_factor=streams_settings.streams_replication_factor,
    topic_allow_declare=True,
    key_serializer="raw",
    value_serializer="raw",
    producer_acks=-1,
    # seconds: a few ms of batching turns one produce request per record into one per batch
    producer_linger=streams_settings.streams_producer_linger_ms / 1000,
    # bytes per producer batch (one topic partition). aiokafka keeps one produce request in
    # flight per broker, with at most one batch per partition: at the 16 KiB default a batch
    # of ~1,000 records' events and states (~3 KB per message) took ~15 round trips one after
    # the other. Below the broker's default message.max.bytes (1,048,588).
    producer_max_batch_size=PRODUCER_MAX_BATCH_BYTES,
    table_cleanup_interval=3600.0,
    consumer_auto_offset_reset="earliest",
)
setup_faust_metrics(app)


class RawSchema(faust.Schema[bytes, bytes]):
    """The schema of a topic of raw bytes (keys and values as the records carry them).

    Faust's own decode, run for every record the worker fetches, takes the key and the value
    each through the serializer registry and the "raw" codec, which return them unchanged
    (bytes, or None); ~3 µs a record of the worker's ~190 µs a channel message. This one makes
    the same event from the record directly."""

    def compile(self, app: Any, **kwargs: Any) -> Any:
        create_event = app.create_event

        async def decode(message: Any, *, propagate: bool = False) -> Any:
            return create_event(message.key, message.value, message.headers, message)

        return decode


def _topic(name: str, *, partitions: int | None = None) -> faust.TopicT:
    return app.topic(
        streams_settings.topic(name),
        schema=RawSchema(
            key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
        ),
        partitions=partitions or streams_settings.streams_topic_partitions,
    )


channel_messages_topic = _topic(names.CHANNEL_MESSAGES)
channel_deliveries_topic = _topic(names.CHANNEL_DELIVERIES)
ticket_commands_topic = _topic(names.TICKET_COMMANDS)
ticket_events_topic = _topic(names.TICKET_EVENTS)
customer_commands_topic = _topic(names.CUSTOMER_COMMANDS)
customer_events_topic = _topic(names.CUSTOMER_EVENTS)
agent_commands_topic = _topic(names.AGENT_COMMANDS)
agent_events_topic = _topic(names.AGENT_EVENTS)
sla_commands_topic = _topic(names.SLA_COMMANDS)
sla_events_topic = _topic(names.SLA_EVENTS)
sla_ticks_topic = _topic(names.SLA_TICKS)
dead_letter_topic = _topic(names.DEAD_LETTER)

# The router needs one global view of agents and waiting tickets, so it reads a single-partition
# feed (ticket and SLA events forwarded by forward_routing_feed; agent events sent to it by
# handle_agent_commands directly, so they do not queue behind the others); its table has one key.
routing_feed_topic = _topic(ROUTING_FEED, partitions=1)


def discover_agents() -> list[str]:
    """Import every module of ``streams.agents`` (each registers its agents/tables/views on
    ``app``), or only those named by TICKETSTREAM_STREAMS_AGENTS; returns the names imported."""
    import streams.agents as package

    only = {m for m in streams_settings.streams_agents.split(",") if m}
    found = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not info.name.startswith("_") and (not only or info.name in only):
            importlib.import_module(f"{package.__name__}.{info.name}")
            found.append(info.name)
    return found


AGENT_MODULES = discover_agents()
