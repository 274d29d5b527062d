"""A partition this group never committed is re-read from its beginning when Faust seeks back
(streams.faust_offsets), on the real broker with the real aiokafka consumer.

Faust drops fetched records whenever its flow stops and seeks each partition back to its
committed offset; aiokafka's ``seek_to_committed`` does not move a partition with nothing
committed, so the dropped records were skipped (seen as channel messages never threaded)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from streams import faust_offsets


class ConsumerThread:
    """What the patched method uses of Faust's consumer thread, over a real aiokafka consumer."""

    seek_to_beginning = AIOKafkaConsumerThread.seek_to_beginning

    def __init__(self, consumer: AIOKafkaConsumer, changelogs: set[str], reset: str) -> None:
        self._consumer = consumer
        self.app = SimpleNamespace(
            conf=SimpleNamespace(consumer_auto_offset_reset=reset),
            tables=SimpleNamespace(changelog_topics=changelogs),
        )

    def _ensure_consumer(self) -> AIOKafkaConsumer:
        return self._consumer

    async def call_thread(self, fn, *args):  # type: ignore[no-untyped-def]
        return await fn(*args)


def test_never_committed_partitions_are_sought_to_their_beginning(stack, unique_name) -> None:
    source, changelog = f"{unique_name}.source", f"{unique_name}-table-changelog"
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    admin.create_topics([NewTopic(source, 2, 1), NewTopic(changelog, 1, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    for i in range(10):
        producer.send(source, key=b"k", value=b"%d" % i, partition=i % 2)
        producer.send(changelog, key=b"k", value=b"%d" % i, partition=0)
    producer.flush()
    producer.close()

    async def run(reset: str) -> dict[str, int]:
        consumer = AIOKafkaConsumer(
            source, changelog, bootstrap_servers=stack.kafka_bootstrap,
            group_id=f"{unique_name}-{reset}", enable_auto_commit=False,
            auto_offset_reset="earliest",
        )  # fmt: skip
        await consumer.start()
        try:
            got = 0
            while got < 20:  # everything fetched: every position at the end
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    got += len(records)
            tps = [TopicPartition(source, 0), TopicPartition(source, 1),
                   TopicPartition(changelog, 0)]  # fmt: skip
            # the part Faust calls: aiokafka alone leaves never-committed partitions in place
            assert await consumer.seek_to_committed() == dict.fromkeys(tps)
            assert [await consumer.position(tp) for tp in tps] == [5, 5, 10]
            thread = ConsumerThread(consumer, {changelog}, reset)
            await faust_offsets.seek_to_committed(thread)
            return {f"{tp.topic}[{tp.partition}]": await consumer.position(tp) for tp in tps}
        finally:
            await consumer.stop()

    # the source partitions go back to their beginning; the changelog stays (Faust positions it)
    assert asyncio.run(run("earliest")) == {
        f"{source}[0]": 0, f"{source}[1]": 0, f"{changelog}[0]": 10,
    }  # fmt: skip
    # with auto_offset_reset=latest a never-committed partition starts at the end: left alone
    assert asyncio.run(run("latest")) == {
        f"{source}[0]": 5, f"{source}[1]": 5, f"{changelog}[0]": 10,
    }  # fmt: skip
