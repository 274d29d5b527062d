"""A private, Kafka-only broker that a test may stop and start (never the shared dev stack).

Uses the stack engineer's ``Stack`` with private settings (free ports, a temp dir) and starts
only its Kafka server, so stopping it cannot disturb anyone else's tests.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from ticketstream.devstack import Stack
from ticketstream.devstack.testing import private_root, private_stack_settings


class PrivateKafka:
    def __init__(self) -> None:
        self.root: Path = private_root("ticketstream-connectors-kafka-")
        self.settings = private_stack_settings(self.root, kafka_heap="256m")
        self.stack = Stack(self.settings)

    @property
    def bootstrap(self) -> str:
        return self.settings.kafka_bootstrap

    def start(self) -> None:
        # Kafka only: the public Stack.up() would also start ClickHouse and Prometheus.
        (plan,) = self.stack._prepare(["kafka"])
        self.stack._spawn(plan)
        self.stack._wait_ready("kafka", time.monotonic() + self.settings.stack_start_timeout)

    def stop(self) -> None:
        self.stack._down(["kafka"])

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
