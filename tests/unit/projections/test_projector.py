"""The projector's batching, commit and dead-letter rules, with a scripted consumer and the
in-process ClickHouse engine (no network, no sleeping: the clock is a fake)."""

from __future__ import annotations

import threading
from collections import namedtuple
from typing import Any

import pytest

from projections.engines import ChdbEngine, ClickHouseError
from projections.migrate import migrate
from projections.projector import Projector, ProjectorConfig, Stopped
from schemas.codec import decode, encode
from schemas.records import DeadLetter
from schemas.topics import DEAD_LETTER
from tests.unit.projections.known_stream import known_stream

TP = namedtuple("TP", "topic partition")
Msg = namedtuple("Msg", "topic partition offset key value timestamp")


class FakeConsumer:
    def __init__(self) -> None:
        self.queue: list[dict[Any, list[Msg]]] = []
        self.commits: list[dict[Any, int]] = []

    def poll(self, timeout_ms: int, max_records: int) -> dict[Any, list[Msg]]:
        return self.queue.pop(0) if self.queue else {}

    def commit(self, offsets: dict[Any, Any]) -> None:
        self.commits.append({tp: om.offset for tp, om in offsets.items()})

    def assignment(self) -> set[Any]:
        return set()


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes]] = []
        self.flushed = 0

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        self.sent.append((topic, key, value))

    def flush(self) -> None:
        self.flushed += 1


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def msgs(topic: str, records: list[Any], start: int = 0) -> dict[Any, list[Msg]]:
    tp = TP(topic, 0)
    return {tp: [Msg(topic, 0, start + i, b"k", encode(r), 0) for i, r in enumerate(records)]}


@pytest.fixture
def engine() -> ChdbEngine:
    eng = ChdbEngine()
    migrate(eng, "p")
    return eng


def make(engine: Any, **config: Any) -> tuple[Projector, FakeConsumer, FakeProducer, Clock]:
    consumer, producer, clock = FakeConsumer(), FakeProducer(), Clock()
    cfg = ProjectorConfig(db="p", group="g", **{"batch_rows": 100, "flush_seconds": 1.0, **config})
    return (
        Projector(engine, consumer, producer, cfg, clock=clock, pipelined=False),
        consumer,
        producer,
        clock,
    )


def test_a_batch_closes_after_flush_seconds_and_commits_after_the_insert(
    engine: ChdbEngine,
) -> None:
    p, consumer, _producer, clock = make(engine)
    opened = known_stream()[2]  # T1 TicketOpened
    consumer.queue.append(msgs("tickets", [opened]))
    p.poll_once()
    assert consumer.commits == [] and engine.execute("SELECT count() FROM p.events") == [(0,)]
    clock.now = 1.0
    p.poll_once()
    assert engine.execute("SELECT count() FROM p.events") == [(1,)]
    assert consumer.commits == [{TP("tickets", 0): 1}]


def test_a_batch_closes_at_batch_rows(engine: ChdbEngine) -> None:
    p, consumer, _producer, _clock = make(engine, batch_rows=3)
    consumer.queue.append(msgs("tickets", known_stream()[2:5]))
    p.poll_once()
    assert consumer.commits == [{TP("tickets", 0): 3}]


class Down:
    name = "down"

    def execute(self, sql: str) -> Any:
        raise ClickHouseError("down")

    def insert(self, *a: Any) -> None:
        raise ClickHouseError("down")

    def close(self) -> None: ...


def test_clickhouse_down_commits_nothing_and_keeps_retrying_until_stopped() -> None:
    p, consumer, _producer, _clock = make(Down(), batch_rows=1)
    calls = []
    p.stop.wait = lambda delay: calls.append(delay) or len(calls) >= 4  # type: ignore[method-assign]
    consumer.queue.append(msgs("tickets", known_stream()[2:3]))
    with pytest.raises(Stopped):
        p.poll_once()
    assert calls == [0.1, 0.2, 0.4, 0.8]  # exponential backoff
    assert consumer.commits == []


# junk, and an event of this build's schema cut short: its header picks the flat reader, which
# refuses it, and the codec's error dead-letters it (projections.fused.FusedDecoder.flat)
_TRUNCATED = encode(known_stream()[2])[:-3]


@pytest.mark.parametrize("value", [b"junk", _TRUNCATED], ids=["junk", "truncated"])
def test_undecodable_record_is_dead_lettered_counted_and_committed_past(
    engine: ChdbEngine, value: bytes
) -> None:
    p, consumer, producer, clock = make(engine)
    good = msgs("tickets", known_stream()[2:3], start=1)[TP("tickets", 0)]
    junk = Msg("tickets", 0, 0, b"T1", value, 1_700_000_000_000)
    consumer.queue.append({TP("tickets", 0): [junk, *good]})
    p.poll_once()
    clock.now = 5
    p.poll_once()
    assert consumer.commits == [{TP("tickets", 0): 2}]
    assert producer.flushed == 1
    [(topic, key, value)] = producer.sent
    dl = decode(value, expected=DeadLetter)
    assert (topic, key) == (DEAD_LETTER, b"T1")
    assert (dl.source_topic, dl.source_partition, dl.source_offset) == ("tickets", 0, 0)
    assert dl.error_type == "SchemaDecodeError" and "tickets[0]@0" in dl.error
    assert engine.execute("SELECT count() FROM p.events") == [(1,)]


def _t1_sla_event_waiting(engine: ChdbEngine) -> tuple[Projector, FakeConsumer, Clock, Any]:
    """T1's SlaTimerStarted read and flushed before T1's events: it waits (returns T1 opened)."""
    stream = known_stream()
    opened, started = stream[2], stream[3]  # T1 TicketOpened, T1 SlaTimerStarted
    p, consumer, _producer, clock = make(engine, max_defer_seconds=5.0)
    consumer.queue.append(msgs("sla", [started]))
    p.poll_once()
    clock.now = 1.0
    p.poll_once()  # deferred
    return p, consumer, clock, opened


def _the_ticket_comes_and_both_carry_its_channel(
    engine: ChdbEngine, p: Projector, consumer: FakeConsumer, clock: Clock, opened: Any
) -> None:
    consumer.queue.append(msgs("tickets", [opened]))
    p.poll_once()
    clock.now = 2.0
    p.poll_once()
    rows = engine.execute("SELECT event_type, channel FROM p.events FINAL ORDER BY event_type")
    assert rows == [("SlaTimerStarted", "email"), ("TicketOpened", "email")]
    assert consumer.commits[-1] == {TP("sla", 0): 1, TP("tickets", 0): 1}


def test_sla_event_of_an_unseen_ticket_waits_for_the_ticket_and_holds_its_partition(
    engine: ChdbEngine,
) -> None:
    p, consumer, clock, opened = _t1_sla_event_waiting(engine)  # held, not committed past
    assert engine.execute("SELECT count() FROM p.events") == [(0,)]
    assert consumer.commits == [{TP("sla", 0): 0}]
    _the_ticket_comes_and_both_carry_its_channel(engine, p, consumer, clock, opened)


def test_sla_events_of_other_tickets_go_ahead_of_a_deferred_one(engine: ChdbEngine) -> None:
    stream = known_stream()
    t1_opened, t1_started = stream[2], stream[3]  # T1 TicketOpened, T1 SlaTimerStarted
    t2_opened = next(
        x for x in stream if type(x).__name__ == "TicketOpened" and x.ticket_id == "T2"
    )
    t2_started = next(
        x for x in stream if type(x).__name__ == "SlaTimerStarted" and x.ticket_id == "T2"
    )
    p, consumer, _producer, clock = make(engine, max_defer_seconds=5.0)
    consumer.queue.append(msgs("tickets", [t2_opened]))
    consumer.queue.append(msgs("sla", [t1_started, t2_started]))
    p.poll_once()
    p.poll_once()
    clock.now = 1.0
    p.poll_once()  # T1's SLA event waits for T1; T2's, behind it in the partition, does not
    rows = engine.execute("SELECT event_type, ticket_id FROM p.events FINAL ORDER BY event_type")
    assert rows == [("SlaTimerStarted", "T2"), ("TicketOpened", "T2")]
    assert consumer.commits == [{TP("sla", 0): 0, TP("tickets", 0): 1}]  # held at T1's event
    consumer.queue.append(msgs("tickets", [t1_opened], start=1))
    p.poll_once()
    clock.now = 2.0
    p.poll_once()
    assert engine.execute("SELECT count() FROM p.events FINAL") == [(4,)]
    assert consumer.commits[-1] == {TP("sla", 0): 2, TP("tickets", 0): 2}


def test_an_sla_event_whose_ticket_never_comes_is_projected_after_max_defer_seconds(
    engine: ChdbEngine,
) -> None:
    started = known_stream()[3]  # T1 SlaTimerStarted, T1 never opened here
    p, consumer, _producer, clock = make(engine, max_defer_seconds=5.0)
    consumer.queue.append(msgs("sla", [started]))
    p.poll_once()
    for now in (1.0, 2.0, 4.0):
        clock.now = now
        p.poll_once()
    assert engine.execute("SELECT count() FROM p.events") == [(0,)]
    clock.now = 7.0
    p.poll_once()
    assert engine.execute("SELECT event_type, channel FROM p.events") == [("SlaTimerStarted", "")]
    assert consumer.commits[-1] == {TP("sla", 0): 1}


class WatermarkConsumer(FakeConsumer):
    """Assigned ``tickets`` and ``sla`` partition 0, with high-water marks as the broker gives."""

    def __init__(self, ends: dict[Any, int]) -> None:
        super().__init__()
        self.ends = ends

    def assignment(self) -> set[Any]:
        return {TP("sla", 0), TP("tickets", 0)}

    def highwater(self, tp: Any) -> int | None:
        return self.ends.get(tp)


def _watermarked(engine: Any, ends: dict[Any, int]) -> tuple[Projector, WatermarkConsumer, Clock]:
    consumer, clock = WatermarkConsumer(ends), Clock()
    cfg = ProjectorConfig(db="p", group="g", batch_rows=100, flush_seconds=1.0)
    return (
        Projector(engine, consumer, FakeProducer(), cfg, clock=clock, pipelined=False),
        consumer,
        clock,
    )


def _t1_t2() -> tuple[Any, Any, Any]:
    stream = known_stream()
    t2_opened = next(
        x for x in stream if type(x).__name__ == "TicketOpened" and x.ticket_id == "T2"
    )
    return stream[2], stream[3], t2_opened  # T1 TicketOpened, T1 SlaTimerStarted, T2 opened


def test_an_sla_event_waits_past_max_defer_seconds_while_its_tickets_partition_is_unread(
    engine: ChdbEngine,
) -> None:
    """A backlog: the ticket partition had 3 records when the wait ran out and 1 was read; the
    SLA event goes only with its ticket (read later), not without its channel."""
    t1_opened, t1_started, t2_opened = _t1_t2()
    p, consumer, clock = _watermarked(engine, {TP("tickets", 0): 3})
    consumer.queue.append({**msgs("sla", [t1_started]), **msgs("tickets", [t2_opened])})
    p.poll_once()
    for now in (1.0, 7.0, 20.0):
        clock.now = now
        p.poll_once()
    assert engine.execute("SELECT event_type FROM p.events FINAL") == [("TicketOpened",)]
    consumer.queue.append(msgs("tickets", [t2_opened, t1_opened], start=1))
    p.poll_once()
    clock.now = 21.0
    p.poll_once()
    rows = engine.execute("SELECT event_type, channel FROM p.events FINAL ORDER BY event_type")
    assert rows == [
        ("SlaTimerStarted", "email"),
        ("TicketOpened", "email"),
        ("TicketOpened", "whatsapp"),
    ]


def test_an_sla_event_whose_ticket_is_not_in_its_partition_goes_once_that_is_read(
    engine: ChdbEngine,
) -> None:
    _t1_opened, t1_started, t2_opened = _t1_t2()
    p, consumer, clock = _watermarked(engine, {TP("tickets", 0): 2})
    consumer.queue.append({**msgs("sla", [t1_started]), **msgs("tickets", [t2_opened])})
    p.poll_once()
    for now in (1.0, 7.0):  # deferred at 1 s; at 7 s the wait ran out with 1 of 2 read
        clock.now = now
        p.poll_once()
    assert engine.execute("SELECT count() FROM p.events WHERE event_type = 'SlaTimerStarted'") == [
        (0,)
    ]
    consumer.queue.append(msgs("tickets", [t2_opened], start=1))  # read to the mark: no T1
    p.poll_once()
    clock.now = 9.0
    p.poll_once()
    rows = engine.execute("SELECT channel FROM p.events FINAL WHERE event_type = 'SlaTimerStarted'")
    assert rows == [("",)]
    assert consumer.commits[-1][TP("sla", 0)] == 1


def test_a_rebalance_leaves_an_sla_event_waiting_for_its_ticket(engine: ChdbEngine) -> None:
    """A rebalance writes what is pending, but not an SLA event whose ticket has not been seen:
    projected then, it would keep an empty channel for good (its replay is dropped by version)."""
    p, consumer, clock, opened = _t1_sla_event_waiting(engine)
    p.on_revoked([TP("sla", 0), TP("tickets", 0)])
    p.on_assigned([TP("sla", 0), TP("tickets", 0)])  # kept: kafka-python keeps the position
    assert engine.execute("SELECT count() FROM p.events") == [(0,)]
    _the_ticket_comes_and_both_carry_its_channel(engine, p, consumer, clock, opened)


def test_a_rebalance_that_moves_the_partition_leaves_its_waiting_sla_event_to_the_new_owner(
    engine: ChdbEngine,
) -> None:
    p, consumer, clock, opened = _t1_sla_event_waiting(engine)
    assert consumer.commits == [{TP("sla", 0): 0}]  # held before the waiting event
    p.on_revoked([TP("sla", 0)])
    p.on_assigned([TP("tickets", 0)])  # the SLA partition went elsewhere
    consumer.queue.append(msgs("tickets", [opened]))
    p.poll_once()
    clock.now = 10.0  # long past max_defer_seconds: nothing of the SLA partition is left here
    p.poll_once()
    p.finish()
    rows = engine.execute("SELECT event_type FROM p.events FINAL ORDER BY event_type")
    assert rows == [("TicketOpened",)]
    assert all(TP("sla", 0) not in c for c in consumer.commits[1:])


def test_a_stop_leaves_an_sla_event_waiting_for_its_ticket_to_the_next_run(
    engine: ChdbEngine,
) -> None:
    stream = known_stream()
    opened, started = stream[2], stream[3]
    p, consumer, _producer, clock = make(engine, max_defer_seconds=5.0)
    consumer.queue.append(msgs("sla", [started]))
    consumer.queue.append(msgs("tickets", [opened]))
    consumer_poll = consumer.poll

    def poll_then_stop(timeout_ms: int, max_records: int) -> dict[Any, list[Msg]]:
        got = consumer_poll(timeout_ms, max_records)
        clock.now += 1.0
        if len(consumer.queue) == 1:  # the SLA event was read; stop before the ticket comes
            p.stop.set()
        return got

    consumer.poll = poll_then_stop  # type: ignore[method-assign]
    p.run()
    assert engine.execute("SELECT count() FROM p.events") == [(0,)]
    assert all(c.get(TP("sla", 0), 0) == 0 for c in consumer.commits)


class RecordingEngine:
    """Keeps what is inserted, column by column; no state in it (every lookup finds nothing)."""

    name = "recording"

    def __init__(self) -> None:
        self.inserted: dict[str, list[tuple[Any, ...]]] = {}

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        return []

    def insert(self, table: str, columns: Any, data: Any) -> None:
        self.inserted.setdefault(table.split(".")[-1], []).extend(zip(*data, strict=True))

    def close(self) -> None:
        pass


def test_the_envelope_ids_reach_clickhouse_as_utf8_bytes_and_nothing_else_changes() -> None:
    """The projector's decoder leaves the envelope's ids as bytes (ENVELOPE_BYTES): the rows of
    the same events hold the same values as with str, those cells as their UTF-8 bytes."""
    from datetime import UTC, datetime

    from projections.rows import ENVELOPE_BYTES, Projection
    from schemas.fastdecode import DatumDecoder

    stream = known_stream()
    engine = RecordingEngine()
    projector, consumer, _, _ = make(engine, batch_rows=1000)
    consumer.queue.append(msgs("events", stream))
    projector.poll_once()
    projector.finish()
    events = engine.inserted["events"]
    assert len(events) == len(stream) - 2  # two upstream re-emissions dropped
    assert all(type(row[0]) is bytes and type(row[11]) is bytes for row in events)

    now = datetime.now(UTC).replace(microsecond=0)
    batches = []
    for decoder in (DatumDecoder(), DatumDecoder(utf8_bytes=ENVELOPE_BYTES)):
        items = [(*decoder.decode(encode(rec)), ("events", 0, i)) for i, rec in enumerate(stream)]
        batches.append(Projection(RecordingEngine(), "p").project_data(items, now))
    as_str, as_bytes = batches

    def decoded(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(v.decode() if isinstance(v, bytes) else v for v in row)

    for table, rows in as_str.rows.items():
        assert [decoded(row) for row in as_bytes.rows[table]] == [decoded(row) for row in rows]
    assert {type(v) for row in as_bytes.rows["events"] for v in row[:12]} >= {bytes}


class BlockingEngine(RecordingEngine):
    """Inserts wait for ``release``; ``clone()`` gives the state-lookup engine, which notes
    whether an insert was still waiting when each lookup came."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.inserting = threading.Event()
        self.lookups: list[bool] = []  # per state lookup: was an insert in flight?
        outer = self

        class Lookups(RecordingEngine):
            def execute(self, sql: str) -> list[tuple[Any, ...]]:
                outer.lookups.append(outer.inserting.is_set() and not outer.release.is_set())
                outer.release.set()  # the batch in flight may go on now
                return []

        self.lookup_engine = Lookups()

    def clone(self) -> RecordingEngine:
        return self.lookup_engine

    def insert(self, table: str, columns: Any, data: Any) -> None:
        self.inserting.set()
        assert self.release.wait(10)
        super().insert(table, columns, data)


def _t1_in_flight() -> tuple[BlockingEngine, Projector, FakeConsumer, list[Any]]:
    """A pipelined projector whose first batch (T1 opened) is being written, held by the
    engine until ``engine.release`` is set; and the known stream."""
    engine = BlockingEngine()
    consumer = FakeConsumer()
    cfg = ProjectorConfig(db="p", group="g", batch_rows=1, flush_seconds=1.0)
    p = Projector(engine, consumer, FakeProducer(), cfg, clock=Clock())
    stream = known_stream()
    consumer.queue.append(msgs("tickets", stream[2:3]))  # T1 opened
    p.poll_once()
    assert engine.inserting.wait(10)
    return engine, p, consumer, stream


def test_a_state_lookup_does_not_wait_for_the_batch_in_flight_when_it_writes_other_state() -> None:
    engine, p, consumer, stream = _t1_in_flight()
    unseen = next(e for e in stream if type(e).__name__ == "TicketAssigned" and e.ticket_id != "T1")
    consumer.queue.append(msgs("tickets", [unseen], start=1))  # a ticket whose state is not here
    p.poll_once()
    p.finish()
    p.close()
    assert engine.lookups == [True]  # looked up while T1's batch was still being written
    assert len(engine.inserted["events"]) == 2


def test_a_state_lookup_waits_for_the_batch_in_flight_when_it_writes_that_state() -> None:
    engine, p, consumer, stream = _t1_in_flight()
    p.projection.tickets.clear()  # as if evicted: T1's state must come from ClickHouse
    later = next(e for e in stream if type(e).__name__ == "TicketAssigned" and e.ticket_id == "T1")
    consumer.queue.append(msgs("tickets", [later], start=1))
    threading.Timer(0.3, engine.release.set).start()  # the write finishes on its own
    p.poll_once()
    p.finish()
    p.close()
    assert engine.lookups == [False]  # only after T1's batch was written


def test_the_next_batch_is_handed_to_the_writer_before_the_one_in_flight_is_committed() -> None:
    engine, p, consumer, stream = _t1_in_flight()
    first = p._inflight[0][0]
    handed: list[bool] = []

    def release() -> None:  # while the consumer's thread waits for the first batch
        handed.append([f is not first and not f.done() for f, *_ in p._inflight] == [True])
        engine.release.set()

    threading.Timer(0.3, release).start()
    later = next(e for e in stream if type(e).__name__ == "TicketAssigned" and e.ticket_id == "T1")
    consumer.queue.append(msgs("tickets", [later], start=1))  # T1's state is here: no lookup
    p.poll_once()  # the second batch: queued behind the first, then the first is committed
    assert handed == [True]  # the second batch was with the writer already
    assert consumer.commits == [{TP("tickets", 0): 1}]
    p.finish()
    p.close()
    assert consumer.commits == [{TP("tickets", 0): 1}, {TP("tickets", 0): 2}]
    assert len(engine.inserted["events"]) == 2


def test_a_batch_queued_behind_one_that_was_not_written_is_not_written() -> None:
    stop = threading.Event()

    class DownUntilStopped(RecordingEngine):
        def insert(self, table: str, columns: Any, data: Any) -> None:
            if not stop.is_set():
                raise ClickHouseError("down")
            super().insert(table, columns, data)  # would take a batch after a lost one

    engine = DownUntilStopped()
    consumer = FakeConsumer()
    cfg = ProjectorConfig(db="p", group="g", batch_rows=1, flush_seconds=1.0)
    p = Projector(engine, consumer, FakeProducer(), cfg, clock=Clock(), stop=stop)
    stream = known_stream()
    consumer.queue.append(msgs("tickets", stream[2:3]))
    p.poll_once()  # the first batch: retried while ClickHouse is down
    threading.Timer(0.3, stop.set).start()
    consumer.queue.append(msgs("tickets", stream[3:4], start=1))
    with pytest.raises(Stopped):
        p.poll_once()  # the second batch queued behind it; the first gives up when stopped
    p.close()  # the writer takes the second batch: not written, its predecessor was not
    assert engine.inserted == {} and consumer.commits == []
