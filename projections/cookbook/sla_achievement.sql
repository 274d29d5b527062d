-- SLA achievement by policy, metric and week (week = Monday of the timer's start, UTC).
-- Completed timers only: fulfilled, or breached (a breached timer that still runs counts as
-- missed). achievement_pct = share of completed timers that met their target.
SELECT
    toString(toMonday(started_at)) AS week,
    policy_id,
    metric,
    count() AS timers,
    countIf(breached = 0) AS achieved,
    countIf(breached = 1) AS breached_timers,
    round(100 * countIf(breached = 0) / count(), 1) AS achievement_pct
FROM sla_timers FINAL
WHERE fulfilled = 1 OR breached = 1
GROUP BY week, policy_id, metric
ORDER BY week, policy_id, metric
