-- The keyed task days (SPEC §6; src/keyed/tasks.rs): kpis' distinct task count
-- reads, per sealed UTC day and workspace, the tasks with a usage row in it (a
-- count of those whose rows all lay in that day, the others by id) and the raw rows
-- for the rest of its range. Checked here against the §4.1 truth (every kpis column
-- against the same report in the raw read mode, which runs the ground-truth
-- queries) in six zones and four ranges, for tasks whose rows span days, after a
-- backfill, after changes without a tick (read raw), after the tick that takes
-- their days off the list, and after the ticks that seal them again; a usage row
-- moved to another task leaves every rollup row as it was, and still takes its day
-- off the list; a tampered count shows in the report (it does read it); a rebuild of
-- the days equals the incremental ones.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
\set ECHO none
\ir ../fixtures/synthetic.sql
\set ECHO all
SET client_min_messages = warning;
SELECT usage_rollup.attach();
SELECT app.generate_synthetic(3, 6, 3000, 80, 0.31) > 0 AS generated;
-- tasks whose rows span days: one in eight gets one to four more rows, 7 to 28
-- hours after its first (across UTC and local midnights)
INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at, updated_at)
SELECT t.id, 'span', 'model-' || k, 5, t.completed_at + k * interval '7 hours', t.completed_at + k * interval '7 hours'
FROM app.agent_task_queue t, generate_series(1, 1 + abs(hashtext(t.id::text)) % 4) k
WHERE abs(hashtext(t.id::text || 's')) % 8 = 0 AND t.completed_at + k * interval '7 hours' < now() - interval '2 hours';
-- two tasks of one agent, each with one row in one day ten days ago, in different
-- buckets and models (below, the first one's row moves to the second task)
INSERT INTO app.agent_task_queue (id, agent_id, runtime_id, issue_id, status, created_at, started_at, completed_at)
SELECT md5('swap' || n)::uuid, md5('ag1/1')::uuid, NULL, NULL, 'completed', d, d, d + interval '1 minute'
FROM (VALUES (1), (2)) v (n),
     LATERAL (SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '10 days' + interval '10 hours' + n * interval '1 hour' AS d) x;
INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at, updated_at)
SELECT t.id, 'swap', 'model-' || right(t.id::text, 1), 3, t.completed_at, t.completed_at
FROM app.agent_task_queue t WHERE t.id IN (md5('swap1')::uuid, md5('swap2')::uuid);
CALL usage_rollup.backfill();
RESET client_min_messages;
-- (the generator wrote rows stamped before the watermark: their buckets were queued,
-- and the first tick recomputes them, which takes their days off the list)
SELECT usage_rollup.tick() >= 0 AS ticked;

-- kpis of every workspace against its §4.1 truth
\set ECHO none
\ir ../fixtures/kpis_truth.sql
\set ECHO all
-- six zones x four ranges ending days before today (and the last one today)
CREATE FUNCTION pg_temp.check() RETURNS TABLE (zone text, ranges bigint, mismatches bigint) LANGUAGE sql AS $$
    SELECT z, count(*), sum(pg_temp.mismatches(z, t - r.back, t - r.fwd) + pg_temp.count_mismatches(z, t - r.back, t - r.fwd))::bigint
    FROM unnest(ARRAY['UTC', 'Asia/Kolkata', 'Asia/Kathmandu', 'Pacific/Chatham', 'Australia/Lord_Howe',
                      'America/New_York']) z
    CROSS JOIN LATERAL (SELECT usage_rollup.local_today(tz => z) AS t) today
    CROSS JOIN (VALUES (79, 0), (45, 9), (12, 3), (1, 1)) r (back, fwd)
    GROUP BY z ORDER BY z
$$;
-- the ticks that seal the days the first tick took off the list, one each
CREATE FUNCTION pg_temp.reseal() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n int := 0;
BEGIN
    WHILE n < 200 AND EXISTS (SELECT 1 FROM usage_rollup.key_task_stale
                              WHERE bucket_start + interval '25 hours' <= now()) LOOP
        PERFORM usage_rollup.tick();
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
SELECT pg_temp.reseal() > 0 AS resealed;

-- every finished day holding usage is sealed; the data has tasks of both kinds
SELECT count(*) >= 78 AS days_sealed FROM usage_rollup.key_task_block;
SELECT count(*) <= 2 AS queued_days_recent_only FROM usage_rollup.key_task_stale;
SELECT bool_or(single) AS has_single, bool_or(NOT single) AS has_spanning FROM usage_rollup.key_task;
SELECT task_day_backlog FROM usage_rollup.status;
SELECT * FROM pg_temp.check();

-- the report does read them: one more single task in every day of one workspace
BEGIN;
UPDATE usage_rollup.key_task_day SET single_tasks = single_tasks + 1 WHERE workspace_id = md5('ws1')::uuid;
SELECT pg_temp.count_mismatches('UTC', usage_rollup.local_today() - 79, usage_rollup.local_today()) > 0 AS tamper_seen;
ROLLBACK;

-- changes without a tick: corrections, deletes, late rows for an old day (for tasks
-- of other days: they now span days), a task moved to another workspace's agent,
-- and a usage row moved from one task to another (the rollup stays as it was: same
-- agent, same bucket sums, one task each)
CREATE TEMP TABLE sealed_before AS SELECT * FROM usage_rollup.key_task_block;
UPDATE app.task_usage SET input_tokens = input_tokens + 7, updated_at = now()
WHERE created_at >= now() - interval '30 days' AND created_at < now() - interval '29 days';
DELETE FROM app.task_usage WHERE created_at >= now() - interval '50 days' AND created_at < now() - interval '49 days 20 hours';
INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at)
SELECT t.id, 'late', 'model-x', 11, now() - interval '40 days'
FROM app.agent_task_queue t ORDER BY t.id LIMIT 25;
UPDATE app.agent_task_queue SET agent_id = md5('ag2/1')::uuid
WHERE id IN (SELECT task_id FROM app.task_usage WHERE created_at >= now() - interval '60 days'
                                                 AND created_at < now() - interval '59 days 18 hours')
  AND agent_id IN (SELECT id FROM app.agent WHERE workspace_id = md5('ws1')::uuid);
CREATE TEMP TABLE rollup_before AS SELECT * FROM usage_rollup.rollup;
UPDATE app.task_usage SET task_id = md5('swap2')::uuid WHERE task_id = md5('swap1')::uuid;
SELECT * FROM pg_temp.check();

-- the tick recomputes those buckets and takes their days off the list, the day of
-- the moved row too, although its rollup rows did not change
SELECT usage_rollup.tick() > 0 AS ticked;
SELECT (SELECT count(*) FROM (TABLE rollup_before EXCEPT ALL SELECT * FROM usage_rollup.rollup
                              WHERE bucket_start >= now() - interval '11 days' AND bucket_start < now() - interval '9 days') x
        WHERE x.bucket_start >= now() - interval '11 days' AND x.bucket_start < now() - interval '9 days') AS swap_day_rollup_changed,
       (SELECT b.sealed_at > s.sealed_at FROM usage_rollup.key_task_block b JOIN sealed_before s USING (bucket_start)
        WHERE b.bucket_start = date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '10 days')
       AS swap_day_sealed_again;
SELECT (SELECT count(*) FROM sealed_before) - (SELECT count(*) FROM usage_rollup.key_task_block) >= 4 AS unsealed,
       (SELECT task_day_backlog FROM usage_rollup.status) >= 4 AS backlog_shown;
SELECT * FROM pg_temp.check();

-- the next ticks seal them again, one each
SELECT pg_temp.reseal() >= 4 AS resealed;
SELECT count(*) AS still_unsealed FROM (SELECT bucket_start FROM sealed_before
                                        EXCEPT SELECT bucket_start FROM usage_rollup.key_task_block) x;
SELECT * FROM pg_temp.check();

-- sealing from scratch gives the same entries (whether a task is single may
-- differ: a day keeps the mark it was sealed with while its task gains rows in
-- other days, which the count allows for), and each day's count is its single tasks
CREATE TEMP VIEW entries AS
SELECT k.task_id, k.bucket_start, k.workspace_id FROM usage_rollup.key_task k JOIN usage_rollup.key_task_block b USING (bucket_start);
CREATE TEMP VIEW unmatched_counts AS
SELECT * FROM (SELECT c.workspace_id, c.bucket_start, c.single_tasks AS counted FROM usage_rollup.key_task_day c
               JOIN usage_rollup.key_task_block b USING (bucket_start)) c
FULL JOIN (SELECT k.workspace_id, k.bucket_start, count(*) FILTER (WHERE k.single) AS marked
           FROM usage_rollup.key_task k JOIN usage_rollup.key_task_block b USING (bucket_start) GROUP BY 1, 2) e
     USING (workspace_id, bucket_start)
WHERE c.counted IS DISTINCT FROM e.marked;
SELECT count(*) AS incremental_counts_differ FROM unmatched_counts;
CREATE TEMP TABLE incremental AS TABLE entries;
TRUNCATE usage_rollup.key_task, usage_rollup.key_task_day, usage_rollup.key_task_block, usage_rollup.key_task_stale;
SELECT usage_rollup._seal_key_tasks();
SELECT (SELECT count(*) FROM (TABLE entries EXCEPT ALL TABLE incremental) a)
     + (SELECT count(*) FROM (TABLE incremental EXCEPT ALL TABLE entries) b) AS rebuild_differs,
       (SELECT count(*) FROM unmatched_counts) AS rebuilt_counts_differ;
SELECT * FROM pg_temp.check();

-- with a filter, or in the raw read mode, kpis reads the raw rows (same answer)
SELECT count(*) AS filtered_mismatches FROM app.agent a
CROSS JOIN LATERAL (SELECT * FROM usage_rollup.kpis(a.workspace_id, usage_rollup.local_today() - 79,
                                                     usage_rollup.local_today(), agent_id => a.id)) got
CROSS JOIN LATERAL (SELECT * FROM usage_rollup._kpis(a.workspace_id, usage_rollup.local_today() - 79,
                                                      usage_rollup.local_today(), 'UTC', NULL, NULL, NULL, a.id, 'raw')) truth
WHERE got IS DISTINCT FROM truth;

-- detach removes them
SET client_min_messages = warning;
SELECT usage_rollup.detach();
RESET client_min_messages;
SELECT (SELECT count(*) FROM usage_rollup.key_task) + (SELECT count(*) FROM usage_rollup.key_task_day)
     + (SELECT count(*) FROM usage_rollup.key_task_block) + (SELECT count(*) FROM usage_rollup.key_task_stale) AS task_rows_left;
