-- Seeds W2: a failed tick's error must survive the failure. The tick re-raises
-- (so pg_cron marks the run failed) and the error is still in status and tick_run,
-- written by a separate transaction.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
SET client_min_messages = warning;
SELECT usage_rollup.attach();
RESET client_min_messages;
SELECT app.make_world();
SELECT app.task('t1', 'a1', 'r1', 'i1'), app.usage('t1', 'claude', 'opus', 100, '2026-03-01 10:00+00');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT watermark AS good_watermark FROM usage_rollup.status \gset

-- a bound table disappears: the tick fails with a clear error
ALTER TABLE agent_task_queue DROP CONSTRAINT agent_task_queue_issue_id_fkey;
DROP TABLE issue CASCADE;
SELECT usage_rollup.tick();

-- the failure is recorded although the tick's own transaction rolled back
SELECT failing, last_error_sqlstate, last_error, last_error_at IS NOT NULL AS error_time,
       watermark = :'good_watermark' AS watermark_kept, last_rows
FROM usage_rollup.status;
SELECT kind, status, sqlstate, error FROM usage_rollup.tick_run ORDER BY id;
-- the same inside a caller's transaction block: recorded, and the caller's own work rolls back
BEGIN;
INSERT INTO workspace (id, name) VALUES (uid('w9'), 'w9');
SELECT usage_rollup.tick();
ROLLBACK;
SELECT count(*) FILTER (WHERE status = 'failed') AS failed_runs FROM usage_rollup.tick_run;
SELECT count(*) AS w9 FROM workspace WHERE name = 'w9';
-- the transaction-scoped lock is not leaked
SELECT count(*) AS advisory_locks FROM pg_locks WHERE locktype = 'advisory' AND classid = 4246;

-- the fix the hint names: re-attach to the current tables and backfill
CREATE TABLE issue (id uuid PRIMARY KEY, workspace_id uuid NOT NULL, project_id uuid);
SET client_min_messages = warning;
SELECT usage_rollup.detach();
SELECT usage_rollup.attach();
CALL usage_rollup.backfill();
RESET client_min_messages;
SELECT usage_rollup.tick() >= 0 AS ticked;
SELECT failing, input FROM usage_rollup.status, rollup_summary;
SELECT app.drift();

SET client_min_messages = warning;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
