"""The stack's real Prometheus has loaded every alert rule of dashboards/prometheus/rules."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import yaml

RULES = Path(__file__).resolve().parents[3] / "dashboards" / "prometheus" / "rules"


def loaded_alerts(base: str) -> set[str]:
    with urllib.request.urlopen(f"{base}/api/v1/rules", timeout=10) as resp:
        body = json.load(resp)
    return {
        r["name"]
        for g in body["data"]["groups"]
        for r in g["rules"]
        if r["type"] == "alerting" and r["health"] != "err"
    }


def test_prometheus_loaded_every_alert_rule(stack) -> None:
    # A long-running dev stack read the rule files when it started: reload them first
    # (the stack runs Prometheus with --web.enable-lifecycle).
    reload = urllib.request.Request(f"{stack.prometheus_url}/-/reload", method="POST")
    with urllib.request.urlopen(reload, timeout=30):
        pass
    wanted = {
        rule["alert"]
        for f in RULES.glob("*.yml")
        for g in yaml.safe_load(f.read_text())["groups"]
        for rule in g["rules"]
        if "alert" in rule
    }
    loaded: set[str] = set()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not wanted <= loaded:
        loaded = loaded_alerts(stack.prometheus_url)
        time.sleep(0.5)
    assert wanted - loaded == set()
