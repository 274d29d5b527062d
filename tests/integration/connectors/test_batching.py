"""Concurrent webhooks share Kafka batches; each still lands exactly once, in its order."""

from __future__ import annotations

import asyncio

from connectors.channels import line
from tests.unit.connectors.documents import LINE_BOT, dumps, line_doc, line_text_event

from .harness import create_topic, gateway
from .payloads import LINE_SECRET, Sample, settings

USERS, PER_USER = 12, 6


def message(user: int, seq: int) -> Sample:
    event_id = f"01BATCH{user:03d}{seq:03d}"
    text = f"user {user} message {seq} ข้อความ 🙂"
    body = dumps(
        line_doc(
            line_text_event(
                text,
                event_id=event_id,
                source={"type": "user", "userId": f"U{user:032x}"},
                timestamp=1763884800000 + seq,
            )
        )
    )
    return Sample(
        "line",
        "/webhooks/line",
        body,
        {"x-line-signature": line.sign(LINE_SECRET, body)},
        expected=[(f"{LINE_BOT}:{event_id}", text)],
    )


def test_concurrent_requests_are_batched_and_each_lands_once_in_order(stack, unique_name):
    topic = f"messages.{unique_name}"
    create_topic(stack.kafka_bootstrap, topic, partitions=3)
    samples = {u: [message(u, i) for i in range(PER_USER)] for u in range(USERS)}

    async def main() -> tuple[list[int], list[object], int, int]:
        async with gateway(stack.settings, settings(), topic) as h:

            async def conversation(user: int) -> list[int]:
                # One customer's messages one after the other (each answered before the next,
                # as a platform delivers them), every conversation at the same time; the first
                # message is delivered twice at once (a redelivery racing its original).
                first = samples[user][0]
                statuses = [s for s, _ in await asyncio.gather(h.send(first), h.send(first))]
                for s in samples[user][1:]:
                    statuses.append((await h.send(s))[0])
                return statuses

            statuses = [
                s for per in await asyncio.gather(*map(conversation, range(USERS))) for s in per
            ]
            batcher = h.gateway._batcher
            return statuses, await h.events(), batcher.rounds, batcher.records

    statuses, events, rounds, records = asyncio.run(main())
    assert set(statuses) == {200}
    keys = [e.dedup_key for e in events]  # type: ignore[attr-defined]
    assert len(keys) == len(set(keys)) == USERS * PER_USER  # the racing redelivery: no 2nd event
    for user in range(USERS):  # Kafka holds each conversation's messages in the order sent
        mine = [e.text for e in events if e.external_user_id == f"U{user:032x}"]  # type: ignore[attr-defined]
        assert mine == [s.expected[0][1] for s in samples[user]]
    assert records == USERS * PER_USER
    assert rounds < records, "every produce round carried a single record: nothing was batched"


def test_a_webhook_larger_than_a_batch_keeps_its_messages_in_order(stack, unique_name):
    topic = f"messages.{unique_name}"
    create_topic(stack.kafka_bootstrap, topic, partitions=3)
    # 12 messages of ~3.6 kB (Thai is 3 bytes a character) in one request, one conversation:
    # over aiokafka's 16 kB batch size, so the partition gets several full batches in a round.
    texts = [f"{i:02d} " + "ข้อความยาว" * 120 for i in range(12)]
    events = [
        line_text_event(t, event_id=f"01BIG{i:03d}", timestamp=1763884800000 + i)
        for i, t in enumerate(texts)
    ]
    body = dumps(line_doc(*events))
    sample = Sample(
        "line", "/webhooks/line", body, {"x-line-signature": line.sign(LINE_SECRET, body)}
    )

    async def main() -> tuple[int, list[object]]:
        async with gateway(stack.settings, settings(), topic) as h:
            status, _ = await h.send(sample)
            return status, await h.events()

    status, got = asyncio.run(main())
    assert status == 200
    assert [e.text for e in got] == texts  # type: ignore[attr-defined]
