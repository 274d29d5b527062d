"""``ticketstream demo --smoke``: the smoke pipeline on the dev stack (a quick check that the
servers work together; the real demo is ``ticketstream.demo.run``):
records produced to Kafka (kafka-python) → a Faust agent → rows in ClickHouse and a
prometheus-client counter → scraped by the real Prometheus → read back with PromQL.
The stack is left running (stop it with ``ticketstream dev down`` / ``make down``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from ticketstream.devstack.procs import free_port
from ticketstream.devstack.stack import Stack, StackError
from ticketstream.settings import Settings, load_settings

SMOKE_DATABASE = "ticketstream_smoke"
CHANNELS = ("email", "whatsapp", "line", "telegram", "webchat")


def run_smoke(args: argparse.Namespace) -> int:
    settings = load_settings()
    # aiokafka logs transient start-up errors of a fresh broker (GroupCoordinatorNotAvailable);
    # every stage below is verified, so keep the output to what the demo shows.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    print("ticketstream demo --smoke: the SMOKE PIPELINE on the dev stack")
    print("  (Kafka → Faust agent → ClickHouse + Prometheus metric → PromQL).")
    stack = Stack(settings)
    try:
        for name, what in stack.up().items():
            print(f"  {name:<11} {what}")
        summary = run_smoke_pipeline(settings, stack, records=args.records)
    except (StackError, SmokeError) as exc:
        print(f"ticketstream demo: {exc}")
        return 1
    print("SMOKE PIPELINE OK:", json.dumps(summary, sort_keys=True))
    print(
        f"Look around: clickhouse-client --port {settings.clickhouse_port} "
        f"--query 'SELECT * FROM {SMOKE_DATABASE}.messages LIMIT 5'; Prometheus at "
        f"{settings.prometheus_url}. Stop everything with `make down`."
    )
    return 0


class SmokeError(Exception):
    """A stage of the smoke pipeline did not complete; the message names the stage."""


def _stage(name: str, out: Callable[[str], None]) -> Callable[[], None]:
    t0 = time.monotonic()
    out(f"  · {name} …")

    def done() -> None:
        out(f"    ok ({time.monotonic() - t0:.1f} s)")

    return done


def run_smoke_pipeline(
    settings: Settings, stack: Stack, *, records: int = 200, out: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run the smoke pipeline once on ``stack``; return what each server reported back."""
    from clickhouse_driver import Client
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic
    from prometheus_client import CollectorRegistry, Counter, start_http_server

    run_id = uuid.uuid4().hex[:8]
    topic = f"demo.smoke.messages.{run_id}"
    table = f"{SMOKE_DATABASE}.messages"
    job = f"ticketstream_smoke_{run_id}"

    done = _stage("ClickHouse: create database and table", out)
    ch = Client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password,
    )
    ch.execute(f"CREATE DATABASE IF NOT EXISTS {SMOKE_DATABASE}")
    ch.execute(
        f"CREATE TABLE IF NOT EXISTS {table} (run_id String, seq UInt32, channel String, "
        "received_at DateTime) ENGINE = MergeTree ORDER BY (run_id, seq)"
    )
    done()

    done = _stage(f"Kafka: create topic {topic} and produce {records} records", out)
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    try:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        for seq in range(records):
            value = {"seq": seq, "channel": CHANNELS[seq % len(CHANNELS)], "at": now.isoformat()}
            producer.send(topic, json.dumps(value).encode())
        producer.flush(timeout=30)
    finally:
        producer.close()
    done()

    registry = CollectorRegistry()
    counter = Counter(
        "ticketstream_smoke_records_total",
        "Records the smoke pipeline's Faust agent wrote to ClickHouse",
        ["channel"],
        registry=registry,
    )
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    stack.add_scrape_target(job, f"127.0.0.1:{port}")
    try:
        done = _stage("Faust: agent consumes the topic, writes ClickHouse, counts", out)
        asyncio.run(_faust_round(settings, topic, run_id, records, ch, table, counter))
        done()

        done = _stage("ClickHouse: query what the agent wrote", out)
        rows = ch.execute(
            f"SELECT channel, count() FROM {table} WHERE run_id = %(r)s GROUP BY channel "
            "ORDER BY channel",
            {"r": run_id},
        )
        by_channel = {str(c): int(n) for c, n in rows}
        if sum(by_channel.values()) != records:
            raise SmokeError(f"ClickHouse holds {sum(by_channel.values())} rows, want {records}")
        done()

        done = _stage("Prometheus: scrape the counter and read it back with PromQL", out)
        query = f'sum(ticketstream_smoke_records_total{{job="{job}"}})'
        deadline = time.monotonic() + 60
        seen = None
        while time.monotonic() < deadline:
            seen = _promql_scalar(settings.prometheus_url, query)
            if seen == records:
                break
            time.sleep(0.5)
        if seen != records:
            raise SmokeError(f"Prometheus reports {seen} for {query}, want {records}")
        done()
    finally:
        stack.remove_scrape_target(job)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        ch.disconnect()
    return {
        "run_id": run_id,
        "topic": topic,
        "records": records,
        "clickhouse_rows_by_channel": by_channel,
        "promql": query,
        "prometheus_value": seen,
    }


async def _faust_round(
    settings: Settings,
    topic_name: str,
    run_id: str,
    records: int,
    ch: Any,
    table: str,
    counter: Any,
) -> None:
    import tempfile

    import faust

    with tempfile.TemporaryDirectory(prefix="ticketstream-smoke-") as datadir:
        app = faust.App(
            f"ticketstream-smoke-{run_id}",
            broker=f"kafka://{settings.kafka_bootstrap}",
            web_enabled=False,
            datadir=datadir,
            store="memory://",
            topic_partitions=1,
            topic_replication_factor=1,
        )
        topic = app.topic(topic_name, value_serializer="json")
        finished = asyncio.get_running_loop().create_future()
        written = 0

        @app.agent(topic)
        async def write_messages(stream: Any) -> None:
            nonlocal written
            loop = asyncio.get_running_loop()
            async for batch in stream.take(100, within=1.0):
                rows = [
                    (
                        run_id,
                        v["seq"],
                        v["channel"],
                        dt.datetime.fromisoformat(v["at"]).replace(tzinfo=None),
                    )
                    for v in batch
                ]
                await loop.run_in_executor(
                    None,
                    ch.execute,
                    f"INSERT INTO {table} (run_id, seq, channel, received_at) VALUES",
                    rows,
                )
                for v in batch:
                    counter.labels(channel=v["channel"]).inc()
                written += len(rows)
                if written >= records and not finished.done():
                    finished.set_result(None)

        await app.start()
        try:
            try:
                await asyncio.wait_for(finished, timeout=120)
            except TimeoutError:
                raise SmokeError(
                    f"the Faust agent wrote {written} of {records} records in 120 s"
                ) from None
        finally:
            await app.stop()


def _promql_scalar(base_url: str, query: str) -> float | None:
    url = f"{base_url}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.load(resp)
    result = body.get("data", {}).get("result", [])
    return float(result[0]["value"][1]) if result else None
