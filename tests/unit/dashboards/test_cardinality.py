"""Cardinality: 10,000 tickets' worth of metric updates create no series per ticket, customer
or message, and the series count does not grow with the number of tickets."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from ticketstream.observability.cardinality import id_leaks, label_sets, widest_labels
from ticketstream.observability.lag import LagCollector, LagSnapshot, PartitionLag

from .drivers import PARTITIONS, TOPICS, FaustDriver, faust_monitor, ids

TICKETS = 10_000


def drive_faust_sensor(registry: CollectorRegistry, n: int) -> list[str]:
    """Every hook Faust's monitor calls per message, once per ticket message."""
    return FaustDriver(faust_monitor(registry, f"cardinality-{n}")).drive(n)


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
