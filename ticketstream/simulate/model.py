"""The seeded model of a support org: who writes, when, on which channel, and what agents do.

Pure and deterministic: no I/O, no wall clock. ``Model(config).tickets()`` yields the tickets
of the run in arrival order, each with its whole life as timed actions (simulated time, whole
seconds). The same config (volume, days, start, seed, channels) always yields the same tickets.

Arrivals: a non-homogeneous Poisson process per region, hour by hour. The rate at a region's
local hour ``h`` on weekday ``d`` is ``weekly × share × DAILY[d] × HOURLY[h] / (ΣDAILY × ΣHOURLY)``
so a week has exactly the weekly volume in expectation. Agents work 8-hour shifts in their
region's time zone; a ticket is picked up by an agent of its region's group who is on shift
(or at the next shift start), who replies after a log-normal delay that grows with the hour's
load and the agent's own speed. Escalations go to a tier-2 group, reopens come hours after a
solve, CSAT follows some solves (lower when the first reply was slow).

This is a model of behaviour, not a queueing simulation: agents do not run out of capacity.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from schemas.records import Channel, Priority
from ticketstream.simulate.config import SimConfig
from ticketstream.simulate.text import agent_text, customer_text

# Local hour-of-day weights (00..23): night trough, lunch dip, evening shopping peak.
HOURLY = (
    0.6, 0.4, 0.25, 0.2, 0.2, 0.3, 0.6, 1.2, 2.0, 2.8, 3.2, 3.3,
    3.0, 3.0, 3.1, 3.0, 2.8, 2.6, 2.5, 2.6, 2.7, 2.4, 1.8, 1.1,
)  # fmt: skip
# Weekday weights Monday..Sunday: the Monday backlog of weekend orders, quieter weekends.
DAILY = (1.25, 1.1, 1.05, 1.0, 1.0, 0.8, 0.8)
MEAN_HOURLY = sum(HOURLY) / 24


@dataclass(frozen=True, slots=True)
class Region:
    name: str
    zone: str
    share: float  # of all tickets
    channels: tuple[tuple[Channel, float], ...]  # channel habits
    languages: tuple[tuple[str, float], ...]
    group: str  # the support group that answers this region


C = Channel
REGIONS: tuple[Region, ...] = (
    Region(
        "thailand",
        "Asia/Bangkok",
        0.70,
        ((C.LINE, 0.55), (C.MESSENGER, 0.12), (C.WEBCHAT, 0.10), (C.API, 0.10),
         (C.INSTAGRAM, 0.06), (C.WHATSAPP, 0.05), (C.TELEGRAM, 0.02)),
        (("th", 0.85), ("en", 0.15)),
        "th-support",
    ),
    Region(
        "hong_kong",
        "Asia/Hong_Kong",
        0.14,
        ((C.WHATSAPP, 0.45), (C.WEBCHAT, 0.15), (C.API, 0.12), (C.WECHAT, 0.10),
         (C.MESSENGER, 0.06), (C.TELEGRAM, 0.06), (C.DINGTALK, 0.06)),
        (("zh", 0.7), ("en", 0.3)),
        "hk-support",
    ),
    Region(
        "china",
        "Asia/Shanghai",
        0.08,
        ((C.WECHAT, 0.65), (C.DINGTALK, 0.20), (C.API, 0.10), (C.WEBCHAT, 0.05)),
        (("zh", 1.0),),
        "cn-support",
    ),
    Region(
        "international",
        "Europe/London",
        0.08,
        ((C.WHATSAPP, 0.30), (C.API, 0.30), (C.WEBCHAT, 0.20), (C.TELEGRAM, 0.10),
         (C.MESSENGER, 0.10)),
        (("en", 1.0),),
        "global-support",
    ),
)  # fmt: skip
ALL_CHANNELS = tuple(dict.fromkeys(c for r in REGIONS for c, _ in r.channels))

PRIORITY_MIX = ((Priority.LOW, 0.15), (Priority.NORMAL, 0.60), (Priority.HIGH, 0.20),
                (Priority.URGENT, 0.05))  # fmt: skip
# Median seconds from pick-up to the first reply, per priority (before load and agent speed).
FIRST_REPLY_MEDIAN = {
    Priority.URGENT: 8 * 60,
    Priority.HIGH: 20 * 60,
    Priority.NORMAL: 50 * 60,
    Priority.LOW: 90 * 60,
}
SHIFTS = ((7, 0.45), (15, 0.40), (23, 0.15))  # local start hour, share of the group's staff
SHIFT_HOURS = 8
TICKETS_PER_AGENT_WEEK = 330  # staffing ratio: a group has ⌈its weekly tickets / this⌉ agents
ESCALATION_RATE = 0.07
REOPEN_RATE = 0.05
CSAT_RATE = 0.35
SECOND_MESSAGE_RATE = 0.30
EXCHANGES = ((0, 0.40), (1, 0.35), (2, 0.17), (3, 0.08))
TIER2_GROUP = "tier2"


@dataclass(frozen=True, slots=True)
class Agent:
    agent_id: str
    group: str
    tier: int
    languages: tuple[str, ...]
    zone: str
    shift_start: int  # local hour
    speed: float  # multiplies reply delays (1.0 = median agent)

    def on_shift(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.zone))
        return (local.hour - self.shift_start) % 24 < SHIFT_HOURS


@dataclass(frozen=True, slots=True)
class Action:
    """One thing that happens to a ticket at simulated time ``at``.

    kinds: ``message`` (customer message through the gateway; ``n`` = its number in the
    conversation), ``priority``, ``assign``, ``reply``, ``escalate``, ``solve``, ``csat``."""

    at: datetime
    kind: str
    n: int = 0
    text: str = ""
    agent_id: str | None = None
    priority: Priority | None = None
    score: int | None = None


@dataclass(frozen=True, slots=True)
class SimTicket:
    index: int
    sim_id: str  # the simulator's own id (the pipeline's ticket id is learned from TicketOpened)
    region: str
    channel: Channel
    language: str
    priority: Priority
    customer: str  # a stable hex token: the channel identities derive from it
    actions: tuple[Action, ...] = field(default_factory=tuple)

    @property
    def opened_at(self) -> datetime:
        return self.actions[0].at


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson(λ) draw (Knuth below 30, a rounded normal above)."""
    if lam <= 0:
        return 0
    if lam < 30:
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                return k
            k += 1
    return max(0, round(rng.normalvariate(lam, math.sqrt(lam))))


def pick(rng: random.Random, weighted: tuple[tuple[object, float], ...]) -> object:
    total = sum(w for _, w in weighted)
    x = rng.random() * total
    for item, w in weighted:
        x -= w
        if x < 0:
            return item
    return weighted[-1][0]


def hourly_rate(weekly: float, share: float, local: datetime) -> float:
    """Expected tickets per hour of one region at local time ``local``."""
    return weekly * share * DAILY[local.weekday()] * HOURLY[local.hour] / (sum(DAILY) * sum(HOURLY))


def load_factor(zone: ZoneInfo, at: datetime) -> float:
    """How busy the hour is relative to an average hour (0.6 … 2.0): slows replies."""
    return min(2.0, max(0.6, HOURLY[at.astimezone(zone).hour] / MEAN_HOURLY))


def _seconds(x: float) -> timedelta:
    return timedelta(seconds=max(1, round(x)))


class Model:
    """The support org of one ``SimConfig``. ``channels`` restricts customers to the channels
    the gateway can take (a region's habits are renormalised over what is left)."""

    def __init__(self, config: SimConfig, channels: tuple[Channel, ...] = ALL_CHANNELS) -> None:
        allowed = set(channels) & set(config.channels or ALL_CHANNELS)
        self.config = config
        self.regions: list[tuple[Region, tuple[tuple[Channel, float], ...]]] = []
        for r in REGIONS:
            mix = tuple((c, w) for c, w in r.channels if c in allowed)
            if mix:
                self.regions.append((r, mix))
        if not self.regions:
            raise ValueError("no channel left to simulate: configure at least one channel secret")
        share = sum(r.share for r, _ in self.regions)
        self.shares = {r.name: r.share / share for r, _ in self.regions}
        self.zones = {r.name: ZoneInfo(r.zone) for r, _ in self.regions}
        self.agents = self._staff()
        self.by_group: dict[str, list[Agent]] = {}
        self._shift_cache: dict[tuple[str, datetime], list[Agent]] = {}
        for a in self.agents:
            self.by_group.setdefault(a.group, []).append(a)

    # ------------------------------------------------------------------ staff
    def _staff(self) -> list[Agent]:
        rng = random.Random(f"{self.config.seed}:staff")
        weekly = self.config.weekly_volume
        agents: list[Agent] = []
        teams = [
            (r.group, r.zone, tuple(lang for lang, _ in r.languages), 1, self.shares[r.name])
            for r, _ in self.regions
        ]
        teams.append((TIER2_GROUP, "Asia/Bangkok", ("th", "en", "zh"), 2, ESCALATION_RATE))
        for group, zone, langs, tier, share in teams:
            n = max(len(SHIFTS), math.ceil(weekly * share / TICKETS_PER_AGENT_WEEK))
            counts = [max(1, round(n * s)) for _, s in SHIFTS]
            i = 0
            for (start, _), count in zip(SHIFTS, counts, strict=True):
                for _ in range(count):
                    i += 1
                    agents.append(
                        Agent(
                            f"agent-{group}-{i:04d}",
                            group,
                            tier,
                            langs,
                            zone,
                            start,
                            round(rng.lognormvariate(0, 0.3), 3),
                        )
                    )
        return agents

    def agent_for(self, rng: random.Random, group: str, at: datetime) -> tuple[Agent, datetime]:
        """An agent of ``group`` on shift at ``at`` (or at the next shift start) and when."""
        t = at
        for _ in range(24 * 4 + 1):
            on = self._on_shift(group, t)
            if on:
                return rng.choice(on), t
            t = (t + timedelta(minutes=15)).replace(second=0)
        raise AssertionError(f"group {group} has nobody on shift in a day")  # shifts cover 24 h

    def _on_shift(self, group: str, at: datetime) -> list[Agent]:
        # Shifts start on the hour in whole-hour zones: who is on shift depends on the hour.
        key = (group, at.replace(minute=0, second=0, microsecond=0))
        found = self._shift_cache.get(key)
        if found is None:
            found = [a for a in self.by_group[group] if a.on_shift(key[1])]
            if len(self._shift_cache) > 10_000:
                self._shift_cache.clear()
            self._shift_cache[key] = found
        return found

    # ------------------------------------------------------------------ arrivals
    def arrivals(self) -> Iterator[tuple[datetime, Region, tuple[tuple[Channel, float], ...]]]:
        """(instant, region, channel mix) of every ticket, in time order."""
        cfg = self.config
        rng = random.Random(f"{cfg.seed}:arrivals")
        hour = cfg.start.replace(minute=0, second=0, microsecond=0)
        while hour < cfg.end:
            batch: list[tuple[datetime, int, Region, tuple[tuple[Channel, float], ...]]] = []
            lo = max(hour, cfg.start)
            hi = min(hour + timedelta(hours=1), cfg.end)
            span = int((hi - lo).total_seconds())
            for region, mix in self.regions:
                local = hour.astimezone(self.zones[region.name])
                lam = hourly_rate(cfg.weekly_volume, self.shares[region.name], local) * span / 3600
                for _ in range(poisson(rng, lam)):
                    batch.append(
                        (lo + timedelta(seconds=rng.randrange(span)), len(batch), region, mix)
                    )
            batch.sort(key=lambda b: (b[0], b[1]))
            for at, _, region, mix in batch:
                yield at, region, mix
            hour += timedelta(hours=1)

    def expected_tickets(self) -> float:
        """Expected number of tickets of the run (the integral of the arrival rate)."""
        cfg = self.config
        total = 0.0
        hour = cfg.start.replace(minute=0, second=0, microsecond=0)
        while hour < cfg.end:
            lo, hi = max(hour, cfg.start), min(hour + timedelta(hours=1), cfg.end)
            for region, _ in self.regions:
                local = hour.astimezone(self.zones[region.name])
                rate = hourly_rate(cfg.weekly_volume, self.shares[region.name], local)
                total += rate * (hi - lo).total_seconds() / 3600
            hour += timedelta(hours=1)
        return total

    # ------------------------------------------------------------------ tickets
    def tickets(self) -> Iterator[SimTicket]:
        """Every ticket of the run, in arrival order, with its life as actions."""
        for i, (at, region, mix) in enumerate(self.arrivals()):
            yield self.ticket(i, at, region, mix)

    def ticket(
        self, i: int, at: datetime, region: Region, mix: tuple[tuple[Channel, float], ...]
    ) -> SimTicket:
        rng = random.Random(f"{self.config.seed}:ticket:{i}")
        channel = pick(rng, mix)
        language = str(pick(rng, region.languages))
        priority = pick(rng, PRIORITY_MIX)
        assert isinstance(channel, Channel) and isinstance(priority, Priority)
        zone = self.zones[region.name]
        customer = f"{rng.getrandbits(64):016x}"
        life = _Life(rng, at)
        order = rng.randrange(100_000, 999_999)
        life.message(at, customer_text(rng, language, order, first=True))
        if priority is not Priority.NORMAL:
            life.add(Action(life.last + timedelta(seconds=1), "priority", priority=priority))
        if rng.random() < SECOND_MESSAGE_RATE:
            life.message(
                life.last + _seconds(rng.lognormvariate(math.log(240), 0.7)),
                customer_text(rng, language, order, first=False),
            )
        # Pick-up: routing delay, then an agent of the region's group on shift.
        agent, pickup = self.agent_for(
            rng, region.group, life.last + _seconds(rng.lognormvariate(math.log(60), 0.8))
        )
        life.add(
            Action(max(pickup, life.last + timedelta(seconds=1)), "assign", agent_id=agent.agent_id)
        )
        median = FIRST_REPLY_MEDIAN[priority] * load_factor(zone, life.last) * agent.speed
        life.reply(life.last + _seconds(rng.lognormvariate(math.log(median), 0.9)), agent, language)
        if rng.random() < ESCALATION_RATE:
            life.add(
                Action(
                    life.last + _seconds(rng.lognormvariate(math.log(1200), 0.7)),
                    "escalate",
                    agent_id=agent.agent_id,
                )
            )
            agent, pickup = self.agent_for(
                rng, TIER2_GROUP, life.last + _seconds(rng.lognormvariate(math.log(600), 0.7))
            )
            life.add(
                Action(
                    max(pickup, life.last + timedelta(seconds=1)), "assign", agent_id=agent.agent_id
                )
            )
            life.reply(
                life.last + _seconds(rng.lognormvariate(math.log(5400 * agent.speed), 0.8)),
                agent,
                language,
            )
        exchanges = int(str(pick(rng, EXCHANGES)))
        for _ in range(exchanges):
            life.message(
                life.last + _seconds(rng.lognormvariate(math.log(900), 1.0)),
                customer_text(rng, language, order, first=False),
            )
            median = 2100 * agent.speed * load_factor(zone, life.last)
            life.reply(
                life.last + _seconds(rng.lognormvariate(math.log(median), 0.9)), agent, language
            )
        life.add(
            Action(
                life.last + _seconds(rng.lognormvariate(math.log(600), 0.8)),
                "solve",
                agent_id=agent.agent_id,
            )
        )
        if rng.random() < REOPEN_RATE:
            life.message(
                life.last + _seconds(rng.lognormvariate(math.log(5 * 3600), 0.8)),
                customer_text(rng, language, order, first=False),
            )
            life.reply(
                life.last + _seconds(rng.lognormvariate(math.log(2400), 0.8)), agent, language
            )
            life.add(
                Action(
                    life.last + _seconds(rng.lognormvariate(math.log(600), 0.8)),
                    "solve",
                    agent_id=agent.agent_id,
                )
            )
        if rng.random() < CSAT_RATE:
            first_wait = life.first_reply_wait()
            life.add(
                Action(
                    life.last + _seconds(rng.lognormvariate(math.log(2400), 1.0)),
                    "csat",
                    score=csat_score(rng, first_wait),
                )
            )
        return SimTicket(
            i,
            f"S{self.config.seed}-{i:07d}",
            region.name,
            channel,
            language,
            priority,
            customer,
            tuple(life.actions),
        )

    def presence(self) -> Iterator[tuple[datetime, Agent, bool]]:
        """(instant, agent, online) at every shift start and end inside the run, in time order."""
        cfg = self.config
        out: list[tuple[datetime, str, Agent, bool]] = []
        for a in self.agents:
            zone = ZoneInfo(a.zone)
            day = cfg.start.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
            day -= timedelta(days=1)
            while day.astimezone(cfg.start.tzinfo) < cfg.end:
                begin = day.replace(hour=a.shift_start)
                finish = begin + timedelta(hours=SHIFT_HOURS)
                for t, online in ((begin, True), (finish, False)):
                    if cfg.start <= t < cfg.end:
                        out.append((t, a.agent_id, a, online))
                day += timedelta(days=1)
            if a.on_shift(cfg.start):
                out.append((cfg.start, a.agent_id, a, True))
        out.sort(key=lambda x: (x[0], x[1], x[3]))
        for t, _, a, online in out:
            yield t, a, online


def csat_score(rng: random.Random, first_wait: float | None) -> int:
    """1..5, lower when the first reply took long (seconds)."""
    if first_wait is not None and first_wait < 1800:
        weights = (0.02, 0.03, 0.10, 0.30, 0.55)
    elif first_wait is not None and first_wait < 7200:
        weights = (0.05, 0.07, 0.18, 0.35, 0.35)
    else:
        weights = (0.15, 0.15, 0.25, 0.25, 0.20)
    cumulative = [sum(weights[: k + 1]) for k in range(5)]
    return bisect.bisect_left(cumulative, rng.random() * cumulative[-1]) + 1


class _Life:
    """Builds a ticket's actions with strictly increasing whole-second times."""

    def __init__(self, rng: random.Random, start: datetime) -> None:
        self.rng = rng
        self.actions: list[Action] = []
        self.last = start
        self.messages = 0

    def add(self, action: Action) -> None:
        at = action.at.replace(microsecond=0)
        if self.actions and at <= self.last:
            at = self.last + timedelta(seconds=1)
        if at != action.at:
            action = Action(at, action.kind, action.n, action.text, action.agent_id,
                            action.priority, action.score)  # fmt: skip
        self.actions.append(action)
        self.last = at

    def message(self, at: datetime, text: str) -> None:
        self.messages += 1
        self.add(Action(at, "message", n=self.messages, text=text))

    def reply(self, at: datetime, agent: Agent, language: str) -> None:
        lang = language if language in agent.languages else "en"
        self.add(Action(at, "reply", text=agent_text(self.rng, lang), agent_id=agent.agent_id))

    def first_reply_wait(self) -> float | None:
        first = next((a.at for a in self.actions if a.kind == "reply"), None)
        return None if first is None else (first - self.actions[0].at).total_seconds()
