"""With real services running — the gateway and the projector (their real code, in this
process, on a unique topic and database), the lag exporter — the real Prometheus scrapes their
/metrics under the dashboards' job names, and the SRE panels fed by that activity return
data; the projection-freshness series reads the events the projector really wrote.

(The Faust worker is not part of this run: its panels are covered by the driven-sensor test.)"""

from __future__ import annotations

import asyncio
import threading
import time

from clickhouse_driver import Client
from clickhouse_driver.errors import ServerException
from kafka.admin import KafkaAdminClient, NewTopic
from prometheus_client import REGISTRY

from connectors.settings import ConnectorSettings
from dashboards.grafana.queries import expand_promql, panel_queries
from projections.service import run_projector
from projections.settings import ProjectionSettings
from ticketstream.observability.http import serve_metrics

from .helpers import PollingExporter, promql, wait_topics_visible, webhooks, write_target

SECRET = "pipeline-secret"
MESSAGES = 300
# Panels whose data this run produces through real service code.
EXPECTED = {
    "Webhooks received per channel",
    "Customer messages produced per channel",
    "Records produced per topic",
    "Rows inserted into ClickHouse per table",
    "Consumer lag by group and topic",
    "Projection freshness",
    "Kafka / ClickHouse reachable",
    "Gateway request latency (p99) by channel",
    "Gateway produce latency (p99) by channel",
    "Projector batch insert latency (p50, p99)",
    "Gateway rejections by reason",
}


async def post_messages(core, topic: str, n: int) -> list[int]:
    settings = ConnectorSettings(api_secret=SECRET)  # type: ignore[call-arg]
    async with webhooks(core, settings, topic) as gateway:
        return await gateway.bursts(n, channel="api")


def test_real_services_are_scraped_and_their_panels_return_data(stack, unique_name) -> None:
    topic = f"support.channel.messages.e2e.{unique_name}"
    db = f"e2e_{unique_name}"
    group = f"ticketstream-projector-{unique_name}"
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        admin.close()
    wait_topics_visible(stack.kafka_bootstrap, [topic])
    core = stack.settings.model_copy(update={"clickhouse_database": db})
    ps = ProjectionSettings(projections_group=group, projections_flush_seconds=0.2)  # type: ignore[call-arg]
    stop = threading.Event()
    projector = threading.Thread(
        target=run_projector,
        args=(core, ps),
        kwargs={"stop": stop, "topics": (topic,)},
        daemon=True,
    )
    lag = PollingExporter(core, unique_name)
    services = serve_metrics(0, "127.0.0.1", REGISTRY)  # the gateway's and projector's metrics
    names = {f"e2e-gw-{unique_name}": "gateway", f"e2e-proj-{unique_name}": "projector"}
    for name, job in names.items():
        write_target(stack, name, job, services.port)
    write_target(stack, f"e2e-lag-{unique_name}", "lag-exporter", lag.port)
    try:
        projector.start()
        lag.start()
        statuses = asyncio.run(post_messages(stack.settings, topic, MESSAGES))
        assert statuses.count(202) == MESSAGES - MESSAGES // 10, sorted(set(statuses))
        # The projector really wrote the events (freshness reads them).
        client = Client(host=stack.clickhouse_host, port=stack.clickhouse_port)
        projected = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:  # the projector creates the database and tables (migrate) when it starts
                projected = client.execute(f"SELECT count() FROM {db}.events")[0][0]
            except ServerException:
                projected = 0
            if projected:
                break
            time.sleep(0.5)
        client.disconnect()
        assert projected > 0, "the projector wrote no events"
        queries = {
            (q.panel, q.ref_id): expand_promql(q.text, {"channel": ".*", "priority": ".*"})
            for q in panel_queries()
            if q.datasource == "prometheus" and q.panel in EXPECTED
        }
        assert {p for p, _ in queries} == EXPECTED
        # Per panel: at least one of its queries returns data from this run.
        missing = set(EXPECTED)
        deadline = time.monotonic() + 90
        while missing and time.monotonic() < deadline:
            for (panel, _), query in queries.items():
                if panel in missing and promql(stack.prometheus_url, query):
                    missing.discard(panel)
            time.sleep(1)
        assert missing == set()
        fresh = promql(
            stack.prometheus_url,
            'ticketstream_projection_freshness_seconds{table="events",job="lag-exporter"}',
        )
        assert fresh and float(fresh[0]["value"][1]) < 600  # type: ignore[index]
        lag_series = promql(
            stack.prometheus_url, f'ticketstream_consumer_lag_messages{{group="{group}"}}'
        )
        assert lag_series
    finally:
        stop.set()
        projector.join(timeout=30)
        for name in [*names, f"e2e-lag-{unique_name}"]:
            stack.stack.remove_scrape_target(name)
        services.close()
        lag.close()
        c = Client(host=stack.clickhouse_host, port=stack.clickhouse_port)
        c.execute(f"DROP DATABASE IF EXISTS {db}")
        c.disconnect()
