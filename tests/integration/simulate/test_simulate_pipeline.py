"""The simulator against the real pipeline: a real worker (ticket + SLA agents, simulated SLA
clock, admin token), the real gateway in-process, the real projector into ClickHouse. A few
simulated hours at a small volume, compressed into seconds: every ticket the simulator opens is
a ticket in ClickHouse, every action is confirmed by a ticket event, and the SLA engine's
breaches per metric and priority equal the ones the simulator computes on its own."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from clickhouse_driver import Client
from clickhouse_driver.errors import ServerException

from connectors.service import running_gateway
from connectors.settings import ConnectorSettings
from schemas import topics as names
from schemas.records import SlaBreached
from streams.settings import StreamsSettings
from streams.testing import WorkerProcess
from streams.topics_admin import ensure_topics
from ticketstream.demo.services import Service
from ticketstream.devstack.procs import free_port
from ticketstream.simulate import Endpoints, GroundTruth, SimConfig, run_async
from ticketstream.simulate.config import secrets_of
from ticketstream.simulate.verify import AGENTS, SECRETS, engine_breaches, nonzero

TOKEN = "tok-sim"
# Monday 09:00 in Bangkok: the morning ramp, every region awake or waking.
START = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)


def test_simulated_hours_reach_clickhouse_and_sla_breaches_match(
    stack, unique_name: str, tmp_path: Path
) -> None:
    prefix = f"{unique_name}."
    db = f"sim_{unique_name}"
    streams = StreamsSettings(  # type: ignore[call-arg]
        streams_topic_prefix=prefix, streams_topic_partitions=2
    )
    ensure_topics(stack.settings, streams)
    port = free_port()
    worker = WorkerProcess(
        "sim",
        {
            "TICKETSTREAM_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
            "TICKETSTREAM_STREAMS_APP_ID": f"sim-{unique_name}",
            "TICKETSTREAM_STREAMS_TOPIC_PREFIX": prefix,
            "TICKETSTREAM_STREAMS_TOPIC_PARTITIONS": "2",
            "TICKETSTREAM_STREAMS_STORE": "memory",
            "TICKETSTREAM_STREAMS_DATADIR": str(tmp_path / "worker"),
            "TICKETSTREAM_STREAMS_AGENTS": AGENTS,
            "TICKETSTREAM_STREAMS_API_TOKENS": f"{TOKEN}:admin:simulator",
            "TICKETSTREAM_SLA_CLOCK": "simulated",
        },
        port,
        tmp_path / "worker.log",
    )
    # The projector runs as its own process, as in production: in this process (gateway and
    # simulator busy on the GIL) its kafka-python consumer was seen dropped from its group.
    projector_env = {
        **stack.env(),
        "TICKETSTREAM_CLICKHOUSE_DATABASE": db,
        "TICKETSTREAM_PROJECTIONS_GROUP": f"sim-projector-{unique_name}",
        "TICKETSTREAM_PROJECTIONS_TOPICS": ",".join(prefix + t for t in names.EVENT_TOPICS),
        "TICKETSTREAM_PROJECTIONS_FLUSH_SECONDS": "0.2",
        "TICKETSTREAM_PROJECTOR_METRICS_PORT": str(free_port()),
    }
    projector = Service(
        "projector", ["projections", "run"], projector_env, tmp_path / "projector.log"
    )
    cs = ConnectorSettings(**SECRETS)  # type: ignore[arg-type]
    config = SimConfig(
        preset="tesco",
        tickets_per_week=2000,
        days=0.25,
        start=START,
        compression=1800.0,  # six simulated hours in 12 s
        seed=7,
        sla_tick_lag_seconds=1.0,
        confirm_timeout_seconds=30.0,
    )

    async def simulate() -> GroundTruth:
        async with running_gateway(
            stack.settings, cs, host="127.0.0.1", port=0, topic=prefix + names.CHANNEL_MESSAGES,
            warm=False,
        ) as (_, gw_port):  # fmt: skip
            endpoints = Endpoints(
                gateway_url=f"http://127.0.0.1:{gw_port}",
                api_url=f"http://127.0.0.1:{port}",
                api_token=TOKEN,
                kafka_bootstrap=stack.kafka_bootstrap,
                secrets=secrets_of(cs),
                topic_prefix=prefix,
                streams_group=f"sim-{unique_name}",
            )
            return await run_async(config, endpoints)

    worker.start()
    try:
        worker.wait_ready(120)
        projector.start()
        truth = asyncio.run(simulate())
        assert truth.http_errors == {}, truth.http_errors
        assert truth.unconfirmed == 0 and truth.tickets_unobserved == 0
        assert truth.rejections == {}, truth.rejections
        assert truth.tickets_opened >= 20, truth.tickets_opened
        assert set(truth.tickets_by_channel) == set(secrets_of(cs)), truth.tickets_by_channel
        assert truth.last_sla_tick == config.end and truth.final_tick_processed

        client = Client(host=stack.clickhouse_host, port=stack.clickhouse_port, database="default")
        try:
            deadline = time.monotonic() + 60
            in_db = -1
            while time.monotonic() < deadline:
                try:
                    in_db = client.execute(f"SELECT count() FROM {db}.tickets FINAL")[0][0]
                except ServerException:  # the projector has not created the table yet
                    in_db = -1
                if in_db == truth.tickets_opened:
                    break
                time.sleep(1)
        finally:
            client.disconnect()
        assert in_db == truth.tickets_opened

        expected = nonzero(truth.breaches)
        assert sum(sum(v.values()) for v in expected.values()) > 0, "a run without breaches"
        got: dict[str, dict[str, int]] = {}
        events: list[SlaBreached] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            got, events = asyncio.run(
                engine_breaches(stack.kafka_bootstrap, prefix + names.SLA_EVENTS)
            )
            if got == expected:
                break
            time.sleep(1)
        differ = [
            (e.ticket_id, e.metric.value, e.priority.value, e.due_at.isoformat(),
             truth.first_reply_seconds.get(e.ticket_id))
            for e in events
            if e.ticket_id not in truth.breached_tickets.get(e.metric.value, [])
        ]  # fmt: skip
        assert got == expected, differ
    finally:
        worker.stop()
        projector.stop(timeout=30)  # SIGTERM: it flushes and leaves its group
