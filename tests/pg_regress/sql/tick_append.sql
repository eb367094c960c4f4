-- A tick appends new rows (SPEC §6: its cost follows the rows added, not the rows
-- its buckets already hold) and recomputes a bucket only when something else
-- changed there. Every step ends with the rollup equal to the raw rows (drift 0,
-- which verify() also checks for the per-workspace rollup) and a look at which
-- path the tick took (tick_run.appended of tick_run.buckets).
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
SET client_min_messages = warning;
SELECT usage_rollup.attach();
RESET client_min_messages;
SELECT app.make_world();
CREATE VIEW last_tick AS
SELECT buckets, appended FROM usage_rollup.tick_run WHERE kind = 'tick' ORDER BY id DESC LIMIT 1;
CREATE VIEW bucket_10 AS
SELECT provider, model, input_tokens AS input, cost_usd_ticks AS cost, uncosted_input_tokens AS uncosted,
       output_tokens AS output, task_count AS tasks, event_count AS events
FROM usage_rollup.rollup WHERE bucket_start = '2026-03-01 10:00+00' ORDER BY 1, 2;

SELECT app.task('t1', 'a1', 'r1', 'i1'), app.task('t2', 'a1', 'r1', 'i1'), app.task('t3', 'a1', 'r1', 'i1');
SELECT app.usage('t1', 'claude', 'opus', 100, '2026-03-01 10:01+00', 7);
-- the first tick after attach has no high watermark yet: it recomputes
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT * FROM last_tick;

-- new rows in the same bucket: the same task and model again (the provider in
-- another letter case), a new task without cost, a new model, a new cell of a task
-- that has a row in the next bucket
SELECT app.usage('t1', 'Claude', 'opus', 10, '2026-03-01 10:02+00', 3),
       app.usage('t2', 'claude', 'opus', 20, '2026-03-01 10:03+00'),
       app.usage('t1', 'claude', 'haiku', 5, '2026-03-01 10:04+00', 1),
       app.usage('t3', 'claude', 'sonnet', 1, '2026-03-01 10:16+00'),
       app.usage('t3', 'claude', 'opus', 2, '2026-03-01 10:05+00', 4);
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT * FROM last_tick;
-- opus: t1 counted once although it has two rows now, t2 and t3 added
SELECT * FROM bucket_10;
SELECT app.drift();

-- an uncosted row added to a costed cell, a costed one to an uncosted cell
SELECT app.usage('t3', 'Claude', 'haiku', 7, '2026-03-01 10:06+00'),
       app.usage('t2', 'Claude', 'opus', 8, '2026-03-01 10:07+00', 2);
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT * FROM last_tick;
SELECT * FROM bucket_10;
SELECT app.drift();

-- a correction of a row the rollup holds queues its bucket: recomputed
UPDATE task_usage SET input_tokens = 1000 WHERE model = 'haiku';
SELECT count(DISTINCT bucket_start) AS queued FROM usage_rollup.dirty_bucket;
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT * FROM last_tick;
SELECT model, input FROM bucket_10 WHERE model = 'haiku';
SELECT app.drift();

-- a correction in one statement of many rows keeps each row's old version (no
-- bucket is queued); the tick takes them away and adds the new versions, appended
-- like new rows, without a recompute
UPDATE task_usage SET cache_read_tokens = 3, updated_at = now();
SELECT (SELECT count(*) FROM usage_rollup.dirty_bucket) AS queued_buckets,
       (SELECT count(*) FROM usage_rollup.dirty_delta) AS corrections,
       (SELECT count(*) FROM task_usage) AS usage_rows;
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT * FROM last_tick;
SELECT count(*) AS left_over FROM usage_rollup.dirty_delta;
SELECT app.drift();

-- new rows next to a delete in the same bucket: recomputed; in another bucket: appended
SELECT app.usage('t2', 'openai', 'gpt', 50, '2026-03-01 10:08+00'),
       app.usage('t2', 'openai', 'o3', 60, '2026-03-01 11:08+00');
DELETE FROM task_usage WHERE model = 'opus' AND task_id = uid('t3');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT * FROM last_tick;
SELECT app.drift();

-- a row inserted and corrected in the same transaction was never summed: appended
BEGIN;
SELECT app.usage('t3', 'openai', 'gpt', 70, '2026-03-01 12:08+00');
UPDATE task_usage SET input_tokens = 71 WHERE input_tokens = 70;
COMMIT;
SELECT count(*) AS queued FROM usage_rollup.dirty_bucket;
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT * FROM last_tick;
SELECT app.drift();

-- a new row of a task re-attributed since: the task trigger queued the bucket
SELECT app.usage('t3', 'openai', 'o3', 80, '2026-03-01 12:09+00');
UPDATE agent_task_queue SET runtime_id = uid('r2') WHERE id = uid('t3');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT * FROM last_tick;
SELECT app.drift();

-- the watermark moved back by hand: rows since are in the rollup already, so
-- ticks recompute (never add them twice) until past the furthest watermark reached
UPDATE usage_rollup.tick_state SET watermark = watermark - interval '1 hour';
SELECT app.usage('t1', 'openai', 'gpt', 90, '2026-03-01 12:10+00');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT * FROM last_tick;
SELECT app.drift();
SELECT app.usage('t1', 'openai', 'o3', 91, '2026-03-01 12:11+00');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT * FROM last_tick;
SELECT app.drift();

-- with the correction trigger disabled, corrections are not queued: no appending
ALTER TABLE task_usage DISABLE TRIGGER usage_rollup_usage_correct;
SELECT app.usage('t1', 'openai', 'o1', 92, '2026-03-01 12:12+00');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT * FROM last_tick;
ALTER TABLE task_usage ENABLE TRIGGER usage_rollup_usage_correct;
SELECT app.drift();

-- a statement that corrects more than 100,000 rows (a repricing) queues its
-- buckets instead of keeping each old version: recomputing them reads fewer rows
-- (1,001 tasks of 100 models each, over one day)
INSERT INTO agent_task_queue (id, agent_id, runtime_id, issue_id, status)
SELECT uid('bulk' || k), uid('a1'), uid('r1'), uid('i1'), 'completed' FROM generate_series(0, 1000) k;
INSERT INTO task_usage (task_id, provider, model, input_tokens, created_at)
SELECT uid('bulk' || k), 'bulk', 'm' || m, 1, '2026-03-02 00:00+00'::timestamptz + (k % 96) * interval '15 minutes'
FROM generate_series(0, 1000) k, generate_series(1, 100) m;
SELECT usage_rollup.tick() > 0 AS wrote;
UPDATE task_usage SET input_tokens = 2, updated_at = now() WHERE provider = 'bulk';
SELECT (SELECT count(*) FROM usage_rollup.dirty_bucket) AS queued_buckets,
       (SELECT count(*) FROM usage_rollup.dirty_delta) AS corrections;
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT * FROM last_tick;
SELECT app.drift();
-- 100 rows fewer (100,000): kept as corrections
UPDATE task_usage SET input_tokens = 3, updated_at = now() WHERE provider = 'bulk' AND task_id <> uid('bulk0');
SELECT (SELECT count(*) FROM usage_rollup.dirty_bucket) AS queued_buckets,
       (SELECT count(*) FROM usage_rollup.dirty_delta) AS corrections;
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT * FROM last_tick;
SELECT app.drift();
DELETE FROM task_usage WHERE provider = 'bulk';
DELETE FROM agent_task_queue WHERE id IN (SELECT uid('bulk' || k) FROM generate_series(0, 1000) k);
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT app.drift();

-- and a rebuild gives the same rollup as the appends did
CREATE TEMP TABLE appended AS SELECT * FROM usage_rollup.rollup;
CREATE TEMP TABLE appended_ws AS SELECT * FROM usage_rollup.rollup_ws;
DELETE FROM usage_rollup.rollup;
DELETE FROM usage_rollup.rollup_ws;
SET client_min_messages = warning;
CALL usage_rollup.backfill();
RESET client_min_messages;
SELECT (SELECT count(*) FROM (TABLE appended EXCEPT ALL TABLE usage_rollup.rollup) a)
     + (SELECT count(*) FROM (TABLE usage_rollup.rollup EXCEPT ALL TABLE appended) b) AS rebuild_differs,
       (SELECT count(*) FROM (TABLE appended_ws EXCEPT ALL TABLE usage_rollup.rollup_ws) a)
     + (SELECT count(*) FROM (TABLE usage_rollup.rollup_ws EXCEPT ALL TABLE appended_ws) b) AS rebuild_ws_differs;

SET client_min_messages = warning;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
