"""drop_named: what a test session on the shared dev stack removes when it ends."""

from __future__ import annotations

import time

from clickhouse_driver import Client
from kafka.admin import KafkaAdminClient, NewTopic

from ticketstream.devstack.testing import drop_named, issued_names, unique_name


def _topics(stack) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def test_unique_names_are_remembered() -> None:
    a, b = unique_name(), unique_name()
    assert a != b and a.startswith("t") and len(a) == 11
    assert issued_names()[-2:] == [a, b]


def test_drop_named_removes_only_the_named_topics_and_databases(stack) -> None:
    mine, other = unique_name(), unique_name()
    topics = [f"support.x.v1.{mine}", f"{mine}-tickets-changelog", f"keep.{other}"]
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1) for t in topics])
    finally:
        admin.close()
    ch = Client(stack.clickhouse_host, port=stack.clickhouse_port)
    ch.execute(f"CREATE DATABASE it_{mine}")
    ch.execute(f"CREATE DATABASE it_{other}")
    try:
        dropped_topics, dropped_dbs = drop_named(stack.settings, [mine])
        assert dropped_topics == sorted(topics[:2])
        assert dropped_dbs == [f"it_{mine}"]
        deadline = time.monotonic() + 30
        while (left := _topics(stack) & set(topics[:2])) and time.monotonic() < deadline:
            time.sleep(0.2)  # deletion is asynchronous in the broker
        assert not left
        assert f"keep.{other}" in _topics(stack)
        dbs = {db for (db,) in ch.execute("SELECT name FROM system.databases")}
        assert f"it_{mine}" not in dbs and f"it_{other}" in dbs
        assert drop_named(stack.settings, []) == ([], [])
    finally:
        drop_named(stack.settings, [other])
        ch.disconnect()
