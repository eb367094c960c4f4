-- usage.sql's rollup cells from usage_rollup.rollup_ws, for reports without an
-- agent, project or runtime filter grouped by local day, local hour or nothing.
-- After tiling_runs.sql (tiling.sql with _ws_blocks under older SQL): the range is
-- tiled by the largest per-workspace rows (a UTC day, six hours, an hour, 15 minutes).
-- a block's rows carry its group's start as their bucket and are summed per group
-- here, so local time is looked at once per group. (Summed apart from the raw rows
-- that usage.sql adds to the cells: the planner's guess for those, from a dirty
-- queue it cannot see, once ran to 680k rows and had the 13k rollup rows of a
-- sparse 90-day Kolkata report sorted with them, +6 ms, instead of hashed.)
ws_cells AS MATERIALIZED (
    SELECT b.group_start AS bucket_start, r.provider, r.model, @sum_usage(r)@
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
    GROUP BY 1, 2, 3
),
cells AS (
    SELECT c.bucket_start, NULL::uuid AS agent_id, NULL::uuid AS project_id, NULL::uuid AS runtime_id, c.provider, c.model,
           c.input_tokens, c.output_tokens, c.cache_read_tokens, c.cache_write_tokens, c.cost_usd_ticks,
           c.uncosted_input_tokens, c.uncosted_output_tokens, c.uncosted_cache_read_tokens,
           c.uncosted_cache_write_tokens, c.task_count
    FROM ws_cells c
