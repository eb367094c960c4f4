-- usage_rollup 0.3.0 -> 0.4.0 (ALTER EXTENSION usage_rollup UPDATE).
-- Frozen once released; tests/pg_regress/sql/upgrade.sql updates a 0.1.0 install
-- through every step and checks that the result has exactly the objects,
-- definitions, privileges and comments of a fresh install.
--
-- What changes:
--   * rollup_ws_workspace_time covers every column an unfiltered report reads, so
--     that those reports read a workspace's per-workspace rows by index only
--     (once VACUUM, or autovacuum, has marked the pages all-visible).
--   * Reports and the variant rebuild after a backfill changed in the shared
--     library only (no SQL change).

\echo Use "ALTER EXTENSION usage_rollup UPDATE" to load this file. \quit

DROP INDEX usage_rollup.rollup_ws_workspace_time;
CREATE INDEX rollup_ws_workspace_time ON usage_rollup.rollup_ws (workspace_id, width, bucket_start)
    INCLUDE (provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd_ticks,
             uncosted_input_tokens, uncosted_output_tokens, uncosted_cache_read_tokens, uncosted_cache_write_tokens,
             task_count);
