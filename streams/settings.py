"""Settings of the Faust worker (prefix ``TICKETSTREAM_``, same env file as the core settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings

from ticketstream.settings import (
    REPO_ROOT,
    SettingsError,
    describe_validation_error,
    settings_config,
)


class StreamsSettings(BaseSettings):
    """Worker settings. The app id and topic names are persistent API (changelog topics carry
    them): change them only as a migration."""

    model_config = settings_config()

    streams_app_id: str = Field(
        "ticketstream",
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Faust app id = consumer group and changelog topic prefix (persistent API)",
    )
    streams_topic_prefix: str = Field(
        "", pattern=r"^[A-Za-z0-9_.-]*$", description="Prefix on every topic name (tests, tenants)"
    )
    streams_store: Literal["memory", "rocksdict"] = Field(
        "rocksdict", description="Table store: rocksdict (large state, on disk) or memory"
    )
    streams_datadir: Path | None = Field(
        None,
        description="Worker data dir (one per worker); default var/streams/worker-<web port>",
    )
    streams_topic_partitions: int = Field(
        4, ge=1, le=1024, description="Partitions of the topics and tables the worker creates"
    )
    streams_replication_factor: int = Field(
        1, ge=1, le=16, description="Replication factor of the topics the worker creates"
    )
    streams_session_timeout_seconds: float = Field(
        30.0, ge=6, le=300, description="Seconds before a silent worker's partitions move to others"
    )
    streams_producer_linger_ms: float = Field(
        5.0, ge=0, le=1000, description="Producer batching delay in milliseconds"
    )
    streams_state_cache_entries: int = Field(
        100_000,
        ge=1_000,
        le=10_000_000,
        description="Table values kept unpickled in memory (~2 KB each): at least the keys "
        "(conversations + tickets) the worker's partitions touch in a few minutes",
    )
    streams_agents: str = Field(
        "",
        pattern=r"^[a-z0-9_,]*$",
        description="Agent modules of streams/agents to load, comma-separated (empty: all)",
    )
    streams_reassign_on_away: bool = Field(
        True, description="Reassign an agent's open tickets when they go away (offline: always)"
    )
    streams_reassign_on_offline: bool = Field(
        True, description="Reassign an agent's open tickets when they go offline"
    )
    streams_routing_strategy: Literal["round_robin", "least_loaded", "skills_first"] = Field(
        "skills_first", description="How the router picks an agent among those eligible"
    )
    streams_api_tokens: str = Field(
        "",
        repr=False,
        description="HTTP API tokens, 'token:role,token:role' (roles agent|supervisor|admin|integration)",
    )
    streams_api_tokens_file: Path | None = Field(
        None, description="File with one 'token role' per line (adds to STREAMS_API_TOKENS)"
    )
    streams_max_body_bytes: int = Field(
        65536, ge=1024, description="Largest HTTP command body accepted, in bytes"
    )

    def datadir(self, web_port: int) -> Path:
        """The data dir of the worker serving on ``web_port``."""
        if self.streams_datadir is not None:
            return self.streams_datadir
        return REPO_ROOT / "var" / "streams" / f"worker-{web_port}"

    def topic(self, name: str) -> str:
        """The real topic name of a ``schemas.topics`` name."""
        return f"{self.streams_topic_prefix}{name}"


def load_streams_settings() -> StreamsSettings:
    """Load and validate the worker settings; raise SettingsError naming the bad variable."""
    try:
        return StreamsSettings()
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None
