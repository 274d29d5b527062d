-- Breach drill-down: every breached SLA timer with its ticket's current status, assignee and
-- channel, earliest breach first.
SELECT
    ticket_id, metric, instance, policy_id, priority, target_seconds,
    toString(due_at) AS due, toString(assumeNotNull(breached_at)) AS breached_time,
    calendar_elapsed_seconds, fulfilled, status, assignee_id, channel
FROM
(
    SELECT ticket_id, metric, instance, policy_id, priority, target_seconds, due_at,
           breached_at, calendar_elapsed_seconds, fulfilled
    FROM sla_timers FINAL
    WHERE breached = 1
) AS timers
ANY LEFT JOIN
(
    SELECT ticket_id, status, assignee_id, channel FROM tickets FINAL
) AS current USING ticket_id
ORDER BY breached_time, ticket_id, metric, instance
