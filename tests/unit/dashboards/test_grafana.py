"""The committed Grafana JSON is what the code generates, and it points at the provisioned
datasources."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from dashboards.grafana import build

GRAFANA = Path(build.__file__).resolve().parent
PROVISIONING = GRAFANA / "provisioning"


def test_committed_dashboards_are_up_to_date() -> None:
    for path, text in build.rendered().items():
        assert path.exists(), f"{path.name} missing: run python -m dashboards.grafana.build"
        assert path.read_text() == text, (
            f"{path.name} stale: run python -m dashboards.grafana.build"
        )


def test_panels_use_the_provisioned_datasources() -> None:
    provisioned = yaml.safe_load((PROVISIONING / "datasources" / "ticketstream.yml").read_text())
    uids = {d["uid"]: d["type"] for d in provisioned["datasources"]}
    for path in build.rendered():
        dash = json.loads(path.read_text())
        for panel in dash["panels"]:
            if panel["type"] == "row":
                continue
            for target in panel["targets"]:
                ds = target["datasource"]
                assert uids.get(ds["uid"]) == ds["type"], (path.name, panel["title"])


def test_dashboards_provider_points_where_compose_mounts_the_json() -> None:
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "ticketstream.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    # docker-compose mounts ./dashboards at /etc/ticketstream/dashboards
    assert path == "/etc/ticketstream/dashboards/grafana/dashboards"
    assert (GRAFANA / "dashboards").is_dir()


def test_dashboards_have_the_filter_variables() -> None:
    names = {s.uid: {v.name for v in s.variables} for s in build.specs()}
    assert names["ticketstream-sre"] >= {"channel", "priority"}
    assert names["ticketstream-analysts"] >= {"tenant", "channel", "priority"}


def _defined_metrics() -> set[str]:
    from dashboards import catalog

    return {d.name for d in catalog.catalog()} | {"up"}


def test_every_prometheus_panel_uses_a_defined_or_pending_metric() -> None:
    from dashboards.grafana.queries import metric_names, panel_queries
    from dashboards.grafana.sre import PENDING_METRICS

    defined = _defined_metrics()
    unknown = {
        (q.panel, name)
        for q in panel_queries()
        if q.datasource == "prometheus"
        for name in metric_names(q.text)
        if name not in defined and name not in PENDING_METRICS
    }
    assert unknown == set()


def test_alert_rules_use_defined_or_pending_metrics() -> None:
    from dashboards.grafana.queries import metric_names
    from dashboards.grafana.sre import PENDING_METRICS

    defined = _defined_metrics()
    for f in sorted((GRAFANA.parent / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(f.read_text())["groups"]:
            for rule in group["rules"]:
                used = metric_names(rule["expr"])
                assert used <= defined | PENDING_METRICS, (rule["alert"], used - defined)


def test_dashboards_doc_lists_every_panel() -> None:
    text = build.DOC.read_text()
    assert build.render_doc(text) == text, "run python -m dashboards.grafana.build"
    for s in build.specs():
        for row in s.rows:
            for p in row.panels:
                assert p.title in text
