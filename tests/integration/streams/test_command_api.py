"""HTTP command API and bad input on a real worker: clear 4xx, rejection events, dead letters,
routing end to end; the worker keeps working throughout."""

from __future__ import annotations

import json
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from schemas import codec
from schemas.records import (
    CustomerMessageAppended,
    DeadLetter,
    TicketAssigned,
    TicketCommandRejected,
)
from streams.testing import channel_messages, encoded


def events_until(bootstrap: str, topic: str, done, timeout: float = 45.0, partitions: int = 4):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    parts = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    out: list[object] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done(out):
        for records in consumer.poll(timeout_ms=300).values():
            out.extend(codec.decode(r.value) for r in records)
    consumer.close()
    return out


def post(w, body: object, token: str | None = "tok-sup", raw: bytes | None = None):
    data = raw if raw is not None else json.dumps(body).encode()
    return w.http("POST", "/api/v1/commands", data, token=token)


def test_bad_input_gets_clear_4xx_or_rejections_and_never_crashes(stack, workers) -> None:
    w = workers("solo")
    prefix = workers.prefix
    assign = {"type": "AssignTicket", "ticket_id": "T-nope", "agent_id": "ann"}
    assert post(w, assign, token=None)[0] == 401
    status, body = post(w, assign, token="wrong")
    assert status == 401 and "unknown or revoked token" in body["error"]
    status, body = post(w, {"type": "MergeTickets", "ticket_id": "T-1", "source_ticket_id": "T-2"},
                        token="tok-agent")  # fmt: skip
    assert status == 403 and "role agent may not send MergeTickets" in body["error"]
    status, body = post(w, None, raw=b"x" * 70_000)
    assert status == 413 and "limit is 65536" in body["error"]
    status, body = post(w, None, raw=b'{"type": "AssignTicket",')
    assert status == 400 and "not valid JSON" in body["error"]
    status, body = post(w, {"type": "ExplodeTicket"})
    assert status == 422 and "unknown command type 'ExplodeTicket'" in body["error"]
    status, body = post(w, {"type": "AssignTicket", "ticket_id": "T-1"})
    assert status == 422 and "missing required field 'agent_id'" in body["error"]
    status, body = post(w, {"type": "ChangeTicketStatus", "ticket_id": "T-1", "status": "done"})
    assert status == 422 and "'done' is not one of new, open" in body["error"]

    # junk on the commands topic is dead-lettered with its position; the worker carries on
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    producer.send(prefix + "support.tickets.commands.v1", key=b"T-nope", value=b"\x00junk").get(30)
    # and on the channel messages topic, right before a good message (usually the same batch),
    # which still threads
    [(conv_key, good)] = encoded(channel_messages(1, 1))
    producer.send(prefix + "support.channel.messages.v1", key=conv_key, value=b"\x00junk")
    producer.send(prefix + "support.channel.messages.v1", key=conv_key, value=good).get(30)
    producer.close()
    status, body = post(w, assign | {"command_id": "cmd-unknown"})
    assert status == 202 and body["command_id"] == "cmd-unknown"
    status, _ = post(w, {"type": "OpenTicket", "ticket_id": "T-api-1", "customer_id": "C-1",
                         "channel": "email", "conversation_key": "email:box:th-1",
                         "text": "printer on fire", "command_id": "cmd-open"}, token="tok-int")  # fmt: skip
    assert status == 202
    post(w, {"type": "ChangeTicketStatus", "ticket_id": "T-api-1", "status": "solved",
             "command_id": "cmd-solve"})  # fmt: skip
    threaded = channel_messages(1, 1)[0].dedup_key
    events = events_until(
        stack.kafka_bootstrap,
        prefix + "support.tickets.events.v1",
        lambda evs: (
            sum(isinstance(e, TicketCommandRejected) for e in evs) >= 2
            and any(
                isinstance(e, CustomerMessageAppended) and e.message_id == threaded for e in evs
            )
        ),
    )
    assert any(isinstance(e, CustomerMessageAppended) and e.message_id == threaded for e in events)
    rejected = {e.command_id: e for e in events if isinstance(e, TicketCommandRejected)}
    assert rejected["cmd-unknown"].reason_code == "unknown_ticket"
    assert rejected["cmd-solve"].reason_code == "no_assignee"
    assert rejected["cmd-solve"].message == (
        "Cannot solve ticket T-api-1: it has no assignee; assign it first"
    )
    dead = events_until(
        stack.kafka_bootstrap, prefix + "support.deadletter.v1", lambda evs: len(evs) >= 2
    )
    assert all(isinstance(d, DeadLetter) for d in dead)
    assert sorted((d.source_topic, d.error_type) for d in dead) == [
        (prefix + "support.channel.messages.v1", "SchemaDecodeError"),
        (prefix + "support.tickets.commands.v1", "SchemaDecodeError"),
    ]


def test_router_assigns_to_an_online_agent_with_capacity(stack, workers) -> None:
    w = workers("router")
    prefix = workers.prefix
    for body in (
        {"type": "SetAgentCapacity", "agent_id": "ann", "capacity": {"email": 2}},
        {"type": "SetAgentSkills", "agent_id": "ann", "languages": ["en"], "channels": ["email"]},
        {"type": "SetAgentPresence", "agent_id": "ann", "presence": "online"},
    ):
        assert post(w, body)[0] == 202
    for i in range(3):
        status, _ = post(w, {"type": "OpenTicket", "ticket_id": f"T-r{i}", "customer_id": "C-9",
                             "channel": "email", "conversation_key": f"email:box:r{i}"},
                         token="tok-int")  # fmt: skip
        assert status == 202
    events = events_until(
        stack.kafka_bootstrap,
        prefix + "support.tickets.events.v1",
        lambda evs: sum(isinstance(e, TicketAssigned) for e in evs) >= 2,
    )
    assigned = sorted((e.ticket_id, e.agent_id, e.reason.value) for e in events
                      if isinstance(e, TicketAssigned))  # fmt: skip
    # capacity 2 on email: two tickets assigned by routing, the third waits
    assert len(assigned) == 2 and all(a[1:] == ("ann", "routing") for a in assigned)
    time.sleep(1.0)
    status, queue = w.http("GET", "/api/v1/queue?assignee=", token="tok-agent")
    assert status == 200 and queue["count"] == 1
    status, queue = w.http("GET", "/api/v1/queue?assignee=ann", token="tok-agent")
    assert status == 200 and queue["count"] == 2
