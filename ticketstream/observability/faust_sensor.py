"""Faust's own Prometheus sensor, wired the Ticketstream way.

``setup_faust_metrics`` does what ``faust.sensors.prometheus.setup_prometheus_sensors``
(faust-streaming 0.15) does — installs a Prometheus monitor as ``app.monitor`` and adds a
``/metrics`` page to the worker's web server (``--web-port``, Settings.worker_web_port) that
renders the given registry — with ``LeanPrometheusMonitor`` instead of Faust's
``PrometheusMonitor``. We pass the process-wide ``REGISTRY`` so the page also shows the metrics
the agents define in ``streams/metrics.py`` and ``streams/sla/metrics.py``: one scrape target per
worker.

Names get the prefix ``ticketstream_faust_`` (Faust would use the app id, which is persistent
API and may change per deployment). Faust observes its latencies in *milliseconds* into
histograms with millisecond buckets (names end in ``_ms``/``_latency``); its label values are
topics, partitions, table names, stream names and HTTP status codes: bounded sets, no ids.
Checked against prometheus-client 0.26 in tests/unit/dashboards/test_faust_sensor.py.
"""

from __future__ import annotations

from time import monotonic
from typing import Any

from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from prometheus_client import REGISTRY, CollectorRegistry

from ticketstream.observability.tally import (
    CountTally,
    LastTally,
    counted,
    flush,
    last_set,
    timed,
)

__all__ = ["FAUST_METRIC_PREFIX", "LeanPrometheusMonitor", "setup_faust_metrics"]

FAUST_METRIC_PREFIX = "ticketstream_faust"


class LeanPrometheusMonitor(PrometheusMonitor):
    """Faust's ``PrometheusMonitor`` with cheaper per-event hooks (same metrics, same labels).

    Faust calls five hooks for every record (end offset, message in, stream event in/out,
    message out) and one per table read or write. The stock monitor resolves its labelled
    children on each call (``labels()`` checks and looks up its arguments, ~3 µs), renders the
    stream label with a regex per event, updates each metric under prometheus-client's lock and
    keeps the in-memory ``Monitor`` bookkeeping (per-topic and per-stream dicts, a runtime
    deque) that only Faust's ``/stats`` page reads: ~13 µs a record. Here the children are kept
    per topic / partition / stream / table (small, fixed sets), only the totals of that
    bookkeeping are counted, and the updates are tallies (``ticketstream.observability.tally``:
    plain numbers added to the children whenever one of these metrics is collected, whatever
    the registry): ~3 µs a record."""

    def __init__(self, metrics: FaustMetrics, **kwargs: Any) -> None:
        super().__init__(metrics, **kwargs)
        m = metrics
        self._received = counted(m.messages_received)
        self._active = counted(m.active_messages)
        self._events = counted(m.total_events)
        self._active_events = counted(m.total_active_events)
        self._runtime = timed(m.events_runtime_latency)
        self._per_topic: dict[str, CountTally] = {}
        self._per_tp: dict[Any, LastTally] = {}
        self._end_offsets: dict[Any, LastTally] = {}
        self._per_stream: dict[Any, CountTally] = {}
        self._table_ops: dict[tuple[str, str], CountTally] = {}
        for metric in (
            m.messages_received,
            m.active_messages,
            m.messages_received_per_topics,
            m.messages_received_per_topics_partition,
            m.topic_partition_end_offset,
            m.total_events,
            m.total_active_events,
            m.total_events_per_stream,
            m.events_runtime_latency,
            m.table_operations,
        ):
            _flush_before_collect(metric)

    def track_tp_end_offset(self, tp: Any, offset: int) -> None:
        self.tp_end_offsets[tp] = offset  # Monitor's (its /stats page)
        tally = self._end_offsets.get(tp)
        if tally is None:
            tally = self._end_offsets[tp] = last_set(
                self._metrics.topic_partition_end_offset.labels(
                    topic=tp.topic, partition=tp.partition
                )
            )
        tally.set(offset)

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        self.messages_received_total += 1
        self._received.total += 1
        self._active.total += 1
        topic = self._per_topic.get(tp.topic)
        if topic is None:
            topic = self._per_topic[tp.topic] = counted(
                self._metrics.messages_received_per_topics.labels(topic=tp.topic)
            )
        topic.total += 1
        partition = self._per_tp.get(tp)
        if partition is None:
            partition = self._per_tp[tp] = last_set(
                self._metrics.messages_received_per_topics_partition.labels(
                    topic=tp.topic, partition=tp.partition
                )
            )
        partition.value = offset

    def on_stream_event_in(
        self, tp: Any, offset: int, stream: Any, event: Any
    ) -> dict[str, Any] | None:
        self.events_total += 1
        self._events.total += 1
        self._active_events.total += 1
        child = self._per_stream.get(stream)
        if child is None:
            label = f"stream.{self._stream_label(stream)}.events"
            child = self._per_stream[stream] = counted(
                self._metrics.total_events_per_stream.labels(stream=label)
            )
        child.total += 1
        return {"time_in": monotonic()}

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: dict[str, Any] | None = None
    ) -> None:
        self._active_events.total -= 1
        if state is not None:
            self._runtime.observe(1000.0 * (monotonic() - state["time_in"]))

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        self._active.total -= 1

    def _table_op(self, table: Any, operation: str) -> None:
        key = (table.name, operation)
        tally = self._table_ops.get(key)
        if tally is None:
            tally = self._table_ops[key] = counted(
                self._metrics.table_operations.labels(
                    table=f"table.{table.name}", operation=operation
                )
            )
        tally.total += 1

    def on_table_get(self, table: Any, key: Any) -> None:
        self._table_or_create(table).keys_retrieved += 1  # Monitor's (its /stats page)
        self._table_op(table, self.KEYS_RETRIEVED)

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        self._table_or_create(table).keys_updated += 1
        self._table_op(table, self.KEYS_UPDATED)

    def on_table_del(self, table: Any, key: Any) -> None:
        self._table_or_create(table).keys_deleted += 1
        self._table_op(table, self.KEYS_DELETED)


def _flush_before_collect(metric: Any) -> None:
    """Make ``metric`` add the pending tallies to its children each time a registry collects
    it: the default registry flushes first anyway; a registry of its own (tests, embedding)
    would otherwise read the children before the tallies reach them."""
    collect = metric.collect

    def flushed_collect() -> Any:
        flush()
        return collect()

    metric.collect = flushed_collect


def setup_faust_metrics(
    app: Any,
    registry: CollectorRegistry = REGISTRY,
    *,
    path: str = "/metrics",
    name_prefix: str = FAUST_METRIC_PREFIX,
) -> None:
    """Install ``LeanPrometheusMonitor`` on ``app`` and serve ``registry`` at ``path`` on the
    worker's web server. Call once, right after creating the ``faust.App`` (before the worker
    starts). Raises ``ValueError`` (from prometheus-client) if called twice on one registry."""
    from aiohttp.web import Response
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    prefix = name_prefix.replace("-", "_").replace(".", "_")  # as Faust's own setup does
    app.monitor = LeanPrometheusMonitor(metrics=FaustMetrics.create(registry, prefix))

    @app.page(path)  # type: ignore[untyped-decorator]
    async def metrics_handler(self: Any, request: Any) -> Any:
        body = generate_latest(registry)
        return Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST}, status=200)
