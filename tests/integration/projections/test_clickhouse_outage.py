"""ClickHouse stopped for 60 s under load (issue #7): the projector waits and retries (metric
and log), loses nothing and duplicates nothing.

The test session's own stack (tests/conftest.py) has its ClickHouse stopped by the pid in the
stack's pid file and started again with ``Stack.up()`` (which starts only what is not
running). With ``TICKETSTREAM_TEST_STACK=running`` the dev stack is shared with benchmarks and
other people's work, so the test stops a private ClickHouse server of its own instead.
Events are produced at ~200/s from before the outage until after ClickHouse is back.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from kafka import KafkaProducer

from projections import metrics
from projections.engines import DriverEngine
from projections.synthetic import EVENTS_PER_TICKET, ticket_events
from schemas.codec import encode
from schemas.topics import key_of, route_of
from tests.integration.projections.helpers import (
    PrivateClickHouse,
    create_topics,
    projection_settings,
    start_projector,
    topic_map,
    wait_until,
)
from ticketstream.devstack import procs
from ticketstream.devstack.stack import Stack
from ticketstream.devstack.testing import private_root, private_stack_settings

OUTAGE_SECONDS = 60.0
TICKETS_PER_TICK, TICK_SECONDS = 10, 0.3  # 60 events every 0.3 s: ~200 events/s
START = datetime(2026, 2, 2, tzinfo=UTC)


class StackClickHouse:
    """The test stack's ClickHouse: stopped by its pid file, started again by ``Stack.up``."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        s = stack.settings
        self.ports = [s.clickhouse_port, s.clickhouse_http_port]

    def stop(self) -> None:
        rec = procs.read_pidfile(self.stack.pidfile("clickhouse"))
        ticks = rec.start_ticks or None if rec else None
        assert rec is not None and procs.is_alive(rec.pid, ticks), "ClickHouse is not running"
        procs.terminate(rec.pid, ticks, timeout=30.0)
        assert not procs.is_alive(rec.pid, ticks), f"ClickHouse (pid {rec.pid}) did not stop"
        assert not procs.wait_ports_free(self.ports, timeout=30.0), "ClickHouse ports still taken"

    def start(self) -> None:
        result = self.stack.up()
        assert result["clickhouse"] == "started", result


@pytest.fixture
def clickhouse(stack: Any) -> Iterator[tuple[Any, Any]]:
    """(settings pointing at the ClickHouse to stop, an object with stop() and start())."""
    if stack.private:
        server = StackClickHouse(stack.stack)
        try:
            yield stack.settings, server
        finally:
            stack.stack.up()  # running again for the session's next tests, whatever happened
        return
    root = private_root("ticketstream-pj-outage-")
    settings = private_stack_settings(root, kafka_bootstrap=stack.kafka_bootstrap)
    private = PrivateClickHouse(settings, root)
    private.start()
    try:
        yield settings, private
    finally:
        private.stop()
        shutil.rmtree(root, ignore_errors=True)


class Load(threading.Thread):
    """Produces whole synthetic tickets (6 events each) at ~200 events/s until stopped."""

    def __init__(self, bootstrap: str, topics: dict[str, str], prefix: str) -> None:
        super().__init__(name="outage-load")
        self.bootstrap, self.topics, self.prefix = bootstrap, topics, prefix
        self.tickets = 0
        self.halt = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=5)
        try:
            while not self.halt.is_set():
                for _ in range(TICKETS_PER_TICK):
                    for rec in ticket_events(self.tickets, self.prefix, START):
                        key = key_of(rec)
                        producer.send(
                            self.topics[route_of(type(rec)).topic],
                            key=key.encode() if key else None,
                            value=encode(rec),
                        )
                    self.tickets += 1
                producer.flush()
                self.halt.wait(TICK_SECONDS)
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            producer.close()

    def finish(self) -> int:
        self.halt.set()
        self.join(60)
        assert not self.is_alive() and self.error is None, self.error
        return self.tickets


def _retries() -> float:
    return float(sum(metrics.RETRIES.labels(s)._value.get() for s in ("insert", "load_state")))


def test_clickhouse_stopped_60_s_under_load_loses_and_duplicates_nothing(
    clickhouse: Any, unique_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings, server = clickhouse
    db = f"pj_{unique_name}"
    core = settings.model_copy(update={"clickhouse_database": db})
    topics = topic_map(unique_name)
    create_topics(core.kafka_bootstrap, topics.values())
    retries_before = _retries()
    caplog.set_level(logging.WARNING, logger="ticketstream.projector")
    load = Load(core.kafka_bootstrap, topics, unique_name)
    running = start_projector(core, projection_settings(unique_name))
    engine = DriverEngine(core.clickhouse_host, core.clickhouse_port)

    def stored() -> int:
        return int(engine.execute(f"SELECT count() FROM {db}.events")[0][0])

    try:
        load.start()
        wait_until(lambda: stored() > 0, 60, "the first rows in ClickHouse")
        server.stop()
        down_at = time.monotonic()
        tickets_at_stop = load.tickets
        wait_until(
            lambda: metrics.CLICKHOUSE_UP._value.get() == 0 and _retries() > retries_before,
            30,
            "the projector to notice ClickHouse is down",
        )
        noticed = _retries()
        time.sleep(max(0.0, down_at + OUTAGE_SECONDS - time.monotonic()))
        assert _retries() > noticed, "the projector stopped retrying during the outage"
        assert metrics.CLICKHOUSE_UP._value.get() == 0
        assert load.tickets > tickets_at_stop + 100, "no load during the outage"
        server.start()
        wait_until(lambda: metrics.CLICKHOUSE_UP._value.get() == 1, 60, "the projector to write")
        time.sleep(2)  # still under load while it catches up
        tickets = load.finish()
        events = tickets * EVENTS_PER_TICKET
        wait_until(
            lambda: engine.execute(f"SELECT uniqExact(event_id) FROM {db}.events")[0][0] == events,
            120,
            f"all {events} events in ClickHouse after the outage",
        )
    finally:
        load.halt.set()
        running.close()
        engine.close()
    engine = DriverEngine(core.clickhouse_host, core.clickhouse_port, database=db)
    try:
        assert engine.execute("SELECT count() FROM events FINAL") == [(events,)]
        assert engine.execute(
            "SELECT count(), countIf(status = 'solved'), countIf(first_reply_at IS NULL) "
            "FROM tickets FINAL"
        ) == [(tickets, tickets, 0)]
        assert engine.execute("SELECT count(), countIf(fulfilled = 1) FROM sla_timers FINAL") == [
            (tickets, tickets)
        ]
        assert engine.execute(
            "SELECT uniqExactIfMerge(created), uniqExactIfMerge(solved) FROM rollup_hourly"
        ) == [(tickets, tickets)]
    finally:
        engine.close()
    messages = [r.getMessage() for r in caplog.records]
    assert any("failed (attempt" in m and "retrying" in m for m in messages)
    assert any("succeeded after" in m for m in messages)
