"""Routing and assignment: which online agent with free capacity and the right skills takes a
waiting ticket. No I/O, no clock: the router's agent feeds it events and sends what it returns.

- Eligible agent: ``online``; free capacity on the ticket's channel (no capacity set = 0);
  handles the channel (empty ``channels`` = all); ``tier`` ≥ the ticket's tier; in the
  ticket's group (empty ``groups`` = all groups; a ticket without a group fits everyone).
- Strategies: ``round_robin`` (next eligible agent by id after the last one assigned),
  ``least_loaded`` (fewest open tickets on the channel relative to capacity, then id),
  ``skills_first`` (agents speaking the ticket's language first, then least loaded).
- Waiting tickets are served in priority order (urgent first), then by time to SLA breach,
  then by waiting time.
- When an agent goes offline (or away, per policy) their open tickets are requeued with
  reason ``reassigned_presence`` and dispatched again.

State as rows: the router keeps one row per agent (``agent/<id>``), one per ticket it knows
(``ticket/<id>``, waiting or held) and the round-robin cursor (``cursor``). A row is small and
self-contained (a ticket row names its assignee; loads are derived), so the router's table
writes only the rows a batch changed, and no value grows with the number of open tickets.
``RoutingState`` is the in-memory index over those rows (queue order, loads per agent): it is
mutable on purpose — copying an immutable state of 20,000 tickets on every event would make
each decision O(open tickets) — and records which rows changed (``take_changes``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from schemas.records import AgentPresence, AssignmentReason, Channel, Priority, TicketStatus

PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}
DONE = (TicketStatus.SOLVED, TicketStatus.CLOSED)
CURSOR_ROW = "cursor"
AGENT_ROW = "agent/"
TICKET_ROW = "ticket/"


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
        return (
            (not self.channels or t.channel in self.channels)
            and self.tier >= t.tier
            and (t.group is None or not self.groups or t.group in self.groups)
        )


@dataclass(frozen=True, slots=True)
class Assignment:
    ticket_id: str
    agent_id: str
    reason: AssignmentReason
    previous_agent_id: str | None = None
    since: datetime | None = None  # the ticket's waiting-since (for the command id, latency)


_LAST = datetime.max.replace(tzinfo=UTC)
QueueKey = tuple[int, datetime, datetime, str]


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
    """The router's rows with their indices: the waiting queue (sorted), held tickets and load
    per agent and channel. Every change marks its row; ``take_changes`` hands them out."""

    def __init__(self) -> None:
        self.agents: dict[str, AgentProfile] = {}
        self.tickets: dict[str, RoutedTicket] = {}
        self.last_agent_id: str | None = None  # round robin cursor
        self._queue: list[QueueKey] = []  # waiting tickets in queue order
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
            else:
                raise ValueError(f"routing row {key!r} holds a {type(value).__name__}")
        state._changed.clear()
        return state

    def rows(self) -> dict[str, object]:
        """Every row (key → value): what ``from_rows`` rebuilds this state from."""
        out: dict[str, object] = {AGENT_ROW + a: p for a, p in self.agents.items()}
        out.update({TICKET_ROW + t: r for t, r in self.tickets.items()})
        if self.last_agent_id is not None:
            out[CURSOR_ROW] = self.last_agent_id
        return out

    def take_changes(self) -> list[tuple[str, object | None]]:
        """Rows changed since the last call, sorted by key: (key, value), value None = deleted."""
        rows = self.rows()
        out = [(k, rows.get(k)) for k in sorted(self._changed)]
        self._changed.clear()
        return out

    # ---------------------------------------------------------------- queries
    def agent(self, agent_id: str) -> AgentProfile:
        return self.agents.get(agent_id) or AgentProfile(agent_id)

    def ticket(self, ticket_id: str) -> RoutedTicket | None:
        return self.tickets.get(ticket_id)

    @property
    def waiting_count(self) -> int:
        return len(self._queue)

    @property
    def waiting(self) -> list[RoutedTicket]:
        """Waiting tickets in queue order."""
        return [self.tickets[k[-1]] for k in self._queue]

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
                bisect.insort(self._queue, queue_order(t))
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
            i = bisect.bisect_left(self._queue, queue_order(t))
            if i < len(self._queue) and self._queue[i][-1] == ticket_id:
                del self._queue[i]
            return
        self._held[t.assignee].discard(ticket_id)
        if t.counts:
            self._load[(t.assignee, t.channel)] -= 1


# ------------------------------------------------------------------------- operations
def enqueue(state: RoutingState, t: RoutedTicket) -> None:
    """``t`` waits for an agent (once; a ticket already known is left alone)."""
    if state.ticket(t.ticket_id) is None:
        state.put_ticket(replace(t, assignee=None, confirmed=False))


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


def dispatch(state: RoutingState, strategy: Strategy) -> list[Assignment]:
    """Assign waiting tickets, most urgent first, while eligible agents have capacity.

    Work: one pass over the waiting queue, skipping channels where no online agent has a free
    seat (O(1) each), and a look at the online agents for tickets on channels that have one."""
    online = sorted(
        (a for a in state.agents.values() if a.presence is AgentPresence.ONLINE),
        key=lambda a: a.agent_id,
    )
    if not state.waiting_count or not online:
        return []

    def has_seat(channel: Channel) -> bool:
        return any(state.load_for(a.agent_id, channel) < a.capacity_for(channel) for a in online)

    free = {c for c in Channel if has_seat(c)}
    out: list[Assignment] = []
    for t in state.waiting:  # a snapshot: assigning changes the queue
        if not free:
            break
        if t.channel not in free:
            continue
        load = {a.agent_id: state.load_for(a.agent_id, t.channel) for a in online}
        agent_id = choose_agent(online, t, strategy, load, state.last_agent_id)
        if agent_id is None:
            continue
        out.append(Assignment(t.ticket_id, agent_id, t.reason, t.previous_agent_id, t.since))
        assigned(state, t.ticket_id, agent_id, confirmed=False)
        state.set_cursor(agent_id)
        if not has_seat(t.channel):
            free.discard(t.channel)
    return out
