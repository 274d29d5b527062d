-- Hourly rollup per channel × priority, fed by a materialized view on `events`.
-- Counts are uniqExact over ids, so a row the projector writes twice never counts twice.
-- Read with the -Merge combinators: uniqExactIfMerge(created), quantilesIfMerge(0.5, 0.9)(...).
CREATE TABLE IF NOT EXISTS {db}.rollup_hourly
(
    hour DateTime('UTC'),
    channel String,
    priority String,
    created AggregateFunction(uniqExactIf, String, UInt8),
    solved AggregateFunction(uniqExactIf, String, UInt8),
    breaches AggregateFunction(uniqExactIf, String, UInt8),
    first_reply_seconds AggregateFunction(quantilesIf(0.5, 0.9), Float64, UInt8)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, channel, priority);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.rollup_hourly_mv TO {db}.rollup_hourly
AS SELECT
    toStartOfHour(occurred_at) AS hour,
    channel,
    priority,
    uniqExactIfState(ticket_id, event_type = 'TicketOpened') AS created,
    uniqExactIfState(event_id, event_type = 'TicketStatusChanged' AND status = 'solved') AS solved,
    uniqExactIfState(event_id, event_type = 'SlaBreached') AS breaches,
    quantilesIfState(0.5, 0.9)(toFloat64(first_reply_seconds), first_reply_seconds >= 0)
        AS first_reply_seconds
FROM {db}.events
GROUP BY hour, channel, priority;
