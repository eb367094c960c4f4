-- Every invalidation path of SPEC §3 and every case the seeds fixed: after each
-- change and one tick, the rollup equals the raw rows (drift 0) and shows the
-- re-attribution.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
SET client_min_messages = warning;
SELECT usage_rollup.attach();
RESET client_min_messages;
SELECT app.make_world();

-- new rows (stamped now, created in the past): found through updated_at
SELECT app.task('t1', 'a1', 'r1', 'i1'), app.task('t2', 'a1', 'r1', NULL), app.task('t3', 'a2', 'r2', 'i2');
SELECT app.usage('t1', 'Claude', 'opus', 100, '2026-03-01 10:05+00', 5000),
       app.usage('t1', 'claude', 'sonnet', 10, '2026-03-01 10:06+00', NULL),
       app.usage('t2', 'openai', 'gpt', 200, '2026-03-01 23:59+00', 7),
       app.usage('t3', 'openai', 'gpt', 300, '2026-03-02 00:01+00', NULL);
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT * FROM rollup_summary;
SELECT app.drift();

-- bucketed by usage time, not by the task's enqueue time (seeds #1176, #22): a task
-- queued at 23:58 that reported usage at 00:05 belongs to the next day
INSERT INTO agent_task_queue (id, agent_id, status, created_at) VALUES (uid('t8'), uid('a3'), 'completed', '2026-03-09 23:58+00');
SELECT app.usage('t8', 'openai', 'mini', 1000, '2026-03-10 00:05+00');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT bucket_start, input_tokens FROM usage_rollup.rollup WHERE model = 'mini';

-- mixed-case provider of the same task, same bucket: one row, one task (seeds #23)
SELECT app.usage('t1', 'Cursor', 'auto', 1000, '2026-03-01 10:07+00'),
       app.usage('t1', 'cursor', 'auto', 500, '2026-03-01 10:08+00');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT provider, model, input, tasks, events FROM rollup_summary WHERE model = 'auto';

-- a correction bumps updated_at: the new counters replace the old (never added)
UPDATE task_usage SET input_tokens = 150, updated_at = now() WHERE task_id = uid('t1') AND model = 'opus';
SELECT usage_rollup.tick() > 0 AS wrote;
-- a correction that forgets updated_at is caught by the trigger (twice: the row
-- trigger queues its bucket for the missing stamp, the statement trigger keeps the
-- old version of any corrected row, which the bucket's recompute then drops)
UPDATE task_usage SET input_tokens = 160 WHERE task_id = uid('t1') AND model = 'opus';
SELECT (SELECT count(*) FROM usage_rollup.dirty_bucket) AS queued,
       (SELECT count(*) FROM usage_rollup.dirty_delta) AS corrections;
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT provider, model, input, cost, uncosted_input FROM rollup_summary WHERE model IN ('opus', 'sonnet');
SELECT app.drift();
-- re-running with nothing new writes nothing (idempotent)
SELECT usage_rollup.tick() AS rows;

-- runtime reassignment r1 -> r2, then to NULL (unbind), then back from NULL
UPDATE agent_task_queue SET runtime_id = uid('r2') WHERE id = uid('t2');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT rt, agent, model, input FROM rollup_summary WHERE model = 'gpt' ORDER BY 1, 2;
UPDATE agent_task_queue SET runtime_id = NULL WHERE id = uid('t2');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT rt, agent, model, input FROM rollup_summary WHERE model = 'gpt' ORDER BY 1, 2;
UPDATE agent_task_queue SET runtime_id = uid('r1') WHERE id = uid('t2');
SELECT usage_rollup.tick() > 0 AS wrote;
-- a runtime deleted: its tasks are unbound (SET NULL) and their spend stays, under runtime NULL (seeds W5)
DELETE FROM agent_runtime WHERE id = uid('r1');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT rt, agent, project, model, input FROM rollup_summary ORDER BY 1, 2, 3, 4;
SELECT app.drift();

-- a quick task linked to an issue after it ran (seeds LinkTaskToIssue, #6)
UPDATE agent_task_queue SET issue_id = uid('i1') WHERE id = uid('t2') AND issue_id IS NULL;
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT project, model, input FROM rollup_summary WHERE model = 'gpt' ORDER BY 1;
-- an issue moved to another project (#4), then its project deleted (SET NULL)
UPDATE issue SET project_id = uid('p2') WHERE id = uid('i1');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT project, model, input FROM rollup_summary ORDER BY 1, 2;
DELETE FROM project WHERE id = uid('p2');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT project, model, input FROM rollup_summary ORDER BY 1, 2;
SELECT app.drift();

-- workspace from the agent, never from the issue (seeds W9, #3): a task of agent a1
-- (w1) on an issue of w2; moving and deleting that issue leaves nothing stale
INSERT INTO issue (id, workspace_id, project_id) VALUES (uid('i9'), uid('w2'), NULL);
INSERT INTO project (id, workspace_id, name) VALUES (uid('p9'), uid('w2'), 'p9');
SELECT app.task('t9', 'a1', NULL, 'i9'), app.usage('t9', 'openai', 'o3', 333, '2026-03-03 12:00+00');
SELECT usage_rollup.tick() > 0 AS wrote;
UPDATE issue SET project_id = uid('p9') WHERE id = uid('i9');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT ws, project, model, input FROM rollup_summary WHERE model = 'o3';
-- issue delete cascades to its tasks and their usage (seeds #5)
DELETE FROM issue WHERE id = uid('i9');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT count(*) AS o3_rows FROM rollup_summary WHERE model = 'o3';
SELECT app.drift();

-- direct usage delete (#10) and task delete (cascade to usage)
DELETE FROM task_usage WHERE task_id = uid('t1') AND model = 'sonnet';
DELETE FROM agent_task_queue WHERE id = uid('t3');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT agent, model, input FROM rollup_summary ORDER BY 1, 2;
SELECT app.drift();

-- an agent moved to another workspace: its usage follows
UPDATE agent SET workspace_id = uid('w2') WHERE id = uid('a1');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT ws, agent, sum(input) AS input FROM rollup_summary GROUP BY 1, 2 ORDER BY 1, 2;
-- an agent hard-deleted (cascade to tasks and usage) leaves no orphan rows (seeds W4)
SELECT app.task('t4', 'a2', 'r2', NULL), app.usage('t4', 'openai', 'gpt', 44, '2026-03-04 08:00+00');
SELECT usage_rollup.tick() > 0 AS wrote;
DELETE FROM agent WHERE id = uid('a2');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT count(*) AS a2_rows FROM rollup_summary WHERE agent = 'a2';
SELECT app.drift();

-- rows stamped in the past, behind the watermark: a legacy row without updated_at
-- and a row with an explicit old updated_at are queued by the insert trigger
SELECT app.task('t5', 'a3', NULL, NULL);
INSERT INTO task_usage (task_id, provider, model, input_tokens, created_at, updated_at) VALUES
    (uid('t5'), 'x', 'legacy', 7, '2025-12-31 23:50+00', NULL),
    (uid('t5'), 'x', 'backdated', 8, '2025-12-31 23:55+00', '2026-01-01 00:00+00');
SELECT count(*) AS queued FROM usage_rollup.dirty_bucket;
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT model, input FROM rollup_summary WHERE provider = 'x' ORDER BY 1;
SELECT app.drift();

-- TRUNCATE of a source table empties the rollup at the next tick
TRUNCATE task_usage;
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT count(*) AS rollup_rows FROM usage_rollup.rollup;

-- workspace teardown: one bulk delete cascading through everything
SELECT app.task('t6', 'a3', NULL, NULL), app.usage('t6', 'openai', 'gpt', 66, '2026-03-05 00:00+00');
SELECT usage_rollup.tick() > 0 AS wrote;
DELETE FROM workspace WHERE id IN (uid('w1'), uid('w2'));
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT count(*) AS rollup_rows, app.drift() AS drift FROM usage_rollup.rollup;
SELECT count(*) AS queue_left FROM usage_rollup.dirty_bucket;

SET client_min_messages = warning;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
