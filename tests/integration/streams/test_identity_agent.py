"""Customers on the real broker: channel messages identify their senders once; a supervisor
links two customers through the HTTP command API (and a producer through the commands topic),
unlinks one identity again; refusals are clear events; bad input never stops the worker."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from schemas import codec
from schemas.records import (
    Actor,
    ActorKind,
    CommandHeader,
    CustomerIdentified,
    CustomerIdentityLinked,
    CustomerIdentityUnlinked,
    LinkCustomerIdentity,
    TicketCommandRejected,
)
from streams.domain.identity import home_customer_id, identity_of
from streams.testing import WorkerProcess, channel_messages, encoded, private_worker_env
from ticketstream.devstack.procs import free_port

TOKENS = "tok-agent:agent:agent-ann,tok-sup:supervisor:sup-1"


@pytest.fixture
def customer_worker(stack, unique_name: str, tmp_path: Path) -> Iterator[WorkerProcess]:
    env = private_worker_env(
        stack.settings, unique_name, "identify_customers,handle_customer_commands,serve_http_api",
        tokens=TOKENS, extra={"TICKETSTREAM_STREAMS_DATADIR": str(tmp_path / "data")},
    )  # fmt: skip
    w = WorkerProcess("customers", env, free_port(), tmp_path / "worker.log").start()
    try:
        w.wait_ready()
        yield w
    finally:
        w.stop()


class Events:
    """Reads a topic from the start, keeping what it has read between waits."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        parts = [TopicPartition(topic, p) for p in range(4)]
        self.consumer.assign(parts)
        self.consumer.seek_to_beginning(*parts)
        self.seen: list[object] = []

    def until(self, done: Callable[[list[object]], bool], timeout: float = 90.0) -> list[object]:
        deadline = time.monotonic() + timeout
        while not done(self.seen):
            assert time.monotonic() < deadline, f"gave up waiting; read {self.seen}"
            for records in self.consumer.poll(timeout_ms=300).values():
                self.seen.extend(codec.decode(r.value) for r in records)
        return self.seen


def post(w: WorkerProcess, body: dict[str, object], token: str = "tok-sup"):  # type: ignore[no-untyped-def]
    return w.http("POST", "/api/v1/commands", json.dumps(body).encode(), token=token)


def test_sightings_link_and_unlink_emit_customer_events(
    stack, customer_worker: WorkerProcess, unique_name: str
) -> None:
    prefix = f"{unique_name}."
    w = customer_worker
    # 4 customers (LINE, WhatsApp, Telegram, e-mail), 2 messages each in one conversation
    msgs = channel_messages(4, 2)
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    for key, value in encoded(msgs):
        producer.send(prefix + "support.channel.messages.v1", key=key, value=value)
    producer.flush(30)
    a, b, c, d = (home_customer_id(identity_of(m)) for m in msgs[:4])
    events = Events(stack.kafka_bootstrap, prefix + "support.customers.events.v1")

    def of(kind: type) -> list:  # type: ignore[type-arg]
        return [e for e in events.seen if isinstance(e, kind)]

    events.until(lambda evs: len(of(CustomerIdentified)) >= 4)
    assert sorted(e.customer_id for e in of(CustomerIdentified)) == sorted([a, b, c, d])

    # a role without the right is refused at the edge; a supervisor may link
    status, body = post(w, {"type": "LinkCustomerIdentity", "customer_id": a,
                            "other_customer_id": b}, token="tok-agent")  # fmt: skip
    assert status == 403 and "role agent may not send LinkCustomerIdentity" in body["error"]
    status, body = post(w, {"type": "LinkCustomerIdentity", "customer_id": a,
                            "other_customer_id": b, "command_id": "cmd-link-b"})  # fmt: skip
    assert status == 202 and body["topic"] == "support.customers.commands.v1"
    events.until(lambda evs: len(of(CustomerIdentityLinked)) >= 1)
    # the same link straight on the commands topic (another producer): merges c into a
    cmd = LinkCustomerIdentity(
        CommandHeader("cmd-link-c", msgs[0].sent_at, a, "cmd-link-c",
                      Actor(ActorKind.INTEGRATION, "crm"), "t"), a, c,
    )  # fmt: skip
    producer.send(prefix + "support.customers.commands.v1", key=a.encode(), value=codec.encode(cmd))
    producer.send(prefix + "support.customers.commands.v1", key=a.encode(), value=b"\x00junk")
    producer.flush(30)
    producer.close()
    events.until(lambda evs: len(of(CustomerIdentityLinked)) >= 2)
    linked = {e.merged_customer_id: e for e in of(CustomerIdentityLinked)}
    assert {k: (e.customer_id, e.identities) for k, e in linked.items()} == {
        b: (a, (identity_of(msgs[1]),)), c: (a, (identity_of(msgs[2]),)),
    }  # fmt: skip

    # unlink b's identity through the API (the identity as an object); b is free again
    ident = identity_of(msgs[1])
    status, _ = post(w, {"type": "UnlinkCustomerIdentity", "customer_id": a, "identity": {
        "channel": ident.channel.value, "account_id": ident.account_id,
        "external_user_id": ident.external_user_id}, "command_id": "cmd-unlink-b"})  # fmt: skip
    assert status == 202
    # refused: c is a's now, it cannot be linked into d; an unknown customer cannot be linked
    post(w, {"type": "LinkCustomerIdentity", "customer_id": d, "other_customer_id": c,
             "command_id": "cmd-steal-c"})  # fmt: skip
    post(w, {"type": "LinkCustomerIdentity", "customer_id": "C-nobody", "other_customer_id": b,
             "command_id": "cmd-nobody"})  # fmt: skip
    events.until(
        lambda evs: len(of(CustomerIdentityUnlinked)) >= 1 and len(of(TicketCommandRejected)) >= 2
    )
    (unlinked,) = of(CustomerIdentityUnlinked)
    assert (unlinked.customer_id, unlinked.restored_customer_id, unlinked.identity) == (a, b, ident)
    rejected = {e.command_id: e for e in of(TicketCommandRejected)}
    assert (rejected["cmd-steal-c"].ticket_id, rejected["cmd-steal-c"].reason_code) == (
        d, "already_linked",
    )  # fmt: skip
    assert rejected["cmd-steal-c"].message == (
        f"Customer {c} is already linked to {a}; unlink its identities there first"
    )
    assert rejected["cmd-nobody"].reason_code == "unknown_customer"
    events.consumer.close()
    # the junk record was dead-lettered and the worker carried on (it answered everything after)
    assert w.proc is not None and w.proc.poll() is None
    dead = Events(stack.kafka_bootstrap, prefix + "support.deadletter.v1")
    try:
        (letter,) = dead.until(bool)
    finally:
        dead.consumer.close()
    assert (letter.source_topic, letter.error_type) == (  # type: ignore[attr-defined]
        prefix + "support.customers.commands.v1", "SchemaDecodeError",
    )  # fmt: skip
