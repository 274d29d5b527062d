"""The router's state on the real broker: 20,000 open tickets give changelog values of a few
hundred bytes (one row per agent and ticket, not one value near Kafka's 1 MB limit), and a
worker started after the first one stopped recovers the rows from the changelog and decides
exactly what the recovered state decides (and re-sends, with the same ids, the assignments no
ticket recorded)."""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from schemas import codec
from schemas.records import AgentPresence, AssignTicket, Channel, Priority
from streams.domain.ids import derive_id
from streams.domain.router import on_events
from streams.domain.routing import ReassignPolicy, RoutingState, Strategy
from streams.testing import WorkerProcess, private_worker_env
from streams.topics_admin import ROUTING_FEED
from tests.unit.streams.routing_feed import online, opened, presence
from ticketstream.devstack.procs import free_port

TICKETS = 20_000
AGENTS = 40  # × 3 seats on LINE and on EMAIL; WhatsApp tickets all wait


@pytest.fixture
def router_workers(
    stack, unique_name: str, tmp_path: Path
) -> Iterator[Callable[[str], WorkerProcess]]:
    """``start(name)``: a ready worker running only the router (own port and data dir)."""
    env = private_worker_env(
        stack.settings, unique_name, "route_tickets",
        extra={"TICKETSTREAM_STREAMS_ROUTING_STRATEGY": "least_loaded"},
    )  # fmt: skip
    started: list[WorkerProcess] = []

    def start(name: str) -> WorkerProcess:
        w = WorkerProcess(
            name,
            {**env, "TICKETSTREAM_STREAMS_DATADIR": str(tmp_path / name)},
            free_port(),
            tmp_path / f"{name}.log",
        ).start()
        started.append(w)
        w.wait_ready()
        return w

    try:
        yield start
    finally:
        for w in started:
            w.stop()


def _read(bootstrap: str, topic: str, partitions: int, done, timeout: float = 240.0):  # type: ignore[no-untyped-def]
    """Records (key, value) of ``topic`` from the start until ``done(records)``."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    parts = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    out: list[tuple[bytes, bytes | None]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done(out):
        for records in consumer.poll(timeout_ms=300, max_records=5000).values():
            out.extend((r.key, r.value) for r in records)
    consumer.close()
    assert done(out), f"{topic}: gave up after {timeout} s with {len(out)} records"
    return out


def _rows(changelog: list[tuple[bytes, bytes | None]]) -> dict[str, object]:
    rows: dict[str, object] = {}
    for key, value in changelog:
        if value is None:
            rows.pop(key.decode(), None)
        else:
            rows[key.decode()] = pickle.loads(value)
    return rows


def _assigns(records: list[tuple[bytes, bytes | None]]) -> list[AssignTicket]:
    return [c for c in (codec.decode(v) for _, v in records if v) if isinstance(c, AssignTicket)]


def test_20k_open_tickets_small_changelog_values_and_recovery_decides_the_same(
    stack, router_workers, unique_name: str
) -> None:
    prefix = f"{unique_name}."
    feed, commands = prefix + ROUTING_FEED, prefix + "support.tickets.commands.v1"
    changelog = f"{unique_name}-routing-changelog"
    chans = (Channel.LINE, Channel.EMAIL, Channel.WHATSAPP)
    prios = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)
    phase1 = [opened(f"T{n:05}", n / 100, chans[n % 3], prios[n % 4]) for n in range(TICKETS)]
    phase1 += [e for i in range(AGENTS) for e in online(f"a{i:02}", 250, line=3, email=3)]

    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all", linger_ms=5)

    def produce(events: list[object]) -> None:
        for e in events:
            producer.send(feed, key=b"routing", value=codec.encode(e))
        producer.flush(60)

    first = router_workers("first")
    produce(phase1)
    seats = AGENTS * 6
    rows_expected = TICKETS + AGENTS + 1  # tickets, agents, round-robin cursor

    def settled(recs: list[tuple[bytes, bytes | None]]) -> bool:
        if len(recs) < rows_expected:  # not yet one record per row: skip the unpickling
            return False
        rows = _rows(recs)
        held = sum(1 for k, v in rows.items() if k.startswith("ticket/") and v.assignee)  # type: ignore[attr-defined]
        return len(rows) == rows_expected and held == seats

    log1 = _read(stack.kafka_bootstrap, changelog, 1, settled)
    sizes = [len(v) for _, v in log1 if v is not None]
    assert max(sizes) < 2_000, f"largest changelog value {max(sizes)} bytes"
    first_commands = _read(stack.kafka_bootstrap, commands, 4, lambda r: len(_assigns(r)) >= seats)
    assert len({c.ticket_id for c in _assigns(first_commands)}) == seats
    first.stop()

    # what the recovered state must decide for: ann's colleague a00 leaves, zed arrives
    recovered = RoutingState.from_rows(_rows(log1).items())
    phase2 = [presence("a00", AgentPresence.OFFLINE, 300), *online("zed", 301, line=20, email=4)]
    expected = on_events(recovered, list(phase2), ReassignPolicy(), Strategy.LEAST_LOADED)
    assert len(expected) == 24  # zed's 20 LINE + 4 EMAIL seats, most urgent tickets first

    router_workers("second")  # a fresh data dir: the rows come back from the changelog only
    produce(phase2)
    producer.close()
    unconfirmed = {c.command.command_id for c in _assigns(first_commands)}
    want = {
        derive_id(a.ticket_id, "route", a.agent_id, a.reason, a.since): (a.ticket_id, a.agent_id)
        for a in expected
    }
    everything = _read(
        stack.kafka_bootstrap,
        commands,
        4,
        lambda r: len(_assigns(r)) >= 2 * seats + len(want),
    )
    by_id = {c.command.command_id: c for c in _assigns(everything)}
    assert {cid: (by_id[cid].ticket_id, by_id[cid].agent_id) for cid in want} == want
    # nothing else was decided: every command is a phase-1 one (or its re-send) or expected
    assert set(by_id) == unconfirmed | want.keys()
    # the recovered worker re-sent every assignment no ticket recorded, with the same ids
    assert len(_assigns(everything)) >= 2 * seats + len(want)
