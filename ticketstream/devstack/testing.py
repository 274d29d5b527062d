"""Helpers for tests that need a stack: a handle with connection details, private settings."""

from __future__ import annotations

import os
import shutil
import tempfile
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


def private_root(prefix: str) -> Path:
    """A temp dir for a private stack, owned by this process (see :func:`reap_orphan_stacks`)."""
    reap_orphan_stacks()
    root = Path(tempfile.mkdtemp(prefix=prefix))
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
