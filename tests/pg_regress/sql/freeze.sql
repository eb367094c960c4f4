-- Frozen history (SPEC §3): freeze(before) moves the horizon to the bucket at or
-- before it, never back and never past changes no tick has applied; after it,
-- retention (a DROP of old partitions, a TRUNCATE, a DELETE) and corrections, late
-- rows and re-attributions before the horizon change neither the rollup nor any
-- report; each such change is counted; verify() starts at the horizon; backfill()
-- refuses a range before it. Every report of §8, in zones whose midnights are not
-- whole hours and across DST, over ranges before, across and after the horizon,
-- equals the §4.1 ground truth over the raw rows as they are plus the history as
-- it was when frozen. The reports run on the retained rows; the truth runs in a
-- transaction that puts the frozen rows back and is rolled back.
\set SHOW_CONTEXT never
\set ECHO none
SET client_min_messages = warning;
\ir ../fixtures/reset.sql
CREATE EXTENSION usage_rollup;
\ir ../fixtures/reference_schema.sql
\set usage_partition_by 'RANGE (created_at)'
\set usage_keys 'PRIMARY KEY (id, created_at)'
\ir ../fixtures/partitioned_usage.sql
CREATE TABLE app.usage_w1 PARTITION OF app.task_usage FOR VALUES FROM ('2025-09-01') TO ('2025-09-08');
CREATE TABLE app.usage_w2 PARTITION OF app.task_usage FOR VALUES FROM ('2025-09-08') TO ('2025-09-15');
CREATE TABLE app.usage_w3 PARTITION OF app.task_usage FOR VALUES FROM ('2025-09-15') TO ('2025-09-22');
CREATE TABLE app.usage_w4 PARTITION OF app.task_usage FOR VALUES FROM ('2025-09-22') TO ('2025-09-29');
CREATE TABLE app.usage_default PARTITION OF app.task_usage DEFAULT;
\ir ../fixtures/helpers.sql
\ir ../fixtures/report_truth.sql
\ir ../fixtures/task_truth.sql
RESET client_min_messages;
\set ECHO all
SET timezone = 'UTC';
SET usage_rollup.safety_lag = 0;
SET usage_rollup.max_window = 0;

-- 27 days of tasks, their usage rows crowded around the local midnights of the
-- zones below (Kolkata 18:30, Kathmandu 18:15, Chatham 11:45/10:45, New York
-- 04:00/05:00, Lord Howe 13:00/13:30 UTC); every fifth task has a second model a
-- few days later (a task on both sides of the horizon), every 23rd the same
-- provider in two letter cases.
SELECT app.make_world();
INSERT INTO app.agent_task_queue (id, agent_id, runtime_id, issue_id, status, created_at, started_at, completed_at)
SELECT app.uid('t' || i), app.uid((ARRAY['a1', 'a2', 'a3'])[1 + i % 3]),
       CASE i % 3 WHEN 0 THEN NULL ELSE app.uid('r' || (1 + i % 2)) END,
       CASE WHEN i % 3 = 0 OR i % 4 = 0 THEN NULL ELSE app.uid('i' || (1 + i % 3)) END,
       (ARRAY['completed', 'failed', 'cancelled', 'running'])[1 + i % 4], ts, ts,
       CASE WHEN i % 4 < 3 THEN ts + make_interval(mins => 5 + i % 50) END
FROM (SELECT i, timestamptz '2025-09-01 00:00+00' + make_interval(days => i % 27)
                + (ARRAY['18:25', '18:31', '18:14', '18:16', '11:44', '10:46', '03:59', '05:01', '13:29'])[1 + i % 9]::interval
                + make_interval(mins => (i / 27) % 5 * 7 - 14) AS ts
      FROM generate_series(1, 600) i) g;
INSERT INTO app.task_usage (task_id, provider, model, input_tokens, output_tokens, cost_usd_ticks, created_at, updated_at)
SELECT t.id, m.provider, m.model, 100 + i, 10 + i % 7, CASE WHEN i % 6 <> 0 THEN 1000 + i END,
       t.started_at + m.later, t.started_at + m.later
FROM (SELECT t.*, row_number() OVER (ORDER BY t.started_at, t.id) AS i FROM app.agent_task_queue t) t
CROSS JOIN LATERAL (VALUES ('claude', 'sonnet', interval '0'),
                           ('openai', 'gpt-4o', make_interval(days => 1 + t.i::int % 3, hours => 3)),
                           ('Claude', 'sonnet', interval '11 minutes')) m (provider, model, later)
WHERE m.provider = 'claude' OR (m.provider = 'openai' AND t.i % 5 = 0) OR (m.provider = 'Claude' AND t.i % 23 = 0);

SET client_min_messages = warning;
SELECT usage_rollup.attach(usage => 'app.task_usage', tasks => 'app.agent_task_queue', agents => 'app.agent',
                           issues => 'app.issue');
CALL usage_rollup.backfill();
RESET client_min_messages;
SELECT usage_rollup.tick() >= 0 AS ticked, app.drift() AS drift;
SELECT frozen_before, frozen_changes_ignored FROM usage_rollup.status;

-- Bad input: a clear error, nothing frozen.
\set VERBOSITY default
SELECT usage_rollup.freeze(NULL);
SELECT usage_rollup.freeze('infinity');
SELECT usage_rollup.freeze('-infinity');
\set VERBOSITY terse

-- A change no tick has applied yet stops the horizon, which says so; the next
-- tick applies it, and the horizon moves on.
DELETE FROM app.task_usage WHERE task_id = app.uid('t30');
SELECT usage_rollup.freeze('2025-09-15 10:07:31+00');
SELECT usage_rollup.tick() >= 0 AS ticked;
SELECT usage_rollup.freeze('2025-09-15 10:07:31+00');
-- never back: an earlier value is a no-op that returns the horizon in force
SELECT usage_rollup.freeze('2025-09-10');
SELECT frozen_before, frozen_changes_ignored FROM usage_rollup.status;
-- the task days before the horizon's UTC day are sealed: kpis reads none of
-- their raw rows
SELECT count(*) AS unsealed_days FROM usage_rollup.key_task_stale WHERE bucket_start < '2025-09-15 00:00+00';

-- The history as frozen, for the ground truth below.
CREATE TABLE app.kept_usage AS SELECT * FROM app.task_usage WHERE created_at < '2025-09-15 10:00+00';
CREATE TABLE app.kept_tasks AS SELECT * FROM app.agent_task_queue WHERE started_at < '2025-09-15 10:00+00';

-- Retention and changes on the frozen side: a truncated and dropped partition, a
-- detached one, a DELETE of part of the horizon's week, corrections, a late row
-- (into the DEFAULT partition), a re-attributed task and deleted tasks, all
-- before the horizon.
TRUNCATE app.usage_w1;
DROP TABLE app.usage_w1;
ALTER TABLE app.task_usage DETACH PARTITION app.usage_w2;
DELETE FROM app.task_usage WHERE created_at < '2025-09-15 10:00+00' AND input_tokens % 2 = 0;
UPDATE app.task_usage SET input_tokens = input_tokens + 1000, updated_at = now()
WHERE created_at < '2025-09-15 10:00+00' AND input_tokens % 3 = 0;
INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at)
VALUES (app.uid('t1'), 'claude', 'opus', 5, '2025-09-14 18:31+00');
UPDATE app.agent_task_queue SET runtime_id = NULL, agent_id = app.uid('a2')
WHERE id = (SELECT id FROM app.agent_task_queue WHERE agent_id = app.uid('a1') AND completed_at < '2025-09-12'
            ORDER BY completed_at DESC LIMIT 1);
DELETE FROM app.agent_task_queue WHERE completed_at < '2025-09-09';
-- and the live side goes on: new rows (of tasks that are kept), a correction, a delete
INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at)
SELECT t.id, 'claude', 'haiku', t.i, timestamptz '2025-09-15 10:00+00' + make_interval(mins => t.i::int * 17)
FROM (SELECT id, row_number() OVER (ORDER BY started_at DESC, id) AS i FROM app.agent_task_queue) t
WHERE t.i <= 60;
UPDATE app.task_usage SET input_tokens = input_tokens + 7, updated_at = now()
WHERE created_at >= '2025-09-15 10:00+00' AND input_tokens % 5 = 0;
DELETE FROM app.task_usage WHERE created_at >= '2025-09-20' AND input_tokens % 4 = 1;
SELECT usage_rollup.tick() >= 0 AS ticked;
-- every change before the horizon was dropped and counted; verify() finds no
-- drift (it compares from the horizon on); the queues are empty
SELECT frozen_before, frozen_changes_ignored, app.drift() AS drift,
       queue_depth, task_queue_depth FROM usage_rollup.status;
-- the frozen rollup holds what the raw rows were; the retained rows do not
SELECT (SELECT sum(input_tokens) FROM usage_rollup.rollup WHERE bucket_start < '2025-09-15 10:00+00')
     = (SELECT sum(input_tokens) FROM app.kept_usage) AS rollup_kept_history,
       (SELECT count(*) FROM app.task_usage WHERE created_at < '2025-09-15 10:00+00') AS retained_rows;

-- Every report, against the truth over the retained rows plus the frozen history.
-- The reports' rows first (on the rows as they are now), then, in a transaction
-- that puts the frozen history back and is rolled back, the truth.
CREATE TABLE app.fz_call (id serial PRIMARY KEY, report text, zone text, from_date date, to_date date, agent text);
INSERT INTO app.fz_call (report, zone, from_date, to_date, agent)
SELECT r.report, z.zone, g.from_date, g.to_date, f.agent
FROM unnest(ARRAY['daily_usage', 'usage_by_agent', 'usage_by_project', 'usage_by_runtime', 'usage_summary',
                  'usage_by_hour', 'daily_runs', 'runs_by_agent', 'daily_outcomes', 'outcomes_by_agent',
                  'starts_by_hour', 'kpis']) r (report)
CROSS JOIN unnest(ARRAY['UTC', 'Asia/Kolkata', 'Asia/Kathmandu', 'Pacific/Chatham', 'America/New_York',
                        'Australia/Lord_Howe']) z (zone)
CROSS JOIN (VALUES (date '2025-09-01', date '2025-09-10'), ('2025-09-12', '2025-09-17'), ('2025-09-15', '2025-09-15'),
                   ('2025-09-16', '2025-09-30'), ('2025-08-31', '2025-09-30')) g (from_date, to_date)
CROSS JOIN (VALUES (NULL), ('a1')) f (agent)
WHERE f.agent IS NULL OR r.report IN ('daily_usage', 'usage_by_project', 'daily_runs', 'kpis');
CREATE FUNCTION app.fz_rows(p_prefix text, p_call app.fz_call) RETURNS SETOF jsonb LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT to_jsonb(r) FROM %s%I(workspace_id => $1, from_date => $2, to_date => $3, tz => $4%s) r',
        p_prefix, p_call.report,
        CASE WHEN p_call.agent IS NOT NULL THEN ', agent_id => $5' ELSE '' END)
    USING app.uid('w1'), p_call.from_date, p_call.to_date, p_call.zone, app.uid(coalesce(p_call.agent, '-'));
END
$$;
CREATE TABLE app.fz_got AS
SELECT c.id, x.row FROM app.fz_call c CROSS JOIN LATERAL app.fz_rows('usage_rollup.', c) x (row);
SELECT count(DISTINCT id) AS calls_with_rows, count(*) AS report_rows FROM app.fz_got;

BEGIN;
SET LOCAL client_min_messages = warning;
DELETE FROM app.task_usage WHERE created_at < '2025-09-15 10:00+00';
INSERT INTO app.task_usage SELECT * FROM app.kept_usage;
DELETE FROM app.agent_task_queue WHERE started_at < '2025-09-15 10:00+00';
INSERT INTO app.agent_task_queue SELECT * FROM app.kept_tasks;
CREATE TEMP TABLE fz_truth ON COMMIT DROP AS
SELECT c.id, x.row FROM app.fz_call c CROSS JOIN LATERAL app.fz_rows('app.truth_', c) x (row);
-- calls whose report differs from the truth (none)
SELECT c.report, c.zone, c.from_date, c.to_date, c.agent,
       (SELECT count(*) FROM (SELECT row FROM app.fz_got g WHERE g.id = c.id
                              EXCEPT ALL SELECT row FROM fz_truth t WHERE t.id = c.id) a) AS only_in_report,
       (SELECT count(*) FROM (SELECT row FROM fz_truth t WHERE t.id = c.id
                              EXCEPT ALL SELECT row FROM app.fz_got g WHERE g.id = c.id) b) AS only_in_truth
FROM app.fz_call c
WHERE EXISTS (SELECT row FROM app.fz_got g WHERE g.id = c.id EXCEPT ALL SELECT row FROM fz_truth t WHERE t.id = c.id)
   OR EXISTS (SELECT row FROM fz_truth t WHERE t.id = c.id EXCEPT ALL SELECT row FROM app.fz_got g WHERE g.id = c.id)
ORDER BY c.id;
SELECT count(*) AS truth_rows FROM fz_truth;
ROLLBACK;

-- backfill() refuses a range before the horizon and names it; an open range starts there.
\set VERBOSITY default
CALL usage_rollup.backfill(from_ts => '2025-09-01');
\set VERBOSITY terse
SET client_min_messages = warning;
CALL usage_rollup.backfill();
RESET client_min_messages;
SELECT app.drift() AS drift,
       (SELECT sum(input_tokens) FROM usage_rollup.rollup WHERE bucket_start < '2025-09-15 10:00+00')
     = (SELECT sum(input_tokens) FROM app.kept_usage) AS rollup_kept_history;

-- usage_rollup.freeze_after: every tick freezes now() - freeze_after.
SET usage_rollup.freeze_after = '3650d';
SELECT usage_rollup.tick() >= 0 AS ticked;
SELECT frozen_before FROM usage_rollup.status;
SET usage_rollup.freeze_after = '1h';
SELECT usage_rollup.tick() >= 0 AS ticked;
SELECT frozen_before BETWEEN now() - interval '1 hour 16 minutes' AND now() - interval '1 hour' AS an_hour_ago
FROM usage_rollup.status;
RESET usage_rollup.freeze_after;

-- detach forgets the horizon with everything else
SET client_min_messages = warning;
SELECT usage_rollup.detach();
RESET client_min_messages;
SELECT frozen_before, frozen_changes_ignored FROM usage_rollup.status;
