-- Seal blocks ($1, block starts) of one width of usage_rollup.key_rollup from its
-- sealed blocks of the width below (each block is whole blocks below it, all
-- sealed: keyed/mod.rs picks only those). Runs after the blocks' old rows were
-- deleted.
INSERT INTO usage_rollup.key_rollup
    (width, bucket_start, workspace_id, dim, key, provider, model, input_tokens, output_tokens,
     cache_read_tokens, cache_write_tokens, cost_usd_ticks, uncosted_input_tokens, uncosted_output_tokens,
     uncosted_cache_read_tokens, uncosted_cache_write_tokens, task_count, event_count)
SELECT @width@, b.block, k.workspace_id, k.dim, k.key, k.provider, k.model,
       @sum_measures(k)@
FROM (SELECT DISTINCT x AS block FROM pg_catalog.unnest($1::timestamptz[]) x) b
JOIN usage_rollup.key_rollup k
  ON k.width = @below@ AND k.bucket_start >= b.block AND k.bucket_start < b.block + '@width@ minutes'::interval
GROUP BY b.block, k.workspace_id, k.dim, k.key, k.provider, k.model
