-- Refresh usage_rollup.rollup_ws rows of one width from their source, in one
-- statement: the fresh sums of the scoped buckets replace the stored ones, rows
-- whose group has no source rows left are deleted (as in replace.sql).
--   width 15: source usage_rollup.rollup (summed over runtime, agent and project)
--   width 60: source the width-15 rows of the hour
-- @bucket@ is the target bucket of a source row r, @source_scope@ selects the
-- source rows, @scope@ the target rows (alias w) of exactly the same buckets.
WITH fresh AS MATERIALIZED (
@fresh@
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
    RETURNING w.bucket_start, w.workspace_id, w.provider, w.model
),
written AS (
    INSERT INTO usage_rollup.rollup_ws AS w
    SELECT * FROM fresh
    ON CONFLICT ON CONSTRAINT rollup_ws_key DO UPDATE SET @upsert_measures(w)@
    RETURNING w.bucket_start, w.workspace_id, w.provider, w.model
)
@result@
