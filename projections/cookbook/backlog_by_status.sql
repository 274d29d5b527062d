-- Backlog by status at the end of each day (UTC), from the first to the last day with ticket
-- events: for every ticket, its status after its last event on or before that day.
SELECT toString(day) AS day, status, count() AS tickets
FROM
(
    SELECT day, ticket_id, argMax(status, aggregate_version) AS status
    FROM
    (
        SELECT
            ticket_id,
            status,
            aggregate_version,
            toDate(occurred_at) AS event_day,
            (
                SELECT arrayMap(i -> min_day + i, range(toUInt32(max_day - min_day) + 1))
                FROM
                (
                    SELECT min(toDate(occurred_at)) AS min_day, max(toDate(occurred_at)) AS max_day
                    FROM events
                    WHERE ticket_id != '' AND aggregate_id = ticket_id
                )
            ) AS days
        FROM events FINAL
        WHERE ticket_id != '' AND aggregate_id = ticket_id AND status != ''
    )
    ARRAY JOIN days AS day
    WHERE day >= event_day
    GROUP BY day, ticket_id
)
GROUP BY day, status
ORDER BY day, status
