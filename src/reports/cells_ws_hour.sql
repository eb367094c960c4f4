-- usage.sql's rollup cells from usage_rollup.rollup_ws for the hour-of-day report
-- without an agent, project or runtime filter. Every local hour of every day is a
-- group, so tiling gains nothing: one index range scan of a single width, hourly
-- rows when every UTC offset in the range is a whole number of hours (then local
-- and UTC minutes agree), else 15-minute rows (Kolkata, Chatham). The rows are
-- summed here per local hour of day, under the first bucket of that hour in the
-- range, so per_bucket gets a few hundred rows instead of a hundred thousand
-- (measured, sparse profile, Chatham: sorting them to group spilled to disk).
-- every quarter of the range, converted to local time once
ws_quarter AS MATERIALIZED (
    SELECT q, q AT TIME ZONE $4 AS l
    FROM pg_catalog.generate_series($8, $9 - '00:15:00'::interval, '00:15:00'::interval) q
),
ws_width AS MATERIALIZED (
    SELECT CASE WHEN bool_and(extract(minute FROM x.l) = extract(minute FROM x.q AT TIME ZONE 'UTC'))
                THEN 60 ELSE 15 END AS width
    FROM ws_quarter x
),
-- every bucket of the range whose local date is in the report, with its local hour
ws_local AS MATERIALIZED (
    SELECT x.q AS b, extract(hour FROM x.l)::integer AS g
    FROM ws_quarter x
    WHERE x.l::date BETWEEN $2 AND $3
),
ws_first AS MATERIALIZED (
    SELECT l.g, min(l.b) AS b FROM ws_local l GROUP BY l.g
),
-- rows of the chosen width that hold a dirty bucket (read raw, or by quarter)
ws_dirty AS MATERIALIZED (
    SELECT DISTINCT pg_catalog.date_bin(w.width * '00:01:00'::interval, d.bucket_start, '2000-01-01 00:00:00+00'::timestamptz) AS b
    FROM dirty d, ws_width w
),
cells AS (
    SELECT f.b AS bucket_start, NULL::uuid AS agent_id, NULL::uuid AS project_id, NULL::uuid AS runtime_id, y.provider, y.model,
           @sum_usage(y)@
    FROM usage_rollup.rollup_ws y
    JOIN ws_local l ON l.b = y.bucket_start
    JOIN ws_first f ON f.g = l.g
    WHERE y.workspace_id = $1 AND y.width = (SELECT w.width FROM ws_width w)
      AND y.bucket_start >= $8 AND y.bucket_start < $9
      AND NOT EXISTS (SELECT 1 FROM ws_dirty x WHERE x.b = y.bucket_start)
    GROUP BY f.b, y.provider, y.model
    UNION ALL
    -- the clean quarters of an hourly row that holds a dirty one, each its own bucket
    SELECT y.bucket_start, NULL::uuid, NULL::uuid, NULL::uuid, y.provider, y.model,
           y.input_tokens, y.output_tokens, y.cache_read_tokens, y.cache_write_tokens, y.cost_usd_ticks,
           y.uncosted_input_tokens, y.uncosted_output_tokens, y.uncosted_cache_read_tokens,
           y.uncosted_cache_write_tokens, y.task_count
    FROM ws_dirty x
    CROSS JOIN LATERAL (SELECT z.* FROM usage_rollup.rollup_ws z
                        WHERE z.workspace_id = $1 AND z.width = 15
                          AND z.bucket_start >= x.b AND z.bucket_start < x.b + '01:00:00'::interval
                        OFFSET 0) y
    WHERE (SELECT w.width FROM ws_width w) = 60
      AND y.bucket_start >= $8 AND y.bucket_start < $9
      AND NOT EXISTS (SELECT 1 FROM dirty d WHERE d.bucket_start = y.bucket_start)
