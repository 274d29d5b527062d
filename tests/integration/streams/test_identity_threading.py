"""Linked identities in threading on the real broker: after a supervisor links customer B (an
e-mail sender) into A (a LINE user), a new conversation from the e-mail identity opens a ticket
of customer A; after the identity is unlinked, the next new conversation's ticket is B's again;
a reply on A's ticket still goes to the e-mail identity it came from."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from schemas import codec
from schemas.records import (
    Actor,
    ActorKind,
    AgentReplied,
    Channel,
    ChannelMessageReceived,
    CustomerIdentified,
    CustomerIdentityLinked,
    CustomerIdentityUnlinked,
    Envelope,
    TicketOpened,
)
from streams.domain.identity import home_customer_id, identity_of
from streams.testing import WorkerProcess, private_worker_env
from ticketstream.devstack.procs import free_port

TOKENS = "tok-agent:agent:agent-ann,tok-sup:supervisor:sup-1"
AGENTS = (
    "identify_customers,handle_customer_commands,thread_channel_messages,"
    "handle_ticket_commands,serve_http_api"
)
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def worker(stack, unique_name: str, tmp_path: Path) -> Iterator[WorkerProcess]:
    env = private_worker_env(
        stack.settings, unique_name, AGENTS, tokens=TOKENS,
        extra={"TICKETSTREAM_STREAMS_DATADIR": str(tmp_path / "data")},
    )  # fmt: skip
    w = WorkerProcess("identity", env, free_port(), tmp_path / "worker.log").start()
    try:
        w.wait_ready()
        yield w
    finally:
        w.stop()


def message(channel: Channel, account: str, user: str, conv: str) -> ChannelMessageReceived:
    key = f"{channel.value}:{account}:{conv}"
    dedup = f"{key}/1"
    env = Envelope(dedup, AT, AT, key, 1, dedup, dedup, Actor(ActorKind.CUSTOMER, user), "t")
    return ChannelMessageReceived(
        env, channel, account, conv, user, f"x-{conv}", dedup, key, f"hello from {conv}", AT
    )


class Topic:
    """Records of a topic from the start, kept between waits."""

    def __init__(self, bootstrap: str, topic: str, partitions: int = 4) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        self.consumer.assign(parts)
        self.consumer.seek_to_beginning(*parts)
        self.seen: list[Any] = []

    def until(self, done: Callable[[list[Any]], Any], decode: bool = True) -> Any:
        deadline = time.monotonic() + 60
        while not done(self.seen):
            assert time.monotonic() < deadline, f"gave up waiting; read {self.seen[-5:]}"
            for records in self.consumer.poll(timeout_ms=300).values():
                self.seen.extend(codec.decode(r.value) if decode else r for r in records)
        return done(self.seen)

    def close(self) -> None:
        self.consumer.close()


def test_new_tickets_follow_links_and_replies_follow_the_conversation(
    stack, worker: WorkerProcess, unique_name: str
) -> None:
    prefix = f"{unique_name}."
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")

    def send(m: ChannelMessageReceived) -> None:
        producer.send(
            prefix + "support.channel.messages.v1",
            key=m.conversation_key.encode(),
            value=codec.encode(m),
        )
        producer.flush(30)

    def post(body: dict[str, Any], token: str = "tok-sup") -> None:
        status, answer = worker.http("POST", "/api/v1/commands", json.dumps(body).encode(), token)
        assert status == 202, answer

    line = message(Channel.LINE, "acct", "U-ann", "c-line")
    mail = message(Channel.EMAIL, "support@x", "ann@example.com", "c-mail-1")
    a, b = home_customer_id(identity_of(line)), home_customer_id(identity_of(mail))
    customers = Topic(stack.kafka_bootstrap, prefix + "support.customers.events.v1")
    tickets = Topic(stack.kafka_bootstrap, prefix + "support.tickets.events.v1")
    owners = Topic(
        stack.kafka_bootstrap, prefix + "support.customers.identity-owners.v1", partitions=1
    )

    try:

        def opened(conv: str) -> Callable[[list[Any]], TicketOpened | None]:
            return lambda seen: next(
                (
                    e
                    for e in seen
                    if isinstance(e, TicketOpened) and e.conversation_key.endswith(conv)
                ),
                None,
            )

        send(line)
        send(mail)
        customers.until(
            lambda seen: len([e for e in seen if isinstance(e, CustomerIdentified)]) >= 2
        )
        assert tickets.until(opened("c-mail-1")).customer_id == b  # not linked yet: its home

        post({"type": "LinkCustomerIdentity", "customer_id": a, "other_customer_id": b})
        customers.until(lambda seen: any(isinstance(e, CustomerIdentityLinked) for e in seen))
        owners.until(lambda seen: any(r.value == a.encode() for r in seen), decode=False)
        time.sleep(2.0)  # the worker follows the owners topic (milliseconds; margin for load)
        send(message(Channel.EMAIL, "support@x", "ann@example.com", "c-mail-2"))
        linked_ticket = tickets.until(opened("c-mail-2"))
        assert linked_ticket.customer_id == a  # the merged customer
        # an existing conversation keeps its ticket and customer: no new ticket, no move
        assert tickets.until(opened("c-mail-1")).customer_id == b

        # a reply on A's ticket goes to the e-mail identity the conversation came from
        post(
            {"type": "ReplyPublicly", "ticket_id": linked_ticket.ticket_id, "text": "on its way"},
            token="tok-agent",
        )
        reply = tickets.until(
            lambda seen: next((e for e in seen if isinstance(e, AgentReplied)), None)
        )
        assert (reply.channel, reply.account_id, reply.external_user_id) == (
            Channel.EMAIL, "support@x", "ann@example.com",
        )  # fmt: skip

        identity = {
            "channel": "email",
            "account_id": "support@x",
            "external_user_id": "ann@example.com",
        }
        post({"type": "UnlinkCustomerIdentity", "customer_id": a, "identity": identity})
        customers.until(lambda seen: any(isinstance(e, CustomerIdentityUnlinked) for e in seen))
        owners.until(lambda seen: any(r.value == b"" for r in seen), decode=False)
        time.sleep(2.0)
        send(message(Channel.EMAIL, "support@x", "ann@example.com", "c-mail-3"))
        assert tickets.until(opened("c-mail-3")).customer_id == b  # home again
    finally:
        for t in (customers, tickets, owners):
            t.close()
        producer.close()
