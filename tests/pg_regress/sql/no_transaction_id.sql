-- Reports and helpers assign no transaction id (SPEC §4: they run on a hot
-- standby, where assigning one is an error, and on the primary a dashboard that
-- refreshes every few seconds must not push the cluster toward wraparound). On
-- 0.9.0 every report assigned one: pgrx's Spi::get_one and Spi::run mark the
-- transaction as writing. Here every report of SPEC §8 (in each read mode: the
-- caller's default, the rollup, the raw rows), issue_usage, the status view,
-- lag_seconds(), verify(), resolve_tz(), local_today() and version() run inside
-- ONE transaction, after a tick and with a raw tail and queued buckets (so the
-- freshness paths run too), in aligned and local-mean-time zones, with filters and
-- a viewer; after each call txid_current_if_assigned() must still be NULL.
-- tests/standby/ runs them on a real standby.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
SET client_min_messages = warning;
SELECT usage_rollup.attach(users => 'app.user');
RESET client_min_messages;
SELECT app.make_world();
INSERT INTO "user" (id, timezone) VALUES (uid('viewer'), 'Asia/Kathmandu');
SELECT app.task('t1', 'a1', 'r1', 'i1'), app.task('t2', 'a2', NULL, 'i3'), app.task('t3', 'a1', 'r2', NULL);
UPDATE agent_task_queue SET started_at = '2026-03-01 18:00+00', completed_at = '2026-03-01 18:40+00';
UPDATE agent_task_queue SET status = 'failed', failure_reason = 'timeout' WHERE id = uid('t2');
SELECT app.usage('t1', 'claude', 'opus', 100, '2026-03-01 18:14:00+00', 1000),
       app.usage('t2', 'openai', 'gpt', 200, '2026-03-01 18:29:00+00'),
       app.usage('t3', 'Cursor', 'auto', 1, '2026-03-02 01:00+00');
SELECT usage_rollup.tick() > 0 AS ticked;
-- a raw tail and queued buckets: a new row, a correction, a re-attribution
SELECT app.usage('t3', 'openai', 'o3', 5000, '2026-03-02 12:00+00');
UPDATE task_usage SET input_tokens = 101, updated_at = now() WHERE model = 'opus';
UPDATE agent_task_queue SET runtime_id = NULL WHERE id = uid('t1');
SELECT (SELECT count(*) FROM usage_rollup.dirty_bucket) > 0 AS queued;
-- the ids, looked up now: app.uid() writes (it records the label)
SELECT uid('w1') AS w1, uid('a1') AS a1, uid('p1') AS p1, uid('r1') AS r1, uid('i1') AS i1, uid('viewer') AS viewer \gset

CREATE TEMP TABLE calls (id serial, call text);
INSERT INTO calls (call)
SELECT format('usage_rollup.%s(%L, %L, %L%s)', r, :'w1', '2026-03-01', '2026-03-03', a)
FROM unnest(ARRAY['daily_usage', 'usage_by_agent', 'usage_by_project', 'usage_by_runtime', 'usage_summary',
                  'usage_by_hour', 'daily_runs', 'runs_by_agent', 'daily_outcomes', 'outcomes_by_agent',
                  'starts_by_hour', 'kpis']) r,
     unnest(ARRAY['', ', tz => ''Asia/Kolkata''', ', tz => ''Pacific/Chatham''', format(', viewer_id => %L', :'viewer'),
                  -- a filter every report takes: those by agent drop agent_id
                  format(', tz => %L, %s => %L', 'America/New_York',
                         CASE WHEN r LIKE '%by_agent' THEN 'runtime_id' ELSE 'agent_id' END,
                         CASE WHEN r LIKE '%by_agent' THEN :'r1' ELSE :'a1' END)]) a;
-- local mean time (misaligned local days: answered from the raw rows)
INSERT INTO calls (call)
SELECT format('usage_rollup.%s(%L, %L, %L, tz => %L)', r, :'w1', '1850-01-01', '1850-01-02', 'Asia/Kolkata')
FROM unnest(ARRAY['daily_usage', 'usage_by_agent', 'usage_summary', 'usage_by_hour', 'daily_runs', 'kpis']) r;
-- the internal read modes: from the rollup with the caller's rights, and from the
-- raw rows (the path of a caller under row-level security)
INSERT INTO calls (call)
SELECT format('usage_rollup._usage_report(%L, %L, %L, %L, %L, %L, NULL, %s, NULL, %L)', 'daily_usage', g, :'w1', '2026-03-01', '2026-03-03', 'Asia/Kolkata', f, m)
FROM unnest(ARRAY['day', 'agent', 'hour', 'none']) g, unnest(ARRAY['NULL, NULL', format('%L, NULL', :'p1')]) f, unnest(ARRAY['rollup', 'raw']) m;
INSERT INTO calls (call)
SELECT format('usage_rollup._task_report(%L, %L, %L, %L, %L, %L, %L, NULL, NULL, NULL, NULL, %L)', 'daily_runs', k, g, :'w1', '2026-03-01', '2026-03-03', 'Asia/Kathmandu', m)
FROM unnest(ARRAY['runs', 'outcomes', 'starts']) k, unnest(ARRAY['day', 'agent']) g, unnest(ARRAY['rollup', 'raw']) m;
INSERT INTO calls (call)
SELECT format('usage_rollup._kpis(%L, %L, %L, %L, NULL, NULL, NULL, NULL, %L)', :'w1', '2026-03-01', '2026-03-03', 'Asia/Kolkata', m)
FROM unnest(ARRAY['rollup', 'raw']) m;
INSERT INTO calls (call) VALUES
    (format('usage_rollup.issue_usage(%L)', :'i1')),
    (format('usage_rollup._issue_usage(%L, %L)', :'i1', 'raw')),
    ('usage_rollup.status'),
    ('(SELECT usage_rollup.lag_seconds()) x'),
    ($$usage_rollup.verify('-infinity', 'infinity')$$),
    ($$usage_rollup.verify('2026-03-01 18:00+00', '2026-03-01 19:00+00')$$),
    ($$(SELECT usage_rollup.resolve_tz('Asia/Kolkata')) x$$),
    (format('(SELECT usage_rollup.resolve_tz(viewer_id => %L)) x', :'viewer')),
    ($$(SELECT usage_rollup.local_today('Pacific/Chatham')) x$$),
    (format('(SELECT usage_rollup.local_today(viewer_id => %L)) x', :'viewer')),
    ('(SELECT usage_rollup.version()) x');
CREATE FUNCTION pg_temp.rows_then_xid(p_call text, OUT n bigint, OUT xid_assigned boolean) LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', p_call) INTO n;
    xid_assigned := txid_current_if_assigned() IS NOT NULL;
END $$;

-- one transaction; a call that assigns an id shows, and so do the calls after it
BEGIN;
SELECT txid_current_if_assigned() IS NULL AS none_before;
SELECT count(*) AS calls, count(*) FILTER (WHERE r.n > 0) AS with_rows,
       string_agg(c.call, E'\n' ORDER BY c.id) FILTER (WHERE r.xid_assigned) AS assigned_an_id
FROM calls c CROSS JOIN LATERAL pg_temp.rows_then_xid(c.call) r;
SELECT txid_current_if_assigned() IS NULL AS none_after;
COMMIT;

-- the same in a READ ONLY transaction, and the test itself would see an id: a write
-- in the transaction assigns one
BEGIN READ ONLY;
SELECT bool_and(NOT r.xid_assigned) AS none_assigned FROM calls c CROSS JOIN LATERAL pg_temp.rows_then_xid(c.call) r;
COMMIT;
BEGIN;
SELECT r.xid_assigned FROM pg_temp.rows_then_xid('(SELECT app.uid(''new-label'')) x') r;
ROLLBACK;

SET client_min_messages = warning;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
