"""The router as a decider: given routing-feed events, when a batch arrives, then these
assignments (values worked out by hand). Also its rows: small, and a state rebuilt from them
decides exactly like the state that wrote them."""

from __future__ import annotations

import pickle
from datetime import timedelta

from schemas.records import (
    AgentCapacityChanged,
    AgentPresence,
    AssignmentReason,
    Channel,
    Priority,
    TicketAssigned,
    TicketStatus,
)
from streams.domain.router import on_events
from streams.domain.routing import Assignment, ReassignPolicy, RoutingState, Strategy
from tests.unit.streams.routing_feed import (
    T0,
    assigned_event,
    env,
    escalated,
    online,
    opened,
    presence,
    rejected_assign,
    skills,
    status,
)

POLICY = ReassignPolicy()
LL = Strategy.LEAST_LOADED
R = AssignmentReason


def at(minute: float):  # type: ignore[no-untyped-def]
    return T0 + timedelta(minutes=minute)


def given(*batches: list[object], strategy: Strategy = LL) -> RoutingState:
    state = RoutingState()
    for batch in batches:
        on_events(state, list(batch), POLICY, strategy)
    return state


def test_assignment_respects_capacity_and_skills() -> None:
    state = given(
        [*online("ann", line=1), *online("bob", line=3), skills("bob", languages=("th",))]
    )
    out = on_events(
        state,
        [opened("T1", 1, language="th"), opened("T2", 2), opened("T3", 3), opened("T4", 4),
         opened("T5", 5), opened("E1", 6, channel=Channel.EMAIL)],
        POLICY,
        Strategy.SKILLS_FIRST,
    )  # fmt: skip
    # T1 (th) → bob, the Thai speaker; T2: ann 0/1 vs bob 1/3 → ann; T3, T4 → bob (ann full);
    # T5 waits (ann 1/1, bob 3/3); E1 waits: nobody has e-mail capacity
    assert out == [
        Assignment("T1", "bob", R.ROUTING, None, at(1)),
        Assignment("T2", "ann", R.ROUTING, None, at(2)),
        Assignment("T3", "bob", R.ROUTING, None, at(3)),
        Assignment("T4", "bob", R.ROUTING, None, at(4)),
    ]
    assert [w.ticket_id for w in state.waiting] == ["T5", "E1"]


def test_solving_frees_a_seat_and_the_next_ticket_is_assigned() -> None:
    state = given([*online("ann", line=1), opened("T1", 1), opened("T2", 2)])
    out = on_events(
        state,
        [assigned_event("T1", "ann", 3), status("T1", TicketStatus.OPEN, TicketStatus.SOLVED, 4)],
        POLICY,
        LL,
    )
    assert out == [Assignment("T2", "ann", R.ROUTING, None, at(2))]


def test_reopened_ticket_counts_again_for_its_agent() -> None:
    state = given(
        [*online("ann", line=1), opened("T1", 1)],
        [assigned_event("T1", "ann", 2), status("T1", TicketStatus.OPEN, TicketStatus.SOLVED, 3)],
    )
    out = on_events(
        state,
        [status("T1", TicketStatus.SOLVED, TicketStatus.OPEN, 4), opened("T2", 5)],
        POLICY,
        LL,
    )
    assert out == [] and [w.ticket_id for w in state.waiting] == ["T2"]  # ann is full again


def test_reopened_ticket_of_an_offline_agent_goes_to_someone_online() -> None:
    state = given(
        [*online("ann", line=1), opened("T1", 1)],
        [assigned_event("T1", "ann", 2), status("T1", TicketStatus.OPEN, TicketStatus.SOLVED, 3),
         presence("ann", AgentPresence.OFFLINE, 4), *online("bob", 5, line=1)],
    )  # fmt: skip
    out = on_events(state, [status("T1", TicketStatus.SOLVED, TicketStatus.OPEN, 6)], POLICY, LL)
    assert out == [Assignment("T1", "bob", R.REASSIGNED_PRESENCE, "ann", at(6))]


def test_offline_agent_s_tickets_are_reassigned_and_capacity_still_holds() -> None:
    state = given(
        [*online("ann", line=3), *online("bob", line=1), opened("T1", 1), opened("T2", 2),
         opened("T3", 3)],
    )  # fmt: skip
    assert {t.ticket_id: t.assignee for t in state.tickets.values()} == {
        "T1": "ann", "T2": "bob", "T3": "ann",
    }  # fmt: skip
    out = on_events(state, [presence("ann", AgentPresence.OFFLINE, 10)], POLICY, LL)
    # bob has no free seat: T1 and T3 wait (since 09:10), previous agent ann
    assert out == []
    assert [(w.ticket_id, w.previous_agent_id, w.since) for w in state.waiting] == [
        ("T1", "ann", at(10)), ("T3", "ann", at(10)),
    ]  # fmt: skip
    out = on_events(state, [*online("cy", 11, line=5)], POLICY, LL)
    assert out == [
        Assignment("T1", "cy", R.REASSIGNED_PRESENCE, "ann", at(10)),
        Assignment("T3", "cy", R.REASSIGNED_PRESENCE, "ann", at(10)),
    ]


def test_a_confirmation_after_its_agent_left_does_not_give_the_ticket_back_to_them() -> None:
    # routing chose ann for T1 and T2 (unconfirmed); ann goes offline before the tickets'
    # TicketAssigned(ann) reach the feed (presence is sent to the feed directly)
    state = given([*online("ann", line=2), *online("bob", line=2), opened("T1", 1),
                   opened("T2", 2)])  # fmt: skip
    assert {t.ticket_id: t.assignee for t in state.tickets.values()} == {"T1": "ann", "T2": "bob"}
    out = on_events(
        state,
        [presence("ann", AgentPresence.OFFLINE, 5), assigned_event("T1", "ann", 3),
         assigned_event("T2", "bob", 3)],
        POLICY,
        LL,
    )  # fmt: skip
    # T1 was taken back at 09:05 and stays with whoever routing picks next: bob (1/2 seats used)
    assert out == [Assignment("T1", "bob", R.REASSIGNED_PRESENCE, "ann", at(5))]
    # the late confirmation of ann changed nothing; bob's own confirmation still counts
    assert {t.ticket_id: (t.assignee, t.confirmed) for t in state.tickets.values()} == {
        "T1": ("bob", False), "T2": ("bob", True),
    }  # fmt: skip


def test_a_manual_assignment_to_an_offline_agent_is_kept() -> None:
    state = given([*online("ann", line=2), presence("ann", AgentPresence.OFFLINE, 1),
                   opened("T1", 2)])  # fmt: skip
    manual = TicketAssigned(env("T1", 3, "assigned"), "T1", "ann", R.MANUAL)
    assert on_events(state, [manual], POLICY, LL) == []
    assert (state.tickets["T1"].assignee, state.tickets["T1"].confirmed) == ("ann", True)


def test_away_agent_keeps_tickets_when_policy_says_so() -> None:
    state = RoutingState()
    on_events(state, [*online("ann", line=1), *online("bob", line=1), opened("T1", 1)],
              POLICY, LL)  # fmt: skip
    out = on_events(
        state, [presence("ann", AgentPresence.AWAY, 2)], ReassignPolicy(on_away=False), LL
    )
    assert out == [] and state.tickets["T1"].assignee == "ann"


def test_tier1_to_tier2_escalation_reroutes_to_the_tier2_group() -> None:
    state = given(
        [*online("t1", line=2), skills("t1", groups=("tier1",)),
         *online("t2", line=2), skills("t2", tier=2, groups=("tier2",)),
         opened("T1", 1, group="tier1")],
    )  # fmt: skip
    assert state.tickets["T1"].assignee == "t1"
    out = on_events(state, [assigned_event("T1", "t1", 2), *escalated("T1", "t1", "tier2", 5)],
                    POLICY, LL)  # fmt: skip
    assert out == [Assignment("T1", "t2", R.ESCALATION, "t1", at(5))]
    t = state.tickets["T1"]
    assert (t.tier, t.group, t.assignee) == (2, "tier2", "t2")


def test_escalated_ticket_waits_when_no_tier2_agent_is_free() -> None:
    state = given(
        [*online("t1", line=2), opened("T1", 1)],
        [assigned_event("T1", "t1", 2), *escalated("T1", "t1", "tier2", 5)],
    )
    assert [(w.ticket_id, w.tier, w.reason) for w in state.waiting] == [("T1", 2, R.ESCALATION)]


def test_closed_or_rejected_tickets_are_forgotten() -> None:
    state = given([*online("ann", line=2), opened("T1", 1), opened("T2", 2)])
    on_events(state, [status("T1", TicketStatus.SOLVED, TicketStatus.CLOSED, 3),
                      rejected_assign("T2", "ticket_closed", 4)], POLICY, LL)  # fmt: skip
    assert state.tickets == {} and state.load_for("ann", Channel.LINE) == 0


def test_manual_assignment_moves_the_ticket_and_its_load() -> None:
    state = given([*online("ann", line=1), *online("bob", line=1), opened("T1", 1)])
    assert state.tickets["T1"].assignee == "ann"
    out = on_events(state, [assigned_event("T1", "bob", 2), opened("T2", 3)], POLICY, LL)
    assert out == [Assignment("T2", "ann", R.ROUTING, None, at(3))]
    assert state.tickets["T1"].confirmed and not state.tickets["T2"].confirmed
    assert [a.ticket_id for a in state.unconfirmed()] == ["T2"]


def test_changed_rows_are_the_rows_a_batch_touched() -> None:
    state = given([*online("ann", line=1), opened("T1", 1)])
    state.take_changes()
    on_events(state, [opened("T2", 2)], POLICY, LL)  # waits: ann is full
    assert [k for k, _ in state.take_changes()] == ["ticket/T2"]
    on_events(state, [status("T1", TicketStatus.SOLVED, TicketStatus.CLOSED, 3)], POLICY, LL)
    # T1 deleted, T2 assigned to ann, the round-robin cursor moved
    changes = state.take_changes()
    assert [(k, v is None) for k, v in changes] == [
        ("cursor", False),
        ("ticket/T1", True),
        ("ticket/T2", False),
    ]


def test_20k_open_tickets_give_small_rows_and_a_rebuilt_state_decides_the_same() -> None:
    events: list[object] = [
        e for group in (online(f"a{i:02}", line=3, email=3) for i in range(40)) for e in group
    ]
    chans = (Channel.LINE, Channel.EMAIL, Channel.WHATSAPP)
    prios = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)
    events += [opened(f"T{n:05}", n / 100, chans[n % 3], prios[n % 4]) for n in range(20_000)]
    state = RoutingState()
    for i in range(0, len(events), 500):
        on_events(state, events[i : i + 500], POLICY, LL)
    rows = state.take_changes()
    assert len(rows) == 40 + 20_000 + 1
    biggest = max(len(pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)) for _, v in rows)
    assert biggest < 2_000  # bytes; Kafka's default message limit is 1,048,588
    assert state.waiting_count == 20_000 - 40 * 6  # 40 agents × 3 seats on LINE and EMAIL
    # a restart: the state read back from its rows makes the same decisions
    rebuilt = RoutingState.from_rows(state.rows().items())
    later = [presence("a00", AgentPresence.OFFLINE, 300), *online("new", 301, line=50, email=9)]
    out_live = on_events(state, list(later), POLICY, LL)
    out_rebuilt = on_events(rebuilt, list(later), POLICY, LL)
    assert out_live == out_rebuilt and len(out_live) == 50 + 9
    assert state.rows() == rebuilt.rows()


def test_merged_source_ticket_leaves_its_agent_and_frees_the_seat() -> None:
    # MergeTickets(target T1, source T2): the source records TicketMerged and closes
    state = given([*online("ann", line=2), opened("T1", 1), opened("T2", 2), opened("T3", 3)])
    assert [w.ticket_id for w in state.waiting] == ["T3"]
    out = on_events(state, [status("T2", TicketStatus.OPEN, TicketStatus.CLOSED, 4)], POLICY, LL)
    assert out == [Assignment("T3", "ann", R.ROUTING, None, at(3))]
    assert "T2" not in state.tickets and state.tickets["T1"].assignee == "ann"


class _CountingRows(dict):  # type: ignore[type-arg]
    """The router's ticket rows, counting how many of them a batch reads."""

    reads = 0

    def __getitem__(self, key: object) -> object:
        self.reads += 1
        return super().__getitem__(key)

    def get(self, key: object, default: object = None) -> object:
        self.reads += 1
        return super().get(key, default)

    def values(self):  # type: ignore[no-untyped-def]
        self.reads += len(self)
        return super().values()

    def items(self):  # type: ignore[no-untyped-def]
        self.reads += len(self)
        return super().items()


def test_a_batch_reads_only_the_queue_heads_however_long_the_queue() -> None:
    # 10,000 web-chat tickets wait, then one Telegram ticket; ann comes online with one seat on
    # each. The router used to read every waiting ticket on every batch (a snapshot of the
    # queue, every row for the changelog, a count per group for the gauges): at 10,000 waiting
    # it fell behind its feed and ann's presence and the Telegram ticket waited behind it.
    web = [opened(f"W{n:05}", n / 1000, Channel.WEBCHAT) for n in range(10_000)]
    state = given(web, [opened("TG", 11, Channel.TELEGRAM)])
    state.take_changes()
    rows = _CountingRows(state.tickets)
    state.tickets = rows
    ann = [
        AgentCapacityChanged(env("ann", 20, "cap"), "ann", {"telegram": 1, "webchat": 1}),
        skills("ann", 20, channels=(Channel.TELEGRAM, Channel.WEBCHAT)),
        presence("ann", AgentPresence.ONLINE, 20),
    ]
    out = on_events(state, ann, POLICY, LL)
    changed = state.take_changes()
    assert out == [
        Assignment("W00000", "ann", R.ROUTING, None, at(0)),
        Assignment("TG", "ann", R.ROUTING, None, at(11)),
    ]
    assert [k for k, _ in changed] == ["agent/ann", "cursor", "ticket/TG", "ticket/W00000"]
    assert rows.reads < 50, f"read {rows.reads} ticket rows for one agent coming online"
    # more tickets arrive while ann is full: each is looked at once, not the whole queue again
    rows.reads = 0
    on_events(state, [opened(f"X{n:03}", 30, Channel.WEBCHAT) for n in range(100)], POLICY, LL)
    state.take_changes()
    assert rows.reads < 500, f"read {rows.reads} ticket rows for a batch of 100 new tickets"
    assert state.waiting_count == 10_000 - 1 + 100
    assert state.waiting_counts() == {(None, Priority.NORMAL): 10_099}
