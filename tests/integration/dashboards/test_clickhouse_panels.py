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

REPO = Path(__file__).resolve().parents[3]
MIGRATIONS = REPO / "projections" / "migrations"
STAND_IN = Path(__file__).with_name("analyst_tables.sql")
NOW = int(time.time())
H = 3600
VARIABLES = {
    "tenant": ["acme"],
    "channel": [c.value for c in Channel],
    "priority": [p.value for p in Priority],
}

TICKET_COLS = (
    "ticket_id", "version", "tenant_id", "customer_id", "channel", "priority", "status",
    "assignee_id", "created_at", "updated_at", "solved_at",
)  # fmt: skip
TICKETS = [
    ("T1", 1, "acme", "C1", "line", "high", "new", "", NOW - 2 * H, NOW - 2 * H, None),
    ("T1", 2, "acme", "C1", "line", "high", "open", "A1", NOW - 2 * H, NOW - H, None),  # wins
    ("T2", 3, "acme", "C2", "email", "normal", "solved", "A2", NOW - 3 * H, NOW - H, NOW - H),
    ("T3", 1, "acme", "C1", "line", "urgent", "new", "", NOW - H, NOW - H, None),
    ("T9", 1, "other", "C9", "line", "low", "open", "A9", NOW - H, NOW - H, None),  # other tenant
]
TIMER_COLS = (
    "ticket_id", "metric", "instance", "version", "tenant_id", "policy_id", "priority",
    "channel", "target_seconds", "state", "started_at", "due_at", "business_elapsed_seconds",
    "calendar_elapsed_seconds", "breached", "fulfilled", "breached_at", "fulfilled_at",
    "updated_at",
)  # fmt: skip
SLA_TIMERS = [
    # T1 answered after 600 business seconds of 3600: met
    ("T1", "first_reply_time", 1, 5, "acme", "P", "high", "line", 3600, "fulfilled",
     NOW - 2 * H, NOW - H, 600, 600, 0, 1, None, NOW - 2 * H + 600, NOW - 2 * H + 600),
    # T2 breached at 3600, answered at 7200
    ("T2", "first_reply_time", 1, 6, "acme", "P", "normal", "email", 3600, "fulfilled",
     NOW - 3 * H, NOW - 2 * H, 7200, 7200, 1, 1, NOW - 2 * H, NOW - H, NOW - H),
    # T3 still running: not counted in achievement
    ("T3", "first_reply_time", 1, 1, "acme", "P", "urgent", "line", 900, "running",
     NOW - H, NOW - H + 900, 0, 0, 0, 0, None, None, NOW - H),
]  # fmt: skip
ACTIVITY_COLS = (
    "event_id", "agent_id", "activity", "ticket_id", "channel", "priority", "occurred_at",
    "tenant_id",
)  # fmt: skip
ACTIVITY = [
    ("e1", "A1", "replied", "T1", "line", "high", NOW - 2 * H + 600, "acme"),
    ("e2", "A2", "replied", "T2", "email", "normal", NOW - H, "acme"),
    ("e3", "A2", "assigned", "T2", "email", "normal", NOW - 3 * H, "acme"),
]
ROWS = {
    "tickets": (TICKET_COLS, TICKETS),
    "sla_timers": (TIMER_COLS, SLA_TIMERS),
    "agent_activity": (ACTIVITY_COLS, ACTIVITY),
}


def statements(db: str) -> list[str]:
    """The projections' migrations (or the stand-in while they are absent) for database
    ``db``, one statement each, comment lines dropped."""
    files = sorted(MIGRATIONS.glob("*.sql")) if MIGRATIONS.is_dir() else []
    text = "\n".join(f.read_text() for f in (files or [STAND_IN]))
    text = "\n".join(line for line in text.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in text.replace("{db}", db).split(";") if s.strip()]


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
        for table, (cols, rows) in ROWS.items():
            admin.execute(f"INSERT INTO {db}.{table} ({', '.join(cols)}) VALUES", rows)
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
        for table, (cols, rows) in ROWS.items():
            s.query(f"INSERT INTO analyst.{table} ({', '.join(cols)}) VALUES {values(rows)}")
        s.query("USE analyst")
        for q in all_queries():
            assert _chdb_rows(s, expanded(q)), f"{q.dashboard} / {q.panel}: no rows on chdb"
    finally:
        s.close()
