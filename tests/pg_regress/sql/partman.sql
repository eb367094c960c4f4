-- A usage table under pg_partman (native, daily partitions), the setup users run
-- (SPEC §2): partman's maintenance creates partitions after attach (CREATE TABLE
-- ... LIKE, then ATTACH PARTITION) and retention drops old ones (DROP TABLE, or
-- DETACH PARTITION with retention_keep_table). After each run_maintenance() and a
-- tick the rollup equals the raw rows (app.wl_check(): 0 findings), and every
-- partition partman made carries the partition triggers.
-- Then the recipe of SPEC §3: usage_rollup.freeze_after shorter than partman's
-- retention, so that the history retention drops stays in the rollup: every report
-- over the whole history equals the ground truth over the raw rows plus the
-- history as it was frozen.
\set SHOW_CONTEXT never
\set ECHO none
SET client_min_messages = warning;
\ir ../fixtures/reset.sql
CREATE EXTENSION usage_rollup;
DROP EXTENSION IF EXISTS pg_partman;
DROP SCHEMA IF EXISTS partman CASCADE;
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;
\ir ../fixtures/reference_schema.sql
RESET client_min_messages;
\set ECHO all
SET timezone = 'UTC';
SET usage_rollup.safety_lag = 0;
SET usage_rollup.max_window = 0;

\set ECHO none
\set usage_partition_by 'RANGE (created_at)'
\set usage_keys 'PRIMARY KEY (id, created_at), FOREIGN KEY (task_id) REFERENCES app.agent_task_queue (id) ON DELETE CASCADE'
\ir ../fixtures/partitioned_usage.sql
SET client_min_messages = warning;
\ir ../fixtures/helpers.sql
\ir ../fixtures/workload.sql
\ir ../fixtures/report_truth.sql
\ir ../fixtures/task_truth.sql
RESET client_min_messages;
\set ECHO all

-- daily partitions from 20 days ago, 4 ahead (and partman's DEFAULT partition)
SELECT partman.create_parent(p_parent_table => 'app.task_usage', p_control => 'created_at', p_type => 'native',
                             p_interval => 'daily', p_premake => 4,
                             p_start_partition => (now() - interval '20 days')::date::text);
SELECT count(*) >= 25 AS partitions_made FROM pg_partition_tree('app.task_usage') WHERE isleaf;

SET client_min_messages = warning;
SELECT usage_rollup.attach(usage => 'app.task_usage', tasks => 'app.agent_task_queue', agents => 'app.agent',
                           issues => 'app.issue');
RESET client_min_messages;

-- usage over the last 20 days, stamped when it happened (history: backfill)
SELECT setseed(0.5);
INSERT INTO app.workspace (id, name) SELECT app.uid('w' || g), 'w' || g FROM generate_series(1, 3) g;
INSERT INTO app.agent (id, workspace_id) SELECT app.uid('a' || g), app.uid('w' || (1 + g % 3)) FROM generate_series(1, 6) g;
INSERT INTO app.agent_task_queue (id, agent_id, status, created_at)
SELECT app.uid('t' || g), app.uid('a' || (1 + g % 6)), 'completed', now() - make_interval(hours => g * 3)
FROM generate_series(1, 150) g;
INSERT INTO app.task_usage (task_id, provider, model, input_tokens, cost_usd_ticks, created_at, updated_at)
SELECT t.id, m, 'm', 1 + floor(random() * 1000)::int, CASE WHEN random() < 0.3 THEN NULL ELSE 7 END,
       t.created_at + make_interval(mins => floor(random() * 60)::int), t.created_at + interval '2 hours'
FROM app.agent_task_queue t CROSS JOIN (VALUES ('claude'), ('openai')) p (m)
WHERE t.created_at + interval '2 hours' < now();
SET client_min_messages = warning;
CALL usage_rollup.backfill();
RESET client_min_messages;
SELECT app.wl_check(0, 0) AS findings;

-- more partitions ahead: partman's maintenance creates them (CREATE TABLE, then
-- ATTACH PARTITION), and they get the triggers; a backdated row written straight
-- into one of them is found
UPDATE partman.part_config SET premake = 8 WHERE parent_table = 'app.task_usage';
SELECT partman.run_maintenance('app.task_usage');
SELECT count(*) AS leaves_without_triggers
FROM pg_partition_tree('app.task_usage') p
WHERE p.isleaf AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = p.relid AND t.tgname = 'usage_rollup_part_usage_delete');
SELECT format('INSERT INTO %I.%I (task_id, provider, model, input_tokens, created_at, updated_at)
               VALUES (%L, ''claude'', ''m'', 42, now() + interval ''7 days'', now() - interval ''1 day'')',
              n.partition_schema, n.partition_table, app.uid('t1')) AS insert_into_new_partition,
       n.table_exists AS partman_made_it
FROM partman.show_partition_name('app.task_usage', (now() + interval '7 days')::text) n \gset
SELECT :'partman_made_it' AS partman_made_it;
:insert_into_new_partition;
SELECT usage_rollup.tick() > 0 AS ticked, app.wl_check(0, 1) AS findings;

-- retention: partitions older than 10 days are dropped (the rollup mirrors the raw
-- rows: their usage leaves it too)
UPDATE partman.part_config SET retention = '10 days', retention_keep_table = false WHERE parent_table = 'app.task_usage';
SELECT count(*) AS usage_rows_before FROM app.task_usage \gset
SELECT partman.run_maintenance('app.task_usage');
SELECT (SELECT count(*) FROM app.task_usage) < :usage_rows_before AS retention_dropped_rows,
       (SELECT count(*) FROM usage_rollup.dirty_bucket) > 0 AS queued;
SELECT usage_rollup.tick() > 0 AS ticked, app.wl_check(0, 2) AS findings;

-- ... and with retention_keep_table, detached instead: same result, and the
-- detached tables keep no trigger of ours
UPDATE partman.part_config SET retention = '6 days', retention_keep_table = true WHERE parent_table = 'app.task_usage';
SELECT count(*) AS usage_rows_before FROM app.task_usage \gset
SELECT partman.run_maintenance('app.task_usage');
SELECT (SELECT count(*) FROM app.task_usage) < :usage_rows_before AS retention_detached_rows;
SELECT usage_rollup.tick() > 0 AS ticked, app.wl_check(0, 3) AS findings;
SELECT count(*) AS triggers_on_tables_no_longer_partitions
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE t.tgname LIKE 'usage_rollup_part_%' AND NOT c.relispartition;

-- reports over the whole retained history equal the raw rows
SELECT count(*) AS workspaces, count(*) FILTER (WHERE r.input IS DISTINCT FROM t.input) AS daily_usage_differs
FROM app.workspace w
CROSS JOIN LATERAL (SELECT sum(input_tokens) AS input
                    FROM usage_rollup.daily_usage(w.id, (now() - interval '30 days')::date, (now() + interval '10 days')::date,
                                                  tz => 'Asia/Kathmandu')) r
CROSS JOIN LATERAL (SELECT sum(u.input_tokens) AS input FROM app.task_usage u
                    JOIN app.agent_task_queue k ON k.id = u.task_id JOIN app.agent a ON a.id = k.agent_id
                    WHERE a.workspace_id = w.id) t;

-- A report's rows for one workspace over the whole history (usage_rollup.<report> or
-- its truth, app.truth_<report>), as jsonb.
CREATE FUNCTION app.pm_rows(p_prefix text, p_report text, p_workspace uuid) RETURNS SETOF jsonb LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format('SELECT to_jsonb(r) FROM %s%I($1, $2, $3, tz => $4) r', p_prefix, p_report)
    USING p_workspace, (now() - interval '40 days')::date, (now() + interval '10 days')::date, 'Asia/Kathmandu';
END
$$;

-- Retention that keeps the history: each tick freezes what is older than two days,
-- partman drops what is older than four. What the tick froze is kept aside for the
-- ground truth.
SET usage_rollup.freeze_after = '2d';
SELECT usage_rollup.tick() >= 0 AS ticked;
SELECT frozen_before BETWEEN now() - interval '2 days 16 minutes' AND now() - interval '2 days' AS frozen_two_days_back
FROM usage_rollup.status;
CREATE TABLE app.kept_usage AS
SELECT * FROM app.task_usage WHERE created_at < (SELECT frozen_before FROM usage_rollup.status);
UPDATE partman.part_config SET retention = '4 days', retention_keep_table = false WHERE parent_table = 'app.task_usage';
SELECT count(*) AS usage_rows_before FROM app.task_usage \gset
SELECT partman.run_maintenance('app.task_usage');
SELECT (SELECT count(*) FROM app.task_usage) < :usage_rows_before AS retention_dropped_rows;
SELECT usage_rollup.tick() >= 0 AS ticked;
SELECT frozen_changes_ignored > 0 AS drops_ignored, (SELECT count(*) FROM usage_rollup.verify('-infinity', 'infinity')) AS verify_rows
FROM usage_rollup.status;

-- every report, for every workspace, over the whole history, in Kathmandu: the
-- reports on the retained rows, the truth in a transaction that puts the dropped
-- history back (into partman's DEFAULT partition) and is rolled back
CREATE TABLE app.pm_got AS
SELECT w.id AS workspace_id, r.report, x.row
FROM app.workspace w
CROSS JOIN unnest(ARRAY['daily_usage', 'usage_by_agent', 'usage_summary', 'usage_by_hour', 'kpis']) r (report)
CROSS JOIN LATERAL app.pm_rows('usage_rollup.', r.report, w.id) x (row);
SELECT count(DISTINCT (workspace_id, report)) AS reports_with_rows FROM app.pm_got;
BEGIN;
SET LOCAL client_min_messages = warning;
DELETE FROM app.task_usage WHERE created_at < (SELECT frozen_before FROM usage_rollup.status);
INSERT INTO app.task_usage SELECT * FROM app.kept_usage;
-- reports that differ from the truth (none)
WITH t AS (SELECT w.id AS workspace_id, r.report, x.row
           FROM app.workspace w
           CROSS JOIN unnest(ARRAY['daily_usage', 'usage_by_agent', 'usage_summary', 'usage_by_hour', 'kpis']) r (report)
           CROSS JOIN LATERAL app.pm_rows('app.truth_', r.report, w.id) x (row)),
     g AS (SELECT workspace_id, report, row FROM app.pm_got)
SELECT 'report only' AS side, app.label(workspace_id) AS workspace, report, count(*) AS rows
FROM (SELECT * FROM g EXCEPT ALL SELECT * FROM t) x GROUP BY 1, 2, 3
UNION ALL
SELECT 'truth only', app.label(workspace_id), report, count(*) FROM (SELECT * FROM t EXCEPT ALL SELECT * FROM g) y GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;
ROLLBACK;
RESET usage_rollup.freeze_after;

SET client_min_messages = warning;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION pg_partman;
DROP SCHEMA partman CASCADE;
DROP EXTENSION usage_rollup;
