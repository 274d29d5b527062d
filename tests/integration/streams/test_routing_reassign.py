"""Routing end to end on the real broker (ticket agents, feed, router, HTTP API): an agent going
offline hands their open tickets to an online colleague, and a tier-1 → tier-2 escalation
re-routes the ticket to a tier-2 agent — each visible as TicketAssigned with its reason."""

from __future__ import annotations

import json
import time

from kafka import KafkaConsumer, TopicPartition

from schemas import codec
from schemas.records import AssignmentReason, TicketAssigned


class Assigned:
    """TicketAssigned events of the tickets topic, read as they come."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        parts = [TopicPartition(topic, p) for p in range(4)]
        self.consumer.assign(parts)
        self.consumer.seek_to_beginning(*parts)
        self.seen: list[TicketAssigned] = []

    def until(self, n: int, timeout: float = 90.0) -> list[TicketAssigned]:
        deadline = time.monotonic() + timeout
        while len(self.seen) < n:
            assert time.monotonic() < deadline, f"only {len(self.seen)} assignments: {self.seen}"
            for records in self.consumer.poll(timeout_ms=300).values():
                for r in records:
                    e = codec.decode(r.value)
                    if isinstance(e, TicketAssigned):
                        self.seen.append(e)
        return self.seen


def post(w, body: dict[str, object], token: str = "tok-sup") -> None:  # type: ignore[no-untyped-def]
    status, answer = w.http("POST", "/api/v1/commands", json.dumps(body).encode(), token=token)
    assert status == 202, answer


def agent(w, agent_id: str, presence: str, tier: int = 1, groups: list[str] | None = None) -> None:  # type: ignore[no-untyped-def]
    post(w, {"type": "SetAgentCapacity", "agent_id": agent_id, "capacity": {"email": 2}})
    post(w, {"type": "SetAgentSkills", "agent_id": agent_id, "languages": ["en"],
             "tier": tier, "groups": groups or []})  # fmt: skip
    post(w, {"type": "SetAgentPresence", "agent_id": agent_id, "presence": presence})


def test_offline_agent_hands_over_and_escalation_reroutes_to_tier2(stack, workers) -> None:
    w = workers("router")
    assigned = Assigned(stack.kafka_bootstrap, workers.prefix + "support.tickets.events.v1")
    agent(w, "ann", "online", groups=["tier1"])
    agent(w, "bob", "offline", groups=["tier1"])
    agent(w, "cy", "online", tier=2, groups=["tier2"])
    for i in (1, 2):
        post(w, {"type": "OpenTicket", "ticket_id": f"T-h{i}", "customer_id": "C-1",
                 "channel": "email", "conversation_key": f"email:box:h{i}", "group": "tier1"},
             token="tok-int")  # fmt: skip
    first = assigned.until(2)
    assert sorted((e.ticket_id, e.agent_id, e.reason) for e in first) == [
        ("T-h1", "ann", AssignmentReason.ROUTING), ("T-h2", "ann", AssignmentReason.ROUTING),
    ]  # fmt: skip

    post(w, {"type": "SetAgentPresence", "agent_id": "bob", "presence": "online"})
    post(w, {"type": "SetAgentPresence", "agent_id": "ann", "presence": "offline"})
    handed = assigned.until(4)[2:]
    assert sorted((e.ticket_id, e.agent_id, e.reason, e.previous_agent_id) for e in handed) == [
        ("T-h1", "bob", AssignmentReason.REASSIGNED_PRESENCE, "ann"),
        ("T-h2", "bob", AssignmentReason.REASSIGNED_PRESENCE, "ann"),
    ]  # fmt: skip

    post(w, {"type": "EscalateTicket", "ticket_id": "T-h1", "to_tier": 2, "to_group": "tier2"})
    (escalated,) = assigned.until(5)[4:]
    assert (escalated.ticket_id, escalated.agent_id, escalated.reason) == (
        "T-h1", "cy", AssignmentReason.ESCALATION,
    )  # fmt: skip
    time.sleep(1.0)  # the router has read the confirmations: the queue shows who holds what
    status, queue = w.http("GET", "/api/v1/queue?group=tier2", token="tok-agent")
    assert status == 200 and [(t["ticket_id"], t["assignee"]) for t in queue["tickets"]] == [
        ("T-h1", "cy")
    ]
    assigned.consumer.close()
