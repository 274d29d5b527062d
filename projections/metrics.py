"""Prometheus metrics of the projector (``ticketstream_projector_*``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ROWS_INSERTED = Counter(
    "ticketstream_projector_rows_inserted_total", "Rows inserted into ClickHouse", ["table"]
)
BATCHES = Counter("ticketstream_projector_batches_total", "Batches written to ClickHouse")
INSERT_SECONDS = Histogram(
    "ticketstream_projector_insert_seconds",
    "Time to write one batch to ClickHouse (all tables), seconds",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RETRIES = Counter(
    "ticketstream_projector_retries_total",
    "ClickHouse operations retried after a failure",
    ["stage"],  # load_state | insert
)
for _stage in ("load_state", "insert"):  # exported at 0 from the start: rates and alerts see
    RETRIES.labels(_stage)  # "no retries" rather than no series (Prometheus' own advice)
# multiprocess_mode: how the parent of several projector processes combines their values
# (projections.processes; ignored with one process).
CLICKHOUSE_UP = Gauge(
    "ticketstream_projector_clickhouse_up",
    "1 when the last ClickHouse operation succeeded",
    multiprocess_mode="livemin",
)
DEAD_LETTERS = Counter(
    "ticketstream_projector_dead_letters_total", "Undecodable records sent to the dead-letter topic"
)
DUPLICATES = Counter(
    "ticketstream_projector_duplicates_total",
    "Ticket/SLA events dropped because they were already projected (replays, re-emissions)",
)
RECORDS = Counter("ticketstream_projector_records_total", "Records consumed", ["topic"])
LAG = Gauge(
    "ticketstream_projector_lag_messages",
    "Records not yet consumed (from fetch high-water marks)",
    ["topic"],
    multiprocess_mode="livesum",
)
FRESHNESS = Gauge(
    "ticketstream_projector_freshness_seconds",
    "Now minus the event time of the newest event written to ClickHouse, seconds",
    multiprocess_mode="livemax",
)
