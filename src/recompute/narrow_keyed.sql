-- Refresh the rows of one coarser width of usage_rollup.rollup_ws for the keys
-- (bucket of the width below, workspace, provider, model) whose rows of the width
-- below just changed ($1, jsonb): each such key's block is summed again from the
-- rows of the width below in it, and deleted if none are left. Only the changed
-- keys' blocks are read (a correction tick used to sum every key of every day
-- block it touched: measured, a second for 100 scattered corrections, sparse).
-- Returns the rows written and the changed keys of this width, for the next.
WITH k AS MATERIALIZED (
    SELECT DISTINCT @bin@ AS bucket_start, x.workspace_id, x.provider, x.model
    FROM pg_catalog.jsonb_to_recordset($1::jsonb) AS x(bucket_start timestamptz, workspace_id uuid, provider text, model text)
),
fresh AS MATERIALIZED (
    SELECT @width@::smallint AS width, k.bucket_start, k.workspace_id, k.provider, k.model,
           sum(r.input_tokens)::bigint AS input_tokens, sum(r.output_tokens)::bigint AS output_tokens,
           sum(r.cache_read_tokens)::bigint AS cache_read_tokens, sum(r.cache_write_tokens)::bigint AS cache_write_tokens,
           sum(r.cost_usd_ticks)::bigint AS cost_usd_ticks, sum(r.uncosted_input_tokens)::bigint AS uncosted_input_tokens,
           sum(r.uncosted_output_tokens)::bigint AS uncosted_output_tokens,
           sum(r.uncosted_cache_read_tokens)::bigint AS uncosted_cache_read_tokens,
           sum(r.uncosted_cache_write_tokens)::bigint AS uncosted_cache_write_tokens,
           sum(r.task_count)::bigint AS task_count, sum(r.event_count)::bigint AS event_count
    FROM k
    -- the key's rows below in its block, by the workspace's index (a NULL
    -- workspace, which equality cannot find, by the second branch); the block's
    -- last row below, not its end: a block at the end of time ends past it
    CROSS JOIN LATERAL (
        SELECT y.* FROM usage_rollup.rollup_ws y
        WHERE y.workspace_id = k.workspace_id AND y.width = @below@
          AND y.bucket_start >= k.bucket_start AND y.bucket_start <= k.bucket_start + '@last@ minutes'::interval
          AND y.provider IS NOT DISTINCT FROM k.provider AND y.model IS NOT DISTINCT FROM k.model
        UNION ALL
        SELECT y.* FROM usage_rollup.rollup_ws y
        WHERE k.workspace_id IS NULL AND y.workspace_id IS NULL AND y.width = @below@
          AND y.bucket_start >= k.bucket_start AND y.bucket_start <= k.bucket_start + '@last@ minutes'::interval
          AND y.provider IS NOT DISTINCT FROM k.provider AND y.model IS NOT DISTINCT FROM k.model) r
    GROUP BY 2, 3, 4, 5
),
-- keys with no rows below left (rare): their rows of this width go
stale AS (
    SELECT k.* FROM k
    WHERE NOT EXISTS (SELECT 1 FROM fresh f
                      WHERE f.bucket_start = k.bucket_start
                        AND (f.workspace_id, f.provider, f.model) IS NOT DISTINCT FROM (k.workspace_id, k.provider, k.model))
),
removed AS (
    DELETE FROM usage_rollup.rollup_ws w USING stale s
    WHERE w.width = @width@ AND w.bucket_start = s.bucket_start
      AND (w.workspace_id, w.provider, w.model) IS NOT DISTINCT FROM (s.workspace_id, s.provider, s.model)
    RETURNING w.bucket_start, w.workspace_id, w.provider, w.model
),
written AS (
    INSERT INTO usage_rollup.rollup_ws AS w
    SELECT * FROM fresh
    ON CONFLICT ON CONSTRAINT rollup_ws_key DO UPDATE SET @upsert_measures(w)@
    RETURNING w.bucket_start, w.workspace_id, w.provider, w.model
)
SELECT count(*), coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(c)), '[]'::jsonb)::text
FROM (SELECT * FROM removed UNION ALL SELECT * FROM written) c
