-- Bad input for every public function (SPEC §5, §8): NULL in each argument;
-- reversed, absurd, infinite and edge-of-range dates and timestamps; malformed
-- zones (POSIX strings, abbreviations, empty, padded, odd characters, very long)
-- and unknown viewers; wrong types; bad regclass values; invalid cron strings.
-- Every call must give a clear error (a SQLSTATE other than XX000, a lower-case
-- message naming the value) or a correct answer; never an internal error, a Rust
-- panic or a crash, and no error may show Rust internals (panic text, Rust paths,
-- a backtrace) in its message, detail, hint or context: the test cluster runs
-- with RUST_BACKTRACE=1, so one would show (bin/lib.sh). The last section checks
-- that the backend survived and that the server log shows no crash or PANIC.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql

-- crash guard: this backend, and where the server log ends now. bin/lib.sh starts
-- the cluster with pg_ctl -l $RUN_DIR/server.log beside $PGDATA = $RUN_DIR/pgdata
-- (no logging collector); with the collector on, pg_current_logfile() names it.
SELECT pg_backend_pid() AS start_pid,
       coalesce(pg_current_logfile(),
                regexp_replace(current_setting('data_directory'), '[^/]+/?$', '') || 'server.log') AS log_file \gset
SELECT coalesce((pg_stat_file(:'log_file', true)).size, -1) AS log_start \gset

-- The harness. pg_temp.try(call) runs SELECT count(*) FROM <call> and returns the
-- row count, or the error's SQLSTATE and message. fuzz holds every call with what
-- is acceptable: the answer (a row count), and/or an error naming must_name.
CREATE FUNCTION pg_temp.try(p_call text, OUT code text, OUT message text, OUT result text,
                            OUT detail text, OUT hint text, OUT context text)
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s AS r', p_call) INTO n;
    result := format('ok, %s row(s)', n);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                            hint = PG_EXCEPTION_HINT, context = PG_EXCEPTION_CONTEXT;
END $$;
CREATE TEMP TABLE fuzz (
    id        serial PRIMARY KEY,
    area      text NOT NULL,
    label     text NOT NULL,   -- the case; calls of several functions share it
    fn        text NOT NULL,
    call      text NOT NULL,
    answer    text,            -- the correct answer ('ok, N row(s)'), NULL: must be an error
    must_name text             -- an error must contain this, NULL: must not be an error
);
CREATE TEMP TABLE outcome (id integer PRIMARY KEY, code text, message text, result text, detail text, hint text, context text);
CREATE TEMP VIEW verdict AS
SELECT f.*, o.code, o.message, o.result,
       coalesce(CASE WHEN o.code IS NULL THEN o.result = f.answer
                     ELSE o.code !~ '^(XX|58)' AND o.message ~ '^[a-z"]' AND strpos(o.message, f.must_name) > 0
                END, false) AS acceptable,
       coalesce(o.result, o.code || ': ' || CASE WHEN length(o.message) <= 110 THEN o.message
                    ELSE left(o.message, 70) || format('... (%s characters)', length(o.message)) END) AS shown
FROM fuzz f JOIN outcome o USING (id);

-- the world: workspace w1 with one task on 2026-03-01 and one on 2016-02-23, the
-- first day of the longest allowed report range (3660 days) ending 2026-03-01
SELECT app.make_world();
SELECT app.task('t1', 'a1', 'r1', 'i1'), app.task('t0', 'a1', 'r1', 'i1');
UPDATE agent_task_queue SET started_at = '2026-03-01 09:00+00', completed_at = '2026-03-01 10:30+00' WHERE id = uid('t1');
UPDATE agent_task_queue SET started_at = '2016-02-23 00:00+00', completed_at = '2016-02-23 00:30+00' WHERE id = uid('t0');
SELECT app.usage('t1', 'claude', 'opus', 100, '2026-03-01 10:00+00', 5),
       app.usage('t0', 'claude', 'opus', 7, '2016-02-23 00:10+00', 5);
INSERT INTO "user" (id, timezone) VALUES
    (uid('v_unset'), NULL), (uid('v_posix'), 'UTC+8'), (uid('v_empty'), ''), (uid('v_local'), 'Local'),
    (uid('v_lower'), 'asia/kolkata'), (uid('v_long'), repeat('y', 300)), (uid('v_padded'), E'Asia/Tokyo\n');
CREATE VIEW app.usage_view AS SELECT * FROM task_usage;
CREATE SEQUENCE app.some_seq;
CREATE TYPE app.some_type AS (a integer);

-- ---------------------------------------------------------------------------
-- 1. attach(), before anything is attached. Bad regclass values that fail in
-- the cast itself are PostgreSQL's errors:
SELECT usage_rollup.attach(usage => 'not a table');
SELECT usage_rollup.attach(usage => 'app.no_such_table');
SELECT usage_rollup.attach(usage => ''::text::regclass);
SELECT usage_rollup.attach(usage => 'app.task_usage; DROP TABLE app.agent');
-- ... and those that reach attach():
INSERT INTO fuzz (area, label, fn, call, answer, must_name) VALUES
    ('attach', 'usage NULL', 'attach', $$usage_rollup.attach(usage => NULL)$$, NULL, 'usage'),
    ('attach', 'tasks NULL', 'attach', $$usage_rollup.attach(tasks => NULL)$$, NULL, 'tasks'),
    ('attach', 'agents NULL', 'attach', $$usage_rollup.attach(agents => NULL)$$, NULL, 'agents'),
    ('attach', 'issues NULL', 'attach', $$usage_rollup.attach(issues => NULL)$$, NULL, 'issues'),
    ('attach', 'everything NULL', 'attach', $$usage_rollup.attach(NULL, NULL, NULL, NULL, NULL, NULL)$$, NULL, 'usage'),
    ('attach', 'create_indexes NULL', 'attach', $$usage_rollup.attach(users => 'app.user', create_indexes => NULL)$$, NULL, 'create_indexes'),
    ('attach', 'usage OID 0', 'attach', $$usage_rollup.attach(usage => 0::oid::regclass)$$, NULL, 'oid 0'),
    ('attach', 'usage OID of nothing', 'attach', $$usage_rollup.attach(usage => 4294967295::oid::regclass)$$, NULL, '4294967295'),
    ('attach', 'users OID of nothing', 'attach', $$usage_rollup.attach(users => 4294967295::oid::regclass)$$, NULL, '4294967295'),
    ('attach', 'usage a system catalog', 'attach', $$usage_rollup.attach(usage => 'pg_catalog.pg_class')$$, NULL, 'contract'),
    ('attach', 'usage a view', 'attach', $$usage_rollup.attach(usage => 'app.usage_view')$$, NULL, '"app.usage_view"'),
    ('attach', 'usage an index', 'attach', $$usage_rollup.attach(usage => 'app.task_usage_pkey')$$, NULL, '"app.task_usage_pkey"'),
    ('attach', 'usage a composite type', 'attach', $$usage_rollup.attach(usage => 'app.some_type')$$, NULL, '"app.some_type"'),
    ('attach', 'agents a sequence', 'attach', $$usage_rollup.attach(agents => 'app.some_seq')$$, NULL, '"app.some_seq"'),
    ('attach', 'tasks and usage swapped', 'attach', $$usage_rollup.attach(usage => 'app.agent_task_queue', tasks => 'app.task_usage')$$, NULL, 'contract'),
    ('attach', 'one table for two roles', 'attach', $$usage_rollup.attach(users => 'app.agent')$$, NULL, '"app.agent"'),
    ('attach', 'users without timezone', 'attach', $$usage_rollup.attach(users => 'app.workspace')$$, NULL, 'contract');
-- viewers and reports need a binding (and a users table) first
INSERT INTO fuzz (area, label, fn, call, answer, must_name) VALUES
    ('unattached', 'viewer, no users table', 'resolve_tz', $$usage_rollup.resolve_tz(viewer_id => uid('v_unset'))$$, NULL, 'no users table'),
    ('unattached', 'viewer, no users table', 'local_today', $$usage_rollup.local_today(viewer_id => uid('v_unset'))$$, NULL, 'no users table'),
    ('unattached', 'report, not attached', 'daily_usage', $$usage_rollup.daily_usage(uid('w1'), '2026-03-01', '2026-03-01')$$, NULL, 'not attached'),
    ('unattached', 'report, not attached', 'issue_usage', $$usage_rollup.issue_usage(uid('i1'))$$, NULL, 'not attached'),
    ('unattached', 'verify, not attached', 'verify', $$usage_rollup.verify('2026-03-01', '2026-03-02')$$, NULL, 'not attached'),
    ('unattached', 'tick, not attached', 'tick', $$usage_rollup.tick()$$, NULL, 'not attached'),
    ('unattached', 'detach, not attached', 'detach', $$usage_rollup.detach()$$, 'ok, 1 row(s)', NULL);
INSERT INTO outcome SELECT f.id, t.* FROM fuzz f, LATERAL pg_temp.try(f.call) t WHERE f.area IN ('attach', 'unattached') ORDER BY f.id;
SELECT count(*) AS bindings FROM usage_rollup.binding;

-- now attach, with the users table, and backfill the history
SET client_min_messages = warning;
SELECT usage_rollup.attach(users => 'app.user');
CALL usage_rollup.backfill(slice => '3660 days');
RESET client_min_messages;
SELECT app.drift();

-- ---------------------------------------------------------------------------
-- 2. resolve_tz() and local_today(): zones and viewers
INSERT INTO fuzz (area, label, fn, call, answer, must_name)
SELECT 'zone', c.label, fn, format('usage_rollup.%s(%s)', fn, c.args), c.answer, c.must_name
FROM (VALUES
    ('no arguments', '', 'ok, 1 row(s)', NULL),
    ('both NULL', 'NULL, NULL', 'ok, 1 row(s)', NULL),
    ('UTC+8', $$'UTC+8'$$, NULL, '"UTC+8"'),
    ('UTC-2147483648', $$'UTC-2147483648'$$, NULL, '"UTC-2147483648"'),
    ('<+05>-2147483648', $$'<+05>-2147483648'$$, NULL, '"<+05>-2147483648"'),
    ('UTC+99999999999', $$'UTC+99999999999'$$, NULL, '"UTC+99999999999"'),
    ('EST5EDT (an IANA zone)', $$'EST5EDT'$$, 'ok, 1 row(s)', NULL),
    ('EST5EDT,M3.2.0,M11.1.0', $$'EST5EDT,M3.2.0,M11.1.0'$$, NULL, '"EST5EDT,M3.2.0,M11.1.0"'),
    ('PST', $$'PST'$$, NULL, '"PST"'),
    ('Local', $$'Local'$$, NULL, '"Local"'),
    ('localtime', $$'localtime'$$, NULL, '"localtime"'),
    ('posixrules', $$'posixrules'$$, NULL, '"posixrules"'),
    ('Factory', $$'Factory'$$, NULL, '"Factory"'),
    ('empty', $$''$$, NULL, '""'),
    ('blank', $$' '$$, NULL, '" "'),
    ('trailing newline', $$E'Asia/Kolkata\n'$$, NULL, E'"Asia/Kolkata\n"'),
    ('inner tab', $$E'Asia/\tKolkata'$$, NULL, E'"Asia/\tKolkata"'),
    ('zero-width space', $$'Asia/Kolkata' || chr(8203)$$, NULL, '"Asia/Kolkata' || chr(8203) || '"'),
    ('Mars/Olympus', $$'Mars/Olympus'$$, NULL, '"Mars/Olympus"'),
    ('posix/Asia/Kolkata', $$'posix/Asia/Kolkata'$$, NULL, '"posix/Asia/Kolkata"'),
    ('right/UTC', $$'right/UTC'$$, NULL, '"right/UTC"'),
    ('a path', $$'../../../etc/passwd'$$, NULL, '"../../../etc/passwd"'),
    ('an offset', $$'+05:30'$$, NULL, '"+05:30"'),
    ('Etc/GMT+15', $$'Etc/GMT+15'$$, NULL, '"Etc/GMT+15"'),
    ('Etc/GMT-14', $$'Etc/GMT-14'$$, 'ok, 1 row(s)', NULL),
    ('quotes and SQL', $$'Asia/Kolkata''; DROP TABLE app.agent; --'$$, NULL, '"Asia/Kolkata''; DROP TABLE app.agent; --"'),
    ('backslash', $$E'\\'$$, NULL, E'"\\"'),
    ('non-ASCII', $$'Europe/Zürich'$$, NULL, '"Europe/Zürich"'),
    ('emoji', $$'🦀'$$, NULL, '"🦀"'),
    ('300 characters', $$repeat('x', 300)$$, NULL, '"' || repeat('x', 300) || '"'),
    ('any letter case', $$'asia/KOLKATA'$$, 'ok, 1 row(s)', NULL),
    ('unknown viewer', $$viewer_id => uid('nobody')$$, NULL, '"' || uid('nobody') || '"'),
    ('nil uuid viewer', $$viewer_id => '00000000-0000-0000-0000-000000000000'$$, NULL, '"00000000-0000-0000-0000-000000000000"'),
    ('a workspace as viewer', $$viewer_id => uid('w1')$$, NULL, '"' || uid('w1') || '"'),
    ('viewer without zone', $$viewer_id => uid('v_unset')$$, 'ok, 1 row(s)', NULL),
    ('viewer zone UTC+8', $$viewer_id => uid('v_posix')$$, NULL, '"UTC+8"'),
    ('viewer zone empty', $$viewer_id => uid('v_empty')$$, NULL, '""'),
    ('viewer zone Local', $$viewer_id => uid('v_local')$$, NULL, '"Local"'),
    ('viewer zone 300 characters', $$viewer_id => uid('v_long')$$, NULL, '"' || repeat('y', 300) || '"'),
    ('viewer zone with newline', $$viewer_id => uid('v_padded')$$, NULL, E'"Asia/Tokyo\n"'),
    ('viewer zone lower case', $$viewer_id => uid('v_lower')$$, 'ok, 1 row(s)', NULL),
    ('bad tz, good viewer', $$tz => 'UTC+8', viewer_id => uid('v_unset')$$, NULL, '"UTC+8"'),
    -- explicit tz wins; an unknown viewer beside it may be ignored or refused
    ('good tz, unknown viewer', $$tz => 'Asia/Tokyo', viewer_id => uid('nobody')$$, 'ok, 1 row(s)', '"' || uid('nobody') || '"')
) AS c (label, args, answer, must_name),
(VALUES ('resolve_tz'), ('local_today')) AS f (fn);

-- ---------------------------------------------------------------------------
-- 3. the reports of the range: workspace_id, from_date, to_date, tz, viewer_id,
-- then the filters (positional: usage_by_project has no project_id, etc.)
CREATE TEMP TABLE report (fn text PRIMARY KEY);
INSERT INTO report VALUES ('daily_usage'), ('usage_by_agent'), ('usage_by_project'), ('usage_by_runtime'),
    ('usage_summary'), ('usage_by_hour'), ('daily_runs'), ('runs_by_agent'), ('daily_outcomes'),
    ('outcomes_by_agent'), ('starts_by_hour'), ('kpis');
INSERT INTO fuzz (area, label, fn, call, answer, must_name)
SELECT 'report', c.label, r.fn, format('usage_rollup.%s(%s)', r.fn, c.args),
       -- a day has one row in every report; kpis always has one row; over the
       -- 3660 days the reports by day or hour have two
       CASE WHEN c.rows IS NULL THEN NULL
            WHEN r.fn = 'kpis' THEN 'ok, 1 row(s)'
            WHEN c.rows = 2 AND r.fn !~ '^daily_|_by_hour$' THEN 'ok, 1 row(s)'
            ELSE format('ok, %s row(s)', c.rows) END,
       c.must_name
FROM (VALUES
    ('workspace_id NULL', $$NULL, '2026-03-01', '2026-03-01'$$, NULL, 'workspace_id'),
    ('from_date NULL', $$uid('w1'), NULL, '2026-03-01'$$, NULL, 'from_date'),
    ('to_date NULL', $$uid('w1'), '2026-03-01', NULL$$, NULL, 'to_date'),
    ('everything NULL', $$NULL, NULL, NULL, NULL, NULL, NULL, NULL$$, NULL, 'workspace_id'),
    ('tz, viewer and filters NULL', $$uid('w1'), '2026-03-01', '2026-03-01', NULL, NULL, NULL, NULL$$, 1, NULL),
    ('unknown workspace', $$uid('nowhere'), '2026-03-01', '2026-03-01'$$, 0, NULL),
    ('unknown filters', $$uid('w1'), '2026-03-01', '2026-03-01', NULL, NULL, uid('nothing'), uid('nothing')$$, 0, NULL),
    ('from_date after to_date', $$uid('w1'), '2026-03-02', '2026-03-01'$$, NULL, '"03-02-2026" is after "03-01-2026"'),
    ('reversed extremes', $$uid('w1'), '5874897-12-31', '4713-01-01 BC'$$, NULL, '"12-31-5874897" is after "01-01-4713 BC"'),
    ('3661 days', $$uid('w1'), '2016-02-22', '2026-03-01'$$, NULL, 'too long'),
    ('all dates', $$uid('w1'), '4713-01-01 BC', '5874897-12-31'$$, NULL, 'too long'),
    ('exactly 3660 days', $$uid('w1'), '2016-02-23', '2026-03-01'$$, 2, NULL),
    ('a day in 4713 BC', $$uid('w1'), '4713-01-01 BC', '4713-01-01 BC'$$, 0, NULL),
    ('the first date, 4714-11-24 BC', $$uid('w1'), '4714-11-24 BC', '4714-11-24 BC'$$, 0, '4714'),
    ('the last date, 5874897-12-31', $$uid('w1'), '5874897-12-31', '5874897-12-31'$$, 0, '5874897'),
    ('the last timestamp''s date', $$uid('w1'), '294276-12-31', '294276-12-31'$$, 0, '294276'),
    ('the day before it', $$uid('w1'), '294276-12-30', '294276-12-30'$$, 0, '294276'),
    ('infinity to infinity', $$uid('w1'), 'infinity', 'infinity'$$, NULL, 'infinity'),
    ('-infinity to a date', $$uid('w1'), '-infinity', '2026-03-01'$$, NULL, 'infinity'),
    ('a date to infinity', $$uid('w1'), '2026-03-01', 'infinity'$$, NULL, 'infinity'),
    ('-infinity to infinity', $$uid('w1'), '-infinity', 'infinity'$$, NULL, 'infinity'),
    ('tz UTC+8', $$uid('w1'), '2026-03-01', '2026-03-01', 'UTC+8'$$, NULL, '"UTC+8"'),
    ('tz UTC-2147483648', $$uid('w1'), '2026-03-01', '2026-03-01', 'UTC-2147483648'$$, NULL, '"UTC-2147483648"'),
    ('tz EST5EDT', $$uid('w1'), '2026-03-01', '2026-03-01', 'EST5EDT'$$, 1, NULL),
    ('tz Local', $$uid('w1'), '2026-03-01', '2026-03-01', 'Local'$$, NULL, '"Local"'),
    ('tz empty', $$uid('w1'), '2026-03-01', '2026-03-01', ''$$, NULL, '""'),
    ('tz Mars/Olympus', $$uid('w1'), '2026-03-01', '2026-03-01', 'Mars/Olympus'$$, NULL, '"Mars/Olympus"'),
    ('tz posix/Asia/Kolkata', $$uid('w1'), '2026-03-01', '2026-03-01', 'posix/Asia/Kolkata'$$, NULL, '"posix/Asia/Kolkata"'),
    ('tz with a newline', $$uid('w1'), '2026-03-01', '2026-03-01', E'UTC\n'$$, NULL, E'"UTC\n"'),
    ('tz 300 characters', $$uid('w1'), '2026-03-01', '2026-03-01', repeat('x', 300)$$, NULL, '"' || repeat('x', 300) || '"'),
    ('tz in any letter case', $$uid('w1'), '2026-03-01', '2026-03-01', 'asia/KOLKATA'$$, 1, NULL),
    ('unknown viewer', $$uid('w1'), '2026-03-01', '2026-03-01', NULL, uid('nobody')$$, NULL, '"' || uid('nobody') || '"'),
    ('viewer without zone', $$uid('w1'), '2026-03-01', '2026-03-01', NULL, uid('v_unset')$$, 1, NULL),
    ('viewer zone UTC+8', $$uid('w1'), '2026-03-01', '2026-03-01', NULL, uid('v_posix')$$, NULL, '"UTC+8"'),
    ('viewer zone empty', $$uid('w1'), '2026-03-01', '2026-03-01', NULL, uid('v_empty')$$, NULL, '""'),
    ('viewer zone lower case', $$uid('w1'), '2026-03-01', '2026-03-01', NULL, uid('v_lower')$$, 1, NULL)
) AS c (label, args, rows, must_name)
CROSS JOIN report r;

-- issue_usage() and verify()
INSERT INTO fuzz (area, label, fn, call, answer, must_name) VALUES
    ('issue', 'issue_id NULL', 'issue_usage', $$usage_rollup.issue_usage(NULL)$$, NULL, 'issue_id'),
    ('issue', 'unknown issue', 'issue_usage', $$usage_rollup.issue_usage(uid('nothing'))$$, 'ok, 0 row(s)', NULL),
    ('issue', 'a workspace id', 'issue_usage', $$usage_rollup.issue_usage(uid('w1'))$$, 'ok, 0 row(s)', NULL),
    ('issue', 'issue without usage', 'issue_usage', $$usage_rollup.issue_usage(uid('i3'))$$, 'ok, 0 row(s)', NULL),
    ('issue', 'issue with usage', 'issue_usage', $$usage_rollup.issue_usage(uid('i1'))$$, 'ok, 1 row(s)', NULL),
    ('verify', 'from_ts NULL', 'verify', $$usage_rollup.verify(NULL, '2026-03-01')$$, NULL, 'from_ts'),
    ('verify', 'to_ts NULL', 'verify', $$usage_rollup.verify('2026-03-01', NULL)$$, NULL, 'to_ts'),
    ('verify', 'both NULL', 'verify', $$usage_rollup.verify(NULL, NULL)$$, NULL, 'from_ts'),
    ('verify', 'reversed by 1 microsecond', 'verify', $$usage_rollup.verify('2026-03-01 00:00:00.000001+00', '2026-03-01')$$, NULL, '"Sun Mar 01 00:00:00.000001 2026 UTC" is after'),
    ('verify', 'infinity to -infinity', 'verify', $$usage_rollup.verify('infinity', '-infinity')$$, NULL, '"infinity" is after "-infinity"'),
    ('verify', 'empty range', 'verify', $$usage_rollup.verify('2026-03-01', '2026-03-01')$$, 'ok, 0 row(s)', NULL),
    ('verify', '-infinity to infinity', 'verify', $$usage_rollup.verify('-infinity', 'infinity')$$, 'ok, 0 row(s)', NULL),
    ('verify', 'infinity to infinity', 'verify', $$usage_rollup.verify('infinity', 'infinity')$$, 'ok, 0 row(s)', NULL),
    ('verify', '-infinity to -infinity', 'verify', $$usage_rollup.verify('-infinity', '-infinity')$$, 'ok, 0 row(s)', NULL),
    ('verify', 'first to last timestamp', 'verify', $$usage_rollup.verify('4714-11-24 00:00+00 BC', '294276-12-31 23:59:59.999999+00')$$, 'ok, 0 row(s)', NULL),
    ('verify', 'the last timestamp', 'verify', $$usage_rollup.verify('294276-12-31 23:59:59.999999+00', '294276-12-31 23:59:59.999999+00')$$, 'ok, 0 row(s)', NULL);

-- ---------------------------------------------------------------------------
-- 4. schedule() and unschedule() with pg_cron (the cluster preloads it)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_cron;
RESET client_min_messages;
INSERT INTO fuzz (area, label, fn, call, answer, must_name) VALUES
    ('cron', 'NULL', 'schedule', $$usage_rollup.schedule(NULL)$$, NULL, 'cron'),
    ('cron', 'empty', 'schedule', $$usage_rollup.schedule('')$$, NULL, '""'),
    ('cron', 'blank', 'schedule', $$usage_rollup.schedule(' ')$$, NULL, '" "'),
    ('cron', 'four fields', 'schedule', $$usage_rollup.schedule('* * * *')$$, NULL, '"* * * *"'),
    ('cron', 'minute 61', 'schedule', $$usage_rollup.schedule('61 * * * *')$$, NULL, '"61 * * * *"'),
    ('cron', 'hour 25', 'schedule', $$usage_rollup.schedule('0 25 * * *')$$, NULL, '"0 25 * * *"'),
    ('cron', 'step 0', 'schedule', $$usage_rollup.schedule('*/0 * * * *')$$, NULL, '"*/0 * * * *"'),
    ('cron', 'words', 'schedule', $$usage_rollup.schedule('every now and then')$$, NULL, '"every now and then"'),
    ('cron', 'trailing garbage', 'schedule', $$usage_rollup.schedule('0 0 1 1 * garbage')$$, NULL, '"0 0 1 1 * garbage"'),
    ('cron', '10000 characters', 'schedule', $$usage_rollup.schedule(repeat('x', 10000))$$, NULL, '"' || repeat('x', 10000) || '"'),
    ('cron', 'New Year only', 'schedule', $$usage_rollup.schedule('0 0 1 1 *')$$, 'ok, 1 row(s)', NULL);

-- ---------------------------------------------------------------------------
-- Run every call (one statement: the zone and report calls see one state).
INSERT INTO outcome
SELECT f.id, t.* FROM fuzz f, LATERAL pg_temp.try(f.call) t WHERE f.area NOT IN ('attach', 'unattached') ORDER BY f.id;

-- The acceptable outcomes: clear errors and correct answers, per case (the
-- functions that share a case and its outcome in one row).
SELECT area, label, shown AS outcome,
       CASE WHEN count(*) = 12 AND area = 'report' THEN 'all 12 reports' ELSE string_agg(fn, ', ' ORDER BY id) END AS functions
FROM verdict WHERE acceptable
GROUP BY area, label, shown
ORDER BY min(id);

-- Every call gives a clear error or a correct answer: the ones that do not.
SELECT area, label, shown AS outcome,
       CASE WHEN count(*) = 12 AND area = 'report' THEN 'all 12 reports' ELSE string_agg(fn, ', ' ORDER BY id) END AS functions
FROM verdict WHERE NOT acceptable
GROUP BY area, label, shown
ORDER BY min(id);

-- No error shows Rust internals (SPEC §5): panic text, Rust paths or a backtrace
-- (numbered frames) anywhere in its message, detail, hint or context.
\set rust_internals '(?n)(panicked|std::|pgrx::|core::|[Bb]acktrace|^ *[0-9]+: )'
SELECT count(*) FILTER (WHERE o.code IS NOT NULL) AS errors_checked,
       count(*) FILTER (WHERE concat_ws(E'\n', o.message, o.detail, o.hint, o.context) ~ :'rust_internals') AS with_rust_internals
FROM outcome o;
SELECT f.area, f.label, f.fn, o.code, o.message, o.detail FROM fuzz f JOIN outcome o USING (id)
WHERE concat_ws(E'\n', o.message, o.detail, o.hint, o.context) ~ :'rust_internals'
ORDER BY f.id;

-- the rest of section 4: the accepted schedule is the only job; removing it twice
SELECT jobname, schedule, command FROM cron.job;
SELECT usage_rollup.unschedule() AS removed;
SELECT usage_rollup.unschedule() AS removed_again;
SELECT count(*) AS jobs_left FROM cron.job;
SET client_min_messages = warning;
DROP EXTENSION pg_cron;
RESET client_min_messages;

-- ---------------------------------------------------------------------------
-- 5. Answers and errors in full
-- a 10000-character zone: refused, quoting it whole
SELECT code, left(message, 25) AS message_starts, length(message) AS message_length,
       strpos(message, '"' || repeat('x', 10000) || '"') > 0 AS quoted
FROM pg_temp.try($$usage_rollup.resolve_tz(repeat('x', 10000))$$);
-- the names a hint suggests are names resolve_tz accepts
CREATE FUNCTION pg_temp.hint_of(p_value text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE v_hint text;
BEGIN
    PERFORM usage_rollup.resolve_tz(p_value);
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_hint = PG_EXCEPTION_HINT;
    RETURN v_hint;
END $$;
SELECT v AS value, m[1] AS suggested, t.code, t.message
FROM unnest(ARRAY['ÉST', 'ESTT', 'CETT', 'Asia/Kolkatta', ' Asia/Kolkata', 'europe/berln', 'UTC+8', 'UTC-5:30',
                  'Etc/GMT+14', 'US/Pacifc', 'Local', 'Mars/Olympus']) AS v,
     LATERAL regexp_matches(pg_temp.hint_of(v), '"([^"]+)"', 'g') AS m,
     LATERAL pg_temp.try(format('usage_rollup.resolve_tz(%L)', m[1])) AS t
WHERE t.code IS NOT NULL;
-- values that are errors before any function runs
SELECT usage_rollup.resolve_tz(chr(0));
SELECT usage_rollup.resolve_tz(viewer_id => 'not-a-uuid'::text::uuid);
SELECT * FROM usage_rollup.daily_usage('not-a-uuid'::text::uuid, '2026-03-01', '2026-03-01');
SELECT * FROM usage_rollup.daily_usage(uid('w1'), '2026-02-30'::text::date, '2026-03-01');
SELECT * FROM usage_rollup.kpis(uid('w1'), '2026-03-01', '5874898-01-01'::text::date);
SELECT * FROM usage_rollup.verify('2026-03-01', 'tomorrow-ish'::text::timestamptz);
SELECT * FROM usage_rollup.issue_usage(42::text::uuid);
SELECT usage_rollup.schedule(42);
CALL usage_rollup.backfill(slice => 'forever'::text::interval);
-- the common errors with their detail and hint
SELECT * FROM usage_rollup.kpis(NULL, '2026-03-01', '2026-03-01');
SELECT * FROM usage_rollup.starts_by_hour(uid('w1'), '2016-02-22', '2026-03-01');
SELECT * FROM usage_rollup.outcomes_by_agent(uid('w1'), '2026-03-01', '2026-03-01', tz => 'posix/Asia/Kolkata');
SELECT * FROM usage_rollup.daily_runs(uid('w1'), '2026-03-01', '2026-03-01', viewer_id => uid('v_posix'));
SELECT * FROM usage_rollup.usage_summary(uid('w1'), '2026-03-01', '2026-03-01', viewer_id => uid('nobody'));
-- the longest range holds both of its end days
SELECT day, input_tokens, task_count FROM usage_rollup.daily_usage(uid('w1'), '2016-02-23', '2026-03-01');
SELECT day, runs, completed FROM usage_rollup.daily_runs(uid('w1'), '2016-02-23', '2026-03-01');
SELECT input_tokens, task_count, runs FROM usage_rollup.kpis(uid('w1'), '2016-02-23', '2026-03-01');
-- zones that are accepted give that zone's days
SELECT day, input_tokens FROM usage_rollup.daily_usage(uid('w1'), '2026-03-01', '2026-03-01', tz => 'EST5EDT');
SELECT hour, input_tokens FROM usage_rollup.usage_by_hour(uid('w1'), '2026-03-01', '2026-03-01', viewer_id => uid('v_lower'));
SELECT usage_rollup.resolve_tz('asia/KOLKATA') AS any_case, usage_rollup.resolve_tz(viewer_id => uid('v_lower')) AS stored_lower_case,
       usage_rollup.resolve_tz('EST5EDT') AS est5edt, usage_rollup.resolve_tz(NULL, NULL) AS default_zone;
SELECT usage_rollup.local_today('EST5EDT') = (now() AT TIME ZONE 'EST5EDT')::date AS est5edt,
       usage_rollup.local_today('Etc/GMT-14') = (now() AT TIME ZONE 'Etc/GMT-14')::date AS gmt_minus_14,
       usage_rollup.local_today(viewer_id => uid('v_lower')) = (now() AT TIME ZONE 'Asia/Kolkata')::date AS viewer,
       usage_rollup.local_today(NULL, NULL) = (now() AT TIME ZONE 'UTC')::date AS default_zone;

-- ---------------------------------------------------------------------------
-- 6. CALL backfill(from_ts, to_ts, slice): it commits per slice, so every CALL is
-- a statement of its own; progress NOTICEs are hidden, and what a run did is
-- checked on a rollup whose counters were zeroed first.
\set VERBOSITY terse
SET client_min_messages = warning;
CALL usage_rollup.backfill(slice => NULL);
CALL usage_rollup.backfill(from_ts => '2026-03-02', to_ts => '2026-03-01');
CALL usage_rollup.backfill(from_ts => 'infinity', to_ts => '-infinity');
-- a reversed range inside one 15-minute bucket is reversed all the same
CALL usage_rollup.backfill(from_ts => '2026-03-01 10:10+00', to_ts => '2026-03-01 10:05+00');
-- empty ranges: nothing to do
UPDATE usage_rollup.rollup SET input_tokens = 0;
CALL usage_rollup.backfill(from_ts => '2026-03-01', to_ts => '2026-03-01');
CALL usage_rollup.backfill(from_ts => 'infinity', to_ts => 'infinity');
CALL usage_rollup.backfill(from_ts => '-infinity', to_ts => '-infinity');
SELECT app.drift() AS untouched;
-- a slice narrower than a bucket (zero, negative) is one bucket wide
CALL usage_rollup.backfill(from_ts => '2026-03-01', to_ts => '2026-03-02', slice => '-1 day');
CALL usage_rollup.backfill(from_ts => '2016-02-23', to_ts => '2016-02-24', slice => '0');
SELECT app.drift();
-- a slice longer than the range: the range in one slice
UPDATE usage_rollup.rollup SET input_tokens = 0;
CALL usage_rollup.backfill(from_ts => '2016-02-23', to_ts => '2026-03-02', slice => '178000000 years');
SELECT app.drift();
CALL usage_rollup.backfill(slice => '3660 days');
-- infinite bounds are open bounds, like NULL: the history on that side is rebuilt
UPDATE usage_rollup.rollup SET input_tokens = 0;
CALL usage_rollup.backfill(from_ts => '-infinity', to_ts => 'infinity');
SELECT app.drift() AS drift_after_open_bounds;
UPDATE usage_rollup.rollup SET input_tokens = 0;
CALL usage_rollup.backfill(from_ts => '2016-01-01', to_ts => 'infinity');
CALL usage_rollup.backfill(from_ts => '-infinity', to_ts => '2016-01-01');
SELECT app.drift() AS drift_after_open_bounds;
-- a span of 290,000 years in 1000-year slices runs (the slices past the data are
-- empty); in 15-minute slices it is refused (54000), and a bound past the last
-- bucket is refused naming the value (22008)
UPDATE usage_rollup.rollup SET input_tokens = 0;
CALL usage_rollup.backfill(from_ts => '0001-01-01', to_ts => '294276-12-31', slice => '1000 years');
SELECT app.drift() AS drift_after_290000_years;
\set VERBOSITY sqlstate
CALL usage_rollup.backfill(from_ts => '0001-01-01', to_ts => '294276-12-31', slice => '15 minutes');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, strpos(:'LAST_ERROR_MESSAGE', 'slices') > 0 AS names_the_slices;
CALL usage_rollup.backfill(from_ts => '2026-03-01', to_ts => '294276-12-31 23:59:59+00');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, strpos(:'LAST_ERROR_MESSAGE', '294276') > 0 AS names_the_range;
\set VERBOSITY default
CALL usage_rollup.backfill(slice => '3660 days');
RESET client_min_messages;
SELECT app.drift();

-- ---------------------------------------------------------------------------
-- 7. tick(), lag_seconds(), detach(): no arguments, so bad states and settings
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT usage_rollup.tick();
ROLLBACK;
BEGIN READ ONLY;
SELECT usage_rollup.tick();
ROLLBACK;
BEGIN READ ONLY;
SELECT usage_rollup.detach();
ROLLBACK;
SET usage_rollup.safety_lag = '-1';
SET usage_rollup.max_window = 'forever';
SET usage_rollup.queue_retention = '100000000000 days';
SET usage_rollup.max_dirty_buckets = 0;
-- extreme but valid settings
SET usage_rollup.safety_lag = 2147483647;
SET usage_rollup.max_window = 0;
SET usage_rollup.queue_retention = 0;
SELECT usage_rollup.tick() >= 0 AS ticked;
SET usage_rollup.safety_lag = 0;
SET usage_rollup.max_window = 2147483647;
SET usage_rollup.queue_retention = 2147483647;
SELECT usage_rollup.tick() >= 0 AS ticked;
RESET usage_rollup.max_window;
RESET usage_rollup.queue_retention;
SELECT usage_rollup.lag_seconds() >= 0 AS lag_known, app.drift();

-- ---------------------------------------------------------------------------
-- 8. A usage row stamped in the last bucket before timestamptz's upper limit
-- (a client clock gone wild): ticks go on, and backfill works, whatever
-- happens to that row; deleting it leaves nothing behind in the queue.
SELECT app.usage('t1', 'x', 'end_of_time', 1, '294276-12-31 23:50+00');
SELECT usage_rollup.tick() >= 0 AS ticked;
SET client_min_messages = warning;
CALL usage_rollup.backfill();
RESET client_min_messages;
DELETE FROM task_usage WHERE model = 'end_of_time';
SELECT usage_rollup.tick() >= 0 AS ticked_after_delete;
SELECT count(*) AS queued_end_of_time FROM usage_rollup.dirty_bucket WHERE bucket_start > '294276-01-01';
-- (an operator's way out while it is stuck)
DELETE FROM usage_rollup.dirty_bucket WHERE bucket_start > '294276-01-01';
SELECT usage_rollup.tick() >= 0 AS ticked, app.drift();

-- ---------------------------------------------------------------------------
-- The backend survived every call, and the server log shows no crash and no
-- PANIC since the start of this test.
SELECT pg_backend_pid() = :start_pid AS same_backend;
-- (read_this_tests_log: the lines read include this test's own first error)
SELECT count(*) FILTER (WHERE l ~ '(PANIC|TRAP:|server process .* was terminated|terminating any other active server processes|panicked at|has overflowed its stack)') AS crash_lines,
       count(*) FILTER (WHERE l ~ 'ERROR:  invalid name syntax') > 0 AS read_this_tests_log
FROM regexp_split_to_table(
         CASE WHEN :log_start >= 0
              THEN pg_read_file(:'log_file', :log_start, greatest((pg_stat_file(:'log_file')).size - :log_start, 0))
              ELSE '' END, E'\n') AS l;

SET client_min_messages = warning;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
