"""What a simulation is asked to do (``SimConfig``) and where it sends the load (``Endpoints``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from schemas.records import Channel

# Tickets per simulated week of each preset (the issue: Tesco ≈ 40,000 tickets a week).
PRESETS: dict[str, int] = {"tesco": 40_000, "x10": 400_000, "x100": 4_000_000}

# Monday 2026-11-16 00:00 in Bangkok: a week that starts on a Monday night-time trough.
DEFAULT_START = datetime(2026, 11, 15, 17, 0, tzinfo=UTC)


class SimConfigError(ValueError):
    """A SimConfig or Endpoints value that cannot work; the message says which and why."""


class SimulationError(RuntimeError):
    """The run could not proceed (endpoint down, token refused, …); the message says what."""


@dataclass(frozen=True, slots=True)
class SimConfig:
    """One simulation run.

    ``compression`` = simulated seconds per wall second (a week in 10 minutes ≈ 1,008).
    ``tickets_per_week`` overrides the preset's volume (tests use small numbers). ``start`` is
    the simulated instant the run begins (tz-aware). The model is a pure function of
    (preset volume, days, start, seed): the same config gives the same tickets, messages and
    ground truth."""

    preset: str = "tesco"
    days: float = 1.0
    compression: float = 1000.0
    seed: int = 1
    start: datetime = DEFAULT_START
    tickets_per_week: int | None = None
    max_in_flight: int = 64  # concurrent HTTP requests
    sla_tick_seconds: float = 60.0  # simulated seconds between SLA ticks
    sla_tick_lag_seconds: float = 2.0  # wall seconds ticks trail confirmed ticket events
    configure_sla_policy: bool = True  # send UpdateSlaPolicies with the simulation's policy
    produce_sla_ticks: bool = True  # drive the SLA engine's simulated clock
    agent_presence: bool = False  # SetAgentPresence at shift changes (see docs of the driver)
    confirm_timeout_seconds: float = 300.0  # wall seconds to wait for an action's ticket event
    # Released actions not yet confirmed before the simulated clock pauses. Enough to keep the
    # workers busy; small enough that their queue (latency ≈ backlog / throughput, Little's
    # law) stays far inside confirm_timeout_seconds when they cannot keep up.
    max_backlog: int = 500
    channels: tuple[Channel, ...] = ()  # restrict to these channels (empty = all)
    # Mixed into customer and message ids only (not the model): rerun the same seed on a
    # stack that has seen it without the gateway dropping it all as redeliveries.
    run_tag: str = ""

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise SimConfigError(f"unknown preset {self.preset!r}; use one of {', '.join(PRESETS)}")
        if not 0 < self.days <= 28:
            raise SimConfigError(f"days={self.days}: simulate between a few minutes and 28 days")
        if self.compression <= 0:
            raise SimConfigError(f"compression={self.compression}: must be > 0")
        if self.start.tzinfo is None:
            raise SimConfigError("start must be tz-aware (e.g. 2026-11-16T00:00:00+07:00)")
        if self.tickets_per_week is not None and self.tickets_per_week < 0:
            raise SimConfigError("tickets_per_week must be ≥ 0")
        if self.max_backlog < 1:
            raise SimConfigError("max_backlog must be ≥ 1")
        if self.max_in_flight < 1:
            raise SimConfigError("max_in_flight must be ≥ 1")
        if self.run_tag and not all(ch in "0123456789abcdef" for ch in self.run_tag):
            raise SimConfigError(f"run_tag={self.run_tag!r}: use lower-case hex digits")
        if self.sla_tick_seconds <= 0:
            raise SimConfigError("sla_tick_seconds must be > 0")

    @property
    def weekly_volume(self) -> int:
        """Tickets per simulated week."""
        return PRESETS[self.preset] if self.tickets_per_week is None else self.tickets_per_week

    @property
    def end(self) -> datetime:
        """The simulated instant the run ends (exclusive for arrivals, final SLA tick)."""
        return self.start + timedelta(days=self.days)


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the load goes. ``secrets`` maps a channel to its webhook secret as the gateway is
    configured (LINE channel secret, Meta app secret for messenger/instagram/whatsapp, Telegram
    secret token, DingTalk app secret, WeChat token, API secret for api/webchat). Channels
    without a secret are not simulated (their customers use the other channels of their
    region). ``api_token`` must have the admin role (the simulator sets event times, acts on
    behalf of its agents and configures the SLA policy). ``topic_prefix`` as the workers use it
    (TICKETSTREAM_STREAMS_TOPIC_PREFIX)."""

    gateway_url: str
    api_url: str
    api_token: str
    kafka_bootstrap: str
    secrets: dict[Channel, str] = field(default_factory=dict)
    topic_prefix: str = ""
    # The workers' consumer group (TICKETSTREAM_STREAMS_APP_ID, default "ticketstream"). SLA
    # ticks wait until the workers have committed past the ticket events before them — exact
    # even when the workers lag. None (or a group that never commits: after 30 s the driver
    # says so and falls back): ticks trail by SimConfig.sla_tick_lag_seconds of wall time only.
    streams_group: str | None = "ticketstream"

    @classmethod
    def from_settings(
        cls,
        gateway_url: str,
        api_url: str,
        api_token: str,
        topic_prefix: str = "",
        streams_group: str | None = "ticketstream",
    ) -> Endpoints:
        """Endpoints whose secrets and Kafka bootstrap come from the environment
        (``TICKETSTREAM_*``, the same settings the gateway reads)."""
        from connectors.settings import ConnectorSettings
        from ticketstream.settings import load_settings

        core = load_settings()
        cs = ConnectorSettings()
        return cls(
            gateway_url=gateway_url,
            api_url=api_url,
            api_token=api_token,
            kafka_bootstrap=core.kafka_bootstrap,
            secrets=secrets_of(cs),
            topic_prefix=topic_prefix,
            streams_group=streams_group,
        )


def secrets_of(cs: object) -> dict[Channel, str]:
    """The channel → webhook secret map of a ``connectors.settings.ConnectorSettings``."""

    def get(name: str) -> str:
        value = getattr(cs, name)
        return str(value.get_secret_value()) if value is not None else ""

    meta = get("meta_app_secret")
    api = get("api_secret")
    found = {
        Channel.LINE: get("line_channel_secret"),
        Channel.MESSENGER: meta,
        Channel.INSTAGRAM: meta,
        Channel.WHATSAPP: meta,
        Channel.TELEGRAM: get("telegram_secret_token"),
        Channel.DINGTALK: get("dingtalk_app_secret"),
        Channel.WECHAT: get("wechat_token"),
        Channel.API: api,
        Channel.WEBCHAT: api,
    }
    return {c: s for c, s in found.items() if s}
