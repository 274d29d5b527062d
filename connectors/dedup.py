"""Redelivery dedup: a TTL set of ``<channel>|<dedup key>`` warmed from, and following, the tail
of the messages topic.

Guarantee (honest version): a platform redelivery is dropped by the gateway when its original was
acknowledged by Kafka less than ``ttl`` ago and either (a) this replica stored it, or (b) this
replica's tail follower has read it from the topic (normally milliseconds later; after a restart,
once the warm-up read of the last ``ttl`` of the topic has finished, which ``start`` awaits).
Two replicas receiving the same redelivery within that follower lag can both produce it: the
stream's threading therefore also drops messages whose ``dedup_key`` it has already appended
(and event ids are deterministic, so such a duplicate is recognisably the same event).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from schemas.codec import SchemaDecodeError, decode
from schemas.records import ChannelMessageReceived

log = logging.getLogger(__name__)


def dedup_id(channel: str, dedup_key: str) -> str:
    return f"{channel}|{dedup_key}"


class DedupCache:
    """Keys with an expiry (Unix seconds); oldest evicted first when over ``max_keys``."""

    def __init__(self, ttl: float, max_keys: int, clock: Callable[[], float] = time.time) -> None:
        self.ttl = ttl
        self.max_keys = max_keys
        self.clock = clock
        self._keys: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: str) -> bool:
        exp = self._keys.get(key)
        return exp is not None and exp > self.clock()

    def add(self, key: str, stored_at: float | None = None) -> None:
        """Remember ``key`` until ``stored_at + ttl`` (``stored_at`` defaults to now)."""
        exp = (self.clock() if stored_at is None else stored_at) + self.ttl
        if exp <= self.clock():
            return
        self._keys[key] = max(exp, self._keys.get(key, 0.0))
        self._keys.move_to_end(key)
        self._evict()

    def add_many(self, keys: Iterable[str]) -> None:
        """``add`` every key of ``keys``, stored now: one clock read and one eviction pass for
        them all (the gateway adds a settled batch's keys at once)."""
        exp = self.clock() + self.ttl
        stored = self._keys
        for key in keys:
            old = stored.get(key)
            if old is None:
                stored[key] = exp  # a new key goes to the end: the order stays by store time
            else:
                stored[key] = max(exp, old)
                stored.move_to_end(key)
        self._evict()

    def _evict(self) -> None:
        now = self.clock()
        while self._keys:
            _key, exp = next(iter(self._keys.items()))
            if exp > now and len(self._keys) <= self.max_keys:
                break
            self._keys.popitem(last=False)


async def partitions_of(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    """The partitions of ``topic`` from a fresh metadata fetch (empty if it does not exist)."""
    cluster = await consumer._client.fetch_all_metadata()
    return set(cluster.partitions_for_topic(topic) or ())


class TopicTail:
    """Reads the last ``cache.ttl`` seconds of ``topic`` into ``cache``, then keeps following it."""

    def __init__(self, bootstrap: str, topic: str, cache: DedupCache) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.cache = cache
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self.warmed = 0

    async def start(self, timeout: float = 60.0) -> None:
        """Warm the cache from the topic (awaited), then follow it in the background."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        self._consumer = consumer
        parts = await partitions_of(consumer, self.topic)
        tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
        if not tps:
            log.info("dedup: topic %s has no partitions yet; nothing to warm", self.topic)
            self._task = asyncio.create_task(self._follow())
            return
        consumer.assign(tps)
        since_ms = int((time.time() - self.cache.ttl) * 1000)
        starts = await consumer.offsets_for_times(dict.fromkeys(tps, max(since_ms, 0)))
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            found = starts.get(tp)
            consumer.seek(tp, found.offset if found is not None else ends[tp])
        deadline = time.monotonic() + timeout
        while await self._behind(tps, ends):
            if time.monotonic() > deadline:
                log.warning("dedup: warm-up of %s not finished after %.0f s", self.topic, timeout)
                break
            self._absorb(await consumer.getmany(timeout_ms=500, max_records=10_000))
        log.info("dedup: warmed %d keys from %s", self.warmed, self.topic)
        self._task = asyncio.create_task(self._follow())

    async def _behind(self, tps: list[TopicPartition], ends: dict[TopicPartition, int]) -> bool:
        assert self._consumer is not None
        for tp in tps:
            if int(await self._consumer.position(tp)) < ends[tp]:
                return True
        return False

    def _absorb(self, batches: dict[TopicPartition, list]) -> None:  # type: ignore[type-arg]
        for tp, records in batches.items():
            for r in records:
                try:
                    ev = decode(r.value, topic=tp.topic, partition=tp.partition, offset=r.offset)
                except SchemaDecodeError as exc:
                    log.warning("dedup: skipping %s", exc)
                    continue
                if isinstance(ev, ChannelMessageReceived):
                    self.cache.add(dedup_id(ev.channel.value, ev.dedup_key), r.timestamp / 1000)
                    self.warmed += 1

    async def _follow(self) -> None:
        assert self._consumer is not None
        while not self._consumer.assignment():  # the topic did not exist yet: wait for it
            await asyncio.sleep(5.0)
            with contextlib.suppress(KafkaError):
                parts = await partitions_of(self._consumer, self.topic)
                if parts:
                    tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
                    self._consumer.assign(tps)
                    await self._consumer.seek_to_beginning(*tps)
        while True:
            try:
                self._absorb(await self._consumer.getmany(timeout_ms=1000, max_records=10_000))
            except KafkaError as exc:  # broker away: keep the cache, try again
                log.warning("dedup: tail of %s interrupted: %s", self.topic, exc)
                await asyncio.sleep(1.0)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()
