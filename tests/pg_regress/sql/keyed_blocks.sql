-- The keyed blocks (SPEC §6; src/keyed): reports grouped by agent, project or
-- runtime read sealed UTC days, weeks and four weeks of usage_rollup.key_rollup and
-- the rollup's 15-minute rows for the rest. Checked here against the §4.1 truth
-- (tests/fixtures/report_truth.sql) in six zones and four ranges, after a backfill
-- (everything finished sealed), after corrections, deletes, late rows and
-- re-attributions without a tick (read raw), after the tick that takes their days
-- off the list, and after the ticks that seal them again one per run; verify()
-- checks the sealed blocks against the rollup; a tampered block shows in the
-- reports (they do read it); a rebuild of the blocks equals the incremental ones.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
\set ECHO none
\ir ../fixtures/report_truth.sql
\ir ../fixtures/synthetic.sql
\set ECHO all
SET client_min_messages = warning;
SELECT usage_rollup.attach();
SELECT app.generate_synthetic(3, 6, 3000, 80, 0.17) > 0 AS generated;
CALL usage_rollup.backfill();
RESET client_min_messages;
-- (the generator wrote rows stamped before the watermark: their buckets were queued,
-- and the first tick recomputes them, finding them as the backfill left them)
SELECT usage_rollup.tick() >= 0 AS ticked;
-- drift up to an hour ago (the generator also wrote rows stamped a few minutes
-- ahead, which no tick has reached yet)
CREATE FUNCTION pg_temp.drift() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM usage_rollup.verify('-infinity', now() - interval '1 hour')
$$;

-- every finished day of the rollup is sealed, with the weeks and four weeks they
-- fill; only the current day (and the one before, within the hour after midnight)
-- is left queued
SELECT width, count(*) > 0 AS sealed FROM usage_rollup.key_rollup_block GROUP BY 1 ORDER BY 1;
SELECT count(*) <= 2 AS queued_days_recent_only,
       bool_and(bucket_start >= usage_rollup.bucket_of(now()) - interval '26 hours') AS only_recent
FROM usage_rollup.key_rollup_stale WHERE width = 1440;
SELECT pg_temp.drift() AS drift;
SELECT keyed_backlog FROM usage_rollup.status;

-- the three keyed reports of each workspace against the truth, both ways
CREATE FUNCTION pg_temp.mismatches(p_tz text, p_from date, p_to date) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint := 0;
    d bigint;
    w uuid;
    r text;
BEGIN
    FOR w IN SELECT id FROM app.workspace LOOP
        FOREACH r IN ARRAY ARRAY['usage_by_agent', 'usage_by_project', 'usage_by_runtime'] LOOP
            EXECUTE format($q$
                WITH got AS MATERIALIZED (SELECT * FROM usage_rollup.%1$s($1, $2, $3, tz => $4)),
                     truth AS MATERIALIZED (SELECT * FROM app.truth_%1$s($1, $2, $3, $4))
                SELECT count(*) FROM ((TABLE got EXCEPT ALL TABLE truth) UNION ALL (TABLE truth EXCEPT ALL TABLE got)) x
            $q$, r) INTO d USING w, p_from, p_to, p_tz;
            n := n + d;
        END LOOP;
    END LOOP;
    RETURN n;
END
$$;
-- six zones x four ranges ending days before today (and the last one today)
CREATE FUNCTION pg_temp.check() RETURNS TABLE (zone text, ranges bigint, mismatches bigint) LANGUAGE sql AS $$
    SELECT z, count(*), sum(pg_temp.mismatches(z, t - r.back, t - r.fwd))::bigint
    FROM unnest(ARRAY['UTC', 'Asia/Kolkata', 'Asia/Kathmandu', 'Pacific/Chatham', 'Australia/Lord_Howe',
                      'America/New_York']) z
    CROSS JOIN LATERAL (SELECT usage_rollup.local_today(tz => z) AS t) today
    CROSS JOIN (VALUES (79, 0), (45, 9), (12, 3), (1, 1)) r (back, fwd)
    GROUP BY z ORDER BY z
$$;
SELECT * FROM pg_temp.check();

-- the reports do read the sealed blocks: one more token in every four-week agent
-- block, weekly project block and daily runtime block of one workspace shows up
BEGIN;
UPDATE usage_rollup.key_rollup SET input_tokens = input_tokens + 1
WHERE workspace_id = md5('ws1')::uuid AND ((width, dim) IN ((40320, 'a'), (10080, 'p'), (1440, 'r')));
SELECT pg_temp.mismatches('UTC', usage_rollup.local_today() - 79, usage_rollup.local_today()) > 0 AS tamper_seen;
SELECT split_part(issue, ':', 1) AS verify_issue, count(*) > 0 AS found
FROM usage_rollup.verify('-infinity', now() - interval '1 hour') GROUP BY 1 ORDER BY 1;
ROLLBACK;

-- changes without a tick: corrections and deletes in sealed days, late rows for an
-- old day, tasks moved to another runtime and agent (read raw until the tick)
CREATE TEMP TABLE sealed_before AS SELECT * FROM usage_rollup.key_rollup_block;
UPDATE app.task_usage SET input_tokens = input_tokens + 7, updated_at = now()
WHERE created_at >= now() - interval '30 days' AND created_at < now() - interval '29 days';
DELETE FROM app.task_usage WHERE created_at >= now() - interval '50 days' AND created_at < now() - interval '49 days 20 hours';
INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at)
SELECT t.id, 'late', 'model-x', 11, now() - interval '40 days'
FROM app.agent_task_queue t ORDER BY t.id LIMIT 5;
UPDATE app.agent_task_queue SET runtime_id = NULL, agent_id = md5('ag1/2')::uuid
WHERE id IN (SELECT task_id FROM app.task_usage WHERE created_at >= now() - interval '60 days'
                                                 AND created_at < now() - interval '59 days 18 hours')
  AND agent_id IN (SELECT id FROM app.agent WHERE workspace_id = md5('ws1')::uuid);
SELECT * FROM pg_temp.check();

-- the tick recomputes those buckets and takes their blocks off the list (and seals
-- one block again); the rest stay sealed
SELECT usage_rollup.tick() > 0 AS ticked;
SELECT (SELECT count(*) FROM sealed_before) - (SELECT count(*) FROM usage_rollup.key_rollup_block) >= 4 AS unsealed,
       (SELECT count(*) FROM usage_rollup.key_rollup_stale) >= 3 AS queued,
       (SELECT keyed_backlog FROM usage_rollup.status) >= 3 AS backlog_shown;
SELECT * FROM pg_temp.check();
SELECT pg_temp.drift() AS drift;

-- a tick with new rows of the current day only seals (at most one block), never unseals
INSERT INTO app.task_usage (task_id, provider, model, input_tokens)
SELECT t.id, 'fresh', 'model-y', 3 FROM app.agent_task_queue t ORDER BY t.id LIMIT 5;
CREATE TEMP TABLE sealed_mid AS SELECT * FROM usage_rollup.key_rollup_block;
SELECT usage_rollup.tick() > 0 AS ticked;
SELECT count(*) AS unsealed_by_append FROM (SELECT width, bucket_start FROM sealed_mid
                                            EXCEPT SELECT width, bucket_start FROM usage_rollup.key_rollup_block) x;
SELECT (SELECT count(*) FROM usage_rollup.key_rollup_block) - (SELECT count(*) FROM sealed_mid) AS sealed_by_tick;

-- more ticks seal the rest, one block each, until every block is back
DO $$
BEGIN
    FOR i IN 1..40 LOOP
        PERFORM usage_rollup.tick();
    END LOOP;
END
$$;
SELECT count(*) AS still_unsealed FROM (SELECT width, bucket_start FROM sealed_before
                                        EXCEPT SELECT width, bucket_start FROM usage_rollup.key_rollup_block) x;
SELECT keyed_backlog FROM usage_rollup.status;
SELECT * FROM pg_temp.check();
SELECT pg_temp.drift() AS drift;

-- sealing from scratch gives the same sealed blocks (rows of blocks taken off the
-- list stay until the block is sealed again, unread)
CREATE TEMP VIEW sealed_rows AS
SELECT k.* FROM usage_rollup.key_rollup k JOIN usage_rollup.key_rollup_block b USING (width, bucket_start);
CREATE TEMP TABLE incremental AS SELECT * FROM sealed_rows;
CREATE TEMP TABLE incremental_blocks AS SELECT width, bucket_start FROM usage_rollup.key_rollup_block;
TRUNCATE usage_rollup.key_rollup, usage_rollup.key_rollup_block, usage_rollup.key_rollup_stale;
SELECT usage_rollup._seal_keyed();
SELECT (SELECT count(*) FROM (TABLE sealed_rows EXCEPT ALL TABLE incremental) a)
     + (SELECT count(*) FROM (TABLE incremental EXCEPT ALL TABLE sealed_rows) b) AS rebuild_differs,
       (SELECT count(*) FROM (SELECT width, bucket_start FROM usage_rollup.key_rollup_block
                              EXCEPT ALL TABLE incremental_blocks) c)
     + (SELECT count(*) FROM (TABLE incremental_blocks EXCEPT ALL
                              SELECT width, bucket_start FROM usage_rollup.key_rollup_block) d) AS blocks_differ;

-- a usage row on the last day timestamps reach (a client clock gone wild): ticks go
-- on, no block that would end past the end of time is queued, and reports at both
-- ends of time work (from the 15-minute rollup)
INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at, updated_at)
SELECT t.id, 'x', 'end_of_time', 1, '294276-12-31 10:00+00', now() FROM app.agent_task_queue t
WHERE t.agent_id = md5('ag1/1')::uuid ORDER BY t.id LIMIT 1;
SELECT usage_rollup.tick() >= 0 AS ticked;
SELECT usage_rollup.tick() >= 0 AS ticked_again;
SELECT count(*) AS queued_near_the_end FROM usage_rollup.key_rollup_stale WHERE bucket_start > '294000-01-01';
SELECT count(*) AS rows_at_the_end FROM usage_rollup.usage_by_agent(md5('ws1')::uuid, '294276-12-20', '294276-12-28');
SELECT count(*) AS rows_at_the_start FROM usage_rollup.usage_by_project(md5('ws1')::uuid, '4714-11-26 BC', '4714-12-31 BC');
SELECT pg_temp.drift() AS drift;

-- detach removes them
SET client_min_messages = warning;
SELECT usage_rollup.detach();
RESET client_min_messages;
SELECT (SELECT count(*) FROM usage_rollup.key_rollup) + (SELECT count(*) FROM usage_rollup.key_rollup_block)
     + (SELECT count(*) FROM usage_rollup.key_rollup_stale) AS keyed_rows_left;
