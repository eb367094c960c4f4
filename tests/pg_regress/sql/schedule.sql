-- schedule() / unschedule() with pg_cron (SPEC §3, §8), and what a scheduled run
-- leaves behind: pg_cron's cron.job_run_details and usage_rollup's own records.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
\set ECHO none
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pg_cron;
RESET client_min_messages;
\set ECHO all

-- without pg_cron: a clear error naming what to do
SELECT usage_rollup.schedule();
SELECT usage_rollup.unschedule();

CREATE EXTENSION pg_cron;
SELECT usage_rollup.schedule(NULL);
SELECT usage_rollup.schedule('every now and then');
SELECT usage_rollup.schedule() > 0 AS scheduled;  -- the default: every 5 minutes
SELECT jobname, schedule, command, database = current_database() AS this_db, username FROM cron.job;
-- scheduling again changes the same job (New Year only, so it cannot fire yet)
SELECT usage_rollup.schedule('0 0 1 1 *') = (SELECT jobid FROM cron.job) AS same_job;
SELECT jobname, schedule FROM cron.job;

-- the job really runs tick(): wait (bounded) for pg_cron's next minute
SET client_min_messages = warning;
SELECT usage_rollup.attach();
RESET client_min_messages;
SELECT app.make_world();
SELECT app.task('t1', 'a1', 'r1', 'i1'), app.usage('t1', 'claude', 'opus', 100, '2026-03-01 10:00+00');
ALTER SYSTEM SET usage_rollup.safety_lag = 0;
SELECT pg_reload_conf();
SELECT usage_rollup.schedule('* * * * *') > 0 AS every_minute;
DELETE FROM cron.job_run_details;
CREATE FUNCTION app.wait_for_cron_run(p_status text, p_timeout interval) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE v_deadline timestamptz := clock_timestamp() + p_timeout;
BEGIN
    LOOP
        IF EXISTS (SELECT 1 FROM cron.job_run_details WHERE status = p_status) THEN RETURN true; END IF;
        IF clock_timestamp() > v_deadline THEN RETURN false; END IF;
        PERFORM pg_sleep(0.5);
    END LOOP;
END $$;
SELECT app.wait_for_cron_run('succeeded', '90 seconds') AS ran;
SELECT status, return_message FROM cron.job_run_details WHERE status = 'succeeded' LIMIT 1;
SELECT input FROM rollup_summary;
SELECT failing, lag_seconds >= 0 AS ticked FROM usage_rollup.status;

-- a failing tick shows in cron.job_run_details as 'failed' with the error message,
-- and in usage_rollup.status (reference W2)
ALTER TABLE agent_task_queue DROP CONSTRAINT agent_task_queue_issue_id_fkey;
DROP TABLE issue CASCADE;
DELETE FROM cron.job_run_details;
SELECT app.wait_for_cron_run('failed', '90 seconds') AS failed_run_seen;
SELECT status, return_message FROM cron.job_run_details WHERE status = 'failed' LIMIT 1;
SELECT failing, last_error FROM usage_rollup.status;

SELECT usage_rollup.unschedule() AS removed;
SELECT usage_rollup.unschedule() AS removed_again;
SELECT count(*) AS jobs FROM cron.job;

ALTER SYSTEM RESET usage_rollup.safety_lag;
SELECT pg_reload_conf();
SET client_min_messages = warning;
SELECT usage_rollup.detach();
DROP EXTENSION pg_cron;
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
