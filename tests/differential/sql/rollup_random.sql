-- Seeded randomized differential test (SPEC §3 invariant): random sequences of
-- usage inserts and upsert corrections (mixed-case providers, ~30% NULL costs,
-- legacy NULL and backdated updated_at, corrections that forget updated_at),
-- usage / task / issue / project / runtime / agent deletes, runtime reassignments
-- (to and from NULL), task->issue links, issue project moves and agent workspace
-- changes, created_at crowded around local midnights of Kolkata, Kathmandu,
-- Chatham, Lord Howe and New York (DST days included) and 15-minute bucket edges.
-- A tick follows about 3 in 4 batches (so sometimes two batches pile up), each in
-- its own transaction. After every tick the rollup must equal an independent
-- recompute of the §4.1 aggregate from the raw rows, verify() must be empty, no
-- rollup row or bucket may be left without raw rows, every sealed task day must
-- list the tasks of its raw rows and kpis' task count must equal the raw count. The driver is
-- tests/fixtures/workload.sql; a mismatch shows up as NOTICEs naming seed, batch,
-- the first differing keys and the replay CALL, and as mismatching_batches > 0.
\set SHOW_CONTEXT never
\set ECHO none
SET client_min_messages = warning;
\ir ../fixtures/reset.sql
CREATE EXTENSION usage_rollup;
\ir ../fixtures/reference_schema.sql
\ir ../fixtures/helpers.sql
\ir ../fixtures/workload.sql
RESET client_min_messages;
\set ECHO all
SET timezone = 'UTC';
SET search_path = app, public;
SET usage_rollup.safety_lag = 0;
SET usage_rollup.max_window = 0;
SET client_min_messages = warning;
SELECT usage_rollup.attach();
RESET client_min_messages;

-- six seeds of 80 batches x 50 operations, each from an empty world (the previous
-- seed's workspaces are torn down first, in one cascading delete, checked too)
CALL app.random_workload(1, 80, 50);
CALL app.random_workload(2, 80, 50);
CALL app.random_workload(3, 80, 50);
CALL app.random_workload(4, 80, 50);
CALL app.random_workload(5, 80, 50);
CALL app.random_workload(6, 80, 50);
SELECT seed, batches, ops, checks, mismatching_batches FROM app.diff_result ORDER BY seed;
-- ticks took both paths: new rows appended to buckets, and buckets recomputed
SELECT sum(appended) > 0 AS appended_some, sum(buckets - appended) > 0 AS recomputed_some
FROM usage_rollup.tick_run WHERE kind = 'tick';
-- every kind of operation happened (counts over all seeds)
SELECT kind, sum(n) AS n FROM app.diff_ops GROUP BY kind ORDER BY kind;

-- the checker is not vacuous: verify() and the independent comparison both see a
-- rollup row without raw rows and a row with wrong measures
BEGIN;
UPDATE usage_rollup.rollup SET input_tokens = input_tokens + 1
WHERE (bucket_start, agent_id, provider, model) = (SELECT bucket_start, agent_id, provider, model FROM usage_rollup.rollup
                                                   ORDER BY bucket_start, agent_id, provider, model, runtime_id, project_id LIMIT 1)
  AND runtime_id IS NOT DISTINCT FROM (SELECT runtime_id FROM usage_rollup.rollup
                                       ORDER BY bucket_start, agent_id, provider, model, runtime_id, project_id LIMIT 1)
  AND project_id IS NOT DISTINCT FROM (SELECT project_id FROM usage_rollup.rollup
                                       ORDER BY bucket_start, agent_id, provider, model, runtime_id, project_id LIMIT 1);
INSERT INTO usage_rollup.rollup (bucket_start, workspace_id, runtime_id, agent_id, project_id, provider, model,
                                 input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd_ticks,
                                 uncosted_input_tokens, uncosted_output_tokens, uncosted_cache_read_tokens,
                                 uncosted_cache_write_tokens, task_count, event_count)
VALUES ('1999-12-31 23:45Z', NULL, NULL, app.uid('ghost'), NULL, 'claude', 'opus', 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1);
SELECT split_part(issue, ':', 1) AS verify_issue, count(*) FROM usage_rollup.verify('-infinity', 'infinity') GROUP BY 1 ORDER BY 1;
SET LOCAL client_min_messages = warning;
SELECT app.wl_check(0, 0) AS findings;
ROLLBACK;
-- ... and verify() checks the per-workspace rollup too (both widths)
BEGIN;
UPDATE usage_rollup.rollup_ws SET task_count = task_count + 1
WHERE (width, bucket_start) IN ((15, (SELECT min(bucket_start) FROM usage_rollup.rollup_ws WHERE width = 15)),
                                (60, (SELECT max(bucket_start) FROM usage_rollup.rollup_ws WHERE width = 60)));
SELECT split_part(issue, ':', 1) AS verify_issue, count(*) > 0 AS found FROM usage_rollup.verify('-infinity', 'infinity') GROUP BY 1 ORDER BY 1;
ROLLBACK;
-- ... and the task days (kpis' task count): the checks compared many sealed days
-- with the raw rows, and one task taken from a sealed day's list shows
SELECT count(*) FILTER (WHERE days > 0) > 100 AS checks_with_sealed_days, sum(days) > 3000 AS sealed_days_checked
FROM app.wl_task_days_checked WHERE seed BETWEEN 1 AND 6;
BEGIN;
DELETE FROM usage_rollup.key_task
WHERE (task_id, bucket_start) = (SELECT k.task_id, k.bucket_start FROM usage_rollup.key_task k
                                 JOIN usage_rollup.key_task_block b USING (bucket_start) ORDER BY 1, 2 LIMIT 1);
SET LOCAL client_min_messages = warning;
SELECT app.wl_check(0, 0) > 0 AS task_day_tamper_found;
ROLLBACK;

-- a full rebuild equals the incrementally maintained rollup (last seed's world)
SELECT app.wl_check(6, -1) AS findings_before_rebuild;
CREATE TEMP TABLE incremental AS SELECT * FROM usage_rollup.rollup;
CREATE TEMP TABLE incremental_ws AS SELECT * FROM usage_rollup.rollup_ws;
DELETE FROM usage_rollup.rollup;
DELETE FROM usage_rollup.rollup_ws;
SET client_min_messages = warning;   -- backfill's progress NOTICEs carry timings
CALL usage_rollup.backfill();
RESET client_min_messages;
SELECT (SELECT count(*) FROM (TABLE incremental EXCEPT ALL TABLE usage_rollup.rollup) a)
     + (SELECT count(*) FROM (TABLE usage_rollup.rollup EXCEPT ALL TABLE incremental) b) AS rebuild_differs,
       (SELECT count(*) FROM (TABLE incremental_ws EXCEPT ALL TABLE usage_rollup.rollup_ws) a)
     + (SELECT count(*) FROM (TABLE usage_rollup.rollup_ws EXCEPT ALL TABLE incremental_ws) b) AS rebuild_ws_differs,
       (SELECT count(*) > 0 FROM incremental) AS nonempty,
       app.wl_check(6, -2) AS findings_after_rebuild;
-- and ticks resume cleanly after the backfill: more random work on the same world
CALL app.random_workload(7, 20, 50, false);
SELECT seed, batches, ops, checks, mismatching_batches FROM app.diff_result WHERE seed = 7;

SET client_min_messages = warning;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
