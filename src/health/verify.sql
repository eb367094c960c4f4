-- verify(): the rollup rows of the buckets that [$1, $2) touches against the same
-- aggregate recomputed from raw rows. UNION ALL + GROUP BY compares keys with NULLs
-- equal (like the rollup's NULLS NOT DISTINCT key). The range in buckets is from
-- the from field (the bucket of $1, or the frozen horizon if later) to the to_end
-- field (health/mod.rs).
WITH fresh AS (
@aggregate@
),
cur AS (
    SELECT r.* FROM usage_rollup.rollup r
    WHERE r.bucket_start >= @from@ AND r.bucket_start < @to_end@
),
both_sides AS (
    SELECT 'raw' AS side, f.bucket_start, f.workspace_id, f.runtime_id, f.agent_id, f.project_id, f.provider, f.model,
           ROW(f.input_tokens, f.output_tokens, f.cache_read_tokens, f.cache_write_tokens, f.cost_usd_ticks,
               f.uncosted_input_tokens, f.uncosted_output_tokens, f.uncosted_cache_read_tokens,
               f.uncosted_cache_write_tokens, f.task_count, f.event_count)::text AS measures
    FROM fresh f
    UNION ALL
    SELECT 'rollup', c.bucket_start, c.workspace_id, c.runtime_id, c.agent_id, c.project_id, c.provider, c.model,
           ROW(c.input_tokens, c.output_tokens, c.cache_read_tokens, c.cache_write_tokens, c.cost_usd_ticks,
               c.uncosted_input_tokens, c.uncosted_output_tokens, c.uncosted_cache_read_tokens,
               c.uncosted_cache_write_tokens, c.task_count, c.event_count)::text
    FROM cur c
),
-- the per-workspace rollup against the sums of the rollup it is derived from (which
-- the comparison above checks against the raw rows): 15-minute rows of the same
-- buckets, and the hourly, six-hour and daily rows of the blocks they touch
ws_sides AS (
    SELECT 'expected' AS side, 15 AS width, c.bucket_start, c.workspace_id, c.provider, c.model,
           ROW(sum(c.input_tokens), sum(c.output_tokens), sum(c.cache_read_tokens), sum(c.cache_write_tokens),
               sum(c.cost_usd_ticks), sum(c.uncosted_input_tokens), sum(c.uncosted_output_tokens),
               sum(c.uncosted_cache_read_tokens), sum(c.uncosted_cache_write_tokens), sum(c.task_count),
               sum(c.event_count))::text AS measures
    FROM cur c GROUP BY c.bucket_start, c.workspace_id, c.provider, c.model
    UNION ALL
    SELECT 'expected', v.width,
           pg_catalog.date_bin(pg_catalog.make_interval(mins => v.width), r.bucket_start,
                               '2000-01-01 00:00:00+00'::timestamptz),
           r.workspace_id, r.provider, r.model,
           ROW(sum(r.input_tokens), sum(r.output_tokens), sum(r.cache_read_tokens), sum(r.cache_write_tokens),
               sum(r.cost_usd_ticks), sum(r.uncosted_input_tokens), sum(r.uncosted_output_tokens),
               sum(r.uncosted_cache_read_tokens), sum(r.uncosted_cache_write_tokens), sum(r.task_count),
               sum(r.event_count))::text
    FROM (VALUES @ws_blocks@) v (width, lo, hi)
    JOIN usage_rollup.rollup r ON r.bucket_start >= v.lo AND r.bucket_start < v.hi
    GROUP BY 2, 3, r.workspace_id, r.provider, r.model
    UNION ALL
    SELECT 'stored', w.width, w.bucket_start, w.workspace_id, w.provider, w.model,
           ROW(w.input_tokens, w.output_tokens, w.cache_read_tokens, w.cache_write_tokens, w.cost_usd_ticks,
               w.uncosted_input_tokens, w.uncosted_output_tokens, w.uncosted_cache_read_tokens,
               w.uncosted_cache_write_tokens, w.task_count, w.event_count)::text
    FROM usage_rollup.rollup_ws w
    WHERE (w.width = 15 AND w.bucket_start >= @from@ AND w.bucket_start < @to_end@)
       OR EXISTS (SELECT 1 FROM (VALUES @ws_blocks@) v (width, lo, hi)
                  WHERE w.width = v.width AND w.bucket_start >= v.lo AND w.bucket_start < v.hi)
)
SELECT * FROM (
SELECT s.bucket_start, s.workspace_id, s.runtime_id, s.agent_id, s.project_id, s.provider, s.model,
       CASE WHEN count(*) FILTER (WHERE s.side = 'rollup') = 0 THEN 'missing from rollup: raw ' || max(s.measures)
            WHEN count(*) FILTER (WHERE s.side = 'raw') = 0 THEN 'rollup row without raw rows: rollup ' || max(s.measures)
            ELSE 'measures differ: rollup ' || max(s.measures) FILTER (WHERE s.side = 'rollup')
                 || ', raw ' || max(s.measures) FILTER (WHERE s.side = 'raw')
       END AS issue
FROM both_sides s
GROUP BY s.bucket_start, s.workspace_id, s.runtime_id, s.agent_id, s.project_id, s.provider, s.model
HAVING count(*) <> 2 OR count(DISTINCT s.measures) <> 1
UNION ALL
SELECT x.bucket_start, x.workspace_id, NULL::uuid, NULL::uuid, NULL::uuid, x.provider, x.model,
       'per-workspace rollup, ' || CASE x.width WHEN 15 THEN '15 minutes' WHEN 60 THEN 'hourly'
                                             WHEN 360 THEN 'six hours' ELSE 'daily' END || ': ' ||
       CASE WHEN count(*) FILTER (WHERE x.side = 'stored') = 0 THEN 'missing: expected ' || max(x.measures)
            WHEN count(*) FILTER (WHERE x.side = 'expected') = 0 THEN 'row without rollup rows: stored ' || max(x.measures)
            ELSE 'measures differ: stored ' || max(x.measures) FILTER (WHERE x.side = 'stored')
                 || ', expected ' || max(x.measures) FILTER (WHERE x.side = 'expected')
       END
FROM ws_sides x
GROUP BY x.width, x.bucket_start, x.workspace_id, x.provider, x.model
HAVING count(*) <> 2 OR count(DISTINCT x.measures) <> 1
@keyed@) v (bucket_start, workspace_id, runtime_id, agent_id, project_id, provider, model, issue)
ORDER BY v.bucket_start, v.workspace_id, v.runtime_id, v.agent_id, v.project_id, v.provider, v.model, v.issue
