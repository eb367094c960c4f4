-- Append the usage rows stamped in the tick's window [$2, $3) in buckets $1 to the
-- rollup, and to the per-workspace rollup (when installed): the tick's path for
-- buckets in which nothing happened but new rows (SPEC §6: a tick costs what was
-- added, not what its buckets already hold).
--
-- Why adding is exact: outside the queue, a bucket's rollup rows sum exactly its
-- rows stamped before the watermark $2 (recomputes read only those: see
-- recompute::replace), and any change to such a row - correction, delete,
-- re-attribution, a row stamped in the past - queues its bucket, which the tick
-- then recomputes instead. So the rows stamped in the window are new to the rollup.
-- A task is counted once per cell: a new row adds its task only if the cell holds
-- no earlier row of it.
WITH new AS MATERIALIZED (
    SELECT @bucket@ AS bucket_start, a.workspace_id, t.runtime_id, t.agent_id, i.project_id,
           pg_catalog.lower(u.provider) AS provider, u.model, u.task_id, u.input_tokens, u.output_tokens,
           u.cache_read_tokens, u.cache_write_tokens, @cost@ AS cost_usd_ticks
    FROM @window_rows@
    -- a primary-key lookup per new row (the planner cannot estimate the window and
    -- would otherwise hash the whole tasks table for a few hundred rows)
    CROSS JOIN LATERAL (SELECT * FROM @tasks@ y WHERE y.id = u.task_id OFFSET 0) t
    JOIN @agents@ a ON a.id = t.agent_id
    LEFT JOIN @issues@ i ON i.id = t.issue_id
    WHERE @bucket@ = ANY ($1::timestamptz[])
),
delta AS MATERIALIZED (
    SELECT u.bucket_start, u.workspace_id, u.runtime_id, u.agent_id, u.project_id, u.provider, u.model,
           @usage_measures@,
           count(*) AS event_count
    FROM (SELECT n.bucket_start, n.workspace_id, n.runtime_id, n.agent_id, n.project_id, n.provider, n.model,
                 n.input_tokens, n.output_tokens, n.cache_read_tokens, n.cache_write_tokens, n.cost_usd_ticks,
                 -- NULL (not counted) when the cell already counts the task. A
                 -- cell the rollup does not hold has no earlier row (every row
                 -- stamped before $2 of an unqueued bucket is summed there), and it
                 -- is looked up on the leaf page this statement's INSERT writes
                 -- anyway; only a cell it holds has the task's rows probed, which
                 -- reads pages of the task's older rows (the sparse benchmark's
                 -- new rows are mostly new cells of old tasks: ~20 ms of cold
                 -- reads per 300 rows)
                 CASE WHEN n.workspace_id IS NOT NULL
                           AND NOT EXISTS (SELECT 1 FROM usage_rollup.rollup c
                                           WHERE c.workspace_id = n.workspace_id AND c.agent_id = n.agent_id
                                             AND c.bucket_start = n.bucket_start
                                             AND c.runtime_id IS NOT DISTINCT FROM n.runtime_id
                                             AND c.project_id IS NOT DISTINCT FROM n.project_id
                                             AND c.provider IS NOT DISTINCT FROM n.provider
                                             AND c.model IS NOT DISTINCT FROM n.model)
                      THEN n.task_id
                      WHEN EXISTS (SELECT 1 FROM @usage@ v
                                   WHERE v.task_id = n.task_id
                                     AND v.created_at >= n.bucket_start
                                     AND v.created_at < n.bucket_start + '00:15:00'::interval
                                     AND pg_catalog.lower(v.provider) IS NOT DISTINCT FROM n.provider
                                     AND v.model IS NOT DISTINCT FROM n.model
                                     AND coalesce(v.updated_at, v.created_at) < $2)
                      THEN NULL ELSE n.task_id END AS task_id
          FROM new n) u
    GROUP BY 1, 2, 3, 4, 5, 6, 7
),
written AS (
    INSERT INTO usage_rollup.rollup AS r
    SELECT * FROM delta
    ON CONFLICT ON CONSTRAINT rollup_key DO UPDATE SET @add_measures(r)@
    RETURNING 1
)@per_workspace@
SELECT (SELECT count(*) FROM written) AS rows_written,
       (SELECT coalesce(sum(d.event_count), 0)::bigint FROM delta d) AS raw_rows
