-- Stand-in for projections/migrations (used only while that folder is absent): the tables and
-- columns the analyst dashboard reads, with the projections' names and types.
CREATE TABLE IF NOT EXISTS {db}.tickets (
    ticket_id String, version UInt64, tenant_id String, customer_id String,
    channel String, priority String, status String, group_name String, assignee_id String,
    created_at DateTime('UTC'), updated_at DateTime('UTC'),
    first_reply_at Nullable(DateTime('UTC')), solved_at Nullable(DateTime('UTC'))
) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(created_at) ORDER BY ticket_id;
CREATE TABLE IF NOT EXISTS {db}.sla_timers (
    ticket_id String, metric String, instance UInt32, version UInt64, tenant_id String,
    policy_id String, priority String, channel String, target_seconds UInt32,
    business_hours UInt8, state String, started_at DateTime('UTC'), due_at DateTime('UTC'),
    business_elapsed_seconds UInt32, calendar_elapsed_seconds UInt32, breached UInt8,
    fulfilled UInt8, breached_at Nullable(DateTime('UTC')), fulfilled_at Nullable(DateTime('UTC')),
    updated_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(started_at)
  ORDER BY (ticket_id, metric, instance);
CREATE TABLE IF NOT EXISTS {db}.agent_activity (
    event_id String, agent_id String, activity String, ticket_id String, channel String,
    priority String, detail String, occurred_at DateTime('UTC'), tenant_id String
) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(occurred_at)
  ORDER BY (agent_id, occurred_at, event_id);
