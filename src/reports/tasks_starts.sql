-- starts_by_hour from the run rollup: the workspace's 15-minute start counts (kind
-- 's') of the range in one index range scan, but for the buckets with queued task
-- changes, which are computed from the tasks table (runs/cells.sql); each bucket
-- converted to local time once and summed by local hour straight away (every local
-- hour of every day is a group, so tiling gains nothing, and a 90-day range is
-- 8,640 buckets: grouping them per bucket first cost more than the sums).
-- Parameters as in usage.sql (the filters are NULL).
WITH
@dirty_tasks@starts AS (
    SELECT x.bucket_start, x.tasks
    FROM usage_rollup.task_rollup x
    WHERE x.workspace_id = $1 AND x.kind = 's' AND x.width = 15 AND x.agent_id IS NULL
      AND x.bucket_start >= $8 AND x.bucket_start < $9
      AND x.bucket_start NOT IN (SELECT dirty.bucket_start FROM dirty)
    UNION ALL
    SELECT c.bucket_start, c.tasks
    FROM (@cells@) c
    WHERE c.kind = 's' AND c.workspace_id = $1
)
SELECT extract(hour FROM l.local_ts)::integer AS g, sum(s.tasks)::bigint AS tasks
FROM starts s
CROSS JOIN LATERAL (SELECT s.bucket_start AT TIME ZONE $4 AS local_ts) l
WHERE l.local_ts::date BETWEEN $2 AND $3
GROUP BY 1
ORDER BY 1
