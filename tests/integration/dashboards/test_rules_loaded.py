"""The stack's real Prometheus has loaded every alert rule of dashboards/prometheus/rules."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import yaml

RULES = Path(__file__).resolve().parents[3] / "dashboards" / "prometheus" / "rules"


def test_prometheus_loaded_every_alert_rule(stack) -> None:
    with urllib.request.urlopen(f"{stack.prometheus_url}/api/v1/rules", timeout=10) as resp:
        body = json.load(resp)
    loaded = {
        r["name"]
        for g in body["data"]["groups"]
        for r in g["rules"]
        if r["type"] == "alerting" and r["health"] != "err"
    }
    wanted = {
        rule["alert"]
        for f in RULES.glob("*.yml")
        for g in yaml.safe_load(f.read_text())["groups"]
        for rule in g["rules"]
        if "alert" in rule
    }
    assert wanted - loaded == set()
