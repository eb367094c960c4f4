-- verify(): the rollup rows of the buckets that [$1, $2) touches against the same
-- aggregate recomputed from raw rows. UNION ALL + GROUP BY compares keys with NULLs
-- equal (like the rollup's NULLS NOT DISTINCT key).
WITH fresh AS (
@aggregate@
),
cur AS (
    SELECT r.* FROM usage_rollup.rollup r
    WHERE r.bucket_start >= usage_rollup.bucket_of($1) AND r.bucket_start < @to_end@
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
)
SELECT s.bucket_start, s.workspace_id, s.runtime_id, s.agent_id, s.project_id, s.provider, s.model,
       CASE WHEN count(*) FILTER (WHERE s.side = 'rollup') = 0 THEN 'missing from rollup: raw ' || max(s.measures)
            WHEN count(*) FILTER (WHERE s.side = 'raw') = 0 THEN 'rollup row without raw rows: rollup ' || max(s.measures)
            ELSE 'measures differ: rollup ' || max(s.measures) FILTER (WHERE s.side = 'rollup')
                 || ', raw ' || max(s.measures) FILTER (WHERE s.side = 'raw')
       END AS issue
FROM both_sides s
GROUP BY s.bucket_start, s.workspace_id, s.runtime_id, s.agent_id, s.project_id, s.provider, s.model
HAVING count(*) <> 2 OR count(DISTINCT s.measures) <> 1
ORDER BY s.bucket_start, s.workspace_id, s.runtime_id, s.agent_id, s.project_id, s.provider, s.model
