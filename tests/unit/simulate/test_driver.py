"""The driver's ordering rules, without I/O: a ticket's actions go out one at a time, each after
the previous one's ticket event; commands wait until the ticket is open; a rejected solve does
not count in the ground truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.records import (
    Actor,
    ActorKind,
    Channel,
    CustomerMessageAppended,
    Envelope,
    Priority,
    TicketCommandRejected,
    TicketOpened,
    TicketPriorityChanged,
)
from ticketstream.simulate.config import Endpoints, SimConfig
from ticketstream.simulate.driver import Driver, _Run

AT = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)


def env(causation: str = "c") -> Envelope:
    return Envelope("e", AT, AT, "T-1", 1, causation, "c", Actor(ActorKind.SYSTEM, "x"), "t")


def driver() -> tuple[Driver, list[tuple[str, str]], _Run, list[str]]:
    config = SimConfig(days=0.5, seed=2, channels=(Channel.LINE,))
    d = Driver(config, Endpoints("http://gw", "http://api", "tok", "kafka:9092",
                                 {Channel.LINE: "secret"}))  # fmt: skip
    sent: list[tuple[str, str]] = []

    def spawn(coro: Any) -> None:  # record what would be sent instead of sending it
        frame = coro.cr_frame.f_locals
        sent.append((frame["action"].kind, frame["key"]))
        coro.close()

    d._spawn = spawn  # type: ignore[method-assign]
    ticket = next(
        t for t in d.model.tickets()
        if len(t.actions) >= 4 and t.actions[0].at < config.end - timedelta(hours=3)
        and "message" not in [a.kind for a in t.actions[1:3]]
    )  # fmt: skip
    d._admit(ticket)
    run = next(iter(d.runs_by_conv.values()))
    while d.plan:  # release everything at once: a slow pipeline
        _, seq, r, _, action = d.plan.pop(0)
        r.queue.append((seq, action))
        d.backlog += 1
    d._pump(run)
    return d, sent, run, [a.kind for a in ticket.actions]


def opened(run: _Run) -> TicketOpened:
    conv = f"line:Ubot:{run.who.conversation}"
    return TicketOpened(env(), "T-1", "C-1", Channel.LINE, conv, Priority.NORMAL, True)


def test_one_action_at_a_time_each_after_its_ticket_event() -> None:
    d, sent, run, kinds = driver()
    assert sent == [("message", sent[0][1])]  # only the first message is out
    run.message_key = "k1"
    d._observe(opened(run))
    assert len(sent) == 1  # opened, but the message itself is not appended yet
    d._observe(CustomerMessageAppended(env(), "T-1", "Ubot:k1", Channel.LINE, "hi", AT))
    assert [k for k, _ in sent] == kinds[:2]
    second = sent[1][1]
    d._observe(TicketPriorityChanged(env("other"), "T-1", Priority.NORMAL, Priority.HIGH))
    assert len(sent) == 2  # another command's event
    d._observe(TicketPriorityChanged(env(second), "T-1", Priority.NORMAL, Priority.HIGH))
    assert [k for k, _ in sent] == kinds[:3]


def test_commands_wait_for_the_ticket_when_the_first_message_times_out() -> None:
    d, sent, run, kinds = driver()
    d._confirm(run)  # the first message's confirmation timed out
    assert len(sent) == 1 and run.inflight is None and run.queue  # held, not skipped
    d._observe(opened(run))
    assert [k for k, _ in sent] == kinds[:2]


def test_a_rejected_command_is_confirmed_and_counted() -> None:
    d, sent, run, kinds = driver()
    d._observe(opened(run))
    d._confirm(run)  # the first message
    key = sent[1][1]
    d._observe(TicketCommandRejected(env(key), "T-1", key, "AssignTicket", "x", "no"))
    assert d.rejections == {"AssignTicket x": 1}
    assert [k for k, _ in sent] == kinds[:3]  # the next action went out
