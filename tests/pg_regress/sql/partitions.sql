-- Partitioned usage and tasks tables (SPEC §2): every statement addressed to a
-- partition and every partition that arrives or leaves (ATTACH with rows,
-- DETACH, DETACH CONCURRENTLY, DROP, TRUNCATE, a sub-partitioned branch, a new
-- partition created after attach) is an invalidation path. After each, the next
-- tick leaves rollup == raw rows: app.wl_check() compares the rollup with the §4.1
-- aggregate of the raw rows, verify(), the task days and kpis' task count (0 = no
-- finding). Each step also shows what it queued: DROP, DETACH and ATTACH queue one
-- row per bucket that holds rows of the partition (a loose index scan, not a read
-- of its rows), and nothing is queued for a table that is no longer a partition.
\set SHOW_CONTEXT never
\set ECHO none
SET client_min_messages = warning;
\ir ../fixtures/reset.sql
CREATE EXTENSION usage_rollup;
\ir ../fixtures/reference_schema.sql
RESET client_min_messages;
\set ECHO all
SET timezone = 'UTC';
SET usage_rollup.safety_lag = 0;
SET usage_rollup.max_window = 0;

-- The application's tasks and usage tables, partitioned: usage by week of
-- created_at (one week sub-partitioned by id, a DEFAULT partition), tasks by
-- created_at too. Partitioned tables need the partition key in every unique key.
\set ECHO none
\set tasks_partition_by 'RANGE (created_at)'
\set tasks_keys 'PRIMARY KEY (id, created_at)'
\ir ../fixtures/partitioned_tasks.sql
\set ECHO all
CREATE TABLE app.tasks_2025_08 PARTITION OF app.agent_task_queue FOR VALUES FROM ('2025-08-01') TO ('2025-09-01');
CREATE TABLE app.tasks_2025_09 PARTITION OF app.agent_task_queue FOR VALUES FROM ('2025-09-01') TO ('2025-10-01');
CREATE TABLE app.tasks_default PARTITION OF app.agent_task_queue DEFAULT;
\set ECHO none
\set usage_partition_by 'RANGE (created_at)'
\set usage_keys 'PRIMARY KEY (id, created_at)'
\ir ../fixtures/partitioned_usage.sql
\set ECHO all
CREATE TABLE app.usage_w1 PARTITION OF app.task_usage FOR VALUES FROM ('2025-09-01') TO ('2025-09-08');
CREATE TABLE app.usage_w2 PARTITION OF app.task_usage FOR VALUES FROM ('2025-09-08') TO ('2025-09-15');
CREATE TABLE app.usage_w3 PARTITION OF app.task_usage FOR VALUES FROM ('2025-09-15') TO ('2025-09-22');
CREATE TABLE app.usage_w4 PARTITION OF app.task_usage FOR VALUES FROM ('2025-09-22') TO ('2025-09-29')
    PARTITION BY HASH (id);
CREATE TABLE app.usage_w4_a PARTITION OF app.usage_w4 FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE app.usage_w4_b PARTITION OF app.usage_w4 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE app.usage_default PARTITION OF app.task_usage DEFAULT;
\set ECHO none
SET client_min_messages = warning;
\ir ../fixtures/helpers.sql
\ir ../fixtures/workload.sql
RESET client_min_messages;
\set ECHO all

-- What a step queued, and the check after the next tick.
CREATE FUNCTION app.queued() RETURNS TABLE (usage_buckets bigint, task_buckets bigint) LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM usage_rollup.dirty_bucket), (SELECT count(*) FROM usage_rollup.dirty_task_bucket)
$$;
-- (the run rollup too: runs and outcomes per workspace over the whole history)
CREATE FUNCTION app.runs_differ() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM app.workspace w
    CROSS JOIN LATERAL (SELECT coalesce(sum(runs), 0) AS runs, coalesce(sum(completed), 0) AS completed,
                               coalesce(sum(failed), 0) AS failed, coalesce(sum(run_seconds), 0) AS run_seconds
                        FROM usage_rollup.daily_runs(w.id, '2025-08-01', '2025-12-31')) r
    CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE t.started_at IS NOT NULL) AS runs,
                               count(*) FILTER (WHERE t.status = 'completed') AS completed,
                               count(*) FILTER (WHERE t.status = 'failed') AS failed,
                               coalesce(sum(extract(epoch FROM t.completed_at - t.started_at))
                                        FILTER (WHERE t.started_at IS NOT NULL), 0) AS run_seconds
                        FROM app.agent_task_queue t JOIN app.agent a ON a.id = t.agent_id
                        WHERE a.workspace_id = w.id AND t.status IN ('completed', 'failed', 'cancelled')
                          AND t.completed_at >= '2025-08-01' AND t.completed_at < '2026-01-01') t
    WHERE (r.runs, r.completed, r.failed, r.run_seconds) IS DISTINCT FROM (t.runs, t.completed, t.failed, t.run_seconds)
$$;
CREATE FUNCTION app.after_tick(p_step int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_runs bigint;
BEGIN
    PERFORM usage_rollup.tick();
    v_runs := app.runs_differ();
    IF v_runs > 0 THEN
        RAISE NOTICE 'step %: daily_runs differs from the tasks table in % workspaces', p_step, v_runs;
    END IF;
    RETURN app.wl_check(0, p_step) + v_runs;
END
$$;
-- The partition triggers per table (the leaves carry a TRUNCATE trigger too).
CREATE VIEW app.partition_triggers AS
SELECT c.relname, string_agg(replace(t.tgname, 'usage_rollup_part_', ''), ', ' ORDER BY t.tgname) AS triggers
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE t.tgname LIKE 'usage_rollup_part_%' GROUP BY c.relname ORDER BY c.relname;

-- A world of four workspaces and 200 tasks with usage over September 2025 (and
-- some in August and October: the DEFAULT partition), stamped in the past.
SELECT setseed(0.21);
INSERT INTO app.workspace (id, name) SELECT app.uid('w' || g), 'w' || g FROM generate_series(1, 4) g;
INSERT INTO app.agent (id, workspace_id) SELECT app.uid('a' || g), app.uid('w' || (1 + g % 4)) FROM generate_series(1, 8) g;
INSERT INTO app.agent_runtime (id, workspace_id) SELECT app.uid('r' || g), app.uid('w' || g) FROM generate_series(1, 4) g;
INSERT INTO app.project (id, workspace_id, name) SELECT app.uid('p' || g), app.uid('w' || g), 'p' FROM generate_series(1, 3) g;
INSERT INTO app.issue (id, workspace_id, project_id)
SELECT app.uid('i' || g), app.uid('w' || (1 + g % 4)), CASE WHEN g % 3 > 0 THEN app.uid('p' || (g % 3)) END
FROM generate_series(1, 6) g;
INSERT INTO app.agent_task_queue (id, agent_id, runtime_id, issue_id, status, created_at, started_at, completed_at)
SELECT app.uid('t' || g), app.uid('a' || (1 + g % 8)), CASE WHEN g % 5 > 0 THEN app.uid('r' || (1 + g % 4)) END,
       CASE WHEN g % 4 > 0 THEN app.uid('i' || (1 + g % 6)) END,
       (ARRAY['completed', 'failed', 'cancelled', 'running'])[1 + g % 4], c, c + interval '1 minute',
       CASE WHEN g % 4 < 3 THEN c + make_interval(mins => 2 + g % 50) END
FROM generate_series(1, 200) g, LATERAL (SELECT timestamptz '2025-08-28' + make_interval(hours => g * 4 + g % 3)) x(c);
INSERT INTO app.task_usage (task_id, provider, model, input_tokens, output_tokens, cost_usd_ticks, created_at, updated_at)
SELECT t.id, m.provider, m.model, 100 + floor(random() * 900)::int, floor(random() * 90)::int,
       CASE WHEN random() < 0.3 THEN NULL ELSE floor(random() * 9000)::int END,
       t.created_at + make_interval(secs => floor(random() * 3600)), '2025-10-15'
FROM app.agent_task_queue t
CROSS JOIN (VALUES ('claude', 'sonnet'), ('OpenAI', 'gpt-4o')) m (provider, model)
WHERE random() < 0.8;

SET client_min_messages = warning;
SELECT usage_rollup.attach(usage => 'app.task_usage', tasks => 'app.agent_task_queue', agents => 'app.agent',
                           issues => 'app.issue');
CALL usage_rollup.backfill();
RESET client_min_messages;
-- every partition of both trees has the statement triggers; the partitioned roots
-- have no TRUNCATE trigger of their own (their partitions' fire)
SELECT * FROM app.partition_triggers;
SELECT tgname FROM pg_trigger WHERE tgrelid IN ('app.task_usage'::regclass, 'app.agent_task_queue'::regclass)
   AND tgname LIKE '%truncate';
SELECT (SELECT count(*) FROM app.task_usage) AS usage_rows, app.after_tick(0) AS findings;

-- DML addressed to a partition: a DELETE, a correction that forgets updated_at, a
-- DELETE through the sub-partitioned week and one of its leaves
DELETE FROM app.usage_w2 WHERE input_tokens < 400;
UPDATE app.usage_w3 SET input_tokens = input_tokens + 7 WHERE output_tokens < 30;
DELETE FROM app.usage_w4 WHERE output_tokens > 80;
DELETE FROM app.usage_w4_b WHERE input_tokens > 900;
SELECT usage_buckets > 0 AS queued, app.after_tick(1) AS findings FROM app.queued();
-- a row moved between partitions by an UPDATE of the parent (and one moved into
-- the sub-partitioned week), a backdated insert addressed to a partition
UPDATE app.task_usage SET created_at = created_at + interval '7 days'
WHERE (task_id, provider) IN (SELECT task_id, provider FROM app.usage_w1 ORDER BY task_id, provider LIMIT 5);
UPDATE app.task_usage SET created_at = timestamptz '2025-09-23 18:29:59.999999'
WHERE (task_id, provider) IN (SELECT task_id, provider FROM app.usage_w3 ORDER BY task_id, provider LIMIT 3);
INSERT INTO app.usage_w2 (task_id, provider, model, input_tokens, created_at, updated_at)
VALUES (app.uid('t60'), 'claude', 'opus', 5, '2025-09-10 18:30', '2025-09-11');
SELECT app.after_tick(2) AS findings;

-- TRUNCATE of a leaf, and of the sub-partitioned week (its two leaves' triggers fire)
TRUNCATE app.usage_w3;
SELECT usage_buckets AS queued_by_truncate FROM app.queued();
SELECT app.after_tick(3) AS findings;
TRUNCATE app.usage_w4;
SELECT app.after_tick(4) AS findings;

-- DETACH: the rows leave; the detached table loses its triggers, and a write to it
-- then queues nothing
SELECT count(DISTINCT usage_rollup.bucket_of(created_at)) AS w2_buckets FROM app.usage_w2;
ALTER TABLE app.task_usage DETACH PARTITION app.usage_w2;
SELECT usage_buckets AS queued_by_detach FROM app.queued();
SELECT app.after_tick(5) AS findings;
SELECT count(*) AS triggers_left_on_detached FROM pg_trigger WHERE tgrelid = 'app.usage_w2'::regclass;
DELETE FROM app.usage_w2 WHERE input_tokens < 500;
SELECT usage_buckets AS queued_by_detached_delete FROM app.queued();
-- ... and re-ATTACH: its (remaining) rows arrive, and it gets its triggers back
ALTER TABLE app.task_usage ATTACH PARTITION app.usage_w2 FOR VALUES FROM ('2025-09-08') TO ('2025-09-15');
SELECT usage_buckets > 0 AS queued_by_attach FROM app.queued();
SELECT app.after_tick(6) AS findings;
SELECT * FROM app.partition_triggers WHERE relname = 'usage_w2';

-- a bulk import: a table loaded with backdated rows (updated_at long behind the
-- watermark: no tick would ever find them), attached as a week of November
CREATE TABLE app.usage_import (LIKE app.task_usage INCLUDING DEFAULTS);
INSERT INTO app.usage_import (task_id, provider, model, input_tokens, output_tokens, cost_usd_ticks, created_at, updated_at)
SELECT t.id, 'claude', 'haiku', 11, 1, NULL,
       timestamptz '2025-11-03' + make_interval(mins => 7 * row_number() OVER (ORDER BY t.id)::int), '2025-11-20'
FROM app.agent_task_queue t WHERE t.created_at < '2025-09-10';
SELECT count(DISTINCT usage_rollup.bucket_of(created_at)) AS import_buckets FROM app.usage_import;
ALTER TABLE app.task_usage ATTACH PARTITION app.usage_import FOR VALUES FROM ('2025-11-03') TO ('2025-11-10');
SELECT usage_buckets AS queued_by_import FROM app.queued();
SELECT app.after_tick(7) AS findings;

-- DROP of a partition (the DEFAULT one: DETACH CONCURRENTLY refuses to run while
-- a table has one)
SELECT count(DISTINCT usage_rollup.bucket_of(created_at)) AS default_buckets FROM app.usage_default;
DROP TABLE app.usage_default;
SELECT usage_buckets AS queued_by_drop FROM app.queued();
SELECT app.after_tick(8) AS findings;

-- DETACH ... CONCURRENTLY (two transactions): queued in the first, and again when
-- the detach completes
ALTER TABLE app.task_usage DETACH PARTITION app.usage_w1 CONCURRENTLY;
SELECT usage_buckets > 0 AS queued_by_concurrent_detach FROM app.queued();
SELECT app.after_tick(9) AS findings;
SELECT count(*) AS triggers_left_on_detached FROM pg_trigger WHERE tgrelid = 'app.usage_w1'::regclass;

-- DROP of a partition, and of a sub-partitioned branch whose leaves were filled again
SELECT count(DISTINCT usage_rollup.bucket_of(created_at)) AS import_buckets FROM app.usage_import;
DROP TABLE app.usage_import;
SELECT usage_buckets AS queued_by_drop FROM app.queued();
SELECT app.after_tick(10) AS findings;
INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at, updated_at)
SELECT t.id, 'claude', 'sonnet', 3, timestamptz '2025-09-22' + make_interval(mins => 13 * row_number() OVER (ORDER BY t.id)::int),
       '2025-10-02'
FROM app.agent_task_queue t WHERE t.created_at < '2025-09-05';
SELECT app.after_tick(11) AS findings;
DROP TABLE app.usage_w4;
SELECT app.after_tick(12) AS findings;
-- dropping a table that is no longer a partition queues nothing
DROP TABLE app.usage_w1;
SELECT usage_buckets AS queued_by_dropping_detached FROM app.queued();

-- a partition created after attach, with a sub-partition, gets the triggers; rows
-- written to it directly are found like any others
CREATE TABLE app.usage_w1_new PARTITION OF app.task_usage FOR VALUES FROM ('2025-09-01') TO ('2025-09-08')
    PARTITION BY RANGE (created_at);
CREATE TABLE app.usage_w1_a PARTITION OF app.usage_w1_new FOR VALUES FROM ('2025-09-01') TO ('2025-09-02 18:15');
CREATE TABLE app.usage_w1_b PARTITION OF app.usage_w1_new FOR VALUES FROM ('2025-09-02 18:15') TO ('2025-09-08');
SELECT * FROM app.partition_triggers WHERE relname LIKE 'usage_w1%';
INSERT INTO app.usage_w1_a (task_id, provider, model, input_tokens, created_at, updated_at)
VALUES (app.uid('t10'), 'Claude', 'sonnet', 70, '2025-09-02 18:14:59.999999', '2025-09-03');
INSERT INTO app.usage_w1_new (task_id, provider, model, input_tokens, created_at, updated_at)
VALUES (app.uid('t11'), 'cursor', 'auto', 80, '2025-09-02 18:15', '2025-09-03');
SELECT app.after_tick(13) AS findings;
DELETE FROM app.usage_w1_b;
UPDATE app.usage_w1_new SET created_at = created_at + interval '1 second';   -- moves to usage_w1_b
SELECT app.after_tick(14) AS findings;

-- the tasks table's partitions: a DELETE and a re-attribution addressed to a
-- partition, a TRUNCATE, a DETACH (the usage of its tasks drops out of the join)
-- and its re-ATTACH, a DROP
DELETE FROM app.tasks_2025_09 WHERE status = 'cancelled' AND created_at < '2025-09-10';
UPDATE app.tasks_2025_09 SET runtime_id = NULL WHERE created_at >= '2025-09-20';
SELECT task_buckets > 0 AS task_buckets_queued, app.after_tick(15) AS findings FROM app.queued();
ALTER TABLE app.agent_task_queue DETACH PARTITION app.tasks_2025_08;
SELECT usage_buckets > 0 AS queued_by_tasks_detach FROM app.queued();
SELECT app.after_tick(16) AS findings;
ALTER TABLE app.agent_task_queue ATTACH PARTITION app.tasks_2025_08 FOR VALUES FROM ('2025-08-01') TO ('2025-09-01');
SELECT app.after_tick(17) AS findings;
TRUNCATE app.tasks_default;
SELECT app.after_tick(18) AS findings;
DROP TABLE app.tasks_2025_08;
SELECT app.after_tick(19) AS findings;
-- A DROP TABLE naming the partition without its schema (resolved in the command's
-- own search_path, like the command itself)
INSERT INTO app.usage_w3 (task_id, provider, model, input_tokens, created_at, updated_at)
SELECT t.id, 'claude', 'sonnet', 9, timestamptz '2025-09-16' + make_interval(mins => 11 * row_number() OVER (ORDER BY t.id)::int),
       '2025-10-02'
FROM app.agent_task_queue t WHERE t.created_at >= '2025-09-10' AND t.created_at < '2025-09-14';
SELECT app.after_tick(20) AS findings;
SET search_path = app;
DROP TABLE usage_w3;
RESET search_path;
SELECT usage_buckets > 0 AS queued_by_unqualified_drop, app.after_tick(21) AS findings FROM app.queued();

-- DROP SCHEMA ... CASCADE and DROP OWNED BY take partitions along without naming them
CREATE SCHEMA app_old;
CREATE TABLE app_old.usage_oct PARTITION OF app.task_usage FOR VALUES FROM ('2025-10-06 00:00+00') TO ('2025-10-13 00:00+00');
DROP ROLE IF EXISTS ur_partjob;
CREATE ROLE ur_partjob;
CREATE TABLE app.usage_oct2 PARTITION OF app.task_usage FOR VALUES FROM ('2025-10-13 00:00+00') TO ('2025-10-20 00:00+00');
ALTER TABLE app.usage_oct2 OWNER TO ur_partjob;
INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at, updated_at)
SELECT t.id, 'claude', 'sonnet', 4, timestamptz '2025-10-06' + make_interval(mins => 131 * row_number() OVER (ORDER BY t.id)::int),
       '2025-10-25'
FROM app.agent_task_queue t WHERE t.created_at < '2025-09-20';
SELECT (SELECT count(*) FROM app_old.usage_oct) > 0 AS in_schema, (SELECT count(*) FROM app.usage_oct2) > 0 AS owned,
       app.after_tick(22) AS findings;
DROP SCHEMA app_old CASCADE;
SELECT usage_buckets > 0 AS queued_by_drop_schema, app.after_tick(23) AS findings FROM app.queued();
DROP OWNED BY ur_partjob;
SELECT usage_buckets > 0 AS queued_by_drop_owned, app.after_tick(24) AS findings FROM app.queued();

-- a partition made by a CREATE SCHEMA element (which fires no event trigger of its
-- own) gets the triggers: a DELETE addressed to it is seen
CREATE SCHEMA app_new CREATE TABLE usage_oct3 PARTITION OF app.task_usage
    FOR VALUES FROM ('2025-10-20 00:00+00') TO ('2025-10-27 00:00+00');
SELECT * FROM app.partition_triggers WHERE relname = 'usage_oct3';
INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at, updated_at)
VALUES (app.uid('t12'), 'claude', 'sonnet', 13, '2025-10-21 18:29:59.999999+00', '2025-10-25');
SELECT app.after_tick(25) AS findings;
DELETE FROM app_new.usage_oct3;
SELECT app.after_tick(26) AS findings;
DROP SCHEMA app_new CASCADE;

-- a role that may not drop a partition makes nothing be read or queued
DROP ROLE IF EXISTS ur_nobody;
CREATE ROLE ur_nobody;
GRANT USAGE ON SCHEMA app TO ur_nobody;
SELECT count(*) AS queued_before FROM usage_rollup.dirty_bucket \gset
SET ROLE ur_nobody;
DROP TABLE app.usage_w2;
RESET ROLE;
SELECT count(*) - :queued_before AS queued_by_refused_drop FROM usage_rollup.dirty_bucket;
DROP OWNED BY ur_nobody;
DROP ROLE ur_nobody, ur_partjob;

-- partitions of tables that are not attached: no business of ours, and not refused
CREATE TABLE public.other (x int) PARTITION BY RANGE (x);
CREATE TABLE public.other_1 PARTITION OF public.other FOR VALUES FROM (0) TO (10);
CREATE TABLE public.other_2 PARTITION OF public.other FOR VALUES FROM (10) TO (20);
ALTER TABLE public.other DETACH PARTITION public.other_2 CONCURRENTLY;
DROP TABLE public.other_1, public.other_2;

-- the bound usage table may itself be a partition of another table
CREATE TABLE app.all_usage (LIKE app.task_usage) PARTITION BY RANGE (created_at);
ALTER TABLE app.all_usage ATTACH PARTITION app.task_usage FOR VALUES FROM (MINVALUE) TO (MAXVALUE);
DELETE FROM app.usage_w2 WHERE input_tokens > 500;
DROP TABLE app.usage_w1_b;
SELECT usage_buckets > 0 AS queued_under_a_parent, app.after_tick(27) AS findings FROM app.queued();

-- pg_dump and pg_restore: the partition triggers come back with the tables (the
-- restore's own ALTER TABLEs do not make the event trigger put them there first)
SELECT count(*) AS partition_triggers FROM pg_trigger WHERE tgname LIKE 'usage_rollup_part_%' \gset
\! /usr/lib/postgresql/15/bin/dropdb --if-exists ur_partitions_restored 2>/dev/null; /usr/lib/postgresql/15/bin/createdb ur_partitions_restored
\! /usr/lib/postgresql/15/bin/pg_dump -Fc -d usage_rollup_test -f /tmp/usage_rollup_partitions.dump
\! /usr/lib/postgresql/15/bin/pg_restore --exit-on-error -d ur_partitions_restored /tmp/usage_rollup_partitions.dump && echo restored
\c ur_partitions_restored
SELECT count(*) = :partition_triggers AS partition_triggers_restored FROM pg_trigger WHERE tgname LIKE 'usage_rollup_part_%';
SET client_min_messages = warning;
SELECT usage_rollup.detach();
RESET client_min_messages;
\c usage_rollup_test
\! /usr/lib/postgresql/15/bin/dropdb ur_partitions_restored; rm -f /tmp/usage_rollup_partitions.dump
SET timezone = 'UTC';
SET usage_rollup.safety_lag = 0;
SET usage_rollup.max_window = 0;

-- detach() takes the triggers off every partition
SET client_min_messages = warning;
SELECT usage_rollup.detach();
RESET client_min_messages;
SELECT count(*) AS partition_triggers_left FROM pg_trigger WHERE tgname LIKE 'usage_rollup%';
-- and with nothing attached, partition DDL anywhere goes through
DROP TABLE public.other;
CREATE TABLE public.other (x int) PARTITION BY RANGE (x);
CREATE TABLE public.other_1 PARTITION OF public.other FOR VALUES FROM (0) TO (10);
DROP TABLE public.other_1;
ALTER TABLE app.task_usage DETACH PARTITION app.usage_w2 CONCURRENTLY;
DROP TABLE app.usage_w2;
DROP TABLE public.other;
SET client_min_messages = warning;
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
