"""docs/sre.md lists every metric the code defines, and every name follows the convention."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from dashboards import catalog

REPO = Path(__file__).resolve().parents[3]
# Where the services' code lives (the demo's smoke metric has its own registry and job).
SERVICE_DIRS = ("connectors", "streams", "projections", "ticketstream/observability")
METRIC_TYPES = {"Counter", "Gauge", "Histogram", "Summary", "Info", "Enum"}
METRIC_TYPES |= {f"{t}MetricFamily" for t in ("Counter", "Gauge", "Histogram", "Summary")}


def _documented() -> set[str]:
    text = catalog.SRE_DOC.read_text()
    table = text.split(catalog.BEGIN, 1)[1].split(catalog.END, 1)[0]
    return set(re.findall(r"^\| `([a-z0-9_]+)`", table, flags=re.M))


def test_sre_doc_lists_every_metric_the_code_defines() -> None:
    # A new or renamed metric without a row in docs/sre.md fails here: SREs read that table.
    missing = {d.name for d in catalog.catalog()} - _documented()
    assert missing == set(), (
        f"not in docs/sre.md: {sorted(missing)}; run python -m dashboards.catalog"
    )


def _defined_in_source() -> dict[str, str]:
    """Every ``Counter("ticketstream_…")``-style definition in the services' source, wherever
    it sits (the catalog reads only the ``metrics.py`` modules), as exposed name -> file."""
    found: dict[str, str] = {}
    for folder in SERVICE_DIRS:
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                kind = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                first = node.args[0]
                if kind not in METRIC_TYPES or not isinstance(first, ast.Constant):
                    continue
                name = first.value
                if isinstance(name, str) and name.startswith("ticketstream_"):
                    if kind.startswith("Counter") and not name.endswith("_total"):
                        name += "_total"
                    found[name] = str(path.relative_to(REPO))
    return found


def test_sre_doc_lists_every_metric_defined_anywhere_in_the_services() -> None:
    defined = _defined_in_source()
    assert "ticketstream_gateway_requests_total" in defined  # the scan itself works
    missing = {n: f for n, f in defined.items() if n not in _documented()}
    assert missing == {}, (
        f"metrics not in docs/sre.md: {missing}; define them in the package's metrics.py "
        "(dashboards.catalog reads it) and run python -m dashboards.catalog"
    )


def test_sre_doc_lists_no_metric_the_code_no_longer_defines() -> None:
    defined = {d.name for d in catalog.catalog()}
    assert _documented() <= defined, "run python -m dashboards.catalog"


ALLOWED_LABELS = {
    "channel", "reason", "outcome", "table", "topic", "partition", "group", "stage", "metric",
    "priority", "policy", "policy_id", "event_type", "command", "command_type", "status",
    "assigned", "kind", "type", "direction", "activity", "job", "queue", "state",
}  # fmt: skip


def test_service_metrics_use_small_fixed_label_sets() -> None:
    for d in catalog.catalog():
        if d.source in {"faust sensor", "lag-exporter"}:
            continue
        assert set(d.labels) <= ALLOWED_LABELS, f"{d.name}: labels {d.labels} (ask dashboards)"


def test_metric_names_follow_the_convention() -> None:
    pattern = re.compile(r"^ticketstream_[a-z0-9_]+$")
    for d in catalog.catalog():
        assert pattern.match(d.name), d
        if d.source != "faust sensor":  # Faust's names are Faust's (ms histograms)
            assert not d.name.endswith(("_ms", "_milliseconds")), f"{d.name}: use seconds"
            assert not any(
                label.endswith("_id") or label in {"ticket", "customer", "message", "agent"}
                for label in d.labels
            ), f"{d.name}: per-entity label {d.labels}"
