"""Outbound senders against local servers implementing each platform's send contract, and the
worker end to end (AgentReplied on Kafka → delivery → MessageDeliveryUpdated on Kafka)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
from prometheus_client import REGISTRY

from connectors.outbound.base import retry_key
from connectors.outbound.deliver import deliver
from connectors.outbound.worker import OutboundWorker, senders
from schemas.codec import encode
from schemas.records import (
    Actor,
    ActorKind,
    AgentReplied,
    Channel,
    DeliveryStatus,
    Envelope,
    MessageDeliveryUpdated,
)

from . import fake_platforms as fp
from .harness import create_topic, read_all
from .payloads import settings

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def reply(channel: Channel, reply_id: str = "r-1", **over: object) -> AgentReplied:
    values: dict[str, object] = dict(
        envelope=Envelope(
            f"ev-{reply_id}",
            NOW,
            NOW,
            "T-1",
            4,
            "cmd-1",
            "corr-1",
            Actor(ActorKind.AGENT, "a1"),
            "acme",
        ),
        ticket_id="T-1",
        reply_id=reply_id,
        author_id="a1",
        channel=channel,
        conversation_key=f"{channel.value}:acct:conv",
        account_id="acct",
        external_conversation_id="conv",
        external_user_id="user",
        text="ขอบคุณค่ะ 谢谢 🙏",
    )
    values.update(over)
    return AgentReplied(**values)  # type: ignore[arg-type]


def out_settings(p: fp.Platforms):
    return settings(
        line_api_base=p.base,
        line_channel_access_token=fp.LINE_TOKEN,
        graph_api_base=p.base,
        meta_page_access_token=fp.PAGE_TOKEN,
        whatsapp_access_token=fp.WA_TOKEN,
        telegram_api_base=p.base,
        telegram_bot_token=fp.TG_TOKEN,
        dingtalk_api_base=p.base,
        dingtalk_app_key=fp.DT_KEY,
        dingtalk_app_secret=fp.DT_SECRET,
        wechat_api_base=p.base,
        wechat_app_id=fp.WC_APPID,
        wechat_app_secret=fp.WC_SECRET,
        outbound_backoff_seconds=0.01,
    )


async def no_sleep(_: float) -> None:
    return None


def run_deliveries(cases: list[AgentReplied], fail_next: dict[str, int] | None = None):
    async def main():
        async with fp.platforms() as p, aiohttp.ClientSession() as http:
            p.fail_next.update(fail_next or {})
            table = senders(http, out_settings(p))
            results = [
                await deliver(
                    table[r.channel],
                    r,
                    max_attempts=3,
                    backoff=0.01,
                    clock=lambda: NOW,
                    sleep=no_sleep,
                )
                for r in cases
            ]
            return p, results

    return asyncio.run(main())


def test_line_uses_the_reply_token_within_its_minute():
    r = reply(
        Channel.LINE,
        reply_context={"reply_token": "valid-token", "to": "U1"},
        reply_context_expires_at=NOW + timedelta(seconds=30),
    )
    p, (res,) = run_deliveries([r])
    assert (res.status, res.external_message_id, res.attempt) == (
        DeliveryStatus.SENT,
        "L-reply-1",
        1,
    )
    assert p.paths() == ["/v2/bot/message/reply"]


def test_line_pushes_with_a_deterministic_retry_key_after_the_minute_and_retries_once_accepted():
    late = reply(
        Channel.LINE,
        reply_context={"reply_token": "valid-token", "to": "Cgroup"},
        reply_context_expires_at=NOW - timedelta(seconds=1),
    )
    p, (res,) = run_deliveries([late], fail_next={"/v2/bot/message/push": 1})
    assert (res.status, res.attempt) == (DeliveryStatus.SENT, 2)
    pushes = [
        (h["X-Line-Retry-Key"], b) for path, h, b in p.calls if path == "/v2/bot/message/push"
    ]
    assert [k for k, _ in pushes] == [retry_key("r-1")] * 2  # same key on the retry
    assert pushes[0][1] == {
        "to": "Cgroup",
        "messages": [{"type": "text", "text": "ขอบคุณค่ะ 谢谢 🙏"}],
    }


def test_line_push_answered_409_counts_as_sent():
    r = reply(Channel.LINE, reply_context={"to": "U1"})

    async def main():
        async with fp.platforms() as p, aiohttp.ClientSession() as http:
            p.retry_keys.add(retry_key("r-1"))  # an earlier attempt was accepted
            return await deliver(
                senders(http, out_settings(p))[Channel.LINE],
                r,
                max_attempts=3,
                backoff=0.01,
                sleep=no_sleep,
            )

    assert asyncio.run(main()).status is DeliveryStatus.SENT


def test_messenger_inside_24h_is_a_response_and_outside_uses_the_human_agent_tag():
    inside = reply(Channel.MESSENGER, "r-in", last_customer_message_at=NOW - timedelta(hours=23))
    outside = reply(Channel.MESSENGER, "r-out", last_customer_message_at=NOW - timedelta(hours=25))
    p, results = run_deliveries([inside, outside])
    assert [r.status for r in results] == [DeliveryStatus.SENT] * 2
    bodies = [b for path, _, b in p.calls if path == "/acct/messages"]
    assert bodies[0]["messaging_type"] == "RESPONSE"
    assert (bodies[1]["messaging_type"], bodies[1]["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    assert bodies[0]["recipient"] == {"id": "user"}


def test_whatsapp_inside_window_sends_and_outside_fails_without_retry():
    ok = reply(Channel.WHATSAPP, "w1", last_customer_message_at=NOW - timedelta(hours=1))
    late = reply(Channel.WHATSAPP, "w2", last_customer_message_at=NOW - timedelta(days=2))
    p, (a, b) = run_deliveries([ok, late])
    assert (a.status, a.external_message_id) == (DeliveryStatus.SENT, "wamid.OUT1")
    assert (b.status, b.attempt) == (DeliveryStatus.FAILED, 1)
    assert "template" in (b.reason or "")
    assert len(p.calls) == 1


def test_telegram_429_is_retried_and_counted():
    before = (
        REGISTRY.get_sample_value(
            "ticketstream_outbound_messages_total", {"channel": "telegram", "outcome": "retried"}
        )
        or 0
    )
    r = reply(Channel.TELEGRAM, reply_context={"chat_id": "-1001234567890123"})
    p, (res,) = run_deliveries([r], fail_next={f"/bot{fp.TG_TOKEN}/sendMessage": 1})
    assert (res.status, res.attempt, res.external_message_id) == (DeliveryStatus.SENT, 2, "42")
    assert p.calls[-1][2]["chat_id"] == -1001234567890123  # 64-bit id sent as a number
    after = REGISTRY.get_sample_value(
        "ticketstream_outbound_messages_total", {"channel": "telegram", "outcome": "retried"}
    )
    assert after == before + 1


def test_dingtalk_session_webhook_then_batch_send_after_it_expired():
    async def main():
        async with fp.platforms() as p, aiohttp.ClientSession() as http:
            table = senders(http, out_settings(p))
            hook = f"{p.base}/robot/sendBySession?session=xyz"
            live = reply(
                Channel.DINGTALK,
                "d1",
                reply_context={
                    "session_webhook": hook,
                    "conversation_type": "1",
                    "staff_id": "user123",
                },
                reply_context_expires_at=NOW + timedelta(minutes=30),
            )
            expired = reply(
                Channel.DINGTALK,
                "d2",
                reply_context={
                    "session_webhook": hook,
                    "conversation_type": "1",
                    "staff_id": "user123",
                },
                reply_context_expires_at=NOW - timedelta(minutes=1),
            )
            res = [
                await deliver(
                    table[Channel.DINGTALK],
                    r,
                    max_attempts=2,
                    backoff=0.01,
                    clock=lambda: NOW,
                    sleep=no_sleep,
                )
                for r in (live, expired)
            ]
            return p, res

    p, res = asyncio.run(main())
    assert [r.status for r in res] == [DeliveryStatus.SENT] * 2
    assert p.paths() == [
        "/robot/sendBySession",
        "/v1.0/oauth2/accessToken",
        "/v1.0/robot/oToMessages/batchSend",
    ]
    batch = p.calls[-1][2]
    assert batch["userIds"] == ["user123"] and batch["msgKey"] == "sampleText"


def test_wechat_customer_service_send_and_the_48h_window_error():
    ok = reply(Channel.WECHAT, "c1", reply_context={"openid": "o-user"})
    late = reply(Channel.WECHAT, "c2", reply_context={"openid": "o-expired"})
    p, (a, b) = run_deliveries([ok, late])
    assert a.status is DeliveryStatus.SENT
    assert (b.status, b.attempt) == (DeliveryStatus.FAILED, 1) and "45015" in (b.reason or "")
    assert p.calls[1][2] == {
        "touser": "o-user",
        "msgtype": "text",
        "text": {"content": "ขอบคุณค่ะ 谢谢 🙏"},
    }


def test_worker_turns_agent_replies_on_kafka_into_delivery_events_once(stack, unique_name):
    events_topic, deliveries_topic = f"events.{unique_name}", f"deliveries.{unique_name}"
    create_topic(stack.kafka_bootstrap, events_topic)
    create_topic(stack.kafka_bootstrap, deliveries_topic)

    async def main() -> list[object]:
        from aiokafka import AIOKafkaProducer

        async with fp.platforms() as p:
            s = out_settings(p)
            prod = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
            await prod.start()
            try:
                r = reply(Channel.TELEGRAM, "tg-1", reply_context={"chat_id": "99"})
                await prod.send_and_wait(events_topic, encode(r), key=b"T-1")
                await prod.send_and_wait(events_topic, encode(r), key=b"T-1")  # a re-emitted copy
            finally:
                await prod.stop()
            kw = dict(
                events_topic=events_topic,
                deliveries_topic=deliveries_topic,
                group_id=f"g-{unique_name}",
            )
            async with OutboundWorker(s, stack.kafka_bootstrap, **kw) as w:
                produced: list[object] = []
                for _ in range(20):
                    produced += await w.run_once(timeout_ms=500)
                    if produced:
                        break
                produced += await w.run_once(timeout_ms=300)
            # A restarted worker in a new group re-reads the events but sends nothing again.
            kw["group_id"] = f"g2-{unique_name}"
            async with OutboundWorker(s, stack.kafka_bootstrap, **kw) as w:
                for _ in range(4):
                    produced += await w.run_once(timeout_ms=300)
            assert p.paths() == [f"/bot{fp.TG_TOKEN}/sendMessage"]
            return await read_all(stack.kafka_bootstrap, deliveries_topic)

    (update,) = asyncio.run(main())
    assert isinstance(update, MessageDeliveryUpdated)
    assert (update.ticket_id, update.reply_id, update.status, update.external_message_id) == (
        "T-1",
        "tg-1",
        DeliveryStatus.SENT,
        "42",
    )
    assert update.envelope.causation_id == "ev-tg-1"
