"""The waiting queue's time-to-breach order is the SLA engine's, per metric and instance: given
these routing-feed events (ticket and SLA events), then this queue order — worked out by hand.

Every ticket is normal priority on LINE and waits (nobody is online) unless a test says so.
Times are minutes after 09:00 (``T0``)."""

from __future__ import annotations

from datetime import timedelta

from schemas.records import AgentPresence, AssignmentReason, Priority, SlaMetric
from streams.domain.router import on_events
from streams.domain.routing import Assignment, ReassignPolicy, RoutingState, Strategy
from tests.unit.streams.routing_feed import (
    T0,
    online,
    opened,
    presence,
    sla_breached,
    sla_fulfilled,
    sla_paused,
    sla_resumed,
    sla_started,
)

POLICY = ReassignPolicy()
LL = Strategy.LEAST_LOADED
FRT = SlaMetric.FIRST_REPLY_TIME
NRT = SlaMetric.NEXT_REPLY_TIME
TRT = SlaMetric.TOTAL_RESOLUTION_TIME
RWT = SlaMetric.REQUESTER_WAIT_TIME
AWT = SlaMetric.AGENT_WORK_TIME


def at(minute: float):  # type: ignore[no-untyped-def]
    return T0 + timedelta(minutes=minute)


def given(*events: object) -> RoutingState:
    state = RoutingState()
    on_events(state, list(events), POLICY, LL)
    return state


def order(state: RoutingState) -> list[tuple[str, object]]:
    return [(t.ticket_id, t.sla_due_at) for t in state.waiting]


def five_tickets() -> list[object]:
    """A: FRT 10:00, TRT 17:00. B: FRT 09:30. C: FRT 09:20 fulfilled at 09:10, RWT 11:00.
    D: FRT 09:50, AWT 09:25 paused at 09:05 and resumed at 09:12 due 09:35.
    E: FRT 09:15, breached at 09:15, then re-targeted (still breached) at 09:16."""
    return [
        opened("A", 0), sla_started("A", FRT, 60), sla_started("A", TRT, 480),
        opened("B", 1), sla_started("B", FRT, 30, 1),
        opened("C", 2), sla_started("C", FRT, 20, 2), sla_started("C", RWT, 120, 2),
        opened("D", 3), sla_started("D", FRT, 50, 3), sla_started("D", AWT, 25, 3),
        opened("E", 4), sla_started("E", FRT, 15, 4),
        sla_paused("D", AWT, 5),
        sla_fulfilled("C", FRT, 10),
        sla_resumed("D", AWT, 35, 12),
        sla_breached("E", FRT, 15),
        sla_started("E", FRT, 16, 16),  # re-targeted after the breach: due = now
    ]  # fmt: skip


def test_queue_orders_by_the_earliest_running_timer_of_each_ticket() -> None:
    # A min(10:00, 17:00) = 10:00; B 09:30; C: FRT done → RWT 11:00;
    # D: AWT paused then resumed 09:35 → min(09:50, 09:35) = 09:35; E breached at 09:15
    assert order(given(*five_tickets())) == [
        ("E", at(15)), ("B", at(30)), ("D", at(35)), ("A", at(60)), ("C", at(120)),
    ]  # fmt: skip


def test_each_ticket_names_the_timer_due_next() -> None:
    # worked out by hand from five_tickets' docstring: E's first reply (breached 09:15), B's
    # first reply 09:30, D's agent work time (resumed, 09:35 < its first reply 09:50), A's
    # first reply (10:00 < total resolution 17:00), C's requester wait (its first reply done)
    state = given(*five_tickets())
    got = {
        t: (n.metric, n.instance, n.effective, n.breached_at is not None)
        for t, c in state.sla.items()
        if (n := c.next_timer()) is not None
    }
    assert got == {
        "E": (FRT, 1, at(15), True),
        "B": (FRT, 1, at(30), False),
        "D": (AWT, 1, at(35), False),
        "A": (FRT, 1, at(60), False),
        "C": (RWT, 1, at(120), False),
    }
    on_events(state, [sla_paused("D", AWT, 36), sla_paused("D", FRT, 36)], POLICY, LL)
    assert state.sla["D"].next_timer() is None  # nothing runs: no timer due


def test_a_tie_goes_to_the_metric_listed_first() -> None:
    state = given(opened("T", 0), sla_started("T", TRT, 30), sla_started("T", FRT, 30))
    first = state.sla["T"].next_timer()
    assert first is not None and (first.metric, first.effective) == (FRT, at(30))


def test_paused_timer_has_no_due_until_it_resumes() -> None:
    state = given(opened("D", 3), sla_started("D", FRT, 50, 3), sla_started("D", AWT, 25, 3),
                  sla_paused("D", AWT, 5))  # fmt: skip
    assert order(state) == [("D", at(50))]  # only FRT runs
    on_events(state, [sla_paused("D", FRT, 6)], POLICY, LL)
    assert order(state) == [("D", None)]  # nothing runs: no deadline
    on_events(state, [sla_resumed("D", FRT, 70, 20)], POLICY, LL)
    assert order(state) == [("D", at(70))]


def test_retargeted_timer_takes_its_new_due_even_when_later() -> None:
    # A's first reply target grows (priority lowered): 10:00 → 13:00; TRT still 17:00
    state = given(*five_tickets(), sla_started("A", FRT, 240, 20))
    assert order(state) == [
        ("E", at(15)), ("B", at(30)), ("D", at(35)), ("C", at(120)), ("A", at(240)),
    ]  # fmt: skip


def test_breached_timer_stays_overdue_from_its_breach_until_fulfilled() -> None:
    # E breached at 09:15; paused (pending) and resumed at 09:40 with due = 09:40: still 09:15
    state = given(
        opened("E", 4), sla_started("E", FRT, 15, 4), sla_breached("E", FRT, 15),
        opened("B", 5), sla_started("B", FRT, 30, 5),
        sla_paused("E", FRT, 20), sla_resumed("E", FRT, 40, 40),
    )  # fmt: skip
    assert order(state) == [("E", at(15)), ("B", at(30))]
    on_events(state, [sla_fulfilled("E", FRT, 41)], POLICY, LL)
    assert order(state) == [("B", at(30)), ("E", None)]
    assert "E" not in state.sla  # no timer left: its row goes


def test_sla_events_before_the_ticket_opened_still_count() -> None:
    # the feed merges the SLA and ticket topics: X's timer can come before its TicketOpened
    state = given(opened("A", 0), sla_started("A", FRT, 60), sla_started("X", FRT, 20, 1))
    assert order(state) == [("A", at(60))]
    on_events(state, [opened("X", 1)], POLICY, LL)
    assert order(state) == [("X", at(20)), ("A", at(60))]


def test_each_instance_of_a_metric_is_its_own_timer() -> None:
    # next reply time instance 1 fulfilled (agent replied), instance 2 started by the next
    # customer message: only instance 2's due counts
    state = given(
        opened("A", 0), sla_started("A", NRT, 30, 0, instance=1),
        sla_started("A", NRT, 90, 40, instance=2), sla_fulfilled("A", NRT, 41, instance=1),
    )  # fmt: skip
    assert order(state) == [("A", at(90))]


def test_priority_comes_before_time_to_breach() -> None:
    state = given(
        opened("N", 0), sla_started("N", FRT, 15),
        opened("U", 1, priority=Priority.URGENT), sla_started("U", FRT, 300, 1),
        opened("L", 2, priority=Priority.LOW), sla_started("L", FRT, 5, 2),
    )  # fmt: skip
    assert order(state) == [("U", at(300)), ("N", at(15)), ("L", at(5))]


def test_an_agent_coming_online_takes_the_ticket_closest_to_breach() -> None:
    state = given(*five_tickets())
    out = on_events(state, [*online("ann", 20, line=2)], POLICY, LL)
    assert out == [
        Assignment("E", "ann", AssignmentReason.ROUTING, None, at(4)),
        Assignment("B", "ann", AssignmentReason.ROUTING, None, at(1)),
    ]


def test_sla_rows_are_written_and_rebuilt() -> None:
    state = given(*five_tickets())
    changes = dict(state.take_changes())
    assert sorted(k for k in changes if k.startswith("sla/")) == [
        "sla/A", "sla/B", "sla/C", "sla/D", "sla/E",
    ]  # fmt: skip
    rebuilt = RoutingState.from_rows(state.rows().items())
    assert order(rebuilt) == order(state)
    on_events(state, [presence("zed", AgentPresence.OFFLINE, 30)], POLICY, LL)
    state.take_changes()
    on_events(state, [sla_fulfilled("B", FRT, 31)], POLICY, LL)
    # B's only timer is done: its SLA row is deleted and its ticket row re-sorted (no due)
    assert state.take_changes() == [("sla/B", None), ("ticket/B", state.tickets["B"])]
    assert state.tickets["B"].sla_due_at is None
