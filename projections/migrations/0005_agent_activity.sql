-- What each agent did: assigned / unassigned / replied / noted / solved / status / presence.
CREATE TABLE IF NOT EXISTS {db}.agent_activity
(
    event_id String,
    agent_id String,
    activity String,
    ticket_id String,
    channel String,
    priority String,
    detail String,
    occurred_at DateTime('UTC'),
    tenant_id String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (agent_id, occurred_at, event_id);
