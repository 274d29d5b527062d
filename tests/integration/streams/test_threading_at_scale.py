"""10,000 channel messages from 2,000 customers over 6 channels, two workers, one killed -9
mid-run, then every worker stopped and one started: exactly the expected tickets, and the read
API returns the same state after recovery from the changelogs."""

from __future__ import annotations

import time
from collections import defaultdict

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.partitioner.default import murmur2

from schemas import codec
from schemas.records import CustomerMessageAppended, TicketOpened
from streams.domain.ids import short_id
from streams.testing import channel_messages, encoded

CUSTOMERS, PER_CUSTOMER = 2000, 5
PARTITIONS = 4


def partition(key: str) -> int:
    """Kafka's default partitioner (kafka-python's murmur2, independent of the worker's)."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % PARTITIONS


def placed(base: str, conversation_key: str) -> str:
    """The ticket id stored in its conversation's partition: ``base`` or ``base.<n>``."""
    want = partition(conversation_key)
    n, candidate = 0, base
    while partition(candidate) != want:
        n += 1
        candidate = f"{base}.{n}"
    return candidate


def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=10)
    for key, value in records:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def read_events(bootstrap: str, topic: str, want_messages: int, timeout: float) -> list[object]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    parts = [TopicPartition(topic, p) for p in range(4)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    events: list[object] = []
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(seen) < want_messages:
        for records in consumer.poll(timeout_ms=500).values():
            for r in records:
                ev = codec.decode(r.value, topic=r.topic, partition=r.partition, offset=r.offset)
                events.append(ev)
                if isinstance(ev, CustomerMessageAppended):
                    seen.add(ev.message_id)
    consumer.close()
    return events


def test_10k_messages_two_workers_kill9_then_restart(stack, workers) -> None:
    prefix = workers.prefix
    messages = channel_messages(CUSTOMERS, PER_CUSTOMER)
    records = encoded(messages)
    a = workers("a")
    b = workers("b")
    produce(stack.kafka_bootstrap, prefix + "support.channel.messages.v1", records[:5000])
    time.sleep(2.0)
    b.kill9()  # mid-run: a takes over b's partitions after the session timeout
    redelivered = records[:500]  # the platform redelivers 500 messages (same dedup keys)
    produce(
        stack.kafka_bootstrap, prefix + "support.channel.messages.v1", records[5000:] + redelivered
    )
    events = read_events(stack.kafka_bootstrap, prefix + "support.tickets.events.v1", 10_000, 150)

    # expected by hand: one ticket per customer, id from its first message's dedup key, placed
    # in the conversation's partition
    expected: dict[str, set[str]] = {}
    for m in messages:
        first = f"{m.channel.value}:m-{m.external_conversation_id.removeprefix('conv-')}-0"
        tid = placed(short_id("T", first), m.conversation_key)
        expected.setdefault(tid, set()).add(m.dedup_key)
    assert len(expected) == CUSTOMERS
    assert sum("." in t for t in expected) > CUSTOMERS // 2  # ~3/4 need a suffix with 4 parts

    opened = {e.ticket_id for e in events if isinstance(e, TicketOpened)}
    got: dict[str, set[str]] = defaultdict(set)
    appended_ids: dict[str, tuple[str, str]] = {}
    for e in events:
        if isinstance(e, CustomerMessageAppended):
            got[e.ticket_id].add(e.message_id)
            # a replay after kill -9 may re-send an event: same event id, same content
            assert appended_ids.setdefault(e.envelope.event_id, (e.ticket_id, e.message_id)) == (
                e.ticket_id, e.message_id,
            )  # fmt: skip
    assert opened == set(expected), f"{len(opened)} tickets opened, {len(expected)} expected"
    assert dict(got) == expected
    assert len(appended_ids) == CUSTOMERS * PER_CUSTOMER  # none lost, none duplicated
    message_events = {(t, m) for t, m in appended_ids.values()}
    assert len(message_events) == CUSTOMERS * PER_CUSTOMER

    # read API (any worker; table_route forwards to the partition owner)
    sample = sorted(expected)[:: CUSTOMERS // 20]
    before = {}
    for tid in sample:
        status, body = a.http("GET", f"/api/v1/tickets/{tid}", token="tok-agent")
        assert status == 200, body
        assert body["ticket"]["status"] == "new" and body["ticket"]["message_count"] == 5
        assert [h["type"] for h in body["history"]][:2] == [
            "TicketOpened",
            "CustomerMessageAppended",
        ]
        before[tid] = body
    # the router (one partition) may still be catching up: 1,576 of 2,000 were queued after 60 s
    # once on a machine busy with benchmarks; waiting longer only costs time when it is slow
    deadline = time.monotonic() + 180
    while True:
        status, queue = a.http("GET", "/api/v1/queue", token="tok-agent")
        assert status == 200, queue
        if queue["count"] == CUSTOMERS or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert queue["count"] == CUSTOMERS  # nobody online: every ticket waits
    assert {row["ticket_id"] for row in queue["tickets"]} == set(expected)

    # stop every worker, start one with an empty data dir: tables recover from the changelogs
    a.stop()
    c = workers("c")
    for tid in sample:
        status, body = c.http("GET", f"/api/v1/tickets/{tid}", token="tok-agent")
        assert (status, body) == (200, before[tid])
    status, queue_after = c.http("GET", "/api/v1/queue", token="tok-agent")
    assert (status, queue_after) == (200, queue)
