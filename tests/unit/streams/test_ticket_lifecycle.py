"""Ticket decider: given events, when a command, then events (or a rejection) — by hand."""

from __future__ import annotations

import pytest

from schemas.records import (
    AddInternalNote,
    AssignmentReason,
    ChangeTicketPriority,
    CsatReceived,
    EscalateTicket,
    MergeTickets,
    Priority,
    RecordCsat,
    ReplyPublicly,
    TicketAssigned,
    TicketStatus,
    TicketStatusChanged,
    UnassignTicket,
)
from streams.domain.ids import derive_id
from streams.domain.tickets import TicketCommandError, TicketState, decide, evolve_all, handle
from streams.domain.tickets.autoclose import auto_close_command, auto_close_due_at
from streams.domain.tickets.handle import follow_up_id
from tests.unit.streams.builders import (
    CONV,
    NOW,
    T0,
    assign,
    given,
    header,
    kinds,
    message,
    open_cmd,
    status,
)

S = TicketStatus


def test_customer_opened_ticket_is_new_with_its_first_message() -> None:
    events = decide(TicketState("T-1"), open_cmd(text="my parcel", message_id="m1"), NOW)
    assert kinds(events) == ["TicketOpened", "CustomerMessageAppended"]
    assert [e.envelope.aggregate_version for e in events] == [1, 2]
    state = evolve_all(TicketState("T-1"), events)
    assert (state.status, state.version, state.message_count) == (S.NEW, 2, 1)
    assert state.recent_messages == ("m1",)


def test_event_ids_derive_from_command_id_and_kind() -> None:
    events = decide(TicketState("T-1"), open_cmd(), NOW)
    assert events[0].envelope.event_id == derive_id("c-open", "T-1", "opened")
    assert events[0].envelope.causation_id == "c-open"
    assert events[0].envelope.occurred_at == T0 and events[0].envelope.recorded_at == NOW
    again = decide(TicketState("T-1"), open_cmd(), NOW)
    assert again == events


def test_assigning_a_new_ticket_opens_it() -> None:
    events = decide(given(open_cmd()), assign(), NOW)
    assert kinds(events) == ["TicketAssigned", "TicketStatusChanged"]
    assert events[0].agent_id == "agent-ann" and events[0].reason is AssignmentReason.MANUAL
    assert (events[1].from_status, events[1].to_status) == (S.NEW, S.OPEN)


@pytest.mark.parametrize(
    ("path", "to"),
    [
        ((), S.OPEN),
        ((), S.PENDING),
        ((), S.ON_HOLD),
        ((S.OPEN,), S.PENDING),
        ((S.OPEN,), S.ON_HOLD),
        ((S.PENDING,), S.ON_HOLD),
        ((S.ON_HOLD,), S.OPEN),
        ((S.PENDING,), S.OPEN),
        ((S.OPEN,), S.SOLVED),
        ((S.PENDING,), S.SOLVED),
        ((S.OPEN, S.SOLVED), S.OPEN),
        ((S.OPEN, S.SOLVED), S.CLOSED),
    ],
)
def test_allowed_status_transitions_with_an_assignee(path: tuple[S, ...], to: S) -> None:
    state = given(open_cmd(), assign(), *[status(s) for s in path])
    frm = path[-1] if path else S.OPEN  # assignment moved new → open
    events = decide(state, status(to, "c-final"), NOW)
    if frm == to:
        assert events == []
    else:
        assert kinds(events) == ["TicketStatusChanged"]
        assert (events[0].from_status, events[0].to_status) == (frm, to)


def test_new_ticket_can_go_pending_without_assignee() -> None:
    events = decide(given(open_cmd()), status(S.PENDING), NOW)
    assert (events[0].from_status, events[0].to_status) == (S.NEW, S.PENDING)


def test_same_status_changes_nothing() -> None:
    assert decide(given(open_cmd(), status(S.PENDING)), status(S.PENDING, "c-2"), NOW) == []


@pytest.mark.parametrize("frm", [(), (S.OPEN,), (S.PENDING,)])
def test_never_back_to_new(frm: tuple[S, ...]) -> None:
    state = given(open_cmd(), assign(), *[status(s) for s in frm])
    with pytest.raises(TicketCommandError) as err:
        decide(state, status(S.NEW, "c-new"), NOW)
    assert err.value.reason_code == "cannot_return_to_new"
    assert "never returns to new" in err.value.message


def test_solve_needs_an_assignee() -> None:
    state = given(open_cmd(), status(S.OPEN))
    with pytest.raises(TicketCommandError) as err:
        decide(state, status(S.SOLVED), NOW)
    assert err.value.reason_code == "no_assignee"
    assert err.value.message == "Cannot solve ticket T-1: it has no assignee; assign it first"


@pytest.mark.parametrize("frm", [S.OPEN, S.PENDING, S.ON_HOLD])
def test_only_solved_tickets_close(frm: S) -> None:
    state = given(open_cmd(), assign(), status(frm))
    with pytest.raises(TicketCommandError) as err:
        decide(state, status(S.CLOSED, "c-close"), NOW)
    assert err.value.reason_code == "not_solved"


def closed() -> TicketState:
    return given(open_cmd(), assign(), status(S.SOLVED), status(S.CLOSED))


@pytest.mark.parametrize(
    "command",
    [
        status(S.OPEN, "x1"),
        assign("agent-bob", "x2"),
        ReplyPublicly(header("x3"), "T-1", "hi"),
        ChangeTicketPriority(header("x4"), "T-1", Priority.HIGH),
        EscalateTicket(header("x5"), "T-1", 2, "tier2"),
    ],
)
def test_closed_is_final(command: object) -> None:
    with pytest.raises(TicketCommandError) as err:
        decide(closed(), command, NOW)
    assert err.value.reason_code == "ticket_closed"


@pytest.mark.parametrize("frm", [S.PENDING, S.ON_HOLD, S.SOLVED])
def test_customer_message_reopens(frm: S) -> None:
    state = given(open_cmd(), assign(), status(frm))
    events = decide(state, message("m2"), NOW)
    assert kinds(events) == ["CustomerMessageAppended", "TicketReopened", "TicketStatusChanged"]
    assert events[1].from_status is frm
    assert (events[2].from_status, events[2].to_status) == (frm, S.OPEN)
    # 1 opened + 1 assigned + 1 status(new→open) + 1 status(frm) = version 4; then 5, 6, 7
    assert [e.envelope.aggregate_version for e in events] == [5, 6, 7]


@pytest.mark.parametrize("frm", [(), (S.OPEN,)])
def test_customer_message_on_new_or_open_just_appends(frm: tuple[S, ...]) -> None:
    events = decide(given(open_cmd(), *[status(s) for s in frm]), message("m2"), NOW)
    assert kinds(events) == ["CustomerMessageAppended"]


def test_redelivered_message_changes_nothing() -> None:
    state = given(open_cmd(), message("m1"))
    assert decide(state, message("m1"), NOW) == []


def test_customer_message_on_closed_ticket_opens_a_linked_follow_up() -> None:
    out = handle(closed(), message("m9"), NOW)
    assert out.events == () and out.rejection is None
    new_id = follow_up_id("T-1")
    assert kinds(out.commands) == ["OpenTicket", "AppendCustomerMessage"]
    assert [c.ticket_id for c in out.commands] == [new_id, new_id]
    open_follow_up, append = out.commands
    assert open_follow_up.follow_up_of == "T-1" and open_follow_up.conversation_key == CONV
    fresh = TicketState(new_id)
    events = decide(fresh, open_follow_up, NOW)
    assert kinds(events) == ["TicketOpened", "FollowUpTicketOpened"]
    assert events[1].follow_up_of == "T-1"
    state = evolve_all(fresh, events)
    assert kinds(decide(state, append, NOW)) == ["CustomerMessageAppended"]
    # a second message to the closed ticket joins the same follow-up
    again = handle(closed(), message("m10"), NOW)
    assert decide(state, again.commands[0], NOW) == []
    assert again.commands[1].ticket_id == new_id


def test_replayed_command_is_a_duplicate_and_resends_its_events() -> None:
    state = given(open_cmd(), assign())
    out = handle(state, assign(), NOW)
    assert out.duplicate and kinds(out.replayed) == ["TicketAssigned", "TicketStatusChanged"]
    assert out.replayed == tuple(decide(given(open_cmd()), assign(), NOW))
    assert handle(state, assign("agent-bob", "c-other"), NOW).events != ()


def test_refused_command_becomes_a_rejection_event() -> None:
    state = given(open_cmd(), status(S.OPEN))
    out = handle(state, status(S.SOLVED, "c-solve"), NOW)
    r = out.rejection
    assert r is not None and out.events == ()
    assert (r.ticket_id, r.command_id, r.command_type, r.reason_code) == (
        "T-1", "c-solve", "ChangeTicketStatus", "no_assignee",
    )  # fmt: skip
    assert r.envelope.aggregate_version == state.version  # rejections do not advance it
    assert r.envelope.event_id == derive_id("c-solve", "T-1", "rejected-no_assignee")


def test_unknown_ticket_is_rejected() -> None:
    out = handle(TicketState("T-404"), assign(ticket_id="T-404"), NOW)
    assert out.rejection is not None and out.rejection.reason_code == "unknown_ticket"
    assert "T-404 does not exist" in out.rejection.message


def test_opening_an_existing_ticket_is_rejected() -> None:
    with pytest.raises(TicketCommandError) as err:
        decide(given(open_cmd()), open_cmd(command_id="c-open-2"), NOW)
    assert err.value.reason_code == "ticket_exists"


def test_expected_version_mismatch_is_rejected() -> None:
    state = given(open_cmd())  # version 1
    stale = ChangeTicketPriority(header("c-p", expected_version=0), "T-1", Priority.HIGH)
    with pytest.raises(TicketCommandError) as err:
        decide(state, stale, NOW)
    assert err.value.reason_code == "version_conflict"
    ok = ChangeTicketPriority(header("c-p", expected_version=1), "T-1", Priority.HIGH)
    assert decide(state, ok, NOW)[0].to_priority is Priority.HIGH


def test_reassign_and_unassign() -> None:
    state = given(open_cmd(), assign())
    events = decide(state, assign("agent-bob", "c-2"), NOW)
    assert kinds(events) == ["TicketAssigned"]  # already open: no status change
    assert (events[0].agent_id, events[0].previous_agent_id) == ("agent-bob", "agent-ann")
    assert decide(state, assign(), NOW) == []  # same agent again
    un = decide(state, UnassignTicket(header("c-u"), "T-1", "holiday"), NOW)
    assert kinds(un) == ["TicketUnassigned"] and un[0].previous_agent_id == "agent-ann"


def test_escalation_moves_group_raises_tier_and_unassigns_for_rerouting() -> None:
    state = given(open_cmd(group="tier1"), assign())
    events = decide(state, EscalateTicket(header("c-e"), "T-1", 2, "tier2", "refund"), NOW)
    assert kinds(events) == ["TicketEscalated", "TicketGroupChanged", "TicketUnassigned"]
    esc, grp, un = events
    assert (esc.from_tier, esc.to_tier, esc.from_group, esc.to_group) == (1, 2, "tier1", "tier2")
    assert (grp.from_group, grp.to_group) == ("tier1", "tier2")
    assert (un.previous_agent_id, un.reason) == ("agent-ann", "escalation")
    after = evolve_all(state, events)
    assert (after.tier, after.group, after.assignee, after.status) == (2, "tier2", None, S.OPEN)
    with pytest.raises(TicketCommandError) as err:
        decide(after, EscalateTicket(header("c-e2"), "T-1", 2, "tier2"), NOW)
    assert err.value.reason_code == "not_higher_tier"


def test_merge_is_forwarded_from_target_and_closes_the_source() -> None:
    target = given(open_cmd("T-1"))
    merge = MergeTickets(header("c-m", "T-1"), "T-1", "T-2")
    out = handle(target, merge, NOW)
    assert out.events == () and out.commands == (merge,)
    source = given(open_cmd("T-2", "c-open-2"), ticket_id="T-2")
    events = decide(source, merge, NOW)
    assert kinds(events) == ["TicketMerged", "TicketStatusChanged"]
    assert events[0].ticket_id == "T-2" and events[0].into_ticket_id == "T-1"
    assert (events[1].from_status, events[1].to_status) == (S.NEW, S.CLOSED)
    assert evolve_all(source, events).merged_into == "T-1"


def test_merge_into_itself_and_into_closed_are_rejected() -> None:
    out = handle(given(open_cmd()), MergeTickets(header("c-m"), "T-1", "T-1"), NOW)
    assert out.rejection is not None and out.rejection.reason_code == "merge_into_itself"
    out = handle(closed(), MergeTickets(header("c-m"), "T-1", "T-2"), NOW)
    assert out.rejection is not None and out.rejection.reason_code == "ticket_closed"


def test_csat_after_solve_only_and_in_range() -> None:
    solved = given(open_cmd(), assign(), status(S.SOLVED))
    events = decide(solved, RecordCsat(header("c-csat"), "T-1", 4, "quick"), NOW)
    assert events == [CsatReceived(events[0].envelope, "T-1", 4, "quick")]
    assert decide(closed(), RecordCsat(header("c-csat"), "T-1", 5), NOW)[0].score == 5
    for state, score, code in [
        (solved, 6, "invalid_score"),
        (given(open_cmd(), assign()), 3, "not_solved_for_csat"),
    ]:
        with pytest.raises(TicketCommandError) as err:
            decide(state, RecordCsat(header("c-csat"), "T-1", score), NOW)
        assert err.value.reason_code == code


def test_reply_goes_to_the_conversation_it_came_from() -> None:
    state = given(open_cmd(), message("m1"))
    (reply,) = decide(state, ReplyPublicly(header("c-r"), "T-1", "on its way"), NOW)
    assert (reply.channel, reply.conversation_key) == ("line", CONV)
    assert (reply.account_id, reply.external_conversation_id) == ("acct1", "U123")
    assert reply.reply_id == derive_id("c-r", "reply") and reply.author_id == "agent-ann"
    assert reply.last_customer_message_at == T0


def test_internal_note_and_priority() -> None:
    state = given(open_cmd())
    (note,) = decide(state, AddInternalNote(header("c-n"), "T-1", "vip"), NOW)
    assert (note.author_id, note.text) == ("agent-ann", "vip")
    assert decide(state, ChangeTicketPriority(header("c-p"), "T-1", Priority.NORMAL), NOW) == []


def test_auto_close_deadline_and_command() -> None:
    solved = given(open_cmd(), assign(), status(S.SOLVED))
    assert solved.solved_at == T0  # event time of the solve command
    due = auto_close_due_at(solved, 4)
    assert due is not None and due.isoformat() == "2026-11-27T09:00:00+00:00"
    assert auto_close_due_at(given(open_cmd()), 4) is None
    with pytest.raises(ValueError):
        auto_close_due_at(solved, 29)
    cmd = auto_close_command(solved, NOW, "tenant-a")
    assert cmd.status is S.CLOSED and cmd.command.actor.kind == "system"
    assert cmd.command.command_id == auto_close_command(solved, NOW, "tenant-a").command.command_id
    events = decide(solved, cmd, NOW)
    assert isinstance(events[0], TicketStatusChanged) and events[0].to_status is S.CLOSED


def test_assignment_event_fields() -> None:
    (assigned, _) = decide(given(open_cmd()), assign(), NOW)
    assert isinstance(assigned, TicketAssigned) and assigned.previous_agent_id is None
