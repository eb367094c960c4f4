-- kpis' task_count from the usage spans (usage_rollup.task_span) and the run
-- rollup's kind 'u' cells: the distinct tasks with a usage row in the local days
-- [$2, $3], which start at the instant A and end before B (a zone whose local days
-- are whole buckets). With the usage buckets that changed since the last tick
-- ("dirty"), the tasks fall in three sets, each counted once:
--   x: tasks with a row in a dirty bucket now, or whose stored first or last row
--      is in one (a deleted or moved row queued its bucket): probed on their
--      current rows;
--   the others whose first row is in [A, B): the 'u' cells of the range's clean
--      buckets, less the x tasks among them;
--   the others whose first row is before A and that have a row in [A, B): their
--      span contains A (few; by the span index), probed.
-- For a task outside x, nothing changed since its span was stored: its first and
-- last row exist and it is under the stored workspace (a re-attribution queues
-- every bucket of the task). Parameters as in usage.sql (the filters are NULL).
WITH
@dirty@
@tiling@
bounds AS MATERIALIZED (
    SELECT min(e.e) FILTER (WHERE (e.e AT TIME ZONE $4)::date BETWEEN $2 AND $3) AS a,
           min(e.e) FILTER (WHERE (e.e AT TIME ZONE $4)::date > $3) AS b
    FROM ws_edge e
),
x AS MATERIALIZED (
    SELECT u.task_id
    FROM dirty d CROSS JOIN LATERAL (SELECT z.task_id FROM @usage@ z
                                     WHERE z.created_at >= d.bucket_start
                                       AND z.created_at < d.bucket_start + '00:15:00'::interval OFFSET 0) u
    UNION
    SELECT s.task_id
    FROM dirty d CROSS JOIN LATERAL (SELECT y.task_id FROM usage_rollup.task_span y
                                     WHERE pg_catalog.tstzrange(y.first_at, y.last_at, '[]')
                                           && pg_catalog.tstzrange(d.bucket_start, d.bucket_start + '00:15:00'::interval)
                                       AND (usage_rollup.bucket_of(y.first_at) = d.bucket_start
                                            OR usage_rollup.bucket_of(y.last_at) = d.bucket_start)
                                     OFFSET 0) s
),
-- the 'u' cells of the range's clean blocks (the blocks of the group that starts at A)
first_in_range AS (
    SELECT coalesce(sum(r.tasks), 0) AS n
    FROM bounds, ws_run b
    CROSS JOIN LATERAL (SELECT c.tasks FROM usage_rollup.task_rollup c
                        WHERE c.workspace_id = $1 AND c.kind = 'u' AND c.width = b.width AND c.agent_id IS NULL
                          AND c.bucket_start >= b.run_start AND c.bucket_start < b.run_end
                        OFFSET 0) r
    WHERE b.group_start = bounds.a
),
x_in_cells AS (
    SELECT count(*) AS n
    FROM bounds, x JOIN usage_rollup.task_span s ON s.task_id = x.task_id
    WHERE s.workspace_id = $1 AND s.first_at >= bounds.a AND s.first_at < bounds.b
      AND usage_rollup.bucket_of(s.first_at) NOT IN (SELECT dirty.bucket_start FROM dirty)
),
straddling AS (
    SELECT count(*) AS n
    FROM bounds
    CROSS JOIN LATERAL (SELECT y.task_id FROM usage_rollup.task_span y
                        WHERE pg_catalog.tstzrange(y.first_at, y.last_at, '[]') @> bounds.a
                          AND y.first_at < bounds.a AND y.workspace_id = $1
                        OFFSET 0) s
    WHERE s.task_id NOT IN (SELECT x.task_id FROM x)
      AND EXISTS (SELECT 1 FROM @usage@ z WHERE z.task_id = s.task_id AND z.created_at >= bounds.a AND z.created_at < bounds.b)
),
x_counted AS (
    SELECT count(*) AS n
    FROM bounds, x
    WHERE EXISTS (SELECT 1 FROM @usage@ z
                  JOIN @tasks@ t ON t.id = z.task_id
                  JOIN @agents@ a ON a.id = t.agent_id
                  WHERE z.task_id = x.task_id AND a.workspace_id = $1
                    AND z.created_at >= bounds.a AND z.created_at < bounds.b)
)
SELECT ((SELECT n FROM first_in_range) - (SELECT n FROM x_in_cells)
        + (SELECT n FROM straddling) + (SELECT n FROM x_counted))::bigint
