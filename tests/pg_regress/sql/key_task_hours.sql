-- The keyed task hours (SPEC §6; src/keyed/tasks.rs, 0.8.0): for the hours of a
-- UTC day not sealed yet, kpis' distinct task count reads per sealed hour the tasks
-- with a usage row in it instead of the raw rows. A day three days back is made
-- "the current day" by a seal run with its cut at 14:05 of that day (safety_lag):
-- its hours 00:00-12:00 are sealed, 13:00 is not (ten minutes' margin). Checked:
-- which hours are sealed, every entry and count against the raw rows, every kpis
-- column against the raw read mode in six zones and four ranges (after the seal,
-- after changes inside sealed hours without a tick, after the tick that takes
-- exactly those hours off the list, after the ticks that seal the day, which
-- removes its hours), a tampered count shows, and the ticks' own hours lie in the
-- last two UTC days only.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
\set ECHO none
\ir ../fixtures/synthetic.sql
\set ECHO all
SET client_min_messages = warning;
SELECT usage_rollup.attach();
SELECT app.generate_synthetic(3, 6, 2500, 6, 0.53) > 0 AS generated;
-- tasks whose rows span hours: one in six gets one to three more rows, 37 minutes apart
INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at, updated_at)
SELECT t.id, 'span', 'model-' || k, 5, t.completed_at + k * interval '37 minutes', t.completed_at + k * interval '37 minutes'
FROM app.agent_task_queue t, generate_series(1, 1 + abs(hashtext(t.id::text)) % 3) k
WHERE abs(hashtext(t.id::text || 'h')) % 6 = 0 AND t.completed_at + k * interval '37 minutes' < now() - interval '1 hour';
CALL usage_rollup.backfill();
RESET client_min_messages;
SELECT usage_rollup.tick() >= 0 AS ticked;

-- the day made current, D (UTC), three days back
CREATE TEMP TABLE d AS
SELECT date_bin('1 day', now(), '2000-01-01 00:00:00+00') - interval '72 hours' AS d;

-- kpis of every workspace against its §4.1 truth
\set ECHO none
\ir ../fixtures/kpis_truth.sql
\set ECHO all
-- six zones x four ranges around D (local dates: D alone, D and the day before,
-- D to today, the whole history)
CREATE FUNCTION pg_temp.check() RETURNS TABLE (zone text, ranges bigint, mismatches bigint) LANGUAGE sql AS $$
    SELECT z, count(*), sum(pg_temp.mismatches(z, r.f, r.t) + pg_temp.count_mismatches(z, r.f, r.t))::bigint
    FROM unnest(ARRAY['UTC', 'Asia/Kolkata', 'Asia/Kathmandu', 'Pacific/Chatham', 'Australia/Lord_Howe',
                      'America/New_York']) z
    CROSS JOIN (SELECT (d AT TIME ZONE 'UTC')::date AS day FROM d) x
    CROSS JOIN LATERAL (VALUES (x.day, x.day), (x.day - 1, x.day), (x.day, x.day + 3), (x.day - 7, x.day + 3)) r (f, t)
    GROUP BY z ORDER BY z
$$;
-- the entries of the sealed hours against the raw rows: the tasks of each hour per
-- workspace (and, with marks, whether all of the task's rows lie in that hour)
CREATE FUNCTION pg_temp.entries_differ(with_marks boolean) RETURNS bigint LANGUAGE sql AS $$
    WITH truth AS (
        SELECT DISTINCT date_bin('1 hour', u.created_at, '2000-01-01 00:00:00+00') AS h, a.workspace_id, u.task_id
        FROM app.task_usage u JOIN app.agent_task_queue t ON t.id = u.task_id JOIN app.agent a ON a.id = t.agent_id
        WHERE date_bin('1 hour', u.created_at, '2000-01-01 00:00:00+00') IN (SELECT bucket_start FROM usage_rollup.key_task_hour_block)
    ), marked AS (
        SELECT x.h, x.workspace_id, x.task_id,
               with_marks AND NOT EXISTS (SELECT 1 FROM app.task_usage z WHERE z.task_id = x.task_id
                                          AND (z.created_at < x.h OR z.created_at >= x.h + interval '1 hour')) AS single
        FROM truth x
    ), stored AS (
        SELECT k.bucket_start AS h, k.workspace_id, k.task_id, with_marks AND k.single AS single
        FROM usage_rollup.key_task_hour k JOIN usage_rollup.key_task_hour_block b USING (bucket_start)
    )
    SELECT (SELECT count(*) FROM (TABLE marked EXCEPT ALL TABLE stored) a) + (SELECT count(*) FROM (TABLE stored EXCEPT ALL TABLE marked) b)
$$;
-- each sealed hour's count is its single tasks
CREATE VIEW pg_temp.unmatched_counts AS
SELECT * FROM (SELECT c.workspace_id, c.bucket_start, c.single_tasks AS counted FROM usage_rollup.key_task_hour_count c
               JOIN usage_rollup.key_task_hour_block b USING (bucket_start)) c
FULL JOIN (SELECT k.workspace_id, k.bucket_start, count(*) FILTER (WHERE k.single) AS marked
           FROM usage_rollup.key_task_hour k JOIN usage_rollup.key_task_hour_block b USING (bucket_start) GROUP BY 1, 2) e
     USING (workspace_id, bucket_start)
WHERE c.counted IS DISTINCT FROM e.marked;
-- the hours the ticks seal: in the last two UTC days, finished, in no sealed day
SET client_min_messages = warning;
CREATE VIEW pg_temp.misplaced_hours AS
SELECT h.bucket_start FROM usage_rollup.key_task_hour_block h
WHERE h.bucket_start <> ALL (SELECT x FROM d, generate_series(d.d, d.d + interval '12 hours', interval '1 hour') x)
  AND (h.bucket_start < date_bin('1 day', now(), '2000-01-01 00:00:00+00') - interval '24 hours'
       OR h.bucket_start + interval '70 minutes' > now()
       OR EXISTS (SELECT 1 FROM usage_rollup.key_task_block b
                  WHERE h.bucket_start >= b.bucket_start AND h.bucket_start < b.bucket_start + interval '24 hours'));
RESET client_min_messages;

-- after the backfill and a tick (real clock): entries exact, hours in place
SELECT pg_temp.entries_differ(true) AS entries_differ, (SELECT count(*) FROM pg_temp.unmatched_counts) AS counts_differ,
       (SELECT count(*) FROM pg_temp.misplaced_hours) AS misplaced_hours;
SELECT * FROM pg_temp.check();

-- D current: a seal with its cut at D 14:05 (every day queued again, those ended by
-- then sealed, and D's finished hours)
SELECT set_config('usage_rollup.safety_lag',
                  extract(epoch FROM now() - (d + interval '14 hours 5 minutes'))::bigint::text, false) IS NOT NULL AS lag_set
FROM d;
SELECT usage_rollup._seal_key_tasks();
SET usage_rollup.safety_lag = 0;
SELECT count(*) AS d_hours_sealed, min(bucket_start) = min(d) AS from_midnight,
       max(bucket_start) = min(d) + interval '12 hours' AS through_noon
FROM usage_rollup.key_task_hour_block, d WHERE bucket_start >= d AND bucket_start < d + interval '24 hours';
SELECT EXISTS (SELECT 1 FROM usage_rollup.key_task_block, d WHERE bucket_start = d) AS d_sealed_as_day,
       (SELECT count(*) FROM usage_rollup.key_task_block, d WHERE bucket_start < d) >= 2 AS days_before_sealed;
SELECT bool_or(single) AS has_single, bool_or(NOT single) AS has_spanning
FROM usage_rollup.key_task_hour, d WHERE bucket_start >= d AND bucket_start < d + interval '24 hours';
SELECT pg_temp.entries_differ(true) AS entries_differ, (SELECT count(*) FROM pg_temp.unmatched_counts) AS counts_differ;
SELECT * FROM pg_temp.check();

-- the report does read them: one more single task in every sealed hour of one workspace
BEGIN;
UPDATE usage_rollup.key_task_hour_count SET single_tasks = single_tasks + 1 WHERE workspace_id = md5('ws1')::uuid;
SELECT pg_temp.count_mismatches('UTC', (d AT TIME ZONE 'UTC')::date, (d AT TIME ZONE 'UTC')::date) > 0 AS tamper_seen FROM d;
ROLLBACK;

-- changes inside sealed hours of D without a tick: a late row at 05:20 for a task
-- of another hour (it now spans hours), a task's rows at 08:00-08:59 deleted, and
-- an 11 o'clock row moved to a task of another workspace
CREATE TEMP TABLE changed (at timestamptz);
WITH x AS (
    INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at)
    SELECT u.task_id, 'late', 'model-x', 11, d.d + interval '5 hours 20 minutes'
    FROM app.task_usage u, d WHERE u.created_at >= d.d + interval '9 hours' AND u.created_at < d.d + interval '10 hours'
    ORDER BY u.created_at LIMIT 1
    RETURNING created_at)
INSERT INTO changed SELECT created_at FROM x;
WITH x AS (
    DELETE FROM app.task_usage WHERE task_id = (
        SELECT u.task_id FROM app.task_usage u, d WHERE u.created_at >= d.d + interval '8 hours' AND u.created_at < d.d + interval '9 hours'
        ORDER BY u.created_at LIMIT 1)
    RETURNING created_at)
INSERT INTO changed SELECT created_at FROM x;
WITH x AS (
    UPDATE app.task_usage SET model = 'moved',
                              task_id = (SELECT t.id FROM app.agent_task_queue t JOIN app.agent a ON a.id = t.agent_id
                                         WHERE a.workspace_id = md5('ws3')::uuid ORDER BY t.id LIMIT 1)
    WHERE id = (SELECT u.id FROM app.task_usage u JOIN app.agent_task_queue t ON t.id = u.task_id
                JOIN app.agent a ON a.id = t.agent_id, d
                WHERE a.workspace_id = md5('ws1')::uuid AND u.created_at >= d.d + interval '11 hours'
                  AND u.created_at < d.d + interval '12 hours'
                ORDER BY u.created_at LIMIT 1)
    RETURNING created_at)
INSERT INTO changed SELECT created_at FROM x;
SELECT count(*) >= 3 AS changed_rows FROM changed;
SELECT * FROM pg_temp.check();

-- the tick takes exactly the hours of the changed buckets off the list (D is not the
-- newest finished day, so it is not sealed as a day yet)
SELECT usage_rollup.tick() > 0 AS ticked;
SELECT (SELECT array_agg(h ORDER BY h) FROM d, generate_series(d.d, d.d + interval '12 hours', interval '1 hour') h
        WHERE h <> ALL (SELECT date_bin('1 hour', at, '2000-01-01 00:00:00+00') FROM changed))
     = (SELECT array_agg(bucket_start ORDER BY bucket_start) FROM usage_rollup.key_task_hour_block, d
        WHERE bucket_start >= d AND bucket_start < d + interval '24 hours') AS changed_hours_unsealed,
       (SELECT count(DISTINCT date_bin('1 hour', at, '2000-01-01 00:00:00+00')) FROM changed, d
        WHERE at >= d.d AND at < d.d + interval '13 hours') >= 3 AS three_hours_changed;
SELECT pg_temp.entries_differ(false) AS entries_differ, (SELECT count(*) FROM pg_temp.unmatched_counts) AS counts_differ;
SELECT * FROM pg_temp.check();

-- the ticks that seal the queued days, D among them, one each: sealing D removes its hours
CREATE FUNCTION pg_temp.seal_d() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n int := 0;
BEGIN
    WHILE n < 20 AND EXISTS (SELECT 1 FROM usage_rollup.key_task_stale s, d WHERE s.bucket_start = d.d) LOOP
        PERFORM usage_rollup.tick();
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
SELECT pg_temp.seal_d() > 0 AS sealed_d;
SELECT EXISTS (SELECT 1 FROM usage_rollup.key_task_block, d WHERE bucket_start = d) AS d_sealed_as_day,
       (SELECT count(*) FROM usage_rollup.key_task_hour_block, d WHERE bucket_start >= d AND bucket_start < d + interval '24 hours')
     + (SELECT count(*) FROM usage_rollup.key_task_hour, d WHERE bucket_start >= d AND bucket_start < d + interval '24 hours')
     + (SELECT count(*) FROM usage_rollup.key_task_hour_count, d WHERE bucket_start >= d AND bucket_start < d + interval '24 hours')
       AS d_hour_rows_left;
SELECT pg_temp.entries_differ(false) AS entries_differ, (SELECT count(*) FROM pg_temp.unmatched_counts) AS counts_differ,
       (SELECT count(*) FROM pg_temp.misplaced_hours) AS misplaced_hours;
SELECT * FROM pg_temp.check();

-- detach removes them
SET client_min_messages = warning;
SELECT usage_rollup.detach();
RESET client_min_messages;
SELECT (SELECT count(*) FROM usage_rollup.key_task_hour) + (SELECT count(*) FROM usage_rollup.key_task_hour_count)
     + (SELECT count(*) FROM usage_rollup.key_task_hour_block) AS hour_rows_left;
