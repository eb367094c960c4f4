-- Seal UTC days ($1, day starts) of usage_rollup.key_task: the tasks with a usage
-- row in each day, per workspace, from the raw rows (the rollup counts tasks, it
-- does not name them), and whether all of the task's rows lie in that day. Runs
-- after the days'
-- old entries were deleted; keyed/tasks.rs lists the days as sealed.
WITH day AS (
    SELECT DISTINCT x AS day FROM pg_catalog.unnest($1::timestamptz[]) x
),
present AS MATERIALIZED (
    SELECT DISTINCT d.day, a.workspace_id, u.task_id
    FROM day d
    CROSS JOIN LATERAL (SELECT x.task_id FROM @usage@ x
                        WHERE x.created_at >= d.day AND x.created_at < d.day + '1 day'::interval
                        OFFSET 0) u
    JOIN @tasks@ t ON t.id = u.task_id
    JOIN @agents@ a ON a.id = t.agent_id
    WHERE a.workspace_id IS NOT NULL
),
-- the first and last row of each of those tasks, wherever they are (one set-based
-- pass: for a backfill's month of days a scan of the usage table costs less than a
-- lookup per task; for one day the planner picks the lookups)
span AS MATERIALIZED (
    SELECT z.task_id, pg_catalog.min(z.created_at) AS first_at, pg_catalog.max(z.created_at) AS last_at,
           pg_catalog.count(*) FILTER (WHERE z.created_at IS NULL) AS undated
    FROM @usage@ z
    WHERE z.task_id IN (SELECT p.task_id FROM present p)
    GROUP BY z.task_id
),
entries AS (
    INSERT INTO usage_rollup.key_task (task_id, bucket_start, workspace_id, single)
    SELECT p.task_id, p.day, p.workspace_id,
           s.undated = 0 AND s.first_at >= p.day AND s.last_at < p.day + '1 day'::interval
    FROM present p JOIN span s ON s.task_id = p.task_id
    RETURNING workspace_id, bucket_start, single
)
INSERT INTO usage_rollup.key_task_day (workspace_id, bucket_start, single_tasks)
SELECT e.workspace_id, e.bucket_start, count(*) FILTER (WHERE e.single)
FROM entries e
GROUP BY 1, 2
