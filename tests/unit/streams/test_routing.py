"""Routing: eligibility (presence, capacity per channel, skills), strategies, priority queue,
reassignment on offline/away, and re-routing after escalation — worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.records import AgentPresence, AssignmentReason, Channel, Priority
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
    state = set_capacity(state, agent_id, {"line": line, "email": email})
    state = set_skills(state, agent_id, languages=languages, channels=(), tier=tier, groups=groups)
    return set_presence(state, agent_id, presence, POLICY)


def ticket(tid: str, minute: int = 0, **kw: object) -> RoutedTicket:
    kw.setdefault("channel", Channel.LINE)
    return RoutedTicket(tid, since=AT + timedelta(minutes=minute), **kw)  # type: ignore[arg-type]


def route(state: RoutingState, *tickets: RoutedTicket, strategy: Strategy = Strategy.LEAST_LOADED):
    for t in tickets:
        state = enqueue(state, t)
    return dispatch(state, strategy)


def test_round_robin_takes_turns_by_agent_id() -> None:
    s = agent(agent(agent(RoutingState(), "a"), "b"), "c")
    s, out = route(s, ticket("T1", 0), ticket("T2", 1), ticket("T3", 2), ticket("T4", 3),
                   strategy=Strategy.ROUND_ROBIN)  # fmt: skip
    assert [(x.ticket_id, x.agent_id) for x in out] == [
        ("T1", "a"), ("T2", "b"), ("T3", "c"), ("T4", "a"),
    ]  # fmt: skip


def test_least_loaded_uses_load_relative_to_capacity() -> None:
    s = agent(agent(RoutingState(), "a", line=4), "b", line=1)
    # a: 0/4, b: 0/1 → tie at 0, id order → a; then a 1/4=0.25 vs b 0 → b; then b full → a
    s, out = route(s, ticket("T1", 0), ticket("T2", 1), ticket("T3", 2))
    assert [x.agent_id for x in out] == ["a", "b", "a"]


def test_capacity_per_channel_is_respected_and_overflow_waits() -> None:
    s = agent(RoutingState(), "a", line=1, email=1)
    s, out = route(s, ticket("T1", 0), ticket("T2", 1), ticket("E1", 2, channel=Channel.EMAIL))
    assert [(x.ticket_id, x.agent_id) for x in out] == [("T1", "a"), ("E1", "a")]
    assert [w.ticket_id for w in s.waiting] == ["T2"]
    s = released(s, "T1")  # T1 solved: a has line capacity again
    s, out = dispatch(s, Strategy.LEAST_LOADED)
    assert out == [Assignment("T2", "a", AssignmentReason.ROUTING)]


def test_skills_first_prefers_the_language_then_load() -> None:
    s = agent(
        agent(agent(RoutingState(), "a"), "b", languages=("th", "en")), "c", languages=("th",)
    )
    s, out = route(s, ticket("T1", language="th"), ticket("T2", 1, language="th"),
                   ticket("T3", 2, language="th"), strategy=Strategy.SKILLS_FIRST)  # fmt: skip
    # b, c speak Thai; b (0/2) then c (0/2 vs b 1/2) then b (1/2 vs c 1/2 → id b)
    assert [x.agent_id for x in out] == ["b", "c", "b"]


def test_tier_group_and_presence_are_hard_requirements() -> None:
    s = agent(RoutingState(), "t1", groups=("tier1",))
    s = agent(s, "t2", tier=2, groups=("tier2",))
    s = agent(s, "away", presence=AgentPresence.AWAY)
    s, out = route(s, ticket("X", group="tier2", tier=2), ticket("Y", 1, group="tier1"))
    assert [(x.ticket_id, x.agent_id) for x in out] == [("X", "t2"), ("Y", "t1")]


def test_waiting_queue_serves_priority_first_then_waiting_time() -> None:
    s = RoutingState()
    for t in (ticket("low", 0, priority=Priority.LOW), ticket("n2", 2), ticket("n1", 1),
              ticket("urgent", 5, priority=Priority.URGENT)):  # fmt: skip
        s = enqueue(s, t)
    assert [w.ticket_id for w in s.waiting] == ["urgent", "n1", "n2", "low"]
    s = agent(s, "a", line=2)
    s, out = dispatch(s, Strategy.LEAST_LOADED)
    assert [x.ticket_id for x in out] == ["urgent", "n1"]
    assert [w.ticket_id for w in s.waiting] == ["n2", "low"]


def test_going_offline_reassigns_open_tickets() -> None:
    s = agent(agent(RoutingState(), "a", line=2), "b", line=0)
    s, out = route(s, ticket("T1"), ticket("T2", 1))
    assert [x.agent_id for x in out] == ["a", "a"]
    s = set_capacity(s, "b", {"line": 5})
    s = set_presence(s, "a", AgentPresence.OFFLINE, POLICY)
    s, out = dispatch(s, Strategy.LEAST_LOADED)
    assert out == [
        Assignment("T1", "b", AssignmentReason.REASSIGNED_PRESENCE, "a"),
        Assignment("T2", "b", AssignmentReason.REASSIGNED_PRESENCE, "a"),
    ]
    assert s.agent("a").open_tickets == ()


def test_going_away_keeps_tickets_when_the_policy_says_so() -> None:
    s = agent(agent(RoutingState(), "a"), "b")
    s, _ = route(s, ticket("T1"))
    s = set_presence(s, "a", AgentPresence.AWAY, ReassignPolicy(on_away=False))
    s, out = dispatch(s, Strategy.LEAST_LOADED)
    assert out == [] and [t.ticket_id for t in s.agent("a").open_tickets] == ["T1"]


def test_reassignment_waits_when_nobody_is_free() -> None:
    s = agent(RoutingState(), "a")
    s, _ = route(s, ticket("T1"))
    s = set_presence(s, "a", AgentPresence.OFFLINE, POLICY)
    s, out = dispatch(s, Strategy.LEAST_LOADED)
    assert out == [] and [(w.ticket_id, w.previous_agent_id) for w in s.waiting] == [("T1", "a")]


def test_escalation_reroutes_to_tier2_group() -> None:
    s = agent(RoutingState(), "t1", groups=("tier1",))
    s = agent(s, "t2", tier=2, groups=("tier2",))
    s, out = route(s, ticket("T1", group="tier1"))
    assert out[0].agent_id == "t1"
    s = requeue(s, "T1", AssignmentReason.ESCALATION, group="tier2", tier=2)
    s, out = dispatch(s, Strategy.SKILLS_FIRST)
    assert out == [Assignment("T1", "t2", AssignmentReason.ESCALATION, "t1")]
    assert s.agent("t1").open_tickets == ()
