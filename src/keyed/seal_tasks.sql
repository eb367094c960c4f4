-- Seal UTC days or hours ($1, their starts; the width field is their length) of
-- usage_rollup.key_task or key_task_hour (the entries field, with the counts in
-- the counts field): the tasks with a usage row in each, per workspace, from the
-- raw rows (the rollup counts tasks, it does not name them), and whether all of the
-- task's rows lie in it. Runs after the old entries were deleted; keyed/tasks.rs
-- lists them as sealed.
-- About 0.4 s per day of the benchmark's sparse 3M rows (33k rows a day, spread
-- over the heap: most of it is reading them).
-- Before the frozen horizon the tasks are those freeze recorded
-- (usage_rollup.key_task_frozen), not the raw rows, which retention may have
-- deleted; a task recorded there outside the block is not single (keyed/tasks.rs,
-- frozen; nothing of it under the SQL of 0.9.0).
WITH day AS (
    SELECT DISTINCT x AS day FROM pg_catalog.unnest($1::timestamptz[]) x
),
present AS MATERIALIZED (
    SELECT DISTINCT d.day, a.workspace_id, u.task_id
    FROM day d
    CROSS JOIN LATERAL (SELECT x.task_id FROM @usage@ x
                        WHERE x.created_at >= greatest(d.day, @horizon@) AND x.created_at < d.day + @width@
                        OFFSET 0) u
    JOIN @tasks@ t ON t.id = u.task_id
    JOIN @agents@ a ON a.id = t.agent_id
    WHERE a.workspace_id IS NOT NULL
    @frozen_present@
),
entries AS (
    INSERT INTO @entries@ (task_id, bucket_start, workspace_id, single)
    -- single: no row of the task outside the block (a lookup by the usage table's
    -- task index per task; the tick plans with hash and merge joins off, and a
    -- join of two CTEs here became a nested loop over both: 8 s for 17k tasks)
    SELECT p.task_id, p.day, p.workspace_id,
           NOT EXISTS (SELECT 1 FROM @usage@ z
                       WHERE z.task_id = p.task_id
                         AND (z.created_at < p.day OR z.created_at >= p.day + @width@
                              OR z.created_at IS NULL))
           @frozen_single@
    FROM present p
    RETURNING workspace_id, bucket_start, single
)
INSERT INTO @counts@ (workspace_id, bucket_start, single_tasks)
SELECT e.workspace_id, e.bucket_start, count(*) FILTER (WHERE e.single)
FROM entries e
GROUP BY 1, 2
