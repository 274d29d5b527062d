"""Drive metric code with ticket-shaped activity (shared by the cardinality test and the
dashboard integration tests). No I/O."""

from __future__ import annotations

import types
from collections.abc import Iterable

from faust.types import TP
from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

TOPICS = (
    "support.channel.messages.v1",
    "support.tickets.events.v1",
    "support.sla.events.v1",
    "support.sla.ticks.v1",
)
PARTITIONS = 6


def ids(n: int, start: int = 0) -> tuple[list[str], list[str], list[str]]:
    tickets = [f"T-{i:06d}" for i in range(start, start + n)]
    customers = [f"C-{i // 2:06d}" for i in range(start, start + n)]
    messages = [f"M-{i:06d}-0" for i in range(start, start + n)]
    return tickets, customers, messages


class _Named:
    """Anything Faust's monitor reads a ``name`` from (tables) or weak-references (tasks)."""

    def __init__(self, name: str) -> None:
        self.name = name


class _Stream:
    shortlabel = "Stream: support.tickets.events.v1"

    def __init__(self) -> None:
        self.task_owner = _Named("handle_ticket_commands")


class FaustDriver:
    """Feeds Faust's PrometheusMonitor the hooks a worker calls per message."""

    def __init__(self, monitor: object) -> None:
        self.monitor = monitor
        self.stream = _Stream()
        self.tables = (_Named("tickets"), _Named("conversations"), _Named("sla_timers"))
        self.offset = 0

    def drive(self, n: int) -> list[str]:
        """Process ``n`` tickets' messages; return every ticket/customer/message id used."""
        m: object = self.monitor
        tickets, customers, messages = ids(n, self.offset)
        for i, ticket in enumerate(tickets):
            self.offset += 1
            tp = TP(TOPICS[i % len(TOPICS)], i % PARTITIONS)
            message = types.SimpleNamespace()
            m.on_message_in(tp, self.offset, message)  # type: ignore[attr-defined]
            state = m.on_stream_event_in(tp, self.offset, self.stream, object())  # type: ignore[attr-defined]
            for table in self.tables:
                m.on_table_get(table, ticket)  # type: ignore[attr-defined]
                m.on_table_set(table, ticket, {"customer": customers[i]})  # type: ignore[attr-defined]
            m.on_stream_event_out(tp, self.offset, self.stream, object(), state)  # type: ignore[attr-defined]
            m.on_message_out(tp, self.offset, message)  # type: ignore[attr-defined]
            sent = m.on_send_initiated(None, TOPICS[1], messages[i], 10, 100)  # type: ignore[attr-defined]
            m.on_send_completed(None, sent, None)  # type: ignore[attr-defined]
            m.track_tp_end_offset(tp, self.offset)  # type: ignore[attr-defined]
            m.count("messages_threaded")  # type: ignore[attr-defined]
        return tickets + customers + messages


def faust_monitor(registry: CollectorRegistry, app_id: str = "drivers") -> object:
    import faust

    from ticketstream.observability.faust_sensor import setup_faust_metrics

    app = faust.App(app_id, broker="kafka://127.0.0.1:1", web_enabled=False)
    setup_faust_metrics(app, registry)
    return app.monitor


def touch_metrics(metrics: Iterable[MetricWrapperBase], label_value: str = "x") -> None:
    """Give every metric one child and one observation (shape-only activity for metrics whose
    service code is not running in the test)."""
    for metric in metrics:
        names = metric._labelnames  # type: ignore[attr-defined]
        child = metric.labels(*[label_value] * len(names)) if names else metric
        if metric._type == "counter":  # type: ignore[attr-defined]
            child.inc()  # type: ignore[attr-defined]
        elif metric._type == "gauge":  # type: ignore[attr-defined]
            child.set(1)  # type: ignore[attr-defined]
        elif metric._type in {"histogram", "summary"}:  # type: ignore[attr-defined]
            child.observe(0.1)  # type: ignore[attr-defined]
