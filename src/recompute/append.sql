-- Add to the rollup, and to the stores summed from it (the per-workspace rollup,
-- the sealed keyed blocks: the per_workspace and keyed fields), what changed in the
-- buckets no recompute reads this tick: the usage rows stamped in the tick's window
-- [$2, $3) in buckets $1, minus the old versions of corrected rows (the claim
-- field takes them from usage_rollup.dirty_delta, all but those of the buckets
-- recomputed this tick, $4). SPEC §6: a tick costs what was added or corrected,
-- not what its buckets and days already hold.
--
-- Why this is exact. Outside the bucket queue, a bucket's rollup rows sum exactly
-- its rows stamped before the watermark $2, where a row replaced by a queued
-- correction counts as its old version (recomputes read only rows stamped before
-- their cut, and drop the corrections queued for their buckets in their own
-- snapshot: replace.sql; any other change - a delete, a re-attribution, a row
-- stamped in the past, a row moved to another bucket - queues the bucket, which
-- is then recomputed instead). So, in this one snapshot: the rows stamped in the
-- window are not in the rollup; the old versions stamped before $2 of the
-- corrections claimed here are, and go; an old version stamped at or after $2 was
-- never added (it was replaced before a tick saw it) and is only claimed. A
-- correction committed after this snapshot is claimed by the next tick, whose
-- watermark is $3: its old version is then in the rollup exactly if it was
-- stamped before $3, since this statement saw that version. Corrections before
-- the frozen horizon $5 (NULL: none) are claimed and left out (counted).
--
-- Measures add up; a task counts once per cell, so a task's count in a cell only
-- changes when the task gains rows there and had none left (+1) or loses its last
-- (-1): a corrected row, subtracted and added again, changes no count and reads no
-- other row.
WITH claimed AS MATERIALIZED (
@claim@
),
signed AS MATERIALIZED (
    SELECT @bucket@ AS bucket_start, a.workspace_id, t.runtime_id, t.agent_id, i.project_id,
           pg_catalog.lower(u.provider) AS provider, u.model, u.task_id, u.input_tokens, u.output_tokens,
           u.cache_read_tokens, u.cache_write_tokens, @cost@ AS cost_usd_ticks, 1 AS sign
    FROM @window_rows@
    -- a primary-key lookup per row (the planner cannot estimate the window and
    -- would otherwise hash the whole tasks table for a few hundred rows)
    CROSS JOIN LATERAL (SELECT * FROM @tasks@ y WHERE y.id = u.task_id OFFSET 0) t
    JOIN @agents@ a ON a.id = t.agent_id
    LEFT JOIN @issues@ i ON i.id = t.issue_id
    WHERE @bucket@ = ANY ($1::timestamptz[])
    UNION ALL
    -- the old versions the rollup holds, under the task's keys now (had the task
    -- moved since, its buckets are queued and recomputed: this is then undone)
    SELECT d.bucket_start, a.workspace_id, t.runtime_id, t.agent_id, i.project_id,
           pg_catalog.lower(d.provider), d.model, d.task_id, d.input_tokens, d.output_tokens,
           d.cache_read_tokens, d.cache_write_tokens, d.cost_usd_ticks, -1
    FROM claimed d
    CROSS JOIN LATERAL (SELECT * FROM @tasks@ y WHERE y.id = d.task_id OFFSET 0) t
    JOIN @agents@ a ON a.id = t.agent_id
    LEFT JOIN @issues@ i ON i.id = t.issue_id
    WHERE d.stamped_at < $2 AND d.bucket_start >= coalesce($5, '-infinity')
),
-- per cell and task: its measures' change, and whether it gained or lost rows
per_task AS MATERIALIZED (
    SELECT s.bucket_start, s.workspace_id, s.runtime_id, s.agent_id, s.project_id, s.provider, s.model, s.task_id,
           @signed_amounts(s)@,
           sum(s.sign) AS event_count, bool_or(s.sign > 0) AS added, bool_or(s.sign < 0) AS removed
    FROM signed s
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
),
delta AS MATERIALIZED (
    SELECT p.bucket_start, p.workspace_id, p.runtime_id, p.agent_id, p.project_id, p.provider, p.model,
           @sum_amounts(p)@,
           sum(CASE WHEN p.added = p.removed THEN 0
                    -- a cell the rollup does not hold has no earlier row (every row
                    -- stamped before $2 of an unqueued bucket is summed there), and
                    -- it is looked up on the leaf page this statement's INSERT writes
                    -- anyway; only a cell it holds has the task's rows probed, which
                    -- reads pages of the task's older rows (the sparse benchmark's
                    -- new rows are mostly new cells of old tasks: ~20 ms of cold
                    -- reads per 300 rows)
                    WHEN p.added AND p.workspace_id IS NOT NULL
                         AND NOT EXISTS (SELECT 1 FROM usage_rollup.rollup c
                                         WHERE c.workspace_id = p.workspace_id AND c.agent_id = p.agent_id
                                           AND c.bucket_start = p.bucket_start
                                           AND c.runtime_id IS NOT DISTINCT FROM p.runtime_id
                                           AND c.project_id IS NOT DISTINCT FROM p.project_id
                                           AND c.provider IS NOT DISTINCT FROM p.provider
                                           AND c.model IS NOT DISTINCT FROM p.model)
                    THEN 1
                    -- the task keeps rows in the cell that the rollup holds
                    WHEN EXISTS (SELECT 1 FROM @usage@ v
                                 WHERE v.task_id = p.task_id
                                   AND v.created_at >= p.bucket_start
                                   AND v.created_at < p.bucket_start + '00:15:00'::interval
                                   AND pg_catalog.lower(v.provider) IS NOT DISTINCT FROM p.provider
                                   AND v.model IS NOT DISTINCT FROM p.model
                                   AND coalesce(v.updated_at, v.created_at) < $2)
                    THEN 0
                    WHEN p.added THEN 1 ELSE -1 END)::bigint AS task_count,
           sum(p.event_count)::bigint AS event_count
    FROM per_task p
    GROUP BY 1, 2, 3, 4, 5, 6, 7
),
written AS (
    INSERT INTO usage_rollup.rollup AS r
    SELECT * FROM delta
    ON CONFLICT ON CONSTRAINT rollup_key DO UPDATE SET @add_measures(r)@
    RETURNING 1
)@per_workspace@@keyed@
SELECT (SELECT count(*) FROM written) AS rows_written,
       (SELECT count(*) FROM signed s WHERE s.sign > 0) AS raw_rows,
       -- the buckets where a task gained or lost rows in a cell (their task days
       -- are no longer sealed)
       (SELECT pg_catalog.array_agg(DISTINCT p.bucket_start) FROM per_task p WHERE p.added <> p.removed) AS moved,
       -- the buckets where a cell lost rows (rows left with no raw row go next)
       (SELECT pg_catalog.array_agg(DISTINCT d.bucket_start) FROM delta d WHERE d.event_count < 0) AS shrunk,
       (SELECT count(DISTINCT c.bucket_start) FROM claimed c WHERE c.bucket_start < $5) AS frozen
