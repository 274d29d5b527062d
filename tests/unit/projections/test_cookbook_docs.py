"""docs/analysts.md shows every cookbook query exactly as the tested file has it, and every
cookbook query reads the deduplicating tables the way the docs' rules say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from projections import cookbook

DOC = Path(__file__).resolve().parents[3] / "docs" / "analysts.md"


def _body(sql: str) -> str:
    """The statement without its comment lines, whitespace-normalised."""
    lines = [ln for ln in sql.splitlines() if not ln.lstrip().startswith("--")]
    return " ".join(" ".join(lines).split())


def _doc_blocks() -> list[str]:
    return [_body(b) for b in re.findall(r"```sql\n(.*?)```", DOC.read_text(), re.S)]


@pytest.mark.parametrize("name", sorted(cookbook.queries()))
def test_the_docs_show_the_tested_query(name: str) -> None:
    text = DOC.read_text()
    assert f"`{name}.sql`" in text, f"docs/analysts.md does not name {name}.sql"
    assert _body(cookbook.queries()[name]) in _doc_blocks()


@pytest.mark.parametrize("name", sorted(cookbook.queries()))
def test_replacing_tables_are_read_with_final(name: str) -> None:
    body = _body(cookbook.queries()[name])
    for table in ("events", "tickets", "messages", "sla_timers", "agent_activity"):
        for m in re.finditer(rf"\bFROM {table}\b(?! FINAL)", body):
            # the only exception: min/max of event days, which copies cannot change
            assert table == "events" and "min(toDate(occurred_at))" in body[m.start() - 120 :], (
                name,
                table,
            )
