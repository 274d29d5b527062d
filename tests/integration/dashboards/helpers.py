"""What the pipeline tests share: a real gateway taking signed webhooks, Prometheus queries,
and scrape targets written into the test stack's Prometheus file discovery."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from connectors.channels import api
from connectors.service import running_gateway
from connectors.settings import ConnectorSettings
from ticketstream.settings import Settings


def promql(base: str, query: str) -> list[Any]:
    """The result vector of an instant query (asserts the query itself succeeded)."""
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.load(resp)
    assert body["status"] == "success", (query, body)
    result: list[Any] = body["data"]["result"]
    return result


def wait_topics_visible(bootstrap: str, topics: list[str], timeout: float = 30) -> None:
    """Wait until a fresh client sees every topic's metadata: a consumer group that subscribes
    earlier can be assigned only some of them, and stays so for minutes."""
    from kafka import KafkaConsumer

    probe = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        deadline = time.monotonic() + timeout
        while not set(topics) <= probe.topics():
            assert time.monotonic() < deadline, f"topics not visible after {timeout} s: {topics}"
            time.sleep(0.2)
    finally:
        probe.close()


def write_target(stack: Any, name: str, job: str, port: int) -> None:
    """Let the stack's Prometheus scrape 127.0.0.1:``port`` as ``job`` (file discovery)."""
    targets = stack.stack.targets_dir
    targets.mkdir(parents=True, exist_ok=True)
    tmp = targets / f"{name}.tmp"
    tmp.write_text(json.dumps([{"targets": [f"127.0.0.1:{port}"], "labels": {"job": job}}]))
    tmp.replace(targets / f"{name}.json")


@dataclass
class Webhooks:
    """A running gateway (real code, in this process) and a client posting to it."""

    http: aiohttp.ClientSession
    port: int
    secret: str
    burst_ends: list[float] = field(default_factory=list)  # unix time each burst was answered

    async def post(self, path: str, raw: bytes, headers: dict[str, str]) -> int:
        url = f"http://127.0.0.1:{self.port}{path}"
        async with self.http.post(url, data=raw, headers=headers) as r:
            await r.read()
            return r.status

    async def post_api(
        self, i: int, *, channel: str = "webchat", secret: str | None = None, message: str = ""
    ) -> int:
        """Customer ``cust-i`` writes message ``msg-i{message}`` in conversation ``conv-i``
        through the signed api/webchat webhook (``secret`` overrides the right one, to be
        rejected)."""
        raw = json.dumps(
            {
                "account_id": "site-1",
                "external_conversation_id": f"conv-{i}",
                "external_user_id": f"cust-{i}",
                "external_message_id": f"msg-{i}{message}",
                "text": "where is my order?",
                "sent_at": int(time.time() * 1000),
            }
        ).encode()
        ts = str(int(time.time()))
        sig = api.sign(self.secret if secret is None else secret, ts, raw)
        return await self.post(f"/webhooks/{channel}", raw, {"X-Timestamp": ts, "X-Signature": sig})

    async def bursts(
        self, n: int, *, channel: str = "webchat", bursts: int = 3, pause: float = 3.0
    ) -> list[int]:
        """Post messages 0..n-1 in ``bursts`` bursts ``pause`` seconds apart (so Prometheus'
        rates see activity over several scrapes); every tenth is badly signed (rejections).
        Returns the HTTP statuses in message order."""
        statuses: list[int] = []
        size = n // bursts
        for b in range(bursts):
            first = b * size
            statuses += await asyncio.gather(
                *(
                    self.post_api(i, channel=channel, secret=None if i % 10 else "wrong")
                    for i in range(first, first + size)
                )
            )
            self.burst_ends.append(time.time())
            await asyncio.sleep(pause)
        return statuses


@asynccontextmanager
async def webhooks(
    core: Settings, settings: ConnectorSettings, topic: str
) -> AsyncIterator[Webhooks]:
    """The gateway on a free port producing to ``topic``, and a client for it."""
    async with (
        running_gateway(core, settings, host="127.0.0.1", port=0, topic=topic, warm=False) as (
            _,
            port,
        ),
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http,
    ):
        yield Webhooks(http, port, settings.api_secret.get_secret_value())


class PollingExporter:
    """The lag exporter as deployed: it polls every second (in a thread) and serves its registry
    on a free port. Watches the consumer groups whose names contain ``unique_name``."""

    def __init__(self, core: Settings, unique_name: str) -> None:
        from ticketstream.observability.exporter import Exporter
        from ticketstream.observability.http import serve_metrics
        from ticketstream.observability.settings import ObservabilitySettings

        self.exporter = Exporter(
            core,
            ObservabilitySettings(
                lag_exporter_port=0,
                lag_exporter_interval_seconds=1.0,
                lag_exporter_group_pattern=f".*{unique_name}.*",
                freshness_tables="events:occurred_at",
            ),
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self.server = serve_metrics(0, "127.0.0.1", self.exporter.registry)
        self.port: int = self.server.port

    def _poll(self) -> None:
        while not self._stop.wait(1.0):
            self.exporter.poll_once()

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=30)
        self.server.close()
        self.exporter.close()
