"""docker-compose.yml checked statically (there is no Docker engine here): valid YAML, every
mounted file exists, environment variables and ports match the project's Settings."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from ticketstream.settings import ENV_PREFIX, REPO_ROOT, Settings

COMPOSE = REPO_ROOT / "docker-compose.yml"
PROMETHEUS_COMPOSE = REPO_ROOT / "dashboards/prometheus/prometheus.compose.yml"
# service -> (settings module, class, port field)
PROJECT_SERVICES = {
    "gateway": ("ticketstream.settings", "Settings", "gateway_port"),
    "worker": ("ticketstream.settings", "Settings", "worker_web_port"),
    "projector": ("ticketstream.settings", "Settings", "projector_metrics_port"),
    "lag-exporter": (
        "ticketstream.observability.settings",
        "ObservabilitySettings",
        "lag_exporter_port",
    ),
    "outbound": (
        "ticketstream.observability.settings",
        "ObservabilitySettings",
        "outbound_metrics_port",
    ),
}


def settings_classes() -> list[type[BaseSettings]]:
    """The settings classes whose TICKETSTREAM_* variables a service may set."""
    classes: list[type[BaseSettings]] = []
    extra = [
        ("connectors.settings", "ConnectorSettings", ""),
        ("projections.settings", "ProjectionSettings", ""),
    ]
    for module, cls, _ in [*PROJECT_SERVICES.values(), *extra]:
        found = getattr(importlib.import_module(module), cls)
        if found not in classes:
            classes.append(found)
    return classes


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def test_has_the_stack_and_the_project_services(compose: dict[str, Any]) -> None:
    assert set(services(compose)) >= {
        "kafka",
        "clickhouse",
        "prometheus",
        "grafana",
        *PROJECT_SERVICES,
    }


def test_images_are_the_designed_versions(compose: dict[str, Any]) -> None:
    svc = services(compose)
    assert re.fullmatch(r"apache/kafka:3\.9\.\d+", svc["kafka"]["image"])
    assert svc["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    assert re.fullmatch(
        r"clickhouse/clickhouse-server:\d+\.(3|8)", svc["clickhouse"]["image"]
    )  # LTS lines
    assert svc["prometheus"]["image"].startswith("prom/prometheus:")
    assert svc["grafana"]["image"].startswith("grafana/grafana")


def test_every_bind_mount_exists(compose: dict[str, Any]) -> None:
    mounts = []
    for name, svc in services(compose).items():
        for vol in svc.get("volumes", []):
            source = vol.split(":", 1)[0] if isinstance(vol, str) else vol["source"]
            if source.startswith((".", "/")):
                mounts.append((name, source))
    assert mounts, "expected bind mounts (configs, dashboards)"
    missing = [(n, s) for n, s in mounts if not (REPO_ROOT / s).exists()]
    assert missing == []


def test_grafana_provisioning_and_prometheus_rules_paths(compose: dict[str, Any]) -> None:
    grafana = services(compose)["grafana"]
    prov = env_of(grafana)["GF_PATHS_PROVISIONING"]
    assert prov.startswith("/etc/ticketstream/dashboards/")
    local = REPO_ROOT / "dashboards" / prov.removeprefix("/etc/ticketstream/dashboards/")
    assert (local / "datasources").is_dir() and (local / "dashboards").is_dir()
    provider = yaml.safe_load((local / "dashboards" / "ticketstream.yml").read_text())
    assert (
        provider["providers"][0]["options"]["path"]
        == "/etc/ticketstream/dashboards/grafana/dashboards"
    )


def test_build_uses_the_repo_dockerfile(compose: dict[str, Any]) -> None:
    for name in PROJECT_SERVICES:
        build = services(compose)[name]["build"]
        assert build["context"] == "."
        assert (REPO_ROOT / build["dockerfile"]).is_file()
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    for pkg in ("ticketstream", "schemas", "streams", "projections", "connectors", "dashboards"):
        assert f"COPY {pkg} ./{pkg}" in dockerfile


def test_ticketstream_environment_is_valid_settings(compose: dict[str, Any]) -> None:
    classes = settings_classes()
    fields = {f for cls in classes for f in cls.model_fields}
    for name, svc in services(compose).items():
        env = {k: v for k, v in env_of(svc).items() if k.startswith(ENV_PREFIX)}
        if name in PROJECT_SERVICES:
            assert env, f"{name} has no TICKETSTREAM_* environment"
        unknown = [k for k in env if k.removeprefix(ENV_PREFIX).lower() not in fields]
        assert unknown == [], f"{name}: not settings fields: {unknown}"
        values = {
            k.removeprefix(ENV_PREFIX).lower(): re.sub(r"\$\{[^:}]+:-([^}]*)\}", r"\1", v)
            for k, v in env.items()
        }
        for cls in classes:  # validates every value
            cls(**{k: v for k, v in values.items() if k in cls.model_fields})


def test_ports_match_settings_and_prometheus_targets(compose: dict[str, Any]) -> None:
    svc = services(compose)
    assert svc["prometheus"]["volumes"][0] == (
        "./dashboards/prometheus/prometheus.compose.yml:/etc/prometheus/prometheus.yml:ro"
    )
    scrape = yaml.safe_load(PROMETHEUS_COMPOSE.read_text())
    targets = {j["job_name"]: j["static_configs"][0]["targets"] for j in scrape["scrape_configs"]}
    for name, (_, _, field) in PROJECT_SERVICES.items():
        port = int(env_of(svc[name])[ENV_PREFIX + field.upper()])
        assert any(p.endswith(f":{port}:{port}") for p in svc[name]["ports"]), (name, port)
        assert targets[name] == [f"{name}:{port}"]
    ch = env_of(svc["gateway"])
    assert f"{ch['TICKETSTREAM_CLICKHOUSE_PORT']}" == "9000"
    assert ch["TICKETSTREAM_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert "PLAINTEXT://kafka:9092" in svc["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    # host-side ports are the local stack's defaults, so the same TICKETSTREAM_* settings reach both
    defaults = Settings.model_fields
    assert f"127.0.0.1:{defaults['clickhouse_port'].default}:9000" in svc["clickhouse"]["ports"]
    assert (
        f"127.0.0.1:{defaults['clickhouse_http_port'].default}:8123" in svc["clickhouse"]["ports"]
    )
    assert f"127.0.0.1:{defaults['prometheus_port'].default}:9090" in svc["prometheus"]["ports"]
    kafka_default = defaults["kafka_bootstrap"].default
    assert f"{kafka_default}:19092" in svc["kafka"]["ports"]
    assert f"HOST://{kafka_default}" in svc["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
