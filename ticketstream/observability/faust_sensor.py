"""Faust's own Prometheus sensor, wired the Ticketstream way.

``faust.sensors.prometheus.setup_prometheus_sensors`` (faust-streaming 0.15) installs a
``PrometheusMonitor`` as ``app.monitor`` and adds a ``/metrics`` page to the worker's web
server (``--web-port``, Settings.worker_web_port) that renders the given registry. We pass the
process-wide ``REGISTRY`` so the page also shows the metrics the agents define in
``streams/metrics.py`` and ``streams/sla/metrics.py``: one scrape target per worker.

Names get the prefix ``ticketstream_faust_`` (Faust would use the app id, which is persistent
API and may change per deployment). Faust observes its latencies in *milliseconds* into
histograms with millisecond buckets (names end in ``_ms``/``_latency``); its label values are
topics, partitions, table names, stream names and HTTP status codes: bounded sets, no ids.
Checked against prometheus-client 0.26 in tests/unit/dashboards/test_faust_sensor.py.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry

__all__ = ["FAUST_METRIC_PREFIX", "setup_faust_metrics"]

FAUST_METRIC_PREFIX = "ticketstream_faust"


def setup_faust_metrics(
    app: Any,
    registry: CollectorRegistry = REGISTRY,
    *,
    path: str = "/metrics",
    name_prefix: str = FAUST_METRIC_PREFIX,
) -> None:
    """Install Faust's Prometheus monitor on ``app`` and serve ``registry`` at ``path`` on the
    worker's web server. Call once, right after creating the ``faust.App`` (before the worker
    starts). Raises ``ValueError`` (from prometheus-client) if called twice on one registry."""
    from faust.sensors.prometheus import setup_prometheus_sensors

    setup_prometheus_sensors(app, pattern=path, registry=registry, name_prefix=name_prefix)
