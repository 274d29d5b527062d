"""The lag exporter against the real Kafka and ClickHouse: lag per group/topic/partition,
freshness of a real table, and both reachability gauges."""

from __future__ import annotations

import time

from clickhouse_driver import Client
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from prometheus_client import CollectorRegistry

from ticketstream.observability.freshness import ClickHouseFreshnessReader, FreshnessCollector
from ticketstream.observability.lag import KafkaLagReader


def test_lag_reader_reports_uncommitted_messages_per_partition(stack, unique_name) -> None:
    topic, group = f"lag.{unique_name}", f"lag-{unique_name}"
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    for i in range(10):
        producer.send(topic, b"x", partition=i % 2)  # 5 per partition
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(
        bootstrap_servers=stack.kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    consumer.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
    from kafka.structs import OffsetAndMetadata

    consumer.commit(
        {
            TopicPartition(topic, 0): OffsetAndMetadata(2, "", -1),
            TopicPartition(topic, 1): OffsetAndMetadata(5, "", -1),
        }
    )
    consumer.close()

    reader = KafkaLagReader(stack.kafka_bootstrap, group_pattern=group)
    try:
        snap = reader.read()
    finally:
        reader.close()
    assert snap.ok, snap.error
    assert [(p.topic, p.partition, p.committed, p.end, p.lag) for p in snap.lags] == [
        (topic, 0, 2, 5, 3),
        (topic, 1, 5, 5, 0),
    ]


def test_freshness_reads_newest_event_time_from_clickhouse(stack, unique_name) -> None:
    db = f"fresh_{unique_name}"
    client = Client(host=stack.clickhouse_host, port=stack.clickhouse_port)
    client.execute(f"CREATE DATABASE {db}")
    try:
        client.execute(
            f"CREATE TABLE {db}.ticket_events (occurred_at DateTime, n UInt8) "
            "ENGINE = MergeTree ORDER BY occurred_at"
        )
        now = int(time.time())
        client.execute(f"INSERT INTO {db}.ticket_events VALUES", [(now - 600, 1), (now - 120, 2)])
        reader = ClickHouseFreshnessReader(
            host=stack.clickhouse_host,
            port=stack.clickhouse_port,
            database=db,
            user=stack.settings.clickhouse_user,
            password=stack.settings.clickhouse_password,
            tables=[("ticket_events", "occurred_at"), ("missing_table", "occurred_at")],
        )
        registry = CollectorRegistry()
        collector = FreshnessCollector(clock=lambda: float(now))
        registry.register(collector)
        try:
            collector.update(reader.read())
        finally:
            reader.close()
        assert registry.get_sample_value("ticketstream_clickhouse_up") == 1.0
        assert (
            registry.get_sample_value(
                "ticketstream_projection_freshness_seconds", {"table": "ticket_events"}
            )
            == 120.0
        )
        assert (
            registry.get_sample_value(
                "ticketstream_projection_freshness_seconds", {"table": "missing_table"}
            )
            is None
        )
    finally:
        client.execute(f"DROP DATABASE {db}")
        client.disconnect()
