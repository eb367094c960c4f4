-- usage_rollup 0.6.0 -> 0.7.0 (ALTER EXTENSION usage_rollup UPDATE).
--
-- The keyed task days (SPEC §6: kpis over 90 days at least 20x faster than raw):
-- per sealed UTC day and workspace the tasks with a usage row in it, so that kpis'
-- distinct task count sums a count per day instead of reading every raw row. The
-- library's tick and backfill keep them; kpis reads them (the new _kpis); the
-- status view counts the days waiting to be sealed (task_day_backlog); the update
-- seals every finished day the rollup holds (_seal_key_tasks, which waits for a
-- running tick).

-- The keyed task days (SPEC §6, kpis' distinct task count over a period): per
-- sealed UTC day, the tasks with a usage row in it, per workspace. A task whose
-- rows all lay in that day when it was sealed is "single": single tasks are
-- counted per day (key_task_day) and summed over the sealed days of a range, the
-- others (and the raw rows of the rest of the range) are counted distinct, less
-- those single in one of the summed days. Sealed from the raw rows, listed in
-- key_task_block; any recompute of a bucket inside a day (changed or not: moving a
-- row between two tasks can leave the rollup as it was) takes it off the list in
-- the same transaction. Only the holder of the rollup lock writes these tables.
CREATE TABLE usage_rollup.key_task (
    task_id      uuid        NOT NULL,
    bucket_start timestamptz NOT NULL,   -- the UTC day
    workspace_id uuid        NOT NULL,
    single       boolean     NOT NULL,   -- all of the task's rows were in this day
    -- (a report looks up tasks by id: covering, an index-only scan)
    PRIMARY KEY (task_id, bucket_start) INCLUDE (workspace_id, single)
);
-- (a day is rebuilt for every workspace at once)
CREATE INDEX key_task_rows ON usage_rollup.key_task (bucket_start);
-- (a report reads a workspace's tasks of several days; single ones only by task)
CREATE INDEX key_task_spanning ON usage_rollup.key_task (workspace_id, bucket_start) WHERE NOT single;
COMMENT ON TABLE usage_rollup.key_task IS
    'Tasks with usage per sealed UTC day and workspace (single: all their rows in that day): kpis'' task count.';

-- The number of single tasks per sealed day and workspace.
CREATE TABLE usage_rollup.key_task_day (
    workspace_id uuid        NOT NULL,
    bucket_start timestamptz NOT NULL,
    single_tasks bigint      NOT NULL,
    PRIMARY KEY (workspace_id, bucket_start)
);
COMMENT ON TABLE usage_rollup.key_task_day IS
    'Single tasks (all rows in the day) per sealed UTC day and workspace.';

-- The days whose key_task rows are the raw rows' tasks (sealed).
CREATE TABLE usage_rollup.key_task_block (
    bucket_start timestamptz PRIMARY KEY,
    sealed_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE usage_rollup.key_task_block IS
    'Sealed days of key_task: kpis reads these and the raw rows for the rest of its range.';

-- Days whose buckets were recomputed since they were sealed (or never were).
CREATE TABLE usage_rollup.key_task_stale (
    bucket_start timestamptz PRIMARY KEY
);
COMMENT ON TABLE usage_rollup.key_task_stale IS
    'Keyed task days to seal (again): tick() seals one each run, backfill all it can.';

SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_task', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_task_day', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_task_block', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_task_stale', '');

CREATE FUNCTION usage_rollup._seal_key_tasks() RETURNS void
STRICT VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '_seal_key_tasks_wrapper';
REVOKE ALL ON FUNCTION usage_rollup._seal_key_tasks() FROM PUBLIC;

-- kpis' task count from the task days where its run columns use the run rollup
CREATE OR REPLACE FUNCTION usage_rollup._kpis(workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid, agent_id uuid, mode text)
RETURNS TABLE (input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint, cost_usd_ticks bigint, uncosted_input_tokens bigint, uncosted_output_tokens bigint, uncosted_cache_read_tokens bigint, uncosted_cache_write_tokens bigint, task_count bigint, run_seconds numeric, runs bigint, completed bigint, failed bigint, cancelled bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    w record;
    s record;
    r record;
    n bigint;
BEGIN
    mode := coalesce(mode, usage_rollup._read_mode());
    IF mode = 'owner' THEN
        RETURN QUERY SELECT * FROM usage_rollup._kpis_as_owner(workspace_id, from_date, to_date, tz, viewer_id, project_id, runtime_id, agent_id);
        RETURN;
    END IF;
    SELECT * INTO w FROM usage_rollup._report_window('kpis', workspace_id, from_date, to_date, tz, viewer_id);
    EXECUTE 'SELECT coalesce(sum(q.input_tokens), 0)::bigint AS input_tokens, coalesce(sum(q.output_tokens), 0)::bigint AS output_tokens,
                    coalesce(sum(q.cache_read_tokens), 0)::bigint AS cache_read_tokens,
                    coalesce(sum(q.cache_write_tokens), 0)::bigint AS cache_write_tokens,
                    coalesce(sum(q.cost_usd_ticks), 0)::bigint AS cost_usd_ticks,
                    coalesce(sum(q.uncosted_input_tokens), 0)::bigint AS uncosted_input_tokens,
                    coalesce(sum(q.uncosted_output_tokens), 0)::bigint AS uncosted_output_tokens,
                    coalesce(sum(q.uncosted_cache_read_tokens), 0)::bigint AS uncosted_cache_read_tokens,
                    coalesce(sum(q.uncosted_cache_write_tokens), 0)::bigint AS uncosted_cache_write_tokens
             FROM (' || usage_rollup._usage_query_sql('none', NOT w.aligned OR mode = 'raw',
                                                      project_id IS NULL AND runtime_id IS NULL AND agent_id IS NULL) || ') q'
        INTO s USING workspace_id, from_date, to_date, w.zone, project_id, runtime_id, agent_id, w.range_start, w.range_end;
    -- (from the keyed task days where the run columns use the run rollup)
    EXECUTE usage_rollup._task_query_sql('kpi_tasks', 'none', w.aligned AND mode <> 'raw'
                                         AND project_id IS NULL AND runtime_id IS NULL AND agent_id IS NULL)
        INTO n USING workspace_id, from_date, to_date, w.zone, project_id, runtime_id, agent_id, w.range_start, w.range_end;
    EXECUTE 'SELECT coalesce(sum(q.run_seconds), 0)::numeric AS run_seconds, coalesce(sum(q.runs), 0)::bigint AS runs,
                    coalesce(sum(q.completed), 0)::bigint AS completed, coalesce(sum(q.failed), 0)::bigint AS failed,
                    coalesce(sum(q.cancelled), 0)::bigint AS cancelled
             FROM (' || usage_rollup._task_query_sql('runs', 'none', w.aligned AND mode <> 'raw'
                                                     AND project_id IS NULL AND runtime_id IS NULL AND agent_id IS NULL) || ') q'
        INTO r USING workspace_id, from_date, to_date, w.zone, project_id, runtime_id, agent_id, w.range_start, w.range_end;
    RETURN QUERY SELECT s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens, s.cost_usd_ticks,
                        s.uncosted_input_tokens, s.uncosted_output_tokens, s.uncosted_cache_read_tokens,
                        s.uncosted_cache_write_tokens, coalesce(n, 0)::bigint,
                        r.run_seconds, r.runs, r.completed, r.failed, r.cancelled;
END
$$;

-- the task days waiting to be sealed: a new last column of the status view
CREATE OR REPLACE VIEW usage_rollup.status AS
SELECT s.watermark,
       extract(epoch FROM now() - s.last_success_at)::float8            AS lag_seconds,
       (SELECT count(*) FROM usage_rollup.dirty_bucket)                  AS queue_depth,
       s.last_started_at,
       s.last_finished_at,
       s.last_rows,
       s.last_duration_ms,
       s.last_error,
       s.last_error_at,
       s.last_error_sqlstate,
       s.last_success_at,
       -- the most recent run failed (an older error stays visible in last_error)
       (s.last_error_at IS NOT NULL
        AND s.last_error_at >= coalesce(s.last_success_at, '-infinity'::timestamptz)) AS failing,
       -- how far behind the rollup's own data is; reports add the raw tail after it
       extract(epoch FROM now() - s.watermark)::float8                  AS watermark_age_seconds,
       (SELECT min(d.enqueued_at) FROM usage_rollup.dirty_bucket d)      AS queue_oldest_at,
       (SELECT count(*) FROM usage_rollup.binding) = 1                   AS attached,
       -- buckets of task starts and completions changed since the last tick (the
       -- run rollup's queue; reports read them from the tasks table until then)
       (SELECT count(*) FROM usage_rollup.dirty_task_bucket)             AS task_queue_depth,
       -- finished keyed blocks not sealed (again) yet: reports grouped by agent,
       -- project or runtime read them from the 15-minute rollup until a tick does
       (SELECT count(*) FROM usage_rollup.key_rollup_stale k
        WHERE k.bucket_start + k.width * '00:01:00'::interval + '01:00:00'::interval <= now()) AS keyed_backlog,
       -- finished UTC days whose tasks are not sealed (again) yet: kpis reads their
       -- raw rows until a tick does
       (SELECT count(*) FROM usage_rollup.key_task_stale k
        WHERE k.bucket_start + '1 day'::interval + '00:10:00'::interval <= now()) AS task_day_backlog
FROM (VALUES (1)) one (id)
LEFT JOIN usage_rollup.tick_state s ON s.id = one.id;

-- the task days of the days the rollup holds
SELECT usage_rollup._seal_key_tasks();
