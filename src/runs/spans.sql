-- Bring the usage spans (usage_rollup.task_span) of the tasks a tick touched up to
-- date, and the run rollup's kind 'u' cells (tasks by the bucket of their first
-- usage row) with them (apply.sql). $1: the buckets the tick recomputed; $2: those
-- it appended the rows stamped in [$3, $4) to. The tasks touched: those with a row
-- in a recomputed bucket now, those whose stored first or last row is in one (a
-- deleted or moved row queued its bucket; a row between them changes nothing), and
-- those of the appended rows (their other rows are in the span already). A task's
-- span is recomputed from all its rows (by the index on usage.task_id), under its
-- current agent's workspace (rows at an infinite time, which no report counts,
-- left out); a task left without rows (or agent) loses its span.
WITH b AS (
    SELECT DISTINCT x AS b, @bucket_end@ AS e FROM pg_catalog.unnest($1::timestamptz[]) x
),
touched AS MATERIALIZED (
    SELECT u.task_id
    FROM b CROSS JOIN LATERAL (SELECT z.task_id FROM @usage@ z
                               WHERE z.created_at >= b.b AND z.created_at < b.e OFFSET 0) u
    UNION
    SELECT s.task_id
    FROM b CROSS JOIN LATERAL (SELECT y.task_id FROM usage_rollup.task_span y
                               WHERE pg_catalog.tstzrange(y.first_at, y.last_at, '[]')
                                     && pg_catalog.tstzrange(b.b, b.e)
                                 AND (usage_rollup.bucket_of(y.first_at) = b.b OR usage_rollup.bucket_of(y.last_at) = b.b)
                               OFFSET 0) s
    UNION
    SELECT u.task_id FROM @window_rows@ WHERE @bucket@ = ANY ($2::timestamptz[])
),
old AS MATERIALIZED (
    SELECT s.task_id, s.workspace_id, s.first_at, s.last_at
    FROM touched x JOIN usage_rollup.task_span s ON s.task_id = x.task_id
),
new AS MATERIALIZED (
    SELECT u.task_id, a.workspace_id, min(u.created_at) AS first_at, max(u.created_at) AS last_at
    FROM touched x
    CROSS JOIN LATERAL (SELECT z.task_id, z.created_at FROM @usage@ z
                        WHERE z.task_id = x.task_id AND pg_catalog.isfinite(z.created_at) OFFSET 0) u
    CROSS JOIN LATERAL (SELECT * FROM @tasks@ y WHERE y.id = u.task_id OFFSET 0) t
    JOIN @agents@ a ON a.id = t.agent_id
    GROUP BY 1, 2
),
spans_written AS (
    INSERT INTO usage_rollup.task_span AS s (task_id, workspace_id, first_at, last_at)
    SELECT n.task_id, n.workspace_id, n.first_at, n.last_at FROM new n
    ON CONFLICT (task_id) DO UPDATE
        SET workspace_id = excluded.workspace_id, first_at = excluded.first_at, last_at = excluded.last_at
        WHERE (s.workspace_id, s.first_at, s.last_at) IS DISTINCT FROM (excluded.workspace_id, excluded.first_at, excluded.last_at)
),
spans_removed AS (
    DELETE FROM usage_rollup.task_span s USING old o
    WHERE s.task_id = o.task_id AND NOT EXISTS (SELECT 1 FROM new n WHERE n.task_id = o.task_id)
),
delta AS (
    SELECT 'u'::"char" AS kind, usage_rollup.bucket_of(x.first_at) AS bucket_start, x.workspace_id,
           NULL::uuid AS agent_id, NULL::text AS status, NULL::text AS failure_reason,
           sum(x.n)::bigint AS tasks, 0::bigint AS runs, 0::numeric AS run_seconds
    FROM (SELECT n.first_at, n.workspace_id, 1 AS n FROM new n
          UNION ALL
          SELECT o.first_at, o.workspace_id, -1 FROM old o) x
    GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(x.n) <> 0
),
@apply@
