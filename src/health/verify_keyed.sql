UNION ALL
-- the sealed keyed blocks that overlap the range against the sums of the rollup
-- over them (health/mod.rs adds this part when the 0.6.0 SQL is installed)
SELECT x.bucket_start, x.workspace_id,
       CASE x.dim WHEN 'r' THEN x.key END, CASE x.dim WHEN 'a' THEN x.key END, CASE x.dim WHEN 'p' THEN x.key END,
       x.provider, x.model,
       'keyed block, ' || CASE x.width WHEN 1440 THEN 'daily' WHEN 10080 THEN 'weekly' ELSE 'four weeks' END
       || ' per ' || CASE x.dim WHEN 'a' THEN 'agent' WHEN 'p' THEN 'project' ELSE 'runtime' END || ': ' ||
       CASE WHEN count(*) FILTER (WHERE x.side = 'stored') = 0 THEN 'missing: expected ' || max(x.measures)
            WHEN count(*) FILTER (WHERE x.side = 'expected') = 0 THEN 'row without rollup rows: stored ' || max(x.measures)
            ELSE 'measures differ: stored ' || max(x.measures) FILTER (WHERE x.side = 'stored')
                 || ', expected ' || max(x.measures) FILTER (WHERE x.side = 'expected')
       END
FROM (
    SELECT 'expected' AS side, k.width, k.bucket_start, r.workspace_id, d.dim,
           CASE d.dim WHEN 'a' THEN r.agent_id WHEN 'p' THEN r.project_id ELSE r.runtime_id END AS key,
           r.provider, r.model,
           ROW(sum(r.input_tokens), sum(r.output_tokens), sum(r.cache_read_tokens), sum(r.cache_write_tokens),
               sum(r.cost_usd_ticks), sum(r.uncosted_input_tokens), sum(r.uncosted_output_tokens),
               sum(r.uncosted_cache_read_tokens), sum(r.uncosted_cache_write_tokens), sum(r.task_count),
               sum(r.event_count))::text AS measures
    FROM usage_rollup.key_rollup_block k
    JOIN usage_rollup.rollup r
      ON r.bucket_start >= k.bucket_start AND r.bucket_start < k.bucket_start + k.width * '00:01:00'::interval
    CROSS JOIN (VALUES ('a'::"char"), ('p'), ('r')) d (dim)
    WHERE k.bucket_start < @to_end@ AND k.bucket_start + k.width * '00:01:00'::interval > @from@
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    UNION ALL
    SELECT 'stored', s.width, s.bucket_start, s.workspace_id, s.dim, s.key, s.provider, s.model,
           ROW(s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens, s.cost_usd_ticks,
               s.uncosted_input_tokens, s.uncosted_output_tokens, s.uncosted_cache_read_tokens,
               s.uncosted_cache_write_tokens, s.task_count, s.event_count)::text
    FROM usage_rollup.key_rollup_block k
    JOIN usage_rollup.key_rollup s ON s.width = k.width AND s.bucket_start = k.bucket_start
    WHERE k.bucket_start < @to_end@ AND k.bucket_start + k.width * '00:01:00'::interval > @from@
) x
GROUP BY x.width, x.bucket_start, x.workspace_id, x.dim, x.key, x.provider, x.model
HAVING count(*) <> 2 OR count(DISTINCT x.measures) <> 1
