"""Settings of the SLA engine (prefix ``TICKETSTREAM_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

from streams.domain.sla.policy import DEFAULT_POLICIES_PATH
from ticketstream.settings import settings_config


class SlaSettings(BaseSettings):
    model_config = settings_config()

    sla_clock: Literal["wall", "simulated"] = Field(
        "wall",
        description="wall: the leader produces one SlaTick per partition per interval from the "
        "wall clock; simulated: ticks come from a simulation/backfill (ticketstream sla tick)",
    )
    sla_tick_interval_seconds: float = Field(
        0.5, gt=0, le=60, description="Wall-clock tick period (0.5 s keeps firing lag p99 < 1 s)"
    )
    sla_policies_path: Path = Field(
        DEFAULT_POLICIES_PATH, description="Policy file used until an UpdateSlaPolicies command"
    )
