"""The SRE dashboard (Prometheus): throughput, lag, latency, errors, timers."""

from __future__ import annotations

from dashboards.grafana.spec import RATE, DashboardSpec, P, Panel, Row, Variable, quantiles

CH = 'channel=~"$channel"'
PRIO = 'priority=~"$priority"'
# Topic filters match the name's end (`topic=~".*support.sla.ticks.v1"`): a deployment may put
# a prefix on every topic (TICKETSTREAM_STREAMS_TOPIC_PREFIX, e.g. one per tenant or test run).

THROUGHPUT = Row(
    "Throughput",
    (
        Panel(
            "Webhooks received per channel",
            "Requests reaching the gateway, per second, by channel.",
            (P(f"sum by (channel) (rate(ticketstream_gateway_requests_total{{{CH}}}[{RATE}]))", "{{channel}}"),),
            unit="reqps",
        ),
        Panel(
            "Records produced per topic",
            "Produce rate of every topic the lag exporter sees (end-offset growth), per second.",
            (P(f"sum by (topic) (rate(ticketstream_topic_end_offset[{RATE}]))", "{{topic}}"),),
            unit="ops",
        ),
        Panel(
            "Stream events processed",
            "Events the Faust worker(s) processed per second, by stream (agent).",
            (P(f"sum by (stream) (rate(ticketstream_faust_total_events_per_stream_total[{RATE}]))", "{{stream}}"),),
            unit="ops",
        ),
        Panel(
            "Rows inserted into ClickHouse per table",
            "Projector throughput: rows per second, by table.",
            (P(f"sum by (table) (rate(ticketstream_projector_rows_inserted_total[{RATE}]))", "{{table}}"),),
            unit="rowsps",
        ),
        Panel(
            "Customer messages produced per channel",
            "Messages the gateway wrote to Kafka, per second, by channel (after dedup).",
            (P(f"sum by (channel) (rate(ticketstream_gateway_messages_total{{{CH}}}[{RATE}]))", "{{channel}}"),),
            unit="ops",
        ),
        Panel(
            "Tickets opened per channel",
            "New tickets per second, by channel (worker).",
            (P(f"sum by (channel) (rate(ticketstream_tickets_opened_total{{{CH}}}[{RATE}]))", "{{channel}}"),),
            unit="ops",
        ),
        Panel(
            "Messages consumed per topic (workers)",
            "Messages the Faust worker(s) received per second, by topic.",
            (P(f"sum by (topic) (rate(ticketstream_faust_messages_received_per_topic_total[{RATE}]))", "{{topic}}"),),
            unit="ops",
        ),
    ),
)  # fmt: skip

LAG = Row(
    "Lag and freshness",
    (
        Panel(
            "Consumer lag by group and topic",
            "Messages not yet committed, per consumer group and topic (alert: growing > 1000).",
            (P("sum by (group, topic) (ticketstream_consumer_lag_messages)", "{{group}} · {{topic}}"),),
        ),
        Panel(
            "Projection freshness",
            "Now minus the newest event time in each ClickHouse projection table.",
            (
                P("max by (table) (ticketstream_projection_freshness_seconds)", "ClickHouse {{table}}"),
                P("max(ticketstream_projector_freshness_seconds)", "projector's last write"),
            ),
            unit="s",
        ),
        Panel(
            "Kafka / ClickHouse reachable",
            "1 = the lag exporter reached it on its last poll.",
            (
                P("max(ticketstream_kafka_up)", "Kafka"),
                P("max(ticketstream_clickhouse_up)", "ClickHouse"),
            ),
            kind="stat",
            width=6,
        ),
        Panel(
            "Targets up",
            "Prometheus scrape health of every Ticketstream process.",
            (P('up{job=~"gateway|worker|outbound|email-poll|projector|lag-exporter"}', "{{job}} {{instance}}"),),
            kind="stat",
            width=6,
        ),
    ),
)  # fmt: skip

LATENCY = Row(
    "Latency",
    (
        Panel(
            "Stream event runtime (p50, p99)",
            "Time an agent spends on one event (Faust sensor, milliseconds).",
            quantiles("ticketstream_faust_events_runtime_ms", 0.5, 0.99),
            unit="ms",
        ),
        Panel(
            "Worker producer send latency (p99)",
            "Time from send to broker ack for the worker's produced records (milliseconds).",
            quantiles("ticketstream_faust_producer_send_latency", 0.99),
            unit="ms",
        ),
        Panel(
            "Gateway request latency (p99) by channel",
            "Webhook handling time including the acks=all produce, seconds.",
            quantiles("ticketstream_gateway_request_duration_seconds", 0.99, by="channel", match=CH),
            unit="s",
        ),
        Panel(
            "Gateway produce latency (p99) by channel",
            "Time to produce a webhook's messages and get Kafka's acks (acks=all), seconds.",
            quantiles("ticketstream_gateway_produce_latency_seconds", 0.99, by="channel", match=CH),
            unit="s",
        ),
        Panel(
            "Projector batch insert latency (p50, p99)",
            "Time to write one batch to ClickHouse (all tables), seconds.",
            quantiles("ticketstream_projector_insert_seconds", 0.5, 0.99),
            unit="s",
        ),
    ),
)  # fmt: skip

ERRORS = Row(
    "Errors",
    (
        Panel(
            "Gateway rejections by reason",
            "Webhooks answered 4xx, per second, by reason (bad signature, malformed, …).",
            (P(f"sum by (reason) (rate(ticketstream_gateway_rejected_total{{{CH}}}[{RATE}]))", "{{reason}}"),),
            unit="reqps",
        ),
        Panel(
            "Outbound replies by outcome",
            "Agent replies sent back through the channels, per second, by outcome.",
            (P(f"sum by (channel, outcome) (rate(ticketstream_outbound_messages_total{{{CH}}}[{RATE}]))", "{{channel}} {{outcome}}"),),
            unit="ops",
        ),
        Panel(
            "Ticket commands rejected",
            "Commands refused by the ticket decider, per second, by command type and reason (accepted for scale).",
            (
                P(f"sum by (command_type, reason) (rate(ticketstream_ticket_commands_rejected_total[{RATE}]))", "{{command_type}}: {{reason}}"),
                P(f"sum(rate(ticketstream_ticket_commands_accepted_total[{RATE}]))", "accepted (all)"),
            ),
            unit="ops",
        ),
        Panel(
            "Dead-lettered records and producer errors",
            "Undecodable records sent to the dead-letter topic, and failed worker sends, per second.",
            (
                P(f"sum(rate(ticketstream_faust_total_error_messages_sent_total[{RATE}]))", "worker send errors"),
                P(f"sum by (topic) (rate(ticketstream_topic_end_offset{{topic=~\".*support.deadletter.v1\"}}[{RATE}]))", "dead letters"),
                P(f"sum(rate(ticketstream_projector_dead_letters_total[{RATE}]))", "projector dead letters"),
                P(f"sum by (topic) (rate(ticketstream_streams_dead_letters_total[{RATE}]))", "worker dead letters from {{topic}}"),
            ),
            unit="ops",
        ),
        Panel(
            "Projector retries and gateway redeliveries",
            "ClickHouse operations the projector retried (by stage), and webhook redeliveries the gateway dropped as duplicates, per second.",
            (
                P(f"sum by (stage) (rate(ticketstream_projector_retries_total[{RATE}]))", "projector retry {{stage}}"),
                P(f"sum by (channel) (rate(ticketstream_gateway_redeliveries_dropped_total{{{CH}}}[{RATE}]))", "redelivery dropped {{channel}}"),
            ),
            unit="ops",
        ),
    ),
)  # fmt: skip

ROUTING = Row(
    "Routing",
    (
        Panel(
            "Queue length by group and priority",
            "Tickets waiting for an agent now, by group and priority (set by the router).",
            (P(f"sum by (group, priority) (ticketstream_ticket_queue_length{{{PRIO}}})", "{{group}} · {{priority}}"),),
        ),
        Panel(
            "Assignment latency (p50, p90)",
            "Seconds from a ticket starting to wait (event time) to the router assigning it.",
            quantiles("ticketstream_ticket_assignment_latency_seconds", 0.5, 0.9),
            unit="s",
        ),
    ),
)  # fmt: skip

TIMERS = Row(
    "SLA timers",
    (
        Panel(
            "SLA breaches by metric",
            "Timers that passed their target, per minute, by SLA metric (alert: spike).",
            (P(f"sum by (metric) (rate(ticketstream_sla_breaches_total{{{PRIO}}}[{RATE}])) * 60", "{{metric}}"),),
            unit="short",
        ),
        Panel(
            "SLA warnings (unassigned vs assigned)",
            "Timers that crossed the warning threshold, per minute.",
            (P(f"sum by (assigned) (rate(ticketstream_sla_warnings_total{{{PRIO}}}[{RATE}])) * 60", "assigned={{assigned}}"),),
        ),
        Panel(
            "SLA timers fulfilled",
            "Timers stopped by the event they wait for, per minute, by SLA metric.",
            (P(f"sum by (metric) (rate(ticketstream_sla_fulfilled_total{{{PRIO}}}[{RATE}])) * 60", "{{metric}}"),),
        ),
        Panel(
            "Active SLA timers by metric",
            "Running SLA timers with a target, by metric (all workers).",
            (P("sum by (metric) (ticketstream_sla_active_timers)", "{{metric}}"),),
        ),
        Panel(
            "SLA firing lag (p50, p99)",
            "Fired minus due time of warnings, breaches and auto-closes, seconds (should stay ~1 tick).",
            quantiles("ticketstream_sla_firing_lag_seconds", 0.5, 0.99),
            unit="s",
        ),
        Panel(
            "SLA ticks: rate and processing time (p99)",
            "Clock ticks driving the due-time index per second (steady), and time to process one.",
            (
                P(f"sum(rate(ticketstream_faust_messages_received_per_topic_total{{topic=~\".*support.sla.ticks.v1\"}}[{RATE}]))", "ticks/s"),
                P(f"histogram_quantile(0.99, sum by (le) (rate(ticketstream_sla_tick_processing_seconds_bucket[{RATE}])))", "p99 seconds"),
            ),
        ),
    ),
)  # fmt: skip

SRE = DashboardSpec(
    uid="ticketstream-sre",
    title="Ticketstream · SRE",
    description="Pipeline health: throughput, lag, latency, errors, SLA timers (Prometheus).",
    datasource="prometheus",
    rows=(THROUGHPUT, LAG, LATENCY, ERRORS, ROUTING, TIMERS),
    variables=(
        Variable(
            "channel", "Channel", "label_values(ticketstream_gateway_requests_total, channel)"
        ),
        Variable("priority", "Priority", "label_values(ticketstream_sla_breaches_total, priority)"),
    ),
    tags=("ticketstream", "sre"),
    time_from="now-3h",
)

# Metrics a panel or alert rule may use before a service defines them (empty: every metric
# used is defined in code). tests/unit/dashboards/test_grafana.py fails when a panel or rule
# uses a metric that is neither defined in code nor listed here (a rename breaks the build).
PENDING_METRICS: frozenset[str] = frozenset()
