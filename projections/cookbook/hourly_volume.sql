-- Daily volume per channel from the hourly rollup (materialized view over events): tickets
-- created, solves, SLA breaches. Counts are exact (uniqExact over ids).
SELECT
    toString(toDate(hour)) AS day,
    channel,
    uniqExactIfMerge(created) AS created_tickets,
    uniqExactIfMerge(solved) AS solves,
    uniqExactIfMerge(breaches) AS sla_breaches
FROM rollup_hourly
WHERE channel != ''
GROUP BY day, channel
HAVING created_tickets + solves + sla_breaches > 0
ORDER BY day, channel
