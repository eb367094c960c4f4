-- usage.sql's rollup cells from usage_rollup.rollup_ws, for reports without an
-- agent, project or runtime filter grouped by local day, local hour or nothing.
-- An hour is read as one hourly row when its four quarters fall in one group and
-- none is dirty; otherwise by its 15-minute rows (the dirty ones read raw). In a
-- whole-hour zone that is every hour; in Kolkata, one hour a day for daily reports.
-- @group_at(x)@ is the group of the instant x (local date or local hour).
fine_hour AS MATERIALIZED (
    SELECT h FROM pg_catalog.generate_series($8, $9 - '01:00:00'::interval, '01:00:00'::interval) h
    WHERE @group_at(h)@ <> @group_at(h + '00:15:00'::interval)@
       OR @group_at(h)@ <> @group_at(h + '00:30:00'::interval)@
       OR @group_at(h)@ <> @group_at(h + '00:45:00'::interval)@
    UNION
    SELECT pg_catalog.date_bin('01:00:00'::interval, d.bucket_start, '2000-01-01 00:00:00+00'::timestamptz) FROM dirty d
),
cells AS (
    SELECT r.bucket_start, NULL::uuid AS agent_id, NULL::uuid AS project_id, NULL::uuid AS runtime_id, r.provider, r.model,
           r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.cost_usd_ticks,
           r.uncosted_input_tokens, r.uncosted_output_tokens, r.uncosted_cache_read_tokens,
           r.uncosted_cache_write_tokens, r.task_count
    FROM usage_rollup.rollup_ws r
    WHERE r.workspace_id = $1 AND r.width = 60 AND r.bucket_start >= $8 AND r.bucket_start < $9
      AND NOT EXISTS (SELECT 1 FROM fine_hour f WHERE f.h = r.bucket_start)
    UNION ALL
    SELECT r.bucket_start, NULL::uuid, NULL::uuid, NULL::uuid, r.provider, r.model,
           r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.cost_usd_ticks,
           r.uncosted_input_tokens, r.uncosted_output_tokens, r.uncosted_cache_read_tokens,
           r.uncosted_cache_write_tokens, r.task_count
    FROM fine_hour f
    -- an index range scan per fine hour (the planner cannot estimate fine_hour and
    -- would otherwise scan every 15-minute row of the workspace once per fine hour)
    CROSS JOIN LATERAL (SELECT * FROM usage_rollup.rollup_ws x
                        WHERE x.workspace_id = $1 AND x.width = 15
                          AND x.bucket_start >= f.h AND x.bucket_start < f.h + '01:00:00'::interval
                        OFFSET 0) r
    WHERE NOT EXISTS (SELECT 1 FROM dirty d WHERE d.bucket_start = r.bucket_start)
