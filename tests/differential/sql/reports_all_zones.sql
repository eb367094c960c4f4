-- Differential test of every usage report (SPEC §4, §4.1, §8) against its ground
-- truth computed from the raw rows with AT TIME ZONE (tests/fixtures/report_truth.sql),
-- for EVERY zone of pg_timezone_names that usage_rollup.resolve_tz() accepts.
--
-- Data (seeded, set-based, plan-independent hashes): a target workspace w1 and a noise
-- workspace w2. usage rows sit on the 15-minute UTC edges (-1us, exactly on it, +1us,
-- -1s, +1s, or anywhere in the bucket) of the UTC days around every 2025 transition
-- day of any zone (every local midnight of any present-day offset is such an edge);
-- mixed-case providers for one task and model in different buckets and on different
-- local days, NULL costs, legacy NULL updated_at, tasks without runtime, issue or
-- project, tasks whose issue is in the other workspace. Older clusters: 1844, when
-- Manila (UTC-15:56), Palau (-15:02), Metlakatla (+15:13) and Juneau (+15:02) kept
-- local mean time; days that did not exist (Apia 2011-12-30, Kiritimati 1994-12-31);
-- switches from local mean time to a 15-minute offset (Kolkata 1906, Monrovia 1972).
--
-- Per zone, all six zoned reports are called over that zone's own first and last
-- 2025 transition days (zones without DST get other zones' transition days, rotating),
-- three days around them, and daily_usage from the first to the last; with filters
-- (project, runtime, agent, all three) for every fourth zone. Each result must equal
-- the truth both ways (EXCEPT ALL) and be in the documented order. Phases:
--   a        after CALL backfill() and a tick (the rollup path)
--   b        after inserts, corrections, deletes, re-attributions, no tick (freshness)
--   c        after a tick again
--   history  1844 for every zone (misaligned zones are answered from raw rows)
--   special  the older clusters, a few zones, after (a) and after (c)
-- plus issue_usage for every issue, day lengths on DST days, viewer zones and a
-- READ ONLY transaction. A mismatch prints a NOTICE with the first differing rows and
-- a replay query (at most 8 per phase) and makes mismatches > 0 in the phase's line.
\set SHOW_CONTEXT never
\set ECHO none
SET client_min_messages = warning;
\ir ../fixtures/reset.sql
CREATE EXTENSION usage_rollup;
\ir ../fixtures/reference_schema.sql
\ir ../fixtures/helpers.sql
\ir ../fixtures/report_truth.sql
RESET client_min_messages;
\set ECHO all
SET timezone = 'UTC';
SET search_path = app, public;
SET usage_rollup.safety_lag = 0;
SET usage_rollup.max_window = 0;
SET client_min_messages = warning;
SELECT usage_rollup.attach(users => 'app.user');
RESET client_min_messages;

-- the zones: every name the server knows that resolve_tz accepts. posix/* and right/*
-- (copies of the other names) are refused: a sample shows it, and the rest of them are
-- not tried, because a refusal computes spelling suggestions (about 7 ms each)
CREATE FUNCTION pg_temp.accepted(p_zone text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RETURN usage_rollup.resolve_tz(p_zone) IS NOT NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN false;
END
$$;
SELECT count(*) AS posix_or_right_names FROM pg_timezone_names WHERE name ~ '^(posix|right)/';
SELECT name, pg_temp.accepted(name) AS accepted FROM pg_timezone_names
WHERE name IN ('posix/Asia/Kolkata', 'posix/UTC', 'posix/America/New_York', 'posix/Pacific/Chatham') ORDER BY name COLLATE "C";
CREATE TABLE rz_names AS
SELECT name, pg_temp.accepted(name) AS accepted FROM pg_timezone_names WHERE name !~ '^(posix|right)/';
CREATE TABLE rz_zones AS
SELECT (row_number() OVER (ORDER BY name COLLATE "C"))::int AS idx, name FROM rz_names WHERE accepted;
SELECT count(*) FILTER (WHERE accepted) AS accepted, count(*) FILTER (WHERE NOT accepted) AS refused,
       string_agg(name, ' ' ORDER BY name COLLATE "C") FILTER (WHERE NOT accepted) AS refused_names
FROM rz_names;
-- every local date of 2025 that is not 24 hours long in some zone
CREATE TABLE rz_transitions AS
SELECT z.name, d::date AS day
FROM rz_zones z, generate_series('2025-01-01'::timestamp, '2025-12-31', '1 day') d
WHERE ((d + interval '1 day') AT TIME ZONE z.name) - (d AT TIME ZONE z.name) <> interval '24 hours';
SELECT day, count(*) AS zones FROM rz_transitions GROUP BY day ORDER BY day;
-- per zone: its first and last transition day, or (no DST) two transition days of
-- other zones, rotating over the list
WITH days AS (SELECT array_agg(DISTINCT day ORDER BY day) AS a FROM rz_transitions)
SELECT z.idx, z.name,
       coalesce(min(t.day), a[1 + z.idx % cardinality(a)]) AS d1,
       coalesce(max(t.day), a[1 + (z.idx * 7 + 5) % cardinality(a)]) AS d2
INTO rz_zone_days
FROM rz_zones z CROSS JOIN days LEFT JOIN rz_transitions t ON t.name = z.name
GROUP BY z.idx, z.name, a;
UPDATE rz_zone_days SET d1 = least(d1, d2), d2 = greatest(d1, d2);

-- the world: w1 (target), w2 (noise), wd (DST day lengths). r3, p3, i4, i5 and a4
-- are deleted in phase (b).
INSERT INTO workspace (id, name) VALUES (uid('w1'), 'w1'), (uid('w2'), 'w2'), (uid('wd'), 'wd');
INSERT INTO agent (id, workspace_id) VALUES
    (uid('a1'), uid('w1')), (uid('a2'), uid('w1')), (uid('a3'), uid('w1')), (uid('a4'), uid('w1')),
    (uid('a9'), uid('w2')), (uid('ad'), uid('wd'));
INSERT INTO agent_runtime (id, workspace_id) VALUES
    (uid('r1'), uid('w1')), (uid('r2'), uid('w1')), (uid('r3'), uid('w1')), (uid('r9'), uid('w2'));
INSERT INTO project (id, workspace_id, name) VALUES
    (uid('p1'), uid('w1'), 'p1'), (uid('p2'), uid('w1'), 'p2'), (uid('p3'), uid('w1'), 'p3'), (uid('p9'), uid('w2'), 'p9');
INSERT INTO issue (id, workspace_id, project_id) VALUES
    (uid('i1'), uid('w1'), uid('p1')), (uid('i2'), uid('w1'), uid('p2')), (uid('i3'), uid('w1'), NULL),
    (uid('i4'), uid('w1'), uid('p3')), (uid('i5'), uid('w1'), uid('p1')),
    (uid('i9'), uid('w2'), uid('p9')), (uid('i8'), uid('w2'), NULL);
SELECT uid('w1') AS w1, uid('wd') AS wd, uid('a2') AS a2, uid('i1') AS i1 \gset
-- 1060 tasks in w1, 100 in w2: no runtime ~20%, no issue ~25%, issues without project,
-- issues of the other workspace (w1's tasks under w2's project p9, and the reverse)
INSERT INTO agent_task_queue (id, agent_id, runtime_id, issue_id, status)
SELECT md5('rz-task-' || n)::uuid,
       uid((ARRAY['a1', 'a2', 'a3', 'a1', 'a2', 'a3', 'a1', 'a2', 'a3', 'a4'])[1 + floor(rz_h('agent' || n) * 10)::int]),
       CASE WHEN rz_h('runtime' || n) < 0.2 THEN NULL WHEN rz_h('runtime' || n) < 0.55 THEN uid('r1')
            WHEN rz_h('runtime' || n) < 0.9 THEN uid('r2') ELSE uid('r3') END,
       CASE WHEN rz_h('issue' || n) < 0.25 THEN NULL
            ELSE uid((ARRAY['i1', 'i1', 'i2', 'i2', 'i3', 'i9', 'i4', 'i5'])[1 + floor(rz_h('issue-pick' || n) * 8)::int]) END,
       'completed'
FROM generate_series(1, 1060) n;
INSERT INTO agent_task_queue (id, agent_id, runtime_id, issue_id, status)
SELECT md5('rz-noise-' || n)::uuid, uid('a9'), CASE WHEN n % 3 = 0 THEN NULL ELSE uid('r9') END,
       (ARRAY[uid('i9'), uid('i8'), uid('i1'), NULL])[1 + n % 4], 'completed'
FROM generate_series(1, 100) n;

-- UTC days around every transition day D (D-1 .. D+1: every zone's whole local day D)
CREATE TABLE rz_utc_days AS
SELECT DISTINCT (day + k)::timestamp AT TIME ZONE 'UTC' AS day
FROM (SELECT DISTINCT day FROM rz_transitions) t, generate_series(-1, 1) k;
SELECT count(*) AS utc_days, min(day), max(day) FROM rz_utc_days;

-- usage: candidate rows on every 15-minute edge of those days, each kept with a
-- seeded probability (-1us 45%, on the edge 35%, +1us 5%, -1s 5%, +1s 5%, anywhere
-- in the bucket 10%); task, provider letter case, model, tokens, cost from hashes.
-- A candidate that collides with an existing (task, provider, model) is dropped.
-- p_days: other UTC days than rz_utc_days.
CREATE FUNCTION rz_insert_usage(p_salt text, p_tasks text, p_ntasks int, p_density float8, p_days date[] DEFAULT NULL)
RETURNS bigint LANGUAGE sql AS $$
    WITH cand AS (
        SELECT d.day + k * interval '15 minutes' + o.off AS at, p_salt || '/' || (d.day + k * interval '15 minutes') || '/' || o.label AS s
        FROM (SELECT day FROM rz_utc_days WHERE p_days IS NULL
              UNION ALL SELECT x::timestamp AT TIME ZONE 'UTC' FROM unnest(p_days) x) d,
             generate_series(0, 95) k,
             (VALUES ('m1us', interval '-1 microsecond', 0.45), ('zero', interval '0', 0.35), ('p1us', interval '1 microsecond', 0.05),
                     ('m1s', interval '-1 second', 0.05), ('p1s', interval '1 second', 0.05), ('any', interval '0', 0.10)) o(label, off, p)
        WHERE rz_h(p_salt || '/' || (d.day + k * interval '15 minutes') || '/' || o.label) < o.p * p_density
    ), picked AS (
        SELECT c.s, c.at + CASE WHEN c.s LIKE '%/any' THEN floor(rz_h('at' || c.s) * 900e6) * interval '1 microsecond' ELSE interval '0' END AS at,
               md5(p_tasks || (1 + floor(rz_h('task' || c.s) * p_ntasks)::int))::uuid AS task_id,
               (ARRAY['opus', 'opus', 'sonnet', 'sonnet', 'haiku', 'gpt-4o', 'gpt-4o', 'gemini'])[1 + floor(rz_h('model' || c.s) * 8)::int] AS model,
               rz_h('case' || c.s) AS case_pick
        FROM cand c
    ), ins AS (
    INSERT INTO task_usage (task_id, provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
                            created_at, updated_at, cost_usd_ticks)
    SELECT p.task_id,
           CASE WHEN p.model IN ('opus', 'sonnet', 'haiku')
                THEN CASE WHEN p.case_pick < 0.85 THEN 'claude' WHEN p.case_pick < 0.95 THEN 'Claude' ELSE 'CLAUDE' END
                WHEN p.model = 'gpt-4o' THEN CASE WHEN p.case_pick < 0.9 THEN 'openai' ELSE 'OpenAI' END
                ELSE 'google' END,
           p.model,
           1 + floor(rz_h('in' || p.s) * 100000)::bigint, floor(rz_h('out' || p.s) * 10000)::bigint,
           floor(rz_h('cr' || p.s) * 50000)::bigint, floor(rz_h('cw' || p.s) * 5000)::bigint,
           p.at,
           CASE WHEN rz_h('legacy' || p.s) < 0.05 THEN NULL ELSE now() END,
           CASE WHEN rz_h('cost' || p.s) < 0.3 THEN NULL ELSE floor(rz_h('price' || p.s) * 1e9)::bigint END
    FROM picked p
    ORDER BY p.s
    ON CONFLICT (task_id, provider, model) DO NOTHING
    RETURNING 1
    ), n AS (SELECT count(*) AS n FROM ins)
    SELECT n FROM n
$$;
SELECT rz_insert_usage('w1', 'rz-task-', 1000, 1.0) AS w1_rows;
SELECT rz_insert_usage('w2', 'rz-noise-', 100, 0.15) AS w2_rows;
-- one task and model, the provider in three letter cases: 'Claude' 10 minutes before
-- an edge (a local midnight for the zones at that offset), 'claude' 10 minutes after
-- it, 'CLAUDE' a day later; and two cases of 'openai' in one bucket
INSERT INTO task_usage (task_id, provider, model, input_tokens, output_tokens, created_at, cost_usd_ticks)
SELECT md5('rz-task-' || (1000 + n))::uuid, v.provider, v.model, 1000 * n + v.k, v.k,
       e.edge + v.off, CASE WHEN v.k = 2 THEN NULL ELSE 10 * n END
FROM generate_series(1, 60) n
CROSS JOIN LATERAL (SELECT d.day + floor(rz_h('variant-edge' || n) * 96) * interval '15 minutes' AS edge
                    FROM rz_utc_days d ORDER BY rz_h('variant-day' || n || d.day) LIMIT 1) e
CROSS JOIN (VALUES (1, 'Claude', 'opus', interval '-10 minutes'), (2, 'claude', 'opus', interval '10 minutes'),
                   (3, 'CLAUDE', 'opus', interval '1 day'), (4, 'OpenAI', 'gpt-4o', interval '1 minute'),
                   (5, 'openai', 'gpt-4o', interval '2 minutes')) v(k, provider, model, off);
SELECT count(*) AS rows, count(DISTINCT task_id) AS tasks,
       count(*) FILTER (WHERE cost_usd_ticks IS NULL) AS uncosted, count(*) FILTER (WHERE updated_at IS NULL) AS legacy
FROM task_usage;
-- tasks with one provider in two or more letter cases for one model
SELECT count(*) AS mixed_case_task_models FROM (
    SELECT task_id, lower(provider), model FROM task_usage GROUP BY 1, 2, 3 HAVING count(*) > 1) m;

-- DST day lengths (wd): one row of 1 input token every 15 minutes from D-2 to D+3 UTC
-- around spring-forward and fall-back days of New York, London and Lord Howe
INSERT INTO agent_task_queue (id, agent_id, status)
SELECT md5('rz-dst-' || n)::uuid, uid('ad'), 'completed' FROM generate_series(0, 59) n;
INSERT INTO task_usage (task_id, provider, model, input_tokens, created_at, cost_usd_ticks)
SELECT md5('rz-dst-' || (n / 50))::uuid, 'claude', 'slot-' || (n % 50), 1, at, 1
FROM (SELECT row_number() OVER (ORDER BY at) - 1 AS n, at
      FROM (SELECT DISTINCT d::timestamp AT TIME ZONE 'UTC' + k * interval '15 minutes' AS at
            FROM unnest('{2025-03-09,2025-03-30,2025-04-06,2025-10-05,2025-10-26,2025-11-02}'::date[]) d,
                 generate_series(-192, 287) k) s) x;

ANALYZE workspace, agent, agent_runtime, project, issue, agent_task_queue, task_usage;

-- (a) the rollup path: backfill, then 1844 rows (after the backfill, whose slices
-- are days; the tick finds them by updated_at), then a tick
SET client_min_messages = warning;
CALL usage_rollup.backfill();
RESET client_min_messages;
INSERT INTO task_usage (task_id, provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
                        created_at, cost_usd_ticks)
SELECT md5('rz-task-' || (1 + floor(rz_h('h-task' || k) * 1000)::int))::uuid,
       (ARRAY['claude', 'Claude', 'openai'])[1 + k % 3], 'lmt-' || (k % 7),
       1 + floor(rz_h('h-in' || k) * 1000)::bigint, k, 0, 0,
       '1844-05-30 00:00+00'::timestamptz + k * interval '10 minutes' + floor(rz_h('h-at' || k) * 600e6) * interval '1 microsecond',
       CASE WHEN k % 4 = 0 THEN NULL ELSE k END
FROM generate_series(0, 6 * 144 - 1) g(k)
ORDER BY g.k
ON CONFLICT (task_id, provider, model) DO NOTHING;
-- and one a minute where local days of zones more than 15 hours from UTC started and
-- ended then (08:44-09:00 and 15:00-15:57 UTC: Juneau, Metlakatla; Palau, Manila)
INSERT INTO task_usage (task_id, provider, model, input_tokens, output_tokens, created_at, cost_usd_ticks)
SELECT md5('rz-task-' || (1 + m % 1000))::uuid, 'claude', 'lmt-band-' || m / 1000, 1 + m % 50, 1,
       '1844-05-30 00:00+00'::timestamptz + m * interval '1 minute' + interval '30 seconds', NULL
FROM generate_series(0, 6 * 1440 - 1) g(m)
WHERE (g.m % 1440) BETWEEN 8 * 60 + 40 AND 9 * 60 OR (g.m % 1440) BETWEEN 15 * 60 AND 16 * 60
ORDER BY g.m
ON CONFLICT (task_id, provider, model) DO NOTHING;
-- days that did not exist (Apia and Fakaofo skipped 2011-12-30, Kiritimati and Kanton
-- 1994-12-31) and switches between local mean time and a 15-minute offset
-- (Kolkata 1906-01-01, Monrovia 1972-01-07), also after the backfill
SELECT rz_insert_usage('special', 'rz-task-', 1000, 0.7,
                       ARRAY(SELECT (d + k)::date FROM unnest('{2011-12-28,1994-12-29,1905-12-30,1972-01-05}'::date[]) d,
                                                       generate_series(0, 4) k)) AS special_rows;
SELECT usage_rollup.tick() > 0 AS ticked;
SELECT count(*) AS queued FROM usage_rollup.dirty_bucket;
SELECT drift() AS drift;
CREATE TABLE rz_special (zone text, from_date date, to_date date);
INSERT INTO rz_special VALUES
    ('Pacific/Apia', '2011-12-29', '2011-12-31'), ('Pacific/Apia', '2011-12-30', '2011-12-30'),
    ('Pacific/Apia', '2011-12-31', '2011-12-31'), ('Pacific/Fakaofo', '2011-12-29', '2011-12-31'),
    ('Etc/GMT-14', '2011-12-29', '2011-12-31'), ('Pacific/Kiritimati', '1994-12-30', '1995-01-01'),
    ('Pacific/Kiritimati', '1995-01-01', '1995-01-01'), ('Pacific/Kanton', '1994-12-30', '1995-01-01'),
    ('Asia/Kolkata', '1905-12-31', '1906-01-01'), ('Asia/Kolkata', '1906-01-01', '1906-01-02'),
    ('Asia/Kolkata', '1906-01-02', '1906-01-02'), ('Africa/Monrovia', '1972-01-06', '1972-01-08'),
    ('Africa/Monrovia', '1972-01-08', '1972-01-08'), ('UTC', '1972-01-06', '1972-01-08');
SELECT 'special-a' AS phase, count(DISTINCT s.zone) AS zones_checked, count(*) AS reports_checked,
       sum(rz_check('special-a', r.report, s.zone, s.from_date, s.to_date, uid('w1'))) AS mismatches
FROM rz_special s CROSS JOIN rz_reports r;

-- DST: the local day's usage is that of exactly 23 / 25 hours of UTC time (Lord Howe
-- 23.5 / 24.5): one row per 15 minutes, so 92 / 100 (94 / 98) rows; neighbours 96
SELECT v.zone, v.d AS transition, r.day, r.slots, round(r.slots / 4.0, 2) AS hours, t.slots AS truth_slots
FROM (VALUES ('America/New_York', '2025-03-09'::date), ('America/New_York', '2025-11-02'),
             ('Europe/London', '2025-03-30'), ('Europe/London', '2025-10-26'),
             ('Australia/Lord_Howe', '2025-10-05'), ('Australia/Lord_Howe', '2025-04-06')) v(zone, d)
CROSS JOIN LATERAL (SELECT day, sum(input_tokens) AS slots
                    FROM usage_rollup.daily_usage(:'wd', v.d - 1, v.d + 1, tz => v.zone) GROUP BY day) r
LEFT JOIN LATERAL (SELECT day, sum(input_tokens) AS slots
                   FROM truth_daily_usage(:'wd', v.d - 1, v.d + 1, v.zone) GROUP BY day) t ON t.day = r.day
ORDER BY 1, 2, 3;

-- every zone, every report, over the zone's first 2025 transition day; issue_usage
SELECT * FROM rz_phase('a', 'd1');
SELECT count(*) AS issues_checked, sum(rz_check_issue('a', i)) AS mismatches
FROM (SELECT id FROM issue UNION ALL SELECT uid('nowhere')) x(i);

-- (b) freshness, no tick from here until (c): new rows on the same edges (in buckets
-- with and without rollup rows), a provider letter case a task did not have yet a
-- day later, corrections (updated_at bumped; some without, some moving a row in time
-- or changing the provider's case), legacy and backdated rows, deletes, runtime
-- reassignment (to and from NULL), a task linked to an issue, issue project moves,
-- an agent moved into w1, and deletes of a runtime, a project, an issue and an agent
SELECT rz_insert_usage('w1-more', 'rz-task-', 1000, 0.12) AS inserted;
SELECT rz_insert_usage('w2-more', 'rz-noise-', 100, 0.05) AS inserted_noise;
INSERT INTO task_usage (task_id, provider, model, input_tokens, output_tokens, created_at, cost_usd_ticks)
SELECT task_id, 'CLAUDE', model, 7, 7, created_at + interval '1 day' - interval '1 microsecond', NULL
FROM task_usage WHERE provider = 'claude' AND rz_h('recase' || task_id || model) < 0.05
ON CONFLICT (task_id, provider, model) DO NOTHING;
INSERT INTO task_usage (task_id, provider, model, input_tokens, output_tokens, created_at, updated_at, cost_usd_ticks)
SELECT md5('rz-task-' || (1 + floor(rz_h('legacy-task' || k) * 1000)::int))::uuid, 'Legacy', 'old-' || k % 3,
       k, k, d.day + (k * 7 % 96) * interval '15 minutes' - interval '1 microsecond',
       CASE WHEN k % 2 = 0 THEN NULL ELSE d.day END, CASE WHEN k % 3 = 0 THEN NULL ELSE k END
FROM rz_utc_days d, generate_series(1, 4) k
ON CONFLICT (task_id, provider, model) DO NOTHING;
UPDATE task_usage SET input_tokens = input_tokens + 1000,
                      cost_usd_ticks = CASE WHEN cost_usd_ticks IS NULL THEN 5 END, updated_at = now()
WHERE rz_h('fix' || task_id || provider || model) < 0.08;
UPDATE task_usage SET output_tokens = output_tokens + 1
WHERE rz_h('silent-fix' || task_id || provider || model) < 0.02;
UPDATE task_usage SET created_at = created_at + interval '1 hour' + interval '1 microsecond', updated_at = now()
WHERE rz_h('move' || task_id || provider || model) < 0.02;
UPDATE task_usage t SET provider = upper(t.provider), updated_at = now()
WHERE t.provider = 'claude' AND rz_h('upper' || t.task_id || t.model) < 0.03
  AND NOT EXISTS (SELECT 1 FROM task_usage x WHERE x.task_id = t.task_id AND x.provider = 'CLAUDE' AND x.model = t.model);
DELETE FROM task_usage WHERE rz_h('delete' || task_id || provider || model) < 0.05;
UPDATE agent_task_queue
SET runtime_id = CASE WHEN runtime_id IS NULL THEN uid('r1') WHEN runtime_id = uid('r1') THEN uid('r2') ELSE NULL END
WHERE agent_id <> uid('a9') AND rz_h('reassign' || id) < 0.1;
UPDATE agent_task_queue SET issue_id = uid('i2') WHERE issue_id IS NULL AND rz_h('link' || id) < 0.2;
UPDATE issue SET project_id = uid('p2') WHERE id = uid('i3');
UPDATE issue SET project_id = NULL WHERE id = uid('i9');
UPDATE agent SET workspace_id = uid('w1') WHERE id = uid('a9');
DELETE FROM agent_runtime WHERE id = uid('r3');
DELETE FROM project WHERE id = uid('p3');
DELETE FROM issue WHERE id = uid('i5');
DELETE FROM agent WHERE id = uid('a4');
SELECT count(*) AS rows, count(*) FILTER (WHERE cost_usd_ticks IS NULL) AS uncosted FROM task_usage;
SELECT count(*) > 0 AS queued FROM usage_rollup.dirty_bucket;

-- every zone, every report, over the zone's last 2025 transition day; issue_usage
SELECT * FROM rz_phase('b', 'd2');
SELECT count(*) AS issues_checked, sum(rz_check_issue('b', i)) AS mismatches
FROM (SELECT id FROM issue UNION ALL SELECT uid('nowhere')) x(i);
-- with filters (project, runtime, agent or all three, by zone), every fourth zone,
-- three local days around the zone's first transition
SELECT * FROM rz_phase('b-filtered', 'd1+-1', true, NULL, 4);

-- reports write nothing: they run in a READ ONLY transaction (raw tail and queue
-- present; a 15-minute-aligned zone, a local-mean-time one, filters, issue_usage)
BEGIN READ ONLY;
SELECT count(*) AS kathmandu_rows FROM usage_rollup.daily_usage(:'w1', '2025-03-29', '2025-03-31', tz => 'Asia/Kathmandu');
SELECT count(*) AS kolkata_1844_rows FROM usage_rollup.usage_by_hour(:'w1', '1844-05-31', '1844-06-02', tz => 'Asia/Kolkata');
SELECT count(*) AS summary_rows FROM usage_rollup.usage_summary(:'w1', '2025-10-25', '2025-11-02', tz => 'Pacific/Chatham', agent_id => :'a2');
SELECT count(*) AS issue_rows FROM usage_rollup.issue_usage(:'i1');
COMMIT;

-- the zone of a viewer (users table) is the zone of an explicit tz (every 40th zone)
INSERT INTO "user" (id, timezone) SELECT md5('rz-viewer-' || idx)::uuid, name FROM rz_zones WHERE idx % 40 = 0;
SELECT count(*) AS viewers,
       sum((SELECT count(*) FROM (
              SELECT * FROM usage_rollup.usage_summary(:'w1', z.d1 - 1, z.d1 + 1, viewer_id => md5('rz-viewer-' || z.idx)::uuid)
              EXCEPT ALL SELECT * FROM truth_usage_summary(:'w1', z.d1 - 1, z.d1 + 1, z.name)) a)
         + (SELECT count(*) FROM (
              SELECT * FROM truth_usage_summary(:'w1', z.d1 - 1, z.d1 + 1, z.name)
              EXCEPT ALL SELECT * FROM usage_rollup.usage_summary(:'w1', z.d1 - 1, z.d1 + 1, viewer_id => md5('rz-viewer-' || z.idx)::uuid)) b)
       ) AS mismatches
FROM rz_zone_days z WHERE z.idx % 40 = 0;

-- (c) a tick again: the rollup catches up with everything
SELECT usage_rollup.tick() > 0 AS ticked;
SELECT count(*) AS queued FROM usage_rollup.dirty_bucket;
SELECT drift() AS drift;
-- every zone, every report, three local days around the zone's last transition;
-- daily_usage from the day before its first to the day after its last transition
SELECT * FROM rz_phase('c', 'd2+-1');
SELECT * FROM rz_phase('c-span', 'span', false, '{daily_usage}');
SELECT 'special-c' AS phase, count(DISTINCT s.zone) AS zones_checked, count(*) AS reports_checked,
       sum(rz_check('special-c', r.report, s.zone, s.from_date, s.to_date, uid('w1'))) AS mismatches
FROM rz_special s CROSS JOIN rz_reports r;
SELECT count(*) AS issues_checked, sum(rz_check_issue('c', i)) AS mismatches
FROM (SELECT id FROM issue UNION ALL SELECT uid('nowhere')) x(i);

-- history: local mean time in 1844 (Manila UTC-15:56, Metlakatla UTC+15:13, Juneau
-- UTC+15:02): misaligned zones are answered from raw rows, UTC-like ones from the rollup
SELECT * FROM rz_phase('history', '1844-06-01..1844-06-02', false, '{daily_usage,usage_by_hour}');

-- all mismatches, per phase and report (no rows: none)
SELECT phase, what, count(*) AS cases, sum(n) AS rows, string_agg(zone, ' ' ORDER BY zone COLLATE "C") AS zones
FROM rz_found GROUP BY 1, 2 ORDER BY 1, 2;

SET client_min_messages = warning;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
