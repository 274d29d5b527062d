"""Test harness: a gateway on a free port in front of a real Kafka topic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from aiokafka import AIOKafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from connectors.dedup import partitions_of
from connectors.gateway import Gateway
from connectors.service import running_gateway
from connectors.settings import ConnectorSettings
from schemas.codec import decode
from ticketstream.settings import Settings

from .payloads import Sample


def create_topic(bootstrap: str, name: str, partitions: int = 3) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        admin.close()


async def read_all(bootstrap: str, topic: str) -> list[object]:
    """Every record now on ``topic``, decoded (reads up to the end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = await partitions_of(consumer, topic)
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: list[object] = []
        while True:
            positions = {tp: await consumer.position(tp) for tp in tps}
            if all(positions[tp] >= ends[tp] for tp in tps):
                return out
            batch = await consumer.getmany(timeout_ms=1000)
            for tp, records in batch.items():
                out.extend(
                    decode(r.value, topic=topic, partition=tp.partition, offset=r.offset)
                    for r in records
                )
    finally:
        await consumer.stop()


@dataclass
class Harness:
    port: int
    http: aiohttp.ClientSession
    bootstrap: str
    topic: str
    gateway: Gateway

    async def send(
        self,
        s: Sample,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        method: str = "POST",
    ) -> tuple[int, bytes]:
        url = f"http://127.0.0.1:{self.port}{s.path}"
        async with self.http.request(
            method,
            url,
            data=s.body if body is None else body,
            headers=s.headers if headers is None else headers,
            params=s.query,
        ) as r:
            return r.status, await r.read()

    async def events(self) -> list[object]:
        return await read_all(self.bootstrap, self.topic)


@asynccontextmanager
async def gateway(
    core: Settings, settings: ConnectorSettings, topic: str
) -> AsyncIterator[Harness]:
    async with (
        running_gateway(core, settings, host="127.0.0.1", port=0, topic=topic) as (gw, port),
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http,
    ):
        yield Harness(port, http, core.kafka_bootstrap, topic, gw)


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]
