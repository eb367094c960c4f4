-- Recompute the run rollup's 15-minute cells (kinds 'c' and 's') of the buckets $1
-- (timestamptz[]) from the tasks table and carry the change to every wider block,
-- in one statement (apply.sql).
WITH d AS (
    SELECT DISTINCT b FROM pg_catalog.unnest($1::timestamptz[]) b
),
fresh AS (
@cells@
),
delta AS (
    SELECT x.kind, x.bucket_start, x.workspace_id, x.agent_id, x.status, x.failure_reason,
           sum(x.tasks) AS tasks, sum(x.runs) AS runs, sum(x.run_seconds) AS run_seconds
    FROM (SELECT * FROM fresh
          UNION ALL
          SELECT r.kind, r.bucket_start, r.workspace_id, r.agent_id, r.status, r.failure_reason,
                 -r.tasks, -r.runs, -r.run_seconds
          FROM d JOIN usage_rollup.task_rollup r ON r.width = 15 AND r.bucket_start = d.b AND r.kind IN ('c', 's')) x
    GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(x.tasks) <> 0 OR sum(x.runs) <> 0 OR sum(x.run_seconds) <> 0
),
@apply@
