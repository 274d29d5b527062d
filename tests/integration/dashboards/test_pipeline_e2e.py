"""The whole pipeline running, and every query of every generated dashboard answered by it.

Real parts, each on this test's own topics (prefix), consumer groups and database: the gateway
(signed webhooks), a Faust worker process with every agent (threading, tickets, routing, SLA on
a simulated clock, the command API) and the projector as processes, the outbound worker
delivering agent replies to a local server implementing Telegram's send contract, the lag
exporter — all scraped by the real Prometheus under the dashboards' job names.

The scenario: customers write (a tenth badly signed, one webhook redelivered); an agent goes
online through the command API (capacity one Telegram and one web-chat ticket) and the router
assigns her two of the waiting tickets; the agent replies on Telegram (delivered by the outbound
worker, first-reply timer fulfilled) and solves that ticket; a command is refused and a junk
record is dead-lettered; SlaTick records move SLA time two hours on, so every other ticket's
first-reply timer warns (assigned and unassigned) and breaches for real.

Then every Prometheus query (each target of each panel, and each variable) of the generated
dashboards returns data from the real Prometheus, every ClickHouse query returns rows from the
real ClickHouse, and no label value on any process is an id of this run."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from clickhouse_driver import Client
from clickhouse_driver.errors import ServerException
from kafka import KafkaProducer
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from connectors.outbound.worker import OutboundWorker
from connectors.settings import ConnectorSettings
from dashboards.grafana.queries import (
    expand_clickhouse,
    expand_promql,
    panel_queries,
    variable_queries,
)
from schemas import topics as names
from schemas.records import Channel, Priority
from streams.sla.ticks import produce_sla_ticks
from streams.testing import WorkerProcess
from tests.integration.connectors import fake_platforms as fp
from ticketstream.demo.services import Service
from ticketstream.devstack.procs import free_port
from ticketstream.observability.http import serve_metrics

from .helpers import PollingExporter, Webhooks, promql, wait_topics_visible, webhooks, write_target

SECRET, TG_SECRET, TG_CHAT = "e2e-secret", "e2e-tg-secret", 4242
TICKETS = int(os.environ.get("DASHBOARDS_E2E_TICKETS", "60"))  # 11130 for the big run
WAIT = 30 + TICKETS / 100  # seconds for one step of the scenario
TOKENS = "tok-sup:supervisor:lead-1,tok-ann:agent:ann"
# Round the clock (the run does not depend on the hour it starts), one timer per ticket:
# first reply within 1 h, warning at 50 %.
POLICY = """\
schedules:
  always:
    zone: UTC
    hours: {mon: ["00:00-24:00"], tue: ["00:00-24:00"], wed: ["00:00-24:00"], thu: ["00:00-24:00"], fri: ["00:00-24:00"], sat: ["00:00-24:00"], sun: ["00:00-24:00"]}
default_schedule: always
policies:
  - id: e2e
    warnings: [50]
    targets:
      first_reply_time: {urgent: 1h, high: 1h, normal: 1h, low: 1h}
"""


async def until(what: str, check: Any, timeout: float, *, every: float = 0.5) -> Any:
    """Poll ``check()`` (sync or async) until it returns something truthy; fail after
    ``timeout`` seconds saying ``what`` did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return got
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        await asyncio.sleep(every)


class Desk:
    """The agent desk: the worker's command API and queue view."""

    def __init__(self, http: aiohttp.ClientSession, port: int) -> None:
        self.http, self.base = http, f"http://127.0.0.1:{port}/api/v1"

    async def command(self, body: dict[str, Any], token: str = "tok-sup") -> int:
        headers = {"Authorization": f"Bearer {token}"}
        async with self.http.post(f"{self.base}/commands", json=body, headers=headers) as r:
            await r.read()
            return r.status

    async def queue(self, assignee: str) -> list[dict[str, Any]]:
        headers = {"Authorization": "Bearer tok-ann"}
        url = f"{self.base}/queue?assignee={assignee}"
        async with self.http.get(url, headers=headers) as r:
            assert r.status == 200, await r.text()
            rows: list[dict[str, Any]] = (await r.json())["tickets"]
            return rows


async def telegram_message(gateway: Webhooks) -> int:
    raw = json.dumps(
        {
            "update_id": 900001,
            "message": {
                "message_id": 1,
                "from": {"id": 777, "is_bot": False, "first_name": "Ann"},
                "chat": {"id": TG_CHAT, "type": "private"},
                "date": int(time.time()),
                "text": "my parcel never arrived",
            },
        }
    ).encode()
    return await gateway.post(
        "/webhooks/telegram", raw, {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    )


def samples(port: int, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of metric ``name`` on a process's /metrics, by their sorted labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


async def scenario(stack: Any, prefix: str, unique_name: str, worker_port: int) -> int:
    """Drive the pipeline; returns how many tickets the customers opened."""
    settings = ConnectorSettings(  # type: ignore[call-arg]
        api_secret=SECRET,
        telegram_secret_token=TG_SECRET,
        telegram_bot_token=fp.TG_TOKEN,
        outbound_backoff_seconds=0.05,
    )
    async with (
        fp.platforms() as platform,
        webhooks(stack.settings, settings, prefix + names.CHANNEL_MESSAGES) as gateway,
        OutboundWorker(
            settings.model_copy(update={"telegram_api_base": platform.base}),
            stack.kafka_bootstrap,
            events_topic=prefix + names.TICKET_EVENTS,
            deliveries_topic=prefix + names.CHANNEL_DELIVERIES,
            group_id=f"ticketstream-outbound-{unique_name}",
        ) as outbound,
    ):
        stop = asyncio.Event()
        delivering = asyncio.create_task(outbound.run(stop))
        desk = Desk(gateway.http, worker_port)
        try:
            statuses = await gateway.bursts(TICKETS, pause=2.0)
            accepted = sum(1 for i in range(len(statuses)) if i % 10)
            assert statuses.count(202) == accepted, sorted(set(statuses))
            assert await gateway.post_api(1) in (200, 202)  # a redelivery, dropped by dedup
            assert await telegram_message(gateway) == 200
            # The agent starts her shift with tickets waiting (the router measures how long
            # they waited): capacity one Telegram and one web-chat ticket, the rest stay queued.
            for body in (
                {"type": "SetAgentCapacity", "agent_id": "ann",
                 "capacity": {"telegram": 1, "webchat": 1}},
                {"type": "SetAgentSkills", "agent_id": "ann", "channels": ["telegram", "webchat"]},
                {"type": "SetAgentPresence", "agent_id": "ann", "presence": "online"},
            ):  # fmt: skip
                assert await desk.command(body) == 202, body

            mine = await until(
                "the router assigns a Telegram ticket to ann",
                lambda: _telegram_ticket(desk),
                WAIT,
            )
            assert await desk.command(
                {"type": "ReplyPublicly", "ticket_id": mine, "text": "it left our depot today"},
                token="tok-ann",
            ) == 202  # fmt: skip
            await until(
                "the outbound worker delivers the reply to Telegram",
                lambda: any(p.endswith("/sendMessage") for p in platform.paths()),
                WAIT,
            )
            await until(
                "the worker fulfils the first-reply timer",
                lambda: samples(worker_port, "ticketstream_sla_fulfilled_total"),
                WAIT,
            )
            solve = {"type": "ChangeTicketStatus", "ticket_id": mine, "status": "solved"}
            assert await desk.command(solve, token="tok-ann") == 202
            waiting = await desk.queue("")
            assert waiting, "no ticket waits for an agent"
            refused = solve | {"ticket_id": waiting[0]["ticket_id"]}  # nobody assigned: refused
            assert await desk.command(refused) == 202

            # Two hours of SLA time pass: warnings at 30 min, breaches at 1 h, for real. A tick
            # fires only what the SLA agent has seen: first every open ticket's timer runs.
            await until(
                "the SLA agent runs a first-reply timer for every unanswered ticket",
                lambda: (
                    samples(worker_port, "ticketstream_sla_active_timers").get(
                        (("metric", "first_reply_time"),)
                    )
                    == accepted
                ),
                WAIT,
            )
            # Three ticks, a scrape apart, so the SLA counters move after their series exist
            # (rate() and increase() ignore a series' first value): the first burst's warnings,
            # then its breaches with the other warnings, then every other breach.
            first_burst = datetime.fromtimestamp(gateway.burst_ends[0], UTC)
            for at, counter, wave in (
                (first_burst + timedelta(minutes=30), "warnings", 1),
                (first_burst + timedelta(hours=1), "breaches", 1),
                (datetime.now(UTC) + timedelta(hours=2), "breaches", accepted),
            ):
                produce_sla_ticks(stack.kafka_bootstrap, at, topic_prefix=prefix)
                await until(
                    f"the worker fires SLA {counter} (at least {wave})",
                    lambda c=counter, n=wave: (
                        sum(samples(worker_port, f"ticketstream_sla_{c}_total").values()) >= n
                    ),
                    WAIT,
                )
                await asyncio.sleep(2.5)  # Prometheus scrapes the worker every second
            # Activity right before the checks, so every rate window (1 min) holds some however
            # long the steps above took: customers write again in their open tickets, and a
            # second agent comes online and is assigned a waiting ticket.
            again = [gateway.post_api(i, message="-again") for i in range(1, 10)]
            assert await asyncio.gather(*again) == [202] * len(again)
            for body in (
                {"type": "SetAgentCapacity", "agent_id": "bob", "capacity": {"webchat": 1}},
                {"type": "SetAgentSkills", "agent_id": "bob", "channels": ["webchat"]},
                {"type": "SetAgentPresence", "agent_id": "bob", "presence": "online"},
            ):
                assert await desk.command(body) == 202, body
            return accepted + 1
        finally:
            stop.set()
            await delivering


async def _telegram_ticket(desk: Desk) -> str | None:
    rows = await desk.queue("ann")
    return next((r["ticket_id"] for r in rows if r["channel"] == "telegram"), None)


def label_values(base: str, query: str) -> list[str]:
    """What Grafana's ``label_values(metric, label)`` variable query lists."""
    m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", query)
    assert m, f"unsupported variable query {query}"
    url = f"{base}/api/v1/label/{m[2]}/values?" + urllib.parse.urlencode({"match[]": m[1]})
    with urllib.request.urlopen(url, timeout=10) as resp:
        values: list[str] = json.load(resp)["data"]
    return values


def test_pipeline_running_feeds_every_dashboard(stack, unique_name, tmp_path: Path) -> None:
    started = time.monotonic()
    prefix = f"{unique_name}."
    db = f"e2e_{unique_name}"
    policy = tmp_path / "policies.yml"
    policy.write_text(POLICY)
    worker = WorkerProcess(
        "e2e",
        {
            **stack.env(),
            "TICKETSTREAM_STREAMS_APP_ID": f"ticketstream-{unique_name}",
            "TICKETSTREAM_STREAMS_TOPIC_PREFIX": prefix,
            "TICKETSTREAM_STREAMS_TOPIC_PARTITIONS": "1",
            "TICKETSTREAM_STREAMS_STORE": "memory",
            "TICKETSTREAM_STREAMS_DATADIR": str(tmp_path / "worker"),
            "TICKETSTREAM_STREAMS_API_TOKENS": TOKENS,
            "TICKETSTREAM_SLA_CLOCK": "simulated",
            "TICKETSTREAM_SLA_POLICIES_PATH": str(policy),
        },
        free_port(),
        tmp_path / "worker.log",
    ).start()
    core = stack.settings.model_copy(update={"clickhouse_database": db})
    projected_topics = tuple(prefix + t for t in names.EVENT_TOPICS)
    projector_port = free_port()
    projector_env = {
        **stack.env(),
        "TICKETSTREAM_CLICKHOUSE_DATABASE": db,
        "TICKETSTREAM_PROJECTIONS_GROUP": f"ticketstream-projector-{unique_name}",
        "TICKETSTREAM_PROJECTIONS_TOPICS": ",".join(projected_topics),
        "TICKETSTREAM_PROJECTIONS_FLUSH_SECONDS": "0.2",
        "TICKETSTREAM_PROJECTOR_METRICS_PORT": str(projector_port),
    }
    projector = Service(
        "projector", ["projections", "run"], projector_env, tmp_path / "projector.log"
    )
    lag = PollingExporter(core, unique_name)
    # The gateway and outbound code run in this process: one registry, two jobs.
    services = serve_metrics(0, "127.0.0.1", REGISTRY)
    targets = {
        f"e2e-worker-{unique_name}": ("worker", worker.port),
        f"e2e-gw-{unique_name}": ("gateway", services.port),
        f"e2e-out-{unique_name}": ("outbound", services.port),
        f"e2e-proj-{unique_name}": ("projector", projector_port),
        f"e2e-lag-{unique_name}": ("lag-exporter", lag.port),
    }
    client = Client(host=stack.clickhouse_host, port=stack.clickhouse_port, database="default")
    try:
        worker.wait_ready(120)  # it created the topics
        wait_topics_visible(stack.kafka_bootstrap, list(projected_topics))
        for name, (job, port) in targets.items():
            write_target(stack, name, job, port)
        projector.start()
        lag.start()
        junk = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
        junk.send(prefix + names.TICKET_COMMANDS, key=b"T-junk", value=b"\x00junk").get(30)
        junk.close()  # the worker dead-letters it and carries on
        tickets = asyncio.run(scenario(stack, prefix, unique_name, worker.port))

        # The projector writes the tickets, the SLA timers and the agent's reply.
        def projected() -> tuple[int, ...]:
            try:
                (opened,), (timers,), (replies,) = (
                    client.execute(f"SELECT count() FROM {db}.tickets FINAL"),
                    client.execute(
                        f"SELECT countIf(breached = 1), countIf(fulfilled = 1) "
                        f"FROM {db}.sla_timers FINAL"
                    ),
                    client.execute(
                        f"SELECT count() FROM {db}.agent_activity FINAL WHERE activity = 'replied'"
                    ),
                )
            except ServerException:
                return (0, 0, 0, 0)
            return (opened[0], *timers, replies[0])

        deadline = time.monotonic() + 60 + tickets / 100
        while (got := projected()) != (tickets, tickets - 1, 1, 1):
            assert time.monotonic() < deadline, (
                f"projected {got}; projector log: {(tmp_path / 'projector.log').read_text()[-3000:]}"
            )
            time.sleep(0.5)

        # Prometheus: every target of every panel, and every variable, returns data (rates
        # over Grafana's $__rate_interval, 1 m at this dashboard's range and 1 s scrapes).
        prom = [q for q in panel_queries() if q.datasource == "prometheus"]
        prom_vars = [q for q in variable_queries() if q.datasource == "prometheus"]
        assert len(prom) >= 29 and prom_vars
        variables = {"channel": ".*", "priority": ".*"}
        missing = {(q.dashboard, q.panel, q.ref_id): q.text for q in [*prom, *prom_vars]}
        # The real Prometheus evaluates the real alert rules on these metrics: the one without
        # a `for:` fires now (the others need minutes of their condition).
        missing[("alert", "TicketstreamSlaWarningUnassigned", "firing")] = (
            'ALERTS{alertname="TicketstreamSlaWarningUnassigned", alertstate="firing"}'
        )
        deadline = time.monotonic() + 60
        while missing and time.monotonic() < deadline:
            for key, text in list(missing.items()):
                if key[2] == "var":
                    ok = bool(label_values(stack.prometheus_url, text))
                else:
                    # a number Grafana can draw: histogram_quantile over buckets that did
                    # not move within the rate window gives NaN, which is no data
                    result = promql(stack.prometheus_url, expand_promql(text, variables))
                    ok = any(not math.isnan(float(s["value"][1])) for s in result)
                if ok:
                    del missing[key]
            time.sleep(1)
        assert missing == {}, f"queries without data: {sorted(missing)}"

        # ClickHouse: every panel and variable query returns rows.
        analyst = Client(host=stack.clickhouse_host, port=stack.clickhouse_port, database=db)
        now = int(time.time())
        ch_vars = {
            "tenant": [stack.settings.tenant_id],
            "channel": [c.value for c in Channel],
            "priority": [p.value for p in Priority],
        }
        ch = [
            q
            for q in [*panel_queries(), *variable_queries()]
            if q.datasource == "grafana-clickhouse-datasource"
        ]
        assert len(ch) >= 14
        empty = [
            (q.panel, q.ref_id)
            for q in ch
            if not analyst.execute(expand_clickhouse(q.text, ch_vars, now - 86400, now + 60))
        ]
        analyst.disconnect()
        assert empty == [], f"analyst queries without rows: {empty}"
        print(
            f"{tickets} tickets: {len(prom)} Prometheus panel queries and {len(prom_vars)} "
            f"variables, {len(ch)} ClickHouse queries, all with data; "
            f"{time.monotonic() - started:.1f} s"
        )

        # Cardinality on the real worker and services: no label value is a ticket, customer,
        # conversation, message or agent id of this run.
        ids = {
            i
            for row in client.execute(f"SELECT ticket_id, customer_id FROM {db}.tickets FINAL")
            for i in row
        }
        ids |= {f"{p}-{i}" for i in range(TICKETS) for p in ("conv", "cust", "msg")}
        ids |= {f"msg-{i}-again" for i in range(10)} | {"ann", "bob", str(TG_CHAT), "777"}
        for port in (worker.port, services.port, projector_port):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                text = r.read().decode()
            values = {
                v
                for family in text_string_to_metric_families(text)
                for sample in family.samples
                for v in sample.labels.values()
            }
            assert values & ids == set(), f"ids in labels on port {port}"
            series = sum(len(f.samples) for f in text_string_to_metric_families(text))
            print(f"{tickets} tickets: {series} series on :{port}, {len(values)} label values")
    finally:
        worker.stop()
        projector.stop(timeout=30)  # SIGTERM: it flushes and leaves its group
        for name in targets:
            stack.stack.remove_scrape_target(name)
        services.close()
        lag.close()
        client.disconnect()
        # Best effort, bounded: a hung DROP must not hide the test's own failure.
        dropper = Client(
            host=stack.clickhouse_host, port=stack.clickhouse_port, send_receive_timeout=30
        )
        try:
            dropper.execute(f"DROP DATABASE IF EXISTS {db}")
        except Exception as exc:  # the database name is unique to this test
            print(f"could not drop {db}: {exc!r}", file=sys.stderr)
        finally:
            dropper.disconnect()
