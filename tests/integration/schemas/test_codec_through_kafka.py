"""The codec through the real broker: kafka-python (de)serializers and the Faust "avro" codec."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaConsumer
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

import schemas.faust_codec  # registers the "avro" codec
from schemas import records as r
from schemas.codec import SchemaDecodeError, decode
from schemas.kafka import (
    decode_consumer_record,
    key_deserializer,
    key_serializer,
    value_deserializer,
    value_serializer,
)

T0 = datetime(2026, 11, 23, 7, 0, 0, 250000, tzinfo=UTC)


def _envelope(event_id: str, aggregate_id: str) -> r.Envelope:
    return r.Envelope(
        event_id=event_id,
        occurred_at=T0,
        recorded_at=T0 + timedelta(milliseconds=3),
        aggregate_id=aggregate_id,
        aggregate_version=1,
        causation_id="c-1",
        correlation_id="c-1",
        actor=r.Actor(r.ActorKind.CUSTOMER, "U1"),
        tenant_id="t",
    )


MESSAGE = r.ChannelMessageReceived(
    envelope=_envelope("m-1", "wechat:acc:conv"),
    channel=r.Channel.WECHAT,
    account_id="acc",
    external_conversation_id="conv",
    external_user_id="U1",
    external_message_id="x1",
    dedup_key="wechat:acc:x1",
    conversation_key="wechat:acc:conv",
    text="你好，我的订单还没有到 📦",
    sent_at=T0,
    reply_context={"session": "s-1"},
)


def _create(bootstrap: str, *topics: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1) for t in topics])
    finally:
        admin.close()


def _consume_raw(bootstrap: str, topic: str, group: str, count: int) -> list[Any]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        consumer_timeout_ms=20_000,
    )
    got: list[Any] = []
    try:
        for msg in consumer:
            got.append(msg)
            if len(got) == count:
                break
    finally:
        consumer.close()
    return got


def test_kafka_python_serializers_round_trip_and_junk_is_located(
    stack: Any, unique_name: str
) -> None:
    topic = f"schemas.kafkapython.{unique_name}"
    _create(stack.kafka_bootstrap, topic)
    producer = KafkaProducer(
        bootstrap_servers=stack.kafka_bootstrap,
        acks="all",
        value_serializer=value_serializer,
        key_serializer=key_serializer,
    )
    try:
        producer.send(topic, key=MESSAGE.conversation_key, value=MESSAGE)
        producer.flush(timeout=30)
    finally:
        producer.close()
    raw = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    try:
        raw.send(topic, key=b"junk", value=b"\xc3\x01not-a-fingerprint")
        raw.flush(timeout=30)
    finally:
        raw.close()

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=stack.kafka_bootstrap,
        group_id=f"typed-{unique_name}",
        auto_offset_reset="earliest",
        consumer_timeout_ms=20_000,
        value_deserializer=value_deserializer,
        key_deserializer=key_deserializer,
        max_poll_records=1,
    )
    try:
        first = next(iter(consumer))
        assert (first.key, first.value) == (MESSAGE.conversation_key, MESSAGE)
    finally:
        consumer.close()

    messages = _consume_raw(stack.kafka_bootstrap, topic, f"raw-{unique_name}", 2)
    assert decode_consumer_record(messages[0]) == MESSAGE
    with pytest.raises(SchemaDecodeError, match=rf"{topic}\[0\]@1: unknown schema fingerprint"):
        decode_consumer_record(messages[1])


def test_faust_agent_reads_and_writes_avro(stack: Any, unique_name: str, tmp_path: Path) -> None:
    src_name = f"schemas.faust.in.{unique_name}"
    dst_name = f"schemas.faust.out.{unique_name}"
    _create(stack.kafka_bootstrap, src_name, dst_name)
    assert schemas.faust_codec.CODEC_NAME == "avro"

    async def main() -> list[Any]:
        app = faust.App(
            f"schemas-faust-{unique_name}",
            broker=f"kafka://{stack.kafka_bootstrap}",
            web_enabled=False,
            datadir=str(tmp_path / "faust"),
            store="memory://",
            topic_partitions=1,
            topic_replication_factor=1,
        )
        src = app.topic(src_name, key_type=str, value_serializer="avro")
        dst = app.topic(dst_name, key_type=str, value_serializer="avro")

        @app.agent(src)
        async def acknowledge_messages(stream):  # type: ignore[no-untyped-def]
            async for message in stream:
                await dst.send(
                    key=message.conversation_key,
                    value=r.TicketOpened(
                        envelope=_envelope(f"open-{message.dedup_key}", "T-1"),
                        ticket_id="T-1",
                        customer_id="C-1",
                        channel=message.channel,
                        conversation_key=message.conversation_key,
                        priority=r.Priority.NORMAL,
                        by_customer=True,
                        subject=message.text,
                    ),
                )

        await app.start()
        try:
            await src.send(key=MESSAGE.conversation_key, value=MESSAGE)
            consumer = AIOKafkaConsumer(
                dst_name,
                bootstrap_servers=stack.kafka_bootstrap,
                group_id=f"check-{unique_name}",
                auto_offset_reset="earliest",
            )
            await consumer.start()
            try:
                async with asyncio.timeout(60):
                    async for msg in consumer:
                        assert msg.value is not None
                        return [
                            decode(
                                msg.value,
                                topic=msg.topic,
                                partition=msg.partition,
                                offset=msg.offset,
                                expected=r.TicketOpened,
                            )
                        ]
            finally:
                await consumer.stop()
        finally:
            await app.stop()
        return []

    (opened,) = asyncio.run(main())
    assert opened.subject == MESSAGE.text
    assert opened.envelope.event_id == "open-wechat:acc:x1"
    assert opened.channel is r.Channel.WECHAT
