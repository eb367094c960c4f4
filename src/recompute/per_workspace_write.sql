-- The write of a per-workspace refresh (per_workspace.sql, per_workspace_keyed.sql), after its
-- fresh and stale CTEs: the stale keys' rows go, the fresh sums replace the stored
-- ones where they differ; both return the keys they touched.
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
