-- Seeded randomized differential test of usage corrections (SPEC §2: one usage row per
-- (task, provider, model), upserted: a correction overwrites the counters and bumps
-- updated_at; SPEC §3: after a tick that covered every change the rollup equals the
-- raw rows; §4.1: every report equals its ground truth in every state, tick or no
-- tick). Whatever a tick does with a corrected row - recompute its bucket, or apply
-- the difference between the version the rollup holds and the new one to the
-- rollup, the per-workspace rollup and sealed keyed blocks - the public results
-- must stay exact. Per seed: a world of ~265 tasks and ~1,900 usage rows (3,000
-- upserts) over the 90 days of tests/fixtures/workload.sql (plus spring DST days) and
-- a few in the last 36 hours, everything sealed by a first rebuild, then five rounds
-- of one to three committed batches (about 1 in 25 rolled back) made of:
--   - scattered corrections: 100 to 2,000 rows in ONE UPDATE, or as many single-row
--     UPDATEs; counters (NULL tokens in the nullable seed), cost number -> NULL ->
--     number (uncosted_* columns), updated_at bumped (now(), clock_timestamp()),
--     forgotten, set in the past or NULL; some rows also moved: created_at to another
--     bucket (or just across a bucket edge), another day, or the last 36 hours; the
--     provider's letter case;
--   - chains: rows corrected two or three times in one batch, again in a later batch
--     before the tick, and once more after the tick;
--   - single-row moves: model, task_id, created_at; the application's upsert
--     (INSERT ... ON CONFLICT DO UPDATE);
--   - rows inserted and corrected (and some deleted) in the same batch; new rows in
--     the same cell and bucket as corrected rows (same task, provider in another
--     letter case; or a sibling task); deletes of corrected rows and tasks before the
--     tick; re-attribution of corrected rows' tasks (runtime, issue, issue's project,
--     agent's workspace); plain new rows.
-- Then ticks:
--   - held rounds (about 3 in 10): after the first batch a second connection (dblink)
--     opens a transaction that corrects a few reserved rows and inserts one, and keeps
--     it open; the later batches correct again rows of the first one. The tick's
--     window ends where the held transaction began (usage_rollup._safe_upper_bound),
--     so the later batches' corrections lie beyond it: the rows corrected before and
--     after that bound are corrected in two transactions with a tick between that sees
--     only the first. The reports must equal their truth there (one zone, every
--     workspace: daily_usage, usage_by_agent, kpis' task count), and again once the
--     held transaction has committed (3 in 4) or rolled back; a later tick covers
--     everything;
--   - small-window rounds (about 3 in 10 of the others): a tick with
--     usage_rollup.max_window = 1s first (reports checked), then the covering tick;
--   - otherwise one tick with the default window.
-- After every covering tick (app.cr_check): the rollup equals the §4.1 aggregate of
-- the raw rows (EXCEPT ALL both ways), verify() is empty, the per-workspace rollup
-- (all four widths) and every sealed keyed block (day, week, four weeks; per agent,
-- project, runtime) equal the same sums computed from the raw rows, every sealed task
-- day lists exactly its raw rows' tasks, and kpis' task count equals count(DISTINCT)
-- in one of five zones (by turns); now and then two more ticks seal more blocks and
-- must write no rollup row. Every 3 rounds and at the end of a seed, 30 ticks that
-- seal 30 blocks (and must write no rollup row), then a checkpoint
-- (app.cr_checkpoint): the reports against report_truth.sql and kpis_truth.sql -
-- daily_usage and usage_by_agent over 2025 in Asia/Kolkata, Asia/Kathmandu,
-- Pacific/Chatham, Australia/Lord_Howe and America/New_York (two workspaces each, by
-- turns), usage_by_project and usage_by_runtime over 10 days and daily_usage over the
-- last days (one zone, every workspace), kpis' task count in three zones; then the
-- incrementally maintained stores are saved, rebuilt from scratch (detach, attach,
-- CALL backfill) and compared with EXCEPT ALL both ways: rollup, rollup_ws, key_rollup
-- rows of the blocks sealed in both, key_task of the days sealed in both.
-- The last seed runs on a usage table whose token columns are NULLable (the reference
-- schema's are NOT NULL DEFAULT 0), with some NULL tokens.
-- A mismatch prints a NOTICE with the seed, round, the first differing rows and the
-- replay CALL, and shows as a count > 0 below. Every random pick is ordered by a
-- unique key of deterministic values, so a seed replays the same operations.
\set SHOW_CONTEXT never
\set ECHO none
SET client_min_messages = warning;
\ir ../fixtures/reset.sql
CREATE EXTENSION usage_rollup;
CREATE EXTENSION IF NOT EXISTS dblink;
\ir ../fixtures/reference_schema.sql
\ir ../fixtures/helpers.sql
\ir ../fixtures/workload.sql
\ir ../fixtures/report_truth.sql
\ir ../fixtures/kpis_truth.sql

-- ---------------------------------------------------------------------------
-- Bookkeeping.
CREATE TABLE app.cr_result (
    seed int PRIMARY KEY, nullable boolean, rounds int, batches int, rows_corrected bigint,
    checks int, mismatching_checks int, report_checks int, report_mismatches bigint
);
CREATE TABLE app.cr_ops (seed int, kind text, n bigint, PRIMARY KEY (seed, kind));
CREATE TABLE app.cr_checkpoints (
    seed int, round int, reports bigint, rollup_differs bigint, rollup_ws_differs bigint,
    key_rollup_differs bigint, key_task_differs bigint, blocks_in_both bigint, days_in_both bigint,
    PRIMARY KEY (seed, round)
);
CREATE TABLE app.cr_coverage (seed int, round int, what text, n bigint);
-- rows corrected since the last covering tick (first and last batch that did)
CREATE TABLE app.cr_pending (id uuid PRIMARY KEY, first_batch int, last_batch int);
-- rows of chains, to be corrected once more after the tick
CREATE TABLE app.cr_chain (id uuid PRIMARY KEY);
-- rows the held transaction corrects (no other statement may touch them meanwhile)
CREATE TABLE app.cr_reserved (id uuid PRIMARY KEY, task_id uuid, provider text, model text);
-- snapshots of the incremental stores, for the rebuild comparison
CREATE TABLE app.cr_snap_rollup (LIKE usage_rollup.rollup);
CREATE TABLE app.cr_snap_ws (LIKE usage_rollup.rollup_ws);
CREATE TABLE app.cr_snap_keyed (LIKE usage_rollup.key_rollup);
CREATE TABLE app.cr_snap_blocks (width int, bucket_start timestamptz);
CREATE TABLE app.cr_snap_task (task_id uuid, bucket_start timestamptz, workspace_id uuid);
CREATE TABLE app.cr_snap_days (bucket_start timestamptz);

CREATE FUNCTION app.cr_note(p_seed int, p_kind text, p_n bigint DEFAULT 1) RETURNS void LANGUAGE sql AS $$
    INSERT INTO app.cr_ops VALUES (p_seed, p_kind, p_n)
    ON CONFLICT (seed, kind) DO UPDATE SET n = app.cr_ops.n + excluded.n
$$;
CREATE FUNCTION app.cr_mark(p_ids uuid[], p_batch int) RETURNS void LANGUAGE sql AS $$
    INSERT INTO app.cr_pending SELECT i, p_batch, p_batch FROM unnest(p_ids) i
    ON CONFLICT (id) DO UPDATE SET last_batch = excluded.last_batch
$$;
CREATE FUNCTION app.cr_case_cycle(p text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p = '' THEN p WHEN p = lower(p) THEN initcap(p) WHEN p = initcap(p) THEN upper(p) ELSE lower(p) END
$$;
CREATE FUNCTION app.cr_model_toggle(m text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN m LIKE '%+' THEN left(m, -1) ELSE m || '+' END
$$;
-- A token count: NULL 15% of the time when the seed allows NULL counters.
CREATE FUNCTION app.cr_tok(p_null boolean, p_hi int) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF p_null AND random() < 0.15 THEN
        RETURN NULL;
    END IF;
    RETURN app.wl_int(0, p_hi);
END
$$;

-- ---------------------------------------------------------------------------
-- Ground truth from the raw rows only (no extension object): the §4.1 aggregate at
-- the rollup's grain, then the per-workspace widths and the keyed blocks as sums of
-- its cells (a cell's task count is distinct; wider rows sum the cells').
CREATE VIEW app.cr_cells AS
SELECT to_timestamp((floor(extract(epoch FROM u.created_at) / 900) * 900)::float8) AS bucket_start,
       u.workspace_id, u.runtime_id, u.agent_id, u.project_id, lower(u.provider) AS provider, u.model,
       sum(u.input_tokens)::bigint AS input_tokens, sum(u.output_tokens)::bigint AS output_tokens,
       sum(u.cache_read_tokens)::bigint AS cache_read_tokens, sum(u.cache_write_tokens)::bigint AS cache_write_tokens,
       coalesce(sum(u.cost_usd_ticks), 0)::bigint AS cost_usd_ticks,
       coalesce(sum(u.input_tokens) FILTER (WHERE u.cost_usd_ticks IS NULL), 0)::bigint AS uncosted_input_tokens,
       coalesce(sum(u.output_tokens) FILTER (WHERE u.cost_usd_ticks IS NULL), 0)::bigint AS uncosted_output_tokens,
       coalesce(sum(u.cache_read_tokens) FILTER (WHERE u.cost_usd_ticks IS NULL), 0)::bigint AS uncosted_cache_read_tokens,
       coalesce(sum(u.cache_write_tokens) FILTER (WHERE u.cost_usd_ticks IS NULL), 0)::bigint AS uncosted_cache_write_tokens,
       count(DISTINCT u.task_id) AS task_count, count(*) AS event_count
FROM app.live_rows u
GROUP BY 1, 2, 3, 4, 5, 6, 7;

CREATE VIEW app.cr_rollup AS
SELECT bucket_start, workspace_id, runtime_id, agent_id, project_id, provider, model,
       input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd_ticks,
       uncosted_input_tokens, uncosted_output_tokens, uncosted_cache_read_tokens, uncosted_cache_write_tokens,
       task_count, event_count
FROM usage_rollup.rollup;

CREATE VIEW app.cr_ws_truth AS
SELECT w.width, date_bin(make_interval(mins => w.width), c.bucket_start, '2000-01-01 00:00+00') AS bucket_start,
       c.workspace_id, c.provider, c.model,
       sum(c.input_tokens)::bigint AS input_tokens, sum(c.output_tokens)::bigint AS output_tokens,
       sum(c.cache_read_tokens)::bigint AS cache_read_tokens, sum(c.cache_write_tokens)::bigint AS cache_write_tokens,
       sum(c.cost_usd_ticks)::bigint AS cost_usd_ticks, sum(c.uncosted_input_tokens)::bigint AS uncosted_input_tokens,
       sum(c.uncosted_output_tokens)::bigint AS uncosted_output_tokens,
       sum(c.uncosted_cache_read_tokens)::bigint AS uncosted_cache_read_tokens,
       sum(c.uncosted_cache_write_tokens)::bigint AS uncosted_cache_write_tokens,
       sum(c.task_count)::bigint AS task_count, sum(c.event_count)::bigint AS event_count
FROM app.cr_cells c CROSS JOIN (VALUES (15), (60), (360), (1440)) w (width)
GROUP BY 1, 2, 3, 4, 5;
CREATE VIEW app.cr_ws_stored AS
SELECT width::int AS width, bucket_start, workspace_id, provider, model,
       input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd_ticks,
       uncosted_input_tokens, uncosted_output_tokens, uncosted_cache_read_tokens, uncosted_cache_write_tokens,
       task_count, event_count
FROM usage_rollup.rollup_ws;

-- the keyed blocks listed as sealed, from the raw cells (each cell's block found by
-- date_bin, not by a range join: one pass over the cells)
CREATE VIEW app.cr_keyed_truth AS
SELECT b.width, b.bucket_start, c.workspace_id, d.dim,
       CASE d.dim WHEN 'a' THEN c.agent_id WHEN 'p' THEN c.project_id ELSE c.runtime_id END AS key,
       c.provider, c.model,
       sum(c.input_tokens)::bigint AS input_tokens, sum(c.output_tokens)::bigint AS output_tokens,
       sum(c.cache_read_tokens)::bigint AS cache_read_tokens, sum(c.cache_write_tokens)::bigint AS cache_write_tokens,
       sum(c.cost_usd_ticks)::bigint AS cost_usd_ticks, sum(c.uncosted_input_tokens)::bigint AS uncosted_input_tokens,
       sum(c.uncosted_output_tokens)::bigint AS uncosted_output_tokens,
       sum(c.uncosted_cache_read_tokens)::bigint AS uncosted_cache_read_tokens,
       sum(c.uncosted_cache_write_tokens)::bigint AS uncosted_cache_write_tokens,
       sum(c.task_count)::bigint AS task_count, sum(c.event_count)::bigint AS event_count
FROM (SELECT * FROM app.cr_cells OFFSET 0) c
CROSS JOIN (VALUES (1440), (10080), (40320)) w (width)
JOIN usage_rollup.key_rollup_block b
  ON b.width = w.width AND b.bucket_start = date_bin(make_interval(mins => w.width), c.bucket_start, '2000-01-01 00:00+00')
CROSS JOIN (VALUES ('a'::"char"), ('p'), ('r')) d (dim)
GROUP BY 1, 2, 3, 4, 5, 6, 7;
CREATE VIEW app.cr_keyed_stored AS
SELECT k.width, k.bucket_start, k.workspace_id, k.dim, k.key, k.provider, k.model,
       k.input_tokens, k.output_tokens, k.cache_read_tokens, k.cache_write_tokens, k.cost_usd_ticks,
       k.uncosted_input_tokens, k.uncosted_output_tokens, k.uncosted_cache_read_tokens, k.uncosted_cache_write_tokens,
       k.task_count, k.event_count
FROM usage_rollup.key_rollup k JOIN usage_rollup.key_rollup_block b USING (width, bucket_start);

-- The check after a tick that covered every change. Returns the number of findings
-- (0 = consistent) and RAISEs a NOTICE naming the first few.
CREATE FUNCTION app.cr_check(p_seed int, p_round int, p_nullable boolean) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_zone text := (ARRAY['Asia/Kolkata', 'Asia/Kathmandu', 'Pacific/Chatham', 'Australia/Lord_Howe',
                          'America/New_York'])[1 + ((p_round % 5) + 5) % 5];
    v_verify bigint;
    v_rollup bigint;
    v_ws bigint;
    v_keyed bigint;
    v_days bigint;
    v_kpis bigint;
    v_first text;
BEGIN
    SELECT count(*) INTO v_verify FROM usage_rollup.verify('-infinity', 'infinity');
    SELECT count(*), string_agg(x, E'\n  ') FILTER (WHERE n <= 4) INTO v_rollup, v_first FROM (
        SELECT format('%s %s', side, row(d.*)) AS x, row_number() OVER (ORDER BY d.bucket_start, side) AS n, side
        FROM (SELECT 'raw only' AS side, * FROM (SELECT * FROM app.cr_cells EXCEPT ALL SELECT * FROM app.cr_rollup) a
              UNION ALL
              SELECT 'rollup only', * FROM (SELECT * FROM app.cr_rollup EXCEPT ALL SELECT * FROM app.cr_cells) b) d) s;
    SELECT (SELECT count(*) FROM (SELECT * FROM app.cr_ws_truth EXCEPT ALL SELECT * FROM app.cr_ws_stored) a)
         + (SELECT count(*) FROM (SELECT * FROM app.cr_ws_stored EXCEPT ALL SELECT * FROM app.cr_ws_truth) b)
    INTO v_ws;
    SELECT (SELECT count(*) FROM (SELECT * FROM app.cr_keyed_truth EXCEPT ALL SELECT * FROM app.cr_keyed_stored) a)
         + (SELECT count(*) FROM (SELECT * FROM app.cr_keyed_stored EXCEPT ALL SELECT * FROM app.cr_keyed_truth) b)
    INTO v_keyed;
    -- the sealed task days: their tasks are the raw rows' tasks of the day, per
    -- workspace; the day's count of single tasks is that of its list; no task is
    -- single in two sealed days
    WITH listed AS (
        SELECT k.task_id, k.bucket_start, k.workspace_id FROM usage_rollup.key_task k
        JOIN usage_rollup.key_task_block b USING (bucket_start)
    ), raw AS (
        SELECT DISTINCT u.task_id, b.bucket_start, u.workspace_id
        FROM (SELECT task_id, workspace_id, to_timestamp((floor(extract(epoch FROM created_at) / 86400) * 86400)::float8) AS day
              FROM app.live_rows OFFSET 0) u
        JOIN usage_rollup.key_task_block b ON b.bucket_start = u.day
    )
    SELECT (SELECT count(*) FROM (SELECT * FROM listed EXCEPT SELECT * FROM raw) a)
         + (SELECT count(*) FROM (SELECT * FROM raw EXCEPT SELECT * FROM listed) b)
         + (SELECT count(*) FROM (SELECT c.workspace_id, c.bucket_start, c.single_tasks FROM usage_rollup.key_task_day c
                                  JOIN usage_rollup.key_task_block b USING (bucket_start)
                                  EXCEPT
                                  SELECT k.workspace_id, k.bucket_start, count(*) FILTER (WHERE k.single)
                                  FROM usage_rollup.key_task k JOIN usage_rollup.key_task_block b USING (bucket_start)
                                  GROUP BY 1, 2) c)
         + (SELECT count(*) FROM (SELECT k.task_id FROM usage_rollup.key_task k JOIN usage_rollup.key_task_block b USING (bucket_start)
                                  WHERE k.single GROUP BY 1 HAVING count(*) > 1) d)
    INTO v_days;
    v_kpis := CASE p_round % 3 WHEN 0 THEN pg_temp.count_mismatches(v_zone, '2025-03-01', '2025-12-31')
                               WHEN 1 THEN pg_temp.count_mismatches(v_zone, '2025-09-01', '2025-11-30')
                               ELSE pg_temp.count_mismatches(v_zone, current_date - 2, current_date + 1) END;
    IF v_verify + v_rollup + v_ws + v_keyed + v_days + v_kpis > 0 THEN
        RAISE NOTICE E'corrections_random seed % round %: verify() % keys; % rollup rows differ from the raw aggregate; % per-workspace rows and % sealed keyed rows differ from the raw sums; % task-day findings; % kpis task counts differ (%)\n  %\n  replay: %',
            p_seed, p_round, v_verify, v_rollup, v_ws, v_keyed, v_days, v_kpis, v_zone, coalesce(v_first, '-'),
            format('CALL app.cr_run(%s, %s%s)', p_seed, p_round, CASE WHEN p_nullable THEN ', p_nullable => true' ELSE '' END);
    END IF;
    RETURN v_verify + v_rollup + v_ws + v_keyed + v_days + v_kpis;
END
$$;

-- Reports against their truth (report_truth.sql's rz_check prints the first
-- differing rows and a replay query; kpis_truth.sql's count_mismatches).
--   p_full false (between ticks): one zone (by turns), every workspace: daily_usage
--     and usage_by_agent over the 90 days, kpis' task count;
--   p_full true (checkpoints): the five zones, two workspaces each (by turns):
--     daily_usage and usage_by_agent over 2025; one zone, every workspace:
--     usage_by_project and usage_by_runtime over 10 days, daily_usage over the last
--     days; kpis' task count in three zones: over 2025, the 90 days, the last days.
CREATE FUNCTION app.cr_reports(p_phase text, p_full boolean) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_zones text[] := ARRAY['Asia/Kolkata', 'Asia/Kathmandu', 'Pacific/Chatham', 'Australia/Lord_Howe', 'America/New_York'];
    v_k int := floor(app.rz_h(p_phase) * 5)::int;
    v_ws uuid[] := ARRAY(SELECT id FROM app.workspace ORDER BY id);
    v_z int;
    v_w int;
    v_from date;
    v_total bigint := 0;
    v_kpis text[];   -- zone, from, to
    v_n bigint;
BEGIN
    IF NOT p_full THEN
        FOR v_w IN 1 .. cardinality(v_ws) LOOP
            v_total := v_total + app.rz_check(p_phase, 'daily_usage', v_zones[1 + v_k], '2025-09-01', '2025-11-30', v_ws[v_w])
                               + app.rz_check(p_phase, 'usage_by_agent', v_zones[1 + v_k], '2025-09-01', '2025-11-30', v_ws[v_w]);
        END LOOP;
        v_kpis := ARRAY[v_zones[1 + v_k], '2025-09-01', '2025-11-30'];
    ELSE
        FOR v_z IN 1 .. 5 LOOP
            FOR v_w IN 1 .. cardinality(v_ws) LOOP
                CONTINUE WHEN (v_w + v_z + v_k) % 2 = 0;
                v_total := v_total + app.rz_check(p_phase, 'daily_usage', v_zones[v_z], '2025-03-01', '2025-12-31', v_ws[v_w])
                                   + app.rz_check(p_phase, 'usage_by_agent', v_zones[v_z], '2025-03-01', '2025-12-31', v_ws[v_w]);
            END LOOP;
        END LOOP;
        FOR v_w IN 1 .. cardinality(v_ws) LOOP
            v_from := date '2025-09-01' + floor(app.rz_h(p_phase || v_w) * 80)::int;
            v_total := v_total + app.rz_check(p_phase, 'usage_by_project', v_zones[1 + v_k], v_from, v_from + 9, v_ws[v_w])
                               + app.rz_check(p_phase, 'usage_by_runtime', v_zones[1 + v_k], v_from, v_from + 9, v_ws[v_w])
                               + app.rz_check(p_phase, 'daily_usage', v_zones[1 + v_k], current_date - 2, current_date + 1, v_ws[v_w]);
        END LOOP;
        v_kpis := ARRAY[v_zones[1 + v_k], '2025-03-01', '2025-12-31', v_zones[1 + (v_k + 2) % 5], '2025-09-01', '2025-11-30',
                        v_zones[1 + (v_k + 4) % 5], (current_date - 2)::text, (current_date + 1)::text];
    END IF;
    FOR v_z IN 1 .. cardinality(v_kpis) / 3 LOOP
        v_n := pg_temp.count_mismatches(v_kpis[3 * v_z - 2], v_kpis[3 * v_z - 1]::date, v_kpis[3 * v_z]::date);
        IF v_n > 0 THEN
            RAISE NOTICE 'corrections_random %: kpis'' task count differs from count(DISTINCT task_id) for % workspace(s) in % from % to %',
                p_phase, v_n, v_kpis[3 * v_z - 2], v_kpis[3 * v_z - 1], v_kpis[3 * v_z];
        END IF;
        v_total := v_total + v_n;
    END LOOP;
    RETURN v_total;
END
$$;

-- ---------------------------------------------------------------------------
-- Writes.

-- n usage rows picked at random (plan-independent: random() is drawn for every row
-- in (task_id, provider, model) order); never a row the held transaction corrects;
-- p_pending: only rows corrected since the last covering tick.
CREATE FUNCTION app.cr_pick(p_n int, p_pending boolean DEFAULT false) RETURNS uuid[] LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v uuid[];
BEGIN
    SELECT coalesce(array_agg(id ORDER BY k), '{}') INTO v FROM (
        SELECT w.id, w.k FROM (
            SELECT s.id, random() AS k
            FROM (SELECT u.id FROM app.task_usage u
                  WHERE NOT EXISTS (SELECT 1 FROM app.cr_reserved x WHERE x.id = u.id)
                    AND (NOT p_pending OR EXISTS (SELECT 1 FROM app.cr_pending p WHERE p.id = u.id))
                  ORDER BY u.task_id, u.provider, u.model) s
            OFFSET 0) w
        ORDER BY w.k LIMIT p_n) z;
    RETURN v;
END
$$;

-- A new usage row of a task (most of them in the 90 days, p_recent: in the last 36
-- hours), stamped like the application's (now(), clock_timestamp(), a legacy NULL,
-- or in the past); NULL if its (task, provider, model) exists (or is the key of a
-- reserved row, which the held transaction has locked).
CREATE FUNCTION app.cr_insert(p_task uuid, p_null boolean, p_recent boolean) RETURNS uuid LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_created timestamptz;
    v_mode float8 := random();
    v_provider text;
    v_model text;
    v_id uuid;
BEGIN
    IF p_task IS NULL THEN
        RETURN NULL;
    END IF;
    IF p_recent THEN
        v_created := now() - make_interval(secs => floor(random() * 129600000000) / 1000000.0);
    ELSE
        v_created := app.wl_usage_ts(p_task);
    END IF;
    IF random() < 0.6 THEN
        v_provider := app.wl_one('Claude', 'claude', 'CLAUDE');
        v_model := 'sonnet';
    ELSE
        v_provider := app.wl_one('Claude', 'claude', 'OpenAI', 'openai', 'cursor', '');
        v_model := app.wl_one('opus', 'sonnet', 'gpt-4o', 'o3');
    END IF;
    IF EXISTS (SELECT 1 FROM app.cr_reserved r WHERE r.task_id = p_task AND r.provider = v_provider AND r.model = v_model) THEN
        RETURN NULL;
    END IF;
    INSERT INTO app.task_usage (task_id, provider, model, input_tokens, output_tokens, cache_read_tokens,
                                cache_write_tokens, created_at, updated_at, cost_usd_ticks)
    VALUES (p_task, v_provider, v_model, app.cr_tok(p_null, 50000), app.cr_tok(p_null, 5000),
            app.cr_tok(p_null, 100000), app.wl_int(0, 2000), v_created,
            CASE WHEN v_mode < 0.85 THEN now() WHEN v_mode < 0.92 THEN clock_timestamp() WHEN v_mode < 0.96 THEN NULL
                 ELSE least(v_created + make_interval(mins => app.wl_int(0, 600)), now() - interval '1 hour') END,
            CASE WHEN random() < 0.3 THEN NULL ELSE app.wl_int(0, 9000000) END)
    ON CONFLICT (task_id, provider, model) DO NOTHING
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;

-- Correct the given rows in ONE UPDATE statement: new counters, a cost (p_cost
-- 'toggle': a number becomes NULL and NULL a number), updated_at (p_upd 'mixed':
-- now() 60%, clock_timestamp() 10%, unchanged 12%, in the past 8%, NULL 5%, a day
-- earlier 5%; or always 'bump' now(), 'keep', 'clock'), and with p_move some rows
-- moved: created_at 1 microsecond before its bucket, 15 minutes to 2 hours, 1 to 20
-- days, or into the last 36 hours; the provider's letter case (rows whose cell has no
-- other case variant of the task). Returns the number of rows corrected.
CREATE FUNCTION app.cr_correct(p_ids uuid[], p_null boolean, p_upd text DEFAULT 'mixed', p_cost text DEFAULT 'random',
                               p_move boolean DEFAULT true) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint;
BEGIN
    WITH c AS MATERIALIZED (
        SELECT s.*, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5, random() AS r6,
               random() AS r7, random() AS r8, random() AS r9, random() AS r10, random() AS r11, random() AS r12,
               random() AS r13, random() AS r14
        FROM (SELECT u.id, u.task_id, u.provider, u.model, u.created_at, u.updated_at, u.cost_usd_ticks,
                     u.cache_read_tokens, u.cache_write_tokens,
                     EXISTS (SELECT 1 FROM app.task_usage o WHERE o.task_id = u.task_id AND o.model = u.model
                               AND lower(o.provider) = lower(u.provider) AND o.id <> u.id) AS has_variant
              FROM app.task_usage u WHERE u.id = ANY (p_ids) ORDER BY u.task_id, u.provider, u.model) s
    ), v AS (
        SELECT c.id,
               CASE WHEN p_null AND c.r1 < 0.15 THEN NULL ELSE floor(c.r2 * 50001)::bigint END AS input_tokens,
               CASE WHEN p_null AND c.r3 < 0.15 THEN NULL ELSE floor(c.r4 * 5001)::bigint END AS output_tokens,
               CASE WHEN c.r5 < 0.5 THEN c.cache_read_tokens WHEN p_null AND c.r5 < 0.6 THEN NULL
                    ELSE floor(c.r6 * 100001)::bigint END AS cache_read_tokens,
               CASE WHEN c.r7 < 0.7 THEN c.cache_write_tokens ELSE floor(c.r6 * 2001)::bigint END AS cache_write_tokens,
               CASE WHEN p_cost = 'toggle' THEN CASE WHEN c.cost_usd_ticks IS NULL THEN floor(c.r8 * 9000001)::bigint END
                    WHEN c.cost_usd_ticks IS NULL THEN CASE WHEN c.r9 < 0.6 THEN floor(c.r8 * 9000001)::bigint END
                    WHEN c.r9 < 0.3 THEN NULL
                    ELSE floor(c.r8 * 9000001)::bigint END AS cost_usd_ticks,
               CASE p_upd WHEN 'bump' THEN now() WHEN 'keep' THEN c.updated_at WHEN 'clock' THEN clock_timestamp()
                    ELSE CASE WHEN c.r10 < 0.6 THEN now() WHEN c.r10 < 0.7 THEN clock_timestamp()
                              WHEN c.r10 < 0.82 THEN c.updated_at
                              WHEN c.r10 < 0.9 THEN least(c.created_at + make_interval(mins => floor(c.r11 * 600)::int),
                                                          now() - interval '1 hour')
                              WHEN c.r10 < 0.95 THEN NULL
                              ELSE c.updated_at - interval '1 day' END END AS updated_at,
               CASE WHEN NOT p_move OR c.r12 < 0.85 THEN c.created_at
                    -- (never after now(): a row stamped in the future is for a later tick)
                    WHEN c.r12 < 0.88 THEN to_timestamp((floor(extract(epoch FROM c.created_at) / 900) * 900)::float8)
                                           - interval '1 microsecond'
                    WHEN c.r12 < 0.93 THEN least(c.created_at + make_interval(mins => 15 * (1 + floor(c.r13 * 8)::int)
                                                                               * CASE WHEN c.r11 < 0.5 THEN -1 ELSE 1 END), now())
                    WHEN c.r12 < 0.98 THEN least(c.created_at + make_interval(days => (1 + floor(c.r13 * 20)::int)
                                                                               * CASE WHEN c.r11 < 0.5 THEN -1 ELSE 1 END), now())
                    ELSE now() - make_interval(secs => floor(c.r13 * 129600000000) / 1000000.0) END AS created_at,
               CASE WHEN p_move AND c.r14 < 0.06 AND NOT c.has_variant THEN app.cr_case_cycle(c.provider)
                    ELSE c.provider END AS provider
        FROM c
    )
    UPDATE app.task_usage u SET
        input_tokens = v.input_tokens, output_tokens = v.output_tokens, cache_read_tokens = v.cache_read_tokens,
        cache_write_tokens = v.cache_write_tokens, cost_usd_ticks = v.cost_usd_ticks, updated_at = v.updated_at,
        created_at = v.created_at, provider = v.provider
    FROM v WHERE u.id = v.id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- One single-row move of a row (one statement): its model, its task, its created_at,
-- or the application's upsert on its key. Returns the kind.
CREATE FUNCTION app.cr_move(p_id uuid, p_null boolean) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    r float8 := random();
    v_other uuid;
    n int;
BEGIN
    IF r < 0.3 THEN
        UPDATE app.task_usage u SET model = app.cr_model_toggle(u.model), input_tokens = app.cr_tok(p_null, 50000),
                                    updated_at = CASE WHEN random() < 0.7 THEN now() ELSE u.updated_at END
        WHERE u.id = p_id AND NOT EXISTS (SELECT 1 FROM app.task_usage o WHERE o.task_id = u.task_id
                                            AND o.provider = u.provider AND o.model = app.cr_model_toggle(u.model));
        GET DIAGNOSTICS n = ROW_COUNT;
        RETURN CASE WHEN n > 0 THEN 'move: model' ELSE 'move: skipped, key taken' END;
    ELSIF r < 0.55 THEN
        v_other := app.wl_pick('app.agent_task_queue');
        UPDATE app.task_usage u SET task_id = v_other,
                                    cost_usd_ticks = CASE WHEN random() < 0.5 THEN NULL ELSE app.wl_int(1, 90000) END,
                                    updated_at = CASE WHEN random() < 0.7 THEN now() ELSE u.updated_at END
        WHERE u.id = p_id AND NOT EXISTS (SELECT 1 FROM app.task_usage o WHERE o.task_id = v_other
                                            AND o.provider = u.provider AND o.model = u.model);
        GET DIAGNOSTICS n = ROW_COUNT;
        RETURN CASE WHEN n > 0 THEN 'move: task_id' ELSE 'move: skipped, key taken' END;
    ELSIF r < 0.7 THEN
        UPDATE app.task_usage u SET
            created_at = CASE WHEN random() < 0.5 THEN least(u.created_at + make_interval(mins => 15 * app.wl_int(1, 8)), now())
                              ELSE app.wl_usage_ts(u.task_id) END,
            input_tokens = app.cr_tok(p_null, 50000),
            updated_at = CASE WHEN random() < 0.6 THEN now() WHEN random() < 0.5 THEN u.updated_at ELSE NULL END
        WHERE u.id = p_id;
        RETURN 'move: created_at';
    END IF;
    -- the application's write: counters overwritten, updated_at bumped, created_at kept
    INSERT INTO app.task_usage AS u (task_id, provider, model, input_tokens, output_tokens, cache_read_tokens,
                                     cache_write_tokens, created_at, updated_at, cost_usd_ticks)
    SELECT s.task_id, s.provider, s.model, app.cr_tok(p_null, 50000), app.cr_tok(p_null, 5000),
           app.cr_tok(p_null, 100000), app.wl_int(0, 2000), s.created_at,
           CASE WHEN random() < 0.8 THEN now() ELSE clock_timestamp() END,
           CASE WHEN random() < 0.3 THEN NULL ELSE app.wl_int(0, 9000000) END
    FROM app.task_usage s WHERE s.id = p_id
    ON CONFLICT (task_id, provider, model) DO UPDATE SET
        input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
        cache_read_tokens = excluded.cache_read_tokens, cache_write_tokens = excluded.cache_write_tokens,
        cost_usd_ticks = excluded.cost_usd_ticks, updated_at = excluded.updated_at;
    RETURN 'upsert correction (ON CONFLICT DO UPDATE)';
END
$$;

-- A new row in the same rollup cell and 15-minute bucket as the given row: of the
-- same task with the provider in another letter case, or of a new sibling task (same
-- agent, runtime and issue). Returns the kind.
CREATE FUNCTION app.cr_same_cell(p_seed int, p_step int, p_id uuid, p_null boolean) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    u app.task_usage;
    v_prov text;
    v_task uuid;
    v_at timestamptz;
    r float8;
BEGIN
    SELECT * INTO u FROM app.task_usage WHERE id = p_id;
    IF NOT FOUND THEN
        RETURN 'same cell: row gone';
    END IF;
    v_at := least(to_timestamp((floor(extract(epoch FROM u.created_at) / 900) * 900)::float8)
                  + make_interval(secs => floor(random() * 900000000) / 1000000.0), now());
    v_prov := app.cr_case_cycle(u.provider);
    r := random();
    IF r < 0.5 AND v_prov <> u.provider
       AND NOT EXISTS (SELECT 1 FROM app.task_usage o WHERE o.task_id = u.task_id AND o.provider = v_prov AND o.model = u.model) THEN
        INSERT INTO app.task_usage (task_id, provider, model, input_tokens, output_tokens, created_at, updated_at, cost_usd_ticks)
        VALUES (u.task_id, v_prov, u.model, app.cr_tok(p_null, 50000), app.cr_tok(p_null, 5000), v_at, now(),
                CASE WHEN random() < 0.3 THEN NULL ELSE app.wl_int(0, 9000000) END);
        RETURN 'same cell: new row of the same task (provider in another case)';
    END IF;
    v_task := app.wl_id(p_seed, p_step, 'task');
    INSERT INTO app.agent_task_queue (id, agent_id, runtime_id, issue_id, status, created_at)
    SELECT v_task, t.agent_id, t.runtime_id, t.issue_id, 'completed', t.created_at
    FROM app.agent_task_queue t WHERE t.id = u.task_id;
    INSERT INTO app.task_usage (task_id, provider, model, input_tokens, output_tokens, created_at, updated_at, cost_usd_ticks)
    VALUES (v_task, u.provider, u.model, app.cr_tok(p_null, 50000), app.cr_tok(p_null, 5000), v_at,
            CASE WHEN random() < 0.8 THEN now() ELSE clock_timestamp() END,
            CASE WHEN random() < 0.3 THEN NULL ELSE app.wl_int(0, 9000000) END);
    RETURN 'same cell: new row of a sibling task';
END
$$;

-- A re-attribution of the task of a corrected row. Returns the kind.
CREATE FUNCTION app.cr_reattribute(p_task uuid) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    r float8 := random();
BEGIN
    IF r < 0.35 THEN
        UPDATE app.agent_task_queue SET runtime_id = CASE WHEN random() < 0.2 THEN NULL ELSE app.wl_pick('app.agent_runtime') END
        WHERE id = p_task;
        RETURN 're-attribution: task runtime';
    ELSIF r < 0.6 THEN
        UPDATE app.agent_task_queue SET issue_id = CASE WHEN issue_id IS NULL OR random() < 0.5 THEN app.wl_pick('app.issue') END
        WHERE id = p_task;
        RETURN 're-attribution: task issue';
    ELSIF r < 0.8 THEN
        UPDATE app.issue SET project_id = CASE WHEN random() < 0.25 THEN NULL ELSE app.wl_pick('app.project') END
        WHERE id = (SELECT issue_id FROM app.agent_task_queue WHERE id = p_task);
        RETURN 're-attribution: issue project';
    END IF;
    UPDATE app.agent SET workspace_id = app.wl_pick('app.workspace')
    WHERE id = (SELECT agent_id FROM app.agent_task_queue WHERE id = p_task);
    RETURN 're-attribution: agent workspace';
END
$$;

-- One batch (the caller commits or rolls it back): a main correction (one bulk
-- statement or many single-row ones) and, each by chance, the other operations, in a
-- random order. p_held: a held transaction has locked the reserved rows (and a task):
-- no task deletes. Returns the rows corrected by UPDATE statements.
CREATE FUNCTION app.cr_batch(p_seed int, p_round int, p_batch int, p_step int, p_null boolean, p_held boolean)
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_ops text[] := '{}';
    v_op text;
    v_ids uuid[];
    v_new uuid[];
    v_id uuid;
    v_step int := p_step;
    v_n bigint;
    v_total bigint := 0;
    k int;
BEGIN
    -- the last link of the chains: corrected two or three times before the last tick, once more now
    IF p_batch = 1 THEN
        SELECT coalesce(array_agg(c.id ORDER BY u.task_id, u.provider, u.model), '{}') INTO v_ids
        FROM app.cr_chain c JOIN app.task_usage u USING (id);
        FOREACH v_id IN ARRAY v_ids LOOP
            v_total := v_total + app.cr_correct(ARRAY[v_id], p_null, 'mixed', 'toggle');
        END LOOP;
        PERFORM app.cr_mark(v_ids, p_batch);
        IF cardinality(v_ids) > 0 THEN
            PERFORM app.cr_note(p_seed, 'chain: corrected once more after the tick', cardinality(v_ids));
        END IF;
        DELETE FROM app.cr_chain;
    END IF;
    v_ops := v_ops || CASE WHEN random() < 0.5 THEN 'bulk' ELSE 'singles' END;
    IF random() < 0.5 THEN v_ops := v_ops || 'chain'::text; END IF;
    IF random() < 0.4 THEN v_ops := v_ops || 'insert_then_correct'::text; END IF;
    IF random() < 0.4 THEN v_ops := v_ops || 'same_cell'::text; END IF;
    IF random() < 0.5 THEN v_ops := v_ops || 'moves'::text; END IF;
    IF p_batch > 1 AND random() < 0.8 THEN v_ops := v_ops || 're_correct'::text; END IF;
    IF random() < 0.4 THEN v_ops := v_ops || 'delete_corrected'::text; END IF;
    IF random() < 0.4 THEN v_ops := v_ops || 'reattribute'::text; END IF;
    IF NOT p_held AND random() < 0.15 THEN v_ops := v_ops || 'task_delete'::text; END IF;
    IF random() < 0.5 THEN v_ops := v_ops || 'inserts'::text; END IF;
    SELECT array_agg(o ORDER BY r) INTO v_ops FROM (SELECT o, random() AS r FROM unnest(v_ops) WITH ORDINALITY x (o, i) ORDER BY i) s;
    FOREACH v_op IN ARRAY v_ops LOOP
        CASE v_op
        WHEN 'bulk' THEN
            v_ids := app.cr_pick(100 + floor(random() ^ 2 * 1901)::int);
            v_n := app.cr_correct(v_ids, p_null);
            v_total := v_total + v_n;
            PERFORM app.cr_mark(v_ids, p_batch), app.cr_note(p_seed, 'scattered: one UPDATE statement'),
                    app.cr_note(p_seed, 'scattered: rows corrected by one UPDATE', v_n);
        WHEN 'singles' THEN
            v_ids := app.cr_pick(100 + floor(random() ^ 3 * 1901)::int);
            FOREACH v_id IN ARRAY v_ids LOOP
                v_total := v_total + app.cr_correct(ARRAY[v_id], p_null);
            END LOOP;
            PERFORM app.cr_mark(v_ids, p_batch), app.cr_note(p_seed, 'scattered: single-row UPDATE statements', cardinality(v_ids));
        WHEN 'chain' THEN
            v_ids := app.cr_pick(app.wl_int(5, 40));
            FOR k IN 1 .. 3 LOOP
                FOREACH v_id IN ARRAY v_ids[1 : CASE WHEN k = 3 THEN cardinality(v_ids) / 2 ELSE cardinality(v_ids) END] LOOP
                    v_total := v_total + app.cr_correct(ARRAY[v_id], p_null, CASE WHEN k = 3 THEN 'bump' ELSE 'mixed' END,
                                                        'toggle', k = 2);
                END LOOP;
            END LOOP;
            INSERT INTO app.cr_chain SELECT unnest(v_ids) ON CONFLICT DO NOTHING;
            PERFORM app.cr_mark(v_ids, p_batch), app.cr_note(p_seed, 'chain: rows corrected 2 or 3 times in a batch', cardinality(v_ids));
        WHEN 'insert_then_correct' THEN
            v_new := '{}';
            FOR k IN 1 .. app.wl_int(5, 30) LOOP
                v_id := app.cr_insert(app.wl_pick('app.agent_task_queue'), p_null, random() < 0.1);
                IF v_id IS NOT NULL THEN v_new := v_new || v_id; END IF;
            END LOOP;
            SELECT coalesce(array_agg(i ORDER BY u.task_id, u.provider, u.model), '{}') INTO v_new
            FROM unnest(v_new) i JOIN app.task_usage u ON u.id = i;
            FOREACH v_id IN ARRAY v_new LOOP
                v_total := v_total + app.cr_correct(ARRAY[v_id], p_null, CASE WHEN random() < 0.3 THEN 'keep' ELSE 'mixed' END);
                IF random() < 0.3 THEN
                    v_total := v_total + app.cr_correct(ARRAY[v_id], p_null);
                END IF;
            END LOOP;
            v_ids := v_new[1 : cardinality(v_new) / 5];
            DELETE FROM app.task_usage WHERE id = ANY (v_ids);
            PERFORM app.cr_mark(v_new, p_batch), app.cr_note(p_seed, 'inserted and corrected in one batch', cardinality(v_new)),
                    app.cr_note(p_seed, 'inserted, corrected and deleted in one batch', cardinality(v_ids));
        WHEN 'same_cell' THEN
            v_ids := app.cr_pick(app.wl_int(5, 30), true);
            FOREACH v_id IN ARRAY v_ids LOOP
                v_step := v_step + 1;
                PERFORM app.cr_note(p_seed, app.cr_same_cell(p_seed, v_step, v_id, p_null));
                IF random() < 0.5 THEN
                    v_total := v_total + app.cr_correct(ARRAY[v_id], p_null, 'mixed', 'random', false);
                END IF;
            END LOOP;
        WHEN 'moves' THEN
            v_ids := app.cr_pick(app.wl_int(5, 40));
            FOREACH v_id IN ARRAY v_ids LOOP
                PERFORM app.cr_note(p_seed, app.cr_move(v_id, p_null));
            END LOOP;
            PERFORM app.cr_mark(v_ids, p_batch);
        WHEN 're_correct' THEN
            -- rows corrected by an earlier batch, before any tick
            v_ids := app.cr_pick(app.wl_int(10, 100), true);
            IF random() < 0.5 THEN
                v_total := v_total + app.cr_correct(v_ids, p_null);
            ELSE
                FOREACH v_id IN ARRAY v_ids LOOP
                    v_total := v_total + app.cr_correct(ARRAY[v_id], p_null);
                END LOOP;
            END IF;
            PERFORM app.cr_note(p_seed, 'corrected again by a later batch before the tick',
                                (SELECT count(*) FROM app.cr_pending WHERE id = ANY (v_ids) AND last_batch < p_batch));
            PERFORM app.cr_mark(v_ids, p_batch);
        WHEN 'delete_corrected' THEN
            v_ids := app.cr_pick(app.wl_int(3, 20), true);
            IF random() < 0.5 THEN
                DELETE FROM app.task_usage WHERE id = ANY (v_ids);
            ELSE
                FOREACH v_id IN ARRAY v_ids LOOP
                    DELETE FROM app.task_usage WHERE id = v_id;
                END LOOP;
            END IF;
            PERFORM app.cr_note(p_seed, 'corrected rows deleted before the tick', cardinality(v_ids));
        WHEN 'reattribute' THEN
            v_ids := app.cr_pick(app.wl_int(2, 10), true);
            FOREACH v_id IN ARRAY v_ids LOOP
                PERFORM app.cr_note(p_seed, app.cr_reattribute((SELECT task_id FROM app.task_usage WHERE id = v_id)));
            END LOOP;
        WHEN 'task_delete' THEN
            v_ids := app.cr_pick(app.wl_int(1, 3), true);
            DELETE FROM app.agent_task_queue WHERE id IN (SELECT task_id FROM app.task_usage WHERE id = ANY (v_ids));
            PERFORM app.cr_note(p_seed, 'tasks of corrected rows deleted before the tick', cardinality(v_ids));
        WHEN 'inserts' THEN
            v_n := 0;
            FOR k IN 1 .. app.wl_int(10, 100) LOOP
                IF app.cr_insert(app.wl_pick('app.agent_task_queue'), p_null, random() < 0.1) IS NOT NULL THEN
                    v_n := v_n + 1;
                END IF;
            END LOOP;
            PERFORM app.cr_note(p_seed, 'new rows', v_n);
        END CASE;
    END LOOP;
    RETURN v_total;
END
$$;

-- ---------------------------------------------------------------------------
-- The rebuild comparison: reports on the incremental stores against their truth,
-- then the stores saved, rebuilt from scratch (detach, attach, backfill: every
-- finished day, week and four weeks sealed again) and compared both ways.
CREATE PROCEDURE app.cr_checkpoint(p_seed int, p_round int, p_nullable boolean DEFAULT false, p_reports boolean DEFAULT true)
LANGUAGE plpgsql AS $$
DECLARE
    v_reports bigint;
    v_rollup bigint;
    v_ws bigint;
    v_keyed bigint;
    v_task bigint;
    v_blocks bigint;
    v_days bigint;
    v_messages text := current_setting('client_min_messages');
BEGIN
    IF p_reports THEN
        v_reports := app.cr_reports(format('seed %s round %s checkpoint', p_seed, p_round), true);
    END IF;
    DELETE FROM app.cr_snap_rollup;
    DELETE FROM app.cr_snap_ws;
    DELETE FROM app.cr_snap_keyed;
    DELETE FROM app.cr_snap_blocks;
    DELETE FROM app.cr_snap_task;
    DELETE FROM app.cr_snap_days;
    INSERT INTO app.cr_snap_rollup SELECT * FROM usage_rollup.rollup;
    INSERT INTO app.cr_snap_ws SELECT * FROM usage_rollup.rollup_ws;
    INSERT INTO app.cr_snap_blocks SELECT width, bucket_start FROM usage_rollup.key_rollup_block;
    INSERT INTO app.cr_snap_keyed SELECT k.* FROM usage_rollup.key_rollup k JOIN usage_rollup.key_rollup_block b USING (width, bucket_start);
    INSERT INTO app.cr_snap_days SELECT bucket_start FROM usage_rollup.key_task_block;
    INSERT INTO app.cr_snap_task SELECT k.task_id, k.bucket_start, k.workspace_id
    FROM usage_rollup.key_task k JOIN usage_rollup.key_task_block b USING (bucket_start);
    COMMIT;
    PERFORM set_config('client_min_messages', 'warning', false);   -- backfill's progress carries timings
    PERFORM usage_rollup.detach();
    PERFORM usage_rollup.attach();
    COMMIT;
    CALL usage_rollup.backfill(slice => '30 days');
    PERFORM set_config('client_min_messages', v_messages, false);
    SELECT (SELECT count(*) FROM (SELECT * FROM app.cr_snap_rollup EXCEPT ALL SELECT * FROM usage_rollup.rollup) a)
         + (SELECT count(*) FROM (SELECT * FROM usage_rollup.rollup EXCEPT ALL SELECT * FROM app.cr_snap_rollup) b),
           (SELECT count(*) FROM (SELECT * FROM app.cr_snap_ws EXCEPT ALL SELECT * FROM usage_rollup.rollup_ws) a)
         + (SELECT count(*) FROM (SELECT * FROM usage_rollup.rollup_ws EXCEPT ALL SELECT * FROM app.cr_snap_ws) b)
    INTO v_rollup, v_ws;
    WITH both_blocks AS (SELECT width, bucket_start FROM app.cr_snap_blocks
                         INTERSECT SELECT width, bucket_start FROM usage_rollup.key_rollup_block)
    SELECT (SELECT count(*) FROM (SELECT s.* FROM app.cr_snap_keyed s JOIN both_blocks USING (width, bucket_start)
                                  EXCEPT ALL
                                  SELECT k.* FROM usage_rollup.key_rollup k JOIN both_blocks USING (width, bucket_start)) a)
         + (SELECT count(*) FROM (SELECT k.* FROM usage_rollup.key_rollup k JOIN both_blocks USING (width, bucket_start)
                                  EXCEPT ALL
                                  SELECT s.* FROM app.cr_snap_keyed s JOIN both_blocks USING (width, bucket_start)) b),
           (SELECT count(*) FROM both_blocks)
    INTO v_keyed, v_blocks;
    WITH both_days AS (SELECT bucket_start FROM app.cr_snap_days INTERSECT SELECT bucket_start FROM usage_rollup.key_task_block),
         rebuilt AS (SELECT k.task_id, k.bucket_start, k.workspace_id FROM usage_rollup.key_task k JOIN both_days USING (bucket_start)),
         saved AS (SELECT s.task_id, s.bucket_start, s.workspace_id FROM app.cr_snap_task s JOIN both_days USING (bucket_start))
    SELECT (SELECT count(*) FROM (SELECT * FROM saved EXCEPT ALL SELECT * FROM rebuilt) a)
         + (SELECT count(*) FROM (SELECT * FROM rebuilt EXCEPT ALL SELECT * FROM saved) b),
           (SELECT count(*) FROM both_days)
    INTO v_task, v_days;
    IF v_rollup + v_ws + v_keyed + v_task > 0 THEN
        RAISE NOTICE 'corrections_random seed % round %: the incremental stores differ from a rebuild: rollup % rows, rollup_ws % rows, key_rollup % rows (of % blocks sealed in both), key_task % rows (of % days sealed in both); replay: %',
            p_seed, p_round, v_rollup, v_ws, v_keyed, v_blocks, v_task, v_days,
            format('CALL app.cr_run(%s, %s%s)', p_seed, p_round, CASE WHEN p_nullable THEN ', p_nullable => true' ELSE '' END);
    END IF;
    INSERT INTO app.cr_checkpoints VALUES (p_seed, p_round, v_reports, v_rollup, v_ws, v_keyed, v_task, v_blocks, v_days)
    ON CONFLICT (seed, round) DO UPDATE SET reports = excluded.reports, rollup_differs = excluded.rollup_differs,
        rollup_ws_differs = excluded.rollup_ws_differs, key_rollup_differs = excluded.key_rollup_differs,
        key_task_differs = excluded.key_task_differs, blocks_in_both = excluded.blocks_in_both,
        days_in_both = excluded.days_in_both;
    COMMIT;
END
$$;

-- ---------------------------------------------------------------------------
-- The driver: CALL app.cr_run(seed, rounds [, p_nullable]) from an empty world (the
-- previous one is torn down first). Needs usage_rollup.safety_lag = 0. A failing
-- seed replays with the CALL its NOTICE prints (rounds up to the failing one).
CREATE PROCEDURE app.cr_run(p_seed int, p_rounds int, p_nullable boolean DEFAULT false)
LANGUAGE plpgsql AS $$
DECLARE
    r int;
    b int;
    v_batches int;
    v_step int := 200000;
    v_held boolean;
    v_small boolean;
    v_hold_open boolean := false;
    v_n bigint;
    v_found bigint;
    v_checks int := 0;
    v_bad int := 0;
    v_report_checks int := 0;
    v_report_bad bigint := 0;
    v_corrected bigint := 0;
    v_all_batches int := 0;
    v_ids uuid[];
    v_sql text;
    v_id uuid;
    v_row record;
    v_messages text := current_setting('client_min_messages');
BEGIN
    IF current_setting('usage_rollup.safety_lag') NOT IN ('0', '0s') THEN
        RAISE EXCEPTION 'cr_run needs SET usage_rollup.safety_lag = 0';
    END IF;
    PERFORM setseed((p_seed % 1000000) / 1000000.0 + 0.5);
    DELETE FROM app.cr_ops WHERE seed = p_seed;
    DELETE FROM app.cr_result WHERE seed = p_seed;
    DELETE FROM app.cr_checkpoints WHERE seed = p_seed;
    DELETE FROM app.cr_coverage WHERE seed = p_seed;
    DELETE FROM app.cr_pending;
    DELETE FROM app.cr_chain;
    DELETE FROM app.cr_reserved;
    COMMIT;
    -- the connection that holds transactions open (a new one: an aborted run may have left it in one)
    IF 'cr_hold' = ANY (dblink_get_connections()) THEN
        PERFORM dblink_disconnect('cr_hold');
    END IF;
    PERFORM dblink_connect('cr_hold', format('dbname=%s host=%s port=%s user=postgres', current_database(),
                                             current_setting('unix_socket_directories'), current_setting('port')));
    DELETE FROM app.workspace;
    COMMIT;
    PERFORM usage_rollup.tick();
    COMMIT;
    v_found := app.cr_check(p_seed, 0, p_nullable);
    v_checks := v_checks + 1;
    v_bad := v_bad + (v_found > 0)::int;
    IF p_nullable THEN
        -- the contract's counters may be NULL: re-attach to a usage table that allows it
        PERFORM set_config('client_min_messages', 'warning', false);
        PERFORM usage_rollup.detach();
        ALTER TABLE app.task_usage ALTER COLUMN input_tokens DROP NOT NULL, ALTER COLUMN output_tokens DROP NOT NULL,
            ALTER COLUMN cache_read_tokens DROP NOT NULL, ALTER COLUMN cache_write_tokens DROP NOT NULL;
        PERFORM usage_rollup.attach();
        PERFORM set_config('client_min_messages', v_messages, false);
        COMMIT;
    END IF;
    -- the world: wl_world's, 250 more tasks, 3000 usage rows (4% in the last 36 hours)
    PERFORM app.wl_world(p_seed);
    FOR b IN 1 .. 250 LOOP
        PERFORM app.wl_new_task(p_seed, 100000 + b);
    END LOOP;
    -- names for the NOTICEs' replay queries: app.uid('wl/<seed>/<step>/<what>') is wl_id's uuid
    INSERT INTO app.names
    SELECT app.wl_id(p_seed, -k, w), format('wl/%s/%s/%s', p_seed, -k, w)
    FROM generate_series(1, 12) k, unnest(ARRAY['workspace', 'agent', 'runtime', 'project', 'issue']) w
    ON CONFLICT DO NOTHING;
    SELECT array_agg(id ORDER BY id) INTO v_ids FROM app.agent_task_queue;
    FOR b IN 1 .. 3000 LOOP
        PERFORM app.cr_insert(v_ids[1 + floor(random() * cardinality(v_ids))::int], p_nullable, random() < 0.04);
    END LOOP;
    COMMIT;
    PERFORM usage_rollup.tick();
    COMMIT;
    v_found := app.cr_check(p_seed, 0, p_nullable);
    v_checks := v_checks + 1;
    v_bad := v_bad + (v_found > 0)::int;
    -- the rebuild seals every finished day, week and four weeks
    CALL app.cr_checkpoint(p_seed, 0, p_nullable, false);
    FOR r IN 1 .. p_rounds LOOP
        -- (drawn whatever p_rounds is: a run cut short at round r replays rounds 1 .. r)
        v_held := random() < 0.3;
        v_small := NOT v_held AND random() < 0.3;
        v_batches := CASE WHEN v_held THEN app.wl_int(2, 3) ELSE app.wl_int(1, 3) END;
        DELETE FROM app.cr_pending;
        COMMIT;
        FOR b IN 1 .. v_batches LOOP
            IF v_held AND b = 2 THEN
                -- a second connection corrects a few rows (and inserts one) in a
                -- transaction it keeps open: no tick's window may pass its start
                SELECT coalesce(array_agg(id ORDER BY k), '{}') INTO v_ids FROM (
                    SELECT w.id, w.k FROM (
                        SELECT s.id, random() AS k FROM (
                            SELECT u.id FROM app.task_usage u ORDER BY u.task_id, u.provider, u.model) s OFFSET 0) w
                    ORDER BY w.k LIMIT app.wl_int(2, 5)) z;
                INSERT INTO app.cr_reserved SELECT u.id, u.task_id, u.provider, u.model FROM app.task_usage u WHERE u.id = ANY (v_ids);
                COMMIT;
                PERFORM dblink_exec('cr_hold', 'BEGIN');
                FOR v_row IN SELECT u.id, u.task_id FROM app.task_usage u WHERE u.id = ANY (v_ids)
                             ORDER BY u.task_id, u.provider, u.model LOOP
                    v_sql := format('UPDATE app.task_usage SET input_tokens = %s, output_tokens = %s, cost_usd_ticks = %s, updated_at = %s WHERE id = %L',
                                    coalesce(app.cr_tok(p_nullable, 50000)::text, 'NULL'), app.wl_int(0, 5000),
                                    CASE WHEN random() < 0.4 THEN 'NULL' ELSE app.wl_int(0, 9000000)::text END,
                                    CASE WHEN random() < 0.75 THEN 'now()' ELSE 'updated_at' END, v_row.id);
                    PERFORM dblink_exec('cr_hold', v_sql);
                END LOOP;
                -- (a task of its own rows: no other statement deletes it meanwhile)
                v_sql := format('INSERT INTO app.task_usage (task_id, provider, model, input_tokens, output_tokens, created_at, cost_usd_ticks) '
                                'VALUES (%L, ''claude'', %L, %s, %s, %L, %s) ON CONFLICT DO NOTHING',
                                (SELECT task_id FROM app.cr_reserved ORDER BY task_id, provider, model LIMIT 1),
                                format('held-%s-%s', p_seed, r), app.wl_int(0, 50000), app.wl_int(0, 5000),
                                app.wl_usage_ts((SELECT task_id FROM app.cr_reserved ORDER BY task_id, provider, model LIMIT 1)),
                                CASE WHEN random() < 0.5 THEN 'NULL' ELSE app.wl_int(0, 9000000)::text END);
                PERFORM dblink_exec('cr_hold', v_sql);
                v_hold_open := true;
                PERFORM app.cr_note(p_seed, 'held: rows corrected in a transaction open across a tick', cardinality(v_ids));
                COMMIT;
            END IF;
            v_n := app.cr_batch(p_seed, r, b, v_step, p_nullable, v_hold_open);
            v_step := v_step + 1000;
            IF random() < 0.04 THEN
                ROLLBACK;
                PERFORM app.cr_note(p_seed, 'batch rolled back');
            ELSE
                v_corrected := v_corrected + v_n;
                v_all_batches := v_all_batches + 1;
            END IF;
            COMMIT;
        END LOOP;
        -- corrections landed in sealed keyed days and sealed task days
        INSERT INTO app.cr_coverage
        SELECT p_seed, r, 'corrected rows in sealed keyed days', count(*) FROM app.cr_pending p JOIN app.task_usage u USING (id)
        WHERE EXISTS (SELECT 1 FROM usage_rollup.key_rollup_block b WHERE b.width = 1440
                        AND b.bucket_start = to_timestamp((floor(extract(epoch FROM u.created_at) / 86400) * 86400)::float8))
        UNION ALL
        SELECT p_seed, r, 'corrected rows in sealed task days', count(*) FROM app.cr_pending p JOIN app.task_usage u USING (id)
        WHERE EXISTS (SELECT 1 FROM usage_rollup.key_task_block b
                      WHERE b.bucket_start = to_timestamp((floor(extract(epoch FROM u.created_at) / 86400) * 86400)::float8));
        IF v_held THEN
            PERFORM usage_rollup.tick();
            COMMIT;
            -- the rows corrected after the held transaction began are beyond this tick's window
            INSERT INTO app.cr_coverage
            SELECT p_seed, r, 'held tick: rows stamped beyond its window', count(*) FROM app.task_usage
            WHERE coalesce(updated_at, created_at) >= (SELECT watermark FROM usage_rollup.status);
            INSERT INTO app.cr_coverage
            SELECT p_seed, r, 'held tick: rows corrected before its bound and again after', count(*) FROM app.cr_pending p
            WHERE p.first_batch = 1 AND p.last_batch > 1 AND EXISTS (SELECT 1 FROM app.task_usage u WHERE u.id = p.id);
            v_found := app.cr_reports(format('seed %s round %s held', p_seed, r), false);
            v_report_checks := v_report_checks + 1;
            v_report_bad := v_report_bad + v_found;
            IF random() < 0.75 THEN
                PERFORM dblink_exec('cr_hold', 'COMMIT');
                PERFORM app.cr_note(p_seed, 'held: transaction committed');
            ELSE
                PERFORM dblink_exec('cr_hold', 'ROLLBACK');
                PERFORM app.cr_note(p_seed, 'held: transaction rolled back');
            END IF;
            v_hold_open := false;
            DELETE FROM app.cr_reserved;
            COMMIT;
            v_found := app.cr_reports(format('seed %s round %s held, ended', p_seed, r), false);
            v_report_checks := v_report_checks + 1;
            v_report_bad := v_report_bad + v_found;
        ELSIF v_small THEN
            PERFORM set_config('usage_rollup.max_window', '1s', true);
            PERFORM usage_rollup.tick();
            COMMIT;
            PERFORM app.cr_note(p_seed, 'tick with max_window = 1s');
            v_found := app.cr_reports(format('seed %s round %s small window', p_seed, r), false);
            v_report_checks := v_report_checks + 1;
            v_report_bad := v_report_bad + v_found;
        END IF;
        -- the tick that covers every change
        PERFORM usage_rollup.tick();
        COMMIT;
        v_found := app.cr_check(p_seed, r, p_nullable);
        v_checks := v_checks + 1;
        IF random() < 0.3 THEN
            -- two more ticks: each seals one more block, and writes no rollup row
            FOR b IN 1 .. 2 LOOP
                v_n := usage_rollup.tick();
                COMMIT;
                IF v_n <> 0 THEN
                    RAISE NOTICE 'corrections_random seed % round %: a tick after the covering one wrote % rollup rows', p_seed, r, v_n;
                    v_found := v_found + 1;
                END IF;
            END LOOP;
            v_found := v_found + app.cr_check(p_seed, r, p_nullable);
            PERFORM app.cr_note(p_seed, 'two more ticks after the covering one (each seals a block)');
        END IF;
        v_bad := v_bad + (v_found > 0)::int;
        COMMIT;
        IF r % 3 = 0 OR r = p_rounds THEN
            -- 30 more ticks first: each seals one more day (the newest finished
            -- first), so that the checkpoint compares many blocks the ticks sealed
            FOR b IN 1 .. 30 LOOP
                v_n := usage_rollup.tick();
                COMMIT;
                IF v_n <> 0 THEN
                    RAISE NOTICE 'corrections_random seed % round %: a tick after the covering one wrote % rollup rows', p_seed, r, v_n;
                    v_bad := v_bad + 1;
                END IF;
            END LOOP;
            PERFORM app.cr_note(p_seed, '30 ticks before a checkpoint (each seals a block)');
            COMMIT;
            CALL app.cr_checkpoint(p_seed, r, p_nullable);
        END IF;
    END LOOP;
    INSERT INTO app.cr_result VALUES (p_seed, p_nullable, p_rounds, v_all_batches, v_corrected, v_checks, v_bad,
                                      v_report_checks, v_report_bad);
    COMMIT;
END
$$;
RESET client_min_messages;
\set ECHO all

SET timezone = 'UTC';
SET search_path = app, public;
SET usage_rollup.safety_lag = 0;
SET client_min_messages = warning;
SELECT usage_rollup.attach();
RESET client_min_messages;

-- three seeds on the reference schema, one on NULLable token columns
CALL app.cr_run(1, 5);
CALL app.cr_run(2, 5);
CALL app.cr_run(3, 5);
CALL app.cr_run(4, 5, p_nullable => true);
SELECT seed, nullable, rounds, batches, rows_corrected, checks, mismatching_checks, report_checks, report_mismatches
FROM app.cr_result ORDER BY seed;
-- the checkpoints (rounds 0, 3, 5): the reports equal their truth (none at round 0,
-- right after the world was built); the incremental stores equal a rebuild from
-- scratch; keyed blocks and task days sealed in both were compared
SELECT seed, count(*) AS checkpoints, sum(reports) AS report_mismatches, sum(rollup_differs) AS rollup_differs,
       sum(rollup_ws_differs) AS rollup_ws_differs, sum(key_rollup_differs) AS key_rollup_differs,
       sum(key_task_differs) AS key_task_differs, bool_or(blocks_in_both > 0) AS blocks_compared,
       bool_or(days_in_both > 0) AS days_compared
FROM app.cr_checkpoints GROUP BY seed ORDER BY seed;
-- what ran (counts over all seeds)
SELECT kind, sum(n) AS n FROM app.cr_ops GROUP BY kind ORDER BY kind COLLATE "C";
-- corrections hit sealed keyed days and task days; held ticks had rows stamped
-- beyond their window, among them rows corrected before the bound and again after it
SELECT what, bool_or(n > 0) AS seen FROM app.cr_coverage GROUP BY what ORDER BY what COLLATE "C";
-- the NULLable seed's world (the last) had NULL tokens and NULL costs
SELECT count(*) FILTER (WHERE input_tokens IS NULL) > 0 AS null_input,
       count(*) FILTER (WHERE output_tokens IS NULL) > 0 AS null_output,
       count(*) FILTER (WHERE cache_read_tokens IS NULL) > 0 AS null_cache_read,
       count(*) FILTER (WHERE cost_usd_ticks IS NULL) > 0 AS null_cost
FROM app.task_usage;

-- the checks are not vacuous: one per-workspace row, one sealed keyed row, one task
-- taken from a sealed day's list are each found
SET client_min_messages = warning;
BEGIN;
UPDATE usage_rollup.rollup_ws SET input_tokens = input_tokens + 1
WHERE (width, bucket_start, workspace_id, provider, model) = (SELECT width, bucket_start, workspace_id, provider, model
    FROM usage_rollup.rollup_ws WHERE width = 1440 ORDER BY bucket_start, workspace_id, provider, model LIMIT 1);
SELECT app.cr_check(0, 0, false) > 0 AS rollup_ws_tamper_found;
ROLLBACK;
BEGIN;
UPDATE usage_rollup.key_rollup k SET event_count = event_count + 1
WHERE (width, bucket_start, workspace_id, dim, key, provider, model) = (SELECT k.width, k.bucket_start, k.workspace_id, k.dim, k.key, k.provider, k.model
    FROM usage_rollup.key_rollup k JOIN usage_rollup.key_rollup_block USING (width, bucket_start)
    WHERE k.key IS NOT NULL ORDER BY k.width, k.bucket_start, k.workspace_id, k.dim, k.key, k.provider, k.model LIMIT 1);
SELECT app.cr_check(0, 0, false) > 0 AS key_rollup_tamper_found;
ROLLBACK;
BEGIN;
DELETE FROM usage_rollup.key_task
WHERE (task_id, bucket_start) = (SELECT k.task_id, k.bucket_start FROM usage_rollup.key_task k
                                 JOIN usage_rollup.key_task_block b USING (bucket_start) ORDER BY 1, 2 LIMIT 1);
SELECT app.cr_check(0, 0, false) > 0 AS key_task_tamper_found;
ROLLBACK;
-- ... and the rebuild comparison sees a sealed keyed row that differs (the rebuild
-- then repairs it)
UPDATE usage_rollup.key_rollup k SET input_tokens = input_tokens + 1
WHERE (width, bucket_start, workspace_id, dim, key, provider, model) = (SELECT k.width, k.bucket_start, k.workspace_id, k.dim, k.key, k.provider, k.model
    FROM usage_rollup.key_rollup k JOIN usage_rollup.key_rollup_block USING (width, bucket_start)
    WHERE k.key IS NOT NULL AND k.input_tokens IS NOT NULL
    ORDER BY k.width, k.bucket_start, k.workspace_id, k.dim, k.key, k.provider, k.model LIMIT 1);
CALL app.cr_checkpoint(0, 0, true);
SELECT rollup_differs, rollup_ws_differs, key_rollup_differs, key_task_differs
FROM app.cr_checkpoints WHERE seed = 0;
RESET client_min_messages;

SET client_min_messages = warning;
SELECT dblink_disconnect('cr_hold');
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
DROP EXTENSION dblink;
