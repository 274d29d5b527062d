"""`ticketstream demo`'s smoke pipeline runs end to end on the test stack."""

from __future__ import annotations

from ticketstream.demo import run_smoke_pipeline


def test_smoke_pipeline_end_to_end(stack) -> None:
    lines: list[str] = []
    summary = run_smoke_pipeline(stack.settings, stack.stack, records=25, out=lines.append)
    assert summary["records"] == 25
    # 25 records over 5 channels round-robin: 5 each
    assert summary["clickhouse_rows_by_channel"] == {
        "email": 5,
        "line": 5,
        "telegram": 5,
        "webchat": 5,
        "whatsapp": 5,
    }
    assert summary["prometheus_value"] == 25.0
    assert sum(1 for line in lines if line.strip().startswith("ok (")) == 5
