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

__all__ = ["FAUST_METRIC_PREFIX", "LeanPrometheusMonitor", "setup_faust_metrics"]

FAUST_METRIC_PREFIX = "ticketstream_faust"


class LeanPrometheusMonitor(PrometheusMonitor):
    """Faust's ``PrometheusMonitor`` with cheaper per-event hooks (same metrics, same labels).

    Faust calls four hooks for every record (message in, stream event in/out, message out).
    The stock monitor resolves its labelled children on each call (``labels()`` checks and looks
    up its arguments, ~3 µs), renders the stream label with a regex per event, and keeps the
    in-memory ``Monitor`` bookkeeping (per-topic and per-stream dicts, a runtime deque) that
    only Faust's ``/stats`` page reads: together a measurable share of the stream worker's time
    per message. Here the children are kept per topic / partition / stream (small, fixed sets)
    and only the totals of that bookkeeping are counted."""

    def __init__(self, metrics: FaustMetrics, **kwargs: Any) -> None:
        super().__init__(metrics, **kwargs)
        self._per_topic: dict[str, Any] = {}
        self._per_tp: dict[Any, Any] = {}
        self._per_stream: dict[Any, Any] = {}

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        self.messages_received_total += 1
        m = self._metrics
        m.messages_received.inc()
        m.active_messages.inc()
        topic = self._per_topic.get(tp.topic)
        if topic is None:
            topic = self._per_topic[tp.topic] = m.messages_received_per_topics.labels(
                topic=tp.topic
            )
        topic.inc()
        partition = self._per_tp.get(tp)
        if partition is None:
            partition = self._per_tp[tp] = m.messages_received_per_topics_partition.labels(
                topic=tp.topic, partition=tp.partition
            )
        partition.set(offset)

    def on_stream_event_in(
        self, tp: Any, offset: int, stream: Any, event: Any
    ) -> dict[str, Any] | None:
        self.events_total += 1
        m = self._metrics
        m.total_events.inc()
        m.total_active_events.inc()
        child = self._per_stream.get(stream)
        if child is None:
            label = f"stream.{self._stream_label(stream)}.events"
            child = self._per_stream[stream] = m.total_events_per_stream.labels(stream=label)
        child.inc()
        return {"time_in": monotonic()}

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: dict[str, Any] | None = None
    ) -> None:
        m = self._metrics
        m.total_active_events.dec()
        if state is not None:
            m.events_runtime_latency.observe(1000.0 * (monotonic() - state["time_in"]))

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        self._metrics.active_messages.dec()


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
