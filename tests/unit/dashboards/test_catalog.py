"""docs/sre.md lists every metric the code defines, and every name follows the convention."""

from __future__ import annotations

import re

from dashboards import catalog


def _documented() -> set[str]:
    text = catalog.SRE_DOC.read_text()
    table = text.split(catalog.BEGIN, 1)[1].split(catalog.END, 1)[0]
    return set(re.findall(r"^\| `([a-z0-9_]+)`", table, flags=re.M))


def test_sre_doc_lists_the_observability_and_faust_metrics() -> None:
    # Services' metrics join the table when `python -m dashboards.catalog` is re-run; a new
    # service metric must not break the build, a removed or renamed one must (stale doc).
    mine = {d.name for d in catalog.catalog() if d.source in {"faust sensor", "lag-exporter"}}
    assert mine <= _documented(), "run python -m dashboards.catalog"


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
