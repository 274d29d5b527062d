"""Routing and assignment: which online agent with free capacity and the right skills takes a
waiting ticket. No I/O, no clock: the router's agent feeds it events and sends what it returns.

- Eligible agent: ``online``; free capacity on the ticket's channel (no capacity set = 0);
  handles the channel (empty ``channels`` = all); ``tier`` ≥ the ticket's tier; in the
  ticket's group (empty ``groups`` = all groups; a ticket without a group fits everyone).
- Strategies: ``round_robin`` (next eligible agent by id after the last one assigned),
  ``least_loaded`` (fewest open tickets on the channel relative to capacity, then id),
  ``skills_first`` (agents speaking the ticket's language first, then least loaded).
- Waiting tickets are served in priority order (urgent first), then by time to SLA breach
  (the earliest due of the ticket's running SLA timers, exact per metric and instance from the
  SLA engine's events; a breached timer counts from the instant it breached; paused timers
  have no due; none = last), then by waiting time.
- When an agent goes offline (or away, per policy) their open tickets are requeued with
  reason ``reassigned_presence`` and dispatched again.

State as rows: the router keeps one row per agent (``agent/<id>``), one per ticket it knows
(``ticket/<id>``, waiting or held), one per ticket with SLA timers (``sla/<id>``: the SLA
events may reach the feed before the ticket's ``TicketOpened``) and the round-robin cursor
(``cursor``). A row is small and
self-contained (a ticket row names its assignee; loads are derived), so the router's table
writes only the rows a batch changed, and no value grows with the number of open tickets.
``RoutingState`` is the in-memory index over those rows (queue order, loads per agent): it is
mutable on purpose — copying an immutable state of 20,000 tickets on every event would make
each decision O(open tickets) — and records which rows changed (``take_changes``).

Work per batch does not grow with the waiting queue: the queue is kept per bucket (channel,
group, tier) — the three things that decide which agents may take a ticket — so a dispatch
looks only at the head of each bucket some online agent can serve; queue counts for the
gauges are kept as tickets come and go; ``take_changes`` builds only the changed rows. (A
scan of every waiting ticket per batch made the router fall behind its feed at 10,000
waiting, and an agent coming online waited behind that backlog.)
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from schemas.records import (
    AgentPresence,
    AssignmentReason,
    Channel,
    Priority,
    SlaMetric,
    TicketStatus,
)

PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}
DONE = (TicketStatus.SOLVED, TicketStatus.CLOSED)
CURSOR_ROW = "cursor"
AGENT_ROW = "agent/"
TICKET_ROW = "ticket/"
SLA_ROW = "sla/"


class Strategy(StrEnum):
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"
    SKILLS_FIRST = "skills_first"


@dataclass(frozen=True, slots=True)
class ReassignPolicy:
    on_offline: bool = True
    on_away: bool = True

    def leaves(self, presence: AgentPresence) -> bool:
        """True when an agent with ``presence`` gives their open tickets back."""
        return (presence is AgentPresence.OFFLINE and self.on_offline) or (
            presence is AgentPresence.AWAY and self.on_away
        )


@dataclass(frozen=True, slots=True)
class RoutedTicket:
    """What routing knows of a ticket (from its events): one row ``ticket/<id>``."""

    ticket_id: str
    channel: Channel
    priority: Priority = Priority.NORMAL
    group: str | None = None
    language: str | None = None
    tier: int = 1
    since: datetime | None = None  # waiting since (event time); part of the assignment's id
    reason: AssignmentReason = AssignmentReason.ROUTING
    previous_agent_id: str | None = None
    status: TicketStatus = TicketStatus.NEW
    sla_due_at: datetime | None = None  # earliest active SLA deadline (from SLA events)
    assignee: str | None = None  # None: waiting (unless solved)
    confirmed: bool = False  # the ticket recorded the assignment (TicketAssigned seen)

    @property
    def counts(self) -> bool:
        """Held and not solved: counts towards its assignee's load."""
        return self.assignee is not None and self.status not in DONE


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """One row ``agent/<id>``. Loads are not stored: they derive from the ticket rows."""

    agent_id: str
    presence: AgentPresence = AgentPresence.OFFLINE
    capacity: tuple[tuple[str, int], ...] = ()  # (channel, max concurrent open tickets)
    languages: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    tier: int = 1
    groups: tuple[str, ...] = ()

    def capacity_for(self, channel: Channel) -> int:
        return dict(self.capacity).get(str(channel), 0)

    def fits(self, t: RoutedTicket) -> bool:
        """Skills, tier and group allow ``t`` (presence and load are checked separately)."""
        return self.serves(t.channel, t.group, t.tier)

    def serves(self, channel: Channel, group: str | None, tier: int) -> bool:
        """Skills, tier and group allow tickets of this bucket (channel, group, tier)."""
        return (
            (not self.channels or channel in self.channels)
            and self.tier >= tier
            and (group is None or not self.groups or group in self.groups)
        )


@dataclass(frozen=True, slots=True)
class Assignment:
    ticket_id: str
    agent_id: str
    reason: AssignmentReason
    previous_agent_id: str | None = None
    since: datetime | None = None  # the ticket's waiting-since (for the command id, latency)


@dataclass(frozen=True, slots=True)
class SlaDue:
    """One SLA timer (metric, instance) as its events tell it: ``due_at`` its breach deadline
    (None while paused), ``breached_at`` when it breached (it stays overdue until fulfilled)."""

    metric: SlaMetric
    instance: int
    due_at: datetime | None
    breached_at: datetime | None = None

    @property
    def effective(self) -> datetime | None:
        """When this timer breaches (or breached); None while paused."""
        if self.due_at is None:
            return None
        return self.breached_at if self.breached_at is not None else self.due_at


@dataclass(frozen=True, slots=True)
class SlaClocks:
    """One row ``sla/<id>``: the ticket's SLA timers that are not fulfilled, by (metric,
    instance)."""

    ticket_id: str
    timers: tuple[SlaDue, ...] = ()

    def next_due(self) -> datetime | None:
        """When the first running timer breaches (or breached), or None."""
        first = self.next_timer()
        return first.effective if first is not None else None

    def next_timer(self) -> SlaDue | None:
        """The running timer that breaches (or breached) first, or None (all paused / none);
        a tie goes to the timer listed first in ``SlaMetric``, then the lower instance."""
        running = [t for t in self.timers if t.effective is not None]
        return min(running, key=_timer_order, default=None)

    def put(self, timer: SlaDue) -> SlaClocks:
        key = (timer.metric, timer.instance)
        rest = tuple(t for t in self.timers if (t.metric, t.instance) != key)
        return replace(self, timers=(*rest, timer))

    def get(self, metric: SlaMetric, instance: int) -> SlaDue | None:
        return next((t for t in self.timers if (t.metric, t.instance) == (metric, instance)), None)

    def drop(self, metric: SlaMetric, instance: int) -> SlaClocks:
        key = (metric, instance)
        return replace(self, timers=tuple(t for t in self.timers if (t.metric, t.instance) != key))


_METRIC_RANK = {m: i for i, m in enumerate(SlaMetric)}


def _timer_order(t: SlaDue) -> tuple[datetime, int, int]:
    assert t.effective is not None
    return (t.effective, _METRIC_RANK[t.metric], t.instance)


_LAST = datetime.max.replace(tzinfo=UTC)
QueueKey = tuple[int, datetime, datetime, str]
Bucket = tuple[Channel, str | None, int]  # channel, group, tier: what eligibility depends on


def bucket_of(t: RoutedTicket) -> Bucket:
    return (t.channel, t.group, t.tier)


def queue_order(t: RoutedTicket) -> QueueKey:
    """Priority (urgent first), then time to SLA breach (none last), then waiting time."""
    return (PRIORITY_RANK[t.priority], t.sla_due_at or _LAST, t.since or _LAST, t.ticket_id)


def choose_agent(
    candidates: Iterable[AgentProfile],
    t: RoutedTicket,
    strategy: Strategy,
    load: dict[str, int],
    last_agent_id: str | None,
) -> str | None:
    """The agent to take ``t`` among ``candidates`` (online, sorted by id), or None.

    ``load``: agent id → open tickets on ``t.channel`` (absent = 0)."""
    eligible = [
        a for a in candidates if a.fits(t) and load.get(a.agent_id, 0) < a.capacity_for(t.channel)
    ]
    if not eligible:
        return None
    if strategy is Strategy.ROUND_ROBIN:
        after = [a for a in eligible if last_agent_id is None or a.agent_id > last_agent_id]
        return (after or eligible)[0].agent_id
    if strategy is Strategy.SKILLS_FIRST and t.language is not None:
        speakers = [a for a in eligible if t.language in a.languages]
        eligible = speakers or eligible
    return min(
        eligible, key=lambda a: (load.get(a.agent_id, 0) / a.capacity_for(t.channel), a.agent_id)
    ).agent_id


class RoutingState:
    """The router's rows with their indices: the waiting queue (sorted, per bucket), held
    tickets and load per agent and channel, waiting counts per (group, priority). Every change
    marks its row; ``take_changes`` hands them out."""

    def __init__(self) -> None:
        self.agents: dict[str, AgentProfile] = {}
        self.tickets: dict[str, RoutedTicket] = {}
        self.sla: dict[str, SlaClocks] = {}  # ticket id → its unfulfilled SLA timers
        self.last_agent_id: str | None = None  # round robin cursor
        self._queues: dict[Bucket, list[QueueKey]] = {}  # waiting tickets in queue order
        self._waiting = 0
        self._counts: dict[tuple[str | None, Priority], int] = {}  # (group, priority) → waiting
        self._held: dict[str, set[str]] = {}  # agent id → ticket ids (any status)
        self._load: dict[tuple[str, Channel], int] = {}  # (agent, channel) → counting tickets
        self._changed: set[str] = set()

    # ---------------------------------------------------------------- rows
    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, object]]) -> RoutingState:
        """The state whose rows are ``rows`` (row key, value), e.g. read back from a table."""
        state = cls()
        for key, value in rows:
            if key == CURSOR_ROW:
                state.last_agent_id = value if isinstance(value, str) else None
            elif key.startswith(AGENT_ROW) and isinstance(value, AgentProfile):
                state.agents[value.agent_id] = value
            elif key.startswith(TICKET_ROW) and isinstance(value, RoutedTicket):
                state._index(value)
            elif key.startswith(SLA_ROW) and isinstance(value, SlaClocks):
                state.sla[value.ticket_id] = value
            else:
                raise ValueError(f"routing row {key!r} holds a {type(value).__name__}")
        state._changed.clear()
        return state

    def rows(self) -> dict[str, object]:
        """Every row (key → value): what ``from_rows`` rebuilds this state from."""
        out: dict[str, object] = {AGENT_ROW + a: p for a, p in self.agents.items()}
        out.update({TICKET_ROW + t: r for t, r in self.tickets.items()})
        out.update({SLA_ROW + t: c for t, c in self.sla.items()})
        if self.last_agent_id is not None:
            out[CURSOR_ROW] = self.last_agent_id
        return out

    def row(self, key: str) -> object | None:
        """The value of row ``key`` (None: no such row)."""
        if key == CURSOR_ROW:
            return self.last_agent_id
        if key.startswith(AGENT_ROW):
            return self.agents.get(key[len(AGENT_ROW) :])
        if key.startswith(TICKET_ROW):
            return self.tickets.get(key[len(TICKET_ROW) :])
        if key.startswith(SLA_ROW):
            return self.sla.get(key[len(SLA_ROW) :])
        return None

    def take_changes(self) -> list[tuple[str, object | None]]:
        """Rows changed since the last call, sorted by key: (key, value), value None = deleted."""
        out = [(k, self.row(k)) for k in sorted(self._changed)]
        self._changed.clear()
        return out

    # ---------------------------------------------------------------- queries
    def agent(self, agent_id: str) -> AgentProfile:
        return self.agents.get(agent_id) or AgentProfile(agent_id)

    def ticket(self, ticket_id: str) -> RoutedTicket | None:
        return self.tickets.get(ticket_id)

    @property
    def waiting_count(self) -> int:
        return self._waiting

    def waiting_counts(self) -> dict[tuple[str | None, Priority], int]:
        """Waiting tickets per (group, priority), without looking at them (kept as they move)."""
        return {k: n for k, n in self._counts.items() if n}

    @property
    def waiting(self) -> list[RoutedTicket]:
        """Waiting tickets in queue order (reads them all: for the read API and tests)."""
        return [self.tickets[k[-1]] for k in heapq.merge(*self._queues.values())]

    def queues(self) -> dict[Bucket, list[QueueKey]]:
        """The waiting queue per bucket (channel, group, tier), each in queue order. Read-only."""
        return {b: q for b, q in self._queues.items() if q}

    def held_by(self, agent_id: str) -> list[RoutedTicket]:
        """Tickets ``agent_id`` holds (solved ones too), by ticket id."""
        return [self.tickets[t] for t in sorted(self._held.get(agent_id, ()))]

    def load_for(self, agent_id: str, channel: Channel) -> int:
        return self._load.get((agent_id, channel), 0)

    def open_tickets(self) -> list[RoutedTicket]:
        """Waiting and held tickets that are not solved, in queue order."""
        return sorted((t for t in self.tickets.values() if t.status not in DONE), key=queue_order)

    def unconfirmed(self) -> list[Assignment]:
        """Assignments routing made that the ticket has not recorded yet (re-sent after a
        restart: a crash between saving the rows and sending the command loses nothing)."""
        return [
            Assignment(t.ticket_id, t.assignee, t.reason, t.previous_agent_id, t.since)
            for t in sorted(self.tickets.values(), key=lambda t: t.ticket_id)
            if t.assignee is not None and not t.confirmed and t.status not in DONE
        ]

    # ---------------------------------------------------------------- changes
    def put_agent(self, profile: AgentProfile) -> None:
        self.agents[profile.agent_id] = profile
        self._changed.add(AGENT_ROW + profile.agent_id)

    def put_ticket(self, t: RoutedTicket) -> None:
        """Store ``t`` (new or changed), keeping the queue and loads in step."""
        self._unindex(t.ticket_id)
        self._index(t)
        self._changed.add(TICKET_ROW + t.ticket_id)

    def put_sla(self, clocks: SlaClocks) -> None:
        """Store the ticket's SLA timers (none left: the row goes)."""
        if clocks.timers:
            self.sla[clocks.ticket_id] = clocks
        else:
            self.sla.pop(clocks.ticket_id, None)
        self._changed.add(SLA_ROW + clocks.ticket_id)

    def forget(self, ticket_id: str) -> None:
        """Drop ``ticket_id`` (closed, merged, unknown to the ticket aggregate)."""
        if ticket_id in self.tickets:
            self._unindex(ticket_id)
            self._changed.add(TICKET_ROW + ticket_id)

    def set_cursor(self, agent_id: str) -> None:
        self.last_agent_id = agent_id
        self._changed.add(CURSOR_ROW)

    def _index(self, t: RoutedTicket) -> None:
        self.tickets[t.ticket_id] = t
        if t.assignee is None:
            if t.status not in DONE:
                bisect.insort(self._queues.setdefault(bucket_of(t), []), queue_order(t))
                self._waiting += 1
                label = (t.group, t.priority)
                self._counts[label] = self._counts.get(label, 0) + 1
            return
        self._held.setdefault(t.assignee, set()).add(t.ticket_id)
        if t.counts:
            key = (t.assignee, t.channel)
            self._load[key] = self._load.get(key, 0) + 1

    def _unindex(self, ticket_id: str) -> None:
        t = self.tickets.pop(ticket_id, None)
        if t is None:
            return
        if t.assignee is None:
            queue = self._queues.get(bucket_of(t), [])
            i = bisect.bisect_left(queue, queue_order(t))
            if i < len(queue) and queue[i][-1] == ticket_id:
                del queue[i]
                self._waiting -= 1
                self._counts[(t.group, t.priority)] -= 1
            return
        self._held[t.assignee].discard(ticket_id)
        if t.counts:
            self._load[(t.assignee, t.channel)] -= 1


# ------------------------------------------------------------------------- operations
def enqueue(state: RoutingState, t: RoutedTicket) -> None:
    """``t`` waits for an agent (once; a ticket already known is left alone)."""
    if state.ticket(t.ticket_id) is None:
        clocks = state.sla.get(t.ticket_id)  # its SLA events may have come first
        due = clocks.next_due() if clocks is not None else t.sla_due_at
        state.put_ticket(replace(t, assignee=None, confirmed=False, sla_due_at=due))


def assigned(state: RoutingState, ticket_id: str, agent_id: str, *, confirmed: bool) -> None:
    """``ticket_id`` is held by ``agent_id``: routing's own choice (``confirmed=False`` until
    the ticket records it) or a fact from the ticket (``TicketAssigned``)."""
    t = state.ticket(ticket_id)
    if t is not None:
        state.put_ticket(replace(t, assignee=agent_id, confirmed=confirmed))


def released(state: RoutingState, ticket_id: str) -> None:
    """Forget ``ticket_id`` (closed, merged, or unknown to the ticket aggregate)."""
    state.forget(ticket_id)


def requeue(
    state: RoutingState, ticket_id: str, reason: AssignmentReason, **changes: object
) -> None:
    """Take ``ticket_id`` from its agent (if any) and let it wait again, with ``changes``
    (e.g. ``since``, or a new group and tier after an escalation)."""
    t = state.ticket(ticket_id)
    if t is None:
        return
    state.put_ticket(
        replace(
            t,
            reason=reason,
            previous_agent_id=t.assignee or t.previous_agent_id,
            assignee=None,
            confirmed=False,
            **changes,  # type: ignore[arg-type]
        )
    )


def update_ticket(state: RoutingState, ticket_id: str, **changes: object) -> None:
    """Change what routing knows of a ticket (priority, group, status…), wherever it is."""
    t = state.ticket(ticket_id)
    if t is not None:
        state.put_ticket(replace(t, **changes))  # type: ignore[arg-type]


def set_presence(
    state: RoutingState,
    agent_id: str,
    presence: AgentPresence,
    policy: ReassignPolicy,
    at: datetime | None = None,
) -> None:
    """The agent's presence; their open tickets wait again (since ``at``) when the policy
    says so. ``at`` is part of the next assignment's id: a second hand-over is a new one."""
    state.put_agent(replace(state.agent(agent_id), presence=presence))
    if policy.leaves(presence):
        for t in state.held_by(agent_id):
            if t.status not in DONE:
                since = at if at is not None else t.since
                requeue(state, t.ticket_id, AssignmentReason.REASSIGNED_PRESENCE, since=since)


def set_capacity(state: RoutingState, agent_id: str, capacity: dict[str, int]) -> None:
    state.put_agent(replace(state.agent(agent_id), capacity=tuple(sorted(capacity.items()))))


def set_skills(
    state: RoutingState,
    agent_id: str,
    *,
    languages: tuple[str, ...],
    channels: tuple[Channel, ...],
    tier: int,
    groups: tuple[str, ...],
) -> None:
    state.put_agent(
        replace(
            state.agent(agent_id), languages=languages, channels=channels, tier=tier, groups=groups
        )
    )


# ------------------------------------------------------------------------- SLA timers
def sla_running(
    state: RoutingState, ticket_id: str, metric: SlaMetric, instance: int, due_at: datetime
) -> None:
    """Timer (metric, instance) runs and breaches at ``due_at`` (started, re-targeted or
    resumed). A timer that already breached stays overdue from its breach."""
    clocks = state.sla.get(ticket_id) or SlaClocks(ticket_id)
    known = clocks.get(metric, instance)
    breached_at = known.breached_at if known is not None else None
    _put_sla(state, clocks.put(SlaDue(metric, instance, due_at, breached_at)))


def sla_paused(state: RoutingState, ticket_id: str, metric: SlaMetric, instance: int) -> None:
    """Timer (metric, instance) is paused: no deadline until it resumes."""
    clocks = state.sla.get(ticket_id)
    known = clocks.get(metric, instance) if clocks is not None else None
    if clocks is not None and known is not None:
        _put_sla(state, clocks.put(replace(known, due_at=None)))


def sla_breached(
    state: RoutingState, ticket_id: str, metric: SlaMetric, instance: int, at: datetime
) -> None:
    """Timer (metric, instance) breached at ``at``: overdue from then until fulfilled."""
    clocks = state.sla.get(ticket_id) or SlaClocks(ticket_id)
    known = clocks.get(metric, instance)
    due = known.due_at if known is not None else at
    _put_sla(state, clocks.put(SlaDue(metric, instance, due, at)))


def sla_fulfilled(state: RoutingState, ticket_id: str, metric: SlaMetric, instance: int) -> None:
    """Timer (metric, instance) is done (fulfilled, or stopped by solve/close)."""
    clocks = state.sla.get(ticket_id)
    if clocks is not None and clocks.get(metric, instance) is not None:
        _put_sla(state, clocks.drop(metric, instance))


def _put_sla(state: RoutingState, clocks: SlaClocks) -> None:
    state.put_sla(clocks)
    t = state.ticket(clocks.ticket_id)
    due = clocks.next_due()
    if t is not None and t.sla_due_at != due:
        state.put_ticket(replace(t, sla_due_at=due))


# ------------------------------------------------------------------------- dispatch
def dispatch(state: RoutingState, strategy: Strategy) -> list[Assignment]:
    """Assign waiting tickets, most urgent first, while eligible agents have capacity.

    Which agents may take a ticket depends only on its bucket (channel, group, tier): the
    next assignment is the first ticket, in queue order, among the heads of the buckets some
    online agent with a free seat serves. Work: the buckets times the online agents, then per
    assignment the buckets of its channel — never the length of the queue. (Loads only grow
    during a dispatch, so a bucket nobody can serve stays so: the order is that of a pass over
    the whole queue that skips tickets nobody can take.)"""
    online = sorted(
        (a for a in state.agents.values() if a.presence is AgentPresence.ONLINE),
        key=lambda a: a.agent_id,
    )
    if not state.waiting_count or not online:
        return []
    queues = state.queues()  # the live lists: assigning a ticket removes it from its list

    def servable(b: Bucket) -> bool:
        channel, group, tier = b
        return bool(queues[b]) and any(
            a.serves(channel, group, tier)
            and state.load_for(a.agent_id, channel) < a.capacity_for(channel)
            for a in online
        )

    candidates = {b for b in queues if servable(b)}
    out: list[Assignment] = []
    while candidates:
        bucket = min(candidates, key=lambda b: queues[b][0])
        t = state.tickets[queues[bucket][0][-1]]
        load = {a.agent_id: state.load_for(a.agent_id, t.channel) for a in online}
        agent_id = choose_agent(online, t, strategy, load, state.last_agent_id)
        if agent_id is None:  # servable() said someone fits: cannot happen; never loop on it
            candidates.discard(bucket)
            continue
        out.append(Assignment(t.ticket_id, agent_id, t.reason, t.previous_agent_id, t.since))
        assigned(state, t.ticket_id, agent_id, confirmed=False)
        state.set_cursor(agent_id)
        candidates = {b for b in candidates if b[0] is not t.channel or servable(b)}
    return out
