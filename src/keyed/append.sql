-- A CTE of recompute/append.sql (keyed::append_sql): add a rollup delta (the rows
-- of the source, shaped like usage_rollup.rollup) to the sealed keyed blocks that
-- hold its buckets - each sealed day, week and four weeks, per agent, project and
-- runtime, in one pass as seal_day.sql sums them. The blocks' measures are sums of
-- rollup rows, task_count included, so a delta adds to them and the block stays
-- sealed (a correction used to take its day, week and four weeks off the list, to
-- be sealed again one per tick). A block that is not sealed is summed from the
-- rollup when it is, and is left alone.
,
keyed AS (
    INSERT INTO usage_rollup.key_rollup AS k
    SELECT b.width, b.bucket_start, r.workspace_id,
           -- 3 = (agent), 5 = (project), 6 = (runtime): the bits of the keys summed over
           CASE GROUPING(r.agent_id, r.project_id, r.runtime_id) WHEN 3 THEN 'a' WHEN 5 THEN 'p' ELSE 'r' END::"char",
           CASE GROUPING(r.agent_id, r.project_id, r.runtime_id)
               WHEN 3 THEN r.agent_id WHEN 5 THEN r.project_id ELSE r.runtime_id END,
           r.provider, r.model,
           @sum_measures(r)@
    FROM @source@ r
    CROSS JOIN LATERAL (VALUES (1440, @day@), (10080, @week@), (40320, @four_weeks@)) x (width, bucket_start)
    JOIN usage_rollup.key_rollup_block b ON b.width = x.width AND b.bucket_start = x.bucket_start
    GROUP BY b.width, b.bucket_start, r.workspace_id, r.provider, r.model,
             GROUPING SETS ((r.agent_id), (r.project_id), (r.runtime_id))
    ON CONFLICT ON CONSTRAINT key_rollup_key DO UPDATE SET @add_measures(k)@
)
