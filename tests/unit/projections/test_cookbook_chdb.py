"""The migrations and every cookbook query on the current ClickHouse engine (chdb), after the
known event stream is projected: each answer equals the one worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from projections import cookbook
from projections.engines import ChdbEngine
from projections.migrate import migrate
from projections.rows import TABLE_COLUMNS, TABLES, Projection, Source
from tests.unit.projections.helpers import norm_rows
from tests.unit.projections.known_stream import DISTINCT_EVENTS, EXPECTED, known_stream

NOW = datetime(2026, 3, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def engine() -> ChdbEngine:
    eng = ChdbEngine()
    migrate(eng, "ts")
    proj = Projection(eng, "ts")
    items = [(rec, Source("t", 0, i)) for i, rec in enumerate(known_stream())]
    # two batches, so the second one loads state written by the first from the tables
    for part in (items[:17], items[17:]):
        proj.forget()
        proj.load_state([rec for rec, _ in part])
        batch = proj.project(part, NOW)
        for table in TABLES:
            eng.insert(f"ts.{table}", TABLE_COLUMNS[table], batch.columnar(table))
    eng.execute("USE ts")
    return eng


def test_every_table_matches_its_migration(engine: ChdbEngine) -> None:
    for table in TABLES:
        cols = [
            row[0]
            for row in engine.execute(
                f"SELECT name FROM system.columns WHERE database = 'ts' AND table = '{table}' ORDER BY position"
            )
        ]
        assert tuple(cols) == TABLE_COLUMNS[table], table


def test_duplicates_are_stored_once(engine: ChdbEngine) -> None:
    assert engine.execute("SELECT count() FROM events FINAL") == [(DISTINCT_EVENTS,)]


def test_every_cookbook_query_has_a_hand_computed_answer() -> None:
    assert sorted(cookbook.queries()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cookbook_answer_on_current_engine(engine: ChdbEngine, name: str) -> None:
    assert norm_rows(engine.execute(cookbook.queries()[name])) == EXPECTED[name]


def test_first_reply_seconds_is_on_the_first_human_reply_only(engine: ChdbEngine) -> None:
    rows = engine.execute(
        "SELECT ticket_id, first_reply_seconds FROM events FINAL "
        "WHERE first_reply_seconds >= 0 ORDER BY ticket_id"
    )
    assert rows == [("T1", 1800), ("T2", 3600), ("T3", 1800), ("T5", 120)]


def test_cookbook_answers_hold_with_every_row_stored_twice_and_no_merges() -> None:
    """What a crash between insert and commit leaves (each row written again), read before
    ClickHouse merges anything: every answer is still the hand-computed one."""
    eng = ChdbEngine()
    migrate(eng, "twice")
    for table in (*TABLES, "rollup_hourly"):
        eng.execute(f"SYSTEM STOP MERGES twice.{table}")
    proj = Projection(eng, "twice")
    items = [(rec, Source("t", 0, i)) for i, rec in enumerate(known_stream())]
    batch = proj.project(items, NOW)
    for _ in range(2):
        for table in TABLES:
            eng.insert(f"twice.{table}", TABLE_COLUMNS[table], batch.columnar(table))
    eng.execute("USE twice")
    assert eng.execute("SELECT count() FROM events") == [(2 * DISTINCT_EVENTS,)]
    for name, sql in sorted(cookbook.queries().items()):
        assert norm_rows(eng.execute(sql)) == EXPECTED[name], name
