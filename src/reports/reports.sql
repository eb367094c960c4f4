-- The reports of SPEC §8 with their exact signatures, and the two paths they read
-- by (src/reports/access.rs). A public report is a thin SECURITY INVOKER wrapper
-- over one of four internal reports (_usage_report, _task_report, _kpis,
-- _issue_usage), which take a read mode: NULL decides by the caller's row-level
-- security (usage_rollup._read_mode()); 'owner' hands over to the *_as_owner twin,
-- SECURITY DEFINER, which checks the session's role holds EXECUTE on the public
-- report and no policy applies to it, then calls back with 'rollup'; 'rollup' and
-- 'raw' compute with the current user's rights, from the rollup or from the raw rows
-- alone. Every path is STABLE and writes nothing, so reports work on a hot standby
-- and in READ ONLY transactions. JIT is off: compiling these plans costs far more
-- (about 800 ms) than running them on a rollup.

CREATE FUNCTION usage_rollup._bound_relations() RETURNS oid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT array_remove(ARRAY[b.usage_table, b.tasks_table, b.agents_table, b.issues_table, b.users_table]::oid[], NULL)
    FROM usage_rollup.binding b WHERE b.id = 1
$$;
COMMENT ON FUNCTION usage_rollup._bound_relations() IS
    'The attached tables (for the row-level security check of the caller, who may not read the binding).';

-- Usage reports: the group key comes back in the column of its type.
CREATE FUNCTION usage_rollup._usage_report(report text, group_by text, workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid, agent_id uuid, mode text)
RETURNS TABLE (g_date date, g_uuid uuid, g_int integer, provider text, model text, input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint, cost_usd_ticks bigint, uncosted_input_tokens bigint, uncosted_output_tokens bigint, uncosted_cache_read_tokens bigint, uncosted_cache_write_tokens bigint, task_count bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE w record;
BEGIN
    mode := coalesce(mode, usage_rollup._read_mode());
    IF mode = 'owner' THEN
        RETURN QUERY SELECT * FROM usage_rollup._usage_report_as_owner(report, group_by, workspace_id, from_date, to_date, tz, viewer_id, project_id, runtime_id, agent_id);
        RETURN;
    END IF;
    SELECT * INTO w FROM usage_rollup._report_window(report, workspace_id, from_date, to_date, tz, viewer_id);
    RETURN QUERY EXECUTE 'SELECT '
        || CASE group_by WHEN 'day' THEN 'q.g, NULL::uuid, NULL::integer' WHEN 'hour' THEN 'NULL::date, NULL::uuid, q.g'
                         WHEN 'none' THEN 'NULL::date, NULL::uuid, NULL::integer' ELSE 'NULL::date, q.g, NULL::integer' END
        || ', q.provider, q.model, q.input_tokens, q.output_tokens, q.cache_read_tokens, q.cache_write_tokens, q.cost_usd_ticks, q.uncosted_input_tokens, q.uncosted_output_tokens, q.uncosted_cache_read_tokens, q.uncosted_cache_write_tokens, q.task_count FROM ('
        || usage_rollup._usage_query_sql(group_by, NOT w.aligned OR mode = 'raw',
                                         project_id IS NULL AND runtime_id IS NULL AND agent_id IS NULL) || ') q'
        USING workspace_id, from_date, to_date, w.zone, project_id, runtime_id, agent_id, w.range_start, w.range_end;
END
$$;

CREATE FUNCTION usage_rollup._usage_report_as_owner(report text, group_by text, workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid, agent_id uuid)
RETURNS TABLE (g_date date, g_uuid uuid, g_int integer, provider text, model text, input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint, cost_usd_ticks bigint, uncosted_input_tokens bigint, uncosted_output_tokens bigint, uncosted_cache_read_tokens bigint, uncosted_cache_write_tokens bigint, task_count bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    PERFORM usage_rollup._check_report_access(report);
    RETURN QUERY SELECT * FROM usage_rollup._usage_report(report, group_by, workspace_id, from_date, to_date, tz, viewer_id, project_id, runtime_id, agent_id, 'rollup');
END
$$;

CREATE FUNCTION usage_rollup.daily_usage(workspace_id uuid, from_date date, to_date date, tz text DEFAULT NULL, viewer_id uuid DEFAULT NULL, project_id uuid DEFAULT NULL, runtime_id uuid DEFAULT NULL, agent_id uuid DEFAULT NULL)
RETURNS TABLE (day date, provider text, model text, input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint, cost_usd_ticks bigint, uncosted_input_tokens bigint, uncosted_output_tokens bigint, uncosted_cache_read_tokens bigint, uncosted_cache_write_tokens bigint, task_count bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT q.g_date, q.provider, q.model, q.input_tokens, q.output_tokens, q.cache_read_tokens, q.cache_write_tokens, q.cost_usd_ticks, q.uncosted_input_tokens, q.uncosted_output_tokens, q.uncosted_cache_read_tokens, q.uncosted_cache_write_tokens, q.task_count
    FROM usage_rollup._usage_report('daily_usage', 'day', workspace_id, from_date, to_date, tz, viewer_id, project_id, runtime_id, agent_id, NULL) q;
END
$$;
COMMENT ON FUNCTION usage_rollup.daily_usage(workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid, agent_id uuid) IS
    'Usage per local day (in the viewer''s zone), provider and model: the trend chart.';

CREATE FUNCTION usage_rollup.usage_by_agent(workspace_id uuid, from_date date, to_date date, tz text DEFAULT NULL, viewer_id uuid DEFAULT NULL, project_id uuid DEFAULT NULL, runtime_id uuid DEFAULT NULL)
RETURNS TABLE (agent_id uuid, provider text, model text, input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint, cost_usd_ticks bigint, uncosted_input_tokens bigint, uncosted_output_tokens bigint, uncosted_cache_read_tokens bigint, uncosted_cache_write_tokens bigint, task_count bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT q.g_uuid, q.provider, q.model, q.input_tokens, q.output_tokens, q.cache_read_tokens, q.cache_write_tokens, q.cost_usd_ticks, q.uncosted_input_tokens, q.uncosted_output_tokens, q.uncosted_cache_read_tokens, q.uncosted_cache_write_tokens, q.task_count
    FROM usage_rollup._usage_report('usage_by_agent', 'agent', workspace_id, from_date, to_date, tz, viewer_id, project_id, runtime_id, NULL::uuid, NULL) q;
END
$$;
COMMENT ON FUNCTION usage_rollup.usage_by_agent(workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid) IS
    'Usage per agent, provider and model over the local days from_date..to_date.';

CREATE FUNCTION usage_rollup.usage_by_project(workspace_id uuid, from_date date, to_date date, tz text DEFAULT NULL, viewer_id uuid DEFAULT NULL, runtime_id uuid DEFAULT NULL, agent_id uuid DEFAULT NULL)
RETURNS TABLE (project_id uuid, provider text, model text, input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint, cost_usd_ticks bigint, uncosted_input_tokens bigint, uncosted_output_tokens bigint, uncosted_cache_read_tokens bigint, uncosted_cache_write_tokens bigint, task_count bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT q.g_uuid, q.provider, q.model, q.input_tokens, q.output_tokens, q.cache_read_tokens, q.cache_write_tokens, q.cost_usd_ticks, q.uncosted_input_tokens, q.uncosted_output_tokens, q.uncosted_cache_read_tokens, q.uncosted_cache_write_tokens, q.task_count
    FROM usage_rollup._usage_report('usage_by_project', 'project', workspace_id, from_date, to_date, tz, viewer_id, NULL::uuid, runtime_id, agent_id, NULL) q;
END
$$;
COMMENT ON FUNCTION usage_rollup.usage_by_project(workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, runtime_id uuid, agent_id uuid) IS
    'Usage per project (NULL: tasks without an issue or issues without a project), provider and model.';

CREATE FUNCTION usage_rollup.usage_by_runtime(workspace_id uuid, from_date date, to_date date, tz text DEFAULT NULL, viewer_id uuid DEFAULT NULL, project_id uuid DEFAULT NULL, agent_id uuid DEFAULT NULL)
RETURNS TABLE (runtime_id uuid, provider text, model text, input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint, cost_usd_ticks bigint, uncosted_input_tokens bigint, uncosted_output_tokens bigint, uncosted_cache_read_tokens bigint, uncosted_cache_write_tokens bigint, task_count bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT q.g_uuid, q.provider, q.model, q.input_tokens, q.output_tokens, q.cache_read_tokens, q.cache_write_tokens, q.cost_usd_ticks, q.uncosted_input_tokens, q.uncosted_output_tokens, q.uncosted_cache_read_tokens, q.uncosted_cache_write_tokens, q.task_count
    FROM usage_rollup._usage_report('usage_by_runtime', 'runtime', workspace_id, from_date, to_date, tz, viewer_id, project_id, NULL::uuid, agent_id, NULL) q;
END
$$;
COMMENT ON FUNCTION usage_rollup.usage_by_runtime(workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, agent_id uuid) IS
    'Usage per runtime (NULL: tasks never bound or unbound), provider and model.';

CREATE FUNCTION usage_rollup.usage_summary(workspace_id uuid, from_date date, to_date date, tz text DEFAULT NULL, viewer_id uuid DEFAULT NULL, project_id uuid DEFAULT NULL, runtime_id uuid DEFAULT NULL, agent_id uuid DEFAULT NULL)
RETURNS TABLE (provider text, model text, input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint, cost_usd_ticks bigint, uncosted_input_tokens bigint, uncosted_output_tokens bigint, uncosted_cache_read_tokens bigint, uncosted_cache_write_tokens bigint, task_count bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT q.provider, q.model, q.input_tokens, q.output_tokens, q.cache_read_tokens, q.cache_write_tokens, q.cost_usd_ticks, q.uncosted_input_tokens, q.uncosted_output_tokens, q.uncosted_cache_read_tokens, q.uncosted_cache_write_tokens, q.task_count
    FROM usage_rollup._usage_report('usage_summary', 'none', workspace_id, from_date, to_date, tz, viewer_id, project_id, runtime_id, agent_id, NULL) q;
END
$$;
COMMENT ON FUNCTION usage_rollup.usage_summary(workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid, agent_id uuid) IS
    'Usage per provider and model over the local days from_date..to_date.';

CREATE FUNCTION usage_rollup.usage_by_hour(workspace_id uuid, from_date date, to_date date, tz text DEFAULT NULL, viewer_id uuid DEFAULT NULL, project_id uuid DEFAULT NULL, runtime_id uuid DEFAULT NULL, agent_id uuid DEFAULT NULL)
RETURNS TABLE (hour integer, provider text, model text, input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint, cost_usd_ticks bigint, uncosted_input_tokens bigint, uncosted_output_tokens bigint, uncosted_cache_read_tokens bigint, uncosted_cache_write_tokens bigint, task_count bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT q.g_int, q.provider, q.model, q.input_tokens, q.output_tokens, q.cache_read_tokens, q.cache_write_tokens, q.cost_usd_ticks, q.uncosted_input_tokens, q.uncosted_output_tokens, q.uncosted_cache_read_tokens, q.uncosted_cache_write_tokens, q.task_count
    FROM usage_rollup._usage_report('usage_by_hour', 'hour', workspace_id, from_date, to_date, tz, viewer_id, project_id, runtime_id, agent_id, NULL) q;
END
$$;
COMMENT ON FUNCTION usage_rollup.usage_by_hour(workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid, agent_id uuid) IS
    'Usage per local hour of day (0-23 in the viewer''s zone), provider and model: the heatmap.';

CREATE FUNCTION usage_rollup._issue_usage(issue_id uuid, mode text)
RETURNS TABLE (provider text, model text, input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint, cost_usd_ticks bigint, uncosted_input_tokens bigint, uncosted_output_tokens bigint, uncosted_cache_read_tokens bigint, uncosted_cache_write_tokens bigint, task_count bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    mode := coalesce(mode, usage_rollup._read_mode());
    IF mode = 'owner' THEN
        RETURN QUERY SELECT * FROM usage_rollup._issue_usage_as_owner(issue_id);
        RETURN;
    END IF;
    RETURN QUERY EXECUTE usage_rollup._issue_usage_sql(issue_id) USING issue_id;
END
$$;

CREATE FUNCTION usage_rollup._issue_usage_as_owner(issue_id uuid)
RETURNS TABLE (provider text, model text, input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint, cost_usd_ticks bigint, uncosted_input_tokens bigint, uncosted_output_tokens bigint, uncosted_cache_read_tokens bigint, uncosted_cache_write_tokens bigint, task_count bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    PERFORM usage_rollup._check_report_access('issue_usage');
    RETURN QUERY SELECT * FROM usage_rollup._issue_usage(issue_id, 'rollup');
END
$$;

CREATE FUNCTION usage_rollup.issue_usage(issue_id uuid)
RETURNS TABLE (provider text, model text, input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint, cost_usd_ticks bigint, uncosted_input_tokens bigint, uncosted_output_tokens bigint, uncosted_cache_read_tokens bigint, uncosted_cache_write_tokens bigint, task_count bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT * FROM usage_rollup._issue_usage(issue_id, NULL);
END
$$;
COMMENT ON FUNCTION usage_rollup.issue_usage(uuid) IS
    'Usage of an issue''s tasks per provider and model, all time (the issue sidebar).';

-- Run, outcome and start reports (SPEC §4.1 T), read from the tasks table. One
-- internal shape for the three kinds; each fills its own columns.
CREATE FUNCTION usage_rollup._task_report(report text, kind text, group_by text, workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid, agent_id uuid, mode text)
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

CREATE FUNCTION usage_rollup._task_report_as_owner(report text, kind text, group_by text, workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid, agent_id uuid)
RETURNS TABLE (g_date date, g_uuid uuid, g_int integer, run_seconds numeric, runs bigint, completed bigint, failed bigint,
               cancelled bigint, status text, failure_reason text, tasks bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    PERFORM usage_rollup._check_report_access(report);
    RETURN QUERY SELECT * FROM usage_rollup._task_report(report, kind, group_by, workspace_id, from_date, to_date, tz, viewer_id, project_id, runtime_id, agent_id, 'rollup');
END
$$;

CREATE FUNCTION usage_rollup.daily_runs(workspace_id uuid, from_date date, to_date date, tz text DEFAULT NULL, viewer_id uuid DEFAULT NULL, project_id uuid DEFAULT NULL, runtime_id uuid DEFAULT NULL, agent_id uuid DEFAULT NULL)
RETURNS TABLE (day date, run_seconds numeric, runs bigint, completed bigint, failed bigint, cancelled bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT q.g_date, q.run_seconds, q.runs, q.completed, q.failed, q.cancelled
    FROM usage_rollup._task_report('daily_runs', 'runs', 'day', workspace_id, from_date, to_date, tz, viewer_id, project_id, runtime_id, agent_id, NULL) q;
END
$$;
COMMENT ON FUNCTION usage_rollup.daily_runs(workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid, agent_id uuid) IS
    'Run time and runs of terminal tasks that started, per local date of completion: the Time and Tasks toggles.';

CREATE FUNCTION usage_rollup.runs_by_agent(workspace_id uuid, from_date date, to_date date, tz text DEFAULT NULL, viewer_id uuid DEFAULT NULL, project_id uuid DEFAULT NULL, runtime_id uuid DEFAULT NULL)
RETURNS TABLE (agent_id uuid, run_seconds numeric, runs bigint, completed bigint, failed bigint, cancelled bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT q.g_uuid, q.run_seconds, q.runs, q.completed, q.failed, q.cancelled
    FROM usage_rollup._task_report('runs_by_agent', 'runs', 'agent', workspace_id, from_date, to_date, tz, viewer_id, project_id, runtime_id, NULL::uuid, NULL) q;
END
$$;
COMMENT ON FUNCTION usage_rollup.runs_by_agent(workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid) IS
    'Run time and runs per agent over the local days from_date..to_date.';

CREATE FUNCTION usage_rollup.daily_outcomes(workspace_id uuid, from_date date, to_date date, tz text DEFAULT NULL, viewer_id uuid DEFAULT NULL, project_id uuid DEFAULT NULL, runtime_id uuid DEFAULT NULL, agent_id uuid DEFAULT NULL)
RETURNS TABLE (day date, status text, failure_reason text, tasks bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT q.g_date, q.status, q.failure_reason, q.tasks
    FROM usage_rollup._task_report('daily_outcomes', 'outcomes', 'day', workspace_id, from_date, to_date, tz, viewer_id, project_id, runtime_id, agent_id, NULL) q;
END
$$;
COMMENT ON FUNCTION usage_rollup.daily_outcomes(workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid, agent_id uuid) IS
    'Terminal tasks per local date of completion, status and failure reason (started or not): the failure-rate chart.';

CREATE FUNCTION usage_rollup.outcomes_by_agent(workspace_id uuid, from_date date, to_date date, tz text DEFAULT NULL, viewer_id uuid DEFAULT NULL, project_id uuid DEFAULT NULL, runtime_id uuid DEFAULT NULL)
RETURNS TABLE (agent_id uuid, status text, failure_reason text, tasks bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT q.g_uuid, q.status, q.failure_reason, q.tasks
    FROM usage_rollup._task_report('outcomes_by_agent', 'outcomes', 'agent', workspace_id, from_date, to_date, tz, viewer_id, project_id, runtime_id, NULL::uuid, NULL) q;
END
$$;
COMMENT ON FUNCTION usage_rollup.outcomes_by_agent(workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid) IS
    'Terminal tasks per agent, status and failure reason over the local days from_date..to_date.';

CREATE FUNCTION usage_rollup.starts_by_hour(workspace_id uuid, from_date date, to_date date, tz text DEFAULT NULL, viewer_id uuid DEFAULT NULL, project_id uuid DEFAULT NULL, runtime_id uuid DEFAULT NULL, agent_id uuid DEFAULT NULL)
RETURNS TABLE (hour integer, tasks bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT q.g_int, q.tasks
    FROM usage_rollup._task_report('starts_by_hour', 'starts', 'none', workspace_id, from_date, to_date, tz, viewer_id, project_id, runtime_id, agent_id, NULL) q;
END
$$;
COMMENT ON FUNCTION usage_rollup.starts_by_hour(workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid, agent_id uuid) IS
    'Tasks (any status) by the local hour of started_at, for local dates in the range: the activity heatmap.';

-- KPI tiles: one row, zeros when empty. Sums from the usage report (rollup and raw
-- tail); task_count is distinct tasks with any usage in the range; run columns as
-- daily_runs over the whole range.
CREATE FUNCTION usage_rollup._kpis(workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid, agent_id uuid, mode text)
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

CREATE FUNCTION usage_rollup._kpis_as_owner(workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid, agent_id uuid)
RETURNS TABLE (input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint, cost_usd_ticks bigint, uncosted_input_tokens bigint, uncosted_output_tokens bigint, uncosted_cache_read_tokens bigint, uncosted_cache_write_tokens bigint, task_count bigint, run_seconds numeric, runs bigint, completed bigint, failed bigint, cancelled bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    PERFORM usage_rollup._check_report_access('kpis');
    RETURN QUERY SELECT * FROM usage_rollup._kpis(workspace_id, from_date, to_date, tz, viewer_id, project_id, runtime_id, agent_id, 'rollup');
END
$$;

CREATE FUNCTION usage_rollup.kpis(workspace_id uuid, from_date date, to_date date, tz text DEFAULT NULL, viewer_id uuid DEFAULT NULL, project_id uuid DEFAULT NULL, runtime_id uuid DEFAULT NULL, agent_id uuid DEFAULT NULL)
RETURNS TABLE (input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint, cost_usd_ticks bigint, uncosted_input_tokens bigint, uncosted_output_tokens bigint, uncosted_cache_read_tokens bigint, uncosted_cache_write_tokens bigint, task_count bigint, run_seconds numeric, runs bigint, completed bigint, failed bigint, cancelled bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT * FROM usage_rollup._kpis(workspace_id, from_date, to_date, tz, viewer_id, project_id, runtime_id, agent_id, NULL);
END
$$;
COMMENT ON FUNCTION usage_rollup.kpis(workspace_id uuid, from_date date, to_date date, tz text, viewer_id uuid, project_id uuid, runtime_id uuid, agent_id uuid) IS
    'KPI tiles for a period: cost, tokens, distinct tasks with usage, run time and runs (one row, zeros when empty).';
