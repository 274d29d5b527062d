"""The outbound worker: consume AgentReplied from the ticket events, deliver, record the outcome.

At-least-once: the offset is committed after the MessageDeliveryUpdated is acknowledged. Replies
already recorded on the deliveries topic (read at start) are not sent again; a crash between a
send and its record can repeat a send, which LINE push absorbs (``X-Line-Retry-Key``) and e-mail
clients collapse (the same Message-ID); other platforms may show it twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from connectors.dedup import partitions_of
from connectors.email.smtp import SmtpSender
from connectors.outbound.base import Sender, SendError, Sent
from connectors.outbound.deliver import deliver
from connectors.outbound.senders import (
    ApiCallbackSender,
    DingTalkSender,
    LineSender,
    MetaSender,
    TelegramSender,
    WeChatSender,
)
from connectors.settings import ConnectorSettings
from schemas.codec import SchemaDecodeError, decode, encode
from schemas.records import AgentReplied, Channel, DeliveryStatus, MessageDeliveryUpdated
from schemas.topics import CHANNEL_DELIVERIES, TICKET_EVENTS

log = logging.getLogger(__name__)


class _Unconfigured:
    def __init__(self, channel: Channel, what: str) -> None:
        self.channel, self.what = channel, what

    async def send(self, reply: AgentReplied, now: datetime) -> Sent:
        raise SendError(
            f"{self.channel.value} replies are not configured: set {self.what}", retryable=False
        )


def senders(http: aiohttp.ClientSession, s: ConnectorSettings) -> dict[Channel, Sender]:
    api: Sender = (
        ApiCallbackSender(http, s, s.api_callback_url)
        if s.api_callback_url
        else _Unconfigured(Channel.API, "TICKETSTREAM_API_CALLBACK_URL")
    )
    return {
        Channel.LINE: LineSender(http, s),
        Channel.MESSENGER: MetaSender(http, s, Channel.MESSENGER),
        Channel.INSTAGRAM: MetaSender(http, s, Channel.INSTAGRAM),
        Channel.WHATSAPP: MetaSender(http, s, Channel.WHATSAPP),
        Channel.TELEGRAM: TelegramSender(http, s),
        Channel.DINGTALK: DingTalkSender(http, s),
        Channel.WECHAT: WeChatSender(http, s),
        Channel.EMAIL: SmtpSender(s),
        Channel.API: api,
        Channel.WEBCHAT: api,
    }


async def recorded_replies(bootstrap: str, topic: str) -> set[str]:
    """reply_ids with a terminal delivery (sent/failed) already on ``topic``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    done: set[str] = set()
    try:
        tps = [TopicPartition(topic, p) for p in await partitions_of(consumer, topic)]
        if not tps:
            return done
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while True:
            positions = [await consumer.position(tp) for tp in tps]
            if all(pos >= ends[tp] for pos, tp in zip(positions, tps, strict=True)):
                return done
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                for r in records:
                    try:
                        ev = decode(r.value, topic=topic, partition=tp.partition, offset=r.offset)
                    except SchemaDecodeError as exc:
                        log.warning("outbound: skipping %s", exc)
                        continue
                    if isinstance(ev, MessageDeliveryUpdated) and ev.status in (
                        DeliveryStatus.SENT,
                        DeliveryStatus.FAILED,
                    ):
                        done.add(ev.reply_id)
    finally:
        await consumer.stop()


def reply_clock(
    mode: str, reply: AgentReplied, wall: Callable[[], datetime]
) -> Callable[[], datetime]:
    """The clock ``reply`` is sent by: ``wall`` (the platforms judge their windows at the send
    time), or with mode ``event`` the reply's own occurred_at — a replay or a simulation on
    simulated time would otherwise find every window closed (the demo's WhatsApp replies, whose
    simulated dates lie days before the wall clock, all failed this way)."""
    if mode == "event":
        at = reply.envelope.occurred_at
        return lambda: at
    return wall


class OutboundWorker:
    def __init__(
        self,
        s: ConnectorSettings,
        bootstrap: str,
        *,
        events_topic: str = TICKET_EVENTS,
        deliveries_topic: str = CHANNEL_DELIVERIES,
        group_id: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.s, self.bootstrap = s, bootstrap
        self.events_topic, self.deliveries_topic = events_topic, deliveries_topic
        self.group_id = group_id or s.outbound_group_id
        self.clock, self.sleep = clock, sleep
        self.done: set[str] = set()

    async def __aenter__(self) -> OutboundWorker:
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self.senders = senders(self.http, self.s)
        self.done = await recorded_replies(self.bootstrap, self.deliveries_topic)
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True
        )
        await self.producer.start()
        self.consumer = AIOKafkaConsumer(
            self.events_topic,
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()
        await self.producer.stop()
        await self.http.close()

    async def run_once(self, timeout_ms: int = 1000) -> list[MessageDeliveryUpdated]:
        """Handle one batch; returns the delivery events produced."""
        out = []
        batches = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=100)
        for tp, records in batches.items():
            for r in records:
                try:
                    ev = decode(r.value, topic=tp.topic, partition=tp.partition, offset=r.offset)
                except SchemaDecodeError as exc:
                    log.warning("outbound: skipping %s", exc)
                    continue
                if not isinstance(ev, AgentReplied) or ev.reply_id in self.done:
                    continue
                update = await deliver(
                    self.senders[ev.channel],
                    ev,
                    max_attempts=self.s.outbound_max_attempts,
                    backoff=self.s.outbound_backoff_seconds,
                    clock=reply_clock(self.s.outbound_clock, ev, self.clock),
                    sleep=self.sleep,
                )
                fut = await self.producer.send(
                    self.deliveries_topic, encode(update), key=update.ticket_id.encode()
                )
                await fut
                self.done.add(ev.reply_id)
                out.append(update)
        if batches:
            await self.consumer.commit()
        return out

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.run_once()
