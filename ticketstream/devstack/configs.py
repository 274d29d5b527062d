"""Configuration files of the local stack's servers, generated from Settings (pure functions)."""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

import yaml

from ticketstream.settings import Settings

CLICKHOUSE_BASE_CONFIG = Path("/etc/clickhouse-server/config.xml")


def new_cluster_id() -> str:
    """A KRaft cluster id in Kafka's format (URL-safe base64 of 16 random bytes, no padding).

    Never one that starts with "-" (1 in 64 would): StorageTool's ``-t <id>`` then reads it as an
    option and the format fails — Kafka's own ``Uuid.randomUuid`` draws again in that case too."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


def kafka_server_properties(settings: Settings, data_dir: Path) -> str:
    port, ctl = settings.kafka_port, settings.kafka_controller_port
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{ctl}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctl}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "1",
        "group.initial.rebalance.delay.ms": "0",
        # After a SIGKILL the restarted broker waits for its old registration to expire
        # (default 9 s); shorter, with a margin for a busy 2-core machine.
        "broker.heartbeat.interval.ms": "1000",
        "broker.session.timeout.ms": "6000",
        "num.network.threads": "2",
        "num.io.threads": "2",
        "auto.create.topics.enable": "true",
        "delete.topic.enable": "true",
        "log.retention.hours": "168",
        "log.segment.bytes": "67108864",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


KAFKA_LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.kafka.log=WARN
"""


def _set(root: ET.Element, tag: str, value: str) -> None:
    el = root.find(tag)
    if el is None:
        el = ET.SubElement(root, tag)
    el.text = value


def clickhouse_config(settings: Settings, base_dir: Path, logs: Path, base_xml: str) -> str:
    """The server config: Debian's config.xml with our paths, ports and loopback only."""
    root = ET.fromstring(base_xml)
    data = base_dir / "data"
    _set(root, "path", f"{data}/")
    _set(root, "tmp_path", f"{data}/tmp/")
    _set(root, "user_files_path", f"{data}/user_files/")
    _set(root, "format_schema_path", f"{data}/format_schemas/")
    _set(root, "users_config", str(base_dir / "users.xml"))
    _set(root, "tcp_port", str(settings.clickhouse_port))
    _set(root, "http_port", str(settings.clickhouse_http_port))
    _set(root, "timezone", "UTC")
    _set(root, "mark_cache_size", str(256 * 1024 * 1024))
    _set(root, "uncompressed_cache_size", str(256 * 1024 * 1024))
    for tag in ("interserver_http_port", "listen_host", "https_port", "tcp_port_secure"):
        for el in root.findall(tag):
            root.remove(el)
    listen = ET.SubElement(root, "listen_host")
    listen.text = "127.0.0.1"
    logger = root.find("logger")
    if logger is None:
        logger = ET.SubElement(root, "logger")
    _set(logger, "level", "warning")
    _set(logger, "log", str(logs / "clickhouse-server.log"))
    _set(logger, "errorlog", str(logs / "clickhouse-server.err.log"))
    _set(logger, "size", "100M")
    _set(logger, "count", "2")
    return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def clickhouse_users(settings: Settings) -> str:
    """users.xml: ``default`` (read-write) and a read-only analyst user, loopback only.

    ClickHouse 18.16 has no CREATE USER, so users live in this file.
    """
    analyst = escape(settings.clickhouse_analyst_user)
    analyst_pw = escape(settings.clickhouse_analyst_password)
    default_pw = escape(settings.clickhouse_password)
    default = escape(settings.clickhouse_user)
    nets = "<networks><ip>127.0.0.1</ip><ip>::1</ip></networks>"
    return f"""<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
      <use_uncompressed_cache>0</use_uncompressed_cache>
      <load_balancing>random</load_balancing>
    </default>
    <readonly>
      <readonly>1</readonly>
      <max_memory_usage>2000000000</max_memory_usage>
    </readonly>
  </profiles>
  <users>
    <{default}>
      <password>{default_pw}</password>
      {nets}
      <profile>default</profile>
      <quota>default</quota>
    </{default}>
    <{analyst}>
      <password>{analyst_pw}</password>
      {nets}
      <profile>readonly</profile>
      <quota>default</quota>
    </{analyst}>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
"""


def default_service_jobs(settings: Settings) -> list[dict[str, object]]:
    """Static scrape jobs of the project's services on 127.0.0.1 (ports from Settings)."""

    def static(job: str, port: int) -> dict[str, object]:
        return {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}

    return [
        static("prometheus", settings.prometheus_port),
        static("gateway", settings.gateway_port),
        static("worker", settings.worker_web_port),
        static("projector", settings.projector_metrics_port),
    ]


def service_jobs(settings: Settings) -> list[dict[str, object]]:
    """The scrape jobs the dashboards package defines for the local stack
    (``dashboards.prometheus.scrape.local_config``: alert rules select on these job names),
    or :func:`default_service_jobs` when that is not available."""
    try:
        from dashboards.prometheus.scrape import local_config

        jobs = local_config(settings)["scrape_configs"]
        if isinstance(jobs, list) and all(isinstance(j, dict) and "job_name" in j for j in jobs):
            return jobs
    except Exception:  # the dashboards package is optional here: fall back to the defaults
        pass
    return default_service_jobs(settings)


def prometheus_config(
    settings: Settings,
    rule_files: list[Path],
    targets_dir: Path,
    jobs: list[dict[str, object]] | None = None,
) -> str:
    """prometheus.yml: the project's services (``jobs``, default from Settings), plus file_sd
    targets in ``targets_dir`` (``*.json``; tests and ad-hoc services drop a file there)."""
    interval = settings.prometheus_scrape_interval
    cfg: dict[str, object] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [
            *(jobs if jobs is not None else default_service_jobs(settings)),
            {
                "job_name": "file_sd",
                "file_sd_configs": [
                    {"files": [str(targets_dir / "*.json")], "refresh_interval": "5s"}
                ],
            },
        ],
    }
    return yaml.safe_dump(cfg, sort_keys=False)
