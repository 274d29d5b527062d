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


class FakeTable:
    def __init__(self, name: str) -> None:
        self.name = name


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def collected(registry: CollectorRegistry) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for m in registry.collect()
        for s in m.samples
        if not s.name.endswith(("_sum", "_created")) and not s.labels.get("le")
    }


def samples(monitor_cls: type) -> list[Samples]:
    """What the registry shows after each of two rounds of hooks (the second round's updates
    reach it only when it is collected again)."""
    registry = CollectorRegistry()
    monitor = monitor_cls(metrics=FaustMetrics.create(registry, "t"))
    a, b = TP("support.channel.messages.v1", 0), TP("support.tickets.commands.v1", 3)
    streams = {a: stream(a.topic), b: stream(b.topic)}
    tickets = FakeTable("tickets")
    out = []
    for tps in ([a, b, a, a, b], [b, a, b]):
        for offset, tp in enumerate(tps, start=len(out) * 10):
            monitor.track_tp_end_offset(tp, offset + 5)
            message = types.SimpleNamespace(time_in=None)
            monitor.on_message_in(tp, offset, message)
            state = monitor.on_stream_event_in(tp, offset, streams[tp], None)
            monitor.on_table_get(tickets, "k")
            monitor.on_table_set(tickets, "k", 1)
            monitor.on_stream_event_out(tp, offset, streams[tp], None, state)
            monitor.on_message_out(tp, offset, message)
        monitor.on_message_in(a, 7, types.SimpleNamespace(time_in=None))  # one still in flight
        monitor.on_table_del(tickets, "k")
        out.append(collected(registry))
    return out


def test_lean_monitor_records_what_faust_monitor_records() -> None:
    lean_rounds, stock_rounds = samples(LeanPrometheusMonitor), samples(PrometheusMonitor)
    assert lean_rounds == stock_rounds
    lean, later = lean_rounds
    assert lean[("t_messages_received_total", ())] == 6.0
    assert lean[("t_active_messages", ())] == 1.0
    assert lean[("t_events_runtime_ms_count", ())] == 5.0
    key = ("t_messages_received_per_topics_partition", (("partition", "0"),
           ("topic", "support.channel.messages.v1")))  # fmt: skip
    assert lean[key] == 7.0
    end = ("t_topic_partition_end_offset", (("partition", "3"),
           ("topic", "support.tickets.commands.v1")))  # fmt: skip
    assert lean[end] == 9.0 and later[end] == 17.0
    gets = (
        "t_table_operations_total",
        (("operation", "keys_retrieved"), ("table", "table.tickets")),
    )
    assert lean[gets] == 5.0 and later[gets] == 8.0
    assert later[("t_messages_received_total", ())] == 10.0
    assert later[("t_active_messages", ())] == 2.0


def test_setup_installs_the_lean_monitor() -> None:
    from ticketstream.observability.faust_sensor import setup_faust_metrics

    app = faust.App("lean-sensor-test", broker="kafka://127.0.0.1:1", web_enabled=False)
    setup_faust_metrics(app, CollectorRegistry())
    assert isinstance(app.monitor, LeanPrometheusMonitor)
