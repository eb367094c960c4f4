-- usage.sql's rollup cells from usage_rollup.rollup_ws, for reports without an
-- agent, project or runtime filter grouped by local day, local hour or nothing.
-- After tiling_runs.sql (tiling.sql with _ws_blocks under older SQL): the range is
-- tiled by the largest per-workspace rows (a UTC day, six hours, an hour, 15 minutes).
-- a block's cells carry its group's start as their bucket: per_bucket then sums a
-- group's blocks, and local time is looked at once per group
cells AS (
    SELECT b.group_start AS bucket_start, NULL::uuid AS agent_id, NULL::uuid AS project_id, NULL::uuid AS runtime_id, r.provider, r.model,
           r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.cost_usd_ticks,
           r.uncosted_input_tokens, r.uncosted_output_tokens, r.uncosted_cache_read_tokens,
           r.uncosted_cache_write_tokens, r.task_count
    FROM ws_run b
    -- an index range scan per run (the planner cannot estimate the runs), by index
    -- only: rollup_ws_workspace_time covers these columns
    CROSS JOIN LATERAL (SELECT x.provider, x.model, x.input_tokens, x.output_tokens, x.cache_read_tokens, x.cache_write_tokens,
                               x.cost_usd_ticks, x.uncosted_input_tokens, x.uncosted_output_tokens,
                               x.uncosted_cache_read_tokens, x.uncosted_cache_write_tokens, x.task_count
                        FROM usage_rollup.rollup_ws x
                        WHERE x.workspace_id = $1 AND x.width = b.width
                          AND x.bucket_start >= b.run_start AND x.bucket_start < b.run_end
                        OFFSET 0) r
