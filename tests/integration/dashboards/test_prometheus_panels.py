"""Every Prometheus panel query of the SRE dashboard runs against the real Prometheus, and
returns data once the metric code feeding it is scraped: Faust's sensor (driven with
ticket-shaped activity, served as job "worker"), the real lag exporter (against the real Kafka
and ClickHouse, job "lag-exporter") and the services' metrics modules (shape-only activity,
job per service). Panels whose metrics no service defines yet (sre.PENDING_METRICS) must
still parse and run."""

from __future__ import annotations

import importlib
import json
import threading
import time
import urllib.parse
import urllib.request

from clickhouse_driver import Client
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from dashboards import catalog
from dashboards.grafana.queries import expand_promql, metric_names, panel_queries
from dashboards.grafana.sre import PENDING_METRICS
from schemas.topics import DEAD_LETTER
from tests.unit.dashboards.drivers import FaustDriver, faust_monitor, touch_metrics
from ticketstream.observability.exporter import Exporter
from ticketstream.observability.http import serve_metrics
from ticketstream.observability.settings import ObservabilitySettings

VARIABLES = {"channel": ".*", "priority": ".*"}


def promql(base_url: str, query: str) -> dict[str, object]:
    url = f"{base_url}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            body: dict[str, object] = json.load(resp)
    except urllib.error.HTTPError as exc:  # 400 = the query does not parse
        body = json.loads(exc.read())
    return body


def write_target(stack, name: str, job: str, port: int) -> None:
    targets = stack.stack.targets_dir
    targets.mkdir(parents=True, exist_ok=True)
    tmp = targets / f"{name}.tmp"
    tmp.write_text(json.dumps([{"targets": [f"127.0.0.1:{port}"], "labels": {"job": job}}]))
    tmp.replace(targets / f"{name}.json")


def make_lag_and_freshness(stack, unique_name: str) -> str:
    """A projector-like group with lag on a topic, and an events table with a recent row."""
    topic = f"support.dash.{unique_name}"
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    for _ in range(20):
        producer.send(topic, b"x")
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(
        bootstrap_servers=stack.kafka_bootstrap,
        group_id=f"ticketstream-projector-{unique_name}",
        enable_auto_commit=False,
    )
    consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(5, "", -1)})
    consumer.close()
    # The dead-letter topic exists in a running pipeline; make sure it does here (no records).
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    try:
        if DEAD_LETTER not in admin.list_topics():
            admin.create_topics([NewTopic(DEAD_LETTER, num_partitions=1, replication_factor=1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()
    db = f"dash_{unique_name}"
    client = Client(host=stack.clickhouse_host, port=stack.clickhouse_port)
    client.execute(f"CREATE DATABASE {db}")
    client.execute(
        f"CREATE TABLE {db}.events (occurred_at DateTime) ENGINE = MergeTree ORDER BY occurred_at"
    )
    client.execute(f"INSERT INTO {db}.events VALUES", [(int(time.time()) - 30,)])
    client.disconnect()
    return db


def test_every_sre_panel_query_runs_and_returns_data(stack, unique_name) -> None:
    db = make_lag_and_freshness(stack, unique_name)
    worker_registry = CollectorRegistry()
    driver = FaustDriver(faust_monitor(worker_registry, f"dash-{unique_name}"))
    service_metrics = []  # module-level metrics of the services' metrics modules (REGISTRY)
    for module in catalog.SERVICE_MODULES:
        if catalog.module_metrics(module):  # imports the module when it exists
            mod = importlib.import_module(module)
            service_metrics += [v for v in vars(mod).values() if isinstance(v, MetricWrapperBase)]
    settings = stack.settings.model_copy(update={"clickhouse_database": db})
    obs = ObservabilitySettings(
        lag_exporter_port=0,
        lag_exporter_interval_seconds=1.0,
        lag_exporter_group_pattern=f".*{unique_name}.*",
        freshness_tables="events:occurred_at",
    )
    exporter = Exporter(settings, obs)
    stop = threading.Event()

    def keep_busy() -> None:  # activity in every scrape interval, so rates are not zero
        while not stop.is_set():
            driver.drive(50)
            touch_metrics(service_metrics)
            exporter.poll_once()
            stop.wait(0.5)

    busy = threading.Thread(target=keep_busy, daemon=True)
    busy.start()
    servers = [
        serve_metrics(0, "127.0.0.1", worker_registry),
        serve_metrics(0, "127.0.0.1", exporter.registry),
        serve_metrics(0, "127.0.0.1", REGISTRY),  # where the services' metrics live
    ]
    names = [f"dash-worker-{unique_name}", f"dash-lag-{unique_name}", f"dash-svc-{unique_name}"]
    write_target(stack, names[0], "worker", servers[0].port)
    write_target(stack, names[1], "lag-exporter", servers[1].port)
    write_target(stack, names[2], "gateway", servers[2].port)
    queries = [q for q in panel_queries() if q.datasource == "prometheus"]
    try:
        # Every query parses and runs, whatever data there is.
        for q in queries:
            body = promql(stack.prometheus_url, expand_promql(q.text, VARIABLES))
            assert body["status"] == "success", (q.panel, q.text, body)
        # Panels fed by metric code that exists return data (rates need two scrapes + a window).
        want = {
            (q.panel, q.ref_id): expand_promql(q.text, VARIABLES)
            for q in queries
            if not metric_names(q.text) & PENDING_METRICS
        }
        empty = dict(want)
        deadline = time.monotonic() + 90
        while empty and time.monotonic() < deadline:
            for key, query in list(empty.items()):
                body = promql(stack.prometheus_url, query)
                if body["status"] == "success" and body["data"]["result"]:  # type: ignore[index]
                    del empty[key]
            if empty:
                time.sleep(1)
        assert empty == {}, f"panels without data: {sorted(empty)}"
        assert len(want) >= 14  # Faust sensor + lag exporter panels, more as services land
    finally:
        stop.set()
        busy.join(timeout=10)
        for name in names:
            stack.stack.remove_scrape_target(name)
        for server in servers:
            server.close()
        exporter.close()
        client = Client(host=stack.clickhouse_host, port=stack.clickhouse_port)
        client.execute(f"DROP DATABASE IF EXISTS {db}")
        client.disconnect()
