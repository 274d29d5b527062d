"""promtool (the real binary from Debian's `prometheus` package) checks the configs, the alert
rules and runs the rule unit tests; every alert has a firing and a quiet case and a runbook."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from dashboards.prometheus import scrape
from ticketstream.observability.settings import ObservabilitySettings

REPO = Path(__file__).resolve().parents[3]
PROM = REPO / "dashboards" / "prometheus"
RULE_FILES = sorted((PROM / "rules").glob("*.yml"))
TEST_FILES = sorted((PROM / "tests").glob("*.test.yml"))


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    assert exe, (
        "promtool not found: install Debian's `prometheus` package "
        "(`.venv/bin/ticketstream dev up` installs it)"
    )
    return subprocess.run(
        [exe, *args], cwd=PROM, capture_output=True, text=True, timeout=120, check=False
    )


def alerts() -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for f in RULE_FILES:
        for group in yaml.safe_load(f.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    out[rule["alert"]] = rule
    return out


@pytest.mark.parametrize("config", ["prometheus.local.yml", "prometheus.compose.yml"])
def test_promtool_check_config(config: str) -> None:
    result = promtool("check", "config", config)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_configs_are_up_to_date() -> None:
    for path, text in scrape.rendered().items():
        assert path.read_text() == text, f"run python -m dashboards.prometheus.scrape ({path})"


def test_local_scrape_jobs_use_the_services_default_metrics_ports() -> None:
    defaults = ObservabilitySettings.model_fields
    assert defaults["outbound_metrics_port"].default == scrape.OUTBOUND_PORT
    assert defaults["email_poll_metrics_port"].default == scrape.EMAIL_POLL_PORT
    assert defaults["lag_exporter_port"].default == scrape.LAG_EXPORTER_PORT


def test_promtool_check_rules() -> None:
    assert RULE_FILES
    result = promtool("check", "rules", *[str(f) for f in RULE_FILES])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules() -> None:
    assert TEST_FILES
    result = promtool("test", "rules", *[str(f) for f in TEST_FILES])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for f in TEST_FILES:
        for test in yaml.safe_load(f.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = set(alerts())
    assert names - firing == set(), "alerts without a firing case"
    assert names - quiet == set(), "alerts without a quiet case"


def test_every_alert_has_severity_and_a_runbook_section_in_sre_doc() -> None:
    doc = (REPO / "docs" / "sre.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", doc, flags=re.M)
    }
    for name, rule in alerts().items():
        assert rule["labels"]["severity"] in {"page", "ticket"}, name  # type: ignore[index]
        runbook = rule["annotations"]["runbook"]  # type: ignore[index]
        assert runbook.startswith("docs/sre.md#"), name
        assert runbook.split("#", 1)[1] in anchors, f"{name}: no section {runbook} in docs/sre.md"
