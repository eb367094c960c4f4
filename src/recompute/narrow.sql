-- Refresh usage_rollup.rollup_ws rows of one width from their source, in one
-- statement: the fresh sums of the scoped buckets replace the stored ones, rows
-- whose group has no source rows left are deleted (as in replace.sql).
--   width 15: source usage_rollup.rollup (summed over runtime, agent and project)
--   width 60: source the width-15 rows of the hour
-- @bucket@ is the target bucket of a source row r, @source_scope@ selects the
-- source rows, @scope@ the target rows (alias w) of exactly the same buckets.
WITH fresh AS MATERIALIZED (
    SELECT @width@::smallint AS width, @bucket@ AS bucket_start, r.workspace_id, r.provider, r.model,
           sum(r.input_tokens)::bigint AS input_tokens, sum(r.output_tokens)::bigint AS output_tokens,
           sum(r.cache_read_tokens)::bigint AS cache_read_tokens, sum(r.cache_write_tokens)::bigint AS cache_write_tokens,
           sum(r.cost_usd_ticks)::bigint AS cost_usd_ticks, sum(r.uncosted_input_tokens)::bigint AS uncosted_input_tokens,
           sum(r.uncosted_output_tokens)::bigint AS uncosted_output_tokens,
           sum(r.uncosted_cache_read_tokens)::bigint AS uncosted_cache_read_tokens,
           sum(r.uncosted_cache_write_tokens)::bigint AS uncosted_cache_write_tokens,
           sum(r.task_count)::bigint AS task_count, sum(r.event_count)::bigint AS event_count
    FROM @source@ r
    WHERE @source_scope@
    GROUP BY 2, 3, 4, 5
),
stale AS (
    SELECT w.bucket_start, w.workspace_id, w.provider, w.model FROM usage_rollup.rollup_ws w
    WHERE w.width = @width@ AND @scope@
    EXCEPT
    SELECT f.bucket_start, f.workspace_id, f.provider, f.model FROM fresh f
),
removed AS (
    DELETE FROM usage_rollup.rollup_ws w USING stale s
    WHERE w.width = @width@ AND w.bucket_start = s.bucket_start
      AND (w.workspace_id, w.provider, w.model) IS NOT DISTINCT FROM (s.workspace_id, s.provider, s.model)
    RETURNING 1
),
written AS (
    INSERT INTO usage_rollup.rollup_ws AS w
    SELECT * FROM fresh
    ON CONFLICT ON CONSTRAINT rollup_ws_key DO UPDATE SET @upsert_measures(w)@
    RETURNING 1
)
SELECT (SELECT count(*) FROM removed) + (SELECT count(*) FROM written)
