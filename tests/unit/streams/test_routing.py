"""Routing: eligibility (presence, capacity per channel, skills), strategies, priority queue,
reassignment on offline/away, and re-routing after escalation — worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.records import AgentPresence, AssignmentReason, Channel, Priority, TicketStatus
from streams.domain.routing import (
    Assignment,
    ReassignPolicy,
    RoutedTicket,
    RoutingState,
    Strategy,
    dispatch,
    enqueue,
    released,
    requeue,
    set_capacity,
    set_presence,
    set_skills,
    update_ticket,
)

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ON = AgentPresence.ONLINE
POLICY = ReassignPolicy()


def agent(
    state: RoutingState,
    agent_id: str,
    *,
    line: int = 2,
    email: int = 0,
    languages: tuple[str, ...] = ("en",),
    tier: int = 1,
    groups: tuple[str, ...] = (),
    presence: AgentPresence = ON,
) -> RoutingState:
    set_capacity(state, agent_id, {"line": line, "email": email})
    set_skills(state, agent_id, languages=languages, channels=(), tier=tier, groups=groups)
    set_presence(state, agent_id, presence, POLICY, AT)
    return state


def ticket(tid: str, minute: int = 0, **kw: object) -> RoutedTicket:
    kw.setdefault("channel", Channel.LINE)
    return RoutedTicket(tid, since=AT + timedelta(minutes=minute), **kw)  # type: ignore[arg-type]


def route(
    state: RoutingState, *tickets: RoutedTicket, strategy: Strategy = Strategy.LEAST_LOADED
) -> list[Assignment]:
    for t in tickets:
        enqueue(state, t)
    return dispatch(state, strategy)


def held(state: RoutingState, agent_id: str) -> list[str]:
    return [t.ticket_id for t in state.held_by(agent_id)]


def test_round_robin_takes_turns_by_agent_id() -> None:
    s = agent(agent(agent(RoutingState(), "a"), "b"), "c")
    out = route(s, ticket("T1", 0), ticket("T2", 1), ticket("T3", 2), ticket("T4", 3),
                strategy=Strategy.ROUND_ROBIN)  # fmt: skip
    assert [(x.ticket_id, x.agent_id) for x in out] == [
        ("T1", "a"), ("T2", "b"), ("T3", "c"), ("T4", "a"),
    ]  # fmt: skip
    assert s.last_agent_id == "a"


def test_least_loaded_uses_load_relative_to_capacity() -> None:
    s = agent(agent(RoutingState(), "a", line=4), "b", line=1)
    # a: 0/4, b: 0/1 → tie at 0, id order → a; then a 1/4=0.25 vs b 0 → b; then b full → a
    out = route(s, ticket("T1", 0), ticket("T2", 1), ticket("T3", 2))
    assert [x.agent_id for x in out] == ["a", "b", "a"]
    assert (s.load_for("a", Channel.LINE), s.load_for("b", Channel.LINE)) == (2, 1)


def test_capacity_per_channel_is_respected_and_overflow_waits() -> None:
    s = agent(RoutingState(), "a", line=1, email=1)
    out = route(s, ticket("T1", 0), ticket("T2", 1), ticket("E1", 2, channel=Channel.EMAIL))
    assert [(x.ticket_id, x.agent_id) for x in out] == [("T1", "a"), ("E1", "a")]
    assert [w.ticket_id for w in s.waiting] == ["T2"]
    released(s, "T1")  # T1 closed: a has line capacity again
    assert dispatch(s, Strategy.LEAST_LOADED) == [
        Assignment("T2", "a", AssignmentReason.ROUTING, None, AT + timedelta(minutes=1))
    ]


def test_no_capacity_set_means_no_tickets_on_that_channel() -> None:
    s = agent(RoutingState(), "a", line=2, email=0)
    assert route(s, ticket("E1", channel=Channel.EMAIL)) == []
    assert [w.ticket_id for w in s.waiting] == ["E1"]


def test_skills_first_prefers_the_language_then_load() -> None:
    s = agent(
        agent(agent(RoutingState(), "a"), "b", languages=("th", "en")), "c", languages=("th",)
    )
    out = route(s, ticket("T1", language="th"), ticket("T2", 1, language="th"),
                ticket("T3", 2, language="th"), strategy=Strategy.SKILLS_FIRST)  # fmt: skip
    # b, c speak Thai; b (0/2) then c (0/2 vs b 1/2) then b (1/2 vs c 1/2 → id b)
    assert [x.agent_id for x in out] == ["b", "c", "b"]


def test_skills_first_falls_back_to_anyone_eligible_when_nobody_speaks_it() -> None:
    s = agent(agent(RoutingState(), "a", line=1), "b", line=2)
    out = route(s, ticket("T1", language="ja"), strategy=Strategy.SKILLS_FIRST)
    assert [x.agent_id for x in out] == ["a"]  # 0/1 vs 0/2 → tie at 0, id order


def test_tier_group_and_presence_are_hard_requirements() -> None:
    s = agent(RoutingState(), "t1", groups=("tier1",))
    s = agent(s, "t2", tier=2, groups=("tier2",))
    s = agent(s, "away", presence=AgentPresence.AWAY)
    out = route(s, ticket("X", group="tier2", tier=2), ticket("Y", 1, group="tier1"))
    assert [(x.ticket_id, x.agent_id) for x in out] == [("X", "t2"), ("Y", "t1")]


def test_agent_restricted_to_channels_takes_only_those() -> None:
    s = agent(RoutingState(), "a", line=2, email=2)
    set_skills(s, "a", languages=(), channels=(Channel.EMAIL,), tier=1, groups=())
    out = route(s, ticket("L1"), ticket("E1", 1, channel=Channel.EMAIL))
    assert [(x.ticket_id, x.agent_id) for x in out] == [("E1", "a")]


def test_waiting_queue_serves_priority_first_then_sla_then_waiting_time() -> None:
    s = RoutingState()
    for t in (ticket("low", 0, priority=Priority.LOW), ticket("n2", 2), ticket("n1", 1),
              ticket("urgent", 5, priority=Priority.URGENT),
              ticket("n-due", 9, sla_due_at=AT + timedelta(hours=1))):  # fmt: skip
        enqueue(s, t)
    # normal tickets: n-due has an SLA deadline (none = last), then n1 (9:01), n2 (9:02)
    assert [w.ticket_id for w in s.waiting] == ["urgent", "n-due", "n1", "n2", "low"]
    update_ticket(s, "low", priority=Priority.HIGH)
    assert [w.ticket_id for w in s.waiting] == ["urgent", "low", "n-due", "n1", "n2"]
    agent(s, "a", line=2)
    assert [x.ticket_id for x in dispatch(s, Strategy.LEAST_LOADED)] == ["urgent", "low"]
    assert [w.ticket_id for w in s.waiting] == ["n-due", "n1", "n2"]


def test_going_offline_reassigns_open_tickets() -> None:
    s = agent(agent(RoutingState(), "a", line=2), "b", line=0)
    out = route(s, ticket("T1"), ticket("T2", 1))
    assert [x.agent_id for x in out] == ["a", "a"]
    set_capacity(s, "b", {"line": 5})
    off = AT + timedelta(hours=2)
    set_presence(s, "a", AgentPresence.OFFLINE, POLICY, off)
    out = dispatch(s, Strategy.LEAST_LOADED)
    # both wait since the moment a went offline; T1 before T2 by id at equal waiting time
    assert out == [
        Assignment("T1", "b", AssignmentReason.REASSIGNED_PRESENCE, "a", off),
        Assignment("T2", "b", AssignmentReason.REASSIGNED_PRESENCE, "a", off),
    ]
    assert held(s, "a") == [] and s.load_for("a", Channel.LINE) == 0
    assert held(s, "b") == ["T1", "T2"]


def test_going_away_reassigns_by_default_and_keeps_tickets_when_the_policy_says_so() -> None:
    s = agent(agent(RoutingState(), "a"), "b")
    route(s, ticket("T1"))
    set_presence(s, "a", AgentPresence.AWAY, ReassignPolicy(on_away=False), AT)
    assert dispatch(s, Strategy.LEAST_LOADED) == [] and held(s, "a") == ["T1"]
    set_presence(s, "a", AgentPresence.AWAY, POLICY, AT + timedelta(minutes=3))
    assert dispatch(s, Strategy.LEAST_LOADED) == [
        Assignment("T1", "b", AssignmentReason.REASSIGNED_PRESENCE, "a", AT + timedelta(minutes=3))
    ]


def test_a_second_hand_over_of_the_same_ticket_is_a_new_assignment() -> None:
    # a → (a offline) b → (b offline, a back) a → (a offline) b: the last hand-over must not
    # look like the first (same ticket, agent, reason), or the ticket would drop it as a replay
    s = agent(agent(RoutingState(), "a"), "b", line=0)
    route(s, ticket("T1"))
    outs = []
    for minute, leaving, back in ((1, "a", "b"), (2, "b", "a"), (3, "a", "b")):
        set_capacity(s, back, {"line": 2})
        set_presence(s, back, ON, POLICY, AT)
        set_presence(s, leaving, AgentPresence.OFFLINE, POLICY, AT + timedelta(minutes=minute))
        outs += dispatch(s, Strategy.LEAST_LOADED)
    assert [(o.agent_id, o.since) for o in outs] == [
        ("b", AT + timedelta(minutes=1)), ("a", AT + timedelta(minutes=2)),
        ("b", AT + timedelta(minutes=3)),
    ]  # fmt: skip


def test_reassignment_waits_when_nobody_is_free() -> None:
    s = agent(RoutingState(), "a")
    route(s, ticket("T1"))
    set_presence(s, "a", AgentPresence.OFFLINE, POLICY, AT)
    assert dispatch(s, Strategy.LEAST_LOADED) == []
    assert [(w.ticket_id, w.previous_agent_id) for w in s.waiting] == [("T1", "a")]


def test_escalation_reroutes_to_tier2_group() -> None:
    s = agent(RoutingState(), "t1", groups=("tier1",))
    s = agent(s, "t2", tier=2, groups=("tier2",))
    out = route(s, ticket("T1", group="tier1"))
    assert out[0].agent_id == "t1"
    requeue(s, "T1", AssignmentReason.ESCALATION, group="tier2", tier=2, since=AT)
    assert dispatch(s, Strategy.SKILLS_FIRST) == [
        Assignment("T1", "t2", AssignmentReason.ESCALATION, "t1", AT)
    ]
    assert held(s, "t1") == [] and held(s, "t2") == ["T1"]


def test_solved_tickets_free_the_seat_but_stay_with_their_agent() -> None:
    s = agent(RoutingState(), "a", line=1)
    route(s, ticket("T1"), ticket("T2", 1))
    update_ticket(s, "T1", status=TicketStatus.SOLVED)
    assert [x.ticket_id for x in dispatch(s, Strategy.LEAST_LOADED)] == ["T2"]
    assert held(s, "a") == ["T1", "T2"] and s.load_for("a", Channel.LINE) == 1
    assert [t.ticket_id for t in s.open_tickets()] == ["T2"]
