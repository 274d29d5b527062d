"""Helpers of the projections integration tests: unique topics, producing the known stream,
running the projector, reading cookbook answers as the read-only analyst user, and a private
ClickHouse server the outage test may stop and start."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from projections import cookbook
from projections.engines import DriverEngine
from projections.service import run_projector
from projections.settings import ProjectionSettings
from schemas.codec import encode
from schemas.topics import EVENT_TOPICS, key_of, route_of
from tests.unit.projections.helpers import norm_rows
from ticketstream.devstack import configs, procs
from ticketstream.settings import Settings


def topic_map(unique: str) -> dict[str, str]:
    """Real event topic → this test's private copy of it."""
    return {t: f"{t}.{unique}" for t in EVENT_TOPICS}


def create_topics(bootstrap: str, topics: Iterable[str], partitions: int = 2) -> None:
    """Create ``topics`` and wait until a fresh client sees them all (a consumer subscribing
    earlier could be assigned only some of them at first)."""
    names = list(topics)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(t, partitions, 1) for t in names])
    finally:
        admin.close()
    probe = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        wait_until(lambda: set(names) <= probe.topics(), 30, "the new topics' metadata")
    finally:
        probe.close()


def produce(bootstrap: str, records: Iterable[Any], topics: dict[str, str]) -> int:
    """Produce ``records`` to their (private) topics, keyed as in production; return count."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    n = 0
    try:
        for rec in records:
            key = key_of(rec)
            producer.send(
                topics[route_of(type(rec)).topic],
                key=key.encode() if key else None,
                value=encode(rec),
            )
            n += 1
        producer.flush()
    finally:
        producer.close()
    return n


def projection_settings(unique: str, **overrides: Any) -> ProjectionSettings:
    values: dict[str, Any] = {
        "projections_group": f"projector-{unique}",
        "projections_flush_seconds": 0.2,
        "projections_retry_max_seconds": 1.0,
        "projections_topics": ",".join(topic_map(unique).values()),
    }
    values.update(overrides)
    return ProjectionSettings(**values)


@dataclass
class RunningProjector:
    thread: threading.Thread
    stop: threading.Event

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the projector did not stop within 30 s"


def start_projector(core: Settings, ps: ProjectionSettings) -> RunningProjector:
    stop = threading.Event()
    thread = threading.Thread(target=run_projector, args=(core, ps), kwargs={"stop": stop})
    thread.start()
    return RunningProjector(thread, stop)


def answers(core: Settings, db: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every cookbook query's answer, run as the read-only analyst user."""
    engine = DriverEngine(
        core.clickhouse_host, core.clickhouse_port, database=db,
        user=core.clickhouse_analyst_user, password=core.clickhouse_analyst_password,
    )  # fmt: skip
    try:
        return {name: norm_rows(engine.execute(sql)) for name, sql in cookbook.queries().items()}
    finally:
        engine.close()


def wait_until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return
        except Exception:  # the server may be on its way up
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class PrivateClickHouse:
    """A ClickHouse 18.16 server this test owns (started from the devstack's config builders),
    so it can be stopped and started without touching the shared one."""

    def __init__(self, settings: Settings, root: Path) -> None:
        self.settings = settings
        self.base = root / "clickhouse"
        (self.base / "data").mkdir(parents=True, exist_ok=True)
        logs = root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.cfg = self.base / "config.xml"
        self.cfg.write_text(
            configs.clickhouse_config(
                settings, self.base, logs, configs.CLICKHOUSE_BASE_CONFIG.read_text()
            )
        )
        users = self.base / "users.xml"
        users.write_text(configs.clickhouse_users(settings))
        users.chmod(0o600)
        self.proc: subprocess.Popen[bytes] | None = None
        self.pidfile = Path(settings.stack_dir) / "run" / "clickhouse.pid"
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["clickhouse-server", f"--config-file={self.cfg}"],
            cwd=self.base, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        # where reap_orphan_stacks() looks: a pytest killed with -9 leaves no server behind
        procs.write_pidfile(self.pidfile, self.proc.pid)
        engine = DriverEngine(self.settings.clickhouse_host, self.settings.clickhouse_port)
        wait_until(lambda: engine.execute("SELECT 1") == [(1,)], 60, "the private ClickHouse")
        engine.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        self.pidfile.unlink(missing_ok=True)
        procs.wait_ports_free(
            [self.settings.clickhouse_port, self.settings.clickhouse_http_port], timeout=30
        )


def wait_for_answers(core: Settings, db: str, expected: dict[str, Any], timeout: float) -> None:
    """Wait until every cookbook answer equals ``expected``; on timeout, show what differs."""
    deadline = time.monotonic() + timeout
    got: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            got = answers(core, db)
        except Exception as exc:  # the server may be on its way up
            got = {"error": str(exc)}
        if got == expected:
            return
        time.sleep(0.2)
    diff = {k: got.get(k) for k in expected if got.get(k) != expected[k]}
    raise AssertionError(f"after {timeout:.0f} s these cookbook answers differ: {diff}")
