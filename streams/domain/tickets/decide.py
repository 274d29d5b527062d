"""``decide(state, command, now) -> list[event]``: what a ticket command does, or why not.

Raises ``TicketCommandError`` when the ticket's state forbids the command. Event ids derive from
the command id and the event kind, so a replayed command yields recognisably the same events
(and ``handle`` drops a command already seen). ``now`` is the recording time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.records import (
    AddInternalNote,
    AgentReplied,
    AppendCustomerMessage,
    AssignTicket,
    ChangeTicketPriority,
    ChangeTicketStatus,
    CommandHeader,
    CsatReceived,
    CustomerMessageAppended,
    EscalateTicket,
    FollowUpTicketOpened,
    InternalNoteAdded,
    MergeTickets,
    OpenTicket,
    RecordCsat,
    ReplyPublicly,
    SetTicketGroup,
    SetTicketTags,
    TicketAssigned,
    TicketEscalated,
    TicketGroupChanged,
    TicketMerged,
    TicketOpened,
    TicketPriorityChanged,
    TicketReopened,
    TicketStatus,
    TicketStatusChanged,
    TicketTagsChanged,
    TicketUnassigned,
    UnassignTicket,
)
from streams.domain.envelopes import EnvelopeFactory
from streams.domain.ids import derive_id
from streams.domain.tickets.errors import TicketCommandError
from streams.domain.tickets.state import TicketState

REOPENING = (TicketStatus.PENDING, TicketStatus.ON_HOLD, TicketStatus.SOLVED)


def decide(state: TicketState, command: Any, now: datetime) -> list[Any]:
    """The events ``command`` produces on ``state`` (possibly none: nothing to change)."""
    header: CommandHeader = command.command
    if header.expected_version is not None and header.expected_version != state.version:
        raise TicketCommandError(
            "version_conflict",
            f"Ticket {state.ticket_id} is at version {state.version}, not the expected "
            f"{header.expected_version}; reload it and retry",
        )
    env = EnvelopeFactory(header, state.ticket_id, state.version, now)
    if isinstance(command, OpenTicket):
        return _open(state, command, env)
    if not state.exists:
        raise TicketCommandError(
            "unknown_ticket",
            f"Ticket {state.ticket_id} does not exist; check the id or open the ticket first",
        )
    if isinstance(command, AppendCustomerMessage):
        return _append(state, command, env)
    if isinstance(command, RecordCsat):
        return _csat(state, command, env)
    if state.status is TicketStatus.CLOSED:
        raise TicketCommandError(
            "ticket_closed",
            f"Ticket {state.ticket_id} is closed and cannot change; "
            "a new customer message opens a follow-up ticket",
        )
    if isinstance(command, ChangeTicketStatus):
        return _status(state, command.status, env)
    if isinstance(command, AssignTicket):
        if command.agent_id == state.assignee:
            return []
        events: list[Any] = [
            TicketAssigned(
                env.next("assigned"),
                state.ticket_id,
                command.agent_id,
                command.reason,
                previous_agent_id=state.assignee,
            )
        ]
        if state.status is TicketStatus.NEW:
            events.append(_status_changed(state, TicketStatus.OPEN, env))
        return events
    if isinstance(command, UnassignTicket):
        if state.assignee is None:
            return []
        return [
            TicketUnassigned(
                env.next("unassigned"), state.ticket_id, state.assignee, command.reason
            )
        ]
    if isinstance(command, ReplyPublicly):
        return [_reply(state, command, env)]
    if isinstance(command, AddInternalNote):
        return [
            InternalNoteAdded(
                env.next("note"),
                state.ticket_id,
                derive_id(header.command_id, "note"),
                header.actor.id,
                command.text,
            )
        ]
    if isinstance(command, ChangeTicketPriority):
        if command.priority == state.priority:
            return []
        return [
            TicketPriorityChanged(
                env.next("priority"), state.ticket_id, state.priority, command.priority
            )
        ]
    if isinstance(command, SetTicketGroup):
        if command.group == state.group:
            return []
        return [
            TicketGroupChanged(
                env.next("group"), state.ticket_id, command.group, from_group=state.group
            )
        ]
    if isinstance(command, SetTicketTags):
        tags = tuple(sorted(set(command.tags)))
        if tags == state.tags:
            return []
        return [
            TicketTagsChanged(
                env.next("tags"),
                state.ticket_id,
                tags,
                added=tuple(t for t in tags if t not in state.tags),
                removed=tuple(t for t in state.tags if t not in tags),
            )
        ]
    if isinstance(command, EscalateTicket):
        return _escalate(state, command, env)
    if isinstance(command, MergeTickets):
        return _merge(state, command, env)
    raise TicketCommandError(
        "invalid_command",
        f"{type(command).__name__} is not a ticket command; send it to its own topic",
    )


def _open(state: TicketState, c: OpenTicket, env: EnvelopeFactory) -> list[Any]:
    if state.exists:
        if c.follow_up_of is not None and c.follow_up_of == state.follow_up_of:
            return []  # the follow-up already exists: another message to the closed ticket
        raise TicketCommandError(
            "ticket_exists",
            f"Ticket {state.ticket_id} already exists; use a new ticket id or update this one",
        )
    events: list[Any] = [
        TicketOpened(
            env.next("opened"),
            state.ticket_id,
            c.customer_id,
            c.channel,
            c.conversation_key,
            c.priority,
            c.by_customer,
            subject=c.subject,
            group=c.group,
            tags=tuple(sorted(set(c.tags))),
            customer_tier=c.customer_tier,
            language=c.language,
            follow_up_of=c.follow_up_of,
        )
    ]
    if c.follow_up_of is not None:
        events.append(FollowUpTicketOpened(env.next("follow-up"), state.ticket_id, c.follow_up_of))
    if c.text is not None and c.by_customer:
        message_id = c.message_id or derive_id(c.command.command_id, "first-message")
        events.append(
            CustomerMessageAppended(
                env.next("message"),
                state.ticket_id,
                message_id,
                c.channel,
                c.text,
                c.command.issued_at,
            )
        )
    elif c.text is not None:
        events.append(
            InternalNoteAdded(
                env.next("note"),
                state.ticket_id,
                derive_id(c.command.command_id, "note"),
                c.command.actor.id,
                c.text,
            )
        )
    return events


def _append(state: TicketState, c: AppendCustomerMessage, env: EnvelopeFactory) -> list[Any]:
    if state.seen_message(c.message_id):
        return []  # a redelivered channel message
    if state.status is TicketStatus.CLOSED:
        raise TicketCommandError(
            "ticket_closed",
            f"Ticket {state.ticket_id} is closed; the message belongs to its follow-up ticket",
        )
    events: list[Any] = [
        CustomerMessageAppended(
            env.next("message"),
            state.ticket_id,
            c.message_id,
            c.channel,
            c.text,
            c.sent_at,
            attachments=c.attachments,
            external_user_id=c.reply_context.get("external_user_id"),
            reply_context=dict(c.reply_context),
            reply_context_expires_at=c.reply_context_expires_at,
        )
    ]
    if state.status in REOPENING:
        assert state.status is not None
        events.append(TicketReopened(env.next("reopened"), state.ticket_id, state.status))
        events.append(_status_changed(state, TicketStatus.OPEN, env))
    return events


def _status(state: TicketState, to: TicketStatus, env: EnvelopeFactory) -> list[Any]:
    assert state.status is not None
    if to == state.status:
        return []
    if to is TicketStatus.NEW:
        raise TicketCommandError(
            "cannot_return_to_new",
            f"Ticket {state.ticket_id} is {state.status}; a ticket never returns to new — "
            "choose open, pending, on_hold or solved",
        )
    if to is TicketStatus.SOLVED and state.assignee is None:
        raise TicketCommandError(
            "no_assignee",
            f"Cannot solve ticket {state.ticket_id}: it has no assignee; assign it first",
        )
    if to is TicketStatus.CLOSED and state.status is not TicketStatus.SOLVED:
        raise TicketCommandError(
            "not_solved",
            f"Cannot close ticket {state.ticket_id}: it is {state.status}, only solved tickets "
            "close; solve it first",
        )
    return [_status_changed(state, to, env)]


def _status_changed(state: TicketState, to: TicketStatus, env: EnvelopeFactory) -> Any:
    assert state.status is not None
    return TicketStatusChanged(env.next(f"status-{to}"), state.ticket_id, state.status, to)


def _reply(state: TicketState, c: ReplyPublicly, env: EnvelopeFactory) -> Any:
    assert state.channel is not None and state.conversation_key is not None
    parts = state.conversation_key.split(":", 2)
    account_id = parts[1] if len(parts) == 3 else ""
    conversation_id = parts[2] if len(parts) == 3 else state.conversation_key
    return AgentReplied(
        env.next("reply"),
        state.ticket_id,
        derive_id(c.command.command_id, "reply"),
        c.command.actor.id,
        state.channel,
        state.conversation_key,
        account_id,
        conversation_id,
        state.external_user_id or conversation_id,
        c.text,
        attachments=c.attachments,
        reply_context=dict(state.reply_context),
        reply_context_expires_at=state.reply_context_expires_at,
        last_customer_message_at=state.last_customer_message_at,
    )


def _escalate(state: TicketState, c: EscalateTicket, env: EnvelopeFactory) -> list[Any]:
    if c.to_tier <= state.tier:
        raise TicketCommandError(
            "not_higher_tier",
            f"Cannot escalate ticket {state.ticket_id} to tier {c.to_tier}: it is already at "
            f"tier {state.tier}; escalate to a higher tier or change its group",
        )
    events: list[Any] = [
        TicketEscalated(
            env.next("escalated"),
            state.ticket_id,
            state.tier,
            c.to_tier,
            c.to_group,
            from_group=state.group,
            reason=c.reason,
        )
    ]
    if c.to_group != state.group:
        events.append(
            TicketGroupChanged(env.next("group"), state.ticket_id, c.to_group, state.group)
        )
    if state.assignee is not None:  # re-routed to the new tier by the router
        events.append(
            TicketUnassigned(env.next("unassigned"), state.ticket_id, state.assignee, "escalation")
        )
    return events


def _merge(state: TicketState, c: MergeTickets, env: EnvelopeFactory) -> list[Any]:
    if c.source_ticket_id == c.ticket_id:
        raise TicketCommandError(
            "merge_into_itself",
            f"Cannot merge ticket {c.ticket_id} into itself; name two different tickets",
        )
    if state.ticket_id == c.ticket_id:
        return []  # target side: checked open above; ``handle`` forwards to the source
    events: list[Any] = [TicketMerged(env.next("merged"), state.ticket_id, c.ticket_id)]
    if state.status is not TicketStatus.CLOSED:
        events.append(_status_changed(state, TicketStatus.CLOSED, env))
    return events


def _csat(state: TicketState, c: RecordCsat, env: EnvelopeFactory) -> list[Any]:
    if not 1 <= c.score <= 5:
        raise TicketCommandError(
            "invalid_score",
            f"CSAT score {c.score} for ticket {state.ticket_id} is out of range; send 1 to 5",
        )
    if state.status not in (TicketStatus.SOLVED, TicketStatus.CLOSED):
        raise TicketCommandError(
            "not_solved_for_csat",
            f"Ticket {state.ticket_id} is {state.status}; CSAT is recorded once it is solved",
        )
    return [CsatReceived(env.next("csat"), state.ticket_id, c.score, c.comment)]
