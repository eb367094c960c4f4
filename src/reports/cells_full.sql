-- usage.sql's rollup cells from usage_rollup.rollup: every key, any filter.
cells AS (
    SELECT r.bucket_start, r.agent_id, r.project_id, r.runtime_id, r.provider, r.model,
           r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.cost_usd_ticks,
           r.uncosted_input_tokens, r.uncosted_output_tokens, r.uncosted_cache_read_tokens,
           r.uncosted_cache_write_tokens, r.task_count
    FROM usage_rollup.rollup r
    WHERE r.workspace_id = $1 AND r.bucket_start >= $8 AND r.bucket_start < $9
      AND ($5::uuid IS NULL OR r.project_id = $5) AND ($6::uuid IS NULL OR r.runtime_id = $6)
      AND ($7::uuid IS NULL OR r.agent_id = $7)
      AND NOT EXISTS (SELECT 1 FROM dirty d WHERE d.bucket_start = r.bucket_start)
