-- kpis' task_count from the keyed task days and hours (usage_rollup.key_task,
-- key_task_hour), exact and fresh: the distinct tasks with a usage row on a local
-- date in the range, with no agent, project or runtime filter. After tiling.sql
-- (with _key_blocks over the sealed task days and hours only; groups: before, inside
-- and after the range's local days): the sealed days and hours inside the range
-- that hold no dirty bucket are read from their entries, the rest of the range from
-- the raw rows, or before the frozen horizon from the tasks freeze recorded
-- (reports/frozen.rs, rest). The hours' tables are empty relations under the SQL
-- of 0.7.0. Parameters as in usage.sql.
-- the sealed days and hours as two arrays, built once: a task's NOT EXISTS probe
-- below tests its one or two entries against them (a scan of a CTE per task cost
-- 20 ms of the dense benchmark's 1,800 raw tasks). Read as
-- "= ANY ((SELECT days FROM sealed)::timestamptz[])": without the cast the parser
-- takes "= ANY ((subquery))" for a comparison with each row of the subquery.
sealed AS MATERIALIZED (
    SELECT coalesce(array_agg(b.bucket_start) FILTER (WHERE b.width = 1440), '{}') AS days,
           coalesce(array_agg(b.bucket_start) FILTER (WHERE b.width = 60), '{}') AS hours
    FROM ws_block b
    WHERE b.width IN (60, 1440) AND @group_at(b.group_start)@ = 0
),
-- the rest of the range: the runs of 15-minute blocks and the dirty buckets (which
-- the tiling leaves out)
rest AS MATERIALIZED (
    SELECT r.run_start, r.run_end FROM ws_run r WHERE r.width = 15 AND @group_at(r.group_start)@ = 0
    UNION ALL
    SELECT d.bucket_start, d.bucket_start + '00:15:00'::interval FROM dirty d WHERE @group_at(d.bucket_start)@ = 0
),
raw_task AS (
    SELECT u.task_id
    FROM (SELECT DISTINCT x.task_id
          FROM rest r
          CROSS JOIN LATERAL (SELECT x.task_id FROM @usage@ x
                              WHERE x.created_at >= greatest(r.run_start, @frozen@) AND x.created_at < r.run_end
                              OFFSET 0) x) u
    -- one primary-key lookup per task (as in usage.sql): the planner guesses a
    -- workspace's tasks from its agents' average and, for a large workspace of a
    -- few busy agents, hashed all its tasks (600k: 300 ms in the dense benchmark)
    CROSS JOIN LATERAL (SELECT y.agent_id FROM @tasks@ y WHERE y.id = u.task_id OFFSET 0) t
    JOIN @agents@ a ON a.id = t.agent_id
    WHERE a.workspace_id = $1
    @frozen_rest@
),
-- the tasks not counted per block: those of the summed blocks that span blocks, and
-- those of the raw rows; less those single in a summed block (counted there)
other_task AS (
    SELECT k.task_id FROM usage_rollup.key_task k
    WHERE k.workspace_id = $1 AND NOT k.single AND k.bucket_start = ANY ((SELECT days FROM sealed)::timestamptz[])
    UNION
    SELECT k.task_id FROM @key_task_hour@ k
    WHERE k.workspace_id = $1 AND NOT k.single AND k.bucket_start = ANY ((SELECT hours FROM sealed)::timestamptz[])
    UNION
    SELECT task_id FROM raw_task
)
SELECT (SELECT coalesce(sum(c.single_tasks), 0) FROM usage_rollup.key_task_day c
        WHERE c.workspace_id = $1 AND c.bucket_start = ANY ((SELECT days FROM sealed)::timestamptz[]))
     + (SELECT coalesce(sum(c.single_tasks), 0) FROM @key_task_hour_count@ c
        WHERE c.workspace_id = $1 AND c.bucket_start = ANY ((SELECT hours FROM sealed)::timestamptz[]))
     + (SELECT count(*) FROM other_task o
        -- one primary-key lookup per task (OFFSET 0: without statistics on key_task
        -- the planner chose an anti join that read every summed day per task)
        WHERE NOT EXISTS (SELECT 1 FROM (SELECT s.bucket_start FROM usage_rollup.key_task s
                                         WHERE s.task_id = o.task_id AND s.single AND s.workspace_id = $1
                                         OFFSET 0) s
                          WHERE s.bucket_start = ANY ((SELECT days FROM sealed)::timestamptz[]))
          AND NOT EXISTS (SELECT 1 FROM (SELECT s.bucket_start FROM @key_task_hour@ s
                                         WHERE s.task_id = o.task_id AND s.single AND s.workspace_id = $1
                                         OFFSET 0) s
                          WHERE s.bucket_start = ANY ((SELECT hours FROM sealed)::timestamptz[])))
