"""docs/schemas.md is generated from the schemas and committed up to date."""

from __future__ import annotations

from schemas import catalogue, records
from schemas.cli import run


def test_committed_catalogue_is_up_to_date() -> None:
    assert catalogue.DOC_PATH.read_text(encoding="utf-8") == catalogue.render(), (
        "docs/schemas.md is stale: run `ticketstream schemas catalogue` and commit it"
    )
    assert run(["catalogue", "--check"]) == 0


def test_catalogue_lists_every_record_with_topic_and_key() -> None:
    page = catalogue.render()
    for cls in (*records.COMMAND_TYPES, *records.EVENT_TYPES, records.SlaTick):
        assert f"### {cls.__name__}\n" in page
    assert "Topic `support.channel.messages.v1` · key conversation_key" in page
    assert "| `sent_at` | `long (timestamp-millis, UTC)` |  | The platform's timestamp" in page
