"""Records through the real Kafka broker with kafka-python and with aiokafka."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic


def test_kafka_python_produce_and_consume(stack, unique_name) -> None:
    topic = f"smoke.kafkapython.{unique_name}"
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    try:
        for i in range(10):
            producer.send(topic, key=f"k{i % 3}".encode(), value=f"v{i}".encode())
        producer.flush(timeout=30)
    finally:
        producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=stack.kafka_bootstrap,
        group_id=f"smoke-{unique_name}",
        auto_offset_reset="earliest",
        consumer_timeout_ms=15_000,
    )
    try:
        got = []
        for msg in consumer:
            got.append((msg.key, msg.value))
            if len(got) == 10:
                break
    finally:
        consumer.close()
    assert sorted(v for _, v in got) == sorted(f"v{i}".encode() for i in range(10))
    # same key -> same partition -> produced order kept per key
    assert [v for k, v in got if k == b"k0"] == [b"v0", b"v3", b"v6", b"v9"]


def test_aiokafka_produce_and_consume(stack, unique_name) -> None:
    topic = f"smoke.aiokafka.{unique_name}"

    async def main() -> list[bytes]:
        producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            for i in range(5):
                await producer.send_and_wait(topic, f"m{i}".encode(), key=b"one")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=stack.kafka_bootstrap,
            group_id=f"smoke-{unique_name}",
            auto_offset_reset="earliest",
        )
        await consumer.start()
        got: list[bytes] = []
        try:
            async with asyncio.timeout(30):
                async for msg in consumer:
                    assert msg.value is not None
                    got.append(msg.value)
                    if len(got) == 5:
                        break
        finally:
            await consumer.stop()
        return got

    assert asyncio.run(main()) == [b"m0", b"m1", b"m2", b"m3", b"m4"]
