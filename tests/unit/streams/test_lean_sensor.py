"""``LeanPrometheusMonitor`` records exactly what Faust's ``PrometheusMonitor`` records for the
per-record hooks (same metric names, labels and values), into the registry it is given."""

from __future__ import annotations

import types
from typing import Any

import faust
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.types import TP
from prometheus_client import CollectorRegistry

from ticketstream.observability.faust_sensor import LeanPrometheusMonitor


class Owner:  # a stream's task owner (Faust keeps weak references to it)
    pass


class FakeStream:  # what the monitors read of a stream (hashable, as Faust's streams are)
    def __init__(self, label: str) -> None:
        self.shortlabel = f"Stream: Topic: {label}"
        self.task_owner = Owner()


def stream(label: str) -> Any:
    return FakeStream(label)


def samples(monitor_cls: type) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    monitor = monitor_cls(metrics=FaustMetrics.create(registry, "t"))
    a, b = TP("support.channel.messages.v1", 0), TP("support.tickets.commands.v1", 3)
    streams = {a: stream(a.topic), b: stream(b.topic)}
    for offset, tp in enumerate([a, b, a, a, b]):
        message = types.SimpleNamespace(time_in=None)
        monitor.on_message_in(tp, offset, message)
        state = monitor.on_stream_event_in(tp, offset, streams[tp], None)
        monitor.on_stream_event_out(tp, offset, streams[tp], None, state)
        monitor.on_message_out(tp, offset, message)
    monitor.on_message_in(a, 7, types.SimpleNamespace(time_in=None))  # one still in flight
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for m in registry.collect()
        for s in m.samples
        if not s.name.endswith(("_sum", "_created")) and not s.labels.get("le")
    }


def test_lean_monitor_records_what_faust_monitor_records() -> None:
    lean, stock = samples(LeanPrometheusMonitor), samples(PrometheusMonitor)
    assert lean == stock
    assert lean[("t_messages_received_total", ())] == 6.0
    assert lean[("t_active_messages", ())] == 1.0
    assert lean[("t_events_runtime_ms_count", ())] == 5.0
    key = ("t_messages_received_per_topics_partition", (("partition", "0"),
           ("topic", "support.channel.messages.v1")))  # fmt: skip
    assert lean[key] == 7.0


def test_setup_installs_the_lean_monitor() -> None:
    from ticketstream.observability.faust_sensor import setup_faust_metrics

    app = faust.App("lean-sensor-test", broker="kafka://127.0.0.1:1", web_enabled=False)
    setup_faust_metrics(app, CollectorRegistry())
    assert isinstance(app.monitor, LeanPrometheusMonitor)
