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
CREATE OR REPLACE VIEW bench.floor_agg AS
SELECT usage_rollup.bucket_of(u.created_at) AS bucket_start, a.workspace_id, t.runtime_id, t.agent_id, i.project_id,
       lower(u.provider) AS provider, u.model, sum(u.input_tokens) AS input_tokens, sum(u.output_tokens) AS output_tokens,
       sum(u.cache_read_tokens) AS cache_read_tokens, sum(u.cache_write_tokens) AS cache_write_tokens,
       coalesce(sum(u.cost_usd_ticks), 0) AS cost_usd_ticks,
       coalesce(sum(u.input_tokens) FILTER (WHERE u.cost_usd_ticks IS NULL), 0) AS uncosted_input_tokens,
       coalesce(sum(u.output_tokens) FILTER (WHERE u.cost_usd_ticks IS NULL), 0) AS uncosted_output_tokens,
       coalesce(sum(u.cache_read_tokens) FILTER (WHERE u.cost_usd_ticks IS NULL), 0) AS uncosted_cache_read_tokens,
       coalesce(sum(u.cache_write_tokens) FILTER (WHERE u.cost_usd_ticks IS NULL), 0) AS uncosted_cache_write_tokens,
       count(DISTINCT u.task_id) AS task_count, count(*) AS event_count
FROM app.task_usage u JOIN app.agent_task_queue t ON t.id = u.task_id JOIN app.agent a ON a.id = t.agent_id
LEFT JOIN app.issue i ON i.id = t.issue_id
GROUP BY 1, 2, 3, 4, 5, 6, 7;

CREATE OR REPLACE FUNCTION bench.floor_rows() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM bench.floor_agg
$$;

-- The least any rebuild of a rollup of this shape writes: the floor's rows into a
-- plain table (logged, like the rollup) and the rollup's unique key built after
-- them (the cheapest way to get it). Run as two statements by run.sh, then dropped.
CREATE OR REPLACE FUNCTION bench.floor_write_sql() RETURNS text LANGUAGE sql AS $$
    SELECT 'CREATE TABLE bench.floor_copy AS SELECT * FROM bench.floor_agg; '
        || 'CREATE UNIQUE INDEX ON bench.floor_copy (bucket_start, workspace_id, runtime_id, agent_id, project_id, provider, model) '
        || 'NULLS NOT DISTINCT; DROP TABLE bench.floor_copy'
$$;

-- kpis over 90 days as it would run late in a UTC day, when the current day is
-- almost a whole day of rows: the previous UTC day is taken off the sealed task
-- days and stands for "today" at 23:55. Returns the median ms with that day read
-- raw (as 0.7.0 did) and with its finished hours sealed (a seal with its cut at
-- 23:55 of that day, as the ticks of 0.8.0 leave it), then undoes it all. The real
-- current day's finished hours stay sealed in both (the state the rebuild left),
-- so both also read its last hour or so raw: the day standing in is the difference.
CREATE OR REPLACE FUNCTION bench.kpis_late_ms(p_ws uuid, p_tz text, p_runs int) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    y timestamptz := date_bin('1 day', now(), '2000-01-01 00:00:00+00') - interval '24 hours';
    report text := format('SELECT count(*) FROM usage_rollup.kpis(%L::uuid, current_date - 89, current_date, tz => %L)', p_ws, p_tz);
    day_raw numeric;
    hours_sealed numeric;
BEGIN
    BEGIN
        DELETE FROM usage_rollup.key_task_block WHERE bucket_start = y;
        day_raw := bench.median_ms(report, p_runs);
        PERFORM set_config('usage_rollup.safety_lag',
                           extract(epoch FROM now() - (y + interval '23 hours 55 minutes'))::bigint::text, true);
        PERFORM usage_rollup._seal_key_tasks();
        PERFORM set_config('usage_rollup.safety_lag', '0', true);
        hours_sealed := bench.median_ms(report, p_runs);
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN
        NULL;   -- the variables keep their values, the tables go back
    END;
    RETURN day_raw || ' ' || hours_sealed;
END $$;
