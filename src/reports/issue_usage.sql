-- issue_usage($1 = issue id): all time, no zone. Read raw: an issue's tasks are a
-- handful of index lookups (tasks by issue_id, usage by task_id), and the rollup
-- is not keyed by issue.
SELECT pg_catalog.lower(u.provider) AS provider, u.model,
       sum(u.input_tokens)::bigint AS input_tokens, sum(u.output_tokens)::bigint AS output_tokens,
       sum(u.cache_read_tokens)::bigint AS cache_read_tokens, sum(u.cache_write_tokens)::bigint AS cache_write_tokens,
       coalesce(sum(@cost@), 0)::bigint AS cost_usd_ticks,
       coalesce(sum(u.input_tokens) FILTER (WHERE @cost@ IS NULL), 0)::bigint AS uncosted_input_tokens,
       coalesce(sum(u.output_tokens) FILTER (WHERE @cost@ IS NULL), 0)::bigint AS uncosted_output_tokens,
       coalesce(sum(u.cache_read_tokens) FILTER (WHERE @cost@ IS NULL), 0)::bigint AS uncosted_cache_read_tokens,
       coalesce(sum(u.cache_write_tokens) FILTER (WHERE @cost@ IS NULL), 0)::bigint AS uncosted_cache_write_tokens,
       count(DISTINCT u.task_id) AS task_count
FROM @tasks@ t
JOIN @usage@ u ON u.task_id = t.id
JOIN @agents@ a ON a.id = t.agent_id
WHERE t.issue_id = $1
GROUP BY 1, 2
ORDER BY 1 NULLS LAST, 2 NULLS LAST
