"""A small, hand-built event stream and the cookbook answers worked out by hand from it.

Five tickets (2026-03-02 is a Monday; all times UTC):

- T1 email/high, opened Mon 09:00, assigned A1 09:05, A1 replies 09:30 (first reply 1800 s;
  the reply is re-emitted upstream with the same id), A1 solves 10:00.
  SLA first_reply_time #1, policy gold, target 3600: fulfilled 09:30, not breached.
- T2 whatsapp/normal, opened Mon 09:10, assigned A2 09:15, A2 replies 10:10 (3600 s),
  A2 sets pending 10:15. SLA first_reply_time #1, silver, target 1800: breached 09:40
  (the breach is re-emitted upstream), fulfilled 10:10 (breached, 3600 s elapsed).
- T3 whatsapp/urgent, opened Mon 09:20, assigned A1 09:21, a bot answers 09:22 (not a first
  reply), A1 replies 09:50 (1800 s), A1 solves 10:30; the customer writes again Tue 08:00:
  reopened. SLA first_reply_time #1, gold, target 600: breached 09:30, fulfilled 09:50
  (breached, 1800 s); next_reply_time #1, gold, target 3600 starts Tue 08:00, still running.
- T4 email/normal, opened Tue 09:00, nobody acts. SLA first_reply_time #1, silver, target 7200,
  running.
- T5 webchat/low, opened Mon 2026-03-09 10:00, assigned A2 10:01, A2 replies 10:02 (120 s),
  A2 solves 10:05. SLA first_reply_time #1, silver, target 3600: fulfilled 10:02, not breached.

Plus one gateway message (ChannelMessageReceived) and A1 going online.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import records as r

MON = datetime(2026, 3, 2, tzinfo=UTC)


def at(day: int, hh: int, mm: int) -> datetime:
    """2026-03-(2+day) hh:mm UTC."""
    return MON + timedelta(days=day, hours=hh, minutes=mm)


class _Stream:
    def __init__(self) -> None:
        self.records: list[Any] = []
        self.versions: dict[str, int] = {}

    def env(self, agg: str, when: datetime, actor: r.Actor, eid: str | None = None) -> r.Envelope:
        v = self.versions.get(agg, 0) + 1
        self.versions[agg] = v
        return r.Envelope(
            event_id=eid or f"{agg}-{v}",
            occurred_at=when,
            recorded_at=when,
            aggregate_id=agg,
            aggregate_version=v,
            causation_id=f"cause-{agg}-{v}",
            correlation_id=f"corr-{agg}",
            actor=actor,
            tenant_id="acme",
        )

    def sla_env(self, ticket: str, when: datetime, eid: str) -> r.Envelope:
        return r.Envelope(
            event_id=eid, occurred_at=when, recorded_at=when, aggregate_id=ticket,
            aggregate_version=1, causation_id=f"cause-{eid}", correlation_id=f"corr-{ticket}",
            actor=SYSTEM, tenant_id="acme",
        )  # fmt: skip


CUSTOMER = r.Actor(r.ActorKind.CUSTOMER, "cust")
SYSTEM = r.Actor(r.ActorKind.SYSTEM, "ticketstream")
BOT = r.Actor(r.ActorKind.BOT, "bot-1")


def agent(agent_id: str) -> r.Actor:
    return r.Actor(r.ActorKind.AGENT, agent_id)


def known_stream() -> list[Any]:
    """The records in the order they are produced (duplicates included)."""
    s = _Stream()
    out = s.records
    ch = {"T1": r.Channel.EMAIL, "T2": r.Channel.WHATSAPP, "T3": r.Channel.WHATSAPP,
          "T4": r.Channel.EMAIL, "T5": r.Channel.WEBCHAT}  # fmt: skip
    pr = {"T1": r.Priority.HIGH, "T2": r.Priority.NORMAL, "T3": r.Priority.URGENT,
          "T4": r.Priority.NORMAL, "T5": r.Priority.LOW}  # fmt: skip
    M = r.SlaMetric.FIRST_REPLY_TIME

    def opened(t: str, when: datetime) -> None:
        out.append(
            r.TicketOpened(s.env(t, when, CUSTOMER), t, f"C-{t}", ch[t], f"conv-{t}", pr[t], True,
                           subject="Where is my order?")
        )  # fmt: skip

    def assigned(t: str, a: str, when: datetime) -> None:
        out.append(r.TicketAssigned(s.env(t, when, SYSTEM), t, a, r.AssignmentReason.ROUTING))

    def replied(t: str, who: r.Actor, when: datetime) -> r.AgentReplied:
        ev = r.AgentReplied(
            s.env(t, when, who), t, f"R-{t}-{when:%H%M}", who.id, ch[t], f"conv-{t}", "acct",
            f"xc-{t}", "xu", "Thanks, looking into it",
        )  # fmt: skip
        out.append(ev)
        return ev

    def status(
        t: str, who: r.Actor, frm: r.TicketStatus, to: r.TicketStatus, when: datetime
    ) -> None:
        out.append(r.TicketStatusChanged(s.env(t, when, who), t, frm, to))

    def started(t: str, metric: r.SlaMetric, policy: str, target: int, when: datetime) -> None:
        out.append(
            r.SlaTimerStarted(
                s.sla_env(t, when, f"S-{t}-{metric.value}-start"), t, metric, 1, policy, pr[t],
                target, False, when + timedelta(seconds=target),
            )
        )  # fmt: skip

    def breached(t: str, policy: str, target: int, start: datetime) -> r.SlaBreached:
        when = start + timedelta(seconds=target)
        ev = r.SlaBreached(
            s.sla_env(t, when, f"S-{t}-frt-breach"), t, M, 1, policy, pr[t], target, when,
            target, target,
        )  # fmt: skip
        out.append(ev)
        return ev

    def fulfilled(
        t: str, policy: str, target: int, start: datetime, when: datetime, b: bool
    ) -> None:
        el = int((when - start).total_seconds())
        out.append(
            r.SlaTimerFulfilled(
                s.sla_env(t, when, f"S-{t}-frt-done"), t, M, 1, policy, pr[t], target, el, el, b
            )
        )

    A1, A2 = agent("A1"), agent("A2")
    S = r.TicketStatus
    out.append(r.AgentPresenceChanged(s.env("A1", at(0, 8, 55), A1), "A1", r.AgentPresence.ONLINE))
    out.append(
        r.ChannelMessageReceived(
            s.env("email:acct:x1", at(0, 8, 59), CUSTOMER), r.Channel.EMAIL, "acct", "x1", "xu",
            "m1", "dedup-m1", "email:acct:x1", "Where is my order?", at(0, 8, 59),
        )
    )  # fmt: skip
    # T1
    opened("T1", at(0, 9, 0))
    started("T1", M, "gold", 3600, at(0, 9, 0))
    assigned("T1", "A1", at(0, 9, 5))
    # T2, T3 interleave with T1
    opened("T2", at(0, 9, 10))
    started("T2", M, "silver", 1800, at(0, 9, 10))
    assigned("T2", "A2", at(0, 9, 15))
    opened("T3", at(0, 9, 20))
    started("T3", M, "gold", 600, at(0, 9, 20))
    assigned("T3", "A1", at(0, 9, 21))
    replied("T3", BOT, at(0, 9, 22))
    out.append(
        r.CustomerMessageAppended(
            s.env("T3", at(0, 9, 25), CUSTOMER), "T3", "m-T3-2", ch["T3"], "Hello?", at(0, 9, 25)
        )
    )
    t1_reply = replied("T1", A1, at(0, 9, 30))
    fulfilled("T1", "gold", 3600, at(0, 9, 0), at(0, 9, 30), False)
    breached("T3", "gold", 600, at(0, 9, 20))
    out.append(t1_reply)  # re-emitted upstream: same event id and version
    t2_breach = breached("T2", "silver", 1800, at(0, 9, 10))
    out.append(t2_breach)  # re-emitted upstream
    replied("T3", A1, at(0, 9, 50))
    fulfilled("T3", "gold", 600, at(0, 9, 20), at(0, 9, 50), True)
    status("T1", A1, S.NEW, S.SOLVED, at(0, 10, 0))
    replied("T2", A2, at(0, 10, 10))
    fulfilled("T2", "silver", 1800, at(0, 9, 10), at(0, 10, 10), True)
    status("T2", A2, S.NEW, S.PENDING, at(0, 10, 15))
    status("T3", A1, S.NEW, S.SOLVED, at(0, 10, 30))
    # Tuesday
    out.append(r.TicketReopened(s.env("T3", at(1, 8, 0), CUSTOMER), "T3", S.SOLVED))
    started("T3", r.SlaMetric.NEXT_REPLY_TIME, "gold", 3600, at(1, 8, 0))
    opened("T4", at(1, 9, 0))
    started("T4", M, "silver", 7200, at(1, 9, 0))
    # next Monday
    opened("T5", at(7, 10, 0))
    started("T5", M, "silver", 3600, at(7, 10, 0))
    assigned("T5", "A2", at(7, 10, 1))
    replied("T5", A2, at(7, 10, 2))
    fulfilled("T5", "silver", 3600, at(7, 10, 0), at(7, 10, 2), False)
    status("T5", A2, S.NEW, S.SOLVED, at(7, 10, 5))
    return out


DISTINCT_EVENTS = 34  # len(known_stream()) minus the 2 re-emitted records

# Cookbook answers, worked out by hand from the story above (see the module docstring).
_BACKLOG_TUE_ON = [("new", 1), ("open", 1), ("pending", 1), ("solved", 1)]
EXPECTED: dict[str, list[tuple[Any, ...]]] = {
    "sla_achievement": [
        ("2026-03-02", "gold", "first_reply_time", 2, 1, 1, 50.0),
        ("2026-03-02", "silver", "first_reply_time", 1, 0, 1, 0.0),
        ("2026-03-09", "silver", "first_reply_time", 1, 1, 0, 100.0),
    ],
    "first_reply_by_channel": [
        ("email", 1, 1800, 1800),
        ("webchat", 1, 120, 120),
        ("whatsapp", 2, 3600, 3600),  # nearest rank (upper): [1800, 3600] → 3600
    ],
    "backlog_by_status": (
        [("2026-03-02", "pending", 1), ("2026-03-02", "solved", 2)]
        + [(f"2026-03-0{d}", st, n) for d in range(3, 9) for st, n in _BACKLOG_TUE_ON]
        + [
            ("2026-03-09", "new", 1),
            ("2026-03-09", "open", 1),
            ("2026-03-09", "pending", 1),
            ("2026-03-09", "solved", 2),
        ]
    ),
    "reopen_rate": [
        ("email", 1, 0, 0.0),
        ("webchat", 1, 0, 0.0),
        ("whatsapp", 1, 1, 100.0),
    ],
    "agent_workload": [
        ("A1", 2, 2, 2, 1),
        ("A2", 2, 2, 1, 1),
    ],
    "breach_drilldown": [
        (
            "T3",
            "first_reply_time",
            1,
            "gold",
            "urgent",
            600,
            "2026-03-02 09:30:00",
            "2026-03-02 09:30:00",
            1800,
            1,
            "open",
            "A1",
            "whatsapp",
        ),
        (
            "T2",
            "first_reply_time",
            1,
            "silver",
            "normal",
            1800,
            "2026-03-02 09:40:00",
            "2026-03-02 09:40:00",
            3600,
            1,
            "pending",
            "A2",
            "whatsapp",
        ),
    ],
    "hourly_volume": [
        ("2026-03-02", "email", 1, 1, 0),
        ("2026-03-02", "whatsapp", 2, 1, 2),
        ("2026-03-03", "email", 1, 0, 0),
        ("2026-03-09", "webchat", 1, 1, 0),
    ],
}
