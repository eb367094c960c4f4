-- The run rollup (usage_rollup.task_rollup) against SPEC §4.1 T, differentially:
-- seeded random tasks with starts and completions crowded around local midnights
-- (every 15-minute edge of UTC days around DST changes, +-1 us), every status,
-- failure reasons NULL, '' and named; then daily_runs, runs_by_agent,
-- daily_outcomes, outcomes_by_agent, starts_by_hour and kpis' run columns in
-- Asia/Kolkata, Asia/Kathmandu, Pacific/Chatham, Australia/Lord_Howe,
-- America/New_York, America/St_Johns and UTC, each against its ground-truth query
-- over the raw tables, (a) after attach, which builds the run rollup, (b) after
-- random completions, status and reason changes, moves in time, deletes, an agent
-- moved to another workspace and one deleted, with no tick (the queued buckets
-- are read raw), (c) after a tick, (d) after more changes and a second tick; after
-- each tick the run rollup, every width, equals a rebuild from scratch.
\ir ../fixtures/fresh.sql
\set ECHO none
SET client_min_messages = warning;
SELECT usage_rollup.attach();
SELECT app.make_world();
INSERT INTO app.agent (id, workspace_id) VALUES (app.uid('a4'), app.uid('w1'));
RESET client_min_messages;

CREATE FUNCTION rt_h(p text) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
    SELECT ('x' || substr(md5(p), 1, 8))::bit(32)::bigint / 4294967296.0
$$;

-- ground truth (SPEC §4.1): T = terminal tasks of the workspace
CREATE FUNCTION truth_runs(p_ws uuid, p_from date, p_to date, p_tz text, p_group text)
RETURNS TABLE (g text, run_seconds numeric, runs bigint, completed bigint, failed bigint, cancelled bigint)
LANGUAGE sql STABLE AS $$
    SELECT CASE p_group WHEN 'day' THEN (t.completed_at AT TIME ZONE p_tz)::date::text WHEN 'agent' THEN t.agent_id::text END,
           coalesce(sum(extract(epoch FROM t.completed_at - t.started_at)), 0), count(*),
           count(*) FILTER (WHERE t.status = 'completed'), count(*) FILTER (WHERE t.status = 'failed'),
           count(*) FILTER (WHERE t.status = 'cancelled')
    FROM agent_task_queue t JOIN agent a ON a.id = t.agent_id LEFT JOIN issue i ON i.id = t.issue_id
    WHERE a.workspace_id = p_ws AND t.status IN ('completed', 'failed', 'cancelled')
      AND t.started_at IS NOT NULL AND t.completed_at IS NOT NULL
      AND (t.completed_at AT TIME ZONE p_tz)::date BETWEEN p_from AND p_to
    GROUP BY 1
$$;
CREATE FUNCTION truth_outcomes(p_ws uuid, p_from date, p_to date, p_tz text, p_group text)
RETURNS TABLE (g text, status text, failure_reason text, tasks bigint)
LANGUAGE sql STABLE AS $$
    SELECT CASE p_group WHEN 'day' THEN (t.completed_at AT TIME ZONE p_tz)::date::text WHEN 'agent' THEN t.agent_id::text END,
           t.status, CASE WHEN t.status = 'failed' THEN coalesce(nullif(t.failure_reason, ''), 'unclassified') END, count(*)
    FROM agent_task_queue t JOIN agent a ON a.id = t.agent_id LEFT JOIN issue i ON i.id = t.issue_id
    WHERE a.workspace_id = p_ws AND t.status IN ('completed', 'failed', 'cancelled') AND t.completed_at IS NOT NULL
      AND (t.completed_at AT TIME ZONE p_tz)::date BETWEEN p_from AND p_to
    GROUP BY 1, 2, 3
$$;
CREATE FUNCTION truth_starts(p_ws uuid, p_from date, p_to date, p_tz text)
RETURNS TABLE (hour integer, tasks bigint)
LANGUAGE sql STABLE AS $$
    SELECT extract(hour FROM t.started_at AT TIME ZONE p_tz)::integer, count(*)
    FROM agent_task_queue t JOIN agent a ON a.id = t.agent_id LEFT JOIN issue i ON i.id = t.issue_id
    WHERE a.workspace_id = p_ws AND t.started_at IS NOT NULL
      AND (t.started_at AT TIME ZONE p_tz)::date BETWEEN p_from AND p_to
    GROUP BY 1
$$;

-- rows of a report missing from the truth plus rows of the truth missing from it
CREATE FUNCTION rt_diff(p_report text, p_truth text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT (SELECT count(*) FROM (%1$s EXCEPT ALL %2$s) a) + (SELECT count(*) FROM (%2$s EXCEPT ALL %1$s) b)',
                   p_report, p_truth) INTO n;
    IF n > 0 THEN
        RAISE NOTICE 'mismatch: % <> %', p_report, p_truth;
    END IF;
    RETURN n;
END
$$;

-- every run report of one workspace, zone and range against its truth
CREATE FUNCTION rt_check(p_ws uuid, p_zone text, p_from date, p_to date) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    a text := format('%L::uuid, %L::date, %L::date, tz => %L', p_ws, p_from, p_to, p_zone);
    b text := format('%L::uuid, %L::date, %L::date, %L', p_ws, p_from, p_to, p_zone);
BEGIN
    RETURN rt_diff(format('SELECT day::text, run_seconds, runs, completed, failed, cancelled FROM usage_rollup.daily_runs(%s)', a),
                   format('SELECT * FROM truth_runs(%s, ''day'')', b))
         + rt_diff(format('SELECT agent_id::text, run_seconds, runs, completed, failed, cancelled FROM usage_rollup.runs_by_agent(%s)', a),
                   format('SELECT * FROM truth_runs(%s, ''agent'')', b))
         + rt_diff(format('SELECT day::text, status, failure_reason, tasks FROM usage_rollup.daily_outcomes(%s)', a),
                   format('SELECT * FROM truth_outcomes(%s, ''day'')', b))
         + rt_diff(format('SELECT agent_id::text, status, failure_reason, tasks FROM usage_rollup.outcomes_by_agent(%s)', a),
                   format('SELECT * FROM truth_outcomes(%s, ''agent'')', b))
         + rt_diff(format('SELECT * FROM usage_rollup.starts_by_hour(%s)', a),
                   format('SELECT * FROM truth_starts(%s)', b))
         + rt_diff(format('SELECT run_seconds, runs, completed, failed, cancelled FROM usage_rollup.kpis(%s)', a),
                   format('SELECT coalesce(sum(run_seconds), 0), coalesce(sum(runs), 0), coalesce(sum(completed), 0),
                                  coalesce(sum(failed), 0), coalesce(sum(cancelled), 0) FROM truth_runs(%s, NULL)', b));
END
$$;

-- zones x ranges: the three local days around each DST day of the data, and the
-- whole year (weeks, days and quarters of the run rollup at once)
CREATE TABLE rt_zone (zone text);
INSERT INTO rt_zone VALUES ('UTC'), ('Asia/Kolkata'), ('Asia/Kathmandu'), ('Pacific/Chatham'),
    ('Australia/Lord_Howe'), ('America/New_York'), ('America/St_Johns');
CREATE TABLE rt_day (day date);
INSERT INTO rt_day VALUES ('2025-03-09'), ('2025-04-06'), ('2025-09-28'), ('2025-10-05'), ('2025-11-02');
CREATE FUNCTION rt_phase(p_phase text) RETURNS TABLE (phase text, checks bigint, mismatches bigint) LANGUAGE sql AS $$
    SELECT p_phase, count(*), sum(rt_check(w.ws, z.zone, r.from_date, r.to_date))
    FROM rt_zone z
    CROSS JOIN (SELECT day - 1 AS from_date, day + 1 AS to_date FROM rt_day
                UNION ALL SELECT '2025-01-01', '2025-12-31') r
    CROSS JOIN (VALUES (app.uid('w1')), (app.uid('w2'))) w(ws)
$$;

-- the run rollup equals a rebuild from scratch, every width (rows missing either way)
CREATE FUNCTION rt_rebuilt() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    CREATE TEMP TABLE rt_before AS SELECT * FROM usage_rollup.task_rollup;
    PERFORM usage_rollup._attach_task_runs();
    SELECT (SELECT count(*) FROM (SELECT * FROM rt_before EXCEPT ALL SELECT * FROM usage_rollup.task_rollup) a)
         + (SELECT count(*) FROM (SELECT * FROM usage_rollup.task_rollup EXCEPT ALL SELECT * FROM rt_before) b) INTO n;
    DROP TABLE rt_before;
    RETURN n;
END
$$;

-- 3000 tasks: agents a1, a2 (w1), a3 (w2), a4 (w1, moved later); completion on a
-- candidate instant near a 15-minute edge of a UTC day around the DST days (or a
-- random day of 2025), start 0-5 hours before it or none
INSERT INTO agent_task_queue (id, agent_id, runtime_id, issue_id, status, created_at, started_at, completed_at, failure_reason)
SELECT md5('rt-' || n)::uuid,
       uid((ARRAY['a1', 'a2', 'a3', 'a4', 'a1', 'a2'])[1 + floor(rt_h('agent' || n) * 6)::int]),
       NULL, NULL, x.status, x.at - interval '6 hours',
       CASE WHEN x.status IN ('queued', 'dispatched') OR rt_h('nostart' || n) < 0.1 THEN NULL
            ELSE x.at - floor(rt_h('dur' || n) * 5 * 3600e6) * interval '1 microsecond' END,
       CASE WHEN x.status IN ('completed', 'failed', 'cancelled') THEN x.at END,
       (ARRAY['timeout', '', NULL, 'agent_error'])[1 + floor(rt_h('reason' || n) * 4)::int]
FROM (SELECT n,
             (ARRAY['completed', 'completed', 'failed', 'failed', 'cancelled', 'running', 'queued', 'dispatched'])
                 [1 + floor(rt_h('status' || n) * 8)::int] AS status,
             CASE WHEN rt_h('random-day' || n) < 0.2
                  THEN '2025-01-01'::timestamptz + floor(rt_h('day' || n) * 365 * 86400e6) * interval '1 microsecond'
                  ELSE ((SELECT day FROM rt_day OFFSET floor(rt_h('dst' || n) * 5)::int LIMIT 1) + floor(rt_h('k' || n) * 3)::int - 1)::timestamp
                       AT TIME ZONE 'UTC' + floor(rt_h('edge' || n) * 96) * interval '15 minutes'
                       + (ARRAY[interval '-1 microsecond', interval '0', interval '1 microsecond'])[1 + floor(rt_h('off' || n) * 3)::int]
             END AS at
      FROM generate_series(1, 3000) n) x;
SELECT status, count(*) AS tasks, count(started_at) AS started, count(completed_at) AS completed
FROM agent_task_queue GROUP BY 1 ORDER BY 1;
\set ECHO all

-- (a) after attach: the run rollup was built by attach()
SELECT usage_rollup._attach_task_runs();
SELECT count(*) > 0 AS built FROM usage_rollup.task_rollup;
SELECT * FROM rt_phase('a');

-- (b) changes, no tick
UPDATE agent_task_queue SET status = 'completed', completed_at = started_at + interval '20 minutes'
WHERE status = 'running' AND rt_h('finish' || id) < 0.5;
UPDATE agent_task_queue SET status = 'failed', failure_reason = CASE WHEN rt_h('why' || id) < 0.5 THEN '' ELSE 'oom' END
WHERE status = 'completed' AND rt_h('fail' || id) < 0.1;
UPDATE agent_task_queue SET failure_reason = NULL WHERE status = 'failed' AND rt_h('unreason' || id) < 0.2;
UPDATE agent_task_queue SET completed_at = completed_at + interval '1 day' - interval '1 microsecond'
WHERE completed_at IS NOT NULL AND rt_h('late' || id) < 0.05;
UPDATE agent_task_queue SET started_at = NULL WHERE started_at IS NOT NULL AND rt_h('unstart' || id) < 0.03;
UPDATE agent_task_queue SET started_at = completed_at - interval '1 hour' WHERE started_at IS NULL AND completed_at IS NOT NULL
  AND rt_h('restart' || id) < 0.3;
UPDATE agent_task_queue SET status = 'running', completed_at = NULL WHERE status = 'cancelled' AND rt_h('revive' || id) < 0.1;
UPDATE agent_task_queue SET runtime_id = uid('r1') WHERE rt_h('bind' || id) < 0.1;   -- not a key: queues nothing
DELETE FROM agent_task_queue WHERE rt_h('drop' || id) < 0.03;
INSERT INTO agent_task_queue (id, agent_id, status, started_at, completed_at, failure_reason)
SELECT md5('rt-new-' || n)::uuid, uid('a1'), 'failed', '2025-03-08 23:59:59.999999+00', '2025-03-09 05:00+00', NULL
FROM generate_series(1, 20) n;
UPDATE agent SET workspace_id = uid('w2') WHERE id = uid('a4');
SELECT count(*) > 0 AS queued FROM usage_rollup.dirty_task_bucket;
SELECT * FROM rt_phase('b');
-- an agent filter (and project, runtime) reads the tasks table: same answers
SELECT sum(rt_diff(format('SELECT day::text, run_seconds, runs, completed, failed, cancelled FROM usage_rollup.daily_runs(%L::uuid, ''2025-01-01'', ''2025-12-31'', tz => %L, agent_id => %L::uuid)', uid('w1'), z.zone, uid('a1')),
                   format('SELECT (completed_at AT TIME ZONE %L)::date::text, coalesce(sum(extract(epoch FROM completed_at - started_at)), 0), count(*), count(*) FILTER (WHERE status = ''completed''), count(*) FILTER (WHERE status = ''failed''), count(*) FILTER (WHERE status = ''cancelled'') FROM agent_task_queue WHERE agent_id = %L::uuid AND status IN (''completed'', ''failed'', ''cancelled'') AND started_at IS NOT NULL AND completed_at IS NOT NULL AND (completed_at AT TIME ZONE %L)::date BETWEEN ''2025-01-01'' AND ''2025-12-31'' GROUP BY 1', z.zone, uid('a1'), z.zone)))
       AS agent_filter_mismatches
FROM rt_zone z;

-- (c) a tick drains the queue; the reports are still exact, the rollup is a rebuild's
SELECT usage_rollup.tick() >= 0 AS ticked;
SELECT count(*) AS queued FROM usage_rollup.dirty_task_bucket;
SELECT * FROM rt_phase('c');
SELECT rt_rebuilt() AS rows_differing_from_rebuild;
-- the unfiltered reports do read the run rollup (a changed row shows), the filtered
-- ones the tasks table (it does not)
BEGIN;
UPDATE usage_rollup.task_rollup SET tasks = tasks + 1000 WHERE workspace_id = uid('w1') AND kind = 'c' AND agent_id IS NULL;
SELECT (SELECT sum(tasks) FROM usage_rollup.daily_outcomes(uid('w1'), '2025-01-01', '2025-12-31'))
     - (SELECT sum(tasks) FROM truth_outcomes(uid('w1'), '2025-01-01', '2025-12-31', 'UTC', 'day')) > 0 AS reads_rollup,
       (SELECT sum(tasks) FROM usage_rollup.daily_outcomes(uid('w1'), '2025-01-01', '2025-12-31', agent_id => uid('a1')))
     = (SELECT count(*) FROM agent_task_queue WHERE agent_id = uid('a1') AND status IN ('completed', 'failed', 'cancelled')
          AND completed_at >= '2025-01-01' AND completed_at < '2026-01-01') AS filtered_reads_tasks;
ROLLBACK;

-- (d) more: an agent deleted (its tasks cascade), a task re-keyed, reasons changed,
-- everything completed a minute later; a second tick
DELETE FROM agent WHERE id = uid('a2');
UPDATE agent_task_queue SET id = md5('rt-rekeyed')::uuid WHERE id = (SELECT id FROM agent_task_queue WHERE completed_at IS NOT NULL ORDER BY id LIMIT 1);
UPDATE agent_task_queue SET failure_reason = 'timeout' WHERE status = 'failed' AND rt_h('re-reason' || id) < 0.3;
UPDATE agent_task_queue SET completed_at = completed_at + interval '1 minute' WHERE rt_h('minute' || id) < 0.2;
SELECT * FROM rt_phase('d-before-tick');
SELECT usage_rollup.tick() >= 0 AS ticked;
SELECT * FROM rt_phase('d');
SELECT rt_rebuilt() AS rows_differing_from_rebuild;
-- no row of the run rollup is left at zero
SELECT count(*) AS empty_rows FROM usage_rollup.task_rollup WHERE tasks = 0;
