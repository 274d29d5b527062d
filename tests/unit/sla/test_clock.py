"""SLA clocks, read as specifications; every expected value worked out by hand.

Schedule: Asia/Bangkok, Mon–Fri 09:00–18:00. 2026-11-20 is a Friday, 2026-11-23 a Monday.
"""

from __future__ import annotations

from schemas.records import (
    Priority,
    SlaBreached,
    SlaMetric,
    SlaPolicyApplied,
    SlaTimerFulfilled,
    SlaTimerPaused,
    SlaTimerResumed,
    SlaTimerStarted,
    SlaWarning,
    TicketStatus,
)
from streams.domain.sla.clock import deadlines, fire_due, next_due
from tests.unit.sla.helpers import (
    BOT,
    assigned,
    bkk,
    message,
    note,
    of,
    opened,
    policies,
    priority,
    reply,
    run,
    status,
)

M = SlaMetric
S = TicketStatus
H = 3600


def started(events: list[object], metric: SlaMetric) -> list[SlaTimerStarted]:
    return [e for e in of(SlaTimerStarted, events) if e.metric is metric]


# ------------------------------------------------------------------ worked examples
def test_worked_example_friday_1730_first_reply_due_monday_1030() -> None:
    ps = policies()
    _, ev = run(ps, [opened(bkk(2026, 11, 20, 17, 30))])
    (frt,) = started(ev, M.FIRST_REPLY_TIME)
    assert frt.target_seconds == 2 * H and frt.business_hours
    assert frt.due_at == bkk(2026, 11, 23, 10, 30)
    assert of(SlaPolicyApplied, ev)[0].policy_id == "std"


def test_worked_example_monday_holiday_moves_due_to_tuesday_1030() -> None:
    ps = policies(closed="2026-11-23")
    _, ev = run(ps, [opened(bkk(2026, 11, 20, 17, 30))])
    assert started(ev, M.FIRST_REPLY_TIME)[0].due_at == bkk(2026, 11, 24, 10, 30)


def test_breach_fires_at_the_due_second_not_before() -> None:
    ps = policies()
    state, _ = run(ps, [opened(bkk(2026, 11, 20, 17, 30))])
    assert state is not None
    early = fire_due(state, bkk(2026, 11, 23, 10, 29, 59), ps)
    # (total resolution, 1 calendar day, breached on Saturday: not a first-reply breach)
    assert not [e for e in of(SlaBreached, list(early.events)) if e.metric is M.FIRST_REPLY_TIME]
    res = fire_due(state, bkk(2026, 11, 23, 10, 30), ps)
    (b,) = [e for e in of(SlaBreached, list(res.events)) if e.metric is M.FIRST_REPLY_TIME]
    assert b.envelope.occurred_at == bkk(2026, 11, 23, 10, 30)
    assert b.business_elapsed_seconds == 2 * H
    assert b.calendar_elapsed_seconds == 2 * 86400 + 17 * H  # Fri 17:30 → Mon 10:30
    again = fire_due(res.state, bkk(2026, 11, 23, 10, 31), ps)  # type: ignore[arg-type]
    assert not again.events


def test_worked_example_requester_wait_resumes_with_five_hours_left() -> None:
    ps = policies()
    # Mon 09:00 open; 12:00 pending (3 h used); Wed 12:00 the customer replies → open.
    _, ev = run(
        ps,
        [
            opened(bkk(2026, 11, 23, 9)),
            status(bkk(2026, 11, 23, 9), S.NEW, S.OPEN),
            status(bkk(2026, 11, 23, 12), S.OPEN, S.PENDING),
            message(bkk(2026, 11, 25, 12)),
            status(bkk(2026, 11, 25, 12), S.PENDING, S.OPEN),
        ],
    )
    (p,) = [e for e in of(SlaTimerPaused, ev) if e.metric is M.REQUESTER_WAIT_TIME]
    assert (p.business_elapsed_seconds, p.calendar_elapsed_seconds) == (3 * H, 3 * H)
    (r,) = [e for e in of(SlaTimerResumed, ev) if e.metric is M.REQUESTER_WAIT_TIME]
    assert r.due_at == bkk(2026, 11, 25, 17)  # 5 business hours from Wed 12:00


def test_worked_example_priority_raise_breaches_at_the_change() -> None:
    ps = policies()
    _, ev = run(
        ps,
        [
            opened(bkk(2026, 11, 23, 9), Priority.NORMAL),
            priority(bkk(2026, 11, 23, 12), Priority.NORMAL, Priority.URGENT),
        ],
    )
    (b,) = [e for e in of(SlaBreached, ev) if e.metric is M.FIRST_REPLY_TIME]
    assert b.envelope.occurred_at == bkk(2026, 11, 23, 12)  # not 10:00 (creation + 1 h... 2 h)
    assert b.priority is Priority.URGENT and b.target_seconds == 2 * H
    assert b.business_elapsed_seconds == 3 * H
    # the re-targeted timer: elapsed carried over; recorded with the priority in force
    frt = [e for e in started(ev, M.FIRST_REPLY_TIME)]
    assert [(e.priority, e.target_seconds) for e in frt] == [
        (Priority.NORMAL, 8 * H),
        (Priority.URGENT, 2 * H),
    ]


def test_priority_raise_before_target_carries_elapsed_time() -> None:
    ps = policies()
    # normal FRT 8 h; after 1 business hour → urgent 2 h: due 1 h after the change.
    _, ev = run(
        ps,
        [
            opened(bkk(2026, 11, 23, 9), Priority.NORMAL),
            priority(bkk(2026, 11, 23, 10), Priority.NORMAL, Priority.URGENT),
        ],
    )
    assert started(ev, M.FIRST_REPLY_TIME)[-1].due_at == bkk(2026, 11, 23, 11)
    assert not of(SlaBreached, ev)


# ------------------------------------------------------------------ per metric
def test_first_reply_fulfilled_by_human_agent_not_by_bot() -> None:
    ps = policies()
    _, ev = run(
        ps,
        [
            opened(bkk(2026, 11, 23, 9)),
            reply(bkk(2026, 11, 23, 9, 5), BOT),
            reply(bkk(2026, 11, 23, 10, 30)),
        ],
    )
    (f,) = [e for e in of(SlaTimerFulfilled, ev) if e.metric is M.FIRST_REPLY_TIME]
    assert f.envelope.occurred_at == bkk(2026, 11, 23, 10, 30)
    assert (f.business_elapsed_seconds, f.calendar_elapsed_seconds, f.breached) == (
        90 * 60,
        90 * 60,
        False,
    )


def test_agent_opened_ticket_waits_for_the_customer_first_message() -> None:
    ps = policies()
    _, ev = run(ps, [opened(bkk(2026, 11, 23, 9), by_customer=False)])
    assert not started(ev, M.FIRST_REPLY_TIME)
    _, ev = run(
        ps, [opened(bkk(2026, 11, 23, 9), by_customer=False), message(bkk(2026, 11, 23, 11))]
    )
    assert started(ev, M.FIRST_REPLY_TIME)[0].due_at == bkk(2026, 11, 23, 13)


def test_next_reply_starts_at_oldest_unanswered_message_every_exchange() -> None:
    ps = policies()
    _, ev = run(
        ps,
        [
            opened(bkk(2026, 11, 23, 9)),
            reply(bkk(2026, 11, 23, 9, 10)),  # first reply: FRT, not NRT
            message(bkk(2026, 11, 23, 10)),  # NRT #1 starts
            message(bkk(2026, 11, 23, 10, 20)),  # still #1 (oldest unanswered)
            reply(bkk(2026, 11, 23, 10, 45)),  # fulfils #1 after 45 min
            message(bkk(2026, 11, 23, 17, 30)),  # NRT #2: 30 min today, due Tue 09:30
        ],
    )
    nrt = started(ev, M.NEXT_REPLY_TIME)
    assert [(e.instance, e.due_at) for e in nrt] == [
        (1, bkk(2026, 11, 23, 11)),
        (2, bkk(2026, 11, 24, 9, 30)),
    ]
    (f,) = [e for e in of(SlaTimerFulfilled, ev) if e.metric is M.NEXT_REPLY_TIME]
    assert (f.instance, f.business_elapsed_seconds) == (1, 45 * 60)


def test_periodic_update_repeats_and_internal_notes_count_only_by_option() -> None:
    events = [
        opened(bkk(2026, 11, 23, 9)),
        reply(bkk(2026, 11, 23, 9, 10)),  # periodic #1 starts (2 h)
        note(bkk(2026, 11, 23, 10)),
        reply(bkk(2026, 11, 23, 11)),  # fulfils #1 (110 min); #2 starts
    ]
    _, ev = run(policies(), events)
    per = [e for e in of(SlaTimerFulfilled, ev) if e.metric is M.PERIODIC_UPDATE_TIME]
    assert [(e.instance, e.business_elapsed_seconds) for e in per] == [(1, 110 * 60)]
    _, ev = run(policies(notes=True), events)
    per = [e for e in of(SlaTimerFulfilled, ev) if e.metric is M.PERIODIC_UPDATE_TIME]
    assert [(e.instance, e.business_elapsed_seconds) for e in per] == [(1, 50 * 60), (2, 60 * 60)]


def test_pausable_update_pauses_while_pending_periodic_does_not() -> None:
    ps = policies()
    _, ev = run(
        ps,
        [
            opened(bkk(2026, 11, 23, 9)),
            status(bkk(2026, 11, 23, 9), S.NEW, S.OPEN),
            reply(bkk(2026, 11, 23, 10)),
            status(bkk(2026, 11, 23, 10, 30), S.OPEN, S.PENDING),
            status(bkk(2026, 11, 23, 14), S.PENDING, S.OPEN),
        ],
    )
    paused = {e.metric for e in of(SlaTimerPaused, ev)}
    assert M.PAUSABLE_UPDATE_TIME in paused and M.PERIODIC_UPDATE_TIME not in paused
    (r,) = [e for e in of(SlaTimerResumed, ev) if e.metric is M.PAUSABLE_UPDATE_TIME]
    assert r.due_at == bkk(2026, 11, 23, 15, 30)  # 30 min used, 90 min left from 14:00


def test_agent_work_pauses_on_hold_requester_wait_does_not() -> None:
    ps = policies()
    _, ev = run(
        ps,
        [
            opened(bkk(2026, 11, 23, 9)),
            status(bkk(2026, 11, 23, 9), S.NEW, S.OPEN),
            status(bkk(2026, 11, 23, 11), S.OPEN, S.ON_HOLD),
            status(bkk(2026, 11, 23, 15), S.ON_HOLD, S.OPEN),
            assigned(bkk(2026, 11, 23, 15)),
            status(bkk(2026, 11, 23, 16), S.OPEN, S.SOLVED),
        ],
    )
    ful = {e.metric: e for e in of(SlaTimerFulfilled, ev)}
    assert ful[M.AGENT_WORK_TIME].business_elapsed_seconds == 3 * H  # 9–11 + 15–16
    assert ful[M.REQUESTER_WAIT_TIME].business_elapsed_seconds == 7 * H  # 9–16
    assert ful[M.TOTAL_RESOLUTION_TIME].calendar_elapsed_seconds == 7 * H
    assert not ful[M.TOTAL_RESOLUTION_TIME].breached


def test_reopen_resumes_wait_and_work_and_total_continues_from_creation() -> None:
    ps = policies()
    _, ev = run(
        ps,
        [
            opened(bkk(2026, 11, 23, 9)),
            status(bkk(2026, 11, 23, 9), S.NEW, S.OPEN),
            status(bkk(2026, 11, 23, 11), S.OPEN, S.SOLVED),  # 2 h of wait/work
            message(bkk(2026, 11, 23, 14)),
            status(bkk(2026, 11, 23, 14), S.SOLVED, S.OPEN),
        ],
    )
    res = {e.metric: e for e in of(SlaTimerResumed, ev)}
    assert res[M.REQUESTER_WAIT_TIME].due_at == bkk(2026, 11, 24, 11)  # 6 h left: 14–18, 9–11
    assert res[M.AGENT_WORK_TIME].due_at == bkk(2026, 11, 23, 18)  # 4 h left
    assert res[M.TOTAL_RESOLUTION_TIME].due_at == bkk(2026, 11, 24, 9)  # calendar 1 d
    # the reply metric starts a new instance: first reply is done, so next reply #1
    assert [e.instance for e in started(ev, M.NEXT_REPLY_TIME)] == [1]


def test_warnings_at_75_and_90_percent_carry_the_assignee() -> None:
    ps = policies()
    state, _ = run(ps, [opened(bkk(2026, 11, 23, 9)), assigned(bkk(2026, 11, 23, 9))])
    assert state is not None
    # FRT urgent 2 h: 75 % at 10:30, 90 % at 10:48, breach 11:00
    frt = [d for d in deadlines(state) if d.metric is M.FIRST_REPLY_TIME]
    assert [(d.kind, d.due_at) for d in frt] == [
        ("warning_75", bkk(2026, 11, 23, 10, 30)),
        ("warning_90", bkk(2026, 11, 23, 10, 48)),
        ("breach", bkk(2026, 11, 23, 11)),
    ]
    assert next_due(state) == bkk(2026, 11, 23, 10, 30)
    res = fire_due(state, bkk(2026, 11, 23, 10, 50), ps)
    warns = [e for e in of(SlaWarning, list(res.events)) if e.metric is M.FIRST_REPLY_TIME]
    assert [(w.threshold_percent, w.assignee_id, w.due_at) for w in warns] == [
        (75, "A-1", bkk(2026, 11, 23, 11)),
        (90, "A-1", bkk(2026, 11, 23, 11)),
    ]


def test_fired_event_ids_derive_from_the_deadline_so_a_refire_is_the_same_event() -> None:
    ps = policies()
    state, _ = run(ps, [opened(bkk(2026, 11, 23, 9))])
    assert state is not None
    first = fire_due(state, bkk(2026, 11, 23, 11), ps)
    refire = fire_due(state, bkk(2026, 11, 23, 11, 0, 30), ps)  # same state (crash before save)
    assert [e.envelope.event_id for e in first.events] == [
        e.envelope.event_id for e in refire.events
    ]
    assert first.events == refire.events


def test_reply_after_due_is_breached_even_without_a_tick() -> None:
    ps = policies()
    _, ev = run(ps, [opened(bkk(2026, 11, 23, 9)), reply(bkk(2026, 11, 23, 12))])
    (b,) = [e for e in of(SlaBreached, ev) if e.metric is M.FIRST_REPLY_TIME]
    assert b.envelope.occurred_at == bkk(2026, 11, 23, 11)
    (f,) = [e for e in of(SlaTimerFulfilled, ev) if e.metric is M.FIRST_REPLY_TIME]
    assert f.breached and f.business_elapsed_seconds == 3 * H


def test_solved_ticket_auto_closes_after_four_days_by_command() -> None:
    ps = policies()
    state, _ = run(
        ps,
        [
            opened(bkk(2026, 11, 23, 9)),
            assigned(bkk(2026, 11, 23, 9)),
            status(bkk(2026, 11, 23, 10), S.NEW, S.SOLVED),
        ],
    )
    assert state is not None
    assert next_due(state) == bkk(2026, 11, 27, 10)
    assert not fire_due(state, bkk(2026, 11, 27, 9, 59), ps).commands
    res = fire_due(state, bkk(2026, 11, 27, 10), ps)
    (cmd,) = res.commands
    assert cmd.status is S.CLOSED and cmd.ticket_id == "T-1"
    assert cmd.command.actor.id == "ticketstream" and cmd.command.issued_at == bkk(2026, 11, 27, 10)
    assert next_due(res.state) is None


def test_policy_update_is_picked_up_at_the_next_sla_affecting_update() -> None:
    ps = policies()
    state, _ = run(ps, [opened(bkk(2026, 11, 23, 9))])
    from streams.domain.sla.clock import on_event
    from streams.domain.sla.policy import parse_policies
    from tests.unit.sla.helpers import POLICIES

    v2 = parse_policies(
        (POLICIES % {"closed": "", "notes": "false"}).replace(
            "first_reply_time: {urgent: 2h", "first_reply_time: {urgent: 1h"
        ),
        version=2,
    )
    res = on_event(state, note(bkk(2026, 11, 23, 9, 30)), v2)
    (s,) = started(list(res.events), M.FIRST_REPLY_TIME)
    assert (s.target_seconds, s.due_at) == (H, bkk(2026, 11, 23, 10))
    assert res.state is not None and res.state.policy_version == 2
