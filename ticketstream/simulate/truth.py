"""The simulation's SLA policy and its ground truth, computed from the simulator's own timestamps.

Independent of ``streams.domain.sla`` on purpose: the point is to check the SLA engine against a
second, much simpler computation. The policy is deliberately simple so the arithmetic is
obvious: two metrics, calendar hours (no business-hours schedule), one target per priority.

- first_reply_time starts when the ticket opens and is fulfilled by the first public agent reply
  (or by solving it, whichever is first). Breached when fulfilled at or after ``opened +
  target``, or not fulfilled when the run ends at or after that instant.
- total_resolution_time starts when the ticket opens and is fulfilled when it is solved; a
  reopen continues the clock from creation. Breached when the ticket's last solve (or the end
  of the run, if it is not solved then) is at or after ``opened + target``.

"At or after" because a deadline fires when it is due at or before the clock (the SLA
reference: an event exactly at the deadline comes after the breach).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from schemas.records import Priority

FIRST_REPLY = "first_reply_time"
RESOLUTION = "total_resolution_time"
METRICS = (FIRST_REPLY, RESOLUTION)
PRIORITIES = tuple(p.value for p in Priority)

# Targets in calendar seconds per metric and priority.
TARGETS: dict[str, dict[str, int]] = {
    FIRST_REPLY: {"urgent": 30 * 60, "high": 60 * 60, "normal": 4 * 3600, "low": 8 * 3600},
    RESOLUTION: {"urgent": 4 * 3600, "high": 8 * 3600, "normal": 24 * 3600, "low": 48 * 3600},
}
POLICY_ID = "simulation"


def _duration(seconds: int) -> str:
    return f"{seconds // 60}m"


def policy_yaml(targets: dict[str, dict[str, int]] = TARGETS, auto_close_days: int = 4) -> str:
    """The SLA policy file the simulation configures (UpdateSlaPolicies or the workers' file):
    one catch-all policy, calendar-hour targets, the two metrics above only."""
    lines = [
        "# Ticketstream simulation policy (ticketstream.simulate.truth): calendar hours only.",
        f"auto_close_days: {auto_close_days}",
        "schedules:",
        "  always:",
        "    zone: UTC",
        "    hours: {"
        + ", ".join(f'{d}: ["00:00-24:00"]' for d in ("mon", "tue", "wed", "thu", "fri", "sat"))
        + ', sun: ["00:00-24:00"]}',
        "default_schedule: always",
        "policies:",
        f"  - id: {POLICY_ID}",
        "    warnings: [75, 90]",
        "    targets:",
    ]
    for metric in METRICS:
        per = ", ".join(f"{p}: {_duration(targets[metric][p])}" for p in PRIORITIES)
        lines.append(f"      {metric}: {{business_hours: false, {per}}}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class TicketTimeline:
    """What the simulator did to one ticket, in simulated time (only what happened before the
    end of the run). ``solves`` and ``reopens`` in time order."""

    ticket_id: str
    channel: str
    priority: str
    opened_at: datetime
    first_reply_at: datetime | None = None
    solves: tuple[datetime, ...] = ()
    reopens: tuple[datetime, ...] = ()


def breaches_of(
    t: TicketTimeline, end: datetime, targets: dict[str, dict[str, int]] = TARGETS
) -> set[str]:
    """The metrics ``t`` breaches by ``end`` (see the module docstring for the rules)."""
    out: set[str] = set()
    frt_due = t.opened_at + timedelta(seconds=targets[FIRST_REPLY][t.priority])
    fulfilled = [x for x in (t.first_reply_at, t.solves[0] if t.solves else None) if x]
    first = min(fulfilled) if fulfilled else None
    if (first if first is not None else end) >= frt_due and frt_due <= end:
        out.add(FIRST_REPLY)
    res_due = t.opened_at + timedelta(seconds=targets[RESOLUTION][t.priority])
    solved_at_end = bool(t.solves) and (not t.reopens or t.solves[-1] >= t.reopens[-1])
    last = t.solves[-1] if solved_at_end else end
    if last >= res_due and res_due <= end:
        out.add(RESOLUTION)
    return out


@dataclass
class GroundTruth:
    """What the simulator sent and what the SLA engine must find, from the simulator's own
    timestamps. ``first_reply_seconds`` maps ticket id → seconds from opening to the first
    public agent reply (None: no reply before the end). ``breaches[metric][priority]`` counts
    tickets whose timer breached (each ticket and metric at most once)."""

    preset: str
    seed: int
    sim_start: datetime
    sim_end: datetime
    compression: float
    sla_policy_yaml: str
    tickets_opened: int = 0
    tickets_by_channel: dict[str, int] = field(default_factory=dict)
    tickets_by_priority: dict[str, int] = field(default_factory=dict)
    messages_sent: int = 0  # customer messages through the gateway
    messages_by_channel: dict[str, int] = field(default_factory=dict)
    commands_sent: dict[str, int] = field(default_factory=dict)  # by command type
    agent_replies: int = 0
    escalations: int = 0
    reopens: int = 0
    solves: int = 0
    csat_count: int = 0
    csat_mean: float | None = None
    first_reply_seconds: dict[str, int | None] = field(default_factory=dict)
    breaches: dict[str, dict[str, int]] = field(default_factory=dict)
    breached_tickets: dict[str, list[str]] = field(default_factory=dict)  # metric → ticket ids
    # How the run went (not part of the model's truth): HTTP answers and timing.
    http_errors: dict[str, int] = field(default_factory=dict)  # "<route> <status>" → count
    unconfirmed: int = 0  # actions whose ticket event did not show within the timeout
    rejections: dict[str, int] = field(default_factory=dict)  # "<command> <reason>" → count
    tickets_unobserved: int = 0  # tickets whose TicketOpened the driver never saw
    tickets_never_opened: int = 0  # … although the gateway accepted their first message
    wall_seconds: float = 0.0
    paused_seconds: float = 0.0  # wall seconds the simulated clock waited for the pipeline
    effective_compression: float = 0.0  # simulated span / wall seconds of the whole run
    sla_ticks_sent: int = 0
    last_sla_tick: datetime | None = None
    final_tick_processed: bool = False  # the workers committed past the final tick (all fired)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("sim_start", "sim_end", "last_sla_tick"):
            v = d[k]
            d[k] = v.isoformat() if isinstance(v, datetime) else v
        return d

    def to_json(self, indent: int | None = 2) -> str:
        """The ground truth as JSON (datetimes ISO-8601, keys sorted)."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True, ensure_ascii=False)


def compute(
    truth: GroundTruth,
    timelines: list[TicketTimeline],
    targets: dict[str, dict[str, int]] = TARGETS,
) -> None:
    """Fill the ticket counts, first-reply times and breaches of ``truth`` from ``timelines``."""
    end = truth.sim_end
    truth.tickets_opened = len(timelines)
    by_channel: dict[str, int] = {}
    by_priority: dict[str, int] = {}
    breaches = {m: {p: 0 for p in PRIORITIES} for m in METRICS}
    breached: dict[str, list[str]] = {m: [] for m in METRICS}
    first: dict[str, int | None] = {}
    for t in timelines:
        by_channel[t.channel] = by_channel.get(t.channel, 0) + 1
        by_priority[t.priority] = by_priority.get(t.priority, 0) + 1
        first[t.ticket_id] = (
            int((t.first_reply_at - t.opened_at).total_seconds())
            if t.first_reply_at is not None
            else None
        )
        for m in sorted(breaches_of(t, end, targets)):
            breaches[m][t.priority] += 1
            breached[m].append(t.ticket_id)
    truth.tickets_by_channel = dict(sorted(by_channel.items()))
    truth.tickets_by_priority = dict(sorted(by_priority.items()))
    truth.first_reply_seconds = first
    truth.breaches = breaches
    truth.breached_tickets = {m: sorted(v) for m, v in breached.items()}
