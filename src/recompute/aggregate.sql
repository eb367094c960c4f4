-- The §4.1 usage aggregate at rollup grain: one row per (15-minute UTC bucket,
-- workspace, runtime, agent, project, lower(provider), model). The workspace comes
-- from the task's agent, never from its issue (seeds W9); a missing runtime or
-- project is a NULL group of its own (seeds W5). @rows@ selects the usage rows.
SELECT @bucket@                                    AS bucket_start,
       a.workspace_id,
       t.runtime_id,
       t.agent_id,
       i.project_id,
       pg_catalog.lower(u.provider)                AS provider,
       u.model,
       sum(u.input_tokens)::bigint                 AS input_tokens,
       sum(u.output_tokens)::bigint                AS output_tokens,
       sum(u.cache_read_tokens)::bigint            AS cache_read_tokens,
       sum(u.cache_write_tokens)::bigint           AS cache_write_tokens,
       coalesce(sum(@cost@), 0)::bigint            AS cost_usd_ticks,
       coalesce(sum(u.input_tokens) FILTER (WHERE @cost@ IS NULL), 0)::bigint       AS uncosted_input_tokens,
       coalesce(sum(u.output_tokens) FILTER (WHERE @cost@ IS NULL), 0)::bigint      AS uncosted_output_tokens,
       coalesce(sum(u.cache_read_tokens) FILTER (WHERE @cost@ IS NULL), 0)::bigint  AS uncosted_cache_read_tokens,
       coalesce(sum(u.cache_write_tokens) FILTER (WHERE @cost@ IS NULL), 0)::bigint AS uncosted_cache_write_tokens,
       count(DISTINCT u.task_id)                   AS task_count,
       count(*)                                    AS event_count
FROM @rows@
JOIN @tasks@ t ON t.id = u.task_id
JOIN @agents@ a ON a.id = t.agent_id
LEFT JOIN @issues@ i ON i.id = t.issue_id
GROUP BY 1, 2, 3, 4, 5, 6, 7
