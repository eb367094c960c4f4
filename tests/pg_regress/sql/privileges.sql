-- Privileges and row-level security (SPEC §5). Installed by a superuser; attached,
-- ticked and backfilled by the non-superuser owner of the application's tables;
-- read by a report-only role (EXECUTE on reports, nothing else); and with
-- row-level security by workspace on the sources, or on the rollup, a role sees
-- only its workspace's numbers.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
-- roles are cluster-wide: drop any left by an earlier run that failed half-way
DO $$ DECLARE r text; BEGIN
    FOR r IN SELECT rolname FROM pg_roles WHERE rolname LIKE 'regress\_ur\_%' LOOP
        EXECUTE format('DROP OWNED BY %I', r);
        EXECUTE format('DROP ROLE %I', r);
    END LOOP;
END $$;
CREATE ROLE regress_ur_owner;
CREATE ROLE regress_ur_reader;
CREATE ROLE regress_ur_tenant;
CREATE ROLE regress_ur_nobody;

-- the application's tables belong to a non-superuser, who runs the extension
ALTER SCHEMA app OWNER TO regress_ur_owner;
SELECT format('ALTER TABLE app.%I OWNER TO regress_ur_owner', relname) FROM pg_class
WHERE relnamespace = 'app'::regnamespace AND relkind = 'r' ORDER BY relname \gexec
SELECT uid('w1') AS w1, uid('w2') AS w2, uid('i3') AS i3, uid('a1') AS a1, uid('a3') AS a3 \gset
GRANT EXECUTE ON FUNCTION usage_rollup.attach, usage_rollup.detach, usage_rollup.tick(),
      usage_rollup.verify, usage_rollup.daily_usage, usage_rollup.kpis TO regress_ur_owner;
GRANT EXECUTE ON PROCEDURE usage_rollup.backfill TO regress_ur_owner;

SET ROLE regress_ur_owner;
SET client_min_messages = warning;
SELECT usage_rollup.attach();
RESET client_min_messages;
SELECT app.make_world();
SELECT app.task('t1', 'a1', 'r1', 'i1'), app.task('t2', 'a2', NULL, 'i3'), app.task('t9', 'a3', NULL, NULL);
SELECT app.usage('t1', 'claude', 'opus', 100, '2026-03-01 10:00+00', 1000),
       app.usage('t2', 'openai', 'gpt', 200, '2026-03-01 18:29:00+00'),
       app.usage('t9', 'openai', 'gpt', 900, '2026-03-01 12:00+00');
UPDATE app.agent_task_queue SET started_at = '2026-03-01 09:00+00', completed_at = '2026-03-01 09:30+00';
SELECT usage_rollup.tick() > 0 AS ticked;
SET client_min_messages = warning;
CALL usage_rollup.backfill();
RESET client_min_messages;
SELECT count(*) AS drift FROM usage_rollup.verify('-infinity', 'infinity');
SELECT provider, model, input_tokens, task_count FROM usage_rollup.daily_usage(uid('w1'), '2026-03-01', '2026-03-02', tz => 'Asia/Kolkata');
-- the owner was granted no report of runs: not PUBLIC
SELECT * FROM usage_rollup.daily_runs(uid('w1'), '2026-03-01', '2026-03-02');
-- a failing backfill slice is recorded with the caller's rights (backfill() calls
-- _record_failure as the caller, who was granted backfill() only)
SELECT usage_rollup._record_failure('backfill', now(), '57014', 'canceled by the privileges test') AS recorded;
RESET ROLE;
SELECT last_error, failing FROM usage_rollup.status;

-- a role that owns nothing cannot attach or detach even with EXECUTE on them
GRANT EXECUTE ON FUNCTION usage_rollup.attach, usage_rollup.detach TO regress_ur_nobody;
GRANT USAGE ON SCHEMA app TO regress_ur_nobody;
SET ROLE regress_ur_nobody;
SELECT usage_rollup.detach();
SELECT usage_rollup.attach(usage => 'app.task_usage', tasks => 'app.agent_task_queue', agents => 'app.agent', issues => 'app.issue');
RESET ROLE;

-- a report-only role: EXECUTE on reports and nothing else
GRANT EXECUTE ON FUNCTION usage_rollup.daily_usage, usage_rollup.usage_summary, usage_rollup.kpis,
      usage_rollup.daily_runs, usage_rollup.issue_usage TO regress_ur_reader;
SET ROLE regress_ur_reader;
SELECT day, provider, model, input_tokens, cost_usd_ticks, task_count
FROM usage_rollup.daily_usage(:'w1', '2026-03-01', '2026-03-02', tz => 'Asia/Kolkata');
SELECT provider, input_tokens, task_count FROM usage_rollup.usage_summary(:'w2', '2026-03-01', '2026-03-02');
SELECT input_tokens, cost_usd_ticks, task_count, runs FROM usage_rollup.kpis(:'w1', '2026-03-01', '2026-03-02');
SELECT provider, model, input_tokens FROM usage_rollup.issue_usage(:'i3');
SELECT count(*) AS runs_rows FROM usage_rollup.daily_runs(:'w1', '2026-01-01', '2026-12-31');
-- ... and nothing else
SELECT * FROM usage_rollup.usage_by_agent(:'w1', '2026-03-01', '2026-03-02');
SELECT usage_rollup.tick();
CALL usage_rollup.backfill();
SELECT usage_rollup.attach();
SELECT count(*) FROM usage_rollup.rollup;
SELECT count(*) FROM app.task_usage;
-- the internal functions behind the reports and backfill check the grant themselves
SELECT count(*) FROM usage_rollup._usage_report_as_owner('usage_by_agent', 'agent', :'w1', '2026-03-01', '2026-03-02', NULL, NULL, NULL, NULL, NULL);
SELECT count(*) FROM usage_rollup._usage_report_as_owner('daily_usage', 'day', :'w1', '2026-03-01', '2026-03-02', NULL, NULL, NULL, NULL, NULL);
SELECT * FROM usage_rollup._backfill_plan(NULL, NULL, '1 day');
SELECT usage_rollup._record_failure('tick', now(), '57014', 'a reader cannot write the failure record');
-- with the caller's rights, it reads what the caller may read: not the sources
\set VERBOSITY terse
SELECT count(*) FROM usage_rollup._usage_report('daily_usage', 'day', :'w1', '2026-03-01', '2026-03-02', NULL, NULL, NULL, NULL, NULL, 'raw');
\set VERBOSITY default
RESET ROLE;

-- row-level security by workspace on the sources: a tenant role with SELECT on them
-- and EXECUTE on reports sees its workspace's numbers, and none of another's
CREATE FUNCTION app.my_workspace() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('app.workspace', true), '')::uuid $$;
ALTER TABLE app.agent ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.agent_task_queue ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.task_usage ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON app.agent USING (workspace_id = app.my_workspace());
CREATE POLICY tenant ON app.agent_task_queue
    USING (agent_id IN (SELECT a.id FROM app.agent a WHERE a.workspace_id = app.my_workspace()));
CREATE POLICY tenant ON app.task_usage
    USING (task_id IN (SELECT t.id FROM app.agent_task_queue t));
GRANT USAGE ON SCHEMA app TO regress_ur_tenant;
GRANT SELECT ON ALL TABLES IN SCHEMA app TO regress_ur_tenant;
GRANT EXECUTE ON FUNCTION usage_rollup.daily_usage, usage_rollup.usage_summary, usage_rollup.kpis,
      usage_rollup.daily_runs TO regress_ur_tenant;
SET ROLE regress_ur_tenant;
SET app.workspace = :'w1';
SELECT usage_rollup._read_mode();
SELECT day, provider, model, input_tokens, task_count FROM usage_rollup.daily_usage(:'w1', '2026-03-01', '2026-03-02');
SELECT provider, input_tokens FROM usage_rollup.usage_summary(:'w2', '2026-03-01', '2026-03-02');
SELECT input_tokens, task_count, runs FROM usage_rollup.kpis(:'w2', '2026-03-01', '2026-03-02');
SELECT count(*) AS runs_rows FROM usage_rollup.daily_runs(:'w2', '2026-01-01', '2026-12-31');
SET app.workspace = :'w2';
SELECT provider, input_tokens FROM usage_rollup.usage_summary(:'w2', '2026-03-01', '2026-03-02');
SELECT provider, input_tokens FROM usage_rollup.usage_summary(:'w1', '2026-03-01', '2026-03-02');
-- the owner-rights path refuses a role that row-level security applies to
SELECT count(*) FROM usage_rollup._usage_report_as_owner('usage_summary', 'none', :'w1', '2026-03-01', '2026-03-02', NULL, NULL, NULL, NULL, NULL);
RESET app.workspace;
RESET ROLE;
-- the owner of the tables is not subject to its own policies: the rollup path
SET ROLE regress_ur_owner;
SELECT usage_rollup._read_mode();
RESET ROLE;

-- row-level security on the rollup instead: read with the caller's rights too
ALTER TABLE app.agent DISABLE ROW LEVEL SECURITY;
ALTER TABLE app.agent_task_queue DISABLE ROW LEVEL SECURITY;
ALTER TABLE app.task_usage DISABLE ROW LEVEL SECURITY;
ALTER TABLE usage_rollup.rollup ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_rollup.rollup_ws ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON usage_rollup.rollup USING (workspace_id = app.my_workspace());
CREATE POLICY tenant ON usage_rollup.rollup_ws USING (workspace_id = app.my_workspace());
GRANT SELECT ON usage_rollup.rollup, usage_rollup.rollup_ws, usage_rollup.tick_state, usage_rollup.dirty_bucket,
                usage_rollup.variant, usage_rollup.variant_frozen TO regress_ur_tenant;
SET ROLE regress_ur_tenant;
SET app.workspace = :'w2';
SELECT usage_rollup._read_mode();
SELECT provider, input_tokens FROM usage_rollup.usage_summary(:'w2', '2026-03-01', '2026-03-02');
SELECT provider, input_tokens FROM usage_rollup.usage_summary(:'w1', '2026-03-01', '2026-03-02');
RESET app.workspace;
RESET ROLE;
-- a filtered report reads the rollup itself, under the same policy
SET ROLE regress_ur_tenant;
SET app.workspace = :'w2';
SELECT provider, input_tokens FROM usage_rollup.usage_summary(:'w2', '2026-03-01', '2026-03-02', agent_id => :'a3');
SELECT provider, input_tokens FROM usage_rollup.usage_summary(:'w1', '2026-03-01', '2026-03-02', agent_id => :'a1');
RESET app.workspace;
RESET ROLE;
DROP POLICY tenant ON usage_rollup.rollup;
DROP POLICY tenant ON usage_rollup.rollup_ws;
ALTER TABLE usage_rollup.rollup DISABLE ROW LEVEL SECURITY;
ALTER TABLE usage_rollup.rollup_ws DISABLE ROW LEVEL SECURITY;

SET client_min_messages = warning;
SET ROLE regress_ur_owner;
SELECT usage_rollup.detach();
RESET ROLE;
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
DROP OWNED BY regress_ur_owner, regress_ur_reader, regress_ur_tenant, regress_ur_nobody;
DROP ROLE regress_ur_owner, regress_ur_reader, regress_ur_tenant, regress_ur_nobody;
