"""Wiring: ClickHouse engine, Kafka consumer/producer and the projector from settings."""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from projections import fastfetch, kafkajoin
from projections.engines import DriverEngine
from projections.migrate import migrate
from projections.projector import Projector, ProjectorConfig
from projections.settings import ProjectionSettings
from schemas.topics import EVENT_TOPICS

log = logging.getLogger("ticketstream.projector")


def open_engine(core: Any, database: str = "default") -> DriverEngine:
    """A clickhouse-driver engine for the core settings' ClickHouse."""
    return DriverEngine(
        core.clickhouse_host,
        core.clickhouse_port,
        user=core.clickhouse_user,
        password=core.clickhouse_password,
        database=database,
    )


GC_EVERY_SECONDS = 30.0
_collector: threading.Thread | None = None


def tune_gc(every_s: float = GC_EVERY_SECONDS) -> None:
    """Replace CPython's allocation-driven cyclic garbage collection, in a projector process,
    by a full collection every ``every_s`` seconds.

    A batch allocates hundreds of thousands of short-lived containers (Avro data, row tuples)
    that form no reference cycles: reference counting frees them. The collector, triggered by
    allocation counts, kept traversing them anyway — about 30% of the projector's CPU with the
    default thresholds, still ~5 us/event (15%) at a 50,000 threshold (gc.callbacks timing,
    36k benchmark events). What cycles libraries make (futures, tracebacks) are collected by
    the periodic full collection, which costs milliseconds per 30 s. ``freeze`` first moves
    what start-up made (modules, schemas) out of every later collection. Call it once, in the
    projector's own process (not in a process that hosts other work, such as a test run)."""
    global _collector
    gc.collect()
    gc.freeze()
    gc.disable()
    if _collector is None:

        def collect() -> None:
            while True:
                time.sleep(every_s)
                gc.collect()

        _collector = threading.Thread(target=collect, name="projector-gc", daemon=True)
        _collector.start()


def make_consumer(core: Any, group: str | None, batch_rows: int, **extra: Any) -> Any:
    """A raw-bytes kafka-python consumer (decoding is ours, so errors can be dead-lettered),
    parsing fetched records with ``projections.fastfetch`` (the same records, less CPU)."""
    from kafka import KafkaConsumer
    from kafka.coordinator.assignors.range import RangePartitionAssignor

    consumer = KafkaConsumer(
        bootstrap_servers=core.kafka_bootstrap.split(","),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=batch_rows,
        # While ClickHouse is down the projector holds its batch and does not poll; stay in
        # the group for 10 minutes of that (beyond, the batch is replayed and deduplicated).
        max_poll_interval_ms=600_000,
        # A projector killed without leaving the group holds its partitions this long.
        session_timeout_ms=10_000,
        heartbeat_interval_ms=3_000,
        fetch_max_bytes=64 * 1024 * 1024,
        # kafka-python keeps one fetch in flight per broker and leaves partitions with unread
        # records out of it: when the partitions in that fetch have nothing new, the broker holds
        # it this long (default 500 ms) while the others' next records wait behind it (seen as
        # 0.5 s stalls catching up a backlog). Idle, it is a fetch every 50 ms.
        fetch_max_wait_ms=50,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        # Several projector processes in one group: the range assignor gives each member the
        # same partition numbers of every topic, so a ticket's events and its SLA events (both
        # keyed by ticket id, equal partition counts) reach the same process — which knows the
        # ticket's channel and does not wait for it (see ProjectorConfig.max_defer_seconds).
        partition_assignment_strategy=(RangePartitionAssignor,),
        **extra,
    )
    fastfetch.install(consumer)
    kafkajoin.install(consumer)  # a join poll's timeout cut short is finished, not lost
    return consumer


def make_producer(core: Any) -> Any:
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=core.kafka_bootstrap.split(","), acks="all")


def config_from(core: Any, ps: ProjectionSettings, db: str | None = None) -> ProjectorConfig:
    return ProjectorConfig(
        db=db or core.clickhouse_database,
        group=ps.projections_group,
        batch_rows=ps.projections_batch_rows,
        flush_seconds=ps.projections_flush_seconds,
        retry_max_seconds=ps.projections_retry_max_seconds,
        store_bodies=ps.projections_store_bodies,
    )


def run_projector(
    core: Any,
    ps: ProjectionSettings,
    *,
    stop: threading.Event | None = None,
    topics: tuple[str, ...] | None = None,
) -> None:
    """Migrate, then project ``topics`` into the configured database until ``stop`` is set."""
    from kafka import ConsumerRebalanceListener

    stop = stop or threading.Event()
    if topics is None:
        named = tuple(t.strip() for t in ps.projections_topics.split(",") if t.strip())
        topics = named or EVENT_TOPICS
    config = config_from(core, ps)
    engine = open_engine(core)
    migrate(engine, config.db)
    consumer = make_consumer(core, config.group, config.batch_rows)
    producer = make_producer(core)
    projector = Projector(engine, consumer, producer, config, stop=stop)

    class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
        def on_partitions_revoked(self, revoked: Any) -> None:
            projector.on_revoked(revoked)

        def on_partitions_assigned(self, assigned: Any) -> None:
            projector.on_assigned(assigned)

    if not wait_for_topics(consumer.topics, topics, stop):
        consumer.close(autocommit=False)
        producer.close()
        engine.close()
        return
    consumer.subscribe(list(topics), listener=Listener())
    log.info("projecting %s into %s (group %s)", ", ".join(topics), config.db, config.group)
    try:
        projector.run()
    finally:
        consumer.close(autocommit=False)
        producer.close()
        engine.close()


def wait_for_topics(
    existing: Callable[[], set[str]],
    topics: tuple[str, ...],
    stop: threading.Event,
    *,
    every: float = 10.0,
    poll: float = 1.0,
) -> bool:
    """Wait until every topic in ``topics`` exists on the broker; False if ``stop`` came first.

    Joining before they exist would only make a rebalance when they appear (the one
    kafka-python 3.0 lost, see ``projections.kafkajoin``) and leave the operator guessing why
    nothing is projected. The workers and the gateway declare the topics; until they have, say
    which ones are missing, every ``every`` seconds."""
    said = 0.0
    while not stop.is_set():
        missing = sorted(set(topics) - existing())
        if not missing:
            return True
        if time.monotonic() - said >= every:
            log.warning(
                "waiting for %d topic(s) to exist before joining the group: %s — start the "
                "stream workers (they declare them) or create them with the workers' partitions",
                len(missing),
                ", ".join(missing),
            )
            said = time.monotonic()
        stop.wait(poll)
    return False


def install_signal_handlers(stop: threading.Event) -> None:
    """SIGTERM/SIGINT set ``stop`` (the projector flushes and exits)."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
