"""ClickHouse through clickhouse-driver: a table created, filled and queried."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from clickhouse_driver import Client


@pytest.fixture
def ch(stack, unique_name) -> Iterator[tuple[Client, str]]:
    client = Client(host=stack.clickhouse_host, port=stack.clickhouse_port)
    db = f"smoke_{unique_name}"
    client.execute(f"CREATE DATABASE {db}")
    try:
        yield client, db
    finally:
        client.execute(f"DROP DATABASE IF EXISTS {db}")
        client.disconnect()


def test_table_created_filled_and_queried(ch) -> None:
    client, db = ch
    client.execute(
        f"CREATE TABLE {db}.replies (ticket String, day Date, seconds UInt32) "
        "ENGINE = MergeTree PARTITION BY toYYYYMM(day) ORDER BY (ticket, day)"
    )
    import datetime as dt

    day = dt.date(2026, 11, 23)
    client.execute(
        f"INSERT INTO {db}.replies (ticket, day, seconds) VALUES",
        [("a", day, 30), ("a", day, 90), ("b", day, 600)],
    )
    rows = client.execute(
        f"SELECT ticket, count(), sum(seconds) FROM {db}.replies GROUP BY ticket ORDER BY ticket"
    )
    assert rows == [("a", 2, 120), ("b", 1, 600)]


def test_analyst_user_is_read_only(stack, ch) -> None:
    client, db = ch
    client.execute(f"CREATE TABLE {db}.t (x UInt8) ENGINE = Memory")
    client.execute(f"INSERT INTO {db}.t VALUES", [(7,)])
    s = stack.settings
    analyst = Client(
        host=s.clickhouse_host,
        port=s.clickhouse_port,
        user=s.clickhouse_analyst_user,
        password=s.clickhouse_analyst_password,
    )
    try:
        assert analyst.execute(f"SELECT x FROM {db}.t") == [(7,)]
        with pytest.raises(Exception, match="readonly"):
            analyst.execute(f"INSERT INTO {db}.t VALUES", [(8,)])
    finally:
        analyst.disconnect()
