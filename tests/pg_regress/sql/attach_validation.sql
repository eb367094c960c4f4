-- attach() validation (SPEC §2, §5): every bad input is one clear error and leaves
-- the database unchanged.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
\set ECHO none
SET client_min_messages = warning;
\ir ../fixtures/reset.sql
CREATE EXTENSION usage_rollup;
\ir ../fixtures/reference_schema.sql
RESET client_min_messages;
\set ECHO all
SET search_path = app, public;

-- a snapshot of what attach could leave behind
CREATE TEMP VIEW leftovers AS
SELECT (SELECT count(*) FROM usage_rollup.binding) AS bindings,
       (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'usage_rollup%') AS triggers,
       (SELECT count(*) FROM pg_class WHERE relname LIKE 'usage_rollup%idx') AS indexes;

-- a missing table: PostgreSQL's own error, before attach runs
SELECT usage_rollup.attach(usage => 'app.no_such_table');
-- the default names resolve in the caller's search_path, at call time
SET search_path = public;
SELECT usage_rollup.attach();
SET search_path = app, public;

-- not a table
CREATE VIEW app.usage_view AS SELECT * FROM app.task_usage;
SELECT usage_rollup.attach(usage => 'app.usage_view');
CREATE MATERIALIZED VIEW app.usage_mv AS SELECT * FROM app.task_usage;
SELECT usage_rollup.attach(usage => 'app.usage_mv');
CREATE SEQUENCE app.some_seq;
SELECT usage_rollup.attach(agents => 'app.some_seq');

-- NULL for a required table
SELECT usage_rollup.attach(tasks => NULL);

-- the same table for two roles
SELECT usage_rollup.attach(issues => 'app.agent');

-- wrong shapes: every problem of every table in one error
CREATE TABLE app.bad_usage (
    task_id text, provider text, model varchar(40), input_tokens integer, output_tokens bigint,
    cache_read_tokens bigint, created_at timestamp, cost_usd_ticks numeric);
CREATE TABLE app.bad_agent (id uuid, workspace_id bigint);
SELECT usage_rollup.attach(usage => 'app.bad_usage', agents => 'app.bad_agent');
-- optional users table of the wrong shape
CREATE TABLE app.bad_users (id uuid, tz text);
SELECT usage_rollup.attach(users => 'app.bad_users');

SELECT * FROM leftovers;

-- a good attach, then the same again: idempotent
SELECT usage_rollup.attach(users => 'app.user');
SELECT * FROM leftovers;
SELECT usage_rollup.attach(users => 'app.user');
SELECT * FROM leftovers;
SELECT usage_table, tasks_table, agents_table, issues_table, users_table, has_cost, has_failure_reason
FROM usage_rollup.binding;

-- a dropped trigger is repaired by attaching again
DROP TRIGGER usage_rollup_tasks_update ON app.agent_task_queue;
SELECT usage_rollup.attach(users => 'app.user');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'app.agent_task_queue'::regclass AND tgname LIKE 'usage_rollup%' ORDER BY 1;

-- attaching to other tables while attached
CREATE TABLE app.task_usage_copy (LIKE app.task_usage);
SELECT usage_rollup.attach(usage => 'app.task_usage_copy');
SELECT * FROM leftovers;

-- detach removes everything; a second detach is a no-op
SELECT usage_rollup.detach();
SELECT * FROM leftovers;
SELECT usage_rollup.detach();
SELECT watermark IS NULL AS watermark_cleared FROM usage_rollup.status;

-- tick and verify need a binding
SELECT usage_rollup.tick();
SELECT * FROM usage_rollup.verify(now() - interval '1 day', now());

SET client_min_messages = warning;
DROP VIEW leftovers;
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
