-- Timing helpers for bench/run.sh: median wall time of a statement over n runs.
CREATE OR REPLACE FUNCTION bench.median_ms(p_sql text, p_runs int DEFAULT 5) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    times numeric[] := '{}';
BEGIN
    EXECUTE p_sql;   -- warm-up (cache, plans)
    FOR i IN 1 .. p_runs LOOP
        t0 := clock_timestamp();
        EXECUTE p_sql;
        times := times || (extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric;
    END LOOP;
    RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(times) x)::numeric(12, 2);
END $$;

-- The baseline of a report is the extension's own raw-rows rendering of the same
-- report (usage_rollup._usage_report_sql(grouping, true)), i.e. its §4.1 query.

-- The floor of a rebuild: the rollup's aggregate over the raw join, writing nothing.
CREATE OR REPLACE FUNCTION bench.floor_rows() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM (
        SELECT usage_rollup.bucket_of(u.created_at), a.workspace_id, t.runtime_id, t.agent_id, i.project_id,
               lower(u.provider), u.model, sum(u.input_tokens), sum(u.output_tokens), sum(u.cache_read_tokens),
               sum(u.cache_write_tokens), coalesce(sum(u.cost_usd_ticks), 0),
               coalesce(sum(u.input_tokens) FILTER (WHERE u.cost_usd_ticks IS NULL), 0),
               coalesce(sum(u.output_tokens) FILTER (WHERE u.cost_usd_ticks IS NULL), 0),
               coalesce(sum(u.cache_read_tokens) FILTER (WHERE u.cost_usd_ticks IS NULL), 0),
               coalesce(sum(u.cache_write_tokens) FILTER (WHERE u.cost_usd_ticks IS NULL), 0),
               count(DISTINCT u.task_id), count(*)
        FROM app.task_usage u JOIN app.agent_task_queue t ON t.id = u.task_id JOIN app.agent a ON a.id = t.agent_id
        LEFT JOIN app.issue i ON i.id = t.issue_id
        GROUP BY 1, 2, 3, 4, 5, 6, 7) g
$$;
