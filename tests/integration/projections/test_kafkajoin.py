"""The projector's consumer finishes a group join that ``poll``'s timeout cut short
(``projections.kafkajoin``), on the real broker.

A consumer that subscribes to topics created moments before joins with no partitions, then
rejoins when their metadata arrives — the rejoin kafka-python 3.0.12 loses when ``poll``'s
timeout ends inside it. Polling with ``timeout_ms=0`` through that rejoin left 8 of 10 plain
kafka-python consumers without partitions for good (the module's docstring); every consumer
``make_consumer`` builds must get all its partitions and read what was produced."""

from __future__ import annotations

import time
from typing import Any

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from projections import kafkajoin
from projections.service import make_consumer

ROUNDS, TOPICS, PARTITIONS = 6, 3, 2


def test_every_consumer_gets_its_partitions_polling_with_zero_timeouts(
    stack: Any, unique_name: str
) -> None:
    core = stack.settings
    admin = KafkaAdminClient(bootstrap_servers=core.kafka_bootstrap)
    producer = KafkaProducer(bootstrap_servers=core.kafka_bootstrap, acks="all")
    outcomes: list[tuple[int, int, float]] = []
    try:
        for r in range(ROUNDS):
            topics = [f"joinfix.{unique_name}.{r}.{k}" for k in range(TOPICS)]
            admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
            for t in topics:
                for p in range(PARTITIONS):
                    producer.send(t, value=b"x", partition=p)
            producer.flush()
            consumer = make_consumer(core, f"joinfix-{unique_name}-{r}", 100)
            try:
                assert "need_rejoin" in vars(consumer._coordinator), "kafkajoin not installed"
                consumer.subscribe(topics)
                read = 0
                started = time.monotonic()
                while time.monotonic() - started < 15 and read < TOPICS * PARTITIONS:
                    got = consumer.poll(timeout_ms=0)
                    read += sum(len(v) for v in got.values())
                    time.sleep(0.001)
                outcomes.append(
                    (len(consumer.assignment()), read, round(time.monotonic() - started, 2))
                )
            finally:
                consumer.close(autocommit=False)
    finally:
        producer.close()
        admin.close()
    want = TOPICS * PARTITIONS
    assert outcomes == [(want, want, t) for _, _, t in outcomes], outcomes


def test_install_patches_only_kafka_python_3_0_coordinators() -> None:
    class Coordinator:
        _join_task: object = None

        def need_rejoin(self) -> bool:
            return False

    class Consumer:
        _coordinator = Coordinator()

    consumer = Consumer()
    assert kafkajoin.install(consumer)
    assert not kafkajoin.install(consumer)  # once
    coordinator = consumer._coordinator
    assert coordinator.need_rejoin() is False
    coordinator._join_task = object()  # a join poll's timeout left unfinished
    assert coordinator.need_rejoin() is True
    assert not kafkajoin.install(object())  # no group coordinator: nothing to do
