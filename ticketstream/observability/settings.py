"""Settings of the exporters (``ticketstream lag-exporter``) and the /metrics ports of the
services that have no HTTP server of their own (outbound worker, e-mail poller), prefix
``TICKETSTREAM_``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from ticketstream.settings import settings_config


class ObservabilitySettings(BaseSettings):
    model_config = settings_config()

    lag_exporter_port: int = Field(
        9466, ge=0, le=65535, description="Port of the lag exporter's /metrics"
    )
    lag_exporter_interval_seconds: float = Field(
        10.0, gt=0, description="Seconds between two polls of Kafka offsets and ClickHouse"
    )
    lag_exporter_group_pattern: str = Field(
        ".*", description="Regex (full match) of the consumer groups whose lag is exported"
    )
    freshness_tables: str = Field(
        "events:occurred_at",
        description="ClickHouse tables and event-time columns for projection freshness, "
        "'table:column,…' (empty = only check that ClickHouse answers)",
    )
    outbound_metrics_port: int = Field(
        9467, ge=0, le=65535, description="Port of the outbound worker's /metrics"
    )
    email_poll_metrics_port: int = Field(
        9468, ge=0, le=65535, description="Port of the e-mail poller's /metrics"
    )
