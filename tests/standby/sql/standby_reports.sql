-- Reports on a real hot standby (SPEC §4): a streaming replica of the test cluster
-- made with pg_basebackup -R (bin/lib.sh start_standby, port UR_STANDBY_PORT). This
-- script writes on the primary, waits until the standby has replayed the writes,
-- and switches to the standby with \c to read there:
--   a  after attach, backfill and a tick on the primary
--   b  after seeded inserts, corrections, deletes, re-attributions and task
--      changes on the primary, with no tick (the raw rows replicated since the
--      last replicated tick must be read as on the primary: freshness)
--   c  after a tick on the primary
-- In each phase every report of SPEC §8 (the twelve of a range in every zone of
-- the list, over the three local days around five 2025 DST changes and over the
-- whole span, with project, runtime and agent filters; issue_usage of every issue)
-- equals its §4.1 ground truth (tests/fixtures/report_truth.sql, task_truth.sql)
-- computed on the standby from the replicated raw rows. The usage and task times
-- are crowded around the local midnights of those zones (+-1 us, +-1 s, +-7 min).
-- Then on the standby: status, lag_seconds(), verify(), resolve_tz() and
-- local_today() answer; tick(), backfill(), attach(), detach(), schedule(),
-- unschedule() and freeze() refuse with SQLSTATE 25006 and record nothing.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
-- every commit of this session flushes its WAL (the test cluster runs with
-- synchronous_commit = off), so the standby is waited for up to the flush position
SET synchronous_commit = on;
\set ECHO none
SET client_min_messages = warning;
\ir ../fixtures/report_truth.sql
\ir ../fixtures/task_truth.sql

-- Wait until this standby has replayed the primary's WAL up to p_lsn. A procedure
-- that commits between polls, so it holds no snapshot that replay would wait for.
CREATE PROCEDURE app.sb_wait(p_lsn pg_lsn) LANGUAGE plpgsql AS $$
DECLARE
    v_polls int := 0;
BEGIN
    IF NOT pg_is_in_recovery() THEN
        RAISE EXCEPTION 'app.sb_wait() runs on the standby, and this server is not in recovery';
    END IF;
    WHILE pg_last_wal_replay_lsn() < p_lsn LOOP
        v_polls := v_polls + 1;
        IF v_polls > 6000 THEN
            RAISE EXCEPTION 'the standby has not replayed % after 60 s (at %)', p_lsn, pg_last_wal_replay_lsn();
        END IF;
        COMMIT;
        PERFORM pg_sleep(0.01);
    END LOOP;
END
$$;

-- the reports of a range and the filters each takes (one grouped by a filter's key drops it)
CREATE TABLE app.sb_reports (ord int PRIMARY KEY, report text NOT NULL, filters text[] NOT NULL);
INSERT INTO app.sb_reports VALUES
    (1, 'daily_usage', '{project_id,runtime_id,agent_id}'), (2, 'usage_by_agent', '{project_id,runtime_id}'),
    (3, 'usage_by_project', '{runtime_id,agent_id}'), (4, 'usage_by_runtime', '{project_id,agent_id}'),
    (5, 'usage_summary', '{project_id,runtime_id,agent_id}'), (6, 'usage_by_hour', '{project_id,runtime_id,agent_id}'),
    (7, 'daily_runs', '{project_id,runtime_id,agent_id}'), (8, 'runs_by_agent', '{project_id,runtime_id}'),
    (9, 'daily_outcomes', '{project_id,runtime_id,agent_id}'), (10, 'outcomes_by_agent', '{project_id,runtime_id}'),
    (11, 'starts_by_hour', '{project_id,runtime_id,agent_id}'), (12, 'kpis', '{project_id,runtime_id,agent_id}');
CREATE TABLE app.sb_zones (zone text PRIMARY KEY);
INSERT INTO app.sb_zones VALUES ('UTC'), ('Asia/Kolkata'), ('Asia/Kathmandu'), ('Pacific/Chatham'),
                                ('Australia/Lord_Howe'), ('America/New_York');
-- 2025 DST changes: New York (03-09, 11-02), Lord Howe (04-06, 10-05), Chatham (09-28)
CREATE TABLE app.sb_days (day date PRIMARY KEY);
INSERT INTO app.sb_days VALUES ('2025-03-09'), ('2025-04-06'), ('2025-09-28'), ('2025-10-05'), ('2025-11-02');
CREATE TABLE app.sb_filters (filter text, value uuid);

-- One report call against its truth, read-only (it runs on the standby): the rows
-- of the report, and the rows only in one of the two (a NOTICE names the call).
CREATE FUNCTION app.sb_check(p_report text, p_zone text, p_from date, p_to date, p_ws uuid,
                             p_filter text DEFAULT NULL, p_value uuid DEFAULT NULL,
                             OUT report_rows bigint, OUT mismatches bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_args text := 'workspace_id => $1, from_date => $2, to_date => $3, tz => $4';
BEGIN
    IF p_filter IS NOT NULL THEN
        v_args := v_args || format(', %I => $5', p_filter);
    END IF;
    EXECUTE format('WITH r AS MATERIALIZED (SELECT * FROM usage_rollup.%1$I(%2$s)),
                         t AS MATERIALIZED (SELECT * FROM app.%3$I(%2$s))
                    SELECT (SELECT count(*) FROM r),
                           (SELECT count(*) FROM (SELECT * FROM r EXCEPT ALL SELECT * FROM t) a)
                         + (SELECT count(*) FROM (SELECT * FROM t EXCEPT ALL SELECT * FROM r) b)',
                   p_report, v_args, 'truth_' || p_report)
    INTO report_rows, mismatches USING p_ws, p_from, p_to, p_zone, p_value;
    IF mismatches > 0 THEN
        RAISE NOTICE '%', format('standby: %s in %s for %s .. %s (%s) differs from the truth in %s rows; replay: '
                                 'SELECT * FROM usage_rollup.%s(%L, %L, %L, tz => %L%s) EXCEPT ALL SELECT * FROM app.truth_%s(...)',
            p_report, p_zone, p_from, p_to, coalesce(p_filter || ' ' || app.label(p_value), 'no filter'), mismatches,
            p_report, p_ws, p_from, p_to, p_zone, coalesce(format(', %s => %L', p_filter, p_value), ''), p_report);
    END IF;
END
$$;

-- One phase: every zone, every report, over the three local days around each DST
-- change unfiltered and over the whole span unfiltered and with each filter it
-- takes; issue_usage of every issue.
CREATE FUNCTION app.sb_phase(p_phase text, p_ws uuid)
RETURNS TABLE (phase text, calls bigint, report_rows bigint, mismatches bigint)
LANGUAGE sql STABLE AS $$
    WITH calls AS (
        SELECT p.report, z.zone, d.day - 1 AS from_date, d.day + 1 AS to_date, NULL::text AS filter, NULL::uuid AS value
        FROM app.sb_reports p, app.sb_zones z, app.sb_days d
        UNION ALL
        SELECT p.report, z.zone, '2025-03-01', '2025-11-30', f.filter, f.value
        FROM app.sb_reports p, app.sb_zones z,
             (SELECT NULL::text AS filter, NULL::uuid AS value UNION ALL SELECT * FROM app.sb_filters) f
        WHERE f.filter IS NULL OR f.filter = ANY (p.filters)
    ), issues AS (
        SELECT (SELECT count(*) FROM (SELECT * FROM usage_rollup.issue_usage(i.id) EXCEPT ALL SELECT * FROM app.truth_issue_usage(i.id)) a)
             + (SELECT count(*) FROM (SELECT * FROM app.truth_issue_usage(i.id) EXCEPT ALL SELECT * FROM usage_rollup.issue_usage(i.id)) b) AS n,
               (SELECT count(*) FROM usage_rollup.issue_usage(i.id)) AS rows
        FROM app.issue i
    )
    SELECT p_phase, count(*) + (SELECT count(*) FROM issues), sum(r.report_rows) + (SELECT sum(rows) FROM issues),
           sum(r.mismatches) + (SELECT sum(n) FROM issues)
    FROM calls c CROSS JOIN LATERAL app.sb_check(c.report, c.zone, c.from_date, c.to_date, p_ws, c.filter, c.value) r
$$;
RESET client_min_messages;
\set ECHO all

-- The world: w1 (a1, a2, a4; r1, r2; p1, p2; i1, i2 with projects, i3 without, i4)
-- and w2 (a3). Candidate instants: every local midnight of the zones on the days
-- around the DST changes, +-1 us, +-1 s and +-7 minutes, and the UTC bucket edges
-- of those days; tasks, statuses, times and usage rows picked from them by hash.
SELECT app.make_world();
INSERT INTO agent (id, workspace_id) VALUES (uid('a4'), uid('w1'));
INSERT INTO issue (id, workspace_id, project_id) VALUES (uid('i4'), uid('w1'), uid('p2'));
INSERT INTO app.sb_filters VALUES ('project_id', uid('p1')), ('runtime_id', uid('r1')), ('agent_id', uid('a1'));
CREATE TABLE sb_instant AS
SELECT row_number() OVER (ORDER BY at, label) AS k, at
FROM (SELECT DISTINCT (d.day + k)::timestamp AT TIME ZONE z.zone + o.off AS at, z.zone || o.label AS label
      FROM app.sb_days d, generate_series(-1, 1) k, app.sb_zones z,
           (VALUES ('-1us', interval '-1 microsecond'), ('0', interval '0'), ('+1us', interval '1 microsecond'),
                   ('-1s', interval '-1 second'), ('+1s', interval '1 second'), ('-7m', interval '-7 minutes'),
                   ('+7m', interval '7 minutes')) o(label, off)
      UNION ALL
      SELECT DISTINCT (d.day + k)::timestamp AT TIME ZONE 'UTC' + q * interval '15 minutes', 'edge'
      FROM app.sb_days d, generate_series(-1, 1) k, generate_series(0, 95, 5) q) i;
SELECT count(*) AS instants FROM sb_instant;
CREATE FUNCTION sb_at(p_key text) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT at FROM sb_instant WHERE k = 1 + floor(app.rz_h(p_key) * (SELECT count(*) FROM sb_instant))::int
$$;
INSERT INTO agent_task_queue (id, agent_id, runtime_id, issue_id, status, started_at, completed_at, failure_reason)
SELECT md5('sb-task-' || n)::uuid,
       CASE WHEN n > 400 THEN uid('a3') ELSE uid((ARRAY['a1', 'a2', 'a4', 'a1'])[1 + floor(rz_h('agent' || n) * 4)::int]) END,
       (ARRAY[NULL, uid('r1'), uid('r2')])[1 + floor(rz_h('runtime' || n) * 3)::int],
       (ARRAY[NULL, uid('i1'), uid('i2'), uid('i3'), uid('i4')])[1 + floor(rz_h('issue' || n) * 5)::int],
       x.status,
       CASE WHEN x.status = 'queued' OR rz_h('nostart' || n) < 0.1 THEN NULL
            ELSE x.at - floor(rz_h('duration' || n) * 5 * 3600e6) * interval '1 microsecond' END,
       CASE WHEN x.status IN ('completed', 'failed', 'cancelled') THEN x.at END,
       (ARRAY['timeout', '', NULL, 'agent_error'])[1 + floor(rz_h('reason' || n) * 4)::int]
FROM generate_series(1, 460) n
CROSS JOIN LATERAL (SELECT (ARRAY['completed', 'completed', 'failed', 'cancelled', 'running', 'queued'])
                               [1 + floor(rz_h('status' || n) * 6)::int] AS status,
                           sb_at('done' || n) AS at) x;
CREATE FUNCTION sb_insert_usage(p_salt text, p_rows int) RETURNS bigint LANGUAGE sql AS $$
    WITH ins AS (
        INSERT INTO app.task_usage (task_id, provider, model, input_tokens, output_tokens, cache_read_tokens,
                                    cache_write_tokens, created_at, updated_at, cost_usd_ticks)
        SELECT md5('sb-task-' || (1 + floor(app.rz_h(p_salt || 'task' || n) * 460)::int))::uuid,
               (ARRAY['claude', 'claude', 'Claude', 'openai', 'OpenAI', 'google'])[1 + floor(app.rz_h(p_salt || 'provider' || n) * 6)::int],
               (ARRAY['opus', 'sonnet', 'gpt-4o', 'gemini'])[1 + floor(app.rz_h(p_salt || 'model' || n) * 4)::int],
               1 + floor(app.rz_h(p_salt || 'in' || n) * 100000)::bigint, floor(app.rz_h(p_salt || 'out' || n) * 10000)::bigint,
               floor(app.rz_h(p_salt || 'cr' || n) * 50000)::bigint, floor(app.rz_h(p_salt || 'cw' || n) * 5000)::bigint,
               sb_at(p_salt || 'at' || n),
               CASE WHEN app.rz_h(p_salt || 'legacy' || n) < 0.05 THEN NULL ELSE now() END,
               CASE WHEN app.rz_h(p_salt || 'cost' || n) < 0.3 THEN NULL ELSE floor(app.rz_h(p_salt || 'price' || n) * 1e9)::bigint END
        FROM generate_series(1, p_rows) n
        ORDER BY n
        ON CONFLICT (task_id, provider, model) DO NOTHING
        RETURNING 1)
    SELECT count(*) FROM ins
$$;
SELECT sb_insert_usage('a', 2400) AS usage_rows;
SELECT count(*) AS tasks, count(started_at) AS started, count(completed_at) AS completed FROM agent_task_queue;

SET client_min_messages = warning;
SELECT usage_rollup.attach(users => 'app.user');
CALL usage_rollup.backfill();
RESET client_min_messages;
SELECT usage_rollup.tick() >= 0 AS ticked;
SELECT app.drift() AS drift;
INSERT INTO "user" (id, timezone) VALUES (uid('viewer'), 'Asia/Kathmandu');
-- what the standby reads below, captured here (app.uid() writes; the standby refuses that)
SELECT uid('w1') AS w1, uid('w2') AS w2, uid('viewer') AS viewer, uid('a1') AS a1, uid('i1') AS i1 \gset
SELECT current_setting('port') AS primary_port \gset
\getenv standby_port UR_STANDBY_PORT
SELECT pg_current_wal_flush_lsn() AS lsn \gset

-- (a) on the standby, after a tick on the primary
\ir ../fixtures/on_standby.sql
SELECT pg_is_in_recovery() AS on_standby;
SELECT * FROM app.sb_phase('a', :'w1');
SELECT * FROM app.sb_phase('a-w2', :'w2');

-- (b) on the primary: changes, no tick
\ir ../fixtures/on_primary.sql
SELECT sb_insert_usage('b', 400) AS inserted;
UPDATE task_usage SET input_tokens = input_tokens + 1000,
                      cost_usd_ticks = CASE WHEN cost_usd_ticks IS NULL THEN 5 END, updated_at = now()
WHERE rz_h('fix' || task_id || provider || model) < 0.08;
UPDATE task_usage SET output_tokens = output_tokens + 1 WHERE rz_h('silent-fix' || task_id || provider || model) < 0.02;
-- moved across a local midnight by a microsecond either way
UPDATE task_usage SET created_at = created_at + CASE WHEN rz_h('dir' || task_id || provider || model) < 0.5 THEN interval '1 microsecond' ELSE interval '-1 microsecond' END,
                      updated_at = now()
WHERE rz_h('move' || task_id || provider || model) < 0.05;
UPDATE task_usage SET provider = upper(provider), updated_at = now()
WHERE rz_h('upper' || task_id || provider || model) < 0.03 AND provider = lower(provider)
  AND NOT EXISTS (SELECT 1 FROM task_usage x WHERE x.task_id = task_usage.task_id AND x.provider = upper(task_usage.provider)
                                               AND x.model = task_usage.model);
DELETE FROM task_usage WHERE rz_h('delete' || task_id || provider || model) < 0.05;
UPDATE agent_task_queue SET runtime_id = CASE WHEN runtime_id IS NULL THEN uid('r1') WHEN runtime_id = uid('r1') THEN uid('r2') END
WHERE rz_h('reassign' || id) < 0.1;
UPDATE agent_task_queue SET issue_id = uid('i1') WHERE issue_id IS NULL AND rz_h('link' || id) < 0.2;
UPDATE issue SET project_id = uid('p1') WHERE id = uid('i3');
UPDATE issue SET project_id = NULL WHERE id = uid('i2');
UPDATE agent_task_queue SET status = 'completed', completed_at = sb_at('finish' || id)
WHERE status = 'running' AND rz_h('finish' || id) < 0.5;
UPDATE agent_task_queue SET status = 'failed', failure_reason = CASE WHEN rz_h('why' || id) < 0.5 THEN '' ELSE 'oom' END
WHERE status = 'completed' AND rz_h('fail' || id) < 0.1;
UPDATE agent_task_queue SET completed_at = completed_at + interval '1 microsecond' WHERE completed_at IS NOT NULL AND rz_h('late' || id) < 0.05;
DELETE FROM agent_task_queue WHERE rz_h('drop' || id) < 0.02;
UPDATE agent SET workspace_id = uid('w1') WHERE id = uid('a3');
SELECT (SELECT count(*) FROM usage_rollup.dirty_bucket) > 0 AS queued,
       (SELECT count(*) FROM usage_rollup.dirty_task_bucket) > 0 AS tasks_queued;
SELECT count(*) AS tick_runs FROM usage_rollup.tick_run \gset
SELECT pg_current_wal_flush_lsn() AS lsn \gset

-- on the standby: fresh without a tick
\ir ../fixtures/on_standby.sql
SELECT * FROM app.sb_phase('b', :'w1');
SELECT * FROM app.sb_phase('b-w2', :'w2');
-- verify() lists the keys a tick has not caught up with yet
SELECT count(*) > 0 AS drift_listed FROM usage_rollup.verify('-infinity', 'infinity');

-- what writes refuses here, at once, with SQLSTATE 25006, and records nothing
SELECT usage_rollup.tick();
\echo :LAST_ERROR_SQLSTATE
CALL usage_rollup.backfill();
\echo :LAST_ERROR_SQLSTATE
CALL usage_rollup.backfill(from_ts => '2025-03-01', to_ts => '2025-03-02');
\echo :LAST_ERROR_SQLSTATE
SELECT usage_rollup.attach(users => 'app.user');
\echo :LAST_ERROR_SQLSTATE
SELECT usage_rollup.detach();
\echo :LAST_ERROR_SQLSTATE
SELECT usage_rollup.schedule('* * * * *');
\echo :LAST_ERROR_SQLSTATE
SELECT usage_rollup.unschedule();
\echo :LAST_ERROR_SQLSTATE
SELECT usage_rollup.freeze('2025-03-09');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) = :tick_runs AS no_run_recorded, bool_and(error IS NULL) AS no_error_recorded FROM usage_rollup.tick_run;
SELECT last_error IS NULL AS no_last_error FROM usage_rollup.tick_state;

-- (c) on the primary: a tick, and history frozen (the reports below then read the
-- frozen tasks and buckets before the horizon, on the standby)
\ir ../fixtures/on_primary.sql
SELECT usage_rollup.tick() > 0 AS ticked;
SELECT app.drift() AS drift;
SELECT usage_rollup.freeze('2025-03-09 13:07+00') AS frozen_before;
SELECT watermark AS primary_watermark, last_error IS NULL AS no_last_error FROM usage_rollup.tick_state \gset
SELECT pg_current_wal_flush_lsn() AS lsn \gset

\ir ../fixtures/on_standby.sql
SELECT * FROM app.sb_phase('c', :'w1');
SELECT count(*) AS drift FROM usage_rollup.verify('-infinity', 'infinity');
SELECT count(*) AS drift_of_a_range FROM usage_rollup.verify('2025-03-08', '2025-03-11');
-- the helpers and the status view
SELECT watermark = :'primary_watermark' AS replicated_watermark, queue_depth, last_error IS NULL AS no_last_error,
       lag_seconds IS NOT NULL AS has_lag, attached
FROM usage_rollup.status;
SELECT usage_rollup.lag_seconds() IS NOT NULL AS lag_seconds;
SELECT usage_rollup.resolve_tz('asia/kolkata') AS zone, usage_rollup.resolve_tz(viewer_id => :'viewer') AS viewer_zone;
SELECT usage_rollup.local_today('Pacific/Chatham') = (now() AT TIME ZONE 'Pacific/Chatham')::date AS chatham_today,
       usage_rollup.local_today(viewer_id => :'viewer') = (now() AT TIME ZONE 'Asia/Kathmandu')::date AS viewer_today;
SELECT usage_rollup.resolve_tz('UTC+8');
-- a report with a viewer's zone equals the one with that zone
SELECT (SELECT count(*) FROM (SELECT * FROM usage_rollup.daily_usage(:'w1', '2025-03-08', '2025-11-03', viewer_id => :'viewer')
                              EXCEPT ALL SELECT * FROM app.truth_daily_usage(:'w1', '2025-03-08', '2025-11-03', 'Asia/Kathmandu')) x) AS viewer_mismatches;
-- a report in a transaction leaves it without a transaction id (on a standby none can be assigned)
BEGIN;
SELECT count(*) > 0 AS rows FROM usage_rollup.kpis(:'w1', '2025-03-01', '2025-11-30', tz => 'Asia/Kolkata');
SELECT txid_current_if_assigned() IS NULL AS no_transaction_id;
COMMIT;

-- back on the primary: the standby's refusals left nothing there either
\ir ../fixtures/on_primary.sql
SELECT count(*) FILTER (WHERE error IS NOT NULL) AS failed_runs FROM usage_rollup.tick_run;
SET client_min_messages = warning;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
