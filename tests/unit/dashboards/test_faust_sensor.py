"""Faust's Prometheus sensor works with prometheus-client 0.26 and keeps label sets bounded."""

from __future__ import annotations

import types

import faust
from faust.types import TP
from prometheus_client import CollectorRegistry

from ticketstream.observability.faust_sensor import setup_faust_metrics


def test_faust_sensor_counts_messages_per_topic_into_our_registry() -> None:
    app = faust.App("sensor-test", broker="kafka://127.0.0.1:1", web_enabled=False)
    registry = CollectorRegistry()
    setup_faust_metrics(app, registry)
    monitor = app.monitor
    tp = TP("support.tickets.events.v1", 3)
    for offset in range(5):
        monitor.on_message_in(tp, offset, types.SimpleNamespace())  # type: ignore[arg-type]
    monitor.track_tp_end_offset(tp, 9)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for m in registry.collect()
        for s in m.samples
    }
    assert samples[("ticketstream_faust_messages_received_total", ())] == 5.0
    assert (
        samples[
            (
                "ticketstream_faust_messages_received_per_topic_total",
                (("topic", "support.tickets.events.v1"),),
            )
        ]
        == 5.0
    )
    assert (
        samples[
            (
                "ticketstream_faust_topic_partition_end_offset",
                (("partition", "3"), ("topic", "support.tickets.events.v1")),
            )
        ]
        == 9.0
    )
