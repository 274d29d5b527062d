"""docs/sre.md lists every metric the code defines, and every name follows the convention."""

from __future__ import annotations

import re

from dashboards import catalog


def test_sre_doc_metric_table_is_up_to_date() -> None:
    text = catalog.SRE_DOC.read_text()
    assert catalog.render_doc(text, catalog.catalog()) == text, "run python -m dashboards.catalog"


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
