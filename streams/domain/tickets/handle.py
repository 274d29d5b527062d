"""``handle(state, command, now) -> Outcome``: decide, turn a refusal into a rejection event, and
name the commands another ticket must receive (follow-up after closed, the source of a merge)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.records import (
    Actor,
    ActorKind,
    AppendCustomerMessage,
    MergeTickets,
    OpenTicket,
    TicketCommandRejected,
    TicketStatus,
)
from streams.domain.envelopes import EnvelopeFactory
from streams.domain.ids import derive_id, short_id
from streams.domain.replace import replace
from streams.domain.threading import Lands, placed_id
from streams.domain.tickets.decide import decide
from streams.domain.tickets.errors import TicketCommandError
from streams.domain.tickets.state import TicketState

SYSTEM = Actor(ActorKind.SYSTEM, "ticketstream")


@dataclass(frozen=True, slots=True)
class Outcome:
    """``events`` to append to this ticket; ``commands`` to send to other tickets (each keyed by
    its ``ticket_id``); ``rejection`` set when the command was refused; ``duplicate`` when the
    command id was already handled (nothing to do)."""

    events: tuple[Any, ...] = ()
    commands: tuple[Any, ...] = ()
    rejection: TicketCommandRejected | None = None
    duplicate: bool = False
    replayed: tuple[Any, ...] = ()


def follow_up_id(closed_ticket_id: str, lands: Lands | None = None) -> str:
    """The id of the follow-up of a closed ticket (deterministic: every later message of the
    conversation joins the same follow-up), placed by ``lands`` (see ``placed_id``)."""
    return placed_id(short_id("T", closed_ticket_id, "follow-up"), lands)


def handle(state: TicketState, command: Any, now: datetime, lands: Lands | None = None) -> Outcome:
    """What ``command`` does to the ticket ``state`` (never raises ``TicketCommandError``).

    ``lands`` places the id of a follow-up this command opens (next to the closed ticket)."""
    header = command.command
    if state.seen_command(header.command_id):
        return Outcome(duplicate=True, replayed=state.outcome_of(header.command_id))
    if (
        isinstance(command, AppendCustomerMessage)
        and state.status is TicketStatus.CLOSED
        and not state.seen_message(command.message_id)
    ):
        return Outcome(commands=_follow_up(state, command, lands))
    try:
        events = decide(state, command, now)
    except TicketCommandError as err:
        return Outcome(rejection=rejection(state, command, err, now))
    if isinstance(command, MergeTickets) and state.ticket_id == command.ticket_id:
        return Outcome(commands=(command,))  # the source ticket closes itself in its partition
    return Outcome(events=tuple(events))


def rejection(
    state: TicketState, command: Any, err: TicketCommandError, now: datetime
) -> TicketCommandRejected:
    """The ``TicketCommandRejected`` event for ``command`` refused with ``err``."""
    env = EnvelopeFactory(command.command, state.ticket_id, state.version, now)
    return TicketCommandRejected(
        env.same(f"rejected-{err.reason_code}"),
        state.ticket_id,
        command.command.command_id,
        type(command).__name__,
        err.reason_code,
        err.message,
    )


def _follow_up(
    state: TicketState, c: AppendCustomerMessage, lands: Lands | None
) -> tuple[Any, ...]:
    new_id = follow_up_id(state.ticket_id, lands)
    h = c.command
    assert state.customer_id is not None and state.channel is not None
    assert state.conversation_key is not None
    open_cmd = OpenTicket(
        replace(
            h,
            command_id=derive_id(h.command_id, "open-follow-up"),
            aggregate_id=new_id,
            actor=SYSTEM,
            expected_version=None,
        ),
        new_id,
        state.customer_id,
        state.channel,
        state.conversation_key,
        subject=state.subject,
        priority=state.priority,
        group=state.group,
        customer_tier=state.customer_tier,
        language=state.language,
        follow_up_of=state.ticket_id,
    )
    append = replace(
        c,
        command=replace(
            h,
            command_id=derive_id(h.command_id, "append-follow-up"),
            aggregate_id=new_id,
            expected_version=None,
        ),
        ticket_id=new_id,
    )
    return (open_cmd, append)
