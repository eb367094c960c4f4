-- A usage report (SPEC §4, §4.1) from the rollup, exact and fresh.
--   $1 workspace  $2 from_date  $3 to_date  $4 zone  $5 project  $6 runtime  $7 agent
--   $8, $9: a UTC range of buckets that contains every local day of [$2, $3]
-- Local days are whole buckets (15-minute UTC buckets, offsets in multiples of 15
-- minutes: checked by _report_window, which sends misaligned zones to the raw
-- report instead), so a bucket's local date and hour are those of all its rows.
WITH
-- Freshness: buckets whose rollup rows may not reflect the raw rows yet, in this
-- statement's snapshot: queued invalidations and rows stamped since the watermark.
-- Their rows are read raw; every other bucket is read from the rollup.
-- The watermark is a literal, read in this statement's snapshot (reports/mod.rs,
-- State): the planner then sees that few rows are that new (against a
-- subquery it guessed a third of the table and sorted the rollup's cells to group
-- them, a quarter of a sparse daily report's time).
@dirty@raw AS MATERIALIZED (
    SELECT @bucket@ AS bucket_start, a.workspace_id, t.runtime_id, t.agent_id, i.project_id,
           pg_catalog.lower(u.provider) AS provider, u.model, u.task_id,
           u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens, @cost@ AS cost
    FROM dirty d
    CROSS JOIN LATERAL (SELECT * FROM @usage@ x
                        WHERE x.created_at >= d.bucket_start AND x.created_at < d.bucket_start + '00:15:00'::interval
                        OFFSET 0) u
    -- one primary-key lookup per raw row: the planner cannot estimate the dirty set
    -- and would otherwise hash the whole tasks table for a handful of rows
    CROSS JOIN LATERAL (SELECT * FROM @tasks@ y WHERE y.id = u.task_id OFFSET 0) t
    JOIN @agents@ a ON a.id = t.agent_id
    LEFT JOIN @issues@ i ON i.id = t.issue_id
    WHERE a.workspace_id = $1 @task_filters@
),
@rollup_cells@
    UNION ALL
    SELECT bucket_start, @raw_key_columns@, provider, model,
           sum(input_tokens)::bigint, sum(output_tokens)::bigint, sum(cache_read_tokens)::bigint,
           sum(cache_write_tokens)::bigint, coalesce(sum(cost), 0)::bigint,
           coalesce(sum(input_tokens) FILTER (WHERE cost IS NULL), 0)::bigint,
           coalesce(sum(output_tokens) FILTER (WHERE cost IS NULL), 0)::bigint,
           coalesce(sum(cache_read_tokens) FILTER (WHERE cost IS NULL), 0)::bigint,
           coalesce(sum(cache_write_tokens) FILTER (WHERE cost IS NULL), 0)::bigint,
           count(DISTINCT task_id)
    FROM raw
    GROUP BY @raw_group_by@
),
-- Exact task counts: a bucket's task_count is exact, and across buckets a task is
-- counted once per bucket holding one of its rows of the group's (provider, model).
-- Only a task with that provider in two letter cases has two such rows; the excess
-- is computed from the raw rows of those few tasks (usage_rollup.variant, plus the
-- tasks of the raw tail, which a tick has not looked at yet), and before the frozen
-- horizon from their buckets as it recorded them (reports/mod.rs, FROZEN_VARIANTS).
candidates AS MATERIALIZED (
    SELECT v.task_id, v.provider, v.model FROM usage_rollup.variant v
    UNION
    SELECT x.task_id, pg_catalog.lower(x.provider), x.model
    FROM (SELECT DISTINCT task_id FROM raw) rt
    CROSS JOIN LATERAL (SELECT * FROM @usage@ z WHERE z.task_id = rt.task_id OFFSET 0) x
    GROUP BY 1, 2, 3 HAVING count(*) > 1
    @frozen_candidates@
),
-- driven by the (few) candidates: their rows by task_id, their tasks by primary key
candidate_rows AS (
    SELECT @bucket@ AS bucket_start, t.agent_id, i.project_id, t.runtime_id, c.provider, c.model, u.task_id
    FROM candidates c
    CROSS JOIN LATERAL (SELECT * FROM @usage@ z
                        WHERE z.task_id = c.task_id AND pg_catalog.lower(z.provider) IS NOT DISTINCT FROM c.provider
                          AND z.model IS NOT DISTINCT FROM c.model
                        OFFSET 0) u
    CROSS JOIN LATERAL (SELECT * FROM @tasks@ y WHERE y.id = u.task_id OFFSET 0) t
    JOIN @agents@ a ON a.id = t.agent_id
    LEFT JOIN @issues@ i ON i.id = t.issue_id
    WHERE a.workspace_id = $1 AND u.created_at >= greatest($8, @frozen@) AND u.created_at < $9 @task_filters@
    @frozen_candidate_rows@
),
excess AS (
    SELECT g, provider, model, sum(buckets - 1) AS extra
    FROM (SELECT @group@ AS g, provider, model, task_id, count(DISTINCT bucket_start) AS buckets
          FROM candidate_rows
          WHERE (bucket_start AT TIME ZONE $4)::date BETWEEN $2 AND $3
          GROUP BY 1, 2, 3, 4) per_task
    GROUP BY 1, 2, 3
),
-- Sum per bucket first, then convert each distinct bucket to local time once: the
-- conversion costs more than the sums, and a 90-day range has at most 8,640 buckets.
-- (The per-workspace path sums per group of blocks, see cells_ws.sql, or per local
-- hour, see cells_ws_hour.sql.)
per_bucket AS MATERIALIZED (
@per_bucket@
),
-- (materialized, and the filter kept out of the DISTINCT: else the conversion ran
-- once per per_bucket row, twice, instead of once per bucket)
local_bucket AS MATERIALIZED (
    SELECT b.bucket_start, b.bucket_start AT TIME ZONE $4 AS local_ts
    FROM (SELECT DISTINCT bucket_start FROM per_bucket OFFSET 0) b
),
grouped AS (
    SELECT @local_group@ AS g, p.provider, p.model, @sum_usage(p)@
    FROM per_bucket p JOIN local_bucket l ON l.bucket_start = p.bucket_start
    WHERE l.local_ts::date BETWEEN $2 AND $3
    GROUP BY 1, 2, 3
)
SELECT g.g, g.provider, g.model, g.input_tokens, g.output_tokens, g.cache_read_tokens, g.cache_write_tokens,
       g.cost_usd_ticks, g.uncosted_input_tokens, g.uncosted_output_tokens, g.uncosted_cache_read_tokens,
       g.uncosted_cache_write_tokens, (g.task_count - coalesce(e.extra, 0))::bigint AS task_count
FROM grouped g
LEFT JOIN excess e ON e.g IS NOT DISTINCT FROM g.g AND e.provider IS NOT DISTINCT FROM g.provider
                  AND e.model IS NOT DISTINCT FROM g.model
ORDER BY 1 NULLS LAST, 2 NULLS LAST, 3 NULLS LAST
