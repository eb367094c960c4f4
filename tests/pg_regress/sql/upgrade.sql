-- Upgrade path (SPEC §7): the previous release, installed from its frozen script
-- (sql/usage_rollup--0.1.0.sql), with data, updated by ALTER EXTENSION UPDATE:
-- binding, state, rollup and every report survive unchanged, a tick after the
-- update converges with no drift, and the updated schema is exactly a fresh
-- install's (definitions, privileges, comments, indexes, triggers, dump config).
\set SHOW_CONTEXT never
\set ECHO none
\ir ../fixtures/fingerprint.sql
SET client_min_messages = warning;
\ir ../fixtures/reset.sql
DROP SCHEMA IF EXISTS app CASCADE;
CREATE EXTENSION usage_rollup VERSION '0.1.0';
\ir ../fixtures/reference_schema.sql
\ir ../fixtures/helpers.sql
RESET client_min_messages;
\set ECHO all
SET timezone = 'UTC';
SET search_path = app, public;
SET usage_rollup.safety_lag = 0;
SELECT extversion FROM pg_extension WHERE extname = 'usage_rollup';

-- data at 0.1.0: a ticked rollup, a raw tail and a queued invalidation
SET client_min_messages = warning;
SELECT usage_rollup.attach(users => 'app.user');
RESET client_min_messages;
SELECT app.make_world();
INSERT INTO "user" (id, timezone) VALUES (uid('viewer'), 'Asia/Kathmandu');
SELECT app.task('t1', 'a1', 'r1', 'i1'), app.task('t2', 'a2', NULL, 'i3'), app.task('t3', 'a1', 'r2', NULL);
SELECT app.usage('t1', 'claude', 'opus', 100, '2026-03-01 18:14:00+00', 1000),
       app.usage('t2', 'openai', 'gpt', 200, '2026-03-01 18:29:00+00'),
       app.usage('t3', 'Cursor', 'auto', 1, '2026-03-02 01:00+00'),
       app.usage('t3', 'cursor', 'auto', 2, '2026-03-02 03:00+00');
UPDATE agent_task_queue SET started_at = '2026-03-01 18:00+00', completed_at = '2026-03-01 18:40+00';
UPDATE agent_task_queue SET status = 'failed', failure_reason = 'timeout' WHERE id = uid('t2');
SELECT usage_rollup.tick() > 0 AS ticked;
SELECT app.usage('t2', 'openai', 'o3', 5000, '2026-03-02 12:00+00');
DELETE FROM task_usage WHERE model = 'opus';

CREATE TEMP TABLE before_binding AS SELECT * FROM usage_rollup.binding;
CREATE TEMP TABLE before_state AS SELECT * FROM usage_rollup.tick_state;
CREATE TEMP TABLE before_rollup AS SELECT * FROM usage_rollup.rollup;
CREATE TEMP TABLE before_queue AS SELECT bucket_start FROM usage_rollup.dirty_bucket;
CREATE TEMP VIEW reports AS
SELECT 'daily_usage' AS report, to_jsonb(r) AS row FROM usage_rollup.daily_usage(uid('w1'), '2026-03-01', '2026-03-03', tz => 'Asia/Kolkata') r
UNION ALL SELECT 'usage_by_agent', to_jsonb(r) FROM usage_rollup.usage_by_agent(uid('w1'), '2026-03-01', '2026-03-03', viewer_id => uid('viewer')) r
UNION ALL SELECT 'usage_by_project', to_jsonb(r) FROM usage_rollup.usage_by_project(uid('w1'), '2026-03-01', '2026-03-03') r
UNION ALL SELECT 'usage_by_runtime', to_jsonb(r) FROM usage_rollup.usage_by_runtime(uid('w1'), '2026-03-01', '2026-03-03') r
UNION ALL SELECT 'usage_summary', to_jsonb(r) FROM usage_rollup.usage_summary(uid('w1'), '2026-03-01', '2026-03-03', tz => 'Pacific/Chatham') r
UNION ALL SELECT 'usage_by_hour', to_jsonb(r) FROM usage_rollup.usage_by_hour(uid('w1'), '2026-03-01', '2026-03-03', tz => 'Asia/Kathmandu') r
UNION ALL SELECT 'issue_usage', to_jsonb(r) FROM usage_rollup.issue_usage(uid('i3')) r
UNION ALL SELECT 'daily_runs', to_jsonb(r) FROM usage_rollup.daily_runs(uid('w1'), '2020-01-01', '2029-12-31') r
UNION ALL SELECT 'runs_by_agent', to_jsonb(r) FROM usage_rollup.runs_by_agent(uid('w1'), '2020-01-01', '2029-12-31') r
UNION ALL SELECT 'daily_outcomes', to_jsonb(r) FROM usage_rollup.daily_outcomes(uid('w1'), '2020-01-01', '2029-12-31') r
UNION ALL SELECT 'outcomes_by_agent', to_jsonb(r) FROM usage_rollup.outcomes_by_agent(uid('w1'), '2020-01-01', '2029-12-31') r
UNION ALL SELECT 'starts_by_hour', to_jsonb(r) FROM usage_rollup.starts_by_hour(uid('w1'), '2020-01-01', '2029-12-31') r
UNION ALL SELECT 'kpis', to_jsonb(r) FROM usage_rollup.kpis(uid('w1'), '2020-01-01', '2029-12-31') r;
CREATE TEMP TABLE before_reports AS SELECT * FROM reports;
SELECT report, count(*) AS rows FROM before_reports GROUP BY 1 ORDER BY 1;

ALTER EXTENSION usage_rollup UPDATE;
SELECT extversion = usage_rollup.version() AS current FROM pg_extension WHERE extname = 'usage_rollup';

-- everything survived, row for row
SELECT (SELECT count(*) FROM (SELECT * FROM before_binding EXCEPT SELECT * FROM usage_rollup.binding) x) AS binding_lost,
       (SELECT count(*) FROM before_state b WHERE NOT to_jsonb(b) <@ (SELECT to_jsonb(s) FROM usage_rollup.tick_state s)) AS state_lost,
       (SELECT count(*) FROM (SELECT * FROM before_rollup EXCEPT ALL SELECT * FROM usage_rollup.rollup) x) AS rollup_lost,
       (SELECT count(*) FROM (SELECT * FROM usage_rollup.rollup EXCEPT ALL SELECT * FROM before_rollup) x) AS rollup_new,
       (SELECT count(*) FROM (SELECT * FROM before_queue EXCEPT SELECT bucket_start FROM usage_rollup.dirty_bucket) x) AS queue_lost;
SELECT (SELECT count(*) FROM (SELECT * FROM before_reports EXCEPT ALL SELECT * FROM reports) x) AS report_rows_lost,
       (SELECT count(*) FROM (SELECT * FROM reports EXCEPT ALL SELECT * FROM before_reports) x) AS report_rows_new;
-- 0.3.0: corrections of the bound usage table are queued (a tick appends new rows
-- only then), and the bucket of the row stamped after the watermark, which a 0.2.0
-- recompute could have summed already, is queued for a recompute
SELECT tgname FROM pg_trigger WHERE tgrelid = 'app.task_usage'::regclass AND tgname = 'usage_rollup_usage_correct';
SELECT bucket_start FROM usage_rollup.dirty_bucket EXCEPT SELECT bucket_start FROM before_queue ORDER BY 1;
-- and goes on: a tick converges, and the reports after it are still the same
SELECT usage_rollup.tick() > 0 AS ticked;
SELECT app.drift() AS drift, (SELECT count(*) FROM usage_rollup.verify('-infinity', 'infinity')) AS verify_rows;
SELECT (SELECT count(*) FROM (SELECT * FROM before_reports EXCEPT ALL SELECT * FROM reports) x) AS report_rows_lost,
       (SELECT count(*) FROM (SELECT * FROM reports EXCEPT ALL SELECT * FROM before_reports) x) AS report_rows_new;

-- the updated schema is a fresh install's
CREATE TEMP TABLE updated AS SELECT * FROM pg_temp.extension_fingerprint();
DROP VIEW reports;
SET client_min_messages = warning;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
CREATE EXTENSION usage_rollup;
RESET client_min_messages;
CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.extension_fingerprint();
SELECT count(*) > 100 AS fingerprinted FROM fresh;
SELECT 'only after update' AS side, * FROM (SELECT * FROM updated EXCEPT SELECT * FROM fresh) x
UNION ALL
SELECT 'only in fresh install', * FROM (SELECT * FROM fresh EXCEPT SELECT * FROM updated) y
ORDER BY 2, 3, 1;
DROP EXTENSION usage_rollup;

-- Attached to a partitioned usage table under the SQL of 0.9.0 (which knew nothing
-- of partitions: the library installs no partition trigger then), the update puts
-- the triggers on every partition and takes the TRUNCATE trigger off the
-- partitioned table; a DELETE addressed to a partition is then queued.
SET client_min_messages = warning;
CREATE EXTENSION usage_rollup VERSION '0.1.0';
ALTER EXTENSION usage_rollup UPDATE TO '0.9.0';
\set ECHO none
\ir ../fixtures/reference_schema.sql
\set usage_partition_by 'RANGE (created_at)'
\set usage_keys 'PRIMARY KEY (id, created_at)'
\ir ../fixtures/partitioned_usage.sql
\set ECHO all
CREATE TABLE app.usage_2026 PARTITION OF app.task_usage FOR VALUES FROM ('2026-01-01 00:00+00') TO ('2027-01-01 00:00+00');
\set ECHO none
\ir ../fixtures/helpers.sql
\set ECHO all
SELECT usage_rollup.attach();
RESET client_min_messages;
-- (the library of 0.9.0 put this one on the partitioned table too)
CREATE TRIGGER usage_rollup_usage_truncate AFTER TRUNCATE ON app.task_usage FOR EACH STATEMENT
    EXECUTE FUNCTION usage_rollup._invalidate_truncate();
SELECT tgrelid::regclass AS rel, tgname FROM pg_trigger WHERE tgname LIKE 'usage_rollup_%truncate' ORDER BY 1, 2;
ALTER EXTENSION usage_rollup UPDATE;
SELECT tgrelid::regclass AS rel, tgname FROM pg_trigger WHERE tgname LIKE 'usage_rollup_%truncate' ORDER BY 1, 2;
INSERT INTO app.workspace VALUES (app.uid('w1'), 'w1');
INSERT INTO app.agent (id, workspace_id) VALUES (app.uid('a1'), app.uid('w1'));
INSERT INTO app.agent_task_queue (id, agent_id) VALUES (app.uid('t1'), app.uid('a1'));
INSERT INTO app.usage_2026 (task_id, provider, model, input_tokens, created_at)
VALUES (app.uid('t1'), 'claude', 'opus', 5, '2026-05-01 10:00+00');
SELECT usage_rollup.tick() > 0 AS ticked;
DELETE FROM app.usage_2026;
SELECT count(*) AS queued_by_partition_delete FROM usage_rollup.dirty_bucket;
SET client_min_messages = warning;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
