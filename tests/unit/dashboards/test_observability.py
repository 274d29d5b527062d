"""Lag arithmetic, the exporters' collectors and the /metrics helpers (no network)."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from ticketstream.observability.freshness import (
    FreshnessCollector,
    FreshnessSnapshot,
    parse_tables,
)
from ticketstream.observability.lag import LagCollector, LagSnapshot, PartitionLag, compute_lag


def test_lag_is_end_minus_committed_per_group_and_partition() -> None:
    committed = {
        "workers": {("support.tickets.events.v1", 0): 90, ("support.tickets.events.v1", 1): 10},
        "projector": {("support.tickets.events.v1", 0): 100},
    }
    ends = {("support.tickets.events.v1", 0): 100, ("support.tickets.events.v1", 1): 10}
    lags = compute_lag(committed, ends)
    assert [(p.group, p.partition, p.lag) for p in lags] == [
        ("projector", 0, 0),
        ("workers", 0, 10),
        ("workers", 1, 0),
    ]


def test_lag_skips_uncommitted_and_unknown_partitions_and_never_goes_negative() -> None:
    committed = {"g": {("a", 0): -1, ("gone", 0): 5, ("a", 1): 12}}
    ends = {("a", 0): 3, ("a", 1): 10}  # committed ahead of a stale end offset
    lags = compute_lag(committed, ends)
    assert lags == [PartitionLag("g", "a", 1, 12, 10)]
    assert lags[0].lag == 0


def _values(registry: CollectorRegistry) -> dict[str, float]:
    out = {}
    for metric in registry.collect():
        for s in metric.samples:
            key = s.name + "".join(f",{k}={v}" for k, v in sorted(s.labels.items()))
            out[key] = s.value
    return out


def test_lag_collector_renders_last_snapshot_and_kafka_up() -> None:
    registry = CollectorRegistry()
    collector = LagCollector()
    registry.register(collector)
    assert _values(registry)["ticketstream_kafka_up"] == 0.0  # nothing polled yet
    collector.update(
        LagSnapshot(
            1000.0,
            True,
            (PartitionLag("workers", "t", 2, 40, 45),),
            {("t", 2): 45},
            duration_seconds=0.25,
        )
    )
    v = _values(registry)
    assert v["ticketstream_kafka_up"] == 1.0
    assert v["ticketstream_consumer_lag_messages,group=workers,partition=2,topic=t"] == 5.0
    assert v["ticketstream_consumer_committed_offset,group=workers,partition=2,topic=t"] == 40.0
    assert v["ticketstream_topic_end_offset,partition=2,topic=t"] == 45.0
    assert v["ticketstream_lag_exporter_last_success_timestamp_seconds"] == 1000.0
    collector.update(LagSnapshot(1010.0, False, error="no brokers"))
    v = _values(registry)
    assert v["ticketstream_kafka_up"] == 0.0
    assert not any(k.startswith("ticketstream_consumer_lag_messages") for k in v)
    assert v["ticketstream_lag_exporter_last_success_timestamp_seconds"] == 1000.0


def test_freshness_is_now_minus_newest_event_time() -> None:
    registry = CollectorRegistry()
    collector = FreshnessCollector(clock=lambda: 5000.0)
    registry.register(collector)
    collector.update(FreshnessSnapshot(4990.0, True, {"ticket_events": 4700.0}))
    v = _values(registry)
    assert v["ticketstream_clickhouse_up"] == 1.0
    assert v["ticketstream_projection_freshness_seconds,table=ticket_events"] == 300.0
    assert v["ticketstream_projection_newest_event_timestamp_seconds,table=ticket_events"] == 4700.0
    collector.update(FreshnessSnapshot(5000.0, False, error="refused"))
    assert _values(registry)["ticketstream_clickhouse_up"] == 0.0


def test_freshness_tables_are_parsed_and_sql_injection_is_refused() -> None:
    assert parse_tables("ticket_events:occurred_at, sla_events:occurred_at,") == [
        ("ticket_events", "occurred_at"),
        ("sla_events", "occurred_at"),
    ]
    with pytest.raises(ValueError, match="plain identifiers"):
        parse_tables("t; DROP TABLE x:occurred_at")
    with pytest.raises(ValueError, match="expected <table>:<event-time column>"):
        parse_tables("ticket_events")
