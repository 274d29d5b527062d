"""The lean produce path writes aiokafka's exact ProduceRequest bytes and reads its responses."""

from __future__ import annotations

from collections.abc import Coroutine, Iterator
from io import BytesIO
from types import SimpleNamespace
from typing import Any, TypeVar, cast

import pytest
from aiokafka import TopicPartition
from aiokafka.client import ConnectionGroup
from aiokafka.conn import CloseReason
from aiokafka.errors import (
    DuplicateSequenceNumber,
    IncompatibleBrokerVersion,
    InvalidProducerEpoch,
    KafkaConnectionError,
    KafkaError,
    LeaderNotAvailableError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    ProducerFenced,
)
from aiokafka.protocol.api import RequestHeader_v1
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.record.default_records import DefaultRecordBatch

from connectors.leanproduce import LeanSender, ProduceRound

T = TypeVar("T")

TOPIC = "support.channel-messages.v1"
BATCHES = [(0, b"\x00" * 61 + b"first"), (3, b"second batch"), (5, b"")]


@pytest.mark.parametrize("version", [3, 4, 5, 6, 7])
def test_request_bytes_equal_aiokafkas(version: int) -> None:
    ours = ProduceRound(TOPIC, -1, 30_000, BATCHES).prepare({0: (0, version)})
    theirs = ProduceRequest(None, -1, 30_000, [(TOPIC, BATCHES)]).prepare({0: (0, version)})
    assert ours.API_VERSION == theirs.API_VERSION == version
    assert ours.encode() == theirs.encode()
    assert (
        ours.build_request_header(correlation_id=7, client_id="aiokafka-0.14").encode()
        == RequestHeader_v1(theirs, correlation_id=7, client_id="aiokafka-0.14").encode()
    )


def test_newest_version_it_writes_is_7() -> None:
    assert ProduceRound(TOPIC, -1, 1, BATCHES).prepare({0: (0, 11)}).API_VERSION == 7


def test_broker_without_record_batch_produce_is_refused() -> None:
    with pytest.raises(IncompatibleBrokerVersion, match="v3-v7"):
        ProduceRound(TOPIC, -1, 1, BATCHES).prepare({0: (0, 2)})
    with pytest.raises(IncompatibleBrokerVersion):
        ProduceRound(TOPIC, -1, 1, BATCHES).prepare({})


@pytest.mark.parametrize("version", [3, 4, 5, 6, 7])
def test_response_errors_read_as_aiokafka_reads_them(version: int) -> None:
    request = ProduceRequest(None, -1, 1, [(TOPIC, BATCHES)]).prepare({0: (0, version)})
    response_type = request.RESPONSE_TYPE
    extra = (17,) if version >= 5 else ()
    topics = [
        (TOPIC, [(0, 0, 1_000, -1, *extra), (3, 46, -1, -1, *extra), (5, 6, -1, -1, *extra)]),
        ("other", [(1, 0, 2, 1_765_000_000_000, *extra)]),
    ]
    wire = response_type(topics, 0).encode() if version >= 1 else response_type(topics).encode()
    header = (42).to_bytes(4, "big")
    ours = ProduceRound(TOPIC, -1, 1, BATCHES).prepare({0: (0, version)})
    buf = BytesIO(header + wire)
    assert ours.parse_response_header(buf).correlation_id == 42
    decoded = ours.RESPONSE_TYPE.decode(buf)
    theirs = response_type.decode(BytesIO(wire))
    assert decoded == {(t, p[0]): p[1] for t, parts in theirs.topics for p in parts}
    assert decoded == {(TOPIC, 0): 0, (TOPIC, 3): 46, (TOPIC, 5): 6, ("other", 1): 0}


# ------------------------------------------------------------------ delivery and retries
class FakeTxn:
    """The idempotent producer's transaction manager: producer id, epoch, sequences."""

    transactional_id = None
    producer_id, producer_epoch = 4242, 3

    def __init__(self) -> None:
        self.sequences: dict[TopicPartition, int] = {}

    def has_pid(self) -> bool:
        return True

    def sequence_number(self, tp: TopicPartition) -> int:
        return self.sequences.get(tp, 0)

    def increment_sequence_number(self, tp: TopicPartition, n: int) -> None:
        self.sequences[tp] = self.sequences.get(tp, 0) + n


class FakeClient:
    """Answers each produce request with the next scripted outcome: ``{partition: error code}``
    or a KafkaError to raise; records (node, request) and moves leaders when told."""

    def __init__(self, script: list[dict[int, int] | KafkaError], leaders: list[int]) -> None:
        self.script = script
        self.leaders = leaders  # leader of every partition, for each request in turn
        self.sent: list[tuple[int, ProduceRound]] = []
        self.cluster = self
        self.metadata_updates = 0

    def leader_for_partition(self, tp: TopicPartition) -> int:
        return self.leaders[min(len(self.sent), len(self.leaders) - 1)]

    def force_metadata_update(self) -> Any:
        self.metadata_updates += 1
        return Ready()

    async def send(self, node: int, request: ProduceRound) -> dict[tuple[str, int], int]:
        self.sent.append((node, request))
        outcome = self.script.pop(0)
        if isinstance(outcome, KafkaError):
            raise outcome
        return {(TOPIC, p): code for p, code in outcome.items()}


class Ready:
    """An awaitable that is already done (what aiokafka's metadata update future becomes)."""

    def __await__(self) -> Iterator[None]:
        return iter(())


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Drive a coroutine whose only suspensions are ``asyncio.sleep(0)`` (no event loop)."""
    while True:
        try:
            coro.send(None)
        except StopIteration as stop:
            return cast(T, stop.value)


def sender(client: FakeClient, timeout_ms: int = 30_000) -> tuple[LeanSender, FakeTxn]:
    txn = FakeTxn()
    producer = SimpleNamespace(
        client=client,
        _sender=SimpleNamespace(_acks=-1, _request_timeout_ms=timeout_ms, _retry_backoff=0),
        _txn_manager=txn,
        _message_accumulator=SimpleNamespace(_batch_size=16_384, _compression_type=0),
    )
    return LeanSender(producer), txn  # type: ignore[arg-type]


def batch(lean: LeanSender, partition: int, *values: bytes) -> tuple[int, Any, int]:
    """A ``deliver`` argument: the partition, a builder holding ``values``, their number."""
    b = lean.new_builder()
    for i, v in enumerate(values):
        assert b.append(i, 1_765_000_000_000, b"k", v, []) is not None
    return partition, b, len(values)


def records(request: ProduceRound) -> dict[int, bytes]:
    return dict(request.batches)


def test_acknowledged_batches_carry_producer_id_epoch_and_sequences() -> None:
    client = FakeClient([{0: 0, 3: 0}, {0: 0}], leaders=[1])
    lean, txn = sender(client)
    assert run(lean.deliver(TOPIC, [batch(lean, 0, b"a", b"b"), batch(lean, 3, b"c")])) == {
        0: None,
        3: None,
    }
    assert run(lean.deliver(TOPIC, [batch(lean, 0, b"d")])) == {0: None}
    first, second = (records(r) for _, r in client.sent)
    b0 = DefaultRecordBatch(first[0])
    assert (b0.producer_id, b0.producer_epoch, b0.base_sequence) == (4242, 3, 0)
    assert [(r.offset, r.key, r.value) for r in b0] == [(0, b"k", b"a"), (1, b"k", b"b")]
    assert DefaultRecordBatch(first[3]).base_sequence == 0
    assert DefaultRecordBatch(second[0]).base_sequence == 2  # after the first batch's 2 records
    assert txn.sequences == {TopicPartition(TOPIC, 0): 3, TopicPartition(TOPIC, 3): 1}
    assert [r.required_acks for _, r in client.sent] == [-1, -1]


def test_a_retriable_partition_error_resends_the_same_bytes_to_the_new_leader() -> None:
    not_leader = NotLeaderForPartitionError.errno
    client = FakeClient([{0: not_leader, 3: 0}, {0: 0}], leaders=[1, 2])
    lean, txn = sender(client)
    assert run(lean.deliver(TOPIC, [batch(lean, 0, b"a"), batch(lean, 3, b"c")])) == {
        0: None,
        3: None,
    }
    (node1, first), (node2, second) = client.sent
    assert (node1, node2) == (1, 2)
    assert records(second) == {0: records(first)[0]}  # same sequence: no duplicate possible
    assert txn.sequences[TopicPartition(TOPIC, 0)] == 1  # taken once
    assert client.metadata_updates == 1


def test_a_lost_connection_retries_every_batch_of_the_request() -> None:
    client = FakeClient([KafkaConnectionError("gone"), {0: 0, 3: 0}], leaders=[1])
    lean, _ = sender(client)
    assert run(lean.deliver(TOPIC, [batch(lean, 0, b"a"), batch(lean, 3, b"c")])) == {
        0: None,
        3: None,
    }
    assert client.sent[0][1].body == client.sent[1][1].body


def test_duplicate_sequence_means_the_broker_already_has_the_batch() -> None:
    client = FakeClient([{0: DuplicateSequenceNumber.errno}], leaders=[1])
    lean, _ = sender(client)
    assert run(lean.deliver(TOPIC, [batch(lean, 0, b"a")])) == {0: None}


def test_a_non_retriable_error_fails_only_its_batch() -> None:
    client = FakeClient([{0: MessageSizeTooLargeError.errno, 3: 0}], leaders=[1])
    lean, _ = sender(client)
    outcome = run(lean.deliver(TOPIC, [batch(lean, 0, b"a"), batch(lean, 3, b"c")]))
    assert isinstance(outcome[0], MessageSizeTooLargeError)
    assert outcome[3] is None
    assert len(client.sent) == 1


def test_a_fenced_producer_is_reported_as_such() -> None:
    client = FakeClient([{0: InvalidProducerEpoch.errno}], leaders=[1])
    lean, _ = sender(client)
    assert isinstance(run(lean.deliver(TOPIC, [batch(lean, 0, b"a")]))[0], ProducerFenced)


def test_a_partition_without_a_leader_fails_after_the_request_timeout() -> None:
    client = FakeClient([], leaders=[-1])
    lean, txn = sender(client, timeout_ms=0)
    txn.sequences[TopicPartition(TOPIC, 0)] = 5
    outcome = run(lean.deliver(TOPIC, [batch(lean, 0, b"a", b"b")]))
    assert isinstance(outcome[0], LeaderNotAvailableError)
    assert client.sent == []
    # never sent: its sequences are given back, so the next batch is in order for the broker
    assert txn.sequences[TopicPartition(TOPIC, 0)] == 5


def test_a_batch_that_went_out_keeps_its_sequences_when_it_fails_leaderless() -> None:
    not_leader = NotLeaderForPartitionError.errno
    client = FakeClient([{0: not_leader}], leaders=[1, -1])
    lean, txn = sender(client, timeout_ms=0)
    outcome = run(lean.deliver(TOPIC, [batch(lean, 0, b"a", b"b")]))
    assert isinstance(outcome[0], LeaderNotAvailableError)
    assert len(client.sent) == 1
    assert txn.sequences[TopicPartition(TOPIC, 0)] == 2  # the broker may have written it


class FakeConn:
    """A connection of the client's ``_conns``: ``send`` answers like ``FakeClient.send`` (or
    raises ``TimeoutError`` when told, as aiokafka's request timeout does), ``close`` noted."""

    def __init__(self, client: FakeClient, connected: bool = True, timeout: bool = False) -> None:
        self.client = client
        self.is_connected = connected
        self.timeout = timeout
        self.closed: list[Any] = []

    def connected(self) -> bool:
        return self.is_connected

    def close(self, reason: Any = None) -> None:
        self.closed.append(reason)
        self.is_connected = False

    def send(self, request: ProduceRound) -> Any:
        if self.timeout:
            self.client.sent.append((-1, request))

            async def late() -> Any:
                raise TimeoutError

            return late()
        return self.client.send(1, request)


def test_a_connected_broker_is_sent_to_on_its_connection_and_a_timeout_renews_it() -> None:
    client = FakeClient([{0: 0}, {0: 0}], leaders=[1])
    conn = FakeConn(client, timeout=True)
    client._conns = {(1, ConnectionGroup.DEFAULT): conn}  # type: ignore[attr-defined]
    lean, txn = sender(client)
    # the request times out on the connection: closed (as client.send does), then retried with
    # the same bytes through the client (the connection is no longer connected)
    assert run(lean.deliver(TOPIC, [batch(lean, 0, b"a")])) == {0: None}
    assert conn.closed == [CloseReason.CONNECTION_TIMEOUT]
    (via_conn, first), (via_client, second) = client.sent
    assert (via_conn, via_client) == (-1, 1)
    assert records(second) == records(first)
    assert txn.sequences[TopicPartition(TOPIC, 0)] == 1
    # a connected connection carries the next request
    conn2 = FakeConn(client)
    client._conns[(1, ConnectionGroup.DEFAULT)] = conn2  # type: ignore[attr-defined]
    assert run(lean.deliver(TOPIC, [batch(lean, 0, b"b")])) == {0: None}
    assert len(client.sent) == 3 and conn2.closed == []
