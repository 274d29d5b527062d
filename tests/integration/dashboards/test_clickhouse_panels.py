"""Every ClickHouse panel and variable query of the analyst dashboard runs on the real
ClickHouse server (18.16) and on the current engine (chdb), and returns rows from known data;
two answers are checked against values worked out by hand."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from clickhouse_driver import Client

from dashboards.grafana.queries import (
    PanelQuery,
    expand_clickhouse,
    panel_queries,
    variable_queries,
)
from schemas.records import Channel, Priority

DDL = Path(__file__).with_name("analyst_tables.sql")
NOW = int(time.time())
H = 3600
VARIABLES = {
    "tenant": ["acme"],
    "channel": [c.value for c in Channel],
    "priority": [p.value for p in Priority],
}

TICKETS = [
    # tenant, ticket, customer, channel, priority, status, assignee, opened, solved, version
    ("acme", "T1", "C1", "line", "high", "new", None, NOW - 2 * H, None, 1),
    ("acme", "T1", "C1", "line", "high", "open", "A1", NOW - 2 * H, None, 2),  # replaces v1
    ("acme", "T2", "C2", "email", "normal", "solved", "A2", NOW - 3 * H, NOW - H, 3),
    ("acme", "T3", "C1", "line", "urgent", "new", None, NOW - H, None, 1),
    ("other", "T9", "C9", "line", "low", "open", "A9", NOW - H, None, 1),  # another tenant
]
SLA_TIMERS = [
    # tenant, ticket, metric, instance, policy, priority, target, started, business, calendar,
    # breached, fulfilled, version
    ("acme", "T1", "first_reply_time", 1, "P", "high", 3600, NOW - 2 * H, 600, 600, 0, 1, 2),
    ("acme", "T2", "first_reply_time", 1, "P", "normal", 3600, NOW - 3 * H, 7200, 7200, 1, 1, 2),
    ("acme", "T3", "first_reply_time", 1, "P", "urgent", 900, NOW - H, 0, 0, 0, 0, 1),  # running
]
EVENTS = [
    ("e1", "AgentReplied", "acme", "T1", NOW - 2 * H + 600, "agent", "A1"),
    ("e2", "AgentReplied", "acme", "T2", NOW - H, "agent", "A2"),
    ("e3", "TicketOpened", "acme", "T3", NOW - H, "customer", "C1"),
]


def statements(db: str) -> list[str]:
    """The DDL file's statements for database ``db`` (comment lines dropped)."""
    text = "\n".join(
        line for line in DDL.read_text().splitlines() if not line.strip().startswith("--")
    )
    return [s.strip() for s in text.format(db=db).split(";") if s.strip()]


def all_queries() -> list[PanelQuery]:
    return [
        q
        for q in [*panel_queries(), *variable_queries()]
        if q.datasource == "grafana-clickhouse-datasource"
    ]


def expanded(q: PanelQuery) -> str:
    return expand_clickhouse(q.text, VARIABLES, NOW - 7 * 24 * H, NOW)


def by_panel(rows: dict[str, list[tuple[object, ...]]], title: str) -> list[tuple[object, ...]]:
    return rows[title]


@pytest.fixture
def analyst_db(stack, unique_name):
    db = f"analyst_{unique_name}"
    admin = Client(host=stack.clickhouse_host, port=stack.clickhouse_port)
    admin.execute(f"CREATE DATABASE {db}")
    try:
        for stmt in statements(db):
            admin.execute(stmt)
        admin.execute(f"INSERT INTO {db}.tickets VALUES", TICKETS)
        admin.execute(f"INSERT INTO {db}.sla_timers VALUES", SLA_TIMERS)
        admin.execute(f"INSERT INTO {db}.events VALUES", EVENTS)
        client = Client(host=stack.clickhouse_host, port=stack.clickhouse_port, database=db)
        yield client
        client.disconnect()
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {db}")
        admin.disconnect()


def test_every_analyst_query_returns_rows_on_the_real_server(analyst_db) -> None:
    queries = all_queries()
    assert len(queries) >= 13
    rows = {}
    for q in queries:
        result = analyst_db.execute(expanded(q))
        assert result, f"{q.dashboard} / {q.panel}: no rows"
        rows[q.panel] = result
    # By hand: ended first-reply timers of acme: T1 met (600 s of 3600), T2 breached -> 1 of 2.
    assert by_panel(rows, "SLA achievement by metric") == [("first_reply_time", 2, 1, 50.0)]
    # Open tickets per agent: T1 (open, high) is A1's; T2 solved; T3 unassigned.
    assert by_panel(rows, "Open tickets per agent") == [("A1", 1, 1)]
    assert by_panel(rows, "$tenant") == [("acme",), ("other",)]


def _chdb_rows(session, sql: str) -> list[object]:
    import json

    out = session.query(sql, "JSONCompact").bytes()
    return json.loads(out)["data"] if out else []


def test_every_analyst_query_runs_on_the_current_engine(tmp_path) -> None:
    from chdb import session as chdb_session

    s = chdb_session.Session(str(tmp_path / "chdb"))
    try:
        s.query("CREATE DATABASE IF NOT EXISTS analyst")
        for stmt in statements("analyst"):
            s.query(stmt)

        def values(rows: list[tuple[object, ...]]) -> str:
            def lit(v: object) -> str:
                if v is None:
                    return "NULL"
                if isinstance(v, str):
                    return "'" + v + "'"
                return str(v)

            return ", ".join("(" + ", ".join(lit(v) for v in r) + ")" for r in rows)

        # DateTime columns take unix seconds in VALUES on both engines.
        s.query(f"INSERT INTO analyst.tickets VALUES {values(TICKETS)}")
        s.query(f"INSERT INTO analyst.sla_timers VALUES {values(SLA_TIMERS)}")
        s.query(f"INSERT INTO analyst.events VALUES {values(EVENTS)}")
        s.query("USE analyst")
        for q in all_queries():
            assert _chdb_rows(s, expanded(q)), f"{q.dashboard} / {q.panel}: no rows on chdb"
    finally:
        s.close()
