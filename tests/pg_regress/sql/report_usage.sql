-- The usage reports (SPEC §4, §8): local days in the viewer's zone, filters, exact
-- task counts, freshness without a tick, argument checks.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
SET client_min_messages = warning;
SELECT usage_rollup.attach(users => 'app.user');
RESET client_min_messages;
SELECT app.make_world();
INSERT INTO "user" (id, timezone) VALUES (uid('viewer-kolkata'), 'Asia/Kolkata');
SELECT app.task('t1', 'a1', 'r1', 'i1'), app.task('t2', 'a2', NULL, 'i3'), app.task('t3', 'a1', 'r2', NULL),
       app.task('t9', 'a3', NULL, NULL);
-- around Kolkata's midnight (18:30 UTC) and Kathmandu's (18:15 UTC) on 2026-03-01
SELECT app.usage('t1', 'claude', 'opus', 100, '2026-03-01 18:14:59.999999+00', 1000),
       app.usage('t1', 'claude', 'sonnet', 10, '2026-03-01 18:15:00+00'),
       app.usage('t2', 'openai', 'gpt', 200, '2026-03-01 18:29:59+00', 2000),
       app.usage('t3', 'openai', 'gpt', 300, '2026-03-01 18:30:00+00'),
       app.usage('t9', 'openai', 'gpt', 999, '2026-03-01 12:00+00');   -- another workspace
-- the same task and model with the provider in two letter cases, on two local days
-- and in two buckets of one day: one task per report row
SELECT app.usage('t3', 'Cursor', 'auto', 1, '2026-03-02 01:00+00'), app.usage('t3', 'cursor', 'auto', 2, '2026-03-02 03:00+00'),
       app.usage('t3', 'CURSOR', 'auto', 4, '2026-03-03 01:00+00');
SELECT usage_rollup.tick() > 0 AS ticked;

SELECT day, provider, model, input_tokens, cost_usd_ticks, uncosted_input_tokens, task_count
FROM usage_rollup.daily_usage(uid('w1'), '2026-03-01', '2026-03-03');
SELECT day, provider, model, input_tokens, task_count
FROM usage_rollup.daily_usage(uid('w1'), '2026-03-01', '2026-03-03', tz => 'Asia/Kolkata');
SELECT day, provider, model, input_tokens, task_count
FROM usage_rollup.daily_usage(uid('w1'), '2026-03-01', '2026-03-03', tz => 'Asia/Kathmandu');
-- the viewer's stored zone, and an explicit tz over it
SELECT day, sum(input_tokens) AS input FROM usage_rollup.daily_usage(uid('w1'), '2026-03-01', '2026-03-03', viewer_id => uid('viewer-kolkata')) GROUP BY 1 ORDER BY 1;
SELECT day, sum(input_tokens) AS input FROM usage_rollup.daily_usage(uid('w1'), '2026-03-01', '2026-03-03', tz => 'UTC', viewer_id => uid('viewer-kolkata')) GROUP BY 1 ORDER BY 1;
-- one local day only: Kolkata's 2026-03-02 starts at 18:30 UTC on 03-01
SELECT provider, model, input_tokens, task_count FROM usage_rollup.usage_summary(uid('w1'), '2026-03-02', '2026-03-02', tz => 'Asia/Kolkata');

-- filters and the other groupings (NULL keys are groups of their own, sorted last)
SELECT label(agent_id) AS agent, provider, model, input_tokens, task_count
FROM usage_rollup.usage_by_agent(uid('w1'), '2026-03-01', '2026-03-03');
SELECT label(project_id) AS project, provider, model, input_tokens, task_count
FROM usage_rollup.usage_by_project(uid('w1'), '2026-03-01', '2026-03-03');
SELECT label(runtime_id) AS runtime, provider, model, input_tokens, task_count
FROM usage_rollup.usage_by_runtime(uid('w1'), '2026-03-01', '2026-03-03');
SELECT provider, model, input_tokens FROM usage_rollup.usage_summary(uid('w1'), '2026-03-01', '2026-03-03', project_id => uid('p1'));
SELECT provider, model, input_tokens FROM usage_rollup.usage_summary(uid('w1'), '2026-03-01', '2026-03-03', runtime_id => uid('r2'));
SELECT provider, model, input_tokens FROM usage_rollup.usage_summary(uid('w1'), '2026-03-01', '2026-03-03', agent_id => uid('a2'));
SELECT hour, provider, model, input_tokens, task_count
FROM usage_rollup.usage_by_hour(uid('w1'), '2026-03-01', '2026-03-03', tz => 'Asia/Kathmandu');
SELECT provider, model, input_tokens, cost_usd_ticks, task_count FROM usage_rollup.issue_usage(uid('i1'));

-- freshness: new rows, a correction, a delete and a re-attribution show at once,
-- without a tick; after the tick nothing changes
SELECT app.usage('t2', 'openai', 'o3', 5000, '2026-03-02 12:00+00');
UPDATE task_usage SET input_tokens = 150, updated_at = now() WHERE model = 'opus';
DELETE FROM task_usage WHERE model = 'sonnet';
UPDATE agent_task_queue SET runtime_id = uid('r1') WHERE id = uid('t2');
SELECT app.usage('t3', 'CuRsOr', 'auto', 8, '2026-03-02 05:00+00');   -- a fourth letter case, not ticked yet
CREATE TEMP TABLE before_tick AS
SELECT 'by_runtime' AS report, label(runtime_id) AS k, provider, model, input_tokens, task_count
FROM usage_rollup.usage_by_runtime(uid('w1'), '2026-03-01', '2026-03-03')
UNION ALL
SELECT 'daily', day::text, provider, model, input_tokens, task_count
FROM usage_rollup.daily_usage(uid('w1'), '2026-03-01', '2026-03-03', tz => 'Asia/Kolkata');
SELECT * FROM before_tick ORDER BY 1, 2, 3, 4;
SELECT usage_rollup.tick() > 0 AS ticked;
SELECT count(*) AS changed_by_the_tick FROM (
    (SELECT * FROM before_tick
     EXCEPT ALL
     (SELECT 'by_runtime', label(runtime_id), provider, model, input_tokens, task_count
      FROM usage_rollup.usage_by_runtime(uid('w1'), '2026-03-01', '2026-03-03')
      UNION ALL
      SELECT 'daily', day::text, provider, model, input_tokens, task_count
      FROM usage_rollup.daily_usage(uid('w1'), '2026-03-01', '2026-03-03', tz => 'Asia/Kolkata')))) x;

-- reports write nothing: they run in a READ ONLY transaction (and on a standby)
SELECT uid('w1') AS w1 \gset
BEGIN READ ONLY;
SELECT count(*) AS rows FROM usage_rollup.daily_usage(:'w1', '2026-03-01', '2026-03-03', tz => 'Pacific/Chatham');
COMMIT;

-- a day whose local midnight is not on a 15-minute boundary (Kolkata kept Madras
-- time, +05:21:10, until 1906) is answered from the raw rows, exactly: midnight of
-- 1900-06-02 was 18:38:50 UTC, inside the bucket 18:30-18:45
SELECT ('1900-06-02 00:00'::timestamp AT TIME ZONE 'Asia/Kolkata') AS kolkata_midnight_1900;
SELECT app.usage('t1', 'claude', 'haiku', 77, '1900-06-01 18:35+00'), app.usage('t2', 'claude', 'haiku', 88, '1900-06-01 18:40+00');
SELECT day, model, input_tokens, task_count FROM usage_rollup.daily_usage(uid('w1'), '1900-06-01', '1900-06-02', tz => 'Asia/Kolkata');

-- bad input: each a clear error
SELECT * FROM usage_rollup.daily_usage(NULL, '2026-03-01', '2026-03-03');
SELECT * FROM usage_rollup.daily_usage(uid('w1'), NULL, '2026-03-03');
SELECT * FROM usage_rollup.usage_by_agent(uid('w1'), '2026-03-01', NULL);
SELECT * FROM usage_rollup.usage_summary(uid('w1'), '2026-03-03', '2026-03-01');
SELECT * FROM usage_rollup.usage_by_hour(uid('w1'), '2016-01-01', '2026-03-01');
SELECT * FROM usage_rollup.usage_by_runtime(uid('w1'), '2026-03-01', '2026-03-03', tz => 'UTC+8');
SELECT * FROM usage_rollup.usage_by_project(uid('w1'), '2026-03-01', '2026-03-03', viewer_id => uid('nobody'));
SELECT * FROM usage_rollup.issue_usage(NULL);
-- an unknown workspace or issue is no error: nothing to report
SELECT count(*) FROM usage_rollup.daily_usage(uid('nowhere'), '2026-03-01', '2026-03-03');
SELECT count(*) FROM usage_rollup.issue_usage(uid('nowhere'));

SET client_min_messages = warning;
DROP TABLE before_tick;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
