-- The same report as usage.sql straight from the raw rows: the §4.1 ground truth.
-- Used when the zone's local days are not whole 15-minute buckets in the range
-- (historical offsets such as local mean time); parameters as in usage.sql.
SELECT @rowgroup@ AS g, pg_catalog.lower(u.provider) AS provider, u.model,
       sum(u.input_tokens)::bigint AS input_tokens, sum(u.output_tokens)::bigint AS output_tokens,
       sum(u.cache_read_tokens)::bigint AS cache_read_tokens, sum(u.cache_write_tokens)::bigint AS cache_write_tokens,
       coalesce(sum(@cost@), 0)::bigint AS cost_usd_ticks,
       coalesce(sum(u.input_tokens) FILTER (WHERE @cost@ IS NULL), 0)::bigint AS uncosted_input_tokens,
       coalesce(sum(u.output_tokens) FILTER (WHERE @cost@ IS NULL), 0)::bigint AS uncosted_output_tokens,
       coalesce(sum(u.cache_read_tokens) FILTER (WHERE @cost@ IS NULL), 0)::bigint AS uncosted_cache_read_tokens,
       coalesce(sum(u.cache_write_tokens) FILTER (WHERE @cost@ IS NULL), 0)::bigint AS uncosted_cache_write_tokens,
       count(DISTINCT u.task_id) AS task_count
FROM @usage@ u
JOIN @tasks@ t ON t.id = u.task_id
JOIN @agents@ a ON a.id = t.agent_id
LEFT JOIN @issues@ i ON i.id = t.issue_id
WHERE a.workspace_id = $1 AND u.created_at >= $8 AND u.created_at < $9
  AND (u.created_at AT TIME ZONE $4)::date BETWEEN $2 AND $3
  AND ($5::uuid IS NULL OR i.project_id = $5) AND ($6::uuid IS NULL OR t.runtime_id = $6)
  AND ($7::uuid IS NULL OR t.agent_id = $7)
GROUP BY 1, 2, 3
ORDER BY 1 NULLS LAST, 2 NULLS LAST, 3 NULLS LAST
