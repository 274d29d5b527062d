"""Per-ticket SLA clocks: evolved from ticket events, fired by the clock the caller passes in.

``on_event(state, event, policies)`` applies one ticket event (first firing what fell due
before it, so a live run and a replay agree) and returns the new state and the Sla* events it
causes. ``fire_due(state, now, policies)`` fires the warnings, breaches and the auto-close that
are due at ``now``. ``deadlines(state)`` returns the pending deadlines as data; the caller indexes
``next_due(state)``.

Every timer keeps its elapsed business and calendar seconds up to ``running_since`` (None while
paused or done), so re-targeting (priority, group, tags, schedule or policy changes) carries the
elapsed time over. Event ids derive from their cause: reactive events from (cause event id,
metric, instance, kind), fired events from (ticket, metric, instance, kind, due time).
``recorded_at`` equals ``occurred_at`` so a replay yields byte-identical events.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from schemas.records import (
    Actor,
    ActorKind,
    AgentReplied,
    ChangeTicketStatus,
    CommandHeader,
    CustomerMessageAppended,
    Envelope,
    InternalNoteAdded,
    Priority,
    SlaBreached,
    SlaMetric,
    SlaPolicyApplied,
    SlaTimerFulfilled,
    SlaTimerPaused,
    SlaTimerResumed,
    SlaTimerStarted,
    SlaWarning,
    TicketAssigned,
    TicketGroupChanged,
    TicketOpened,
    TicketPriorityChanged,
    TicketStatus,
    TicketStatusChanged,
    TicketTagsChanged,
    TicketUnassigned,
)
from streams.domain.calendar import Schedule, add_business_seconds, business_seconds_between
from streams.domain.ids import derive_id
from streams.domain.sla.policy import PolicySet, TicketFacts

M = SlaMetric
SLA_ACTOR = Actor(ActorKind.SYSTEM, "ticketstream-sla")
AUTO_CLOSE_ACTOR = Actor(ActorKind.SYSTEM, "ticketstream")  # = the tickets domain's SYSTEM

REPLY_METRICS = (M.FIRST_REPLY_TIME, M.NEXT_REPLY_TIME)
UPDATE_METRICS = (M.PERIODIC_UPDATE_TIME, M.PAUSABLE_UPDATE_TIME)
SOLVE_METRICS = (M.REQUESTER_WAIT_TIME, M.AGENT_WORK_TIME, M.TOTAL_RESOLUTION_TIME)
PAUSED_BY: dict[SlaMetric, frozenset[TicketStatus]] = {
    M.PAUSABLE_UPDATE_TIME: frozenset({TicketStatus.PENDING}),
    M.REQUESTER_WAIT_TIME: frozenset({TicketStatus.PENDING}),
    M.AGENT_WORK_TIME: frozenset({TicketStatus.PENDING, TicketStatus.ON_HOLD}),
}


@dataclass(frozen=True, slots=True)
class Timer:
    """One instance of one metric. ``target_seconds`` None = the policy sets no target (the
    clock still runs, so a later policy can target it with the elapsed time carried over)."""

    metric: SlaMetric
    instance: int
    started_at: datetime
    running_since: datetime | None  # None: paused or done
    business_elapsed: int  # up to running_since (or the pause / end)
    calendar_elapsed: int
    done: bool = False
    policy_id: str | None = None
    priority: Priority = Priority.NORMAL
    target_seconds: int | None = None
    business_hours: bool = True
    due_at: datetime | None = None  # breach deadline while running and targeted
    warnings_due: tuple[tuple[int, datetime], ...] = ()  # pending (percent, due)
    breached: bool = False


@dataclass(frozen=True, slots=True)
class SlaState:
    ticket_id: str
    tenant_id: str
    correlation_id: str
    created_at: datetime
    facts: TicketFacts
    status: TicketStatus = TicketStatus.NEW
    assignee: str | None = None
    policy_id: str | None = None
    policy_version: int = 0
    schedule_id: str = ""
    timers: tuple[Timer, ...] = ()
    instances: tuple[tuple[SlaMetric, int], ...] = ()  # last instance per metric
    awaiting_customer: bool = False  # agent-opened: first reply waits for the customer
    first_reply_done: bool = False
    solved_at: datetime | None = None
    auto_close_at: datetime | None = None
    version: int = 0  # aggregate_version of the last Sla* event


@dataclass(frozen=True, slots=True)
class Deadline:
    due_at: datetime
    kind: str  # "warning_75", "breach", "auto_close"
    metric: SlaMetric | None = None
    instance: int = 0


@dataclass(frozen=True, slots=True)
class Outcome:
    state: SlaState | None
    events: tuple[Any, ...] = ()
    commands: tuple[ChangeTicketStatus, ...] = ()


# ------------------------------------------------------------------ building blocks
class _Ctx:
    """Accumulates the events of one step with deterministic ids and versions."""

    def __init__(self, state: SlaState, policies: PolicySet, cause_id: str, at: datetime):
        self.state = state
        self.policies = policies
        self.cause_id = cause_id
        self.at = at
        self.events: list[Any] = []
        self.commands: list[ChangeTicketStatus] = []

    @property
    def schedule(self) -> Schedule:
        s = self.policies.schedules.get(self.state.schedule_id)
        return s if s is not None else self.policies.schedules[self.policies.default_schedule]

    def env(self, key: tuple[object, ...], at: datetime) -> Envelope:
        self.state = replace(self.state, version=self.state.version + 1)
        return Envelope(
            event_id=derive_id("sla", self.state.ticket_id, *key),
            occurred_at=at,
            recorded_at=at,
            aggregate_id=self.state.ticket_id,
            aggregate_version=self.state.version,
            causation_id=self.cause_id,
            correlation_id=self.state.correlation_id,
            actor=SLA_ACTOR,
            tenant_id=self.state.tenant_id,
            brand_id=self.state.facts.brand,
        )

    def reactive(self, metric: SlaMetric | str, instance: int, kind: str) -> Envelope:
        return self.env((self.cause_id, metric, instance, kind), self.at)

    def put(self, timer: Timer) -> None:
        timers = [
            t for t in self.state.timers if (t.metric, t.instance) != (timer.metric, timer.instance)
        ]
        timers.append(timer)
        timers.sort(key=lambda t: (list(M).index(t.metric), t.instance))
        self.state = replace(self.state, timers=tuple(timers))

    def get(self, metric: SlaMetric) -> Timer | None:
        """The latest instance of ``metric``."""
        found = [t for t in self.state.timers if t.metric is metric]
        return max(found, key=lambda t: t.instance) if found else None

    def next_instance(self, metric: SlaMetric) -> int:
        last = dict(self.state.instances).get(metric, 0)
        inst = dict(self.state.instances)
        inst[metric] = last + 1
        self.state = replace(
            self.state, instances=tuple(sorted(inst.items(), key=lambda kv: list(M).index(kv[0])))
        )
        return last + 1


def _elapsed(timer: Timer, schedule: Schedule, at: datetime) -> tuple[int, int]:
    """(business, calendar) elapsed seconds of ``timer`` at ``at``."""
    if timer.running_since is None or at <= timer.running_since:
        return timer.business_elapsed, timer.calendar_elapsed
    return (
        timer.business_elapsed + business_seconds_between(schedule, timer.running_since, at),
        timer.calendar_elapsed + int((at - timer.running_since).total_seconds()),
    )


def _at_amount(timer: Timer, schedule: Schedule, amount: int) -> datetime:
    """When the counted clock of a running ``timer`` reaches ``amount`` seconds."""
    assert timer.running_since is not None
    counted = timer.business_elapsed if timer.business_hours else timer.calendar_elapsed
    left = max(0, amount - counted)
    if timer.business_hours:
        return add_business_seconds(schedule, timer.running_since, left)
    return timer.running_since + timedelta(seconds=left)


def _schedule_dues(timer: Timer, schedule: Schedule, warnings: tuple[int, ...]) -> Timer:
    """Recompute the breach and warning deadlines of ``timer`` (none while paused/done)."""
    if timer.running_since is None or timer.target_seconds is None or timer.done:
        return replace(timer, due_at=None, warnings_due=())
    target = timer.target_seconds
    due = None if timer.breached else _at_amount(timer, schedule, target)
    counted = timer.business_elapsed if timer.business_hours else timer.calendar_elapsed
    pending = tuple(
        (pct, _at_amount(timer, schedule, target * pct // 100))
        for pct in warnings
        if not timer.breached and counted < target * pct // 100
    )
    return replace(timer, due_at=due, warnings_due=pending)


def _warnings(ctx: _Ctx, timer: Timer) -> tuple[int, ...]:
    policy = next((p for p in ctx.policies.policies if p.policy_id == timer.policy_id), None)
    return policy.warnings if policy is not None else ()


def _start(ctx: _Ctx, metric: SlaMetric, at: datetime, *, instance: int | None = None) -> None:
    inst = instance if instance is not None else ctx.next_instance(metric)
    timer = Timer(metric, inst, at, at, 0, 0)
    timer = _target(ctx, timer)
    timer = _schedule_dues(timer, ctx.schedule, _warnings(ctx, timer))
    ctx.put(timer)
    if timer.target_seconds is not None:
        _emit_started(ctx, timer)


def _target(ctx: _Ctx, timer: Timer) -> Timer:
    """``timer`` with the target of the ticket's current policy and priority."""
    s = ctx.state
    policy = next((p for p in ctx.policies.policies if p.policy_id == s.policy_id), None)
    target = policy.target(timer.metric, s.facts.priority) if policy is not None else None
    if target is None:
        return replace(timer, policy_id=None, target_seconds=None, priority=s.facts.priority)
    return replace(
        timer,
        policy_id=s.policy_id,
        priority=s.facts.priority,
        target_seconds=target.seconds,
        business_hours=target.business_hours,
    )


def _emit_started(ctx: _Ctx, timer: Timer) -> None:
    assert timer.policy_id is not None and timer.target_seconds is not None
    assert timer.due_at is not None or timer.breached
    ctx.events.append(
        SlaTimerStarted(
            ctx.reactive(timer.metric, timer.instance, "started"),
            ctx.state.ticket_id,
            timer.metric,
            timer.instance,
            timer.policy_id,
            timer.priority,
            timer.target_seconds,
            timer.business_hours,
            timer.due_at if timer.due_at is not None else ctx.at,
        )
    )


def _frozen(timer: Timer, schedule: Schedule, at: datetime, *, done: bool) -> Timer:
    """``timer`` stopped at ``at``: elapsed brought up to ``at`` on ``schedule``, no longer
    running, no pending deadlines (``done`` marks it fulfilled). Pausing and fulfilling share it."""
    b, c = _elapsed(timer, schedule, at)
    return replace(
        timer,
        running_since=None,
        business_elapsed=b,
        calendar_elapsed=c,
        done=done,
        due_at=None,
        warnings_due=(),
    )


def _pause(ctx: _Ctx, timer: Timer) -> None:
    if timer.running_since is None or timer.done:
        return
    paused = _frozen(timer, ctx.schedule, ctx.at, done=False)
    ctx.put(paused)
    if timer.target_seconds is not None:
        ctx.events.append(
            SlaTimerPaused(
                ctx.reactive(timer.metric, timer.instance, "paused"),
                ctx.state.ticket_id,
                timer.metric,
                timer.instance,
                paused.business_elapsed,
                paused.calendar_elapsed,
            )
        )


def _resume(ctx: _Ctx, timer: Timer) -> None:
    if timer.running_since is not None:
        return
    resumed = _schedule_dues(
        replace(timer, running_since=ctx.at, done=False), ctx.schedule, _warnings(ctx, timer)
    )
    ctx.put(resumed)
    if resumed.target_seconds is not None:
        ctx.events.append(
            SlaTimerResumed(
                ctx.reactive(timer.metric, timer.instance, "resumed"),
                ctx.state.ticket_id,
                timer.metric,
                timer.instance,
                resumed.due_at if resumed.due_at is not None else ctx.at,
            )
        )


def _fulfil(ctx: _Ctx, timer: Timer) -> None:
    if timer.done:
        return
    done = _frozen(timer, ctx.schedule, ctx.at, done=True)
    ctx.put(done)
    if timer.target_seconds is not None and timer.policy_id is not None:
        ctx.events.append(
            SlaTimerFulfilled(
                ctx.reactive(timer.metric, timer.instance, "fulfilled"),
                ctx.state.ticket_id,
                timer.metric,
                timer.instance,
                timer.policy_id,
                timer.priority,
                timer.target_seconds,
                done.business_elapsed,
                done.calendar_elapsed,
                timer.breached,
            )
        )


def _drop_done(ctx: _Ctx, metric: SlaMetric) -> None:
    """Forget finished instances of a repeating metric (state stays small)."""
    ctx.state = replace(
        ctx.state, timers=tuple(t for t in ctx.state.timers if not (t.metric is metric and t.done))
    )


# ------------------------------------------------------------------ re-targeting
def _rematch(ctx: _Ctx) -> None:
    """Re-run policy and schedule matching; re-target active timers with elapsed carried over
    and breach at ``ctx.at`` (never back-dated) when the new target is already exceeded."""
    s = ctx.state
    policy = ctx.policies.policy_for(s.facts)
    schedule = ctx.policies.schedule_for(s.facts)
    new_pid = policy.policy_id if policy is not None else None
    if (new_pid, schedule.schedule_id, ctx.policies.version) == (
        s.policy_id,
        s.schedule_id,
        s.policy_version,
    ) and all(t.done or t.priority is s.facts.priority for t in s.timers):
        return
    old_schedule = ctx.schedule
    # bring every running timer's elapsed up to now on the old schedule
    for t in s.timers:
        if t.running_since is not None and not t.done:
            b, c = _elapsed(t, old_schedule, ctx.at)
            ctx.put(replace(t, running_since=ctx.at, business_elapsed=b, calendar_elapsed=c))
    previous = s.policy_id
    ctx.state = replace(
        ctx.state,
        policy_id=new_pid,
        schedule_id=schedule.schedule_id,
        policy_version=ctx.policies.version,
    )
    if new_pid is not None and (
        new_pid != previous or schedule.schedule_id != s.schedule_id or s.version == 0
    ):
        ctx.events.append(
            SlaPolicyApplied(
                ctx.reactive("policy", ctx.policies.version, "applied"),
                s.ticket_id,
                new_pid,
                ctx.policies.version,
                schedule.schedule_id,
                s.facts.priority,
                previous,
            )
        )
    for t in ctx.state.timers:
        if t.done:
            continue
        old = (t.policy_id, t.target_seconds, t.business_hours, t.priority)
        nt = _target(ctx, t)
        if (
            nt.policy_id,
            nt.target_seconds,
            nt.business_hours,
            nt.priority,
        ) == old and schedule.schedule_id == s.schedule_id:
            continue
        counted = nt.business_elapsed if nt.business_hours else nt.calendar_elapsed
        if nt.target_seconds is not None and counted >= nt.target_seconds and not nt.breached:
            nt = replace(nt, breached=True)
            ctx.put(nt)
            _emit_breach(ctx, nt, ctx.at, key=(ctx.cause_id, t.metric, t.instance, "breach"))
        nt = _schedule_dues(nt, ctx.schedule, _warnings(ctx, nt))
        ctx.put(nt)
        if nt.target_seconds is not None and nt.running_since is not None:
            _emit_started(ctx, nt)


def _emit_breach(ctx: _Ctx, timer: Timer, at: datetime, *, key: tuple[object, ...]) -> None:
    assert timer.policy_id is not None and timer.target_seconds is not None
    b, c = _elapsed(timer, ctx.schedule, at)
    ctx.events.append(
        SlaBreached(
            ctx.env(key, at),
            ctx.state.ticket_id,
            timer.metric,
            timer.instance,
            timer.policy_id,
            timer.priority,
            timer.target_seconds,
            at,
            b,
            c,
        )
    )


# ------------------------------------------------------------------ firing
def deadlines(state: SlaState) -> tuple[Deadline, ...]:
    """Every pending deadline (warnings, breaches, auto-close), earliest first."""
    out: list[Deadline] = []
    for t in state.timers:
        out.extend(
            Deadline(due, f"warning_{pct}", t.metric, t.instance) for pct, due in t.warnings_due
        )
        if t.due_at is not None:
            out.append(Deadline(t.due_at, "breach", t.metric, t.instance))
    if state.auto_close_at is not None:
        out.append(Deadline(state.auto_close_at, "auto_close"))
    return tuple(sorted(out, key=lambda d: (d.due_at, d.kind, str(d.metric), d.instance)))


def next_due(state: SlaState | None) -> datetime | None:
    """The earliest pending deadline, or None."""
    ds = deadlines(state) if state is not None else ()
    return ds[0].due_at if ds else None


def fire_due(state: SlaState, now: datetime, policies: PolicySet) -> Outcome:
    """Fire every deadline due at or before ``now``: SlaWarning / SlaBreached with their due time
    as ``occurred_at`` and ids from (ticket, metric, instance, kind, due time); the auto-close
    ``ChangeTicketStatus(closed)`` command. Idempotent: fired deadlines leave the state."""
    due = [d for d in deadlines(state) if d.due_at <= now]
    if not due:
        return Outcome(state)
    ctx = _Ctx(state, policies, "", now)
    for d in due:
        ctx.cause_id = derive_id(
            "sla-deadline", state.ticket_id, d.metric, d.instance, d.kind, d.due_at.isoformat()
        )
        if d.kind == "auto_close":
            ctx.state = replace(ctx.state, auto_close_at=None)
            if ctx.state.status is TicketStatus.SOLVED:
                cid = derive_id(state.ticket_id, "auto-close", ctx.state.solved_at)
                ctx.commands.append(
                    ChangeTicketStatus(
                        CommandHeader(
                            cid,
                            d.due_at,
                            state.ticket_id,
                            cid,
                            AUTO_CLOSE_ACTOR,
                            state.tenant_id,
                            state.facts.brand,
                        ),
                        state.ticket_id,
                        TicketStatus.CLOSED,
                    )
                )
            continue
        timer = next(
            t for t in ctx.state.timers if (t.metric, t.instance) == (d.metric, d.instance)
        )
        assert timer.policy_id is not None and timer.target_seconds is not None
        policy_id = timer.policy_id
        key = (d.metric, d.instance, d.kind, d.due_at.isoformat())
        if d.kind == "breach":
            timer = replace(timer, breached=True, due_at=None, warnings_due=())
            ctx.put(timer)
            _emit_breach(ctx, timer, d.due_at, key=key)
        else:
            pct = int(d.kind.removeprefix("warning_"))
            ctx.put(
                replace(timer, warnings_due=tuple(w for w in timer.warnings_due if w[0] != pct))
            )
            ctx.events.append(
                SlaWarning(
                    ctx.env(key, d.due_at),
                    state.ticket_id,
                    timer.metric,
                    timer.instance,
                    policy_id,
                    timer.priority,
                    pct,
                    timer.due_at if timer.due_at is not None else d.due_at,
                    ctx.state.assignee,
                )
            )
    return Outcome(ctx.state, tuple(ctx.events), tuple(ctx.commands))


# ------------------------------------------------------------------ ticket events
def on_event(state: SlaState | None, event: object, policies: PolicySet) -> Outcome:
    """Apply one ticket event: fire what fell due before it, then start / pause / resume /
    fulfil / re-target timers. Events that do not concern SLAs return the state unchanged."""
    if isinstance(event, TicketOpened):
        if state is not None:
            return Outcome(state)  # redelivery
        return _opened(event, policies)
    if state is None:
        return Outcome(None)
    env: Envelope | None = getattr(event, "envelope", None)
    if env is None:
        return Outcome(state)
    at = env.occurred_at
    fired = fire_due(state, at, policies)
    assert fired.state is not None
    ctx = _Ctx(fired.state, policies, env.event_id, at)
    _apply(ctx, event)
    return Outcome(
        ctx.state, fired.events + tuple(ctx.events), fired.commands + tuple(ctx.commands)
    )


def _opened(e: TicketOpened, policies: PolicySet) -> Outcome:
    env = e.envelope
    facts = TicketFacts(e.priority, e.channel, e.group, e.tags, e.customer_tier, env.brand_id)
    state = SlaState(
        e.ticket_id,
        env.tenant_id,
        env.correlation_id,
        env.occurred_at,
        facts,
        awaiting_customer=not e.by_customer,
    )
    ctx = _Ctx(state, policies, env.event_id, env.occurred_at)
    _rematch(ctx)
    for metric in SOLVE_METRICS:
        _start(ctx, metric, ctx.at)
    if e.by_customer:
        _start(ctx, M.FIRST_REPLY_TIME, ctx.at)
    return Outcome(ctx.state, tuple(ctx.events))


def _apply(ctx: _Ctx, event: object) -> None:
    s = ctx.state
    if isinstance(event, TicketAssigned):
        ctx.state = replace(s, assignee=event.agent_id)
        return
    if isinstance(event, TicketUnassigned):
        ctx.state = replace(s, assignee=None)
        return
    if s.status is TicketStatus.CLOSED:
        return
    if isinstance(event, TicketPriorityChanged):
        ctx.state = replace(s, facts=replace(s.facts, priority=event.to_priority))
    elif isinstance(event, TicketGroupChanged):
        ctx.state = replace(s, facts=replace(s.facts, group=event.to_group))
    elif isinstance(event, TicketTagsChanged):
        ctx.state = replace(s, facts=replace(s.facts, tags=event.tags))
    elif not isinstance(
        event, CustomerMessageAppended | AgentReplied | InternalNoteAdded | TicketStatusChanged
    ):
        return  # not SLA-affecting
    _rematch(ctx)  # picks up a new policy version at the next SLA-affecting update
    if isinstance(event, CustomerMessageAppended):
        _customer_message(ctx)
    elif isinstance(event, AgentReplied) and event.envelope.actor.kind is ActorKind.AGENT:
        _agent_reply(ctx)
    elif isinstance(event, InternalNoteAdded):
        policy = next(
            (p for p in ctx.policies.policies if p.policy_id == ctx.state.policy_id), None
        )
        periodic = ctx.get(M.PERIODIC_UPDATE_TIME)
        if (
            policy is not None
            and policy.internal_notes_update
            and periodic is not None
            and not periodic.done
        ):
            _fulfil(ctx, periodic)
            _drop_done(ctx, M.PERIODIC_UPDATE_TIME)
            _start(ctx, M.PERIODIC_UPDATE_TIME, ctx.at)
    elif isinstance(event, TicketStatusChanged):
        _status(ctx, event.to_status)


def _customer_message(ctx: _Ctx) -> None:
    if ctx.state.awaiting_customer:
        ctx.state = replace(ctx.state, awaiting_customer=False)
        _start(ctx, M.FIRST_REPLY_TIME, ctx.at)
        return
    frt = ctx.get(M.FIRST_REPLY_TIME)
    if frt is not None and not frt.done:
        return  # first reply time covers it
    nrt = ctx.get(M.NEXT_REPLY_TIME)
    if nrt is None or nrt.done:  # the oldest unanswered message starts the clock
        _drop_done(ctx, M.NEXT_REPLY_TIME)
        _start(ctx, M.NEXT_REPLY_TIME, ctx.at)


def _agent_reply(ctx: _Ctx) -> None:
    if ctx.state.status in (TicketStatus.SOLVED, TicketStatus.CLOSED):
        return
    for metric in (*REPLY_METRICS, *UPDATE_METRICS):
        t = ctx.get(metric)
        if t is not None and not t.done:
            _fulfil(ctx, t)
    ctx.state = replace(ctx.state, first_reply_done=True)
    for metric in UPDATE_METRICS:  # every public reply starts the next update period
        _drop_done(ctx, metric)
        _start(ctx, metric, ctx.at)
        if ctx.state.status in PAUSED_BY.get(metric, frozenset()):
            t = ctx.get(metric)
            assert t is not None
            _pause(ctx, t)


def _status(ctx: _Ctx, to: TicketStatus) -> None:
    prev = ctx.state.status
    ctx.state = replace(ctx.state, status=to)
    if to is TicketStatus.SOLVED:
        ctx.state = replace(
            ctx.state,
            solved_at=ctx.at,
            auto_close_at=ctx.at + timedelta(days=ctx.policies.auto_close_days),
        )
        for t in ctx.state.timers:
            _fulfil(ctx, t)
        return
    if to is TicketStatus.CLOSED:
        ctx.state = replace(ctx.state, auto_close_at=None)
        for t in ctx.state.timers:
            _fulfil(ctx, t)
        return
    ctx.state = replace(ctx.state, auto_close_at=None)
    if prev is TicketStatus.SOLVED:  # reopened: wait/work resume with their elapsed time
        for metric in SOLVE_METRICS:
            got = ctx.get(metric)
            if got is None:
                continue
            if metric is M.TOTAL_RESOLUTION_TIME:  # continues from creation
                b = business_seconds_between(ctx.schedule, ctx.state.created_at, ctx.at)
                c = int((ctx.at - ctx.state.created_at).total_seconds())
                got = replace(got, business_elapsed=b, calendar_elapsed=c)
            ctx.put(replace(got, done=False))
            _resume(ctx, replace(got, done=False))
    for metric, paused_in in PAUSED_BY.items():
        current = ctx.get(metric)
        if current is None or current.done:
            continue
        if to in paused_in:
            _pause(ctx, current)
        else:
            _resume(ctx, current)
