-- usage.sql's rollup cells from usage_rollup.rollup_ws for the hour-of-day report
-- without an agent, project or runtime filter. Every local hour of every day is a
-- group, so tiling gains nothing over one index range scan of a single width:
-- hourly rows when every quarter of every UTC hour in the range falls in the
-- same local hour (whole-hour offsets), else 15-minute rows (Kolkata, Chatham).
-- Measured on the sparse profile: 8,640 tiles of four quarters for Chatham took
-- three times as long as the range scan of the same rows.
ws_width AS MATERIALIZED (
    SELECT CASE WHEN bool_and(extract(hour FROM q AT TIME ZONE $4)
                              = extract(hour FROM pg_catalog.date_bin('01:00:00'::interval, q, '2000-01-01 00:00:00+00'::timestamptz) AT TIME ZONE $4))
                THEN 60 ELSE 15 END AS width
    FROM pg_catalog.generate_series($8, $9 - '00:15:00'::interval, '00:15:00'::interval) q
),
-- rows of the chosen width that hold a dirty bucket (read raw, or by quarter)
ws_dirty AS MATERIALIZED (
    SELECT DISTINCT pg_catalog.date_bin(w.width * '00:01:00'::interval, d.bucket_start, '2000-01-01 00:00:00+00'::timestamptz) AS b
    FROM dirty d, ws_width w
),
cells AS (
    SELECT r.bucket_start, NULL::uuid AS agent_id, NULL::uuid AS project_id, NULL::uuid AS runtime_id, r.provider, r.model,
           r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.cost_usd_ticks,
           r.uncosted_input_tokens, r.uncosted_output_tokens, r.uncosted_cache_read_tokens,
           r.uncosted_cache_write_tokens, r.task_count
    FROM usage_rollup.rollup_ws r
    WHERE r.workspace_id = $1 AND r.width = (SELECT w.width FROM ws_width w)
      AND r.bucket_start >= $8 AND r.bucket_start < $9
      AND NOT EXISTS (SELECT 1 FROM ws_dirty x WHERE x.b = r.bucket_start)
    UNION ALL
    -- the clean quarters of an hourly row that holds a dirty one
    SELECT r.bucket_start, NULL::uuid, NULL::uuid, NULL::uuid, r.provider, r.model,
           r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.cost_usd_ticks,
           r.uncosted_input_tokens, r.uncosted_output_tokens, r.uncosted_cache_read_tokens,
           r.uncosted_cache_write_tokens, r.task_count
    FROM ws_dirty x
    CROSS JOIN LATERAL (SELECT y.bucket_start, y.provider, y.model, y.input_tokens, y.output_tokens, y.cache_read_tokens, y.cache_write_tokens,
                               y.cost_usd_ticks, y.uncosted_input_tokens, y.uncosted_output_tokens,
                               y.uncosted_cache_read_tokens, y.uncosted_cache_write_tokens, y.task_count
                        FROM usage_rollup.rollup_ws y
                        WHERE y.workspace_id = $1 AND y.width = 15
                          AND y.bucket_start >= x.b AND y.bucket_start < x.b + '01:00:00'::interval
                        OFFSET 0) r
    WHERE (SELECT w.width FROM ws_width w) = 60
      AND r.bucket_start >= $8 AND r.bucket_start < $9
      AND NOT EXISTS (SELECT 1 FROM dirty d WHERE d.bucket_start = r.bucket_start)
