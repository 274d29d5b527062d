-- Current state of every ticket: the projector folds ticket events and writes the whole state
-- after each event; ReplacingMergeTree(version) keeps the highest aggregate version.
-- Read with FINAL. Partitioned by creation month (fixed per ticket, so versions meet).
CREATE TABLE IF NOT EXISTS {db}.tickets
(
    ticket_id String,
    version UInt64,
    tenant_id String,
    customer_id String,
    channel String,
    priority String,
    status String,
    group_name String,
    assignee_id String,
    tags Array(String),
    by_customer UInt8,
    follow_up_of String,
    merged_into String,
    escalation_tier UInt8,
    reopen_count UInt32,
    csat_score UInt8,
    created_at DateTime('UTC'),
    updated_at DateTime('UTC'),
    first_reply_at Nullable(DateTime('UTC')),
    solved_at Nullable(DateTime('UTC'))
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY ticket_id;
