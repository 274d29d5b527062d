-- Reopen rate by channel: tickets reopened at least once per 100 tickets ever solved.
SELECT
    channel,
    uniqExactIf(ticket_id, event_type = 'TicketStatusChanged' AND status = 'solved') AS solved,
    uniqExactIf(ticket_id, event_type = 'TicketReopened') AS reopened,
    round(100 * reopened / solved, 1) AS reopen_pct
FROM events FINAL
WHERE ticket_id != ''
GROUP BY channel
HAVING solved > 0
ORDER BY channel
