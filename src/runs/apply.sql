-- The end of refresh.sql: add the CTE delta (the
-- change of 15-minute cells: kind, bucket_start, workspace_id, agent_id, status,
-- failure_reason, tasks, runs, run_seconds) to every width its rows are kept in. Counts and run time are
-- exact sums, so a block changes by exactly what its 15-minute cells change by: a
-- tick's cost follows the changed buckets, not the size of the blocks (a week of a
-- large workspace holds tens of thousands of tasks). Only the holder of the rollup
-- lock writes this table, so the cells a delta was computed against are the ones it
-- applies to. Rows left at zero tasks are returned (jsonb) for the caller to
-- delete: a statement cannot upsert and delete a row.
written AS (
    INSERT INTO usage_rollup.task_rollup AS r (workspace_id, kind, width, bucket_start, agent_id, status,
                                               failure_reason, tasks, runs, run_seconds)
    SELECT c.workspace_id, c.kind, w.width,
           pg_catalog.date_bin(w.width * '00:01:00'::interval, c.bucket_start, '2000-01-01 00:00:00+00'::timestamptz),
           c.agent_id, c.status, c.failure_reason, sum(c.tasks), sum(c.runs), sum(c.run_seconds)
    FROM delta c
    JOIN (@widths@) w(kind, agent_level, width) ON w.kind = c.kind AND w.agent_level = (c.agent_id IS NOT NULL)
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT ON CONSTRAINT task_rollup_key DO UPDATE
        SET tasks = r.tasks + excluded.tasks, runs = r.runs + excluded.runs,
            run_seconds = r.run_seconds + excluded.run_seconds
    RETURNING r.width, r.bucket_start, r.kind, r.workspace_id, r.agent_id, r.status, r.failure_reason, r.tasks
)
SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(w.width, w.bucket_start, w.kind, w.workspace_id,
                                                                  w.agent_id, w.status, w.failure_reason))
                FILTER (WHERE w.tasks = 0), '[]')::text AS emptied
FROM written w
