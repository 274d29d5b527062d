"""One Kafka produce request per round, written straight from the round's record batches.

aiokafka's ``send_batch`` path costs ~20-30 µs of the gateway's CPU per webhook at ``wrk -c32``
(rounds of ~16-20 records over 6 partitions; CPU-time sampling of the server): per batch a
``MessageBatch`` with two futures and an ``asyncio.shield``, a wake-up of the sender task (an
``asyncio.wait`` over every waiter each turn), a task per produce request, and the request
encoded and the response decoded through aiokafka's generic protocol structs.

:class:`LeanSender` keeps what matters of aiokafka and drops the rest. It still uses the
producer's own client (connections, metadata, ``ApiVersions``), its producer id and epoch and its
per-partition sequence numbers (the idempotent producer's transaction manager, exactly as
aiokafka's accumulator assigns them when it drains a batch), its ``acks`` (here ``all``),
request timeout and retry backoff, and its ``BatchBuilder`` record batches. It writes the
ProduceRequest (v3-v7: the versions aiokafka 0.14 speaks) and reads the ProduceResponse itself,
and handles errors as aiokafka's ``SendProduceReqHandler`` does for an idempotent producer:

- no error, or ``DuplicateSequenceNumber`` (the broker already has this batch): delivered;
- a retriable error (connection lost, node not ready, request timed out, not leader, …): the
  same bytes — same producer id, epoch and sequence — are sent again after the backoff, to the
  partition's leader then, for as long as it takes (aiokafka's idempotent producer does not
  expire a batch it sent; the broker drops a copy it already wrote), so a retry never
  duplicates a record;
- a partition with no leader for the request timeout: its batch fails (as aiokafka expires
  it); if it never went out, its sequence numbers are given back (aiokafka keeps them used,
  which leaves every later batch of the partition out of order);
- any other error: the batch fails with it.

:func:`lean_sender` returns None — the caller keeps aiokafka's ``send_batch`` path — for an
aiokafka other than the versions this was checked with (``CHECKED_VERSIONS``; it reads the
producer's ``_client``, ``_sender`` and ``_txn_manager``), a producer that is not idempotent, is
transactional, or has ``acks=0``. ``tests/unit/connectors/test_leanproduce.py`` compares the
bytes with aiokafka's own ProduceRequest and ProduceResponse structs.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Sequence
from io import BytesIO
from typing import Any

import aiokafka
import aiokafka.errors as Errors
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.client import ConnectionGroup
from aiokafka.conn import CloseReason
from aiokafka.errors import KafkaError
from aiokafka.record.default_records import DefaultRecordBatchBuilder

log = logging.getLogger(__name__)

# aiokafka versions whose producer internals (_client, _sender, _txn_manager, BatchBuilder's
# _set_producer_state/_build) and connection protocol this was written against and tested with.
CHECKED_VERSIONS = frozenset({"0.14.0"})

PRODUCE = 0  # api key
MIN_VERSION, MAX_VERSION = 3, 7  # v3: record batches, transactional id; v8+: aiokafka has none
_DUPLICATE = Errors.DuplicateSequenceNumber.errno

_HEADER = struct.Struct(">hhih")  # api key, api version, correlation id, client id length
_HEAD = struct.Struct(">hhi")  # transactional id (null: -1), acks, timeout (ms)
_INT32 = struct.Struct(">i")
_PARTITION = struct.Struct(">ii")  # partition, records length
_RESULT = struct.Struct(">ihq")  # partition, error code, base offset


class _ResponseHeader:
    __slots__ = ("correlation_id",)

    def __init__(self, correlation_id: int) -> None:
        self.correlation_id = correlation_id


class _RequestHeader:
    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def encode(self) -> bytes:
        return self.data


class _Response:
    """A ProduceResponse of one version: ``decode`` gives ``{(topic, partition): error code}``."""

    __slots__ = ("rest",)

    def __init__(self, version: int) -> None:
        # after (partition, error, offset): timestamp (v2+), log start offset (v5+)
        self.rest = 8 + (8 if version >= 5 else 0)

    def decode(self, buf: BytesIO) -> dict[tuple[str, int], int]:
        data = buf.getvalue()
        pos = buf.tell()
        out: dict[tuple[str, int], int] = {}
        (topics,) = _INT32.unpack_from(data, pos)
        pos += 4
        for _ in range(topics):
            (n,) = struct.unpack_from(">h", data, pos)
            topic = bytes(data[pos + 2 : pos + 2 + n]).decode("utf-8")
            pos += 2 + n
            (partitions,) = _INT32.unpack_from(data, pos)
            pos += 4
            for _ in range(partitions):
                partition, error, _offset = _RESULT.unpack_from(data, pos)
                pos += 14 + self.rest
                out[(topic, partition)] = error
        return out


class _Prepared:
    """What ``AIOKafkaConnection.send`` and ``_handle_frame`` use of a prepared request."""

    API_KEY = PRODUCE
    FLEXIBLE_VERSION = False

    def __init__(self, version: int, body: bytes) -> None:
        self.API_VERSION = version
        self.RESPONSE_TYPE = _Response(version)
        self.body = body

    def build_request_header(self, correlation_id: int, client_id: str) -> _RequestHeader:
        client = client_id.encode("utf-8")
        return _RequestHeader(
            _HEADER.pack(PRODUCE, self.API_VERSION, correlation_id, len(client)) + client
        )

    def encode(self) -> bytes:
        return self.body

    def parse_response_header(self, buf: BytesIO) -> _ResponseHeader:
        return _ResponseHeader(_INT32.unpack(buf.read(4))[0])

    def __repr__(self) -> str:  # aiokafka's debug log line
        return f"ProduceRequest_v{self.API_VERSION}(lean, {len(self.body)} bytes)"


class ProduceRound:
    """A ProduceRequest of one topic's record batches (one per partition), for
    ``AIOKafkaClient.send``: the version is chosen per connection, as aiokafka's requests do."""

    API_KEY = PRODUCE
    required_acks: int

    def __init__(
        self, topic: str, acks: int, timeout_ms: int, batches: Sequence[tuple[int, bytes]]
    ) -> None:
        self.required_acks = acks
        self.batches = batches
        name = topic.encode("utf-8")
        parts = [
            _HEAD.pack(-1, acks, timeout_ms),
            _INT32.pack(1),
            struct.pack(">h", len(name)),
            name,
            _INT32.pack(len(batches)),
        ]
        for partition, records in batches:
            parts.append(_PARTITION.pack(partition, len(records)))
            parts.append(records)
        self.body = b"".join(parts)

    def prepare(self, versions: dict[int, tuple[int, int]]) -> _Prepared:
        low, high = versions.get(PRODUCE, (0, -1))
        version = min(high, MAX_VERSION)
        if version < max(low, MIN_VERSION):
            raise Errors.IncompatibleBrokerVersion(
                f"the broker speaks ProduceRequest v{low}-v{high}; the gateway's lean produce "
                f"path needs v{MIN_VERSION}-v{MAX_VERSION}"
            )
        return _Prepared(version, self.body)


def lean_sender(producer: AIOKafkaProducer) -> LeanSender | None:
    """A :class:`LeanSender` for this (started) producer, or None (logged) when it does not
    qualify: see the module doc."""
    why = None
    txn = getattr(producer, "_txn_manager", None)
    sender = getattr(producer, "_sender", None)
    if aiokafka.__version__ not in CHECKED_VERSIONS:
        why = f"aiokafka {aiokafka.__version__} is not one it was checked with"
    elif txn is None or sender is None:
        why = "the producer is not idempotent"
    elif txn.transactional_id is not None:
        why = "the producer is transactional"
    elif sender._acks == 0:
        why = "acks=0"
    elif producer._key_serializer is not None or producer._value_serializer is not None:
        why = "the producer has serializers"
    if why is not None:
        log.info("lean produce path off (%s): aiokafka's send_batch is used", why)
        return None
    return LeanSender(producer)


class LeanSender:
    """Delivers a topic's record batches (``BatchBuilder``s, at most one per partition) in one
    produce request per leader; see the module doc."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._client: Any = producer.client
        # the client's connections by (node, group): read, never changed, here
        self._conns: dict[tuple[int, ConnectionGroup], Any] = getattr(self._client, "_conns", {})
        sender: Any = producer._sender
        self._txn: Any = producer._txn_manager
        self._acks: int = sender._acks
        self._timeout_ms: int = sender._request_timeout_ms
        self._backoff: float = sender._retry_backoff
        accumulator: Any = producer._message_accumulator
        self._batch_size: int = accumulator._batch_size
        self._compression: int = accumulator._compression_type

    def new_builder(self) -> Any:
        """An empty record batch (v2) of the producer's batch size and compression, for
        ``append(offset, timestamp, key, value, headers)``: aiokafka's C builder without the
        ``BatchBuilder`` wrapper around it (``create_batch``), which adds Python calls to every
        append."""
        return DefaultRecordBatchBuilder(
            2,
            self._compression,
            is_transactional=0,
            producer_id=-1,
            producer_epoch=-1,
            base_sequence=0,
            batch_size=self._batch_size,
        )

    async def deliver(
        self, topic: str, batches: Sequence[tuple[int, Any, int]]
    ) -> dict[int, BaseException | None]:
        """Send ``(partition, builder from new_builder, number of records)`` (distinct
        partitions; each builder is built here, once) and return each partition's outcome:
        None once Kafka acknowledged its batch (``acks``), else the error that failed it.
        Retriable errors are retried (see the module doc), so this returns only once every
        batch is acknowledged or failed for good; a partition that has no leader for the
        request timeout fails, as aiokafka expires such a batch."""
        txn = self._txn
        if not txn.has_pid():
            await txn.wait_for_pid()
        pid, epoch = txn.producer_id, txn.producer_epoch
        pending: dict[int, bytes] = {}
        counts: dict[int, int] = {}
        for partition, builder, count in batches:
            # The sequence is taken when the batch is first sent, as aiokafka's _pop_batch
            # does; a retry sends the same bytes (same sequence) again.
            tp = TopicPartition(topic, partition)
            builder.set_producer_state(pid, epoch, txn.sequence_number(tp))
            txn.increment_sequence_number(tp, count)
            counts[partition] = count
            pending[partition] = bytes(builder.build())
        tried: set[int] = set()  # partitions whose batch went out in a request at least once
        outcome: dict[int, BaseException | None] = {}
        expires = time.monotonic() + self._timeout_ms / 1000
        while pending:
            nodes: dict[int, list[int]] = {}
            leader_for = self._client.cluster.leader_for_partition
            leaderless: list[tuple[int, int | None]] = []
            for partition in pending:
                leader = leader_for(TopicPartition(topic, partition))
                if leader is None or leader == -1:
                    leaderless.append((partition, leader))
                else:
                    nodes.setdefault(leader, []).append(partition)
            if nodes:
                tried.update(pending.keys() - {p for p, _ in leaderless})
                requests = [
                    self._request(node, topic, {p: pending[p] for p in parts})
                    for node, parts in nodes.items()
                ]
                if len(requests) == 1:
                    results = [await requests[0]]
                else:
                    results = await asyncio.gather(*requests)
                retry = False
                for result in results:
                    for partition, error in result.items():
                        if isinstance(error, _Retry):
                            retry = True
                        else:
                            outcome[partition] = error
                            del pending[partition]
                if retry and pending:
                    await asyncio.sleep(self._backoff)
            if leaderless:
                if time.monotonic() >= expires:
                    for partition, leader in leaderless:
                        if partition not in tried:
                            # The broker never saw this batch: give its sequence numbers back,
                            # or the partition's next batch would be out of order for good (a
                            # partition's next batch is only built once this one is settled).
                            tp = TopicPartition(topic, partition)
                            txn.increment_sequence_number(tp, -counts[partition])
                        outcome[partition] = (
                            Errors.NotLeaderForPartitionError()
                            if leader is None
                            else Errors.LeaderNotAvailableError()
                        )
                        del pending[partition]
                    continue
                # a partition without a leader: refresh metadata, then try again
                await self._client.force_metadata_update()
                await asyncio.sleep(self._backoff)
        return outcome

    async def _request(
        self, node: int, topic: str, data: dict[int, bytes]
    ) -> dict[int, BaseException | _Retry | None]:
        request = ProduceRound(topic, self._acks, self._timeout_ms, list(data.items()))
        try:
            conn = self._conns.get((node, ConnectionGroup.DEFAULT))
            if conn is not None and conn.connected():
                # AIOKafkaClient.send without its two coroutine layers (ready → _get_conn) for
                # the connection it would return: the same write, correlation id and timeout.
                try:
                    response = await conn.send(request)
                except TimeoutError as exc:  # as client.send: renew the connection next time
                    conn.close(reason=CloseReason.CONNECTION_TIMEOUT)
                    raise Errors.RequestTimedOutError() from exc
            else:  # no connection yet, or a broken one: the client (re)connects
                response = await self._client.send(node, request)
        except KafkaError as err:
            log.warning("produce request to node %s failed: %r", node, err)
            if err.invalid_metadata:
                self._client.force_metadata_update()
            if err.retriable:
                return dict.fromkeys(data, _RETRY)
            return dict.fromkeys(data, err)
        out: dict[int, BaseException | _Retry | None] = {}
        for partition in data:
            code = response.get((topic, partition))
            if code is None:  # not in the response: ask again (the broker answers every one)
                out[partition] = _RETRY
            elif code == 0 or code == _DUPLICATE:
                out[partition] = None
            else:
                error = Errors.for_code(code)
                if error.retriable:
                    log.warning(
                        "produce to %s[%d] failed (%s); retrying", topic, partition, error.__name__
                    )
                    if error.invalid_metadata:
                        self._client.force_metadata_update()
                    out[partition] = _RETRY
                elif error is Errors.InvalidProducerEpoch:
                    out[partition] = Errors.ProducerFenced()
                elif error is Errors.TopicAuthorizationFailedError:
                    out[partition] = error(topic)
                else:
                    out[partition] = error()
        return out


class _Retry:
    """Marks a partition whose batch is to be sent again."""


_RETRY = _Retry()
