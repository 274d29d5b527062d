"""One Faust agent round trip on real topics: in-topic -> agent -> out-topic."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import faust
from aiokafka import AIOKafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic


def test_faust_agent_round_trip(stack, unique_name, tmp_path: Path) -> None:
    src_name = f"smoke.faust.in.{unique_name}"
    dst_name = f"smoke.faust.out.{unique_name}"
    # Topics exist before the worker starts: Faust's assignor ignores topics missing then.
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(n, 1, 1) for n in (src_name, dst_name)])
    finally:
        admin.close()

    async def main() -> list[dict[str, int]]:
        app = faust.App(
            f"smoke-faust-{unique_name}",
            broker=f"kafka://{stack.kafka_bootstrap}",
            web_enabled=False,
            datadir=str(tmp_path / "faust"),
            store="memory://",
            topic_partitions=1,
            topic_replication_factor=1,
        )
        src = app.topic(src_name, value_serializer="json")
        dst = app.topic(dst_name, value_serializer="json")

        @app.agent(src)
        async def double_numbers(stream):  # type: ignore[no-untyped-def]
            async for value in stream:
                await dst.send(value={"n": value["n"] * 2})

        await app.start()
        try:
            for n in (1, 2, 21):
                await src.send(value={"n": n})
            consumer = AIOKafkaConsumer(
                dst_name,
                bootstrap_servers=stack.kafka_bootstrap,
                group_id=f"smoke-check-{unique_name}",
                auto_offset_reset="earliest",
            )
            await consumer.start()
            got: list[dict[str, int]] = []
            try:
                async with asyncio.timeout(60):
                    async for msg in consumer:
                        assert msg.value is not None
                        got.append(json.loads(msg.value))
                        if len(got) == 3:
                            break
            finally:
                await consumer.stop()
            return got
        finally:
            await app.stop()

    assert asyncio.run(main()) == [{"n": 2}, {"n": 4}, {"n": 42}]
