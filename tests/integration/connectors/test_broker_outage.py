"""Broker stopped → 503 (never a 2xx for an unstored message); broker back → the platform's retry
lands exactly one event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from ticketstream.settings import Settings

from .broker import PrivateKafka
from .harness import create_topic, gateway
from .payloads import line_sample, settings


@pytest.fixture
def kafka() -> Iterator[PrivateKafka]:
    broker = PrivateKafka()
    try:
        broker.start()
        yield broker
    finally:
        broker.close()


def test_broker_down_gives_503_and_the_retry_lands_exactly_once(kafka, unique_name):
    topic = f"messages.{unique_name}"
    create_topic(kafka.bootstrap, topic, partitions=1)
    core = Settings(kafka_bootstrap=kafka.bootstrap)  # type: ignore[call-arg]
    before, during = (
        line_sample(event_id="01BEFORE"),
        line_sample(event_id="01DURING", text="ตอนนี้ 🔥"),
    )

    async def main() -> tuple[list[int], list[object]]:
        async with gateway(core, settings(gateway_produce_timeout=2.0), topic) as h:
            assert (await h.send(before))[0] == 200
            await asyncio.to_thread(kafka.stop)
            statuses = [(await h.send(during))[0]]
            assert statuses == [503]
            await asyncio.to_thread(kafka.start)
            deadline = time.monotonic() + 90
            while statuses[-1] != 200 and time.monotonic() < deadline:  # the platform retries
                statuses.append((await h.send(during))[0])
                await asyncio.sleep(0.5)
            statuses.append((await h.send(during))[0])  # and once more after success
            return statuses, await h.events()

    statuses, events = asyncio.run(main())
    assert set(statuses[1:-2]) <= {503}, statuses
    assert statuses[-2:] == [200, 200], statuses
    keys = [e.dedup_key for e in events]  # type: ignore[attr-defined]
    assert sorted(keys) == sorted([before.expected[0][0], during.expected[0][0]])
