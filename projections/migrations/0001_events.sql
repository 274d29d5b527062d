-- Every event, one row per event id: the envelope as columns, the fields analysts filter on
-- as columns (filled from the event or, for ticket/SLA events, from the ticket's state after
-- the event), everything else as a JSON string in `payload` (message bodies only when
-- TICKETSTREAM_PROJECTIONS_STORE_BODIES=true).
-- ReplacingMergeTree keyed on (aggregate_id, occurred_at, event_id): a replayed or re-emitted
-- event has the same key and collapses into one row; read with FINAL (or uniqExact(event_id))
-- so answers are right before background merges happen.
CREATE TABLE IF NOT EXISTS {db}.events
(
    event_id String,
    event_type String,
    occurred_at DateTime('UTC'),
    occurred_at_ms Int64,
    recorded_at DateTime('UTC'),
    aggregate_id String,
    aggregate_version UInt64,
    causation_id String,
    correlation_id String,
    actor_kind String,
    actor_id String,
    tenant_id String,
    brand_id String,
    ticket_id String,
    channel String,
    priority String,
    status String,
    agent_id String,
    metric String,
    sla_instance UInt32,
    policy_id String,
    first_reply_seconds Int64,
    payload String,
    kafka_topic String,
    kafka_partition UInt32,
    kafka_offset UInt64,
    ingested_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (aggregate_id, occurred_at, event_id);
