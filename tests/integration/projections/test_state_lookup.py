"""A state lookup by ticket ids sent as the query's temporary table
(``DriverEngine.select_where_in``, what ``Projection.load_state_data`` uses on the server)
finds exactly the rows an IN list of literals finds: the ids asked for, any characters in them,
each ticket's newest version (FINAL), nothing for ids not there."""

from __future__ import annotations

from typing import Any

import pytest

from projections.engines import DriverEngine, sql_literal


@pytest.fixture
def table(stack: Any, unique_name: str) -> Any:
    core = stack.settings
    engine = DriverEngine(core.clickhouse_host, core.clickhouse_port)
    db = f"pj_{unique_name}"
    engine.execute(f"CREATE DATABASE {db}")
    engine.execute(
        f"CREATE TABLE {db}.t (ticket_id String, version UInt64, channel String) "
        "ENGINE = ReplacingMergeTree(version) ORDER BY ticket_id"
    )
    yield engine, f"{db}.t"
    engine.execute(f"DROP DATABASE IF EXISTS {db}")
    engine.close()


def test_a_lookup_by_temporary_table_finds_what_an_in_list_finds(table: Any) -> None:
    engine, name = table
    ids = [f"T-{n}" for n in range(3000)] + ["it's", "Zoë-✓", "back\\slash", ""]
    rows = [[*ids, "T-7"], [*([1] * len(ids)), 2], [*(["email"] * len(ids)), "chat"]]
    engine.insert(name, ("ticket_id", "version", "channel"), rows)
    wanted = {*ids[::7], "it's", "Zoë-✓", "back\\slash", "", "T-7", "T-9999", "nowhere"}
    select = f"SELECT ticket_id, version, channel FROM {name} FINAL"

    got = engine.select_where_in(select, "ticket_id", wanted)

    literals = ", ".join(sql_literal(v) for v in sorted(wanted))
    expected = engine.execute(f"{select} WHERE ticket_id IN ({literals})")
    assert sorted(got) == sorted(expected)
    assert len(got) == len(wanted) - 2  # T-9999 and nowhere are not there
    assert ("T-7", 2, "chat") in got and ("Zoë-✓", 1, "email") in got
    assert engine.select_where_in(select, "ticket_id", set()) == []
