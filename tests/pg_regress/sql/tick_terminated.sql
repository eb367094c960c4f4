-- A backend terminated in the middle of a tick leaves no lock and no partial
-- state; the next tick converges (SPEC §3). The tick runs on a second connection
-- (dblink) and is stopped while it waits for a table lock this session holds.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
\set ECHO none
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
\set ECHO all
SET client_min_messages = warning;
SELECT usage_rollup.attach();
RESET client_min_messages;
SELECT app.make_world();
SELECT app.task('t1', 'a1', 'r1', 'i1'), app.usage('t1', 'claude', 'opus', 100, '2026-03-01 10:00+00');
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT watermark AS before_watermark, (SELECT count(*) FROM usage_rollup.tick_run) AS before_runs
FROM usage_rollup.status \gset

-- new work for the tick, then block it: it will wait for our lock on the usage table
SELECT app.usage('t1', 'claude', 'sonnet', 50, '2026-03-01 10:01+00');
DELETE FROM task_usage WHERE model = 'opus';
SELECT dblink_connect('ticker', format('dbname=%s host=%s port=%s user=postgres', current_database(),
                      current_setting('unix_socket_directories'), current_setting('port')));
SELECT dblink_exec('ticker', 'SET usage_rollup.safety_lag = 0');
SELECT pid AS ticker_pid FROM dblink('ticker', 'SELECT pg_backend_pid()') AS t(pid int) \gset
SELECT set_config('app.ticker_pid', :'ticker_pid', false) IS NOT NULL AS noted;
BEGIN;
LOCK TABLE task_usage IN ACCESS EXCLUSIVE MODE;
SELECT dblink_send_query('ticker', 'SELECT usage_rollup.tick()');
-- wait (bounded) until the tick holds the rollup lock and waits for ours
DO $$
DECLARE v_deadline timestamptz := clock_timestamp() + interval '30 seconds';
BEGIN
    WHILE NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = current_setting('app.ticker_pid')::int
                      AND wait_event_type = 'Lock') LOOP
        IF clock_timestamp() > v_deadline THEN RAISE EXCEPTION 'the tick never blocked'; END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT count(*) AS tick_holds_rollup_lock FROM pg_locks
WHERE locktype = 'advisory' AND classid = 4246 AND objid = 1 AND pid = :ticker_pid AND granted;
-- the timeout form waits until the backend is gone
SELECT pg_terminate_backend(:ticker_pid, 30000);
COMMIT;
SELECT dblink_disconnect('ticker');

-- nothing leaked, nothing half-written
SELECT count(*) AS advisory_locks_left FROM pg_locks WHERE locktype = 'advisory' AND classid = 4246;
SELECT watermark = :'before_watermark' AS watermark_unchanged,
       (SELECT count(*) FROM usage_rollup.tick_run) = :before_runs AS no_run_recorded
FROM usage_rollup.status;
SELECT model, input FROM rollup_summary ORDER BY 1;
SELECT count(*) AS still_queued FROM usage_rollup.dirty_bucket;
-- the next tick converges
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT model, input FROM rollup_summary ORDER BY 1;
SELECT app.drift();

SET client_min_messages = warning;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
DROP EXTENSION dblink;
