-- pg_dump / pg_restore round trip (SPEC §7): binding, state, rollup and keyed blocks come back
-- (they are extension configuration tables), the triggers come back with the
-- application's tables, and a tick after the restore converges with no drift.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
SET client_min_messages = warning;
SELECT usage_rollup.attach(users => 'app.user');
RESET client_min_messages;
SELECT app.make_world();
SELECT app.task('t1', 'a1', 'r1', 'i1'), app.task('t2', 'a2', NULL, NULL);
SELECT app.usage('t1', 'claude', 'opus', 100, '2026-03-01 10:00+00'),
       app.usage('t2', 'openai', 'gpt', 200, '2026-03-02 10:00+00');
UPDATE agent_task_queue SET status = 'completed', started_at = '2026-03-01 09:00+00', completed_at = '2026-03-01 10:30+00'
WHERE id = uid('t1');
SELECT usage_rollup.tick() > 0 AS wrote;
-- (that tick sealed the keyed blocks of 2026-03-02, the next one seals 2026-03-01)
SELECT usage_rollup.tick() >= 0 AS ticked;
-- a raw tail the rollup has not seen yet, and a queued invalidation
SELECT app.usage('t2', 'openai', 'o3', 300, '2026-03-03 10:00+00');
DELETE FROM task_usage WHERE model = 'opus';
-- and a task change the run rollup has not seen yet (queued)
UPDATE agent_task_queue SET status = 'failed', started_at = '2026-03-02 09:00+00', completed_at = '2026-03-02 10:00+00',
                            failure_reason = 'timeout' WHERE id = uid('t2');
SELECT count(*) AS rollup_rows, (SELECT count(*) FROM usage_rollup.dirty_bucket) AS queued FROM usage_rollup.rollup;
SELECT count(*) AS run_rollup_rows, (SELECT count(*) FROM usage_rollup.dirty_task_bucket) AS task_queued FROM usage_rollup.task_rollup;
SELECT (SELECT count(*) FROM usage_rollup.key_rollup) AS keyed_rows,
       (SELECT count(*) FROM usage_rollup.key_rollup_block) AS sealed_blocks,
       (SELECT count(*) FROM usage_rollup.key_rollup_stale) AS blocks_to_seal;
SELECT watermark AS dumped_watermark FROM usage_rollup.status \gset

\! /usr/lib/postgresql/15/bin/dropdb --if-exists ur_restored 2>/dev/null; /usr/lib/postgresql/15/bin/createdb ur_restored
\! /usr/lib/postgresql/15/bin/pg_dump -Fc -d usage_rollup_test -f /tmp/usage_rollup_dump_restore.dump
\! /usr/lib/postgresql/15/bin/pg_restore --exit-on-error -d ur_restored /tmp/usage_rollup_dump_restore.dump
\c ur_restored
SET timezone = 'UTC';
SET search_path = app, public;
SET usage_rollup.safety_lag = 0;
SELECT usage_table, tasks_table, agents_table, issues_table, users_table FROM usage_rollup.binding;
SELECT count(*) AS rollup_rows, (SELECT count(*) FROM usage_rollup.dirty_bucket) AS queued FROM usage_rollup.rollup;
SELECT watermark = :'dumped_watermark' AS watermark_restored, failing FROM usage_rollup.status;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgname LIKE 'usage_rollup%';
SELECT count(*) AS run_rollup_rows, (SELECT count(*) FROM usage_rollup.dirty_task_bucket) AS task_queued FROM usage_rollup.task_rollup;
SELECT * FROM usage_rollup.daily_outcomes(uid('w1'), '2026-03-01', '2026-03-03');
-- the keyed blocks came back sealed, and the per-agent report reads them
SELECT (SELECT count(*) FROM usage_rollup.key_rollup) AS keyed_rows,
       (SELECT count(*) FROM usage_rollup.key_rollup_block) AS sealed_blocks,
       (SELECT count(*) FROM usage_rollup.key_rollup_stale) AS blocks_to_seal;
SELECT label(agent_id) AS agent, provider, model, input_tokens, task_count
FROM usage_rollup.usage_by_agent(uid('w1'), '2026-03-01', '2026-03-03');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT * FROM usage_rollup.daily_outcomes(uid('w1'), '2026-03-01', '2026-03-03');
SELECT model, input FROM app.rollup_summary ORDER BY 1;
SELECT app.drift();
-- new ids do not collide with restored ones
SELECT app.usage('t1', 'claude', 'haiku', 5, '2026-03-04 10:00+00');
DELETE FROM task_usage WHERE model = 'haiku';
SELECT usage_rollup.tick() >= 0 AS ticked, app.drift() AS drift;
SELECT count(*) > 1 AS runs_recorded FROM usage_rollup.tick_run;
-- the restored triggers work on the restored tables (whose oids are new): a task
-- re-attributed, an issue moved, a task deleted
UPDATE agent_task_queue SET runtime_id = NULL WHERE id = uid('t1');
UPDATE issue SET project_id = NULL WHERE id = uid('i1');
DELETE FROM agent_task_queue WHERE id = uid('t2');
SELECT usage_rollup.tick() >= 0 AS ticked, app.drift() AS drift;

\c usage_rollup_test
\! /usr/lib/postgresql/15/bin/dropdb ur_restored; rm -f /tmp/usage_rollup_dump_restore.dump
SET client_min_messages = warning;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
