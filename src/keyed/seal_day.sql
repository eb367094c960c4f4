-- Seal UTC days ($1, day starts) of usage_rollup.key_rollup: every workspace's
-- rollup rows of each day summed per agent, per project and per runtime (one
-- pass: a grouping set per key; GROUPING() tells which set a row is of). Runs
-- after the day's old rows were deleted; keyed/mod.rs lists the day as sealed.
INSERT INTO usage_rollup.key_rollup
    (width, bucket_start, workspace_id, dim, key, provider, model, input_tokens, output_tokens,
     cache_read_tokens, cache_write_tokens, cost_usd_ticks, uncosted_input_tokens, uncosted_output_tokens,
     uncosted_cache_read_tokens, uncosted_cache_write_tokens, task_count, event_count)
SELECT 1440, g.day, g.workspace_id,
       CASE g.sets WHEN 3 THEN 'a' WHEN 5 THEN 'p' ELSE 'r' END::"char",
       CASE g.sets WHEN 3 THEN g.agent_id WHEN 5 THEN g.project_id ELSE g.runtime_id END,
       g.provider, g.model, g.input_tokens, g.output_tokens, g.cache_read_tokens, g.cache_write_tokens,
       g.cost_usd_ticks, g.uncosted_input_tokens, g.uncosted_output_tokens, g.uncosted_cache_read_tokens,
       g.uncosted_cache_write_tokens, g.task_count, g.event_count
FROM (
    SELECT d.day, r.workspace_id, r.agent_id, r.project_id, r.runtime_id, r.provider, r.model,
           -- 3 = (agent), 5 = (project), 6 = (runtime): the bits of the keys summed over
           GROUPING(r.agent_id, r.project_id, r.runtime_id) AS sets,
           @sum_measures(r)@
    FROM (SELECT DISTINCT x AS day FROM pg_catalog.unnest($1::timestamptz[]) x) d
    JOIN usage_rollup.rollup r ON r.bucket_start >= d.day AND r.bucket_start < d.day + '24:00:00'::interval
    GROUP BY d.day, r.workspace_id, r.provider, r.model,
             GROUPING SETS ((r.agent_id), (r.project_id), (r.runtime_id))
) g
