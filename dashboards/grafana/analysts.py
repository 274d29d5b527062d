"""The analysts' dashboard (ClickHouse, official grafana-clickhouse-datasource plugin): SLA
achievement, reply times, backlog, volume by channel, agent workload. Tables and columns are
the projections' (projections/migrations): tickets, sla_timers, agent_activity.

Queries read the projections' tables (projections/migrations) and must run on ClickHouse 18.16
(tests) and a current ClickHouse (production): plain GROUP BY, ``FINAL`` on the
ReplacingMergeTree state tables (right before background merges), ``toStartOfHour/Day`` rather
than the plugin's ``$__timeInterval`` (18.16 lacks toStartOfInterval). Grafana substitutes
``$__timeFilter(col)`` and ``${var:singlequote}`` (a quoted, comma-separated list).
"""

from __future__ import annotations

from dashboards.grafana.spec import DashboardSpec, Panel, Query, Row, Variable

# Every projection table the panels read carries tenant_id, channel and priority.
F = (
    "tenant_id = ${tenant:singlequote}"
    " AND channel IN (${channel:singlequote})"
    " AND priority IN (${priority:singlequote})"
)
OPEN_STATUSES = "('new', 'open', 'pending', 'on_hold')"
ENDED = "(fulfilled = 1 OR breached = 1)"  # a running timer is not yet a success


def SQL(text: str) -> Query:
    return Query(" ".join(text.split()), time_series=text.lstrip().startswith("SELECT toStartOf"))


SLA = Row(
    "SLA achievement",
    (
        Panel(
            "SLA achievement by metric",
            "Share of ended SLA timers (fulfilled or breached) that met their target, for timers started in the range.",
            (
                SQL(f"""
                SELECT metric, count() AS timers, countIf(breached = 0) AS achieved,
                       round(100 * countIf(breached = 0) / count(), 1) AS achieved_pct
                FROM sla_timers FINAL
                WHERE {ENDED} AND $__timeFilter(started_at) AND {F}
                GROUP BY metric ORDER BY metric
            """),
            ),
            kind="table",
        ),
        Panel(
            "SLA achievement per day",
            "Daily share of ended SLA timers within target, by metric.",
            (
                SQL(f"""
                SELECT toStartOfDay(started_at) AS time, metric,
                       round(100 * countIf(breached = 0) / count(), 1) AS achieved_pct
                FROM sla_timers FINAL
                WHERE {ENDED} AND $__timeFilter(started_at) AND {F}
                GROUP BY time, metric ORDER BY time, metric
            """),
            ),
            unit="percent",
        ),
        Panel(
            "Breached SLA timers (latest 100)",
            "Drill-down: which tickets breached which target, newest first.",
            (
                SQL(f"""
                SELECT breached_at, ticket_id, metric, priority, channel, policy_id,
                       target_seconds, business_elapsed_seconds
                FROM sla_timers FINAL
                WHERE breached = 1 AND $__timeFilter(started_at) AND {F}
                ORDER BY breached_at DESC, ticket_id LIMIT 100
            """),
            ),
            kind="table",
            width=24,
        ),
    ),
)

REPLIES = Row(
    "Reply times",
    (
        Panel(
            "First reply time by channel (business seconds)",
            "p50 and p90 of the first reply time in business seconds, by channel.",
            (
                SQL(f"""
                SELECT channel, count() AS tickets,
                       quantile(0.5)(business_elapsed_seconds) AS p50_seconds,
                       quantile(0.9)(business_elapsed_seconds) AS p90_seconds
                FROM sla_timers FINAL
                WHERE metric = 'first_reply_time' AND fulfilled = 1
                  AND $__timeFilter(started_at) AND {F}
                GROUP BY channel ORDER BY channel
            """),
            ),
            kind="table",
        ),
        Panel(
            "First reply time p90 per hour",
            "p90 of the first reply time (business seconds), by the hour the ticket's timer started.",
            (
                SQL(f"""
                SELECT toStartOfHour(started_at) AS time,
                       quantile(0.9)(business_elapsed_seconds) AS p90_seconds
                FROM sla_timers FINAL
                WHERE metric = 'first_reply_time' AND fulfilled = 1
                  AND $__timeFilter(started_at) AND {F}
                GROUP BY time ORDER BY time
            """),
            ),
            unit="s",
        ),
    ),
)

BACKLOG = Row(
    "Backlog and volume",
    (
        Panel(
            "Open backlog by status",
            "Tickets not solved or closed, now, by status.",
            (
                SQL(f"""
                SELECT status, count() AS tickets
                FROM tickets FINAL
                WHERE {F} AND status IN {OPEN_STATUSES}
                GROUP BY status ORDER BY status
            """),
            ),
            kind="barchart",
        ),
        Panel(
            "Unassigned open tickets by priority",
            "Open tickets with no assignee, now, by priority.",
            (
                SQL(f"""
                SELECT priority, count() AS tickets
                FROM tickets FINAL
                WHERE {F} AND status IN {OPEN_STATUSES} AND assignee_id = ''
                GROUP BY priority ORDER BY priority
            """),
            ),
            kind="barchart",
        ),
        Panel(
            "Tickets opened per hour by channel",
            "New tickets per hour, by channel.",
            (
                SQL(f"""
                SELECT toStartOfHour(created_at) AS time, channel, count() AS tickets
                FROM tickets FINAL
                WHERE $__timeFilter(created_at) AND {F}
                GROUP BY time, channel ORDER BY time, channel
            """),
            ),
        ),
        Panel(
            "Created vs solved per day",
            "Tickets opened each day, and how many of those are solved by now.",
            (
                SQL(f"""
                SELECT toStartOfDay(created_at) AS time, count() AS created,
                       countIf(status IN ('solved', 'closed')) AS solved
                FROM tickets FINAL
                WHERE $__timeFilter(created_at) AND {F}
                GROUP BY time ORDER BY time
            """),
            ),
        ),
    ),
)

AGENTS = Row(
    "Agent workload",
    (
        Panel(
            "Open tickets per agent",
            "Open tickets assigned to each agent now (top 50), with the urgent/high share.",
            (
                SQL(f"""
                SELECT assignee_id AS agent, count() AS open_tickets,
                       countIf(priority IN ('high', 'urgent')) AS high_or_urgent
                FROM tickets FINAL
                WHERE {F} AND status IN {OPEN_STATUSES} AND assignee_id != ''
                GROUP BY agent ORDER BY open_tickets DESC, agent LIMIT 50
            """),
            ),
            kind="table",
        ),
        Panel(
            "Replies per agent",
            "Public replies sent by each agent in the range (top 50).",
            (
                SQL(f"""
                SELECT agent_id AS agent, count() AS replies
                FROM agent_activity FINAL
                WHERE activity = 'replied' AND $__timeFilter(occurred_at) AND {F}
                GROUP BY agent ORDER BY replies DESC, agent LIMIT 50
            """),
            ),
            kind="table",
        ),
    ),
)

ANALYSTS = DashboardSpec(
    uid="ticketstream-analysts",
    title="Ticketstream · Support analytics",
    description="SLA achievement, reply times, backlog, volume by channel, agent workload (ClickHouse).",
    datasource="clickhouse",
    rows=(SLA, REPLIES, BACKLOG, AGENTS),
    variables=(
        Variable(
            "tenant",
            "Tenant",
            "SELECT DISTINCT tenant_id FROM tickets ORDER BY tenant_id",
            multi=False,
        ),
        Variable("channel", "Channel", "SELECT DISTINCT channel FROM tickets ORDER BY channel"),
        Variable("priority", "Priority", "SELECT DISTINCT priority FROM tickets ORDER BY priority"),
    ),
    tags=("ticketstream", "analysts"),
    time_from="now-7d",
)
