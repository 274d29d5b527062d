"""The projector: Kafka event topics → ClickHouse, in batches, exactly-once in effect.

- One kafka-python consumer group over every event topic; auto-commit off.
- A batch closes at ``batch_rows`` records or ``flush_seconds`` after its first record.
- Flushing: load missing ticket/timer state, build rows, insert ``events`` then the derived
  tables (columnar), and only then commit the batch's offsets. A crash anywhere before the
  commit replays the batch; rows are deduplicated by event id (see ``projections.rows``).
- ClickHouse unreachable or failing: the batch is kept and retried with exponential backoff
  (``ticketstream_projector_retries_total``, a log line per attempt) — nothing is skipped.
- Records are decoded with ``projections.fused.FusedDecoder``: an event of this build's schema
  into a flat tuple of its fields, which the class's generated code projects without datum
  dicts; anything else into Avro data by ``schemas.fastdecode.DatumDecoder`` (the codec's
  errors, without building records, datetimes or enums the rows would only take apart again;
  the envelope's ids stay UTF-8 bytes, see ``projections.rows.ENVELOPE_BYTES``).
  Undecodable records go to ``support.deadletter.v1`` with topic/partition/offset and the
  error, are counted, and are committed past once the dead letter is acknowledged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from projections import metrics
from projections.engines import ClickHouseError, Engine
from projections.fused import FusedDecoder
from projections.rows import (
    ENVELOPE_BYTES,
    TABLE_COLUMNS,
    TABLES,
    TICKET_EVENTS,
    Batch,
    Item,
    Projection,
    Where,
)
from projections.state import TIMER_EVENTS
from schemas.codec import SchemaDecodeError, encode
from schemas.deadletter import dead_letter
from schemas.topics import DEAD_LETTER
from schemas.topics import TICKET_EVENTS as TICKET_TOPIC

log = logging.getLogger("ticketstream.projector")
_TICKET_TYPES = frozenset(TICKET_EVENTS)
_TIMER_TYPES = frozenset(TIMER_EVENTS)
T = TypeVar("T")


class Stopped(Exception):
    """The projector was asked to stop while waiting for ClickHouse."""


@dataclass(frozen=True, slots=True)
class ProjectorConfig:
    db: str
    group: str
    batch_rows: int = 5000
    flush_seconds: float = 0.5
    retry_max_seconds: float = 5.0
    store_bodies: bool = False
    # An SLA event whose ticket the projector has not seen yet (topics are not ordered with
    # each other) waits up to this long for the ticket's events, so it gets the ticket's channel.
    max_defer_seconds: float = 5.0


class Projector:
    """Consumes ``consumer`` (subscribed or assigned by the caller) into ``engine``."""

    def __init__(
        self,
        engine: Engine,
        consumer: Any,
        producer: Any,
        config: ProjectorConfig,
        *,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
        commit: bool = True,
        pipelined: bool = True,
    ) -> None:
        self.engine = engine
        self.consumer = consumer
        self.producer = producer
        self.config = config
        self.stop = stop or threading.Event()
        self.clock = clock
        self.commit_offsets = commit
        # The rows' DateTime cells are ints (epoch seconds, see projections.rows.Batch): the
        # driver engine can skip its per-value conversion loop
        opt_in = getattr(engine, "use_int_datetimes", None)
        if callable(opt_in):
            opt_in()
        # State lookups go over a connection of their own when the engine can open one: then
        # they need not wait for the batch in flight unless it writes state they look up.
        clone = getattr(engine, "clone", None)
        self._state_engine: Engine | None = clone() if callable(clone) else None
        self.projection = Projection(
            self._state_engine or engine, config.db, store_bodies=config.store_bodies
        )
        # Flat tuples (projections.fused) or Avro data with the codec's errors, at less CPU
        # (schemas.fastdecode); the envelope's ids as UTF-8 bytes, which go to String columns
        # as they are (projections.rows)
        fused = FusedDecoder(utf8_bytes=ENVELOPE_BYTES, store_bodies=config.store_bodies)
        self._decode = fused.decode
        self._flat = fused.flat  # first 10 bytes → (class, flat reader): tried inline
        self._pending: list[Item] = []
        self._offsets: dict[Any, int] = {}  # TopicPartition → next offset to commit
        self._dead: int = 0
        self._first_at: float | None = None
        self._deferred_since: dict[Where, float] = {}
        # One writer thread: the next batch is consumed and projected while the previous one
        # is inserted. The engine is used by one thread at a time: the consumer's thread only
        # queries it (load_state) after waiting for the batches in flight.
        # Handed to the writer, oldest first: the batch being written and, inside flush, the
        # next one queued behind it (see flush). Per batch: its future, the offsets and dead
        # letters to commit once it is written, and the ticket ids of its state rows (str, or
        # UTF-8 bytes: see flush).
        self.pipelined = pipelined
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="projector-writer")
        self._inflight: list[tuple[Future[None], dict[Any, int], int, set[str | bytes]]] = []
        self._in_rebalance = False  # inside the rebalance listener: no blocking Kafka calls
        # For SLA events waiting for their ticket (see _ticket_stream_past): the next offset
        # read per partition, the topics ticket events came from, and per waiting SLA event the
        # offsets its ticket's partitions must be read to before it goes without its ticket.
        self._read_next: dict[Any, int] = {}
        self._ticket_topics: set[str] = set()
        self._release_targets: dict[Where, dict[Any, int]] = {}
        self.rows_written = 0

    # ------------------------------------------------------------------ consuming
    def poll_once(self, timeout_s: float = 0.1) -> int:
        """Poll once, decode what came, flush when the batch is full or old. Returns records."""
        while self._inflight and self._inflight[0][0].done():
            self._drain_one()
        if self._first_at is not None:
            timeout_s = max(
                0.0, min(timeout_s, self._first_at + self.config.flush_seconds - self.clock())
            )
        got = self.consumer.poll(
            timeout_ms=int(timeout_s * 1000), max_records=self.config.batch_rows
        )
        n = 0
        if self._first_at is None and any(got.values()):
            self._first_at = self.clock()
        pending = self._pending
        append = pending.append
        decode = self._decode
        flat = self._flat
        for tp, messages in got.items():
            if not messages:
                continue
            topic = tp.topic
            for msg in messages:
                value = msg.value
                # this build's events: the flat reader inline (what FusedDecoder.decode does
                # first); anything else, or bytes it refuses, through decode
                if value.__class__ is bytes and (fast := flat.get(value[:10])) is not None:
                    try:
                        append((fast[0], fast[1](value), (topic, msg.partition, msg.offset)))
                        continue
                    except Exception:
                        pass
                partition, offset = msg.partition, msg.offset
                try:
                    cls, datum = decode(value, topic, partition, offset)
                except SchemaDecodeError as exc:
                    self._dead_letter(msg, exc)
                    continue
                append((cls, datum, (topic, partition, offset)))
            n += len(messages)
            self._offsets[tp] = self._read_next[tp] = messages[-1].offset + 1
            metrics.RECORDS.labels(topic).inc(len(messages))
        if self._should_flush():
            self.flush()
        return n

    def _dead_letter(self, msg: Any, exc: Exception) -> None:
        log.warning("dead-lettering %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, exc)
        dl = dead_letter(
            topic=msg.topic, partition=msg.partition, offset=msg.offset, error=exc,
            consumer=self.config.group, now=datetime.now(UTC), key=msg.key, value=msg.value,
            timestamp_ms=msg.timestamp if msg.timestamp and msg.timestamp > 0 else None,
        )  # fmt: skip
        self.producer.send(DEAD_LETTER, key=msg.key, value=encode(dl))
        self._dead += 1

    def _should_flush(self) -> bool:
        if self._first_at is None:
            return False
        full = len(self._pending) + self._dead >= self.config.batch_rows
        return full or self.clock() - self._first_at >= self.config.flush_seconds

    # ------------------------------------------------------------------ flushing
    def flush(self, *, force: bool = False) -> None:
        """Close the pending batch: project it and hand it to the writer thread, queued behind
        the batch in flight; then wait for that one and commit its offsets. So one batch is in
        flight between flushes, and the writer goes from one batch's inserts to the next without
        waiting for the consumer's thread to wake up and commit (an offset commit is a broker
        round trip: 2-20 ms a batch that the inserts, the round's critical path, stood still).

        SLA events of tickets not seen yet stay pending (with later SLA events of the same
        ticket) for up to ``max_defer_seconds`` unless ``force``; their partitions are committed
        up to the first of them.
        Call :meth:`finish` to also wait for the last write and its commit."""
        if self._first_at is None:
            return
        pending = self._pending
        wanted = self.projection.missing_data(pending)
        if any(wanted):
            # the state rows in flight hold a ticket id as str (the datum path) or as its UTF-8
            # bytes (projections.fused): look for both (lookups are rare, rows are not)
            ids: set[str | bytes] = {*wanted[0], *wanted[1]}
            ids.update([tid.encode() for tid in wanted[0] | wanted[1]])
            if self._state_engine is None or any(
                not written.isdisjoint(ids) for *_, written in self._inflight
            ):
                self._drain()  # the state may be in the batch being written
            try:
                self._retry("load_state", lambda: self.projection.load_state_data(pending, wanted))
            finally:
                if self._state_engine is not None:
                    # no idle second connection (lookups are rare; it reconnects, ~1-3 ms)
                    self._state_engine.close()
        items, deferred = self._order(pending, force=force)
        batch = self.projection.project_data(items, datetime.now(UTC).replace(microsecond=0))
        metrics.DUPLICATES.inc(batch.dropped)
        held = {(src[0], src[1]): src[2] for _, _, src in reversed(deferred)}
        offsets = {tp: held.get((tp.topic, tp.partition), off) for tp, off in self._offsets.items()}
        dead = self._dead
        self._pending, self._dead = deferred, 0
        self._offsets = {
            tp: o for tp, o in self._offsets.items() if (tp.topic, tp.partition) in held
        }
        self._first_at = self.clock() if deferred else None
        written: set[str | bytes] = set()
        if self._state_engine is not None:
            written = {row[0] for row in batch.rows["tickets"]}
            written.update(row[0] for row in batch.rows["sla_timers"])
        # queued behind the batch in flight (one writer thread: in order), which it must
        # follow only if that one was written (see _write)
        after = self._inflight[-1][0] if self._inflight else None
        self._inflight.append(
            (self._pool.submit(self._write, batch, after), offsets, dead, written)
        )
        while len(self._inflight) > (1 if self.pipelined else 0):
            self._drain_one()

    def finish(self) -> None:
        """Flush everything pending and wait until it is written and committed — SLA events
        still waiting for their ticket too, without its channel: for a replay read to its end
        (rebuild, benchmarks), where a ticket that has not come will not."""
        self.flush(force=True)
        self._drain()

    def write_ready(self) -> None:
        """Flush what is pending and wait until it is written (and committed, outside a
        rebalance); SLA events waiting for their ticket stay pending, and their partitions'
        commits stay before them. For a stop or a rebalance in a running projector: their ticket
        may still come, and an SLA event projected without its ticket's channel would keep that
        channel for good (a replay of it is dropped by its timer version)."""
        self.flush()
        self._drain()

    def _drain(self) -> None:
        """Wait for the batches in flight; after each, flush its dead letters and commit its
        offsets (oldest first)."""
        while self._inflight:
            self._drain_one()

    def _drain_one(self) -> None:
        """Wait for the oldest batch in flight; then flush its dead letters and commit its
        offsets."""
        future, offsets, dead, _ = self._inflight.pop(0)
        future.result()  # re-raises Stopped (or a bug) in the consumer's thread
        if dead:
            self.producer.flush()
            metrics.DEAD_LETTERS.inc(dead)
        if self.commit_offsets and offsets:
            self._commit(offsets)
        self._update_lag()

    def _write(self, batch: Batch, after: Future[None] | None = None) -> None:
        """Insert ``batch`` (writer thread), retrying until ClickHouse acknowledges it —
        unless ``after``, the batch handed over before it (done: one writer, in order), was not
        written: then nothing, since the state rows of ``batch`` would claim that batch's events
        projected (their replay would be dropped; see projections.rows)."""
        if after is not None and (after.cancelled() or after.exception() is not None):
            raise Stopped("not written: the batch before it was not written (both are replayed)")
        if not batch.row_count():
            return
        started = time.perf_counter()
        self._retry("insert", lambda: self._insert(batch))
        metrics.INSERT_SECONDS.observe(time.perf_counter() - started)
        metrics.BATCHES.inc()
        self.rows_written += batch.row_count()
        if batch.newest_event_ms is not None:
            metrics.FRESHNESS.set(max(0.0, time.time() - batch.newest_event_ms / 1000))

    def _order(self, pending: list[Item], *, force: bool) -> tuple[list[Item], list[Item]]:
        """Ticket events first (stable, so each partition keeps its order), then the rest;
        split off SLA events whose ticket is unknown, with the later SLA events of the same
        ticket (a timer's facts apply in order). SLA events of other tickets behind them go
        ahead: the partition's commit stays at the first deferred one, and a replay from there
        drops what was already projected (timer versions)."""
        first: list[Item] = []
        rest: list[Item] = []
        for item in pending:
            (first if item[0] in _TICKET_TYPES else rest).append(item)
        if first:  # the topic(s) ticket events come from (one, in a deployment)
            self._ticket_topics.update((first[0][2][0], first[-1][2][0]))
        # a datum, or projections.fused's flat tuple (ticket id first)
        in_batch = {d[0] if d.__class__ is tuple else d["ticket_id"] for _, d, _ in first}
        ready = first  # ticket events never wait
        deferred: list[Item] = []
        blocked: set[str] = set()  # tickets with a deferred SLA event
        released: set[str] = set()  # tickets whose SLA events waited long enough
        since = self._deferred_since
        knows = self.projection.knows_ticket
        now = self.clock()
        for item in rest:
            cls, d, src = item
            if cls in _TIMER_TYPES:
                tid = d[0] if d.__class__ is tuple else d["ticket_id"]
                if blocked and tid in blocked:
                    deferred.append(item)
                    continue
                if not force and tid not in in_batch and tid not in released and not knows(tid):
                    waited = now - since.setdefault(src, now)
                    if waited < self.config.max_defer_seconds or not self._ticket_stream_past(src):
                        blocked.add(tid)
                        deferred.append(item)
                        continue
                    released.add(tid)
                if since:
                    since.pop(src, None)
                    self._release_targets.pop(src, None)
            ready.append(item)
        return ready, deferred

    def _ticket_stream_past(self, src: Where) -> bool:
        """May the SLA event read at ``src``, which has waited ``max_defer_seconds`` for its
        ticket, go without it? Only once its ticket's events cannot be in Kafka unread: every
        ticket-event partition of its partition number (co-partitioned by ticket id) read up to
        the offset it had reached when the wait ran out. The ticket's events were written before
        the SLA event that follows from them, so they are below that offset if anywhere.

        Waiting on time alone projected SLA events without their ticket's channel, for good,
        whenever the ticket partition lagged more than ``max_defer_seconds`` behind (a backlog
        of 300,000 events caught up from scratch: 38 tickets' timers without a channel).
        Unknown (no ticket-event topic assigned or seen, a consumer without high-water marks, a
        partition not assigned here): it may go, as before."""
        targets = self._release_targets.get(src)
        if targets is None:
            highwater = getattr(self.consumer, "highwater", None)
            if highwater is None:
                return True
            from kafka.structs import TopicPartition

            try:
                assigned = self.consumer.assignment()
            except Exception:
                return False
            # ticket events' topic by its name (or a copy named <name>.<suffix>), and any topic
            # ticket events were read from: the SLA topic may be read far ahead of it
            topics = self._ticket_topics | {
                tp.topic
                for tp in assigned
                if tp.topic == TICKET_TOPIC or tp.topic.startswith(TICKET_TOPIC + ".")
            }
            if not topics:
                return True
            targets = {}
            for topic in topics:
                tp = TopicPartition(topic, src[1])
                if tp not in assigned:
                    continue  # not read here: nothing to wait for
                end = highwater(tp)
                if end is None:
                    return False  # not fetched yet: ask again at the next flush
                targets[tp] = end
            self._release_targets[src] = targets
        for tp, end in targets.items():
            read = self._read_next.get(tp)
            if read is None:
                try:
                    read = self.consumer.position(tp)
                except Exception:  # e.g. on kafka-python's IO thread (rebalance): later
                    return False
            if read is None or read < end:
                return False
        return True

    def _insert(self, batch: Batch) -> None:
        for table in TABLES:  # events first: see projections.rows
            data = batch.column_tuples(table)
            if data:
                self.engine.insert(f"{self.config.db}.{table}", TABLE_COLUMNS[table], data)
        for table in TABLES:
            metrics.ROWS_INSERTED.labels(table).inc(len(batch.rows[table]))

    def _commit(self, offsets: dict[Any, int]) -> None:
        from kafka.errors import CommitFailedError
        from kafka.structs import OffsetAndMetadata

        if self._in_rebalance:
            log.info(
                "rebalance: %d partition(s) written, not committed (replayed, deduplicated)",
                len(offsets),
            )
            return
        try:
            self.consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
        except CommitFailedError as exc:
            # The group moved on (e.g. we waited for ClickHouse longer than
            # max.poll.interval.ms): the records come again and are deduplicated.
            log.warning("offset commit failed, the batch will be replayed: %s", exc)
            self.projection.forget()

    def _retry(self, stage: str, fn: Callable[[], T]) -> T:
        delay = 0.1
        attempt = 0
        while True:
            try:
                out = fn()
                metrics.CLICKHOUSE_UP.set(1)
                if attempt:
                    log.warning("ClickHouse %s succeeded after %d retries", stage, attempt)
                return out
            except ClickHouseError as exc:
                attempt += 1
                metrics.CLICKHOUSE_UP.set(0)
                metrics.RETRIES.labels(stage).inc()
                log.warning(
                    "ClickHouse %s failed (attempt %d), retrying in %.1f s; the batch is kept: %s",
                    stage, attempt, delay, exc,
                )  # fmt: skip
                if self.stop.wait(delay):
                    raise Stopped(f"stopped while retrying the ClickHouse {stage}") from exc
                delay = min(delay * 2, self.config.retry_max_seconds)

    def _update_lag(self) -> None:
        by_topic: dict[str, int] = {}
        try:
            for tp in self.consumer.assignment():
                high = self.consumer.highwater(tp)
                if high is None:
                    continue
                by_topic[tp.topic] = by_topic.get(tp.topic, 0) + max(
                    0, high - self.consumer.position(tp)
                )
        except Exception:  # lag is best effort; never stop projecting for it
            return
        for topic, lag in by_topic.items():
            metrics.LAG.labels(topic).set(lag)

    # ------------------------------------------------------------------ running
    def run(self) -> None:
        """Project until ``stop`` is set; flushes what is pending on the way out."""
        try:
            while not self.stop.is_set():
                self.poll_once()
            self.write_ready()  # SLA events still waiting are read again by the next run
        except Stopped:
            log.info("projector stopped; the unflushed batch will be replayed")
        finally:
            self.close()

    def close(self) -> None:
        """Stop the writer thread (after the batch in flight, if any)."""
        self._pool.shutdown(wait=True)
        if self._state_engine is not None:
            self._state_engine.close()

    def on_revoked(self, _partitions: Iterable[Any]) -> None:
        """Rebalance: write what is pending (not SLA events waiting for their ticket: see
        :meth:`write_ready`), forget cached state (another projector may write it now).

        No offset commit here: kafka-python 3 runs the listener on its IO thread, where a blocking
        ``commit`` raises (it failed the projector on the first rebalance). The written records'
        offsets stay uncommitted, so whoever owns the partitions next reads them again and the
        inserts deduplicate by event id — the same path as a crash between insert and commit.
        Pending records must be written, not dropped: kafka-python 3.0 keeps the read position
        of a partition that stays assigned, so they would not be read again."""
        self._in_rebalance = True
        try:
            self.write_ready()
        finally:
            self._in_rebalance = False
            self.projection.forget()

    def on_assigned(self, partitions: Iterable[Any]) -> None:
        """Forget cached state; drop the waiting SLA events of partitions no longer assigned
        (their commits stayed before them: their new owner reads them again)."""
        self.projection.forget()
        kept = {(tp.topic, tp.partition) for tp in partitions}
        pending = [item for item in self._pending if (item[2][0], item[2][1]) in kept]
        if len(pending) != len(self._pending):
            log.info(
                "rebalance: %d waiting SLA event(s) of partitions now elsewhere left to their owner",
                len(self._pending) - len(pending),
            )
        self._pending = pending
        self._offsets = {
            tp: o for tp, o in self._offsets.items() if (tp.topic, tp.partition) in kept
        }
        self._deferred_since = {w: t for w, t in self._deferred_since.items() if w[:2] in kept}
        self._release_targets = {
            w: t for w, t in self._release_targets.items() if w in self._deferred_since
        }
        self._read_next = {
            tp: o for tp, o in self._read_next.items() if (tp.topic, tp.partition) in kept
        }
        if not pending:
            self._first_at = None
