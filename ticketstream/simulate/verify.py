"""Check a run against the pipeline: the SLA engine's breaches, and a self-contained run.

``engine_breaches`` reads every ``SlaBreached`` on the SLA events topic (deduplicated by event
id) and counts them per metric and priority, the shape of ``GroundTruth.breaches`` without
zeros. ``self_check`` starts a private stack (Kafka, ClickHouse, Prometheus on free ports), a
worker with the ticket and SLA agents on the simulated clock, a gateway process, runs the
simulation and compares — ``ticketstream simulate --self-check``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import codec
from schemas.records import SlaBreached

AGENTS = (
    "thread_channel_messages,handle_ticket_commands,serve_http_api,"
    "sla_track_clocks,sla_fire_timers,sla_update_policies"
)
SECRETS = {
    "line_channel_secret": "line-s",
    "meta_app_secret": "meta-s",
    "meta_verify_token": "meta-v",
    "telegram_secret_token": "tg-s",
    "telegram_bot_token": "12345:abc",
    "dingtalk_app_secret": "ding-s",
    "wechat_token": "wx-s",
    "api_secret": "api-s",
}


def nonzero(breaches: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """``breaches`` without zero counts and empty metrics (to compare with the engine's)."""
    out = {m: {p: n for p, n in v.items() if n} for m, v in breaches.items()}
    return {m: v for m, v in out.items() if v}


async def engine_breaches(
    bootstrap: str, topic: str, timeout: float = 30.0
) -> tuple[dict[str, dict[str, int]], list[SlaBreached]]:
    """The SlaBreached events on ``topic`` (all partitions, from the start), counted per metric
    and priority, and the events themselves."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    seen: dict[str, SlaBreached] = {}
    try:
        found = consumer.partitions_for_topic(topic)
        if not found:
            await consumer._client.force_metadata_update()
            found = consumer.partitions_for_topic(topic)
        parts = [TopicPartition(topic, p) for p in sorted(found or ())]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all([await consumer.position(tp) >= ends[tp] for tp in parts]):
                break
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for rec in records:
                    ev = codec.decode(rec.value)
                    if isinstance(ev, SlaBreached):
                        seen[ev.envelope.event_id] = ev
    finally:
        await consumer.stop()
    out: dict[str, dict[str, int]] = {}
    for ev in seen.values():
        per = out.setdefault(ev.metric.value, {})
        per[ev.priority.value] = per.get(ev.priority.value, 0) + 1
    return out, list(seen.values())


@dataclass
class SelfCheck:
    truth: Any
    engine: dict[str, dict[str, int]]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]

    @property
    def ok(self) -> bool:
        t = self.truth
        return (
            self.engine == nonzero(t.breaches)
            and not t.http_errors
            and t.unconfirmed == 0
            and t.tickets_unobserved == 0
            and t.final_tick_processed
        )


def self_check(config: Any, progress: Any = None) -> SelfCheck:
    """Run ``config`` on a private stack of its own (stopped and removed at the end)."""
    from connectors.settings import ConnectorSettings
    from schemas import topics as names
    from streams.settings import StreamsSettings
    from streams.testing import WorkerProcess
    from streams.topics_admin import ensure_topics
    from ticketstream.devstack import Stack
    from ticketstream.devstack.procs import free_port
    from ticketstream.devstack.testing import private_root, private_stack_settings
    from ticketstream.simulate import Endpoints, run
    from ticketstream.simulate.config import secrets_of

    root = private_root("ticketstream-simcheck-")
    settings = private_stack_settings(root)
    stack = Stack(settings)
    gateway: subprocess.Popen[bytes] | None = None
    worker: WorkerProcess | None = None
    try:
        stack.up()
        ensure_topics(settings, StreamsSettings())
        port, gw_port = free_port(), free_port()
        worker = WorkerProcess(
            "simcheck",
            {
                "TICKETSTREAM_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
                "TICKETSTREAM_STREAMS_APP_ID": "simcheck",
                "TICKETSTREAM_STREAMS_DATADIR": str(root / "worker"),
                "TICKETSTREAM_STREAMS_AGENTS": AGENTS,
                "TICKETSTREAM_STREAMS_API_TOKENS": "tok-sim:admin:simulator",
                "TICKETSTREAM_SLA_CLOCK": "simulated",
            },
            port,
            root / "worker.log",
        ).start()
        env = {
            **os.environ,
            "TICKETSTREAM_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            **{f"TICKETSTREAM_{k.upper()}": v for k, v in SECRETS.items()},
        }
        with (root / "gateway.log").open("wb") as log:
            gateway = subprocess.Popen(
                [sys.executable, "-m", "ticketstream.cli", "gateway", "serve", "--port",
                 str(gw_port)],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        worker.wait_ready(180)
        endpoints = Endpoints(
            f"http://127.0.0.1:{gw_port}",
            f"http://127.0.0.1:{port}",
            "tok-sim",
            settings.kafka_bootstrap,
            secrets_of(ConnectorSettings(**SECRETS)),  # type: ignore[arg-type]
            streams_group="simcheck",
        )
        before = os.getloadavg()
        truth = run(config, endpoints, progress=progress)
        after = os.getloadavg()
        engine, _ = asyncio.run(engine_breaches(settings.kafka_bootstrap, names.SLA_EVENTS))
        return SelfCheck(truth, engine, before, after)
    finally:
        if gateway is not None:
            gateway.terminate()
            gateway.wait(30)
        if worker is not None:
            worker.stop()
        stack.down()
        shutil.rmtree(root, ignore_errors=True)
