"""Helpers for tests that need a stack: a handle with connection details, private settings."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from ticketstream.devstack import procs
from ticketstream.devstack.procs import free_port
from ticketstream.devstack.stack import Stack
from ticketstream.settings import ENV_PREFIX, Settings


@dataclass
class StackHandle:
    """What a test needs to reach the stack's servers."""

    settings: Settings
    stack: Stack
    private: bool

    @property
    def kafka_bootstrap(self) -> str:
        return self.settings.kafka_bootstrap

    @property
    def clickhouse_host(self) -> str:
        return self.settings.clickhouse_host

    @property
    def clickhouse_port(self) -> int:
        return self.settings.clickhouse_port

    @property
    def prometheus_url(self) -> str:
        return self.settings.prometheus_url

    def env(self) -> dict[str, str]:
        """``TICKETSTREAM_*`` variables pointing a subprocess at this stack."""
        out: dict[str, str] = {}
        for name, value in self.settings.model_dump().items():
            if value is not None:
                out[ENV_PREFIX + name.upper()] = str(value)
        return out


def private_stack_settings(root: Path, **overrides: object) -> Settings:
    """Settings for a private stack under ``root`` with every port picked free."""
    values: dict[str, object] = {
        "stack_dir": root / "stack",
        "kafka_bootstrap": f"127.0.0.1:{free_port()}",
        "kafka_controller_port": free_port(),
        "clickhouse_port": free_port(),
        "clickhouse_http_port": free_port(),
        "prometheus_port": free_port(),
        "prometheus_scrape_interval": "1s",
        "gateway_port": free_port(),
        "worker_web_port": free_port(),
        "projector_metrics_port": free_port(),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


OWNER_FILE = "owner.pid"


def private_root(prefix: str, parent: Path | None = None) -> Path:
    """A temp dir for a private stack (in ``parent``, default the system's temp dir), owned by
    this process; orphans left there first stopped and removed (see :func:`reap_orphan_stacks`)."""
    reap_orphan_stacks(parent)
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    procs.write_pidfile(root / OWNER_FILE, os.getpid())
    return root


def reap_orphan_stacks(tmp: Path | None = None) -> list[Path]:
    """Stop and delete private stacks whose owning process died without stopping them
    (e.g. a pytest run killed with SIGKILL). Returns the dirs removed."""
    removed = []
    for owner in Path(tmp or tempfile.gettempdir()).glob(f"ticketstream-*/{OWNER_FILE}"):
        rec = procs.read_pidfile(owner)
        if rec is not None and procs.is_alive(rec.pid, rec.start_ticks or None):
            continue
        for pidfile in owner.parent.glob("stack/run/*.pid"):
            server = procs.read_pidfile(pidfile)
            if server is not None and procs.is_alive(server.pid, server.start_ticks or None):
                procs.terminate(server.pid, server.start_ticks or None)
        shutil.rmtree(owner.parent, ignore_errors=True)
        removed.append(owner.parent)
    return removed


_ISSUED: list[str] = []  # unique names handed out in this process (see drop_named)


def unique_name() -> str:
    """A short unique suffix for topics, consumer groups and databases (``[a-z0-9]``),
    remembered so :func:`drop_named` can remove what was created with it."""
    name = "t" + uuid.uuid4().hex[:10]
    _ISSUED.append(name)
    return name


def issued_names() -> list[str]:
    return list(_ISSUED)


def drop_named(settings: Settings, names: list[str]) -> tuple[list[str], list[str]]:
    """Delete the Kafka topics and ClickHouse databases whose name contains one of ``names``
    (a test session's unique names, on a shared dev stack that outlives it: topics left behind
    make every client's metadata responses bigger). Returns (topics, databases) deleted."""
    if not names:
        return [], []
    from clickhouse_driver import Client
    from kafka import KafkaAdminClient

    def ours(name: str) -> bool:
        return any(n in name for n in names)

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=30_000)
    try:
        topics = sorted(t for t in admin.list_topics() if ours(t))
        for i in range(0, len(topics), 100):
            admin.delete_topics(topics[i : i + 100], timeout_ms=30_000)
    finally:
        admin.close()
    client = Client(settings.clickhouse_host, port=settings.clickhouse_port)
    try:
        databases = sorted(
            db for (db,) in client.execute("SELECT name FROM system.databases") if ours(db)
        )
        for db in databases:
            client.execute(f"DROP DATABASE IF EXISTS `{db}`")
    finally:
        client.disconnect()
    return topics, databases
