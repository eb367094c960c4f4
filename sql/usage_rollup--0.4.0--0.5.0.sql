-- usage_rollup 0.4.0 -> 0.5.0 (ALTER EXTENSION usage_rollup UPDATE).
--
-- The run rollup (SPEC §6: "the run and outcome reports need their own
-- pre-aggregation"): usage_rollup.task_rollup and its queue, dirty_task_bucket;
-- trigger functions that queue the buckets of changed tasks (two new triggers on
-- the attached tasks table; the tasks delete, agents update and delete, and
-- truncate functions queue them too); the block tiling with weeks
-- (_task_blocks, _task_agent_blocks); the run, outcome and start reports and kpis read the run rollup
-- when no agent, project or runtime filter is set (_task_query_sql); the status
-- view shows its queue. When attached, the update installs the triggers and builds
-- the run rollup from the tasks table (_attach_task_runs; a NOTICE names any
-- supporting index on started_at or completed_at the tasks table lacks).

-- The run rollup (SPEC §6: "the run and outcome reports need their own
-- pre-aggregation"): terminal tasks by the 15-minute UTC bucket of completed_at
-- (kind 'c': status, failure reason, run count and run time), per workspace and
-- per agent, and every started task by the bucket of started_at (kind 's', per
-- workspace). Per workspace
-- (agent_id NULL) the unfiltered dashboards read a row per bucket, status and
-- reason instead of one per agent. Widths as in rollup_ws plus a week (10080,
-- aligned like the others at 2000-01-01, a Saturday), for the per-agent reports
-- (whose rows are kept in weeks, days and 15 minutes only) and 90-day ranges;
-- which kind is kept in which width: runs/mod.rs, WIDTHS. Runtime and project are
-- not keys: a report filtered by them (or by agent) reads the tasks table. Kept
-- exact by the tick from the queue below; built whole by attach().
CREATE TABLE usage_rollup.task_rollup (
    workspace_id     uuid,
    kind             "char"      NOT NULL CHECK (kind IN ('c', 's')),
    width            smallint    NOT NULL CHECK (width IN (15, 60, 360, 1440, 10080)),
    bucket_start     timestamptz NOT NULL,
    agent_id         uuid,       -- NULL: every agent of the workspace
    status           text,       -- kind 'c' only
    failure_reason   text,       -- failed only: NULL or empty reads 'unclassified'
    tasks            bigint      NOT NULL,   -- 'c': terminal tasks with completed_at; 's': started tasks
    runs             bigint      NOT NULL,   -- kind 'c': of those, the ones that started
    run_seconds      numeric     NOT NULL,   -- their completed_at - started_at, exact
    -- (leads with the bucket: a tick recomputes a bucket of every workspace)
    CONSTRAINT task_rollup_key UNIQUE NULLS NOT DISTINCT
        (width, bucket_start, kind, workspace_id, agent_id, status, failure_reason)
);
-- Reports read by index only: the per-workspace rows, and (per-agent reports) the
-- agent rows of a workspace. An agent filter reads the tasks table by agent_id.
CREATE INDEX task_rollup_workspace ON usage_rollup.task_rollup (workspace_id, kind, width, bucket_start)
    INCLUDE (status, failure_reason, tasks, runs, run_seconds) WHERE agent_id IS NULL;
CREATE INDEX task_rollup_workspace_agent ON usage_rollup.task_rollup (workspace_id, kind, width, bucket_start)
    INCLUDE (agent_id, status, failure_reason, tasks, runs, run_seconds) WHERE agent_id IS NOT NULL;
COMMENT ON TABLE usage_rollup.task_rollup IS
    'Task outcomes, runs and starts per workspace (and agent) in 15-minute to weekly UTC blocks: the run and outcome reports'' path.';

-- Buckets (of started_at or completed_at) whose tasks changed since the last tick.
-- Append-only like dirty_bucket, for the same reason; every change to a task the
-- run rollup counts queues its buckets here (triggers.sql), so reports read these
-- buckets from the tasks table and every other one from the run rollup.
CREATE TABLE usage_rollup.dirty_task_bucket (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket_start timestamptz NOT NULL,
    enqueued_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE usage_rollup.dirty_task_bucket IS
    'Buckets of task starts and completions changed since the last tick; drained by tick().';

SELECT pg_catalog.pg_extension_config_dump('usage_rollup.task_rollup', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.dirty_task_bucket', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.dirty_task_bucket_id_seq', '');

CREATE OR REPLACE FUNCTION usage_rollup._invalidate_tasks_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- the run rollup counted them by their start and completion
    INSERT INTO usage_rollup.dirty_task_bucket (bucket_start)
    SELECT DISTINCT v.b FROM usage_rollup_old o
    CROSS JOIN LATERAL (VALUES (usage_rollup.bucket_of(o.started_at)), (usage_rollup.bucket_of(o.completed_at))) v(b)
    WHERE v.b IS NOT NULL;
    EXECUTE format(
        'INSERT INTO usage_rollup.dirty_bucket (bucket_start)
         SELECT DISTINCT usage_rollup.bucket_of(u.created_at)
         FROM usage_rollup_old o JOIN %s u ON u.task_id = o.id
         WHERE u.created_at IS NOT NULL', TG_ARGV[0]::oid::regclass);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION usage_rollup._invalidate_parent_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format(
        'INSERT INTO usage_rollup.dirty_bucket (bucket_start)
         SELECT DISTINCT usage_rollup.bucket_of(u.created_at)
         FROM %s t JOIN %s u ON u.task_id = t.id
         WHERE t.%I IN ($1, $2) AND u.created_at IS NOT NULL',
        TG_ARGV[1]::oid::regclass, TG_ARGV[0]::oid::regclass, TG_ARGV[2])
    USING OLD.id, NEW.id;
    IF TG_ARGV[2] = 'agent_id' THEN
        PERFORM usage_rollup._enqueue_task_runs(TG_ARGV[1]::oid, ARRAY[OLD.id, NEW.id]);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION usage_rollup._invalidate_parent_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format(
        'INSERT INTO usage_rollup.dirty_bucket (bucket_start)
         SELECT DISTINCT usage_rollup.bucket_of(u.created_at)
         FROM usage_rollup_old o JOIN %s t ON t.%I = o.id JOIN %s u ON u.task_id = t.id
         WHERE u.created_at IS NOT NULL',
        TG_ARGV[1]::oid::regclass, TG_ARGV[2], TG_ARGV[0]::oid::regclass);
    -- tasks left without their agent drop out of the run rollup's join
    IF TG_ARGV[2] = 'agent_id' THEN
        PERFORM usage_rollup._enqueue_task_runs(TG_ARGV[1]::oid, ARRAY(SELECT o.id FROM usage_rollup_old o));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION usage_rollup._invalidate_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO usage_rollup.dirty_bucket (bucket_start)
    SELECT DISTINCT r.bucket_start FROM usage_rollup.rollup r;
    INSERT INTO usage_rollup.dirty_task_bucket (bucket_start)
    SELECT DISTINCT r.bucket_start FROM usage_rollup.task_rollup r WHERE r.width = 15;
    RETURN NULL;
END
$$;

-- The run rollup (usage_rollup.task_rollup) counts a task in the bucket of its
-- completed_at (status, failure reason, run time) and of its started_at, under its
-- agent's workspace: these queue the buckets a task change can move it out of or
-- into. Runtime and issue are not keys of the run rollup, so their changes queue
-- nothing here.

-- The start and completion buckets of the tasks whose agent is one of the given.
CREATE FUNCTION usage_rollup._enqueue_task_runs(p_tasks oid, p_agent_ids uuid[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format(
        'INSERT INTO usage_rollup.dirty_task_bucket (bucket_start)
         SELECT DISTINCT v.b FROM %s t
         CROSS JOIN LATERAL (VALUES (usage_rollup.bucket_of(t.started_at)), (usage_rollup.bucket_of(t.completed_at))) v(b)
         WHERE t.agent_id = ANY ($1) AND v.b IS NOT NULL', p_tasks::regclass)
    USING p_agent_ids;
END
$$;

-- A task inserted started or finished, or updated in its status, times, failure
-- reason, agent or id (the triggers' WHEN clauses; a task's usual life is an insert
-- with neither time, an update that starts it and one that finishes it). Its start
-- bucket is queued only if the start or the task's identity changed: the start
-- rows have no status.
CREATE FUNCTION usage_rollup._invalidate_task_runs() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO usage_rollup.dirty_task_bucket (bucket_start)
        SELECT DISTINCT v.b FROM (VALUES (usage_rollup.bucket_of(NEW.started_at)),
                                         (usage_rollup.bucket_of(NEW.completed_at))) v(b)
        WHERE v.b IS NOT NULL;
    ELSIF OLD.started_at IS DISTINCT FROM NEW.started_at OR OLD.agent_id IS DISTINCT FROM NEW.agent_id
          OR OLD.id IS DISTINCT FROM NEW.id THEN
        INSERT INTO usage_rollup.dirty_task_bucket (bucket_start)
        SELECT DISTINCT v.b FROM (VALUES (usage_rollup.bucket_of(OLD.started_at)), (usage_rollup.bucket_of(NEW.started_at)),
                                         (usage_rollup.bucket_of(OLD.completed_at)),
                                         (usage_rollup.bucket_of(NEW.completed_at))) v(b)
        WHERE v.b IS NOT NULL;
    ELSE
        INSERT INTO usage_rollup.dirty_task_bucket (bucket_start)
        SELECT DISTINCT v.b FROM (VALUES (usage_rollup.bucket_of(OLD.completed_at)),
                                         (usage_rollup.bucket_of(NEW.completed_at))) v(b)
        WHERE v.b IS NOT NULL;
    END IF;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION usage_rollup._enqueue_task_runs(oid, uuid[]), usage_rollup._invalidate_task_runs() FROM PUBLIC;

CREATE FUNCTION usage_rollup._task_blocks(range_start timestamptz, range_end timestamptz, edges timestamptz[],
                                          dirty timestamptz[])
RETURNS TABLE (width smallint, bucket_start timestamptz, group_start timestamptz)
IMMUTABLE PARALLEL SAFE SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '_task_blocks_wrapper';

CREATE FUNCTION usage_rollup._task_agent_blocks(range_start timestamptz, range_end timestamptz, edges timestamptz[],
                                                dirty timestamptz[])
RETURNS TABLE (width smallint, bucket_start timestamptz, group_start timestamptz)
IMMUTABLE PARALLEL SAFE SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '_task_agent_blocks_wrapper';

CREATE FUNCTION usage_rollup._task_query_sql(kind text, "grouping" text, from_rollup boolean) RETURNS text
STRICT STABLE PARALLEL SAFE SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '_task_query_sql_wrapper';

CREATE FUNCTION usage_rollup._attach_task_runs() RETURNS void
STRICT VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '_attach_task_runs_wrapper';
REVOKE ALL ON FUNCTION usage_rollup._attach_task_runs() FROM PUBLIC;

CREATE OR REPLACE FUNCTION usage_rollup._task_report(report text, kind text, group_by text, workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid, agent_id uuid, mode text)
RETURNS TABLE (g_date date, g_uuid uuid, g_int integer, run_seconds numeric, runs bigint, completed bigint, failed bigint,
               cancelled bigint, status text, failure_reason text, tasks bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE w record;
BEGIN
    mode := coalesce(mode, usage_rollup._read_mode());
    IF mode = 'owner' THEN
        RETURN QUERY SELECT * FROM usage_rollup._task_report_as_owner(report, kind, group_by, workspace_id, from_date, to_date, tz, viewer_id, project_id, runtime_id, agent_id);
        RETURN;
    END IF;
    SELECT * INTO w FROM usage_rollup._report_window(report, workspace_id, from_date, to_date, tz, viewer_id);
    RETURN QUERY EXECUTE 'SELECT '
        || CASE WHEN kind = 'starts' THEN 'NULL::date, NULL::uuid, q.g' WHEN group_by = 'day' THEN 'q.g, NULL::uuid, NULL::integer'
                ELSE 'NULL::date, q.g, NULL::integer' END
        || CASE kind WHEN 'runs' THEN ', q.run_seconds, q.runs, q.completed, q.failed, q.cancelled, NULL::text, NULL::text, NULL::bigint'
                     WHEN 'outcomes' THEN ', NULL::numeric, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, q.status, q.failure_reason, q.tasks'
                     ELSE ', NULL::numeric, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text, NULL::text, q.tasks' END
        || ' FROM (' || usage_rollup._task_query_sql(kind, group_by, w.aligned AND mode <> 'raw'
                                                     AND project_id IS NULL AND runtime_id IS NULL AND agent_id IS NULL) || ') q'
        USING workspace_id, from_date, to_date, w.zone, project_id, runtime_id, agent_id, w.range_start, w.range_end;
END
$$;

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
    EXECUTE usage_rollup._task_report_sql('kpi_tasks', 'none')
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

-- the run rollup's queue in the status view
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
       (SELECT count(*) FROM usage_rollup.dirty_task_bucket)             AS task_queue_depth
FROM (VALUES (1)) one (id)
LEFT JOIN usage_rollup.tick_state s ON s.id = one.id;

-- the triggers on the attached tasks table and the run rollup
SELECT usage_rollup._attach_task_runs();
