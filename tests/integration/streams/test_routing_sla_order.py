"""The queue endpoint on the real broker orders by priority, then by the exact time to SLA
breach the SLA engine's events give (per metric and instance: started, paused, resumed,
fulfilled, breached), and an agent coming online through the command API (her events go to the
router's feed directly) takes the tickets closest to breach. The events are the unit test's
(``five_tickets``), produced to the ticket and SLA topics as the ticket and SLA agents would."""

from __future__ import annotations

import json
import time
from typing import Any

from kafka import KafkaProducer

from schemas import codec
from schemas.records import TicketOpened
from tests.unit.streams.test_router_sla_order import at, five_tickets


def _queue(w: Any, query: str = "") -> list[tuple[str, str | None, str | None]]:
    status, body = w.http("GET", f"/api/v1/queue{query}", token="tok-agent")
    assert status == 200, body
    return [(t["ticket_id"], t["sla_due_at"], t["assignee"]) for t in body["tickets"]]


def _until(what: str, check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.3)


def test_queue_endpoint_orders_by_exact_time_to_breach(stack, workers) -> None:
    w = workers("router")
    prefix = workers.prefix
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    for e in five_tickets():
        topic = (
            "support.tickets.events.v1" if isinstance(e, TicketOpened) else "support.sla.events.v1"
        )
        producer.send(prefix + topic, key=e.ticket_id.encode(), value=codec.encode(e))  # type: ignore[attr-defined]
    producer.flush(30)
    producer.close()
    # worked out by hand (see the unit test): E breached 09:15, B 09:30, D 09:35 (its paused
    # timer resumed), A 10:00 (earliest of two), C 11:00 (first reply fulfilled)
    want = [
        ("E", at(15).isoformat(), None),
        ("B", at(30).isoformat(), None),
        ("D", at(35).isoformat(), None),
        ("A", at(60).isoformat(), None),
        ("C", at(120).isoformat(), None),
    ]
    _until("the queue shows the five tickets in time-to-breach order", lambda: _queue(w) == want)
    # and says which timer is due next (hand-worked in the unit test of SlaClocks.next_timer)
    status, body = w.http("GET", "/api/v1/queue", token="tok-agent")
    assert status == 200, body
    assert [
        (
            t["ticket_id"],
            t["sla_next"]["metric"],
            t["sla_next"]["due_at"],
            t["sla_next"]["breached"],
        )
        for t in body["tickets"]
    ] == [
        ("E", "first_reply_time", at(15).isoformat(), True),
        ("B", "first_reply_time", at(30).isoformat(), False),
        ("D", "agent_work_time", at(35).isoformat(), False),
        ("A", "first_reply_time", at(60).isoformat(), False),
        ("C", "requester_wait_time", at(120).isoformat(), False),
    ]

    for body in (
        {"type": "SetAgentCapacity", "agent_id": "ann", "capacity": {"line": 2}},
        {"type": "SetAgentSkills", "agent_id": "ann", "channels": ["line"]},
        {"type": "SetAgentPresence", "agent_id": "ann", "presence": "online"},
    ):
        status, answer = w.http("POST", "/api/v1/commands", json.dumps(body).encode(), "tok-sup")
        assert status == 202, answer
    _until(
        "ann is given the two tickets closest to breach",
        lambda: [t for t, _, _ in _queue(w, "?assignee=ann")] == ["E", "B"],
    )
    assert [t for t, _, _ in _queue(w, "?assignee=")] == ["D", "A", "C"]
