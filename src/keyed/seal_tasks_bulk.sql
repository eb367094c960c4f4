-- seal_tasks.sql for many days at once ($1: a backfill's finish, the update, a
-- freeze): the same entries, set-based, frozen history included as there. A day's
-- statement looks each task up by id (the tick's plans use nested loops only); for the 90 days of the benchmark's 3M rows that was
-- 1.5M lookups, about 0.4 s a day, where hash joins over the whole tables take a
-- few seconds in all.
WITH day AS MATERIALIZED (
    SELECT DISTINCT x AS day FROM pg_catalog.unnest($1::timestamptz[]) x
),
present AS MATERIALIZED (
    SELECT DISTINCT @day_of_row@ AS day, a.workspace_id, u.task_id
    FROM @usage@ u
    JOIN @tasks@ t ON t.id = u.task_id
    JOIN @agents@ a ON a.id = t.agent_id
    WHERE a.workspace_id IS NOT NULL
      -- $2, $3: the first and last day (parameters, so that the planner sees how many
      -- rows: with a subquery it guessed few and looked up each row's task by key)
      AND u.created_at >= $2 AND u.created_at < $3 + '24:00:00'::interval
      AND @day_of_row@ IN (SELECT day FROM day)
      AND u.created_at >= @horizon@
    @frozen_present_days@
),
-- the first and last row of each of those tasks, wherever they are (a join, not IN:
-- the planner guessed 200 distinct tasks in the CTE and looked each up; a task of
-- several days joins several times, which changes none of the three results'
-- uses: min, max, and whether any row is undated)
span AS MATERIALIZED (
    SELECT z.task_id, pg_catalog.min(z.created_at) AS first_at, pg_catalog.max(z.created_at) AS last_at,
           pg_catalog.count(*) FILTER (WHERE z.created_at IS NULL) AS undated
    FROM @usage@ z
    JOIN present p ON p.task_id = z.task_id
    GROUP BY z.task_id
),
entries AS (
    INSERT INTO usage_rollup.key_task (task_id, bucket_start, workspace_id, single)
    -- (a task of the frozen history may have no raw row left: no span)
    SELECT p.task_id, p.day, p.workspace_id,
           coalesce(s.undated = 0 AND s.first_at >= p.day AND s.last_at < p.day + '24:00:00'::interval, true)
           @frozen_single@
    FROM present p LEFT JOIN span s ON s.task_id = p.task_id
    RETURNING workspace_id, bucket_start, single
)
INSERT INTO usage_rollup.key_task_day (workspace_id, bucket_start, single_tasks)
SELECT e.workspace_id, e.bucket_start, count(*) FILTER (WHERE e.single)
FROM entries e
GROUP BY 1, 2
