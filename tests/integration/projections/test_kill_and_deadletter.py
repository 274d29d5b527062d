"""kill -9 of the projector process while it projects the known stream, then a restart: every
cookbook answer is still the hand-computed one. An undecodable record goes to the dead-letter
topic with its topic/partition/offset and the error, is counted, and projecting carries on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition

from projections import metrics
from projections.engines import DriverEngine
from schemas.codec import decode
from schemas.records import DeadLetter
from schemas.topics import DEAD_LETTER, TICKET_EVENTS
from tests.integration.projections.helpers import (
    answers,
    create_topics,
    produce,
    projection_settings,
    start_projector,
    topic_map,
    wait_for_answers,
    wait_until,
)
from tests.unit.projections.known_stream import DISTINCT_EVENTS, EXPECTED, known_stream

CLI = str(Path(sys.executable).parent / "ticketstream")


@pytest.fixture
def setup(stack: Any, unique_name: str) -> Any:
    db = f"pj_{unique_name}"
    core = stack.settings.model_copy(update={"clickhouse_database": db})
    topics = topic_map(unique_name)
    create_topics(core.kafka_bootstrap, topics.values())
    admin = DriverEngine(core.clickhouse_host, core.clickhouse_port)
    yield stack, core, topics, admin, db
    admin.execute(f"DROP DATABASE IF EXISTS {db}")
    admin.close()


def _spawn(stack: Any, db: str, unique: str, batch_rows: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **stack.env(),
        "TICKETSTREAM_CLICKHOUSE_DATABASE": db,
        "TICKETSTREAM_PROJECTIONS_GROUP": f"projector-{unique}",
        "TICKETSTREAM_PROJECTIONS_TOPICS": ",".join(topic_map(unique).values()),
        "TICKETSTREAM_PROJECTIONS_BATCH_ROWS": str(batch_rows),
        "TICKETSTREAM_PROJECTIONS_FLUSH_SECONDS": "0.05",
    }
    return subprocess.Popen(
        [CLI, "projections", "run", "--metrics-port", "0"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def test_kill_9_mid_stream_and_restart_changes_no_answer(setup: Any, unique_name: str) -> None:
    stack, core, topics, admin, db = setup
    produce(core.kafka_bootstrap, known_stream(), topics)
    proc = _spawn(stack, db, unique_name, batch_rows=3)
    try:

        def stored() -> int:
            return int(admin.execute(f"SELECT count() FROM {db}.events")[0][0])

        wait_until(lambda: stored() >= 6, 60, "the first batches in ClickHouse")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        killed_at = stored()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert killed_at < DISTINCT_EVENTS + 2, "the projector had finished before the kill"
    proc = _spawn(stack, db, unique_name, batch_rows=5000)
    try:
        wait_for_answers(core, db, EXPECTED, 60)
        time.sleep(1)  # and they stay right
        assert answers(core, db) == EXPECTED
    finally:
        proc.terminate()
        proc.wait(30)
    assert admin.execute(f"SELECT count() FROM {db}.events FINAL") == [(DISTINCT_EVENTS,)]


def test_undecodable_record_is_dead_lettered_and_projecting_carries_on(
    setup: Any, unique_name: str
) -> None:
    _stack, core, topics, _admin, db = setup
    probe = KafkaConsumer(bootstrap_servers=core.kafka_bootstrap)
    dl_parts = [
        TopicPartition(DEAD_LETTER, p) for p in probe.partitions_for_topic(DEAD_LETTER) or {0}
    ]
    start = probe.end_offsets(dl_parts)
    probe.close()
    tickets_topic = topics[TICKET_EVENTS]
    producer = KafkaProducer(bootstrap_servers=core.kafka_bootstrap, acks="all")
    junk = producer.send(tickets_topic, key=b"T1", value=b"\x00not avro at all", partition=0).get(
        10
    )
    producer.close()
    produce(core.kafka_bootstrap, known_stream(), topics)
    before = metrics.DEAD_LETTERS._value.get()
    running = start_projector(core, projection_settings(unique_name))
    try:
        wait_for_answers(core, db, EXPECTED, 60)
    finally:
        running.close()
    assert metrics.DEAD_LETTERS._value.get() - before == 1

    consumer = KafkaConsumer(bootstrap_servers=core.kafka_bootstrap, enable_auto_commit=False)
    consumer.assign(dl_parts)
    for tp in dl_parts:
        consumer.seek(tp, start.get(tp, 0))
    found: list[DeadLetter] = []
    deadline = time.monotonic() + 20
    while not found and time.monotonic() < deadline:
        for msgs in consumer.poll(timeout_ms=500).values():
            for msg in msgs:
                dl = decode(msg.value, expected=DeadLetter)
                if dl.source_topic == tickets_topic:
                    found.append(dl)
    consumer.close()
    assert len(found) == 1
    dl = found[0]
    assert (dl.source_partition, dl.source_offset) == (0, junk.offset)
    assert dl.error_type == "SchemaDecodeError"
    assert f"{tickets_topic}[0]@{junk.offset}" in dl.error
    assert dl.value == b"\x00not avro at all" and dl.key == b"T1"
    assert dl.consumer == f"projector-{unique_name}"
