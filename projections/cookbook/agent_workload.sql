-- Agent workload: tickets assigned to each agent, public replies, tickets solved, and the
-- tickets assigned to the agent that are still open (new, open, pending, on hold).
SELECT agent_id, assigned, replies, solved, open_now
FROM
(
    SELECT
        agent_id,
        uniqExactIf(ticket_id, activity = 'assigned') AS assigned,
        uniqExactIf(event_id, activity = 'replied') AS replies,
        uniqExactIf(ticket_id, activity = 'solved') AS solved
    FROM agent_activity FINAL
    WHERE activity != 'presence'
    GROUP BY agent_id
) AS work
ANY LEFT JOIN
(
    SELECT assignee_id AS agent_id, count() AS open_now
    FROM tickets FINAL
    WHERE assignee_id != '' AND status IN ('new', 'open', 'pending', 'on_hold')
    GROUP BY agent_id
) AS backlog USING agent_id
ORDER BY agent_id
