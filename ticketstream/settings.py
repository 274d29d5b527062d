"""Settings shared by every Ticketstream process.

Values come, highest priority first, from environment variables prefixed ``TICKETSTREAM_``
(e.g. ``TICKETSTREAM_KAFKA_BOOTSTRAP``), then from the optional file named by
``TICKETSTREAM_ENV_FILE`` (default ``ticketstream.env`` in the working directory, dotenv
syntax), then from the defaults below. They are validated when a process starts; an invalid
value stops it with a message naming the variable, the value and what is allowed.

Packages with their own settings (connectors' channel secrets, …) define their own
``BaseSettings`` subclasses with the same prefix and file, in their own modules.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "TICKETSTREAM_"


def env_file() -> str:
    """Path of the optional settings file (dotenv syntax)."""
    return os.environ.get(f"{ENV_PREFIX}ENV_FILE", "ticketstream.env")


def settings_config() -> SettingsConfigDict:
    """The pydantic-settings config every Ticketstream settings class uses."""
    return SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=env_file(),
        env_file_encoding="utf-8",
        extra="ignore",
    )


class Settings(BaseSettings):
    """Core settings: where Kafka, ClickHouse and Prometheus are, and the local stack's layout."""

    model_config = settings_config()

    # --- Kafka
    kafka_bootstrap: str = Field(
        "127.0.0.1:19092", description="Kafka bootstrap servers, host:port[,…]"
    )
    schema_registry_url: str | None = Field(
        None,
        description="Confluent schema registry URL; when set, records use the Confluent wire format",
    )
    tenant_id: str = Field(
        "default", description="Tenant written on events when a caller gives none"
    )

    # --- ClickHouse
    clickhouse_host: str = Field("127.0.0.1", description="ClickHouse host (native protocol)")
    clickhouse_port: int = Field(19000, ge=1, le=65535, description="ClickHouse native TCP port")
    clickhouse_http_port: int = Field(18123, ge=1, le=65535, description="ClickHouse HTTP port")
    clickhouse_database: str = Field(
        "ticketstream",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="ClickHouse database of the projections",
    )
    clickhouse_user: str = Field("default", description="ClickHouse user of the services")
    clickhouse_password: str = Field(
        "", repr=False, description="Password of TICKETSTREAM_CLICKHOUSE_USER"
    )

    # --- Local stack (ticketstream dev …)
    stack_dir: Path = Field(
        REPO_ROOT / "var" / "stack", description="Data, logs and pid files of the local stack"
    )
    cache_dir: Path = Field(
        REPO_ROOT / ".cache", description="Downloaded Kafka jars and other caches"
    )
    kafka_controller_port: int = Field(
        19093, ge=1, le=65535, description="Local stack: Kafka's KRaft controller port"
    )
    kafka_heap: str = Field(
        "512m", pattern=r"^[0-9]+[mMgG]$", description="Kafka JVM heap (-Xmx/-Xms)"
    )
    kafka_version: str = Field(
        "3.9.2",
        pattern=r"^3\.9\.[0-9]+$",
        description="Apache Kafka version fetched from Maven Central for the local stack",
    )
    maven: str = Field("mvn", description="The Maven executable that fetches the Kafka jars")
    maven_repo_local: Path | None = Field(
        None, description="Maven local repository (-Dmaven.repo.local); empty = Maven's default"
    )
    clickhouse_analyst_user: str = Field(
        "analyst", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Read-only ClickHouse user"
    )
    clickhouse_analyst_password: str = Field(
        "analyst", repr=False, description="Password of the read-only ClickHouse user"
    )
    prometheus_port: int = Field(19090, ge=1, le=65535, description="Prometheus HTTP port")
    prometheus_scrape_interval: str = Field(
        "5s", pattern=r"^[0-9]+(ms|s|m)$", description="Prometheus scrape/evaluation interval"
    )
    java: str = Field("java", description="The java executable for Kafka")
    stack_start_timeout: float = Field(
        120.0, gt=0, description="Seconds `dev up` waits for each server's first round trip"
    )

    # --- Service ports (each exposes /metrics)
    gateway_port: int = Field(8080, ge=1, le=65535, description="Channel gateway HTTP port")
    worker_web_port: int = Field(
        6066, ge=1, le=65535, description="Faust worker web port (read API, /metrics)"
    )
    projector_metrics_port: int = Field(9465, ge=1, le=65535, description="Projector /metrics port")

    @property
    def kafka_port(self) -> int:
        return int(self.kafka_bootstrap.split(",")[0].rsplit(":", 1)[1])

    @property
    def prometheus_url(self) -> str:
        """Base URL of the local stack's Prometheus (no trailing slash)."""
        return f"http://127.0.0.1:{self.prometheus_port}"


class SettingsError(Exception):
    """Settings failed validation; the message names each bad variable and what is allowed."""


def describe_validation_error(exc: ValidationError, prefix: str = ENV_PREFIX) -> str:
    """Turn a pydantic ValidationError into lines naming the environment variable at fault."""
    lines = []
    for err in exc.errors():
        name = prefix + "_".join(str(p) for p in err["loc"]).upper()
        value = err.get("input")
        lines.append(f"{name}={value!r}: {err['msg']}")
    return "invalid settings:\n  " + "\n  ".join(lines)


def load_settings() -> Settings:
    """Load and validate the core settings; raise SettingsError with actionable lines."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None
