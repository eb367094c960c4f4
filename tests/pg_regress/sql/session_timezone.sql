-- Everything the tick and the backfill write is independent of the session's
-- TimeZone (pg_cron runs the tick in the server's zone, often a DST one). 0.6.0
-- and 0.7.0 bounded a UTC day by "+ interval '1 day'", a calendar day in the session's zone:
-- under America/New_York the UTC days of its DST changes (2026-03-08, 2026-11-01)
-- were sealed over 23 and 25 hours, so the keyed blocks and task days of those days
-- were wrong and the per-agent reports and kpis with them. Here, with rows every 20
-- minutes around both changes written, backfilled and ticked in a New York session:
-- verify() finds no drift (it checks the sealed keyed blocks), the per-agent report
-- and kpis of each UTC day equal the §4.1 truth, and every block sealed again from a
-- UTC session is the same.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
\set ECHO none
\ir ../fixtures/report_truth.sql
\set ECHO all
SELECT app.make_world();
-- a task every 20 minutes for three UTC days around each change, on agents a1/a2 of
-- w1; every third task has a second row 50 minutes later (tasks across hours and,
-- near midnight, across days)
INSERT INTO app.agent_task_queue (id, agent_id, runtime_id, issue_id, status)
SELECT md5('dst' || t)::uuid, uid(CASE WHEN extract(minute FROM t) = 20 THEN 'a2' ELSE 'a1' END), uid('r1'), uid('i1'), 'completed'
FROM (SELECT generate_series(d, d + interval '72 hours' - interval '20 minutes', interval '20 minutes') AS t
      FROM unnest(ARRAY['2026-03-07 00:00+00', '2026-10-31 00:00+00']::timestamptz[]) d) x;
INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at, updated_at)
SELECT md5('dst' || t)::uuid, 'anthropic', 'm' || k, 100 + k, t + (k - 1) * interval '50 minutes', t
FROM (SELECT generate_series(d, d + interval '72 hours' - interval '20 minutes', interval '20 minutes') AS t
      FROM unnest(ARRAY['2026-03-07 00:00+00', '2026-10-31 00:00+00']::timestamptz[]) d) x,
     generate_series(1, 2) k
WHERE k = 1 OR extract(epoch FROM t)::bigint % 3600 = 0;

SET TimeZone = 'America/New_York';
SET client_min_messages = warning;
SELECT usage_rollup.attach();
CALL usage_rollup.backfill();
RESET client_min_messages;
-- the ticks that seal what the backfill left (the last day, then its week and four
-- weeks, one block per tick)
CREATE FUNCTION pg_temp.settle() RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE n int := 0;
BEGIN
    LOOP
        PERFORM usage_rollup.tick();
        n := n + 1;
        EXIT WHEN n >= 20 OR (SELECT keyed_backlog + task_day_backlog = 0 FROM usage_rollup.status);
    END LOOP;
    RETURN n < 20;
END
$$;
SELECT pg_temp.settle() AS settled;
-- every day sealed, keyed blocks and task days
SELECT (SELECT count(*) FROM usage_rollup.key_rollup_block WHERE width = 1440) AS keyed_days,
       (SELECT count(*) FROM usage_rollup.key_rollup_block WHERE width > 1440) AS keyed_weeks,
       (SELECT count(*) FROM usage_rollup.key_task_block) AS task_days;
SELECT count(*) AS drift FROM usage_rollup.verify('-infinity', 'infinity');

-- per UTC day: usage_by_agent against the §4.1 truth, kpis' task count against
-- count(DISTINCT) over the raw join
SELECT d, (SELECT count(*) FROM ((SELECT * FROM usage_rollup.usage_by_agent(uid('w1'), d, d, tz => 'UTC')
                                  EXCEPT ALL SELECT * FROM app.truth_usage_by_agent(uid('w1'), d, d, 'UTC'))
                                 UNION ALL
                                 (SELECT * FROM app.truth_usage_by_agent(uid('w1'), d, d, 'UTC')
                                  EXCEPT ALL SELECT * FROM usage_rollup.usage_by_agent(uid('w1'), d, d, tz => 'UTC'))) x) AS by_agent_differs,
       (SELECT task_count FROM usage_rollup.kpis(uid('w1'), d, d, tz => 'UTC'))
     - (SELECT count(DISTINCT u.task_id) FROM app.task_usage u
        WHERE (u.created_at AT TIME ZONE 'UTC')::date = d) AS task_count_off
FROM unnest(ARRAY['2026-03-07', '2026-03-08', '2026-03-09', '2026-10-31', '2026-11-01', '2026-11-02']::date[]) d
ORDER BY d;

-- sealed again from a UTC session: the same blocks
CREATE TEMP TABLE keyed_ny AS SELECT k.* FROM usage_rollup.key_rollup k;
CREATE TEMP TABLE tasks_ny AS SELECT k.* FROM usage_rollup.key_task k;
CREATE TEMP TABLE counts_ny AS SELECT k.* FROM usage_rollup.key_task_day k;
SET TimeZone = 'UTC';
SELECT usage_rollup._seal_keyed(), usage_rollup._seal_key_tasks();
SELECT (SELECT count(*) FROM (TABLE keyed_ny EXCEPT ALL SELECT * FROM usage_rollup.key_rollup) a)
     + (SELECT count(*) FROM (SELECT * FROM usage_rollup.key_rollup EXCEPT ALL TABLE keyed_ny) b) AS keyed_differs,
       (SELECT count(*) FROM (TABLE tasks_ny EXCEPT ALL SELECT * FROM usage_rollup.key_task) a)
     + (SELECT count(*) FROM (SELECT * FROM usage_rollup.key_task EXCEPT ALL TABLE tasks_ny) b) AS task_entries_differ,
       (SELECT count(*) FROM (TABLE counts_ny EXCEPT ALL SELECT * FROM usage_rollup.key_task_day) a)
     + (SELECT count(*) FROM (SELECT * FROM usage_rollup.key_task_day EXCEPT ALL TABLE counts_ny) b) AS task_counts_differ;
