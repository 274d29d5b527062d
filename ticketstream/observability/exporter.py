"""The lag exporter process: polls Kafka offsets and ClickHouse freshness on an interval and
serves the results on ``/metrics`` (``ticketstream lag-exporter``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from ticketstream.observability.freshness import (
    ClickHouseFreshnessReader,
    FreshnessCollector,
    parse_tables,
)
from ticketstream.observability.http import MetricsServer, serve_metrics
from ticketstream.observability.lag import KafkaLagReader, LagCollector
from ticketstream.observability.settings import ObservabilitySettings
from ticketstream.settings import Settings

log = logging.getLogger(__name__)


class Exporter:
    """Owns the readers, the collectors and their registry; :meth:`poll_once` refreshes both."""

    def __init__(self, settings: Settings, obs: ObservabilitySettings) -> None:
        self.registry = CollectorRegistry()
        self.lag_reader = KafkaLagReader(
            settings.kafka_bootstrap, group_pattern=obs.lag_exporter_group_pattern
        )
        self.fresh_reader = ClickHouseFreshnessReader(
            host=settings.clickhouse_host,
            port=settings.clickhouse_port,
            database=settings.clickhouse_database,
            user=settings.clickhouse_user,
            password=settings.clickhouse_password,
            tables=parse_tables(obs.freshness_tables),
        )
        self.lag = LagCollector()
        self.freshness = FreshnessCollector()
        self.registry.register(self.lag)
        self.registry.register(self.freshness)

    def poll_once(self) -> None:
        self.lag.update(self.lag_reader.read())
        self.freshness.update(self.fresh_reader.read())

    def close(self) -> None:
        self.lag_reader.close()
        self.fresh_reader.close()


def run(
    settings: Settings,
    obs: ObservabilitySettings,
    stop: threading.Event,
    *,
    addr: str = "0.0.0.0",
    on_ready: Callable[[int], None] | None = None,
) -> None:
    """Serve until ``stop`` is set. ``on_ready(port)`` is called once /metrics answers and the
    first poll has finished (``port`` is the bound port, useful with port 0)."""
    exporter = Exporter(settings, obs)
    server: MetricsServer = serve_metrics(obs.lag_exporter_port, addr, exporter.registry)
    log.info("lag exporter: /metrics on %s:%d", addr, server.port)
    try:
        exporter.poll_once()
        if on_ready is not None:
            on_ready(server.port)
        while not stop.wait(obs.lag_exporter_interval_seconds):
            exporter.poll_once()
    finally:
        server.close()
        exporter.close()
