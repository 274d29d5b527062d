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
                status, body = await h.send(s)
                assert status == s.ok_status, s.channel
                if s.channel == "wechat":
                    assert body == b"success"  # the passive-reply rule: no retry, reply later
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


SIGNATURES = {
    "x-line-signature",
    "x-hub-signature-256",
    "x-telegram-bot-api-secret-token",
    "sign",
    "x-signature",
    "signature",
    "msg_signature",
}


def wrong_signature(values: dict[str, str]) -> dict[str, str]:
    out = dict(values)
    for k, v in values.items():
        if k.lower() in SIGNATURES:
            out[k] = v[:-2] + ("A" if v[-2] != "A" else "B") + v[-1]
    return out


def test_every_route_rejects_bad_requests_with_its_4xx_and_counts_each(stack, unique_name):
    from datetime import timedelta

    from .payloads import dingtalk_sample
    from .test_fuzz_routes import signed_headers

    topic = f"messages.{unique_name}"
    create_topic(stack.kafka_bootstrap, topic)
    now = datetime.now(UTC)

    def rejected(channel: str, reason: str) -> float:
        return metric("ticketstream_gateway_rejected_total", channel=channel, reason=reason)

    async def main() -> list[object]:
        async with gateway(stack.settings, settings(gateway_max_body_bytes=8192), topic) as h:
            for s in all_samples(now):
                # wrong signature (or secret token): one character of it changed
                before = rejected(s.channel, "bad_signature")
                url = f"http://127.0.0.1:{h.port}{s.path}"
                hdrs, query = wrong_signature(s.headers), wrong_signature(s.query)
                async with h.http.post(url, data=s.body, headers=hdrs, params=query) as r:
                    assert r.status == 401, s.channel
                assert rejected(s.channel, "bad_signature") == before + 1, s.channel
                # missing header (WeChat: missing signature query parameters)
                before = rejected(s.channel, "missing_header")
                h2 = {"Content-Type": "text/xml"} if s.channel == "wechat" else {}
                async with h.http.post(url, data=s.body, headers=h2) as r:
                    status = r.status
                assert status == 401, s.channel
                assert rejected(s.channel, "missing_header") >= before + 1, s.channel
                # malformed but correctly signed
                bad = b"<xml><MsgId>" if s.channel == "wechat" else b'{"events": [1,'
                headers, query = signed_headers(s.path, bad, datetime.now(UTC))
                before = rejected(s.channel, "malformed")
                async with h.http.post(url, data=bad, headers=headers, params=query) as r:
                    assert r.status == 400, s.channel
                assert rejected(s.channel, "malformed") == before + 1, s.channel
                # oversized
                before = rejected(s.channel, "too_large")
                async with h.http.post(
                    url, data=b"x" * 9000, headers=s.headers, params=s.query
                ) as r:
                    assert r.status == 413, s.channel
                assert rejected(s.channel, "too_large") == before + 1, s.channel
            # DingTalk: a correctly signed request whose timestamp is more than an hour old
            stale = dingtalk_sample(now - timedelta(hours=1, minutes=1))
            before = rejected("dingtalk", "stale_timestamp")
            assert (await h.send(stale))[0] == 401
            assert rejected("dingtalk", "stale_timestamp") == before + 1
            return await h.events()

    assert asyncio.run(main()) == []


def test_a_second_replica_drops_a_redelivery_the_first_stored(stack, unique_name):
    topic = f"messages.{unique_name}"
    create_topic(stack.kafka_bootstrap, topic)
    s = line_sample(event_id="01REPLICAS")
    key = dedup_id("line", s.expected[0][0])

    async def main() -> list[object]:
        async with (
            gateway(stack.settings, settings(), topic) as a,
            gateway(stack.settings, settings(), topic) as b,
        ):
            replica_b = b.gateway
            assert (await a.send(s))[0] == 200
            for _ in range(100):  # B learns the key by following the topic (normally milliseconds)
                if key in replica_b.dedup:
                    break
                await asyncio.sleep(0.05)
            assert key in replica_b.dedup
            assert (await b.send(s))[0] == 200
            return await a.events()

    assert [e.dedup_key for e in asyncio.run(main())] == [s.expected[0][0]]  # type: ignore[attr-defined]


def test_wechat_safe_mode_through_the_gateway(stack, unique_name):
    from .payloads import safe_mode_settings, wechat_safe_sample, wechat_sample

    topic = f"messages.{unique_name}"
    create_topic(stack.kafka_bootstrap, topic)
    s = wechat_safe_sample()

    def rejected(reason: str) -> float:
        return metric("ticketstream_gateway_rejected_total", channel="wechat", reason=reason)

    async def main() -> list[object]:
        async with gateway(
            stack.settings, safe_mode_settings(gateway_max_body_bytes=8192), topic
        ) as h:
            assert await h.send(s) == (200, b"success")
            assert await h.send(wechat_safe_sample()) == (200, b"success")  # redelivery: dropped
            # a plain-mode POST: its signature does not cover the body, so it is refused
            before = rejected("not_encrypted")
            assert (await h.send(wechat_sample()))[0] == 401
            assert rejected("not_encrypted") == before + 1
            # msg_signature changed or missing (the AppID check is in the unit tests)
            url = f"http://127.0.0.1:{h.port}{s.path}"
            for query, reason in (
                (wrong_signature(s.query), "bad_signature"),
                ({k: v for k, v in s.query.items() if k != "msg_signature"}, "missing_header"),
            ):
                before = rejected(reason)
                async with h.http.post(url, data=s.body, headers=s.headers, params=query) as r:
                    assert r.status == 401, reason
                assert rejected(reason) == before + 1, reason
            before = rejected("too_large")
            async with h.http.post(url, data=b"x" * 9000, headers=s.headers, params=s.query) as r:
                assert r.status == 413
            assert rejected("too_large") == before + 1
            return await h.events()

    events = asyncio.run(main())
    assert [(e.dedup_key, e.text) for e in events] == s.expected  # type: ignore[attr-defined]


def test_unconfigured_encrypted_routes_answer_503_so_the_platform_retries(stack, unique_name):
    from .payloads import dingtalk_event_sample, wechat_safe_sample

    topic = f"messages.{unique_name}"
    create_topic(stack.kafka_bootstrap, topic)
    bare = settings(dingtalk_callback_token="", dingtalk_callback_aes_key="")

    async def main() -> list[object]:
        async with gateway(stack.settings, bare, topic) as h:
            for s in (dingtalk_event_sample(), wechat_safe_sample()):
                status, body = await h.send(s)
                assert status == 503 and b"not_configured" in body, s.path
            return await h.events()

    assert asyncio.run(main()) == []
