"""Which time the outbound sender judges the platforms' windows at (OUTBOUND_CLOCK)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from connectors.outbound.worker import reply_clock
from connectors.settings import ConnectorSettings
from schemas.records import Actor, ActorKind, AgentReplied, Channel, Envelope

WALL = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
REPLIED = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)  # simulated: a week before the wall clock


def reply() -> AgentReplied:
    return AgentReplied(
        Envelope("ev-r-1", REPLIED, WALL, "T-1", 4, "cmd-1", "corr-1",
                 Actor(ActorKind.AGENT, "a1"), "acme"),
        "T-1", "r-1", "a1", Channel.WHATSAPP, "whatsapp:acct:conv", "acct", "conv", "user", "hi",
    )  # fmt: skip


def test_wall_mode_sends_by_the_wall_clock_and_event_mode_by_the_replys_time() -> None:
    assert reply_clock("wall", reply(), lambda: WALL)() == WALL
    assert reply_clock("event", reply(), lambda: WALL)() == REPLIED


def test_the_setting_defaults_to_the_wall_clock_and_rejects_other_values() -> None:
    assert ConnectorSettings().outbound_clock == "wall"  # type: ignore[call-arg]
    assert ConnectorSettings(outbound_clock="event").outbound_clock == "event"  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="outbound_clock"):
        ConnectorSettings(outbound_clock="simulated")  # type: ignore[call-arg]
