"""After the known event stream, every cookbook query returns its hand-computed answer on the
real ClickHouse 18.16 (as the read-only analyst) — also after a crash between insert and
commit, and after a full rebuild."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer

from projections.engines import DriverEngine
from projections.migrate import migrate
from projections.projector import Projector
from projections.rebuild import rebuild
from projections.service import config_from
from tests.integration.projections.helpers import (
    answers,
    create_topics,
    produce,
    projection_settings,
    start_projector,
    topic_map,
    wait_until,
)
from tests.unit.projections.known_stream import DISTINCT_EVENTS, EXPECTED, known_stream


@pytest.fixture
def setup(stack: Any, unique_name: str) -> Any:
    db = f"pj_{unique_name}"
    core = stack.settings.model_copy(update={"clickhouse_database": db})
    topics = topic_map(unique_name)
    create_topics(core.kafka_bootstrap, topics.values())
    admin = DriverEngine(core.clickhouse_host, core.clickhouse_port)
    yield core, topics, admin, db
    for name in (db, f"{db}_old", f"{db}_rebuild"):
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.close()


def test_cookbook_answers_after_the_known_stream_and_after_a_rebuild(
    setup: Any, unique_name: str
) -> None:
    core, topics, admin, db = setup
    assert produce(core.kafka_bootstrap, known_stream(), topics) == DISTINCT_EVENTS + 2
    running = start_projector(core, projection_settings(unique_name))
    try:
        wait_until(lambda: answers(core, db) == EXPECTED, 60, "the cookbook answers")
    finally:
        running.close()
    assert admin.execute(f"SELECT count() FROM {db}.events FINAL") == [(DISTINCT_EVENTS,)]

    # an analyst reading all through the rebuild always sees every table, with every event
    seen: list[Any] = []
    done = threading.Event()

    def read() -> None:
        reader = DriverEngine(
            core.clickhouse_host, core.clickhouse_port, database=db,
            user=core.clickhouse_analyst_user, password=core.clickhouse_analyst_password,
        )  # fmt: skip
        try:
            while not done.is_set():
                try:
                    seen.append(reader.execute("SELECT count() FROM events FINAL")[0][0])
                except Exception as exc:
                    seen.append(exc)
        finally:
            reader.close()

    reading = threading.Thread(target=read)
    reading.start()
    consumer = KafkaConsumer(bootstrap_servers=core.kafka_bootstrap, enable_auto_commit=False)
    try:
        result = rebuild(admin, consumer, db, topics=tuple(topics.values()), progress=None)
    finally:
        consumer.close()
        done.set()
        reading.join(30)
    assert seen and set(seen) == {DISTINCT_EVENTS}, {str(x) for x in seen}
    assert result.events == DISTINCT_EVENTS + 2
    assert answers(core, db) == EXPECTED
    # the previous tables are kept beside, unchanged
    assert admin.execute(f"SELECT count() FROM {db}_old.events FINAL") == [(DISTINCT_EVENTS,)]
    # the live materialized view feeds the swapped-in rollup
    assert admin.execute(f"EXISTS TABLE {db}.rollup_hourly_mv") == [(1,)]


class _Crash(BaseException):
    """Stands for the process dying (not an error the projector could handle)."""


class _CrashAfterEvents:
    """An engine that dies once, right after the ``events`` insert of a batch succeeded."""

    def __init__(self, inner: DriverEngine) -> None:
        self.inner, self.name, self.armed = inner, "server", True

    def execute(self, sql: str) -> Any:
        return self.inner.execute(sql)

    def insert(self, table: str, columns: Any, data: Any) -> None:
        if self.armed and not table.endswith(".events"):
            self.armed = False
            raise _Crash
        self.inner.insert(table, columns, data)

    def close(self) -> None:
        self.inner.close()


def test_a_crash_between_insert_and_commit_changes_no_answer(setup: Any, unique_name: str) -> None:
    core, topics, admin, db = setup
    produce(core.kafka_bootstrap, known_stream(), topics)
    ps = projection_settings(unique_name, projections_batch_rows=12)
    config = config_from(core, ps)
    migrate(admin, db)
    producer = KafkaProducer(bootstrap_servers=core.kafka_bootstrap)

    def consumer() -> KafkaConsumer:
        c = KafkaConsumer(
            bootstrap_servers=core.kafka_bootstrap, group_id=config.group,
            enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=12,
        )  # fmt: skip
        # As run_projector does: join only once the client's metadata has every topic. Joined
        # earlier, the range assignor can skip topics it has no metadata for ("No partition
        # metadata for topic …") and the group stays so: CI saw 40 s of polls read nothing.
        wait_until(lambda: set(topics.values()) <= c.topics(), 30, "metadata for every topic")
        c.subscribe(list(topics.values()))
        return c

    first = consumer()
    crashing = Projector(_CrashAfterEvents(admin), first, producer, config)
    try:
        with pytest.raises(_Crash):
            for _ in range(300):
                crashing.poll_once(0.2)
    finally:
        first.close(autocommit=False)
    stored = admin.execute(f"SELECT count() FROM {db}.events")[0][0]
    assert 0 < stored < DISTINCT_EVENTS  # the crashed batch's events are in, nothing committed

    second = consumer()
    engine = DriverEngine(core.clickhouse_host, core.clickhouse_port)
    restarted = Projector(engine, second, producer, config)
    try:
        wait_until(
            lambda: restarted.poll_once(0.2) >= 0 and answers(core, db) == EXPECTED,
            60,
            "the cookbook answers after the restart",
        )
    finally:
        second.close()
        engine.close()
        producer.close()
    assert admin.execute(f"SELECT count() FROM {db}.events FINAL") == [(DISTINCT_EVENTS,)]
