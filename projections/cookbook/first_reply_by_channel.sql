-- First reply time (calendar seconds from ticket creation to the first human agent reply) by
-- channel: p50 and p90 by nearest rank (quantileExact: the value at position floor(q * n) of
-- the sorted values, so for [1800, 3600] both are 3600). Bot replies do not count.
SELECT
    channel,
    count() AS tickets,
    quantileExact(0.5)(secs) AS p50_seconds,
    quantileExact(0.9)(secs) AS p90_seconds
FROM
(
    SELECT channel, toUInt32(assumeNotNull(first_reply_at)) - toUInt32(created_at) AS secs
    FROM tickets FINAL
    WHERE first_reply_at IS NOT NULL
)
GROUP BY channel
ORDER BY channel
