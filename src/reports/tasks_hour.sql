-- tasks.sql's run rollup rows for the hour-of-day report: the workspace's 15-minute
-- rows of the range in one index range scan (local hours of 15-minute-offset
-- zones start inside UTC hours, and tiling a range into hours costs a lookup per
-- hour), but for the dirty buckets.
rolled AS (
    SELECT x.bucket_start, NULL::uuid AS agent_id, x.status, x.failure_reason, x.tasks, x.runs, x.run_seconds
    FROM usage_rollup.task_rollup x
    WHERE x.workspace_id = $1 AND x.kind = '@kind@' AND x.width = 15 AND x.agent_id IS NULL
      AND x.bucket_start >= $8 AND x.bucket_start < $9
      AND x.bucket_start NOT IN (SELECT dirty.bucket_start FROM dirty)
),
