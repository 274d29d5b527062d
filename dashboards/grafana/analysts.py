"""The analysts' dashboard (ClickHouse, official grafana-clickhouse-datasource plugin): SLA
achievement, reply times, backlog, volume by channel, agent workload.

Queries read the projections' tables (projections/migrations) and must run on ClickHouse 18.16
(tests) and a current ClickHouse (production): plain GROUP BY, ``FINAL`` on the
ReplacingMergeTree state tables (right before background merges), ``toStartOfHour/Day`` rather
than the plugin's ``$__timeInterval`` (18.16 lacks toStartOfInterval). Grafana substitutes
``$__timeFilter(col)`` and ``${var:singlequote}`` (a quoted, comma-separated list).
"""

from __future__ import annotations

from dashboards.grafana.spec import DashboardSpec, Panel, Query, Row, Variable

# Filter of the tickets table by the dashboard's variables.
T_FILTER = (
    "tenant_id = ${tenant:singlequote}"
    " AND toString(channel) IN (${channel:singlequote})"
    " AND toString(priority) IN (${priority:singlequote})"
)
OPEN_STATUSES = "('new', 'open', 'pending', 'on_hold')"
# Tickets matching the variables, for tables that do not carry channel/priority themselves.
T_IDS = f"ticket_id IN (SELECT ticket_id FROM tickets FINAL WHERE {T_FILTER})"


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
                SELECT toString(metric) AS metric, count() AS timers,
                       countIf(breached = 0) AS achieved,
                       round(100 * countIf(breached = 0) / count(), 1) AS achieved_pct
                FROM sla_timers FINAL
                WHERE (fulfilled = 1 OR breached = 1) AND $__timeFilter(started_at) AND {T_IDS}
                GROUP BY metric ORDER BY metric
            """),
            ),
            kind="table",
        ),
        Panel(
            "SLA achievement per day",
            "Daily share of SLA timers within target, by metric.",
            (
                SQL(f"""
                SELECT toStartOfDay(started_at) AS time, toString(metric) AS metric,
                       round(100 * countIf(breached = 0) / count(), 1) AS achieved_pct
                FROM sla_timers FINAL
                WHERE (fulfilled = 1 OR breached = 1) AND $__timeFilter(started_at) AND {T_IDS}
                GROUP BY time, metric ORDER BY time, metric
            """),
            ),
            unit="percent",
        ),
    ),
)

REPLIES = Row(
    "Reply times",
    (
        Panel(
            "First reply time by channel (business seconds)",
            "p50 and p90 of the first reply time, business hours, by channel.",
            (
                SQL(f"""
                SELECT toString(t.channel) AS channel, count() AS tickets,
                       quantile(0.5)(s.business_elapsed_seconds) AS p50_seconds,
                       quantile(0.9)(s.business_elapsed_seconds) AS p90_seconds
                FROM (SELECT ticket_id, business_elapsed_seconds FROM sla_timers FINAL
                      WHERE metric = 'first_reply_time' AND fulfilled = 1
                        AND $__timeFilter(started_at)) AS s
                ANY INNER JOIN (SELECT ticket_id, channel FROM tickets FINAL
                                WHERE {T_FILTER}) AS t USING ticket_id
                GROUP BY channel ORDER BY channel
            """),
            ),
            kind="table",
        ),
        Panel(
            "First reply time p90 per hour",
            "p90 of the first reply time (business seconds) of tickets answered each hour.",
            (
                SQL(f"""
                SELECT toStartOfHour(started_at) AS time,
                       quantile(0.9)(business_elapsed_seconds) AS p90_seconds
                FROM sla_timers FINAL
                WHERE metric = 'first_reply_time' AND fulfilled = 1
                  AND $__timeFilter(started_at) AND {T_IDS}
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
                SELECT toString(status) AS status, count() AS tickets
                FROM tickets FINAL
                WHERE {T_FILTER} AND toString(status) IN {OPEN_STATUSES}
                GROUP BY status ORDER BY status
            """),
            ),
            kind="barchart",
        ),
        Panel(
            "Unassigned open tickets by priority",
            "Open tickets with no assignee, by priority.",
            (
                SQL(f"""
                SELECT toString(priority) AS priority, count() AS tickets
                FROM tickets FINAL
                WHERE {T_FILTER} AND toString(status) IN {OPEN_STATUSES}
                  AND assignee_id IS NULL
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
                SELECT toStartOfHour(opened_at) AS time, toString(channel) AS channel,
                       count() AS tickets
                FROM tickets FINAL
                WHERE $__timeFilter(opened_at) AND {T_FILTER}
                GROUP BY time, channel ORDER BY time, channel
            """),
            ),
        ),
        Panel(
            "Created vs solved per day",
            "Tickets opened each day, and how many of those are solved by now.",
            (
                SQL(f"""
                SELECT toStartOfDay(opened_at) AS time, count() AS created,
                       countIf(solved_at IS NOT NULL) AS solved
                FROM tickets FINAL
                WHERE $__timeFilter(opened_at) AND {T_FILTER}
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
                       countIf(toString(priority) IN ('high', 'urgent')) AS high_or_urgent
                FROM tickets FINAL
                WHERE {T_FILTER} AND toString(status) IN {OPEN_STATUSES}
                  AND assignee_id IS NOT NULL
                GROUP BY agent ORDER BY open_tickets DESC, agent LIMIT 50
            """),
            ),
            kind="table",
        ),
        Panel(
            "Public replies per agent",
            "Replies sent by each agent in the range (top 50).",
            (
                SQL(f"""
                SELECT actor_id AS agent, count() AS replies
                FROM events
                WHERE event_type = 'AgentReplied' AND $__timeFilter(occurred_at)
                  AND tenant_id = ${{tenant:singlequote}} AND {T_IDS}
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
        Variable(
            "channel", "Channel", "SELECT DISTINCT toString(channel) AS c FROM tickets ORDER BY c"
        ),
        Variable(
            "priority",
            "Priority",
            "SELECT DISTINCT toString(priority) AS p FROM tickets ORDER BY p",
        ),
    ),
    tags=("ticketstream", "analysts"),
    time_from="now-7d",
)
