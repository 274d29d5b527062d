"""Replies go to the identity the ticket's conversation came from — through threading, a
follow-up after close, a merge, another sender in the same (group) conversation, and a link of
that identity's customer to another customer. Worked by hand on an e-mail thread, where the
conversation id (the thread's root Message-ID) is not the address to reply to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.records import (
    Actor,
    ActorKind,
    AgentReplied,
    AssignTicket,
    ChangeTicketStatus,
    Channel,
    ChannelMessageReceived,
    CommandHeader,
    CustomerMessageAppended,
    Envelope,
    MergeTickets,
    ReplyPublicly,
    TicketStatus,
)
from streams.domain.threading import ConversationState, thread
from streams.domain.tickets import TicketState, evolve_all, handle

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ANN = "ann@example.com"
BOX = "support@shop.example"
ROOT = "<root-1@mail.example>"  # the thread's root Message-ID: the conversation id


def mail(sender: str, n: int, root: str = ROOT) -> ChannelMessageReceived:
    key = f"email:{BOX}:{root}"
    at = T0 + timedelta(minutes=n)
    dedup = f"email:<m{n}@mail.example>"
    env = Envelope(dedup, at, at, key, 1, dedup, dedup, Actor(ActorKind.CUSTOMER, sender), "t")
    return ChannelMessageReceived(
        env, Channel.EMAIL, BOX, root, sender, f"<m{n}@mail.example>", dedup, key, f"m{n}", at
    )


class Desk:
    """Tickets and their conversations, driven as the agents drive them: each command goes to
    the ticket it is keyed by (a forwarded merge is keyed by its source ticket)."""

    def __init__(self) -> None:
        self.tickets: dict[str, TicketState] = {}
        self.conversations: dict[str, ConversationState] = {}

    def run(self, command: Any) -> list[Any]:
        pending, events = [(command.ticket_id, command)], []
        while pending:
            key, c = pending.pop(0)
            state = self.tickets.get(key, TicketState(key))
            out = handle(state, c, T0 + timedelta(hours=1))
            self.tickets[key] = evolve_all(state, out.events)
            events += out.events
            pending += [
                (f.source_ticket_id if isinstance(f, MergeTickets) else f.ticket_id, f)
                for f in out.commands
            ]
        return events

    def receive(self, message: ChannelMessageReceived) -> str:
        key = message.conversation_key
        state, commands = thread(self.conversations.get(key, ConversationState(key)), message)
        self.conversations[key] = state
        events = [e for c in commands for e in self.run(c)]
        (appended,) = [e for e in events if isinstance(e, CustomerMessageAppended)]
        return appended.ticket_id  # the ticket the message joined (maybe a follow-up)

    def reply(self, ticket_id: str, n: int) -> AgentReplied:
        h = _header(f"c-reply-{n}", ticket_id)
        (reply,) = [e for e in self.run(ReplyPublicly(h, ticket_id, "on it"))
                    if isinstance(e, AgentReplied)]  # fmt: skip
        return reply


def _header(cid: str, ticket_id: str) -> CommandHeader:
    return CommandHeader(cid, T0, ticket_id, cid, Actor(ActorKind.AGENT, "agent-bo"), "t")


def test_email_reply_goes_to_the_sender_not_to_the_thread_id() -> None:
    desk = Desk()
    t1 = desk.receive(mail(ANN, 1))
    desk.run(AssignTicket(_header("c-as", t1), t1, "agent-bo"))
    reply = desk.reply(t1, 1)
    assert (reply.external_user_id, reply.external_conversation_id) == (ANN, ROOT)
    assert (reply.account_id, reply.conversation_key) == (BOX, f"email:{BOX}:{ROOT}")


def test_another_sender_in_the_conversation_does_not_redirect_replies() -> None:
    desk = Desk()
    t1 = desk.receive(mail(ANN, 1))
    assert desk.receive(mail("bob@example.com", 2)) == t1  # cc'd colleague answers the thread
    desk.run(AssignTicket(_header("c-as", t1), t1, "agent-bo"))
    assert desk.reply(t1, 1).external_user_id == ANN


def test_follow_up_after_close_replies_to_the_same_identity() -> None:
    desk = Desk()
    t1 = desk.receive(mail(ANN, 1))
    for cid, cmd in (("c-as", None), ("c-solve", TicketStatus.SOLVED),
                     ("c-close", TicketStatus.CLOSED)):  # fmt: skip
        h = _header(cid, t1)
        desk.run(AssignTicket(h, t1, "agent-bo") if cmd is None else ChangeTicketStatus(h, t1, cmd))
    t2 = desk.receive(mail(ANN, 5))
    assert t2 != t1 and desk.tickets[t2].follow_up_of == t1
    desk.run(AssignTicket(_header("c-as2", t2), t2, "agent-bo"))
    assert desk.reply(t2, 2).external_user_id == ANN


def test_merge_keeps_each_ticket_replying_to_its_own_identity() -> None:
    desk = Desk()
    t_ann = desk.receive(mail(ANN, 1))
    t_cy = desk.receive(mail("cy@example.com", 2, root="<root-2@mail.example>"))
    for t in (t_ann, t_cy):
        desk.run(AssignTicket(_header(f"c-as-{t}", t), t, "agent-bo"))
    desk.run(MergeTickets(_header("c-merge", t_ann), t_ann, t_cy))
    assert desk.tickets[t_cy].merged_into == t_ann
    assert desk.tickets[t_cy].status is TicketStatus.CLOSED
    assert desk.reply(t_ann, 3).external_user_id == ANN
    # cy writes again in her thread: a follow-up of her (merged, closed) ticket, replying to cy
    t_cy2 = desk.receive(mail("cy@example.com", 9, root="<root-2@mail.example>"))
    assert desk.tickets[t_cy2].follow_up_of == t_cy
    desk.run(AssignTicket(_header("c-as-cy2", t_cy2), t_cy2, "agent-bo"))
    assert desk.reply(t_cy2, 4).external_user_id == "cy@example.com"
