"""Every channel through the real gateway into a real Kafka topic."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from prometheus_client import REGISTRY

from connectors.dedup import dedup_id
from schemas.records import ChannelMessageReceived

from .harness import create_topic, gateway
from .payloads import all_samples, line_sample, settings


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_every_channel_yields_exactly_its_expected_events_and_redeliveries_none(stack, unique_name):
    topic = f"messages.{unique_name}"
    create_topic(stack.kafka_bootstrap, topic)
    now = datetime.now(UTC)
    samples = all_samples(now)

    async def main() -> list[object]:
        async with gateway(stack.settings, settings(), topic) as h:
            for s in samples:
                status, _ = await h.send(s)
                assert status == s.ok_status, s.channel
            dropped = metric("ticketstream_gateway_redeliveries_dropped_total", channel="line")
            for s in samples:  # every platform retries: none may yield a second event
                status, _ = await h.send(s)
                assert status == s.ok_status, s.channel
            assert (
                metric("ticketstream_gateway_redeliveries_dropped_total", channel="line")
                == dropped + 1
            )
            return await h.events()

    events = asyncio.run(main())
    assert all(isinstance(e, ChannelMessageReceived) for e in events)
    got = sorted((e.channel.value, e.dedup_key, e.text) for e in events)  # type: ignore[attr-defined]
    want = sorted((s.channel, k, t) for s in samples for k, t in s.expected)
    assert got == want


def test_rejections_get_their_4xx_are_counted_and_produce_nothing(stack, unique_name):
    topic = f"messages.{unique_name}"
    create_topic(stack.kafka_bootstrap, topic)
    s = line_sample()

    async def main() -> list[object]:
        async with gateway(stack.settings, settings(gateway_max_body_bytes=4096), topic) as h:
            before = metric(
                "ticketstream_gateway_rejected_total", channel="line", reason="bad_signature"
            )
            assert (await h.send(s, headers={"x-line-signature": "AAAA"}))[0] == 401
            assert (
                metric(
                    "ticketstream_gateway_rejected_total", channel="line", reason="bad_signature"
                )
                == before + 1
            )
            assert (await h.send(s, headers={}))[0] == 401
            big = b'{"destination":"x","events":[],"pad":"' + b"x" * 5000 + b'"}'
            assert (await h.send(s, body=big))[0] == 413
            assert (
                metric("ticketstream_gateway_rejected_total", channel="line", reason="too_large")
                >= 1
            )
            return await h.events()

    assert asyncio.run(main()) == []


def test_restarted_gateway_drops_a_redelivery_of_what_the_topic_holds(stack, unique_name):
    topic = f"messages.{unique_name}"
    create_topic(stack.kafka_bootstrap, topic)
    s = line_sample(event_id="01RESTART")

    async def main() -> list[object]:
        async with gateway(stack.settings, settings(), topic) as h:
            assert (await h.send(s))[0] == 200
        async with gateway(stack.settings, settings(), topic) as h:  # a new process: empty memory
            assert (await h.send(s))[0] == 200
            return await h.events()

    events = asyncio.run(main())
    assert [e.dedup_key for e in events] == [f"{s.expected[0][0]}"]  # type: ignore[attr-defined]
    assert dedup_id("line", s.expected[0][0]).startswith("line|")
