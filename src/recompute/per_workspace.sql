-- Refresh usage_rollup.rollup_ws rows of one width from their source, in one
-- statement: the fresh sums of the scoped buckets replace the stored ones, rows
-- whose group has no source rows left are deleted (as in replace.sql; the write
-- is per_workspace_write.sql).
--   width 15: source usage_rollup.rollup (summed over runtime, agent and project)
--   width 60: source the width-15 rows of the hour
-- The fresh rows are per_workspace_fresh.sql (its target bucket of a source row r,
-- its source scope selecting the source rows); the scope field selects the target
-- rows (alias w) of exactly the same buckets.
WITH fresh AS MATERIALIZED (
@fresh@
),
stale AS (
    SELECT w.bucket_start, w.workspace_id, w.provider, w.model FROM usage_rollup.rollup_ws w
    WHERE w.width = @width@ AND @scope@
    EXCEPT
    SELECT f.bucket_start, f.workspace_id, f.provider, f.model FROM fresh f
),
@write@
@result@
