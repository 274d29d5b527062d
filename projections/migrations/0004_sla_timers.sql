-- One row per ticket × metric × instance, the timer's state after its latest SLA event.
-- version = occurred_at_ms * 8 + rank of the event type (Started < Resumed < Paused < Warning
-- < Breached < Fulfilled), so the latest fact wins and a replay never moves a timer back.
CREATE TABLE IF NOT EXISTS {db}.sla_timers
(
    ticket_id String,
    metric String,
    instance UInt32,
    version UInt64,
    tenant_id String,
    policy_id String,
    priority String,
    channel String,
    target_seconds UInt32,
    business_hours UInt8,
    state String,
    started_at DateTime('UTC'),
    due_at DateTime('UTC'),
    business_elapsed_seconds UInt32,
    calendar_elapsed_seconds UInt32,
    breached UInt8,
    fulfilled UInt8,
    breached_at Nullable(DateTime('UTC')),
    fulfilled_at Nullable(DateTime('UTC')),
    updated_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY (ticket_id, metric, instance);
