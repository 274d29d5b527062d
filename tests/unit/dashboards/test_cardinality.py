"""Cardinality: 10,000 tickets' worth of metric updates create no series per ticket, customer
or message, and the series count does not grow with the number of tickets."""

from __future__ import annotations

import types

import faust
from faust.types import TP
from prometheus_client import CollectorRegistry

from ticketstream.observability.cardinality import id_leaks, label_sets, widest_labels
from ticketstream.observability.faust_sensor import setup_faust_metrics
from ticketstream.observability.lag import LagCollector, LagSnapshot, PartitionLag

TICKETS = 10_000
PARTITIONS = 6
TOPICS = ("support.channel.messages.v1", "support.tickets.events.v1", "support.sla.events.v1")


def ids(n: int) -> tuple[list[str], list[str], list[str]]:
    tickets = [f"T-{i:06d}" for i in range(n)]
    customers = [f"C-{i % (n // 2):06d}" for i in range(n)]
    messages = [f"M-{i:06d}-0" for i in range(n)]
    return tickets, customers, messages


class _Table:
    def __init__(self, name: str) -> None:
        self.name = name


class _Stream:
    shortlabel = "Stream: support.tickets.events.v1"
    task_owner = None


def drive_faust_sensor(registry: CollectorRegistry, n: int) -> list[str]:
    """Every hook Faust's monitor calls per message, once per ticket message."""
    app = faust.App(f"cardinality-{n}", broker="kafka://127.0.0.1:1", web_enabled=False)
    setup_faust_metrics(app, registry)
    monitor = app.monitor
    tickets, customers, messages = ids(n)
    tables = (_Table("tickets"), _Table("conversations"), _Table("sla_timers"))
    stream = _Stream()
    stream.task_owner = _Table("handle_ticket_commands")  # any weak-referenceable object
    for i, ticket in enumerate(tickets):
        tp = TP(TOPICS[i % len(TOPICS)], hash(ticket) % PARTITIONS)
        message = types.SimpleNamespace()
        monitor.on_message_in(tp, i, message)  # type: ignore[arg-type]
        state = monitor.on_stream_event_in(tp, i, stream, object())  # type: ignore[arg-type]
        for table in tables:
            monitor.on_table_get(table, ticket)  # type: ignore[arg-type]
            monitor.on_table_set(table, ticket, {"customer": customers[i]})  # type: ignore[arg-type]
        monitor.on_stream_event_out(tp, i, stream, object(), state)  # type: ignore[arg-type]
        monitor.on_message_out(tp, i, message)  # type: ignore[arg-type]
        sent = monitor.on_send_initiated(None, TOPICS[1], messages[i], 10, 100)  # type: ignore[arg-type]
        monitor.on_send_completed(None, sent, None)  # type: ignore[arg-type]
        monitor.track_tp_end_offset(tp, i + 1)
        monitor.count("messages_threaded")
    return tickets + customers + messages


def drive_lag_collector(registry: CollectorRegistry, n: int) -> None:
    collector = LagCollector()
    registry.register(collector)
    groups = ("ticketstream-worker", "ticketstream-projector", "ticketstream-outbound")
    for i in range(0, n, 100):  # one poll per 100 tickets
        lags = tuple(
            PartitionLag(g, t, p, i, i + 5)
            for g in groups
            for t in TOPICS
            for p in range(PARTITIONS)
        )
        ends = {(t, p): i + 5 for t in TOPICS for p in range(PARTITIONS)}
        collector.update(LagSnapshot(float(i), True, lags, ends))


def series_after(n: int) -> tuple[int, list[str], list[str]]:
    registry = CollectorRegistry()
    used_ids = drive_faust_sensor(registry, n)
    drive_lag_collector(registry, n)
    sets = label_sets(registry)
    return sets.series, id_leaks(sets, used_ids), widest_labels(sets, limit=50)


def test_ten_thousand_tickets_create_no_per_ticket_customer_or_message_series() -> None:
    series, leaks, wide = series_after(TICKETS)
    assert leaks == []
    assert wide == []
    small_series, _, _ = series_after(100)
    # Same label sets whether 100 or 10,000 tickets went through: nothing grows with tickets.
    assert series == small_series


def test_the_guard_catches_a_per_ticket_label() -> None:
    from prometheus_client import Counter

    registry = CollectorRegistry()
    bad = Counter("ticketstream_bad_total", "x", ["ticket", "channel"], registry=registry)
    tickets, _, _ = ids(200)
    for t in tickets:
        bad.labels(ticket=t, channel="line").inc()
    sets = label_sets(registry)
    assert id_leaks(sets, tickets) == [
        "ticketstream_bad{ticket} carries ids, e.g. ['T-000000', 'T-000001', 'T-000002']"
    ]
    assert widest_labels(sets, limit=50) == ["ticketstream_bad{ticket}: 200 values"]
