-- usage.sql's rollup cells for reports grouped by agent, project or runtime with no
-- other filter. After tiling.sql (with _key_blocks; groups: before, inside and
-- after the range's local days): the sealed blocks of usage_rollup.key_rollup
-- (four weeks, weeks, days) where the range has them, the rollup's 15-minute rows
-- elsewhere (the ends of the range, days not sealed yet). Only the blocks inside
-- the local days are read; each cell carries the start of that group as its
-- bucket, so local time is looked at once.
cells AS (
    SELECT b.group_start AS bucket_start, @key_columns@, r.provider, r.model,
           r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.cost_usd_ticks,
           r.uncosted_input_tokens, r.uncosted_output_tokens, r.uncosted_cache_read_tokens,
           r.uncosted_cache_write_tokens, r.task_count
    FROM ws_run b
    -- one index range scan per run, of the table its width is kept in
    CROSS JOIN LATERAL (SELECT x.key, x.provider, x.model, x.input_tokens, x.output_tokens, x.cache_read_tokens,
                               x.cache_write_tokens, x.cost_usd_ticks, x.uncosted_input_tokens, x.uncosted_output_tokens,
                               x.uncosted_cache_read_tokens, x.uncosted_cache_write_tokens, x.task_count
                        FROM usage_rollup.key_rollup x
                        WHERE b.width > 15 AND x.workspace_id = $1 AND x.dim = '@dim@' AND x.width = b.width
                          AND x.bucket_start >= b.run_start AND x.bucket_start < b.run_end
                        UNION ALL
                        SELECT x.@key_column@, x.provider, x.model, x.input_tokens, x.output_tokens, x.cache_read_tokens,
                               x.cache_write_tokens, x.cost_usd_ticks, x.uncosted_input_tokens, x.uncosted_output_tokens,
                               x.uncosted_cache_read_tokens, x.uncosted_cache_write_tokens, x.task_count
                        FROM usage_rollup.rollup x
                        WHERE b.width = 15 AND x.workspace_id = $1
                          AND x.bucket_start >= b.run_start AND x.bucket_start < b.run_end
                        OFFSET 0) r
    WHERE @group_at(b.group_start)@ = 0
