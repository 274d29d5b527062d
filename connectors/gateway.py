"""The channel gateway: one aiohttp route per channel.

Per request: size limit (413) → verify + normalise (pure adapter; 4xx with a sentence) → drop
messages whose dedup key is already stored → produce every new message with acks=all on an
idempotent producer and await the acks → only then answer 2xx. Concurrent requests' records
share one Kafka batch per partition (``batching.py``); each request still waits for the ack of
the batch holding its own records. No ack within
``gateway_produce_timeout`` (broker down, …) → 503, so the platform retries. A send still in
flight when we answered 503 is not abandoned: a retry of the same message waits for it rather
than producing a second copy, and when it lands its key joins the dedup cache.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner, murmur2
from prometheus_client import Counter

from connectors import metrics
from connectors.batching import BatchingProducer
from connectors.channels import api, crypto, dingtalk, line, meta, telegram, wechat
from connectors.channels.base import ChannelError, WebhookRequest, WebhookResult
from connectors.channels.line_fast import Encoded, TextMessages
from connectors.dedup import DedupCache, dedup_id
from connectors.settings import ConnectorSettings
from schemas.codec import default_codec
from schemas.fastencode import compiled_encoder
from schemas.records import Channel, ChannelMessageReceived
from schemas.topics import CHANNEL_MESSAGES

log = logging.getLogger(__name__)

Adapter = Callable[[WebhookRequest, datetime], WebhookResult]
Record = tuple[str, bytes, bytes]  # dedup id, Kafka key, value

ROUTES: dict[str, Channel] = {
    "/webhooks/line": Channel.LINE,
    "/webhooks/messenger": Channel.MESSENGER,
    "/webhooks/instagram": Channel.INSTAGRAM,
    "/webhooks/whatsapp": Channel.WHATSAPP,
    "/webhooks/telegram": Channel.TELEGRAM,
    "/webhooks/dingtalk": Channel.DINGTALK,
    "/webhooks/dingtalk/events": Channel.DINGTALK,
    "/webhooks/wechat": Channel.WECHAT,
    "/webhooks/api": Channel.API,
    "/webhooks/webchat": Channel.WEBCHAT,
}
WECHAT_BUDGET = 4.0  # seconds: answer before WeChat's 5-second cut-off (channels.md §5)


class NotConfigured(ChannelError):
    def __init__(self, channel: Channel, variable: str) -> None:
        super().__init__(
            503, "not_configured", f"the {channel.value} route is disabled: set {variable}"
        )


def adapters(s: ConnectorSettings, tenant_id: str) -> dict[str, Adapter]:
    """The verified-and-normalising function of every route, bound to its secrets."""

    def secret(value: str, channel: Channel, variable: str) -> str:
        if not value:
            raise NotConfigured(channel, variable)
        return value

    def line_(r: WebhookRequest, now: datetime) -> WebhookResult:
        key = secret(
            s.line_channel_secret.get_secret_value(),
            Channel.LINE,
            "TICKETSTREAM_LINE_CHANNEL_SECRET",
        )
        return line.handle(r, secret=key, received_at=now, tenant_id=tenant_id)

    def meta_(channel: Channel) -> Adapter:
        def run(r: WebhookRequest, now: datetime) -> WebhookResult:
            app = s.meta_app_secret.get_secret_value()
            tok = s.meta_verify_token.get_secret_value()
            secret(
                app if r.method != "GET" else tok,
                channel,
                "TICKETSTREAM_META_APP_SECRET and TICKETSTREAM_META_VERIFY_TOKEN",
            )
            return meta.handle(
                r,
                channel=channel,
                app_secret=app,
                verify_token=tok,
                received_at=now,
                tenant_id=tenant_id,
            )

        return run

    def telegram_(r: WebhookRequest, now: datetime) -> WebhookResult:
        tok = secret(
            s.telegram_secret_token.get_secret_value(),
            Channel.TELEGRAM,
            "TICKETSTREAM_TELEGRAM_SECRET_TOKEN",
        )
        bot_id = s.telegram_bot_token.get_secret_value().split(":", 1)[0] or "bot"
        return telegram.handle(
            r, secret_token=tok, bot_id=bot_id, received_at=now, tenant_id=tenant_id
        )

    def dingtalk_(r: WebhookRequest, now: datetime) -> WebhookResult:
        key = secret(
            s.dingtalk_app_secret.get_secret_value(),
            Channel.DINGTALK,
            "TICKETSTREAM_DINGTALK_APP_SECRET",
        )
        return dingtalk.handle(r, app_secret=key, now=now, tenant_id=tenant_id)

    def dingtalk_events(r: WebhookRequest, now: datetime) -> WebhookResult:
        names = (
            "TICKETSTREAM_DINGTALK_CALLBACK_TOKEN, TICKETSTREAM_DINGTALK_CALLBACK_AES_KEY "
            "and TICKETSTREAM_DINGTALK_CALLBACK_OWNER_KEY"
        )
        tok = secret(s.dingtalk_callback_token.get_secret_value(), Channel.DINGTALK, names)
        owner = secret(s.dingtalk_callback_owner_key, Channel.DINGTALK, names)
        if dingtalk_key is None:
            raise NotConfigured(Channel.DINGTALK, names)
        return dingtalk.handle_event(
            r, token=tok, aes_key=dingtalk_key, owner_key=owner, now=now, tenant_id=tenant_id
        )

    def wechat_(r: WebhookRequest, now: datetime) -> WebhookResult:
        tok = secret(s.wechat_token.get_secret_value(), Channel.WECHAT, "TICKETSTREAM_WECHAT_TOKEN")
        if wechat_key is not None and r.method == "POST":
            secret(s.wechat_app_id, Channel.WECHAT, "TICKETSTREAM_WECHAT_APP_ID (safe mode)")
        return wechat.handle(
            r,
            token=tok,
            received_at=now,
            tenant_id=tenant_id,
            aes_key=wechat_key,
            app_id=s.wechat_app_id,
        )

    def api_(channel: Channel) -> Adapter:
        def run(r: WebhookRequest, now: datetime) -> WebhookResult:
            key = secret(s.api_secret.get_secret_value(), channel, "TICKETSTREAM_API_SECRET")
            return api.handle(r, channel=channel, secret=key, now=now, tenant_id=tenant_id)

        return run

    # AES keys decoded once (the settings validated them); None = that mode is not configured.
    wechat_key = _key(s.wechat_encoding_aes_key.get_secret_value())
    dingtalk_key = _key(s.dingtalk_callback_aes_key.get_secret_value())
    return {
        "/webhooks/line": line_,
        "/webhooks/messenger": meta_(Channel.MESSENGER),
        "/webhooks/instagram": meta_(Channel.INSTAGRAM),
        "/webhooks/whatsapp": meta_(Channel.WHATSAPP),
        "/webhooks/telegram": telegram_,
        "/webhooks/dingtalk": dingtalk_,
        "/webhooks/dingtalk/events": dingtalk_events,
        "/webhooks/wechat": wechat_,
        "/webhooks/api": api_(Channel.API),
        "/webhooks/webchat": api_(Channel.WEBCHAT),
    }


def _key(encoding_aes_key: str) -> bytes | None:
    return crypto.aes_key(encoding_aes_key) if encoding_aes_key else None


@dataclass
class Gateway:
    """The HTTP side. ``producer`` must be started; ``dedup`` may be warmed by a TopicTail."""

    settings: ConnectorSettings
    producer: AIOKafkaProducer
    dedup: DedupCache
    tenant_id: str = "default"
    topic: str = CHANNEL_MESSAGES
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def __post_init__(self) -> None:
        # The codec loads and fingerprints every schema (~0.5 s): do it now, not in the first
        # webhook's request.
        default_codec()
        self._adapters = adapters(self.settings, self.tenant_id)
        # Concurrent requests' records go to Kafka in one batch per partition (batching.py).
        self._batcher = BatchingProducer(
            self.producer,
            self.topic,
            cached_default_partitioner,
            on_settled=self._settled,
            linger=self.settings.gateway_linger_ms / 1000,
        )
        # ChannelMessageReceived compiled from its schema: the codec's bytes at half its CPU.
        self._encode = compiled_encoder(ChannelMessageReceived)
        # LINE's text messages written straight to those bytes (line_fast.py); None when the
        # route is not configured or the writer's self-check against _encode failed.
        secret = self.settings.line_channel_secret.get_secret_value()
        self._line_fast = (
            TextMessages.checked(secret, self.tenant_id, self._encode) if secret else None
        )
        # Metric children resolved once (prometheus-client's labels() costs microseconds a call)
        # and updated through tallies (metrics.py): plain numbers until the registry is collected.
        self._dropped = {
            c: metrics.counted(metrics.REDELIVERIES_DROPPED.labels(c.value)) for c in Channel
        }
        self._produce_seconds = {
            c: metrics.timed(metrics.PRODUCE_SECONDS.labels(c.value)) for c in Channel
        }
        self._produced = {c: metrics.counted(metrics.MESSAGES.labels(c.value)) for c in Channel}

    def app(self) -> web.Application:
        from ticketstream.observability.http import add_metrics_route

        app = web.Application(client_max_size=self.settings.gateway_max_body_bytes)
        for path, channel in ROUTES.items():
            fast = self._line_fast if path == "/webhooks/line" else None
            app.router.add_route("*", path, self._handler(channel, self._adapters[path], fast))
        app.router.add_get("/healthz", _health)
        add_metrics_route(app)
        return app

    def _handler(
        self, channel: Channel, adapter: Adapter, fast: TextMessages | None = None
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        label = channel.value
        budget = self.settings.gateway_produce_timeout
        if channel is Channel.WECHAT:
            budget = min(budget, WECHAT_BUDGET)

        requests = metrics.counted(metrics.REQUESTS.labels(label))
        seconds = metrics.timed(metrics.REQUEST_SECONDS.labels(label))
        rejected: dict[str, Counter] = {}  # reason → counter child (a small fixed set)

        produce_seconds = self._produce_seconds[channel]
        produced = self._produced[channel]
        limit = self.settings.gateway_max_body_bytes

        # One coroutine from the request to its answer, the produce inlined for the LINE fast
        # path: every coroutine layer between a request and Kafka's ack is created per request
        # and resumed once more when the ack comes.
        async def handle(request: web.Request) -> web.StreamResponse:
            started = time.perf_counter()
            requests.inc()
            try:
                length = request.content_length
                if length is not None and length > limit:
                    raise ChannelError(
                        413, "too_large", f"body of {length} bytes is over the {limit}-byte limit"
                    )
                try:
                    body = await request.read()
                except web.HTTPRequestEntityTooLarge:
                    raise ChannelError(
                        413, "too_large", f"body is over the {limit}-byte limit"
                    ) from None
                now = self.clock()
                encoded = None
                if fast is not None:
                    try:
                        encoded = fast.encode(request.method, request.headers, body, now)
                    except ChannelError:
                        raise
                    except Exception:  # a bug of the fast path: the general one decides (logged)
                        log.exception("%s fast path failed on a request", label)
                if encoded is None:
                    response = await self._general(request, channel, adapter, budget, body, now)
                else:  # verified; every message encoded (none: Verify's call)
                    records = self._fresh_encoded(channel, encoded) if encoded else None
                    if records:
                        produce_started = time.perf_counter()
                        try:
                            # Returns once Kafka acknowledged every record (acks=all); a
                            # timeout leaves the records in their batch (a retry waits for them).
                            await self._batcher.produce(records, budget)
                        except (TimeoutError, KafkaError) as exc:
                            raise _unavailable(budget, exc) from None
                        produce_seconds.observe(time.perf_counter() - produce_started)
                        produced.inc(len(records))
                    response = web.Response(body=b"OK", content_type="text/plain")
            except ChannelError as exc:
                counter = rejected.get(exc.reason)
                if counter is None:
                    counter = rejected[exc.reason] = metrics.REJECTED.labels(label, exc.reason)
                counter.inc()
                log.info("%s rejected %s (%s): %s", label, exc.status, exc.reason, exc.message)
                response = _error(exc.status, exc.reason, exc.message)
            seconds.observe(time.perf_counter() - started)
            return response

        return handle

    async def _general(
        self,
        request: web.Request,
        channel: Channel,
        adapter: Adapter,
        budget: float,
        body: bytes,
        now: datetime,
    ) -> web.Response:
        """The adapter's path: verify, normalise, store the new messages, answer."""
        # aiohttp's header mapping is case-insensitive: adapters ask for lower-case names.
        req = WebhookRequest(request.method, request.headers, request.query, body)
        try:
            result = adapter(req, now)
        except ChannelError:
            raise
        except Exception as exc:  # a payload shape we did not foresee: 400, logged as a bug lead
            log.exception("%s adapter failed on a request", channel.value)
            raise ChannelError(
                400, "unparseable", f"{channel.value} body could not be read ({type(exc).__name__})"
            ) from None
        stored = self._store(channel, result.messages, budget) if result.messages else None
        if stored is not None:
            await stored
        return web.Response(
            body=result.body, status=result.status, content_type=result.content_type
        )

    def _fresh_encoded(self, channel: Channel, messages: tuple[Encoded, ...]) -> list[Record]:
        """The records — (dedup id, key, value) — of already encoded messages (dedup key,
        conversation key, bytes) not seen before; redeliveries are counted now (``_store_fresh``
        for the fast path, without its generator)."""
        dropped = self._dropped[channel]
        records: list[Record] = []
        seen: set[str] = set()
        dedup = self.dedup
        value = channel._value_
        for dedup_key, conversation_key, encoded in messages:
            key = dedup_id(value, dedup_key)
            if key in dedup or key in seen:
                dropped.inc()
                continue
            seen.add(key)
            if self._batcher.pending(key):
                dropped.inc()  # a copy is already on its way to Kafka: wait for that one
            records.append((key, conversation_key.encode("utf-8"), encoded))
        return records

    # _store and _store_fresh are plain functions returning the produce to
    # await (None: nothing new): each coroutine layer between a request and Kafka's ack is
    # resumed once more when the ack comes.
    def _store(
        self, channel: Channel, messages: tuple[ChannelMessageReceived, ...], budget: float
    ) -> Awaitable[None] | None:
        items = ((ev.channel._value_, ev.dedup_key, ev.conversation_key, ev) for ev in messages)
        return self._store_fresh(channel, items, budget)

    def _store_fresh(
        self,
        channel: Channel,
        items: Iterable[tuple[str, str, str, ChannelMessageReceived | bytes]],
        budget: float,
    ) -> Awaitable[None] | None:
        """The produce (to await: it returns once Kafka acknowledged them) of the messages not
        seen before — (channel, dedup key, conversation key, the message or its encoded bytes)
        — or None when there is none; redeliveries are counted now."""
        dropped = self._dropped[channel]
        records: list[Record] = []
        seen: set[str] = set()
        for channel_value, dedup_key, conversation_key, message in items:
            key = dedup_id(channel_value, dedup_key)
            if key in self.dedup or key in seen:
                dropped.inc()
                continue
            seen.add(key)
            if self._batcher.pending(key):
                dropped.inc()  # a copy is already on its way to Kafka: wait for that one
            value = message if isinstance(message, bytes) else self._encode(message)
            records.append((key, conversation_key.encode("utf-8"), value))
        return self._produce(channel, records, budget) if records else None

    async def _produce(self, channel: Channel, records: list[Record], budget: float) -> None:
        started = time.perf_counter()
        try:
            # Returns once Kafka acknowledged every record (acks=all); a timeout leaves the
            # records in their batch (a retry waits for them).
            await self._batcher.produce(records, budget)
        except (TimeoutError, KafkaError) as exc:
            raise _unavailable(budget, exc) from None
        self._produce_seconds[channel].observe(time.perf_counter() - started)
        self._produced[channel].inc(len(records))

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait (up to ``timeout`` s) for records gathered or in flight (before stopping)."""
        await self._batcher.flush(timeout)

    def _settled(self, keys: list[str], error: BaseException | None) -> None:
        if error is None:
            self.dedup.add_many(keys)
        else:
            log.warning(
                "produce of %d message(s) (%s…) failed: %s",
                len(keys),
                keys[0].split("|", 1)[0] if keys else "-",
                type(error).__name__,
            )


def _unavailable(budget: float, exc: BaseException) -> ChannelError:
    return ChannelError(
        503,
        "broker_unavailable",
        f"Kafka did not acknowledge within {budget:.1f} s ({type(exc).__name__}); "
        "not stored, retry later",
    )


async def _health(_: web.Request) -> web.Response:
    return web.Response(text="ok")


def _error(status: int, reason: str, message: str) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps({"error": reason, "message": message}).encode(),
        content_type="application/json",
    )


_DEFAULT_PARTITIONER = DefaultPartitioner()


@functools.lru_cache(maxsize=65_536)
def _murmur2_positive(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


def cached_default_partitioner(
    key: bytes | None, all_partitions: list[int], available: list[int]
) -> int:
    """aiokafka's DefaultPartitioner (Java-compatible murmur2, so Faust and Java clients agree
    on a key's partition) with the pure-Python hash cached per key: a conversation's messages
    keep coming with the same key."""
    if key is None:
        return int(_DEFAULT_PARTITIONER(key, all_partitions, available))
    return all_partitions[_murmur2_positive(key) % len(all_partitions)]


def new_producer(bootstrap: str, linger_ms: int = 0) -> AIOKafkaProducer:
    """acks=all on an idempotent producer: an ack means every in-sync replica has it.
    ``linger_ms`` trades a little latency for bigger batches (less CPU per message)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=linger_ms,
        request_timeout_ms=30_000,
        partitioner=cached_default_partitioner,
    )
