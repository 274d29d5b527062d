"""Generated server configs follow Settings (pure functions, no I/O)."""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from ticketstream.devstack import configs
from ticketstream.settings import Settings

BASE_XML = """<?xml version="1.0"?>
<yandex>
  <logger><level>trace</level><log>/var/log/x.log</log></logger>
  <http_port>8123</http_port><tcp_port>9000</tcp_port>
  <interserver_http_port>9009</interserver_http_port>
  <listen_host>::</listen_host>
  <path>/var/lib/clickhouse/</path>
  <users_config>users.xml</users_config>
</yandex>
"""


def settings(**kw: object) -> Settings:
    values: dict[str, object] = {
        "kafka_bootstrap": "127.0.0.1:1111",
        "kafka_controller_port": 1112,
        "clickhouse_port": 2221,
        "clickhouse_http_port": 2222,
        "prometheus_port": 3331,
        "gateway_port": 4441,
        "worker_web_port": 4442,
        "projector_metrics_port": 4443,
    }
    values.update(kw)
    return Settings(**values)  # type: ignore[arg-type]


def test_kafka_properties_single_node_kraft_on_loopback() -> None:
    text = configs.kafka_server_properties(settings(), Path("/d/kafka"))
    props = dict(line.split("=", 1) for line in text.splitlines())
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:1112"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:1111,CONTROLLER://127.0.0.1:1112"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:1111"
    assert props["log.dirs"] == "/d/kafka"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_cluster_id_is_kafka_uuid_format() -> None:
    cid = configs.new_cluster_id()
    assert len(cid) == 22
    assert len(base64.urlsafe_b64decode(cid + "==")) == 16


def test_cluster_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    # StorageTool's "-t <id>" reads "-…" as an option: the first draw (0xf8… → "-") is redrawn
    draws = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x01" * 16)])
    monkeypatch.setattr(configs.uuid, "uuid4", lambda: next(draws))
    assert base64.urlsafe_b64encode(b"\xf8" + bytes(15)).decode().startswith("-")
    assert configs.new_cluster_id() == base64.urlsafe_b64encode(b"\x01" * 16).rstrip(b"=").decode()


def test_clickhouse_config_own_paths_ports_and_loopback_only() -> None:
    root = ET.fromstring(
        configs.clickhouse_config(settings(), Path("/s/ch"), Path("/s/logs"), BASE_XML)
    )
    assert root.findtext("tcp_port") == "2221"
    assert root.findtext("http_port") == "2222"
    assert root.findtext("path") == "/s/ch/data/"
    assert root.findtext("tmp_path") == "/s/ch/data/tmp/"
    assert root.findtext("users_config") == "/s/ch/users.xml"
    assert [e.text for e in root.findall("listen_host")] == ["127.0.0.1"]
    assert root.find("interserver_http_port") is None  # would clash between two stacks
    assert root.findtext("logger/log") == "/s/logs/clickhouse-server.log"
    assert root.findtext("logger/level") == "warning"


def test_clickhouse_users_default_and_read_only_analyst() -> None:
    root = ET.fromstring(configs.clickhouse_users(settings(clickhouse_analyst_password="s<e>cret")))
    assert root.findtext("users/default/profile") == "default"
    assert root.findtext("users/analyst/profile") == "readonly"
    assert root.findtext("users/analyst/password") == "s<e>cret"
    assert root.findtext("profiles/readonly/readonly") == "1"
    assert [e.text for e in root.findall("users/analyst/networks/ip")] == ["127.0.0.1", "::1"]


def test_prometheus_config_scrapes_service_ports_and_file_sd() -> None:
    cfg = yaml.safe_load(
        configs.prometheus_config(
            settings(prometheus_scrape_interval="2s"), [Path("/r/a.yml")], Path("/t")
        )
    )
    assert cfg["global"] == {"scrape_interval": "2s", "evaluation_interval": "2s"}
    assert cfg["rule_files"] == ["/r/a.yml"]
    jobs = {
        j["job_name"]: j["static_configs"][0]["targets"]
        for j in cfg["scrape_configs"]
        if "static_configs" in j
    }
    assert jobs == {
        "prometheus": ["127.0.0.1:3331"],
        "gateway": ["127.0.0.1:4441"],
        "worker": ["127.0.0.1:4442"],
        "projector": ["127.0.0.1:4443"],
    }
    file_sd = next(j for j in cfg["scrape_configs"] if j["job_name"] == "file_sd")
    assert file_sd["file_sd_configs"][0]["files"] == ["/t/*.json"]
