-- Seeded randomized differential test of the keyed task hours and days (SPEC §6,
-- src/keyed/tasks.rs): random batches of usage inserts (new tasks, and rows for
-- tasks of other hours and days), corrections, deletes, usage rows moved to another
-- task, tasks moved to an agent of another workspace and task deletes, with
-- created_at crowded around UTC hour edges and local midnights of a day D two days
-- back. After each batch a tick (real clock: it takes the hours and days of its
-- buckets off the list, and seals what the clock says is finished), and every
-- third batch a seal whose cut is D 20:05 (safety_lag), which makes D the current
-- day: the days before it sealed whole, D's hours 00:00-18:00 one by one. After
-- every step: the entries of every sealed hour and day list exactly the tasks of
-- its raw rows, each count equals its single marks, no task is single in two
-- sealed blocks, no sealed hour lies in a sealed day, and kpis' task count equals
-- count(DISTINCT task_id) of the raw rows for ranges around D in four zones.
\set SHOW_CONTEXT never
\set ECHO none
SET client_min_messages = warning;
\ir ../fixtures/reset.sql
CREATE EXTENSION usage_rollup;
\ir ../fixtures/reference_schema.sql
\ir ../fixtures/helpers.sql
RESET client_min_messages;
\set ECHO all
SET timezone = 'UTC';
SET search_path = app, public;
SET usage_rollup.safety_lag = 0;
SET client_min_messages = warning;
SELECT usage_rollup.attach();
RESET client_min_messages;

CREATE TABLE app.th_d AS SELECT date_bin('1 day', now(), '2000-01-01 00:00:00+00') - interval '48 hours' AS d;
CREATE TABLE app.th_result (seed int, step int, what text, mismatches bigint, PRIMARY KEY (seed, step, what));
CREATE TABLE app.th_ops (seed int, kind text, n int, PRIMARY KEY (seed, kind));

-- an instant near D: around its UTC hour edges, local midnights of Kolkata,
-- Chatham and New York, and anywhere in D - 1 .. D + 1
CREATE FUNCTION app.th_at() RETURNS timestamptz LANGUAGE sql VOLATILE AS $$
    SELECT CASE WHEN r < 0.45 THEN d.d + floor(random() * 24) * interval '1 hour' + (random() * 20 - 10) * interval '1 minute'
                WHEN r < 0.70 THEN (ARRAY[d.d - interval '5 hours 30 minutes', d.d + interval '18 hours 30 minutes',
                                          d.d - interval '13 hours 45 minutes', d.d + interval '10 hours 15 minutes',
                                          d.d + interval '5 hours', d.d + interval '4 hours'])[1 + floor(random() * 6)::int]
                                   + (random() * 30 - 15) * interval '1 minute'
                ELSE d.d - interval '24 hours' + random() * interval '72 hours' END
    FROM app.th_d d, (SELECT random() AS r) x
$$;

-- the checks; each returns the number of differing things
CREATE FUNCTION app.th_entries_differ() RETURNS bigint LANGUAGE sql AS $$
    WITH sealed AS (
        SELECT 60 AS w, bucket_start FROM usage_rollup.key_task_hour_block
        UNION ALL SELECT 1440, bucket_start FROM usage_rollup.key_task_block
    ), truth AS (
        SELECT DISTINCT s.w, s.bucket_start, a.workspace_id, u.task_id
        FROM sealed s
        JOIN app.task_usage u ON u.created_at >= s.bucket_start AND u.created_at < s.bucket_start + s.w * interval '1 minute'
        JOIN app.agent_task_queue t ON t.id = u.task_id JOIN app.agent a ON a.id = t.agent_id
    ), stored AS (
        SELECT 60 AS w, k.bucket_start, k.workspace_id, k.task_id FROM usage_rollup.key_task_hour k
        JOIN usage_rollup.key_task_hour_block USING (bucket_start)
        UNION ALL
        SELECT 1440, k.bucket_start, k.workspace_id, k.task_id FROM usage_rollup.key_task k
        JOIN usage_rollup.key_task_block USING (bucket_start)
    )
    SELECT (SELECT count(*) FROM (TABLE truth EXCEPT ALL TABLE stored) a) + (SELECT count(*) FROM (TABLE stored EXCEPT ALL TABLE truth) b)
$$;
CREATE FUNCTION app.th_counts_differ() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM (
        SELECT * FROM (SELECT c.workspace_id, c.bucket_start, c.single_tasks FROM usage_rollup.key_task_hour_count c
                       JOIN usage_rollup.key_task_hour_block USING (bucket_start)) c
        FULL JOIN (SELECT k.workspace_id, k.bucket_start, count(*) FILTER (WHERE k.single) AS marked
                   FROM usage_rollup.key_task_hour k JOIN usage_rollup.key_task_hour_block USING (bucket_start) GROUP BY 1, 2) e
             USING (workspace_id, bucket_start)
        WHERE c.single_tasks IS DISTINCT FROM e.marked AND coalesce(c.single_tasks, e.marked) > 0
        UNION ALL
        SELECT * FROM (SELECT c.workspace_id, c.bucket_start, c.single_tasks FROM usage_rollup.key_task_day c
                       JOIN usage_rollup.key_task_block USING (bucket_start)) c
        FULL JOIN (SELECT k.workspace_id, k.bucket_start, count(*) FILTER (WHERE k.single) AS marked
                   FROM usage_rollup.key_task k JOIN usage_rollup.key_task_block USING (bucket_start) GROUP BY 1, 2) e
             USING (workspace_id, bucket_start)
        WHERE c.single_tasks IS DISTINCT FROM e.marked AND coalesce(c.single_tasks, e.marked) > 0) x
$$;
CREATE FUNCTION app.th_single_twice() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM (
        SELECT task_id FROM (SELECT k.task_id FROM usage_rollup.key_task_hour k JOIN usage_rollup.key_task_hour_block USING (bucket_start)
                             WHERE k.single
                             UNION ALL
                             SELECT k.task_id FROM usage_rollup.key_task k JOIN usage_rollup.key_task_block USING (bucket_start)
                             WHERE k.single) s
        GROUP BY task_id HAVING count(*) > 1) x
$$;
CREATE FUNCTION app.th_hours_in_days() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM usage_rollup.key_task_hour_block h JOIN usage_rollup.key_task_block b
      ON h.bucket_start >= b.bucket_start AND h.bucket_start < b.bucket_start + interval '24 hours'
$$;
CREATE FUNCTION app.th_kpis_differ() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM app.workspace w, app.th_d d,
         unnest(ARRAY['UTC', 'Asia/Kolkata', 'Pacific/Chatham', 'America/New_York']) z,
         LATERAL (SELECT (d.d AT TIME ZONE 'UTC')::date AS day) x,
         LATERAL (VALUES (x.day, x.day), (x.day - 1, x.day), (x.day, x.day + 1), (x.day + 1, x.day + 2)) r (f, t)
    WHERE (SELECT task_count FROM usage_rollup.kpis(w.id, r.f, r.t, tz => z))
          IS DISTINCT FROM
          (SELECT count(DISTINCT u.task_id) FROM app.task_usage u JOIN app.agent_task_queue t ON t.id = u.task_id
           JOIN app.agent a ON a.id = t.agent_id
           WHERE a.workspace_id = w.id AND (u.created_at AT TIME ZONE z)::date BETWEEN r.f AND r.t)
$$;
CREATE PROCEDURE app.th_check(p_seed int, p_step int) LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO app.th_result VALUES
        (p_seed, p_step, 'entries', app.th_entries_differ()), (p_seed, p_step, 'counts', app.th_counts_differ()),
        (p_seed, p_step, 'single twice', app.th_single_twice()), (p_seed, p_step, 'hours in days', app.th_hours_in_days()),
        (p_seed, p_step, 'kpis', app.th_kpis_differ()),
        (p_seed, p_step, 'sealed hours', (SELECT count(*) FROM usage_rollup.key_task_hour_block));
END $$;

CREATE PROCEDURE app.th_op(p_seed int) LANGUAGE plpgsql AS $$
DECLARE
    r float8 := random();
    v_kind text;
    v_task uuid;
    v_row uuid;
BEGIN
    -- (an empty world, early in a seed: every operation that needs a row inserts one)
    IF NOT EXISTS (SELECT 1 FROM app.task_usage) THEN
        r := 0;
    END IF;
    IF r < 0.35 THEN
        v_kind := 'insert new task';
        v_task := gen_random_uuid();
        INSERT INTO app.agent_task_queue (id, agent_id, status)
        SELECT v_task, a.id, 'completed' FROM app.agent a ORDER BY a.id OFFSET floor(random() * 9)::int LIMIT 1;
        INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at, updated_at)
        VALUES (v_task, 'p', 'm' || floor(random() * 3)::int, 1 + floor(random() * 100)::int, app.th_at(), now());
    ELSIF r < 0.55 THEN
        v_kind := 'insert for a task';
        SELECT id INTO v_task FROM app.agent_task_queue ORDER BY id OFFSET floor(random() * (SELECT count(*) FROM app.agent_task_queue))::int LIMIT 1;
        INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at, updated_at)
        VALUES (v_task, 'p', 'x' || floor(random() * 1000000)::int, 7, app.th_at(), now());
    ELSIF r < 0.67 THEN
        v_kind := 'correct';
        SELECT id INTO v_row FROM app.task_usage ORDER BY id OFFSET floor(random() * (SELECT count(*) FROM app.task_usage))::int LIMIT 1;
        UPDATE app.task_usage SET input_tokens = input_tokens + 1, updated_at = now() WHERE id = v_row;
    ELSIF r < 0.77 THEN
        v_kind := 'delete row';
        SELECT id INTO v_row FROM app.task_usage ORDER BY id OFFSET floor(random() * (SELECT count(*) FROM app.task_usage))::int LIMIT 1;
        DELETE FROM app.task_usage WHERE id = v_row;
    ELSIF r < 0.87 THEN
        v_kind := 'move row to a task';
        SELECT id INTO v_row FROM app.task_usage ORDER BY id OFFSET floor(random() * (SELECT count(*) FROM app.task_usage))::int LIMIT 1;
        SELECT id INTO v_task FROM app.agent_task_queue ORDER BY id OFFSET floor(random() * (SELECT count(*) FROM app.agent_task_queue))::int LIMIT 1;
        UPDATE app.task_usage SET task_id = v_task, model = 'mv' || floor(random() * 1000000)::int,
                                  updated_at = CASE WHEN random() < 0.5 THEN now() ELSE updated_at END
        WHERE id = v_row;
    ELSIF r < 0.95 THEN
        v_kind := 'move task to an agent';
        SELECT id INTO v_task FROM app.agent_task_queue ORDER BY id OFFSET floor(random() * (SELECT count(*) FROM app.agent_task_queue))::int LIMIT 1;
        UPDATE app.agent_task_queue SET agent_id = (SELECT a.id FROM app.agent a ORDER BY a.id OFFSET floor(random() * 9)::int LIMIT 1)
        WHERE id = v_task;
    ELSE
        v_kind := 'delete task';
        SELECT id INTO v_task FROM app.agent_task_queue ORDER BY id OFFSET floor(random() * (SELECT count(*) FROM app.agent_task_queue))::int LIMIT 1;
        DELETE FROM app.agent_task_queue WHERE id = v_task;
    END IF;
    INSERT INTO app.th_ops VALUES (p_seed, v_kind, 1) ON CONFLICT (seed, kind) DO UPDATE SET n = app.th_ops.n + 1;
END $$;

-- a world of three workspaces of three agents and 300 tasks near D, then batches;
-- every step is its own transaction, as the application's and pg_cron's are
CREATE PROCEDURE app.th_run(p_seed int, p_batches int, p_ops int) LANGUAGE plpgsql AS $$
DECLARE
    v_step int := 0;
BEGIN
    PERFORM setseed(p_seed / 1000.0);
    DELETE FROM app.workspace;
    INSERT INTO app.workspace (id, name) SELECT md5(p_seed || 'w' || w)::uuid, 'w' || w FROM generate_series(1, 3) w;
    INSERT INTO app.agent (id, workspace_id) SELECT md5(p_seed || 'a' || w || a)::uuid, md5(p_seed || 'w' || w)::uuid
    FROM generate_series(1, 3) w, generate_series(1, 3) a;
    FOR i IN 1 .. 300 LOOP
        CALL app.th_op(p_seed);
    END LOOP;
    COMMIT;
    PERFORM usage_rollup.tick();
    COMMIT;
    FOR b IN 1 .. p_batches LOOP
        FOR i IN 1 .. p_ops LOOP
            CALL app.th_op(p_seed);
        END LOOP;
        COMMIT;
        PERFORM usage_rollup.tick();
        COMMIT;
        v_step := v_step + 1;
        CALL app.th_check(p_seed, v_step);
        COMMIT;
        IF b % 3 = 0 THEN
            PERFORM set_config('usage_rollup.safety_lag',
                               extract(epoch FROM now() - (d + interval '20 hours 5 minutes'))::bigint::text, false)
            FROM app.th_d;
            PERFORM usage_rollup._seal_key_tasks();
            PERFORM set_config('usage_rollup.safety_lag', '0', false);
            COMMIT;
            v_step := v_step + 1;
            CALL app.th_check(p_seed, v_step);
            COMMIT;
        END IF;
    END LOOP;
END $$;

CALL app.th_run(1, 30, 15);
CALL app.th_run(2, 30, 15);
CALL app.th_run(3, 30, 15);
-- no check found a difference, in any seed
SELECT what, count(*) AS checks, sum(mismatches) AS mismatches FROM app.th_result
WHERE what <> 'sealed hours' GROUP BY what ORDER BY what;
-- not vacuous: many checks saw sealed hours (D's, from the seals at D 20:05), and
-- every kind of operation happened
SELECT count(*) FILTER (WHERE mismatches >= 5) >= 20 AS hours_sealed_often FROM app.th_result WHERE what = 'sealed hours';
SELECT kind, sum(n) > 0 AS happened FROM app.th_ops GROUP BY kind ORDER BY kind;

-- the checker sees a wrong entry, a wrong count and a wrong kpis
BEGIN;
UPDATE usage_rollup.key_task_hour SET workspace_id = gen_random_uuid()
WHERE ctid = (SELECT ctid FROM usage_rollup.key_task_hour JOIN usage_rollup.key_task_hour_block USING (bucket_start) LIMIT 1);
SELECT app.th_entries_differ() > 0 AS entry_tamper_seen;
ROLLBACK;
BEGIN;
UPDATE usage_rollup.key_task_hour_count SET single_tasks = single_tasks + 1;
SELECT app.th_counts_differ() > 0 AS count_tamper_seen, app.th_kpis_differ() > 0 AS kpis_tamper_seen;
ROLLBACK;
