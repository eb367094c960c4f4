-- Run and outcome reports (SPEC §4.1 T) from the run rollup
-- (usage_rollup.task_rollup), exact and fresh: buckets with queued task changes
-- are read from the tasks table, every other one from the run rollup. Reports
-- filtered by agent, project or runtime read the tasks table instead (runs.sql,
-- outcomes.sql, starts.sql). Parameters as in usage.sql (the filters are NULL).
WITH
@dirty_tasks@@rolled@
-- the dirty buckets' cells, computed as a tick would (runs/cells.sql)
raw AS (
    SELECT c.bucket_start, c.agent_id, c.status, c.failure_reason, c.tasks, c.runs, c.run_seconds
    FROM (@cells@) c
    WHERE c.kind = 'c' AND c.workspace_id = $1 AND c.agent_id @level@
),
per_bucket AS MATERIALIZED (
    SELECT x.bucket_start, @key@ AS k, x.status, x.failure_reason,
           sum(x.tasks) AS tasks, sum(x.runs) AS runs, sum(x.run_seconds) AS run_seconds
    FROM (SELECT * FROM rolled UNION ALL SELECT * FROM raw) x
    GROUP BY 1, 2, 3, 4
),
-- local time once per bucket (or group of blocks), as in usage.sql
local_bucket AS MATERIALIZED (
    SELECT b.bucket_start, b.bucket_start AT TIME ZONE $4 AS local_ts
    FROM (SELECT DISTINCT bucket_start FROM per_bucket OFFSET 0) b
)
SELECT @local_group@ AS g, @measures@
FROM per_bucket p JOIN local_bucket l ON l.bucket_start = p.bucket_start
WHERE l.local_ts::date BETWEEN $2 AND $3
@group_by@
