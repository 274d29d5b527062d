-- The projection tables as the analyst dashboard reads them (the columns its queries use).
-- Stand-in until projections/migrations lands (then the test applies the real migrations).
CREATE TABLE {db}.tickets (
    tenant_id String, ticket_id String, customer_id String,
    channel String, priority String, status String,
    assignee_id Nullable(String), opened_at DateTime, solved_at Nullable(DateTime),
    version UInt64
) ENGINE = ReplacingMergeTree(version) ORDER BY (tenant_id, ticket_id);
CREATE TABLE {db}.sla_timers (
    tenant_id String, ticket_id String, metric String, instance UInt16, policy_id String,
    priority String, target_seconds UInt32, started_at DateTime,
    business_elapsed_seconds UInt32, calendar_elapsed_seconds UInt32,
    breached UInt8, fulfilled UInt8, version UInt64
) ENGINE = ReplacingMergeTree(version) ORDER BY (tenant_id, ticket_id, metric, instance);
CREATE TABLE {db}.events (
    event_id String, event_type String, tenant_id String, ticket_id String,
    occurred_at DateTime, actor_kind String, actor_id String
) ENGINE = MergeTree PARTITION BY toYYYYMM(occurred_at) ORDER BY (tenant_id, occurred_at, event_id);
