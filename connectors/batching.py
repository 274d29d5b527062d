"""Group concurrent webhook requests' records into one Kafka batch per partition.

``AIOKafkaProducer.send`` costs tens of microseconds of Python per record (a coroutine, the
partitioner, the accumulator, a future and a ``RecordMetadata`` per record, a callback per ack),
a large share of the gateway's CPU per webhook. :class:`BatchingProducer` appends each record to
an open ``BatchBuilder`` of its partition (``producer.create_batch()``) and hands the open
batches to the producer (``send_batch``) in *rounds*, one per broker (the partitions it leads): a
broker's next round starts when its previous one is settled, so records that arrive while Kafka
works on a round wait for the next one (at most one round trip) and go out together — the same
one-request-in-flight rhythm aiokafka's own sender keeps per broker, with one future per batch
instead of one per record. A slow or unreachable broker holds back only its own partitions.

The guarantee is unchanged: ``produce`` returns only once every one of its records is in a batch
Kafka acknowledged (the producer's ``acks``, here ``all``), and raises ``TimeoutError`` when that
did not happen within the caller's budget, or the ``KafkaError`` that failed a batch. A record
whose caller gave up (timeout) stays in its batch: a retry of the same message (same dedup id)
waits for that delivery instead of producing a second copy (:meth:`BatchingProducer.pending`).
Records of one key keep their order: a key always maps to one partition, a batch keeps arrival
order, a broker's round starts only after its previous one is settled, and a partition's next
batch is sent only once the previous one is settled (a partition with a batch in flight keeps
gathering, even if its leader moved to a broker that is free).

A round is sent by ``leanproduce.LeanSender`` — one produce request per broker written from the
round's batches, with the producer's client, producer id, sequence numbers, ``acks`` and
retries — or, where that does not apply (another aiokafka version, …), by aiokafka's
``send_batch``, which also mutes a partition until its batch is acknowledged.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from connectors.leanproduce import LeanSender, lean_sender

log = logging.getLogger(__name__)

Partitioner = Callable[[bytes | None, list[int], list[int]], int]
_NO_HEADERS: list[tuple[str, bytes]] = []  # never changed


class _Batch:
    """One partition's records of one round, and who waits for them."""

    __slots__ = ("builder", "error", "ids", "node", "partition", "settled", "waiters")

    def __init__(self, builder: Any, partition: int) -> None:
        self.builder = builder
        self.partition = partition
        self.node = -1  # the broker it was sent to (its round's key)
        self.ids: list[str] = []  # dedup ids of the records, in order
        self.waiters: list[_Waiter] = []
        self.settled = False
        self.error: BaseException | None = None


class _Waiter:
    """One ``produce`` call: done when all its batches are acknowledged, or one failed."""

    __slots__ = ("future", "remaining")

    def __init__(self, future: asyncio.Future[None], remaining: int) -> None:
        self.future = future
        self.remaining = remaining


class _Deadlines:
    """Callers' deadlines for one budget, in arrival order (so also in deadline order), and one
    timer at the earliest. A timer per call costs more: asyncio keeps timers in a heap ordered
    by a Python ``__lt__``, and a cancelled timer stays in it until its time comes."""

    __slots__ = ("armed", "queue")

    def __init__(self) -> None:
        self.queue: collections.deque[tuple[float, asyncio.Future[None]]] = collections.deque()
        self.armed = False

    def add(
        self, loop: asyncio.AbstractEventLoop, deadline: float, f: asyncio.Future[None]
    ) -> None:
        self.queue.append((deadline, f))
        if not self.armed:
            self.armed = True
            loop.call_at(deadline, self.expire, loop)

    def expire(self, loop: asyncio.AbstractEventLoop) -> None:
        """Fail every waiting caller whose deadline has passed; re-arm for the next one."""
        now = loop.time()
        queue = self.queue
        while queue and (queue[0][1].done() or queue[0][0] <= now):
            _, future = queue.popleft()
            if not future.done():
                future.set_exception(TimeoutError())
        if queue:
            loop.call_at(queue[0][0], self.expire, loop)
        else:
            self.armed = False


class BatchingProducer:
    """Records of concurrent callers, produced in per-partition batches (see the module doc).

    ``on_settled(ids, error)`` is called once per batch with its records' dedup ids when Kafka
    acknowledged it (``error`` None) or it failed."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        partitioner: Partitioner,
        *,
        on_settled: Callable[[list[str], BaseException | None], None],
        linger: float = 0.0,
        lean: bool = True,
    ) -> None:
        self.producer = producer
        # None: rounds go through aiokafka's send_batch (leanproduce.py says when)
        self._lean: LeanSender | None = lean_sender(producer) if lean else None
        self.topic = topic
        self.partitioner = partitioner
        self.on_settled = on_settled
        self.linger = linger  # seconds a round waits to gather records (0: the next loop turn)
        self._open: dict[int, _Batch] = {}  # partition → batch gathering records
        self._full: list[_Batch] = []  # batches that reached the size limit, not yet sent
        self._pending: dict[str, _Batch] = {}  # dedup id → batch not yet settled
        # Broker (leader node id) → batches of its round in flight not yet settled. A round is
        # per broker, as aiokafka's requests are: a slow or dead broker holds back only the
        # partitions it leads.
        self._busy: dict[int, int] = {}
        # Partition → its batches sent and not yet settled: its next batch waits for them.
        self._flying: dict[int, int] = {}
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None  # the running loop, once known
        self._tasks: set[asyncio.Task[None]] = set()
        self._deadlines: dict[float, _Deadlines] = {}  # budget (s) → callers waiting with it
        self._partitions: list[int] = []
        self._partitions_until = 0.0  # loop time after which _partitions is read again
        self.rounds = 0  # produce rounds started (each: one batch per partition with records)
        self.records = 0  # records appended

    def pending(self, dedup_id: str) -> bool:
        """True while a record with this dedup id is gathered or in flight (not yet settled)."""
        return dedup_id in self._pending

    async def produce(self, records: Iterable[tuple[str, bytes, bytes]], budget: float) -> int:
        """Produce ``(dedup id, key, value)`` records; return once Kafka acknowledged them all.

        A record whose dedup id is already pending is not appended again: this call waits for
        that delivery. Returns how many records this call appended. Raises ``TimeoutError``
        after ``budget`` seconds, or the error that failed a batch (a ``KafkaError``)."""
        loop = self._loop
        if loop is None:  # get_running_loop costs a getpid() system call on every call
            loop = self._loop = asyncio.get_running_loop()
        now = loop.time()
        deadline = now + budget
        partitions = self._partitions
        if now >= self._partitions_until:  # re-read the producer's metadata each second
            known = self.producer.client.cluster.partitions_for_topic(self.topic)
            if known is None:  # no metadata yet (first request, broker away): wait for it
                async with asyncio.timeout(budget):
                    known = await self.producer.partitions_for(self.topic)
            partitions = self._partitions = sorted(known)
            self._partitions_until = loop.time() + 1.0
        batches: list[_Batch] = []
        appended = 0
        for dedup_id, key, value in records:
            batch = self._pending.get(dedup_id)
            if batch is None:
                batch = self._append(key, value, partitions)
                batch.ids.append(dedup_id)
                self._pending[dedup_id] = batch
                appended += 1
            if batch not in batches:
                batches.append(batch)
        if not batches:
            return 0
        future: asyncio.Future[None] = loop.create_future()
        waiter = _Waiter(future, len(batches))
        for batch in batches:
            batch.waiters.append(waiter)
        if not self._scheduled:
            self._scheduled = True
            if self.linger > 0:
                loop.call_later(self.linger, self._start_round)
            else:
                loop.call_soon(self._start_round)
        deadlines = self._deadlines.get(budget)
        if deadlines is None:
            deadlines = self._deadlines[budget] = _Deadlines()
        deadlines.add(loop, deadline, future)
        await future
        return appended

    def _append(self, key: bytes, value: bytes, partitions: list[int]) -> _Batch:
        self.records += 1
        partition = self.partitioner(key, partitions, partitions)
        batch = self._open.get(partition)
        if batch is None:
            batch = self._open[partition] = _Batch(self._new_builder(), partition)
        if not self._add(batch, key, value):
            # Full (the producer's max_batch_size): it goes in this round as it is; a new batch
            # takes the record (the first record of a batch always fits, whatever its size).
            self._full.append(batch)
            batch = self._open[partition] = _Batch(self._new_builder(), partition)
            self._add(batch, key, value)
        return batch

    def _new_builder(self) -> Any:
        lean = self._lean
        return self.producer.create_batch() if lean is None else lean.new_builder()

    def _add(self, batch: _Batch, key: bytes, value: bytes) -> bool:
        """Append a record to the batch (timestamp: now); False when it is full."""
        if self._lean is None:
            return batch.builder.append(key=key, value=value, timestamp=None) is not None
        # aiokafka's record batch builder: offset within the batch = records already in it
        return batch.builder.append(len(batch.ids), None, key, value, _NO_HEADERS) is not None

    # ------------------------------------------------------------------ rounds
    def _leader(self, partition: int) -> int:
        """The partition's leader now (-1 when unknown or unavailable: a group of its own)."""
        leader = self.producer.client.cluster.leader_for_partition(
            TopicPartition(self.topic, partition)
        )
        return -1 if leader is None else int(leader)

    def _start_round(self) -> None:
        """Send the gathered batches of every broker that has no round in flight."""
        self._scheduled = False
        if not (self._open or self._full):
            return
        rounds: dict[int, list[_Batch]] = {}
        # A partition's full batches are older than its open one: they go first, in order.
        full: list[_Batch] = []
        flying = self._flying
        for batch in self._full:
            node = self._leader(batch.partition)
            if node in self._busy or batch.partition in flying:
                full.append(batch)
            else:
                rounds.setdefault(node, []).append(batch)
        held = {batch.partition for batch in full}
        waiting: dict[int, _Batch] = {}
        for partition, batch in self._open.items():
            node = self._leader(partition)
            if node in self._busy or partition in held or partition in flying:
                waiting[partition] = batch  # keeps gathering until its broker's round is done
            else:
                rounds.setdefault(node, []).append(batch)
        self._open = waiting
        self._full = full
        loop = asyncio.get_running_loop()
        for node, batches in rounds.items():
            for batch in batches:
                batch.node = node
                flying[batch.partition] = flying.get(batch.partition, 0) + 1
            self._busy[node] = len(batches)
            self.rounds += 1
            task = loop.create_task(self._send(batches))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, batches: list[_Batch]) -> None:
        if self._lean is not None:
            await self._send_lean(self._lean, batches)
            return
        # send_batch returns once the batch is queued (no wait while aiokafka has the topic's
        # metadata and no earlier batch of ours is queued: a round never overlaps the next), so
        # the sender drains all partitions of the round into one produce request per broker.
        for batch in batches:
            batch.builder.close()
            try:
                delivered = await self.producer.send_batch(
                    batch.builder, self.topic, partition=batch.partition
                )
            except Exception as exc:  # KafkaError (metadata timeout, closed producer, …)
                self._settle(batch, exc)
                continue
            except asyncio.CancelledError:
                self._settle(batch, KafkaError("the gateway is shutting down"))
                raise
            delivered.add_done_callback(functools.partial(self._delivered, batch))

    async def _send_lean(self, lean: LeanSender, batches: list[_Batch]) -> None:
        # A produce request holds one batch per partition: a partition's full batches and its
        # open one (in that order in ``batches``) go in successive requests ("waves").
        waves: list[list[_Batch]] = []
        seen: dict[int, int] = {}
        for batch in batches:
            k = seen.get(batch.partition, 0)
            seen[batch.partition] = k + 1
            if k == len(waves):
                waves.append([])
            waves[k].append(batch)
        for i, wave in enumerate(waves):
            try:
                outcome = await lean.deliver(
                    self.topic, [(b.partition, b.builder, len(b.ids)) for b in wave]
                )
            except asyncio.CancelledError:
                for rest in waves[i:]:
                    for batch in rest:
                        self._settle(batch, KafkaError("the gateway is shutting down"))
                raise
            except Exception as exc:  # a bug: fail the records (503, retried), keep going
                log.exception("lean produce of %d batch(es) failed", len(wave))
                error = exc if isinstance(exc, KafkaError) else KafkaError(repr(exc))
                for rest in waves[i:]:
                    for batch in rest:
                        self._settle(batch, error)
                return
            for batch in wave:
                self._settle(batch, outcome.get(batch.partition, KafkaError("no outcome")))

    def _delivered(self, batch: _Batch, future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            self._settle(batch, KafkaError("the delivery was cancelled"))
        else:
            self._settle(batch, future.exception())

    def _settle(self, batch: _Batch, error: BaseException | None) -> None:
        if batch.settled:
            return
        batch.settled = True
        batch.error = error
        left = self._flying.get(batch.partition, 0) - 1
        if left > 0:
            self._flying[batch.partition] = left
        else:
            self._flying.pop(batch.partition, None)
        for dedup_id in batch.ids:
            if self._pending.get(dedup_id) is batch:
                del self._pending[dedup_id]
        try:
            self.on_settled(batch.ids, error)
        except Exception:  # a bug in the callback must not stall every later round
            log.exception("on_settled failed for a batch of %d records", len(batch.ids))
        for waiter in batch.waiters:
            future = waiter.future
            if future.done():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                waiter.remaining -= 1
                if waiter.remaining == 0:
                    future.set_result(None)
        left = self._busy[batch.node] - 1
        if left:
            self._busy[batch.node] = left
        else:
            del self._busy[batch.node]
            if self._open or self._full:
                self._start_round()

    async def flush(self, timeout: float) -> None:
        """Wait (up to ``timeout`` seconds) until every gathered record is settled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (self._busy or self._open or self._full) and loop.time() < deadline:
            if not self._scheduled:
                self._start_round()
            await asyncio.sleep(0.01)
