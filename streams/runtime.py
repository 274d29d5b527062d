"""Helpers the agents share: decoding with position, dead-lettering, sending records, tables,
and the unit of work of a batch of records (``UnitOfWork``).

Thin plumbing only; no business decisions here.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import os
import pickle
import time
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn, cast

import faust
from aiokafka.partitioner import murmur2
from faust.streams import _current_event
from faust.types import TP
from rocksdict import WriteBatch

from schemas import codec
from schemas.codec import SchemaDecodeError
from schemas.deadletter import dead_letter
from schemas.fastdecode import fast_decoder, millis_to_datetime
from schemas.fastencode import compiled_encoder
from streams import metrics
from streams.app import app, dead_letter_topic, streams_settings
from streams.statecodec import dumps, forget_encodings, size_encodings
from ticketstream.observability.tally import CountTally, counted

log = logging.getLogger(__name__)


def now() -> datetime:
    return datetime.now(UTC)


def now_ms() -> datetime:
    """The current UTC time in whole milliseconds, as an Avro ``timestamp-millis`` field keeps
    it (and as ``schemas.fastdecode`` reads it back): events made with it equal their Avro
    round trip, which the ticket state's pickling relies on (``streams.statecodec``)."""
    return millis_to_datetime(time.time_ns() // 1_000_000)


def table(
    name: str, help: str, *, partitions: int | None = None, use_partitioner: bool = False
) -> faust.Table[Any, Any]:
    """A changelog-backed table (compact changelog) of pickled domain states.

    Keys are the UTF-8 bytes of the source topic's key (raw, as the producer wrote them), so the
    table's partitions and ``@app.table_route`` agree with the source topic's partitioner."""
    made = app.Table(
        name,
        help=help,
        key_type=bytes,
        value_type=bytes,
        partitions=partitions or streams_settings.streams_topic_partitions,
        use_partitioner=use_partitioner,
    )
    return cast("faust.Table[Any, Any]", made)


def load(tbl: faust.Table[Any, Any], key: str, default: Any) -> Any:
    raw = tbl.get(key.encode())
    return default if raw is None else pickle.loads(raw)


def store(tbl: faust.Table[Any, Any], key: str, value: Any) -> None:
    tbl[key.encode()] = dumps(value)


async def decode_or_park(event: faust.EventT[Any], expected: Any = None) -> Any | None:
    """The record of ``event`` or None after sending it to the dead-letter topic (counted)."""
    msg = event.message
    try:
        return codec.decode(
            cast(bytes, msg.value),  # a tombstone (None) is a SchemaDecodeError: parked
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            expected=expected,
        )
    except SchemaDecodeError as exc:
        await park(event, exc)
        return None


async def park(event: faust.EventT[Any], exc: BaseException) -> None:
    """Send the record of ``event`` to the dead-letter topic with its position; count it."""
    msg = event.message
    log.warning("dead-lettering %s[%s]@%s: %s", msg.topic, msg.partition, msg.offset, exc)
    metrics.DEAD_LETTERS.labels(msg.topic).inc()
    await dead_letter_topic.send(key=msg.key, value=codec.encode(_dead_letter(event, exc)))


async def send(topic: faust.TopicT, key: str, record: Any) -> None:
    await topic.send(key=key.encode(), value=codec.encode(record))


@functools.lru_cache(maxsize=1 << 16)  # a ticket id is checked once per message (pure-Python hash)
def partition_of(key: str, partitions: int | None = None) -> int:
    """The partition the producers' default partitioner (murmur2, as Kafka's Java client) gives
    ``key`` among ``partitions`` (default: the streams topics' partition count)."""
    n = partitions or streams_settings.streams_topic_partitions
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % n


@functools.lru_cache(maxsize=1 << 16)
def _partition_of_key(key: bytes, partitions: int) -> int:
    """``partition_of`` for a key in bytes, for the records sent by key. Cached: aiokafka's
    murmur2 is pure Python (~5 µs a key), and a ticket's events all carry its id."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


_COUNTERS: dict[tuple[Any, ...], CountTally] = {}


def count(metric: Any, *labels: str) -> None:
    """``metric.labels(*labels).inc()`` through a tally (``ticketstream.observability.tally``:
    added to the child when /metrics is collected), its labelled child looked up once: an
    increment is a labels lookup and a locked add (~2.5 µs, several times per channel message),
    a tally an integer add. Label values come from small fixed sets (metric naming rules)."""
    key = (metric, *labels)
    tally = _COUNTERS.get(key)
    if tally is None:
        tally = _COUNTERS[key] = counted(metric.labels(*labels))
    tally.inc()


# Ticket state is written by two agents of this worker (channel messages, ticket commands).
# Each holds this lock from loading a batch's states until they are stored, so neither decides
# on a state the other is about to replace.
TICKET_STATE_LOCK = asyncio.Lock()


_Send = tuple[str, bytes | None, bytes, int | None]  # topic, key, value, partition (None: by key)


_FAST_DECODE: tuple[codec.Codec, Callable[..., Any]] | None = None


def decode_record(event: faust.EventT[Any], expected: type | tuple[type, ...] | None = None) -> Any:
    """The record of ``event`` (``expected``: a class or tuple of classes it must be); raises
    SchemaDecodeError with its topic/partition/offset, as ``codec.decode``.

    Decoded by ``schemas.fastdecode`` for the process-wide codec: the same record as
    ``codec.decode`` (its contract, property-tested there) at ~0.6 of the CPU (a channel message:
    ~12 vs ~20 µs; fastavro turns each timestamp into a datetime the slow way)."""
    global _FAST_DECODE
    current = codec.default_codec()
    if _FAST_DECODE is None or _FAST_DECODE[0] is not current:
        _FAST_DECODE = (current, fast_decoder(current))
    msg = event.message
    record = _FAST_DECODE[1](msg.value, msg.topic, msg.partition, msg.offset)
    if expected is not None and not isinstance(record, expected):
        names = (
            " or ".join(t.__name__ for t in expected)
            if isinstance(expected, tuple)
            else expected.__name__
        )
        raise SchemaDecodeError(
            f"found a {type(record).__name__}, expected {names}",
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
        )
    return record


_ENCODERS: dict[type, Callable[[Any], bytes]] = {}


def encode(record: Any) -> bytes:
    """``codec.encode(record)`` (the same bytes, tested in tests/property/connectors), through the
    encoder compiled for the record's class (``schemas.fastencode``): ~5 instead of ~12 µs for
    a ticket event. Raises SchemaEncodeError as ``codec.encode``."""
    enc = _ENCODERS.get(type(record))
    if enc is None:
        enc = _ENCODERS[type(record)] = compiled_encoder(type(record))
    return enc(record)


def _set_current_event(event: faust.EventT[Any]) -> None:
    # Faust's tables pick the partition (store and changelog) from the current event; batches
    # run outside Faust's per-event context, so each read/write names the record it is for.
    _current_event.set(weakref.ref(event))


class BatchStats:
    """Per-agent batch timings, logged every ``every`` s of activity: where a batch's wall time goes
    (deciding, waiting for the events' acks, writing state, and between batches: Faust
    delivering the next records, or no input), and the process's CPU time over the same wall
    time (all threads; 100 % = one core busy) — the numbers behind the benchmark's rate."""

    def __init__(self, name: str, every: float = 15.0) -> None:
        self.name, self.every = name, every
        self._last_end: float | None = None
        self._last_end_cpu = 0.0
        self._reset()

    def _reset(self) -> None:
        self._since = time.monotonic()
        self._cpu_since = time.process_time()
        self._n = self._records = 0
        self._decide = self._send = self._state = self._between = self._between_cpu = 0.0

    def add(
        self,
        records: int,
        started: float,
        started_cpu: float,
        decide: float,
        send: float,
        state: float,
    ) -> None:
        """Count a batch that started at ``started`` (monotonic; ``started_cpu``: process CPU
        time) and took the seconds given."""
        if self._last_end is not None:
            self._between += max(0.0, started - self._last_end)
            self._between_cpu += max(0.0, started_cpu - self._last_end_cpu)
        self._last_end = time.monotonic()
        self._last_end_cpu = time.process_time()
        self._n += 1
        self._records += records
        self._decide += decide
        self._send += send
        self._state += state
        wall = self._last_end - self._since
        if wall >= self.every:
            n = self._n
            cpu = time.process_time() - self._cpu_since
            log.info(
                "%s: %d batches, %.0f records/batch; per batch %.1f ms deciding, %.1f ms "
                "producing events (acked; states pickled meanwhile), %.1f ms writing state "
                "(store; changelog sent, its acks awaited later), "
                "%.1f ms between batches (%.1f ms CPU); CPU %.0f %% of %.1f s",
                self.name, n, self._records / n, 1000 * self._decide / n,
                1000 * self._send / n, 1000 * self._state / n, 1000 * self._between / n,
                1000 * self._between_cpu / n, 100 * cpu / wall, wall,
            )  # fmt: skip
            self._reset()


class UnitOfWork:
    """The table reads/writes and the sends of one batch of records, applied crash-safely.

    Reads see this batch's own writes. ``commit`` first sends every record (events, commands,
    dead letters; grouped into one producer batch per topic partition) and waits until the broker
    has them (acks=all), then writes each table key once (one changelog record per key per
    batch, not per input record). A crash before the writes replays the batch: the domain derives
    the same ids and the same events again, which consumers drop by ``event_id``.

    ``begin``/``keep``/``drop`` bracket one input record: a record that fails half-way leaves
    no writes and no sends behind (it is dead-lettered instead)."""

    def __init__(self) -> None:
        self._writes: dict[
            tuple[str, bytes], tuple[faust.Table[Any, Any], Any, faust.EventT[Any]]
        ] = {}
        self._sends: list[_Send] = []
        self._staged: dict[
            tuple[str, bytes], tuple[faust.Table[Any, Any], Any, faust.EventT[Any]]
        ] = {}
        self._staged_sends: list[_Send] = []
        self.send_seconds = self.state_seconds = 0.0

    def begin(self) -> None:
        self._staged.clear()
        self._staged_sends.clear()

    def keep(self) -> None:
        self._writes.update(self._staged)
        self._sends.extend(self._staged_sends)
        self.begin()

    def drop(self) -> None:
        self.begin()

    def load(
        self, tbl: faust.Table[Any, Any], key: str, default: Any, event: faust.EventT[Any]
    ) -> Any:
        """The value of ``key`` (this batch's latest write first, then the state cache),
        unpickled, or ``default``. Callers must not mutate it (copy lists first)."""
        k = (tbl.name, key.encode())
        hit = self._staged.get(k) or self._writes.get(k)
        if hit is not None:
            return hit[1]
        cached = _STATE_CACHE.pop(k, None)
        if cached is not None:
            _STATE_CACHE[k] = cached  # the most recently used now
            return cached
        _set_current_event(event)
        # the store itself: one lookup (the table's own ``get`` checks ``in`` first, a second
        # lookup) and no per-get sensor call; writes go to the store directly too (``commit``)
        raw = tbl.data.get(k[1])
        if raw is None:
            return default
        value = _STATE_CACHE[k] = pickle.loads(raw)
        return value

    def store(
        self, tbl: faust.Table[Any, Any], key: str, value: Any, event: faust.EventT[Any]
    ) -> None:
        """Write ``value`` at ``key`` on commit (in ``event``'s partition)."""
        self._staged[(tbl.name, key.encode())] = (tbl, value, event)

    def send(
        self, topic: faust.TopicT, key: str, record: Any, *, partition: int | None = None
    ) -> None:
        """Send ``record`` (Avro) keyed by ``key`` on commit."""
        name = topic.get_topic_name()
        self._staged_sends.append((name, key.encode(), encode(record), partition))

    def send_encoded(self, topic: faust.TopicT, key: str, value: bytes) -> None:
        """Send ``value`` (a record already encoded with ``schemas.codec``) keyed by ``key``."""
        self._staged_sends.append((topic.get_topic_name(), key.encode(), value, None))

    def park(self, event: faust.EventT[Any], exc: BaseException) -> None:
        """Dead-letter the record of ``event`` (with its position) on commit; count it."""
        self._staged_sends.clear()
        self._staged.clear()
        msg = event.message
        log.warning("dead-lettering %s[%s]@%s: %s", msg.topic, msg.partition, msg.offset, exc)
        metrics.DEAD_LETTERS.labels(msg.topic).inc()
        key = msg.key if isinstance(msg.key, bytes) else None
        record = codec.encode(_dead_letter(event, exc))
        self._sends.append((dead_letter_topic.get_topic_name(), key, record, None))

    async def commit_or_exit(self, *, settle: bool = True) -> asyncio.Future[None] | None:
        """``commit``, or end the process if it fails (a produce that failed after the client's
        retries): leaving the agent's loop would let Faust's ``take_events`` ack the batch, and
        its records would be skipped. Events go out before state, so a restart replays the
        batch to the same ids.

        With ``settle=False`` it returns once the states are in the local store and on their
        way to the changelog (``commit_logging``), with a future that ends once the broker has
        acknowledged the changelog — the caller must not ack the batch's input records before
        it ends (``streams.fanout`` acks them then); the process ends if that write fails."""
        try:
            logged = await self.commit_logging()
            if logged is None:
                return None
            if settle:
                await logged
                return None
        except Exception:
            _exit_unwritten()
        return asyncio.ensure_future(_settled_or_exit(logged))

    async def commit(self) -> None:
        """Send, wait for the broker's acks, then write the tables (see the class docstring)."""
        logged = await self.commit_logging()
        if logged is not None:
            await logged

    async def commit_logging(self) -> asyncio.Future[None] | None:
        """``commit`` until the states are written to the local store and handed to the
        producer; returns a task that ends once the broker has acknowledged their changelog
        records (and their offsets are remembered in the store), or None when there were no
        states. The next commit's sends wait for that task first: a batch's events never go
        out before the previous batch's states are on the broker (as when each commit waited
        for its own changelog), so a crash replays from the same point; meanwhile the next
        batch is decided, instead of the process idling through the changelog's acks.

        The states are pickled while the broker appends the events (bytes only: nothing is
        written before the events are acked). Table writes go, as one producer batch per
        changelog partition, to the changelog (the same records Faust's own ``table[key] =
        value`` would send, minus its per-record bookkeeping) and, while the broker appends
        them, to the local store (one RocksDB write batch per table partition); the changelog
        offsets are then remembered in the store, as Faust does, so a restart on the same data
        dir recovers only what is newer."""
        self.keep()
        t0 = time.monotonic()
        if _LOGGING is not None:  # the previous batch's changelog is on the broker first
            await _LOGGING
        sends, self._sends = self._sends, []
        writes, self._writes = self._writes, {}
        acked = asyncio.ensure_future(_produce_all(sends)) if sends else None
        if acked is not None:
            for _ in range(3):  # let the producer put the events on the wire before pickling
                await asyncio.sleep(0)
        pickled = [
            (k, tbl, value, event, dumps(value)) for k, (tbl, value, event) in writes.items()
        ]
        if acked is not None:
            await acked
        self.send_seconds = time.monotonic() - t0
        if not writes:
            return None
        changelog: list[_Send] = []
        stores: dict[str, Any] = {}
        batches: dict[tuple[str, int], tuple[Any, Any]] = {}
        direct: list[tuple[Any, bytes, bytes, faust.EventT[Any]]] = []
        _make_room(len(writes))
        for (name, key), tbl, value, event, raw in pickled:
            _STATE_CACHE.pop((name, key), None)  # to the end: the most recently used
            _STATE_CACHE[(name, key)] = value
            partition = event.message.partition
            store = tbl.data
            if getattr(store, "use_rocksdict", False):
                # one RocksDB write per table partition and batch, not a put (and Faust's
                # per-key bookkeeping) per key: ~3 vs ~6-20 µs per key measured
                batch = batches.get((name, partition))
                if batch is None:
                    batch = batches[(name, partition)] = (store, WriteBatch(raw_mode=True))
                batch[1].put(key, raw)
            else:
                direct.append((store, key, raw, event))
            topic = tbl.changelog_topic.get_topic_name()
            stores[topic] = store
            changelog.append((topic, key, raw, partition))
        # the changelog first, and the local store written while the broker appends it (the
        # write holds the GIL: it would otherwise add to the wait); its offsets are remembered
        # after the acks, as before
        logged = asyncio.ensure_future(_produce_all(changelog))
        for _ in range(3):
            await asyncio.sleep(0)
        for (_, partition), (store, batch) in batches.items():
            store._db_for_partition(partition).write(batch)
        for store, key, raw, event in direct:
            _set_current_event(event)
            store[key] = raw
        self.state_seconds = time.monotonic() - t0 - self.send_seconds
        return _logging(asyncio.ensure_future(_remember_offsets(logged, stores)))


# The changelog write of the last batch committed through UnitOfWork, until the broker has
# acknowledged it (``UnitOfWork.commit_logging``); the next commit's sends wait for it.
_LOGGING: asyncio.Future[None] | None = None


def _logging(task: asyncio.Future[None]) -> asyncio.Future[None]:
    global _LOGGING
    _LOGGING = task
    return task


async def _remember_offsets(
    logged: Awaitable[dict[tuple[str, int], int]], stores: dict[str, Any]
) -> None:
    # the changelog offsets, remembered in the store as Faust does, so a restart on the same
    # data dir recovers only what is newer
    for (topic, partition), offset in (await logged).items():
        stores[topic].set_persisted_offset(TP(topic, partition), offset)


async def _settled_or_exit(logged: Awaitable[None]) -> None:
    try:
        await logged
    except Exception:
        _exit_unwritten()


def _exit_unwritten() -> NoReturn:
    log.critical("could not write a batch to Kafka; exiting so it is replayed", exc_info=True)
    logging.shutdown()
    os._exit(70)  # EX_SOFTWARE; the supervisor restarts the worker


async def each_event(stream: Any, handle: Callable[[faust.EventT[Any]], Awaitable[None]]) -> None:
    """Run ``handle`` on every event of ``stream``; a record it fails on (a bug or bad data) is
    dead-lettered with its position and the worker carries on."""
    async for event in stream.events():
        try:
            await handle(event)
        except Exception as exc:
            await park(event, exc)


async def in_batches(
    stream: Any,
    handle: Callable[[UnitOfWork, faust.EventT[Any]], None],
    stats: BatchStats,
    *,
    size: int = 1000,
    within: float = 0.05,
) -> None:
    """Run ``handle`` on the records of ``stream`` in batches of up to ``size`` (or what came in
    ``within`` seconds), one ``UnitOfWork`` a batch under ``TICKET_STATE_LOCK``: a record that
    fails half-way is dead-lettered and leaves nothing behind; the batch commits (sends acked,
    then each table key written once) before the next is taken."""
    async for events in stream.take_events(size, within=within):
        await run_batch(events, handle, stats)


YIELD_EVERY = 250  # records decided between turns of the event loop (``run_batch``)


async def run_batch(
    events: Sequence[faust.EventT[Any]], handle: Callable[[UnitOfWork, faust.EventT[Any]], None],
    stats: BatchStats, *, settle: bool = True,
) -> asyncio.Future[None] | None:  # fmt: skip
    """Run ``handle`` on one batch of records as one ``UnitOfWork`` (see ``in_batches``).

    With ``settle=False`` it returns before the states' changelog is acknowledged, with a
    future that ends once it is (``UnitOfWork.commit_or_exit``): the records of ``events``
    must stay unacked until then."""
    async with TICKET_STATE_LOCK:
        started, started_cpu = time.monotonic(), time.process_time()
        uow = UnitOfWork()
        for i, event in enumerate(events):
            if not settle and i and not i % YIELD_EVERY:
                # the previous batch's changelog is still going out: let the producer write
                # it (and the fetcher hand over records) while this batch is decided
                await asyncio.sleep(0)
            uow.begin()
            try:
                handle(uow, event)
                uow.keep()
            except Exception as exc:  # a bug or bad data: park the record, keep the worker up
                uow.park(event, exc)
        decided = time.monotonic()
        settled = await uow.commit_or_exit(settle=settle)
        stats.add(
            len(events), started, started_cpu, decided - started, uow.send_seconds,
            uow.state_seconds,
        )  # fmt: skip
        return settled


_partition_counts: dict[str, int] = {}

# The unpickled values of recently used keys of the tables written through UnitOfWork (all
# writes go through it, so an entry is what the store holds). Loading a state was a store
# lookup plus pickle.loads per table per message (a ticket: ~30-60 µs). Bounded by entries
# (``STREAMS_STATE_CACHE_ENTRIES``; ~2 KB of objects each): an active working set, not all
# open tickets. Least recently used first out (the dict's order: a hit or a write moves a key
# to the end), a quarter at a time. Forgotten on every rebalance, when recovery may rewrite the
# store from changelogs other workers wrote.
STATE_CACHE_ENTRIES = streams_settings.streams_state_cache_entries
_STATE_CACHE: dict[tuple[str, bytes], Any] = {}
# the events' encodings the ticket states of the cache refer to stay noted as long (a ticket
# keeps the events of its last two commands; a state pickled without them costs ~10 µs more)
size_encodings(STATE_CACHE_ENTRIES)


def _make_room(incoming: int) -> None:
    """Drop the least recently used states so that ``incoming`` more fit; down to ¾ of the
    bound, so that this runs once in a while, not on every batch. (It used to empty the whole
    cache: past ~15,000 active conversations every batch started cold, 2.5× the CPU.)"""
    over = len(_STATE_CACHE) + incoming - STATE_CACHE_ENTRIES
    if over > 0:
        for k in list(itertools.islice(_STATE_CACHE, over + STATE_CACHE_ENTRIES // 4)):
            del _STATE_CACHE[k]


@app.on_partitions_revoked.connect
async def _forget_states_on_revoke(*args: Any, **kwargs: Any) -> None:
    _forget_states()


@app.on_partitions_assigned.connect
async def _forget_states_on_assign(*args: Any, **kwargs: Any) -> None:
    _forget_states()


def _forget_states() -> None:
    """Empty the state cache, and the events' encodings noted for pickling with it: an
    encoding keeps its event alive, which (states gone) would hold up to ~16,000 events."""
    _STATE_CACHE.clear()
    forget_encodings()


async def _produce_all(sends: list[_Send]) -> dict[tuple[str, int], int]:
    """Produce ``sends`` with one producer batch per topic partition; wait for every ack.

    Returns the offset of the last record written to each topic partition."""
    producer = app.producer._ensure_producer()  # type: ignore[attr-defined]
    groups: dict[tuple[str, int], list[tuple[bytes | None, bytes]]] = defaultdict(list)
    for topic, key, value, partition in sends:
        if partition is None:
            n = _partition_counts.get(topic)
            if n is None:
                n = _partition_counts[topic] = len(await producer.partitions_for(topic))
            partition = 0 if key is None else _partition_of_key(key, n)
        groups[(topic, partition)].append((key, value))
    acks = []

    async def submit(batch: Any, topic: str, partition: int) -> None:
        batch.close()  # complete: sent at once, not after the producer's linger
        fut = await producer.send_batch(batch, topic, partition=partition)
        acks.append((topic, partition, batch.record_count(), fut))

    for (topic, partition), records in groups.items():
        batch = producer.create_batch()
        for key, value in records:
            if batch.append(key=key, value=value, timestamp=None) is None:
                await submit(batch, topic, partition)
                batch = producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None) is None:
                    raise ValueError(f"record of {len(value)} bytes does not fit a batch ({topic})")
        await submit(batch, topic, partition)
    metadata = await asyncio.gather(*(fut for *_, fut in acks))
    last: dict[tuple[str, int], int] = {}
    for (topic, partition, count, _), meta in zip(acks, metadata, strict=True):
        last[(topic, partition)] = max(last.get((topic, partition), -1), meta.offset + count - 1)
    return last


def _dead_letter(event: faust.EventT[Any], exc: BaseException) -> Any:
    msg = event.message
    return dead_letter(
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        error=exc,
        consumer=app.conf.id,
        now=now(),
        key=msg.key if isinstance(msg.key, bytes) else None,
        value=msg.value if isinstance(msg.value, bytes) else None,
        timestamp_ms=int(msg.timestamp * 1000) if msg.timestamp else None,
    )
