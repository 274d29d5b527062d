-- Inbound and outbound message facts. `body` is '' unless the projector runs with
-- TICKETSTREAM_PROJECTIONS_STORE_BODIES=true (message bodies are personal data).
CREATE TABLE IF NOT EXISTS {db}.messages
(
    event_id String,
    event_type String,
    direction Enum8('inbound' = 1, 'outbound' = 2),
    ticket_id String,
    conversation_key String,
    message_id String,
    channel String,
    author_kind String,
    author_id String,
    occurred_at DateTime('UTC'),
    sent_at DateTime('UTC'),
    attachment_count UInt16,
    text_length UInt32,
    body String,
    tenant_id String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (ticket_id, occurred_at, event_id);
